//! Round trip through the official SDK providers: traces, metrics and logs,
//! each uncompressed, gzip and zstd (checklist 1.13), to the testkit
//! receiver, checking what arrived field by field, the request metadata
//! (User-Agent 1.15, headers 1.11, `grpc-encoding`) and the counters.

mod support;

use std::sync::Arc;

use opentelemetry::logs::LoggerProvider as _;
use opentelemetry::metrics::MeterProvider as _;
use opentelemetry::trace::TracerProvider as _;
use opentelemetry::{InstrumentationScope, KeyValue};
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::logs::SdkLoggerProvider;
use opentelemetry_sdk::metrics::{PeriodicReader, SdkMeterProvider};
use opentelemetry_sdk::trace::SdkTracerProvider;
use otlpkit_core::stats::ExportStats;
use otlpkit_core::{Compression, TemporalityPreference};
use otlpkit_fixtures::roundtrip::{
    assert_disk_alert_logs, assert_parent_and_child, emit_disk_alert_logs, emit_parent_and_child,
};
use otlpkit_testkit::proto::metrics::v1::{AggregationTemporality, metric, number_data_point};
use otlpkit_testkit::proto::trace::v1::status;
use otlpkit_testkit::{Protocol, Receiver, RecordedRequest};
use support::{WAIT, logs_to, metrics_to, spans_to};

fn resource() -> Resource {
    Resource::builder_empty()
        .with_service_name("grpc-roundtrip")
        .with_attribute(KeyValue::new("deployment.environment.name", "test"))
        .with_schema_url(
            [KeyValue::new("host.name", "ci")],
            "https://opentelemetry.io/schemas/1.26.0",
        )
        .build()
}

fn scope() -> InstrumentationScope {
    InstrumentationScope::builder("roundtrip-scope")
        .with_version("3.1.4")
        .with_schema_url("https://opentelemetry.io/schemas/1.21.0")
        .with_attributes([KeyValue::new("scope.key", "scope.value")])
        .build()
}

/// What every request of a case must show, and the counters must agree with.
fn check_requests(
    requests: &[Arc<RecordedRequest>],
    compression: Compression,
    stats: &ExportStats,
    signal: otlpkit_core::Signal,
) {
    assert!(!requests.is_empty());
    for request in requests {
        assert_eq!(request.protocol, Protocol::Grpc);
        assert!(request.accepted(), "{request:?}");
        // checklist 1.13: grpc-encoding names the compression.
        assert_eq!(
            request.content_encoding.as_deref(),
            compression.encoding(),
            "{compression}"
        );
        // checklist 1.11: metadata keys are lowercased.
        assert_eq!(request.headers.get("x-roundtrip-case"), Some("42"));
        // checklist 1.15
        let agent = request.headers.get("user-agent").unwrap();
        assert!(
            agent.starts_with(otlpkit_core::USER_AGENT),
            "user-agent {agent:?}"
        );
    }
    let snapshot = stats.snapshot().signal(signal);
    let wire: usize = requests.iter().map(|r| r.body_size).sum();
    assert_eq!(snapshot.bytes_sent, wire as u64);
    assert_eq!(snapshot.requests, requests.len() as u64);
    assert_eq!(snapshot.dropped_total(), 0);
}

// --- Traces -------------------------------------------------------------------------------

fn traces_roundtrip(compression: Compression) {
    let receiver = Receiver::start().unwrap();
    let exporter = spans_to(&receiver)
        .with_header("X-Roundtrip-Case", "42")
        .with_compression(compression)
        .build()
        .unwrap();
    let stats = exporter.stats().clone();
    // The SDK's batch processor drives the exporter from its own thread with a plain
    // futures executor.
    let provider = SdkTracerProvider::builder()
        .with_resource(resource())
        .with_batch_exporter(exporter)
        .build();
    let tracer = provider.tracer_with_scope(scope());

    let sent = emit_parent_and_child(&tracer);

    provider.force_flush().unwrap();
    receiver.wait_for_spans(2, WAIT).unwrap();
    provider.shutdown().unwrap();

    let (p, c) = assert_parent_and_child(&receiver, &sent, "traces");
    // What the shared checks leave out: the parent's status, the second
    // event, the event's and the link's attributes, the child's flags.
    assert_eq!(p.status_code(), status::StatusCode::Ok);
    // checklist 2.16: "has is-remote" for the local parent.
    assert_eq!(c.span.flags & 0x100, 0x100);
    assert_eq!(c.span.events.len(), 2);
    let event = c.event("cache miss").unwrap();
    assert_eq!(
        otlpkit_testkit::attribute_str(&event.attributes, "key"),
        Some("user:1")
    );
    let link = &c.span.links[0];
    assert_eq!(
        otlpkit_testkit::attribute_str(&link.attributes, "link.kind"),
        Some("follows")
    );
    // Resource and scope (checklist 2.18: schema URLs filled in).
    assert_eq!(
        p.origin.resource_attribute_str("service.name"),
        Some("grpc-roundtrip")
    );
    assert_eq!(
        p.origin
            .resource_attribute_str("deployment.environment.name"),
        Some("test")
    );
    assert_eq!(
        p.origin.resource_schema_url,
        "https://opentelemetry.io/schemas/1.26.0"
    );
    assert_eq!(p.origin.scope.name, "roundtrip-scope");
    assert_eq!(p.origin.scope.version, "3.1.4");
    assert!(p.origin.scope_attribute("scope.key").is_some());
    assert_eq!(
        p.origin.scope_schema_url,
        "https://opentelemetry.io/schemas/1.21.0"
    );

    let traces = stats.snapshot().signal(otlpkit_core::Signal::Traces);
    assert_eq!(traces.exported, 2);
    check_requests(
        &receiver.requests(),
        compression,
        &stats,
        otlpkit_core::Signal::Traces,
    );
}

#[test]
fn traces_uncompressed() {
    traces_roundtrip(Compression::None);
}

#[test]
fn traces_gzip() {
    traces_roundtrip(Compression::Gzip);
}

#[cfg(feature = "zstd")]
#[test]
fn traces_zstd() {
    traces_roundtrip(Compression::Zstd);
}

// --- Metrics ------------------------------------------------------------------------------

fn sum_of(metric: &otlpkit_testkit::ReceivedMetric) -> &otlpkit_testkit::proto::metrics::v1::Sum {
    match &metric.metric.data {
        Some(metric::Data::Sum(sum)) => sum,
        other => panic!("{} is not a sum: {other:?}", metric.name()),
    }
}

/// The first export of metric `name` (with delta temporality, the export made at
/// shutdown carries zero deltas).
fn first_metric(receiver: &Receiver, name: &str) -> otlpkit_testkit::ReceivedMetric {
    receiver.metrics_named(name).into_iter().next().unwrap()
}

fn int(value: i64) -> Option<number_data_point::Value> {
    Some(number_data_point::Value::AsInt(value))
}

fn double(value: f64) -> Option<number_data_point::Value> {
    Some(number_data_point::Value::AsDouble(value))
}

/// Every instrument kind, through a periodic reader, with `preference`.
fn metrics_roundtrip(compression: Compression, preference: TemporalityPreference) {
    let receiver = Receiver::start().unwrap();
    let exporter = metrics_to(&receiver)
        .with_header("X-Roundtrip-Case", "42")
        .with_compression(compression)
        .with_temporality_preference(preference)
        .build()
        .unwrap();
    let stats = exporter.stats().clone();
    let provider = SdkMeterProvider::builder()
        .with_resource(resource())
        .with_reader(PeriodicReader::builder(exporter).build())
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
        latency.record(value, &[]);
    }
    meter.i64_gauge("temperature").build().record(-3, &[]);
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
    // requests (2 points), queue, latency, temperature, cpu.time, connections, load.
    receiver.wait_for_data_points(8, WAIT).unwrap();
    provider.shutdown().unwrap();

    let delta = AggregationTemporality::Delta as i32;
    let cumulative = AggregationTemporality::Cumulative as i32;
    let monotonic_temporality = match preference {
        TemporalityPreference::Cumulative => cumulative,
        _ => delta,
    };

    let requests = &first_metric(&receiver, "requests");
    assert_eq!(requests.metric.unit, "1");
    assert_eq!(requests.metric.description, "handled requests");
    let sum = sum_of(requests);
    assert!(sum.is_monotonic);
    // checklist 3.11
    assert_eq!(sum.aggregation_temporality, monotonic_temporality);
    let mut by_route: Vec<_> = sum
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
        [("/a".to_owned(), int(12)), ("/b".to_owned(), int(1))]
    );
    for point in &sum.data_points {
        assert!(point.start_time_unix_nano > 0);
        assert!(point.start_time_unix_nano <= point.time_unix_nano);
    }

    let queue = first_metric(&receiver, "queue");
    let sum = sum_of(&queue);
    assert!(!sum.is_monotonic);
    assert_eq!(sum.aggregation_temporality, cumulative);
    assert_eq!(queue.number_points()[0].value, int(6));

    let latency = first_metric(&receiver, "latency");
    let point = &latency.histogram_points()[0];
    assert_eq!(point.count, 3);
    assert_eq!(point.sum, Some(55.5));
    assert_eq!((point.min, point.max), (Some(0.5), Some(50.0)));
    assert_eq!(point.explicit_bounds, [1.0, 10.0]);
    assert_eq!(point.bucket_counts, [1, 1, 1]);
    assert_eq!(latency.metric.unit, "ms");

    let temperature = first_metric(&receiver, "temperature");
    assert!(matches!(
        temperature.metric.data,
        Some(metric::Data::Gauge(_))
    ));
    assert_eq!(temperature.number_points()[0].value, int(-3));

    let cpu = first_metric(&receiver, "cpu.time");
    assert!(sum_of(&cpu).is_monotonic);
    assert_eq!(cpu.number_points()[0].value, int(99));
    assert_eq!(
        otlpkit_testkit::attribute_str(&cpu.number_points()[0].attributes, "cpu"),
        Some("0")
    );
    let connections = first_metric(&receiver, "connections");
    assert!(!sum_of(&connections).is_monotonic);
    assert_eq!(connections.number_points()[0].value, int(-2));
    let load = first_metric(&receiver, "load");
    assert!(matches!(load.metric.data, Some(metric::Data::Gauge(_))));
    assert_eq!(load.number_points()[0].value, double(0.75));

    assert_eq!(
        latency.origin.resource_attribute_str("service.name"),
        Some("grpc-roundtrip")
    );
    assert_eq!(latency.origin.scope.name, "roundtrip-scope");
    assert_eq!(latency.origin.scope.version, "3.1.4");

    let exported: u64 = stats
        .snapshot()
        .signal(otlpkit_core::Signal::Metrics)
        .exported;
    assert_eq!(exported, receiver.data_point_count() as u64);
    check_requests(
        &receiver.requests(),
        compression,
        &stats,
        otlpkit_core::Signal::Metrics,
    );
}

#[test]
fn metrics_uncompressed() {
    metrics_roundtrip(Compression::None, TemporalityPreference::Cumulative);
}

#[test]
fn metrics_gzip() {
    metrics_roundtrip(Compression::Gzip, TemporalityPreference::Cumulative);
}

#[cfg(feature = "zstd")]
#[test]
fn metrics_zstd_with_delta_temporality() {
    metrics_roundtrip(Compression::Zstd, TemporalityPreference::Delta);
}

// --- Logs ---------------------------------------------------------------------------------

fn logs_roundtrip(compression: Compression) {
    let receiver = Receiver::start().unwrap();
    let exporter = logs_to(&receiver)
        .with_header("X-Roundtrip-Case", "42")
        .with_compression(compression)
        .build()
        .unwrap();
    let stats = exporter.stats().clone();
    let provider = SdkLoggerProvider::builder()
        .with_resource(resource())
        .with_batch_exporter(exporter)
        .build();
    let logger = provider.logger_with_scope(scope());

    emit_disk_alert_logs(&logger);

    provider.force_flush().unwrap();
    let logs = receiver.wait_for_logs(2, WAIT).unwrap();
    provider.shutdown().unwrap();
    assert_eq!(logs.len(), 2);

    let first = assert_disk_alert_logs(&logs, "logs");
    assert_eq!(
        first.origin.resource_attribute_str("service.name"),
        Some("grpc-roundtrip")
    );
    assert_eq!(first.origin.scope.name, "roundtrip-scope");
    assert_eq!(first.origin.scope.version, "3.1.4");

    assert_eq!(
        stats.snapshot().signal(otlpkit_core::Signal::Logs).exported,
        2
    );
    check_requests(
        &receiver.requests(),
        compression,
        &stats,
        otlpkit_core::Signal::Logs,
    );
}

#[test]
fn logs_uncompressed() {
    logs_roundtrip(Compression::None);
}

#[test]
fn logs_gzip() {
    logs_roundtrip(Compression::Gzip);
}

#[cfg(feature = "zstd")]
#[test]
fn logs_zstd() {
    logs_roundtrip(Compression::Zstd);
}
