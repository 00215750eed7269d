//! The exporter's side of the disk spool (`otlpkit-spool`): which batches
//! go to disk, and the drain that sends them from there, in order.
//!
//! With a spool, a batch is written to it instead of being sent when the
//! spool already holds something (new batches go behind it, so that order
//! is kept), or when the batch processor says its queue is above its
//! high-water mark. Otherwise it gets one attempt; a failure the
//! specification says to retry (the collector unreachable, throttling, a
//! timeout) sends it to the spool instead of holding the export call in
//! retries, so the queue in front keeps moving at disk speed.
//!
//! One drain task per exporter, on the worker runtime, sends the oldest
//! record, retries it with backoff (honouring throttling hints) for as long
//! as it takes, and removes it once the server answered: accepted (items
//! counted as delivered from the spool), partly rejected, or refused for
//! good. A batch that cannot be written (the spool is full, or the disk
//! fails) is sent as if there were no spool: the export call holds the
//! batch in its retries, the queue fills, and its overflow policy applies,
//! counted as it would be without a spool.
//!
//! A record's items are counted, as they leave the spool, in the counters
//! they were counted as spooled in: those of the batch processor that
//! handed the batch over (which need not be the exporter's own: a processor
//! and an exporter built apart have counters of their own each), kept with
//! the record while this process has it. Records an earlier process left
//! are counted in the exporter's own counters, where they were counted as
//! found.

use std::collections::HashMap;
use std::future::poll_fn;
use std::pin::pin;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::{Arc, Mutex, PoisonError, Weak};
use std::task::Poll;
use std::time::{Duration, Instant};

use bytes::Bytes;
use opentelemetry_sdk::error::OTelSdkResult;
use otlpkit_core::LogLevel;
use otlpkit_core::diag::{self, RateLimit};
use otlpkit_core::stats::{DropReason, ExportErrorRecord, ExportStats, SignalStats};
use otlpkit_spool::{AppendError, BodyFormat, Lane, RecordId};
use tokio::sync::{Notify, watch};

use crate::accounting::{InFlight, Items};
use crate::core::{Inner, Job, until_cancelled};
use crate::error::ExportError;
use crate::health::items as count_of;
use crate::retry::Attempt;

/// How often an idle drain wakes up to force writes to disk when the fsync
/// policy says so.
const IDLE_TICK: Duration = Duration::from_millis(250);

/// How often, at most, a failing spool write is reported.
const WRITE_FAILURE_INTERVAL: Duration = Duration::from_secs(60);

/// How often, at most, an outage is said (and so its recovery): a
/// collector that fails and recovers in turn would otherwise log every
/// flip.
const OUTAGE_NOTICE_INTERVAL: Duration = Duration::from_secs(60);

/// One exporter's spool lane and the state its drain shares with exports.
#[derive(Debug)]
pub(crate) struct Spooling {
    lane: Lane,
    /// What the transport sends: what a record must be to be replayed.
    format: BodyFormat,
    /// Where the items of each record this process wrote are counted
    /// (`None`: nowhere, as they were counted under another outcome
    /// already). Written with the record, under this lock, before the drain
    /// can look; a record not here was found when the lane was opened, and
    /// is counted in the exporter's own counters.
    counted_in: Mutex<HashMap<RecordId, Option<ExportStats>>>,
    /// Signalled when a record is appended.
    appended: Arc<Notify>,
    /// Attempts failed in a row (direct or from the spool), for backoff.
    failures: AtomicU32,
    /// No attempt before this (a server's throttling hint).
    not_before: Mutex<Option<Instant>>,
    /// The collector is unreachable: said once, until it is back.
    outage: AtomicBool,
    /// Limits how often an outage is said.
    outage_notices: RateLimit,
    /// The current outage was said: its recovery is said too, so that the
    /// last line about the collector is never a stale "failed".
    outage_said: AtomicBool,
    /// Set to stop the drain (the exporter's shutdown is over).
    stop: watch::Sender<bool>,
    write_failures: RateLimit,
}

/// What [`route`] did with a batch.
pub(crate) enum Routed {
    /// Written to the spool or settled: the export's result.
    Done(OTelSdkResult),
    /// Not taken by the spool: send it as if there were no spool.
    Send(Job),
}

impl Spooling {
    pub(crate) fn new(lane: Lane, format: BodyFormat) -> Self {
        let (stop, _) = watch::channel(false);
        Self {
            lane,
            format,
            counted_in: Mutex::new(HashMap::new()),
            appended: Arc::new(Notify::new()),
            failures: AtomicU32::new(0),
            not_before: Mutex::new(None),
            outage: AtomicBool::new(false),
            outage_notices: RateLimit::new(OUTAGE_NOTICE_INTERVAL),
            outage_said: AtomicBool::new(false),
            stop,
            write_failures: RateLimit::new(WRITE_FAILURE_INTERVAL),
        }
    }

    pub(crate) fn lane(&self) -> &Lane {
        &self.lane
    }

    /// Whether the drain is waiting out a failure (the collector is down
    /// or throttling): what is spooled then stays for the next process.
    pub(crate) fn is_failing(&self) -> bool {
        self.failures.load(Ordering::Acquire) > 0
    }

    /// Stops the drain and forces what was written to disk.
    pub(crate) fn stop(&self) {
        self.stop.send_replace(true);
        let _ = self.lane.sync(true);
    }

    /// Writes `body`, the request of the batch `items`, behind everything
    /// in the lane, and counts the batch as spooled in its counters, where
    /// the drain counts it again when it leaves the spool.
    pub(crate) fn append(&self, items: Items, body: &[u8]) -> Result<(), AppendError> {
        {
            // Held until the record's counters are known: the drain, which
            // may read the record as soon as it is in the lane, looks them
            // up under this lock.
            let mut counted_in = self
                .counted_in
                .lock()
                .unwrap_or_else(PoisonError::into_inner);
            let id = self.lane.append(self.format, items.count(), body)?;
            // Settled meanwhile (the shutdown deadline counted it as
            // dropped): on disk all the same, and counted nowhere again.
            let counted = items.settle_spooled().then(|| items.counted_in().clone());
            counted_in.insert(id, counted);
        }
        self.appended.notify_one();
        Ok(())
    }

    /// Where the items of the record `id` are counted: the counters of the
    /// batch it was written from, `fallback` (the exporter's own) for a
    /// record an earlier process left, `None` for items counted already.
    fn counted_in(&self, id: RecordId, fallback: &ExportStats) -> Option<ExportStats> {
        self.counted_in
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(&id)
            .cloned()
            .unwrap_or_else(|| Some(fallback.clone()))
    }

    /// Removes the oldest record, `id`, from the lane (delivered, or
    /// counted as dropped).
    fn remove(&self, id: RecordId) {
        let _ = self.lane.remove(id);
        self.counted_in
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(&id);
    }

    /// Records a failed attempt, for the drain's backoff.
    fn failed(&self, inner: &Inner, error: &ExportError, retry: u32) {
        let delay = inner.config().retry_policy().delay(
            retry.max(1),
            rand::random::<f64>(),
            error.retry_after(),
        );
        *self
            .not_before
            .lock()
            .unwrap_or_else(PoisonError::into_inner) =
            Some(otlpkit_core::saturating_deadline(Instant::now(), delay));
        if !self.outage.swap(true, Ordering::AcqRel) && self.outage_notices.ready() {
            self.outage_said.store(true, Ordering::Release);
            diag::emit(
                LogLevel::Warn,
                format_args!(
                    "{} export to {} failed ({}); batches wait in the spool {} until it \
                     takes them again",
                    inner.signal(),
                    inner.endpoint(),
                    inner.scrub(&error.to_string()),
                    self.lane.dir().display()
                ),
            );
        }
    }

    fn recovered(&self, inner: &Inner) {
        self.failures.store(0, Ordering::Release);
        if self.outage.swap(false, Ordering::AcqRel)
            && self.outage_said.swap(false, Ordering::AcqRel)
        {
            diag::emit(
                LogLevel::Info,
                format_args!(
                    "{} exports to {} succeed again; sending the {} waiting in the spool",
                    inner.signal(),
                    inner.endpoint(),
                    count_of(self.lane.items(), inner.signal())
                ),
            );
        }
    }

    fn write_failed(&self, inner: &Inner, error: &AppendError) {
        if self.write_failures.ready() {
            diag::emit(
                LogLevel::Warn,
                format_args!(
                    "{} batches cannot be spooled ({error}); they are sent without the spool \
                     and the queue's overflow policy applies",
                    inner.signal()
                ),
            );
        }
    }
}

/// Decides what becomes of a prepared batch when the exporter has a spool.
pub(crate) async fn route(inner: &Inner, spooling: &Spooling, job: Job) -> Routed {
    if spooling.lane.is_empty() && !job.backlog {
        // One attempt; a failure worth retrying goes to the spool instead.
        let stats = job.settlement.stats();
        let attempt = Attempt {
            number: 1,
            timeout: inner.config().timeout(),
        };
        // Raced against the shutdown's cancellation, as the retry loop is:
        // once the shutdown has saved the batch in the spool (or counted
        // it), an attempt still running must not deliver it as well, nor
        // append it a second time.
        let mut phase = inner.phase();
        let sent = inner.attempt(job.body.clone(), attempt, stats);
        let Some(outcome) = until_cancelled(&mut phase, sent).await else {
            return Routed::Done(Err(inner.cancelled(&job.settlement)));
        };
        match outcome {
            Ok(accepted) => return Routed::Done(inner.accepted(&job.settlement, &accepted)),
            Err(error) if error.is_retryable() => {
                stats.record_failed_attempt(true, error.retry_after().is_some());
                spooling.failures.fetch_add(1, Ordering::AcqRel);
                spooling.failed(inner, &error, 1);
            }
            Err(_) => {
                // Not worth retrying: the retry loop fails it at once, with
                // the usual accounting.
                return Routed::Send(job);
            }
        }
    }
    if job.settlement.is_settled() {
        // The shutdown saved it in the spool already, or counted it.
        return Routed::Done(Err(inner.cancelled(&job.settlement)));
    }
    match spooling.append(job.settlement.for_spool(), &job.body) {
        // Counted as spooled by the append.
        Ok(()) => Routed::Done(Ok(())),
        Err(error) => {
            spooling.write_failed(inner, &error);
            Routed::Send(job)
        }
    }
}

/// Writes the bodies of sends still in flight at the shutdown deadline to
/// the spool, so that they wait for the next process instead of being lost.
pub(crate) fn save_in_flight(spooling: &Spooling, in_flight: &InFlight) {
    in_flight.spool_all(|items, body| {
        // Counted as spooled if it was taken; left to the shutdown's count
        // of what is still in flight otherwise.
        let _ = spooling.append(items, body);
    });
}

/// The drain: sends the oldest record until the spool is empty, waits for
/// the next, and stops with the exporter. It holds the exporter only while
/// it works, so that dropping the exporter ends it.
pub(crate) async fn drain(inner: Weak<Inner>) {
    let mut stop = match inner.upgrade() {
        Some(inner) => match inner.spooling() {
            Some(spooling) => spooling.stop.subscribe(),
            None => return,
        },
        None => return,
    };
    loop {
        if *stop.borrow() {
            return;
        }
        let Some(strong) = inner.upgrade() else {
            return;
        };
        let Some(spooling) = strong.spooling() else {
            return;
        };
        if spooling.lane.sync_due() {
            // An fsync can take hundreds of milliseconds on a busy disk:
            // off the worker thread, so that exports go on meanwhile.
            let owner = Arc::clone(&strong);
            let _ = tokio::task::spawn_blocking(move || {
                if let Some(spooling) = owner.spooling() {
                    let _ = spooling.lane.sync(false);
                }
            })
            .await;
        }
        let wait = spooling
            .not_before
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .map(|at| at.saturating_duration_since(Instant::now()))
            .filter(|wait| !wait.is_zero());
        if let Some(wait) = wait {
            drop(strong);
            if stopped_or(&mut stop, tokio::time::sleep(wait))
                .await
                .is_none()
            {
                return;
            }
            continue;
        }
        let Some(record) = spooling.lane.front() else {
            let appended = Arc::clone(&spooling.appended);
            drop(strong);
            let appended_or_tick = async {
                let mut appended = pin!(appended.notified());
                let mut tick = pin!(tokio::time::sleep(IDLE_TICK));
                poll_fn(|cx| {
                    if appended.as_mut().poll(cx).is_ready() || tick.as_mut().poll(cx).is_ready() {
                        Poll::Ready(())
                    } else {
                        Poll::Pending
                    }
                })
                .await;
            };
            if stopped_or(&mut stop, appended_or_tick).await.is_none() {
                return;
            }
            continue;
        };
        // Counted where the record's items were counted into the spool
        // (requests and attempts too): the counters of the batch it was
        // written from, or the exporter's own for one an earlier process
        // left. Items counted under another outcome already (the shutdown
        // deadline settled the batch while it was being written) are not
        // counted again.
        let counted_in = spooling.counted_in(record.id, strong.stats());
        let stats = counted_in
            .as_ref()
            .unwrap_or(strong.stats())
            .signal(strong.signal());
        let items = if counted_in.is_some() {
            record.items
        } else {
            0
        };
        let body = match record.body {
            Ok((format, body)) if format == spooling.format => body,
            Ok((format, _)) => {
                let message = format!(
                    "a spooled batch is encoded as {format}, and this exporter sends {}: \
                     keep the protocol and compression the spool was written with to replay it",
                    spooling.format
                );
                drop_record(&strong, stats, DropReason::NonRetryable, items, &message);
                spooling.remove(record.id);
                continue;
            }
            Err(unreadable) => {
                // Damaged, of an unknown format, or unreadable: skipped and
                // counted, never retried for ever.
                drop_record(
                    &strong,
                    stats,
                    DropReason::SpoolCorrupt,
                    items,
                    &unreadable.to_string(),
                );
                spooling.remove(record.id);
                continue;
            }
        };
        let number = spooling.failures.load(Ordering::Acquire).saturating_add(1);
        let attempt = Attempt {
            number,
            timeout: strong.config().timeout(),
        };
        let send = strong.attempt(Bytes::from(body), attempt, stats);
        let Some(result) = stopped_or(&mut stop, send).await else {
            // Not removed: it stays for the next process.
            return;
        };
        match result {
            Ok(accepted) => {
                let rejected = accepted.rejected.min(items);
                stats.record_delivered_from_spool(items - rejected);
                if rejected > 0 {
                    stats.record_dropped_from_spool(DropReason::RejectedByServer, rejected);
                }
                if accepted.is_partial() {
                    stats.record_partial_success();
                }
                spooling.recovered(&strong);
                spooling.remove(record.id);
            }
            Err(error) if error.is_retryable() => {
                stats.record_failed_attempt(true, error.retry_after().is_some());
                spooling.failures.fetch_add(1, Ordering::AcqRel);
                spooling.failed(&strong, &error, number);
            }
            Err(error) => {
                stats.record_failed_attempt(false, false);
                let message = strong.scrub(&error.to_string());
                drop_record(&strong, stats, DropReason::NonRetryable, items, &message);
                spooling.remove(record.id);
            }
        }
    }
}

/// Runs `work` until it ends (`Some` of its output) or the drain is told
/// to stop (`None`; `work` is dropped unfinished).
///
/// The stop is looked at first: a drain that has seen it returns without
/// touching the lane or the counts, so a send whose answer comes in at the
/// same moment leaves its record in the spool for the next process (sent
/// twice at worst) rather than removing it after the shutdown's final sync.
async fn stopped_or<T>(
    stop: &mut watch::Receiver<bool>,
    work: impl Future<Output = T>,
) -> Option<T> {
    let mut stopped = pin!(stop.changed());
    let mut work = pin!(work);
    poll_fn(|cx| {
        // A closed channel (the exporter gone) stops the drain too.
        if stopped.as_mut().poll(cx).is_ready() {
            return Poll::Ready(None);
        }
        work.as_mut().poll(cx).map(Some)
    })
    .await
}

fn drop_record(inner: &Inner, stats: &SignalStats, reason: DropReason, items: u64, message: &str) {
    stats.record_dropped_from_spool(reason, items);
    stats.record_error(ExportErrorRecord::new(
        "spool",
        reason,
        inner.endpoint().to_owned(),
        message.to_owned(),
        items,
    ));
    diag::emit(
        LogLevel::Warn,
        format_args!(
            "{} from the spool dropped ({reason}): {message}",
            count_of(items, inner.signal())
        ),
    );
}

/// Counts what an opened lane held: the records to send as found, the
/// damaged ones as dropped.
pub(crate) fn count_found(spooling: &Spooling, stats: &SignalStats) {
    let found = spooling.lane.found();
    stats.record_found_in_spool(found.items + found.corrupt_items);
    if found.corrupt_items > 0 {
        stats.record_dropped_from_spool(DropReason::SpoolCorrupt, found.corrupt_items);
    }
    if found.corrupt_records > 0 {
        let message = format!(
            "{} damaged records ({} bytes) skipped in the spool {}",
            found.corrupt_records,
            found.corrupt_bytes,
            spooling.lane.dir().display()
        );
        stats.record_error(ExportErrorRecord::new(
            "spool",
            DropReason::SpoolCorrupt,
            spooling.lane.dir().display().to_string(),
            message.clone(),
            found.corrupt_items,
        ));
        diag::emit(LogLevel::Warn, format_args!("{message}"));
    }
    if found.records > 0 {
        diag::emit(
            LogLevel::Info,
            format_args!(
                "{} from an earlier run found in the spool {}; sending them first",
                count_of(found.items, spooling.lane.signal()),
                spooling.lane.dir().display()
            ),
        );
    }
}
