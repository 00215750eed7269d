//! Builds the pipeline from the resolved configuration and installs it.

use opentelemetry::InstrumentationScope;
use opentelemetry::metrics::MeterProvider as _;
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::logs::SdkLoggerProvider;
#[cfg(feature = "console-exporters")]
use opentelemetry_sdk::logs::SimpleLogProcessor;
use opentelemetry_sdk::metrics::exporter::PushMetricExporter;
use opentelemetry_sdk::metrics::{MeterProviderBuilder, PeriodicReader, SdkMeterProvider};
use opentelemetry_sdk::trace::SdkTracerProvider;
#[cfg(feature = "console-exporters")]
use opentelemetry_sdk::trace::SimpleSpanProcessor;
#[cfg(feature = "tail-sampling")]
use otlpkit_batch::tail::TailSamplingProcessor;
use otlpkit_batch::{BatchLogProcessor, BatchSpanProcessor};
use otlpkit_bridge::{EXPORT_WORKER_NAME, WorkerRuntime};
use otlpkit_core::diag;
use otlpkit_core::stats::ExportStats;
use otlpkit_core::{
    BatchConfig, EnvSource, ExporterKind, LogLevel, MapEnv, OtlpConfig, Protocol, Resolved, Signal,
    vars,
};

use crate::builder::{Builder, Extensions};
#[cfg(feature = "console-exporters")]
use crate::console::{ConsoleLogExporter, ConsoleMetricExporter, ConsoleSpanExporter};
use crate::error::{InitError, InitWarning};
use crate::globals;
use crate::guard::{OtlpGuard, Pipeline, SharedExporter};
use crate::metrics::{TimeoutExporter, view};
use crate::sdk::{self, GuardedLogProcessor, GuardedSpanProcessor};

/// The name of the export worker thread every signal shares.
pub const WORKER_THREAD_NAME: &str = EXPORT_WORKER_NAME;

/// The instrumentation scope of otlpkit's own metrics.
const SELF_METRICS_SCOPE: &str = crate::metrics::OWN_SCOPE;

/// A `tracing` layer of the subscriber `init()` installs.
#[cfg(feature = "tracing")]
pub(crate) type BoxedLayer =
    Box<dyn tracing_subscriber::Layer<tracing_subscriber::Registry> + Send + Sync + 'static>;

/// What every OTLP exporter and batch processor of one pipeline shares.
struct Shared<'a> {
    config: &'a OtlpConfig,
    worker: WorkerRuntime,
    stats: ExportStats,
    builder: &'a Builder,
    /// The disk spool every OTLP exporter shares (one log per signal).
    #[cfg(feature = "spool")]
    spool: Option<otlpkit_exporter::Spool>,
    /// Whether `init()` installs the `tracing` subscriber (the native span
    /// layer is built only then). The setup itself is taken out of the
    /// builder before the pipeline is built, so this says it was there.
    #[cfg_attr(not(feature = "tracing"), allow(dead_code))]
    installs_subscriber: bool,
    /// The native span path's records: taken by its layer, given back by
    /// its exporter once encoded.
    #[cfg(feature = "tracing")]
    record_pool: std::sync::Arc<otlpkit_wire::SpanRecordPool>,
}

pub(crate) fn start<E: EnvSource + ?Sized>(
    builder: Builder,
    env: &E,
    location: Option<&'static std::panic::Location<'static>>,
) -> Result<OtlpGuard, InitError> {
    // `location` is where `init()` was called; `None` for `build()`, which
    // installs nothing global.
    #[cfg_attr(not(feature = "tracing"), allow(unused_variables))]
    let global = location.is_some();
    let mut builder = builder;
    let mut extensions = std::mem::take(&mut builder.extensions);
    #[cfg(feature = "tracing")]
    let tracing = builder.tracing.take();
    let Resolved {
        value: config,
        warnings: config_warnings,
    } = builder.config_builder().build(env)?;
    let mut warnings: Vec<InitWarning> = config_warnings.into_iter().map(Into::into).collect();
    // Invalid filter directives (RUST_LOG) fail before anything is built,
    // so that nothing has to be torn down (a meter provider's last export
    // to an unreachable collector would hold the error for seconds).
    #[cfg(feature = "tracing")]
    if let Some(setup) = &tracing
        && global
    {
        setup.resolved_directives().map_err(InitError::Tracing)?;
    }
    // One `init()` pipeline at a time owns the globals: a second one while
    // its guard lives is refused before anything is built (a failure from
    // here on gives the claim back).
    let claim = location.map(globals::claim).transpose()?;
    // OTEL_LOG_LEVEL governs otlpkit's own diagnostics from here on.
    diag::set_max_level(config.sdk().log_level());
    let propagator = sdk::propagator(config.sdk().propagators(), &mut warnings);
    let stats = ExportStats::new();

    #[cfg_attr(not(feature = "tracing"), allow(unused_mut))]
    let mut pipeline = if config.sdk().disabled() {
        Pipeline::default()
    } else {
        sdk::unsupported_limits(config.sdk().limits(), &mut warnings);
        crate::metrics::unsupported_settings(config.metric_reader(), &mut warnings);
        // Before the spool opens: an init that fails takes no lock.
        #[cfg(not(feature = "tail-sampling"))]
        tail_sampling_not_compiled(config.tail_sampling())?;
        #[cfg(feature = "spool")]
        let spool = otlpkit_exporter::Spool::open(config.spool()).map_err(InitError::Spool)?;
        #[cfg(not(feature = "spool"))]
        spool_not_compiled(config.spool())?;
        let worker = WorkerRuntime::start(WORKER_THREAD_NAME)?;
        let shared = Shared {
            config: &config,
            worker,
            stats: stats.clone(),
            builder: &builder,
            #[cfg(feature = "tracing")]
            installs_subscriber: global && tracing.is_some(),
            #[cfg(not(feature = "tracing"))]
            installs_subscriber: false,
            #[cfg(feature = "spool")]
            spool,
            // Two batches (what the worker gives back while producers
            // take), and at most 4,096 records (about 4 MiB) kept when
            // idle, whatever the batch size.
            #[cfg(feature = "tracing")]
            record_pool: std::sync::Arc::new(otlpkit_wire::SpanRecordPool::new(
                config
                    .span_batch()
                    .max_export_batch_size()
                    .saturating_mul(2)
                    .min(4096),
            )),
        };
        build(&shared, &mut extensions, &mut warnings)?
    };

    // The subscriber first: its only failure that is not a warning (invalid
    // filter directives) must leave nothing global behind. When neither
    // traces nor logs are exported (the SDK is disabled, or both exporters
    // are `none`), it still prints on the console and runs the user's
    // layers; it is skipped when it would do nothing at all.
    #[cfg(feature = "tracing")]
    if let Some(setup) = tracing
        && global
        && (pipeline.tracer_provider.is_some()
            || pipeline.logger_provider.is_some()
            || builder.tracing_from_code
            || config.toolkit().console() != otlpkit_core::ConsoleFormat::Off
            || !extensions.tracing_layers.is_empty())
    {
        let (mut setup, console) = console(setup, &builder, &config, &mut warnings);
        if let Some(details) = builder.span_details {
            setup = setup.with_span_details(details);
        }
        let native = pipeline.native.take();
        let mut layers: Vec<BoxedLayer> = vec![
            tracing_setup(setup, &pipeline, native)?
                .registry_layer()
                .map_err(InitError::Tracing)?,
        ];
        layers.append(&mut extensions.tracing_layers);
        use tracing_subscriber::layer::SubscriberExt as _;
        let subscriber = tracing_subscriber::registry().with(layers);
        match tracing::subscriber::set_global_default(subscriber) {
            // otlpkit's diagnostics go through the console layer from now on.
            Ok(()) => {
                if let Some(claim) = &claim {
                    claim.installed_subscriber();
                }
                if console {
                    // otlpkit's diagnostics go through the console layer
                    // from now on.
                    diag::set_output(diag::Output::Tracing);
                }
            }
            // The subscriber of an earlier `init()`, shut down since, or
            // the application's own.
            Err(_) => warnings.push(match globals::subscriber_installed_at() {
                Some(installed_at) => InitWarning::SubscriberOfEarlierInit { installed_at },
                None => InitWarning::SubscriberAlreadyInstalled,
            }),
        }
    }

    let ownership = claim.map(|claim| {
        opentelemetry::global::set_text_map_propagator(propagator);
        if let Some(provider) = &pipeline.tracer_provider {
            opentelemetry::global::set_tracer_provider(claim.tracer_provider(provider));
        }
        if let Some(provider) = &pipeline.meter_provider {
            opentelemetry::global::set_meter_provider(claim.meter_provider(provider));
        }
        claim.commit(
            pipeline.tracer_provider.is_some(),
            pipeline.meter_provider.is_some(),
        )
    });

    for warning in &warnings {
        diag::emit(LogLevel::Warn, format_args!("{warning}"));
    }
    let shutdown_timeout = builder.shutdown_timeout;
    Ok(
        OtlpGuard::new(pipeline, config, warnings, stats, shutdown_timeout)
            .owning_globals(ownership),
    )
}

/// The default setup with the configured console layer, and whether it has
/// one; a setup given in code keeps its own (and otlpkit's diagnostics stay
/// on standard error).
#[cfg(feature = "tracing")]
fn console(
    setup: otlpkit_tracing::TracingSetup,
    builder: &Builder,
    config: &OtlpConfig,
    warnings: &mut Vec<InitWarning>,
) -> (otlpkit_tracing::TracingSetup, bool) {
    use otlpkit_core::ConsoleFormat;
    use otlpkit_tracing::Fmt;
    if builder.tracing_from_code {
        return (setup, false);
    }
    let fmt = match config.toolkit().console() {
        ConsoleFormat::Off => Fmt::Off,
        ConsoleFormat::Compact => Fmt::Compact,
        ConsoleFormat::Pretty => Fmt::Pretty,
        #[cfg(feature = "json-logs")]
        ConsoleFormat::Json => Fmt::Json,
        #[cfg(not(feature = "json-logs"))]
        ConsoleFormat::Json => {
            warnings.push(InitWarning::Unsupported {
                setting: vars::OTLPKIT_LOG_FORMAT,
                value: "json".to_owned(),
                instead: "the `json-logs` feature of otlpkit is off; using `full`",
            });
            Fmt::Full
        }
        _ => Fmt::Full,
    };
    let _ = warnings;
    (setup.with_fmt(fmt), fmt != Fmt::Off)
}

/// The subscriber `init` installs: the configured setup with the pipeline's
/// providers, its filter directives checked.
#[cfg(feature = "tracing")]
fn tracing_setup(
    mut setup: otlpkit_tracing::TracingSetup,
    pipeline: &Pipeline,
    native: Option<otlpkit_tracing::native::NativeSpans>,
) -> Result<otlpkit_tracing::TracingSetup, InitError> {
    #[cfg(feature = "tracing-opentelemetry")]
    if let Some(provider) = &pipeline.tracer_provider {
        setup = setup.with_tracer_provider(provider);
    }
    if let Some(native) = native {
        setup = setup.with_native_spans(native);
    }
    if let Some(provider) = &pipeline.logger_provider {
        setup = setup.with_logger_provider(provider);
    }
    setup.resolved_directives().map_err(InitError::Tracing)?;
    Ok(setup)
}

fn build(
    shared: &Shared<'_>,
    extensions: &mut Extensions,
    warnings: &mut Vec<InitWarning>,
) -> Result<Pipeline, InitError> {
    let config = shared.config;
    let resource = sdk::resource(config.resource());
    let mut pipeline = Pipeline {
        worker: Some(shared.worker.clone()),
        ..Pipeline::default()
    };

    let kinds = config.sdk().exporters(Signal::Traces);
    if !kinds.is_empty() || !extensions.span_processors.is_empty() {
        let traces = traces(shared, &resource, &mut pipeline, extensions, warnings)?;
        pipeline.tracer_provider = Some(traces.provider);
        #[cfg(all(
            feature = "tracing",
            feature = "console-exporters",
            not(feature = "tracing-opentelemetry")
        ))]
        if shared.installs_subscriber && kinds.contains(&ExporterKind::Console) {
            warnings.push(InitWarning::Unsupported {
                setting: vars::OTEL_TRACES_EXPORTER,
                value: "console".to_owned(),
                instead: "`tracing` spans reach only the OTLP exporter (otlpkit's native layer); the console exporter gets OpenTelemetry-API spans, and with otlpkit's `tracing-opentelemetry` feature `tracing` spans too",
            });
        }
        #[cfg(feature = "tracing")]
        if let Some(native) = traces.native.map(|p| native_spans(shared, &resource, p)) {
            // The native processor carries the `tracing` spans, most of
            // them: its statistics are the report's.
            pipeline.api_span_handle = pipeline.span_handle.replace(native.handle());
            // Each span path has a tail-sampling stage of its own, counting
            // into the same statistics: the guard sees them as one.
            #[cfg(feature = "tail-sampling")]
            {
                let stages = native.tail_handle().into_iter();
                let stages = stages.chain(pipeline.tail_handle.take()).collect();
                pipeline.tail_handle = otlpkit_batch::tail::TailSamplingHandle::joint(stages);
            }
            pipeline.native = Some(native);
        }
    }
    let kinds = config.sdk().exporters(Signal::Logs);
    if !kinds.is_empty() {
        pipeline.logger_provider = Some(logs(shared, &resource, &mut pipeline, warnings)?);
    }
    let kinds = config.sdk().exporters(Signal::Metrics);
    let builds_a_reader = kinds.iter().any(|kind| builds_exporter(*kind));
    if !builds_a_reader && extensions.metric_readers.is_empty() && config.toolkit().self_metrics() {
        // otlpkit's own metrics are instruments on the meter provider: with
        // no metric exporter there is nowhere for them to go.
        warnings.push(InitWarning::Config(otlpkit_core::ConfigWarning::Ignored {
            var: config
                .toolkit()
                .sources()
                .self_metrics
                .var()
                .unwrap_or("Builder::with_self_metrics"),
            reason: "no metric exporter is configured or compiled in (OTEL_METRICS_EXPORTER), and otlpkit's own metrics are exported as metrics",
        }));
    }
    if !kinds.is_empty() || !extensions.metric_readers.is_empty() {
        let provider = metrics(shared, &resource, &pipeline, extensions, warnings)?;
        if config.toolkit().self_metrics() {
            pipeline.self_metrics = true;
            let meter = provider.meter_with_scope(
                InstrumentationScope::builder(SELF_METRICS_SCOPE)
                    .with_version(env!("CARGO_PKG_VERSION"))
                    .build(),
            );
            // On the native path traces have two processors (`tracing`
            // spans, OpenTelemetry-API spans): one set of instruments for both.
            let spans: Vec<_> = [&pipeline.span_handle, &pipeline.api_span_handle]
                .into_iter()
                .flatten()
                .cloned()
                .collect();
            otlpkit_batch::ProcessorHandle::register_joint_metrics(&spans, &meter);
            if let Some(handle) = &pipeline.log_handle {
                handle.register_metrics(&meter);
            }
            // Metric data points reach the OTLP exporter from the SDK's
            // periodic reader, not through a batch processor: their counters
            // are read from the shared statistics.
            if kinds.contains(&ExporterKind::Otlp) {
                otlpkit_batch::MetricNames::register_item_counters(
                    &shared.stats,
                    Signal::Metrics,
                    &meter,
                );
            }
            #[cfg(feature = "tail-sampling")]
            if let Some(tail) = &pipeline.tail_handle {
                tail.register_metrics(&meter);
            }
        }
        pipeline.meter_provider = Some(provider);
    }
    Ok(pipeline)
}

/// Whether this build has the exporter `kind` names; the others are
/// skipped with a warning ([`unsupported`]).
fn builds_exporter(kind: ExporterKind) -> bool {
    kind == ExporterKind::Otlp
        || (kind == ExporterKind::Console && cfg!(feature = "console-exporters"))
}

fn unsupported(signal: Signal, kind: ExporterKind, warnings: &mut Vec<InitWarning>) {
    let setting = match signal {
        Signal::Metrics => vars::OTEL_METRICS_EXPORTER,
        Signal::Logs => vars::OTEL_LOGS_EXPORTER,
        _ => vars::OTEL_TRACES_EXPORTER,
    };
    let instead = if kind == ExporterKind::Console {
        "that exporter is skipped: this build of otlpkit lacks its `console-exporters` feature (`otlpkit/console-exporters` in Cargo.toml)"
    } else {
        "that exporter is skipped"
    };
    warnings.push(InitWarning::Unsupported {
        setting,
        value: kind.to_string(),
        instead,
    });
}

/// Tail sampling turned on in a build without the `tail-sampling` feature:
/// the error naming the feature and what turned it on, never a run that
/// keeps every trace while the user believes most are sampled out.
#[cfg(not(feature = "tail-sampling"))]
fn tail_sampling_not_compiled(tail: &otlpkit_core::TailSamplingConfig) -> Result<(), InitError> {
    if !tail.enabled() {
        return Ok(());
    }
    Err(InitError::TailSamplingNotCompiled {
        setting: tail
            .sources()
            .enabled
            .var()
            .unwrap_or("Builder::with_tail_sampling"),
        feature: "tail-sampling",
    })
}

/// A spool asked for in a build without the `spool` feature: the error
/// naming the feature and what asked for it, never a silent run without it.
#[cfg(not(feature = "spool"))]
fn spool_not_compiled(spool: &otlpkit_core::SpoolConfig) -> Result<(), InitError> {
    if !spool.is_enabled() {
        return Ok(());
    }
    Err(InitError::SpoolNotCompiled {
        setting: spool
            .sources()
            .dir
            .var()
            .unwrap_or("Builder::with_spool_dir"),
        feature: "spool",
    })
}

fn not_compiled(signal: Signal, protocol: Protocol, source: otlpkit_core::Source) -> InitError {
    let feature = match protocol {
        Protocol::Grpc => "grpc",
        Protocol::HttpJson => "http-json",
        _ => "http",
    };
    let setting = match source {
        otlpkit_core::Source::Code => "Builder::with_protocol or Builder::with_signal_protocol",
        otlpkit_core::Source::Default => "the default",
        other => other.var().unwrap_or("the default"),
    };
    InitError::ProtocolNotCompiled {
        signal,
        protocol,
        setting,
        feature,
    }
}

/// The tracer provider, and the native span path's processor when `init()`
/// takes that path.
struct Traces {
    provider: SdkTracerProvider,
    #[cfg(feature = "tracing")]
    native: Option<RecordProcessor>,
}

fn traces(
    shared: &Shared<'_>,
    resource: &Resource,
    pipeline: &mut Pipeline,
    extensions: &mut Extensions,
    warnings: &mut Vec<InitWarning>,
) -> Result<Traces, InitError> {
    let config = shared.config;
    let limit = config.sdk().limits().span_attribute_value_length();
    let mut builder = SdkTracerProvider::builder()
        .with_resource(resource.clone())
        .with_sampler(sdk::sampler(config.sdk().sampler(), warnings))
        .with_span_limits(sdk::span_limits(config.sdk().limits()));
    #[cfg(feature = "tracing")]
    let mut native = None;
    for kind in config.sdk().exporters(Signal::Traces) {
        match kind {
            ExporterKind::Otlp => {
                let processors = otlp_batch_processor::<SpanProcessors>(shared)?;
                #[cfg(feature = "tracing")]
                {
                    native = processors.native;
                }
                let processor = processors.api;
                pipeline.span_handle = Some(processor.handle());
                pipeline.span_exporter = Some(processors.exporter);
                #[cfg(feature = "tail-sampling")]
                if config.tail_sampling().enabled() {
                    let tail = config.tail_sampling();
                    // In front of the span queue: the attribute values are
                    // truncated first, then the trace is held and decided.
                    let mut stage = TailSamplingProcessor::builder(processor)
                        .with_config(tail.clone())
                        .with_stats(shared.stats.clone());
                    for rule in &shared.builder.tail_sampling_rules {
                        stage = stage.with_attribute_rule(rule.clone());
                    }
                    let stage = stage.build();
                    pipeline.tail_handle = Some(stage.handle());
                    builder = builder.with_span_processor(GuardedSpanProcessor::new(stage, limit));
                    continue;
                }
                builder = builder.with_span_processor(GuardedSpanProcessor::new(processor, limit));
            }
            #[cfg(feature = "console-exporters")]
            ExporterKind::Console => {
                builder = builder.with_span_processor(GuardedSpanProcessor::new(
                    SimpleSpanProcessor::new(ConsoleSpanExporter::new()),
                    limit,
                ));
            }
            other => unsupported(Signal::Traces, *other, warnings),
        }
    }
    for add in extensions.span_processors.drain(..) {
        builder = add(builder);
    }
    Ok(Traces {
        provider: builder.build(),
        #[cfg(feature = "tracing")]
        native,
    })
}

/// The transport that carries a signal, from its configured protocol.
#[derive(Debug, Clone, Copy)]
enum Transport {
    #[cfg(feature = "grpc")]
    Grpc,
    #[cfg(feature = "http")]
    Http,
}

/// The transport of `signal`'s OTLP exporter, or the error naming the
/// feature its protocol needs.
fn transport(shared: &Shared<'_>, signal: Signal) -> Result<Transport, InitError> {
    let exporter = shared.config.exporter(signal);
    match exporter.protocol() {
        #[cfg(feature = "grpc")]
        Protocol::Grpc => Ok(Transport::Grpc),
        #[cfg(feature = "http")]
        Protocol::HttpProtobuf => Ok(Transport::Http),
        #[cfg(all(feature = "http", feature = "http-json"))]
        Protocol::HttpJson => Ok(Transport::Http),
        other => Err(not_compiled(signal, other, exporter.sources().protocol)),
    }
}

/// Builds `signal`'s OTLP exporter of type `$exporter` from the resolved
/// configuration, on the pipeline's worker and counters.
#[cfg_attr(not(any(feature = "grpc", feature = "http")), allow(unused_macros))]
macro_rules! otlp_exporter {
    ($shared:expr, $signal:expr, $exporter:ty $(, $setting:ident($value:expr))*) => {{
        let builder = <$exporter>::builder()
            .with_config($shared.config.exporter($signal).clone())
            .with_worker($shared.worker.clone())
            .with_stats($shared.stats.clone());
        #[cfg(feature = "spool")]
        let builder = builder.with_spool($shared.spool.clone());
        builder
            $(.$setting($value))*
            .build()
            .map_err(|error| InitError::Exporter {
                signal: $signal,
                error,
            })
    }};
}

/// Finishes a batch processor builder of `$signal`: everything comes from
/// the configuration resolved once for the whole pipeline (no variable is
/// read again), on the pipeline's worker and counters.
macro_rules! batch_processor {
    ($shared:expr, $signal:expr, $builder:expr) => {
        $builder
            .with_config(batch_config($shared.config, $signal).clone())
            .with_worker_runtime($shared.worker.clone())
            .with_stats($shared.stats.clone())
            .with_default_timeout($shared.builder.shutdown_timeout)
            .build_with_env(&MapEnv::new())
            .map_err(|error| InitError::Batch {
                signal: $signal,
                error,
            })
    };
}

/// The configuration of `signal`'s batch processor.
fn batch_config(config: &OtlpConfig, signal: Signal) -> &BatchConfig {
    match signal {
        Signal::Logs => config.log_batch(),
        _ => config.span_batch(),
    }
}

/// Whether `init()` takes the native span path: with the
/// `tracing-opentelemetry` feature, when that path is chosen and the only
/// trace exporter is OTLP (the console exporter and span processors of the
/// application then need SDK spans); without it, whenever `init()` installs
/// the subscriber and OTLP is among the trace exporters.
#[cfg(feature = "tracing")]
fn takes_native_path(shared: &Shared<'_>) -> bool {
    let exporters = shared.config.sdk().exporters(Signal::Traces);
    // Exporters this build skips (a console exporter without its feature)
    // need no SDK spans.
    #[cfg(feature = "tracing-opentelemetry")]
    let native = shared.builder.tracing_path == crate::TracingPath::Native
        && exporters
            .iter()
            .copied()
            .filter(|kind| builds_exporter(*kind))
            .eq([ExporterKind::Otlp]);
    #[cfg(not(feature = "tracing-opentelemetry"))]
    let native = exporters.contains(&ExporterKind::Otlp);
    shared.installs_subscriber && native
}

/// The native `tracing` span layer's settings, around its processor.
#[cfg(feature = "tracing")]
fn native_spans(
    shared: &Shared<'_>,
    resource: &Resource,
    processor: RecordProcessor,
) -> otlpkit_tracing::native::NativeSpans {
    let native = otlpkit_tracing::native::NativeSpans::new(processor)
        .with_record_pool(std::sync::Arc::clone(&shared.record_pool))
        .with_sdk_config(shared.config.sdk())
        .with_resource(resource);
    #[cfg(feature = "tail-sampling")]
    if shared.config.tail_sampling().enabled() {
        return native.with_tail_sampling(
            shared.config.tail_sampling().clone(),
            shared.builder.tail_sampling_rules.iter().cloned(),
        );
    }
    native
}

/// The exporter of the native span path: otlpkit's span exporter, sending
/// the records straight to OTLP ([`otlpkit_exporter::SpanExporter::export_records`]).
#[cfg(feature = "tracing")]
#[cfg_attr(not(any(feature = "grpc", feature = "http")), allow(dead_code))]
struct RecordExporter<T> {
    exporter: otlpkit_exporter::SpanExporter<T>,
    /// Where the records go once encoded: back to the layer.
    pool: std::sync::Arc<otlpkit_wire::SpanRecordPool>,
}

#[cfg(feature = "tracing")]
impl<T: otlpkit_exporter::Connect> otlpkit_batch::BatchExporter<Box<otlpkit_wire::SpanRecord>>
    for RecordExporter<T>
{
    fn export(
        &self,
        batch: Vec<Box<otlpkit_wire::SpanRecord>>,
    ) -> impl std::future::Future<Output = opentelemetry_sdk::error::OTelSdkResult> + Send {
        self.exporter
            .export_records(otlpkit_wire::PooledRecords::new(
                batch,
                std::sync::Arc::clone(&self.pool),
            ))
    }

    fn shutdown_with_timeout(
        &self,
        timeout: std::time::Duration,
    ) -> opentelemetry_sdk::error::OTelSdkResult {
        opentelemetry_sdk::trace::SpanExporter::shutdown_with_timeout(&self.exporter, timeout)
    }

    fn set_resource(&mut self, resource: &Resource) {
        opentelemetry_sdk::trace::SpanExporter::set_resource(&mut self.exporter, resource);
    }
}

/// A batch processor of the pipeline on otlpkit's OTLP exporter: the span
/// and log processors of the SDK providers and the native span path's
/// record processor differ only in what this says.
#[cfg_attr(not(any(feature = "grpc", feature = "http")), allow(dead_code))]
trait OtlpBatchProcessor: Sized {
    /// The signal it carries.
    const SIGNAL: Signal;

    /// The processor on otlpkit's exporter over transport `T`, finished
    /// by `batch_processor!`.
    fn on_transport<T: otlpkit_exporter::Connect>(shared: &Shared<'_>) -> Result<Self, InitError>;
}

/// The OTLP span processors: the SDK provider's (spans made through the
/// OpenTelemetry API) and, on the native path, the native layer's. They
/// share one exporter: one connection, one retry loop and one backoff
/// towards the collector for the two span paths.
struct SpanProcessors {
    api: BatchSpanProcessor,
    #[cfg(feature = "tracing")]
    native: Option<RecordProcessor>,
    /// The pipeline's own handle on that exporter, which stops it after
    /// both processors (a processor's handle then only closes itself).
    exporter: SharedExporter,
}

impl OtlpBatchProcessor for SpanProcessors {
    const SIGNAL: Signal = Signal::Traces;

    fn on_transport<T: otlpkit_exporter::Connect>(shared: &Shared<'_>) -> Result<Self, InitError> {
        let exporter = otlp_exporter!(shared, Self::SIGNAL, otlpkit_exporter::SpanExporter<T>)?;
        let own = exporter.share();
        let own = SharedExporter::new(move |timeout| own.shutdown_all(timeout));
        #[cfg(feature = "tracing")]
        let native = if takes_native_path(shared) {
            let exporter = RecordExporter {
                exporter: exporter.share(),
                pool: std::sync::Arc::clone(&shared.record_pool),
            };
            let builder = RecordProcessor::builder_for(otlpkit_core::BatchKind::Spans, exporter);
            Some(batch_processor!(shared, Self::SIGNAL, builder)?)
        } else {
            None
        };
        Ok(Self {
            api: batch_processor!(shared, Self::SIGNAL, BatchSpanProcessor::builder(exporter))?,
            #[cfg(feature = "tracing")]
            native,
            exporter: own,
        })
    }
}

impl OtlpBatchProcessor for BatchLogProcessor {
    const SIGNAL: Signal = Signal::Logs;

    fn on_transport<T: otlpkit_exporter::Connect>(shared: &Shared<'_>) -> Result<Self, InitError> {
        let exporter = otlp_exporter!(shared, Self::SIGNAL, otlpkit_exporter::LogExporter<T>)?;
        batch_processor!(shared, Self::SIGNAL, Self::builder(exporter))
    }
}

/// The native span path's processor of `SpanRecord`s.
#[cfg(feature = "tracing")]
type RecordProcessor = otlpkit_batch::BatchProcessor<Box<otlpkit_wire::SpanRecord>>;

/// `P` on otlpkit's OTLP exporter over the transport of its signal's
/// configured protocol, on the pipeline's worker and counters.
// Without a transport feature every protocol is an error.
#[cfg_attr(
    not(any(feature = "grpc", feature = "http")),
    allow(unreachable_code, unused_variables)
)]
fn otlp_batch_processor<P: OtlpBatchProcessor>(shared: &Shared<'_>) -> Result<P, InitError> {
    match transport(shared, P::SIGNAL)? {
        #[cfg(feature = "grpc")]
        Transport::Grpc => P::on_transport::<otlpkit_grpc::Grpc>(shared),
        #[cfg(feature = "http")]
        Transport::Http => P::on_transport::<otlpkit_http::Http>(shared),
    }
}

fn logs(
    shared: &Shared<'_>,
    resource: &Resource,
    pipeline: &mut Pipeline,
    warnings: &mut Vec<InitWarning>,
) -> Result<SdkLoggerProvider, InitError> {
    let mut builder = SdkLoggerProvider::builder().with_resource(resource.clone());
    for kind in shared.config.sdk().exporters(Signal::Logs) {
        match kind {
            ExporterKind::Otlp => {
                let processor = otlp_batch_processor::<BatchLogProcessor>(shared)?;
                pipeline.log_handle = Some(processor.handle());
                builder = builder.with_log_processor(GuardedLogProcessor::new(processor));
            }
            #[cfg(feature = "console-exporters")]
            ExporterKind::Console => {
                builder = builder.with_log_processor(GuardedLogProcessor::new(
                    SimpleLogProcessor::new(ConsoleLogExporter::new()),
                ));
            }
            other => unsupported(Signal::Logs, *other, warnings),
        }
    }
    Ok(builder.build())
}

/// The SDK temporality for a preference (the SDK's `LowMemory` is the
/// specification's `lowmemory` column).
#[cfg(feature = "console-exporters")]
fn temporality(
    preference: otlpkit_core::TemporalityPreference,
) -> opentelemetry_sdk::metrics::Temporality {
    use opentelemetry_sdk::metrics::Temporality;
    use otlpkit_core::TemporalityPreference;
    match preference {
        TemporalityPreference::Delta => Temporality::Delta,
        TemporalityPreference::LowMemory => Temporality::LowMemory,
        _ => Temporality::Cumulative,
    }
}

fn metrics(
    shared: &Shared<'_>,
    resource: &Resource,
    pipeline: &Pipeline,
    extensions: &mut Extensions,
    warnings: &mut Vec<InitWarning>,
) -> Result<SdkMeterProvider, InitError> {
    let reader = shared.config.metric_reader();
    let mut builder = SdkMeterProvider::builder().with_resource(resource.clone());
    // One view for everything (the SDK makes one stream per matching view):
    // the application's views first, then the configured aggregation.
    let ours = view(reader, warnings);
    let theirs = std::mem::take(&mut extensions.views);
    if ours.is_some() || !theirs.is_empty() {
        builder = builder.with_view(move |instrument: &opentelemetry_sdk::metrics::Instrument| {
            theirs
                .iter()
                .find_map(|view| view(instrument))
                .or_else(|| ours.as_ref().and_then(|ours| ours(instrument)))
        });
    }
    for add in extensions.metric_readers.drain(..) {
        builder = add(builder);
    }
    for kind in shared.config.sdk().exporters(Signal::Metrics) {
        match kind {
            ExporterKind::Otlp => builder = otlp_metric_reader(shared, pipeline, builder)?,
            #[cfg(feature = "console-exporters")]
            ExporterKind::Console => {
                let exporter = ConsoleMetricExporter::new()
                    .with_temporality(temporality(reader.temporality_preference()));
                builder = builder.with_reader(periodic(
                    shared,
                    timeout_exporter(shared, pipeline, exporter),
                ));
            }
            other => unsupported(Signal::Metrics, *other, warnings),
        }
    }
    Ok(builder.build())
}

/// `exporter` under the configured export timeout.
fn timeout_exporter(
    shared: &Shared<'_>,
    pipeline: &Pipeline,
    exporter: impl PushMetricExporter,
) -> TimeoutExporter {
    TimeoutExporter::new(
        exporter,
        shared.config.metric_reader().timeout(),
        pipeline.metric_deadline.clone(),
        shared.worker.clone(),
    )
}

/// A periodic reader with the configured interval: one type, whatever the
/// exporter, so that the SDK's reader is compiled once.
fn periodic(shared: &Shared<'_>, exporter: TimeoutExporter) -> PeriodicReader<TimeoutExporter> {
    PeriodicReader::builder(exporter)
        .with_interval(shared.config.metric_reader().interval())
        .build()
}

/// [`periodic`] for the OTLP exporter, counting otlpkit's own points and
/// the `u64` values it saturates.
#[cfg_attr(not(any(feature = "grpc", feature = "http")), allow(dead_code))]
fn otlp_periodic(
    shared: &Shared<'_>,
    pipeline: &Pipeline,
    exporter: impl PushMetricExporter,
) -> PeriodicReader<TimeoutExporter> {
    periodic(
        shared,
        timeout_exporter(shared, pipeline, exporter)
            .counting_own_points(pipeline.own_metric_points.clone())
            .counting_saturated(pipeline.saturated_metric_values.clone()),
    )
}

// Without a transport feature every protocol is an error.
#[cfg_attr(
    not(any(feature = "grpc", feature = "http")),
    allow(unreachable_code, unused_variables)
)]
fn otlp_metric_reader(
    shared: &Shared<'_>,
    pipeline: &Pipeline,
    builder: MeterProviderBuilder,
) -> Result<MeterProviderBuilder, InitError> {
    let signal = Signal::Metrics;
    let preference = shared.config.metric_reader().temporality_preference();
    Ok(match transport(shared, signal)? {
        #[cfg(feature = "grpc")]
        Transport::Grpc => builder.with_reader(otlp_periodic(
            shared,
            pipeline,
            otlp_exporter!(
                shared,
                signal,
                otlpkit_grpc::MetricExporter,
                with_temporality_preference(preference)
            )?,
        )),
        #[cfg(feature = "http")]
        Transport::Http => builder.with_reader(otlp_periodic(
            shared,
            pipeline,
            otlp_exporter!(
                shared,
                signal,
                otlpkit_http::HttpMetricExporter,
                with_temporality_preference(preference)
            )?,
        )),
    })
}
