//! Deadlines from durations a user or a server chose.

use std::time::{Duration, Instant};

/// About a century: how far a deadline that never comes is put.
const FAR: Duration = Duration::from_secs(100 * 365 * 24 * 3600);

/// `from + delay`, saturating far in the future instead of overflowing.
///
/// `Instant + Duration` panics when the sum does not fit, and the durations
/// here come from callers (`Duration::MAX` to mean "no limit"), settings and
/// servers (`Retry-After: 99999999999999999999`).
///
/// ```
/// use std::time::{Duration, Instant};
/// use otlpkit_core::saturating_deadline;
///
/// let now = Instant::now();
/// assert_eq!(saturating_deadline(now, Duration::from_secs(5)), now + Duration::from_secs(5));
/// assert!(saturating_deadline(now, Duration::MAX) > now + Duration::from_secs(3600 * 24 * 365));
/// ```
pub fn saturating_deadline(from: Instant, delay: Duration) -> Instant {
    from.checked_add(delay.min(FAR))
        .or_else(|| from.checked_add(Duration::from_secs(365 * 24 * 3600)))
        .unwrap_or(from)
}
