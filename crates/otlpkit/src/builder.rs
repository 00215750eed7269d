//! [`Builder`]: everything the `OTEL_*` environment can say, in code.

use std::time::Duration;

use opentelemetry_sdk::metrics::{Instrument, MeterProviderBuilder, Stream};
use opentelemetry_sdk::trace::TracerProviderBuilder;
use otlpkit_core::{
    BatchConfig, BatchConfigBuilder, BatchKind, Compression, ConsoleFormat, EnvPolicy, EnvSource,
    ExporterConfig, ExporterConfigBuilder, ExporterKind, LimitKind, LogLevel, MetricReaderConfig,
    MetricReaderConfigBuilder, OtlpConfig, OtlpConfigBuilder, ProcessEnv, Propagator, Protocol,
    Resolved, ResourceConfig, ResourceConfigBuilder, SamplerConfig, SdkConfig, SdkConfigBuilder,
    Signal, SpoolConfig, SpoolConfigBuilder, TailSamplingConfig, TailSamplingConfigBuilder,
    TemporalityPreference, ToolkitConfig, ToolkitConfigBuilder,
};

use crate::error::InitError;
use crate::guard::OtlpGuard;
use crate::pipeline;

/// How long [`OtlpGuard`]'s `Drop` (and [`OtlpGuard::shutdown`]) may take to
/// flush and stop everything, unless [`Builder::with_shutdown_timeout`] says
/// otherwise: 5 s.
pub const DEFAULT_SHUTDOWN_TIMEOUT: Duration = Duration::from_secs(5);

/// One value per signal.
#[derive(Debug, Clone)]
pub(crate) struct PerSignal<T> {
    pub(crate) traces: T,
    pub(crate) metrics: T,
    pub(crate) logs: T,
}

impl<T> PerSignal<T> {
    pub(crate) fn new(mut make: impl FnMut(Signal) -> T) -> Self {
        Self {
            traces: make(Signal::Traces),
            metrics: make(Signal::Metrics),
            logs: make(Signal::Logs),
        }
    }

    pub(crate) fn get_mut(&mut self, signal: Signal) -> Option<&mut T> {
        match signal {
            Signal::Traces => Some(&mut self.traces),
            Signal::Metrics => Some(&mut self.metrics),
            Signal::Logs => Some(&mut self.logs),
            // `Signal` is non-exhaustive; otlpkit exports these three.
            _ => None,
        }
    }
}

impl PerSignal<ExporterConfigBuilder> {
    /// Applies `change` to the builder of every signal.
    pub(crate) fn update(
        &mut self,
        mut change: impl FnMut(ExporterConfigBuilder) -> ExporterConfigBuilder,
    ) {
        for signal in [Signal::Traces, Signal::Metrics, Signal::Logs] {
            if let Some(slot) = self.get_mut(signal) {
                let current = std::mem::replace(slot, ExporterConfig::builder(signal));
                *slot = change(current);
            }
        }
    }
}

/// Configures and installs the pipeline. Every `OTEL_*` variable otlpkit
/// reads has a method here, and **code wins**: a value set here replaces
/// the variable (signal-specific or general) and the default.
///
/// Start with [`otlpkit::builder()`](crate::builder), end with
/// [`init`](Self::init) (reads the process environment and installs the
/// global providers, propagator and `tracing` subscriber) or
/// [`build`](Self::build) (installs nothing global: the providers are on the
/// guard).
///
/// ```no_run
/// use std::time::Duration;
/// use otlpkit::core::{Protocol, Sampler, SamplerConfig};
///
/// let telemetry = otlpkit::builder()
///     .with_service_name("checkout")
///     .with_resource_attribute("deployment.environment.name", "staging")
///     .with_protocol(Protocol::Grpc)
///     .with_endpoint("http://127.0.0.1:4317")
///     .with_sampler(SamplerConfig::ratio(Sampler::ParentBasedTraceIdRatio, 0.25))
///     .with_metric_interval(Duration::from_secs(10))
///     .init()?;
/// # drop(telemetry);
/// # Ok::<(), otlpkit::InitError>(())
/// ```
///
/// The part builders of `otlpkit-core` are available for the rarer
/// settings: [`with_exporter_config`](Self::with_exporter_config),
/// [`with_batch_config`](Self::with_batch_config),
/// [`with_metric_reader_config`](Self::with_metric_reader_config),
/// [`with_resource_config`](Self::with_resource_config) and
/// [`with_sdk_config`](Self::with_sdk_config). Each replaces that part as a
/// whole, so call them before the convenience methods that touch the same
/// part.
///
/// `Debug` never shows header values.
///
/// # Extension points
///
/// What the configuration cannot say, code can add without giving up the
/// one-call setup: [`with_span_processor`](Self::with_span_processor),
/// [`with_metric_view`](Self::with_metric_view),
/// [`with_metric_reader`](Self::with_metric_reader) and, with the `tracing`
/// feature, [`with_tracing_layer`](Self::with_tracing_layer).
#[derive(Debug)]
#[must_use]
pub struct Builder {
    pub(crate) exporters: PerSignal<ExporterConfigBuilder>,
    pub(crate) endpoint: Option<CodeEndpoint>,
    pub(crate) span_batch: BatchConfigBuilder,
    pub(crate) log_batch: BatchConfigBuilder,
    pub(crate) metric_reader: MetricReaderConfigBuilder,
    pub(crate) resource: ResourceConfigBuilder,
    pub(crate) sdk: SdkConfigBuilder,
    pub(crate) tail_sampling: TailSamplingConfigBuilder,
    #[cfg(feature = "tail-sampling")]
    pub(crate) tail_sampling_rules: Vec<otlpkit_batch::tail::AttributeRule>,
    pub(crate) spool: SpoolConfigBuilder,
    pub(crate) env_policy: EnvPolicy,
    pub(crate) toolkit: ToolkitConfigBuilder,
    pub(crate) shutdown_timeout: Duration,
    pub(crate) extensions: Extensions,
    #[cfg(feature = "tracing")]
    pub(crate) tracing: Option<otlpkit_tracing::TracingSetup>,
    /// Whether the `tracing` setup was given in code (its fmt layer then
    /// stays as given, whatever the console format says).
    #[cfg(feature = "tracing")]
    pub(crate) tracing_from_code: bool,
    #[cfg(feature = "tracing")]
    pub(crate) tracing_path: TracingPath,
    #[cfg(feature = "tracing")]
    pub(crate) span_details: Option<otlpkit_tracing::SpanDetails>,
}

/// How `init()` turns `tracing` spans into OTLP spans.
#[cfg(feature = "tracing")]
#[cfg_attr(docsrs, doc(cfg(feature = "tracing")))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum TracingPath {
    /// otlpkit's native layer (the default): each span is recorded into a
    /// compact record and encoded straight to OTLP, without the SDK's
    /// `SpanData`, at a fraction of the cost (`docs/BENCHMARKS.md`). The
    /// configured sampler, limits and resource apply as on the SDK path;
    /// spans made through the OpenTelemetry API still go through the SDK's
    /// tracer provider, and both kinds nest in each other.
    #[default]
    Native,
    /// `tracing-opentelemetry`: every `tracing` span becomes an SDK span.
    /// Choose it when span processors of your own
    /// ([`Builder::with_span_processor`]) must see `tracing` spans. Needs the
    /// `tracing-opentelemetry` feature, off by default: it compiles a
    /// second span path into the program.
    #[cfg(feature = "tracing-opentelemetry")]
    #[cfg_attr(docsrs, doc(cfg(feature = "tracing-opentelemetry")))]
    TracingOpenTelemetry,
}

/// A metric view: an instrument's stream, or `None` to leave it alone.
pub(crate) type View = Box<dyn Fn(&Instrument) -> Option<Stream> + Send + Sync + 'static>;

/// What code adds to the pipeline beyond the configuration.
#[derive(Default)]
pub(crate) struct Extensions {
    pub(crate) span_processors:
        Vec<Box<dyn FnOnce(TracerProviderBuilder) -> TracerProviderBuilder + Send>>,
    pub(crate) views: Vec<View>,
    pub(crate) metric_readers:
        Vec<Box<dyn FnOnce(MeterProviderBuilder) -> MeterProviderBuilder + Send>>,
    #[cfg(feature = "tracing")]
    pub(crate) tracing_layers: Vec<crate::pipeline::BoxedLayer>,
}

impl std::fmt::Debug for Extensions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut debug = f.debug_struct("Extensions");
        debug
            .field("span_processors", &self.span_processors.len())
            .field("views", &self.views.len())
            .field("metric_readers", &self.metric_readers.len());
        #[cfg(feature = "tracing")]
        debug.field("tracing_layers", &self.tracing_layers.len());
        debug.finish()
    }
}

impl Default for Builder {
    fn default() -> Self {
        Self {
            exporters: PerSignal::new(ExporterConfig::builder),
            endpoint: None,
            span_batch: BatchConfig::spans(),
            log_batch: BatchConfig::logs(),
            metric_reader: MetricReaderConfig::builder(),
            resource: ResourceConfig::builder(),
            sdk: SdkConfig::builder(),
            tail_sampling: TailSamplingConfig::builder(),
            #[cfg(feature = "tail-sampling")]
            tail_sampling_rules: Vec::new(),
            spool: SpoolConfig::builder(),
            env_policy: EnvPolicy::default(),
            toolkit: ToolkitConfig::builder(),
            shutdown_timeout: DEFAULT_SHUTDOWN_TIMEOUT,
            extensions: Extensions::default(),
            #[cfg(feature = "tracing")]
            tracing: Some(otlpkit_tracing::TracingSetup::builder()),
            #[cfg(feature = "tracing")]
            tracing_from_code: false,
            #[cfg(feature = "tracing")]
            tracing_path: TracingPath::default(),
            #[cfg(feature = "tracing")]
            span_details: None,
        }
    }
}

impl Builder {
    // ----- where and how to export -------------------------------------------------------

    /// The collector for every signal, like `OTEL_EXPORTER_OTLP_ENDPOINT`:
    /// used as-is for gRPC; for OTLP/HTTP, `v1/traces`, `v1/metrics` or
    /// `v1/logs` is appended (checklist 1.5). It wins over every endpoint
    /// variable; [`with_signal_endpoint`](Self::with_signal_endpoint) wins
    /// over it.
    pub fn with_endpoint(mut self, endpoint: impl Into<String>) -> Self {
        self.endpoint = Some(CodeEndpoint(endpoint.into()));
        self
    }

    /// The full endpoint of one signal, used as-is, like
    /// `OTEL_EXPORTER_OTLP_<SIGNAL>_ENDPOINT` (for OTLP/HTTP, e.g.
    /// `http://collector:4318/v1/traces`).
    pub fn with_signal_endpoint(mut self, signal: Signal, endpoint: impl Into<String>) -> Self {
        let endpoint = endpoint.into();
        self.change_exporter(signal, |b| b.with_endpoint(endpoint));
        self
    }

    /// The protocol of every signal (`OTEL_EXPORTER_OTLP_PROTOCOL`); each
    /// needs its cargo feature (`grpc`, `http`, `http-json`).
    pub fn with_protocol(mut self, protocol: Protocol) -> Self {
        self.exporters.update(|b| b.with_protocol(protocol));
        self
    }

    /// The protocol of one signal (`OTEL_EXPORTER_OTLP_<SIGNAL>_PROTOCOL`).
    pub fn with_signal_protocol(mut self, signal: Signal, protocol: Protocol) -> Self {
        self.change_exporter(signal, |b| b.with_protocol(protocol));
        self
    }

    /// Adds a request header for every signal (`OTEL_EXPORTER_OTLP_HEADERS`);
    /// headers set in code replace those of the environment. Values are
    /// secret: never logged, never in `Debug`.
    pub fn with_header(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        let (key, value) = (key.into(), value.into());
        self.exporters
            .update(|b| b.with_header(key.clone(), value.clone()));
        self
    }

    /// The time allowed for one export, retries included, for every signal
    /// (`OTEL_EXPORTER_OTLP_TIMEOUT`); `None` for no limit.
    pub fn with_timeout(mut self, timeout: Option<Duration>) -> Self {
        self.exporters.update(|b| b.with_timeout(timeout));
        self
    }

    /// Request compression for every signal (`OTEL_EXPORTER_OTLP_COMPRESSION`).
    pub fn with_compression(mut self, compression: Compression) -> Self {
        self.exporters.update(|b| b.with_compression(compression));
        self
    }

    /// Every exporter setting of one signal at once (TLS files, retry
    /// policy, size limits, ...), replacing what was set for that signal
    /// before; [`with_endpoint`](Self::with_endpoint) still applies on top.
    pub fn with_exporter_config(mut self, exporter: ExporterConfigBuilder) -> Self {
        let signal = exporter.signal();
        if let Some(slot) = self.exporters.get_mut(signal) {
            *slot = exporter;
        }
        self
    }

    /// Which exporters a signal uses (`OTEL_TRACES_EXPORTER`,
    /// `OTEL_METRICS_EXPORTER`, `OTEL_LOGS_EXPORTER`): `otlp`, `console`,
    /// both, or none (an empty list).
    pub fn with_exporters(
        mut self,
        signal: Signal,
        exporters: impl IntoIterator<Item = ExporterKind>,
    ) -> Self {
        self.sdk = self.sdk.with_exporters(signal, exporters);
        self
    }

    // ----- what is exported ---------------------------------------------------------------

    /// `service.name` (`OTEL_SERVICE_NAME`).
    pub fn with_service_name(mut self, name: impl Into<String>) -> Self {
        self.resource = self.resource.with_service_name(name);
        self
    }

    /// The service's name and version as a fallback: `service.version`, and
    /// `service.name` unless [`with_service_name`](Self::with_service_name)
    /// or `OTEL_SERVICE_NAME` / `OTEL_RESOURCE_ATTRIBUTES` say otherwise.
    /// [`otlpkit::service_info!()`](crate::service_info) reads them from the
    /// calling crate's `Cargo.toml`:
    ///
    /// ```no_run
    /// let telemetry = otlpkit::builder()
    ///     .with_service_info(otlpkit::service_info!())
    ///     .init()?;
    /// # drop(telemetry);
    /// # Ok::<(), otlpkit::InitError>(())
    /// ```
    pub fn with_service_info(mut self, info: otlpkit_core::ServiceInfo) -> Self {
        self.resource = self.resource.with_service_info(info);
        self
    }

    /// Whether to detect host, OS, process, runtime and container attributes
    /// (`OTLPKIT_RESOURCE_DETECTION`; on by default). Detected attributes
    /// never replace ones set in code or in `OTEL_RESOURCE_ATTRIBUTES`.
    pub fn with_resource_detection(mut self, detection: otlpkit_core::ResourceDetection) -> Self {
        self.resource = self.resource.with_detection(detection);
        self
    }

    /// A resource attribute (`OTEL_RESOURCE_ATTRIBUTES`); code wins per key.
    pub fn with_resource_attribute(
        mut self,
        key: impl Into<String>,
        value: impl Into<String>,
    ) -> Self {
        self.resource = self.resource.with_attribute(key, value);
        self
    }

    /// The trace sampler and its argument (`OTEL_TRACES_SAMPLER`,
    /// `OTEL_TRACES_SAMPLER_ARG`).
    pub fn with_sampler(mut self, sampler: SamplerConfig) -> Self {
        self.sdk = self.sdk.with_sampler(sampler);
        self
    }

    /// The propagators installed as the global text map propagator
    /// (`OTEL_PROPAGATORS`); an empty list propagates nothing.
    pub fn with_propagators(mut self, propagators: impl IntoIterator<Item = Propagator>) -> Self {
        self.sdk = self.sdk.with_propagators(propagators);
        self
    }

    /// One attribute, event, link or log record limit (`OTEL_*_LIMIT`);
    /// `None` means no limit.
    pub fn with_limit(mut self, kind: LimitKind, limit: Option<u32>) -> Self {
        self.sdk = self.sdk.with_limit(kind, limit);
        self
    }

    /// Turns the whole SDK off (`OTEL_SDK_DISABLED=true`): nothing is
    /// recorded or exported and the guard's shutdown has nothing to do; the
    /// propagators are still installed, and so is the `tracing` subscriber
    /// when it has a console layer or layers of your own to run (see
    /// [`with_tracing_setup`](Self::with_tracing_setup)).
    pub fn with_disabled(mut self, disabled: bool) -> Self {
        self.sdk = self.sdk.with_disabled(disabled);
        self
    }

    /// The level of otlpkit's own diagnostics (`OTEL_LOG_LEVEL`, default
    /// `info`): start-up warnings, the first failed export of each signal
    /// and the recovery after failures, printed on standard error;
    /// `off` silences them (the statistics and the shutdown report still
    /// say everything).
    pub fn with_log_level(mut self, level: LogLevel) -> Self {
        self.sdk = self.sdk.with_log_level(level);
        self
    }

    // ----- batching and metrics -----------------------------------------------------------

    /// A batch processor's settings (`OTEL_BSP_*` for spans, `OTEL_BLRP_*`
    /// for logs), placed by the builder's kind.
    pub fn with_batch_config(mut self, batch: BatchConfigBuilder) -> Self {
        match batch.kind() {
            BatchKind::Spans => self.span_batch = batch,
            BatchKind::Logs => self.log_batch = batch,
            // `BatchKind` is non-exhaustive; otlpkit batches spans and logs.
            _ => {}
        }
        self
    }

    /// Export calls each batch processor may run at once
    /// (`OTLPKIT_BSP_MAX_CONCURRENT_EXPORTS`, `OTLPKIT_BLRP_MAX_CONCURRENT_EXPORTS`;
    /// default 1). otlpkit's exporters are safe to call concurrently, and
    /// with the gRPC transport two concurrent exports roughly double the
    /// throughput a single one reaches (see `docs/BENCHMARKS.md`); batches
    /// may then arrive out of order.
    pub fn with_max_concurrent_exports(mut self, n: usize) -> Self {
        self.span_batch = self.span_batch.with_max_concurrent_exports(n);
        self.log_batch = self.log_batch.with_max_concurrent_exports(n);
        self
    }

    /// A bound on the estimated bytes each batch processor's queue holds,
    /// beside the item bound (`OTLPKIT_BSP_MAX_QUEUE_BYTES`,
    /// `OTLPKIT_BLRP_MAX_QUEUE_BYTES`; default none). The overflow policy
    /// applies to both bounds.
    pub fn with_max_queue_bytes(mut self, bytes: Option<usize>) -> Self {
        self.span_batch = self.span_batch.with_max_queue_bytes(bytes);
        self.log_batch = self.log_batch.with_max_queue_bytes(bytes);
        self
    }

    /// The periodic metric reader's settings (`OTEL_METRIC_EXPORT_*`,
    /// temporality preference, histogram aggregation, cardinality limit).
    pub fn with_metric_reader_config(mut self, reader: MetricReaderConfigBuilder) -> Self {
        self.metric_reader = reader;
        self
    }

    /// Time between two metric exports (`OTEL_METRIC_EXPORT_INTERVAL`).
    pub fn with_metric_interval(mut self, interval: Duration) -> Self {
        self.metric_reader = self.metric_reader.with_interval(interval);
        self
    }

    /// The metric temporality preference
    /// (`OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE`).
    pub fn with_temporality_preference(mut self, preference: TemporalityPreference) -> Self {
        self.metric_reader = self.metric_reader.with_temporality_preference(preference);
        self
    }

    // ----- tail sampling ------------------------------------------------------------------

    /// Turns the tail-sampling stage in front of the span queue on or off
    /// (`OTLPKIT_TAIL_SAMPLING`, default off): keep every trace with an
    /// error or a slow span, whole, and a ratio of the rest (see
    /// `otlpkit_batch::tail` and `docs/CONFIGURATION.md`). The stage is
    /// the `tail-sampling` feature: turned on in a build without it,
    /// [`init`](Self::init) fails with
    /// [`InitError::TailSamplingNotCompiled`](crate::InitError::TailSamplingNotCompiled).
    pub fn with_tail_sampling(mut self, enabled: bool) -> Self {
        self.tail_sampling = self.tail_sampling.with_enabled(enabled);
        self
    }

    /// The tail-sampling settings as a whole (`OTLPKIT_TAIL_SAMPLING*`:
    /// latency threshold, ratio, decision wait, caps), replacing what was
    /// set before; [`with_tail_sampling`](Self::with_tail_sampling) turns it
    /// on.
    pub fn with_tail_sampling_config(mut self, config: TailSamplingConfigBuilder) -> Self {
        self.tail_sampling = config;
        self
    }

    /// Also keep the traces with a span matching `rule` when tail sampling
    /// is on (code only).
    #[cfg(feature = "tail-sampling")]
    #[cfg_attr(docsrs, doc(cfg(feature = "tail-sampling")))]
    pub fn with_tail_sampling_rule(mut self, rule: otlpkit_batch::tail::AttributeRule) -> Self {
        self.tail_sampling_rules.push(rule);
        self
    }

    // ----- the disk spool -----------------------------------------------------------------

    /// Keeps what the collector cannot take (it is unreachable, throttling,
    /// or the queue is more than half full) in a disk spool in `dir`, and
    /// sends it, in order, once the collector takes it again: in this
    /// process, or in the next one started with the same directory
    /// (`OTLPKIT_SPOOL_DIR`; no spool by default). One process owns a
    /// directory at a time. See `docs/SPOOL.md`.
    ///
    /// Needs the `spool` feature: without it, a spool asked for here or with
    /// `OTLPKIT_SPOOL_DIR` makes `init()` fail with
    /// [`InitError::SpoolNotCompiled`](crate::InitError::SpoolNotCompiled).
    pub fn with_spool_dir(mut self, dir: impl Into<std::path::PathBuf>) -> Self {
        self.spool = self.spool.with_dir(dir);
        self
    }

    /// The most bytes the spool may take on disk, all signals together
    /// (`OTLPKIT_SPOOL_MAX_BYTES`, default 256 MiB). When it is full, a
    /// batch is sent as without a spool, and the queue's overflow policy
    /// applies.
    pub fn with_spool_max_bytes(mut self, bytes: u64) -> Self {
        self.spool = self.spool.with_max_bytes(bytes);
        self
    }

    /// When the spool forces its writes to disk (`OTLPKIT_SPOOL_FSYNC`:
    /// `always`, `never`, or at most every N ms; default every second).
    /// Only an operating-system crash or a power loss can take what was
    /// not forced yet; a killed process loses nothing it had written.
    pub fn with_spool_fsync(mut self, fsync: otlpkit_core::FsyncPolicy) -> Self {
        self.spool = self.spool.with_fsync(fsync);
        self
    }

    /// The spool's settings as a whole.
    pub fn with_spool_config(mut self, spool: SpoolConfigBuilder) -> Self {
        self.spool = spool;
        self
    }

    // ----- the whole configuration --------------------------------------------------------

    /// The resource settings as a whole.
    pub fn with_resource_config(mut self, resource: ResourceConfigBuilder) -> Self {
        self.resource = resource;
        self
    }

    /// The general SDK settings as a whole (disabled, sampler, propagators,
    /// exporter selection, limits, log level).
    pub fn with_sdk_config(mut self, sdk: SdkConfigBuilder) -> Self {
        self.sdk = sdk;
        self
    }

    /// How configuration warnings are treated: logged and ignored (the
    /// specification's behaviour, the default) or, with
    /// [`EnvPolicy::Strict`], an error.
    pub fn with_env_policy(mut self, policy: EnvPolicy) -> Self {
        self.env_policy = policy;
        self
    }

    // ----- otlpkit's own settings ---------------------------------------------------------

    /// How long the guard's shutdown (and its `Drop`) may take, at most
    /// (default [`DEFAULT_SHUTDOWN_TIMEOUT`]). A zero timeout is replaced by
    /// the default.
    pub fn with_shutdown_timeout(mut self, timeout: Duration) -> Self {
        self.shutdown_timeout = if timeout.is_zero() {
            DEFAULT_SHUTDOWN_TIMEOUT
        } else {
            timeout
        };
        self
    }

    /// Whether the batch processors and the OTLP metric exporter report
    /// their own statistics as metrics (`otlpkit.exporter.*`, see
    /// [`otlpkit_batch::MetricNames`]; and the tail-sampling stage,
    /// `otlpkit.processor.tail_sampling.*`) through the
    /// pipeline's meter provider (`OTLPKIT_SELF_METRICS`; default off, so
    /// that only the application's metrics are exported). When on, they are
    /// collected last at shutdown, after the spans and log records were
    /// exported, so their final values are right, and the shutdown report
    /// counts their data points apart from the application's.
    pub fn with_self_metrics(mut self, enabled: bool) -> Self {
        self.toolkit = self.toolkit.with_self_metrics(enabled);
        self
    }

    /// How `init()` prints `tracing` events on standard error, beside
    /// exporting them (`OTLPKIT_LOG_FORMAT`; default [`ConsoleFormat::Full`],
    /// filtered by `RUST_LOG`, default `info`). otlpkit's own diagnostics
    /// then go through the same console layer. `ConsoleFormat::Json` needs
    /// the `json-logs` feature. A [`TracingSetup`] given with
    /// [`with_tracing_setup`](Self::with_tracing_setup) keeps its own fmt
    /// layer.
    ///
    /// [`TracingSetup`]: otlpkit_tracing::TracingSetup
    pub fn with_console(mut self, format: ConsoleFormat) -> Self {
        self.toolkit = self.toolkit.with_console(format);
        self
    }

    /// Adds a span processor of your own to the tracer provider, after
    /// otlpkit's (for example one that enriches or redacts spans, or a
    /// second exporter). It sees spans made through the OpenTelemetry API,
    /// and `tracing` spans only on the `tracing-opentelemetry` path
    /// (`TracingPath::TracingOpenTelemetry`, with the `tracing-opentelemetry` feature):
    /// the native path does not build SDK spans.
    ///
    /// ```no_run
    /// use opentelemetry_sdk::trace::{InMemorySpanExporter, SimpleSpanProcessor};
    ///
    /// let copies = InMemorySpanExporter::default();
    /// let telemetry = otlpkit::builder()
    ///     .with_span_processor(SimpleSpanProcessor::new(copies.clone()))
    ///     .init()?;
    /// # drop(telemetry);
    /// # Ok::<(), otlpkit::InitError>(())
    /// ```
    pub fn with_span_processor<P>(mut self, processor: P) -> Self
    where
        P: opentelemetry_sdk::trace::SpanProcessor + Send + 'static,
    {
        self.extensions
            .span_processors
            .push(Box::new(move |builder| {
                builder.with_span_processor(processor)
            }));
        self
    }

    /// Adds a metric view: a function from an instrument to the stream it
    /// should produce (a new name, another aggregation, fewer attributes),
    /// or `None` to leave the instrument alone. Views are tried in the
    /// order they were added; the first that answers wins, then the
    /// configured histogram aggregation and cardinality limit apply to
    /// instruments no view took (one stream per instrument, never two).
    ///
    /// ```no_run
    /// use opentelemetry_sdk::metrics::{Aggregation, Instrument, Stream};
    ///
    /// let telemetry = otlpkit::builder()
    ///     .with_metric_view(|instrument: &Instrument| {
    ///         (instrument.name() == "http.server.request.duration").then(|| {
    ///             Stream::builder()
    ///                 .with_aggregation(Aggregation::ExplicitBucketHistogram {
    ///                     boundaries: vec![0.01, 0.1, 1.0],
    ///                     record_min_max: true,
    ///                 })
    ///                 .build()
    ///                 .ok()
    ///         })?
    ///     })
    ///     .init()?;
    /// # drop(telemetry);
    /// # Ok::<(), otlpkit::InitError>(())
    /// ```
    pub fn with_metric_view<V>(mut self, view: V) -> Self
    where
        V: Fn(&Instrument) -> Option<Stream> + Send + Sync + 'static,
    {
        self.extensions.views.push(Box::new(view));
        self
    }

    /// Adds a periodic metric reader of your own beside otlpkit's OTLP one
    /// (a second exporter, another interval). `opentelemetry_sdk` makes
    /// other reader kinds public only behind an experimental feature.
    ///
    /// ```no_run
    /// use opentelemetry_sdk::metrics::{InMemoryMetricExporter, PeriodicReader};
    ///
    /// let copies = InMemoryMetricExporter::default();
    /// let telemetry = otlpkit::builder()
    ///     .with_metric_reader(PeriodicReader::builder(copies.clone()).build())
    ///     .init()?;
    /// # drop(telemetry);
    /// # Ok::<(), otlpkit::InitError>(())
    /// ```
    pub fn with_metric_reader<E>(
        mut self,
        reader: opentelemetry_sdk::metrics::PeriodicReader<E>,
    ) -> Self
    where
        E: opentelemetry_sdk::metrics::exporter::PushMetricExporter,
    {
        self.extensions
            .metric_readers
            .push(Box::new(move |builder| builder.with_reader(reader)));
        self
    }

    /// Adds a `tracing` layer of your own to the subscriber `init()`
    /// installs, beside otlpkit's (for example a layer that writes to a
    /// file, or one with its own filter).
    ///
    /// ```no_run
    /// use tracing_subscriber::Layer as _;
    ///
    /// let errors_to_stdout = tracing_subscriber::fmt::layer()
    ///     .with_writer(std::io::stdout)
    ///     .with_filter(tracing_subscriber::filter::LevelFilter::ERROR);
    /// let telemetry = otlpkit::builder().with_tracing_layer(errors_to_stdout).init()?;
    /// # drop(telemetry);
    /// # Ok::<(), otlpkit::InitError>(())
    /// ```
    #[cfg(feature = "tracing")]
    #[cfg_attr(docsrs, doc(cfg(feature = "tracing")))]
    pub fn with_tracing_layer<L>(mut self, layer: L) -> Self
    where
        L: tracing_subscriber::Layer<tracing_subscriber::Registry> + Send + Sync + 'static,
    {
        self.extensions.tracing_layers.push(Box::new(layer));
        self
    }

    /// The `tracing` subscriber [`init`](Self::init) installs: fmt layer,
    /// filter directives, scope name, ... (the providers are added by
    /// otlpkit). Without this call, the default [`TracingSetup`]: the
    /// OpenTelemetry span layer and log bridge, `RUST_LOG` (default `info`),
    /// and the console layer of [`with_console`](Self::with_console). When
    /// neither traces nor logs are exported (SDK disabled, or both exporters
    /// `none`), the subscriber still prints on the console and runs the
    /// layers of [`with_tracing_layer`](Self::with_tracing_layer); none is
    /// installed when the console is off, there is no such layer and no
    /// setup was given with this method.
    ///
    /// [`TracingSetup`]: otlpkit_tracing::TracingSetup
    #[cfg(feature = "tracing")]
    #[cfg_attr(docsrs, doc(cfg(feature = "tracing")))]
    pub fn with_tracing_setup(mut self, setup: otlpkit_tracing::TracingSetup) -> Self {
        self.tracing = Some(setup);
        self.tracing_from_code = true;
        self
    }

    /// How `tracing` spans become OTLP spans: otlpkit's native layer (the
    /// default) or `tracing-opentelemetry`; see [`TracingPath`].
    #[cfg(feature = "tracing")]
    #[cfg_attr(docsrs, doc(cfg(feature = "tracing")))]
    pub fn with_tracing_path(mut self, path: TracingPath) -> Self {
        self.tracing_path = path;
        self
    }

    /// The attributes `tracing` spans carry beyond their own fields
    /// (`code.*`, `thread.*`, `target`, `level`, `busy_ns`/`idle_ns`), on
    /// either span path, and whether the setup is otlpkit's default or one
    /// given with [`with_tracing_setup`](Self::with_tracing_setup). The
    /// default is `tracing-opentelemetry`'s (all but `level`);
    /// [`SpanDetails::lean`](otlpkit_tracing::SpanDetails::lean) leaves the
    /// spans' own fields only: about 40 % of the bytes to encode and
    /// send, and less work per span (`docs/BENCHMARKS.md`, section 9).
    ///
    /// ```no_run
    /// use otlpkit::tracing::SpanDetails;
    ///
    /// let telemetry = otlpkit::builder()
    ///     .with_span_details(SpanDetails::lean().with_location(true))
    ///     .init()?;
    /// # drop(telemetry);
    /// # Ok::<(), otlpkit::InitError>(())
    /// ```
    #[cfg(feature = "tracing")]
    #[cfg_attr(docsrs, doc(cfg(feature = "tracing")))]
    pub fn with_span_details(mut self, details: otlpkit_tracing::SpanDetails) -> Self {
        self.span_details = Some(details);
        self
    }

    /// Installs no `tracing` subscriber: for programs that compose their own
    /// (with [`TracingSetup::layer`](otlpkit_tracing::TracingSetup::layer))
    /// or use the OpenTelemetry API only.
    #[cfg(feature = "tracing")]
    #[cfg_attr(docsrs, doc(cfg(feature = "tracing")))]
    pub fn without_tracing_subscriber(mut self) -> Self {
        self.tracing = None;
        self
    }

    // ----- terminal methods ---------------------------------------------------------------

    /// Resolves the configuration against the process environment, builds
    /// the pipeline and installs it globally: the tracer and meter
    /// providers (`opentelemetry::global`), the text map propagator and,
    /// with the `tracing` feature, the `tracing` subscriber.
    ///
    /// # Once per process at a time
    ///
    /// The guard of an `init()` owns those globals for as long as it lives.
    /// Calling `init()` again meanwhile (a helper, a library or a test
    /// fixture that initializes too) is refused with
    /// [`InitError::AlreadyInitialized`], which names where the first
    /// `init()` was called: the providers the application already uses are
    /// left in place, rather than replaced by a second pipeline's that go
    /// dark when its guard is dropped. Use the first guard
    /// ([`OtlpGuard::tracer_provider`], [`OtlpGuard::meter_provider`]) or
    /// the globals, or [`build`](Self::build) for a further pipeline that
    /// installs nothing global.
    ///
    /// When the guard shuts down (dropped, [`OtlpGuard::shutdown`], ...),
    /// the global tracer and meter providers it installed become the
    /// OpenTelemetry API's no-op ones, unless something else was installed
    /// as global meanwhile (that stays): later spans made through the API
    /// record nothing but still carry their parent's context, and metric
    /// recordings are discarded, instead of reaching a provider that is
    /// shut down. The propagator stays. `init()` may then be called again;
    /// the `tracing` subscriber, though, cannot be replaced once installed,
    /// so `tracing` spans and events keep going to the first pipeline
    /// (shut down): that `init()` warns
    /// ([`InitWarning::SubscriberOfEarlierInit`](crate::InitWarning::SubscriberOfEarlierInit)).
    ///
    /// A `tracing` subscriber the application installed before `init()`
    /// stays, with a warning
    /// ([`InitWarning::SubscriberAlreadyInstalled`](crate::InitWarning::SubscriberAlreadyInstalled)):
    /// the OpenTelemetry globals are installed all the same.
    ///
    /// # Errors
    ///
    /// See [`InitError`]; nothing stays installed after an error.
    #[track_caller]
    pub fn init(self) -> Result<OtlpGuard, InitError> {
        self.init_with_env(&ProcessEnv)
    }

    /// [`init`](Self::init), reading the `OTEL_*` variables from `env`.
    ///
    /// # Errors
    ///
    /// See [`InitError`]; [`InitError::AlreadyInitialized`] while the guard
    /// of an earlier `init()` is alive.
    #[track_caller]
    pub fn init_with_env<E: EnvSource + ?Sized>(self, env: &E) -> Result<OtlpGuard, InitError> {
        pipeline::start(self, env, Some(std::panic::Location::caller()))
    }

    /// Builds the pipeline against the process environment without
    /// installing anything global: use the providers on the guard
    /// ([`OtlpGuard::tracer_provider`], ...). Several such pipelines can live
    /// in one process.
    ///
    /// # Errors
    ///
    /// See [`InitError`].
    pub fn build(self) -> Result<OtlpGuard, InitError> {
        self.build_with_env(&ProcessEnv)
    }

    /// [`build`](Self::build), reading the `OTEL_*` variables from `env`.
    ///
    /// # Errors
    ///
    /// See [`InitError`].
    pub fn build_with_env<E: EnvSource + ?Sized>(self, env: &E) -> Result<OtlpGuard, InitError> {
        pipeline::start(self, env, None)
    }

    /// Only resolves the configuration, as [`init`](Self::init) would, for
    /// inspection.
    ///
    /// # Errors
    ///
    /// [`InitError::Config`].
    pub fn resolve<E: EnvSource + ?Sized>(
        &self,
        env: &E,
    ) -> Result<Resolved<OtlpConfig>, InitError> {
        Ok(self.config_builder().build(env)?)
    }

    fn change_exporter(
        &mut self,
        signal: Signal,
        change: impl FnOnce(ExporterConfigBuilder) -> ExporterConfigBuilder,
    ) {
        if let Some(slot) = self.exporters.get_mut(signal) {
            let current = std::mem::replace(slot, ExporterConfig::builder(signal));
            *slot = change(current);
        }
    }

    /// The core builder for this configuration. The general endpoint becomes
    /// each signal's endpoint here, with the `v1/<signal>` path for the
    /// signals that use OTLP/HTTP; the protocol is the one the signal's own
    /// settings resolve to.
    pub(crate) fn config_builder(&self) -> OtlpConfigBuilder {
        let mut builder = OtlpConfig::builder()
            .with_batch(self.span_batch.clone())
            .with_batch(self.log_batch.clone())
            .with_metric_reader(self.metric_reader.clone())
            .with_resource(self.resource.clone())
            .with_sdk(self.sdk.clone())
            .with_spool(self.spool.clone())
            .with_toolkit(self.toolkit.clone())
            .with_tail_sampling(self.tail_sampling.clone())
            .with_env_policy(self.env_policy);
        for exporter in [
            &self.exporters.traces,
            &self.exporters.metrics,
            &self.exporters.logs,
        ] {
            let mut exporter = exporter.clone();
            if let Some(base) = &self.endpoint {
                // Core resolves it per signal: `v1/<signal>` for OTLP/HTTP,
                // as is for gRPC; a signal endpoint set in code wins.
                exporter = exporter.with_base_endpoint(base.0.clone());
            }
            builder = builder.with_exporter(exporter);
        }
        builder
    }
}

/// An endpoint set in code, which `Debug` shows without its user
/// information or query (either can carry a credential).
#[derive(Clone)]
pub(crate) struct CodeEndpoint(pub(crate) String);

impl std::fmt::Debug for CodeEndpoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Debug::fmt(&otlpkit_core::redact_url(&self.0), f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use otlpkit_core::{MapEnv, Source};

    // checklist 1.19: code wins over every endpoint variable.
    #[test]
    fn code_endpoint_and_protocol_win_over_the_environment_per_signal() {
        let env = MapEnv::from([
            ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://env:4318"),
            (
                "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
                "http://env-traces:4318/t",
            ),
            ("OTEL_EXPORTER_OTLP_LOGS_PROTOCOL", "grpc"),
        ]);
        let builder = Builder::default()
            .with_endpoint("http://code:4318")
            .with_signal_endpoint(Signal::Metrics, "http://metrics:9/m");
        let config = builder.resolve(&env).unwrap().into_value();
        let traces = config.exporter(Signal::Traces);
        assert_eq!(traces.endpoint().as_str(), "http://code:4318/v1/traces");
        assert_eq!(traces.sources().endpoint, Source::Code);
        assert_eq!(
            config.exporter(Signal::Metrics).endpoint().as_str(),
            "http://metrics:9/m"
        );
        let logs = config.exporter(Signal::Logs);
        assert_eq!(logs.protocol(), Protocol::Grpc);
        assert_eq!(logs.endpoint().as_str(), "http://code:4318/");

        let grpc = Builder::default()
            .with_protocol(Protocol::Grpc)
            .with_endpoint("http://code:4317")
            .resolve(&env)
            .unwrap()
            .into_value();
        for signal in Signal::ALL {
            assert_eq!(grpc.exporter(*signal).protocol(), Protocol::Grpc);
            assert_eq!(
                grpc.exporter(*signal).endpoint().as_str(),
                "http://code:4317/"
            );
        }
    }

    // checklist 1.19: every builder method wins over its variable.
    #[test]
    fn convenience_methods_win_over_their_variables() {
        let env = MapEnv::from([
            ("OTEL_SERVICE_NAME", "from-env"),
            ("OTEL_RESOURCE_ATTRIBUTES", "team=env,region=eu"),
            ("OTEL_TRACES_SAMPLER", "always_off"),
            ("OTEL_PROPAGATORS", "b3"),
            ("OTEL_SPAN_EVENT_COUNT_LIMIT", "9"),
            ("OTEL_SDK_DISABLED", "true"),
            ("OTEL_LOG_LEVEL", "error"),
            ("OTEL_LOGS_EXPORTER", "none"),
            ("OTEL_METRIC_EXPORT_INTERVAL", "1000"),
            (
                "OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE",
                "cumulative",
            ),
            ("OTEL_EXPORTER_OTLP_TIMEOUT", "1000"),
            ("OTEL_EXPORTER_OTLP_COMPRESSION", "none"),
            ("OTEL_EXPORTER_OTLP_HEADERS", "a=env"),
            ("OTEL_BSP_MAX_QUEUE_SIZE", "10"),
        ]);
        let config = Builder::default()
            .with_service_name("from-code")
            .with_resource_attribute("team", "code")
            .with_sampler(SamplerConfig::new(otlpkit_core::Sampler::AlwaysOn))
            .with_propagators([Propagator::TraceContext])
            .with_limit(LimitKind::SpanEventCount, Some(4))
            .with_disabled(false)
            .with_log_level(LogLevel::Debug)
            .with_exporters(Signal::Logs, [ExporterKind::Console])
            .with_metric_interval(Duration::from_millis(250))
            .with_temporality_preference(TemporalityPreference::Delta)
            .with_timeout(Some(Duration::from_secs(3)))
            .with_compression(Compression::Gzip)
            .with_header("a", "code")
            .with_batch_config(otlpkit_core::BatchConfig::spans().with_max_queue_size(64))
            .resolve(&env)
            .unwrap()
            .into_value();
        assert_eq!(config.resource().service_name(), "from-code");
        assert_eq!(config.resource().get("team"), Some("code"));
        assert_eq!(config.resource().get("region"), Some("eu"));
        assert_eq!(
            config.sdk().sampler().sampler(),
            otlpkit_core::Sampler::AlwaysOn
        );
        assert_eq!(config.sdk().propagators(), [Propagator::TraceContext]);
        assert_eq!(config.sdk().limits().span_event_count(), Some(4));
        assert!(!config.sdk().disabled());
        assert_eq!(config.sdk().log_level(), LogLevel::Debug);
        assert_eq!(
            config.sdk().exporters(Signal::Logs),
            [ExporterKind::Console]
        );
        assert_eq!(
            config.metric_reader().interval(),
            Duration::from_millis(250)
        );
        assert_eq!(
            config.metric_reader().temporality_preference(),
            TemporalityPreference::Delta
        );
        for signal in Signal::ALL {
            let exporter = config.exporter(*signal);
            assert_eq!(exporter.timeout(), Some(Duration::from_secs(3)));
            assert_eq!(exporter.compression(), Compression::Gzip);
            assert_eq!(exporter.headers().get("a"), Some("code"));
        }
        assert_eq!(config.span_batch().max_queue_size(), 64);
        assert_eq!(config.log_batch().max_queue_size(), 2048);
    }

    #[test]
    fn tail_sampling_methods_win_over_their_variables() {
        let env = MapEnv::from([
            ("OTLPKIT_TAIL_SAMPLING", "off"),
            ("OTLPKIT_TAIL_SAMPLING_RATIO", "0.5"),
            ("OTLPKIT_TAIL_SAMPLING_MAX_TRACES", "7"),
        ]);
        let config = Builder::default()
            .with_tail_sampling_config(TailSamplingConfig::builder().with_ratio(0.0))
            .with_tail_sampling(true)
            .resolve(&env)
            .unwrap();
        assert!(config.warnings().is_empty(), "{:?}", config.warnings());
        let tail = config.value().tail_sampling();
        assert!(tail.enabled());
        assert_eq!(tail.ratio(), 0.0);
        assert_eq!(tail.max_traces(), 7);
        assert_eq!(tail.sources().enabled, Source::Code);
        assert!(
            !Builder::default()
                .resolve(&MapEnv::new())
                .unwrap()
                .value()
                .tail_sampling()
                .enabled()
        );
    }

    #[test]
    fn strict_policy_turns_warnings_into_an_error_naming_the_variable() {
        let env = MapEnv::from([("OTEL_BSP_SCHEDULE_DELAY", "soon")]);
        let error = Builder::default()
            .with_env_policy(EnvPolicy::Strict)
            .resolve(&env)
            .unwrap_err();
        assert!(
            error.to_string().contains("OTEL_BSP_SCHEDULE_DELAY"),
            "{error}"
        );
        let lenient = Builder::default().resolve(&env).unwrap();
        assert_eq!(lenient.warnings().len(), 1);
    }

    #[test]
    fn debug_never_shows_header_values() {
        let builder = Builder::default().with_header("authorization", "Bearer s3cr3t");
        let debug = format!("{builder:?}");
        assert!(debug.contains("authorization"), "{debug}");
        assert!(!debug.contains("s3cr3t"), "{debug}");
    }

    // Endpoints set in code, general or per signal, show no credentials.
    #[test]
    fn debug_never_shows_endpoint_credentials_or_queries() {
        let builder = Builder::default()
            .with_endpoint("http://user:SECRET@host:4318/?token=SECRET")
            .with_signal_endpoint(Signal::Logs, "http://u:SECRET@logs:4318/v1/logs?k=SECRET");
        let debug = format!("{builder:?}");
        assert!(!debug.contains("SECRET"), "{debug}");
        assert!(debug.contains("host:4318"), "{debug}");
        assert!(debug.contains("logs:4318/v1/logs"), "{debug}");
    }
}
