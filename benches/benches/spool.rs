//! The disk spool's cost: delivered throughput and CPU per span of the
//! in-memory path, of spooling (the collector is down: every batch goes to
//! disk) and of draining (the collector is back: the spool is sent), with
//! the official pipeline's in-memory path beside them in the same run.
//!
//! - `in_memory`: otlpkit's engine (`Block`, queue 2048, batch 512) and gRPC
//!   exporter, no spool, collector up: a burst, flushed, until the receiver
//!   counted every span;
//! - `official`: `BatchSpanProcessor` (a queue that holds the burst) with
//!   `opentelemetry-otlp` over gRPC, the same burst;
//! - `spooling`: the same otlpkit pipeline with a spool and the collector
//!   down: the burst, flushed, until every span is in the spool;
//! - `draining`: that spool, once the collector is back: from the first span
//!   the receiver counts to the last (the drain's first wait for the
//!   collector is not counted).
//!
//! After the criterion group, the CPU time per span of the pipeline's
//! threads (producer included, receiver excluded) is printed for each path
//! from one more run of each.
//!
//! `cargo bench -p otlpkit-benches --bench spool` (`OTLPKIT_BENCH_QUICK=1`
//! for 20,000-span bursts).
#![allow(
    clippy::print_stdout,
    reason = "the CPU table after the criterion group is this bench's output"
)]

use std::time::{Duration, Instant};

use criterion::{Criterion, SamplingMode, Throughput, criterion_group, criterion_main};
use otlpkit_benches::proc::pipeline_cpu;
use otlpkit_benches::{Exporter, Pipeline, Sink, Spec, burst, quick, size};
use otlpkit_core::Signal;

const WAIT: Duration = Duration::from_secs(120);

fn n() -> u64 {
    size(200_000, 20_000)
}

#[derive(Debug, Clone, Copy)]
enum Path {
    InMemory,
    Official,
    Spooling,
    Draining,
}

impl Path {
    const ALL: [Path; 4] = [
        Path::Official,
        Path::InMemory,
        Path::Spooling,
        Path::Draining,
    ];

    fn name(self) -> &'static str {
        match self {
            Path::InMemory => "in_memory",
            Path::Official => "official",
            Path::Spooling => "spooling",
            Path::Draining => "draining",
        }
    }

    fn spec(self) -> Spec {
        match self {
            Path::Official => Spec::official(Exporter::OfficialGrpc).queue(n() as usize),
            Path::InMemory => Spec::otlpkit(Exporter::OtlpkitGrpc).blocking(),
            Path::Spooling | Path::Draining => {
                Spec::otlpkit(Exporter::OtlpkitGrpc).blocking().spool()
            }
        }
    }
}

fn spooled(pipeline: &Pipeline) -> u64 {
    pipeline.stats.snapshot().signal(Signal::Traces).spooled
}

/// One run of `path`: the time of the measured part and the pipeline's CPU
/// time during it.
fn run(path: Path) -> (Duration, Duration) {
    let n = n();
    let sink = Sink::start();
    let pipeline = Pipeline::build(&path.spec(), Some(sink.receiver()));
    if matches!(path, Path::Spooling | Path::Draining) {
        sink.receiver().stop();
    }
    let cpu = pipeline_cpu();
    let start = Instant::now();
    burst(pipeline.tracer(), n);
    pipeline.flush();
    let measured = match path {
        Path::InMemory | Path::Official => {
            sink.wait_for(n, WAIT).expect("every span delivered");
            (start.elapsed(), pipeline_cpu().saturating_sub(cpu))
        }
        Path::Spooling => {
            while spooled(&pipeline) < n {
                assert!(start.elapsed() < WAIT, "the spool never took the burst");
                std::thread::sleep(Duration::from_micros(200));
            }
            (start.elapsed(), pipeline_cpu().saturating_sub(cpu))
        }
        Path::Draining => {
            while spooled(&pipeline) < n {
                assert!(start.elapsed() < WAIT, "the spool never took the burst");
                std::thread::sleep(Duration::from_millis(1));
            }
            sink.receiver().restart().expect("the receiver restarts");
            sink.wait_for(1, WAIT).expect("the drain starts");
            let first = sink.delivered();
            let cpu = pipeline_cpu();
            let start = Instant::now();
            sink.wait_for(n, WAIT).expect("the spool drains");
            let elapsed = start.elapsed();
            // Scaled to the whole burst, the first batch having arrived
            // before the clock started.
            let scale = n as f64 / (n - first).max(1) as f64;
            (
                elapsed.mul_f64(scale),
                pipeline_cpu().saturating_sub(cpu).mul_f64(scale),
            )
        }
    };
    let _ = pipeline.shutdown(Duration::from_secs(10));
    measured
}

fn spool(c: &mut Criterion) {
    let mut group = c.benchmark_group("spool");
    group
        .sampling_mode(SamplingMode::Flat)
        .sample_size(10)
        .throughput(Throughput::Elements(n()));
    if quick() {
        group
            .warm_up_time(Duration::from_millis(200))
            .measurement_time(Duration::from_secs(2));
    } else {
        group.measurement_time(Duration::from_secs(10));
    }
    for path in Path::ALL {
        group.bench_function(path.name(), |b| {
            b.iter_custom(|iters| (0..iters).map(|_| run(path).0).sum());
        });
    }
    group.finish();

    println!(
        "\nCPU per span of the pipeline's threads ({} spans, one run each):",
        n()
    );
    println!("| path | ns/span | vs in_memory |");
    println!("|---|---|---|");
    let in_memory = run(Path::InMemory).1;
    for path in Path::ALL {
        let cpu = if matches!(path, Path::InMemory) {
            in_memory
        } else {
            run(path).1
        };
        println!(
            "| {} | {:.0} | {:.2}× |",
            path.name(),
            cpu.as_nanos() as f64 / n() as f64,
            cpu.as_secs_f64() / in_memory.as_secs_f64()
        );
    }
}

criterion_group!(benches, spool);
criterion_main!(benches);
