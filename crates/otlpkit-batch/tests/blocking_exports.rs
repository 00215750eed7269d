//! `with_blocking_exports` with otlpkit's own exporter: a batch the worker
//! gave up on (its export timeout or the shutdown deadline passed) before
//! the exporter's export call began is counted once, by the worker, and is
//! never sent: the call that begins late finds it counted and leaves it.

mod support;

use std::fmt;
use std::sync::Mutex;
use std::sync::mpsc;
use std::time::Duration;

use opentelemetry_sdk::Resource;
use opentelemetry_sdk::error::OTelSdkResult;
use opentelemetry_sdk::trace::{SpanData, SpanExporter};
use otlpkit_batch::BatchSpanProcessor;
use otlpkit_bridge::WorkerRuntime;
use otlpkit_core::stats::{DropReason, ExportStats};
use otlpkit_testkit::Receiver;
use support::{WAIT, eventually, produce, provider, shutdown_answer, until_answered};

/// How long a held export call waits for the test (a hang guard, not a time
/// limit of the code under test).
const HANG_GUARD: Duration = Duration::from_secs(60);

/// otlpkit's gRPC span exporter behind a gate: each export call blocks its
/// thread until the test opens the gate, and only then calls otlpkit's
/// exporter, as a call that waits for its thread would begin late. It says
/// when otlpkit's export call has returned.
struct Gated {
    inner: otlpkit_grpc::SpanExporter,
    gate: Mutex<mpsc::Receiver<()>>,
    returned: mpsc::SyncSender<Result<(), String>>,
}

impl fmt::Debug for Gated {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Gated")
            .field("inner", &self.inner)
            .finish_non_exhaustive()
    }
}

impl SpanExporter for Gated {
    async fn export(&self, batch: Vec<SpanData>) -> OTelSdkResult {
        // Blocks the thread: the processor runs these calls on blocking
        // threads.
        let _ = self.gate.lock().unwrap().recv_timeout(HANG_GUARD);
        let result = self.inner.export(batch).await;
        let _ = self
            .returned
            .try_send(result.as_ref().map_err(ToString::to_string).copied());
        result
    }

    fn shutdown_with_timeout(&self, timeout: Duration) -> OTelSdkResult {
        self.inner.shutdown_with_timeout(timeout)
    }

    fn set_resource(&mut self, resource: &Resource) {
        self.inner.set_resource(resource);
    }
}

/// The receiver, a gated exporter to it, the gate's key and where the
/// exporter says its call returned.
fn gated(
    worker: &WorkerRuntime,
) -> (
    Receiver,
    Gated,
    mpsc::Sender<()>,
    mpsc::Receiver<Result<(), String>>,
) {
    let receiver = Receiver::start().unwrap();
    let inner = otlpkit_grpc::SpanExporter::builder()
        .with_endpoint(receiver.grpc_endpoint())
        .with_worker(worker.clone())
        .build()
        .unwrap();
    let (open, gate) = mpsc::channel();
    let (returned, returns) = mpsc::sync_channel(16);
    let exporter = Gated {
        inner,
        gate: Mutex::new(gate),
        returned,
    };
    (receiver, exporter, open, returns)
}

// checklist 3.5: the export timeout passes while the call waits; the worker
// counts the batch as retries_exhausted. The call that begins afterwards
// once claimed the counting too, sent the batch and counted it exported.
#[test]
fn a_blocking_call_that_begins_after_the_export_timeout_neither_sends_nor_counts_again() {
    let worker = WorkerRuntime::start("blocking-exports").unwrap();
    let (receiver, exporter, open, returns) = gated(&worker);
    let stats = ExportStats::new();
    let processor = BatchSpanProcessor::builder(exporter)
        .with_worker_runtime(worker)
        .with_blocking_exports(true)
        .with_export_timeout(Some(Duration::from_millis(50)))
        .with_max_export_batch_size(4)
        .with_schedule_delay(Duration::from_secs(600))
        .with_stats(stats.clone())
        .build()
        .unwrap();
    let handle = processor.handle();
    let provider = provider(processor);
    produce(&provider, "t", 4);
    // The worker stops waiting for the held call and counts its batch.
    eventually(|| (handle.stats().dropped(DropReason::RetriesExhausted) == 4).then_some(()));
    // Only now does otlpkit's export call begin.
    open.send(()).unwrap();
    let late = returns.recv_timeout(WAIT).expect("the held call returned");
    assert!(late.is_err(), "{late:?}");

    let after = handle.stats();
    assert_eq!(after.exported(), 0, "{after}");
    assert_eq!(after.dropped(DropReason::RetriesExhausted), 4, "{after}");
    assert_eq!(after.dropped_total(), 4, "{after}");
    assert_eq!(after.received(), 4, "{after}");
    assert_eq!(receiver.request_count(), 0);
    assert_eq!(receiver.span_count(), 0);

    let report = handle.shutdown_within(WAIT).unwrap();
    assert_eq!(report.totals.exported() + report.totals.dropped_total(), 4);
    drop(provider);
}

// checklist 3.7: the shutdown deadline passes while the call waits; the
// worker counts the batch as shutdown_deadline and shuts the exporter down.
// The call that begins afterwards once claimed the counting too and counted
// the batch again, as after_shutdown.
#[test]
fn a_blocking_call_that_begins_after_the_shutdown_deadline_counts_nothing_more() {
    until_answered(|| {
        let worker = WorkerRuntime::start("blocking-exports").unwrap();
        let (receiver, exporter, open, returns) = gated(&worker);
        let stats = ExportStats::new();
        let processor = BatchSpanProcessor::builder(exporter)
            .with_worker_runtime(worker)
            .with_blocking_exports(true)
            .with_export_timeout(None)
            .with_max_export_batch_size(4)
            .with_schedule_delay(Duration::from_secs(600))
            .with_stats(stats.clone())
            .build()
            .unwrap();
        let handle = processor.handle();
        let provider = provider(processor);
        produce(&provider, "s", 4);
        let result = handle.shutdown_within(Duration::from_millis(500));
        // Only now does otlpkit's export call begin.
        open.send(()).unwrap();
        let late = returns.recv_timeout(WAIT).expect("the held call returned");
        assert!(late.is_err(), "{late:?}");
        let report = shutdown_answer(result, &handle);

        let after = handle.stats();
        assert_eq!(after.exported(), 0, "{after}");
        assert_eq!(after.dropped(DropReason::ShutdownDeadline), 4, "{after}");
        assert_eq!(after.dropped(DropReason::AfterShutdown), 0, "{after}");
        assert_eq!(after.dropped_total(), 4, "{after}");
        assert_eq!(after.received(), 4, "{after}");
        assert_eq!(receiver.request_count(), 0);
        let report = report?;
        assert!(report.flush.timed_out, "{report}");
        assert_eq!(report.flush.unsent, 4, "{report}");
        drop(provider);
        Some(())
    });
}
