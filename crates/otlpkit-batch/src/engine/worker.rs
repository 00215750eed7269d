//! The export worker task: the loop on the worker runtime that takes
//! batches from the queue, runs the exports (at most
//! `max_concurrent_exports` at a time) and settles each one in the
//! counters, and carries out the flush and shutdown requests that the
//! engine's handle sends on the control channel.

use std::collections::HashMap;
use std::future::poll_fn;
use std::pin::pin;
use std::sync::Arc;
use std::task::Poll;
use std::time::{Duration, Instant};

use opentelemetry::Context;
use opentelemetry::context::FutureExt as _;
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::error::OTelSdkError;
use otlpkit_bridge::WorkerRuntime;
use otlpkit_core::stats::{
    BatchAccounting, DropReason, ExportErrorRecord, ExportStats, SignalStats,
};
use tokio::sync::mpsc;
use tokio::task::{Id, JoinError, JoinSet};

use super::blocking::on_blocking_thread;
use super::{Control, Lane, Settings, Shared, later};
use crate::diag::{self, WarnOnce};
use crate::exporter::{ExporterControl, classify_failure};
use crate::queue::item_name;
use crate::report::FlushReport;

/// The largest part of a shutdown's budget kept for the exporter's own
/// shutdown (a tenth of the budget, at most this).
const EXPORTER_SHUTDOWN_RESERVE: Duration = Duration::from_millis(100);

/// A generous estimate of the time it takes to drop one queued item at the
/// shutdown deadline; with a very large queue, the shutdown stops exporting
/// early enough to drop what is left before its deadline (at most a quarter
/// of the budget is kept for that).
const DISCARD_COST_PER_ITEM: Duration = Duration::from_nanos(250);

/// The export outcomes in the shared counters: exported, failed on the way
/// to the collector, dropped at the shutdown deadline. Queue-side drops
/// (queue full, evicted, block timeout, after shutdown) are not outcomes of
/// a flush or a shutdown.
#[derive(Debug, Clone, Copy)]
struct Outcomes {
    exported: u64,
    failed: u64,
    deadline: u64,
}

impl Outcomes {
    fn of(stats: &SignalStats) -> Outcomes {
        let snapshot = stats.snapshot();
        Outcomes {
            exported: snapshot.exported,
            failed: [
                DropReason::NonRetryable,
                DropReason::RetriesExhausted,
                DropReason::RejectedByServer,
                DropReason::Oversized,
                DropReason::Internal,
            ]
            .into_iter()
            .map(|reason| snapshot.dropped(reason))
            .sum(),
            deadline: snapshot.dropped(DropReason::ShutdownDeadline),
        }
    }
}

/// Why an export call did not succeed.
enum Failure {
    Exporter(OTelSdkError),
    Timeout,
}

struct ExportDone {
    result: Result<(), Failure>,
    elapsed: Duration,
}

/// What woke the worker's loop.
enum Woken {
    /// A request from the engine's handle (`None`: every handle is gone).
    Control(Option<Control>),
    /// An export finished, failed, panicked or was cancelled.
    Settle(Result<(Id, ExportDone), JoinError>),
    /// A producer filled a batch, or the schedule delay passed.
    Pump,
}

/// The export worker task (compiled once for every item type: what needs
/// the type is behind `lane`).
pub(super) struct Worker {
    shared: Arc<Shared>,
    lane: Box<dyn Lane>,
    control: mpsc::UnboundedReceiver<Control>,
    in_flight: JoinSet<ExportDone>,
    /// Items of each export in flight, and how its counting was handed over.
    in_flight_items: HashMap<Id, (u64, BatchAccounting)>,
    next_timer: Instant,
    /// Whether the last export took a full batch: the next one may then be
    /// partial (see `pump`).
    draining: bool,
    batch_size: usize,
    schedule_delay: Duration,
    export_timeout: Option<Duration>,
    max_concurrent: usize,
    default_timeout: Duration,
    /// Run each export call on a blocking thread (exporters that block).
    blocking_exports: bool,
    warned: WarnOnce,
    suppressed: Context,
    /// The runtime to stop after shutdown, when the engine started it.
    owned_runtime: Option<WorkerRuntime>,
}

impl Worker {
    /// The worker for `shared`, exporting through `lane` and taking
    /// requests from `control`; it stops `owned_runtime`, if any, after
    /// shutdown.
    pub(super) fn new(
        shared: Arc<Shared>,
        lane: Box<dyn Lane>,
        control: mpsc::UnboundedReceiver<Control>,
        settings: &Settings,
        owned_runtime: Option<WorkerRuntime>,
    ) -> Self {
        let config = &settings.config;
        Self {
            shared,
            lane,
            control,
            in_flight: JoinSet::new(),
            in_flight_items: HashMap::new(),
            next_timer: later(Instant::now(), config.schedule_delay()),
            draining: false,
            batch_size: config.max_export_batch_size().max(1),
            schedule_delay: config.schedule_delay(),
            export_timeout: config.export_timeout(),
            max_concurrent: settings.max_concurrent_exports.max(1),
            default_timeout: settings.default_timeout,
            blocking_exports: settings.blocking_exports,
            warned: WarnOnce::default(),
            suppressed: Context::new().with_telemetry_suppressed(),
            owned_runtime,
        }
    }

    pub(super) async fn run(mut self) {
        loop {
            let can_start = self.in_flight.len() < self.max_concurrent;
            let woken = {
                let mut queued = pin!(self.shared.queue.wake().notified());
                let mut timer = pin!(tokio::time::sleep_until(self.next_timer.into()));
                // Always in this order, so that a flush or shutdown request is
                // taken at once however busy the exports are, and a finished
                // export is settled (its slot freed) before more are started.
                // The futures that lose are dropped unfinished, which loses
                // nothing: a `Notified` passes on a notification it took, and
                // the timer is made anew each turn.
                poll_fn(|cx| {
                    if let Poll::Ready(message) = self.control.poll_recv(cx) {
                        return Poll::Ready(Woken::Control(message));
                    }
                    // `None` only when no export is in flight.
                    if !self.in_flight.is_empty()
                        && let Poll::Ready(Some(joined)) = self.in_flight.poll_join_next_with_id(cx)
                    {
                        return Poll::Ready(Woken::Settle(joined));
                    }
                    if can_start
                        && (queued.as_mut().poll(cx).is_ready()
                            || timer.as_mut().poll(cx).is_ready())
                    {
                        return Poll::Ready(Woken::Pump);
                    }
                    Poll::Pending
                })
                .await
            };
            match woken {
                Woken::Control(Some(Control::SetResource(resource))) => {
                    self.set_resource(resource).await;
                }
                Woken::Control(Some(Control::Flush { deadline, reply })) => {
                    let report = self.flush(deadline).await;
                    reply.send(report);
                }
                Woken::Control(Some(Control::Shutdown { deadline, reply })) => {
                    let report = self.shutdown(deadline).await;
                    reply.send(report);
                    self.stop_runtime();
                    return;
                }
                Woken::Control(None) => {
                    // Every handle is gone without a shutdown request.
                    let deadline = later(Instant::now(), self.default_timeout);
                    self.shared.queue.close();
                    let _ = self.shutdown(deadline).await;
                    self.stop_runtime();
                    return;
                }
                Woken::Settle(joined) => self.settle(joined),
                Woken::Pump => {}
            }
            self.pump();
        }
    }

    fn stop_runtime(&mut self) {
        if let Some(runtime) = self.owned_runtime.take() {
            // On the worker thread this only signals the runtime to stop once
            // this task returns; it never waits.
            let _ = runtime.shutdown(Duration::ZERO);
        }
    }

    /// Starts the exports that are due (checklist 3.4): full batches, and
    /// what is queued once the schedule delay has passed. Like the SDK's
    /// processor, which drains what is queued when it is woken, a partial
    /// batch also goes out right after a full one, so that the tail of a
    /// burst does not wait for the timer; after a partial batch, or a flush,
    /// the worker waits for the next full batch or the timer again.
    fn pump(&mut self) {
        while self.in_flight.len() < self.max_concurrent {
            let queue = &self.shared.queue;
            queue.clear_wake();
            let len = queue.len();
            let now = Instant::now();
            if len == 0 {
                self.draining = false;
                if now >= self.next_timer {
                    // Nothing to do when the timer fires on an empty queue;
                    // producers wake the worker when a batch is full.
                    self.next_timer = later(now, self.schedule_delay.max(Duration::from_secs(1)));
                }
                return;
            }
            if len < self.batch_size && now < self.next_timer && !self.draining {
                return;
            }
            let taken = self.start_export(self.batch_size);
            if taken == 0 {
                return;
            }
            self.draining = taken == self.batch_size as u64;
        }
    }

    /// Takes up to `max` items and starts exporting them. Returns how many.
    fn start_export(&mut self, max: usize) -> u64 {
        let Some((taken, call)) = self.lane.take_batch(max) else {
            return 0;
        };
        self.shared.counters.export_started(taken);
        let timeout = self.export_timeout;
        // An exporter that counts better than the engine (otlpkit's) finds
        // this in the context of its export call and takes the counting over.
        // Half the queue still waiting after this batch: an exporter with a
        // disk spool writes the batch there rather than hold the queue up.
        let backlog = self.shared.queue.len().saturating_mul(2) >= self.shared.queue.capacity();
        let accounting = BatchAccounting::new(self.shared.stats.clone()).with_backlog(backlog);
        let context = self.suppressed.with_value(accounting.clone());
        let blocking = self.blocking_exports.then(|| context.clone());
        let export = async move {
            let started = Instant::now();
            let call = match blocking {
                None => call,
                Some(suppressed) => on_blocking_thread(call, suppressed),
            };
            let result = match timeout {
                Some(limit) => match tokio::time::timeout(limit, call).await {
                    Ok(result) => result.map_err(Failure::Exporter),
                    Err(_) => Err(Failure::Timeout),
                },
                None => call.await.map_err(Failure::Exporter),
            };
            ExportDone {
                result,
                elapsed: started.elapsed(),
            }
        }
        // The export never feeds the pipeline it belongs to.
        .with_context(context);
        let handle = self.in_flight.spawn(export);
        self.in_flight_items
            .insert(handle.id(), (taken, accounting));
        self.next_timer = later(Instant::now(), self.schedule_delay);
        taken
    }

    /// Accounts for a finished (or cancelled) export.
    ///
    /// An exporter that claimed the batch's [`BatchAccounting`] records the
    /// outcome of every item itself, whatever becomes of the call (a panic
    /// or a cancellation included), so the engine then records nothing.
    /// Otherwise the engine claims the batch itself: a blocking export call
    /// that the worker stopped waiting for before it began (its thread came
    /// late) then finds the batch cancelled and counted, and leaves it.
    fn settle(&mut self, joined: Result<(Id, ExportDone), JoinError>) {
        let (id, done) = match joined {
            Ok((id, done)) => (id, Ok(done)),
            Err(error) => (error.id(), Err(error)),
        };
        let (items, accounting) = self
            .in_flight_items
            .remove(&id)
            .unwrap_or_else(|| (0, BatchAccounting::new(ExportStats::new())));
        if let Ok(ExportDone {
            result: Err(Failure::Timeout),
            ..
        }) = &done
        {
            // Given up at the export timeout; the call may still begin (a
            // blocking one) or still run. (Shutdown cancels before it
            // aborts.)
            accounting.cancel(DropReason::RetriesExhausted);
        }
        // After the cancellation: whoever claims first counts the batch.
        let engine_counts = accounting.claim();
        let counters = &self.shared.counters;
        counters.export_settled(items);
        let stats = self.shared.signal_stats();
        let what = item_name(self.shared.signal);
        match done {
            Ok(ExportDone {
                result: Ok(()),
                elapsed,
            }) => {
                counters.export_finished(elapsed, false);
                if engine_counts {
                    stats.record_exported(items);
                }
            }
            Ok(ExportDone {
                result: Err(failure),
                elapsed,
            }) => {
                counters.export_finished(elapsed, true);
                let reason = match &failure {
                    // The engine cancelled the call at the export timeout.
                    Failure::Timeout => DropReason::RetriesExhausted,
                    Failure::Exporter(error) => classify_failure(error),
                };
                if engine_counts {
                    stats.record_dropped(reason, items);
                    let message = match &failure {
                        Failure::Timeout => format!(
                            "the export call did not return within the {:?} export timeout",
                            self.export_timeout.unwrap_or_default()
                        ),
                        Failure::Exporter(error) => error.to_string(),
                    };
                    stats.record_error(ExportErrorRecord::new(
                        "exporter",
                        reason,
                        format!("the {} exporter", self.shared.signal),
                        message,
                        items,
                    ));
                    self.warned.dropped(what, reason);
                    if let Failure::Exporter(error) = &failure {
                        self.warned.export_failed(what, error);
                    }
                }
            }
            Err(error) if error.is_cancelled() => {
                // Only shutdown cancels exports, when its deadline passes.
                if engine_counts {
                    stats.record_dropped(DropReason::ShutdownDeadline, items);
                }
            }
            Err(error) => {
                // The exporter panicked. One that claimed the batch counted
                // it while unwinding; any other cannot have.
                counters.export_finished(Duration::ZERO, true);
                if engine_counts {
                    stats.record_dropped(DropReason::Internal, items);
                    self.warned.dropped(what, DropReason::Internal);
                }
                diag::warn(format_args!("the {what} exporter panicked: {error}"));
            }
        }
        // The schedule delay restarts after each export (checklist 3.4).
        self.next_timer = later(Instant::now(), self.schedule_delay);
    }

    /// Exports until `target` items have been taken (all that is queued
    /// when `None`) and every export has settled, or `deadline` passes
    /// (`true`), or a shutdown preempts a flush (`true`). Returns whether it
    /// stopped early and how many of the target were never taken.
    async fn drain(
        &mut self,
        target: Option<u64>,
        deadline: Instant,
        preemptible: bool,
    ) -> (bool, u64) {
        let mut left = target.unwrap_or(u64::MAX);
        loop {
            while left > 0 && self.in_flight.len() < self.max_concurrent {
                let want =
                    usize::try_from(left.min(self.batch_size as u64)).unwrap_or(self.batch_size);
                let started = self.start_export(want);
                if started == 0 {
                    left = 0;
                } else {
                    left = left.saturating_sub(started);
                }
            }
            if self.in_flight.is_empty() {
                // What was queued has gone out: the burst a full batch may
                // have begun is over, and items pushed meanwhile wait for a
                // full batch or the timer like any others.
                self.draining = false;
                return (false, 0);
            }
            let joined = {
                let mut preempted = pin!(self.shared.preempt.notified());
                let mut expired = pin!(tokio::time::sleep_until(deadline.into()));
                // In this order: an export that has finished is settled even
                // when the deadline or a shutdown has come too, so that it is
                // counted as what it is rather than as cut off.
                poll_fn(|cx| {
                    // Never `None`: exports are in flight.
                    if let Poll::Ready(Some(joined)) = self.in_flight.poll_join_next_with_id(cx) {
                        return Poll::Ready(Some(joined));
                    }
                    if (preemptible && preempted.as_mut().poll(cx).is_ready())
                        || expired.as_mut().poll(cx).is_ready()
                    {
                        return Poll::Ready(None);
                    }
                    Poll::Pending
                })
                .await
            };
            match joined {
                Some(joined) => self.settle(joined),
                None => return (true, if target.is_some() { left } else { 0 }),
            }
        }
    }

    /// Runs a synchronous exporter call (flush, shutdown) on the runtime's
    /// blocking pool, so that exporters that block or wait on this worker
    /// cannot stall it.
    async fn blocking<R: Send + 'static>(
        &self,
        deadline: Instant,
        call: impl FnOnce(&dyn ExporterControl) -> R + Send + 'static,
    ) -> Result<R, Unfinished> {
        let exporter = self.lane.exporter();
        let task = tokio::task::spawn_blocking(move || call(&*exporter));
        match tokio::time::timeout_at(deadline.into(), task).await {
            Ok(Ok(result)) => Ok(result),
            // A panic is not a timeout: it is said as what it is.
            Ok(Err(error)) => Err(Unfinished::Failed(error.to_string())),
            Err(_) => Err(Unfinished::Deadline),
        }
    }

    async fn flush(&mut self, deadline: Instant) -> FlushReport {
        let started = Instant::now();
        let base = Outcomes::of(self.shared.signal_stats());
        let target = self.shared.queue.len() as u64;
        let (stopped_early, left) = self.drain(Some(target), deadline, true).await;
        let (exported, failed, _) = self.outcomes_since(base);
        let mut report = FlushReport {
            exported,
            failed,
            ..FlushReport::default()
        };
        if stopped_early {
            report.timed_out = true;
            report.unsent = left + self.shared.counters.in_flight_items();
        } else {
            // checklist 3.6: then the exporter's own flush.
            match self
                .blocking(deadline, |exporter| exporter.force_flush())
                .await
            {
                Ok(Ok(())) => {}
                Ok(Err(error)) => report.exporter_error = Some(error.to_string()),
                Err(Unfinished::Failed(panic)) => {
                    report.exporter_error =
                        Some(format!("the exporter's force_flush panicked: {panic}"));
                }
                Err(Unfinished::Deadline) => report.timed_out = true,
            }
        }
        report.elapsed = started.elapsed();
        report
    }

    async fn shutdown(&mut self, deadline: Instant) -> FlushReport {
        let started = Instant::now();
        let base = Outcomes::of(self.shared.signal_stats());
        // The last slice of the budget is kept for what follows the drain:
        // dropping what is still queued (proportional to the queue, for very
        // large queues) and the exporter's own shutdown, which settles
        // whatever it still holds.
        let budget = deadline.saturating_duration_since(started);
        let queued = u32::try_from(self.shared.queue.len()).unwrap_or(u32::MAX);
        let reserve = (budget / 10)
            .min(EXPORTER_SHUTDOWN_RESERVE)
            .max(DISCARD_COST_PER_ITEM.saturating_mul(queued))
            .min(budget / 4);
        let (timed_out, _) = self.drain(None, deadline - reserve, false).await;
        if timed_out {
            // Cancel what is still running; on this single-threaded runtime
            // none of it is being polled now, so a cancelled export has
            // recorded nothing and is counted here, once (by the engine, or
            // by an exporter that claimed it, under the reason given here).
            for (_, accounting) in self.in_flight_items.values() {
                accounting.cancel(DropReason::ShutdownDeadline);
            }
            self.in_flight.abort_all();
            while let Some(joined) = self.in_flight.join_next_with_id().await {
                self.settle(joined);
            }
        }
        self.shared.queue.discard_all(DropReason::ShutdownDeadline);
        // After a timeout the exporter is told to cancel at once what it
        // still holds; otherwise it gets what is left of the budget.
        let grace = if timed_out {
            Duration::ZERO
        } else {
            deadline.saturating_duration_since(Instant::now())
        };
        let exporter_result = self
            .blocking(deadline, move |exporter| exporter.shutdown(grace))
            .await;
        let mut report = FlushReport {
            timed_out,
            ..FlushReport::default()
        };
        match exporter_result {
            Ok(Ok(())) => {}
            Ok(Err(error)) => report.exporter_error = Some(error.to_string()),
            Err(Unfinished::Failed(panic)) => {
                report.exporter_error = Some(format!("the exporter's shutdown panicked: {panic}"));
            }
            // The exporter is still shutting down: what it settles from now
            // on (a send that a blocking export call left running, which its
            // shutdown counts as dropped at the deadline) is in neither this
            // report nor the statistics read with it.
            Err(Unfinished::Deadline) => report.timed_out = true,
        }
        // The counters the exporter settles into, not what the engine saw
        // of each export call: a call that returned `Ok` after a partial
        // success, or after saving its batch in a disk spool, did not export
        // every item. Once the exporter's shutdown has returned, everything
        // is settled; either way the report agrees with `stats()`.
        (report.exported, report.failed, report.unsent) = self.outcomes_since(base);
        report.elapsed = started.elapsed();
        let totals = self.shared.snapshot();
        let dropped = totals.dropped_total();
        // Once per new total: a second processor counting into the same
        // counters (the other span path) would print the same line again.
        if dropped > 0 && self.shared.signal_stats().drops_newly_reported(dropped) {
            diag::warn(format_args!("batch processor shut down; {totals}"));
        }
        report
    }

    /// `(exported, failed, dropped at the deadline)` recorded since `base`,
    /// by the engine and by an exporter that accounts for itself. Exact as
    /// long as no other pipeline records the same signal into the same
    /// counters at the same time.
    fn outcomes_since(&self, base: Outcomes) -> (u64, u64, u64) {
        let now = Outcomes::of(self.shared.signal_stats());
        (
            now.exported.saturating_sub(base.exported),
            now.failed.saturating_sub(base.failed),
            now.deadline.saturating_sub(base.deadline),
        )
    }

    async fn set_resource(&mut self, resource: Resource) {
        // The exporter can be changed only while no export holds it.
        while let Some(joined) = self.in_flight.join_next_with_id().await {
            self.settle(joined);
        }
        if !self.lane.set_resource(&resource) {
            diag::warn(format_args!(
                "could not pass the resource to the exporter while it was in use"
            ));
        }
    }
}

impl Drop for Worker {
    fn drop(&mut self) {
        // Normally empty. If the task was dropped before finishing (its
        // runtime was shut down under it), account for everything it held.
        // Exports that ended before it was dropped (delivered, failed or
        // panicked) are settled as they ended; the others were cancelled
        // with it.
        while let Some(joined) = self.in_flight.try_join_next_with_id() {
            self.settle(joined);
        }
        let stats = self.shared.signal_stats();
        for (_, (items, accounting)) in self.in_flight_items.drain() {
            self.shared.counters.export_settled(items);
            accounting.cancel(DropReason::ShutdownDeadline);
            if accounting.claim() {
                stats.record_dropped(DropReason::ShutdownDeadline, items);
            }
        }
        self.shared.queue.close();
        self.shared.queue.discard_all(DropReason::ShutdownDeadline);
    }
}

/// Why a synchronous exporter call gave no result.
enum Unfinished {
    /// The deadline passed first (the call may still be running).
    Deadline,
    /// It panicked; the panic's message.
    Failed(String),
}
