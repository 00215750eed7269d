//! Overflow policies end to end (checklist 3.3): spans from the SDK,
//! through the processor and the official gRPC exporter, to the testkit
//! receiver, with the collector stalled by delay faults so the queue fills.

mod support;

use std::time::Duration;

use opentelemetry::KeyValue;
use opentelemetry::trace::{Span as _, Tracer as _, TracerProvider as _};
use opentelemetry_sdk::trace::{SdkTracerProvider, SpanProcessor as _};
use otlpkit_batch::ProcessorHandle;
use otlpkit_core::OverflowPolicy;
use otlpkit_core::stats::DropReason;
use otlpkit_testkit::{Fault, Receiver, Signal};
use support::{
    WAIT, grpc_processor, produce, provider, received_names, returns, shutdown_answer,
    wait_in_flight,
};

/// A receiver that holds the first trace request for `hold`.
fn stalled_receiver(hold: Duration) -> Receiver {
    let receiver = Receiver::start().unwrap();
    receiver.push_fault(Signal::Traces, Fault::delay(hold));
    receiver
}

fn index_of(name: &str) -> usize {
    name.rsplit_once('-').unwrap().1.parse().unwrap()
}

#[test]
fn drop_newest_refuses_new_spans_and_counts_them_as_queue_full() {
    // checklist 3.3: queue full → drop new items.
    let receiver = stalled_receiver(Duration::from_millis(500));
    let processor = grpc_processor(&receiver)
        .with_max_queue_size(16)
        .with_max_export_batch_size(4)
        .build()
        .unwrap();
    let handle = processor.handle();
    let provider = provider(processor);
    // The first batch goes out and is held; then the queue fills.
    produce(&provider, "n", 4);
    wait_in_flight(&receiver, 1);
    produce(&provider, "m", 100);
    let stats = handle.stats();
    assert_eq!(stats.queue_len, 16);
    assert_eq!(stats.dropped(DropReason::QueueFull), 84);

    let report = handle.shutdown_within(WAIT).unwrap();
    assert!(
        report.flush.failed == 0 && !report.flush.timed_out,
        "{report}"
    );
    let totals = report.totals;
    assert_eq!(totals.received(), 104);
    assert_eq!(totals.exported(), 20);
    assert_eq!(totals.exported() + totals.dropped_total(), 104);
    let names = received_names(&receiver);
    assert_eq!(names.len(), 20);
    // The oldest 16 of the second burst were kept.
    let kept: Vec<usize> = names
        .iter()
        .filter(|n| n.starts_with("m-"))
        .map(|n| index_of(n))
        .collect();
    assert!(kept.iter().all(|i| *i < 16), "{kept:?}");
}

#[test]
fn drop_oldest_evicts_and_keeps_the_newest() {
    let receiver = stalled_receiver(Duration::from_millis(500));
    let processor = grpc_processor(&receiver)
        .with_max_queue_size(16)
        .with_max_export_batch_size(4)
        .with_overflow_policy(OverflowPolicy::DropOldest)
        .build()
        .unwrap();
    let handle = processor.handle();
    let provider = provider(processor);
    produce(&provider, "n", 4);
    wait_in_flight(&receiver, 1);
    produce(&provider, "m", 100);
    assert_eq!(handle.stats().dropped(DropReason::EvictedOldest), 84);

    let report = handle.shutdown_within(WAIT).unwrap();
    assert_eq!(report.totals.exported(), 20);
    assert_eq!(report.totals.received(), 104);
    let names = received_names(&receiver);
    let kept: Vec<usize> = names
        .iter()
        .filter(|n| n.starts_with("m-"))
        .map(|n| index_of(n))
        .collect();
    assert_eq!(kept.len(), 16);
    assert!(kept.iter().all(|i| *i >= 84), "{kept:?}");
}

#[test]
fn block_delivers_everything_from_a_current_thread_runtime() {
    // The producer blocks the only thread of a current_thread runtime; the
    // export runs on the worker thread, so the queue drains and nothing is
    // lost.
    let receiver = Receiver::start().unwrap();
    for _ in 0..20 {
        receiver.push_fault(Signal::Traces, Fault::delay(Duration::from_millis(10)));
    }
    let processor = grpc_processor(&receiver)
        .with_max_queue_size(8)
        .with_max_export_batch_size(4)
        .with_overflow_policy(OverflowPolicy::Block {
            timeout: Duration::from_secs(30),
        })
        .build()
        .unwrap();
    let handle = processor.handle();
    let provider = provider(processor);
    let producer = provider.clone();
    returns(move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(async move { produce(&producer, "b", 300) });
    });
    let report = handle.shutdown_within(WAIT).unwrap();
    assert!(report.is_complete(), "{report}");
    assert_eq!(report.totals.exported(), 300);
    assert_eq!(report.totals.dropped_total(), 0);
    assert_eq!(received_names(&receiver).len(), 300);
    drop(provider);
}

#[test]
fn block_gives_up_after_its_timeout_and_counts_block_timeout() {
    let receiver = stalled_receiver(Duration::from_secs(2));
    let processor = grpc_processor(&receiver)
        .with_max_queue_size(4)
        .with_max_export_batch_size(4)
        .with_overflow_policy(OverflowPolicy::Block {
            timeout: Duration::from_millis(20),
        })
        .build()
        .unwrap();
    let handle = processor.handle();
    let provider = provider(processor);
    produce(&provider, "n", 4);
    wait_in_flight(&receiver, 1);
    produce(&provider, "m", 10);
    // 4 fit in the queue; the other 6 each waited 20 ms and gave up.
    assert_eq!(handle.stats().dropped(DropReason::BlockTimeout), 6);
    let report = handle.shutdown_within(WAIT).unwrap();
    assert_eq!(report.totals.exported(), 8);
    assert_eq!(report.totals.received(), 14);
    assert_eq!(received_names(&receiver).len(), 8);
}

/// A processor with a 32 KiB byte bound under `policy`: two spans of over
/// 4 KiB are sent (the stalled receiver holds the first request), then 50
/// more, named `big-0` to `big-49`, meet the bound.
fn past_a_byte_bound(
    receiver: &Receiver,
    policy: OverflowPolicy,
) -> (ProcessorHandle, SdkTracerProvider) {
    let processor = grpc_processor(receiver)
        .with_max_queue_size(1000)
        .with_max_export_batch_size(2)
        .with_max_queue_bytes(32 * 1024)
        .with_overflow_policy(policy)
        .build()
        .unwrap();
    let handle = processor.handle();
    let provider = provider(processor);
    let tracer = provider.tracer("bytes");
    let big = "y".repeat(4096);
    let end = |name: String| {
        let mut span = tracer.start(name);
        span.set_attribute(KeyValue::new("blob", big.clone()));
        span.end();
    };
    for i in 0..2 {
        end(format!("first-{i}"));
    }
    wait_in_flight(receiver, 1);
    for i in 0..50 {
        end(format!("big-{i}"));
    }
    (handle, provider)
}

#[test]
fn byte_bound_refuses_spans_beyond_the_bytes_allowed() {
    let receiver = stalled_receiver(Duration::from_millis(300));
    let (handle, _provider) = past_a_byte_bound(&receiver, OverflowPolicy::DropNewest);
    let stats = handle.stats();
    assert!(stats.queue_bytes <= 32 * 1024, "{stats:?}");
    // Each span is over 4 KiB: at most 7 fit in 32 KiB, far fewer than 50.
    assert!(stats.queue_len <= 7 && stats.queue_len >= 1, "{stats:?}");
    assert_eq!(
        stats.dropped(DropReason::QueueFull),
        50 - stats.queue_len as u64
    );
    let report = handle.shutdown_within(WAIT).unwrap();
    assert_eq!(report.totals.exported() + report.totals.dropped_total(), 52);
    assert_eq!(receiver.span_count() as u64, report.totals.exported());
}

#[test]
fn byte_bound_with_drop_oldest_evicts_the_oldest_until_the_bytes_fit() {
    let receiver = stalled_receiver(Duration::from_millis(300));
    let (handle, _provider) = past_a_byte_bound(&receiver, OverflowPolicy::DropOldest);
    let stats = handle.stats();
    assert!(stats.queue_bytes <= 32 * 1024, "{stats:?}");
    // Each span is over 4 KiB: about 7 fit in 32 KiB. Evicting stops as
    // soon as the bytes fit, so the queue stays as full as the bound lets
    // it be, not down to the newest span alone.
    let kept = stats.queue_len as u64;
    assert!((4..=7).contains(&kept), "{stats:?}");
    assert_eq!(
        stats.dropped(DropReason::EvictedOldest),
        50 - kept,
        "{stats:?}"
    );
    assert_eq!(stats.dropped(DropReason::QueueFull), 0, "{stats:?}");
    let report = handle.shutdown_within(WAIT).unwrap();
    assert_eq!(report.totals.exported() + report.totals.dropped_total(), 52);
    // The newest spans are the ones kept.
    let names: Vec<String> = receiver
        .spans()
        .iter()
        .map(|span| span.name().to_owned())
        .collect();
    assert_eq!(names.len() as u64, report.totals.exported(), "{names:?}");
    assert!(names.iter().any(|n| n == "big-49"), "{names:?}");
    assert!(!names.iter().any(|n| n == "big-0"), "{names:?}");
}

#[test]
fn spans_ended_after_shutdown_are_counted_not_queued() {
    // checklist 3.7: later OnEnd calls are ignored gracefully.
    let receiver = Receiver::start().unwrap();
    let processor = grpc_processor(&receiver).build().unwrap();
    let handle = processor.handle();
    handle.shutdown_within(WAIT).unwrap();
    let exporter = opentelemetry_sdk::trace::InMemorySpanExporter::default();
    let capture = SdkTracerProvider::builder()
        .with_simple_exporter(exporter.clone())
        .build();
    produce(&capture, "late", 5);
    for span in exporter.get_finished_spans().unwrap() {
        processor.on_end(span);
    }
    let stats = handle.stats();
    assert_eq!(stats.dropped(DropReason::AfterShutdown), 5);
    assert_eq!(stats.received(), 5);
    assert_eq!(stats.queue_len, 0);
    assert_eq!(receiver.span_count(), 0);
}

#[test]
fn unsampled_recording_spans_are_not_exported() {
    use opentelemetry::trace::{Link, SpanKind, TraceId};
    use opentelemetry_sdk::trace::{SamplingDecision, SamplingResult, ShouldSample};

    /// Records every span without sampling it.
    #[derive(Debug, Clone)]
    struct RecordOnly;
    impl ShouldSample for RecordOnly {
        fn should_sample(
            &self,
            _parent: Option<&opentelemetry::Context>,
            _trace_id: TraceId,
            _name: &str,
            _kind: &SpanKind,
            _attributes: &[KeyValue],
            _links: &[Link],
        ) -> SamplingResult {
            SamplingResult {
                decision: SamplingDecision::RecordOnly,
                attributes: Vec::new(),
                trace_state: Default::default(),
            }
        }
    }

    let receiver = Receiver::start().unwrap();
    let processor = grpc_processor(&receiver).build().unwrap();
    let handle = processor.handle();
    let provider = SdkTracerProvider::builder()
        .with_sampler(RecordOnly)
        .with_span_processor(processor)
        .build();
    produce(&provider, "u", 5);
    let report = handle.shutdown_within(WAIT).unwrap();
    assert!(report.is_complete());
    assert_eq!(report.totals.received(), 0);
    assert_eq!(receiver.span_count(), 0);
}

#[test]
fn the_official_http_exporter_with_its_blocking_client_works_behind_the_engine() {
    // opentelemetry-otlp's default HTTP client blocks its thread: declared
    // with `with_blocking_exports`, it runs on a blocking thread of the
    // worker and the worker keeps its deadlines.
    let receiver = Receiver::start().unwrap();
    let processor = otlpkit_batch::BatchSpanProcessor::builder(support::http_exporter(&receiver))
        .with_blocking_exports(true)
        .with_max_export_batch_size(16)
        .build()
        .unwrap();
    let handle = processor.handle();
    let provider = provider(processor);
    produce(&provider, "h", 50);
    let flush = handle.flush_within(WAIT).unwrap();
    assert!(flush.is_complete(), "{flush}");
    assert_eq!(received_names(&receiver).len(), 50);

    receiver.push_fault(Signal::Traces, Fault::delay(Duration::from_secs(60)));
    produce(&provider, "i", 5);
    let result = returns({
        let handle = handle.clone();
        move || handle.shutdown_within(Duration::from_millis(300))
    });
    drop(provider);
    // The worker missed the caller's timeout (a loaded machine): the
    // fallback is checked, and the report is the hung-collector tests' own.
    let Some(report) = shutdown_answer(result, &handle) else {
        let stats = handle.stats();
        assert_eq!(stats.exported(), 50);
        assert_eq!(stats.dropped(DropReason::ShutdownDeadline), 5);
        return;
    };
    assert_eq!(report.unsent(), 5, "{report}");
    assert_eq!(report.totals.exported(), 50);
    assert_eq!(report.totals.dropped(DropReason::ShutdownDeadline), 5);
}

// A bound far above what memory holds is a valid setting
// (`OTEL_BSP_MAX_QUEUE_SIZE=1000000000`): it must not be allocated up front,
// and the policies keep working above the ring's size.
#[test]
fn a_huge_queue_bound_costs_nothing_up_front_and_still_bounds() {
    let env = otlpkit_core::MapEnv::from([("OTEL_BSP_MAX_QUEUE_SIZE", "1000000000")]);
    let exporter = opentelemetry_sdk::trace::InMemorySpanExporter::default();
    let processor = otlpkit_batch::BatchSpanProcessor::builder(exporter.clone())
        .build_with_env(&env)
        .unwrap();
    let handle = processor.handle();
    assert_eq!(handle.stats().queue_capacity, 1_000_000_000);
    let huge = provider(processor);
    produce(&huge, "huge", 100);
    handle.flush_within(WAIT).unwrap();
    assert_eq!(exporter.get_finished_spans().unwrap().len(), 100);
    let report = handle.shutdown_within(WAIT).unwrap();
    assert_eq!(report.totals.exported(), 100);

    // Above the ring's size, the bound holds for drop-newest and drop-oldest:
    // with the first batch held by a stalled collector, a second burst fills
    // the queue and the excess is dropped under the policy's reason.
    for (policy, reason) in [
        (OverflowPolicy::DropNewest, DropReason::QueueFull),
        (OverflowPolicy::DropOldest, DropReason::EvictedOldest),
    ] {
        let bound = 20_000;
        let receiver = stalled_receiver(Duration::from_secs(2));
        let processor = grpc_processor(&receiver)
            .with_max_queue_size(bound)
            .with_max_export_batch_size(1000)
            .with_overflow_policy(policy)
            .build()
            .unwrap();
        let handle = processor.handle();
        let provider = provider(processor);
        produce(&provider, "first", 1000);
        wait_in_flight(&receiver, 1);
        produce(&provider, "over", bound + 50);
        let stats = handle.stats();
        assert_eq!(stats.queue_len, bound, "{policy:?}");
        assert_eq!(stats.dropped(reason), 50, "{policy:?}");
        let report = handle.shutdown_within(WAIT).unwrap();
        let totals = report.totals;
        assert_eq!(totals.received(), bound as u64 + 1050, "{policy:?}");
        assert_eq!(
            totals.exported() + totals.dropped_total(),
            totals.received(),
            "{policy:?}"
        );
    }
}
