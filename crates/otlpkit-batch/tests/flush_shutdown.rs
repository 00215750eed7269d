//! Flush and shutdown (checklist 3.4–3.9): from a plain thread, a
//! multi-thread runtime, a current_thread runtime, `spawn_blocking`, `Drop`
//! and async callers; bounded by the caller's deadline even when the
//! collector hangs (the testkit's delay fault); reporting exactly what could
//! not be sent.

mod support;

use std::time::Duration;

use opentelemetry_sdk::trace::SpanProcessor as _;
use otlpkit_batch::{BatchSpanProcessor, ProcessorFlushError, ShutdownError};
use otlpkit_core::MapEnv;
use otlpkit_core::stats::DropReason;
use otlpkit_testkit::{Fault, Receiver, Signal};
use support::{
    WAIT, eventually, flush_answer, grpc_processor, produce, provider, received_names, returns,
    shutdown_answer, until_answered,
};

/// A receiver that holds every trace request for a minute.
fn hung_receiver() -> Receiver {
    let receiver = Receiver::start().unwrap();
    receiver.push_faults(Signal::Traces, Fault::delay(Duration::from_secs(60)), 50);
    receiver
}

/// A processor over the official gRPC exporter, its provider and handle,
/// with `n` spans queued.
fn pipeline_with(
    receiver: &Receiver,
    n: usize,
) -> (
    opentelemetry_sdk::trace::SdkTracerProvider,
    otlpkit_batch::ProcessorHandle,
) {
    let processor = grpc_processor(receiver)
        .with_default_timeout(Duration::from_millis(300))
        .build()
        .unwrap();
    let handle = processor.handle();
    let provider = provider(processor);
    produce(&provider, "s", n);
    (provider, handle)
}

fn assert_all_unsent(report: &otlpkit_batch::ProcessorShutdownReport, n: u64) {
    assert!(report.flush.timed_out, "{report}");
    assert_eq!(report.unsent(), n, "{report}");
    assert_eq!(report.flush.exported, 0, "{report}");
    let totals = &report.totals;
    assert_eq!(totals.received(), n);
    assert_eq!(totals.dropped(DropReason::ShutdownDeadline), n);
    assert_eq!(totals.exported() + totals.dropped_total(), n);
    assert_eq!(totals.pending(), 0);
}

#[test]
fn shutdown_from_a_plain_thread_with_a_hung_collector_reports_every_unsent_span() {
    // checklist 3.7, 2.14
    until_answered(|| {
        let receiver = hung_receiver();
        let (provider, handle) = pipeline_with(&receiver, 40);
        let result = returns({
            let handle = handle.clone();
            move || handle.shutdown_within(Duration::from_millis(300))
        });
        let report = shutdown_answer(result, &handle)?;
        assert_all_unsent(&report, 40);
        // The request did reach the collector; it was abandoned, not answered.
        assert_eq!(receiver.span_count(), 0);
        drop(provider);
        Some(())
    });
}

#[test]
fn shutdown_inside_a_current_thread_runtime_neither_deadlocks_nor_overruns() {
    until_answered(|| {
        let receiver = hung_receiver();
        let (provider, handle) = pipeline_with(&receiver, 25);
        let result = returns({
            let handle = handle.clone();
            move || {
                let runtime = current_thread_runtime();
                runtime.block_on(async { handle.shutdown_within(Duration::from_millis(300)) })
            }
        });
        assert_all_unsent(&shutdown_answer(result, &handle)?, 25);
        drop(provider);
        Some(())
    });
}

#[test]
fn shutdown_inside_a_multi_thread_runtime_and_from_spawn_blocking() {
    until_answered(|| {
        let receiver = hung_receiver();
        let (provider_a, handle_a) = pipeline_with(&receiver, 10);
        let (provider_b, handle_b) = pipeline_with(&receiver, 12);
        let (result_a, result_b) = returns({
            let (handle_a, handle_b) = (handle_a.clone(), handle_b.clone());
            move || {
                let runtime = tokio::runtime::Builder::new_multi_thread()
                    .worker_threads(2)
                    .enable_all()
                    .build()
                    .unwrap();
                runtime.block_on(async move {
                    let direct = handle_a.shutdown_within(Duration::from_millis(300));
                    let blocking = tokio::task::spawn_blocking(move || {
                        handle_b.shutdown_within(Duration::from_millis(300))
                    })
                    .await
                    .unwrap();
                    (direct, blocking)
                })
            }
        });
        // Both fallbacks are checked before either missing answer reruns.
        let (report_a, report_b) = (
            shutdown_answer(result_a, &handle_a),
            shutdown_answer(result_b, &handle_b),
        );
        assert_all_unsent(&report_a?, 10);
        assert_all_unsent(&report_b?, 12);
        drop((provider_a, provider_b));
        Some(())
    });
}

#[test]
fn async_shutdown_on_a_current_thread_runtime() {
    until_answered(|| {
        let receiver = hung_receiver();
        let (provider, handle) = pipeline_with(&receiver, 7);
        let result = returns({
            let handle = handle.clone();
            move || {
                let runtime = current_thread_runtime();
                runtime.block_on(handle.shutdown_async(Duration::from_millis(300)))
            }
        });
        assert_all_unsent(&shutdown_answer(result, &handle)?, 7);
        drop(provider);
        Some(())
    });
}

#[test]
fn async_twins_need_no_tokio_runtime_at_all() {
    // A minimal executor that is not tokio: the reply and the deadline
    // timer need nothing from the caller's runtime.
    fn block_on<F: std::future::Future>(future: F) -> F::Output {
        use std::sync::Arc;
        use std::task::{Context, Poll, Wake, Waker};
        struct Unpark(std::thread::Thread);
        impl Wake for Unpark {
            fn wake(self: Arc<Self>) {
                self.0.unpark();
            }
        }
        let waker = Waker::from(Arc::new(Unpark(std::thread::current())));
        let mut cx = Context::from_waker(&waker);
        let mut future = std::pin::pin!(future);
        loop {
            if let Poll::Ready(output) = future.as_mut().poll(&mut cx) {
                return output;
            }
            std::thread::park();
        }
    }
    until_answered(|| {
        let receiver = hung_receiver();
        let (provider, handle) = pipeline_with(&receiver, 5);
        let result = returns({
            let handle = handle.clone();
            move || block_on(handle.flush_async(Duration::from_millis(200)))
        });
        let flush = flush_answer(result, &handle, 5);
        let result = returns({
            let handle = handle.clone();
            move || block_on(handle.shutdown_async(Duration::from_millis(200)))
        });
        let report = shutdown_answer(result, &handle);
        let flush = flush?;
        assert!(flush.timed_out);
        assert_eq!(flush.unsent, 5);
        assert_all_unsent(&report?, 5);
        drop(provider);
        Some(())
    });
}

#[test]
fn dropping_the_provider_exports_what_was_queued() {
    // checklist 3.9: the provider's drop shuts the processor down, which
    // includes a flush.
    let receiver = Receiver::start().unwrap();
    let (provider, handle) = pipeline_with(&receiver, 9);
    returns(move || drop(provider));
    assert!(handle.is_shut_down());
    let stats = handle.stats();
    assert_eq!(
        (stats.received(), stats.exported(), stats.pending()),
        (9, 9, 0)
    );
    assert_eq!(received_names(&receiver).len(), 9);
}

#[test]
fn dropping_a_processor_with_a_hung_collector_is_bounded_by_its_default_timeout() {
    let receiver = hung_receiver();
    let processor = grpc_processor(&receiver)
        .with_default_timeout(Duration::from_millis(200))
        .build()
        .unwrap();
    let handle = processor.handle();
    // Feed the processor directly, as a wrapping processor would.
    let exporter = opentelemetry_sdk::trace::InMemorySpanExporter::default();
    let capture = opentelemetry_sdk::trace::SdkTracerProvider::builder()
        .with_simple_exporter(exporter.clone())
        .build();
    produce(&capture, "direct", 3);
    for span in exporter.get_finished_spans().unwrap() {
        processor.on_end(span);
    }
    returns(move || drop(processor));
    // The worker's deadline comes a margin before the caller's; on a loaded
    // machine the caller can give up first and the worker counts the batch
    // it cancels a moment after `drop` returned.
    let stats = eventually(|| {
        let stats = handle.stats();
        (stats.pending() == 0).then_some(stats)
    });
    assert_eq!(stats.dropped(DropReason::ShutdownDeadline), 3);
    assert_eq!(stats.received(), 3);
    assert_eq!(stats.pending(), 0);
}

#[test]
fn flush_with_a_hung_collector_returns_by_its_deadline_and_keeps_the_spans() {
    // checklist 3.6: the timeout takes priority over finishing.
    until_answered(|| {
        let receiver = hung_receiver();
        let (provider, handle) = pipeline_with(&receiver, 30);
        let result = returns({
            let handle = handle.clone();
            move || handle.flush_within(Duration::from_millis(250))
        });
        let flush = flush_answer(result, &handle, 30);
        if let Some(flush) = &flush {
            assert!(flush.timed_out, "{flush}");
            assert_eq!(flush.unsent, 30);
            assert!(!flush.is_complete());
            // Still in flight, not dropped: a flush never drops.
            let stats = handle.stats();
            assert_eq!(stats.dropped_total(), 0);
            assert_eq!(stats.pending(), 30);
        }
        // The SDK's force_flush says Timeout, not Ok (whether or not the
        // worker answers in time).
        let flusher = provider.clone();
        let processor_result = returns(move || flusher.force_flush());
        assert!(processor_result.is_err());
        let result = returns({
            let handle = handle.clone();
            move || handle.shutdown_within(Duration::from_millis(250))
        });
        let report = shutdown_answer(result, &handle);
        flush?;
        assert_all_unsent(&report?, 30);
        drop(provider);
        Some(())
    });
}

#[test]
fn flush_exports_everything_received_then_reports_success() {
    // checklist 3.6
    let receiver = Receiver::start().unwrap();
    let (provider, handle) = pipeline_with(&receiver, 100);
    let flush = handle.flush_within(WAIT).unwrap();
    assert!(flush.is_complete(), "{flush}");
    assert_eq!(flush.exported, 100);
    assert_eq!(received_names(&receiver).len(), 100);
    // The SDK path agrees.
    produce(&provider, "t", 10);
    provider.force_flush().unwrap();
    assert_eq!(receiver.span_count(), 110);
    let report = handle.shutdown_within(WAIT).unwrap();
    assert!(report.is_complete(), "{report}");
    assert_eq!(report.totals.exported(), 110);
    assert_eq!(report.totals.dropped_total(), 0);
}

#[test]
fn shutdown_is_once_and_later_calls_are_refused_gracefully() {
    // checklist 3.7
    let receiver = Receiver::start().unwrap();
    let (provider, handle) = pipeline_with(&receiver, 3);
    let report = handle.shutdown_within(WAIT).unwrap();
    assert!(report.is_complete(), "{report}");
    assert_eq!(
        handle.shutdown_within(WAIT).unwrap_err(),
        ShutdownError::AlreadyShutdown
    );
    assert_eq!(
        handle.flush_within(WAIT).unwrap_err(),
        ProcessorFlushError::AlreadyShutdown
    );
    // The provider's own shutdown reaches the processor again: an error,
    // not a panic or a hang.
    assert!(provider.shutdown().is_err());
    assert_eq!(receiver.span_count(), 3);
}

#[test]
fn export_timeout_from_the_environment_cancels_a_hung_export() {
    // checklist 3.1, 3.3: OTEL_BSP_EXPORT_TIMEOUT is the time before an
    // export is cancelled; its spans are dropped as retries_exhausted.
    let receiver = Receiver::start().unwrap();
    receiver.push_fault(Signal::Traces, Fault::delay(Duration::from_secs(60)));
    let env = MapEnv::from([
        ("OTEL_BSP_EXPORT_TIMEOUT", "200"),
        ("OTEL_BSP_SCHEDULE_DELAY", "10"),
        ("OTEL_BSP_MAX_EXPORT_BATCH_SIZE", "8"),
    ]);
    let processor = grpc_processor(&receiver).build_with_env(&env).unwrap();
    let handle = processor.handle();
    let provider = provider(processor);
    produce(&provider, "first", 8);
    // Wait for the cancellation of the hung export.
    let deadline = std::time::Instant::now() + WAIT;
    while handle.stats().dropped(DropReason::RetriesExhausted) < 8 {
        assert!(std::time::Instant::now() < deadline, "{:?}", handle.stats());
        std::thread::sleep(Duration::from_millis(10));
    }
    produce(&provider, "second", 8);
    let flush = handle.flush_within(WAIT).unwrap();
    assert!(flush.is_complete(), "{flush}");
    let report = handle.shutdown_within(WAIT).unwrap();
    assert_eq!(report.totals.exported(), 8);
    assert_eq!(report.totals.dropped(DropReason::RetriesExhausted), 8);
    let names = received_names(&receiver);
    assert_eq!(names.len(), 8);
    assert!(names.iter().all(|n| n.starts_with("second-")));
}

#[test]
fn schedule_delay_exports_partial_batches_and_batch_size_bounds_requests() {
    // checklist 3.1, 3.4
    let receiver = Receiver::start().unwrap();
    let env = MapEnv::from([
        ("OTEL_BSP_SCHEDULE_DELAY", "20"),
        ("OTEL_BSP_MAX_QUEUE_SIZE", "64"),
        ("OTEL_BSP_MAX_EXPORT_BATCH_SIZE", "5"),
    ]);
    let processor = grpc_processor(&receiver).build_with_env(&env).unwrap();
    let handle = processor.handle();
    assert_eq!(handle.stats().queue_capacity, 64);
    let provider = provider(processor);
    produce(&provider, "p", 3);
    // Fewer than a batch: the timer exports them without any flush.
    receiver.wait_for_spans(3, WAIT).unwrap();
    produce(&provider, "q", 23);
    receiver.wait_for_spans(26, WAIT).unwrap();
    assert!(receiver.requests().iter().all(|r| r.item_count <= 5));
    let report = handle.shutdown_within(WAIT).unwrap();
    assert!(report.is_complete(), "{report}");
    assert_eq!(received_names(&receiver).len(), 26);
}

#[test]
fn an_invalid_batch_configuration_is_a_typed_error_naming_the_variable() {
    let env = MapEnv::from([
        ("OTEL_BSP_MAX_QUEUE_SIZE", "10"),
        ("OTEL_BSP_MAX_EXPORT_BATCH_SIZE", "20"),
    ]);
    let error =
        BatchSpanProcessor::builder(opentelemetry_sdk::trace::InMemorySpanExporter::default())
            .build_with_env(&env)
            .unwrap_err();
    assert!(
        error.to_string().contains("OTEL_BSP_MAX_EXPORT_BATCH_SIZE"),
        "{error}"
    );
    let error =
        BatchSpanProcessor::builder(opentelemetry_sdk::trace::InMemorySpanExporter::default())
            .with_max_concurrent_exports(0)
            .build()
            .unwrap_err();
    assert!(error.to_string().contains('0'), "{error}");
    let logs_config = otlpkit_core::BatchConfig::logs()
        .build(&MapEnv::new())
        .unwrap()
        .into_value();
    let error =
        BatchSpanProcessor::builder(opentelemetry_sdk::trace::InMemorySpanExporter::default())
            .with_config(logs_config)
            .build()
            .unwrap_err();
    assert!(
        matches!(error, otlpkit_batch::BuildError::WrongConfigKind { .. }),
        "{error}"
    );
}

#[test]
fn a_worker_runtime_stopped_under_the_processor_loses_nothing_silently() {
    // The runtime given to the processor is shut down by its owner first:
    // the queued spans are counted as shutdown_deadline, and shutdown says
    // the worker was gone instead of hanging.
    let receiver = Receiver::start().unwrap();
    let (worker, exporter) = support::grpc_exporter(&receiver);
    let processor = BatchSpanProcessor::builder(exporter)
        .with_worker_runtime(worker.clone())
        .build()
        .unwrap();
    let handle = processor.handle();
    let provider = provider(processor);
    produce(&provider, "g", 6);
    worker.shutdown(Duration::from_secs(5)).unwrap();
    let error = returns({
        let handle = handle.clone();
        move || handle.shutdown_within(WAIT).unwrap_err()
    });
    assert_eq!(error, ShutdownError::WorkerGone { dropped: 6 });
    let stats = handle.stats();
    assert_eq!(stats.received(), 6);
    assert_eq!(stats.dropped(DropReason::ShutdownDeadline), 6);
    drop(provider);
}

#[test]
fn durations_meaning_no_limit_do_not_overflow() {
    // `Duration::MAX` is a natural way to say "no limit": it must neither
    // panic (instant overflow) nor change the outcome.
    let exporter = opentelemetry_sdk::trace::InMemorySpanExporter::default();
    let processor = BatchSpanProcessor::builder(exporter.clone())
        .with_schedule_delay(Duration::MAX)
        .with_export_timeout(Some(Duration::MAX))
        .with_overflow_policy(otlpkit_core::OverflowPolicy::Block {
            timeout: Duration::MAX,
        })
        .with_max_queue_size(4)
        .with_max_export_batch_size(2)
        .with_default_timeout(Duration::MAX)
        .build()
        .unwrap();
    let handle = processor.handle();
    let provider = provider(processor);
    produce(&provider, "max", 50);
    let flush = handle.flush_within(Duration::MAX).unwrap();
    assert!(flush.is_complete(), "{flush}");
    assert_eq!(exporter.get_finished_spans().unwrap().len(), 50);
    let report = returns(move || handle.shutdown_within(Duration::MAX).unwrap());
    assert!(report.is_complete(), "{report}");
    assert_eq!(report.totals.exported(), 50);
    drop(provider);
}

/// otlpkit's gRPC exporter recording into the processor's counters.
fn otlpkit_grpc_processor(receiver: &Receiver) -> otlpkit_batch::BatchSpanProcessorBuilder {
    let stats = otlpkit_core::stats::ExportStats::new();
    let exporter = otlpkit_grpc::SpanExporter::builder()
        .with_endpoint(receiver.grpc_endpoint())
        .with_stats(stats.clone())
        .build()
        .unwrap();
    BatchSpanProcessor::builder(exporter).with_stats(stats)
}

#[test]
fn with_an_exporter_that_accounts_for_itself_the_report_is_exact_on_return() {
    // The exporter, not the engine, settles the batch it holds when the
    // deadline passes; the shutdown report and the counters agree as soon
    // as shutdown returns.
    until_answered(|| {
        let receiver = hung_receiver();
        let processor = otlpkit_grpc_processor(&receiver).build().unwrap();
        let handle = processor.handle();
        let provider = provider(processor);
        produce(&provider, "x", 700); // one batch in flight, the rest queued
        let result = returns({
            let handle = handle.clone();
            move || handle.shutdown_within(Duration::from_millis(500))
        });
        assert_all_unsent(&shutdown_answer(result, &handle)?, 700);
        drop(provider);
        Some(())
    });
}

#[test]
fn a_flush_report_counts_partial_success_as_failed_items() {
    // checklist 2.11: the exporter reports rejected spans; the flush report
    // takes them from the shared counters.
    let receiver = Receiver::start().unwrap();
    receiver.push_fault(Signal::Traces, Fault::partial_success(3, "three bad spans"));
    let processor = otlpkit_grpc_processor(&receiver).build().unwrap();
    let handle = processor.handle();
    let provider = provider(processor);
    produce(&provider, "p", 10);
    let flush = handle.flush_within(WAIT).unwrap();
    assert_eq!(
        (flush.exported, flush.failed, flush.unsent),
        (7, 3, 0),
        "{flush}"
    );
    assert!(!flush.is_complete());
    let stats = handle.stats();
    assert_eq!(stats.dropped(DropReason::RejectedByServer), 3);
    assert_eq!(received_names(&receiver).len(), 10);
    drop(provider);
}

/// A current-thread runtime with timers and I/O, for the shutdowns called
/// from inside one.
fn current_thread_runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}
