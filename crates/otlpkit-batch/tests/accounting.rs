//! The accounting invariant under random fault schedules: for any mix of
//! collector failures, throttling, partial success, stalls, dropped
//! connections and restarts, any overflow policy and any number of
//! producers, every ended span is either exported or dropped under exactly
//! one reason, and the collector received no duplicate and no altered span.
//!
//! Exporters, picked at random per case:
//! - the official `opentelemetry-otlp` gRPC exporter (a short retry
//!   policy), accounted by the engine;
//! - otlpkit's gRPC and HTTP/protobuf exporters, which take the counting
//!   over (the batch's `BatchAccounting`) and record every outcome
//!   themselves, partial success included, with up to two concurrent
//!   exports.

mod support;

use std::collections::HashSet;
use std::time::Duration;

use opentelemetry_otlp::{WithExportConfig as _, WithTonicConfig as _};
use otlpkit_batch::{BatchSpanProcessor, BatchSpanProcessorBuilder};
use otlpkit_bridge::WorkerRuntime;
use otlpkit_core::OverflowPolicy;
use otlpkit_core::stats::DropReason;
use otlpkit_core::stats::ExportStats;
use otlpkit_core::{Protocol, RetryPolicy};
use otlpkit_testkit::{Code, Fault, Receiver, Signal};
use proptest::prelude::*;
use support::{WAIT, produce, provider, received_names};

/// One scripted answer of the collector.
#[derive(Debug, Clone)]
enum Step {
    /// UNAVAILABLE: retryable.
    Unavailable,
    /// INVALID_ARGUMENT: not retryable, the batch is dropped.
    InvalidArgument,
    /// RESOURCE_EXHAUSTED with RetryInfo: throttled.
    Throttled(u64),
    /// Partial success rejecting some spans (the receiver keeps them all).
    Partial(i64),
    /// A stall, then success.
    Stall(u64),
    /// The connection is closed without an answer.
    DropConnection,
}

impl Step {
    fn fault(&self) -> Fault {
        match self {
            Step::Unavailable => Fault::grpc_status(Code::Unavailable, "restarting"),
            Step::InvalidArgument => Fault::grpc_status(Code::InvalidArgument, "bad data"),
            Step::Throttled(ms) => Fault::grpc_status(Code::ResourceExhausted, "slow down")
                .with_retry_info(Duration::from_millis(*ms)),
            Step::Partial(rejected) => Fault::partial_success(*rejected, "some rejected"),
            Step::Stall(ms) => Fault::delay(Duration::from_millis(*ms)),
            Step::DropConnection => Fault::drop_connection(),
        }
    }
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        Just(Step::Unavailable),
        Just(Step::InvalidArgument),
        (5u64..40).prop_map(Step::Throttled),
        (0i64..3).prop_map(Step::Partial),
        (1u64..80).prop_map(Step::Stall),
        Just(Step::DropConnection),
    ]
}

fn policy() -> impl Strategy<Value = OverflowPolicy> {
    prop_oneof![
        Just(OverflowPolicy::DropNewest),
        Just(OverflowPolicy::DropOldest),
        (1u64..30).prop_map(|ms| OverflowPolicy::Block {
            timeout: Duration::from_millis(ms)
        }),
    ]
}

/// Which exporter sits behind the engine.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Transport {
    Official,
    OtlpkitGrpc,
    OtlpkitHttp,
}

fn transport() -> impl Strategy<Value = Transport> {
    prop_oneof![
        Just(Transport::Official),
        Just(Transport::OtlpkitGrpc),
        Just(Transport::OtlpkitHttp),
    ]
}

#[derive(Debug, Clone)]
struct Case {
    transport: Transport,
    concurrency: usize,
    steps: Vec<Step>,
    producers: usize,
    per_producer: usize,
    policy: OverflowPolicy,
    queue: usize,
    batch: usize,
    restart: bool,
}

fn case() -> impl Strategy<Value = Case> {
    (
        transport(),
        1usize..3,
        prop::collection::vec(step(), 0..6),
        1usize..4,
        10usize..150,
        policy(),
        8usize..128,
        1usize..4,
        any::<bool>(),
    )
        .prop_map(
            |(
                transport,
                concurrency,
                steps,
                producers,
                per_producer,
                policy,
                queue,
                divisor,
                restart,
            )| {
                // Concurrent exports only for exporters that allow them.
                let concurrency = if transport == Transport::Official {
                    1
                } else {
                    concurrency
                };
                // The testkit's dropped connection takes every request on the
                // HTTP/2 connection with it, including one the receiver had
                // already accepted but not yet answered; the exporter then
                // rightly sends it again, a duplicate the specification
                // accepts after reconnects (checklist 2.13). With concurrent
                // exports, connection drops are therefore replaced by an
                // UNAVAILABLE status, which fails one request only.
                let steps = steps
                    .into_iter()
                    .map(|step| match step {
                        Step::DropConnection if concurrency > 1 => Step::Unavailable,
                        other => other,
                    })
                    .collect();
                Case {
                    transport,
                    concurrency,
                    steps,
                    producers,
                    per_producer,
                    policy,
                    queue,
                    batch: (queue / divisor).max(1),
                    restart,
                }
            },
        )
}

fn official_exporter(
    receiver: &Receiver,
    worker: &WorkerRuntime,
) -> opentelemetry_otlp::SpanExporter {
    let _runtime = worker.handle().enter();
    opentelemetry_otlp::SpanExporter::builder()
        .with_tonic()
        .with_endpoint(receiver.grpc_endpoint())
        .with_timeout(Duration::from_secs(5))
        .with_retry_policy(
            opentelemetry_otlp::RetryPolicy::default()
                .with_max_retries(4)
                .with_initial_delay(Duration::from_millis(5))
                .with_max_delay(Duration::from_millis(50))
                .with_max_jitter(Duration::from_millis(5)),
        )
        .build()
        .unwrap()
}

fn short_retries() -> RetryPolicy {
    RetryPolicy::builder()
        .with_initial_backoff(Duration::from_millis(5))
        .with_max_backoff(Duration::from_millis(50))
        .with_max_attempts(5)
        .build()
        .unwrap()
}

/// The processor builder for the case's exporter, and the counters shared
/// by both.
fn builder(case: &Case, receiver: &Receiver, stats: &ExportStats) -> BatchSpanProcessorBuilder {
    let worker = WorkerRuntime::start("accounting").unwrap();
    let builder = match case.transport {
        Transport::Official => {
            return BatchSpanProcessor::builder(official_exporter(receiver, &worker))
                .with_worker_runtime(worker)
                .with_stats(stats.clone());
        }
        Transport::OtlpkitGrpc => BatchSpanProcessor::builder(
            otlpkit_grpc::SpanExporter::builder()
                .with_endpoint(receiver.grpc_endpoint())
                .with_timeout(Some(Duration::from_secs(5)))
                .with_retry_policy(short_retries())
                .with_worker(worker.clone())
                .with_stats(stats.clone())
                .build()
                .unwrap(),
        ),
        Transport::OtlpkitHttp => BatchSpanProcessor::builder(
            otlpkit_http::HttpSpanExporter::builder()
                .with_endpoint(receiver.http_url(Signal::Traces))
                .with_protocol(Protocol::HttpProtobuf)
                .with_timeout(Some(Duration::from_secs(5)))
                .with_retry_policy(short_retries())
                .with_worker(worker.clone())
                .with_stats(stats.clone())
                .build()
                .unwrap(),
        ),
    };
    builder
        .with_worker_runtime(worker)
        .with_stats(stats.clone())
        .with_max_concurrent_exports(case.concurrency)
}

fn run(case: &Case) {
    let receiver = Receiver::start().unwrap();
    for step in &case.steps {
        receiver.push_fault(Signal::Traces, step.fault());
    }
    let stats = ExportStats::new();
    let processor = builder(case, &receiver, &stats)
        .with_max_queue_size(case.queue)
        .with_max_export_batch_size(case.batch)
        .with_schedule_delay(Duration::from_millis(5))
        .with_overflow_policy(case.policy)
        .build()
        .unwrap();
    let handle = processor.handle();
    let provider = provider(processor);

    let produce_all = |round: &str| {
        std::thread::scope(|scope| {
            for producer in 0..case.producers {
                let provider = &provider;
                let prefix = format!("{round}{producer}");
                scope.spawn(move || produce(provider, &prefix, case.per_producer));
            }
        });
    };
    produce_all("a");
    if case.restart {
        // A collector restart between two rounds: nothing is in flight when
        // it stops, the second round finds it down, then back.
        handle.flush_within(WAIT).unwrap();
        receiver.stop();
        produce_all("b");
        std::thread::sleep(Duration::from_millis(20));
        receiver.restart().unwrap();
    }

    let report = handle.shutdown_within(WAIT).unwrap();
    let produced = (case.producers * case.per_producer * if case.restart { 2 } else { 1 }) as u64;
    let totals = report.totals.clone();
    assert!(!report.flush.timed_out, "{report}");
    assert_eq!(totals.received(), produced, "{totals}");
    assert_eq!(totals.pending(), 0, "{totals}");
    assert_eq!(
        totals.exported() + totals.dropped_total(),
        produced,
        "{totals}"
    );
    // Only reasons this setup can produce: the official exporter cannot
    // report partial success, ours count it as rejected_by_server.
    let mut allowed: HashSet<DropReason> = [
        DropReason::QueueFull,
        DropReason::EvictedOldest,
        DropReason::BlockTimeout,
        DropReason::NonRetryable,
        DropReason::RetriesExhausted,
    ]
    .into();
    if case.transport != Transport::Official {
        allowed.insert(DropReason::RejectedByServer);
    }
    for (reason, _) in totals.counters.drops() {
        assert!(allowed.contains(&reason), "{reason}: {totals}");
    }
    // What arrived is exactly what was counted as exported (plus what the
    // collector took but reported as rejected), each span once and intact.
    let names = received_names(&receiver);
    assert_eq!(
        names.len() as u64,
        totals.exported() + totals.dropped(DropReason::RejectedByServer),
        "{totals}"
    );
    // The shared counters are the processor's.
    assert_eq!(
        stats.snapshot().signal(otlpkit_core::Signal::Traces),
        totals.counters
    );
    drop(provider);
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 24,
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    #[test]
    fn every_span_is_exported_or_dropped_under_one_reason(case in case()) {
        run(&case);
    }
}
