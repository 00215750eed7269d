//! The global in-flight memory budget: every request reserves the bytes it holds (its body
//! as received, decompressed and decoded) before holding them, so the requests being read
//! and decoded at any moment never hold more than the budget in total.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{OwnedSemaphorePermit, Semaphore, TryAcquireError};

/// Reservations are counted in KiB so that budgets of gigabytes fit the semaphore.
const UNIT: usize = 1024;

/// Why a reservation was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Refusal {
    /// The request alone needs more than the whole budget: it can never be served.
    TooLarge { needed: usize, budget: usize },
    /// Other requests hold the budget; retrying later may succeed.
    Busy { needed: usize, budget: usize },
}

impl Refusal {
    pub(crate) fn message(self) -> String {
        match self {
            Refusal::TooLarge { needed, budget } => format!(
                "the request needs about {needed} bytes in memory, more than the receiver's \
                 in-flight budget of {budget} bytes"
            ),
            Refusal::Busy { needed, budget } => format!(
                "the receiver is busy: other requests hold its in-flight budget of {budget} \
                 bytes, this one needs {needed} more; retry later"
            ),
        }
    }
}

/// A byte budget shared by all requests on both listeners.
#[derive(Debug, Clone)]
pub(crate) struct Budget {
    semaphore: Arc<Semaphore>,
    /// The semaphore's permits when nothing is held.
    permits: usize,
    bytes: usize,
}

/// Bytes held by one request; given back when dropped. An empty reservation (no budget)
/// holds nothing.
#[derive(Debug, Default)]
pub(crate) struct Reservation {
    permits: Option<OwnedSemaphorePermit>,
    budget: Option<Budget>,
}

fn units(bytes: usize) -> u32 {
    u32::try_from(bytes.div_ceil(UNIT)).unwrap_or(u32::MAX)
}

impl Budget {
    pub(crate) fn new(bytes: usize) -> Budget {
        let permits = units(bytes).min(u32::try_from(Semaphore::MAX_PERMITS).unwrap_or(u32::MAX));
        Budget {
            semaphore: Arc::new(Semaphore::new(permits as usize)),
            permits: permits as usize,
            bytes,
        }
    }

    /// Bytes not reserved right now.
    #[cfg(test)]
    pub(crate) fn available(&self) -> usize {
        self.semaphore.available_permits().saturating_mul(UNIT)
    }

    /// Bytes reserved right now, in whole units.
    pub(crate) fn held(&self) -> usize {
        self.permits
            .saturating_sub(self.semaphore.available_permits())
            .saturating_mul(UNIT)
    }
}

impl Reservation {
    /// A reservation against `budget` (none: unlimited) holding nothing yet.
    pub(crate) fn new(budget: Option<&Budget>) -> Reservation {
        Reservation {
            permits: None,
            budget: budget.cloned(),
        }
    }

    /// Whether there is a budget to hold bytes from.
    pub(crate) fn is_bounded(&self) -> bool {
        self.budget.is_some()
    }

    /// Bytes held.
    pub(crate) fn held(&self) -> usize {
        self.permits
            .as_ref()
            .map_or(0, |p| p.num_permits().saturating_mul(UNIT))
    }

    fn add(&mut self, permit: OwnedSemaphorePermit) {
        match &mut self.permits {
            Some(held) => held.merge(permit),
            None => self.permits = Some(permit),
        }
    }

    fn check(&self, more: usize) -> Result<Option<(Arc<Semaphore>, u32)>, Refusal> {
        let Some(budget) = &self.budget else {
            return Ok(None);
        };
        let needed = self.held().saturating_add(more);
        if needed > budget.bytes {
            return Err(Refusal::TooLarge {
                needed,
                budget: budget.bytes,
            });
        }
        Ok(Some((Arc::clone(&budget.semaphore), units(more))))
    }

    /// Refuses, as too large, a request that needs `bytes` at once, more than the whole
    /// budget; holds nothing.
    pub(crate) fn check_fits(&self, bytes: usize) -> Result<(), Refusal> {
        match &self.budget {
            Some(budget) if bytes > budget.bytes => Err(Refusal::TooLarge {
                needed: bytes,
                budget: budget.bytes,
            }),
            _ => Ok(()),
        }
    }

    /// Holds `more` bytes, waiting up to `wait` for other requests to give some back.
    pub(crate) async fn grow(&mut self, more: usize, wait: Duration) -> Result<(), Refusal> {
        let Some((semaphore, n)) = self.check(more)? else {
            return Ok(());
        };
        let budget = self.budget.as_ref().map_or(0, |b| b.bytes);
        let busy = Refusal::Busy {
            needed: more,
            budget,
        };
        match tokio::time::timeout(wait, semaphore.acquire_many_owned(n)).await {
            Ok(Ok(permit)) => {
                self.add(permit);
                Ok(())
            }
            // Timed out, or the semaphore was closed (never happens).
            _ => Err(busy),
        }
    }

    /// Gives back `bytes` held before by a [`grow`](Self::grow) or
    /// [`try_grow`](Self::try_grow) of exactly as many bytes.
    pub(crate) fn release(&mut self, bytes: usize) {
        let n = units(bytes) as usize;
        if let Some(held) = &mut self.permits {
            if n >= held.num_permits() {
                self.permits = None;
            } else {
                drop(held.split(n));
            }
        }
    }

    /// Holds `more` bytes if they are free right now.
    pub(crate) fn try_grow(&mut self, more: usize) -> Result<(), Refusal> {
        let Some((semaphore, n)) = self.check(more)? else {
            return Ok(());
        };
        let budget = self.budget.as_ref().map_or(0, |b| b.bytes);
        match semaphore.try_acquire_many_owned(n) {
            Ok(permit) => {
                self.add(permit);
                Ok(())
            }
            Err(TryAcquireError::NoPermits | TryAcquireError::Closed) => Err(Refusal::Busy {
                needed: more,
                budget,
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn reservations_share_the_budget_and_give_it_back() {
        let budget = Budget::new(10 * UNIT);
        let mut a = Reservation::new(Some(&budget));
        a.grow(6 * UNIT, Duration::ZERO).await.unwrap();
        a.try_grow(UNIT).unwrap();
        assert_eq!(a.held(), 7 * UNIT);
        assert_eq!(budget.available(), 3 * UNIT);
        assert_eq!(budget.held(), 7 * UNIT);
        let mut b = Reservation::new(Some(&budget));
        assert_eq!(
            b.try_grow(4 * UNIT),
            Err(Refusal::Busy {
                needed: 4 * UNIT,
                budget: 10 * UNIT
            })
        );
        assert!(matches!(
            b.grow(4 * UNIT, Duration::from_millis(1)).await,
            Err(Refusal::Busy { .. })
        ));
        assert!(matches!(
            b.try_grow(11 * UNIT),
            Err(Refusal::TooLarge { .. })
        ));
        drop(a);
        assert_eq!(budget.available(), 10 * UNIT);
        assert_eq!(budget.held(), 0);
        b.try_grow(4 * UNIT).unwrap();
        b.try_grow(3 * UNIT + 1).unwrap();
        b.release(4 * UNIT);
        assert_eq!(budget.held(), 4 * UNIT);
        b.release(3 * UNIT + 1);
        assert_eq!((b.held(), budget.held()), (0, 0));
        let mut unlimited = Reservation::new(None);
        unlimited.try_grow(usize::MAX).unwrap();
        assert_eq!(unlimited.held(), 0);
    }
}
