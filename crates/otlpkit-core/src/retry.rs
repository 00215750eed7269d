//! Retry policy for transient export failures (checklist 2.9).
//!
//! The specification requires exponential backoff with jitter but gives no
//! numbers; otlpkit's defaults are documented in `docs/CONFIGURATION.md`
//! ("Decisions on spec gaps"). This module only holds and validates the
//! numbers and computes delays; the transports run the loop, and every retry
//! stays inside the exporter's timeout.

use std::time::Duration;

use crate::error::{ConfigError, Origin};

/// Exponential backoff with jitter, bounded by attempts and by the export timeout.
///
/// Defaults: first retry after 200 ms, each next delay ×2, at most 1 s
/// between attempts, ±20 % jitter, at most 10 attempts including the first
/// (retries after ≈ 0.2, 0.6, 1.4, 2.4, 3.4 … 7.4 s); the total time is
/// bounded by the exporter timeout (10 s by default). A batch that sleeps
/// when the collector comes back holds up its pipeline while the queue
/// fills behind it, so the cap on the gap bounds that wait to ≈ 1 s, and the
/// attempts cover a collector restart of several seconds. A server
/// throttling hint always wins over these numbers.
///
/// ```
/// use std::time::Duration;
/// use otlpkit_core::RetryPolicy;
///
/// let policy = RetryPolicy::builder()
///     .with_initial_backoff(Duration::from_millis(100))
///     .with_max_attempts(3)
///     .build()
///     .unwrap();
/// assert_eq!(policy.backoff(1), Duration::from_millis(100));
/// assert_eq!(policy.backoff(2), Duration::from_millis(200));
/// ```
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RetryPolicy {
    initial_backoff: Duration,
    max_backoff: Duration,
    multiplier: f64,
    jitter: f64,
    max_attempts: u32,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            initial_backoff: Self::DEFAULT_INITIAL_BACKOFF,
            max_backoff: Self::DEFAULT_MAX_BACKOFF,
            multiplier: Self::DEFAULT_MULTIPLIER,
            jitter: Self::DEFAULT_JITTER,
            max_attempts: Self::DEFAULT_MAX_ATTEMPTS,
        }
    }
}

impl RetryPolicy {
    /// The longest wait a server's throttling hint can impose. A hint is
    /// the server's to choose, and one of years would otherwise stop a
    /// spool's drain for the life of the process.
    pub const MAX_SERVER_HINT: Duration = Duration::from_secs(3600);

    /// Delay before the first retry: 200 ms.
    pub const DEFAULT_INITIAL_BACKOFF: Duration = Duration::from_millis(200);
    /// Largest delay between two attempts: 1 s.
    pub const DEFAULT_MAX_BACKOFF: Duration = Duration::from_secs(1);
    /// Growth factor of the delay: 2.
    pub const DEFAULT_MULTIPLIER: f64 = 2.0;
    /// Jitter: each delay is drawn from ±20 % around the nominal delay.
    pub const DEFAULT_JITTER: f64 = 0.2;
    /// Attempts including the first: 10.
    pub const DEFAULT_MAX_ATTEMPTS: u32 = 10;

    /// A builder starting from the defaults.
    pub fn builder() -> RetryPolicyBuilder {
        RetryPolicyBuilder {
            policy: Self::default(),
        }
    }

    /// A policy that never retries (one attempt).
    pub fn disabled() -> Self {
        Self {
            max_attempts: 1,
            ..Self::default()
        }
    }

    /// Delay before the first retry.
    pub fn initial_backoff(&self) -> Duration {
        self.initial_backoff
    }

    /// Largest delay between two attempts.
    pub fn max_backoff(&self) -> Duration {
        self.max_backoff
    }

    /// Growth factor of the delay.
    pub fn multiplier(&self) -> f64 {
        self.multiplier
    }

    /// Jitter fraction in `[0, 1]`.
    pub fn jitter(&self) -> f64 {
        self.jitter
    }

    /// Attempts including the first (1 = no retries).
    pub fn max_attempts(&self) -> u32 {
        self.max_attempts
    }

    /// The nominal (un-jittered) delay before retry number `retry` (1-based):
    /// `initial × multiplier^(retry−1)`, capped at the maximum backoff.
    pub fn backoff(&self, retry: u32) -> Duration {
        let exponent = i32::try_from(retry.saturating_sub(1)).unwrap_or(i32::MAX);
        let nominal = self.initial_backoff.as_secs_f64() * self.multiplier.powi(exponent);
        let capped = nominal.min(self.max_backoff.as_secs_f64());
        secs_to_duration(capped).unwrap_or(self.max_backoff)
    }

    /// The delay before retry number `retry` with jitter applied, given a
    /// random number `unit` in `[0, 1)` supplied by the caller, and honouring
    /// a server throttling hint (gRPC `RetryInfo`, HTTP `Retry-After`): the
    /// result is never shorter than the hint (checklist 2.3, 2.7), up to
    /// [`MAX_SERVER_HINT`](Self::MAX_SERVER_HINT): a server that asks for
    /// longer (`Retry-After: 99999999999999999999`) is tried again after an
    /// hour.
    pub fn delay(&self, retry: u32, unit: f64, server_hint: Option<Duration>) -> Duration {
        let unit = if unit.is_finite() {
            unit.clamp(0.0, 1.0)
        } else {
            0.5
        };
        let nominal = self.backoff(retry).as_secs_f64();
        let factor = 1.0 + self.jitter * (2.0 * unit - 1.0);
        let jittered = secs_to_duration(nominal * factor).unwrap_or(self.max_backoff);
        match server_hint {
            Some(hint) => jittered.max(hint.min(Self::MAX_SERVER_HINT)),
            None => jittered,
        }
    }

    fn validate(&self) -> Result<(), ConfigError> {
        let invalid = |method, value: String, reason| ConfigError::InvalidValue {
            origin: Origin::Builder(method),
            value,
            reason,
        };
        if self.initial_backoff.is_zero() {
            return Err(invalid(
                "RetryPolicyBuilder::with_initial_backoff",
                format!("{:?}", self.initial_backoff),
                "the initial backoff must be positive",
            ));
        }
        if self.max_backoff < self.initial_backoff {
            return Err(invalid(
                "RetryPolicyBuilder::with_max_backoff",
                format!("{:?}", self.max_backoff),
                "the maximum backoff must be at least the initial backoff",
            ));
        }
        if !self.multiplier.is_finite() || self.multiplier < 1.0 {
            return Err(invalid(
                "RetryPolicyBuilder::with_multiplier",
                self.multiplier.to_string(),
                "the multiplier must be a finite number of at least 1.0",
            ));
        }
        if !(0.0..=1.0).contains(&self.jitter) {
            return Err(invalid(
                "RetryPolicyBuilder::with_jitter",
                self.jitter.to_string(),
                "the jitter must be in [0, 1]",
            ));
        }
        if self.max_attempts == 0 {
            return Err(invalid(
                "RetryPolicyBuilder::with_max_attempts",
                "0".to_owned(),
                "at least one attempt is needed",
            ));
        }
        Ok(())
    }
}

/// Seconds to a `Duration`, rounded to the nearest nanosecond; `None` for
/// negative, NaN or unrepresentable values.
fn secs_to_duration(secs: f64) -> Option<Duration> {
    let nanos = (secs * 1e9).round();
    if !(0.0..=u64::MAX as f64).contains(&nanos) {
        return None;
    }
    // In range and integral (checked above), so the conversion is exact enough.
    Some(Duration::from_nanos(nanos as u64))
}

/// Builds a validated [`RetryPolicy`].
#[derive(Debug, Clone)]
pub struct RetryPolicyBuilder {
    policy: RetryPolicy,
}

impl RetryPolicyBuilder {
    /// Delay before the first retry (must be positive).
    #[must_use]
    pub fn with_initial_backoff(mut self, delay: Duration) -> Self {
        self.policy.initial_backoff = delay;
        self
    }

    /// Largest delay between two attempts (at least the initial backoff).
    #[must_use]
    pub fn with_max_backoff(mut self, delay: Duration) -> Self {
        self.policy.max_backoff = delay;
        self
    }

    /// Growth factor (finite, ≥ 1.0).
    #[must_use]
    pub fn with_multiplier(mut self, multiplier: f64) -> Self {
        self.policy.multiplier = multiplier;
        self
    }

    /// Jitter fraction in `[0, 1]`.
    #[must_use]
    pub fn with_jitter(mut self, jitter: f64) -> Self {
        self.policy.jitter = jitter;
        self
    }

    /// Attempts including the first (≥ 1).
    #[must_use]
    pub fn with_max_attempts(mut self, attempts: u32) -> Self {
        self.policy.max_attempts = attempts;
        self
    }

    /// Validates and returns the policy.
    pub fn build(self) -> Result<RetryPolicy, ConfigError> {
        self.policy.validate()?;
        Ok(self.policy)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_the_documented_numbers() {
        // checklist 2.9 (spec gap: numbers decided in docs/CONFIGURATION.md)
        let policy = RetryPolicy::default();
        assert_eq!(policy.initial_backoff(), Duration::from_millis(200));
        assert_eq!(policy.max_backoff(), Duration::from_secs(1));
        assert_eq!(policy.multiplier(), 2.0);
        assert_eq!(policy.jitter(), 0.2);
        assert_eq!(policy.max_attempts(), 10);
        assert_eq!(RetryPolicy::disabled().max_attempts(), 1);
    }

    #[test]
    fn backoff_grows_exponentially_and_is_capped() {
        let policy = RetryPolicy::default();
        assert_eq!(policy.backoff(1), Duration::from_millis(200));
        assert_eq!(policy.backoff(2), Duration::from_millis(400));
        assert_eq!(policy.backoff(3), Duration::from_millis(800));
        assert_eq!(policy.backoff(4), Duration::from_secs(1));
        // The nine retries of the default policy end ≈ 7.4 s after the
        // first attempt, inside the default 10 s exporter timeout.
        let total: Duration = (1..policy.max_attempts()).map(|r| policy.backoff(r)).sum();
        assert_eq!(total, Duration::from_millis(7400));
        assert_eq!(policy.backoff(100), Duration::from_secs(1));
        assert_eq!(policy.backoff(u32::MAX), Duration::from_secs(1));
    }

    #[test]
    fn jitter_spreads_the_delay_and_a_server_hint_is_a_floor() {
        let policy = RetryPolicy::default();
        let millis = |d: Duration| d.as_secs_f64() * 1000.0;
        assert!((millis(policy.delay(1, 0.0, None)) - 160.0).abs() < 1e-6);
        assert_eq!(policy.delay(1, 0.5, None), Duration::from_millis(200));
        assert!((millis(policy.delay(1, 1.0, None)) - 240.0).abs() < 1e-6);
        assert_eq!(policy.delay(1, f64::NAN, None), Duration::from_millis(200));
        assert_eq!(
            policy.delay(1, 0.5, Some(Duration::from_secs(7))),
            Duration::from_secs(7)
        );
        assert_eq!(
            policy.delay(1, 0.5, Some(Duration::from_millis(10))),
            Duration::from_millis(200)
        );
        // A hint of centuries (`Retry-After` saturates at `u64::MAX`
        // seconds) waits an hour.
        assert_eq!(
            policy.delay(1, 0.5, Some(Duration::MAX)),
            RetryPolicy::MAX_SERVER_HINT
        );
    }

    #[test]
    fn invalid_numbers_are_errors_naming_the_builder_method() {
        let cases = [
            (
                RetryPolicy::builder().with_initial_backoff(Duration::ZERO),
                "with_initial_backoff",
            ),
            (
                RetryPolicy::builder().with_max_backoff(Duration::from_millis(1)),
                "with_max_backoff",
            ),
            (
                RetryPolicy::builder().with_multiplier(0.5),
                "with_multiplier",
            ),
            (
                RetryPolicy::builder().with_multiplier(f64::INFINITY),
                "with_multiplier",
            ),
            (RetryPolicy::builder().with_jitter(1.5), "with_jitter"),
            (
                RetryPolicy::builder().with_max_attempts(0),
                "with_max_attempts",
            ),
        ];
        for (builder, method) in cases {
            let error = builder.build().unwrap_err();
            assert!(error.to_string().contains(method), "{error}");
        }
    }
}
