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
//! anything that can repeat per batch, and a message identical to one said
//! less than a second before is not said again (two exporters of one
//! signal, the native `tracing` path's and the OpenTelemetry-API path's,
//! meet the same failure at once); messages never carry header values or
//! credentials.
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
    if !enabled(level) || output() == Output::Off {
        return;
    }
    let text = message.to_string();
    if RECENT.said_just_now(&text, Instant::now()) {
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
            let line = format!("otlpkit: {label}: {text}\n");
            let _ = std::io::stderr().lock().write_all(line.as_bytes());
        }
        Output::Tracing => to_tracing(level, format_args!("{text}")),
        Output::Off => {}
    }
}

/// How long an identical message is not said again. Two exporters of one
/// signal (the native `tracing` path's and the OpenTelemetry-API path's)
/// meet the same failure at the same moment and would say it twice.
const REPEAT_WINDOW: Duration = Duration::from_secs(1);

/// How many recent messages are remembered.
const RECENT_MESSAGES: usize = 8;

static RECENT: Recent = Recent::new();

/// The most recent messages (a hash of each) and when they were said.
struct Recent {
    said: std::sync::Mutex<[Option<(u64, Instant)>; RECENT_MESSAGES]>,
}

impl Recent {
    const fn new() -> Self {
        Self {
            said: std::sync::Mutex::new([None; RECENT_MESSAGES]),
        }
    }

    /// Whether `text` was said less than [`REPEAT_WINDOW`] before `now`;
    /// if not, it counts as said now.
    fn said_just_now(&self, text: &str, now: Instant) -> bool {
        use std::hash::{Hash as _, Hasher as _};
        let mut hasher = std::collections::hash_map::DefaultHasher::new();
        text.hash(&mut hasher);
        let hash = hasher.finish();
        let mut said = self
            .said
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let recent = |at: Instant| now.saturating_duration_since(at) < REPEAT_WINDOW;
        if said
            .iter()
            .flatten()
            .any(|&(known, at)| known == hash && recent(at))
        {
            return true;
        }
        // Replace the oldest entry (an empty one first).
        let oldest = said
            .iter()
            .enumerate()
            .min_by_key(|(_, entry)| entry.map(|(_, at)| at))
            .map_or(0, |(index, _)| index);
        said[oldest] = Some((hash, now));
        false
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
    fn an_identical_message_is_said_once_within_the_window() {
        let recent = Recent::new();
        let start = Instant::now();
        assert!(!recent.said_just_now("traces export failed", start));
        assert!(recent.said_just_now("traces export failed", start));
        assert!(!recent.said_just_now("logs export failed", start));
        // After the window it is news again.
        let later = start + REPEAT_WINDOW;
        assert!(!recent.said_just_now("traces export failed", later));
        assert!(recent.said_just_now("traces export failed", later));
        // More distinct messages than are remembered, within the window:
        // the oldest is forgotten.
        let mut at = later;
        for n in 0..RECENT_MESSAGES {
            at += Duration::from_millis(1);
            assert!(!recent.said_just_now(&format!("message {n}"), at));
        }
        assert!(!recent.said_just_now("traces export failed", at));
    }

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
