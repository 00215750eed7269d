//! Counters that account for every item: delivered, dropped under a
//! reason, or sampled out by a tail-sampling stage. The invariants the
//! pipeline keeps once everything has settled are
//! `enqueued = exported + Σ dropped(reason)` for what entered a queue, and
//! `produced = exported + Σ dropped(reason) + sampled_out` for everything a
//! signal produced (a tail-sampling stage sits in front of the queue).
//!
//! With a disk spool, items written to the spool are a state, not a drop:
//! `spool_found + enqueued = exported + delivered_from_spool + Σ
//! dropped(reason) + in_spool`, within one process and, summed over the
//! processes that share a spool directory, across them.

use std::fmt;
use std::sync::atomic::{AtomicBool, AtomicU8, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::SystemTime;

use crate::Signal;

/// Why items (spans, log records, metric data points) were not delivered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum DropReason {
    /// The queue was full and the new item was refused (drop-newest policy).
    QueueFull,
    /// The queue was full and the oldest item was evicted for the new one.
    EvictedOldest,
    /// The producer waited for room longer than the block timeout.
    BlockTimeout,
    /// The server (or the client) failed the export with an error the
    /// specification says must not be retried (checklist 2.10).
    NonRetryable,
    /// Retries were exhausted: attempts used up or the time budget spent.
    RetriesExhausted,
    /// The server accepted the request but rejected these items as a
    /// partial success (checklist 2.11).
    RejectedByServer,
    /// The encoded batch was over the maximum request size and was not sent
    /// (checklist 1.14).
    Oversized,
    /// The item arrived after shutdown.
    AfterShutdown,
    /// The item was still queued or in flight when the shutdown deadline
    /// passed.
    ShutdownDeadline,
    /// The export failed unexpectedly inside otlpkit or a library it calls
    /// (a panic caught on the worker): a bug to report, never a silent loss.
    Internal,
    /// A record of the disk spool failed its checksum (a torn write, a
    /// damaged disk) and was skipped.
    SpoolCorrupt,
}

impl DropReason {
    /// Every reason, in a stable order.
    pub const ALL: [DropReason; 11] = [
        DropReason::QueueFull,
        DropReason::EvictedOldest,
        DropReason::BlockTimeout,
        DropReason::NonRetryable,
        DropReason::RetriesExhausted,
        DropReason::RejectedByServer,
        DropReason::Oversized,
        DropReason::AfterShutdown,
        DropReason::ShutdownDeadline,
        DropReason::Internal,
        DropReason::SpoolCorrupt,
    ];

    /// A stable snake_case name, used as a metric attribute value.
    pub const fn as_str(self) -> &'static str {
        match self {
            DropReason::QueueFull => "queue_full",
            DropReason::EvictedOldest => "evicted_oldest",
            DropReason::BlockTimeout => "block_timeout",
            DropReason::NonRetryable => "non_retryable",
            DropReason::RetriesExhausted => "retries_exhausted",
            DropReason::RejectedByServer => "rejected_by_server",
            DropReason::Oversized => "oversized",
            DropReason::AfterShutdown => "after_shutdown",
            DropReason::ShutdownDeadline => "shutdown_deadline",
            DropReason::Internal => "internal",
            DropReason::SpoolCorrupt => "spool_corrupt",
        }
    }

    const fn index(self) -> usize {
        match self {
            DropReason::QueueFull => 0,
            DropReason::EvictedOldest => 1,
            DropReason::BlockTimeout => 2,
            DropReason::NonRetryable => 3,
            DropReason::RetriesExhausted => 4,
            DropReason::RejectedByServer => 5,
            DropReason::Oversized => 6,
            DropReason::AfterShutdown => 7,
            DropReason::ShutdownDeadline => 8,
            DropReason::Internal => 9,
            DropReason::SpoolCorrupt => 10,
        }
    }
}

impl fmt::Display for DropReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Live counters of one signal's pipeline. All methods are lock-free.
#[derive(Debug, Default)]
pub struct SignalStats {
    enqueued: AtomicU64,
    exported: AtomicU64,
    dropped: [AtomicU64; DropReason::ALL.len()],
    requests: AtomicU64,
    retries: AtomicU64,
    failed_attempts: AtomicU64,
    throttled: AtomicU64,
    partial_successes: AtomicU64,
    bytes_sent: AtomicU64,
    sampled_out: AtomicU64,
    sampling: SamplingCounters,
    spool: SpoolCounters,
    last_error: Mutex<Option<ExportErrorRecord>>,
    /// The most drops a shutdown warning has reported so far.
    drops_reported: AtomicU64,
}

/// What the disk spool did with a signal's items.
#[derive(Debug, Default)]
struct SpoolCounters {
    spooled: AtomicU64,
    found: AtomicU64,
    delivered: AtomicU64,
    in_spool: AtomicU64,
}

/// The last export failure of a signal: what failed, where, why, and when.
///
/// The message is the exporter's own, already redacted: it never carries a
/// header value, a credential or a query string.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ExportErrorRecord {
    /// A stable name for the kind of failure (`connect`, `timeout`,
    /// `grpc_status`, `http_status`, `tls`, `request_too_large`,
    /// `response_too_large`, `encoding`, `shutdown`, `config`, `internal`).
    pub kind: &'static str,
    /// The reason the batch's items were counted under.
    pub reason: DropReason,
    /// Where the batch was sent (`scheme://host:port/path`, no credentials).
    pub endpoint: String,
    /// What went wrong, redacted.
    pub message: String,
    /// Items the failed batch held.
    pub items: u64,
    /// When the export gave up.
    pub at: SystemTime,
}

impl ExportErrorRecord {
    /// A record of a failure that happened now.
    pub fn new(
        kind: &'static str,
        reason: DropReason,
        endpoint: impl Into<String>,
        message: impl Into<String>,
        items: u64,
    ) -> Self {
        Self {
            kind,
            reason,
            endpoint: endpoint.into(),
            message: message.into(),
            items,
            at: SystemTime::now(),
        }
    }
}

impl fmt::Display for ExportErrorRecord {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} {} to {} dropped ({}) at {}: {}",
            self.items,
            if self.items == 1 { "item" } else { "items" },
            self.endpoint,
            self.reason,
            httpdate::fmt_http_date(self.at),
            self.message
        )
    }
}

impl SignalStats {
    /// `n` items entered the pipeline.
    ///
    /// A queueing processor records items here when it accounts for them:
    /// otlpkit-batch does so when an item leaves its queue (for an export)
    /// or is refused, never on the producer's thread, so that the hot path
    /// touches no counter shared by every producer. Until then `enqueued`
    /// lags by the queue's depth; `otlpkit_batch::ProcessorStats::received`
    /// adds the queued items back.
    pub fn record_enqueued(&self, n: u64) {
        self.enqueued.fetch_add(n, Ordering::Relaxed);
    }

    /// `n` items were accepted by the server.
    pub fn record_exported(&self, n: u64) {
        self.exported.fetch_add(n, Ordering::Relaxed);
    }

    /// `n` items were dropped for `reason`.
    pub fn record_dropped(&self, reason: DropReason, n: u64) {
        self.dropped[reason.index()].fetch_add(n, Ordering::Relaxed);
    }

    /// Whether a warning reporting `dropped_total` drops of this signal
    /// says something no earlier one said: true once per new total. Two
    /// processors that share these counters (the native and the
    /// OpenTelemetry-API span paths) shut down one after the other, and the
    /// second would otherwise print the same totals again.
    // Not user API: how otlpkit-batch's shutdown warning is printed once.
    #[doc(hidden)]
    pub fn drops_newly_reported(&self, dropped_total: u64) -> bool {
        self.drops_reported
            .fetch_max(dropped_total, Ordering::AcqRel)
            < dropped_total
    }

    /// One request (attempt) of `bytes` bytes, as sent on the wire, was made.
    pub fn record_request(&self, bytes: u64) {
        self.requests.fetch_add(1, Ordering::Relaxed);
        self.bytes_sent.fetch_add(bytes, Ordering::Relaxed);
    }

    /// An attempt failed; `retrying` says whether another one follows, and
    /// `throttled` whether the server sent a throttling hint.
    pub fn record_failed_attempt(&self, retrying: bool, throttled: bool) {
        self.failed_attempts.fetch_add(1, Ordering::Relaxed);
        if retrying {
            self.retries.fetch_add(1, Ordering::Relaxed);
        }
        if throttled {
            self.throttled.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// The server answered with a partial success (checklist 2.11). The
    /// rejected items are recorded separately with
    /// [`DropReason::RejectedByServer`].
    pub fn record_partial_success(&self) {
        self.partial_successes.fetch_add(1, Ordering::Relaxed);
    }

    /// `n` spans were sampled out by a tail-sampling stage: not a loss, a
    /// decision, counted apart from the drops.
    pub fn record_sampled_out(&self, n: u64) {
        self.sampled_out.fetch_add(n, Ordering::Relaxed);
    }

    /// A tail-sampling stage kept a whole trace because of `policy`.
    pub fn record_trace_kept(&self, policy: SamplingPolicy) {
        self.sampling.kept[policy.index()].fetch_add(1, Ordering::Relaxed);
    }

    /// A tail-sampling stage sampled a whole trace out (its spans are
    /// counted with [`record_sampled_out`](Self::record_sampled_out)).
    pub fn record_trace_sampled_out(&self) {
        self.sampling.sampled_out.fetch_add(1, Ordering::Relaxed);
    }

    /// A tail-sampling stage decided a trace before its local root ended,
    /// for `cause` (the decision itself is counted as kept or sampled out).
    pub fn record_early_decision(&self, cause: EarlyDecision) {
        self.sampling.early[cause.index()].fetch_add(1, Ordering::Relaxed);
    }

    /// `n` items were written to the disk spool instead of being sent now.
    /// They are neither delivered nor dropped: they are in the spool until
    /// they are sent from it, dropped from it, or left for the next process.
    pub fn record_spooled(&self, n: u64) {
        self.spool.spooled.fetch_add(n, Ordering::Relaxed);
        self.spool.in_spool.fetch_add(n, Ordering::Relaxed);
    }

    /// `n` items were found in the disk spool when it was opened, left
    /// there by an earlier process (or an earlier pipeline).
    pub fn record_found_in_spool(&self, n: u64) {
        self.spool.found.fetch_add(n, Ordering::Relaxed);
        self.spool.in_spool.fetch_add(n, Ordering::Relaxed);
    }

    /// `n` items sent from the disk spool were accepted by the server.
    pub fn record_delivered_from_spool(&self, n: u64) {
        self.spool.delivered.fetch_add(n, Ordering::Relaxed);
        self.leave_spool(n);
    }

    /// `n` items left the disk spool without being delivered, for `reason`.
    pub fn record_dropped_from_spool(&self, reason: DropReason, n: u64) {
        self.record_dropped(reason, n);
        self.leave_spool(n);
    }

    fn leave_spool(&self, n: u64) {
        let _ = self
            .spool
            .in_spool
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |now| {
                Some(now.saturating_sub(n))
            });
    }

    /// Records the signal's latest export failure (its items are counted
    /// separately with [`record_dropped`](Self::record_dropped)).
    pub fn record_error(&self, error: ExportErrorRecord) {
        *self
            .last_error
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = Some(error);
    }

    /// The signal's latest export failure, if any.
    pub fn last_error(&self) -> Option<ExportErrorRecord> {
        self.last_error
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// A point-in-time copy of the counters.
    pub fn snapshot(&self) -> SignalStatsSnapshot {
        let load = |counter: &AtomicU64| counter.load(Ordering::Relaxed);
        SignalStatsSnapshot {
            enqueued: load(&self.enqueued),
            exported: load(&self.exported),
            dropped: std::array::from_fn(|index| load(&self.dropped[index])),
            requests: load(&self.requests),
            retries: load(&self.retries),
            failed_attempts: load(&self.failed_attempts),
            throttled: load(&self.throttled),
            partial_successes: load(&self.partial_successes),
            bytes_sent: load(&self.bytes_sent),
            sampled_out: load(&self.sampled_out),
            sampling: SamplingSnapshot {
                kept: std::array::from_fn(|index| load(&self.sampling.kept[index])),
                traces_sampled_out: load(&self.sampling.sampled_out),
                early: std::array::from_fn(|index| load(&self.sampling.early[index])),
            },
            spooled: load(&self.spool.spooled),
            spool_found: load(&self.spool.found),
            delivered_from_spool: load(&self.spool.delivered),
            in_spool: load(&self.spool.in_spool),
            last_error: self.last_error(),
        }
    }
}

/// A copy of one signal's counters at one instant.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct SignalStatsSnapshot {
    /// Items that entered the pipeline (for a queueing processor: the ones
    /// that left its queue or were refused; see
    /// [`SignalStats::record_enqueued`]).
    pub enqueued: u64,
    /// Items accepted by the server.
    pub exported: u64,
    dropped: [u64; DropReason::ALL.len()],
    /// Requests (attempts) sent.
    pub requests: u64,
    /// Attempts that were followed by a retry.
    pub retries: u64,
    /// Attempts that failed, retried or not.
    pub failed_attempts: u64,
    /// Failed attempts that carried a server throttling hint.
    pub throttled: u64,
    /// Responses that reported a partial success.
    pub partial_successes: u64,
    /// Bytes sent on the wire (after compression), over all attempts.
    pub bytes_sent: u64,
    /// Items (spans) a tail-sampling stage decided not to keep. They never
    /// entered the queue: `produced = exported + dropped_total() +
    /// sampled_out` once everything has settled.
    pub sampled_out: u64,
    /// The tail-sampling stage's decisions, trace by trace.
    pub sampling: SamplingSnapshot,
    /// Items written to the disk spool by this process.
    pub spooled: u64,
    /// Items found in the disk spool when it was opened (left by an earlier
    /// process).
    pub spool_found: u64,
    /// Items sent from the disk spool and accepted by the server (not in
    /// `exported`).
    pub delivered_from_spool: u64,
    /// Items in the disk spool now: at shutdown, what is left for the next
    /// process.
    pub in_spool: u64,
    /// The latest export failure, if any.
    pub last_error: Option<ExportErrorRecord>,
}

impl SignalStatsSnapshot {
    /// Items the server accepted: sent directly or from the disk spool.
    pub fn delivered(&self) -> u64 {
        self.exported + self.delivered_from_spool
    }

    /// Items dropped for `reason`.
    pub fn dropped(&self, reason: DropReason) -> u64 {
        self.dropped[reason.index()]
    }

    /// Items dropped for any reason.
    pub fn dropped_total(&self) -> u64 {
        self.dropped.iter().sum()
    }

    /// `(reason, count)` for every reason with a non-zero count.
    pub fn drops(&self) -> impl Iterator<Item = (DropReason, u64)> + '_ {
        DropReason::ALL
            .into_iter()
            .map(|reason| (reason, self.dropped(reason)))
            .filter(|&(_, count)| count > 0)
    }
}

/// The tail-sampling policy that kept a trace. A trace is counted once,
/// under the first policy that matched as its spans ended; the ratio and the
/// parent's sampled flag are known from the first span on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum SamplingPolicy {
    /// A span had an error status.
    Error,
    /// A span (or the local root, still open) lasted longer than the
    /// latency threshold.
    Latency,
    /// A span carried a matching attribute.
    Attribute,
    /// The trace's incoming parent was sampled upstream.
    ParentSampled,
    /// The trace id fell in the configured ratio.
    Ratio,
}

impl SamplingPolicy {
    /// Every policy, in a stable order.
    pub const ALL: [SamplingPolicy; 5] = [
        SamplingPolicy::Error,
        SamplingPolicy::Latency,
        SamplingPolicy::Attribute,
        SamplingPolicy::ParentSampled,
        SamplingPolicy::Ratio,
    ];

    /// A stable snake_case name, used as a metric attribute value.
    pub const fn as_str(self) -> &'static str {
        match self {
            SamplingPolicy::Error => "error",
            SamplingPolicy::Latency => "latency",
            SamplingPolicy::Attribute => "attribute",
            SamplingPolicy::ParentSampled => "parent_sampled",
            SamplingPolicy::Ratio => "ratio",
        }
    }

    const fn index(self) -> usize {
        match self {
            SamplingPolicy::Error => 0,
            SamplingPolicy::Latency => 1,
            SamplingPolicy::Attribute => 2,
            SamplingPolicy::ParentSampled => 3,
            SamplingPolicy::Ratio => 4,
        }
    }
}

impl fmt::Display for SamplingPolicy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why a tail-sampling stage decided a trace before its local root ended.
/// The decision is made under the same policies, on the spans held so far.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum EarlyDecision {
    /// The decision wait passed.
    DecisionWait,
    /// Holding one more trace would have passed the cap on traces held: the
    /// oldest was decided.
    MaxTraces,
    /// The trace reached the cap on spans held per trace.
    MaxSpansPerTrace,
    /// The stage shut down.
    Shutdown,
}

impl EarlyDecision {
    /// Every cause, in a stable order.
    pub const ALL: [EarlyDecision; 4] = [
        EarlyDecision::DecisionWait,
        EarlyDecision::MaxTraces,
        EarlyDecision::MaxSpansPerTrace,
        EarlyDecision::Shutdown,
    ];

    /// A stable snake_case name, used as a metric attribute value.
    pub const fn as_str(self) -> &'static str {
        match self {
            EarlyDecision::DecisionWait => "decision_wait",
            EarlyDecision::MaxTraces => "max_traces",
            EarlyDecision::MaxSpansPerTrace => "max_spans_per_trace",
            EarlyDecision::Shutdown => "shutdown",
        }
    }

    const fn index(self) -> usize {
        match self {
            EarlyDecision::DecisionWait => 0,
            EarlyDecision::MaxTraces => 1,
            EarlyDecision::MaxSpansPerTrace => 2,
            EarlyDecision::Shutdown => 3,
        }
    }
}

impl fmt::Display for EarlyDecision {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The tail-sampling counters of one signal.
#[derive(Debug, Default)]
struct SamplingCounters {
    kept: [AtomicU64; SamplingPolicy::ALL.len()],
    sampled_out: AtomicU64,
    early: [AtomicU64; EarlyDecision::ALL.len()],
}

/// A copy of a tail-sampling stage's decisions, trace by trace (its spans
/// are in [`SignalStatsSnapshot::sampled_out`] and the delivery counters).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct SamplingSnapshot {
    kept: [u64; SamplingPolicy::ALL.len()],
    /// Traces sampled out.
    pub traces_sampled_out: u64,
    early: [u64; EarlyDecision::ALL.len()],
}

impl SamplingSnapshot {
    /// Traces kept because of `policy`.
    pub fn kept(&self, policy: SamplingPolicy) -> u64 {
        self.kept[policy.index()]
    }

    /// Traces kept, under any policy.
    pub fn traces_kept(&self) -> u64 {
        self.kept.iter().sum()
    }

    /// Traces decided, kept or sampled out.
    pub fn traces_decided(&self) -> u64 {
        self.traces_kept() + self.traces_sampled_out
    }

    /// Traces decided before their local root ended, for `cause`.
    pub fn early(&self, cause: EarlyDecision) -> u64 {
        self.early[cause.index()]
    }

    /// `(policy, traces)` for every policy that kept a trace.
    pub fn kept_by_policy(&self) -> impl Iterator<Item = (SamplingPolicy, u64)> + '_ {
        SamplingPolicy::ALL
            .into_iter()
            .map(|policy| (policy, self.kept(policy)))
            .filter(|&(_, count)| count > 0)
    }
}

/// Counters for all three signals, shared by everything in one pipeline.
/// Cloning shares the same counters.
///
/// ```
/// use otlpkit_core::Signal;
/// use otlpkit_core::stats::{DropReason, ExportStats};
///
/// let stats = ExportStats::new();
/// stats.signal(Signal::Traces).record_exported(7);
/// stats.signal(Signal::Traces).record_dropped(DropReason::RejectedByServer, 3);
/// let traces = stats.snapshot().signal(Signal::Traces);
/// assert_eq!((traces.exported, traces.dropped_total()), (7, 3));
/// ```
#[derive(Clone, Debug, Default)]
pub struct ExportStats {
    signals: Arc<[SignalStats; 3]>,
}

impl ExportStats {
    /// Fresh counters, all zero.
    pub fn new() -> Self {
        Self::default()
    }

    /// The counters of one signal.
    pub fn signal(&self, signal: Signal) -> &SignalStats {
        &self.signals[signal.index()]
    }

    /// A copy of all counters.
    pub fn snapshot(&self) -> StatsSnapshot {
        StatsSnapshot {
            signals: std::array::from_fn(|index| self.signals[index].snapshot()),
        }
    }
}

/// A copy of the counters of all signals.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct StatsSnapshot {
    signals: [SignalStatsSnapshot; 3],
}

impl StatsSnapshot {
    /// The counters of one signal.
    pub fn signal(&self, signal: Signal) -> SignalStatsSnapshot {
        self.signals[signal.index()].clone()
    }
}

/// Hands the counting of one export over from a batch processor to an
/// exporter that can count better than the processor can (it knows about
/// retries, partial success and the shutdown deadline).
///
/// The processor puts a fresh `BatchAccounting` into the OpenTelemetry
/// context the export call runs in. An exporter that finds it there and
/// [`claim`](Self::claim)s it counts every item of the batch into
/// [`stats`](Self::stats), exactly once, whatever becomes of the export;
/// the processor then counts nothing for that batch. An exporter that
/// ignores it (any exporter not written for otlpkit) leaves the counting to
/// the processor, which classifies the export's result. Either way each item
/// is counted once, with no setting to get wrong.
///
/// When the processor gives up on an export (its export timeout, or the
/// shutdown deadline) it first [`cancel`](Self::cancel)s the batch, then
/// tries to `claim` it: if that succeeds the exporter never started on it,
/// and the processor counts it. An exporter that finds the batch cancelled
/// does not send it, and counts it (under the cancellation's reason) only
/// if its own claim came first.
#[derive(Debug, Clone)]
pub struct BatchAccounting {
    stats: ExportStats,
    claimed: Arc<AtomicBool>,
    backlog: bool,
    /// `DropReason::index() + 1` of a cancellation, 0 for none.
    cancelled_as: Arc<AtomicU8>,
}

impl BatchAccounting {
    /// Counting into `stats`, not yet claimed.
    pub fn new(stats: ExportStats) -> Self {
        Self {
            stats,
            claimed: Arc::new(AtomicBool::new(false)),
            backlog: false,
            cancelled_as: Arc::new(AtomicU8::new(0)),
        }
    }

    /// Marks the batch as taken from a queue that is still above its
    /// high-water mark: an exporter with a disk spool writes it there
    /// rather than holding up the queue with a send.
    #[must_use]
    pub fn with_backlog(mut self, backlog: bool) -> Self {
        self.backlog = backlog;
        self
    }

    /// Whether the queue behind the batch was above its high-water mark.
    pub fn is_backlogged(&self) -> bool {
        self.backlog
    }

    /// Where the batch is counted.
    pub fn stats(&self) -> &ExportStats {
        &self.stats
    }

    /// Takes over the counting; true for the first caller only.
    pub fn claim(&self) -> bool {
        !self.claimed.swap(true, Ordering::AcqRel)
    }

    /// Whether an exporter took over the counting.
    pub fn is_claimed(&self) -> bool {
        self.claimed.load(Ordering::Acquire)
    }

    /// The processor is about to drop the export call for `reason` (its
    /// shutdown deadline passed): an exporter that claimed the batch and has
    /// not settled it counts it under this reason.
    pub fn cancel(&self, reason: DropReason) {
        self.cancelled_as
            .store(reason.index() as u8 + 1, Ordering::Release);
    }

    /// The reason given to [`cancel`](Self::cancel), if any.
    pub fn cancelled_as(&self) -> Option<DropReason> {
        match self.cancelled_as.load(Ordering::Acquire) {
            0 => None,
            n => DropReason::ALL.get(usize::from(n) - 1).copied(),
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn each_new_drop_total_is_reported_once() {
        let stats = super::SignalStats::default();
        assert!(stats.drops_newly_reported(3));
        // The second processor sharing the counters: nothing new.
        assert!(!stats.drops_newly_reported(3));
        assert!(!stats.drops_newly_reported(2));
        assert!(stats.drops_newly_reported(5));
        assert!(!stats.drops_newly_reported(5));
    }

    use super::*;

    #[test]
    fn reasons_have_distinct_slots_and_names() {
        let stats = SignalStats::default();
        for (n, reason) in DropReason::ALL.into_iter().enumerate() {
            stats.record_dropped(reason, n as u64 + 1);
        }
        let snapshot = stats.snapshot();
        for (n, reason) in DropReason::ALL.into_iter().enumerate() {
            assert_eq!(snapshot.dropped(reason), n as u64 + 1, "{reason}");
        }
        assert_eq!(snapshot.dropped_total(), (1..=11).sum::<u64>());
        let names: std::collections::HashSet<_> =
            DropReason::ALL.iter().map(|r| r.as_str()).collect();
        assert_eq!(names.len(), DropReason::ALL.len());
    }

    #[test]
    fn sampling_decisions_have_distinct_slots_and_names() {
        let stats = SignalStats::default();
        for (n, policy) in SamplingPolicy::ALL.into_iter().enumerate() {
            for _ in 0..=n {
                stats.record_trace_kept(policy);
            }
        }
        for (n, cause) in EarlyDecision::ALL.into_iter().enumerate() {
            for _ in 0..=n {
                stats.record_early_decision(cause);
            }
        }
        stats.record_trace_sampled_out();
        stats.record_sampled_out(7);
        let snapshot = stats.snapshot();
        for (n, policy) in SamplingPolicy::ALL.into_iter().enumerate() {
            assert_eq!(snapshot.sampling.kept(policy), n as u64 + 1, "{policy}");
        }
        for (n, cause) in EarlyDecision::ALL.into_iter().enumerate() {
            assert_eq!(snapshot.sampling.early(cause), n as u64 + 1, "{cause}");
        }
        assert_eq!(snapshot.sampling.traces_kept(), 15);
        assert_eq!(snapshot.sampling.traces_decided(), 16);
        assert_eq!(snapshot.sampled_out, 7);
        // Sampled out is not a drop.
        assert_eq!(snapshot.dropped_total(), 0);
        let names: std::collections::HashSet<_> = SamplingPolicy::ALL
            .iter()
            .map(|p| p.as_str())
            .chain(EarlyDecision::ALL.iter().map(|c| c.as_str()))
            .collect();
        assert_eq!(names.len(), 9);
    }

    #[test]
    fn spooled_items_are_a_state_that_delivery_or_a_drop_ends() {
        let stats = SignalStats::default();
        stats.record_found_in_spool(5);
        stats.record_spooled(10);
        stats.record_delivered_from_spool(8);
        stats.record_dropped_from_spool(DropReason::SpoolCorrupt, 2);
        stats.record_exported(1);
        let snapshot = stats.snapshot();
        assert_eq!(
            (
                snapshot.spool_found,
                snapshot.spooled,
                snapshot.delivered_from_spool,
                snapshot.in_spool
            ),
            (5, 10, 8, 5)
        );
        assert_eq!(snapshot.delivered(), 9);
        assert_eq!(snapshot.dropped(DropReason::SpoolCorrupt), 2);
        // found + produced = delivered + dropped + in spool
        assert_eq!(
            5 + 11,
            snapshot.delivered() + snapshot.dropped_total() + snapshot.in_spool
        );
    }

    #[test]
    fn signals_are_counted_separately_and_clones_share() {
        let stats = ExportStats::new();
        let clone = stats.clone();
        clone.signal(Signal::Logs).record_request(100);
        clone.signal(Signal::Logs).record_failed_attempt(true, true);
        let snapshot = stats.snapshot();
        let logs = snapshot.signal(Signal::Logs);
        assert_eq!(
            (logs.requests, logs.bytes_sent, logs.retries, logs.throttled),
            (1, 100, 1, 1)
        );
        assert_eq!(
            snapshot.signal(Signal::Traces),
            SignalStatsSnapshot::default()
        );
    }
}
