//! Tail sampling configuration: the `OTLPKIT_TAIL_SAMPLING*` variables and
//! their code equivalents. The stage itself is `otlpkit_batch::tail`.

use std::time::Duration;

use crate::env::{EnvPolicy, EnvSource};
use crate::error::{ConfigError, ConfigWarning, Origin};
use crate::parse::EnvReader;
use crate::source::{Resolved, Source};
use crate::vars;

/// The value of `OTLPKIT_TAIL_SAMPLING`: `on` | `off` (also `true`, `false`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Switch {
    On,
    Off,
}

impl std::str::FromStr for Switch {
    type Err = crate::ParseEnumError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let t = s.trim();
        if t.eq_ignore_ascii_case("on") || t.eq_ignore_ascii_case("true") {
            Ok(Switch::On)
        } else if t.eq_ignore_ascii_case("off") || t.eq_ignore_ascii_case("false") {
            Ok(Switch::Off)
        } else {
            Err(crate::ParseEnumError::new(
                "tail sampling switch",
                s,
                "on | off",
            ))
        }
    }
}

/// Where each [`TailSamplingConfig`] option came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct TailSamplingSources {
    /// Of [`TailSamplingConfig::enabled`].
    pub enabled: Source,
    /// Of [`TailSamplingConfig::latency_threshold`].
    pub latency_threshold: Source,
    /// Of [`TailSamplingConfig::ratio`].
    pub ratio: Source,
    /// Of [`TailSamplingConfig::decision_wait`].
    pub decision_wait: Source,
    /// Of [`TailSamplingConfig::max_traces`].
    pub max_traces: Source,
}

/// The resolved settings of the tail-sampling stage: which traces to keep
/// whole (any span with an error status, any span slower than the latency
/// threshold, a trace whose incoming parent was sampled upstream, a ratio of
/// the rest chosen on the trace id), how long to wait for a trace's local
/// root, and the bounds on what is held meanwhile.
#[derive(Debug, Clone, PartialEq)]
pub struct TailSamplingConfig {
    enabled: bool,
    latency_threshold: Option<Duration>,
    ratio: f64,
    decision_wait: Duration,
    max_traces: usize,
    max_spans_per_trace: usize,
    keep_parent_sampled: bool,
    sources: TailSamplingSources,
}

impl Default for TailSamplingConfig {
    fn default() -> Self {
        Self {
            enabled: false,
            latency_threshold: Some(Self::DEFAULT_LATENCY_THRESHOLD),
            ratio: Self::DEFAULT_RATIO,
            decision_wait: Self::DEFAULT_DECISION_WAIT,
            max_traces: Self::DEFAULT_MAX_TRACES,
            max_spans_per_trace: Self::DEFAULT_MAX_SPANS_PER_TRACE,
            keep_parent_sampled: true,
            sources: TailSamplingSources {
                enabled: Source::Default,
                latency_threshold: Source::Default,
                ratio: Source::Default,
                decision_wait: Source::Default,
                max_traces: Source::Default,
            },
        }
    }
}

impl TailSamplingConfig {
    /// A trace with a span (or a local root still open) longer than this is
    /// kept: 1 s.
    pub const DEFAULT_LATENCY_THRESHOLD: Duration = Duration::from_secs(1);
    /// The ratio of the other traces kept: 0.1.
    pub const DEFAULT_RATIO: f64 = 0.1;
    /// How long a trace is held at most before it is decided without its
    /// local root: 30 s.
    pub const DEFAULT_DECISION_WAIT: Duration = Duration::from_secs(30);
    /// Undecided traces held at once: 10,000.
    pub const DEFAULT_MAX_TRACES: usize = 10_000;
    /// Spans held per undecided trace: 1,000.
    pub const DEFAULT_MAX_SPANS_PER_TRACE: usize = 1_000;

    /// A builder (tail sampling off unless enabled in code or by
    /// `OTLPKIT_TAIL_SAMPLING=on`).
    pub fn builder() -> TailSamplingConfigBuilder {
        TailSamplingConfigBuilder::default()
    }

    /// Whether the stage is on (`OTLPKIT_TAIL_SAMPLING`, default off).
    pub fn enabled(&self) -> bool {
        self.enabled
    }

    /// The latency threshold (`OTLPKIT_TAIL_SAMPLING_LATENCY_MS`); `None`
    /// when the latency policy is off.
    pub fn latency_threshold(&self) -> Option<Duration> {
        self.latency_threshold
    }

    /// The ratio of the remaining traces kept, in `[0, 1]`
    /// (`OTLPKIT_TAIL_SAMPLING_RATIO`), decided on the trace id exactly as
    /// the SDK's `TraceIdRatioBased` sampler decides.
    pub fn ratio(&self) -> f64 {
        self.ratio
    }

    /// The longest a trace is held waiting for its local root
    /// (`OTLPKIT_TAIL_SAMPLING_DECISION_WAIT_MS`).
    pub fn decision_wait(&self) -> Duration {
        self.decision_wait
    }

    /// Undecided traces held at once (`OTLPKIT_TAIL_SAMPLING_MAX_TRACES`);
    /// above it the oldest is decided early.
    pub fn max_traces(&self) -> usize {
        self.max_traces
    }

    /// Spans held per undecided trace (code only); a trace that reaches it
    /// is decided early.
    pub fn max_spans_per_trace(&self) -> usize {
        self.max_spans_per_trace
    }

    /// Whether a trace whose incoming (remote) parent was sampled upstream
    /// is always kept (code only, default true).
    pub fn keep_parent_sampled(&self) -> bool {
        self.keep_parent_sampled
    }

    /// Where each option came from.
    pub fn sources(&self) -> &TailSamplingSources {
        &self.sources
    }
}

/// Builds a [`TailSamplingConfig`]: code > `OTLPKIT_TAIL_SAMPLING*` >
/// defaults.
///
/// ```
/// use std::time::Duration;
/// use otlpkit_core::{MapEnv, TailSamplingConfig};
///
/// let env = MapEnv::from([
///     ("OTLPKIT_TAIL_SAMPLING", "on"),
///     ("OTLPKIT_TAIL_SAMPLING_LATENCY_MS", "250"),
/// ]);
/// let config = TailSamplingConfig::builder().with_ratio(0.0).build(&env)?.into_value();
/// assert!(config.enabled());
/// assert_eq!(config.latency_threshold(), Some(Duration::from_millis(250)));
/// assert_eq!(config.ratio(), 0.0);
/// # Ok::<(), otlpkit_core::ConfigError>(())
/// ```
#[derive(Debug, Clone, Default)]
pub struct TailSamplingConfigBuilder {
    enabled: Option<bool>,
    latency_threshold: Option<Option<Duration>>,
    ratio: Option<f64>,
    decision_wait: Option<Duration>,
    max_traces: Option<usize>,
    max_spans_per_trace: Option<usize>,
    keep_parent_sampled: Option<bool>,
    policy: EnvPolicy,
}

impl TailSamplingConfigBuilder {
    /// Turns the stage on or off.
    #[must_use]
    pub fn with_enabled(mut self, enabled: bool) -> Self {
        self.enabled = Some(enabled);
        self
    }

    /// Keep a trace with a span slower than `threshold` (positive); `None`
    /// turns the latency policy off. A trace is held at most this long (or
    /// the decision wait, if shorter); the stage decides held traces at
    /// most once a millisecond, so below 1 ms they are decided up to 1 ms
    /// late.
    #[must_use]
    pub fn with_latency_threshold(mut self, threshold: Option<Duration>) -> Self {
        self.latency_threshold = Some(threshold);
        self
    }

    /// The ratio, in `[0, 1]`, of the traces no other policy keeps that are
    /// kept anyway.
    #[must_use]
    pub fn with_ratio(mut self, ratio: f64) -> Self {
        self.ratio = Some(ratio);
        self
    }

    /// The longest a trace is held waiting for its local root (positive;
    /// the stage decides held traces at most once a millisecond).
    #[must_use]
    pub fn with_decision_wait(mut self, wait: Duration) -> Self {
        self.decision_wait = Some(wait);
        self
    }

    /// Undecided traces held at once (positive).
    #[must_use]
    pub fn with_max_traces(mut self, n: usize) -> Self {
        self.max_traces = Some(n);
        self
    }

    /// Spans held per undecided trace (positive).
    #[must_use]
    pub fn with_max_spans_per_trace(mut self, n: usize) -> Self {
        self.max_spans_per_trace = Some(n);
        self
    }

    /// Whether a trace whose incoming parent was sampled upstream is always
    /// kept (default true).
    #[must_use]
    pub fn with_keep_parent_sampled(mut self, keep: bool) -> Self {
        self.keep_parent_sampled = Some(keep);
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
    ) -> Result<Resolved<TailSamplingConfig>, ConfigError> {
        let env: &dyn EnvSource = &env;
        let policy = self.policy;
        let mut reader = EnvReader::new(env);
        let config = self.resolve(&mut reader)?;
        reader.finish(config, policy)
    }

    pub(crate) fn resolve(
        self,
        reader: &mut EnvReader<'_>,
    ) -> Result<TailSamplingConfig, ConfigError> {
        self.check_code()?;
        let defaults = TailSamplingConfig::default();
        let (enabled, enabled_source) = reader.single(
            self.enabled,
            vars::OTLPKIT_TAIL_SAMPLING,
            || false,
            |r, var| r.parse_enum::<Switch>(var).map(|s| s == Switch::On),
        );
        let tuning = [
            vars::OTLPKIT_TAIL_SAMPLING_LATENCY_MS,
            vars::OTLPKIT_TAIL_SAMPLING_RATIO,
            vars::OTLPKIT_TAIL_SAMPLING_DECISION_WAIT_MS,
            vars::OTLPKIT_TAIL_SAMPLING_MAX_TRACES,
        ];
        if !enabled {
            for var in tuning {
                if reader.raw(var).is_some() {
                    reader.warn(ConfigWarning::Ignored {
                        var,
                        reason: "tail sampling is off (OTLPKIT_TAIL_SAMPLING=on turns it on)",
                    });
                }
            }
        }
        // Off, the tuning variables are not read: their warnings above say why.
        let read = enabled;

        let (latency_threshold, latency_source) = reader.single(
            self.latency_threshold,
            vars::OTLPKIT_TAIL_SAMPLING_LATENCY_MS,
            || defaults.latency_threshold,
            // 0 turns the policy off: every span would be "slow".
            |r, var| {
                read.then(|| r.duration(var, 0))
                    .flatten()
                    .map(|d| Some(d).filter(|d| !d.is_zero()))
            },
        );
        let (ratio, ratio_source) = reader.single(
            self.ratio,
            vars::OTLPKIT_TAIL_SAMPLING_RATIO,
            || defaults.ratio,
            |r, var| read.then(|| ratio(r, var)).flatten(),
        );
        let (decision_wait, wait_source) = reader.single(
            self.decision_wait,
            vars::OTLPKIT_TAIL_SAMPLING_DECISION_WAIT_MS,
            || defaults.decision_wait,
            |r, var| read.then(|| r.duration(var, 1)).flatten(),
        );
        let (max_traces, max_traces_source) = reader.single(
            self.max_traces,
            vars::OTLPKIT_TAIL_SAMPLING_MAX_TRACES,
            || defaults.max_traces,
            |r, var| {
                read.then(|| r.int(var, 1))
                    .flatten()
                    .and_then(|n| usize::try_from(n).ok())
            },
        );
        Ok(TailSamplingConfig {
            enabled,
            latency_threshold,
            ratio,
            decision_wait,
            max_traces,
            max_spans_per_trace: self
                .max_spans_per_trace
                .unwrap_or(defaults.max_spans_per_trace),
            keep_parent_sampled: self
                .keep_parent_sampled
                .unwrap_or(defaults.keep_parent_sampled),
            sources: TailSamplingSources {
                enabled: enabled_source,
                latency_threshold: latency_source,
                ratio: ratio_source,
                decision_wait: wait_source,
                max_traces: max_traces_source,
            },
        })
    }

    /// Values set in code are errors when invalid, naming the method.
    fn check_code(&self) -> Result<(), ConfigError> {
        let invalid = |method, value: String, reason| {
            Err(ConfigError::InvalidValue {
                origin: Origin::Builder(method),
                value,
                reason,
            })
        };
        if let Some(ratio) = self.ratio
            && !(0.0..=1.0).contains(&ratio)
        {
            return invalid(
                "TailSamplingConfigBuilder::with_ratio",
                ratio.to_string(),
                "the ratio must be in [0, 1]",
            );
        }
        if let Some(Some(threshold)) = self.latency_threshold
            && threshold.is_zero()
        {
            return invalid(
                "TailSamplingConfigBuilder::with_latency_threshold",
                "0s".to_owned(),
                "a zero threshold keeps every trace; pass None to turn the latency policy off",
            );
        }
        if self.decision_wait.is_some_and(|wait| wait.is_zero()) {
            return invalid(
                "TailSamplingConfigBuilder::with_decision_wait",
                "0s".to_owned(),
                "the decision wait must be positive",
            );
        }
        for (n, method) in [
            (
                self.max_traces,
                "TailSamplingConfigBuilder::with_max_traces",
            ),
            (
                self.max_spans_per_trace,
                "TailSamplingConfigBuilder::with_max_spans_per_trace",
            ),
        ] {
            if n == Some(0) {
                return invalid(method, "0".to_owned(), "must be positive");
            }
        }
        Ok(())
    }
}

/// A ratio in `[0, 1]`; anything else is a warning and ignored.
fn ratio(reader: &mut EnvReader<'_>, var: &'static str) -> Option<f64> {
    let text = reader.trimmed(var)?;
    match text.parse::<f64>() {
        Ok(ratio) if (0.0..=1.0).contains(&ratio) => {
            if ratio == 0.0 && crate::sdk::names_a_non_zero_number(&text) {
                reader.warn(ConfigWarning::Rounded {
                    var,
                    value: text,
                    used: "0".to_owned(),
                    consequence: "only traces another policy keeps are kept",
                });
            }
            Some(ratio)
        }
        _ => {
            reader.warn(ConfigWarning::InvalidValue {
                var,
                value: text,
                expected: "a ratio in [0, 1]",
                instead: None,
            });
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::MapEnv;

    fn resolve(pairs: &[(&str, &str)]) -> Resolved<TailSamplingConfig> {
        let env: MapEnv = pairs.iter().copied().collect();
        TailSamplingConfig::builder().build(&env).unwrap()
    }

    #[test]
    fn off_by_default_with_the_documented_defaults() {
        let resolved = resolve(&[]);
        assert!(resolved.warnings.is_empty());
        let config = resolved.value;
        assert!(!config.enabled());
        assert_eq!(config.latency_threshold(), Some(Duration::from_secs(1)));
        assert_eq!(config.ratio(), 0.1);
        assert_eq!(config.decision_wait(), Duration::from_secs(30));
        assert_eq!(config.max_traces(), 10_000);
        assert_eq!(config.max_spans_per_trace(), 1_000);
        assert!(config.keep_parent_sampled());
        assert_eq!(config.sources().enabled, Source::Default);
    }

    #[test]
    fn every_variable_is_read_when_on() {
        let config = resolve(&[
            ("OTLPKIT_TAIL_SAMPLING", "ON"),
            ("OTLPKIT_TAIL_SAMPLING_LATENCY_MS", "250"),
            ("OTLPKIT_TAIL_SAMPLING_RATIO", "0"),
            ("OTLPKIT_TAIL_SAMPLING_DECISION_WAIT_MS", "20"),
            ("OTLPKIT_TAIL_SAMPLING_MAX_TRACES", "64"),
        ])
        .value;
        assert!(config.enabled());
        assert_eq!(config.latency_threshold(), Some(Duration::from_millis(250)));
        assert_eq!(config.ratio(), 0.0);
        assert_eq!(config.decision_wait(), Duration::from_millis(20));
        assert_eq!(config.max_traces(), 64);
        assert_eq!(
            config.sources().ratio,
            Source::Env("OTLPKIT_TAIL_SAMPLING_RATIO")
        );
        let off = resolve(&[
            ("OTLPKIT_TAIL_SAMPLING", "true"),
            ("OTLPKIT_TAIL_SAMPLING_LATENCY_MS", "0"),
        ])
        .value;
        assert_eq!(off.latency_threshold(), None, "0 turns the policy off");
    }

    #[test]
    fn invalid_values_are_ignored_with_warnings_naming_variable_and_value() {
        let resolved = resolve(&[
            ("OTLPKIT_TAIL_SAMPLING", "on"),
            ("OTLPKIT_TAIL_SAMPLING_LATENCY_MS", "-5"),
            ("OTLPKIT_TAIL_SAMPLING_RATIO", "1.5"),
            ("OTLPKIT_TAIL_SAMPLING_DECISION_WAIT_MS", "0"),
            ("OTLPKIT_TAIL_SAMPLING_MAX_TRACES", "lots"),
        ]);
        let config = resolved.value;
        assert_eq!(config.latency_threshold(), Some(Duration::from_secs(1)));
        assert_eq!(config.ratio(), 0.1);
        assert_eq!(config.decision_wait(), Duration::from_secs(30));
        assert_eq!(config.max_traces(), 10_000);
        let texts: Vec<String> = resolved.warnings.iter().map(|w| w.to_string()).collect();
        assert_eq!(texts.len(), 4, "{texts:?}");
        for (var, value) in [
            ("LATENCY_MS", "\"-5\""),
            ("RATIO", "\"1.5\""),
            ("DECISION_WAIT_MS", "\"0\""),
            ("MAX_TRACES", "\"lots\""),
        ] {
            assert!(
                texts
                    .iter()
                    .any(|t| t.contains(&format!("OTLPKIT_TAIL_SAMPLING_{var}={value}"))),
                "{var}: {texts:?}"
            );
        }
        let unknown = resolve(&[("OTLPKIT_TAIL_SAMPLING", "maybe")]);
        assert!(!unknown.value.enabled());
        assert_eq!(unknown.warnings[0].var(), "OTLPKIT_TAIL_SAMPLING");
        let tiny = resolve(&[
            ("OTLPKIT_TAIL_SAMPLING", "on"),
            ("OTLPKIT_TAIL_SAMPLING_RATIO", "1e-400"),
        ]);
        assert_eq!(tiny.value.ratio(), 0.0);
        assert!(matches!(tiny.warnings[..], [ConfigWarning::Rounded { .. }]));
    }

    #[test]
    fn tuning_variables_are_ignored_with_a_warning_while_off() {
        let resolved = resolve(&[
            ("OTLPKIT_TAIL_SAMPLING_RATIO", "0.5"),
            ("OTLPKIT_TAIL_SAMPLING_MAX_TRACES", "5"),
        ]);
        assert!(!resolved.value.enabled());
        assert_eq!(resolved.value.ratio(), 0.1);
        let vars: Vec<_> = resolved.warnings.iter().map(ConfigWarning::var).collect();
        assert_eq!(
            vars,
            [
                "OTLPKIT_TAIL_SAMPLING_RATIO",
                "OTLPKIT_TAIL_SAMPLING_MAX_TRACES"
            ]
        );
        // Enabled in code, the variables apply.
        let env = MapEnv::from([("OTLPKIT_TAIL_SAMPLING_RATIO", "0.5")]);
        let on = TailSamplingConfig::builder()
            .with_enabled(true)
            .build(&env)
            .unwrap();
        assert!(on.warnings.is_empty());
        assert_eq!(on.value.ratio(), 0.5);
    }

    #[test]
    fn code_wins_and_invalid_code_values_are_errors_naming_the_method() {
        let env = MapEnv::from([
            ("OTLPKIT_TAIL_SAMPLING", "off"),
            ("OTLPKIT_TAIL_SAMPLING_RATIO", "0.5"),
        ]);
        let config = TailSamplingConfig::builder()
            .with_enabled(true)
            .with_ratio(0.25)
            .with_latency_threshold(None)
            .with_decision_wait(Duration::from_millis(5))
            .with_max_traces(3)
            .with_max_spans_per_trace(2)
            .with_keep_parent_sampled(false)
            .build(&env)
            .unwrap()
            .value;
        assert!(config.enabled());
        assert_eq!(config.ratio(), 0.25);
        assert_eq!(config.latency_threshold(), None);
        assert_eq!(config.decision_wait(), Duration::from_millis(5));
        assert_eq!((config.max_traces(), config.max_spans_per_trace()), (3, 2));
        assert!(!config.keep_parent_sampled());
        assert_eq!(config.sources().ratio, Source::Code);

        let cases: [(TailSamplingConfigBuilder, &str); 6] = [
            (TailSamplingConfig::builder().with_ratio(1.5), "with_ratio"),
            (
                TailSamplingConfig::builder().with_ratio(f64::NAN),
                "with_ratio",
            ),
            (
                TailSamplingConfig::builder().with_latency_threshold(Some(Duration::ZERO)),
                "with_latency_threshold",
            ),
            (
                TailSamplingConfig::builder().with_decision_wait(Duration::ZERO),
                "with_decision_wait",
            ),
            (
                TailSamplingConfig::builder().with_max_traces(0),
                "with_max_traces",
            ),
            (
                TailSamplingConfig::builder().with_max_spans_per_trace(0),
                "with_max_spans_per_trace",
            ),
        ];
        for (builder, method) in cases {
            let error = builder.build(&MapEnv::new()).unwrap_err();
            assert!(error.to_string().contains(method), "{error}");
        }
    }
}
