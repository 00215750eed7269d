//! The batch span processor: the engine's [`BatchProcessor`] for the SDK's
//! spans.

use std::time::Duration;

use opentelemetry::Context;
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::error::OTelSdkResult;
use opentelemetry_sdk::trace::{Span, SpanData, SpanExporter, SpanProcessor};
use otlpkit_core::{BatchKind, EnvSource};

use crate::builder::builder_methods;
use crate::error::BuildError;
use crate::exporter::{Spans, span_size};
use crate::items::{BatchProcessor, BatchProcessorBuilder, processor_methods};

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
#[derive(Debug)]
pub struct BatchSpanProcessor {
    inner: BatchProcessor<SpanData>,
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
        let exporter = Box::new(Spans(exporter));
        BatchSpanProcessorBuilder {
            inner: BatchProcessorBuilder::new(exporter, BatchKind::Spans, span_size),
        }
    }

    processor_methods!(inner.engine);
}

impl SpanProcessor for BatchSpanProcessor {
    fn on_start(&self, _span: &mut Span, _cx: &Context) {}

    fn on_end(&self, span: SpanData) {
        if span.span_context.is_sampled() {
            self.inner.push(span);
        }
    }

    /// Flushes with the default timeout; see
    /// [`flush_within`](Self::flush_within) for the report.
    fn force_flush(&self) -> OTelSdkResult {
        self.inner.sdk_force_flush()
    }

    /// `Ok` only when every span was exported and the exporter shut down
    /// cleanly; `Timeout` when the deadline left spans unsent (counted as
    /// `shutdown_deadline`); see [`shutdown_within`](Self::shutdown_within)
    /// for the report.
    fn shutdown_with_timeout(&self, timeout: Duration) -> OTelSdkResult {
        self.inner.sdk_shutdown(timeout)
    }

    fn set_resource(&mut self, resource: &Resource) {
        self.inner.set_resource(resource);
    }
}

/// Builds a [`BatchSpanProcessor`]: explicit setters > a given
/// [`BatchConfig`](otlpkit_core::BatchConfig) > `OTEL_BSP_*` (and
/// `OTLPKIT_BSP_OVERFLOW`, `OTLPKIT_BSP_BLOCK_TIMEOUT`) > defaults.
#[derive(Debug)]
pub struct BatchSpanProcessorBuilder {
    inner: BatchProcessorBuilder<SpanData>,
}

impl BatchSpanProcessorBuilder {
    builder_methods!(BatchSpanProcessor, "OTEL_BSP_*", inner.options);

    fn start<E: EnvSource + ?Sized>(self, env: &E) -> Result<BatchSpanProcessor, BuildError> {
        let inner = self.inner.start(env)?;
        Ok(BatchSpanProcessor { inner })
    }
}
