//! Saying why, where the user looks: the first failed export of an
//! exporter, a reminder while it keeps failing, and the first success after
//! failures go to otlpkit's diagnostic output ([`otlpkit_core::diag`],
//! standard error by default), whatever subscriber the application has.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use otlpkit_core::diag::{self, RateLimit};
use otlpkit_core::{LogLevel, Signal};

/// How often, at most, an exporter that keeps failing says so again.
const REMINDER_INTERVAL: Duration = Duration::from_secs(60);

/// How often, at most, an exporter reports a partial success.
const PARTIAL_SUCCESS_INTERVAL: Duration = Duration::from_secs(10);

/// The plural noun for a signal's items.
pub(crate) fn item_name(signal: Signal) -> &'static str {
    match signal {
        Signal::Traces => "spans",
        Signal::Metrics => "metric data points",
        Signal::Logs => "log records",
        // `Signal` is non-exhaustive: a new signal gets a generic name.
        _ => "items",
    }
}

/// One exporter's failure state, for its diagnostics.
#[derive(Debug)]
pub(crate) struct Health {
    signal: Signal,
    endpoint: String,
    failing: AtomicBool,
    dropped_while_failing: AtomicU64,
    reminder: RateLimit,
    partial: RateLimit,
}

impl Health {
    pub(crate) fn new(signal: Signal, endpoint: &str) -> Self {
        Self {
            signal,
            endpoint: endpoint.to_owned(),
            failing: AtomicBool::new(false),
            dropped_while_failing: AtomicU64::new(0),
            reminder: RateLimit::new(REMINDER_INTERVAL),
            partial: RateLimit::new(PARTIAL_SUCCESS_INTERVAL),
        }
    }

    /// An export dropped `items` items; `message` is already redacted.
    pub(crate) fn failed(&self, items: u64, message: &str) {
        let total = self
            .dropped_while_failing
            .fetch_add(items, Ordering::Relaxed)
            .saturating_add(items);
        let what = item_name(self.signal);
        if !self.failing.swap(true, Ordering::AcqRel) {
            // Start the reminder interval now.
            self.reminder.reset();
            let _ = self.reminder.ready();
            diag::emit(
                LogLevel::Warn,
                format_args!(
                    "{} export to {} failed, {items} {what} dropped: {message} \
                     (further failures are summarised once a minute; the shutdown report \
                     counts every item)",
                    self.signal, self.endpoint
                ),
            );
        } else if self.reminder.ready() {
            diag::emit(
                LogLevel::Warn,
                format_args!(
                    "{} exports to {} are still failing, {total} {what} dropped since the \
                     first failure; the last: {message}",
                    self.signal, self.endpoint
                ),
            );
        }
    }

    /// An export was accepted.
    pub(crate) fn succeeded(&self) {
        if self.failing.swap(false, Ordering::AcqRel) {
            let dropped = self.dropped_while_failing.swap(0, Ordering::Relaxed);
            diag::emit(
                LogLevel::Info,
                format_args!(
                    "{} exports to {} succeed again ({dropped} {} were dropped while they failed)",
                    self.signal,
                    self.endpoint,
                    item_name(self.signal)
                ),
            );
        }
    }

    /// The server accepted a batch of `items` but reported a partial
    /// success; `message` is already redacted.
    pub(crate) fn partial_success(&self, items: u64, rejected: u64, message: &str) {
        if self.partial.ready() {
            diag::emit(
                LogLevel::Warn,
                format_args!(
                    "the collector at {} rejected {rejected} of {items} {} as a partial success: {message}",
                    self.endpoint,
                    item_name(self.signal)
                ),
            );
        }
    }

    /// Whether the last export failed.
    pub(crate) fn is_failing(&self) -> bool {
        self.failing.load(Ordering::Acquire)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_failure_then_a_success_flips_the_state_once() {
        let health = Health::new(Signal::Traces, "http://127.0.0.1:9/v1/traces");
        assert!(!health.is_failing());
        health.failed(3, "connection refused");
        health.failed(2, "connection refused");
        assert!(health.is_failing());
        assert_eq!(health.dropped_while_failing.load(Ordering::Relaxed), 5);
        health.succeeded();
        assert!(!health.is_failing());
        assert_eq!(health.dropped_while_failing.load(Ordering::Relaxed), 0);
    }
}
