//! Tests of the support crate itself: parsing rotel's report and reading the
//! environment. They need no running rotel; `cargo xtask e2e` runs them next
//! to the live suite in `rotel.rs`.

use std::fs;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::thread;
use std::time::Duration;

use otlpkit_e2e::{
    ConfigError, GRPC_ENDPOINT_VAR, HTTP_ENDPOINT_VAR, REPORT_VAR, Report, ReportError, Rotel,
    Signal,
};

/// Output of rotel 0.0.1a15 (`--debug-log-verbosity detailed`) for one
/// trace, one metrics and one logs request sent over OTLP/HTTP/JSON, after
/// one of rotel's own log lines; pieced together from real runs.
const SAMPLE: &str = "\
\x1b[2m2026-11-24T23:56:52.193000Z\x1b[0m \x1b[32m INFO\x1b[0m Starting Rotel. \x1b[3mgrpc_endpoint\x1b[0m\x1b[2m=\x1b[0m\"127.0.0.1:45317\"
ResourceSpans #0
Resource SchemaURL: 
Resource attributes:
     -> service.name: Str(svc)
ScopeSpans #0
ScopeSpans SchemaURL: 
InstrumentationScope sc 
Span #0
    Trace ID       : 5B8EFFF798038103D269B633813FC60C
    Parent ID      : 
    ID             : eee19b7ec3c1b174
    Name           : parent
    Kind           : SPAN_KIND_INTERNAL
Start time: 1544712660000000000
End time: 1544712661000000000
Span #1
    Trace ID       : 5b8efff798038103d269b633813fc60c
    Parent ID      : eee19b7ec3c1b174
    ID             : eee19b7ec3c1b175
    Name           : child one
    Kind           : SPAN_KIND_SERVER
Start time: 1544712660000000000
End time: 1544712661000000000
    Status code    : STATUS_CODE_ERROR
    Status message : boom
Attributes:
     -> multi: Str(a
b)
     -> a: Int(3)
Events:
SpanEvent #0
     -> Name: ev one
     -> Timestamp: 1544712660500000000
     -> DroppedAttributesCount: 0
     -> Attributes::
          -> Name: Str(x)
Links:
SpanLink #0
     -> Trace ID: 5b8efff798038103d269b633813fc60d
     -> ID: eee19b7ec3c1b179
     -> TraceState: 
     -> DroppedAttributesCount: 0
     -> Attributes::
          -> lk: Bool(true)
ResourceMetrics #0
Resource SchemaURL: 
Resource attributes:
     -> service.name: Str(metered)
ScopeMetrics #0
ScopeMetrics SchemaURL: 
InstrumentationScope meter 
Metric #0
Descriptor:
     -> Name: my.counter
     -> Description: d
     -> Unit: 1
     -> DataType: Sum
     -> IsMonotonic: true
     -> AggregationTemporality: AGGREGATION_TEMPORALITY_CUMULATIVE
NumberDataPoints #0
Data point attributes:
     -> Name: not-a-metric-name
StartTimestamp: 1544712660000000000
Timestamp: 1544712661000000000
Metric #1
Descriptor:
     -> Name: my.gauge
     -> Description: 
     -> Unit: 
     -> DataType: Gauge
NumberDataPoints #0
StartTimestamp: 0
Timestamp: 1544712661000000000
Value: 1.5
ResourceLog #0
Resource SchemaURL: 
Resource attributes:
     -> service.name: Str(logger)
ScopeLogs #0
ScopeLogs SchemaURL: 
InstrumentationScope app 
LogRecord #0
ObservedTimestamp: 0
Timestamp: 1544712660000000000
SeverityText: INFO
SeverityNumber: SEVERITY_NUMBER_INFO(9)
Body: Str(hello log)
Attributes:
     -> k: Str(v)
    Trace ID       : 5b8efff798038103d269b633813fc60c
    Span ID        : eee19b7ec3c1b174
Flags: 0
LogRecord #1
ObservedTimestamp: 0
Timestamp: 1544712660000000000
SeverityText: 
SeverityNumber: SEVERITY_NUMBER_ERROR(17)
Body: Str(second
line)
    Trace ID       : 
    Span ID        : 
Flags: 0
";

#[test]
fn parses_spans_with_ids_parents_names_and_attributes() {
    let report = Report::parse(SAMPLE);
    let spans = report.spans();
    assert_eq!(spans.len(), 2);

    assert_eq!(spans[0].trace_id, "5b8efff798038103d269b633813fc60c");
    assert_eq!(spans[0].span_id, "eee19b7ec3c1b174");
    assert_eq!(spans[0].parent_span_id, None);
    assert_eq!(spans[0].name, "parent");
    assert_eq!(spans[0].kind, "SPAN_KIND_INTERNAL");
    assert_eq!(spans[0].scope, "sc");
    assert!(spans[0].attributes.is_empty());

    assert_eq!(spans[1].parent_span_id.as_deref(), Some("eee19b7ec3c1b174"));
    assert_eq!(spans[1].span_id, "eee19b7ec3c1b175");
    assert_eq!(spans[1].name, "child one");
    assert_eq!(spans[1].attribute("a"), Some("Int(3)"));
    assert_eq!(spans[1].attribute("multi"), Some("Str(a\nb)"));
    // Event and link attributes are not span attributes.
    assert_eq!(spans[1].attributes.len(), 2);
    assert_eq!(spans[1].status_code, "STATUS_CODE_ERROR");
    assert_eq!(spans[1].status_message, "boom");
    assert_eq!(spans[1].service_name(), Some("svc"));

    assert_eq!(
        report
            .spans_of_trace("5B8EFFF798038103D269B633813FC60C")
            .count(),
        2
    );
    assert_eq!(
        report
            .spans_of_trace("00000000000000000000000000000001")
            .count(),
        0
    );
}

#[test]
fn parses_metric_names_but_not_data_point_attributes() {
    let report = Report::parse(SAMPLE);
    let metrics = report.metrics();
    let names: Vec<(&str, &str)> = metrics
        .iter()
        .map(|metric| (metric.name.as_str(), metric.data_type.as_str()))
        .collect();
    assert_eq!(names, [("my.counter", "Sum"), ("my.gauge", "Gauge")]);
    assert_eq!(metrics[0].service_name(), Some("metered"));
    assert_eq!(metrics[0].scope, "meter");
}

#[test]
fn parses_log_bodies_ids_and_multi_line_bodies() {
    let report = Report::parse(SAMPLE);
    let logs = report.logs();
    assert_eq!(logs.len(), 2);
    assert_eq!(logs[0].body, "Str(hello log)");
    assert_eq!(logs[0].severity_text, "INFO");
    assert_eq!(
        logs[0].trace_id.as_deref(),
        Some("5b8efff798038103d269b633813fc60c")
    );
    assert_eq!(logs[0].span_id.as_deref(), Some("eee19b7ec3c1b174"));
    assert_eq!(logs[0].attribute("k"), Some("Str(v)"));
    assert_eq!(logs[0].service_name(), Some("logger"));
    assert_eq!(logs[1].body, "Str(second\nline)");
    assert_eq!(logs[1].trace_id, None);
    assert_eq!(logs[1].span_id, None);
}

#[test]
fn text_without_a_report_has_no_telemetry() {
    assert_eq!(Report::parse(""), Report::default());
    assert_eq!(
        Report::parse("INFO Starting Rotel.\nINFO Shutdown signal received.\n"),
        Report::default()
    );
}

fn vars<'a>(pairs: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<String> + 'a {
    move |name| {
        pairs
            .iter()
            .find(|(key, _)| *key == name)
            .map(|(_, value)| (*value).to_owned())
    }
}

#[test]
fn missing_variables_say_how_to_start_rotel() {
    let error = Rotel::from_lookup(vars(&[])).unwrap_err();
    assert!(matches!(
        error,
        ConfigError::NotRunning {
            var: GRPC_ENDPOINT_VAR
        }
    ));
    let message = error.to_string();
    assert!(message.starts_with("rotel is not running"), "{message}");
    assert!(message.contains("cargo xtask e2e"), "{message}");
    assert!(
        message.contains("python3 -m pip install rotel==0.0.1a15"),
        "{message}"
    );

    // An empty variable counts as unset.
    let error = Rotel::from_lookup(vars(&[
        (GRPC_ENDPOINT_VAR, "http://127.0.0.1:4317"),
        (HTTP_ENDPOINT_VAR, ""),
    ]))
    .unwrap_err();
    assert!(matches!(
        error,
        ConfigError::NotRunning {
            var: HTTP_ENDPOINT_VAR
        }
    ));
}

#[test]
fn endpoints_must_be_loopback_http_with_a_port() {
    let report = std::env::current_exe().unwrap();
    let report = report.to_str().unwrap();
    for (value, reason) in [
        ("http://localhost:4317", "loopback"),
        ("http://0.0.0.0:4317", "loopback"),
        ("https://127.0.0.1:4317", "loopback"),
        ("http://127.0.0.1:0", "port"),
        ("http://127.0.0.1:70000", "port"),
        ("http://127.0.0.1:", "port"),
    ] {
        let error = Rotel::from_lookup(vars(&[
            (GRPC_ENDPOINT_VAR, value),
            (HTTP_ENDPOINT_VAR, "http://127.0.0.1:4318"),
            (REPORT_VAR, report),
        ]))
        .unwrap_err();
        let message = error.to_string();
        assert!(
            message.starts_with(&format!("`{GRPC_ENDPOINT_VAR}={value}`")),
            "{message}"
        );
        assert!(message.contains(reason), "{message}");
    }

    let rotel = Rotel::from_lookup(vars(&[
        (GRPC_ENDPOINT_VAR, "http://127.0.0.1:4317/"),
        (HTTP_ENDPOINT_VAR, "http://127.0.0.1:4318"),
        (REPORT_VAR, report),
    ]))
    .unwrap();
    assert_eq!(rotel.grpc_endpoint(), "http://127.0.0.1:4317");
    assert_eq!(
        rotel.http_signal_url(Signal::Traces),
        "http://127.0.0.1:4318/v1/traces"
    );
    assert_eq!(rotel.report_path(), Path::new(report));
}

#[test]
fn report_must_be_an_existing_absolute_file() {
    for (value, reason) in [
        ("rotel-report.log", "the path is not absolute"),
        ("/nonexistent/otlpkit-e2e/rotel-report.log", "no such file"),
    ] {
        let error = Rotel::from_lookup(vars(&[
            (GRPC_ENDPOINT_VAR, "http://127.0.0.1:4317"),
            (HTTP_ENDPOINT_VAR, "http://127.0.0.1:4318"),
            (REPORT_VAR, value),
        ]))
        .unwrap_err();
        assert_eq!(
            error.to_string(),
            format!("`{REPORT_VAR}={value}` is not usable: {reason}")
        );
    }
}

/// A rotel description whose report is a fresh file `name` in Cargo's
/// scratch directory for integration tests.
fn rotel_with_report(name: &str, contents: &str) -> (Rotel, PathBuf) {
    let path = Path::new(env!("CARGO_TARGET_TMPDIR")).join(name);
    fs::write(&path, contents).unwrap();
    let rotel = Rotel::from_lookup(vars(&[
        (GRPC_ENDPOINT_VAR, "http://127.0.0.1:4317"),
        (HTTP_ENDPOINT_VAR, "http://127.0.0.1:4318"),
        (REPORT_VAR, path.to_str().unwrap()),
    ]))
    .unwrap();
    (rotel, path)
}

#[test]
fn waiting_rereads_the_report_until_the_spans_arrive() {
    let split = SAMPLE.find("Span #1").unwrap();
    let (rotel, path) = rotel_with_report("waiting-rereads.log", &SAMPLE[..split]);
    let rest = SAMPLE[split..].to_owned();
    let writer = thread::spawn(move || {
        thread::sleep(Duration::from_millis(300));
        let mut file = fs::OpenOptions::new().append(true).open(path).unwrap();
        file.write_all(rest.as_bytes()).unwrap();
    });
    let spans = rotel
        .wait_for_spans(
            "5b8efff798038103d269b633813fc60c",
            2,
            Duration::from_secs(30),
        )
        .unwrap();
    writer.join().unwrap();
    let ids: Vec<&str> = spans.iter().map(|span| span.span_id.as_str()).collect();
    assert_eq!(ids, ["eee19b7ec3c1b174", "eee19b7ec3c1b175"]);
}

#[test]
fn waiting_in_vain_reports_what_was_seen() {
    let (rotel, path) = rotel_with_report("waiting-in-vain.log", SAMPLE);
    let error = rotel
        .wait_for_spans(
            "5b8efff798038103d269b633813fc60c",
            3,
            Duration::from_millis(200),
        )
        .unwrap_err();
    assert!(matches!(error, ReportError::Timeout { .. }), "{error:?}");
    assert_eq!(
        error.to_string(),
        format!(
            "rotel's report {} does not show 3 spans of trace \
             5b8efff798038103d269b633813fc60c within 200ms; it shows 2 spans of that trace \
             [eee19b7ec3c1b174 (parent), eee19b7ec3c1b175 (child one)] among 2 spans in total",
            path.display()
        )
    );
}

/// Output of rotel 0.0.1a15 for metrics sent over OTLP/protobuf and over
/// OTLP/JSON, and for log records with every field set; trimmed from real
/// runs of `tests/transports.rs`, with a multi-line data point attribute
/// added.
const DETAILS: &str = "\
ResourceMetrics #0
Resource SchemaURL: 
Resource attributes:
     -> e2e.run: Str(grpc-1)
     -> service.name: Str(svc)
ScopeMetrics #0
ScopeMetrics SchemaURL: 
InstrumentationScope meter 
Metric #0
Descriptor:
     -> Name: e2e.grpc.requests
     -> Description: 
     -> Unit: 
     -> DataType: Sum
     -> IsMonotonic: true
     -> AggregationTemporality: AGGREGATION_TEMPORALITY_CUMULATIVE
NumberDataPoints #0
Data point attributes:
     -> route: Str(/orders)
     -> note: Str(two
lines)
StartTimestamp: 1795569636859791749
Timestamp: 1795569636866871920
Value: 7
NumberDataPoints #1
StartTimestamp: 1795569636859791749
Timestamp: 1795569636866871920
Value: 2.5
Metric #1
Descriptor:
     -> Name: e2e.grpc.latency
     -> Description: 
     -> Unit: 
     -> DataType: Histogram
     -> AggregationTemporality: AGGREGATION_TEMPORALITY_CUMULATIVE
HistogramDataPoints #0
Data point attributes:
     -> method: Str(GET)
StartTimestamp: 1795569636859859215
Timestamp: 1795569636866903730
Count: 3
Sum: 20.5
Min: 1.5
Max: 12
ExplicitBounds #0: 5
ExplicitBounds #1: 10
Buckets #0, Count: 1
Buckets #1, Count: 0
Buckets #2, Count: 2
ResourceMetrics #0
Resource SchemaURL: 
Resource attributes:
     -> e2e.run: Str(json-1)
ScopeMetrics #0
ScopeMetrics SchemaURL: 
InstrumentationScope meter 
Metric #0
Descriptor:
     -> Name: e2e.json.requests
     -> Description: 
     -> Unit: 
     -> DataType: Sum
     -> IsMonotonic: true
     -> AggregationTemporality: AGGREGATION_TEMPORALITY_CUMULATIVE
NumberDataPoints #0
Data point attributes:
     -> route: Str(/orders)
StartTimestamp: 1795569636844434581
Timestamp: 1795569636853209251
Metric #1
Descriptor:
     -> Name: e2e.json.latency
     -> Description: 
     -> Unit: 
     -> DataType: Empty
ResourceLog #0
Resource SchemaURL: 
Resource attributes:
     -> e2e.run: Str(grpc-1)
ScopeLogs #0
ScopeLogs SchemaURL: 
InstrumentationScope app 
LogRecord #0
ObservedTimestamp: 1795569631849294000
Timestamp: 1795569631848294000
SeverityText: INFO
SeverityNumber: SEVERITY_NUMBER_INFO(9)
EventName: e2e.accepted
Body: Str(request accepted)
Attributes:
     -> e2e.sequence: Int(0)
    Trace ID       : f9fe22771b2c82162955e2d8c5c4f1a1
    Span ID        : f7be115752b9f209
Flags: 1
ResourceLog #0
Resource SchemaURL: 
Resource attributes:
     -> e2e.run: Str(json-1)
ScopeLogs #0
ScopeLogs SchemaURL: 
InstrumentationScope app 
LogRecord #0
ObservedTimestamp: 0
Timestamp: 0
SeverityText: 
SeverityNumber: SEVERITY_NUMBER_UNSPECIFIED(0)
Body: Str(first
second: a colon does not end the body)
    Trace ID       : 
    Span ID        : 
Flags: 0
";

#[test]
fn parses_number_data_points_with_attributes_and_values() {
    let report = Report::parse(DETAILS);
    let requests = &report.metrics()[0];
    assert_eq!(requests.name, "e2e.grpc.requests");
    assert_eq!(requests.data_points.len(), 2);
    let point = &requests.data_points[0];
    assert_eq!(point.kind, "NumberDataPoints");
    assert_eq!(point.attribute("route"), Some("Str(/orders)"));
    assert_eq!(point.attribute("note"), Some("Str(two\nlines)"));
    assert_eq!(point.attributes.len(), 2);
    assert_eq!(point.start_timestamp, "1795569636859791749");
    assert_eq!(point.timestamp, "1795569636866871920");
    assert_eq!(point.value.as_deref(), Some("7"));
    assert_eq!(point.count, None);
    assert!(point.explicit_bounds.is_empty());
    let second = &requests.data_points[1];
    assert!(second.attributes.is_empty());
    assert_eq!(second.value.as_deref(), Some("2.5"));

    // The data points of the first sample: attributes, and a gauge's value.
    let report = Report::parse(SAMPLE);
    let points = &report.metrics()[0].data_points;
    assert_eq!(points.len(), 1);
    assert_eq!(points[0].attribute("Name"), Some("not-a-metric-name"));
    assert_eq!(points[0].value, None);
    assert_eq!(
        report.metrics()[1].data_points[0].value.as_deref(),
        Some("1.5")
    );
}

#[test]
fn parses_histogram_data_points() {
    let report = Report::parse(DETAILS);
    let latency = &report.metrics()[1];
    assert_eq!(
        (latency.name.as_str(), latency.data_type.as_str()),
        ("e2e.grpc.latency", "Histogram")
    );
    assert_eq!(latency.data_points.len(), 1);
    let point = &latency.data_points[0];
    assert_eq!(point.kind, "HistogramDataPoints");
    assert_eq!(point.attribute("method"), Some("Str(GET)"));
    assert_eq!(point.count.as_deref(), Some("3"));
    assert_eq!(point.sum.as_deref(), Some("20.5"));
    assert_eq!(point.min.as_deref(), Some("1.5"));
    assert_eq!(point.max.as_deref(), Some("12"));
    assert_eq!(point.value, None);
    assert_eq!(point.explicit_bounds, ["5", "10"]);
    assert_eq!(point.bucket_counts, ["1", "0", "2"]);
    assert_eq!(point.timestamp, "1795569636866903730");
}

#[test]
fn keeps_what_rotel_could_not_decode_visible() {
    // Over OTLP/JSON rotel 0.0.1a15 shows no value for an integer point and
    // no data at all for a histogram: the parser reports exactly that.
    let report = Report::parse(DETAILS);
    let json: Vec<_> = report
        .metrics_with_resource("e2e.run", "Str(json-1)")
        .collect();
    assert_eq!(json.len(), 2);
    assert_eq!(json[0].name, "e2e.json.requests");
    assert_eq!(json[0].data_points.len(), 1);
    assert_eq!(json[0].data_points[0].value, None);
    assert_eq!(
        json[0].data_points[0].attribute("route"),
        Some("Str(/orders)")
    );
    assert_eq!(
        (json[1].name.as_str(), json[1].data_type.as_str()),
        ("e2e.json.latency", "Empty")
    );
    assert!(json[1].data_points.is_empty());
}

#[test]
fn filters_metrics_and_logs_by_resource_attribute() {
    let report = Report::parse(DETAILS);
    let names: Vec<&str> = report
        .metrics_with_resource("e2e.run", "Str(grpc-1)")
        .map(|metric| metric.name.as_str())
        .collect();
    assert_eq!(names, ["e2e.grpc.requests", "e2e.grpc.latency"]);
    assert_eq!(
        report
            .metrics_with_resource("e2e.run", "Str(grpc-2)")
            .count(),
        0
    );
    assert_eq!(
        report
            .metrics_with_resource("service.name", "Str(svc)")
            .count(),
        2
    );
    let bodies: Vec<&str> = report
        .logs_with_resource("e2e.run", "Str(grpc-1)")
        .map(|log| log.body.as_str())
        .collect();
    assert_eq!(bodies, ["Str(request accepted)"]);
    assert_eq!(
        report.logs_with_resource("e2e.run", "Str(json-1)").count(),
        1
    );
}

#[test]
fn parses_log_severity_numbers_event_names_timestamps_and_flags() {
    let report = Report::parse(DETAILS);
    let logs = report.logs();
    assert_eq!(logs.len(), 2);
    let log = &logs[0];
    assert_eq!(log.severity_text, "INFO");
    assert_eq!(log.severity_number, "SEVERITY_NUMBER_INFO(9)");
    assert_eq!(log.event_name, "e2e.accepted");
    assert_eq!(log.timestamp, "1795569631848294000");
    assert_eq!(log.observed_timestamp, "1795569631849294000");
    assert_eq!(log.flags, "1");
    assert_eq!(log.body, "Str(request accepted)");
    assert_eq!(log.attribute("e2e.sequence"), Some("Int(0)"));
    assert_eq!(log.span_id.as_deref(), Some("f7be115752b9f209"));

    let bare = &logs[1];
    assert_eq!(bare.severity_number, "SEVERITY_NUMBER_UNSPECIFIED(0)");
    assert_eq!(bare.event_name, "");
    assert_eq!((bare.timestamp.as_str(), bare.flags.as_str()), ("0", "0"));
    assert_eq!(
        bare.body,
        "Str(first\nsecond: a colon does not end the body)"
    );
    assert_eq!(bare.trace_id, None);

    // The first sample's records.
    let report = Report::parse(SAMPLE);
    let logs = report.logs();
    assert_eq!(logs[0].severity_number, "SEVERITY_NUMBER_INFO(9)");
    assert_eq!(logs[0].timestamp, "1544712660000000000");
    assert_eq!(logs[0].observed_timestamp, "0");
    assert_eq!(logs[1].severity_number, "SEVERITY_NUMBER_ERROR(17)");
    assert_eq!(logs[1].body, "Str(second\nline)");
}

#[test]
fn parses_span_start_and_end_times() {
    let report = Report::parse(SAMPLE);
    let spans = report.spans();
    assert_eq!(spans[0].start_time, "1544712660000000000");
    assert_eq!(spans[0].end_time, "1544712661000000000");
    assert_eq!(spans[1].start_time, "1544712660000000000");
    // Status lines after the times still belong to the span.
    assert_eq!(spans[1].status_code, "STATUS_CODE_ERROR");
}
