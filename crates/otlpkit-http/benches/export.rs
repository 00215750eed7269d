//! Encode-and-export throughput of batches of 512 realistic spans (10
//! attributes, 2 events, a link; a resource with 5 attributes) to the
//! testkit receiver over HTTP/protobuf and HTTP/JSON, side by side with
//! `opentelemetry-otlp`'s HTTP exporter (blocking reqwest client) of the
//! same version, in the same run, to the same receiver.
//!
//! Two groups report the same runs two ways: `spans` (elements/s) and
//! `wire_bytes` (the bytes each exporter puts on the wire per batch, so
//! compact and pretty JSON are each measured by their own size).
//!
//! `cargo bench -p otlpkit-http` (or `cargo xtask bench`).

use std::time::{Duration, SystemTime};

use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use opentelemetry::trace::{
    Link, Span as _, SpanContext, SpanId, SpanKind, Status, TraceFlags, TraceId, TraceState,
    Tracer as _, TracerProvider as _,
};
use opentelemetry::{InstrumentationScope, KeyValue};
use opentelemetry_otlp::WithExportConfig as _;
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::trace::{SdkTracerProvider, SpanData, SpanExporter as _};
use otlpkit_core::{MapEnv, Protocol};
use otlpkit_fixtures::exec::block_on;
use otlpkit_fixtures::spans::CollectSpans;
use otlpkit_http::HttpSpanExporter;
use otlpkit_testkit::Receiver;

const BATCH: usize = 512;

fn resource() -> Resource {
    Resource::builder_empty()
        .with_service_name("checkout")
        .with_attributes([
            KeyValue::new("service.version", "1.42.0"),
            KeyValue::new("deployment.environment.name", "production"),
            KeyValue::new("host.name", "web-7f9c4d-2xk8p"),
            KeyValue::new("cloud.region", "eu-west-1"),
        ])
        .build()
}

/// 512 spans as the SDK hands them to an exporter.
fn realistic_spans() -> Vec<SpanData> {
    let collect = CollectSpans::default();
    let provider = SdkTracerProvider::builder()
        .with_resource(resource())
        .with_simple_exporter(collect.clone())
        .build();
    let tracer = provider.tracer_with_scope(
        InstrumentationScope::builder("checkout-service")
            .with_version("1.42.0")
            .build(),
    );
    let linked = SpanContext::new(
        TraceId::from_bytes([0x5b; 16]),
        SpanId::from_bytes([0x3c; 8]),
        TraceFlags::SAMPLED,
        true,
        TraceState::NONE,
    );
    for i in 0..BATCH {
        let mut span = tracer
            .span_builder("POST /api/v1/checkout")
            .with_kind(SpanKind::Server)
            .with_links(vec![Link::with_context(linked.clone())])
            .with_attributes([
                KeyValue::new("http.request.method", "POST"),
                KeyValue::new("http.route", "/api/v1/checkout"),
                KeyValue::new("http.response.status_code", 200_i64),
                KeyValue::new("url.scheme", "https"),
                KeyValue::new("server.address", "shop.example.com"),
                KeyValue::new("server.port", 443_i64),
                KeyValue::new("user_agent.original", "Mozilla/5.0 (X11; Linux x86_64)"),
                KeyValue::new("client.address", "203.0.113.42"),
                KeyValue::new("cart.items", (i % 17) as i64),
                KeyValue::new("cart.total", 129.95),
            ])
            .start(&tracer);
        span.add_event(
            "payment.authorized",
            vec![KeyValue::new("payment.provider", "acme-pay")],
        );
        span.add_event(
            "order.created",
            vec![KeyValue::new("order.id", format!("ord-{i:08}"))],
        );
        span.set_status(Status::Ok);
        span.end_with_timestamp(SystemTime::now() + Duration::from_micros(1500));
    }
    let spans = collect.spans();
    let _ = provider.shutdown();
    spans
}

fn ours(receiver: &Receiver, protocol: Protocol) -> HttpSpanExporter {
    let mut exporter = HttpSpanExporter::builder()
        .with_env(MapEnv::new())
        .with_endpoint(receiver.http_url(otlpkit_testkit::Signal::Traces))
        .with_protocol(protocol)
        .build()
        .unwrap_or_else(|error| panic!("otlpkit exporter: {error}"));
    exporter.set_resource(&resource());
    exporter
}

fn official(
    receiver: &Receiver,
    protocol: opentelemetry_otlp::Protocol,
) -> opentelemetry_otlp::SpanExporter {
    let mut exporter = opentelemetry_otlp::SpanExporter::builder()
        .with_http()
        .with_endpoint(receiver.http_url(otlpkit_testkit::Signal::Traces))
        .with_protocol(protocol)
        .build()
        .unwrap_or_else(|error| panic!("official exporter: {error}"));
    exporter.set_resource(&resource());
    exporter
}

/// Bytes on the wire for one batch, as the receiver saw them.
fn wire_bytes(receiver: &Receiver, export: &dyn Fn(Vec<SpanData>), spans: &[SpanData]) -> u64 {
    receiver.clear();
    let before = receiver.request_count();
    export(spans.to_vec());
    let requests = receiver.requests();
    let sizes: Vec<usize> = requests.iter().skip(before).map(|r| r.body_size).collect();
    assert!(
        requests.last().is_some_and(|r| r.accepted()),
        "the receiver did not accept the batch"
    );
    sizes.last().copied().unwrap_or(0) as u64
}

fn bench(c: &mut Criterion) {
    let receiver = Receiver::builder()
        .worker_threads(1)
        .start()
        .unwrap_or_else(|error| panic!("receiver: {error}"));
    let spans = realistic_spans();
    assert_eq!(spans.len(), BATCH);

    type Export = Box<dyn Fn(Vec<SpanData>)>;
    let cases: Vec<(&str, Export)> = vec![
        ("otlpkit/http-protobuf", {
            let exporter = ours(&receiver, Protocol::HttpProtobuf);
            Box::new(move |batch| {
                block_on(exporter.export(batch)).unwrap_or_else(|e| panic!("{e}"))
            })
        }),
        ("official/http-protobuf", {
            let exporter = official(&receiver, opentelemetry_otlp::Protocol::HttpBinary);
            Box::new(move |batch| {
                block_on(exporter.export(batch)).unwrap_or_else(|e| panic!("{e}"))
            })
        }),
        ("otlpkit/http-json", {
            let exporter = ours(&receiver, Protocol::HttpJson);
            Box::new(move |batch| {
                block_on(exporter.export(batch)).unwrap_or_else(|e| panic!("{e}"))
            })
        }),
        ("official/http-json", {
            let exporter = official(&receiver, opentelemetry_otlp::Protocol::HttpJson);
            Box::new(move |batch| {
                block_on(exporter.export(batch)).unwrap_or_else(|e| panic!("{e}"))
            })
        }),
    ];
    let sizes: Vec<u64> = cases
        .iter()
        .map(|(_, export)| wire_bytes(&receiver, export.as_ref(), &spans))
        .collect();
    for ((name, _), size) in cases.iter().zip(&sizes) {
        eprintln!("{name}: {size} bytes on the wire per batch of {BATCH} spans");
    }

    // The receiver keeps every request it decodes; forget them now and then
    // (outside the measured routine).
    let run = |group: &mut criterion::BenchmarkGroup<'_, criterion::measurement::WallTime>,
               name: &str,
               export: &Export| {
        let mut setups = 0u64;
        group.bench_function(name, |b| {
            b.iter_batched(
                || {
                    setups += 1;
                    if setups.is_multiple_of(64) {
                        receiver.clear();
                    }
                    spans.clone()
                },
                export,
                BatchSize::SmallInput,
            )
        });
    };

    let mut group = c.benchmark_group("spans");
    group.throughput(Throughput::Elements(BATCH as u64));
    for (name, export) in &cases {
        run(&mut group, name, export);
    }
    group.finish();

    let mut group = c.benchmark_group("wire_bytes");
    for ((name, export), size) in cases.iter().zip(&sizes) {
        group.throughput(Throughput::Bytes(*size));
        run(&mut group, name, export);
    }
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .measurement_time(Duration::from_secs(5))
        .warm_up_time(Duration::from_secs(2))
        .sample_size(20);
    targets = bench
}
criterion_main!(benches);
