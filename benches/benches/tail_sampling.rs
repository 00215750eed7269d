//! Tail sampling: what the stage costs in front of otlpkit's engine, with
//! the official pipeline and otlpkit without the stage side by side in the
//! same run. The workload is traces of 10 spans (a root and 9 children,
//! three attributes each, the children ended first); the stage keeps a ratio
//! of 0.1 (no trace has an error or a slow span).
//!
//! 1. `tail_sampling/producer`: producer ns/span (criterion), 1 and 2
//!    producer threads, at default sizes (queue 2048, batch 512, 5 s), over
//!    each pipeline's gRPC exporter to the testkit receiver and over an
//!    exporter that discards every batch (the engines alone).
//! 2. CPU per produced span: 200,000 spans (20,000 with
//!    `OTLPKIT_BENCH_QUICK=1`) from one producer, every pipeline delivering
//!    all it keeps (the official queue holds the burst, otlpkit blocks); the
//!    CPU time of every thread but the receiver's, producer included, per
//!    span produced, and the producing thread's own CPU time per span (less
//!    sensitive than wall time to the other work on a shared machine).
//! 3. Memory with 10,000 traces in flight: 10,000 traces whose 9 children
//!    have ended and whose root is still open, each pipeline in a child
//!    process of its own; the growth of its resident set over an idle
//!    pipeline (and, with the stage, the spans it holds).
//!
//! `cargo bench -p otlpkit-benches --bench tail_sampling`
#![allow(
    clippy::print_stdout,
    reason = "a bench binary: the CPU and memory tables are its output"
)]

use std::process::{Command, Stdio};
use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

use criterion::{BenchmarkId, Criterion};
use opentelemetry::trace::{Span as _, TraceContextExt as _, Tracer as _};
use opentelemetry::{Context, KeyValue};
use opentelemetry_sdk::trace::SdkTracer;
use otlpkit_benches::proc::{current_rss, pipeline_cpu};
use otlpkit_benches::{Exporter, Pipeline, Sink, Spec, quick, size};

/// Spans per trace.
const SPANS_PER_TRACE: u64 = 10;
/// The ratio the stage keeps.
const RATIO: f64 = 0.1;
/// Traces in flight for the memory measurement.
const IN_FLIGHT: usize = 10_000;

const JOB_VAR: &str = "OTLPKIT_BENCH_TAIL_JOB";
const RESULT_PREFIX: &str = "OTLPKIT_RESULT";

fn span(
    tracer: &SdkTracer,
    name: &'static str,
    cx: &Context,
    i: u64,
) -> opentelemetry_sdk::trace::Span {
    tracer
        .span_builder(name)
        .with_attributes(vec![
            KeyValue::new("http.request.method", "GET"),
            KeyValue::new("http.response.status_code", 200),
            KeyValue::new("bench.index", i as i64),
        ])
        .start_with_context(tracer, cx)
}

/// A root with 9 children, the children ended first; `open` leaves the root
/// running and returns it.
fn trace(tracer: &SdkTracer, i: u64, open: bool) -> Option<Context> {
    let root = Context::new().with_span(span(tracer, "request", &Context::new(), i));
    for _ in 1..SPANS_PER_TRACE {
        span(tracer, "step", &root, i).end();
    }
    if open {
        Some(root)
    } else {
        root.span().end();
        None
    }
}

fn cores() -> u64 {
    std::thread::available_parallelism().map_or(1, |n| n.get() as u64)
}

/// `traces` traces on each of `threads` producers; the normalised time.
fn run(pipeline: &Pipeline, threads: u64, traces: u64) -> Duration {
    let barrier = Arc::new(Barrier::new(threads as usize + 1));
    let elapsed = std::thread::scope(|scope| {
        for _ in 0..threads {
            let barrier = Arc::clone(&barrier);
            let tracer = pipeline.tracer();
            scope.spawn(move || {
                barrier.wait();
                for i in 0..traces {
                    trace(tracer, i, false);
                }
            });
        }
        barrier.wait();
        Instant::now()
    })
    .elapsed();
    elapsed * threads.min(cores()) as u32 / threads as u32
}

fn producer_specs() -> Vec<Spec> {
    vec![
        Spec::official(Exporter::OfficialGrpc),
        Spec::otlpkit(Exporter::OtlpkitGrpc),
        Spec::otlpkit(Exporter::OtlpkitGrpc).tail_sampling(RATIO),
        Spec::official(Exporter::Null),
        Spec::otlpkit(Exporter::Null),
        Spec::otlpkit(Exporter::Null).tail_sampling(RATIO),
    ]
}

/// Scenario 1: criterion measures one span (iterations are spans, run as
/// whole traces).
fn producer(c: &mut Criterion) {
    let mut group = c.benchmark_group("tail_sampling/producer");
    group
        .warm_up_time(Duration::from_millis(if quick() { 200 } else { 1000 }))
        .measurement_time(Duration::from_millis(if quick() { 500 } else { 3000 }))
        .sample_size(if quick() { 10 } else { 20 });
    let sink = Sink::start();
    for threads in [1, 2] {
        for spec in producer_specs() {
            let pipeline = Pipeline::build(&spec, Some(sink.receiver()));
            group.bench_function(
                BenchmarkId::new(spec.label(), format!("{threads} threads")),
                |b| {
                    b.iter_custom(|spans| {
                        let traces = spans.div_ceil(SPANS_PER_TRACE).max(1);
                        let elapsed = run(&pipeline, threads, traces);
                        elapsed * spans as u32 / (traces * SPANS_PER_TRACE) as u32
                    });
                },
            );
            let _ = pipeline.shutdown(Duration::from_secs(5));
        }
    }
    group.finish();
}

/// CPU time this thread has spent on a processor, from
/// `/proc/thread-self/schedstat` (zero where it cannot be read).
fn thread_cpu() -> Duration {
    std::fs::read_to_string("/proc/thread-self/schedstat")
        .ok()
        .and_then(|s| s.split_whitespace().next()?.parse::<u64>().ok())
        .map_or(Duration::ZERO, Duration::from_nanos)
}

/// Rounds of scenario 2, the pipelines interleaved within each round.
const ROUNDS: usize = 3;

/// One measurement of scenario 2.
struct CpuRun {
    cpu: f64,
    producer: f64,
    delivered: u64,
    sampled_out: u64,
    dropped: u64,
    complete: bool,
}

fn cpu_run(spec: &Spec, sink: &Sink, n: u64) -> CpuRun {
    sink.reset();
    let pipeline = Pipeline::build(spec, Some(sink.receiver()));
    let before = pipeline_cpu();
    let producer_before = thread_cpu();
    for i in 0..n / SPANS_PER_TRACE {
        trace(pipeline.tracer(), i, false);
    }
    let producer = thread_cpu().saturating_sub(producer_before);
    pipeline.flush();
    let expected = pipeline
        .tail
        .as_ref()
        .map_or(n, |tail| n - tail.stats().sampled_out);
    let complete = sink.wait_for(expected, Duration::from_secs(120)).is_some();
    let cpu = pipeline_cpu().saturating_sub(before);
    let counters = pipeline
        .stats
        .snapshot()
        .signal(otlpkit_core::Signal::Traces);
    let _ = pipeline.shutdown(Duration::from_secs(5));
    CpuRun {
        cpu: cpu.as_nanos() as f64 / n as f64,
        producer: producer.as_nanos() as f64 / n as f64,
        delivered: sink.delivered(),
        sampled_out: counters.sampled_out,
        dropped: counters.dropped_total(),
        complete,
    }
}

/// `median (min–max)` of the values.
fn spread(mut values: Vec<f64>) -> String {
    values.sort_by(f64::total_cmp);
    match (values.first(), values.get(values.len() / 2), values.last()) {
        (Some(min), Some(median), Some(max)) => format!("{median:.0} ({min:.0}–{max:.0})"),
        _ => "–".to_owned(),
    }
}

/// Scenario 2: CPU per produced span, everything kept delivered.
fn cpu_per_span() {
    let n = size(200_000, 20_000);
    let specs = [
        Spec::official(Exporter::OfficialGrpc).queue(n as usize),
        Spec::otlpkit(Exporter::OtlpkitGrpc).blocking(),
        Spec::otlpkit(Exporter::OtlpkitGrpc)
            .blocking()
            .tail_sampling(RATIO),
    ];
    let sink = Sink::start();
    let mut runs: Vec<Vec<CpuRun>> = specs.iter().map(|_| Vec::new()).collect();
    for _ in 0..ROUNDS {
        for (spec, runs) in specs.iter().zip(&mut runs) {
            runs.push(cpu_run(spec, &sink, n));
        }
    }
    println!(
        "\n### CPU per produced span ({n} spans in traces of {SPANS_PER_TRACE}, one producer; median (min–max) of {ROUNDS} interleaved rounds)\n"
    );
    println!(
        "| pipeline | CPU ns/span | producer CPU ns/span | delivered | sampled out | dropped |"
    );
    println!("|---|---|---|---|---|---|");
    for (spec, runs) in specs.iter().zip(&runs) {
        let last = runs.last();
        println!(
            "| {} | {} | {} | {}{} | {} | {} |",
            spec.label(),
            spread(runs.iter().map(|r| r.cpu).collect()),
            spread(runs.iter().map(|r| r.producer).collect()),
            last.map_or(0, |r| r.delivered),
            if runs.iter().all(|r| r.complete) {
                ""
            } else {
                " (timed out)"
            },
            last.map_or(0, |r| r.sampled_out),
            runs.iter().map(|r| r.dropped).sum::<u64>(),
        );
    }
}

/// Scenario 3, in a child process: the resident set's growth with
/// `IN_FLIGHT` open traces.
fn memory_job(tail: bool) {
    let sink = Sink::start();
    let mut spec = Spec::otlpkit(Exporter::OtlpkitGrpc).blocking();
    if tail {
        spec = spec.tail_sampling(RATIO);
    }
    let pipeline = Pipeline::build(&spec, Some(sink.receiver()));
    // Warm the pipeline (threads, buffers) with traces that complete.
    for i in 0..1_000 {
        trace(pipeline.tracer(), i, false);
    }
    pipeline.flush();
    std::thread::sleep(Duration::from_millis(200));
    let before = current_rss().unwrap_or(0);
    let open: Vec<Context> = (0..IN_FLIGHT as u64)
        .filter_map(|i| trace(pipeline.tracer(), i, true))
        .collect();
    pipeline.flush();
    std::thread::sleep(Duration::from_millis(200));
    let after = current_rss().unwrap_or(0);
    let (held_traces, held_spans) = pipeline
        .tail
        .as_ref()
        .map_or((0, 0), |t| (t.stats().held_traces, t.stats().held_spans));
    println!(
        "{RESULT_PREFIX}\tgrowth={}\theld_traces={held_traces}\theld_spans={held_spans}",
        after.saturating_sub(before)
    );
    drop(open);
    let _ = pipeline.shutdown(Duration::from_secs(5));
}

fn memory() {
    println!(
        "\n### Memory with {IN_FLIGHT} traces in flight ({} ended children each, root open)\n",
        SPANS_PER_TRACE - 1
    );
    println!("| pipeline | RSS growth | traces held | spans held | bytes per held span |");
    println!("|---|---|---|---|---|");
    for tail in [false, true] {
        let mut label = Spec::otlpkit(Exporter::OtlpkitGrpc).blocking();
        if tail {
            label = label.tail_sampling(RATIO);
        }
        let output = std::env::current_exe().and_then(|exe| {
            Command::new(exe)
                .env(JOB_VAR, if tail { "memory:on" } else { "memory:off" })
                .stderr(Stdio::inherit())
                .output()
        });
        let line = output.ok().and_then(|o| {
            String::from_utf8_lossy(&o.stdout)
                .lines()
                .find_map(|l| l.strip_prefix(RESULT_PREFIX).map(str::to_owned))
        });
        let Some(line) = line else {
            println!("| {} | the child failed | | | |", label.label());
            continue;
        };
        let field = |key: &str| -> u64 {
            line.split('\t')
                .find_map(|f| f.strip_prefix(&format!("{key}=")))
                .and_then(|v| v.parse().ok())
                .unwrap_or(0)
        };
        let (growth, traces, spans) = (field("growth"), field("held_traces"), field("held_spans"));
        println!(
            "| {} | {:.1} MiB | {traces} | {spans} | {} |",
            label.label(),
            growth as f64 / (1024.0 * 1024.0),
            growth
                .checked_div(spans)
                .map_or("–".to_owned(), |b| b.to_string()),
        );
    }
}

fn main() {
    if let Ok(job) = std::env::var(JOB_VAR) {
        memory_job(job == "memory:on");
        return;
    }
    let mut criterion = Criterion::default().configure_from_args();
    producer(&mut criterion);
    criterion.final_summary();
    cpu_per_span();
    memory();
}
