//! The toolkit's own diagnostics. They go to `tracing` under the `otlpkit`
//! target when the `internal-logs` feature is on (the default), and compile
//! away otherwise. Callers rate-limit anything that can repeat per batch.

use std::fmt;

/// Logs a warning about otlpkit's own operation.
#[cfg(feature = "internal-logs")]
pub(crate) fn warn(message: fmt::Arguments<'_>) {
    tracing::warn!(target: "otlpkit", "{message}");
}

/// Logs a warning about otlpkit's own operation (disabled build: no-op).
#[cfg(not(feature = "internal-logs"))]
pub(crate) fn warn(message: fmt::Arguments<'_>) {
    let _ = message;
}
