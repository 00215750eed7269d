//! The toolkit's own diagnostics: why an export failed, that it recovered,
//! that a setting fell back to a default.
//!
//! otlpkit cannot report its own failures through the pipeline that is
//! failing, and an application that installed no console subscriber would
//! otherwise never see them. So diagnostics go to one process-wide output:
//!
//! - [`Output::Stderr`] (the default): one line per message on standard
//!   error, prefixed `otlpkit:`;
//! - [`Output::Tracing`]: a `tracing` event under the `otlpkit` target, for
//!   applications whose console subscriber shows them (the `otlpkit` facade
//!   selects it when it installs one); without the `internal-logs` feature
//!   this output prints nothing;
//! - [`Output::Off`].
//!
//! Messages below the maximum level (`OTEL_LOG_LEVEL`, default `info`, set by
//! the facade with [`set_max_level`]) are skipped. Callers rate-limit
//! anything that can repeat per batch; messages never carry
//! header values or credentials.
//!
//! ```
//! use otlpkit_core::LogLevel;
//! use otlpkit_core::diag::{self, Output};
//!
//! diag::set_max_level(LogLevel::Warn);
//! assert!(diag::enabled(LogLevel::Error));
//! assert!(!diag::enabled(LogLevel::Info));
//! diag::set_output(Output::Off);
//! assert!(!diag::enabled(LogLevel::Error));
//! ```

use std::fmt;
use std::io::Write as _;
use std::sync::atomic::{AtomicU8, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use crate::LogLevel;

/// Where diagnostics go.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Output {
    /// Standard error, one line per message (the default).
    Stderr,
    /// `tracing` events under the `otlpkit` target.
    Tracing,
    /// Nowhere.
    Off,
}

static OUTPUT: AtomicU8 = AtomicU8::new(0);
static MAX_LEVEL: AtomicU8 = AtomicU8::new(level_rank(LogLevel::Info));

const fn level_rank(level: LogLevel) -> u8 {
    match level {
        LogLevel::Off => 0,
        LogLevel::Error => 1,
        LogLevel::Warn => 2,
        LogLevel::Info => 3,
        LogLevel::Debug => 4,
        LogLevel::Trace => 5,
    }
}

/// Sends diagnostics to `output` from now on.
pub fn set_output(output: Output) {
    let code = match output {
        Output::Stderr => 0,
        Output::Tracing => 1,
        Output::Off => 2,
    };
    OUTPUT.store(code, Ordering::Relaxed);
}

/// The current output.
pub fn output() -> Output {
    match OUTPUT.load(Ordering::Relaxed) {
        0 => Output::Stderr,
        1 => Output::Tracing,
        _ => Output::Off,
    }
}

/// Skips messages less severe than `level` from now on
/// (`OTEL_LOG_LEVEL`; [`LogLevel::Off`] skips everything).
pub fn set_max_level(level: LogLevel) {
    MAX_LEVEL.store(level_rank(level), Ordering::Relaxed);
}

/// Whether a message at `level` would be emitted.
pub fn enabled(level: LogLevel) -> bool {
    level != LogLevel::Off
        && level_rank(level) <= MAX_LEVEL.load(Ordering::Relaxed)
        && output() != Output::Off
}

/// Emits one diagnostic message at `level` (never [`LogLevel::Off`]).
// Not user API: how otlpkit-batch, otlpkit-exporter, otlpkit-http and the
// otlpkit facade write their diagnostics. Applications choose only where
// diagnostics go and from which level.
#[doc(hidden)]
pub fn emit(level: LogLevel, message: fmt::Arguments<'_>) {
    if !enabled(level) {
        return;
    }
    match output() {
        Output::Stderr => {
            let label = match level {
                LogLevel::Error => "error",
                LogLevel::Warn => "warning",
                LogLevel::Info => "info",
                _ => "debug",
            };
            // One write per line so that concurrent messages do not interleave.
            let line = format!("otlpkit: {label}: {message}\n");
            let _ = std::io::stderr().lock().write_all(line.as_bytes());
        }
        Output::Tracing => to_tracing(level, message),
        Output::Off => {}
    }
}

#[cfg(feature = "internal-logs")]
fn to_tracing(level: LogLevel, message: fmt::Arguments<'_>) {
    match level {
        LogLevel::Error => tracing::error!(target: "otlpkit", "{message}"),
        LogLevel::Warn => tracing::warn!(target: "otlpkit", "{message}"),
        LogLevel::Info => tracing::info!(target: "otlpkit", "{message}"),
        _ => tracing::debug!(target: "otlpkit", "{message}"),
    }
}

#[cfg(not(feature = "internal-logs"))]
fn to_tracing(_: LogLevel, _: fmt::Arguments<'_>) {}

/// Lets a message through at most once per interval: for anything that
/// could otherwise repeat once per batch. Lock-free.
// Not user API: otlpkit-exporter and otlpkit-http rate-limit their
// diagnostics with it; public only for them.
#[doc(hidden)]
#[derive(Debug)]
pub struct RateLimit {
    epoch: Instant,
    interval_ms: u64,
    /// Milliseconds since `epoch` of the last pass, plus one (0 = never).
    last: AtomicU64,
}

impl RateLimit {
    /// At most one pass per `interval`.
    pub fn new(interval: Duration) -> Self {
        Self {
            epoch: Instant::now(),
            interval_ms: u64::try_from(interval.as_millis()).unwrap_or(u64::MAX),
            last: AtomicU64::new(0),
        }
    }

    /// True when a message may pass now (and records the pass).
    pub fn ready(&self) -> bool {
        let now = u64::try_from(self.epoch.elapsed().as_millis())
            .unwrap_or(u64::MAX)
            .saturating_add(1);
        let previous = self.last.load(Ordering::Relaxed);
        (previous == 0 || now.saturating_sub(previous) >= self.interval_ms)
            && self
                .last
                .compare_exchange(previous, now, Ordering::Relaxed, Ordering::Relaxed)
                .is_ok()
    }

    /// Lets the next message pass whatever the time (after a recovery,
    /// the next failure is news again).
    pub fn reset(&self) {
        self.last.store(0, Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rate_limit_passes_once_per_interval_and_again_after_a_reset() {
        let limit = RateLimit::new(Duration::from_secs(3600));
        assert!(limit.ready());
        assert!(!limit.ready());
        limit.reset();
        assert!(limit.ready());
        let always = RateLimit::new(Duration::ZERO);
        assert!(always.ready());
        assert!(always.ready());
    }
}
