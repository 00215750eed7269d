//! Saying why, where the user looks: a failed attempt that is retried (at
//! most once a minute), the first failed export of an exporter, a reminder
//! while it keeps failing, and the first success after failures go to
//! otlpkit's diagnostic output ([`otlpkit_core::diag`], standard error by
//! default), whatever subscriber the application has.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use otlpkit_core::diag::{self, RateLimit};
use otlpkit_core::{LogLevel, Signal};

/// How often, at most, an exporter that keeps failing says so again.
const REMINDER_INTERVAL: Duration = Duration::from_secs(60);

/// How often, at most, an exporter reports a partial success.
const PARTIAL_SUCCESS_INTERVAL: Duration = Duration::from_secs(10);

/// `n` items of a signal, in words: `1 span`, `3 log records`.
pub(crate) fn items(n: u64, signal: Signal) -> String {
    let (one, many) = match signal {
        Signal::Traces => ("span", "spans"),
        Signal::Metrics => ("metric data point", "metric data points"),
        Signal::Logs => ("log record", "log records"),
        // `Signal` is non-exhaustive: a new signal gets a generic name.
        _ => ("item", "items"),
    };
    format!("{n} {}", if n == 1 { one } else { many })
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
    retrying: RateLimit,
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
            retrying: RateLimit::new(REMINDER_INTERVAL),
        }
    }

    /// An attempt failed and is retried; `message` is already redacted. An
    /// export retries for up to its whole timeout (10 s by default) before
    /// it counts as failed: this says why at once, so that a short program
    /// or a service starting against a collector that is not there does not
    /// stay silent until then.
    pub(crate) fn retrying(&self, message: &str) {
        if self.retrying.ready() {
            diag::emit(
                LogLevel::Info,
                format_args!(
                    "{} export to {}: an attempt failed and is being retried within the export \
                     timeout: {message} (said at most once a minute; a batch that still fails \
                     is reported as dropped)",
                    self.signal, self.endpoint
                ),
            );
        }
    }

    /// An export dropped `items` items; `message` is already redacted.
    pub(crate) fn failed(&self, n: u64, message: &str) {
        let total = self
            .dropped_while_failing
            .fetch_add(n, Ordering::Relaxed)
            .saturating_add(n);
        let dropped = items(n, self.signal);
        let dropped_in_all = items(total, self.signal);
        if !self.failing.swap(true, Ordering::AcqRel) {
            // Start the reminder interval now.
            self.reminder.reset();
            let _ = self.reminder.ready();
            diag::emit(
                LogLevel::Warn,
                format_args!(
                    "{} export to {} failed, {dropped} dropped: {message} \
                     (further failures are summarised once a minute; the shutdown report \
                     counts every item)",
                    self.signal, self.endpoint
                ),
            );
        } else if self.reminder.ready() {
            diag::emit(
                LogLevel::Warn,
                format_args!(
                    "{} exports to {} are still failing, {dropped_in_all} dropped since the \
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
                    "{} exports to {} succeed again ({} dropped while they failed)",
                    self.signal,
                    self.endpoint,
                    items(dropped, self.signal)
                ),
            );
        }
    }

    /// The server accepted a batch of `items` but reported a partial
    /// success; `message` is already redacted.
    pub(crate) fn partial_success(&self, n: u64, rejected: u64, message: &str) {
        if self.partial.ready() {
            diag::emit(
                LogLevel::Warn,
                format_args!(
                    "the collector at {} rejected {rejected} of {} as a partial success: {message}",
                    self.endpoint,
                    items(n, self.signal)
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
