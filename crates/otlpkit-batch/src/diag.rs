//! The engine's own diagnostics: a warning the first time items are dropped
//! for each reason, and the totals at shutdown. They go to `tracing` under the
//! `otlpkit` target with the `internal-logs` feature (the default) and compile
//! away otherwise. Nothing here runs per item once a reason has been logged.

use std::fmt;
use std::sync::atomic::{AtomicBool, Ordering};

use otlpkit_core::export::DropReason;

/// Logs a warning about the engine's own operation.
#[cfg(feature = "internal-logs")]
pub(crate) fn warn(message: fmt::Arguments<'_>) {
    tracing::warn!(target: "otlpkit", "{message}");
}

/// Logs a warning about the engine's own operation (disabled build: no-op).
#[cfg(not(feature = "internal-logs"))]
pub(crate) fn warn(message: fmt::Arguments<'_>) {
    let _ = message;
}

/// One flag per drop reason: the first drop of each kind is logged, later
/// ones only counted (the totals are logged at shutdown).
#[derive(Debug, Default)]
pub(crate) struct WarnOnce {
    logged: [AtomicBool; DropReason::ALL.len()],
    export_failed: AtomicBool,
}

impl WarnOnce {
    /// Logs the first drop for `reason`; later calls only cost one load.
    pub(crate) fn dropped(&self, what: &str, reason: DropReason) {
        let Some(index) = DropReason::ALL.iter().position(|r| *r == reason) else {
            return;
        };
        let flag = &self.logged[index];
        if !flag.load(Ordering::Relaxed) && !flag.swap(true, Ordering::Relaxed) {
            warn(format_args!(
                "otlpkit: dropping {what} ({reason}); further drops of this kind are counted, \
                 not logged, and reported at shutdown"
            ));
        }
    }

    /// Logs the first failed export with the exporter's error.
    pub(crate) fn export_failed(&self, what: &str, error: &dyn fmt::Display) {
        if !self.export_failed.load(Ordering::Relaxed)
            && !self.export_failed.swap(true, Ordering::Relaxed)
        {
            warn(format_args!(
                "otlpkit: exporting {what} failed: {error}; further failures are counted, \
                 not logged"
            ));
        }
    }
}
