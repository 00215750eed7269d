//! Scenario 1, the hot path: nanoseconds per span (created with three
//! attributes, then ended) with 1, 2, 4 and 8 producer threads, for the SDK
//! without a processor, the official `BatchSpanProcessor` and otlpkit's
//! engine at default sizes (queue 2048, batch 512, 5 s), plus the SDK with a
//! processor that drops every span (the SDK's own cost of building the
//! span data a processor receives):
//!
//! - both engines over the same exporter, one that discards every batch, so
//!   that only the engines are compared (the worker keeps up, so nearly
//!   every span crosses to the export thread);
//! - each engine over its own gRPC exporter to the testkit receiver, as in
//!   the baseline (the exporter cannot keep up with the producers, so most
//!   spans are dropped at the queue).
//!
//! ns/span is wall time × min(threads, cores) / spans: with no more threads
//! than cores it is the time one producer spends per span; beyond that it
//! is normalised to the cores actually available, so time-slicing does not
//! inflate it.
//!
//! `cargo bench -p otlpkit-benches --bench hot_path`

mod support;

use criterion::{Criterion, criterion_group, criterion_main};
use otlpkit_benches::{Exporter, Spec, quick};

fn hot_path(c: &mut Criterion) {
    let threads: &[u64] = if quick() { &[1, 2] } else { &[1, 2, 4, 8] };
    let specs = [
        Spec::no_processor(),
        Spec::drop_processor(),
        Spec::official(Exporter::Null),
        Spec::otlpkit(Exporter::Null),
        Spec::official(Exporter::OfficialGrpc),
        Spec::otlpkit(Exporter::OtlpkitGrpc),
    ];
    support::hot_path::bench_group(c, "hot_path", threads, &specs);
}

criterion_group!(benches, hot_path);
criterion_main!(benches);
