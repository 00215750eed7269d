//! Scenario 2, delivered throughput: spans per second reaching the testkit
//! receiver with nothing dropped, for a burst of 200,000 spans (20,000 with
//! `OTLPKIT_BENCH_QUICK=1`) from one producer, over gRPC and HTTP/protobuf.
//!
//! - the official pipeline: `BatchSpanProcessor` with a queue that holds the
//!   whole burst (so nothing drops) and batch 512, `opentelemetry-otlp`;
//! - otlpkit: its engine with the `Block` policy at the default queue (2048)
//!   and batch (512), otlpkit's exporter, with one export at a time (the
//!   default) — on a worker of its own and on the engine's worker, as
//!   `otlpkit::init()` builds them — and with two concurrent exports (the
//!   opt-in otlpkit's exporters allow);
//! - otlpkit's engine over the official exporter, to separate the engine's
//!   share from the transport's.
//!
//! The producer ends the burst with the provider's `force_flush`, so that
//! no engine holds its last partial batch for the schedule delay; time runs
//! from the first span to the last one counted by the receiver.
//! After the criterion groups, the CPU time per delivered span of the
//! pipeline's threads (all threads but the receiver's, producer included)
//! and of the receiver's thread is printed for each pipeline. With one
//! export at a time the receiver decodes one request at a time, so its CPU
//! per span bounds the throughput: at most 10⁹ / (receiver ns per span)
//! spans per second. otlpkit's exporters also report how many attempts
//! they retried (the official exporter does not count them).
//!
//! `cargo bench -p otlpkit-benches --bench throughput`

use std::time::Duration;

use criterion::{
    BenchmarkId, Criterion, SamplingMode, Throughput, criterion_group, criterion_main,
};
use otlpkit_benches::proc::{pipeline_cpu, receiver_cpu};
use otlpkit_benches::{Exporter, Pipeline, Sink, Spec, burst, quick, size};
use otlpkit_core::Signal;

const WAIT: Duration = Duration::from_secs(120);

fn specs(n: usize) -> Vec<Spec> {
    vec![
        Spec::official(Exporter::OfficialGrpc).queue(n),
        Spec::otlpkit(Exporter::OtlpkitGrpc).blocking(),
        Spec::otlpkit(Exporter::OtlpkitGrpc)
            .blocking()
            .shared_worker(),
        Spec::otlpkit(Exporter::OtlpkitGrpc)
            .blocking()
            .concurrency(2),
        Spec::otlpkit(Exporter::OfficialGrpc).blocking(),
        Spec::official(Exporter::OfficialHttp).queue(n),
        Spec::otlpkit(Exporter::OtlpkitHttp).blocking(),
        Spec::otlpkit(Exporter::OtlpkitHttp)
            .blocking()
            .shared_worker(),
        Spec::otlpkit(Exporter::OtlpkitHttp)
            .blocking()
            .concurrency(2),
        Spec::otlpkit(Exporter::OfficialHttp).blocking(),
    ]
}

fn throughput(c: &mut Criterion) {
    let n = size(200_000, 20_000);
    let sink = Sink::start();
    let mut cpu_report = Vec::new();
    let mut group = c.benchmark_group("delivered_throughput");
    group
        .sampling_mode(SamplingMode::Flat)
        .sample_size(10)
        .warm_up_time(Duration::from_millis(if quick() { 100 } else { 500 }))
        .measurement_time(Duration::from_secs(if quick() { 1 } else { 5 }))
        .throughput(Throughput::Elements(n));
    for spec in specs(n as usize) {
        let mut cpu = Duration::ZERO;
        let mut receiver = Duration::ZERO;
        let mut delivered = 0u64;
        let mut retries = 0u64;
        group.bench_function(BenchmarkId::from_parameter(spec.label()), |b| {
            b.iter_custom(|iters| {
                let mut total = Duration::ZERO;
                for _ in 0..iters {
                    sink.reset();
                    let pipeline = Pipeline::build(&spec, Some(sink.receiver()));
                    let cpu_before = pipeline_cpu();
                    let receiver_before = receiver_cpu();
                    let start = std::time::Instant::now();
                    burst(pipeline.tracer(), n);
                    // The last partial batch would otherwise wait for the
                    // schedule delay (5 s) in either engine whenever the
                    // exports have caught up with the producer.
                    pipeline.flush();
                    let Some(_) = sink.wait_for(n, WAIT) else {
                        panic!(
                            "{}: only {} of {n} spans arrived",
                            spec.label(),
                            sink.delivered()
                        );
                    };
                    total += start.elapsed();
                    cpu += pipeline_cpu().saturating_sub(cpu_before);
                    receiver += receiver_cpu().saturating_sub(receiver_before);
                    retries += pipeline.stats.snapshot().signal(Signal::Traces).retries;
                    delivered += n;
                    let _ = pipeline.shutdown(Duration::from_secs(10));
                }
                total
            });
        });
        if delivered > 0 {
            let per_span = |cpu: Duration| cpu.as_nanos() as f64 / delivered as f64;
            // Only otlpkit's exporters record into the pipeline's stats.
            let retries = matches!(spec.exporter, Exporter::OtlpkitGrpc | Exporter::OtlpkitHttp)
                .then_some(retries);
            cpu_report.push((spec.label(), per_span(cpu), per_span(receiver), retries));
        }
    }
    group.finish();
    eprintln!(
        "\ndelivered_throughput: CPU per delivered span of the pipeline's threads \
         and of the receiver's"
    );
    for (label, pipeline, receiver, retries) in cpu_report {
        let retries = retries.map_or("-".to_owned(), |n| n.to_string());
        eprintln!(
            "  {label:<52} {pipeline:>6.0} ns/span   receiver {receiver:>6.0} ns/span   \
             retries {retries}"
        );
    }
}

criterion_group!(benches, throughput);
criterion_main!(benches);
