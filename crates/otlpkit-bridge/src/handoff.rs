//! [`handoff`]: one value handed from one thread to one waiter, with a
//! bounded wait.
//!
//! It is what otlpkit's crates use to wait for a single reply (a worker's
//! report, a helper thread's outcome, a thread that has finished) instead
//! of a `std::sync::mpsc` channel. A channel is compiled again for every
//! message type in every crate that uses one (about ten kilobytes of code
//! each time); here the waiting is compiled once, in this crate, and only
//! the slot that holds the value is generic.

use std::fmt;
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

/// A handoff of one `T`: the [`Giver`] gives it, the [`Taker`] waits for it.
///
/// ```
/// use std::time::Duration;
///
/// let (giver, taker) = otlpkit_bridge::handoff::<u32>();
/// std::thread::spawn(move || giver.give(42));
/// assert_eq!(taker.wait_timeout(Duration::from_secs(10)).unwrap(), 42);
///
/// // A giver dropped without giving ends the wait at once.
/// let (giver, taker) = otlpkit_bridge::handoff::<u32>();
/// drop(giver);
/// assert!(matches!(taker.wait(), Err(otlpkit_bridge::HandoffError::Dropped)));
/// ```
pub fn handoff<T>() -> (Giver<T>, Taker<T>) {
    let inner = Arc::new(Inner {
        signal: Signal::default(),
        value: Mutex::new(None),
    });
    (
        Giver {
            inner: Arc::clone(&inner),
        },
        Taker { inner },
    )
}

/// Why [`Taker`] got no value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum HandoffError {
    /// Nothing was given within the time waited.
    #[error("no value within {0:?}")]
    Timeout(Duration),
    /// The [`Giver`] was dropped without giving (its thread ended or
    /// panicked).
    #[error("the giver was dropped without giving a value")]
    Dropped,
}

/// The giving side of a [`handoff`]. Dropping it without giving ends the
/// taker's wait with [`HandoffError::Dropped`].
pub struct Giver<T> {
    inner: Arc<Inner<T>>,
}

/// The waiting side of a [`handoff`].
pub struct Taker<T> {
    inner: Arc<Inner<T>>,
}

struct Inner<T> {
    signal: Signal,
    value: Mutex<Option<T>>,
}

impl<T> fmt::Debug for Giver<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Giver").finish_non_exhaustive()
    }
}

impl<T> fmt::Debug for Taker<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Taker").finish_non_exhaustive()
    }
}

impl<T> Giver<T> {
    /// Gives the value and wakes the taker. If the taker is gone, the value
    /// is dropped.
    pub fn give(self, value: T) {
        *lock(&self.inner.value) = Some(value);
        self.inner.signal.set(State::Given);
    }
}

impl<T> Drop for Giver<T> {
    fn drop(&mut self) {
        // After `give`, the state is already `Given` and stays so.
        self.inner.signal.set(State::Dropped);
    }
}

impl<T> Taker<T> {
    /// Waits for the value without a limit.
    pub fn wait(self) -> Result<T, HandoffError> {
        self.wait_until(None)
    }

    /// Waits for the value at most `timeout` (a timeout too large to add to
    /// the current time waits without a limit).
    pub fn wait_timeout(self, timeout: Duration) -> Result<T, HandoffError> {
        self.wait_until(Some(timeout))
    }

    fn wait_until(self, timeout: Option<Duration>) -> Result<T, HandoffError> {
        self.inner.signal.wait(timeout)?;
        lock(&self.inner.value).take().ok_or(HandoffError::Dropped)
    }
}

/// The state of a handoff.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
enum State {
    #[default]
    Waiting,
    Given,
    Dropped,
}

/// The part of a handoff that does not depend on the value's type: the
/// state and the wait, compiled once.
#[derive(Default)]
struct Signal {
    state: Mutex<State>,
    changed: Condvar,
}

impl Signal {
    /// Moves a waiting handoff to `state` (the first call wins).
    fn set(&self, state: State) {
        let mut current = lock(&self.state);
        if *current == State::Waiting {
            *current = state;
            drop(current);
            self.changed.notify_all();
        }
    }

    /// Waits until the state leaves `Waiting`, at most `timeout`.
    fn wait(&self, timeout: Option<Duration>) -> Result<(), HandoffError> {
        let deadline = timeout.map(|timeout| (timeout, Instant::now().checked_add(timeout)));
        let mut state = lock(&self.state);
        loop {
            match *state {
                State::Given => return Ok(()),
                State::Dropped => return Err(HandoffError::Dropped),
                State::Waiting => {}
            }
            state = match deadline {
                None | Some((_, None)) => self
                    .changed
                    .wait(state)
                    .unwrap_or_else(PoisonError::into_inner),
                Some((timeout, Some(deadline))) => {
                    let left = deadline.saturating_duration_since(Instant::now());
                    if left.is_zero() {
                        return Err(HandoffError::Timeout(timeout));
                    }
                    self.changed
                        .wait_timeout(state, left)
                        .unwrap_or_else(PoisonError::into_inner)
                        .0
                }
            };
        }
    }
}

/// Locks `mutex`; a panic while it was held cannot leave a state or an
/// `Option` torn, so a poisoned lock is used as it is.
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_value_given_on_another_thread_is_taken() {
        let (giver, taker) = handoff();
        let thread = std::thread::spawn(move || giver.give(String::from("report")));
        assert_eq!(taker.wait().unwrap(), "report");
        thread.join().unwrap();
    }

    #[test]
    fn a_value_given_before_the_wait_is_taken_even_with_a_zero_timeout() {
        let (giver, taker) = handoff();
        giver.give(7);
        assert_eq!(taker.wait_timeout(Duration::ZERO), Ok(7));
    }

    #[test]
    fn nothing_given_times_out_with_the_time_waited() {
        let (giver, taker) = handoff::<u8>();
        let timeout = Duration::from_millis(20);
        assert_eq!(
            taker.wait_timeout(timeout),
            Err(HandoffError::Timeout(timeout))
        );
        drop(giver);
    }

    #[test]
    fn a_giver_dropped_without_giving_ends_the_wait() {
        let (giver, taker) = handoff::<u8>();
        let thread = std::thread::spawn(move || {
            let _giver = giver;
            panic!("the helper died");
        });
        // Without a limit: it would hang if the drop did not end the wait.
        assert_eq!(taker.wait(), Err(HandoffError::Dropped));
        assert!(thread.join().is_err());
    }

    #[test]
    fn a_timeout_too_large_to_add_waits_without_a_limit() {
        let (giver, taker) = handoff();
        let thread = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(10));
            giver.give(1);
        });
        assert_eq!(taker.wait_timeout(Duration::MAX), Ok(1));
        thread.join().unwrap();
    }

    #[test]
    fn a_value_given_to_a_taker_that_is_gone_is_dropped() {
        let value = Arc::new(());
        let (giver, taker) = handoff();
        drop(taker);
        giver.give(Arc::clone(&value));
        assert_eq!(Arc::strong_count(&value), 1);
    }
}
