//! The hot path: a bounded lock-free queue with an overflow policy, an
//! optional byte bound, and a wake-up for the export worker that costs a
//! syscall only once per batch.
//!
//! # Accounting
//!
//! Every item is counted exactly once, by whoever removes it from the queue
//! or refuses it at the door:
//!
//! - refused at the door (queue full, block timeout, after shutdown): the
//!   producer records `enqueued` and the drop;
//! - evicted as the oldest (drop-oldest policy): the evicting producer records
//!   `enqueued` and [`DropReason::EvictedOldest`];
//! - taken by the worker for an export: the worker records `enqueued` for the
//!   whole batch; the export's outcome is recorded later;
//! - left in the queue at the shutdown deadline: the worker records `enqueued`
//!   and [`DropReason::ShutdownDeadline`];
//! - pushed while shutdown was closing the queue: the producer takes one item
//!   back out and records it as [`DropReason::AfterShutdown`] (see
//!   [`Queue::push`]).
//!
//! So the producers never touch a shared counter on the fast path, and
//! `enqueued` lags behind by the items sitting in the queue
//! ([`Queue::len`]).

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering, fence};
use std::time::{Duration, Instant};

use otlpkit_core::OverflowPolicy;
use otlpkit_core::Signal;
use otlpkit_core::stats::{DropReason, ExportStats, SignalStats};
use std::sync::{Condvar, Mutex, MutexGuard, PoisonError};
use tokio::sync::Notify;

use crate::diag::WarnOnce;
use crate::slots::Slots;

/// The optional byte bound: the limit and how an item is sized. An item's
/// size is computed when it goes in and again when it comes out; the sizing
/// function only reads the item, which nobody can change while it is queued,
/// so both give the same charge. Not storing the charge beside the item keeps
/// the slot the size of the item itself, and the hot path one copy shorter.
struct ByteBound<I> {
    max: usize,
    size_of: fn(&I) -> usize,
}

/// The bounded queue shared by the producers and the export worker.
pub(crate) struct Queue<I> {
    slots: Slots<I>,
    policy: OverflowPolicy,
    byte_bound: Option<ByteBound<I>>,
    bytes: AtomicUsize,
    batch_size: usize,
    /// Set by `close` (shutdown): new items are refused and counted.
    closed: AtomicBool,
    /// True while a wake-up is pending for the worker, so that only the
    /// first producer that fills a batch pays for the notification.
    wake_pending: AtomicBool,
    wake: Notify,
    /// Producers parked by the block policy, and what wakes them.
    blocked: AtomicUsize,
    space: Mutex<()>,
    space_freed: Condvar,
    stats: ExportStats,
    signal: Signal,
    warned: WarnOnce,
}

impl<I> std::fmt::Debug for Queue<I> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Queue")
            .field("len", &self.len())
            .field("capacity", &self.capacity())
            .field("policy", &self.policy)
            .field("bytes", &self.bytes())
            .field("max_bytes", &self.max_bytes())
            .field("closed", &self.is_closed())
            .finish_non_exhaustive()
    }
}

impl<I> Queue<I> {
    /// A queue of `capacity` items (at least 1). With `max_bytes`, items are
    /// also bounded by their total `size_of`.
    pub(crate) fn new(
        capacity: usize,
        batch_size: usize,
        policy: OverflowPolicy,
        max_bytes: Option<usize>,
        size_of: fn(&I) -> usize,
        stats: ExportStats,
        signal: Signal,
    ) -> Self {
        Self {
            slots: Slots::new(capacity),
            policy,
            byte_bound: max_bytes.map(|max| ByteBound { max, size_of }),
            bytes: AtomicUsize::new(0),
            batch_size: batch_size.clamp(1, capacity.max(1)),
            closed: AtomicBool::new(false),
            wake_pending: AtomicBool::new(false),
            wake: Notify::new(),
            blocked: AtomicUsize::new(0),
            space: Mutex::new(()),
            space_freed: Condvar::new(),
            stats,
            signal,
            warned: WarnOnce::default(),
        }
    }

    fn counters(&self) -> &SignalStats {
        self.stats.signal(self.signal)
    }

    /// Items in the queue now.
    pub(crate) fn len(&self) -> usize {
        self.slots.len()
    }

    /// The item bound.
    pub(crate) fn capacity(&self) -> usize {
        self.slots.capacity()
    }

    /// Bytes charged to the queued items (0 without a byte bound).
    pub(crate) fn bytes(&self) -> usize {
        self.bytes.load(Ordering::Relaxed)
    }

    /// The byte bound, if any.
    pub(crate) fn max_bytes(&self) -> Option<usize> {
        self.byte_bound.as_ref().map(|bound| bound.max)
    }

    /// The bytes `item` is charged: 0 without a byte bound.
    #[inline]
    fn charge(&self, item: &I) -> usize {
        self.byte_bound
            .as_ref()
            .map_or(0, |bound| (bound.size_of)(item))
    }

    /// Whether `close` has been called.
    pub(crate) fn is_closed(&self) -> bool {
        self.closed.load(Ordering::Acquire)
    }

    /// The notification the worker waits on.
    pub(crate) fn wake(&self) -> &Notify {
        &self.wake
    }

    /// Counts an item refused at the door.
    fn refuse(&self, reason: DropReason, n: u64) {
        let counters = self.counters();
        counters.record_enqueued(n);
        counters.record_dropped(reason, n);
        self.warned.dropped(item_name(self.signal), reason);
    }

    /// Counts an item that was not even offered because the queue is closed.
    pub(crate) fn refuse_after_shutdown(&self) {
        self.refuse(DropReason::AfterShutdown, 1);
    }

    /// Adds an item (the hot path).
    ///
    /// Never awaits and never takes a lock that an export holds; only the
    /// block policy waits, on a condition variable the worker signals when it
    /// takes items out.
    #[inline]
    pub(crate) fn push(&self, item: I) {
        if self.closed.load(Ordering::Relaxed) {
            drop(item);
            self.refuse(DropReason::AfterShutdown, 1);
            return;
        }
        // The common case, no byte bound and room in the queue, moves the
        // item straight into its slot (a span is a few hundred bytes, and
        // every extra move of it shows on the hot path); the policy only
        // matters when the queue is full.
        let refused = if self.byte_bound.is_none() {
            match self.slots.push(item) {
                Ok(()) => None,
                Err(item) => self.push_by_policy(item),
            }
        } else {
            self.push_by_policy(item)
        };
        if let Some(reason) = refused {
            self.refuse(reason, 1);
            return;
        }
        // Pairs with the fences in `close` and `clear_wake`: either this
        // producer sees the queue closed / the wake flag cleared, or the
        // worker sees this item.
        fence(Ordering::SeqCst);
        if self.closed.load(Ordering::Relaxed) {
            // Shutdown closed the queue while this item went in, and its final
            // drain may already be over. Take one item back out and count it
            // as refused: every push made after the close is matched by one
            // removal, so nothing is stranded and nothing counted twice. (If
            // the drain took this item already, the queue may be empty and
            // the item was exported normally.)
            if let Some(item) = self.slots.pop() {
                self.release(&item);
                self.refuse(DropReason::AfterShutdown, 1);
            }
            return;
        }
        if self.slots.len() >= self.batch_size {
            self.wake_worker();
        }
    }

    /// Adds an item as the overflow policy says. Returns the reason if it
    /// was refused.
    #[inline(never)]
    fn push_by_policy(&self, item: I) -> Option<DropReason> {
        match self.policy {
            OverflowPolicy::DropOldest => {
                self.push_evicting(item);
                None
            }
            OverflowPolicy::Block { timeout } => self.push_blocking(item, timeout),
            // DropNewest, and any policy added later: the spec behaviour.
            _ => self.try_push(item).err().map(|_| DropReason::QueueFull),
        }
    }

    /// Notifies the worker unless a notification is already pending.
    fn wake_worker(&self) {
        if !self.wake_pending.load(Ordering::Relaxed)
            && !self.wake_pending.swap(true, Ordering::AcqRel)
        {
            self.wake.notify_one();
        }
    }

    /// Called by the worker before it looks at the queue length: the next
    /// producer that fills a batch notifies again.
    pub(crate) fn clear_wake(&self) {
        self.wake_pending.store(false, Ordering::SeqCst);
        fence(Ordering::SeqCst);
    }

    /// Charges `item` against the byte bound. A single item larger than the
    /// bound is accepted into an empty queue, so it cannot be refused forever.
    #[inline]
    fn reserve(&self, item: &I) -> bool {
        let Some(bound) = &self.byte_bound else {
            return true;
        };
        let bytes = (bound.size_of)(item);
        let before = self.bytes.fetch_add(bytes, Ordering::AcqRel);
        if before == 0 || before.saturating_add(bytes) <= bound.max {
            true
        } else {
            self.bytes.fetch_sub(bytes, Ordering::AcqRel);
            false
        }
    }

    /// Gives back what `item` was charged when it went in.
    #[inline]
    fn release(&self, item: &I) {
        self.release_bytes(self.charge(item));
    }

    fn release_bytes(&self, bytes: usize) {
        if bytes > 0 {
            self.bytes.fetch_sub(bytes, Ordering::AcqRel);
        }
    }

    /// One attempt: fails when the item or byte bound is reached.
    #[inline]
    fn try_push(&self, item: I) -> Result<(), I> {
        if !self.reserve(&item) {
            return Err(item);
        }
        self.slots.push(item).inspect_err(|item| self.release(item))
    }

    /// Drop-oldest: evicts queued items until the new one fits.
    fn push_evicting(&self, item: I) {
        if let Some(bound) = &self.byte_bound {
            let bytes = (bound.size_of)(&item);
            self.bytes.fetch_add(bytes, Ordering::AcqRel);
            // Evict from the front until the bytes fit (or only the new item
            // would be left over the bound).
            while self.bytes.load(Ordering::Acquire) > bound.max
                && self.bytes.load(Ordering::Acquire) > bytes
            {
                match self.slots.pop() {
                    Some(old) => self.evict(old),
                    None => break,
                }
            }
        }
        if let Some(old) = self.slots.force_push(item) {
            self.evict(old);
        }
    }

    fn evict(&self, old: I) {
        self.release(&old);
        drop(old);
        self.refuse(DropReason::EvictedOldest, 1);
    }

    /// Block: parks the producer until the worker frees room, the queue is
    /// closed or `timeout` passes. Returns the reason if the item was refused.
    fn push_blocking(&self, item: I, timeout: Duration) -> Option<DropReason> {
        let mut item = match self.try_push(item) {
            Ok(()) => return None,
            Err(item) => item,
        };
        // A full queue is at least one batch: make sure the worker knows.
        self.wake_worker();
        let deadline = crate::engine::later(Instant::now(), timeout);
        self.blocked.fetch_add(1, Ordering::SeqCst);
        fence(Ordering::SeqCst);
        let mut guard = self.lock_space();
        let outcome = loop {
            // Closed first: a producer woken by shutdown gives its item up
            // instead of taking room the shutdown drain has just freed.
            if self.closed.load(Ordering::SeqCst) {
                break Some(DropReason::AfterShutdown);
            }
            item = match self.try_push(item) {
                Ok(()) => break None,
                Err(item) => item,
            };
            let left = deadline.saturating_duration_since(Instant::now());
            let (reacquired, wait) = self
                .space_freed
                .wait_timeout(guard, left)
                .unwrap_or_else(PoisonError::into_inner);
            guard = reacquired;
            if wait.timed_out() {
                break match self.try_push(item) {
                    Ok(()) => None,
                    Err(_) => Some(DropReason::BlockTimeout),
                };
            }
        };
        drop(guard);
        self.blocked.fetch_sub(1, Ordering::SeqCst);
        outcome
    }

    /// Wakes producers parked by the block policy, if any.
    fn wake_blocked(&self) {
        fence(Ordering::SeqCst);
        if self.blocked.load(Ordering::SeqCst) > 0 {
            let _guard = self.lock_space();
            self.space_freed.notify_all();
        }
    }

    /// The lock the block policy waits under; it guards no data, so a
    /// panic elsewhere cannot leave anything torn.
    fn lock_space(&self) -> MutexGuard<'_, ()> {
        self.space.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Takes up to `max` items for an export (the worker side) and counts
    /// them as enqueued.
    pub(crate) fn pop_batch(&self, max: usize, into: &mut Vec<I>) -> usize {
        let before = into.len();
        // `extend` writes each popped item straight into the vector; a
        // `while let` + `push` loop moved every item once more.
        into.extend(std::iter::from_fn(|| self.slots.pop()).take(max));
        let taken = into.len() - before;
        if taken > 0 {
            if self.byte_bound.is_some() {
                let bytes = into[before..].iter().map(|item| self.charge(item)).sum();
                self.release_bytes(bytes);
            }
            self.counters().record_enqueued(taken as u64);
            self.wake_blocked();
        }
        taken
    }

    /// Removes every queued item and counts it as dropped for `reason`
    /// (shutdown deadline). Returns how many there were.
    pub(crate) fn discard_all(&self, reason: DropReason) -> u64 {
        let mut discarded = 0u64;
        while let Some(item) = self.slots.pop() {
            self.release(&item);
            discarded += 1;
        }
        if discarded > 0 {
            self.refuse(reason, discarded);
            self.wake_blocked();
        }
        discarded
    }

    /// Refuses new items from now on and wakes parked producers, which give
    /// their items up as [`DropReason::AfterShutdown`]. Returns false if the
    /// queue was already closed.
    pub(crate) fn close(&self) -> bool {
        let first = !self.closed.swap(true, Ordering::SeqCst);
        fence(Ordering::SeqCst);
        let _guard = self.lock_space();
        self.space_freed.notify_all();
        first
    }
}

/// The queue's operations that do not name the item type: what the export
/// worker, flush, shutdown and the statistics use, through one trait object
/// so that they are compiled once for every item type (only the producer's
/// push and the worker's `pop_batch` are generic).
pub(crate) trait QueueView: Send + Sync + 'static {
    fn len(&self) -> usize;
    fn capacity(&self) -> usize;
    fn bytes(&self) -> usize;
    fn max_bytes(&self) -> Option<usize>;
    fn is_closed(&self) -> bool;
    fn wake(&self) -> &Notify;
    fn clear_wake(&self);
    fn discard_all(&self, reason: DropReason) -> u64;
    fn close(&self) -> bool;
    fn refuse_after_shutdown(&self);
}

impl<I: Send + 'static> QueueView for Queue<I> {
    fn len(&self) -> usize {
        Queue::len(self)
    }
    fn capacity(&self) -> usize {
        Queue::capacity(self)
    }
    fn bytes(&self) -> usize {
        Queue::bytes(self)
    }
    fn max_bytes(&self) -> Option<usize> {
        Queue::max_bytes(self)
    }
    fn is_closed(&self) -> bool {
        Queue::is_closed(self)
    }
    fn wake(&self) -> &Notify {
        Queue::wake(self)
    }
    fn clear_wake(&self) {
        Queue::clear_wake(self);
    }
    fn discard_all(&self, reason: DropReason) -> u64 {
        Queue::discard_all(self, reason)
    }
    fn close(&self) -> bool {
        Queue::close(self)
    }
    fn refuse_after_shutdown(&self) {
        Queue::refuse_after_shutdown(self);
    }
}

/// What the items of `signal` are called in messages.
pub(crate) fn item_name(signal: Signal) -> &'static str {
    match signal {
        Signal::Traces => "spans",
        Signal::Logs => "log records",
        _ => "items",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    /// A test item: its number and the bytes it claims to take.
    type Item = (u32, usize);

    fn size_of(item: &Item) -> usize {
        item.1
    }

    fn queue(capacity: usize, policy: OverflowPolicy, max_bytes: Option<usize>) -> Queue<Item> {
        Queue::new(
            capacity,
            capacity,
            policy,
            max_bytes,
            size_of,
            ExportStats::new(),
            Signal::Traces,
        )
    }

    /// Takes everything queued; returns the items' numbers.
    fn drain(q: &Queue<Item>) -> Vec<u32> {
        let mut out = Vec::new();
        q.pop_batch(usize::MAX, &mut out);
        out.into_iter().map(|(n, _)| n).collect()
    }

    fn stats(q: &Queue<Item>) -> otlpkit_core::stats::SignalStatsSnapshot {
        q.stats.snapshot().signal(Signal::Traces)
    }

    #[test]
    fn drop_newest_refuses_the_new_item_and_counts_it() {
        // checklist 3.3
        let q = queue(2, OverflowPolicy::DropNewest, None);
        for i in 0..5 {
            q.push((i, 0));
        }
        assert_eq!(drain(&q), vec![0, 1]);
        let s = stats(&q);
        assert_eq!(s.enqueued, 5);
        assert_eq!(s.dropped(DropReason::QueueFull), 3);
    }

    #[test]
    fn drop_oldest_evicts_the_front_and_counts_it() {
        let q = queue(2, OverflowPolicy::DropOldest, None);
        for i in 0..5 {
            q.push((i, 0));
        }
        assert_eq!(drain(&q), vec![3, 4]);
        let s = stats(&q);
        assert_eq!(s.enqueued, 5);
        assert_eq!(s.dropped(DropReason::EvictedOldest), 3);
    }

    #[test]
    fn byte_bound_refuses_or_evicts_by_size() {
        let q = queue(100, OverflowPolicy::DropNewest, Some(10));
        q.push((1, 6));
        q.push((2, 6)); // 12 > 10: refused
        q.push((3, 4)); // 10: fits
        assert_eq!(q.bytes(), 10);
        assert_eq!(drain(&q), vec![1, 3]);
        assert_eq!(q.bytes(), 0);
        assert_eq!(stats(&q).dropped(DropReason::QueueFull), 1);

        // A single item over the bound still goes into an empty queue.
        q.push((4, 50));
        assert_eq!(drain(&q), vec![4]);

        let q = queue(100, OverflowPolicy::DropOldest, Some(10));
        q.push((1, 4));
        q.push((2, 4));
        q.push((3, 4)); // 12 > 10: evicts 1
        assert_eq!(q.bytes(), 8);
        assert_eq!(drain(&q), vec![2, 3]);
        assert_eq!(stats(&q).dropped(DropReason::EvictedOldest), 1);
    }

    #[test]
    fn block_times_out_and_counts_block_timeout() {
        let q = queue(
            1,
            OverflowPolicy::Block {
                timeout: Duration::from_millis(20),
            },
            None,
        );
        q.push((1, 0));
        q.push((2, 0)); // nobody drains: times out
        assert_eq!(stats(&q).dropped(DropReason::BlockTimeout), 1);
        assert_eq!(drain(&q), vec![1]);
    }

    #[test]
    fn block_is_woken_by_the_consumer_and_loses_nothing() {
        let q = Arc::new(queue(
            4,
            OverflowPolicy::Block {
                timeout: Duration::from_secs(30),
            },
            None,
        ));
        let producer = {
            let q = Arc::clone(&q);
            std::thread::spawn(move || {
                for i in 0..2000 {
                    q.push((i, 0));
                }
            })
        };
        let mut seen = Vec::new();
        while seen.len() < 2000 {
            if q.pop_batch(3, &mut seen) == 0 {
                std::thread::yield_now();
            }
        }
        producer.join().unwrap();
        assert_eq!(seen, (0..2000).map(|n| (n, 0)).collect::<Vec<_>>());
        let s = stats(&q);
        assert_eq!((s.enqueued, s.dropped_total()), (2000, 0));
    }

    #[test]
    fn closing_refuses_new_items_and_wakes_parked_producers() {
        let q = Arc::new(queue(
            1,
            OverflowPolicy::Block {
                timeout: Duration::from_secs(60),
            },
            None,
        ));
        q.push((1, 0));
        let parked = {
            let q = Arc::clone(&q);
            std::thread::spawn(move || q.push((2, 0)))
        };
        // Wait until the producer is parked, then close.
        while q.blocked.load(Ordering::SeqCst) == 0 {
            std::thread::yield_now();
        }
        assert!(q.close());
        assert!(!q.close());
        parked.join().unwrap();
        q.push((3, 0));
        assert_eq!(q.discard_all(DropReason::ShutdownDeadline), 1);
        let s = stats(&q);
        assert_eq!(s.dropped(DropReason::AfterShutdown), 2);
        assert_eq!(s.dropped(DropReason::ShutdownDeadline), 1);
        assert_eq!(s.enqueued, 3);
    }

    #[test]
    fn the_worker_is_woken_once_per_filled_batch() {
        let q = Queue::new(
            100,
            4,
            OverflowPolicy::DropNewest,
            None,
            size_of,
            ExportStats::new(),
            Signal::Logs,
        );
        for i in 0..3 {
            q.push((i, 0));
        }
        assert!(!q.wake_pending.load(Ordering::SeqCst));
        q.push((3, 0));
        assert!(q.wake_pending.load(Ordering::SeqCst));
        q.clear_wake();
        assert!(!q.wake_pending.load(Ordering::SeqCst));
        q.push((4, 0));
        assert!(q.wake_pending.load(Ordering::SeqCst));
    }
}
