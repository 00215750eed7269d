//! Saying why, where the user looks: a failed attempt that is retried, the
//! first failed export of an exporter, a reminder while it keeps failing,
//! and the first success after failures — each at most once a minute — go
//! to otlpkit's diagnostic output ([`otlpkit_core::diag`], standard error
//! by default), whatever subscriber the application has.

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
///
/// The log volume is bounded whatever the export rate: a failure is
/// announced as a first one, and a success after it as a recovery, at most
/// once per [`REMINDER_INTERVAL`]; failures between are summarised at most
/// once per interval. Exports that fail and succeed in turn (a collector
/// refusing some batches) would otherwise log every flip.
#[derive(Debug)]
pub(crate) struct Health {
    signal: Signal,
    endpoint: String,
    /// Whether the last export failed.
    failing: AtomicBool,
    /// Whether a first failure was announced and its recovery not yet.
    announced: AtomicBool,
    /// Items dropped since a log line last gave the count.
    dropped_unreported: AtomicU64,
    first_failure: RateLimit,
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
            announced: AtomicBool::new(false),
            dropped_unreported: AtomicU64::new(0),
            first_failure: RateLimit::new(REMINDER_INTERVAL),
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
        self.failing.store(true, Ordering::Release);
        self.dropped_unreported.fetch_add(n, Ordering::Relaxed);
        if !self.announced.load(Ordering::Acquire) && self.first_failure.ready() {
            self.announced.store(true, Ordering::Release);
            // Taken whole: concurrent exports may have added to it.
            let total = self.dropped_unreported.swap(0, Ordering::Relaxed);
            // Start the reminder interval now.
            self.reminder.reset();
            let _ = self.reminder.ready();
            let earlier = total.saturating_sub(n);
            let earlier = if earlier > 0 {
                format!(
                    " ({} dropped before, while exports failed on and off)",
                    items(earlier, self.signal)
                )
            } else {
                String::new()
            };
            diag::emit(
                LogLevel::Warn,
                format_args!(
                    "{} export to {} failed, {} dropped{earlier}: {message} \
                     (further failures are summarised once a minute; the shutdown report \
                     counts every item)",
                    self.signal,
                    self.endpoint,
                    items(n, self.signal)
                ),
            );
        } else if self.reminder.ready() {
            let total = self.dropped_unreported.swap(0, Ordering::Relaxed);
            diag::emit(
                LogLevel::Warn,
                format_args!(
                    "{} exports to {} are still failing, {} dropped since the last report; \
                     the last: {message}",
                    self.signal,
                    self.endpoint,
                    items(total, self.signal)
                ),
            );
        }
    }

    /// An export was accepted. The recovery is said once per announced
    /// failure, so at most once a minute; drops not yet reported wait for
    /// the next failure's line.
    pub(crate) fn succeeded(&self) {
        if self.failing.swap(false, Ordering::AcqRel)
            && self.announced.swap(false, Ordering::AcqRel)
        {
            let dropped = self.dropped_unreported.swap(0, Ordering::Relaxed);
            diag::emit(
                LogLevel::Info,
                format_args!(
                    "{} exports to {} succeed again ({} dropped since the last report)",
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
        assert!(health.announced.load(Ordering::Relaxed));
        // The first failure's 3 were reported; 2 are not yet.
        assert_eq!(health.dropped_unreported.load(Ordering::Relaxed), 2);
        health.succeeded();
        assert!(!health.is_failing());
        assert!(!health.announced.load(Ordering::Relaxed));
        assert_eq!(health.dropped_unreported.load(Ordering::Relaxed), 0);
    }

    // Failures and successes in turn: within the interval only the first
    // failure and one recovery are said; the drops between wait, counted,
    // for the next line.
    #[test]
    fn flapping_is_said_once_per_interval() {
        let health = Health::new(Signal::Traces, "http://127.0.0.1:9/v1/traces");
        health.failed(1, "bad data");
        health.succeeded();
        for _ in 0..10 {
            health.failed(2, "bad data");
            assert!(health.is_failing());
            health.succeeded();
            assert!(!health.is_failing());
            assert!(!health.announced.load(Ordering::Relaxed));
        }
        assert_eq!(health.dropped_unreported.load(Ordering::Relaxed), 20);
    }
}
