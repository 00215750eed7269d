//! The official `opentelemetry-otlp` exporter, fed by `opentelemetry_sdk`, sends traces,
//! metrics and logs over gRPC, HTTP/protobuf and HTTP/JSON to the receiver; everything must
//! decode with ids, attributes, timestamps, bodies, severities and values intact.
//!
//! Structure: the gRPC exporter needs a tokio runtime when it is built and while it runs,
//! so gRPC cases build it inside a multi-thread runtime that keeps running in the
//! background; the SDK's batch processors export from their own threads. HTTP cases use the
//! blocking reqwest client, which must not run on a runtime thread: those tests have no
//! runtime at all. The test threads themselves only create telemetry and call the
//! providers' (blocking) `force_flush`.

use std::collections::HashMap;
use std::time::Duration;

use opentelemetry::logs::LoggerProvider as _;
use opentelemetry::metrics::MeterProvider as _;
use opentelemetry::trace::TracerProvider as _;
use opentelemetry::{InstrumentationScope, KeyValue};
use opentelemetry_otlp::{
    Compression, LogExporter, MetricExporter, SpanExporter, WithExportConfig as _,
    WithHttpConfig as _, WithTonicConfig as _,
};
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::logs::SdkLoggerProvider;
use opentelemetry_sdk::metrics::SdkMeterProvider;
use opentelemetry_sdk::trace::SdkTracerProvider;
use otlpkit_fixtures::roundtrip::{
    assert_disk_alert_logs, assert_parent_and_child, emit_disk_alert_logs, emit_parent_and_child,
};
use otlpkit_testkit::proto::common::v1::any_value;
use otlpkit_testkit::proto::metrics::v1::{AggregationTemporality, number_data_point};
use otlpkit_testkit::{Protocol, Receiver, RecordedRequest, Signal};

const WAIT: Duration = Duration::from_secs(15);

/// One transport of the official exporter, with the compression used for the case.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Transport {
    Grpc(Option<Compression>),
    HttpProtobuf(Option<Compression>),
    HttpJson(Option<Compression>),
}

impl Transport {
    fn protocol(self) -> Protocol {
        match self {
            Transport::Grpc(_) => Protocol::Grpc,
            Transport::HttpProtobuf(_) => Protocol::HttpProtobuf,
            Transport::HttpJson(_) => Protocol::HttpJson,
        }
    }

    fn compression(self) -> Option<Compression> {
        match self {
            Transport::Grpc(c) | Transport::HttpProtobuf(c) | Transport::HttpJson(c) => c,
        }
    }

    fn otlp_protocol(self) -> opentelemetry_otlp::Protocol {
        match self {
            Transport::Grpc(_) => opentelemetry_otlp::Protocol::Grpc,
            Transport::HttpProtobuf(_) => opentelemetry_otlp::Protocol::HttpBinary,
            Transport::HttpJson(_) => opentelemetry_otlp::Protocol::HttpJson,
        }
    }
}

/// Keeps what a case needs alive: for gRPC, the runtime the exporter runs on.
struct Harness {
    receiver: Receiver,
    runtime: Option<tokio::runtime::Runtime>,
}

impl Harness {
    fn new(transport: Transport) -> Harness {
        let runtime = matches!(transport, Transport::Grpc(_)).then(|| {
            tokio::runtime::Builder::new_multi_thread()
                .worker_threads(1)
                .enable_all()
                .build()
                .unwrap()
        });
        Harness {
            receiver: Receiver::start().unwrap(),
            runtime,
        }
    }

    /// Builds an exporter (inside the runtime for gRPC, where tonic needs one).
    fn build<T>(&self, build: impl FnOnce() -> T) -> T {
        match &self.runtime {
            Some(runtime) => {
                let _context = runtime.enter();
                build()
            }
            None => build(),
        }
    }
}

fn case_headers(case: &str) -> HashMap<String, String> {
    HashMap::from([("x-roundtrip-case".to_owned(), case.to_owned())])
}

fn case_metadata(case: &str) -> tonic::metadata::MetadataMap {
    let mut metadata = tonic::metadata::MetadataMap::new();
    metadata.insert("x-roundtrip-case", case.parse().unwrap());
    metadata
}

fn resource() -> Resource {
    Resource::builder()
        .with_service_name("roundtrip-service")
        .with_attribute(KeyValue::new("deployment.environment.name", "test"))
        .build()
}

fn scope() -> InstrumentationScope {
    InstrumentationScope::builder("roundtrip-scope")
        .with_version("2.0.1")
        .with_schema_url("https://opentelemetry.io/schemas/1.21.0")
        .with_attributes([KeyValue::new("scope.key", "scope.value")])
        .build()
}

/// Checks request-level facts every case shares.
fn check_requests(requests: &[std::sync::Arc<RecordedRequest>], transport: Transport, case: &str) {
    assert!(!requests.is_empty(), "{case}: no request");
    for request in requests {
        assert_eq!(request.protocol, transport.protocol(), "{case}");
        assert!(request.accepted(), "{case}: {request:?}");
        let expected = transport.compression().map(|c| c.to_string());
        assert_eq!(request.content_encoding, expected, "{case}");
        assert_eq!(
            request.headers.get("x-roundtrip-case"),
            Some(case),
            "{case}"
        );
        let agent = request.headers.get("user-agent").unwrap_or_default();
        assert!(
            agent.contains("OTel-OTLP-Exporter-Rust"),
            "{case}: {agent:?}"
        );
    }
}

// --- Traces -------------------------------------------------------------------------------

fn traces_roundtrip(transport: Transport) {
    let case = format!("traces {transport:?}");
    let harness = Harness::new(transport);
    let receiver = &harness.receiver;
    let exporter = harness.build(|| match transport {
        Transport::Grpc(compression) => {
            let mut builder = SpanExporter::builder()
                .with_tonic()
                .with_endpoint(receiver.grpc_endpoint())
                .with_metadata(case_metadata(&case));
            if let Some(c) = compression {
                builder = builder.with_compression(c);
            }
            builder.build().unwrap()
        }
        Transport::HttpProtobuf(compression) | Transport::HttpJson(compression) => {
            let mut builder = SpanExporter::builder()
                .with_http()
                .with_endpoint(receiver.http_url(Signal::Traces))
                .with_protocol(transport.otlp_protocol())
                .with_headers(case_headers(&case));
            if let Some(c) = compression {
                builder = builder.with_compression(c);
            }
            builder.build().unwrap()
        }
    });
    let provider = SdkTracerProvider::builder()
        .with_resource(resource())
        .with_batch_exporter(exporter)
        .build();
    let tracer = provider.tracer_with_scope(scope());

    let sent = emit_parent_and_child(&tracer);

    provider.force_flush().unwrap();
    let spans = receiver.wait_for_spans(2, WAIT).unwrap();
    provider.shutdown().unwrap();
    assert_eq!(spans.len(), 2, "{case}");

    let (p, c) = assert_parent_and_child(receiver, &sent, &case);
    // What the shared checks leave out: the array's values, the event's attribute.
    let Some(any_value::Value::ArrayValue(tags)) = p.attribute("tags") else {
        panic!("{case}: tags is not an array: {:?}", p.attribute("tags"));
    };
    let tags: Vec<_> = tags.values.iter().map(|v| v.value.clone()).collect();
    assert_eq!(
        tags,
        [
            Some(any_value::Value::StringValue("a".into())),
            Some(any_value::Value::StringValue("b".into()))
        ],
        "{case}"
    );
    let event = c.event("cache miss").unwrap();
    assert_eq!(event.attributes[0].key, "key", "{case}");

    // Resource and scope.
    assert_eq!(
        p.origin.resource_attribute_str("service.name"),
        Some("roundtrip-service"),
        "{case}"
    );
    assert_eq!(
        p.origin
            .resource_attribute_str("deployment.environment.name"),
        Some("test"),
        "{case}"
    );
    assert_eq!(p.origin.scope.name, "roundtrip-scope", "{case}");
    assert_eq!(p.origin.scope.version, "2.0.1", "{case}");
    assert!(p.origin.scope_attribute("scope.key").is_some(), "{case}");
    assert_eq!(
        p.origin.scope_schema_url, "https://opentelemetry.io/schemas/1.21.0",
        "{case}"
    );

    check_requests(&receiver.requests(), transport, &case);
}

#[test]
fn traces_over_grpc() {
    traces_roundtrip(Transport::Grpc(Some(Compression::Gzip)));
}

#[test]
fn traces_over_http_protobuf() {
    traces_roundtrip(Transport::HttpProtobuf(None));
}

#[test]
fn traces_over_http_json() {
    traces_roundtrip(Transport::HttpJson(Some(Compression::Gzip)));
}

// --- Metrics ------------------------------------------------------------------------------

fn metrics_roundtrip(transport: Transport) {
    let case = format!("metrics {transport:?}");
    let harness = Harness::new(transport);
    let receiver = &harness.receiver;
    let exporter = harness.build(|| match transport {
        Transport::Grpc(compression) => {
            let mut builder = MetricExporter::builder()
                .with_tonic()
                .with_endpoint(receiver.grpc_endpoint())
                .with_metadata(case_metadata(&case));
            if let Some(c) = compression {
                builder = builder.with_compression(c);
            }
            builder.build().unwrap()
        }
        Transport::HttpProtobuf(compression) | Transport::HttpJson(compression) => {
            let mut builder = MetricExporter::builder()
                .with_http()
                .with_endpoint(receiver.http_url(Signal::Metrics))
                .with_protocol(transport.otlp_protocol())
                .with_headers(case_headers(&case));
            if let Some(c) = compression {
                builder = builder.with_compression(c);
            }
            builder.build().unwrap()
        }
    });
    let provider = SdkMeterProvider::builder()
        .with_resource(resource())
        .with_periodic_exporter(exporter)
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
    let histogram = meter
        .f64_histogram("latency")
        .with_unit("ms")
        .with_boundaries(vec![1.0, 10.0])
        .build();
    for value in [0.5, 5.0, 50.0] {
        histogram.record(value, &[]);
    }
    meter.i64_gauge("temperature").build().record(-3, &[]);
    let queue = meter.i64_up_down_counter("queue").build();
    queue.add(10, &[]);
    queue.add(-4, &[]);

    provider.force_flush().unwrap();
    receiver.wait_for_data_points(5, WAIT).unwrap();
    provider.shutdown().unwrap();

    let requests = receiver.metrics_named("requests");
    let requests = requests.first().unwrap();
    assert_eq!(requests.metric.unit, "1", "{case}");
    assert_eq!(requests.metric.description, "handled requests", "{case}");
    let Some(otlpkit_testkit::proto::metrics::v1::metric::Data::Sum(sum)) = &requests.metric.data
    else {
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

    let latency = receiver.latest_metric("latency").unwrap();
    let point = &latency.histogram_points()[0];
    assert_eq!(point.count, 3, "{case}");
    assert_eq!(point.sum, Some(55.5), "{case}");
    assert_eq!(point.min, Some(0.5), "{case}");
    assert_eq!(point.max, Some(50.0), "{case}");
    assert_eq!(point.explicit_bounds, [1.0, 10.0], "{case}");
    assert_eq!(point.bucket_counts, [1, 1, 1], "{case}");
    assert_eq!(latency.metric.unit, "ms", "{case}");

    let temperature = receiver.latest_metric("temperature").unwrap();
    assert_eq!(
        temperature.number_points()[0].value,
        Some(number_data_point::Value::AsInt(-3)),
        "{case}"
    );
    let queue = receiver.latest_metric("queue").unwrap();
    assert_eq!(
        queue.number_points()[0].value,
        Some(number_data_point::Value::AsInt(6)),
        "{case}"
    );
    assert!(matches!(
        &queue.metric.data,
        Some(otlpkit_testkit::proto::metrics::v1::metric::Data::Sum(s)) if !s.is_monotonic
    ));

    assert_eq!(
        latency.origin.resource_attribute_str("service.name"),
        Some("roundtrip-service"),
        "{case}"
    );
    assert_eq!(latency.origin.scope.name, "roundtrip-scope", "{case}");
    assert_eq!(latency.origin.scope.version, "2.0.1", "{case}");
    check_requests(&receiver.requests(), transport, &case);
}

#[test]
fn metrics_over_grpc() {
    metrics_roundtrip(Transport::Grpc(Some(Compression::Zstd)));
}

#[test]
fn metrics_over_http_protobuf() {
    metrics_roundtrip(Transport::HttpProtobuf(Some(Compression::Gzip)));
}

#[test]
fn metrics_over_http_json() {
    metrics_roundtrip(Transport::HttpJson(None));
}

// --- Logs ---------------------------------------------------------------------------------

fn logs_roundtrip(transport: Transport) {
    let case = format!("logs {transport:?}");
    let harness = Harness::new(transport);
    let receiver = &harness.receiver;
    let exporter = harness.build(|| match transport {
        Transport::Grpc(compression) => {
            let mut builder = LogExporter::builder()
                .with_tonic()
                .with_endpoint(receiver.grpc_endpoint())
                .with_metadata(case_metadata(&case));
            if let Some(c) = compression {
                builder = builder.with_compression(c);
            }
            builder.build().unwrap()
        }
        Transport::HttpProtobuf(compression) | Transport::HttpJson(compression) => {
            let mut builder = LogExporter::builder()
                .with_http()
                .with_endpoint(receiver.http_url(Signal::Logs))
                .with_protocol(transport.otlp_protocol())
                .with_headers(case_headers(&case));
            if let Some(c) = compression {
                builder = builder.with_compression(c);
            }
            builder.build().unwrap()
        }
    });
    let provider = SdkLoggerProvider::builder()
        .with_resource(resource())
        .with_batch_exporter(exporter)
        .build();
    let logger = provider.logger_with_scope(scope());

    emit_disk_alert_logs(&logger);

    provider.force_flush().unwrap();
    let logs = receiver.wait_for_logs(2, WAIT).unwrap();
    provider.shutdown().unwrap();
    assert_eq!(logs.len(), 2, "{case}");

    let first = assert_disk_alert_logs(&logs, &case);
    assert_eq!(
        first.origin.resource_attribute_str("service.name"),
        Some("roundtrip-service"),
        "{case}"
    );
    assert_eq!(first.origin.scope.name, "roundtrip-scope", "{case}");
    assert_eq!(first.origin.scope.version, "2.0.1", "{case}");
    check_requests(&receiver.requests(), transport, &case);
}

#[test]
fn logs_over_grpc() {
    logs_roundtrip(Transport::Grpc(None));
}

#[test]
fn logs_over_http_protobuf() {
    logs_roundtrip(Transport::HttpProtobuf(None));
}

#[test]
fn logs_over_http_json() {
    logs_roundtrip(Transport::HttpJson(Some(Compression::Gzip)));
}
