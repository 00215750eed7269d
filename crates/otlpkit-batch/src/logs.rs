//! The batch log record processor: the engine's [`BatchProcessor`] for the
//! SDK's log records.

use std::time::Duration;

use opentelemetry::InstrumentationScope;
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::error::OTelSdkResult;
use opentelemetry_sdk::logs::{LogExporter, LogProcessor, SdkLogRecord};
use otlpkit_core::{BatchKind, EnvSource};

use crate::builder::builder_methods;
use crate::error::BuildError;
use crate::exporter::{LogItem, Logs, log_size};
use crate::items::{BatchProcessor, BatchProcessorBuilder, processor_methods};

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
#[derive(Debug)]
pub struct BatchLogProcessor {
    inner: BatchProcessor<LogItem>,
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
        let exporter = Box::new(Logs(exporter));
        BatchLogProcessorBuilder {
            inner: BatchProcessorBuilder::new(exporter, BatchKind::Logs, log_size),
        }
    }

    processor_methods!(inner.engine);
}

impl LogProcessor for BatchLogProcessor {
    fn emit(&self, record: &mut SdkLogRecord, scope: &InstrumentationScope) {
        if self.inner.is_shut_down() {
            // Counted without copying the record.
            self.inner.engine.refuse_after_shutdown();
            return;
        }
        self.inner.push((record.clone(), scope.clone()));
    }

    /// Flushes with the default timeout; see
    /// [`flush_within`](Self::flush_within) for the report.
    fn force_flush(&self) -> OTelSdkResult {
        self.inner.sdk_force_flush()
    }

    /// `Ok` only when every record was exported and the exporter shut down
    /// cleanly; `Timeout` when the deadline left records unsent (counted as
    /// `shutdown_deadline`); see [`shutdown_within`](Self::shutdown_within)
    /// for the report.
    fn shutdown_with_timeout(&self, timeout: Duration) -> OTelSdkResult {
        self.inner.sdk_shutdown(timeout)
    }

    fn set_resource(&mut self, resource: &Resource) {
        self.inner.set_resource(resource);
    }
}

/// Builds a [`BatchLogProcessor`]: explicit setters > a given
/// [`BatchConfig`](otlpkit_core::BatchConfig) > `OTEL_BLRP_*` (and
/// `OTLPKIT_BLRP_OVERFLOW`, `OTLPKIT_BLRP_BLOCK_TIMEOUT`) > defaults.
#[derive(Debug)]
pub struct BatchLogProcessorBuilder {
    inner: BatchProcessorBuilder<LogItem>,
}

impl BatchLogProcessorBuilder {
    builder_methods!(BatchLogProcessor, "OTEL_BLRP_*", inner.options);

    fn start<E: EnvSource + ?Sized>(self, env: &E) -> Result<BatchLogProcessor, BuildError> {
        let inner = self.inner.start(env)?;
        Ok(BatchLogProcessor { inner })
    }
}
