//! What can go wrong when the pipeline is installed, and what is only worth
//! a warning.

use otlpkit_core::{ConfigError, ConfigWarning, Protocol, Signal};

/// Why [`init`](crate::init) (or a [`Builder`](crate::Builder) terminal
/// method) could not install the pipeline. Nothing is left half-installed:
/// whatever was built before the failure is shut down again.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum InitError {
    /// The configuration (builder values and `OTEL_*` variables) is invalid;
    /// the error names the variable or builder method and the value.
    #[error("invalid otlpkit configuration: {0}")]
    Config(#[from] ConfigError),

    /// The configuration selects a protocol whose transport this build of
    /// otlpkit does not contain.
    #[error(
        "the {signal} exporter is configured for {protocol}, but otlpkit was built without its `{feature}` feature; enable it in Cargo.toml or choose another protocol (OTEL_EXPORTER_OTLP_PROTOCOL)"
    )]
    ProtocolNotCompiled {
        /// The signal whose exporter needs the protocol.
        signal: Signal,
        /// The protocol the configuration selects.
        protocol: Protocol,
        /// The cargo feature of `otlpkit` that provides it.
        feature: &'static str,
    },

    /// An OTLP/gRPC exporter could not be built (TLS files, metadata, ...).
    #[cfg(feature = "grpc")]
    #[cfg_attr(docsrs, doc(cfg(feature = "grpc")))]
    #[error("cannot build the {signal} OTLP/gRPC exporter: {source}")]
    Grpc {
        /// The signal of the exporter.
        signal: Signal,
        /// Why.
        #[source]
        source: otlpkit_grpc::BuildError,
    },

    /// An OTLP/HTTP exporter could not be built (TLS files, headers, ...).
    #[cfg(feature = "http")]
    #[cfg_attr(docsrs, doc(cfg(feature = "http")))]
    #[error("cannot build the {signal} OTLP/HTTP exporter: {source}")]
    Http {
        /// The signal of the exporter.
        signal: Signal,
        /// Why.
        #[source]
        source: otlpkit_http::BuildError,
    },

    /// A batch processor could not be built.
    #[error("cannot build the {signal} batch processor: {source}")]
    Batch {
        /// The signal of the processor.
        signal: Signal,
        /// Why.
        #[source]
        source: otlpkit_batch::BuildError,
    },

    /// The export worker thread could not be started.
    #[error("cannot start the otlpkit export worker: {0}")]
    Worker(#[from] otlpkit_bridge::BridgeError),

    /// The `tracing` subscriber could not be built, for instance because
    /// `RUST_LOG` holds directives that do not parse (the error names the
    /// variable and its value).
    #[cfg(feature = "tracing")]
    #[cfg_attr(docsrs, doc(cfg(feature = "tracing")))]
    #[error("cannot install the tracing subscriber: {0}")]
    Tracing(#[source] otlpkit_tracing::SetupError),
}

/// Something the pipeline could not honour as asked, reported once at
/// start-up (on stderr unless `OTEL_LOG_LEVEL` is `error` or `off`) and kept
/// on the guard ([`OtlpGuard::warnings`](crate::OtlpGuard::warnings)).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum InitWarning {
    /// The configuration asked for something the specification says to warn
    /// about and ignore (an unparseable number, an unknown enum value, ...).
    #[error(transparent)]
    Config(ConfigWarning),

    /// A setting that otlpkit recognises but cannot apply; `instead` says
    /// what it does.
    #[error("{setting} = `{value}` is not supported by otlpkit; {instead}")]
    Unsupported {
        /// The variable (or builder method) that holds it.
        setting: &'static str,
        /// The value as given.
        value: String,
        /// What otlpkit does instead.
        instead: &'static str,
    },

    /// Another global `tracing` subscriber was installed first, so otlpkit's
    /// was not: `tracing` spans and events do not reach OpenTelemetry
    /// through it.
    #[error(
        "a global tracing subscriber was already installed, so otlpkit's was not; add otlpkit_tracing::TracingSetup::layer() to yours to export tracing spans and events"
    )]
    SubscriberAlreadyInstalled,
}

impl From<ConfigWarning> for InitWarning {
    fn from(warning: ConfigWarning) -> Self {
        InitWarning::Config(warning)
    }
}
