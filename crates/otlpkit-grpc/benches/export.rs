//! Encode-and-export throughput of 512 realistic spans over OTLP/gRPC to the
//! testkit receiver: otlpkit-grpc side by side with `opentelemetry-otlp`'s
//! tonic exporter (same version of the SDK and proto crates), uncompressed
//! and gzip, in the same run.
//!
//! Each iteration hands the exporter an owned batch (cloned before the clock
//! starts) and waits for the collector's answer. Both exporters are driven
//! by the same multi-thread tokio runtime; otlpkit-grpc does its I/O on its
//! own worker thread, the official exporter on that runtime.
//!
//! Run: `cargo bench -p otlpkit-grpc`.
#![allow(missing_docs)]

use std::time::{Duration, Instant};

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use opentelemetry::trace::{
    Event, Link, SpanContext, SpanId, SpanKind, Status, TraceFlags, TraceId, TraceState,
};
use opentelemetry::{InstrumentationScope, KeyValue};
use opentelemetry_otlp::{WithExportConfig as _, WithTonicConfig as _};
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::transform::common::tonic::ResourceAttributesWithSchema;
use opentelemetry_proto::transform::trace::tonic::group_spans_by_resource_and_scope;
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::trace::{SpanData, SpanEvents, SpanExporter as _, SpanLinks};
use otlpkit_core::{Compression, MapEnv};
use otlpkit_fixtures::at;
use otlpkit_fixtures::spans::bench_resource;
use otlpkit_testkit::Receiver;
use prost::Message as _;

const BATCH: usize = 512;

/// A server span with 10 attributes, 2 events and a link.
fn span(i: usize) -> SpanData {
    let id = |seed: u64| {
        let mut bytes = [0u8; 8];
        bytes.copy_from_slice(&(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1).to_be_bytes());
        bytes
    };
    let mut trace = [0u8; 16];
    trace[..8].copy_from_slice(&id(i as u64 / 8));
    trace[8..].copy_from_slice(&id(7));
    let trace = TraceId::from_bytes(trace);
    let start = at(1_700_000_000_000_000_000 + i as u64 * 1_000);
    let mut events = SpanEvents::default();
    events.events = vec![
        Event::new(
            "cache.lookup",
            start + Duration::from_micros(10),
            vec![
                KeyValue::new("cache.key", format!("user:{i}")),
                KeyValue::new("cache.hit", i.is_multiple_of(3)),
            ],
            0,
        ),
        Event::new(
            "db.query.done",
            start + Duration::from_micros(200),
            vec![KeyValue::new("db.rows", (i % 50) as i64)],
            0,
        ),
    ];
    let mut links = SpanLinks::default();
    links.links = vec![Link::new(
        SpanContext::new(
            TraceId::from_bytes([0xab; 16]),
            SpanId::from_bytes(id(i as u64 + 1)),
            TraceFlags::SAMPLED,
            true,
            TraceState::default(),
        ),
        vec![KeyValue::new("link.reason", "batch")],
        0,
    )];
    SpanData {
        span_context: SpanContext::new(
            trace,
            SpanId::from_bytes(id(i as u64 + 1000)),
            TraceFlags::SAMPLED,
            false,
            TraceState::default(),
        ),
        parent_span_id: SpanId::from_bytes(id(i as u64 + 2000)),
        parent_span_is_remote: false,
        span_kind: SpanKind::Server,
        name: "GET /api/v1/users/{id}".into(),
        start_time: start,
        end_time: start + Duration::from_micros(350),
        attributes: vec![
            KeyValue::new("http.request.method", "GET"),
            KeyValue::new("http.route", "/api/v1/users/{id}"),
            KeyValue::new("http.response.status_code", 200_i64),
            KeyValue::new("url.path", format!("/api/v1/users/{i}")),
            KeyValue::new("url.scheme", "https"),
            KeyValue::new("server.address", "api.example.com"),
            KeyValue::new("server.port", 443_i64),
            KeyValue::new("client.address", "10.1.2.3"),
            KeyValue::new("user_agent.original", "bench-client/1.0"),
            KeyValue::new("app.request.size", 1234.5),
        ],
        dropped_attributes_count: 0,
        events,
        links,
        status: Status::Ok,
        instrumentation_scope: InstrumentationScope::builder("bench-scope")
            .with_version("1.0.0")
            .build(),
    }
}

/// The protobuf payload size of one batch (what both exporters send).
fn payload_len(batch: &[SpanData], resource: &Resource) -> u64 {
    let resource = ResourceAttributesWithSchema::from(resource);
    let request = ExportTraceServiceRequest {
        resource_spans: group_spans_by_resource_and_scope(batch.to_vec(), &resource),
    };
    request.encoded_len() as u64
}

fn export(c: &mut Criterion) {
    let receiver = Receiver::builder().worker_threads(1).start().unwrap();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let resource = bench_resource();
    let batch: Vec<SpanData> = (0..BATCH).map(span).collect();

    let mut group = c.benchmark_group("grpc_export_512_spans");
    group
        .sample_size(20)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(5))
        .throughput(Throughput::ElementsAndBytes {
            elements: BATCH as u64,
            bytes: payload_len(&batch, &resource),
        });

    for compression in [Compression::None, Compression::Gzip] {
        let mut ours = otlpkit_grpc::SpanExporter::builder()
            .with_env(MapEnv::new())
            .with_endpoint(receiver.grpc_endpoint())
            .with_compression(compression)
            .build()
            .unwrap();
        ours.set_resource(&resource);
        let mut official = {
            let _context = runtime.enter();
            let builder = opentelemetry_otlp::SpanExporter::builder()
                .with_tonic()
                .with_endpoint(receiver.grpc_endpoint());
            let builder = match compression {
                Compression::Gzip => {
                    builder.with_compression(opentelemetry_otlp::Compression::Gzip)
                }
                _ => builder,
            };
            builder.build().unwrap()
        };
        official.set_resource(&resource);

        group.bench_function(format!("otlpkit-grpc/{compression}"), |b| {
            b.iter_custom(|iters| {
                let batches: Vec<_> = (0..iters).map(|_| batch.clone()).collect();
                let start = Instant::now();
                for batch in batches {
                    runtime.block_on(ours.export(batch)).unwrap();
                }
                let elapsed = start.elapsed();
                receiver.clear();
                elapsed
            });
        });
        group.bench_function(format!("opentelemetry-otlp/{compression}"), |b| {
            b.iter_custom(|iters| {
                let batches: Vec<_> = (0..iters).map(|_| batch.clone()).collect();
                let start = Instant::now();
                for batch in batches {
                    runtime.block_on(official.export(batch)).unwrap();
                }
                let elapsed = start.elapsed();
                receiver.clear();
                elapsed
            });
        });
        ours.shutdown().unwrap();
        official.shutdown().unwrap();
    }
    group.finish();
}

criterion_group!(benches, export);
criterion_main!(benches);
