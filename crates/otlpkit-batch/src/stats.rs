//! What a processor can tell about itself: the shared [`ExportStats`]
//! counters of its signal plus the engine's own gauges (queue depth, exports
//! in flight) and export durations.

use std::fmt;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::Duration;

use otlpkit_core::Signal;
use otlpkit_core::stats::{DropReason, SignalStatsSnapshot};

/// Upper bounds of the export duration buckets (the last bucket is
/// unbounded).
pub const EXPORT_DURATION_BOUNDS: [Duration; 13] = [
    Duration::from_millis(1),
    Duration::from_millis(5),
    Duration::from_millis(10),
    Duration::from_millis(25),
    Duration::from_millis(50),
    Duration::from_millis(100),
    Duration::from_millis(250),
    Duration::from_millis(500),
    Duration::from_secs(1),
    Duration::from_millis(2500),
    Duration::from_secs(5),
    Duration::from_secs(10),
    Duration::from_secs(30),
];

const BUCKETS: usize = EXPORT_DURATION_BOUNDS.len() + 1;

/// The engine's own live counters (the item counters live in `ExportStats`).
#[derive(Debug, Default)]
pub(crate) struct EngineCounters {
    in_flight_exports: AtomicUsize,
    in_flight_items: AtomicU64,
    exports: AtomicU64,
    failed_exports: AtomicU64,
    duration_total_ns: AtomicU64,
    duration_max_ns: AtomicU64,
    buckets: [AtomicU64; BUCKETS],
}

impl EngineCounters {
    pub(crate) fn export_started(&self, items: u64) {
        self.in_flight_exports.fetch_add(1, Ordering::Relaxed);
        self.in_flight_items.fetch_add(items, Ordering::Relaxed);
    }

    pub(crate) fn export_settled(&self, items: u64) {
        self.in_flight_exports.fetch_sub(1, Ordering::Relaxed);
        self.in_flight_items.fetch_sub(items, Ordering::Relaxed);
    }

    /// An export call returned (successfully or not) after `elapsed`.
    pub(crate) fn export_finished(&self, elapsed: Duration, failed: bool) {
        self.exports.fetch_add(1, Ordering::Relaxed);
        if failed {
            self.failed_exports.fetch_add(1, Ordering::Relaxed);
        }
        let nanos = u64::try_from(elapsed.as_nanos()).unwrap_or(u64::MAX);
        self.duration_total_ns.fetch_add(nanos, Ordering::Relaxed);
        self.duration_max_ns.fetch_max(nanos, Ordering::Relaxed);
        let bucket = EXPORT_DURATION_BOUNDS
            .iter()
            .position(|bound| elapsed <= *bound)
            .unwrap_or(BUCKETS - 1);
        self.buckets[bucket].fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn in_flight_items(&self) -> u64 {
        self.in_flight_items.load(Ordering::Relaxed)
    }

    fn durations(&self) -> ExportDurations {
        let load = |counter: &AtomicU64| counter.load(Ordering::Relaxed);
        ExportDurations {
            count: load(&self.exports),
            total: Duration::from_nanos(load(&self.duration_total_ns)),
            max: Duration::from_nanos(load(&self.duration_max_ns)),
            buckets: std::array::from_fn(|i| load(&self.buckets[i])),
        }
    }
}

/// How long the export calls took (each call, from the engine's point of
/// view: the exporter's retries included).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ExportDurations {
    /// Export calls that returned or were cancelled by the export timeout.
    pub count: u64,
    /// Their total duration.
    pub total: Duration,
    /// The longest one.
    pub max: Duration,
    buckets: [u64; BUCKETS],
}

impl ExportDurations {
    /// `(upper bound, count)` per bucket, the bounds being
    /// [`EXPORT_DURATION_BOUNDS`] and `None` for the last, unbounded bucket.
    pub fn buckets(&self) -> impl Iterator<Item = (Option<Duration>, u64)> + '_ {
        self.buckets
            .iter()
            .enumerate()
            .map(|(i, count)| (EXPORT_DURATION_BOUNDS.get(i).copied(), *count))
    }

    /// The mean duration, if any export finished.
    pub fn mean(&self) -> Option<Duration> {
        let count = u32::try_from(self.count).ok().filter(|c| *c > 0)?;
        Some(self.total / count)
    }

    /// The calls of `self` and `other` together, as if one processor had
    /// made them all.
    #[must_use]
    pub fn merged(&self, other: &Self) -> Self {
        Self {
            count: self.count + other.count,
            total: self.total.saturating_add(other.total),
            max: self.max.max(other.max),
            buckets: std::array::from_fn(|i| self.buckets[i] + other.buckets[i]),
        }
    }
}

/// A point-in-time view of one processor.
///
/// `counters` are the shared [`ExportStats`](otlpkit_core::stats::ExportStats)
/// counters of the processor's signal. The engine counts an item as
/// `enqueued` when it leaves the queue (taken for an export, evicted,
/// discarded at shutdown) or is refused at the door, so that producers never
/// touch a shared counter; items still in the queue are in `queue_len`. Once
/// the processor is idle or shut down,
/// `received() == exported() + dropped_total()` exactly. While items move,
/// the counters and the queue are read one after the other, without a lock
/// the producers would have to take: `received()` can then lag by the items
/// the worker is taking at that moment (a [`joint`](Self::joint) view, by
/// what moved between its processors' reads).
///
/// With a tail-sampling stage (`tail`, the `tail-sampling` feature) in front, the spans it sampled
/// out never reach the queue: they are in `counters.sampled_out`, and
/// `produced() == exported() + dropped_total() + sampled_out()` once the
/// stage and the processor are idle or shut down.
///
/// With otlpkit's exporter and a disk spool behind the processor, the items
/// the exporter spools are counted in these counters too, whatever counters
/// the exporter has of its own: `counters.in_spool` while they wait there,
/// then `counters.delivered_from_spool` (or dropped under a reason) when
/// its drain sends them. `exported()` counts only what was sent without
/// the spool, so then `received() == exported() +
/// counters.delivered_from_spool + dropped_total() + counters.in_spool`
/// (`counters.delivered()` is both ways of delivery together).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ProcessorStats {
    /// The signal.
    pub signal: Signal,
    /// The shared counters of the signal.
    pub counters: SignalStatsSnapshot,
    /// Items in the queue.
    pub queue_len: usize,
    /// The queue's item bound.
    pub queue_capacity: usize,
    /// Estimated bytes of the queued items (0 without a byte bound).
    pub queue_bytes: usize,
    /// The queue's byte bound, if any.
    pub max_queue_bytes: Option<usize>,
    /// Export calls running now.
    pub in_flight_exports: usize,
    /// Items in those calls.
    pub in_flight_items: u64,
    /// Export calls that failed (error or export timeout).
    pub failed_exports: u64,
    /// Durations of the finished export calls.
    pub export_durations: ExportDurations,
}

impl ProcessorStats {
    /// Items handed to the processor so far (ended spans, emitted records):
    /// counted ones plus the ones still queued.
    pub fn received(&self) -> u64 {
        self.counters.enqueued + self.queue_len as u64
    }

    /// Items sent without the disk spool (all of the delivered ones when
    /// there is no spool); [`delivered`](Self::delivered) counts the ones
    /// the spool's drain sent too.
    pub fn exported(&self) -> u64 {
        self.counters.exported
    }

    /// Items the server accepted, sent directly or from the disk spool.
    pub fn delivered(&self) -> u64 {
        self.counters.delivered()
    }

    /// Items dropped for `reason`.
    pub fn dropped(&self, reason: DropReason) -> u64 {
        self.counters.dropped(reason)
    }

    /// Items dropped for any reason.
    pub fn dropped_total(&self) -> u64 {
        self.counters.dropped_total()
    }

    /// Spans a tail-sampling stage in front of the processor sampled out
    /// (0 without one).
    pub fn sampled_out(&self) -> u64 {
        self.counters.sampled_out
    }

    /// Items produced: the ones handed to the processor plus the ones a
    /// tail-sampling stage in front of it sampled out (spans it still holds
    /// are in its own `tail::TailSamplingStats`).
    pub fn produced(&self) -> u64 {
        self.received() + self.sampled_out()
    }

    /// Items neither delivered nor dropped yet: queued or in flight.
    pub fn pending(&self) -> u64 {
        self.queue_len as u64 + self.in_flight_items
    }

    /// The statistics of processors of one signal that count into one
    /// [`ExportStats`](otlpkit_core::stats::ExportStats), as one: the
    /// shared counters once, the queues, bounds, exports in flight and
    /// finished export calls summed (a byte bound only when every queue has
    /// one). `otlpkit::init()` reports its two span processors so (one for
    /// `tracing` spans, one for spans made through the OpenTelemetry API).
    /// `None` for no statistics.
    pub fn joint(all: impl IntoIterator<Item = ProcessorStats>) -> Option<ProcessorStats> {
        all.into_iter().reduce(|joint, other| ProcessorStats {
            signal: joint.signal,
            counters: joint.counters,
            queue_len: joint.queue_len + other.queue_len,
            queue_capacity: joint.queue_capacity + other.queue_capacity,
            queue_bytes: joint.queue_bytes + other.queue_bytes,
            max_queue_bytes: joint
                .max_queue_bytes
                .zip(other.max_queue_bytes)
                .map(|(a, b)| a + b),
            in_flight_exports: joint.in_flight_exports + other.in_flight_exports,
            in_flight_items: joint.in_flight_items + other.in_flight_items,
            failed_exports: joint.failed_exports + other.failed_exports,
            export_durations: joint.export_durations.merged(&other.export_durations),
        })
    }
}

impl fmt::Display for ProcessorStats {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}: received {}, exported {}, dropped {}",
            self.signal,
            self.received(),
            self.exported(),
            self.dropped_total()
        )?;
        for (reason, count) in self.counters.drops() {
            write!(f, " ({reason} {count})")?;
        }
        if self.sampled_out() > 0 {
            write!(f, ", sampled out {}", self.sampled_out())?;
        }
        let spool = (self.counters.delivered_from_spool, self.counters.in_spool);
        if spool != (0, 0) {
            write!(
                f,
                ", delivered from the spool {}, in the spool {}",
                spool.0, spool.1
            )?;
        }
        write!(f, ", pending {}", self.pending())
    }
}

pub(crate) fn snapshot_of(
    signal: Signal,
    counters: SignalStatsSnapshot,
    engine: &EngineCounters,
    queue: (usize, usize, usize, Option<usize>),
) -> ProcessorStats {
    let (queue_len, queue_capacity, queue_bytes, max_queue_bytes) = queue;
    ProcessorStats {
        signal,
        counters,
        queue_len,
        queue_capacity,
        queue_bytes,
        max_queue_bytes,
        in_flight_exports: engine.in_flight_exports.load(Ordering::Relaxed),
        in_flight_items: engine.in_flight_items(),
        failed_exports: engine.failed_exports.load(Ordering::Relaxed),
        export_durations: engine.durations(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_land_in_their_buckets() {
        let counters = EngineCounters::default();
        counters.export_finished(Duration::from_micros(500), false);
        counters.export_finished(Duration::from_millis(7), true);
        counters.export_finished(Duration::from_secs(60), false);
        let d = counters.durations();
        assert_eq!(d.count, 3);
        assert_eq!(d.max, Duration::from_secs(60));
        let buckets: Vec<_> = d.buckets().collect();
        assert_eq!(buckets[0], (Some(Duration::from_millis(1)), 1));
        assert_eq!(buckets[2], (Some(Duration::from_millis(10)), 1));
        assert_eq!(buckets[BUCKETS - 1], (None, 1));
        assert_eq!(buckets.iter().map(|(_, n)| n).sum::<u64>(), 3);
        assert!(d.mean().is_some());
        assert_eq!(ExportDurations::default().mean(), None);
    }

    #[test]
    fn joint_statistics_read_the_shared_counters_once_and_sum_the_rest() {
        let mut counters = SignalStatsSnapshot::default();
        counters.enqueued = 10;
        counters.exported = 7;
        let one = EngineCounters::default();
        one.export_started(4);
        one.export_finished(Duration::from_millis(7), true);
        let other = EngineCounters::default();
        other.export_finished(Duration::from_millis(20), false);
        other.export_finished(Duration::from_secs(60), false);
        let joint = ProcessorStats::joint([
            snapshot_of(
                Signal::Traces,
                counters.clone(),
                &one,
                (3, 2048, 300, Some(1000)),
            ),
            snapshot_of(
                Signal::Traces,
                counters.clone(),
                &other,
                (2, 512, 200, None),
            ),
        ])
        .unwrap();
        assert_eq!(joint.counters, counters);
        assert_eq!(joint.received(), 10 + 3 + 2);
        assert_eq!(joint.queue_len, 5);
        assert_eq!(joint.queue_capacity, 2560);
        assert_eq!(joint.queue_bytes, 500);
        // One queue has no byte bound: together they have none.
        assert_eq!(joint.max_queue_bytes, None);
        assert_eq!((joint.in_flight_exports, joint.in_flight_items), (1, 4));
        assert_eq!(joint.failed_exports, 1);
        let durations = joint.export_durations;
        assert_eq!(durations.count, 3);
        assert_eq!(durations.max, Duration::from_secs(60));
        assert_eq!(durations.total, Duration::from_millis(60_027));
        assert_eq!(durations.buckets().map(|(_, n)| n).sum::<u64>(), 3);
        assert_eq!(ProcessorStats::joint([]), None);
    }
}
