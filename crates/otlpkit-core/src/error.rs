//! Configuration errors and warnings.
//!
//! Where the specification says "warn and ignore", resolution records a
//! [`ConfigWarning`] and carries on; everything else that is invalid is a
//! [`ConfigError`]. [`EnvPolicy::Strict`](crate::EnvPolicy::Strict) turns
//! warnings into [`ConfigError::Strict`].
//!
//! Header values are secret: no warning or error ever contains one.

use std::fmt;

use crate::Protocol;

/// Where an invalid value came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Origin {
    /// The named environment variable.
    Env(&'static str),
    /// The named builder method (e.g. `ExporterConfigBuilder::with_endpoint`).
    Builder(&'static str),
    /// The specification default.
    Default,
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Origin::Env(var) => write!(f, "environment variable {var}"),
            Origin::Builder(method) => write!(f, "builder method {method}"),
            Origin::Default => f.write_str("the default"),
        }
    }
}

/// `, using <what>` when a warning knows what is used instead.
fn using(instead: &Option<String>) -> String {
    instead
        .as_deref()
        .map(|instead| format!(", using {instead}"))
        .unwrap_or_default()
}

/// A value that resolution ignored, as the specification asks, instead of failing.
///
/// Every warning names the variable ([`var`](ConfigWarning::var)) and, except
/// for header variables, the offending value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigWarning {
    /// The value is not one the variable accepts (unknown enum value,
    /// unparseable number); it was ignored, as if the variable were unset.
    #[error(
        "{var}={value:?} is not valid (expected {expected}); ignored{}",
        using(.instead)
    )]
    InvalidValue {
        /// The variable.
        var: &'static str,
        /// The value as given.
        value: String,
        /// What the variable accepts.
        expected: &'static str,
        /// What is used instead, and where it came from (`http/protobuf,
        /// the default`), when resolution knows it.
        instead: Option<String>,
    },
    /// A number outside the valid range (e.g. negative, above 2³¹−1, zero where
    /// only positive values make sense); ignored, as if the variable were unset.
    #[error(
        "{var}={value:?} is out of range (expected {expected}); ignored{}",
        using(.instead)
    )]
    OutOfRange {
        /// The variable.
        var: &'static str,
        /// The value as given.
        value: String,
        /// The valid range.
        expected: &'static str,
        /// What is used instead, and where it came from, when resolution
        /// knows it.
        instead: Option<String>,
    },
    /// A Boolean variable set to something other than `true`/`false`; it was
    /// taken as `false`, as the specification requires.
    #[error("{var}={value:?} is not a Boolean (`true` or `false`); taken as false")]
    NotBoolean {
        /// The variable.
        var: &'static str,
        /// The value as given.
        value: String,
    },
    /// A number too small to be represented: it rounds to `used`, which
    /// may not be what was meant (`1e-400` as a sampling ratio samples
    /// nothing).
    #[error("{var}={value:?} is too small to represent and rounds to {used}; {consequence}")]
    Rounded {
        /// The variable.
        var: &'static str,
        /// The value as given.
        value: String,
        /// The value used.
        used: String,
        /// What that means.
        consequence: &'static str,
    },
    /// The variable's value is not valid Unicode; ignored.
    #[error("{var} is not valid Unicode; ignored")]
    NotUnicode {
        /// The variable.
        var: &'static str,
    },
    /// One entry of a header list was malformed and skipped. The value is
    /// never shown; `key` is the key, or the part of it before the first
    /// character that is not allowed in a header name.
    #[error("{var}: header entry #{index}{} skipped: {reason}", key_suffix(.key))]
    MalformedHeader {
        /// The variable.
        var: &'static str,
        /// Position of the entry in the comma-separated list (0-based).
        index: usize,
        /// The (sanitized) key, if one could be read.
        key: Option<String>,
        /// What is wrong.
        reason: &'static str,
    },
    /// Headers were set in code and a `*_HEADERS` variable sets `key` too,
    /// or another key: the headers set in code replace the variable's whole
    /// list (code wins, lists are never merged), so the variable's value of
    /// `key` is not sent. Names the key, never a value.
    #[error(
        "{var} sets header `{key}`{}; headers set in code replace the variable's headers",
        if *.also_in_code {
            ", which is also set in code: the value set in code is sent"
        } else {
            ", which is not sent"
        }
    )]
    HeaderReplacedByCode {
        /// The variable.
        var: &'static str,
        /// The key the variable sets.
        key: String,
        /// Whether code sets the same key (its value is sent); otherwise the
        /// header is not sent at all.
        also_in_code: bool,
    },
    /// `OTEL_RESOURCE_ATTRIBUTES` could not be decoded; the whole variable
    /// was dropped (checklist 4.2).
    #[error("{var}={value:?} could not be decoded ({reason}); the whole variable is ignored")]
    InvalidResourceAttributes {
        /// The variable.
        var: &'static str,
        /// The value as given.
        value: String,
        /// What is wrong.
        reason: String,
    },
    /// A value the specification defines but otlpkit does not implement
    /// (e.g. the `zipkin` exporter); the entry was ignored.
    #[error("{var}: `{value}` is recognised but not supported by otlpkit ({reason}); ignored")]
    Unsupported {
        /// The variable.
        var: &'static str,
        /// The value as given.
        value: String,
        /// Why, or what to use instead.
        reason: &'static str,
    },
    /// A variable that was set but has no effect in this configuration.
    #[error("{var} is ignored: {reason}")]
    Ignored {
        /// The variable.
        var: &'static str,
        /// Why.
        reason: &'static str,
    },
    /// Tail sampling is on behind a head sampler that drops traces as they
    /// start (`always_off`, or a ratio below 1): the traces it drops,
    /// failing and slow ones among them, never reach the stage, which can
    /// only keep what the head sampler let through.
    #[error(
        "tail sampling is on behind the head sampler {sampler} (set by {set_by}), which drops traces as they start: failing and slow traces among them never reach the stage; keep the default head sampler (parentbased_always_on) and give the ratio to OTLPKIT_TAIL_SAMPLING_RATIO"
    )]
    TailSamplingBehindHeadSampler {
        /// The head sampler, with its ratio when it has one
        /// (`parentbased_traceidratio 0.1`).
        sampler: String,
        /// Where it was set: `OTEL_TRACES_SAMPLER`, or `code`.
        set_by: crate::Source,
    },
    /// A declarative configuration file was named; otlpkit does not support
    /// file configuration yet, and (as the specification requires) every other
    /// environment variable was ignored: the configuration comes from code and
    /// defaults only.
    #[error(
        "{var}={path:?}: file configuration is not supported yet; all other environment variables are ignored and only code settings and defaults apply"
    )]
    ConfigFileUnsupported {
        /// The variable.
        var: &'static str,
        /// The file named.
        path: String,
    },
    /// The general endpoint already ends in an OTLP/HTTP signal path
    /// (`/v1/traces`, `/v1/metrics`, `/v1/logs`). The specification has
    /// `/v1/<signal>` appended to it all the same, so the requests go to a
    /// doubled path that collectors answer `404`; the URL is used as
    /// resolved, and the signal's own variable is the one that takes a
    /// full URL.
    #[error(
        "{var}={value:?} already ends in an OTLP/HTTP signal path, and OTLP/HTTP appends /v1/<signal> to it: {signal} go to {resolved}; set {signal_var} instead to send to a URL as it is"
    )]
    SignalPathInBaseEndpoint {
        /// The general endpoint variable.
        var: &'static str,
        /// Its value, credentials redacted.
        value: String,
        /// The signal.
        signal: crate::Signal,
        /// Where that signal's requests go, credentials redacted.
        resolved: String,
        /// The signal's own endpoint variable.
        signal_var: &'static str,
    },
}

fn key_suffix(key: &Option<String>) -> String {
    match key {
        Some(key) => format!(" (key `{key}`)"),
        None => String::new(),
    }
}

impl ConfigWarning {
    /// The variable the warning is about.
    pub fn var(&self) -> &'static str {
        match self {
            ConfigWarning::InvalidValue { var, .. }
            | ConfigWarning::OutOfRange { var, .. }
            | ConfigWarning::NotBoolean { var, .. }
            | ConfigWarning::Rounded { var, .. }
            | ConfigWarning::NotUnicode { var }
            | ConfigWarning::MalformedHeader { var, .. }
            | ConfigWarning::HeaderReplacedByCode { var, .. }
            | ConfigWarning::InvalidResourceAttributes { var, .. }
            | ConfigWarning::Unsupported { var, .. }
            | ConfigWarning::Ignored { var, .. }
            | ConfigWarning::ConfigFileUnsupported { var, .. }
            | ConfigWarning::SignalPathInBaseEndpoint { var, .. } => var,
            // The setting to change, wherever the sampler was set.
            ConfigWarning::TailSamplingBehindHeadSampler { .. } => "OTEL_TRACES_SAMPLER",
        }
    }
}

/// An invalid configuration.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// The endpoint is not a valid URL (any user:password part is redacted).
    #[error("invalid endpoint {value:?} from {origin}: {reason}")]
    InvalidEndpoint {
        /// Where the endpoint came from.
        origin: Origin,
        /// The endpoint as given (credentials redacted).
        value: String,
        /// What is wrong.
        reason: String,
    },
    /// The endpoint's scheme cannot be used with the protocol.
    #[error(
        "endpoint {value:?} from {origin} has scheme `{scheme}`, but {protocol} needs `http://` or `https://`"
    )]
    UnsupportedScheme {
        /// Where the endpoint came from.
        origin: Origin,
        /// The endpoint as given (credentials redacted).
        value: String,
        /// The scheme found.
        scheme: String,
        /// The protocol in use.
        protocol: Protocol,
    },
    /// A header set in code is invalid (the value is never shown).
    #[error("invalid header `{key}` from {origin}: {reason}")]
    InvalidHeader {
        /// Where the header came from.
        origin: Origin,
        /// The (sanitized) key.
        key: String,
        /// What is wrong.
        reason: &'static str,
    },
    /// A value is outside what the option accepts.
    #[error("invalid value {value} from {origin}: {reason}")]
    InvalidValue {
        /// Where the value came from.
        origin: Origin,
        /// The value, formatted.
        value: String,
        /// What is wrong.
        reason: &'static str,
    },
    /// The maximum export batch size is larger than the queue.
    #[error(
        "max export batch size {batch} (from {batch_origin}) is larger than max queue size {queue} (from {queue_origin})"
    )]
    BatchLargerThanQueue {
        /// The batch size.
        batch: usize,
        /// Where the batch size came from.
        batch_origin: Origin,
        /// The queue size.
        queue: usize,
        /// Where the queue size came from.
        queue_origin: Origin,
    },
    /// Only one half of the mTLS pair (client key, client certificate) is set.
    #[error("{present} is set by {origin} but the client {missing} is not; mTLS needs both")]
    IncompleteClientTls {
        /// The half that is set (`client key` or `client certificate`).
        present: &'static str,
        /// Where it was set.
        origin: Origin,
        /// The half that is missing.
        missing: &'static str,
    },
    /// [`EnvPolicy::Strict`](crate::EnvPolicy::Strict) is in force and resolution produced warnings.
    #[error("strict configuration: {}", join_warnings(.warnings))]
    Strict {
        /// Every warning, in the order found.
        warnings: Vec<ConfigWarning>,
    },
}

fn join_warnings(warnings: &[ConfigWarning]) -> String {
    warnings
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("; ")
}

/// An unknown value given to a `FromStr` implementation of this crate's enums.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown {what} {value:?} (expected {expected})")]
#[non_exhaustive]
pub struct ParseEnumError {
    what: &'static str,
    value: String,
    expected: &'static str,
}

impl ParseEnumError {
    pub(crate) fn new(what: &'static str, value: &str, expected: &'static str) -> Self {
        Self {
            what,
            value: value.to_owned(),
            expected,
        }
    }

    /// What was being parsed (e.g. `protocol`).
    pub fn what(&self) -> &'static str {
        self.what
    }

    /// The rejected value.
    pub fn value(&self) -> &str {
        &self.value
    }

    /// The accepted values.
    pub fn expected(&self) -> &'static str {
        self.expected
    }
}

/// Redacts the parts of a URL-like string that can carry credentials — a
/// `user:password@` authority prefix and the query string (API keys are often
/// passed as `?api_key=…`) — so the rest can be shown.
/// A URL (or anything that looks like one) with its user information and
/// query replaced by `<redacted>`: what otlpkit shows of an endpoint in
/// `Debug` output, errors and diagnostics. The user information is taken to
/// end at the last `@`, so that a password with an unescaped `/`, `?` or
/// `#` is hidden whole; an endpoint with an `@` in its path shows less.
///
/// ```
/// assert_eq!(
///     otlpkit_core::redact_url("https://user:pw@collector:4318/v1/traces?api_key=k"),
///     "https://<redacted>@collector:4318/v1/traces?<redacted>"
/// );
/// ```
pub fn redact_url(value: &str) -> String {
    redact_url_secrets(value)
}

pub(crate) fn redact_url_secrets(value: &str) -> String {
    // Without `://` (`user:pw@host:4318`, a scheme-less endpoint), the
    // authority starts the string: its user information is redacted too.
    let authority_start = value.find("://").map_or(0, |scheme_end| scheme_end + 3);
    let (scheme, rest) = value.split_at(authority_start);
    // The user information ends at the last `@`, not at the first `/`, `?`
    // or `#`: a password written without percent-escapes may hold them
    // (`user:pa/ss@host`, which does not parse, and the error shows it).
    // An `@` in a path or query makes this hide more than the user
    // information, never less.
    match rest.rfind('@') {
        Some(at) => format!("{scheme}<redacted>{}", redact_query(&rest[at..])),
        None => format!("{scheme}{}", redact_query(rest)),
    }
}

/// `text` with what follows its first `?` (up to a `#` fragment) replaced
/// by `<redacted>`.
fn redact_query(text: &str) -> String {
    match text.find('?') {
        Some(query) => {
            let fragment = text[query..].find('#').map_or("", |at| &text[query + at..]);
            format!("{}?<redacted>{fragment}", &text[..query])
        }
        None => text.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn userinfo_and_query_are_redacted_and_everything_else_kept() {
        assert_eq!(
            redact_url_secrets("https://h:4318/v1/traces?api_key=s3cr3t#frag"),
            "https://h:4318/v1/traces?<redacted>#frag"
        );
        assert_eq!(
            redact_url_secrets("https://u:pw@h/x?k=v"),
            "https://<redacted>@h/x?<redacted>"
        );
        assert_eq!(
            redact_url_secrets("https://user:pw@host:4318/v1"),
            "https://<redacted>@host:4318/v1"
        );
        // An `@` in the path hides what comes before it: a password may
        // hold an unescaped `/`, and the two cannot be told apart.
        assert_eq!(
            redact_url_secrets("http://host:4318/a@b"),
            "http://<redacted>@b"
        );
        for (password, shown) in [
            ("pa/ss5ecret", "https://<redacted>@collector:4318/v1"),
            ("pa#ss5ecret", "https://<redacted>@collector:4318/v1"),
            ("pa?ss5ecret", "https://<redacted>@collector:4318/v1"),
            ("12/ss5ecret", "https://<redacted>@collector:4318/v1"),
            ("p@ss/ss5ecret", "https://<redacted>@collector:4318/v1"),
        ] {
            let url = format!("https://user:{password}@collector:4318/v1");
            let redacted = redact_url_secrets(&url);
            assert_eq!(redacted, shown, "{url}");
            assert!(!redacted.contains("ss5ecret") && !redacted.contains("user"));
        }
        assert_eq!(
            redact_url_secrets("https://user:pa?ss@collector/v1?api_key=k#top"),
            "https://<redacted>@collector/v1?<redacted>#top"
        );
        assert_eq!(redact_url_secrets("host:4317"), "host:4317");
        // Scheme-less: `user:pw@` still starts the authority.
        assert_eq!(
            redact_url_secrets("user:s3cr3t@127.0.0.1:4318"),
            "<redacted>@127.0.0.1:4318"
        );
        assert_eq!(
            redact_url_secrets("user:s3cr3t@[::1]:4318/v1/traces"),
            "<redacted>@[::1]:4318/v1/traces"
        );
        assert_eq!(redact_url_secrets("[::1]:4317"), "[::1]:4317");
        assert_eq!(redact_url_secrets("http://a@"), "http://<redacted>@");
    }

    #[test]
    fn malformed_header_warning_names_variable_and_key_only() {
        let warning = ConfigWarning::MalformedHeader {
            var: "OTEL_EXPORTER_OTLP_HEADERS",
            index: 1,
            key: Some("authorization".into()),
            reason: "value is not valid UTF-8 after percent-decoding",
        };
        let text = warning.to_string();
        assert!(text.contains("OTEL_EXPORTER_OTLP_HEADERS"), "{text}");
        assert!(text.contains("authorization"), "{text}");
        assert_eq!(warning.var(), "OTEL_EXPORTER_OTLP_HEADERS");
    }

    #[test]
    fn strict_error_lists_every_warning() {
        let error = ConfigError::Strict {
            warnings: vec![
                ConfigWarning::NotUnicode { var: "A" },
                ConfigWarning::Ignored {
                    var: "B",
                    reason: "because",
                },
            ],
        };
        let text = error.to_string();
        assert!(text.contains("A is not valid Unicode"), "{text}");
        assert!(text.contains("B is ignored: because"), "{text}");
    }

    #[test]
    fn origin_display_names_variable_or_method() {
        assert_eq!(
            Origin::Env("OTEL_X").to_string(),
            "environment variable OTEL_X"
        );
        assert_eq!(
            Origin::Builder("with_endpoint").to_string(),
            "builder method with_endpoint"
        );
    }
}
