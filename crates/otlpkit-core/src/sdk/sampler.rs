//! The trace sampler (checklist 4.5): [`Sampler`], its argument
//! [`SamplerArg`], the pair [`SamplerConfig`], and how `OTEL_TRACES_SAMPLER`
//! and `OTEL_TRACES_SAMPLER_ARG` resolve into them.

use crate::error::{ConfigError, ConfigWarning, Origin};
use crate::parse::{EnvReader, spec_enum};
use crate::source::Source;
use crate::vars;

spec_enum! {
    /// `OTEL_TRACES_SAMPLER` values (checklist 4.5).
    #[derive(Default)]
    pub enum Sampler ("sampler", expected = "always_on | always_off | traceidratio | parentbased_always_on | parentbased_always_off | parentbased_traceidratio | parentbased_jaeger_remote | jaeger_remote | xray") {
        /// Sample everything.
        AlwaysOn = "always_on",
        /// Sample nothing.
        AlwaysOff = "always_off",
        /// Sample a ratio of trace ids.
        TraceIdRatio = "traceidratio",
        /// Follow the parent; sample every root (the default).
        #[default]
        ParentBasedAlwaysOn = "parentbased_always_on",
        /// Follow the parent; sample no root.
        ParentBasedAlwaysOff = "parentbased_always_off",
        /// Follow the parent; sample a ratio of roots.
        ParentBasedTraceIdRatio = "parentbased_traceidratio",
        /// Follow the parent; Jaeger remote sampling for roots.
        ParentBasedJaegerRemote = "parentbased_jaeger_remote",
        /// Jaeger remote sampling.
        JaegerRemote = "jaeger_remote",
        /// AWS X-Ray centralized sampling.
        XRay = "xray",
    }
}

impl Sampler {
    /// Whether the sampler takes a ratio argument.
    pub const fn takes_ratio(self) -> bool {
        matches!(
            self,
            Sampler::TraceIdRatio | Sampler::ParentBasedTraceIdRatio
        )
    }

    /// Whether the sampler takes a Jaeger remote argument.
    pub const fn takes_jaeger_remote_arg(self) -> bool {
        matches!(
            self,
            Sampler::JaegerRemote | Sampler::ParentBasedJaegerRemote
        )
    }
}

/// The argument of a sampler (`OTEL_TRACES_SAMPLER_ARG`).
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum SamplerArg {
    /// No argument.
    None,
    /// Sampling probability in `[0, 1]` for the ratio samplers.
    Ratio(f64),
    /// The Jaeger remote argument, kept as given
    /// (`endpoint=…,pollingIntervalMs=…,initialSamplingRate=…`).
    JaegerRemote(String),
}

/// A sampler with its argument.
///
/// ```
/// use otlpkit_core::{Sampler, SamplerConfig};
///
/// let sampler = SamplerConfig::new(Sampler::TraceIdRatio);
/// assert_eq!(sampler.ratio_value(), Some(1.0));
/// let sampler = SamplerConfig::ratio(Sampler::ParentBasedTraceIdRatio, 0.25);
/// assert_eq!(sampler.ratio_value(), Some(0.25));
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct SamplerConfig {
    sampler: Sampler,
    arg: SamplerArg,
}

impl Default for SamplerConfig {
    fn default() -> Self {
        Self::new(Sampler::default())
    }
}

impl SamplerConfig {
    /// `sampler` with its default argument (ratio 1.0 for the ratio samplers).
    pub fn new(sampler: Sampler) -> Self {
        let arg = if sampler.takes_ratio() {
            SamplerArg::Ratio(1.0)
        } else {
            SamplerArg::None
        };
        Self { sampler, arg }
    }

    /// A ratio sampler with `ratio` (validated by the SDK builder: `[0, 1]`).
    pub fn ratio(sampler: Sampler, ratio: f64) -> Self {
        Self {
            sampler,
            arg: SamplerArg::Ratio(ratio),
        }
    }

    /// Replaces the argument (validated by the SDK builder).
    #[must_use]
    pub fn with_arg(mut self, arg: SamplerArg) -> Self {
        self.arg = arg;
        self
    }

    /// The sampler.
    pub fn sampler(&self) -> Sampler {
        self.sampler
    }

    /// The argument.
    pub fn arg(&self) -> &SamplerArg {
        &self.arg
    }

    /// The ratio, for the ratio samplers.
    pub fn ratio_value(&self) -> Option<f64> {
        match self.arg {
            SamplerArg::Ratio(ratio) => Some(ratio),
            _ => None,
        }
    }

    pub(super) fn validate(&self) -> Result<(), ConfigError> {
        let invalid = |value: String, reason| ConfigError::InvalidValue {
            origin: Origin::Builder("SdkConfigBuilder::with_sampler"),
            value,
            reason,
        };
        match (
            &self.arg,
            self.sampler.takes_ratio(),
            self.sampler.takes_jaeger_remote_arg(),
        ) {
            (SamplerArg::Ratio(r), true, _) if !(0.0..=1.0).contains(r) => Err(invalid(
                r.to_string(),
                "the sampling ratio must be in [0, 1]",
            )),
            (SamplerArg::Ratio(_), true, _)
            | (SamplerArg::JaegerRemote(_), _, true)
            | (SamplerArg::None, false, _) => Ok(()),
            (arg, _, _) => Err(invalid(
                format!("{} with {arg:?}", self.sampler),
                "this argument does not fit this sampler",
            )),
        }
    }
}

/// The sampler and its argument from `OTEL_TRACES_SAMPLER` and
/// `OTEL_TRACES_SAMPLER_ARG`, or the default when the sampler is unset or invalid.
pub(super) fn resolve_sampler(reader: &mut EnvReader<'_>) -> (SamplerConfig, Source) {
    let Some(sampler) = reader.parse_enum::<Sampler>(vars::OTEL_TRACES_SAMPLER) else {
        if reader.raw(vars::OTEL_TRACES_SAMPLER_ARG).is_some() {
            reader.warn(ConfigWarning::Ignored {
                var: vars::OTEL_TRACES_SAMPLER_ARG,
                reason: "only used when OTEL_TRACES_SAMPLER is set to a valid sampler",
            });
        }
        return (SamplerConfig::default(), Source::Default);
    };
    let source = Source::Env(vars::OTEL_TRACES_SAMPLER);
    let mut config = SamplerConfig::new(sampler);
    let Some(arg) = reader.trimmed(vars::OTEL_TRACES_SAMPLER_ARG) else {
        return (config, source);
    };
    if sampler.takes_ratio() {
        match arg.parse::<f64>() {
            Ok(ratio) if (0.0..=1.0).contains(&ratio) => {
                if ratio == 0.0 && names_a_non_zero_number(&arg) {
                    reader.warn(ConfigWarning::Rounded {
                        var: vars::OTEL_TRACES_SAMPLER_ARG,
                        value: arg.clone(),
                        used: "0".to_owned(),
                        consequence: "no trace will be sampled",
                    });
                }
                config.arg = SamplerArg::Ratio(ratio);
            }
            _ => reader.warn(ConfigWarning::InvalidValue {
                var: vars::OTEL_TRACES_SAMPLER_ARG,
                value: arg,
                expected: "a sampling probability in [0, 1]",
                instead: Some("1.0 (the default)".to_owned()),
            }),
        }
    } else if sampler.takes_jaeger_remote_arg() {
        config.arg = SamplerArg::JaegerRemote(arg);
    } else {
        reader.warn(ConfigWarning::Ignored {
            var: vars::OTEL_TRACES_SAMPLER_ARG,
            reason: "the selected sampler takes no argument",
        });
    }
    (config, source)
}

/// Whether a decimal number's digits (before any exponent) are not all
/// zero: `1e-400` names a non-zero number that parses to 0.
pub(crate) fn names_a_non_zero_number(text: &str) -> bool {
    text.trim()
        .chars()
        .take_while(|c| !matches!(c, 'e' | 'E'))
        .any(|c| matches!(c, '1'..='9'))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::MapEnv;
    use crate::sdk::SdkConfig;
    use crate::sdk::tests::sdk;

    #[test]
    fn default_sampler_is_parentbased_always_on() {
        // checklist 4.5
        let config = sdk(&MapEnv::new()).value;
        assert_eq!(config.sampler().sampler(), Sampler::ParentBasedAlwaysOn);
        assert_eq!(config.sampler().arg(), &SamplerArg::None);
        assert_eq!(config.sources().sampler, Source::Default);
    }

    #[test]
    fn every_spec_sampler_value_is_accepted_case_insensitively() {
        // checklist 4.5
        for sampler in Sampler::ALL {
            let upper = sampler.as_str().to_ascii_uppercase();
            let config = sdk(&MapEnv::from([("OTEL_TRACES_SAMPLER", upper.as_str())])).value;
            assert_eq!(config.sampler().sampler(), *sampler);
        }
        assert_eq!(Sampler::ALL.len(), 9);
    }

    #[test]
    fn sampler_ratio_argument_is_read_and_invalid_ratio_falls_back_to_one() {
        // checklist 4.5
        let env = MapEnv::from([
            ("OTEL_TRACES_SAMPLER", "traceidratio"),
            ("OTEL_TRACES_SAMPLER_ARG", "0.25"),
        ]);
        assert_eq!(sdk(&env).value.sampler().ratio_value(), Some(0.25));
        for bad in ["1.5", "-0.1", "half", "NaN"] {
            let env = MapEnv::from([
                ("OTEL_TRACES_SAMPLER", "parentbased_traceidratio"),
                ("OTEL_TRACES_SAMPLER_ARG", bad),
            ]);
            let resolved = sdk(&env);
            assert_eq!(resolved.value.sampler().ratio_value(), Some(1.0), "{bad}");
            assert!(matches!(
                &resolved.warnings[0],
                ConfigWarning::InvalidValue { var: "OTEL_TRACES_SAMPLER_ARG", value, .. } if value == bad
            ));
        }
    }

    // A ratio too small for a double is not silently zero.
    #[test]
    fn an_underflowing_ratio_warns_that_it_samples_nothing() {
        for (arg, warns) in [
            ("1e-400", true),
            ("0.0", false),
            ("0e5", false),
            ("1e-300", false),
        ] {
            let env = MapEnv::from([
                ("OTEL_TRACES_SAMPLER", "traceidratio"),
                ("OTEL_TRACES_SAMPLER_ARG", arg),
            ]);
            let resolved = sdk(&env);
            let rounded = resolved
                .warnings
                .iter()
                .any(|warning| matches!(warning, ConfigWarning::Rounded { .. }));
            assert_eq!(rounded, warns, "{arg}: {:?}", resolved.warnings);
            if warns {
                let text = resolved.warnings[0].to_string();
                assert!(text.contains("no trace will be sampled"), "{text}");
                assert_eq!(resolved.value.sampler().ratio_value(), Some(0.0));
            }
        }
    }

    #[test]
    fn sampler_arg_is_ignored_when_the_sampler_is_not_set() {
        // checklist 4.5
        let resolved = sdk(&MapEnv::from([("OTEL_TRACES_SAMPLER_ARG", "0.5")]));
        assert_eq!(
            resolved.value.sampler().sampler(),
            Sampler::ParentBasedAlwaysOn
        );
        assert_eq!(resolved.value.sampler().ratio_value(), None);
        assert_eq!(resolved.warnings[0].var(), "OTEL_TRACES_SAMPLER_ARG");
    }

    #[test]
    fn unknown_sampler_is_ignored_with_a_warning() {
        // checklist 4.5, 1.18
        let resolved = sdk(&MapEnv::from([
            ("OTEL_TRACES_SAMPLER", "sometimes"),
            ("OTEL_TRACES_SAMPLER_ARG", "0.5"),
        ]));
        assert_eq!(
            resolved.value.sampler().sampler(),
            Sampler::ParentBasedAlwaysOn
        );
        assert_eq!(resolved.warnings.len(), 2);
    }

    #[test]
    fn jaeger_remote_argument_is_kept_as_given() {
        // checklist 4.5
        let arg = "endpoint=http://localhost:14250,pollingIntervalMs=5000,initialSamplingRate=0.25";
        let env = MapEnv::from([
            ("OTEL_TRACES_SAMPLER", "parentbased_jaeger_remote"),
            ("OTEL_TRACES_SAMPLER_ARG", arg),
        ]);
        assert_eq!(
            sdk(&env).value.sampler().arg(),
            &SamplerArg::JaegerRemote(arg.to_owned())
        );
        let env = MapEnv::from([
            ("OTEL_TRACES_SAMPLER", "always_on"),
            ("OTEL_TRACES_SAMPLER_ARG", "0.3"),
        ]);
        let resolved = sdk(&env);
        assert_eq!(resolved.value.sampler().arg(), &SamplerArg::None);
        assert_eq!(resolved.warnings.len(), 1);
    }

    #[test]
    fn code_sampler_is_validated() {
        // checklist 4.5, 1.19
        for bad in [
            SamplerConfig::ratio(Sampler::TraceIdRatio, 2.0),
            SamplerConfig::ratio(Sampler::AlwaysOn, 0.5),
            SamplerConfig::new(Sampler::TraceIdRatio).with_arg(SamplerArg::None),
        ] {
            assert!(
                SdkConfig::builder()
                    .with_sampler(bad)
                    .build(&MapEnv::new())
                    .is_err()
            );
        }
        let config = SdkConfig::builder()
            .with_sampler(SamplerConfig::ratio(Sampler::TraceIdRatio, 0.5))
            .build(&MapEnv::from([("OTEL_TRACES_SAMPLER", "always_off")]))
            .unwrap()
            .value;
        assert_eq!(config.sampler().sampler(), Sampler::TraceIdRatio);
        assert_eq!(config.sampler().ratio_value(), Some(0.5));
    }
}
