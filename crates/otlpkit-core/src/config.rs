//! The whole configuration, resolved at once from one environment.

use crate::Signal;
use crate::batch::{BatchConfig, BatchConfigBuilder, BatchKind};
use crate::env::{EnvPolicy, EnvSource};
use crate::error::{ConfigError, ConfigWarning};
use crate::exporter::{ExporterConfig, ExporterConfigBuilder};
use crate::metrics::{MetricReaderConfig, MetricReaderConfigBuilder};
use crate::parse::EnvReader;
use crate::resource::{ResourceConfig, ResourceConfigBuilder};
use crate::sdk::{Sampler, SdkConfig, SdkConfigBuilder};
use crate::source::Resolved;
use crate::spool::{SpoolConfig, SpoolConfigBuilder};
use crate::tail::{TailSamplingConfig, TailSamplingConfigBuilder};
use crate::toolkit::{ToolkitConfig, ToolkitConfigBuilder};

/// Every otlpkit setting: the OTLP exporter of each signal, both batch
/// processors, the metric reader, the resource, the general SDK settings and
/// the tail-sampling stage.
///
/// ```
/// use otlpkit_core::{MapEnv, OtlpConfig, Protocol, Signal};
///
/// let env = MapEnv::from([
///     ("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc"),
///     ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://collector:4317"),
///     ("OTEL_SERVICE_NAME", "checkout"),
/// ]);
/// let config = OtlpConfig::from_env(&env)?.into_value();
/// assert_eq!(config.exporter(Signal::Logs).protocol(), Protocol::Grpc);
/// assert_eq!(config.resource().service_name(), "checkout");
/// # Ok::<(), otlpkit_core::ConfigError>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct OtlpConfig {
    exporters: [ExporterConfig; 3],
    span_batch: BatchConfig,
    log_batch: BatchConfig,
    metric_reader: MetricReaderConfig,
    resource: ResourceConfig,
    sdk: SdkConfig,
    spool: SpoolConfig,
    toolkit: ToolkitConfig,
    tail_sampling: TailSamplingConfig,
}

impl OtlpConfig {
    /// A builder.
    pub fn builder() -> OtlpConfigBuilder {
        OtlpConfigBuilder::default()
    }

    /// Resolves everything from `env` and defaults only.
    pub fn from_env<E: EnvSource + ?Sized>(env: &E) -> Result<Resolved<OtlpConfig>, ConfigError> {
        Self::builder().build(env)
    }

    /// The OTLP exporter of `signal`.
    pub fn exporter(&self, signal: Signal) -> &ExporterConfig {
        &self.exporters[signal.index()]
    }

    /// The batch span processor.
    pub fn span_batch(&self) -> &BatchConfig {
        &self.span_batch
    }

    /// The batch log record processor.
    pub fn log_batch(&self) -> &BatchConfig {
        &self.log_batch
    }

    /// The periodic metric reader.
    pub fn metric_reader(&self) -> &MetricReaderConfig {
        &self.metric_reader
    }

    /// The resource attributes.
    pub fn resource(&self) -> &ResourceConfig {
        &self.resource
    }

    /// General SDK settings.
    pub fn sdk(&self) -> &SdkConfig {
        &self.sdk
    }

    /// The disk spool (none by default).
    pub fn spool(&self) -> &SpoolConfig {
        &self.spool
    }

    /// The settings of otlpkit's own behaviour.
    pub fn toolkit(&self) -> &ToolkitConfig {
        &self.toolkit
    }

    /// The tail-sampling stage.
    pub fn tail_sampling(&self) -> &TailSamplingConfig {
        &self.tail_sampling
    }
}

/// Builds an [`OtlpConfig`] from one builder per part.
///
/// [`EnvPolicy::Strict`] applies to the whole configuration when set here or
/// on any part's builder.
#[derive(Debug, Clone)]
pub struct OtlpConfigBuilder {
    exporters: [ExporterConfigBuilder; 3],
    span_batch: BatchConfigBuilder,
    log_batch: BatchConfigBuilder,
    metric_reader: MetricReaderConfigBuilder,
    resource: ResourceConfigBuilder,
    sdk: SdkConfigBuilder,
    spool: SpoolConfigBuilder,
    toolkit: ToolkitConfigBuilder,
    tail_sampling: TailSamplingConfigBuilder,
    policy: EnvPolicy,
}

impl Default for OtlpConfigBuilder {
    fn default() -> Self {
        Self {
            exporters: [
                ExporterConfig::builder(Signal::Traces),
                ExporterConfig::builder(Signal::Metrics),
                ExporterConfig::builder(Signal::Logs),
            ],
            span_batch: BatchConfig::spans(),
            log_batch: BatchConfig::logs(),
            metric_reader: MetricReaderConfig::builder(),
            resource: ResourceConfig::builder(),
            sdk: SdkConfig::builder(),
            spool: SpoolConfig::builder(),
            toolkit: ToolkitConfig::builder(),
            tail_sampling: TailSamplingConfig::builder(),
            policy: EnvPolicy::default(),
        }
    }
}

impl OtlpConfigBuilder {
    /// The exporter settings for the builder's signal.
    #[must_use]
    pub fn with_exporter(mut self, exporter: ExporterConfigBuilder) -> Self {
        let index = exporter.signal().index();
        self.exporters[index] = exporter;
        self
    }

    /// The batch processor settings for the builder's kind.
    #[must_use]
    pub fn with_batch(mut self, batch: BatchConfigBuilder) -> Self {
        match batch.kind() {
            BatchKind::Spans => self.span_batch = batch,
            BatchKind::Logs => self.log_batch = batch,
        }
        self
    }

    /// The metric reader settings.
    #[must_use]
    pub fn with_metric_reader(mut self, reader: MetricReaderConfigBuilder) -> Self {
        self.metric_reader = reader;
        self
    }

    /// The resource settings.
    #[must_use]
    pub fn with_resource(mut self, resource: ResourceConfigBuilder) -> Self {
        self.resource = resource;
        self
    }

    /// The general SDK settings.
    #[must_use]
    pub fn with_sdk(mut self, sdk: SdkConfigBuilder) -> Self {
        self.sdk = sdk;
        self
    }

    /// The disk spool settings.
    #[must_use]
    pub fn with_spool(mut self, spool: SpoolConfigBuilder) -> Self {
        self.spool = spool;
        self
    }

    /// The settings of otlpkit's own behaviour (console, self-metrics).
    #[must_use]
    pub fn with_toolkit(mut self, toolkit: ToolkitConfigBuilder) -> Self {
        self.toolkit = toolkit;
        self
    }

    /// The tail-sampling settings.
    #[must_use]
    pub fn with_tail_sampling(mut self, tail_sampling: TailSamplingConfigBuilder) -> Self {
        self.tail_sampling = tail_sampling;
        self
    }

    /// How warnings are treated.
    #[must_use]
    pub fn with_env_policy(mut self, policy: EnvPolicy) -> Self {
        self.policy = policy;
        self
    }

    /// Resolves everything with one pass over `env`; each warning appears once.
    pub fn build<E: EnvSource + ?Sized>(
        self,
        env: &E,
    ) -> Result<Resolved<OtlpConfig>, ConfigError> {
        let env: &dyn EnvSource = &env;
        let strict = self.policy == EnvPolicy::Strict
            || self
                .exporters
                .iter()
                .any(|e| e.env_policy() == EnvPolicy::Strict)
            || self.span_batch.env_policy() == EnvPolicy::Strict
            || self.log_batch.env_policy() == EnvPolicy::Strict
            || self.metric_reader.env_policy() == EnvPolicy::Strict
            || self.resource.env_policy() == EnvPolicy::Strict
            || self.sdk.env_policy() == EnvPolicy::Strict
            || self.toolkit.env_policy() == EnvPolicy::Strict
            || self.tail_sampling.env_policy() == EnvPolicy::Strict
            || self.spool.env_policy() == EnvPolicy::Strict;
        let policy = if strict {
            EnvPolicy::Strict
        } else {
            EnvPolicy::Lenient
        };

        let mut reader = EnvReader::new(env);
        let [traces, metrics, logs] = self.exporters;
        let exporters = [
            traces.resolve(&mut reader)?,
            metrics.resolve(&mut reader)?,
            logs.resolve(&mut reader)?,
        ];
        let config = OtlpConfig {
            exporters,
            span_batch: self.span_batch.resolve(&mut reader)?,
            log_batch: self.log_batch.resolve(&mut reader)?,
            metric_reader: self.metric_reader.resolve(&mut reader)?,
            resource: self.resource.resolve(&mut reader)?,
            sdk: self.sdk.resolve(&mut reader)?,
            spool: self.spool.resolve(&mut reader)?,
            toolkit: self.toolkit.resolve(&mut reader),
            tail_sampling: self.tail_sampling.resolve(&mut reader)?,
        };
        if let Some(warning) = head_sampler_ahead_of_tail(&config) {
            reader.warn(warning);
        }
        reader.finish(config, policy)
    }
}

/// The warning for tail sampling behind a head sampler that drops traces
/// as they start, if that is the configuration.
fn head_sampler_ahead_of_tail(config: &OtlpConfig) -> Option<ConfigWarning> {
    if !config.tail_sampling.enabled() || config.sdk.disabled() {
        return None;
    }
    let sampler = config.sdk.sampler();
    let drops_roots = match sampler.sampler() {
        Sampler::AlwaysOff | Sampler::ParentBasedAlwaysOff => true,
        Sampler::TraceIdRatio | Sampler::ParentBasedTraceIdRatio => {
            sampler.ratio_value().is_some_and(|ratio| ratio < 1.0)
        }
        // Unsupported remote samplers fall back to the default (warned about
        // on their own).
        Sampler::AlwaysOn
        | Sampler::ParentBasedAlwaysOn
        | Sampler::ParentBasedJaegerRemote
        | Sampler::JaegerRemote
        | Sampler::XRay => false,
    };
    drops_roots.then(|| ConfigWarning::TailSamplingBehindHeadSampler {
        sampler: match sampler.ratio_value() {
            Some(ratio) => format!("{} {ratio}", sampler.sampler()),
            None => sampler.sampler().to_string(),
        },
        set_by: config.sdk.sources().sampler,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{ConfigWarning, MapEnv, Source};

    #[test]
    fn builders_are_placed_by_signal_and_kind() {
        let config = OtlpConfig::builder()
            .with_exporter(ExporterConfig::builder(Signal::Metrics).with_endpoint("http://m:1/x"))
            .with_batch(BatchConfig::logs().with_max_queue_size(7))
            .build(&MapEnv::new())
            .unwrap()
            .value;
        assert_eq!(
            config.exporter(Signal::Metrics).endpoint().as_str(),
            "http://m:1/x"
        );
        assert_eq!(
            config.exporter(Signal::Traces).endpoint().as_str(),
            "http://localhost:4318/v1/traces"
        );
        assert_eq!(config.log_batch().max_queue_size(), 7);
        assert_eq!(config.span_batch().max_queue_size(), 2048);
        assert_eq!(config.exporter(Signal::Logs).signal(), Signal::Logs);
    }

    /// Tail sampling behind a head sampler that drops traces as they start
    /// is said, naming the sampler and where it was set; a head sampler
    /// that keeps every root, or tail sampling off, says nothing.
    #[test]
    fn tail_sampling_behind_a_dropping_head_sampler_is_a_warning() {
        let behind = |pairs: &[(&str, &str)]| {
            let mut env = MapEnv::from([("OTLPKIT_TAIL_SAMPLING", "on")]);
            for (name, value) in pairs {
                env.set(*name, *value);
            }
            OtlpConfig::from_env(&env)
                .unwrap()
                .warnings
                .into_iter()
                .filter(|w| matches!(w, ConfigWarning::TailSamplingBehindHeadSampler { .. }))
                .map(|w| w.to_string())
                .collect::<Vec<_>>()
        };
        for (sampler, arg, shown) in [
            (
                "parentbased_traceidratio",
                Some("0.1"),
                "parentbased_traceidratio 0.1",
            ),
            ("traceidratio", Some("0.5"), "traceidratio 0.5"),
            ("always_off", None, "always_off"),
            ("parentbased_always_off", None, "parentbased_always_off"),
        ] {
            let mut pairs = vec![("OTEL_TRACES_SAMPLER", sampler)];
            pairs.extend(arg.map(|arg| ("OTEL_TRACES_SAMPLER_ARG", arg)));
            let warnings = behind(&pairs);
            assert_eq!(warnings.len(), 1, "{sampler}: {warnings:?}");
            assert!(warnings[0].contains(shown), "{}", warnings[0]);
            assert!(
                warnings[0].contains("OTEL_TRACES_SAMPLER"),
                "{}",
                warnings[0]
            );
            assert!(
                warnings[0].contains("OTLPKIT_TAIL_SAMPLING_RATIO"),
                "{}",
                warnings[0]
            );
        }
        for pairs in [
            &[][..],
            &[("OTEL_TRACES_SAMPLER", "always_on")][..],
            &[
                ("OTEL_TRACES_SAMPLER", "parentbased_traceidratio"),
                ("OTEL_TRACES_SAMPLER_ARG", "1"),
            ][..],
            &[
                ("OTEL_SDK_DISABLED", "true"),
                ("OTEL_TRACES_SAMPLER", "always_off"),
            ][..],
        ] {
            assert_eq!(behind(pairs), Vec::<String>::new(), "{pairs:?}");
        }
        // Tail sampling off: a ratio head sampler is the usual setup.
        let env = MapEnv::from([
            ("OTEL_TRACES_SAMPLER", "traceidratio"),
            ("OTEL_TRACES_SAMPLER_ARG", "0.1"),
        ]);
        assert!(OtlpConfig::from_env(&env).unwrap().warnings.is_empty());
        // Set in code, it is said so.
        let resolved = OtlpConfig::builder()
            .with_sdk(
                SdkConfig::builder().with_sampler(crate::SamplerConfig::ratio(
                    Sampler::ParentBasedTraceIdRatio,
                    0.25,
                )),
            )
            .with_tail_sampling(TailSamplingConfig::builder().with_enabled(true))
            .build(&MapEnv::new())
            .unwrap();
        assert_eq!(resolved.warnings.len(), 1, "{:?}", resolved.warnings);
        assert!(
            resolved.warnings[0].to_string().contains("(set by code)"),
            "{}",
            resolved.warnings[0]
        );
    }

    #[test]
    fn a_warning_about_a_shared_variable_is_reported_once() {
        let env = MapEnv::from([("OTEL_EXPORTER_OTLP_TIMEOUT", "soon")]);
        let resolved = OtlpConfig::from_env(&env).unwrap();
        assert_eq!(resolved.warnings.len(), 1);
        assert!(matches!(
            resolved.warnings[0],
            ConfigWarning::InvalidValue {
                var: "OTEL_EXPORTER_OTLP_TIMEOUT",
                ..
            }
        ));
    }

    #[test]
    fn strict_on_one_part_makes_the_whole_build_strict() {
        let env = MapEnv::from([("OTEL_LOG_LEVEL", "loud")]);
        let error = OtlpConfig::builder()
            .with_batch(BatchConfig::spans().with_env_policy(EnvPolicy::Strict))
            .build(&env)
            .unwrap_err();
        assert!(matches!(error, ConfigError::Strict { .. }));
        let resolved = OtlpConfig::from_env(&env).unwrap();
        assert_eq!(resolved.value.sdk().sources().log_level, Source::Default);
    }
}
