//! Where every item of a batch ends up: counted exactly once, as exported or
//! dropped under a reason, whatever happens to the export — success,
//! failure, partial success, a caller that stops waiting, a shutdown
//! deadline, a panic inside a library, or a worker runtime that is stopped
//! under the send.
//!
//! Each export holds a [`Settlement`]; the first of these settles it:
//! the export's own outcome, the exporter's shutdown deadline
//! ([`InFlight::settle_all`]), or the settlement being dropped unsettled
//! (a caller that stopped waiting, a cancelling processor, a panic, or the
//! worker runtime stopped under the send).

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, OnceLock, PoisonError};
use std::time::Duration;

use bytes::Bytes;
use otlpkit_bridge::WorkerRuntime;

use otlpkit_core::Signal;
use otlpkit_core::stats::{
    BatchAccounting, DropReason, ExportErrorRecord, ExportStats, SignalStats,
};

/// The server's answer to a request it accepted (checklist 2.1, 2.5, 2.11).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Accepted {
    /// Items the server rejected (`rejected_spans`, `rejected_data_points`,
    /// `rejected_log_records`); 0 on full success.
    pub rejected: u64,
    /// The server's `error_message`; empty on full success.
    pub message: String,
}

impl Accepted {
    /// A full success.
    pub fn full() -> Self {
        Self::default()
    }

    /// A partial success with `rejected` items and the server's message.
    ///
    /// A negative count from the wire (an `int64` field) means nothing was
    /// rejected: transports pass `u64::try_from(n).unwrap_or(0)`.
    pub fn partial(rejected: u64, message: impl Into<String>) -> Self {
        Self {
            rejected,
            message: message.into(),
        }
    }

    /// Whether the server reported anything: rejected items or a warning.
    pub fn is_partial(&self) -> bool {
        self.rejected > 0 || !self.message.is_empty()
    }
}

/// Counts an accepted batch of `items`: the rejected ones (never more than
/// the batch held, whatever the server claims) as
/// [`DropReason::RejectedByServer`], the rest as exported. Returns the
/// number rejected.
pub(crate) fn count_accepted(stats: &SignalStats, items: u64, accepted: &Accepted) -> u64 {
    let rejected = accepted.rejected.min(items);
    stats.record_exported(items - rejected);
    if rejected > 0 {
        stats.record_dropped(DropReason::RejectedByServer, rejected);
    }
    if accepted.is_partial() {
        stats.record_partial_success();
    }
    rejected
}

/// One batch's items, to be counted once.
#[derive(Debug)]
struct Pending {
    settled: AtomicBool,
    stats: ExportStats,
    signal: Signal,
    items: u64,
    endpoint: String,
    /// The processor that handed the counting over, which may cancel.
    handed_over_by: Option<BatchAccounting>,
    /// The request body, kept when a disk spool may have to take it at the
    /// shutdown deadline.
    body: OnceLock<Bytes>,
    /// Why the last attempt failed (redacted), while the export retries:
    /// a batch cut short by a deadline says so instead of only naming the
    /// deadline.
    last_attempt: Mutex<Option<String>>,
}

impl Pending {
    /// Runs `count` if nobody settled the batch before; returns whether it did.
    fn settle(&self, count: impl FnOnce(&SignalStats, u64)) -> bool {
        let first = !self.settled.swap(true, Ordering::AcqRel);
        if first {
            count(self.stats.signal(self.signal), self.items);
        }
        first
    }

    fn drop_all(&self, reason: DropReason, message: &str) -> bool {
        self.settle(|stats, items| {
            let last_attempt = self
                .last_attempt
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .take();
            let message = match last_attempt {
                Some(error) => format!("{message}; the last attempt failed: {error}"),
                None => message.to_owned(),
            };
            stats.record_dropped(reason, items);
            stats.record_error(ExportErrorRecord::new(
                error_kind_of(reason),
                reason,
                self.endpoint.clone(),
                message,
                items,
            ));
        })
    }
}

fn error_kind_of(reason: DropReason) -> &'static str {
    match reason {
        DropReason::Internal => "internal",
        DropReason::ShutdownDeadline | DropReason::AfterShutdown => "shutdown",
        _ => "timeout",
    }
}

/// A batch offered to the disk spool: its items, and the counters they are
/// counted in — those of the batch processor that handed the batch over,
/// or the exporter's own. The spool that takes the batch counts it as
/// spooled there ([`settle_spooled`](Self::settle_spooled)) and keeps
/// [`counted_in`](Self::counted_in) with the record, so that its drain
/// counts the items' delivery (or drop) from the spool in the same
/// counters: a standalone processor's `in_spool` comes back down when the
/// drain delivers, whatever counters the exporter was built with.
#[derive(Debug)]
pub(crate) struct Items(Arc<Pending>);

impl Items {
    /// How many items the batch holds.
    #[cfg_attr(not(feature = "spool"), allow(dead_code))]
    pub(crate) fn count(&self) -> u64 {
        self.0.items
    }

    /// The counters the batch is counted in.
    #[cfg_attr(not(feature = "spool"), allow(dead_code))]
    pub(crate) fn counted_in(&self) -> &ExportStats {
        &self.0.stats
    }

    /// Counts the batch as spooled, unless something settled it first;
    /// returns whether it did.
    #[cfg_attr(not(feature = "spool"), allow(dead_code))]
    pub(crate) fn settle_spooled(&self) -> bool {
        self.0.settle(|stats, items| stats.record_spooled(items))
    }
}

/// Where a batch dropped unsettled may go instead of being lost: the
/// exporter's disk spool, which settles the batch as spooled if it takes
/// it. Returns whether it took the batch.
type RescueFn = dyn Fn(Items, &Bytes) -> bool + Send + Sync;

struct Rescue(Box<RescueFn>);

impl std::fmt::Debug for Rescue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Rescue")
    }
}

/// The exports of one exporter that have not settled yet.
#[derive(Debug, Default)]
pub(crate) struct InFlight {
    pending: Mutex<HashMap<u64, Arc<Pending>>>,
    idle: Condvar,
    next_id: AtomicU64,
    /// Set once the exporter shuts down: an export dropped after this was
    /// cut short by the shutdown, not abandoned by its caller.
    shutting_down: AtomicBool,
    /// The runtime the sends run on: an export dropped once it is stopped
    /// was cut short with it (its tasks are dropped in no set order, so the
    /// processor's cancellation may come too late to say so).
    worker: Option<WorkerRuntime>,
    /// Takes the body of a batch dropped unsettled (a disk spool).
    rescue: OnceLock<Rescue>,
}

impl InFlight {
    /// The exports of an exporter whose sends run on `worker`.
    pub(crate) fn on(worker: WorkerRuntime) -> Self {
        Self {
            worker: Some(worker),
            ..Self::default()
        }
    }

    /// Whether the runtime the sends run on has been stopped.
    fn worker_stopped(&self) -> bool {
        self.worker
            .as_ref()
            .is_some_and(|worker| !worker.is_running())
    }

    fn lock(&self) -> MutexGuard<'_, HashMap<u64, Arc<Pending>>> {
        // The map holds plain data: a panic elsewhere cannot tear it.
        self.pending.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Registers an export of `items` items, to be counted in `stats` (those
    /// of `handed_over_by`, when a processor handed the counting over).
    pub(crate) fn begin(
        self: &Arc<Self>,
        stats: ExportStats,
        handed_over_by: Option<BatchAccounting>,
        signal: Signal,
        items: u64,
        endpoint: &str,
    ) -> Settlement {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let pending = Arc::new(Pending {
            settled: AtomicBool::new(false),
            stats,
            signal,
            items,
            endpoint: endpoint.to_owned(),
            handed_over_by,
            body: OnceLock::new(),
            last_attempt: Mutex::new(None),
        });
        self.lock().insert(id, Arc::clone(&pending));
        Settlement {
            pending,
            registry: Arc::clone(self),
            id,
        }
    }

    /// How many exports are in flight.
    pub(crate) fn len(&self) -> usize {
        self.lock().len()
    }

    /// Marks the start of the exporter's shutdown.
    pub(crate) fn shutting_down(&self) {
        self.shutting_down.store(true, Ordering::Release);
    }

    /// Waits until nothing is in flight, at most `limit`; true when idle.
    pub(crate) fn wait_idle(&self, limit: Duration) -> bool {
        let guard = self.lock();
        let (guard, _) = self
            .idle
            .wait_timeout_while(guard, limit, |pending| !pending.is_empty())
            .unwrap_or_else(PoisonError::into_inner);
        guard.is_empty()
    }

    /// Gives batches dropped unsettled (cancelled by a batch processor's
    /// deadline, abandoned by their caller) to `rescue` before they are
    /// counted as dropped; those it takes it counts as spooled
    /// ([`Items::settle_spooled`]).
    #[cfg_attr(not(feature = "spool"), allow(dead_code))]
    pub(crate) fn set_rescue(
        &self,
        rescue: impl Fn(Items, &Bytes) -> bool + Send + Sync + 'static,
    ) {
        let _ = self.rescue.set(Rescue(Box::new(rescue)));
    }

    /// Offers the body of every export still in flight that kept one to
    /// `save` (a disk spool); those it takes it counts as spooled
    /// ([`Items::settle_spooled`]).
    #[cfg_attr(not(feature = "spool"), allow(dead_code))]
    pub(crate) fn spool_all(&self, mut save: impl FnMut(Items, &Bytes)) {
        let pending: Vec<Arc<Pending>> = self.lock().values().cloned().collect();
        for pending in pending {
            if let Some(body) = pending.body.get()
                && !pending.settled.load(Ordering::Acquire)
            {
                save(Items(Arc::clone(&pending)), body);
            }
        }
    }

    /// Counts every export still in flight as dropped for `reason` now, so
    /// that the counters are right when the caller reports them, even if
    /// the sends are only dropped later (or never: a detached worker).
    /// Returns the number of items counted.
    pub(crate) fn settle_all(&self, reason: DropReason, message: &str) -> u64 {
        let pending: Vec<Arc<Pending>> = self.lock().values().cloned().collect();
        pending
            .iter()
            .filter(|pending| pending.drop_all(reason, message))
            .map(|pending| pending.items)
            .sum()
    }

    fn finish(&self, id: u64) {
        let mut pending = self.lock();
        pending.remove(&id);
        if pending.is_empty() {
            self.idle.notify_all();
        }
    }
}

/// The obligation to count one batch. Settle it with its outcome; dropped
/// unsettled, it counts the batch as dropped: [`DropReason::Internal`]
/// while unwinding from a panic, the reason a batch processor gave when it
/// cancelled the export ([`BatchAccounting::cancel`]),
/// [`DropReason::ShutdownDeadline`] once the exporter is shutting down or
/// its worker runtime was stopped, and
/// otherwise [`DropReason::RetriesExhausted`] (the caller stopped waiting:
/// the batch's time budget ran out).
///
/// With a disk spool, a batch dropped unsettled (not by a panic) is first
/// offered to it, and counted as spooled if it takes it (in the counters
/// the batch is counted in, where the spool's drain counts it again when
/// it delivers it).
#[derive(Debug)]
pub(crate) struct Settlement {
    pending: Arc<Pending>,
    registry: Arc<InFlight>,
    id: u64,
}

impl Settlement {
    /// Counts the batch with `count` unless something settled it first;
    /// returns whether `count` ran.
    pub(crate) fn settle(&self, count: impl FnOnce(&SignalStats, u64)) -> bool {
        self.pending.settle(count)
    }

    /// Whether the batch is settled already (by the shutdown: saved in the
    /// spool, or counted as dropped).
    #[cfg_attr(not(feature = "spool"), allow(dead_code))]
    pub(crate) fn is_settled(&self) -> bool {
        self.pending.settled.load(Ordering::Acquire)
    }

    /// The stats the batch is counted in.
    pub(crate) fn stats(&self) -> &SignalStats {
        self.pending.stats.signal(self.pending.signal)
    }

    /// Items the batch holds.
    pub(crate) fn items(&self) -> u64 {
        self.pending.items
    }

    /// The batch, as a disk spool takes it.
    #[cfg_attr(not(feature = "spool"), allow(dead_code))]
    pub(crate) fn for_spool(&self) -> Items {
        Items(Arc::clone(&self.pending))
    }

    /// Remembers why an attempt failed (`error`, already redacted), for the
    /// message of a drop that comes before the export's own outcome (a
    /// shutdown or batch deadline while it retries).
    pub(crate) fn attempt_failed(&self, error: String) {
        *self
            .pending
            .last_attempt
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = Some(error);
    }

    /// Keeps the request body, for a disk spool to take at the shutdown
    /// deadline.
    #[cfg_attr(not(feature = "spool"), allow(dead_code))]
    pub(crate) fn keep_body(&self, body: Bytes) {
        let _ = self.pending.body.set(body);
    }
}

impl Drop for Settlement {
    fn drop(&mut self) {
        let cancelled = self
            .pending
            .handed_over_by
            .as_ref()
            .and_then(BatchAccounting::cancelled_as);
        let panicking = std::thread::panicking();
        if !panicking
            && let (Some(rescue), Some(body)) =
                (self.registry.rescue.get(), self.pending.body.get())
            && !self.pending.settled.load(Ordering::Acquire)
        {
            // Settled as spooled if the spool takes it; counted as dropped
            // below otherwise.
            (rescue.0)(Items(Arc::clone(&self.pending)), body);
        }
        let (reason, message) = if panicking {
            (
                DropReason::Internal,
                "the send panicked inside otlpkit or a library it calls",
            )
        } else if let Some(reason) = cancelled {
            (reason, "the batch processor cancelled the export")
        } else if self.registry.shutting_down.load(Ordering::Acquire) {
            (
                DropReason::ShutdownDeadline,
                "the exporter shut down before the export finished",
            )
        } else if self.registry.worker_stopped() {
            (
                DropReason::ShutdownDeadline,
                "the worker runtime stopped before the export finished",
            )
        } else {
            (
                DropReason::RetriesExhausted,
                "the caller stopped waiting for the export (its time budget ran out)",
            )
        };
        self.pending.drop_all(reason, message);
        self.registry.finish(self.id);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn registry() -> (Arc<InFlight>, ExportStats) {
        (Arc::new(InFlight::default()), ExportStats::new())
    }

    #[test]
    fn full_success_counts_every_item_as_exported() {
        let stats = SignalStats::default();
        assert_eq!(count_accepted(&stats, 10, &Accepted::full()), 0);
        let snapshot = stats.snapshot();
        assert_eq!(
            (
                snapshot.exported,
                snapshot.dropped_total(),
                snapshot.partial_successes
            ),
            (10, 0, 0)
        );
    }

    // checklist 2.11: rejected items are counted; the rest are exported.
    #[test]
    fn partial_success_counts_the_rejected_items() {
        let stats = SignalStats::default();
        assert_eq!(
            count_accepted(&stats, 10, &Accepted::partial(3, "bad spans")),
            3
        );
        let snapshot = stats.snapshot();
        assert_eq!(snapshot.exported, 7);
        assert_eq!(snapshot.dropped(DropReason::RejectedByServer), 3);
        assert_eq!(snapshot.partial_successes, 1);
    }

    // checklist 2.11: rejected = 0 with a message is a warning, all exported.
    #[test]
    fn a_warning_without_rejections_exports_everything() {
        let stats = SignalStats::default();
        count_accepted(&stats, 4, &Accepted::partial(0, "deprecated field"));
        let snapshot = stats.snapshot();
        assert_eq!(
            (
                snapshot.exported,
                snapshot.dropped_total(),
                snapshot.partial_successes
            ),
            (4, 0, 1)
        );
    }

    #[test]
    fn a_server_claiming_more_rejections_than_items_is_capped() {
        let stats = SignalStats::default();
        assert_eq!(count_accepted(&stats, 2, &Accepted::partial(99, "")), 2);
        assert_eq!(stats.snapshot().dropped(DropReason::RejectedByServer), 2);
        assert_eq!(stats.snapshot().exported, 0);
    }

    #[test]
    fn a_batch_is_settled_once_whoever_comes_first() {
        let (registry, stats) = registry();
        let settlement = registry.begin(stats.clone(), None, Signal::Traces, 5, "http://h:1/");
        assert_eq!(registry.len(), 1);
        assert!(settlement.settle(|stats, items| stats.record_exported(items)));
        assert!(!settlement.settle(|stats, items| stats.record_exported(items)));
        assert_eq!(registry.settle_all(DropReason::ShutdownDeadline, "late"), 0);
        drop(settlement);
        assert_eq!(registry.len(), 0);
        let traces = stats.snapshot().signal(Signal::Traces);
        assert_eq!((traces.exported, traces.dropped_total()), (5, 0));
        assert!(traces.last_error.is_none());
    }

    #[test]
    fn a_dropped_settlement_counts_its_items_under_the_right_reason() {
        let (registry, stats) = registry();
        drop(registry.begin(stats.clone(), None, Signal::Logs, 3, "http://h:1/"));
        let processor = BatchAccounting::new(stats.clone());
        let handed_over = registry.begin(
            stats.clone(),
            Some(processor.clone()),
            Signal::Logs,
            5,
            "http://h:1/",
        );
        processor.cancel(DropReason::BlockTimeout);
        drop(handed_over);
        registry.shutting_down();
        drop(registry.begin(stats.clone(), None, Signal::Logs, 4, "http://h:1/"));
        let logs = stats.snapshot().signal(Signal::Logs);
        assert_eq!(logs.dropped(DropReason::RetriesExhausted), 3);
        assert_eq!(logs.dropped(DropReason::BlockTimeout), 5);
        assert_eq!(logs.dropped(DropReason::ShutdownDeadline), 4);
        let error = logs.last_error.expect("the last drop is recorded");
        assert_eq!(
            (error.reason, error.items),
            (DropReason::ShutdownDeadline, 4)
        );
        assert_eq!(error.endpoint, "http://h:1/");
    }

    #[test]
    fn a_deadline_drop_says_why_the_last_attempt_failed() {
        let (registry, stats) = registry();
        let settlement = registry.begin(stats.clone(), None, Signal::Traces, 2, "e");
        settlement.attempt_failed("connection failed: connection refused".to_owned());
        assert_eq!(
            registry.settle_all(DropReason::ShutdownDeadline, "deadline"),
            2
        );
        drop(settlement);
        let error = stats
            .snapshot()
            .signal(Signal::Traces)
            .last_error
            .expect("the drop is recorded");
        assert_eq!(
            error.message,
            "deadline; the last attempt failed: connection failed: connection refused"
        );
    }

    #[test]
    fn a_settlement_dropped_while_unwinding_counts_as_internal() {
        let (registry, stats) = registry();
        let inside = Arc::clone(&registry);
        let counted = stats.clone();
        let panicked = std::thread::spawn(move || {
            let _settlement = inside.begin(counted, None, Signal::Metrics, 2, "e");
            panic!("a library bug");
        })
        .join();
        assert!(panicked.is_err());
        let metrics = stats.snapshot().signal(Signal::Metrics);
        assert_eq!(metrics.dropped(DropReason::Internal), 2);
        assert_eq!(registry.len(), 0);
    }

    #[test]
    fn the_shutdown_deadline_settles_what_is_still_in_flight() {
        let (registry, stats) = registry();
        let first = registry.begin(stats.clone(), None, Signal::Traces, 6, "e");
        let second = registry.begin(stats.clone(), None, Signal::Traces, 1, "e");
        assert!(second.settle(|stats, items| stats.record_exported(items)));
        assert!(!registry.wait_idle(Duration::from_millis(1)));
        assert_eq!(
            registry.settle_all(DropReason::ShutdownDeadline, "deadline"),
            6
        );
        // The send notices later: it counts nothing more.
        assert!(!first.settle(|stats, items| stats.record_exported(items)));
        drop((first, second));
        assert!(registry.wait_idle(Duration::ZERO));
        let traces = stats.snapshot().signal(Signal::Traces);
        assert_eq!(traces.exported, 1);
        assert_eq!(traces.dropped(DropReason::ShutdownDeadline), 6);
    }
}
