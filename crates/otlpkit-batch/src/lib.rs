//! otlpkit's batch and backpressure engine: a span processor and a log
//! processor for `opentelemetry_sdk` that work with any SDK exporter
//! (otlpkit's, `opentelemetry-otlp`'s, an in-memory one), never block the
//! hot path under the drop policies, never deadlock on flush or shutdown,
//! and account for every item.
//!
//! This crate provides:
//!
//! - [`BatchProcessor<I>`] with a [`BatchExporter<I>`]: the same engine for
//!   items of any type (otlpkit-tracing's native span records), pushed
//!   directly rather than through an SDK provider;
//! - [`BatchSpanProcessor`] and [`BatchLogProcessor`], built with
//!   [`BatchSpanProcessor::builder`] / [`BatchLogProcessor::builder`] from
//!   code and the `OTEL_BSP_*` / `OTEL_BLRP_*` variables (checklist 3.1,
//!   3.2), export timeout included;
//! - the hot path: ending a span or emitting a record pushes into a bounded
//!   lock-free queue (crossbeam's `ArrayQueue`, or above 16,384 items a
//!   `SegQueue` with a counted bound, so no bound is allocated up front); no
//!   async runtime, no lock that an export holds, one notification per full
//!   batch;
//! - the overflow policies of [`OverflowPolicy`](otlpkit_core::OverflowPolicy):
//!   `DropNewest` (the specification's default), `DropOldest`,
//!   `Block { timeout }`, plus an optional byte bound
//!   (`with_max_queue_bytes`);
//! - the export worker: a dedicated thread owning a small tokio runtime
//!   ([`otlpkit_bridge::WorkerRuntime`]); batches by size and schedule delay;
//!   the queue keeps accepting while an export is running or backing off;
//!   one export call at a time unless you opt in (see below);
//! - flush and shutdown with deadlines, from a plain thread, a multi-thread
//!   or `current_thread` runtime, `spawn_blocking` or `Drop`, with `async`
//!   twins ([`ProcessorHandle`]); they return by their deadline even with a
//!   hung collector, and report exactly what could not be sent
//!   ([`FlushReport`], [`ProcessorShutdownReport`]);
//! - self-observability: [`ProcessorStats`] (delivered, dropped by reason,
//!   queue depth, exports in flight, export durations) and OpenTelemetry
//!   metrics named after the Collector's exporterhelper metrics
//!   ([`ProcessorHandle::register_metrics`], [`MetricNames`]). Exports run
//!   with telemetry suppressed, so the engine never feeds itself;
//! - `tail` (the `tail-sampling` feature): in-process tail sampling in front
//!   of the span queue (keep every trace with an error or a slow span, whole,
//!   and a ratio of the rest), with spans sampled out counted apart from the
//!   drops.
//!
//! # Example
//!
//! ```
//! use std::time::Duration;
//! use opentelemetry::trace::{Tracer as _, TracerProvider as _};
//! use opentelemetry_sdk::trace::{InMemorySpanExporter, SdkTracerProvider};
//! use otlpkit_batch::BatchSpanProcessor;
//! use otlpkit_core::OverflowPolicy;
//! use otlpkit_core::stats::DropReason;
//!
//! let exporter = InMemorySpanExporter::default();
//! let processor = BatchSpanProcessor::builder(exporter.clone())
//!     .with_overflow_policy(OverflowPolicy::Block { timeout: Duration::from_millis(200) })
//!     .build()?;
//! let handle = processor.handle();
//! let provider = SdkTracerProvider::builder().with_span_processor(processor).build();
//!
//! let tracer = provider.tracer("example");
//! for _ in 0..100 {
//!     tracer.in_span("work", |_| {});
//! }
//!
//! let flush = handle.flush_within(Duration::from_secs(5))?;
//! assert!(flush.is_complete(), "{flush}");
//! assert_eq!(exporter.get_finished_spans()?.len(), 100);
//!
//! let report = handle.shutdown_within(Duration::from_secs(5))?;
//! assert!(report.is_complete(), "{report}");
//! let totals = report.totals;
//! assert_eq!(totals.received(), 100);
//! assert_eq!(totals.exported() + totals.dropped_total(), 100);
//! assert_eq!(totals.dropped(DropReason::BlockTimeout), 0);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # Accounting
//!
//! Every item ends up in exactly one counter of the shared
//! [`ExportStats`](otlpkit_core::stats::ExportStats): exported, or dropped
//! under a [`DropReason`](otlpkit_core::stats::DropReason). The engine
//! records what it decides (queue full, evicted, block timeout, after
//! shutdown, shutdown deadline, export calls it cancels). Export outcomes
//! are recorded once, by whoever knows them best, with nothing to
//! configure: each export call runs in an OpenTelemetry context that
//! carries a [`BatchAccounting`](otlpkit_core::stats::BatchAccounting) for
//! the batch. otlpkit's exporters claim it and count every item themselves
//! (they know about partial success, retries and their own shutdown
//! deadline) into this processor's counters; for any other exporter the
//! engine counts the call's result (`Ok` as exported, an error as dropped,
//! `retries_exhausted` for timeouts and transient-looking errors,
//! `non_retryable` otherwise). Once a processor is idle or shut down,
//! `received = exported + Σ dropped` exactly.
//!
//! With a disk spool behind otlpkit's exporter, a batch the exporter writes
//! there is counted as `spooled` (and `in_spool`) in this processor's
//! counters, and its delivery from the spool (`delivered_from_spool`) or
//! drop in the same counters, even when the exporter was built with
//! counters of its own: `received = exported + delivered_from_spool +
//! Σ dropped + in_spool` (see [`ProcessorStats`]).
//!
//! # Concurrent exports and the specification
//!
//! The specification forbids calling `Export` concurrently on one exporter
//! (checklist 3.5), and so does this engine by default: one export call at
//! a time, the next one started when the previous has returned. Network
//! I/O is still asynchronous, and the queue keeps accepting items during an
//! export. [`with_max_concurrent_exports`](BatchSpanProcessorBuilder::with_max_concurrent_exports)
//! raises the limit for exporters that document they are safe to call
//! concurrently (otlpkit's gRPC and HTTP exporters are): it is an explicit
//! opt-in, never a default.
//!
//! # One worker for the engine and otlpkit's exporter
//!
//! Built on their own, the processor and otlpkit's exporter each start a
//! worker thread, and every batch crosses from one to the other and back.
//! Hand both the same [`WorkerRuntime`](otlpkit_bridge::WorkerRuntime), as
//! `otlpkit::init()` does, and a batch is taken from the queue, encoded, sent
//! and settled on one thread, with two fewer thread wake-ups per batch (about
//! a fifth less CPU per delivered span over gRPC in `docs/BENCHMARKS.md`).
//! The worker thread stops when the last handle to it is dropped.
//!
//! ```
//! use std::time::Duration;
//! use opentelemetry::trace::{Tracer as _, TracerProvider as _};
//! use opentelemetry_sdk::trace::SdkTracerProvider;
//! use otlpkit_batch::BatchSpanProcessor;
//! use otlpkit_bridge::WorkerRuntime;
//!
//! # let receiver = otlpkit_testkit::Receiver::start()?;
//! # let endpoint = receiver.grpc_endpoint();
//! let worker = WorkerRuntime::start("otlpkit-traces")?;
//! let exporter = otlpkit_grpc::SpanExporter::builder()
//!     .with_endpoint(endpoint)
//!     .with_worker(worker.clone())
//!     .build()?;
//! let processor = BatchSpanProcessor::builder(exporter)
//!     .with_worker_runtime(worker)
//!     .build()?;
//! let handle = processor.handle();
//! let provider = SdkTracerProvider::builder().with_span_processor(processor).build();
//!
//! provider.tracer("example").in_span("work", |_| {});
//! let report = handle.shutdown_within(Duration::from_secs(5))?;
//! assert!(report.is_complete(), "{report}");
//! # assert_eq!(receiver.wait_for_spans(1, Duration::from_secs(5))?.len(), 1);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # Flush, shutdown and runtimes
//!
//! The caller of `flush_within` / `shutdown_within` (and of the SDK's
//! `force_flush` / `shutdown`) only waits on a channel with a timeout; the
//! work runs on the export worker's thread. So a `current_thread` runtime
//! that calls them cannot deadlock the export, and a hung collector cannot
//! hold the caller beyond its deadline: the worker cancels what is still
//! running at the deadline and counts it as `shutdown_deadline`. The async
//! twins await the same reply without blocking the thread.
//!
//! The worker works to a deadline slightly earlier than the caller's (by a
//! tenth of the timeout, at most 25 ms), so that its report arrives in time.
//! An exporter that *blocks its thread* inside `export` (rather than
//! awaiting) blocks the worker, and a loaded machine can leave the worker
//! unscheduled past that margin; the calls still return by their deadline
//! ([`ProcessorFlushError::Unresponsive`], [`ShutdownError::Unresponsive`]),
//! and the worker accounts for the items once it gets control back.
//!
//! # Feature flags
//!
//! - `internal-logs` (default): the engine's own warnings (the first drop of
//!   each kind, the first failed export, the totals at shutdown) go to
//!   `tracing` under the `otlpkit` target. Without it they compile away.
//!
//! # Supported Rust versions
//!
//! The minimum supported Rust version is 1.95, the workspace's
//! `rust-version`; raising it is not a breaking change.
#![cfg_attr(docsrs, feature(doc_cfg))]

mod builder;
mod diag;
mod engine;
mod error;
mod exporter;
mod handle;
mod items;
mod logs;
mod metrics;
mod queue;
mod report;
mod slots;
mod span;
mod stats;
#[cfg(feature = "tail-sampling")]
#[cfg_attr(docsrs, doc(cfg(feature = "tail-sampling")))]
pub mod tail;

pub use builder::DEFAULT_TIMEOUT;
pub use error::{BuildError, ProcessorFlushError, ShutdownError};
pub use handle::ProcessorHandle;
pub use items::{BatchExporter, BatchProcessor, BatchProcessorBuilder};
pub use logs::{BatchLogProcessor, BatchLogProcessorBuilder};
pub use metrics::MetricNames;
pub use report::{FlushReport, ProcessorShutdownReport};
pub use span::{BatchSpanProcessor, BatchSpanProcessorBuilder};
pub use stats::{EXPORT_DURATION_BOUNDS, ExportDurations, ProcessorStats};

/// A processor and otlpkit's exporter with a disk spool, each built on its
/// own (not by `otlpkit::init()`, which gives both one `ExportStats`), the
/// way a program that wires its own pipeline builds them. Here rather than
/// in `tests/` of `otlpkit-exporter`, which has no processor, transport or
/// receiver among its dev-dependencies; this crate has all three.
#[cfg(test)]
mod spool_accounting_tests {
    use std::time::{Duration, Instant};

    use opentelemetry::trace::{Tracer as _, TracerProvider as _};
    use opentelemetry_sdk::trace::SdkTracerProvider;
    use otlpkit_core::stats::{ExportStats, SignalStatsSnapshot};
    use otlpkit_core::{MapEnv, Signal};
    use otlpkit_testkit::Receiver;

    use crate::BatchSpanProcessor;

    /// A hang guard, never a bound a slow machine could miss.
    const HANG: Duration = Duration::from_secs(60);

    fn traces(stats: &ExportStats) -> SignalStatsSnapshot {
        stats.snapshot().signal(Signal::Traces)
    }

    /// Spans spooled while the collector is down and delivered from the
    /// spool once it is back leave the spool in the counters that counted
    /// them into it, the processor's: `produced = delivered + Σ dropped`,
    /// and nothing is left `in_spool`.
    #[test]
    fn spans_delivered_from_the_spool_leave_it_in_the_processors_counters() {
        let receiver = Receiver::start().unwrap();
        // Down: connections to its port are refused.
        receiver.stop();
        let dir = std::env::temp_dir().join(format!(
            "otlpkit-batch-spool-accounting-{}",
            std::process::id()
        ));
        let _ = std::fs::remove_dir_all(&dir);
        let exporter = otlpkit_grpc::SpanExporter::builder()
            .with_env(MapEnv::new())
            .with_endpoint(receiver.grpc_endpoint())
            .with_spool_dir(&dir)
            .build()
            .unwrap();
        let exporter_stats = exporter.stats().clone();
        let processor = BatchSpanProcessor::builder(exporter)
            .build_with_env(&MapEnv::new())
            .unwrap();
        let handle = processor.handle();
        let stats = processor.export_stats();
        let provider = SdkTracerProvider::builder()
            .with_span_processor(processor)
            .build();
        let tracer = provider.tracer("spool-accounting");
        for _ in 0..3 {
            tracer.in_span("waits in the spool", |_| {});
        }
        let flush = handle.flush_within(HANG).unwrap();
        assert!(flush.is_complete(), "{flush:?}");
        let spooled = traces(&stats);
        assert_eq!(
            (spooled.enqueued, spooled.spooled, spooled.in_spool),
            (3, 3, 3),
            "{spooled:?}"
        );

        // Up again: the drain delivers what waits.
        receiver.restart().unwrap();
        receiver.wait_for_spans(3, HANG).unwrap();
        // Counted once the answer is in, wherever the drain counts it.
        let started = Instant::now();
        while traces(&stats).delivered_from_spool + traces(&exporter_stats).delivered_from_spool < 3
        {
            assert!(started.elapsed() < HANG, "the drain never counted");
            std::thread::sleep(Duration::from_millis(10));
        }
        let processor_counted = traces(&stats);
        let exporter_counted = traces(&exporter_stats);
        let report = handle.shutdown_within(HANG).unwrap();
        drop(provider);
        let _ = std::fs::remove_dir_all(&dir);

        assert_eq!(
            processor_counted.delivered_from_spool, 3,
            "{processor_counted:?}"
        );
        assert_eq!(processor_counted.in_spool, 0, "{processor_counted:?}");
        assert_eq!(
            processor_counted.enqueued,
            processor_counted.delivered() + processor_counted.dropped_total(),
            "{processor_counted:?}"
        );
        // The exporter's own counters hold no part of those spans' story.
        assert_eq!(
            (
                exporter_counted.spooled,
                exporter_counted.delivered_from_spool,
                exporter_counted.in_spool
            ),
            (0, 0, 0),
            "{exporter_counted:?}"
        );
        let after = report.totals.counters;
        assert_eq!((after.delivered(), after.in_spool), (3, 0), "{after:?}");
    }
}
