//! Endpoint URL resolution (checklist 1.4–1.9).
//!
//! - OTLP/HTTP, from the general variable or the default: `v1/<signal>` is
//!   appended to the path, with exactly one `/` in between (1.5).
//! - OTLP/HTTP, from the signal variable or from code: used as-is; a URL with
//!   no path gets `/` (1.6).
//! - Scheme, host, port and path are honoured and nothing else is changed;
//!   no port means the scheme's default, 80 or 443 (1.7).
//! - gRPC accepts `http://` (plaintext) and `https://` (TLS) URLs and never
//!   appends a path (1.8). A gRPC endpoint without a scheme (`host:port`) is
//!   plaintext when `insecure` is true and TLS otherwise (1.9).

use url::Url;

use crate::error::{ConfigError, Origin, redact_url_secrets};
use crate::{Protocol, Signal};

/// How the endpoint string is to be treated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum EndpointKind {
    /// A base URL: OTLP/HTTP appends `v1/<signal>` (general variable, default).
    Base,
    /// The full URL, used as-is (signal variable, code).
    Full,
}

/// Why an endpoint without a scheme is refused.
const NO_SCHEME: &str = "no scheme; write it as http://host:port or https://host:port";

/// Resolves the endpoint URL the exporter sends to.
pub(crate) fn resolve_endpoint(
    raw: &str,
    origin: Origin,
    kind: EndpointKind,
    protocol: Protocol,
    signal: Signal,
    insecure: bool,
) -> Result<Url, ConfigError> {
    let raw = raw.trim();
    let with_scheme;
    let text = if protocol == Protocol::Grpc && is_scheme_less_authority(raw) {
        // checklist 1.9: a scheme-less gRPC endpoint; `insecure` picks the scheme.
        let scheme = if insecure { "http" } else { "https" };
        with_scheme = format!("{scheme}://{raw}");
        with_scheme.as_str()
    } else {
        raw
    };

    let no_scheme = || ConfigError::InvalidEndpoint {
        origin,
        value: redact_url_secrets(raw),
        reason: NO_SCHEME.to_owned(),
    };
    let mut url = Url::parse(text).map_err(|e| match e {
        url::ParseError::RelativeUrlWithoutBase => no_scheme(),
        other => ConfigError::InvalidEndpoint {
            origin,
            value: redact_url_secrets(raw),
            reason: other.to_string(),
        },
    })?;

    match url.scheme() {
        "http" | "https" => {}
        // `user:password@host:port` parses with the user name as its scheme:
        // it has none, and the user name is not shown as one.
        _ if !raw.contains("://") && raw.contains('@') => return Err(no_scheme()),
        scheme => {
            return Err(ConfigError::UnsupportedScheme {
                origin,
                value: redact_url_secrets(raw),
                scheme: scheme.to_owned(),
                protocol,
            });
        }
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err(ConfigError::InvalidEndpoint {
            origin,
            value: redact_url_secrets(raw),
            reason: "no host".to_owned(),
        });
    }

    if protocol.is_http() && kind == EndpointKind::Base {
        // checklist 1.5: ensure the base path ends in `/`, then append.
        let mut path = url.path().to_owned();
        if !path.ends_with('/') {
            path.push('/');
        }
        path.push_str(signal.http_path());
        url.set_path(&path);
    }
    Ok(url)
}

/// Whether an OTLP/HTTP URL resolved from a base endpoint (`url` ends in
/// `signal`'s path, appended) had a signal path already: `…/v1/traces`
/// resolved to `…/v1/traces/v1/traces`.
pub(crate) fn base_ends_in_signal_path(url: &Url, signal: Signal) -> bool {
    let Some(base) = url.path().strip_suffix(signal.http_path()) else {
        return false;
    };
    let base = base.trim_end_matches('/');
    Signal::ALL.iter().any(|known| {
        base.strip_suffix(known.http_path())
            .is_some_and(|rest| rest.ends_with('/'))
    })
}

/// Whether `raw` looks like `host`, `host:port` or `[v6]:port` without a
/// scheme (as opposed to `scheme:rest`).
pub(crate) fn is_scheme_less_authority(raw: &str) -> bool {
    if raw.contains("://") {
        return false;
    }
    if raw.starts_with('[') {
        return true;
    }
    match raw.rsplit_once(':') {
        None => true,
        Some((_, port)) => !port.is_empty() && port.bytes().all(|b| b.is_ascii_digit()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_signal_path_in_a_base_endpoint_is_noticed() {
        let resolved = |raw: &str, signal| {
            let url = resolve_endpoint(
                raw,
                Origin::Default,
                EndpointKind::Base,
                Protocol::HttpProtobuf,
                signal,
                false,
            )
            .unwrap();
            base_ends_in_signal_path(&url, signal)
        };
        assert!(resolved("http://c:4318/v1/traces", Signal::Traces));
        assert!(resolved("http://c:4318/v1/traces/", Signal::Metrics));
        assert!(resolved("http://c:4318/otlp/v1/logs", Signal::Logs));
        assert!(!resolved("http://c:4318", Signal::Traces));
        assert!(!resolved("http://c:4318/otlp", Signal::Traces));
        assert!(!resolved("http://c:4318/not-v1/traces", Signal::Traces));
        assert!(!resolved("http://c:4318/xv1/traces", Signal::Traces));
    }

    fn http(raw: &str, kind: EndpointKind, signal: Signal) -> String {
        resolve_endpoint(
            raw,
            Origin::Env("X"),
            kind,
            Protocol::HttpProtobuf,
            signal,
            false,
        )
        .unwrap()
        .to_string()
    }

    fn grpc(raw: &str, insecure: bool) -> Result<Url, ConfigError> {
        resolve_endpoint(
            raw,
            Origin::Env("X"),
            EndpointKind::Base,
            Protocol::Grpc,
            Signal::Traces,
            insecure,
        )
    }

    #[test]
    fn general_http_endpoint_gets_signal_path_appended() {
        // checklist 1.5: the spec's own examples.
        assert_eq!(
            http("http://collector:4318", EndpointKind::Base, Signal::Traces),
            "http://collector:4318/v1/traces"
        );
        assert_eq!(
            http(
                "http://collector:4318/mycollector/",
                EndpointKind::Base,
                Signal::Logs
            ),
            "http://collector:4318/mycollector/v1/logs"
        );
        assert_eq!(
            http(
                "http://collector:4318/mycollector",
                EndpointKind::Base,
                Signal::Metrics
            ),
            "http://collector:4318/mycollector/v1/metrics"
        );
    }

    #[test]
    fn signal_http_endpoint_is_used_as_is_and_an_empty_path_becomes_slash() {
        // checklist 1.6: the spec's own examples.
        assert_eq!(
            http("http://collector:4318", EndpointKind::Full, Signal::Traces),
            "http://collector:4318/"
        );
        let url = resolve_endpoint(
            "https://h/v1/metrics/",
            Origin::Env("X"),
            EndpointKind::Full,
            Protocol::HttpJson,
            Signal::Metrics,
            false,
        )
        .unwrap();
        assert_eq!(url.as_str(), "https://h/v1/metrics/");
        assert_eq!(url.port_or_known_default(), Some(443));
    }

    #[test]
    fn missing_port_means_the_scheme_default_never_4318() {
        // checklist 1.7
        let url = resolve_endpoint(
            "http://collector",
            Origin::Env("X"),
            EndpointKind::Base,
            Protocol::HttpProtobuf,
            Signal::Traces,
            false,
        )
        .unwrap();
        assert_eq!(url.port_or_known_default(), Some(80));
        assert_eq!(url.as_str(), "http://collector/v1/traces");
        let url = grpc("https://collector", false).unwrap();
        assert_eq!(url.port_or_known_default(), Some(443));
    }

    #[test]
    fn scheme_host_port_path_and_query_are_kept() {
        // checklist 1.7
        assert_eq!(
            http(
                "https://Collector.Example:9999/a/b?x=1",
                EndpointKind::Full,
                Signal::Logs
            ),
            "https://collector.example:9999/a/b?x=1"
        );
    }

    #[test]
    fn grpc_accepts_http_and_https_and_never_appends_a_path() {
        // checklist 1.8
        let url = grpc("http://collector:4317", false).unwrap();
        assert_eq!(url.as_str(), "http://collector:4317/");
        let url = grpc("https://collector:4317", true).unwrap();
        assert_eq!(url.scheme(), "https", "an explicit scheme beats insecure");
        let url = grpc("http://collector:4317", false).unwrap();
        assert_eq!(url.scheme(), "http", "an explicit scheme beats insecure");
    }

    #[test]
    fn scheme_less_grpc_endpoint_uses_insecure_to_pick_the_scheme() {
        // checklist 1.9
        assert_eq!(
            grpc("collector:4317", false).unwrap().as_str(),
            "https://collector:4317/"
        );
        assert_eq!(
            grpc("collector:4317", true).unwrap().as_str(),
            "http://collector:4317/"
        );
        assert_eq!(
            grpc("collector", true).unwrap().as_str(),
            "http://collector/"
        );
        assert_eq!(
            grpc("[::1]:4317", true).unwrap().as_str(),
            "http://[::1]:4317/"
        );
    }

    #[test]
    fn unsupported_schemes_are_errors_naming_origin_and_value() {
        let error = grpc("unix:/var/run/otel.sock", false).unwrap_err();
        assert!(matches!(
            &error,
            ConfigError::UnsupportedScheme { scheme, origin: Origin::Env("X"), .. } if scheme == "unix"
        ));
        let error = resolve_endpoint(
            "collector:4318",
            Origin::Builder("with_endpoint"),
            EndpointKind::Full,
            Protocol::HttpProtobuf,
            Signal::Traces,
            false,
        )
        .unwrap_err();
        assert!(matches!(error, ConfigError::UnsupportedScheme { .. }));
        let text = error.to_string();
        assert!(
            text.contains("collector:4318") && text.contains("with_endpoint"),
            "{text}"
        );
    }

    #[test]
    fn unparseable_endpoints_are_errors_with_credentials_redacted() {
        let error = resolve_endpoint(
            "localhost",
            Origin::Env("OTEL_EXPORTER_OTLP_ENDPOINT"),
            EndpointKind::Base,
            Protocol::HttpProtobuf,
            Signal::Traces,
            false,
        )
        .unwrap_err();
        assert!(matches!(error, ConfigError::InvalidEndpoint { .. }));
        assert!(error.to_string().contains("OTEL_EXPORTER_OTLP_ENDPOINT"));
        let error = resolve_endpoint(
            "http://user:sekrit@host:99999",
            Origin::Env("X"),
            EndpointKind::Base,
            Protocol::HttpProtobuf,
            Signal::Traces,
            false,
        )
        .unwrap_err();
        let text = error.to_string();
        assert!(!text.contains("sekrit"), "{text}");
        assert!(text.contains("host:99999"), "{text}");
        // Without a scheme, `user:` parses as one: the password is still
        // never shown.
        let error = resolve_endpoint(
            "user:sekrit@127.0.0.1:4318",
            Origin::Env("OTEL_EXPORTER_OTLP_ENDPOINT"),
            EndpointKind::Base,
            Protocol::HttpProtobuf,
            Signal::Traces,
            false,
        )
        .unwrap_err();
        let text = error.to_string();
        assert!(!text.contains("sekrit"), "{text}");
        assert!(text.contains("127.0.0.1:4318"), "{text}");
        // Nor is the user name taken for a scheme: the error says there is none.
        assert!(text.contains("no scheme"), "{text}");
        assert!(!text.contains("user"), "{text}");
        // A password with an unescaped `/`, `#` or `?` makes the endpoint
        // unparseable; the error shows none of it.
        for password in ["pa/ss5ecret", "pa#ss5ecret", "pa?ss5ecret"] {
            let error = resolve_endpoint(
                &format!("https://user:{password}@collector:4318"),
                Origin::Env("OTEL_EXPORTER_OTLP_ENDPOINT"),
                EndpointKind::Base,
                Protocol::HttpProtobuf,
                Signal::Traces,
                false,
            )
            .unwrap_err();
            let text = format!("{error} {error:?}");
            assert!(!text.contains("ss5ecret") && !text.contains("pa"), "{text}");
            assert!(text.contains("collector:4318"), "{text}");
        }
    }
}
