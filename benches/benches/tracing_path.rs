//! Spans through `tracing` macros: what the producer pays per span, and what
//! each stack delivers, side by side in one run.
//!
//! Stacks (`otlpkit_benches::tracing_stack`): the registry alone (the
//! floor), the official stack (`tracing-opentelemetry` + the SDK's
//! `BatchSpanProcessor` + `opentelemetry-otlp` gRPC, network stack filtered
//! out), `tracing-opentelemetry` with otlpkit's engine and exporter (what
//! `otlpkit::init()` builds today), otlpkit's native layer (with the same
//! attributes as `tracing-opentelemetry`, and lean), and `fastrace` with a
//! reporter that only counts (its own API, string properties), the anchor
//! of a tracer built for speed. Beside them, in `tracing_producer`, the
//! three `SystemTime::now()` calls a default native span makes, alone: the
//! part of any timestamping layer's cost that is the machine's clock; and
//! the floor layer (`otlpkit_benches::floor_layer`), the least a layer can
//! do and still make an OTLP span: the part of the target "2× the registry"
//! no design that keeps spans in the registry can give back.
//!
//! Workloads, one iteration = one tree of 10 spans (a root and nine
//! children, entered and closed): three fields per span; ten fields and one
//! event per span.
//!
//! - `tracing_producer`: time per tree with 1 and 2 producer threads, each
//!   on its own copy of the workload, default queues (drop newest: the
//!   producer never waits), each stack once with an exporter that discards
//!   every batch (`null`: the producer's own cost, the export worker idle)
//!   and once over gRPC to the testkit receiver (`grpc`: the export work
//!   competes with the producers for the cores, and what the exporter
//!   cannot keep up with is dropped at the queue). ns/span = time per tree
//!   × min(threads, cores) / threads / 10.
//! - `tracing_delivered`: a burst of trees with nothing dropped (otlpkit
//!   blocks the producer, the official queue holds the burst), timed until
//!   the receiver has counted the last span, with the CPU per delivered
//!   span of every thread but the receiver's. The native stack exports its
//!   records straight to OTLP (`SpanExporter::export_records`), as
//!   `otlpkit::init()` does; the same trees made through the OpenTelemetry
//!   API on otlpkit's engine and exporter, at the same default queue, are
//!   the path it is measured against: once with the three attributes, once
//!   with the eleven a default native span carries (the source attributes
//!   and `busy_ns`/`idle_ns` too), the same payload.
//!
//! `cargo bench -p otlpkit-benches --bench tracing_path [-- <filter>]`;
//! `OTLPKIT_TRACING_PROFILE` runs one fixed workload for a profiler instead
//! (see [`profile`]).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

use criterion::{BenchmarkId, Criterion, SamplingMode, Throughput, criterion_group};
use otlpkit_benches::proc::pipeline_cpu;
use otlpkit_benches::tracing_stack::{
    ApiPipeline, Queue, SPANS_PER_TREE, Stack, TracingPipeline, tree_3_fields, tree_10_fields_event,
};
use otlpkit_benches::{Sink, quick, size};

fn cores() -> u64 {
    std::thread::available_parallelism().map_or(1, |n| n.get() as u64)
}

/// Runs `iters` trees on each of `threads` producers under `dispatch`;
/// returns the time for `iters` trees, normalised to the cores.
fn run(dispatch: &tracing::Dispatch, threads: u64, iters: u64, tree: fn(u64)) -> Duration {
    let barrier = Arc::new(Barrier::new(threads as usize + 1));
    let elapsed = std::thread::scope(|scope| {
        for _ in 0..threads {
            let barrier = Arc::clone(&barrier);
            scope.spawn(move || {
                tracing::dispatcher::with_default(dispatch, || {
                    barrier.wait();
                    for i in 0..iters {
                        tree(i);
                    }
                });
            });
        }
        barrier.wait();
        Instant::now()
    })
    .elapsed();
    elapsed * threads.min(cores()) as u32 / threads as u32
}

/// fastrace's reporter: counts, keeps nothing.
struct Count(Arc<AtomicU64>);

impl fastrace::collector::Reporter for Count {
    fn report(&mut self, spans: Vec<fastrace::collector::SpanRecord>) {
        self.0.fetch_add(spans.len() as u64, Ordering::Relaxed);
    }
}

fn fastrace_tree_3_fields(i: u64) {
    use fastrace::prelude::*;
    let root = Span::root("root", SpanContext::random()).with_properties(|| {
        [
            ("http.request.method", "GET".to_owned()),
            ("http.response.status_code", "200".to_owned()),
            ("bench.index", i.to_string()),
        ]
    });
    let _root = root.set_local_parent();
    for child in 0..SPANS_PER_TREE - 1 {
        let _child = LocalSpan::enter_with_local_parent("child").with_properties(|| {
            [
                ("http.request.method", "GET".to_owned()),
                ("http.response.status_code", "200".to_owned()),
                ("bench.index", child.to_string()),
            ]
        });
    }
}

fn fastrace_tree_10_fields_event(i: u64) {
    use fastrace::prelude::*;
    let properties = move |index: u64| {
        move || {
            [
                ("http.request.method", "GET".to_owned()),
                ("http.response.status_code", "200".to_owned()),
                ("bench.index", index.to_string()),
                ("url.path", "/api/v1/orders".to_owned()),
                ("user.id", "4242".to_owned()),
                ("cache.hit", "true".to_owned()),
                ("db.system", "postgresql".to_owned()),
                ("db.rows", "17".to_owned()),
                ("ratio", "0.25".to_owned()),
                ("region", "eu-west-1".to_owned()),
            ]
        }
    };
    let root = Span::root("root", SpanContext::random()).with_properties(properties(i));
    let _root = root.set_local_parent();
    LocalSpan::add_event(Event::new("handled").with_property(|| ("answer", "42")));
    for child in 0..SPANS_PER_TREE - 1 {
        let _child = LocalSpan::enter_with_local_parent("child").with_properties(properties(child));
        LocalSpan::add_event(Event::new("handled").with_property(|| ("answer", "42")));
    }
}

/// The clock reads a default native span makes (start, enter, exit; the
/// end is the last exit), for each span of a tree and nothing else: the
/// floor under any layer that timestamps spans with the system clock, in
/// the same run as the registry alone.
fn clock_reads_tree(_: u64) {
    for _ in 0..SPANS_PER_TREE * 3 {
        std::hint::black_box(std::time::SystemTime::now());
    }
}

/// Runs `iters` trees on each of `threads` threads with no subscriber (a
/// workload that does not go through `tracing`); timed as [`run`] times.
fn run_without_subscriber(threads: u64, iters: u64, tree: fn(u64)) -> Duration {
    let barrier = Arc::new(Barrier::new(threads as usize + 1));
    let elapsed = std::thread::scope(|scope| {
        for _ in 0..threads {
            let barrier = Arc::clone(&barrier);
            scope.spawn(move || {
                barrier.wait();
                for i in 0..iters {
                    tree(i);
                }
            });
        }
        barrier.wait();
        Instant::now()
    })
    .elapsed();
    elapsed * threads.min(cores()) as u32 / threads as u32
}

/// A workload: its name, the tree through `tracing` and the same tree
/// through fastrace.
type Workload = (&'static str, fn(u64), fn(u64));

fn producer(c: &mut Criterion) {
    let sink = Sink::start();
    let reported = Arc::new(AtomicU64::new(0));
    fastrace::set_reporter(
        Count(Arc::clone(&reported)),
        fastrace::collector::Config::default(),
    );
    let workloads: [Workload; 2] = [
        ("3 fields", tree_3_fields, fastrace_tree_3_fields),
        (
            "10 fields + event",
            tree_10_fields_event,
            fastrace_tree_10_fields_event,
        ),
    ];
    for (workload, tree, fastrace_tree) in workloads {
        let mut group = c.benchmark_group(format!("tracing_producer/{workload}"));
        group
            .warm_up_time(Duration::from_millis(if quick() { 200 } else { 1000 }))
            .measurement_time(Duration::from_millis(if quick() { 500 } else { 3000 }))
            .sample_size(if quick() { 10 } else { 20 })
            .throughput(Throughput::Elements(SPANS_PER_TREE));
        for threads in [1_u64, 2] {
            for stack in Stack::ALL {
                for (transport, receiver) in [("null", None), ("grpc", Some(sink.receiver()))] {
                    if stack == Stack::Registry && receiver.is_some() {
                        continue;
                    }
                    let pipeline = TracingPipeline::build(stack, Queue::Default, receiver);
                    let label = if stack == Stack::Registry {
                        stack.label().to_owned()
                    } else {
                        format!("{stack}, {transport}")
                    };
                    group.bench_function(
                        BenchmarkId::new(label, format!("{threads} threads")),
                        |b| b.iter_custom(|iters| run(&pipeline.dispatch, threads, iters, tree)),
                    );
                }
            }
            let floor = TracingPipeline::build(Stack::Floor, Queue::Default, None);
            group.bench_function(
                BenchmarkId::new(Stack::Floor.label(), format!("{threads} threads")),
                |b| b.iter_custom(|iters| run(&floor.dispatch, threads, iters, tree)),
            );
            group.bench_function(
                BenchmarkId::new("fastrace, counting reporter", format!("{threads} threads")),
                |b| b.iter_custom(|iters| run_without_subscriber(threads, iters, fastrace_tree)),
            );
            group.bench_function(
                BenchmarkId::new("three clock reads per span", format!("{threads} threads")),
                |b| b.iter_custom(|iters| run_without_subscriber(threads, iters, clock_reads_tree)),
            );
        }
        group.finish();
    }
    fastrace::flush();
}

fn delivered(c: &mut Criterion) {
    let trees = size(20_000, 2_000);
    let spans = trees * SPANS_PER_TREE;
    // Counting, not decoding: decoding a span with the eight
    // `tracing-opentelemetry` attributes costs the receiver more than the
    // whole native pipeline spends on it, and would bound every stack's
    // figure on two cores (BENCHMARKS §9).
    let sink = Sink::counting();
    let mut group = c.benchmark_group("tracing_delivered");
    group
        .sampling_mode(SamplingMode::Flat)
        .sample_size(10)
        .warm_up_time(Duration::from_millis(if quick() { 100 } else { 500 }))
        .measurement_time(Duration::from_secs(if quick() { 1 } else { 5 }))
        .throughput(Throughput::Elements(spans));
    // CPU of every thread but the receiver's, per delivered span.
    let mut cpu_report: Vec<(&'static str, f64)> = Vec::new();
    let mut measure = |label: &'static str, burst: &mut dyn FnMut(), flush: &dyn Fn()| {
        let mut cpu = Duration::ZERO;
        let mut delivered = 0u64;
        group.bench_function(BenchmarkId::from_parameter(label), |b| {
            b.iter_custom(|iters| {
                let mut total = Duration::ZERO;
                for _ in 0..iters {
                    sink.reset();
                    let cpu_before = pipeline_cpu();
                    let start = Instant::now();
                    burst();
                    flush();
                    let waited = sink.wait_for(spans, Duration::from_secs(120));
                    assert!(waited.is_some(), "{label}: not everything arrived");
                    total += start.elapsed();
                    cpu += pipeline_cpu().saturating_sub(cpu_before);
                    delivered += spans;
                }
                total
            });
        });
        cpu_report.push((label, cpu.as_nanos() as f64 / delivered.max(1) as f64));
    };
    for stack in [
        Stack::Official,
        Stack::OtlpkitOtel,
        Stack::Native,
        Stack::NativeLean,
    ] {
        let pipeline = TracingPipeline::build(
            stack,
            Queue::Lossless(spans as usize),
            Some(sink.receiver()),
        );
        measure(
            stack.label(),
            &mut || {
                tracing::dispatcher::with_default(&pipeline.dispatch, || {
                    for i in 0..trees {
                        tree_3_fields(i);
                    }
                });
            },
            &|| pipeline.flush(),
        );
    }
    // The same trees made through the OpenTelemetry API on otlpkit's engine
    // and exporter: the path the native one is measured against.
    let api = ApiPipeline::build(Queue::Lossless(spans as usize), sink.receiver());
    measure(
        "otlpkit, OpenTelemetry API",
        &mut || {
            for i in 0..trees {
                api.tree_3_attributes(i);
            }
        },
        &|| api.flush(),
    );
    // The same again with the attributes a default native span carries, so
    // that both paths export the same payload.
    measure(
        "otlpkit, API, native's attributes",
        &mut || {
            for i in 0..trees {
                api.tree_tracing_attributes(i);
            }
        },
        &|| api.flush(),
    );
    group.finish();
    eprintln!("\ntracing_delivered: CPU per delivered span, every thread but the receiver's");
    for (label, ns) in cpu_report {
        eprintln!("  {label:<32} {ns:>8.0} ns");
    }
}

/// One fixed run for a profiler, `OTLPKIT_TRACING_PROFILE=<stack>,<null|grpc|count>,<trees>[,10]`
/// with `<stack>` one of `registry`, `official`, `to-otlpkit`, `native`,
/// `native-lean`, `native-bare`, `floor` (the floor layer, exporting
/// nothing: `null` only), `api` (the same trees through the OpenTelemetry API on
/// otlpkit) or `api-attrs` (the same with the eleven attributes a default
/// native span carries): `trees` trees (3 fields, or with `,10` ten fields and an
/// event) on a thread named `producer`, nothing dropped (otlpkit blocks,
/// the official queue holds the run), flushed and, over gRPC, waited for
/// until the receiver has counted every span (`grpc`: a receiver that
/// decodes each request, `count`: one that only counts, as the delivered
/// group's). Under
/// `valgrind --tool=callgrind --separate-threads=yes` the producer's, the
/// export worker's and the receiver's instructions come out per thread;
/// two runs with different `trees` give the cost per span without the
/// fixed costs.
fn profile(spec: &str) {
    let parts: Vec<&str> = spec.split(',').collect();
    let stack = match parts.first().copied() {
        Some("registry") => Some(Stack::Registry),
        Some("official") => Some(Stack::Official),
        Some("to-otlpkit") => Some(Stack::OtlpkitOtel),
        Some("native") => Some(Stack::Native),
        Some("native-lean") => Some(Stack::NativeLean),
        Some("native-bare") => Some(Stack::NativeBare),
        Some("floor") => Some(Stack::Floor),
        Some("api" | "api-attrs") => None,
        other => panic!("OTLPKIT_TRACING_PROFILE: unknown stack {other:?}"),
    };
    let counting = parts.get(1) == Some(&"count");
    let grpc = counting || parts.get(1) == Some(&"grpc");
    let trees: u64 = parts.get(2).and_then(|n| n.parse().ok()).unwrap_or(10_000);
    let tree: fn(u64) = if parts.get(3) == Some(&"10") {
        tree_10_fields_event
    } else {
        tree_3_fields
    };
    let spans = trees * SPANS_PER_TREE;
    let sink = if counting {
        Sink::counting()
    } else {
        Sink::start()
    };
    let start = Instant::now();
    let produced = std::sync::Mutex::new((Duration::ZERO, Duration::ZERO));
    let on_producer = |work: &(dyn Fn() + Sync)| {
        std::thread::scope(|scope| {
            std::thread::Builder::new()
                .name("producer".into())
                .spawn_scoped(scope, || {
                    let start = Instant::now();
                    work();
                    let cpu = thread_cpu()
                        .into_iter()
                        .find(|(name, _)| name == "producer")
                        .map_or(Duration::ZERO, |(_, cpu)| cpu);
                    *produced.lock().unwrap() = (start.elapsed(), cpu);
                })
                .expect("a producer thread");
        });
    };
    match stack {
        Some(stack) => {
            let receiver = grpc.then(|| sink.receiver());
            let pipeline = TracingPipeline::build(stack, Queue::Lossless(spans as usize), receiver);
            on_producer(&|| {
                tracing::dispatcher::with_default(&pipeline.dispatch, || {
                    for i in 0..trees {
                        tree(i);
                    }
                });
            });
            pipeline.flush();
            if grpc {
                let waited = sink.wait_for(spans, Duration::from_secs(600));
                assert!(waited.is_some(), "not everything arrived");
            }
            report(spec, spans, start, &produced);
        }
        None => {
            let api = ApiPipeline::build(Queue::Lossless(spans as usize), sink.receiver());
            let api_tree = if parts.first() == Some(&"api-attrs") {
                ApiPipeline::tree_tracing_attributes
            } else {
                ApiPipeline::tree_3_attributes
            };
            on_producer(&|| {
                for i in 0..trees {
                    api_tree(&api, i);
                }
            });
            api.flush();
            let waited = sink.wait_for(spans, Duration::from_secs(600));
            assert!(waited.is_some(), "not everything arrived");
            report(spec, spans, start, &produced);
        }
    }
}

/// CPU time of each live thread of this process by name (threads of the
/// same name summed), from `/proc/self/task/<tid>/schedstat`, largest first.
fn thread_cpu() -> Vec<(String, Duration)> {
    let mut by_name: Vec<(String, Duration)> = Vec::new();
    let Ok(tasks) = std::fs::read_dir("/proc/self/task") else {
        return by_name;
    };
    for task in tasks.flatten() {
        let path = task.path();
        let name = std::fs::read_to_string(path.join("comm")).unwrap_or_default();
        let name = name.trim_end().to_owned();
        let on_cpu = std::fs::read_to_string(path.join("schedstat"))
            .ok()
            .and_then(|s| {
                s.split_whitespace()
                    .next()
                    .and_then(|n| n.parse::<u64>().ok())
            })
            .map_or(Duration::ZERO, Duration::from_nanos);
        match by_name.iter_mut().find(|(known, _)| *known == name) {
            Some((_, cpu)) => *cpu += on_cpu,
            None => by_name.push((name, on_cpu)),
        }
    }
    by_name.sort_by_key(|(_, cpu)| std::cmp::Reverse(*cpu));
    by_name
}

/// What [`profile`] measured: the producer's time and CPU per span, the
/// delivered rate, and the CPU per span of every thread still alive.
fn report(
    spec: &str,
    spans: u64,
    start: Instant,
    produced: &std::sync::Mutex<(Duration, Duration)>,
) {
    let elapsed = start.elapsed();
    let (produced, producer_cpu) = *produced.lock().unwrap();
    let per_span = |time: Duration| time.as_nanos() as f64 / spans as f64;
    eprintln!(
        "profile: {spec}: {spans} spans; producer {:.0} ns/span ({:.0} on CPU); {:.0} spans/s",
        per_span(produced),
        per_span(producer_cpu),
        spans as f64 / elapsed.as_secs_f64()
    );
    for (name, cpu) in thread_cpu() {
        eprintln!("  {name:<16} {:>8.0} ns/span", per_span(cpu));
    }
}

criterion_group!(benches, producer, delivered);

fn main() {
    if let Ok(spec) = std::env::var("OTLPKIT_TRACING_PROFILE") {
        profile(&spec);
        return;
    }
    benches();
    Criterion::default().configure_from_args().final_summary();
}
