//! Where queued items live: storage that never costs memory for the whole
//! bound up front.
//!
//! A bound up to [`RING_LIMIT`] items gets a fixed ring (crossbeam's
//! `ArrayQueue`), allocated once: the common case, and the fastest. A larger
//! bound (`OTEL_BSP_MAX_QUEUE_SIZE=1000000000` is a valid setting) gets a
//! segmented queue (crossbeam's `SegQueue`) that allocates blocks as items
//! arrive and frees them as they leave, with the bound kept by a counter. So
//! no setting can make start-up allocate gigabytes, or fail to.

use std::sync::atomic::{AtomicUsize, Ordering};

use crossbeam_queue::{ArrayQueue, SegQueue};

/// The largest bound given a ring allocated up front: about 5 MiB of spans.
pub(crate) const RING_LIMIT: usize = 16 * 1024;

/// A bounded multi-producer multi-consumer FIFO of items.
pub(crate) enum Slots<I> {
    /// All slots allocated at once.
    Ring(ArrayQueue<I>),
    /// Blocks allocated on demand; `len` counts reserved places.
    Segmented {
        items: SegQueue<I>,
        len: AtomicUsize,
        capacity: usize,
    },
}

impl<I> Slots<I> {
    /// Storage for at most `capacity` items (at least 1).
    pub(crate) fn new(capacity: usize) -> Self {
        let capacity = capacity.max(1);
        if capacity <= RING_LIMIT {
            Slots::Ring(ArrayQueue::new(capacity))
        } else {
            Slots::Segmented {
                items: SegQueue::new(),
                len: AtomicUsize::new(0),
                capacity,
            }
        }
    }

    /// Adds `item` at the back, or hands it back when the storage is full.
    #[inline]
    pub(crate) fn push(&self, item: I) -> Result<(), I> {
        match self {
            Slots::Ring(ring) => ring.push(item),
            Slots::Segmented {
                items,
                len,
                capacity,
            } => {
                if len.fetch_add(1, Ordering::AcqRel) >= *capacity {
                    len.fetch_sub(1, Ordering::AcqRel);
                    return Err(item);
                }
                items.push(item);
                Ok(())
            }
        }
    }

    /// Adds `item` at the back; when the storage is full, removes and
    /// returns the item at the front to make room.
    pub(crate) fn force_push(&self, item: I) -> Option<I> {
        match self {
            Slots::Ring(ring) => ring.force_push(item),
            Slots::Segmented {
                items,
                len,
                capacity,
            } => {
                let before = len.fetch_add(1, Ordering::AcqRel);
                items.push(item);
                if before < *capacity {
                    return None;
                }
                // Over the bound by this item: the oldest goes. There are at
                // least `capacity` items ahead of this one.
                let oldest = items.pop();
                if oldest.is_some() {
                    len.fetch_sub(1, Ordering::AcqRel);
                }
                oldest
            }
        }
    }

    /// Removes the item at the front.
    #[inline]
    pub(crate) fn pop(&self) -> Option<I> {
        match self {
            Slots::Ring(ring) => ring.pop(),
            Slots::Segmented { items, len, .. } => {
                let item = items.pop()?;
                len.fetch_sub(1, Ordering::AcqRel);
                Some(item)
            }
        }
    }

    /// Items stored now (for the segmented storage, places taken, which
    /// may run ahead of the items by those being pushed this instant).
    pub(crate) fn len(&self) -> usize {
        match self {
            Slots::Ring(ring) => ring.len(),
            Slots::Segmented { len, .. } => len.load(Ordering::Acquire),
        }
    }

    /// The bound.
    pub(crate) fn capacity(&self) -> usize {
        match self {
            Slots::Ring(ring) => ring.capacity(),
            Slots::Segmented { capacity, .. } => *capacity,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn both(capacity: usize) -> [Slots<u32>; 2] {
        [
            Slots::Ring(ArrayQueue::new(capacity)),
            Slots::Segmented {
                items: SegQueue::new(),
                len: AtomicUsize::new(0),
                capacity,
            },
        ]
    }

    #[test]
    fn both_storages_keep_the_bound_and_the_order() {
        for slots in both(3) {
            assert_eq!(slots.capacity(), 3);
            for n in 0..3 {
                slots.push(n).unwrap();
            }
            assert_eq!(slots.push(9), Err(9));
            assert_eq!(slots.len(), 3);
            assert_eq!(slots.force_push(3), Some(0));
            assert_eq!(slots.len(), 3);
            let drained: Vec<u32> = std::iter::from_fn(|| slots.pop()).collect();
            assert_eq!(drained, [1, 2, 3]);
            assert_eq!(slots.len(), 0);
            assert_eq!(slots.pop(), None);
        }
    }

    #[test]
    fn large_bounds_allocate_nothing_up_front() {
        let huge: Slots<[u8; 512]> = Slots::new(1_000_000_000);
        assert!(matches!(huge, Slots::Segmented { .. }));
        assert_eq!(huge.capacity(), 1_000_000_000);
        assert!(matches!(Slots::<u8>::new(RING_LIMIT), Slots::Ring(_)));
        assert!(matches!(Slots::<u8>::new(0), Slots::Ring(ring) if ring.capacity() == 1));
    }

    #[test]
    fn concurrent_producers_never_exceed_the_bound() {
        let slots = std::sync::Arc::new(Slots::Segmented {
            items: SegQueue::new(),
            len: AtomicUsize::new(0),
            capacity: 100,
        });
        let accepted: usize = (0..4)
            .map(|_| {
                let slots = std::sync::Arc::clone(&slots);
                std::thread::spawn(move || (0..1000).filter(|n| slots.push(*n).is_ok()).count())
            })
            .collect::<Vec<_>>()
            .into_iter()
            .map(|handle| handle.join().unwrap())
            .sum();
        assert_eq!(accepted, 100);
        assert_eq!(slots.len(), 100);
    }
}
