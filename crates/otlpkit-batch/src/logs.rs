//! The batch log record processor.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use opentelemetry::InstrumentationScope;
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::error::OTelSdkResult;
use opentelemetry_sdk::logs::{LogExporter, LogProcessor, SdkLogRecord};
use otlpkit_core::{BatchKind, EnvSource, ProcessEnv, Signal};

use crate::builder::{Options, builder_methods};
use crate::engine::Engine;
use crate::error::{BuildError, ProcessorFlushError, ShutdownError};
use crate::exporter::{DynExporter, LogItem, Logs, log_size};
use crate::handle::{ProcessorHandle, flush_result, shutdown_result};
use crate::report::{FlushReport, ProcessorShutdownReport};
use crate::stats::ProcessorStats;

/// A log record processor that batches emitted records for any
/// [`LogExporter`]: a bounded lock-free queue on the hot path, an export
/// worker on its own thread, bounded flush and shutdown, and a count for
/// every record.
///
/// `emit` copies the record and its scope into the queue (the SDK lends the
/// record to every processor in turn).
///
/// Dropping the processor shuts it down with the default timeout; the
/// provider does the same on its own shutdown or drop.
///
/// ```
/// use std::time::Duration;
/// use opentelemetry_sdk::logs::{InMemoryLogExporter, SdkLoggerProvider};
/// use otlpkit_batch::BatchLogProcessor;
/// use otlpkit_core::OverflowPolicy;
///
/// let processor = BatchLogProcessor::builder(InMemoryLogExporter::default())
///     .with_max_queue_size(8192)
///     .with_overflow_policy(OverflowPolicy::Block { timeout: Duration::from_millis(100) })
///     .build()?;
/// let provider = SdkLoggerProvider::builder().with_log_processor(processor).build();
/// # drop(provider);
/// # Ok::<(), otlpkit_batch::BuildError>(())
/// ```
pub struct BatchLogProcessor {
    engine: Arc<Engine<LogItem>>,
}

impl fmt::Debug for BatchLogProcessor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BatchLogProcessor")
            .field("engine", &self.engine)
            .finish()
    }
}

impl BatchLogProcessor {
    /// A builder for a processor exporting through `exporter`.
    ///
    /// Exporters that need a tokio runtime to be built (the official tonic
    /// exporter) can be built inside
    /// [`WorkerRuntime::handle`](otlpkit_bridge::WorkerRuntime::handle)`().enter()`
    /// and the same runtime passed to
    /// [`with_worker_runtime`](BatchLogProcessorBuilder::with_worker_runtime).
    pub fn builder<E: LogExporter + 'static>(exporter: E) -> BatchLogProcessorBuilder {
        BatchLogProcessorBuilder {
            exporter: Box::new(Logs(exporter)),
            options: Options::new(BatchKind::Logs),
        }
    }

    /// A handle for statistics, flush, shutdown and self-metrics that
    /// outlives moving the processor into a provider.
    pub fn handle(&self) -> ProcessorHandle {
        ProcessorHandle::new(Arc::clone(&self.engine) as Arc<dyn crate::handle::Control>)
    }

    /// The processor's statistics now.
    pub fn stats(&self) -> ProcessorStats {
        self.engine.snapshot()
    }

    /// See [`ProcessorHandle::flush_within`].
    pub fn flush_within(&self, timeout: Duration) -> Result<FlushReport, ProcessorFlushError> {
        self.engine.flush(timeout)
    }

    /// See [`ProcessorHandle::flush_async`].
    pub async fn flush_async(&self, timeout: Duration) -> Result<FlushReport, ProcessorFlushError> {
        self.engine.flush_async(timeout).await
    }

    /// See [`ProcessorHandle::shutdown_within`].
    pub fn shutdown_within(
        &self,
        timeout: Duration,
    ) -> Result<ProcessorShutdownReport, ShutdownError> {
        self.engine.shutdown(timeout)
    }

    /// See [`ProcessorHandle::shutdown_async`].
    pub async fn shutdown_async(
        &self,
        timeout: Duration,
    ) -> Result<ProcessorShutdownReport, ShutdownError> {
        self.engine.shutdown_async(timeout).await
    }
}

impl LogProcessor for BatchLogProcessor {
    fn emit(&self, record: &mut SdkLogRecord, scope: &InstrumentationScope) {
        if self.engine.is_shut_down() {
            // Counted without copying the record.
            self.engine.refuse_after_shutdown();
            return;
        }
        self.engine.push((record.clone(), scope.clone()));
    }

    /// Flushes with the default timeout; see
    /// [`flush_within`](Self::flush_within) for the report.
    fn force_flush(&self) -> OTelSdkResult {
        let timeout = self.engine.default_timeout();
        flush_result(self.engine.flush(timeout), timeout)
    }

    /// `Ok` only when every record was exported and the exporter shut down
    /// cleanly; `Timeout` when the deadline left records unsent (counted as
    /// `shutdown_deadline`); see [`shutdown_within`](Self::shutdown_within)
    /// for the report.
    fn shutdown_with_timeout(&self, timeout: Duration) -> OTelSdkResult {
        shutdown_result(self.engine.shutdown(timeout), timeout)
    }

    fn set_resource(&mut self, resource: &Resource) {
        self.engine.set_resource(resource);
    }
}

impl Drop for BatchLogProcessor {
    fn drop(&mut self) {
        if !self.engine.shutdown_called() {
            let _ = self.engine.shutdown(self.engine.default_timeout());
        }
    }
}

/// Builds a [`BatchLogProcessor`]: explicit setters > a given
/// [`BatchConfig`](otlpkit_core::BatchConfig) > `OTEL_BLRP_*` (and
/// `OTLPKIT_BLRP_OVERFLOW`, `OTLPKIT_BLRP_BLOCK_TIMEOUT`) > defaults.
pub struct BatchLogProcessorBuilder {
    exporter: Box<dyn DynExporter<LogItem>>,
    options: Options,
}

impl fmt::Debug for BatchLogProcessorBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BatchLogProcessorBuilder")
            .field("options", &self.options)
            .finish_non_exhaustive()
    }
}

impl BatchLogProcessorBuilder {
    builder_methods!("OTEL_BLRP_*");

    /// Builds the processor, reading `OTEL_BLRP_*` from the process
    /// environment for what was not set in code, and starts its worker.
    pub fn build(self) -> Result<BatchLogProcessor, BuildError> {
        self.build_with_env(&ProcessEnv)
    }

    /// Like [`build`](Self::build), reading the variables from `env`.
    pub fn build_with_env<E: EnvSource + ?Sized>(
        self,
        env: &E,
    ) -> Result<BatchLogProcessor, BuildError> {
        let settings = self.options.resolve(env)?;
        let engine = Engine::start(Arc::from(self.exporter), settings, Signal::Logs, log_size)?;
        Ok(BatchLogProcessor {
            engine: Arc::new(engine),
        })
    }
}
