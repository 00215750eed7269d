//! What can go wrong when the pipeline is installed, and what is only worth
//! a warning.

use otlpkit_core::{ConfigError, ConfigWarning, Protocol, Signal};

/// Why [`init`](crate::init) (or a [`Builder`](crate::Builder) terminal
/// method) could not install the pipeline. Nothing is left half-installed:
/// whatever was built before the failure is shut down again.
///
/// Each message is complete on one line and says what to change: it names
/// the variable or builder method, the value, and the `otlpkit` feature
/// when one is missing. The cause's text is part of the message rather
/// than a separate `source()`, so nothing is printed twice, and `Debug`
/// prints the same message: `fn main() -> Result<(), otlpkit::InitError>`
/// (or `Box<dyn std::error::Error>`) shows it as is.
#[derive(thiserror::Error)]
#[non_exhaustive]
pub enum InitError {
    /// The configuration (builder values and `OTEL_*` variables) is invalid;
    /// the error names the variable or builder method and the value.
    #[error("invalid otlpkit configuration: {0}")]
    Config(ConfigError),

    /// The configuration selects a protocol whose transport this build of
    /// otlpkit does not contain.
    #[error(
        "the {signal} exporter is configured for {protocol} ({setting}), but otlpkit was built without its `{feature}` feature; enable it in Cargo.toml (`otlpkit/{feature}`) or choose another protocol there"
    )]
    ProtocolNotCompiled {
        /// The signal whose exporter needs the protocol.
        signal: Signal,
        /// The protocol the configuration selects.
        protocol: Protocol,
        /// Where it was selected: the variable (`OTEL_EXPORTER_OTLP_LOGS_PROTOCOL`
        /// or `OTEL_EXPORTER_OTLP_PROTOCOL`), `Builder::with_protocol`, or the
        /// default.
        setting: &'static str,
        /// The cargo feature of `otlpkit` that provides it.
        feature: &'static str,
    },

    /// An OTLP exporter could not be built (TLS files, headers, ...).
    #[error("cannot build the {signal} exporter: {error}")]
    Exporter {
        /// The signal of the exporter.
        signal: Signal,
        /// Why.
        error: otlpkit_exporter::BuildError,
    },

    /// A batch processor could not be built.
    #[error("cannot build the {signal} batch processor: {error}")]
    Batch {
        /// The signal of the processor.
        signal: Signal,
        /// Why.
        error: otlpkit_batch::BuildError,
    },

    /// The disk spool's directory cannot be used: another process owns it
    /// (the message names the directory and its pid), another user owns it
    /// or may write to it (Unix; the message names the directory and says
    /// what to do), or it cannot be created or written.
    #[cfg(feature = "spool")]
    #[cfg_attr(docsrs, doc(cfg(feature = "spool")))]
    #[error("cannot open the otlpkit spool: {0}")]
    Spool(otlpkit_exporter::SpoolError),

    /// The configuration asks for the disk spool, and this build of otlpkit
    /// does not contain it.
    #[error(
        "the disk spool is configured ({setting}), but otlpkit was built without its `{feature}` feature; enable it in Cargo.toml (`otlpkit/{feature}`) or leave {setting} unset"
    )]
    SpoolNotCompiled {
        /// What asked for it: `OTLPKIT_SPOOL_DIR`, or the builder method.
        setting: &'static str,
        /// The cargo feature of `otlpkit` that provides it.
        feature: &'static str,
    },

    /// The configuration turns the tail-sampling stage on, and this build of
    /// otlpkit does not contain it.
    #[error(
        "tail sampling is turned on ({setting}), but otlpkit was built without its `{feature}` feature; enable it in Cargo.toml (`otlpkit/{feature}`) or turn {setting} off"
    )]
    TailSamplingNotCompiled {
        /// What turned it on: `OTLPKIT_TAIL_SAMPLING`, or the builder method.
        setting: &'static str,
        /// The cargo feature of `otlpkit` that provides it.
        feature: &'static str,
    },

    /// [`init`](crate::init) was called while the guard of an earlier
    /// `init()` is still alive. That pipeline owns the process's global
    /// tracer provider, meter provider, propagator and `tracing`
    /// subscriber; a second `init()` would replace the providers, and once
    /// its own guard was dropped, spans and metrics made through the
    /// OpenTelemetry API would go to a provider that is shut down. Nothing
    /// was built or installed.
    ///
    /// Use the earlier guard (or the globals it installed), call
    /// [`Builder::build`](crate::Builder::build) for a further pipeline
    /// that installs nothing global, or shut the earlier guard down first.
    #[error(
        "otlpkit::init() was already called at {initialized_at} and its OtlpGuard is still alive: that pipeline owns the global tracer provider, meter provider, propagator and tracing subscriber, and a second init() would replace them; use that guard (OtlpGuard::tracer_provider, meter_provider, stats) or the globals it installed, call Builder::build() for a further pipeline that installs nothing global, or shut the first guard down before calling init() again"
    )]
    AlreadyInitialized {
        /// Where the `init()` whose guard is alive was called.
        initialized_at: &'static std::panic::Location<'static>,
    },

    /// The export worker thread could not be started.
    #[error("cannot start the otlpkit export worker: {0}")]
    Worker(otlpkit_bridge::BridgeError),

    /// The `tracing` subscriber could not be built, for instance because
    /// `RUST_LOG` holds directives that do not parse (the error names the
    /// variable and its value).
    #[cfg(feature = "tracing")]
    #[cfg_attr(docsrs, doc(cfg(feature = "tracing")))]
    #[error("cannot install the tracing subscriber: {0}")]
    Tracing(otlpkit_tracing::SetupError),
}

impl std::fmt::Debug for InitError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Display::fmt(self, f)
    }
}

impl From<ConfigError> for InitError {
    fn from(error: ConfigError) -> Self {
        InitError::Config(error)
    }
}

impl From<otlpkit_bridge::BridgeError> for InitError {
    fn from(error: otlpkit_bridge::BridgeError) -> Self {
        InitError::Worker(error)
    }
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
    ///
    /// The OpenTelemetry globals (tracer and meter providers, propagator)
    /// are otlpkit's all the same.
    #[error(
        "a global tracing subscriber was already installed, so otlpkit's was not; add otlpkit_tracing::TracingSetup::layer() to yours to export tracing spans and events (otlpkit's tracer and meter providers and propagator are installed globally all the same)"
    )]
    SubscriberAlreadyInstalled,

    /// The global `tracing` subscriber is the one an earlier `init()`
    /// installed, whose guard has been shut down since: a subscriber cannot
    /// be replaced, so `tracing` spans and events still go to that earlier
    /// pipeline and are not exported; only what is made through the
    /// OpenTelemetry API reaches this one. Keep the first guard for the life
    /// of the program rather than initializing again.
    #[error(
        "the global tracing subscriber is the one otlpkit::init() installed at {installed_at}, whose guard was shut down; a tracing subscriber cannot be replaced, so tracing spans and events go to that shut-down pipeline and are not exported, and only OpenTelemetry-API spans and metrics reach this one; keep the first guard for the life of the program instead of calling init() again"
    )]
    SubscriberOfEarlierInit {
        /// Where the `init()` that installed the subscriber was called.
        installed_at: &'static std::panic::Location<'static>,
    },
}

impl From<ConfigWarning> for InitWarning {
    fn from(warning: ConfigWarning) -> Self {
        InitWarning::Config(warning)
    }
}
