//! Encoding 512 spans to `ExportTraceServiceRequest` bytes: the reference
//! (`opentelemetry-proto`'s `group_spans_by_resource_and_scope` on an owned
//! batch, then prost's `encode_to_vec`) against `otlpkit_wire::encode_spans`
//! on the borrowed batch, for small spans (3 attributes) and rich spans (10
//! attributes, 2 events, 1 link).
//!
//! The reference consumes its batch, as an exporter's `export(Vec<SpanData>)`
//! does: the clone it gets is made outside the measurement.
//!
//! Run: `cargo bench -p otlpkit-wire`.
#![allow(missing_docs)]

use std::hint::black_box;
use std::time::Duration;

use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use opentelemetry::logs::{AnyValue, LogRecord as _, Logger as _, LoggerProvider as _, Severity};
use opentelemetry::trace::{
    Event, Link, SpanContext, SpanId, SpanKind, Status, TraceFlags, TraceId, TraceState,
};
use opentelemetry::{InstrumentationScope, KeyValue};
use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::transform::common::tonic::ResourceAttributesWithSchema;
use opentelemetry_proto::transform::logs::tonic::group_logs_by_resource_and_scope;
use opentelemetry_proto::transform::trace::tonic::group_spans_by_resource_and_scope;
use opentelemetry_sdk::logs::{LogBatch, SdkLogRecord, SdkLoggerProvider};
use opentelemetry_sdk::trace::{SpanData, SpanEvents, SpanLinks};
use otlpkit_fixtures::at;
use otlpkit_fixtures::spans::bench_resource;
use otlpkit_wire::{EncodedResource, encode_logs, encode_spans};
use prost::Message as _;

const BATCH: usize = 512;

fn context(i: usize, salt: u64) -> SpanContext {
    let seed = (i as u64 + 1).wrapping_mul(0x9e37_79b9_7f4a_7c15) ^ salt;
    SpanContext::new(
        TraceId::from(u128::from(seed) << 64 | u128::from(seed.rotate_left(17))),
        SpanId::from(seed | 1),
        TraceFlags::SAMPLED,
        false,
        TraceState::default(),
    )
}

fn span(i: usize, rich: bool, scope: &InstrumentationScope) -> SpanData {
    let start = at(1_700_000_000_000_000_000 + i as u64 * 1_000);
    let mut attributes = vec![
        KeyValue::new("http.request.method", "GET"),
        KeyValue::new("url.path", format!("/api/v1/items/{i}")),
        KeyValue::new("http.response.status_code", 200_i64),
    ];
    let mut events = SpanEvents::default();
    let mut links = SpanLinks::default();
    if rich {
        attributes.extend([
            KeyValue::new("server.address", "api.example.com"),
            KeyValue::new("server.port", 443_i64),
            KeyValue::new("network.protocol.version", "1.1"),
            KeyValue::new("user_agent.original", "bench-client/1.0 (linux; x86_64)"),
            KeyValue::new("client.address", "10.1.2.3"),
            KeyValue::new("http.route", "/api/v1/items/{id}"),
            KeyValue::new("app.cache.hit", i.is_multiple_of(3)),
        ]);
        events.events = vec![
            Event::new(
                "cache.lookup",
                start + Duration::from_micros(10),
                vec![KeyValue::new("cache.key", format!("item:{i}"))],
                0,
            ),
            Event::new(
                "db.query",
                start + Duration::from_micros(200),
                vec![
                    KeyValue::new("db.statement", "SELECT * FROM items WHERE id = $1"),
                    KeyValue::new("db.rows", 1_i64),
                ],
                0,
            ),
        ];
        links.links = vec![Link::new(
            context(i, 0x5555),
            vec![KeyValue::new("link.kind", "follows_from")],
            0,
        )];
    }
    SpanData {
        span_context: context(i, 0),
        parent_span_id: if i.is_multiple_of(4) {
            SpanId::INVALID
        } else {
            SpanId::from(i as u64)
        },
        parent_span_is_remote: i.is_multiple_of(8),
        span_kind: SpanKind::Server,
        name: "GET /api/v1/items/{id}".into(),
        start_time: start,
        end_time: start + Duration::from_millis(3),
        attributes,
        dropped_attributes_count: 0,
        events,
        links,
        status: Status::Unset,
        instrumentation_scope: scope.clone(),
    }
}

/// A log record as the tracing bridge emits one: a message body, a severity,
/// three attributes and the trace context of the span it was logged in.
fn log_record(i: usize, provider: &SdkLoggerProvider) -> SdkLogRecord {
    let time = at(1_700_000_000_000_000_000 + i as u64 * 1_000);
    let mut record = provider.logger("bench-app").create_log_record();
    record.set_timestamp(time);
    record.set_observed_timestamp(time + Duration::from_micros(3));
    record.set_severity_number(Severity::Info);
    record.set_severity_text("INFO");
    record.set_body(AnyValue::from(format!("item {i} served from cache")));
    record.add_attribute("http.request.method", "GET");
    record.add_attribute("url.path", format!("/api/v1/items/{i}"));
    record.add_attribute("http.response.status_code", 200_i64);
    let context = context(i, 0);
    record.set_trace_context(
        context.trace_id(),
        context.span_id(),
        Some(context.trace_flags()),
    );
    record
}

fn bench(c: &mut Criterion) {
    let scope = InstrumentationScope::builder("bench-app")
        .with_version("0.1.0")
        .build();
    let resource = bench_resource();
    let reference_resource = ResourceAttributesWithSchema::from(&resource);
    let encoded_resource = EncodedResource::new(&resource);

    for (label, rich) in [("3attr", false), ("10attr_2ev_1link", true)] {
        let batch: Vec<SpanData> = (0..BATCH).map(|i| span(i, rich, &scope)).collect();
        let mut group = c.benchmark_group(format!("encode_512_spans/{label}"));
        group.throughput(Throughput::Elements(BATCH as u64));
        group.bench_function("transform+encode_to_vec", |b| {
            b.iter_batched(
                || batch.clone(),
                |batch| {
                    ExportTraceServiceRequest {
                        resource_spans: group_spans_by_resource_and_scope(
                            batch,
                            &reference_resource,
                        ),
                    }
                    .encode_to_vec()
                },
                BatchSize::LargeInput,
            );
        });
        group.bench_function("otlpkit_wire::encode_spans", |b| {
            b.iter(|| {
                let mut out = Vec::new();
                encode_spans(black_box(&batch), &encoded_resource, &mut out);
                out
            });
        });
        group.finish();
    }

    let provider = SdkLoggerProvider::builder().build();
    let records: Vec<SdkLogRecord> = (0..BATCH).map(|i| log_record(i, &provider)).collect();
    let pairs: Vec<(&SdkLogRecord, &InstrumentationScope)> =
        records.iter().map(|record| (record, &scope)).collect();
    let mut group = c.benchmark_group("encode_512_logs/3attr");
    group.throughput(Throughput::Elements(BATCH as u64));
    group.bench_function("transform+encode_to_vec", |b| {
        b.iter(|| {
            ExportLogsServiceRequest {
                resource_logs: group_logs_by_resource_and_scope(
                    &LogBatch::new(black_box(&pairs)),
                    &reference_resource,
                ),
            }
            .encode_to_vec()
        });
    });
    group.bench_function("otlpkit_wire::encode_logs", |b| {
        b.iter(|| {
            let mut out = Vec::new();
            encode_logs(
                &LogBatch::new(black_box(&pairs)),
                &encoded_resource,
                &mut out,
            );
            out
        });
    });
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3));
    targets = bench
}
criterion_main!(benches);
