//! The batch span processor.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use opentelemetry::Context;
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::error::OTelSdkResult;
use opentelemetry_sdk::trace::{Span, SpanData, SpanExporter, SpanProcessor};
use otlpkit_core::{BatchKind, EnvSource, ProcessEnv, Signal};

use crate::builder::{Options, builder_methods};
use crate::engine::Engine;
use crate::error::{BuildError, ProcessorFlushError, ShutdownError};
use crate::exporter::{DynExporter, Spans, span_size};
use crate::handle::{ProcessorHandle, flush_result, shutdown_result};
use crate::report::{FlushReport, ProcessorShutdownReport};
use crate::stats::ProcessorStats;

/// A span processor that batches ended spans for any
/// [`SpanExporter`]: a bounded lock-free queue on the hot path, an export
/// worker on its own thread, bounded flush and shutdown, and a count for
/// every span.
///
/// Only sampled spans are queued (unsampled, recording-only spans are
/// ignored, as the specification asks of exporting processors).
///
/// Dropping the processor shuts it down with the default timeout; the
/// provider does the same on its own shutdown or drop.
///
/// ```
/// use std::time::Duration;
/// use opentelemetry_sdk::trace::{InMemorySpanExporter, SdkTracerProvider};
/// use otlpkit_batch::BatchSpanProcessor;
/// use otlpkit_core::OverflowPolicy;
///
/// let processor = BatchSpanProcessor::builder(InMemorySpanExporter::default())
///     .with_max_queue_size(8192)
///     .with_overflow_policy(OverflowPolicy::Block { timeout: Duration::from_millis(100) })
///     .build()?;
/// let provider = SdkTracerProvider::builder().with_span_processor(processor).build();
/// # drop(provider);
/// # Ok::<(), otlpkit_batch::BuildError>(())
/// ```
pub struct BatchSpanProcessor {
    engine: Arc<Engine<SpanData>>,
}

impl fmt::Debug for BatchSpanProcessor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BatchSpanProcessor")
            .field("engine", &self.engine)
            .finish()
    }
}

impl BatchSpanProcessor {
    /// A builder for a processor exporting through `exporter`.
    ///
    /// Exporters that need a tokio runtime to be built (the official tonic
    /// exporter) can be built inside
    /// [`WorkerRuntime::handle`](otlpkit_bridge::WorkerRuntime::handle)`().enter()`
    /// and the same runtime passed to
    /// [`with_worker_runtime`](BatchSpanProcessorBuilder::with_worker_runtime).
    pub fn builder<E: SpanExporter + 'static>(exporter: E) -> BatchSpanProcessorBuilder {
        BatchSpanProcessorBuilder {
            exporter: Box::new(Spans(exporter)),
            options: Options::new(BatchKind::Spans),
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

impl SpanProcessor for BatchSpanProcessor {
    fn on_start(&self, _span: &mut Span, _cx: &Context) {}

    fn on_end(&self, span: SpanData) {
        if span.span_context.is_sampled() {
            self.engine.push(span);
        }
    }

    /// Flushes with the default timeout; see
    /// [`flush_within`](Self::flush_within) for the report.
    fn force_flush(&self) -> OTelSdkResult {
        let timeout = self.engine.default_timeout();
        flush_result(self.engine.flush(timeout), timeout)
    }

    /// `Ok` only when every span was exported and the exporter shut down
    /// cleanly; `Timeout` when the deadline left spans unsent (counted as
    /// `shutdown_deadline`); see [`shutdown_within`](Self::shutdown_within)
    /// for the report.
    fn shutdown_with_timeout(&self, timeout: Duration) -> OTelSdkResult {
        shutdown_result(self.engine.shutdown(timeout), timeout)
    }

    fn set_resource(&mut self, resource: &Resource) {
        self.engine.set_resource(resource);
    }
}

impl Drop for BatchSpanProcessor {
    fn drop(&mut self) {
        if !self.engine.shutdown_called() {
            let _ = self.engine.shutdown(self.engine.default_timeout());
        }
    }
}

/// Builds a [`BatchSpanProcessor`]: explicit setters > a given
/// [`BatchConfig`](otlpkit_core::BatchConfig) > `OTEL_BSP_*` (and
/// `OTLPKIT_BSP_OVERFLOW`, `OTLPKIT_BSP_BLOCK_TIMEOUT`) > defaults.
pub struct BatchSpanProcessorBuilder {
    exporter: Box<dyn DynExporter<SpanData>>,
    options: Options,
}

impl fmt::Debug for BatchSpanProcessorBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BatchSpanProcessorBuilder")
            .field("options", &self.options)
            .finish_non_exhaustive()
    }
}

impl BatchSpanProcessorBuilder {
    builder_methods!("OTEL_BSP_*");

    /// Builds the processor, reading `OTEL_BSP_*` from the process
    /// environment for what was not set in code, and starts its worker.
    pub fn build(self) -> Result<BatchSpanProcessor, BuildError> {
        self.build_with_env(&ProcessEnv)
    }

    /// Like [`build`](Self::build), reading the variables from `env`.
    pub fn build_with_env<E: EnvSource + ?Sized>(
        self,
        env: &E,
    ) -> Result<BatchSpanProcessor, BuildError> {
        let settings = self.options.resolve(env)?;
        let engine = Engine::start(
            Arc::from(self.exporter),
            settings,
            Signal::Traces,
            span_size,
        )?;
        Ok(BatchSpanProcessor {
            engine: Arc::new(engine),
        })
    }
}
