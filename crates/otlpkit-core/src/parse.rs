//! The shared rules for reading `OTEL_*` values (checklist 1.18 and the
//! specification's numeric types), and the reader every resolver uses.
//!
//! - An empty (or all-whitespace) value is the same as an unset variable.
//! - Enum values are case-insensitive; an unknown value is a warning and is ignored.
//! - A Boolean is `true` only for case-insensitive `true`; any other value is
//!   `false`, with a warning unless it is `false`.
//! - Integers are accepted from 0 to 2³¹−1; anything else is a warning and is ignored.
//! - Durations and timeouts are integer milliseconds; a negative value is a
//!   warning and is ignored; a timeout of `0` means "no limit".
//! - "Ignored" means "as if unset": the next source (general variable, then
//!   the default) applies.

use std::str::FromStr;
use std::time::Duration;

use crate::env::{EnvPolicy, EnvSource, Lookup};
use crate::error::{ConfigError, ConfigWarning, ParseEnumError};
use crate::source::{Resolved, Source};
use crate::vars;

/// The largest integer the specification requires implementations to accept (2³¹−1).
pub(crate) const MAX_INT: u32 = i32::MAX.unsigned_abs();

/// Why a number was rejected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum NumError {
    /// Not an integer at all.
    Invalid,
    /// An integer outside 0..=2³¹−1.
    OutOfRange,
}

/// Parses a non-negative integer in 0..=2³¹−1 (surrounding whitespace allowed).
pub(crate) fn parse_int(value: &str) -> Result<u32, NumError> {
    let trimmed = value.trim();
    let negative = trimmed.starts_with('-');
    let digits = trimmed.strip_prefix(['+', '-']).unwrap_or(trimmed);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(NumError::Invalid);
    }
    if negative {
        return if digits.bytes().all(|b| b == b'0') {
            Ok(0)
        } else {
            Err(NumError::OutOfRange)
        };
    }
    match digits.parse::<u64>() {
        Ok(n) => u32::try_from(n)
            .ok()
            .filter(|n| *n <= MAX_INT)
            .ok_or(NumError::OutOfRange),
        // Only digits remain, so the only possible failure is overflow.
        Err(_) => Err(NumError::OutOfRange),
    }
}

/// How a Boolean value reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum BoolValue {
    True,
    False,
    /// Anything else: false, with a warning.
    Other,
}

/// Parses a Boolean per the specification.
pub(crate) fn parse_bool(value: &str) -> BoolValue {
    let trimmed = value.trim();
    if trimmed.eq_ignore_ascii_case("true") {
        BoolValue::True
    } else if trimmed.eq_ignore_ascii_case("false") {
        BoolValue::False
    } else {
        BoolValue::Other
    }
}

/// Defines a `Copy` enum whose values are spelled as in the specification,
/// with `as_str`, `ALL`, `Display` and case-insensitive `FromStr`.
macro_rules! spec_enum {
    (
        $(#[$meta:meta])*
        $vis:vis enum $name:ident ($what:literal, expected = $expected:literal) {
            $(
                $(#[$vmeta:meta])*
                $variant:ident = $text:literal $(| $alias:literal)*
            ),+ $(,)?
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        #[non_exhaustive]
        $vis enum $name {
            $( $(#[$vmeta])* $variant ),+
        }

        impl $name {
            /// Every value, in declaration order.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The spelling used by the specification and the environment variables.
            pub const fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $text),+
                }
            }
        }

        impl ::std::fmt::Display for $name {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl $crate::parse::Describe for $name {
            fn describe(&self) -> String {
                self.as_str().to_owned()
            }
        }

        impl ::std::str::FromStr for $name {
            type Err = $crate::ParseEnumError;

            /// Case-insensitive; surrounding whitespace is ignored.
            fn from_str(s: &str) -> ::std::result::Result<Self, Self::Err> {
                let t = s.trim();
                $(
                    if t.eq_ignore_ascii_case($text) $(|| t.eq_ignore_ascii_case($alias))* {
                        return Ok($name::$variant);
                    }
                )+
                Err($crate::ParseEnumError::new($what, s, $expected))
            }
        }
    };
}
pub(crate) use spec_enum;

/// Reads variables from an [`EnvSource`] under the shared rules, collecting warnings.
pub(crate) struct EnvReader<'a> {
    env: &'a dyn EnvSource,
    ignore_env: bool,
    warnings: Vec<ConfigWarning>,
}

/// How a resolved value is named in a warning that says what is used
/// instead of an ignored one.
pub(crate) trait Describe {
    fn describe(&self) -> String;
}

macro_rules! describe_with_display {
    ($($type:ty),* $(,)?) => {$(
        impl Describe for $type {
            fn describe(&self) -> String {
                self.to_string()
            }
        }
    )*};
}

describe_with_display!(bool, u32, u64, usize, f64, String);

impl Describe for std::path::PathBuf {
    fn describe(&self) -> String {
        self.display().to_string()
    }
}

impl Describe for crate::Headers {
    fn describe(&self) -> String {
        match self.len() {
            0 => "no headers".to_owned(),
            1 => "1 header".to_owned(),
            n => format!("{n} headers"),
        }
    }
}

impl Describe for Duration {
    fn describe(&self) -> String {
        format!("{} ms", self.as_millis())
    }
}

impl<T: Describe> Describe for Option<T> {
    fn describe(&self) -> String {
        match self {
            Some(value) => value.describe(),
            None => "none".to_owned(),
        }
    }
}

impl<'a> EnvReader<'a> {
    /// A reader over `env`. If a configuration file variable is set, every
    /// other variable is ignored (checklist 4.9) and a warning says so.
    pub(crate) fn new(env: &'a dyn EnvSource) -> Self {
        let mut reader = Self {
            env,
            ignore_env: false,
            warnings: Vec::new(),
        };
        for var in [vars::OTEL_CONFIG_FILE, vars::OTEL_EXPERIMENTAL_CONFIG_FILE] {
            if let Some(path) = reader.raw(var) {
                reader.warn(ConfigWarning::ConfigFileUnsupported { var, path });
                reader.ignore_env = true;
                break;
            }
        }
        reader
    }

    /// Records a warning.
    pub(crate) fn warn(&mut self, warning: ConfigWarning) {
        self.warnings.push(warning);
    }

    /// The value of `var`, or `None` if it is unset, empty, not Unicode, or
    /// the environment is being ignored.
    pub(crate) fn raw(&mut self, var: &'static str) -> Option<String> {
        if self.ignore_env {
            return None;
        }
        match self.env.lookup(var) {
            Lookup::Value(value) if !value.trim().is_empty() => Some(value),
            Lookup::Value(_) | Lookup::Unset => None,
            Lookup::NotUnicode => {
                self.warn(ConfigWarning::NotUnicode { var });
                None
            }
        }
    }

    /// The trimmed value of `var`.
    pub(crate) fn trimmed(&mut self, var: &'static str) -> Option<String> {
        self.raw(var).map(|v| v.trim().to_owned())
    }

    /// An enum value (case-insensitive); unknown values are a warning and ignored.
    pub(crate) fn parse_enum<T: FromStr<Err = ParseEnumError>>(
        &mut self,
        var: &'static str,
    ) -> Option<T> {
        let value = self.raw(var)?;
        match value.parse::<T>() {
            Ok(parsed) => Some(parsed),
            Err(error) => {
                self.warn(ConfigWarning::InvalidValue {
                    var,
                    value,
                    expected: error.expected(),
                    instead: None,
                });
                None
            }
        }
    }

    /// A Boolean: `Some(true)` only for `true`; any other set value is `Some(false)`.
    pub(crate) fn bool(&mut self, var: &'static str) -> Option<bool> {
        let value = self.raw(var)?;
        match parse_bool(&value) {
            BoolValue::True => Some(true),
            BoolValue::False => Some(false),
            BoolValue::Other => {
                self.warn(ConfigWarning::NotBoolean { var, value });
                Some(false)
            }
        }
    }

    /// An integer in `min..=2³¹−1`; anything else is a warning and ignored.
    pub(crate) fn int(&mut self, var: &'static str, min: u32) -> Option<u32> {
        let value = self.raw(var)?;
        let expected = if min == 0 {
            "an integer from 0 to 2147483647"
        } else {
            "an integer from 1 to 2147483647"
        };
        match parse_int(&value) {
            Ok(n) if n >= min => Some(n),
            Ok(_) | Err(NumError::OutOfRange) => {
                self.warn(ConfigWarning::OutOfRange {
                    var,
                    value,
                    expected,
                    instead: None,
                });
                None
            }
            Err(NumError::Invalid) => {
                self.warn(ConfigWarning::InvalidValue {
                    var,
                    value,
                    expected,
                    instead: None,
                });
                None
            }
        }
    }

    /// A duration in milliseconds, at least `min_ms`.
    pub(crate) fn duration(&mut self, var: &'static str, min_ms: u32) -> Option<Duration> {
        let value = self.raw(var)?;
        let expected = if min_ms == 0 {
            "non-negative integer milliseconds"
        } else {
            "positive integer milliseconds"
        };
        match parse_int(&value) {
            Ok(ms) if ms >= min_ms => Some(Duration::from_millis(u64::from(ms))),
            Ok(_) | Err(NumError::OutOfRange) => {
                self.warn(ConfigWarning::OutOfRange {
                    var,
                    value,
                    expected,
                    instead: None,
                });
                None
            }
            Err(NumError::Invalid) => {
                self.warn(ConfigWarning::InvalidValue {
                    var,
                    value,
                    expected,
                    instead: None,
                });
                None
            }
        }
    }

    /// A timeout in milliseconds: `Some(None)` for `0` (no limit),
    /// `Some(Some(d))` otherwise; invalid and negative values are ignored.
    pub(crate) fn timeout(&mut self, var: &'static str) -> Option<Option<Duration>> {
        let value = self.raw(var)?;
        let expected = "non-negative integer milliseconds (0 = no limit)";
        match parse_int(&value) {
            Ok(0) => Some(None),
            Ok(ms) => Some(Some(Duration::from_millis(u64::from(ms)))),
            Err(NumError::OutOfRange) => {
                self.warn(ConfigWarning::OutOfRange {
                    var,
                    value,
                    expected,
                    instead: None,
                });
                None
            }
            Err(NumError::Invalid) => {
                self.warn(ConfigWarning::InvalidValue {
                    var,
                    value,
                    expected,
                    instead: None,
                });
                None
            }
        }
    }

    /// Applies the precedence `code > signal variable > general variable >
    /// default`, reading each variable with `read` only when needed. A value
    /// ignored on the way says what is used instead.
    pub(crate) fn layered<T: Describe>(
        &mut self,
        code: Option<T>,
        signal_var: &'static str,
        general_var: &'static str,
        default: impl FnOnce() -> T,
        mut read: impl FnMut(&mut Self, &'static str) -> Option<T>,
    ) -> (T, Source) {
        if let Some(value) = code {
            return (value, Source::Code);
        }
        let mark = self.warnings.len();
        let (value, source) = if let Some(value) = read(self, signal_var) {
            (value, Source::SignalEnv(signal_var))
        } else if let Some(value) = read(self, general_var) {
            (value, Source::GeneralEnv(general_var))
        } else {
            (default(), Source::Default)
        };
        self.say_instead(mark, &value, &source);
        (value, source)
    }

    /// Applies the precedence `code > variable > default`. A value ignored
    /// on the way says what is used instead.
    pub(crate) fn single<T: Describe>(
        &mut self,
        code: Option<T>,
        var: &'static str,
        default: impl FnOnce() -> T,
        read: impl FnOnce(&mut Self, &'static str) -> Option<T>,
    ) -> (T, Source) {
        if let Some(value) = code {
            return (value, Source::Code);
        }
        let mark = self.warnings.len();
        let (value, source) = match read(self, var) {
            Some(value) => (value, Source::Env(var)),
            None => (default(), Source::Default),
        };
        self.say_instead(mark, &value, &source);
        (value, source)
    }

    /// Completes the warnings recorded since `mark` about ignored values
    /// with what is used instead. Not generic (`value` is a trait object),
    /// so that it is compiled once, not once per setting's type.
    #[inline(never)]
    fn say_instead(&mut self, mark: usize, value: &dyn Describe, source: &Source) {
        for warning in &mut self.warnings[mark..] {
            if let ConfigWarning::InvalidValue { instead, .. }
            | ConfigWarning::OutOfRange { instead, .. } = warning
                && instead.is_none()
            {
                let from = match source {
                    Source::Default => "the default".to_owned(),
                    Source::SignalEnv(var) | Source::GeneralEnv(var) | Source::Env(var) => {
                        (*var).to_owned()
                    }
                    _ => "code".to_owned(),
                };
                *instead = Some(format!("{} ({from})", value.describe()));
            }
        }
    }

    /// Ends resolution: deduplicates the warnings and applies `policy`.
    pub(crate) fn finish<T>(self, value: T, policy: EnvPolicy) -> Result<Resolved<T>, ConfigError> {
        let warnings = self.finish_warnings(policy)?;
        Ok(Resolved { value, warnings })
    }

    /// [`finish`](Self::finish) without the value, compiled once.
    #[inline(never)]
    fn finish_warnings(self, policy: EnvPolicy) -> Result<Vec<ConfigWarning>, ConfigError> {
        // Linear in the number of warnings (a header list can produce
        // thousands): the first of equal warnings is kept, in order.
        let mut seen = std::collections::HashSet::with_capacity(self.warnings.len());
        let warnings: Vec<ConfigWarning> = self
            .warnings
            .into_iter()
            .filter(|warning| seen.insert(warning.to_string()))
            .collect();
        match policy {
            EnvPolicy::Strict if !warnings.is_empty() => Err(ConfigError::Strict { warnings }),
            _ => Ok(warnings),
        }
    }
}

/// Checks a code-provided timeout: `None` means no limit, zero is rejected
/// (use `None`).
pub(crate) fn check_code_timeout(
    timeout: Option<Option<Duration>>,
    method: &'static str,
) -> Result<(), ConfigError> {
    match timeout {
        Some(Some(d)) if d.is_zero() => Err(ConfigError::InvalidValue {
            origin: crate::Origin::Builder(method),
            value: "0s".to_owned(),
            reason: "a zero timeout is not allowed; pass None for no limit",
        }),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::MapEnv;

    #[test]
    fn integers_accept_zero_to_two_pow_31_minus_one() {
        // checklist 1.18
        assert_eq!(parse_int("0"), Ok(0));
        assert_eq!(parse_int(" 42 "), Ok(42));
        assert_eq!(parse_int("+7"), Ok(7));
        assert_eq!(parse_int("-0"), Ok(0));
        assert_eq!(parse_int("2147483647"), Ok(2_147_483_647));
        assert_eq!(parse_int("2147483648"), Err(NumError::OutOfRange));
        assert_eq!(
            parse_int("99999999999999999999999"),
            Err(NumError::OutOfRange)
        );
        assert_eq!(parse_int("-1"), Err(NumError::OutOfRange));
        assert_eq!(parse_int("1.5"), Err(NumError::Invalid));
        assert_eq!(parse_int("10s"), Err(NumError::Invalid));
        assert_eq!(parse_int(""), Err(NumError::Invalid));
        assert_eq!(parse_int("-"), Err(NumError::Invalid));
    }

    #[test]
    fn boolean_is_true_only_for_case_insensitive_true() {
        // checklist 1.18
        assert_eq!(parse_bool("true"), BoolValue::True);
        assert_eq!(parse_bool("TRUE"), BoolValue::True);
        assert_eq!(parse_bool("True"), BoolValue::True);
        assert_eq!(parse_bool("false"), BoolValue::False);
        assert_eq!(parse_bool("FALSE"), BoolValue::False);
        assert_eq!(parse_bool("1"), BoolValue::Other);
        assert_eq!(parse_bool("yes"), BoolValue::Other);
    }

    #[test]
    fn empty_and_blank_values_are_unset() {
        // checklist 1.18
        let env = MapEnv::from([("A", ""), ("B", "   ")]);
        let mut reader = EnvReader::new(&env);
        assert_eq!(reader.raw("A"), None);
        assert_eq!(reader.raw("B"), None);
        assert_eq!(reader.bool("A"), None);
        assert!(reader.warnings.is_empty());
    }

    #[test]
    fn non_boolean_value_is_false_with_a_warning_and_false_is_silent() {
        // checklist 1.18
        let env = MapEnv::from([("A", "yes"), ("B", "False")]);
        let mut reader = EnvReader::new(&env);
        assert_eq!(reader.bool("A"), Some(false));
        assert_eq!(reader.bool("B"), Some(false));
        assert_eq!(
            reader.warnings,
            vec![ConfigWarning::NotBoolean {
                var: "A",
                value: "yes".into()
            }]
        );
    }

    #[test]
    fn out_of_range_integer_is_ignored_with_a_warning() {
        // checklist 1.18
        let env = MapEnv::from([("A", "-5"), ("B", "abc"), ("C", "0")]);
        let mut reader = EnvReader::new(&env);
        assert_eq!(reader.int("A", 0), None);
        assert_eq!(reader.int("B", 0), None);
        assert_eq!(reader.int("C", 1), None);
        assert_eq!(reader.int("C", 0), Some(0));
        assert!(matches!(
            reader.warnings[0],
            ConfigWarning::OutOfRange { var: "A", .. }
        ));
        assert!(matches!(
            reader.warnings[1],
            ConfigWarning::InvalidValue { var: "B", .. }
        ));
        assert!(matches!(
            reader.warnings[2],
            ConfigWarning::OutOfRange { var: "C", .. }
        ));
    }

    #[test]
    fn timeout_zero_means_no_limit_and_negative_is_ignored() {
        // checklist 1.12
        let env = MapEnv::from([("Z", "0"), ("N", "-1"), ("T", "1500"), ("X", "1.5s")]);
        let mut reader = EnvReader::new(&env);
        assert_eq!(reader.timeout("Z"), Some(None));
        assert_eq!(reader.timeout("N"), None);
        assert_eq!(reader.timeout("T"), Some(Some(Duration::from_millis(1500))));
        assert_eq!(reader.timeout("X"), None);
        assert_eq!(reader.warnings.len(), 2);
    }

    #[test]
    fn a_config_file_variable_hides_every_other_variable() {
        // checklist 4.9
        let env = MapEnv::from([
            ("OTEL_CONFIG_FILE", "/etc/otel.yaml"),
            ("OTEL_SERVICE_NAME", "x"),
        ]);
        let mut reader = EnvReader::new(&env);
        assert_eq!(reader.raw("OTEL_SERVICE_NAME"), None);
        assert_eq!(
            reader.warnings,
            vec![ConfigWarning::ConfigFileUnsupported {
                var: "OTEL_CONFIG_FILE",
                path: "/etc/otel.yaml".into()
            }]
        );
    }

    #[test]
    fn a_value_that_is_not_unicode_is_a_warning() {
        struct Broken;
        impl EnvSource for Broken {
            fn get(&self, _: &str) -> Option<String> {
                None
            }
            fn lookup(&self, _: &str) -> Lookup {
                Lookup::NotUnicode
            }
        }
        let mut reader = EnvReader::new(&Broken);
        // The config-file check already looked twice and warned twice.
        assert_eq!(reader.raw("OTEL_SERVICE_NAME"), None);
        let finished = reader.finish((), EnvPolicy::Lenient).unwrap();
        assert!(finished.warnings.contains(&ConfigWarning::NotUnicode {
            var: "OTEL_SERVICE_NAME"
        }));
    }

    #[test]
    fn strict_policy_turns_warnings_into_an_error_and_dedups() {
        let env = MapEnv::from([("A", "maybe")]);
        let mut reader = EnvReader::new(&env);
        reader.bool("A");
        reader.bool("A");
        let error = reader.finish((), EnvPolicy::Strict).unwrap_err();
        assert_eq!(
            error,
            ConfigError::Strict {
                warnings: vec![ConfigWarning::NotBoolean {
                    var: "A",
                    value: "maybe".into()
                }]
            }
        );
    }

    #[test]
    fn layered_precedence_is_code_then_signal_then_general_then_default() {
        // checklist 1.3
        let env = MapEnv::from([("S", "1"), ("G", "2")]);
        let mut reader = EnvReader::new(&env);
        let read = |r: &mut EnvReader<'_>, v| r.int(v, 0);
        assert_eq!(
            reader.layered(Some(9), "S", "G", || 0, read),
            (9, Source::Code)
        );
        assert_eq!(
            reader.layered(None, "S", "G", || 0, read),
            (1, Source::SignalEnv("S"))
        );
        assert_eq!(
            reader.layered(None, "X", "G", || 0, read),
            (2, Source::GeneralEnv("G"))
        );
        assert_eq!(
            reader.layered(None, "X", "Y", || 0, read),
            (0, Source::Default)
        );
    }
}
