//! Errors of building an exporter.

use std::path::PathBuf;

use otlpkit_bridge::BridgeError;
use otlpkit_core::{ConfigError, Protocol, Signal};

/// Why an exporter could not be built.
///
/// No variant ever contains a header value or the contents of a key file:
/// metadata errors name the key, file errors name the path.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BuildError {
    /// The configuration (builder values and `OTEL_*` variables) is invalid.
    #[error(transparent)]
    Config(#[from] ConfigError),

    /// A configuration resolved for another protocol was handed to the gRPC
    /// exporter.
    #[error(
        "the {signal} exporter configuration is for {protocol}; otlpkit-grpc only speaks grpc (build it with Protocol::Grpc)"
    )]
    WrongProtocol {
        /// The signal of the configuration.
        signal: Signal,
        /// The protocol it was resolved for.
        protocol: Protocol,
    },

    /// A resolved configuration was given with `with_config` and a setting was
    /// also changed with another builder method; the two cannot be combined.
    #[error(
        "`with_config` supplies a resolved configuration and cannot be combined with `{method}`; set it on the ExporterConfig builder instead"
    )]
    ConflictingConfig {
        /// The builder method that was also called.
        method: &'static str,
    },

    /// The configuration is for another signal than this exporter's.
    #[error("a {found} exporter configuration was given to the {expected} exporter")]
    WrongSignal {
        /// The exporter's signal.
        expected: Signal,
        /// The signal of the configuration.
        found: Signal,
    },

    /// A header cannot be sent as gRPC metadata. The value is never shown.
    #[error("header `{key}` cannot be sent as gRPC metadata: {reason}")]
    InvalidMetadata {
        /// The header key as configured.
        key: String,
        /// What is wrong with the key or the value.
        reason: &'static str,
    },

    /// The endpoint uses `https`, and this build of otlpkit-grpc has no TLS
    /// support: refusing is the only alternative to sending in plaintext.
    #[error(
        "endpoint {endpoint} uses https, but otlpkit-grpc was built without its `tls` feature; enable the feature (the exporter never falls back to plaintext)"
    )]
    TlsNotCompiled {
        /// The endpoint (`scheme://host:port`).
        endpoint: String,
    },

    /// A TLS file (CA certificate, client certificate or client key) could
    /// not be read.
    #[error("cannot read the {what} file {}: {source}", path.display())]
    ReadFile {
        /// Which file: `CA certificate`, `client certificate` or `client key`.
        what: &'static str,
        /// The path as configured.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },

    /// A TLS file was read but holds nothing usable. The contents are never
    /// shown.
    #[error("the {what} file {} {reason}", path.display())]
    InvalidPem {
        /// Which file: `CA certificate`, `client certificate` or `client key`.
        what: &'static str,
        /// The path as configured.
        path: PathBuf,
        /// What is wrong.
        reason: &'static str,
    },

    /// tonic refused the endpoint or its TLS settings.
    #[error("invalid gRPC endpoint {endpoint}: {reason}")]
    Endpoint {
        /// The endpoint (`scheme://host:port`).
        endpoint: String,
        /// tonic's explanation.
        reason: String,
    },

    /// The export worker thread could not be started.
    #[error("cannot start the export worker: {0}")]
    Worker(#[from] BridgeError),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_name_the_offending_value_but_never_a_secret() {
        let error = BuildError::InvalidMetadata {
            key: "X Tenant".into(),
            reason: "the key may only contain 0-9 a-z _ . -",
        };
        assert!(error.to_string().contains("`X Tenant`"), "{error}");

        let error = BuildError::TlsNotCompiled {
            endpoint: "https://collector:4317".into(),
        };
        assert!(error.to_string().contains("https://collector:4317"));
        assert!(error.to_string().contains("`tls` feature"));

        let error = BuildError::ReadFile {
            what: "client key",
            path: PathBuf::from("/no/such/key.pem"),
            source: std::io::Error::from(std::io::ErrorKind::NotFound),
        };
        assert!(error.to_string().contains("/no/such/key.pem"), "{error}");
        assert!(error.to_string().contains("client key"), "{error}");
    }
}
