//! A blocking shutdown called on the processor's own worker thread, where
//! waiting for the worker would deadlock, is refused and does nothing: the
//! processor still runs, and can be shut down from another thread or with
//! `shutdown_async` from the worker thread itself.

mod support;

use std::time::Duration;

use opentelemetry_sdk::trace::InMemorySpanExporter;
use otlpkit_batch::{BatchSpanProcessor, ShutdownError};
use otlpkit_bridge::WorkerRuntime;
use support::{WAIT, produce, provider};

// checklist 3.7: the refused shutdown once closed the queue all the same,
// and left a shutdown in the background that no caller could wait for: the
// processor refused every later item and a second shutdown said
// `AlreadyShutdown`.
#[test]
fn a_blocking_shutdown_on_the_worker_thread_is_refused_and_starts_nothing() {
    let worker = WorkerRuntime::start("on-worker-thread").unwrap();
    let exporter = InMemorySpanExporter::default();
    let processor = BatchSpanProcessor::builder(exporter.clone())
        .with_worker_runtime(worker.clone())
        .with_schedule_delay(Duration::from_secs(600))
        .build()
        .unwrap();
    let handle = processor.handle();
    let provider = provider(processor);

    let on_worker = handle.clone();
    let refused = worker
        .block_on(async move { on_worker.shutdown_within(WAIT) }, Some(WAIT))
        .unwrap();
    assert_eq!(refused.unwrap_err(), ShutdownError::OnWorkerThread);
    assert!(!handle.is_shut_down());

    // The processor still takes items and exports them.
    produce(&provider, "after-refusal", 3);
    assert!(handle.flush_within(WAIT).unwrap().is_complete());
    assert_eq!(exporter.get_finished_spans().unwrap().len(), 3);
    let stats = handle.stats();
    assert_eq!(stats.exported(), 3, "{stats}");
    assert_eq!(stats.dropped_total(), 0, "{stats}");

    // What the error advises: the async shutdown, awaited on the worker
    // thread itself, does the whole shutdown and reports it.
    let on_worker = handle.clone();
    let report = worker
        .block_on(
            async move { on_worker.shutdown_async(WAIT).await },
            Some(WAIT),
        )
        .unwrap()
        .unwrap();
    assert!(report.is_complete(), "{report}");
    assert_eq!(report.totals.exported(), 3, "{report}");
    assert!(handle.is_shut_down());
    assert_eq!(
        handle.shutdown_within(WAIT).unwrap_err(),
        ShutdownError::AlreadyShutdown
    );
    drop(provider);
}
