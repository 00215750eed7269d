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
