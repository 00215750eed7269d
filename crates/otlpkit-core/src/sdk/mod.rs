//! General SDK settings: disabling, sampler, propagators, exporter selection,
//! limits and log level (checklist 4.4–4.9).
//!
//! This file holds [`SdkConfig`], its builder and [`SdkSources`], and resolves
//! the `OTEL_SDK_DISABLED` switch itself; each settings group lives in its own
//! file: `sampler.rs` (4.5), `propagators.rs` (4.6), `exporters.rs` (4.7),
//! `limits.rs` (4.8) and `log_level.rs` (4.9), with `list.rs` reading the
//! comma-separated list variables that propagators and exporters share.

use std::fmt;

use crate::env::{EnvPolicy, EnvSource};
use crate::error::ConfigError;
use crate::parse::EnvReader;
use crate::source::{Resolved, Source};
use crate::{Signal, vars};

mod exporters;
mod limits;
mod list;
mod log_level;
mod propagators;
mod sampler;

pub use exporters::ExporterKind;
pub use limits::{LimitKind, Limits};
pub use log_level::LogLevel;
pub use propagators::Propagator;
pub use sampler::{Sampler, SamplerArg, SamplerConfig};

pub(crate) use sampler::names_a_non_zero_number;

use exporters::resolve_exporters;
use limits::{LIMIT_COUNT, resolve_limits};
use list::dedup;
use propagators::resolve_propagators;
use sampler::resolve_sampler;

/// Where each [`SdkConfig`] option came from (limits: [`Limits::source`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct SdkSources {
    /// Of [`SdkConfig::disabled`].
    pub disabled: Source,
    /// Of [`SdkConfig::sampler`] (its argument included).
    pub sampler: Source,
    /// Of [`SdkConfig::propagators`].
    pub propagators: Source,
    /// Of [`SdkConfig::exporters`], per signal in [`Signal::ALL`] order.
    pub exporters: [Source; 3],
    /// Of [`SdkConfig::log_level`].
    pub log_level: Source,
}

/// The resolved general SDK settings.
#[derive(Clone, PartialEq)]
pub struct SdkConfig {
    disabled: bool,
    sampler: SamplerConfig,
    propagators: Vec<Propagator>,
    exporters: [Vec<ExporterKind>; 3],
    limits: Limits,
    log_level: LogLevel,
    sources: SdkSources,
}

impl fmt::Debug for SdkConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SdkConfig")
            .field("disabled", &self.disabled)
            .field("sampler", &self.sampler)
            .field("propagators", &self.propagators)
            .field("exporters", &self.exporters)
            .field("limits", &self.limits)
            .field("log_level", &self.log_level)
            .field("sources", &self.sources)
            .finish()
    }
}

impl SdkConfig {
    /// A builder.
    pub fn builder() -> SdkConfigBuilder {
        SdkConfigBuilder::default()
    }

    /// Whether the SDK is disabled for all signals (propagators still apply).
    pub fn disabled(&self) -> bool {
        self.disabled
    }

    /// The trace sampler.
    pub fn sampler(&self) -> &SamplerConfig {
        &self.sampler
    }

    /// Propagators, deduplicated in order; empty means `none`.
    pub fn propagators(&self) -> &[Propagator] {
        &self.propagators
    }

    /// Exporters selected for `signal`, deduplicated in order; empty means `none`.
    pub fn exporters(&self, signal: Signal) -> &[ExporterKind] {
        &self.exporters[signal.index()]
    }

    /// Attribute, span and log record limits.
    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    /// Level of the SDK's own diagnostics.
    pub fn log_level(&self) -> LogLevel {
        self.log_level
    }

    /// Where each option came from.
    pub fn sources(&self) -> &SdkSources {
        &self.sources
    }
}

/// Builds an [`SdkConfig`]: code > variable > default.
///
/// ```
/// use otlpkit_core::{MapEnv, Propagator, Sampler, SdkConfig, Signal};
///
/// let env = MapEnv::from([
///     ("OTEL_TRACES_SAMPLER", "parentbased_traceidratio"),
///     ("OTEL_TRACES_SAMPLER_ARG", "0.1"),
///     ("OTEL_PROPAGATORS", "b3,tracecontext,b3"),
///     ("OTEL_METRICS_EXPORTER", "none"),
/// ]);
/// let sdk = SdkConfig::builder().build(&env)?.into_value();
/// assert_eq!(sdk.sampler().sampler(), Sampler::ParentBasedTraceIdRatio);
/// assert_eq!(sdk.sampler().ratio_value(), Some(0.1));
/// assert_eq!(sdk.propagators(), [Propagator::B3, Propagator::TraceContext]);
/// assert!(sdk.exporters(Signal::Metrics).is_empty());
/// # Ok::<(), otlpkit_core::ConfigError>(())
/// ```
#[derive(Debug, Clone, Default)]
pub struct SdkConfigBuilder {
    disabled: Option<bool>,
    sampler: Option<SamplerConfig>,
    propagators: Option<Vec<Propagator>>,
    exporters: [Option<Vec<ExporterKind>>; 3],
    limits: [Option<Option<u32>>; LIMIT_COUNT],
    log_level: Option<LogLevel>,
    policy: EnvPolicy,
}

impl SdkConfigBuilder {
    /// Disables (or enables) the SDK.
    #[must_use]
    pub fn with_disabled(mut self, disabled: bool) -> Self {
        self.disabled = Some(disabled);
        self
    }

    /// The trace sampler; replaces `OTEL_TRACES_SAMPLER` and its argument.
    #[must_use]
    pub fn with_sampler(mut self, sampler: SamplerConfig) -> Self {
        self.sampler = Some(sampler);
        self
    }

    /// The propagators (deduplicated in order); an empty list means none.
    #[must_use]
    pub fn with_propagators(mut self, propagators: impl IntoIterator<Item = Propagator>) -> Self {
        self.propagators = Some(dedup(propagators));
        self
    }

    /// The exporters for `signal` (deduplicated in order); an empty list means none.
    #[must_use]
    pub fn with_exporters(
        mut self,
        signal: Signal,
        exporters: impl IntoIterator<Item = ExporterKind>,
    ) -> Self {
        self.exporters[signal.index()] = Some(dedup(exporters));
        self
    }

    /// One limit; `None` means no limit. A code value of a general limit
    /// (e.g. [`LimitKind::AttributeCount`]) is used by the model-specific
    /// limits that are not set more specifically.
    #[must_use]
    pub fn with_limit(mut self, kind: LimitKind, limit: Option<u32>) -> Self {
        self.limits[kind.index()] = Some(limit);
        self
    }

    /// Level of the SDK's own diagnostics.
    #[must_use]
    pub fn with_log_level(mut self, level: LogLevel) -> Self {
        self.log_level = Some(level);
        self
    }

    /// How warnings are treated.
    #[must_use]
    pub fn with_env_policy(mut self, policy: EnvPolicy) -> Self {
        self.policy = policy;
        self
    }

    pub(crate) fn env_policy(&self) -> EnvPolicy {
        self.policy
    }

    /// Resolves the configuration.
    pub fn build<E: EnvSource + ?Sized>(self, env: &E) -> Result<Resolved<SdkConfig>, ConfigError> {
        let env: &dyn EnvSource = &env;
        let policy = self.policy;
        let mut reader = EnvReader::new(env);
        let config = self.resolve(&mut reader)?;
        reader.finish(config, policy)
    }

    pub(crate) fn resolve(self, reader: &mut EnvReader<'_>) -> Result<SdkConfig, ConfigError> {
        if let Some(sampler) = &self.sampler {
            sampler.validate()?;
        }

        // checklist 4.4
        let (disabled, disabled_source) = reader.single(
            self.disabled,
            vars::OTEL_SDK_DISABLED,
            || false,
            |r, v| r.bool(v),
        );

        // checklist 4.5
        let (sampler, sampler_source) = match self.sampler {
            Some(sampler) => (sampler, Source::Code),
            None => resolve_sampler(reader),
        };

        // checklist 4.6
        let (propagators, propagators_source) = match self.propagators {
            Some(list) => (list, Source::Code),
            None => resolve_propagators(reader),
        };

        // checklist 4.7
        let mut exporters: [Vec<ExporterKind>; 3] = Default::default();
        let mut exporters_source = [Source::Default; 3];
        for (signal, code) in Signal::ALL.iter().zip(self.exporters) {
            let (list, source) = match code {
                Some(list) => (list, Source::Code),
                None => resolve_exporters(reader, *signal),
            };
            exporters[signal.index()] = list;
            exporters_source[signal.index()] = source;
        }

        // checklist 4.8
        let limits = resolve_limits(self.limits, reader);

        // checklist 4.9
        let (log_level, log_level_source) = reader.single(
            self.log_level,
            vars::OTEL_LOG_LEVEL,
            LogLevel::default,
            |r, v| r.parse_enum(v),
        );

        Ok(SdkConfig {
            disabled,
            sampler,
            propagators,
            exporters,
            limits,
            log_level,
            sources: SdkSources {
                disabled: disabled_source,
                sampler: sampler_source,
                propagators: propagators_source,
                exporters: exporters_source,
                log_level: log_level_source,
            },
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::MapEnv;

    /// Resolves the SDK settings from `env` alone; shared by the tests of
    /// every settings file.
    pub(super) fn sdk(env: &MapEnv) -> Resolved<SdkConfig> {
        SdkConfig::builder().build(env).unwrap()
    }

    #[test]
    fn sdk_disabled_is_true_only_for_true() {
        // checklist 4.4
        assert!(!sdk(&MapEnv::new()).value.disabled());
        assert!(
            sdk(&MapEnv::from([("OTEL_SDK_DISABLED", "TRUE")]))
                .value
                .disabled()
        );
        let resolved = sdk(&MapEnv::from([("OTEL_SDK_DISABLED", "1")]));
        assert!(!resolved.value.disabled());
        assert_eq!(resolved.warnings.len(), 1);
    }

    #[test]
    fn sdk_disabled_leaves_propagators_configured() {
        // checklist 4.4: propagators are unaffected.
        let env = MapEnv::from([("OTEL_SDK_DISABLED", "true"), ("OTEL_PROPAGATORS", "b3")]);
        let config = sdk(&env).value;
        assert!(config.disabled());
        assert_eq!(config.propagators(), [Propagator::B3]);
    }

    #[test]
    fn code_settings_win_for_every_sdk_option() {
        // checklist 1.19: every variable has a code equivalent that wins.
        let env = MapEnv::from([
            ("OTEL_SDK_DISABLED", "true"),
            ("OTEL_PROPAGATORS", "b3"),
            ("OTEL_TRACES_EXPORTER", "console"),
            ("OTEL_LOG_LEVEL", "debug"),
        ]);
        let config = SdkConfig::builder()
            .with_disabled(false)
            .with_propagators([Propagator::Baggage, Propagator::Baggage])
            .with_exporters(Signal::Traces, [])
            .with_log_level(LogLevel::Error)
            .build(&env)
            .unwrap()
            .value;
        assert!(!config.disabled());
        assert_eq!(config.propagators(), [Propagator::Baggage]);
        assert!(config.exporters(Signal::Traces).is_empty());
        assert_eq!(config.log_level(), LogLevel::Error);
        assert_eq!(config.sources().disabled, Source::Code);
        assert_eq!(config.sources().exporters[0], Source::Code);
    }
}
