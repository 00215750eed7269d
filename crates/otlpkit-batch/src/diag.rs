//! The engine's own diagnostics: a warning the first time items are dropped
//! for each reason, and the totals at shutdown. They go to otlpkit's
//! diagnostic output ([`otlpkit_core::diag`]: standard error by default).
//! Nothing here runs per item once a reason has been logged.

use std::fmt;
use std::sync::atomic::{AtomicBool, Ordering};

use otlpkit_core::LogLevel;
use otlpkit_core::stats::DropReason;

/// Reports a warning about the engine's own operation.
pub(crate) fn warn(message: fmt::Arguments<'_>) {
    otlpkit_core::diag::emit(LogLevel::Warn, message);
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
                "dropping {what} ({reason}); further drops of this kind are counted, \
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
                "exporting {what} failed: {error}; further failures are counted, \
                 not logged"
            ));
        }
    }
}
