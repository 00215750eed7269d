//! What can go wrong before the first export, for every transport.
//!
//! Export failures are [`ExportError`](crate::ExportError)s, reported to the
//! SDK as `OTelSdkError`s; this type only covers building an exporter. No
//! message carries a header value or a credential.
//!
//! Each message says everything once: where a library's error explains the
//! failure, its text is part of the message and it is not also returned as
//! the `source()`, so printing an error chain never repeats it.

use std::path::PathBuf;

use otlpkit_bridge::BridgeError;
use otlpkit_core::{ConfigError, Protocol, Signal};

/// Why an exporter could not be built.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BuildError {
    /// The configuration (builder values or `OTEL_*` variables) is invalid.
    #[error(transparent)]
    Config(#[from] ConfigError),

    /// The disk spool's directory cannot be used: another process owns it
    /// (the message names the directory and its pid), another user owns it
    /// or may write to it (Unix; the message names the directory and says
    /// what to do), or it cannot be created or written.
    #[cfg(feature = "spool")]
    #[cfg_attr(docsrs, doc(cfg(feature = "spool")))]
    #[error(transparent)]
    Spool(#[from] otlpkit_spool::SpoolError),

    /// The resolved protocol belongs to another transport.
    #[error(
        "the {signal} exporter resolved protocol `{protocol}`, which {transport} does not speak; \
         {hint}"
    )]
    WrongProtocol {
        /// The signal.
        signal: Signal,
        /// The resolved protocol.
        protocol: Protocol,
        /// The transport crate.
        transport: &'static str,
        /// What to do instead.
        hint: &'static str,
    },

    /// Something the configuration asks for was not compiled into this build.
    #[error(
        "{capability} is not compiled in: enable the `{feature}` feature of `otlpkit` (or of \
         `{transport}` when you use it directly)"
    )]
    NotCompiled {
        /// What is missing (`OTLP/JSON`, `zstd compression`).
        capability: &'static str,
        /// The feature that provides it.
        feature: &'static str,
        /// The transport crate.
        transport: &'static str,
    },

    /// An `https` endpoint in a build without TLS: refused, never sent in
    /// plaintext.
    #[error(
        "the endpoint {endpoint} needs TLS{assumed}, but TLS is not compiled in: enable the \
         `tls` feature of `otlpkit` (or of `{transport}` when you use it directly){plaintext}; \
         otlpkit never sends https data in plaintext"
    )]
    TlsNotCompiled {
        /// The endpoint, without credentials or query.
        endpoint: String,
        /// The transport crate.
        transport: &'static str,
        /// Why TLS was assumed, when the endpoint did not say `https://`.
        assumed: &'static str,
        /// How to ask for plaintext instead, when that was the intent.
        plaintext: &'static str,
    },

    /// [`with_config`](crate::ExporterBuilder::with_config) was combined with
    /// another configuration method.
    #[error(
        "`with_config` supplies a resolved configuration and cannot be combined with `{method}`; \
         set it on the ExporterConfig builder instead"
    )]
    ConflictingConfig {
        /// The configuration method that was also called.
        method: &'static str,
    },

    /// A configuration for another signal was given.
    #[error("a {found} exporter configuration was given to the {expected} exporter")]
    WrongSignal {
        /// The exporter's signal.
        expected: Signal,
        /// The configuration's signal.
        found: Signal,
    },

    /// A configured header cannot be sent by this transport.
    #[error("header `{key}` cannot be sent: {reason} (its value is not shown)")]
    InvalidHeader {
        /// The header name.
        key: String,
        /// What is wrong with it.
        reason: &'static str,
    },

    /// A TLS file could not be read.
    #[error("cannot read the {what} file {}: {error}", path.display())]
    ReadFile {
        /// Which file (`CA certificate`, `client key`, ...).
        what: &'static str,
        /// Its path.
        path: PathBuf,
        /// The I/O error.
        error: std::io::Error,
    },

    /// A TLS file was read but is not usable.
    #[error("the {what} file {} is not usable: {reason}", path.display())]
    InvalidTlsFile {
        /// Which file.
        what: &'static str,
        /// Its path.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },

    /// The TLS configuration as a whole is not usable.
    #[error("the TLS configuration is not usable: {message}")]
    Tls {
        /// What the TLS library said.
        message: String,
    },

    /// The endpoint cannot be used by this transport.
    #[error("invalid endpoint {endpoint}: {reason}")]
    Endpoint {
        /// The endpoint, without credentials or query.
        endpoint: String,
        /// What is wrong with it.
        reason: String,
    },

    /// The transport's client library refused the configuration.
    #[error("cannot create the {transport} client: {message}")]
    Client {
        /// The transport crate.
        transport: &'static str,
        /// What the library said.
        message: String,
    },

    /// The export worker thread could not be started, or the worker given
    /// with [`with_worker`](crate::ExporterBuilder::with_worker) has stopped.
    #[error("cannot use the export worker: {0}")]
    Worker(BridgeError),
}

impl From<BridgeError> for BuildError {
    fn from(error: BridgeError) -> Self {
        BuildError::Worker(error)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_name_the_offending_value_and_the_facade_feature() {
        let error = BuildError::InvalidHeader {
            key: "X Tenant".into(),
            reason: "the key may only contain 0-9 a-z _ . -",
        };
        assert!(error.to_string().contains("`X Tenant`"), "{error}");

        let error = BuildError::TlsNotCompiled {
            endpoint: "https://collector:4317".into(),
            transport: "otlpkit-grpc",
            assumed: "",
            plaintext: "",
        };
        let text = error.to_string();
        assert!(text.contains("https://collector:4317"), "{text}");
        assert!(text.contains("`tls` feature of `otlpkit`"), "{text}");

        let error = BuildError::ReadFile {
            what: "client key",
            path: PathBuf::from("/no/such/key.pem"),
            error: std::io::Error::from(std::io::ErrorKind::NotFound),
        };
        assert!(error.to_string().contains("/no/such/key.pem"), "{error}");
        assert!(error.to_string().contains("client key"), "{error}");
    }

    #[test]
    fn a_chain_never_repeats_a_message() {
        use std::error::Error as _;
        let error = BuildError::ReadFile {
            what: "CA certificate",
            path: PathBuf::from("/no/ca.pem"),
            error: std::io::Error::from(std::io::ErrorKind::PermissionDenied),
        };
        assert!(error.to_string().contains("permission denied"), "{error}");
        assert!(error.source().is_none());
        let worker = BuildError::from(BridgeError::WorkerGone);
        assert!(worker.to_string().contains("has shut down"), "{worker}");
        assert!(worker.source().is_none());
    }
}
