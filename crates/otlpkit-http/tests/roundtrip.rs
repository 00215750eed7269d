//! Round trips through the official SDK providers to the testkit receiver:
//! 3 signals × {http/protobuf, http/json} × {none, gzip, zstd}, checking
//! ids, parent ids, attributes, events, links, status, resource, scope,
//! timestamps, every metric instrument kind, log bodies and severities, the
//! request headers (checklist 1.13, 1.15, 1.17) and the counters. The OTLP/JSON
//! rules (checklist 2.15) are checked on the bytes of real requests.

mod support;

use std::time::Duration;

use opentelemetry::KeyValue;
use opentelemetry::logs::{AnyValue, LogRecord as _, Logger as _, LoggerProvider as _, Severity};
use opentelemetry::metrics::MeterProvider as _;
use opentelemetry::trace::{
    Link, Span as _, SpanContext, SpanId, SpanKind, Status, TraceFlags, TraceId, TraceState,
    Tracer as _, TracerProvider as _,
};
use opentelemetry_sdk::logs::SdkLoggerProvider;
use opentelemetry_sdk::metrics::{PeriodicReader, SdkMeterProvider};
use opentelemetry_sdk::trace::SdkTracerProvider;
#[cfg(feature = "json")]
use otlpkit_core::stats::DropReason;
use otlpkit_core::{Compression, Protocol, Signal, TemporalityPreference};
use otlpkit_fixtures::at;
use otlpkit_fixtures::roundtrip::{
    assert_disk_alert_logs, assert_parent_and_child, emit_disk_alert_logs, emit_parent_and_child,
};
use otlpkit_http::{HttpLogExporter, HttpMetricExporter, HttpSpanExporter};
use otlpkit_testkit::proto::common::v1::any_value;
use otlpkit_testkit::proto::logs::v1::SeverityNumber;
use otlpkit_testkit::proto::metrics::v1::{AggregationTemporality, metric, number_data_point};
use otlpkit_testkit::{Receiver, RecordedRequest};
#[cfg(feature = "json")]
use support::RawServer;
use support::{WAIT, configure, resource, scope};

/// Every compression of this build (zstd is an opt-in feature).
const COMPRESSIONS: &[Compression] = &[
    Compression::None,
    Compression::Gzip,
    #[cfg(feature = "zstd")]
    Compression::Zstd,
];

fn testkit_protocol(protocol: Protocol) -> otlpkit_testkit::Protocol {
    match protocol {
        Protocol::HttpJson => otlpkit_testkit::Protocol::HttpJson,
        _ => otlpkit_testkit::Protocol::HttpProtobuf,
    }
}

/// What every request of a case must show.
fn check_requests(
    requests: &[std::sync::Arc<RecordedRequest>],
    protocol: Protocol,
    compression: Compression,
    case: &str,
) {
    assert!(!requests.is_empty(), "{case}: no request");
    for request in requests {
        assert!(request.accepted(), "{case}: {request:?}");
        // checklist 1.17: Content-Type per protocol.
        assert_eq!(request.protocol, testkit_protocol(protocol), "{case}");
        let content_type = request.headers.get("content-type").unwrap_or_default();
        assert_eq!(content_type, protocol.content_type(), "{case}");
        // checklist 1.13: Content-Encoding when compressed.
        assert_eq!(
            request.content_encoding.as_deref(),
            compression.encoding(),
            "{case}"
        );
        // checklist 1.15: User-Agent with the distro prefix.
        assert_eq!(
            request.headers.get("user-agent"),
            Some(otlpkit_core::USER_AGENT),
            "{case}"
        );
        assert_eq!(request.headers.get("x-case"), Some(case), "{case}");
        // checklist 1.16: plaintext HTTP is HTTP/1.1.
        assert_eq!(request.http_version, http::Version::HTTP_11, "{case}");
        if compression != Compression::None {
            assert!(request.body_size < request.decoded_size, "{case}");
        }
    }
}

// --- Traces ---------------------------------------------------------------------------------

fn traces_round_trip(protocol: Protocol, compression: Compression) {
    let case = format!("traces {protocol} {compression}");
    let receiver = Receiver::start().unwrap();
    let exporter = configure(
        HttpSpanExporter::builder(),
        &receiver.http_url(otlpkit_testkit::Signal::Traces),
        protocol,
        compression,
    )
    .with_header("x-case", &case)
    .build()
    .unwrap();
    let stats = exporter.stats().clone();
    let provider = SdkTracerProvider::builder()
        .with_resource(resource())
        .with_batch_exporter(exporter)
        .build();
    let tracer = provider.tracer_with_scope(scope());

    let sent = emit_parent_and_child(&tracer);

    provider.force_flush().unwrap();
    receiver.wait_for_spans(2, WAIT).unwrap();
    provider.shutdown().unwrap();

    let (p, c) = assert_parent_and_child(&receiver, &sent, &case);
    // What the shared checks leave out: the largest integer, the event's attribute.
    assert_eq!(
        p.attribute("big"),
        Some(&any_value::Value::IntValue(i64::MAX)),
        "{case}"
    );
    let event = c.event("cache miss").unwrap();
    assert_eq!(event.attributes[0].key, "key", "{case}");
    assert_eq!(
        p.origin.resource_attribute_str("service.name"),
        Some("http-test-service"),
        "{case}"
    );
    assert_eq!(
        p.origin
            .resource_attribute_str("deployment.environment.name"),
        Some("test"),
        "{case}"
    );
    assert_eq!(p.origin.scope.name, "http-test-scope", "{case}");
    assert_eq!(p.origin.scope.version, "3.1.4", "{case}");
    assert!(p.origin.scope_attribute("scope.key").is_some(), "{case}");
    assert_eq!(
        p.origin.scope_schema_url, "https://opentelemetry.io/schemas/1.26.0",
        "{case}"
    );

    let requests = receiver.requests();
    check_requests(&requests, protocol, compression, &case);
    let traces = stats.snapshot().signal(Signal::Traces);
    assert_eq!(traces.exported, 2, "{case}");
    assert_eq!(traces.dropped_total(), 0, "{case}");
    assert_eq!(traces.requests, requests.len() as u64, "{case}");
    let wire: usize = requests.iter().map(|r| r.body_size).sum();
    assert_eq!(traces.bytes_sent, wire as u64, "{case}");
}

#[test]
fn traces_every_protocol_and_compression() {
    for protocol in support::protocols() {
        for &compression in COMPRESSIONS {
            traces_round_trip(protocol, compression);
        }
    }
}

// --- Metrics --------------------------------------------------------------------------------

fn metrics_round_trip(protocol: Protocol, compression: Compression) {
    let case = format!("metrics {protocol} {compression}");
    let receiver = Receiver::start().unwrap();
    let exporter = configure(
        HttpMetricExporter::builder(),
        &receiver.http_url(otlpkit_testkit::Signal::Metrics),
        protocol,
        compression,
    )
    .with_header("x-case", &case)
    .build()
    .unwrap();
    let stats = exporter.stats().clone();
    let reader = PeriodicReader::builder(exporter)
        .with_interval(Duration::from_secs(3600))
        .build();
    let provider = SdkMeterProvider::builder()
        .with_resource(resource())
        .with_reader(reader)
        .build();
    let meter = provider.meter_with_scope(scope());

    let counter = meter
        .u64_counter("requests")
        .with_unit("1")
        .with_description("handled requests")
        .build();
    counter.add(5, &[KeyValue::new("route", "/a")]);
    counter.add(7, &[KeyValue::new("route", "/a")]);
    counter.add(1, &[KeyValue::new("route", "/b")]);
    let queue = meter.i64_up_down_counter("queue").build();
    queue.add(10, &[]);
    queue.add(-4, &[]);
    let latency = meter
        .f64_histogram("latency")
        .with_unit("ms")
        .with_boundaries(vec![1.0, 10.0])
        .build();
    for value in [0.5, 5.0, 50.0] {
        latency.record(value, &[KeyValue::new("route", "/a")]);
    }
    meter.f64_gauge("temperature").build().record(-3.5, &[]);
    let _observed_counter = meter
        .u64_observable_counter("cpu.time")
        .with_callback(|observer| observer.observe(99, &[KeyValue::new("cpu", "0")]))
        .build();
    let _observed_updown = meter
        .i64_observable_up_down_counter("connections")
        .with_callback(|observer| observer.observe(-2, &[]))
        .build();
    let _observed_gauge = meter
        .f64_observable_gauge("load")
        .with_callback(|observer| observer.observe(0.75, &[]))
        .build();

    provider.force_flush().unwrap();
    // 2 counter points, 1 up-down, 1 histogram, 1 gauge, 3 observable.
    receiver.wait_for_data_points(8, WAIT).unwrap();
    provider.shutdown().unwrap();

    let requests_metric = receiver.latest_metric("requests").unwrap();
    assert_eq!(requests_metric.metric.unit, "1", "{case}");
    assert_eq!(
        requests_metric.metric.description, "handled requests",
        "{case}"
    );
    let Some(metric::Data::Sum(sum)) = &requests_metric.metric.data else {
        panic!("{case}: requests is not a sum");
    };
    assert!(sum.is_monotonic, "{case}");
    assert_eq!(
        sum.aggregation_temporality,
        AggregationTemporality::Cumulative as i32,
        "{case}"
    );
    let mut by_route: Vec<(String, Option<number_data_point::Value>)> = sum
        .data_points
        .iter()
        .map(|p| {
            let route = otlpkit_testkit::attribute_str(&p.attributes, "route").unwrap();
            (route.to_owned(), p.value)
        })
        .collect();
    by_route.sort_by(|a, b| a.0.cmp(&b.0));
    assert_eq!(
        by_route,
        [
            ("/a".to_owned(), Some(number_data_point::Value::AsInt(12))),
            ("/b".to_owned(), Some(number_data_point::Value::AsInt(1))),
        ],
        "{case}"
    );
    for point in &sum.data_points {
        assert!(point.time_unix_nano > 0, "{case}");
        assert!(point.start_time_unix_nano <= point.time_unix_nano, "{case}");
    }

    let queue = receiver.latest_metric("queue").unwrap();
    assert_eq!(
        queue.number_points()[0].value,
        Some(number_data_point::Value::AsInt(6)),
        "{case}"
    );
    assert!(
        matches!(&queue.metric.data, Some(metric::Data::Sum(s)) if !s.is_monotonic),
        "{case}"
    );

    let histogram = receiver.latest_metric("latency").unwrap();
    let point = &histogram.histogram_points()[0];
    assert_eq!(point.count, 3, "{case}");
    assert_eq!(point.sum, Some(55.5), "{case}");
    assert_eq!(point.min, Some(0.5), "{case}");
    assert_eq!(point.max, Some(50.0), "{case}");
    assert_eq!(point.explicit_bounds, [1.0, 10.0], "{case}");
    assert_eq!(point.bucket_counts, [1, 1, 1], "{case}");
    assert_eq!(histogram.metric.unit, "ms", "{case}");

    let temperature = receiver.latest_metric("temperature").unwrap();
    assert!(
        matches!(temperature.metric.data, Some(metric::Data::Gauge(_))),
        "{case}"
    );
    assert_eq!(
        temperature.number_points()[0].value,
        Some(number_data_point::Value::AsDouble(-3.5)),
        "{case}"
    );
    let cpu = receiver.latest_metric("cpu.time").unwrap();
    assert!(
        matches!(&cpu.metric.data, Some(metric::Data::Sum(s)) if s.is_monotonic),
        "{case}"
    );
    assert_eq!(
        cpu.number_points()[0].value,
        Some(number_data_point::Value::AsInt(99)),
        "{case}"
    );
    let connections = receiver.latest_metric("connections").unwrap();
    assert_eq!(
        connections.number_points()[0].value,
        Some(number_data_point::Value::AsInt(-2)),
        "{case}"
    );
    let load = receiver.latest_metric("load").unwrap();
    assert!(
        matches!(load.metric.data, Some(metric::Data::Gauge(_))),
        "{case}"
    );
    assert_eq!(
        load.number_points()[0].value,
        Some(number_data_point::Value::AsDouble(0.75)),
        "{case}"
    );

    assert_eq!(
        histogram.origin.resource_attribute_str("service.name"),
        Some("http-test-service"),
        "{case}"
    );
    assert_eq!(histogram.origin.scope.name, "http-test-scope", "{case}");
    assert_eq!(histogram.origin.scope.version, "3.1.4", "{case}");

    let requests = receiver.requests();
    check_requests(&requests, protocol, compression, &case);
    let metrics = stats.snapshot().signal(Signal::Metrics);
    assert_eq!(
        metrics.exported,
        receiver.data_point_count() as u64,
        "{case}"
    );
    assert_eq!(metrics.dropped_total(), 0, "{case}");
    assert_eq!(metrics.requests, requests.len() as u64, "{case}");
}

#[test]
fn metrics_every_instrument_kind_protocol_and_compression() {
    for protocol in support::protocols() {
        for &compression in COMPRESSIONS {
            metrics_round_trip(protocol, compression);
        }
    }
}

#[test]
fn delta_preference_applies_the_specification_table() {
    // checklist 3.11: delta → counters and histograms delta, up-down counters cumulative.
    let receiver = Receiver::start().unwrap();
    let exporter = configure(
        HttpMetricExporter::builder(),
        &receiver.http_url(otlpkit_testkit::Signal::Metrics),
        Protocol::HttpProtobuf,
        Compression::None,
    )
    .with_temporality_preference(TemporalityPreference::Delta)
    .build()
    .unwrap();
    assert_eq!(
        exporter.temporality_preference(),
        TemporalityPreference::Delta
    );
    let provider = SdkMeterProvider::builder()
        .with_reader(
            PeriodicReader::builder(exporter)
                .with_interval(Duration::from_secs(3600))
                .build(),
        )
        .build();
    let meter = provider.meter("delta");
    meter.u64_counter("c").build().add(1, &[]);
    meter.f64_histogram("h").build().record(1.0, &[]);
    meter.i64_up_down_counter("u").build().add(1, &[]);
    provider.force_flush().unwrap();
    receiver.wait_for_data_points(3, WAIT).unwrap();
    provider.shutdown().unwrap();
    let temporality = |name: &str| match receiver.latest_metric(name).unwrap().metric.data {
        Some(metric::Data::Sum(s)) => s.aggregation_temporality,
        Some(metric::Data::Histogram(h)) => h.aggregation_temporality,
        other => panic!("{name}: {other:?}"),
    };
    assert_eq!(temporality("c"), AggregationTemporality::Delta as i32);
    assert_eq!(temporality("h"), AggregationTemporality::Delta as i32);
    assert_eq!(temporality("u"), AggregationTemporality::Cumulative as i32);

    // The preference also comes from the environment.
    let env = otlpkit_core::MapEnv::new().with(
        "OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE",
        "LowMemory",
    );
    let exporter = HttpMetricExporter::builder()
        .with_env(env)
        .with_endpoint(receiver.http_url(otlpkit_testkit::Signal::Metrics))
        .build()
        .unwrap();
    assert_eq!(
        exporter.temporality_preference(),
        TemporalityPreference::LowMemory
    );
}

// --- Logs -----------------------------------------------------------------------------------

fn logs_round_trip(protocol: Protocol, compression: Compression) {
    let case = format!("logs {protocol} {compression}");
    let receiver = Receiver::start().unwrap();
    let exporter = configure(
        HttpLogExporter::builder(),
        &receiver.http_url(otlpkit_testkit::Signal::Logs),
        protocol,
        compression,
    )
    .with_header("x-case", &case)
    .build()
    .unwrap();
    let stats = exporter.stats().clone();
    let provider = SdkLoggerProvider::builder()
        .with_resource(resource())
        .with_batch_exporter(exporter)
        .build();
    let logger = provider.logger_with_scope(scope());

    emit_disk_alert_logs(&logger);
    let mut third = logger.create_log_record();
    third.set_severity_number(Severity::Debug);
    third.set_body(AnyValue::Map(Box::new(
        [("k".into(), AnyValue::Double(1.5))].into_iter().collect(),
    )));
    logger.emit(third);

    provider.force_flush().unwrap();
    let logs = receiver.wait_for_logs(3, WAIT).unwrap();
    provider.shutdown().unwrap();
    assert_eq!(logs.len(), 3, "{case}");

    let first = assert_disk_alert_logs(&logs, &case);
    assert_eq!(
        first.origin.resource_attribute_str("service.name"),
        Some("http-test-service"),
        "{case}"
    );
    assert_eq!(first.origin.scope.name, "http-test-scope", "{case}");
    assert_eq!(first.origin.scope.version, "3.1.4", "{case}");

    let by_severity = |severity| logs.iter().find(|l| l.severity() == severity).unwrap();
    let Some(any_value::Value::KvlistValue(map)) = by_severity(SeverityNumber::Debug)
        .record
        .body
        .as_ref()
        .unwrap()
        .value
        .clone()
    else {
        panic!("{case}: the map body did not arrive as a kvlist");
    };
    assert_eq!(map.values[0].key, "k", "{case}");
    assert_eq!(
        map.values[0].value.as_ref().unwrap().value,
        Some(any_value::Value::DoubleValue(1.5)),
        "{case}"
    );

    let requests = receiver.requests();
    check_requests(&requests, protocol, compression, &case);
    let logs = stats.snapshot().signal(Signal::Logs);
    assert_eq!(logs.exported, 3, "{case}");
    assert_eq!(logs.dropped_total(), 0, "{case}");
}

#[test]
fn logs_every_protocol_and_compression() {
    for protocol in support::protocols() {
        for &compression in COMPRESSIONS {
            logs_round_trip(protocol, compression);
        }
    }
}

// --- OTLP/JSON on the wire (checklist 2.15) ------------------------------------------------

#[cfg(feature = "json")]
fn json_body(server: &RawServer) -> serde_json::Value {
    let requests = server.requests();
    let request = requests.last().expect("a request");
    assert_eq!(request.header("content-type"), Some("application/json"));
    let text = std::str::from_utf8(&request.body).unwrap();
    // Compact, not pretty-printed.
    assert!(!text.contains('\n') && !text.contains(": "), "{text}");
    // c: lowerCamelCase keys only.
    for snake in [
        "trace_id",
        "span_id",
        "parent_span_id",
        "time_unix_nano",
        "dropped_attributes_count",
        "severity_number",
        "resource_spans",
    ] {
        assert!(!text.contains(snake), "{snake} in {text}");
    }
    serde_json::from_slice(&request.body).unwrap()
}

#[cfg(feature = "json")]
fn is_lower_hex(value: &serde_json::Value, len: usize) -> bool {
    value.as_str().is_some_and(|s| {
        s.len() == len
            && s.bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    })
}

#[cfg(feature = "json")]
#[test]
fn json_spans_follow_the_otlp_json_rules() {
    // checklist 2.15 a, b, c, e on a real request.
    let server = RawServer::start();
    let exporter = configure(
        HttpSpanExporter::builder(),
        &server.url("/v1/traces"),
        Protocol::HttpJson,
        Compression::None,
    )
    .build()
    .unwrap();
    let provider = SdkTracerProvider::builder()
        .with_resource(resource())
        .with_span_limits(opentelemetry_sdk::trace::SpanLimits {
            max_attributes_per_span: 2,
            ..Default::default()
        })
        .with_simple_exporter(exporter)
        .build();
    let tracer = provider.tracer_with_scope(scope());
    let linked = SpanContext::new(
        TraceId::from_bytes([0xAB; 16]),
        SpanId::from_bytes([0xCD; 8]),
        TraceFlags::SAMPLED,
        true,
        TraceState::NONE,
    );
    tracer.in_span("parent", |cx| {
        let mut child = tracer
            .span_builder("child")
            .with_kind(SpanKind::Consumer)
            .with_links(vec![Link::with_context(linked)])
            .with_start_time(at(1_700_000_000_000_000_001))
            .with_attributes([
                KeyValue::new("int", 42_i64),
                KeyValue::new("nan", f64::NAN),
                KeyValue::new("dropped", "over the limit"),
            ])
            .start_with_context(&tracer, &cx);
        child.set_status(Status::error("boom"));
        child.end_with_timestamp(at(1_700_000_000_000_000_002));
    });
    provider.shutdown().unwrap();

    let requests = server.requests();
    assert_eq!(requests.len(), 2, "{requests:?}");
    let first: serde_json::Value = serde_json::from_slice(&requests[0].body).unwrap();
    let child = &first["resourceSpans"][0]["scopeSpans"][0]["spans"][0];
    assert_eq!(child["name"], "child");
    // a: lowercase hex ids, parent too; links too.
    assert!(is_lower_hex(&child["traceId"], 32), "{child}");
    assert!(is_lower_hex(&child["spanId"], 16), "{child}");
    assert!(is_lower_hex(&child["parentSpanId"], 16), "{child}");
    assert_eq!(
        child["links"][0]["traceId"],
        "abababababababababababababababab"
    );
    assert_eq!(child["links"][0]["spanId"], "cdcdcdcdcdcdcdcd");
    // b: enums are integers.
    assert_eq!(child["kind"], 5);
    assert_eq!(child["status"]["code"], 2);
    // e: 64-bit integers as decimal strings, NaN as a string.
    assert_eq!(child["startTimeUnixNano"], "1700000000000000001");
    assert_eq!(child["endTimeUnixNano"], "1700000000000000002");
    let attributes = child["attributes"].as_array().unwrap();
    let int = attributes.iter().find(|a| a["key"] == "int").unwrap();
    assert_eq!(int["value"]["intValue"], "42");
    let nan = attributes.iter().find(|a| a["key"] == "nan").unwrap();
    assert_eq!(nan["value"]["doubleValue"], "NaN");
    // c: camelCase counters.
    assert_eq!(child["droppedAttributesCount"], 1);
    // The root span's parent is absent (empty).
    let body = json_body(&server);
    let parent = &body["resourceSpans"][0]["scopeSpans"][0]["spans"][0];
    assert_eq!(parent["name"], "parent");
    assert!(
        parent["parentSpanId"].as_str().is_none_or(str::is_empty),
        "{parent}"
    );
    assert_eq!(parent["traceId"], child["traceId"]);
    assert_eq!(child["parentSpanId"], parent["spanId"]);
}

#[cfg(feature = "json")]
#[test]
fn json_logs_follow_the_otlp_json_rules() {
    // checklist 2.15 a, b, e for log records, including bytesValue in base64.
    let server = RawServer::start();
    let exporter = configure(
        HttpLogExporter::builder(),
        &server.url("/v1/logs"),
        Protocol::HttpJson,
        Compression::None,
    )
    .build()
    .unwrap();
    let provider = SdkLoggerProvider::builder()
        .with_simple_exporter(exporter)
        .build();
    let logger = provider.logger("json");
    let mut record = logger.create_log_record();
    record.set_severity_number(Severity::Error);
    record.set_timestamp(at(1_700_000_000_000_000_005));
    record.set_body(AnyValue::Bytes(Box::new(vec![0xde, 0xad, 0xbe, 0xef])));
    record.add_attribute("big", AnyValue::Int(-9_007_199_254_740_993));
    record.set_trace_context(
        TraceId::from_bytes([0xA1; 16]),
        SpanId::from_bytes([0xB2; 8]),
        Some(TraceFlags::SAMPLED),
    );
    logger.emit(record);
    provider.shutdown().unwrap();

    let body = json_body(&server);
    let log = &body["resourceLogs"][0]["scopeLogs"][0]["logRecords"][0];
    assert_eq!(log["traceId"], "a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1");
    assert_eq!(log["spanId"], "b2b2b2b2b2b2b2b2");
    assert_eq!(log["severityNumber"], 17);
    assert_eq!(log["timeUnixNano"], "1700000000000000005");
    assert_eq!(log["body"]["bytesValue"], "3q2+7w==");
    assert_eq!(
        log["attributes"][0]["value"]["intValue"],
        "-9007199254740993"
    );
    assert_eq!(log["flags"], 1);
}

#[cfg(feature = "json")]
#[test]
fn json_is_smaller_than_the_pretty_printed_form() {
    // The official exporter pretty-prints; ours is compact.
    let server = RawServer::start();
    let exporter = configure(
        HttpSpanExporter::builder(),
        &server.url("/v1/traces"),
        Protocol::HttpJson,
        Compression::None,
    )
    .build()
    .unwrap();
    let spans = support::sdk_spans(20);
    otlpkit_fixtures::exec::block_on(opentelemetry_sdk::trace::SpanExporter::export(
        &exporter, spans,
    ))
    .unwrap();
    let request = server.requests().pop().unwrap();
    let value: serde_json::Value = serde_json::from_slice(&request.body).unwrap();
    let pretty = serde_json::to_vec_pretty(&value).unwrap();
    assert!(request.body.len() < pretty.len());
    let traces = exporter.stats().snapshot().signal(Signal::Traces);
    assert_eq!(
        (traces.exported, traces.dropped(DropReason::NonRetryable)),
        (20, 0)
    );
    assert_eq!(
        request.header("content-length"),
        Some(request.body.len().to_string().as_str())
    );
}
