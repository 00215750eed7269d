//! Rate limiting for the transport's own warnings, which could otherwise
//! repeat once per batch.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// True at most once per interval.
#[derive(Debug)]
pub(crate) struct RateLimited {
    epoch: Instant,
    interval: Duration,
    /// Milliseconds since `epoch` of the last `true`, plus one (0 = never).
    last: AtomicU64,
}

impl RateLimited {
    pub(crate) fn new(interval: Duration) -> Self {
        Self {
            epoch: Instant::now(),
            interval,
            last: AtomicU64::new(0),
        }
    }

    /// Whether a message may be logged now.
    pub(crate) fn ready(&self) -> bool {
        let now = u64::try_from(self.epoch.elapsed().as_millis())
            .unwrap_or(u64::MAX)
            .saturating_add(1);
        let previous = self.last.load(Ordering::Relaxed);
        let interval = u64::try_from(self.interval.as_millis()).unwrap_or(u64::MAX);
        (previous == 0 || now.saturating_sub(previous) >= interval)
            && self
                .last
                .compare_exchange(previous, now, Ordering::Relaxed, Ordering::Relaxed)
                .is_ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_call_passes_and_repeats_within_the_interval_do_not() {
        let limiter = RateLimited::new(Duration::from_secs(3600));
        assert!(limiter.ready());
        assert!(!limiter.ready());
        assert!(!limiter.ready());
        let always = RateLimited::new(Duration::ZERO);
        assert!(always.ready());
        assert!(always.ready());
    }
}
