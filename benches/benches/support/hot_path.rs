//! The hot-path measurement shared by `hot_path` (the system allocator) and
//! `hot_path_mimalloc` (mimalloc as the global allocator).

use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

use criterion::{BenchmarkId, Criterion};
use otlpkit_benches::{Pipeline, Sink, Spec, one_span, quick};

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

/// Measures every spec with each producer count, as criterion group `name`.
pub(crate) fn bench_group(c: &mut Criterion, name: &str, threads: &[u64], specs: &[Spec]) {
    let mut group = c.benchmark_group(name);
    group
        .warm_up_time(Duration::from_millis(if quick() { 200 } else { 1000 }))
        .measurement_time(Duration::from_millis(if quick() { 500 } else { 3000 }))
        .sample_size(if quick() { 10 } else { 20 });
    let sink = Sink::start();
    for &n in threads {
        for spec in specs {
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
