//! Errors of the subscriber setup.

/// Why [`TracingSetup`](crate::TracingSetup) could not build or install the
/// subscriber.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SetupError {
    /// The filter directives given in code do not parse.
    #[error("invalid tracing filter directives {directives:?}: {source}")]
    InvalidDirectives {
        /// The directives as given.
        directives: String,
        /// The parser's complaint.
        #[source]
        source: crate::DirectiveError,
    },
    /// The filter environment variable (`RUST_LOG` unless changed) holds
    /// directives that do not parse.
    #[error("invalid tracing filter in environment variable {variable}={value:?}: {source}")]
    InvalidEnvFilter {
        /// The variable's name.
        variable: String,
        /// Its value.
        value: String,
        /// The parser's complaint.
        #[source]
        source: crate::DirectiveError,
    },
    /// The filter environment variable is set but is not valid Unicode.
    #[error("environment variable {variable} is not valid Unicode")]
    EnvNotUnicode {
        /// The variable's name.
        variable: String,
    },
    /// A global `tracing` subscriber was installed before.
    #[error("a global tracing subscriber is already installed")]
    AlreadyInstalled(#[source] tracing::subscriber::SetGlobalDefaultError),
}
