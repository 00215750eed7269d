//! Errors of building an exporter.
//!
//! Export failures are [`otlpkit_core::export::ExportError`]s, reported to the
//! SDK as `OTelSdkError`s; this module only covers what can go wrong before
//! the first export.

use std::path::PathBuf;

use otlpkit_core::{ConfigError, Protocol, Signal};

type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// Why an OTLP/HTTP exporter could not be built.
///
/// No variant ever carries a header value or key material: headers are named
/// by key, TLS files by path.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BuildError {
    /// The configuration (builder values and `OTEL_*` variables) is invalid.
    #[error(transparent)]
    Config(#[from] ConfigError),

    /// The resolved protocol is not one of the OTLP/HTTP protocols.
    #[error(
        "the {signal} exporter resolved protocol `{protocol}`, which is not OTLP/HTTP; \
         use otlpkit-grpc for `grpc`, or select `http/protobuf` or `http/json`"
    )]
    UnsupportedProtocol {
        /// The signal of the exporter.
        signal: Signal,
        /// The protocol that was resolved.
        protocol: Protocol,
    },

    /// `with_config` or `with_config_builder` was given another signal's
    /// configuration.
    #[error("a {found} configuration was given to the {expected} exporter")]
    SignalMismatch {
        /// The signal of the exporter.
        expected: Signal,
        /// The signal of the configuration.
        found: Signal,
    },

    /// A resolved configuration was given with
    /// [`with_config`](crate::HttpExporterBuilder::with_config) and another
    /// setting was also made on the builder; the resolved configuration is
    /// final, so the setting would be silently ignored.
    #[error(
        "`with_config` takes a resolved configuration; `{method}` cannot be combined with it \
         (set it on the ExporterConfigBuilder instead)"
    )]
    ConflictingSettings {
        /// The builder method that conflicts.
        method: &'static str,
    },

    /// The endpoint is `https://` but this build has no TLS. otlpkit never
    /// falls back to plaintext.
    #[error(
        "the endpoint {endpoint} requires TLS, but otlpkit-http was built without its `tls` \
         feature; enable it (it is a default feature) — otlpkit never sends https:// data in \
         plaintext"
    )]
    TlsNotCompiled {
        /// The endpoint, without credentials or query.
        endpoint: String,
    },

    /// `http/json` was selected but this build has no JSON support.
    #[error(
        "the {signal} exporter resolved protocol `http/json`, but otlpkit-http was built \
         without its `json` feature; enable it or use `http/protobuf`"
    )]
    JsonNotCompiled {
        /// The signal of the exporter.
        signal: Signal,
    },

    /// The configured compression is not implemented by this transport.
    #[error(
        "compression `{compression}` is not supported by otlpkit-http (use none, gzip or zstd)"
    )]
    UnsupportedCompression {
        /// The configured compression.
        compression: otlpkit_core::Compression,
    },

    /// A configured header name is not a valid HTTP header name.
    #[error("header name {key:?} is not a valid HTTP header name")]
    InvalidHeaderName {
        /// The offending key.
        key: String,
    },

    /// A configured header value is not a valid HTTP header value. The value
    /// itself is never shown.
    #[error("the value of header {key:?} is not a valid HTTP header value (value not shown)")]
    InvalidHeaderValue {
        /// The key whose value is invalid.
        key: String,
    },

    /// A TLS file could not be read.
    #[error("cannot read the {what} file {path}: {source}", path = path.display())]
    ReadTlsFile {
        /// Which file: "CA certificate", "client certificate" or "client key".
        what: &'static str,
        /// Its path.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },

    /// A TLS file was read but holds no usable PEM item of the expected kind.
    #[error("the {what} file {path} is not usable: {reason}", path = path.display())]
    InvalidTlsFile {
        /// Which file: "CA certificate", "client certificate" or "client key".
        what: &'static str,
        /// Its path.
        path: PathBuf,
        /// What is wrong (never key material).
        reason: String,
    },

    /// rustls refused the TLS configuration (for example a client key that
    /// does not match the certificate).
    #[error("the TLS configuration is not usable: {message}")]
    Tls {
        /// rustls' description.
        message: String,
        /// The rustls error.
        #[source]
        source: BoxError,
    },

    /// The export worker runtime could not be started.
    #[error("could not start the export worker runtime: {0}")]
    Worker(#[from] otlpkit_bridge::BridgeError),

    /// The HTTP client could not be created.
    #[error("could not create the HTTP client: {message}")]
    Client {
        /// What failed.
        message: String,
        /// The client library's error (without the URL).
        #[source]
        source: BoxError,
    },
}
