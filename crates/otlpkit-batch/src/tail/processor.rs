//! The stage on the SDK path: a `SpanProcessor` in front of another one
//! (the batch span processor, usually).

use std::fmt;
use std::sync::Arc;
use std::time::{Duration, Instant};

use opentelemetry::Context;
use opentelemetry::trace::{Span as _, TraceContextExt as _};
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::error::OTelSdkResult;
use opentelemetry_sdk::trace::{Span, SpanData, SpanProcessor};
use otlpkit_core::TailSamplingConfig;
use otlpkit_core::stats::ExportStats;

use super::handle::{TailSamplingHandle, TailSamplingStats};
use super::policy::AttributeRule;
use super::sampler::{SpanSink, TailSampler, TailSamplerBuilder};

/// The processor behind the stage, as the stage's sink.
#[derive(Debug)]
struct Forward<P>(P);

impl<P: SpanProcessor + 'static> SpanSink<SpanData> for Forward<P> {
    fn keep(&self, span: SpanData) {
        self.0.on_end(span);
    }
}

/// Tail sampling for the SDK: holds the ended spans of each trace until its
/// local root ends (or the decision wait passes), then hands the whole trace
/// to the processor it wraps, or samples it out and counts it.
///
/// Spans the head sampler did not sample pass straight through (the batch
/// span processor ignores them). A trace whose local root starts under a
/// remote parent that was sampled upstream is kept whole as soon as the root
/// starts, unless that policy is off.
///
/// ```
/// use std::time::Duration;
/// use opentelemetry::trace::{Status, Tracer as _, TracerProvider as _, TraceContextExt as _};
/// use opentelemetry_sdk::trace::{InMemorySpanExporter, SdkTracerProvider};
/// use otlpkit_batch::BatchSpanProcessor;
/// use otlpkit_batch::tail::TailSamplingProcessor;
/// use otlpkit_core::{MapEnv, TailSamplingConfig};
///
/// let exporter = InMemorySpanExporter::default();
/// let batch = BatchSpanProcessor::builder(exporter.clone()).build()?;
/// let config = TailSamplingConfig::builder().with_ratio(0.0).build(&MapEnv::new())?.into_value();
/// let tail = TailSamplingProcessor::builder(batch).with_config(config).build();
/// let handle = tail.handle();
/// let provider = SdkTracerProvider::builder().with_span_processor(tail).build();
///
/// let tracer = provider.tracer("example");
/// tracer.in_span("fine", |_| tracer.in_span("child", |_| {}));
/// tracer.in_span("failed", |_| {
///     tracer.in_span("deep", |cx| cx.span().set_status(Status::error("boom")))
/// });
/// provider.force_flush()?;
///
/// let names: Vec<_> = exporter.get_finished_spans()?.into_iter().map(|s| s.name).collect();
/// assert_eq!(names, ["deep", "failed"]);
/// assert_eq!(handle.stats().sampled_out, 2);
/// provider.shutdown()?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct TailSamplingProcessor<P: SpanProcessor + 'static> {
    sampler: TailSampler<SpanData>,
    inner: Arc<Forward<P>>,
}

impl<P: SpanProcessor + 'static> fmt::Debug for TailSamplingProcessor<P> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TailSamplingProcessor")
            .field("sampler", &self.sampler)
            .field("inner", &self.inner.0)
            .finish()
    }
}

impl<P: SpanProcessor + 'static> TailSamplingProcessor<P> {
    /// A builder for a stage in front of `inner`.
    pub fn builder(inner: P) -> TailSamplingProcessorBuilder<P> {
        TailSamplingProcessorBuilder {
            inner,
            sampler: TailSamplerBuilder::default(),
        }
    }

    /// A handle for statistics, shutdown and self-metrics that outlives
    /// moving the processor into a provider.
    pub fn handle(&self) -> TailSamplingHandle {
        self.sampler.handle()
    }

    /// The processor behind the stage.
    pub fn inner(&self) -> &P {
        &self.inner.0
    }

    fn sink(&self) -> &Forward<P> {
        self.sampler
            .core()
            .attach(|| Arc::clone(&self.inner) as Arc<dyn SpanSink<SpanData>>);
        &self.inner
    }
}

impl<P: SpanProcessor + 'static> SpanProcessor for TailSamplingProcessor<P> {
    fn on_start(&self, span: &mut Span, cx: &Context) {
        self.inner.0.on_start(span, cx);
        let parent = cx.span();
        let own = span.span_context();
        self.sampler.core().on_start(
            parent.span_context(),
            own.trace_id(),
            own.is_sampled(),
            self.sink(),
        );
    }

    fn on_end(&self, span: SpanData) {
        if span.span_context.is_sampled() {
            let sink = self.sink();
            self.sampler.core().offer(span, sink);
        } else {
            self.inner.0.on_end(span);
        }
    }

    /// Flushes the processor behind the stage: every trace decided so far
    /// is exported. Traces still held (their local root has not ended) are
    /// not decided early; shutting down decides them.
    fn force_flush(&self) -> OTelSdkResult {
        self.inner.0.force_flush()
    }

    /// Decides every held trace, then shuts the inner processor down with
    /// what is left of `timeout`.
    fn shutdown_with_timeout(&self, timeout: Duration) -> OTelSdkResult {
        let started = Instant::now();
        self.sampler.shutdown_within(timeout);
        self.inner
            .0
            .shutdown_with_timeout(timeout.saturating_sub(started.elapsed()))
    }

    fn set_resource(&mut self, resource: &Resource) {
        match Arc::get_mut(&mut self.inner) {
            Some(inner) => inner.0.set_resource(resource),
            // Spans already ended (the SDK sets the resource when the
            // provider is built, before any span).
            None => crate::diag::warn(format_args!(
                "tail sampling: the resource was set after spans ended and cannot reach \
                 the processor behind the stage"
            )),
        }
    }
}

/// Builds a [`TailSamplingProcessor`].
pub struct TailSamplingProcessorBuilder<P> {
    inner: P,
    sampler: TailSamplerBuilder<SpanData>,
}

impl<P: fmt::Debug> fmt::Debug for TailSamplingProcessorBuilder<P> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TailSamplingProcessorBuilder")
            .field("inner", &self.inner)
            .field("sampler", &self.sampler)
            .finish()
    }
}

impl<P: SpanProcessor + 'static> TailSamplingProcessorBuilder<P> {
    /// The policies and bounds (resolved by
    /// [`TailSamplingConfig::builder`] from code and the
    /// `OTLPKIT_TAIL_SAMPLING*` variables; the default otherwise).
    #[must_use]
    pub fn with_config(mut self, config: TailSamplingConfig) -> Self {
        self.sampler = self.sampler.with_config(config);
        self
    }

    /// Also keep traces with a span matching `rule`.
    #[must_use]
    pub fn with_attribute_rule(mut self, rule: AttributeRule) -> Self {
        self.sampler = self.sampler.with_attribute_rule(rule);
        self
    }

    /// The counters to record the decisions in: give the ones of the batch
    /// processor behind the stage
    /// ([`BatchSpanProcessorBuilder::with_stats`](crate::BatchSpanProcessorBuilder::with_stats)),
    /// so that its statistics show what was sampled out beside what was
    /// delivered and dropped.
    #[must_use]
    pub fn with_stats(mut self, stats: ExportStats) -> Self {
        self.sampler = self.sampler.with_stats(stats);
        self
    }

    /// Builds the stage (its sweeper thread starts with the first held
    /// trace).
    pub fn build(self) -> TailSamplingProcessor<P> {
        TailSamplingProcessor {
            sampler: TailSampler::detached(self.sampler),
            inner: Arc::new(Forward(self.inner)),
        }
    }
}

impl<P: SpanProcessor + 'static> TailSamplingProcessor<P> {
    /// See [`TailSamplingHandle::shutdown_within`]: decides every held
    /// trace without shutting the inner processor down.
    pub fn shutdown_stage_within(&self, timeout: Duration) -> TailSamplingStats {
        self.sampler.shutdown_within(timeout)
    }
}
