//! OTLP exporter configuration for one signal (checklist 1.2–1.14, 1.19).

use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use url::Url;

use crate::endpoint::{
    EndpointKind, base_ends_in_signal_path, is_scheme_less_authority, resolve_endpoint,
};
use crate::env::{EnvPolicy, EnvSource};
use crate::error::{ConfigError, ConfigWarning, Origin, redact_url_secrets};
use crate::parse::{EnvReader, check_code_timeout};
use crate::source::{Resolved, Source};
use crate::{Compression, Headers, Protocol, RetryPolicy, Signal, vars};

/// One exporter option that has a general and a per-signal variable.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ExporterVar {
    /// `OTEL_EXPORTER_OTLP[_<SIGNAL>]_ENDPOINT`
    Endpoint,
    /// `OTEL_EXPORTER_OTLP[_<SIGNAL>]_PROTOCOL`
    Protocol,
    /// `OTEL_EXPORTER_OTLP[_<SIGNAL>]_HEADERS`
    Headers,
    /// `OTEL_EXPORTER_OTLP[_<SIGNAL>]_TIMEOUT`
    Timeout,
    /// `OTEL_EXPORTER_OTLP[_<SIGNAL>]_COMPRESSION`
    Compression,
    /// `OTEL_EXPORTER_OTLP[_<SIGNAL>]_CERTIFICATE`
    Certificate,
    /// `OTEL_EXPORTER_OTLP[_<SIGNAL>]_CLIENT_KEY`
    ClientKey,
    /// `OTEL_EXPORTER_OTLP[_<SIGNAL>]_CLIENT_CERTIFICATE`
    ClientCertificate,
    /// `OTEL_EXPORTER_OTLP[_<SIGNAL>]_INSECURE`
    Insecure,
}

impl ExporterVar {
    /// Every option, in declaration order.
    pub const ALL: [ExporterVar; 9] = [
        ExporterVar::Endpoint,
        ExporterVar::Protocol,
        ExporterVar::Headers,
        ExporterVar::Timeout,
        ExporterVar::Compression,
        ExporterVar::Certificate,
        ExporterVar::ClientKey,
        ExporterVar::ClientCertificate,
        ExporterVar::Insecure,
    ];

    /// The general variable (`OTEL_EXPORTER_OTLP_*`).
    pub const fn general(self) -> &'static str {
        use vars::*;
        match self {
            ExporterVar::Endpoint => OTEL_EXPORTER_OTLP_ENDPOINT,
            ExporterVar::Protocol => OTEL_EXPORTER_OTLP_PROTOCOL,
            ExporterVar::Headers => OTEL_EXPORTER_OTLP_HEADERS,
            ExporterVar::Timeout => OTEL_EXPORTER_OTLP_TIMEOUT,
            ExporterVar::Compression => OTEL_EXPORTER_OTLP_COMPRESSION,
            ExporterVar::Certificate => OTEL_EXPORTER_OTLP_CERTIFICATE,
            ExporterVar::ClientKey => OTEL_EXPORTER_OTLP_CLIENT_KEY,
            ExporterVar::ClientCertificate => OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE,
            ExporterVar::Insecure => OTEL_EXPORTER_OTLP_INSECURE,
        }
    }

    /// The signal-specific variable (`OTEL_EXPORTER_OTLP_<SIGNAL>_*`).
    pub const fn for_signal(self, signal: Signal) -> &'static str {
        use vars::*;
        match (signal, self) {
            (Signal::Traces, ExporterVar::Endpoint) => OTEL_EXPORTER_OTLP_TRACES_ENDPOINT,
            (Signal::Traces, ExporterVar::Protocol) => OTEL_EXPORTER_OTLP_TRACES_PROTOCOL,
            (Signal::Traces, ExporterVar::Headers) => OTEL_EXPORTER_OTLP_TRACES_HEADERS,
            (Signal::Traces, ExporterVar::Timeout) => OTEL_EXPORTER_OTLP_TRACES_TIMEOUT,
            (Signal::Traces, ExporterVar::Compression) => OTEL_EXPORTER_OTLP_TRACES_COMPRESSION,
            (Signal::Traces, ExporterVar::Certificate) => OTEL_EXPORTER_OTLP_TRACES_CERTIFICATE,
            (Signal::Traces, ExporterVar::ClientKey) => OTEL_EXPORTER_OTLP_TRACES_CLIENT_KEY,
            (Signal::Traces, ExporterVar::ClientCertificate) => {
                OTEL_EXPORTER_OTLP_TRACES_CLIENT_CERTIFICATE
            }
            (Signal::Traces, ExporterVar::Insecure) => OTEL_EXPORTER_OTLP_TRACES_INSECURE,
            (Signal::Metrics, ExporterVar::Endpoint) => OTEL_EXPORTER_OTLP_METRICS_ENDPOINT,
            (Signal::Metrics, ExporterVar::Protocol) => OTEL_EXPORTER_OTLP_METRICS_PROTOCOL,
            (Signal::Metrics, ExporterVar::Headers) => OTEL_EXPORTER_OTLP_METRICS_HEADERS,
            (Signal::Metrics, ExporterVar::Timeout) => OTEL_EXPORTER_OTLP_METRICS_TIMEOUT,
            (Signal::Metrics, ExporterVar::Compression) => OTEL_EXPORTER_OTLP_METRICS_COMPRESSION,
            (Signal::Metrics, ExporterVar::Certificate) => OTEL_EXPORTER_OTLP_METRICS_CERTIFICATE,
            (Signal::Metrics, ExporterVar::ClientKey) => OTEL_EXPORTER_OTLP_METRICS_CLIENT_KEY,
            (Signal::Metrics, ExporterVar::ClientCertificate) => {
                OTEL_EXPORTER_OTLP_METRICS_CLIENT_CERTIFICATE
            }
            (Signal::Metrics, ExporterVar::Insecure) => OTEL_EXPORTER_OTLP_METRICS_INSECURE,
            (Signal::Logs, ExporterVar::Endpoint) => OTEL_EXPORTER_OTLP_LOGS_ENDPOINT,
            (Signal::Logs, ExporterVar::Protocol) => OTEL_EXPORTER_OTLP_LOGS_PROTOCOL,
            (Signal::Logs, ExporterVar::Headers) => OTEL_EXPORTER_OTLP_LOGS_HEADERS,
            (Signal::Logs, ExporterVar::Timeout) => OTEL_EXPORTER_OTLP_LOGS_TIMEOUT,
            (Signal::Logs, ExporterVar::Compression) => OTEL_EXPORTER_OTLP_LOGS_COMPRESSION,
            (Signal::Logs, ExporterVar::Certificate) => OTEL_EXPORTER_OTLP_LOGS_CERTIFICATE,
            (Signal::Logs, ExporterVar::ClientKey) => OTEL_EXPORTER_OTLP_LOGS_CLIENT_KEY,
            (Signal::Logs, ExporterVar::ClientCertificate) => {
                OTEL_EXPORTER_OTLP_LOGS_CLIENT_CERTIFICATE
            }
            (Signal::Logs, ExporterVar::Insecure) => OTEL_EXPORTER_OTLP_LOGS_INSECURE,
        }
    }
}

/// TLS files for an exporter (checklist 1.10). Only paths are stored; the
/// transports read the files.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TlsConfig {
    certificate: Option<PathBuf>,
    client_key: Option<PathBuf>,
    client_certificate: Option<PathBuf>,
}

impl TlsConfig {
    /// Trusted CA certificate file used to verify the server.
    pub fn certificate(&self) -> Option<&Path> {
        self.certificate.as_deref()
    }

    /// Client private key file (PEM) for mTLS. Only the path is kept; the key
    /// material is never read or shown by this crate.
    pub fn client_key(&self) -> Option<&Path> {
        self.client_key.as_deref()
    }

    /// Client certificate chain file (PEM) for mTLS.
    pub fn client_certificate(&self) -> Option<&Path> {
        self.client_certificate.as_deref()
    }

    /// Whether client authentication (mTLS) is configured.
    pub fn has_client_auth(&self) -> bool {
        self.client_key.is_some() && self.client_certificate.is_some()
    }
}

/// Where each [`ExporterConfig`] option came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct ExporterSources {
    /// Of [`ExporterConfig::endpoint`].
    pub endpoint: Source,
    /// Of [`ExporterConfig::protocol`].
    pub protocol: Source,
    /// Of [`ExporterConfig::headers`].
    pub headers: Source,
    /// Of [`ExporterConfig::timeout`].
    pub timeout: Source,
    /// Of [`ExporterConfig::compression`].
    pub compression: Source,
    /// Of [`TlsConfig::certificate`].
    pub certificate: Source,
    /// Of [`TlsConfig::client_key`].
    pub client_key: Source,
    /// Of [`TlsConfig::client_certificate`].
    pub client_certificate: Source,
    /// Of [`ExporterConfig::insecure`].
    pub insecure: Source,
    /// Of [`ExporterConfig::max_request_size`] (code or default; no variable exists).
    pub max_request_size: Source,
    /// Of [`ExporterConfig::max_response_size`] (code or default; no variable exists).
    pub max_response_size: Source,
    /// Of [`ExporterConfig::retry_policy`] (code or default; no variable exists).
    pub retry_policy: Source,
}

/// The resolved configuration of the OTLP exporter for one signal.
///
/// Build it with [`ExporterConfig::builder`]; `Debug` never shows header
/// values or endpoint passwords.
#[derive(Clone, PartialEq)]
pub struct ExporterConfig {
    signal: Signal,
    protocol: Protocol,
    endpoint: Url,
    headers: Headers,
    timeout: Option<Duration>,
    compression: Compression,
    tls: TlsConfig,
    insecure: bool,
    /// The gRPC endpoint was given without a scheme; `insecure` chose it.
    scheme_assumed: bool,
    max_request_size: usize,
    max_response_size: usize,
    retry_policy: RetryPolicy,
    sources: ExporterSources,
}

impl ExporterConfig {
    /// Default export timeout: 10 s per batch (checklist 1.12).
    pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);
    /// Default maximum request size before compression: 64 MiB (checklist 1.14).
    pub const DEFAULT_MAX_REQUEST_SIZE: usize = 64 * 1024 * 1024;
    /// Default maximum response size after decompression: 4 MiB (checklist 1.14).
    pub const DEFAULT_MAX_RESPONSE_SIZE: usize = 4 * 1024 * 1024;

    /// A builder for `signal`'s exporter.
    pub fn builder(signal: Signal) -> ExporterConfigBuilder {
        ExporterConfigBuilder::new(signal)
    }

    /// Resolves `signal`'s exporter from `env` and defaults only.
    pub fn from_env<E: EnvSource + ?Sized>(
        signal: Signal,
        env: &E,
    ) -> Result<Resolved<ExporterConfig>, ConfigError> {
        Self::builder(signal).build(env)
    }

    /// The signal this exporter sends.
    pub fn signal(&self) -> Signal {
        self.signal
    }

    /// The transport protocol.
    pub fn protocol(&self) -> Protocol {
        self.protocol
    }

    /// The full URL to send to (for OTLP/HTTP, the POST target including
    /// `v1/<signal>` where that applies; for gRPC, the server address).
    pub fn endpoint(&self) -> &Url {
        &self.endpoint
    }

    /// Whether the connection uses TLS (the endpoint scheme is `https`).
    pub fn uses_tls(&self) -> bool {
        self.endpoint.scheme() == "https"
    }

    /// Whether the (gRPC) endpoint was given without a scheme, so that the
    /// scheme of [`endpoint`](Self::endpoint) was chosen by the `insecure`
    /// flag: `https` unless `OTEL_EXPORTER_OTLP_INSECURE=true` (checklist 1.9).
    pub fn endpoint_scheme_assumed(&self) -> bool {
        self.scheme_assumed
    }

    /// Request headers (values are secret).
    pub fn headers(&self) -> &Headers {
        &self.headers
    }

    /// Time allowed for one export, including retries; `None` means no limit.
    pub fn timeout(&self) -> Option<Duration> {
        self.timeout
    }

    /// Payload compression.
    pub fn compression(&self) -> Compression {
        self.compression
    }

    /// TLS files.
    pub fn tls(&self) -> &TlsConfig {
        &self.tls
    }

    /// The resolved `insecure` flag. It only matters for a gRPC endpoint given
    /// without a scheme, and has already been applied to [`endpoint`](Self::endpoint);
    /// use [`uses_tls`](Self::uses_tls) to decide about TLS.
    pub fn insecure(&self) -> bool {
        self.insecure
    }

    /// Largest request body, before compression, that may be sent.
    pub fn max_request_size(&self) -> usize {
        self.max_request_size
    }

    /// Largest response body, after decompression, that is accepted.
    pub fn max_response_size(&self) -> usize {
        self.max_response_size
    }

    /// How transient failures are retried.
    pub fn retry_policy(&self) -> &RetryPolicy {
        &self.retry_policy
    }

    /// Where each option came from.
    pub fn sources(&self) -> &ExporterSources {
        &self.sources
    }

    /// The `User-Agent` to send (checklist 1.15).
    pub fn user_agent(&self) -> &'static str {
        crate::USER_AGENT
    }
}

impl fmt::Debug for ExporterConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ExporterConfig")
            .field("signal", &self.signal)
            .field("protocol", &self.protocol)
            .field("endpoint", &redact_url_secrets(self.endpoint.as_str()))
            .field("headers", &self.headers)
            .field("timeout", &self.timeout)
            .field("compression", &self.compression)
            .field("tls", &self.tls)
            .field("insecure", &self.insecure)
            .field("max_request_size", &self.max_request_size)
            .field("max_response_size", &self.max_response_size)
            .field("retry_policy", &self.retry_policy)
            .field("sources", &self.sources)
            .finish()
    }
}

/// Builds an [`ExporterConfig`]: code settings win over the environment.
///
/// ```
/// use std::time::Duration;
/// use otlpkit_core::{ExporterConfig, MapEnv, Protocol, Signal, Source};
///
/// let env = MapEnv::new().with("OTEL_EXPORTER_OTLP_ENDPOINT", "http://collector:4318");
/// let config = ExporterConfig::builder(Signal::Traces)
///     .with_timeout(Some(Duration::from_secs(5)))
///     .build(&env)?
///     .into_value();
/// assert_eq!(config.endpoint().as_str(), "http://collector:4318/v1/traces");
/// assert_eq!(config.protocol(), Protocol::HttpProtobuf);
/// assert_eq!(config.timeout(), Some(Duration::from_secs(5)));
/// assert_eq!(config.sources().timeout, Source::Code);
/// # Ok::<(), otlpkit_core::ConfigError>(())
/// ```
#[derive(Clone)]
pub struct ExporterConfigBuilder {
    signal: Signal,
    protocol: Option<Protocol>,
    endpoint: Option<String>,
    base_endpoint: Option<String>,
    headers: Option<Headers>,
    timeout: Option<Option<Duration>>,
    compression: Option<Compression>,
    certificate: Option<PathBuf>,
    client_key: Option<PathBuf>,
    client_certificate: Option<PathBuf>,
    insecure: Option<bool>,
    max_request_size: Option<usize>,
    max_response_size: Option<usize>,
    retry_policy: Option<RetryPolicy>,
    policy: EnvPolicy,
}

impl fmt::Debug for ExporterConfigBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ExporterConfigBuilder")
            .field("signal", &self.signal)
            .field("protocol", &self.protocol)
            .field(
                "endpoint",
                &self.endpoint.as_deref().map(redact_url_secrets),
            )
            .field(
                "base_endpoint",
                &self.base_endpoint.as_deref().map(redact_url_secrets),
            )
            .field("headers", &self.headers)
            .field("timeout", &self.timeout)
            .field("compression", &self.compression)
            .field("certificate", &self.certificate)
            .field("client_key", &self.client_key)
            .field("client_certificate", &self.client_certificate)
            .field("insecure", &self.insecure)
            .field("max_request_size", &self.max_request_size)
            .field("max_response_size", &self.max_response_size)
            .field("retry_policy", &self.retry_policy)
            .field("policy", &self.policy)
            .finish()
    }
}

impl ExporterConfigBuilder {
    fn new(signal: Signal) -> Self {
        Self {
            signal,
            protocol: None,
            endpoint: None,
            base_endpoint: None,
            headers: None,
            timeout: None,
            compression: None,
            certificate: None,
            client_key: None,
            client_certificate: None,
            insecure: None,
            max_request_size: None,
            max_response_size: None,
            retry_policy: None,
            policy: EnvPolicy::default(),
        }
    }

    /// The signal this builder configures.
    pub fn signal(&self) -> Signal {
        self.signal
    }

    /// Transport protocol.
    #[must_use]
    pub fn with_protocol(mut self, protocol: Protocol) -> Self {
        self.protocol = Some(protocol);
        self
    }

    /// Endpoint URL, used as-is like a signal-specific variable: no
    /// `v1/<signal>` is appended. For gRPC, `host:port` without a scheme is
    /// accepted and [`with_insecure`](Self::with_insecure) picks the scheme.
    #[must_use]
    pub fn with_endpoint(mut self, endpoint: impl Into<String>) -> Self {
        self.endpoint = Some(endpoint.into());
        self
    }

    /// Base URL of the collector, like the general
    /// `OTEL_EXPORTER_OTLP_ENDPOINT` but set in code: for OTLP/HTTP
    /// `v1/<signal>` is appended (checklist 1.5), for gRPC it is used as is.
    /// It wins over every endpoint variable;
    /// [`with_endpoint`](Self::with_endpoint) wins over it. This is how one
    /// endpoint set in code serves every signal whatever their protocols.
    #[must_use]
    pub fn with_base_endpoint(mut self, endpoint: impl Into<String>) -> Self {
        self.base_endpoint = Some(endpoint.into());
        self
    }

    /// Adds one header. Headers set in code replace every header from the
    /// environment (they are never merged).
    #[must_use]
    pub fn with_header(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.headers
            .get_or_insert_with(Headers::new)
            .insert(key, value);
        self
    }

    /// Sets all headers, replacing earlier [`with_header`](Self::with_header)
    /// calls and every header from the environment.
    #[must_use]
    pub fn with_headers(mut self, headers: Headers) -> Self {
        self.headers = Some(headers);
        self
    }

    /// Time allowed for one export; `None` means no limit. A zero duration
    /// is rejected by [`build`](Self::build) (use `None`).
    #[must_use]
    pub fn with_timeout(mut self, timeout: Option<Duration>) -> Self {
        self.timeout = Some(timeout);
        self
    }

    /// Payload compression.
    #[must_use]
    pub fn with_compression(mut self, compression: Compression) -> Self {
        self.compression = Some(compression);
        self
    }

    /// Trusted CA certificate file.
    #[must_use]
    pub fn with_certificate(mut self, path: impl Into<PathBuf>) -> Self {
        self.certificate = Some(path.into());
        self
    }

    /// Client private key file (PEM) for mTLS.
    #[must_use]
    pub fn with_client_key(mut self, path: impl Into<PathBuf>) -> Self {
        self.client_key = Some(path.into());
        self
    }

    /// Client certificate chain file (PEM) for mTLS.
    #[must_use]
    pub fn with_client_certificate(mut self, path: impl Into<PathBuf>) -> Self {
        self.client_certificate = Some(path.into());
        self
    }

    /// Plaintext for a gRPC endpoint given without a scheme.
    #[must_use]
    pub fn with_insecure(mut self, insecure: bool) -> Self {
        self.insecure = Some(insecure);
        self
    }

    /// Largest request body before compression (must be positive).
    #[must_use]
    pub fn with_max_request_size(mut self, bytes: usize) -> Self {
        self.max_request_size = Some(bytes);
        self
    }

    /// Largest response body after decompression (must be positive).
    #[must_use]
    pub fn with_max_response_size(mut self, bytes: usize) -> Self {
        self.max_response_size = Some(bytes);
        self
    }

    /// Retry policy for transient failures.
    #[must_use]
    pub fn with_retry_policy(mut self, policy: RetryPolicy) -> Self {
        self.retry_policy = Some(policy);
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

    /// Resolves the configuration: code > signal variable > general variable > default.
    pub fn build<E: EnvSource + ?Sized>(
        self,
        env: &E,
    ) -> Result<Resolved<ExporterConfig>, ConfigError> {
        let env: &dyn EnvSource = &env;
        let policy = self.policy;
        let mut reader = EnvReader::new(env);
        let config = self.resolve(&mut reader)?;
        reader.finish(config, policy)
    }

    pub(crate) fn resolve(self, reader: &mut EnvReader<'_>) -> Result<ExporterConfig, ConfigError> {
        let signal = self.signal;
        let var = |v: ExporterVar| (v.for_signal(signal), v.general());

        check_code_timeout(self.timeout, "ExporterConfigBuilder::with_timeout")?;
        for (size, method) in [
            (
                self.max_request_size,
                "ExporterConfigBuilder::with_max_request_size",
            ),
            (
                self.max_response_size,
                "ExporterConfigBuilder::with_max_response_size",
            ),
        ] {
            if size == Some(0) {
                return Err(ConfigError::InvalidValue {
                    origin: Origin::Builder(method),
                    value: "0".to_owned(),
                    reason: "a size limit must be positive",
                });
            }
        }
        if let Some(headers) = &self.headers {
            headers
                .validate()
                .map_err(|(key, reason)| ConfigError::InvalidHeader {
                    origin: Origin::Builder("ExporterConfigBuilder::with_header"),
                    key,
                    reason,
                })?;
        }

        // Obsolete names are reported, never read (checklist 1.9).
        for (obsolete, replacement_signal) in [
            (vars::OTEL_EXPORTER_OTLP_SPAN_INSECURE, Signal::Traces),
            (vars::OTEL_EXPORTER_OTLP_METRIC_INSECURE, Signal::Metrics),
        ] {
            if signal == replacement_signal && reader.raw(obsolete).is_some() {
                reader.warn(ConfigWarning::Ignored {
                    var: obsolete,
                    reason: "obsolete name; use OTEL_EXPORTER_OTLP_<SIGNAL>_INSECURE",
                });
            }
        }

        let (s, g) = var(ExporterVar::Protocol);
        let (protocol, protocol_source) =
            reader.layered(self.protocol, s, g, Protocol::default, |r, v| {
                r.parse_enum(v)
            });

        let (s, g) = var(ExporterVar::Insecure);
        let (insecure, insecure_source) =
            reader.layered(self.insecure, s, g, || false, |r, v| r.bool(v));

        let (s, g) = var(ExporterVar::Endpoint);
        let (endpoint, endpoint_source, scheme_assumed) = {
            let mut method = "ExporterConfigBuilder::with_endpoint";
            let (raw, source, kind) = if let Some(raw) = self.endpoint {
                (raw, Source::Code, EndpointKind::Full)
            } else if let Some(raw) = self.base_endpoint {
                method = "ExporterConfigBuilder::with_base_endpoint";
                (raw, Source::Code, EndpointKind::Base)
            } else if let Some(raw) = reader.raw(s) {
                (raw, Source::SignalEnv(s), EndpointKind::Full)
            } else if let Some(raw) = reader.raw(g) {
                (raw, Source::GeneralEnv(g), EndpointKind::Base)
            } else {
                (
                    protocol.default_endpoint().to_owned(),
                    Source::Default,
                    EndpointKind::Base,
                )
            };
            let origin = source.origin(method);
            let url = resolve_endpoint(&raw, origin, kind, protocol, signal, insecure)?;
            if let Source::GeneralEnv(general) = source
                && protocol.is_http()
                && base_ends_in_signal_path(&url, signal)
            {
                reader.warn(ConfigWarning::SignalPathInBaseEndpoint {
                    var: general,
                    value: redact_url_secrets(raw.trim()),
                    signal,
                    resolved: redact_url_secrets(url.as_str()),
                    signal_var: s,
                });
            }
            let assumed = protocol == Protocol::Grpc && is_scheme_less_authority(raw.trim());
            (url, source, assumed)
        };

        let (s, g) = var(ExporterVar::Headers);
        if let Some(code) = &self.headers {
            // Code headers replace the variable's whole list (never merged):
            // each key it loses is said, never its value.
            let env = [s, g]
                .into_iter()
                .find_map(|v| reader.raw(v).map(|raw| (v, raw)));
            if let Some((v, raw)) = env {
                let (from_env, _) = Headers::parse(&raw);
                for (key, _) in from_env.iter() {
                    reader.warn(ConfigWarning::HeaderReplacedByCode {
                        var: v,
                        key: key.to_owned(),
                        also_in_code: code.get(key).is_some(),
                    });
                }
            }
        }
        let (headers, headers_source) = reader.layered(self.headers, s, g, Headers::new, |r, v| {
            let raw = r.raw(v)?;
            let (headers, issues) = Headers::parse(&raw);
            for issue in issues {
                r.warn(ConfigWarning::MalformedHeader {
                    var: v,
                    index: issue.index,
                    key: issue.key,
                    reason: issue.reason,
                });
            }
            Some(headers)
        });

        let (s, g) = var(ExporterVar::Timeout);
        let (timeout, timeout_source) = reader.layered(
            self.timeout,
            s,
            g,
            || Some(ExporterConfig::DEFAULT_TIMEOUT),
            |r, v| r.timeout(v),
        );

        let (s, g) = var(ExporterVar::Compression);
        let (compression, compression_source) =
            reader.layered(self.compression, s, g, Compression::default, |r, v| {
                r.parse_enum(v)
            });

        let path = |r: &mut EnvReader<'_>, v| r.trimmed(v).map(|p| Some(PathBuf::from(p)));
        let (s, g) = var(ExporterVar::Certificate);
        let (certificate, certificate_source) =
            reader.layered(self.certificate.map(Some), s, g, || None, path);
        let (s, g) = var(ExporterVar::ClientKey);
        let (client_key, client_key_source) =
            reader.layered(self.client_key.map(Some), s, g, || None, path);
        let (s, g) = var(ExporterVar::ClientCertificate);
        let (client_certificate, client_certificate_source) =
            reader.layered(self.client_certificate.map(Some), s, g, || None, path);

        match (&client_key, &client_certificate) {
            (Some(_), None) => {
                return Err(ConfigError::IncompleteClientTls {
                    present: "client key",
                    origin: client_key_source.origin("ExporterConfigBuilder::with_client_key"),
                    missing: "certificate",
                });
            }
            (None, Some(_)) => {
                return Err(ConfigError::IncompleteClientTls {
                    present: "client certificate",
                    origin: client_certificate_source
                        .origin("ExporterConfigBuilder::with_client_certificate"),
                    missing: "key",
                });
            }
            _ => {}
        }

        let code_or_default = |set: bool| if set { Source::Code } else { Source::Default };
        let sources = ExporterSources {
            endpoint: endpoint_source,
            protocol: protocol_source,
            headers: headers_source,
            timeout: timeout_source,
            compression: compression_source,
            certificate: certificate_source,
            client_key: client_key_source,
            client_certificate: client_certificate_source,
            insecure: insecure_source,
            max_request_size: code_or_default(self.max_request_size.is_some()),
            max_response_size: code_or_default(self.max_response_size.is_some()),
            retry_policy: code_or_default(self.retry_policy.is_some()),
        };

        Ok(ExporterConfig {
            signal,
            protocol,
            endpoint,
            headers,
            timeout,
            compression,
            tls: TlsConfig {
                certificate,
                client_key,
                client_certificate,
            },
            insecure,
            scheme_assumed,
            max_request_size: self
                .max_request_size
                .unwrap_or(ExporterConfig::DEFAULT_MAX_REQUEST_SIZE),
            max_response_size: self
                .max_response_size
                .unwrap_or(ExporterConfig::DEFAULT_MAX_RESPONSE_SIZE),
            retry_policy: self.retry_policy.unwrap_or_default(),
            sources,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::MapEnv;

    fn build(signal: Signal, env: &MapEnv) -> Resolved<ExporterConfig> {
        ExporterConfig::builder(signal).build(env).unwrap()
    }

    #[test]
    fn every_option_has_a_general_and_a_distinct_signal_variable() {
        // checklist 1.3
        for option in ExporterVar::ALL {
            let general = option.general();
            assert!(vars::ALL.contains(&general));
            for signal in Signal::ALL {
                let specific = option.for_signal(*signal);
                assert!(vars::ALL.contains(&specific), "{specific}");
                assert!(specific.contains(signal.env_infix()), "{specific}");
                assert_eq!(
                    specific.replace(&format!("_{}", signal.env_infix()), ""),
                    general
                );
            }
        }
    }

    #[test]
    fn defaults_with_an_empty_environment() {
        // checklist 1.2, 1.4, 1.12, 1.13, 1.14
        let resolved = build(Signal::Traces, &MapEnv::new());
        assert!(resolved.warnings.is_empty());
        let config = resolved.value;
        assert_eq!(config.protocol(), Protocol::HttpProtobuf);
        assert_eq!(
            config.endpoint().as_str(),
            "http://localhost:4318/v1/traces"
        );
        assert!(config.headers().is_empty());
        assert_eq!(config.timeout(), Some(Duration::from_millis(10_000)));
        assert_eq!(config.compression(), Compression::None);
        assert_eq!(config.tls(), &TlsConfig::default());
        assert!(!config.insecure());
        assert!(!config.uses_tls());
        assert_eq!(config.max_request_size(), 67_108_864);
        assert_eq!(config.max_response_size(), 4_194_304);
        assert_eq!(config.retry_policy(), &RetryPolicy::default());
        assert_eq!(config.sources().endpoint, Source::Default);
        assert_eq!(config.sources().max_request_size, Source::Default);
    }

    #[test]
    fn grpc_default_endpoint_is_localhost_4317_without_a_path() {
        // checklist 1.4, 1.8
        let env = MapEnv::from([("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc")]);
        let config = build(Signal::Metrics, &env).value;
        assert_eq!(config.endpoint().as_str(), "http://localhost:4317/");
        assert_eq!(
            config.sources().protocol,
            Source::GeneralEnv("OTEL_EXPORTER_OTLP_PROTOCOL")
        );
    }

    #[test]
    fn max_sizes_are_settable_from_code_only_and_must_be_positive() {
        // checklist 1.14
        let config = ExporterConfig::builder(Signal::Logs)
            .with_max_request_size(1024)
            .with_max_response_size(2048)
            .build(&MapEnv::new())
            .unwrap()
            .value;
        assert_eq!(config.max_request_size(), 1024);
        assert_eq!(config.max_response_size(), 2048);
        assert_eq!(config.sources().max_response_size, Source::Code);
        let error = ExporterConfig::builder(Signal::Logs)
            .with_max_request_size(0)
            .build(&MapEnv::new())
            .unwrap_err();
        assert!(
            error.to_string().contains("with_max_request_size"),
            "{error}"
        );
    }

    #[test]
    fn tls_paths_are_stored_and_mtls_needs_both_halves() {
        // checklist 1.10
        let env = MapEnv::from([
            ("OTEL_EXPORTER_OTLP_CERTIFICATE", "/etc/ca.pem"),
            ("OTEL_EXPORTER_OTLP_TRACES_CLIENT_KEY", "/etc/key.pem"),
            ("OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE", "/etc/cert.pem"),
        ]);
        let config = build(Signal::Traces, &env).value;
        assert_eq!(config.tls().certificate(), Some(Path::new("/etc/ca.pem")));
        assert_eq!(config.tls().client_key(), Some(Path::new("/etc/key.pem")));
        assert_eq!(
            config.tls().client_certificate(),
            Some(Path::new("/etc/cert.pem"))
        );
        assert!(config.tls().has_client_auth());
        assert_eq!(
            config.sources().client_key,
            Source::SignalEnv("OTEL_EXPORTER_OTLP_TRACES_CLIENT_KEY")
        );

        // The metrics exporter sees only the general half of the pair.
        let error = ExporterConfig::builder(Signal::Metrics)
            .build(&env)
            .unwrap_err();
        assert_eq!(
            error,
            ConfigError::IncompleteClientTls {
                present: "client certificate",
                origin: Origin::Env("OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE"),
                missing: "key",
            }
        );
    }

    #[test]
    fn invalid_code_header_is_an_error_without_its_value() {
        // checklist 1.11
        let error = ExporterConfig::builder(Signal::Traces)
            .with_header("bad key", "sekrit")
            .build(&MapEnv::new())
            .unwrap_err();
        let text = error.to_string();
        assert!(matches!(error, ConfigError::InvalidHeader { .. }));
        assert!(!text.contains("sekrit"), "{text}");
    }

    #[test]
    fn zero_timeout_from_code_is_rejected_none_means_no_limit() {
        // checklist 1.12
        let error = ExporterConfig::builder(Signal::Traces)
            .with_timeout(Some(Duration::ZERO))
            .build(&MapEnv::new())
            .unwrap_err();
        assert!(error.to_string().contains("with_timeout"));
        let config = ExporterConfig::builder(Signal::Traces)
            .with_timeout(None)
            .build(&MapEnv::new())
            .unwrap()
            .value;
        assert_eq!(config.timeout(), None);
    }

    #[test]
    fn obsolete_insecure_names_are_reported_not_read() {
        // checklist 1.9
        let env = MapEnv::from([
            ("OTEL_EXPORTER_OTLP_SPAN_INSECURE", "true"),
            ("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc"),
            ("OTEL_EXPORTER_OTLP_ENDPOINT", "collector:4317"),
        ]);
        let resolved = build(Signal::Traces, &env);
        assert!(!resolved.value.insecure());
        assert_eq!(resolved.value.endpoint().scheme(), "https");
        assert_eq!(
            resolved.warnings[0].var(),
            "OTEL_EXPORTER_OTLP_SPAN_INSECURE"
        );

        let env = MapEnv::from([
            ("OTEL_EXPORTER_OTLP_METRIC_INSECURE", "true"),
            ("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc"),
            ("OTEL_EXPORTER_OTLP_ENDPOINT", "collector:4317"),
        ]);
        let resolved = build(Signal::Metrics, &env);
        assert!(!resolved.value.insecure());
        assert_eq!(
            resolved.warnings[0].var(),
            "OTEL_EXPORTER_OTLP_METRIC_INSECURE"
        );
        // The traces exporter does not report the metrics name.
        assert!(build(Signal::Traces, &env).warnings.is_empty());
    }

    #[test]
    fn debug_hides_header_values_and_endpoint_password() {
        let config = ExporterConfig::builder(Signal::Traces)
            .with_endpoint("https://user:hunter2@collector/v1/traces")
            .with_header("authorization", "Bearer sekrit")
            .with_client_key("/keys/client.pem")
            .with_client_certificate("/keys/client-cert.pem")
            .build(&MapEnv::new())
            .unwrap()
            .value;
        let debug = format!("{config:?}");
        assert!(!debug.contains("sekrit"), "{debug}");
        assert!(!debug.contains("hunter2"), "{debug}");
        assert!(debug.contains("authorization"), "{debug}");
        assert!(debug.contains("/keys/client.pem"), "{debug}");
        let builder = ExporterConfig::builder(Signal::Traces)
            .with_endpoint("https://user:hunter2@collector")
            .with_header("authorization", "Bearer sekrit");
        let debug = format!("{builder:?}");
        assert!(
            !debug.contains("sekrit") && !debug.contains("hunter2"),
            "{debug}"
        );
    }

    #[test]
    fn user_agent_carries_the_distro_prefix() {
        // checklist 1.15
        let config = build(Signal::Logs, &MapEnv::new()).value;
        assert!(config.user_agent().starts_with("otlpkit/"));
        assert!(config.user_agent().contains(" OTel-OTLP-Exporter-Rust/"));
    }
}
