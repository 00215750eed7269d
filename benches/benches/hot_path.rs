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

use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use otlpkit_benches::{Exporter, Pipeline, Sink, Spec, one_span, quick};

fn cores() -> u64 {
    std::thread::available_parallelism().map_or(1, |n| n.get() as u64)
}

/// Runs `iters` spans on each of `threads` producers; returns the
/// normalised time for `iters` spans.
fn run(pipeline: &Pipeline, threads: u64, iters: u64) -> Duration {
    let barrier = Arc::new(Barrier::new(threads as usize + 1));
    let elapsed = std::thread::scope(|scope| {
        for _ in 0..threads {
            let barrier = Arc::clone(&barrier);
            let tracer = pipeline.tracer();
            scope.spawn(move || {
                barrier.wait();
                for i in 0..iters {
                    one_span(tracer, i);
                }
            });
        }
        barrier.wait();
        let start = Instant::now();
        // The scope joins every producer before returning.
        start
    })
    .elapsed();
    elapsed * threads.min(cores()) as u32 / threads as u32
}

fn hot_path(c: &mut Criterion) {
    let mut group = c.benchmark_group("hot_path");
    group
        .warm_up_time(Duration::from_millis(if quick() { 200 } else { 1000 }))
        .measurement_time(Duration::from_millis(if quick() { 500 } else { 3000 }))
        .sample_size(if quick() { 10 } else { 20 });
    let threads: &[u64] = if quick() { &[1, 2] } else { &[1, 2, 4, 8] };
    let specs = [
        Spec::no_processor(),
        Spec::drop_processor(),
        Spec::official(Exporter::Null),
        Spec::otlpkit(Exporter::Null),
        Spec::official(Exporter::OfficialGrpc),
        Spec::otlpkit(Exporter::OtlpkitGrpc),
    ];
    let sink = Sink::start();
    for &n in threads {
        for spec in &specs {
            let pipeline = Pipeline::build(spec, Some(sink.receiver()));
            group.bench_function(
                BenchmarkId::new(spec.label(), format!("{n} threads")),
                |b| {
                    b.iter_custom(|iters| run(&pipeline, n, iters));
                },
            );
        }
    }
    group.finish();
}

criterion_group!(benches, hot_path);
criterion_main!(benches);
