//! Settings of otlpkit's own behaviour, outside the specification: the
//! console output `otlpkit::init()` keeps, and whether otlpkit exports
//! metrics about itself.

use crate::env::{EnvPolicy, EnvSource};
use crate::error::ConfigError;
use crate::parse::{EnvReader, spec_enum};
use crate::source::{Resolved, Source};
use crate::vars;

spec_enum! {
    /// How `otlpkit::init()` prints `tracing` events on the console
    /// (standard error), beside exporting them.
    #[derive(Default)]
    pub enum ConsoleFormat ("console format", expected = "full | compact | pretty | json | off") {
        /// One line per event, `tracing-subscriber`'s default (the default).
        #[default]
        Full = "full",
        /// Shorter lines.
        Compact = "compact",
        /// Multi-line, human-oriented output.
        Pretty = "pretty",
        /// One JSON object per line (needs the facade's `json-logs` feature).
        Json = "json",
        /// Nothing on the console: telemetry goes to OpenTelemetry only.
        Off = "off" | "none",
    }
}

/// Where each [`ToolkitConfig`] option came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct ToolkitSources {
    /// Of [`ToolkitConfig::console`].
    pub console: Source,
    /// Of [`ToolkitConfig::self_metrics`].
    pub self_metrics: Source,
}

/// The resolved settings of otlpkit's own behaviour.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ToolkitConfig {
    console: ConsoleFormat,
    self_metrics: bool,
    sources: ToolkitSources,
}

impl ToolkitConfig {
    /// A builder.
    pub fn builder() -> ToolkitConfigBuilder {
        ToolkitConfigBuilder::default()
    }

    /// The console output (`OTLPKIT_LOG_FORMAT`, default `full`).
    pub fn console(&self) -> ConsoleFormat {
        self.console
    }

    /// Whether otlpkit exports its own `otlpkit.exporter.*` metrics
    /// (`OTLPKIT_SELF_METRICS`, default off).
    pub fn self_metrics(&self) -> bool {
        self.self_metrics
    }

    /// Where each option came from.
    pub fn sources(&self) -> &ToolkitSources {
        &self.sources
    }
}

/// Builds a [`ToolkitConfig`]: code > `OTLPKIT_LOG_FORMAT`,
/// `OTLPKIT_SELF_METRICS` > defaults.
///
/// ```
/// use otlpkit_core::{ConsoleFormat, MapEnv, ToolkitConfig};
///
/// let env = MapEnv::from([("OTLPKIT_LOG_FORMAT", "JSON"), ("OTLPKIT_SELF_METRICS", "true")]);
/// let config = ToolkitConfig::builder().build(&env)?.into_value();
/// assert_eq!(config.console(), ConsoleFormat::Json);
/// assert!(config.self_metrics());
/// # Ok::<(), otlpkit_core::ConfigError>(())
/// ```
#[derive(Debug, Clone, Default)]
pub struct ToolkitConfigBuilder {
    console: Option<ConsoleFormat>,
    self_metrics: Option<bool>,
    policy: EnvPolicy,
}

impl ToolkitConfigBuilder {
    /// The console output.
    #[must_use]
    pub fn with_console(mut self, format: ConsoleFormat) -> Self {
        self.console = Some(format);
        self
    }

    /// Whether otlpkit exports metrics about itself.
    #[must_use]
    pub fn with_self_metrics(mut self, enabled: bool) -> Self {
        self.self_metrics = Some(enabled);
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
    pub fn build<E: EnvSource + ?Sized>(
        self,
        env: &E,
    ) -> Result<Resolved<ToolkitConfig>, ConfigError> {
        let env: &dyn EnvSource = &env;
        let policy = self.policy;
        let mut reader = EnvReader::new(env);
        let config = self.resolve(&mut reader);
        reader.finish(config, policy)
    }

    pub(crate) fn resolve(self, reader: &mut EnvReader<'_>) -> ToolkitConfig {
        let (console, console_source) = reader.single(
            self.console,
            vars::OTLPKIT_LOG_FORMAT,
            ConsoleFormat::default,
            |r, var| r.parse_enum(var),
        );
        let (self_metrics, self_metrics_source) = reader.single(
            self.self_metrics,
            vars::OTLPKIT_SELF_METRICS,
            || false,
            |r, var| r.bool(var),
        );
        ToolkitConfig {
            console,
            self_metrics,
            sources: ToolkitSources {
                console: console_source,
                self_metrics: self_metrics_source,
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::MapEnv;

    #[test]
    fn defaults_keep_the_console_and_leave_self_metrics_off() {
        let config = ToolkitConfig::builder()
            .build(&MapEnv::new())
            .unwrap()
            .into_value();
        assert_eq!(config.console(), ConsoleFormat::Full);
        assert!(!config.self_metrics());
        assert_eq!(config.sources().console, Source::Default);
    }

    #[test]
    fn code_wins_and_a_typo_says_what_is_used() {
        let env = MapEnv::from([
            ("OTLPKIT_LOG_FORMAT", "jsn"),
            ("OTLPKIT_SELF_METRICS", "on"),
        ]);
        let resolved = ToolkitConfig::builder().build(&env).unwrap();
        assert_eq!(resolved.value.console(), ConsoleFormat::Full);
        assert!(!resolved.value.self_metrics(), "only `true` is true");
        let text: Vec<String> = resolved.warnings.iter().map(ToString::to_string).collect();
        assert!(
            text.iter().any(|w| w.contains("using full (the default)")),
            "{text:?}"
        );
        let code = ToolkitConfig::builder()
            .with_console(ConsoleFormat::Off)
            .with_self_metrics(true)
            .build(&env)
            .unwrap()
            .into_value();
        assert_eq!(
            (code.console(), code.self_metrics()),
            (ConsoleFormat::Off, true)
        );
        assert_eq!(code.sources().self_metrics, Source::Code);
    }
}
