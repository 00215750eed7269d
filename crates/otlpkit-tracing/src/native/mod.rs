//! The native span path: `tracing` spans recorded straight into
//! [`SpanRecord`]s and queued in otlpkit's batch engine, without
//! `tracing-opentelemetry` and without the SDK's `SpanData`.
//!
//! # What it keeps from the `tracing-opentelemetry` path
//!
//! The spans that arrive at the collector are the same: ids from the SDK's
//! id generator, the SDK's sampler decided when the span starts (so a
//! trace-id ratio agrees with every other service), parents from the
//! enclosing span or the current OpenTelemetry context, the span limits,
//! the same attributes (`code.*`, `thread.*`, `target`, the fields,
//! `busy_ns`/`idle_ns`), events (named by `message`), `follows_from` links,
//! `otel.name`, `otel.kind`, `otel.status_code`, `otel.status_description`
//! (and `otel.status_message`), and errors as `tracing-opentelemetry`
//! records them (an `error` field or `#[instrument(err)]`: an `exception`
//! event and an error status). While a span is entered its OpenTelemetry
//! context is current, so OpenTelemetry-API spans, the log bridge's
//! correlation ids, the propagation helpers and `otlpkit-bridge` see it; a
//! `tracing` span started inside an OpenTelemetry-API span is its child.
//! [`SpanExt`](crate::SpanExt) works on both paths.
//!
//! Differences: `otel.name` and `otel.kind` recorded after the span was
//! entered still apply (`tracing-opentelemetry` ignores them then); the
//! OpenTelemetry context of a native span carries its span context, not an
//! SDK span, so `Context::current().span().set_attribute(..)` (the
//! OpenTelemetry API reaching for the current span) does nothing there: use
//! [`SpanExt`](crate::SpanExt) on the `tracing` span instead. SDK span
//! processors never see native spans; keep the `tracing-opentelemetry` path
//! ([`TracingSetup::with_tracer_provider`](crate::TracingSetup::with_tracer_provider))
//! when you need processors of your own.
//!
//! # Why it is faster
//!
//! Per span, the `tracing-opentelemetry` path allocates an `Arc<Mutex<_>>`
//! for its state, a `SpanBuilder` with a `Vec` of attributes (one `String`
//! per string field and for the thread name), an SDK span and then a
//! `SpanData` with its own vectors, reads the clock five times, and goes
//! through the SDK's processor chain: about ten allocations per span. The
//! native path keeps one boxed record per span in its extensions (the
//! source attributes and `busy_ns`/`idle_ns` in fields of their own, up to
//! ten fields without a further allocation, `&'static` strings and short
//! values inline, the thread name cached per thread), reads the clock
//! three times, allocates at most twice (its extensions slot and the span's
//! OpenTelemetry context; the record comes from a pool the exporter gives
//! records back to once encoded, see [`NativeSpans::with_record_pool`]) and
//! hands the box to the engine's queue. `docs/BENCHMARKS.md` (section 9) has the figures: less than half
//! the producer cost of either `tracing-opentelemetry` stack.
//!
//! # Example
//!
//! ```
//! use std::time::Duration;
//! use opentelemetry_sdk::trace::InMemorySpanExporter;
//! use otlpkit_batch::BatchProcessor;
//! use otlpkit_tracing::native::{NativeSpans, SpanDataExporter};
//! use tracing_subscriber::layer::SubscriberExt as _;
//!
//! let exporter = InMemorySpanExporter::default();
//! let processor = BatchProcessor::builder(SpanDataExporter::new(exporter.clone())).build()?;
//! let handle = processor.handle();
//! let native = NativeSpans::new(processor);
//! let subscriber = tracing::Dispatch::new(tracing_subscriber::registry().with(native.layer()));
//! tracing::dispatcher::with_default(&subscriber, || {
//!     tracing::info_span!("load", rows = 3).in_scope(|| {
//!         tracing::info_span!("parse").in_scope(|| {});
//!     });
//! });
//! let flush = handle.flush_within(Duration::from_secs(5))?;
//! assert!(flush.is_complete(), "{flush}");
//! let spans = exporter.get_finished_spans()?;
//! assert_eq!(spans.len(), 2);
//! assert_eq!(spans[0].name, "parse");
//! assert_eq!(spans[0].parent_span_id, spans[1].span_context.span_id());
//! assert_eq!(handle.stats().exported(), 2);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod export;
mod fields;
mod hooks;
mod layer;
mod live;
mod sampling;
#[cfg(feature = "tail-sampling")]
mod tail;

use std::borrow::Cow;
use std::sync::Arc;
#[cfg(feature = "tail-sampling")]
use std::sync::OnceLock;

use opentelemetry::InstrumentationScope;
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::trace::{IdGenerator, RandomIdGenerator, Sampler, ShouldSample, SpanLimits};
#[cfg(feature = "tail-sampling")]
use otlpkit_batch::tail::{AttributeRule, TailSampler, TailSamplingHandle};
use otlpkit_batch::{BatchProcessor, ProcessorHandle};
#[cfg(feature = "tail-sampling")]
use otlpkit_core::TailSamplingConfig;
use otlpkit_wire::{SpanRecord, SpanRecordPool};
use sampling::SpanSampler;

pub use export::SpanDataExporter;
pub(crate) use hooks::{NativeSpan, with_native_layer, with_native_span};
pub use layer::NativeLayer;

use live::SOURCE_ATTRIBUTES;
pub(crate) use live::Settings;

/// Records a layer's own pool keeps: two batches of the default size.
const DEFAULT_RECORD_POOL: usize = 1024;

/// The configuration of the native span path: where the records go, and
/// the SDK settings a span starts with.
///
/// Defaults: `parentbased_always_on`, random ids, the SDK's default limits
/// and no value length limit, the same attributes as `tracing-opentelemetry`
/// (code location, thread id and name, target, busy and idle time) and
/// context activation.
pub struct NativeSpans {
    processor: Arc<BatchProcessor<Box<SpanRecord>>>,
    #[cfg(feature = "tail-sampling")]
    tail: Option<TailSampler<tail::TailRecord>>,
    pool: Arc<SpanRecordPool>,
    /// The pool the tail-sampling stage gives records sampled out back to:
    /// `pool` as it is when the layer is built.
    #[cfg(feature = "tail-sampling")]
    tail_pool: Arc<OnceLock<Arc<SpanRecordPool>>>,
    sampler: SpanSampler,
    id_generator: Box<dyn IdGenerator>,
    custom_ids: bool,
    limits: SpanLimits,
    max_value_chars: Option<usize>,
    scope: Option<InstrumentationScope>,
    location: bool,
    threads: bool,
    target: bool,
    level: bool,
    inactivity: bool,
    activation: bool,
    disabled: bool,
}

impl std::fmt::Debug for NativeSpans {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        #[cfg(feature = "tail-sampling")]
        let tail_sampling = self.tail.is_some();
        #[cfg(not(feature = "tail-sampling"))]
        let tail_sampling = false;
        f.debug_struct("NativeSpans")
            .field("processor", &self.processor)
            .field("tail_sampling", &tail_sampling)
            .field("sampler", &self.sampler)
            .field("limits", &self.limits)
            .field("max_value_chars", &self.max_value_chars)
            .field("scope", &self.scope)
            .field("disabled", &self.disabled)
            .finish_non_exhaustive()
    }
}

impl NativeSpans {
    /// Native spans pushed into `processor` (build it with a
    /// [`SpanDataExporter`] around any SDK span exporter, or with an
    /// exporter of records). Records travel boxed: the hot path moves a
    /// pointer, not a kilobyte.
    pub fn new(processor: BatchProcessor<Box<SpanRecord>>) -> Self {
        Self {
            processor: Arc::new(processor),
            #[cfg(feature = "tail-sampling")]
            tail: None,
            pool: Arc::new(SpanRecordPool::new(DEFAULT_RECORD_POOL)),
            #[cfg(feature = "tail-sampling")]
            tail_pool: Arc::new(OnceLock::new()),
            sampler: SpanSampler::sdk(Sampler::ParentBased(Box::new(Sampler::AlwaysOn))),
            id_generator: Box::new(RandomIdGenerator::default()),
            custom_ids: false,
            limits: SpanLimits::default(),
            max_value_chars: None,
            scope: None,
            location: true,
            threads: true,
            target: true,
            level: false,
            inactivity: true,
            activation: true,
            disabled: false,
        }
    }

    /// A handle on the processor: statistics, flush, shutdown.
    pub fn handle(&self) -> ProcessorHandle {
        self.processor.handle()
    }

    /// Puts a tail-sampling stage between the layer and the processor: the
    /// finished records of each trace are held until its local root ends,
    /// then the whole trace is kept (queued) or sampled out, under
    /// `config`'s policies and `rules` (see [`otlpkit_batch::tail`]).
    ///
    /// The stage counts what it samples out into the processor's own
    /// counters ([`BatchProcessor::export_stats`]), so that `produced =
    /// delivered + Σ dropped + sampled_out` holds in one place. Shut the
    /// stage down (through [`tail_handle`](Self::tail_handle))
    /// before the processor, so that the traces it holds are decided and
    /// the kept ones exported.
    #[cfg(feature = "tail-sampling")]
    #[cfg_attr(docsrs, doc(cfg(feature = "tail-sampling")))]
    #[must_use]
    pub fn with_tail_sampling(
        mut self,
        config: TailSamplingConfig,
        rules: impl IntoIterator<Item = AttributeRule>,
    ) -> Self {
        let mut builder = TailSampler::builder()
            .with_config(config)
            .with_stats(self.processor.export_stats());
        for rule in rules {
            builder = builder.with_attribute_rule(rule);
        }
        self.tail = Some(builder.build(tail::TailSink {
            processor: Arc::clone(&self.processor),
            pool: Arc::clone(&self.tail_pool),
        }));
        self
    }

    /// A handle on the tail-sampling stage, when there is one: statistics,
    /// self-metrics, shutdown.
    #[cfg(feature = "tail-sampling")]
    #[cfg_attr(docsrs, doc(cfg(feature = "tail-sampling")))]
    pub fn tail_handle(&self) -> Option<TailSamplingHandle> {
        self.tail.as_ref().map(TailSampler::handle)
    }

    /// The pool the layer takes its records from (default: one of its own,
    /// keeping up to 1,024 records). Give the same pool to the exporter, as
    /// [`PooledRecords`](otlpkit_wire::PooledRecords) around each batch, and
    /// the export worker returns the records once it has encoded them: a
    /// steady stream of spans then allocates no record. Without that, records
    /// are freed after export as usual and only those of spans sampled out
    /// (by the head sampler, or by the tail-sampling stage) come back.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use opentelemetry_sdk::trace::InMemorySpanExporter;
    /// use otlpkit_batch::BatchProcessor;
    /// use otlpkit_tracing::native::{NativeSpans, SpanDataExporter};
    /// use otlpkit_wire::SpanRecordPool;
    ///
    /// let pool = Arc::new(SpanRecordPool::new(2048));
    /// let processor = BatchProcessor::builder(SpanDataExporter::new(InMemorySpanExporter::default()))
    ///     .build()?;
    /// let native = NativeSpans::new(processor).with_record_pool(Arc::clone(&pool));
    /// assert!(Arc::ptr_eq(native.record_pool(), &pool));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    #[must_use]
    pub fn with_record_pool(mut self, pool: Arc<SpanRecordPool>) -> Self {
        self.pool = pool;
        self
    }

    /// The pool the layer takes its records from.
    pub fn record_pool(&self) -> &Arc<SpanRecordPool> {
        &self.pool
    }

    /// The resource the spans are exported under (passed to the exporter).
    #[must_use]
    pub fn with_resource(self, resource: &Resource) -> Self {
        self.processor.set_resource(resource);
        self
    }

    /// One of the SDK's samplers (default `parentbased_always_on`), decided
    /// when a span starts. The same sampler as the SDK's gives the same
    /// decisions: a trace-id ratio agrees with every other service.
    #[must_use]
    pub fn with_sampler(mut self, sampler: Sampler) -> Self {
        self.sampler = SpanSampler::sdk(sampler);
        self
    }

    /// A sampler of your own; it is given the span's attributes at start
    /// (converted for it, which the built-in samplers skip).
    #[must_use]
    pub fn with_custom_sampler(mut self, sampler: impl ShouldSample + 'static) -> Self {
        self.sampler = SpanSampler::custom(sampler);
        self
    }

    /// The id generator (default: the SDK's random one).
    #[must_use]
    pub fn with_id_generator(mut self, id_generator: impl IdGenerator + 'static) -> Self {
        self.id_generator = Box::new(id_generator);
        self.custom_ids = true;
        self
    }

    /// The attribute, event and link count limits (checklist 4.8).
    #[must_use]
    pub fn with_span_limits(mut self, limits: SpanLimits) -> Self {
        self.limits = limits;
        self
    }

    /// String values (of spans, events and links) are cut to this many
    /// characters; `None` for no limit (checklist 4.8).
    #[must_use]
    pub fn with_attribute_value_length_limit(mut self, max_chars: Option<u32>) -> Self {
        self.max_value_chars = max_chars.map(|n| usize::try_from(n).unwrap_or(usize::MAX));
        self
    }

    /// Takes the sampler, the span limits and `OTEL_SDK_DISABLED` from a
    /// resolved SDK configuration, as `otlpkit::init()` applies them to the
    /// SDK: the sampler and its ratio (`jaeger_remote`, `xray` and their
    /// parent-based forms, which need a service otlpkit does not talk to,
    /// become `parentbased_always_on`), the attribute, event and link counts
    /// and the attribute value length. A disabled SDK records nothing.
    #[must_use]
    pub fn with_sdk_config(self, sdk: &otlpkit_core::SdkConfig) -> Self {
        use otlpkit_core::Sampler as S;
        let ratio = sdk.sampler().ratio_value().unwrap_or(1.0);
        let sampler = match sdk.sampler().sampler() {
            S::AlwaysOn => Sampler::AlwaysOn,
            S::AlwaysOff => Sampler::AlwaysOff,
            S::TraceIdRatio => Sampler::TraceIdRatioBased(ratio),
            S::ParentBasedAlwaysOff => Sampler::ParentBased(Box::new(Sampler::AlwaysOff)),
            S::ParentBasedTraceIdRatio => {
                Sampler::ParentBased(Box::new(Sampler::TraceIdRatioBased(ratio)))
            }
            _ => Sampler::ParentBased(Box::new(Sampler::AlwaysOn)),
        };
        let limits = sdk.limits();
        let or_max = |limit: Option<u32>| limit.unwrap_or(u32::MAX);
        let mut native = self
            .with_sampler(sampler)
            .with_span_limits(SpanLimits {
                max_attributes_per_span: or_max(limits.span_attribute_count()),
                max_events_per_span: or_max(limits.span_event_count()),
                max_links_per_span: or_max(limits.span_link_count()),
                max_attributes_per_event: or_max(limits.event_attribute_count()),
                max_attributes_per_link: or_max(limits.link_attribute_count()),
            })
            .with_attribute_value_length_limit(limits.span_attribute_value_length());
        native.disabled = sdk.disabled();
        native
    }

    /// The instrumentation scope of the spans (default: `otlpkit-tracing`
    /// and its version, or what [`TracingSetup::with_scope_name`](crate::TracingSetup::with_scope_name)
    /// says).
    #[must_use]
    pub fn with_scope(mut self, scope: InstrumentationScope) -> Self {
        self.scope = Some(scope);
        self
    }

    /// The attributes beyond a span's own fields, all at once (see
    /// [`SpanDetails`](crate::SpanDetails)).
    #[must_use]
    pub fn with_details(self, details: crate::SpanDetails) -> Self {
        self.with_location(details.location)
            .with_threads(details.threads)
            .with_target(details.target)
            .with_level(details.level)
            .with_tracked_inactivity(details.busy_idle)
    }

    /// `code.file.path`, `code.module.name` and `code.line.number` on spans
    /// and events (default on, as `tracing-opentelemetry`).
    #[must_use]
    pub fn with_location(mut self, on: bool) -> Self {
        self.location = on;
        self
    }

    /// `thread.id` and `thread.name` on spans (default on).
    #[must_use]
    pub fn with_threads(mut self, on: bool) -> Self {
        self.threads = on;
        self
    }

    /// The `target` attribute on spans (default on).
    #[must_use]
    pub fn with_target(mut self, on: bool) -> Self {
        self.target = on;
        self
    }

    /// The `level` attribute on spans (default off).
    #[must_use]
    pub fn with_level(mut self, on: bool) -> Self {
        self.level = on;
        self
    }

    /// `busy_ns` and `idle_ns` on spans (default on): one more clock read
    /// per enter.
    #[must_use]
    pub fn with_tracked_inactivity(mut self, on: bool) -> Self {
        self.inactivity = on;
        self
    }

    /// Makes a span's OpenTelemetry context current while it is entered
    /// (default on). Without it OpenTelemetry-API spans, the log bridge's
    /// correlation and the propagation helpers do not see native spans.
    #[must_use]
    pub fn with_context_activation(mut self, on: bool) -> Self {
        self.activation = on;
        self
    }

    /// Everything but the `code.*`, `thread.*`, `target`, `level` and
    /// timing attributes: the leanest spans (fields, events, links,
    /// status); `with_details(SpanDetails::lean())`.
    #[must_use]
    pub fn lean(self) -> Self {
        self.with_details(crate::SpanDetails::lean())
    }

    /// The layer, for a subscriber you assemble (on
    /// `tracing_subscriber::registry()`).
    pub fn layer(self) -> NativeLayer {
        self.layer_with_scope(|| {
            InstrumentationScope::builder(env!("CARGO_PKG_NAME"))
                .with_version(env!("CARGO_PKG_VERSION"))
                .build()
        })
    }

    /// Whether `OTEL_SDK_DISABLED` switched the path off.
    pub(crate) fn is_disabled(&self) -> bool {
        self.disabled
    }

    pub(crate) fn layer_with_default_name(self, name: Cow<'static, str>) -> NativeLayer {
        self.layer_with_scope(|| {
            InstrumentationScope::builder(name)
                .with_version(env!("CARGO_PKG_VERSION"))
                .build()
        })
    }

    fn layer_with_scope(self, default: impl FnOnce() -> InstrumentationScope) -> NativeLayer {
        let scope = otlpkit_wire::intern_scope(self.scope.unwrap_or_else(default));
        // The layer is built once (this takes `self`): the pool is final now.
        #[cfg(feature = "tail-sampling")]
        let _ = self.tail_pool.set(Arc::clone(&self.pool));
        NativeLayer {
            enabled: !self.disabled,
            settings: Settings {
                sampler: self.sampler,
                id_generator: self.id_generator,
                custom_ids: self.custom_ids,
                limits: self.limits,
                max_value_chars: self.max_value_chars,
                scope,
                location: self.location,
                threads: self.threads,
                target: self.target,
                level: self.level,
                inactivity: self.inactivity,
                activation: self.activation,
                compact_source: self.max_value_chars.is_none()
                    && self.limits.max_attributes_per_span as usize >= SOURCE_ATTRIBUTES,
            },
            processor: self.processor,
            #[cfg(feature = "tail-sampling")]
            tail: self.tail,
            pool: self.pool,
            key: NativeLayer::unique_key(),
        }
    }
}
