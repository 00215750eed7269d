//! A cloneable handle on a processor, usable after the processor has been
//! moved into a provider.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use opentelemetry_sdk::error::{OTelSdkError, OTelSdkResult};

use crate::engine::Core;
use crate::error::{ProcessorFlushError, ShutdownError};
use crate::report::{FlushReport, ProcessorShutdownReport};
use crate::stats::ProcessorStats;

type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// The processor operations a handle needs (the engine's [`Core`], which
/// does not name the item type).
pub(crate) trait Control: Send + Sync + 'static {
    fn stats(&self) -> ProcessorStats;
    fn flush(&self, timeout: Duration) -> Result<FlushReport, ProcessorFlushError>;
    fn flush_async(
        &self,
        timeout: Duration,
    ) -> BoxFuture<'_, Result<FlushReport, ProcessorFlushError>>;
    fn shutdown(&self, timeout: Duration) -> Result<ProcessorShutdownReport, ShutdownError>;
    fn shutdown_async(
        &self,
        timeout: Duration,
    ) -> BoxFuture<'_, Result<ProcessorShutdownReport, ShutdownError>>;
    fn is_shut_down(&self) -> bool;
}

impl Control for Core {
    fn stats(&self) -> ProcessorStats {
        self.snapshot()
    }

    fn flush(&self, timeout: Duration) -> Result<FlushReport, ProcessorFlushError> {
        Core::flush(self, timeout)
    }

    fn flush_async(
        &self,
        timeout: Duration,
    ) -> BoxFuture<'_, Result<FlushReport, ProcessorFlushError>> {
        Box::pin(Core::flush_async(self, timeout))
    }

    fn shutdown(&self, timeout: Duration) -> Result<ProcessorShutdownReport, ShutdownError> {
        Core::shutdown(self, timeout)
    }

    fn shutdown_async(
        &self,
        timeout: Duration,
    ) -> BoxFuture<'_, Result<ProcessorShutdownReport, ShutdownError>> {
        Box::pin(Core::shutdown_async(self, timeout))
    }

    fn is_shut_down(&self) -> bool {
        Core::is_shut_down(self)
    }
}

/// A cheap, cloneable handle on a span or log processor: statistics,
/// flush and shutdown with reports, self-metrics. It stays valid after the
/// processor has been moved into a provider, and after shutdown (the
/// statistics remain readable).
///
/// ```
/// use std::time::Duration;
/// use opentelemetry::trace::{Tracer as _, TracerProvider as _};
/// use opentelemetry_sdk::trace::{InMemorySpanExporter, SdkTracerProvider};
/// use otlpkit_batch::BatchSpanProcessor;
///
/// let exporter = InMemorySpanExporter::default();
/// let processor = BatchSpanProcessor::builder(exporter.clone()).build()?;
/// let handle = processor.handle();
/// let provider = SdkTracerProvider::builder().with_span_processor(processor).build();
/// provider.tracer("demo").in_span("work", |_| {});
///
/// handle.flush_within(Duration::from_secs(5))?;
/// assert_eq!(exporter.get_finished_spans()?.len(), 1);
///
/// let report = handle.shutdown_within(Duration::from_secs(5))?;
/// assert!(report.is_complete());
/// assert_eq!(report.totals.exported(), 1);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone)]
pub struct ProcessorHandle {
    control: Arc<dyn Control>,
}

impl fmt::Debug for ProcessorHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ProcessorHandle")
            .field("stats", &self.control.stats())
            .finish()
    }
}

impl ProcessorHandle {
    pub(crate) fn new(control: Arc<dyn Control>) -> Self {
        Self { control }
    }

    /// The processor's statistics now.
    pub fn stats(&self) -> ProcessorStats {
        self.control.stats()
    }

    /// The statistics now of processors that share their signal's counters,
    /// as one ([`ProcessorStats::joint`]); `None` for an empty slice.
    pub fn joint_stats(handles: &[ProcessorHandle]) -> Option<ProcessorStats> {
        ProcessorStats::joint(handles.iter().map(Self::stats))
    }

    /// Whether the processor no longer accepts items: it was shut down, or
    /// its worker runtime was stopped under it.
    pub fn is_shut_down(&self) -> bool {
        self.control.is_shut_down()
    }

    /// Exports everything received so far, then flushes the exporter;
    /// returns by `timeout` with what was done (checklist 3.6).
    ///
    /// Blocks the calling thread, which may be a plain thread, a tokio
    /// runtime thread of either flavour or a `spawn_blocking` thread: the
    /// work runs on the export worker, never on the caller's runtime.
    pub fn flush_within(&self, timeout: Duration) -> Result<FlushReport, ProcessorFlushError> {
        self.control.flush(timeout)
    }

    /// [`flush_within`](Self::flush_within) for async callers: awaits
    /// without blocking the thread, on any executor.
    pub async fn flush_async(&self, timeout: Duration) -> Result<FlushReport, ProcessorFlushError> {
        self.control.flush_async(timeout).await
    }

    /// Refuses new items, exports what is queued, shuts the exporter down
    /// and returns by `timeout`; what the deadline left unsent is dropped as
    /// `shutdown_deadline` and reported (checklist 3.7).
    ///
    /// The report's numbers are read from the counters the exporter settles
    /// into, so they agree with [`stats`](Self::stats): a batch the server
    /// accepted in part is reported as exported and failed item by item,
    /// and one saved in a disk spool as neither. When the exporter's own
    /// shutdown outlasts the deadline (the report says `timed_out`), they
    /// are the counters' when the deadline passed: what the exporter still
    /// held then (a send that a blocking export call left running) it
    /// counts as it finishes shutting down, which may be after the report
    /// and its totals were read.
    pub fn shutdown_within(
        &self,
        timeout: Duration,
    ) -> Result<ProcessorShutdownReport, ShutdownError> {
        self.control.shutdown(timeout)
    }

    /// [`shutdown_within`](Self::shutdown_within) for async callers.
    pub async fn shutdown_async(
        &self,
        timeout: Duration,
    ) -> Result<ProcessorShutdownReport, ShutdownError> {
        self.control.shutdown_async(timeout).await
    }
}

/// The SDK's view of a flush: `Ok` only when everything was exported.
pub(crate) fn flush_result(
    result: Result<FlushReport, ProcessorFlushError>,
    timeout: Duration,
) -> OTelSdkResult {
    match result {
        Ok(report) if report.is_complete() => Ok(()),
        Ok(report) if report.timed_out => Err(OTelSdkError::Timeout(timeout)),
        Ok(report) => Err(OTelSdkError::InternalFailure(format!("flush: {report}"))),
        Err(ProcessorFlushError::AlreadyShutdown) => Err(OTelSdkError::AlreadyShutdown),
        Err(ProcessorFlushError::Unresponsive { .. }) => Err(OTelSdkError::Timeout(timeout)),
        Err(error) => Err(OTelSdkError::InternalFailure(error.to_string())),
    }
}

/// The SDK's view of a shutdown: `Ok` only when everything was exported
/// and the exporter shut down cleanly; never `Ok` after failed exports.
pub(crate) fn shutdown_result(
    result: Result<ProcessorShutdownReport, ShutdownError>,
    timeout: Duration,
) -> OTelSdkResult {
    match result {
        Ok(report) if report.is_complete() => Ok(()),
        Ok(report) if report.flush.timed_out => Err(OTelSdkError::Timeout(timeout)),
        Ok(report) => Err(OTelSdkError::InternalFailure(report.to_string())),
        Err(ShutdownError::AlreadyShutdown) => Err(OTelSdkError::AlreadyShutdown),
        Err(ShutdownError::Unresponsive { .. }) => Err(OTelSdkError::Timeout(timeout)),
        Err(error) => Err(OTelSdkError::InternalFailure(error.to_string())),
    }
}
