//! Where each resolved option came from, and the result wrapper that carries warnings.

use std::fmt;

use crate::ConfigWarning;

/// Where a resolved option's value came from.
///
/// Precedence is always `Code` > `SignalEnv` > `GeneralEnv` > `Default`
/// (options that have only one variable use [`Source::Env`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Source {
    /// Set explicitly through a builder method.
    Code,
    /// A signal-specific variable such as `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`,
    /// or a model-specific limit such as `OTEL_SPAN_ATTRIBUTE_COUNT_LIMIT`.
    SignalEnv(&'static str),
    /// A general variable such as `OTEL_EXPORTER_OTLP_ENDPOINT` or
    /// `OTEL_ATTRIBUTE_COUNT_LIMIT`.
    GeneralEnv(&'static str),
    /// The only variable for this option (e.g. `OTEL_BSP_SCHEDULE_DELAY`).
    Env(&'static str),
    /// The specification (or otlpkit) default.
    Default,
}

impl Source {
    /// The environment variable, if the value came from one.
    pub fn var(self) -> Option<&'static str> {
        match self {
            Source::SignalEnv(var) | Source::GeneralEnv(var) | Source::Env(var) => Some(var),
            Source::Code | Source::Default => None,
        }
    }

    /// Whether the value came from the environment.
    pub fn is_env(self) -> bool {
        self.var().is_some()
    }

    /// The [`Origin`](crate::Origin) to name in an error about this value;
    /// `method` names the builder method for [`Source::Code`].
    pub(crate) fn origin(self, method: &'static str) -> crate::Origin {
        match self {
            Source::Code => crate::Origin::Builder(method),
            Source::SignalEnv(var) | Source::GeneralEnv(var) | Source::Env(var) => {
                crate::Origin::Env(var)
            }
            Source::Default => crate::Origin::Default,
        }
    }
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Source::Code => f.write_str("code"),
            Source::SignalEnv(var) | Source::GeneralEnv(var) | Source::Env(var) => f.write_str(var),
            Source::Default => f.write_str("default"),
        }
    }
}

/// A resolved configuration together with the warnings resolution produced.
#[derive(Debug, Clone, PartialEq)]
pub struct Resolved<T> {
    /// The configuration.
    pub value: T,
    /// Values that were ignored, as the specification asks (empty in
    /// [`EnvPolicy::Strict`](crate::EnvPolicy::Strict) mode, where any warning is an error).
    pub warnings: Vec<ConfigWarning>,
}

impl<T> Resolved<T> {
    /// The configuration, dropping the warnings.
    pub fn into_value(self) -> T {
        self.value
    }

    /// The configuration.
    pub fn value(&self) -> &T {
        &self.value
    }

    /// The warnings.
    pub fn warnings(&self) -> &[ConfigWarning] {
        &self.warnings
    }

    /// Transforms the configuration, keeping the warnings.
    pub fn map<U>(self, f: impl FnOnce(T) -> U) -> Resolved<U> {
        Resolved {
            value: f(self.value),
            warnings: self.warnings,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn source_names_its_variable() {
        assert_eq!(Source::SignalEnv("A").var(), Some("A"));
        assert_eq!(Source::GeneralEnv("B").to_string(), "B");
        assert!(Source::Env("C").is_env());
        assert!(!Source::Code.is_env());
        assert_eq!(Source::Default.var(), None);
        assert_eq!(Source::Code.to_string(), "code");
    }

    #[test]
    fn resolved_map_keeps_warnings() {
        let resolved = Resolved {
            value: 1,
            warnings: vec![ConfigWarning::NotUnicode { var: "A" }],
        };
        let mapped = resolved.map(|v| v + 1);
        assert_eq!(*mapped.value(), 2);
        assert_eq!(mapped.warnings().len(), 1);
        assert_eq!(mapped.into_value(), 2);
    }
}
