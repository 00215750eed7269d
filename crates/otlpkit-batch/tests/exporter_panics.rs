//! An exporter that panics loses its batch, which is counted as
//! `internal`, and the engine goes on exporting: the panic is confined to
//! the export task (on the worker runtime or on a blocking thread) and never
//! reaches the producer or stops the worker.

mod support;

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use opentelemetry_sdk::error::OTelSdkResult;
use opentelemetry_sdk::trace::{InMemorySpanExporter, SpanData, SpanExporter};
use otlpkit_batch::BatchSpanProcessor;
use otlpkit_core::Signal;
use otlpkit_core::stats::{DropReason, ExportStats};
use support::{WAIT, produce, provider};

/// Where the scripted panic happens.
#[derive(Debug, Clone, Copy)]
enum PanicSite {
    /// In `export` itself, before a future exists.
    Call,
    /// While the returned future is polled.
    Future,
}

/// Delegates to an in-memory exporter, except that export call number
/// `panic_on` (0-based) panics at `site`.
#[derive(Debug)]
struct PanickingExporter {
    inner: InMemorySpanExporter,
    calls: Arc<AtomicUsize>,
    panic_on: usize,
    site: PanicSite,
}

impl SpanExporter for PanickingExporter {
    fn export(&self, batch: Vec<SpanData>) -> impl Future<Output = OTelSdkResult> + Send {
        let call = self.calls.fetch_add(1, Ordering::SeqCst);
        let panics = call == self.panic_on;
        if panics && matches!(self.site, PanicSite::Call) {
            panic!("scripted panic in export call {call}");
        }
        let inner = self.inner.clone();
        async move {
            if panics {
                panic!("scripted panic in export future {call}");
            }
            inner.export(batch).await
        }
    }
}

/// Ends 3 batches of 4 spans, the second export panicking at `site`, and
/// checks the accounting: 4 spans `internal`, 8 exported, nothing else.
fn second_batch_panics(site: PanicSite, blocking_exports: bool) {
    let inner = InMemorySpanExporter::default();
    let calls = Arc::new(AtomicUsize::new(0));
    let exporter = PanickingExporter {
        inner: inner.clone(),
        calls: Arc::clone(&calls),
        panic_on: 1,
        site,
    };
    let stats = ExportStats::new();
    let processor = BatchSpanProcessor::builder(exporter)
        .with_max_queue_size(64)
        .with_max_export_batch_size(4)
        .with_schedule_delay(Duration::from_secs(60))
        .with_blocking_exports(blocking_exports)
        .with_stats(stats.clone())
        .build()
        .unwrap();
    let handle = processor.handle();
    let provider = provider(processor);
    for round in 0..3 {
        produce(&provider, &format!("r{round}"), 4);
        // One batch at a time, so that the panicking call gets a known batch.
        let report = handle.flush_within(WAIT).unwrap();
        assert!(!report.timed_out, "{report}");
        let expected_failed = if round == 1 { 4 } else { 0 };
        assert_eq!(report.failed, expected_failed, "round {round}: {report}");
    }
    assert_eq!(calls.load(Ordering::SeqCst), 3);

    let report = handle.shutdown_within(WAIT).unwrap();
    let totals = report.totals;
    assert_eq!(totals.received(), 12);
    assert_eq!(totals.exported(), 8);
    assert_eq!(totals.dropped(DropReason::Internal), 4);
    assert_eq!(totals.dropped_total(), 4);
    // The shared counters say the same as the processor's snapshot.
    let traces = stats.snapshot().signal(Signal::Traces);
    assert_eq!(traces.dropped(DropReason::Internal), 4);

    let names: Vec<String> = inner
        .get_finished_spans()
        .unwrap()
        .into_iter()
        .map(|span| span.name.into_owned())
        .collect();
    assert_eq!(names.len(), 8);
    assert!(
        names.iter().all(|name| !name.starts_with("r1-")),
        "{names:?}"
    );
    drop(provider);
}

#[test]
fn a_panic_in_the_export_call_is_counted_as_internal() {
    second_batch_panics(PanicSite::Call, false);
}

#[test]
fn a_panic_in_the_export_future_is_counted_as_internal() {
    second_batch_panics(PanicSite::Future, false);
}

#[test]
fn a_panic_on_a_blocking_export_thread_is_counted_as_internal() {
    second_batch_panics(PanicSite::Call, true);
    second_batch_panics(PanicSite::Future, true);
}

/// An exporter whose `force_flush` or `shutdown` panics: the flush or the
/// shutdown returns its report with the panic as the exporter's error,
/// not as a deadline that did not pass, and the span exported before is
/// counted as such.
#[test]
fn a_panic_in_the_exporters_flush_or_shutdown_is_reported_as_a_panic() {
    #[derive(Debug)]
    struct PanicsIn {
        flush: bool,
    }
    impl SpanExporter for PanicsIn {
        async fn export(&self, _: Vec<SpanData>) -> OTelSdkResult {
            Ok(())
        }
        fn force_flush(&self) -> OTelSdkResult {
            assert!(!self.flush, "flush bug");
            Ok(())
        }
        fn shutdown_with_timeout(&self, _: Duration) -> OTelSdkResult {
            assert!(self.flush, "shutdown bug");
            Ok(())
        }
    }
    // Far more than these take: a report that says `timed_out` did not
    // wait for it.
    let budget = Duration::from_secs(60);

    let processor = BatchSpanProcessor::builder(PanicsIn { flush: true })
        .build()
        .unwrap();
    let handle = processor.handle();
    let provider = provider(processor);
    produce(&provider, "flushed", 1);
    let report = handle.flush_within(budget).unwrap();
    assert!(!report.timed_out, "{report:?}");
    let error = report.exporter_error.as_deref().unwrap_or_default();
    assert!(
        error.contains("force_flush panicked") && error.contains("flush bug"),
        "{report:?}"
    );
    assert_eq!(report.exported, 1, "{report:?}");

    let processor = BatchSpanProcessor::builder(PanicsIn { flush: false })
        .build()
        .unwrap();
    let handle = processor.handle();
    let provider = support::provider(processor);
    produce(&provider, "shut down", 1);
    let report = handle.shutdown_within(budget).unwrap();
    assert!(!report.flush.timed_out, "{report:?}");
    let error = report.flush.exporter_error.as_deref().unwrap_or_default();
    assert!(
        error.contains("shutdown panicked") && error.contains("shutdown bug"),
        "{report:?}"
    );
    assert_eq!(report.flush.exported, 1, "{report:?}");
    assert_eq!(handle.stats().dropped_total(), 0);
}
