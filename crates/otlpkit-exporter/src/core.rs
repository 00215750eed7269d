//! The exporter core: one lifecycle for every signal and transport.
//!
//! An export is prepared on the caller's thread (encoded once, checked
//! against the request size limit, compressed once), then sent on the
//! exporter's worker runtime under the retry loop, and settled: every item
//! is counted exactly once ([`crate::accounting`]). On the worker thread
//! itself (otlpkit-batch's export loop, as `otlpkit::init()` builds it) the
//! send runs inline; from any other thread it is handed to the worker, and
//! the caller only waits for the result, so no caller needs a runtime.

use std::fmt;
use std::future::{Future, poll_fn};
use std::pin::pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::task::Poll;
use std::time::{Duration, Instant};

use bytes::Bytes;
use opentelemetry::Context;
use opentelemetry::context::FutureExt as _;
use opentelemetry_sdk::error::{OTelSdkError, OTelSdkResult};
use otlpkit_bridge::{BridgeError, WorkerRuntime};
use otlpkit_core::stats::{
    BatchAccounting, DropReason, ExportErrorRecord, ExportStats, SignalStats,
};
use otlpkit_core::{ExporterConfig, Signal};
use tokio::sync::watch;

use crate::SpoolLane;
use crate::accounting::{Accepted, InFlight, Settlement, count_accepted};
use crate::error::ExportError;
use crate::health::{Health, items};
use crate::redact::Redactor;
use crate::retry::{Attempt, ExportFailure, run_with_retry};
#[cfg(feature = "spool")]
use crate::spooling::{self, Routed, Spooling};
use crate::transport::{Sent, Transport};

/// After the shutdown timeout, how long in-flight sends get to notice the
/// cancellation before the worker is stopped under them (their items are
/// already counted by then).
const CANCEL_GRACE: Duration = Duration::from_millis(200);

/// Where the exporter is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Phase {
    /// Exports are accepted.
    Running,
    /// `shutdown` was called: new exports are refused; those in flight may
    /// finish until the shutdown timeout.
    ShuttingDown,
    /// The shutdown timeout passed: sends still in flight stop.
    Cancelled,
}

/// One handle on an exporter's core. Safe to call from any thread and
/// concurrently (each export is one independent request).
///
/// [`share`](Core::share) gives another handle on the same connection,
/// retry loop, health and spool: exports through a handle stop when that
/// handle shuts down, and the core itself stops when the last handle still
/// open shuts down, or at once when one handle calls
/// [`shutdown_all`](Core::shutdown_all).
pub(crate) struct Core {
    inner: Arc<Inner>,
    /// This handle was shut down (or given up by a drop).
    closed: AtomicBool,
}

pub(crate) struct Inner {
    /// How many handles are still open: the last one to shut down stops
    /// the core.
    open_handles: AtomicUsize,
    signal: Signal,
    config: ExporterConfig,
    transport: Arc<dyn Transport>,
    endpoint: String,
    worker: WorkerRuntime,
    owns_worker: bool,
    stats: ExportStats,
    in_flight: Arc<InFlight>,
    phase: watch::Sender<Phase>,
    redactor: Redactor,
    health: Health,
    /// The disk spool, when one is configured.
    #[cfg(feature = "spool")]
    spooling: Option<Spooling>,
}

impl fmt::Debug for Core {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let inner = &self.inner;
        // ExporterConfig's Debug redacts header values, credentials and
        // query strings itself.
        let mut debug = f.debug_struct("Exporter");
        debug
            .field("signal", &inner.signal)
            .field("endpoint", &inner.endpoint)
            .field("config", &inner.config)
            .field("worker", &inner.worker)
            .field("owns_worker", &inner.owns_worker)
            .field("phase", &*inner.phase.borrow())
            .field("in_flight", &inner.in_flight.len())
            .field("failing", &inner.health.is_failing());
        #[cfg(feature = "spool")]
        debug.field("spool", &inner.spooling.as_ref().map(|s| s.lane().dir()));
        debug.finish()
    }
}

/// An export ready to send, or its result when there is nothing to send
/// (shut down, empty batch, encoding failure, oversized).
pub(crate) struct Prepared(Result<Job, OTelSdkResult>);

/// What a prepared export needs on the worker.
pub(crate) struct Job {
    pub(crate) settlement: Settlement,
    pub(crate) body: Bytes,
    /// The batch processor's queue was above its high-water mark (what the
    /// spool's routing looks at).
    #[cfg_attr(not(feature = "spool"), allow(dead_code))]
    pub(crate) backlog: bool,
}

impl Core {
    pub(crate) fn new(
        config: ExporterConfig,
        transport: Arc<dyn Transport>,
        worker: WorkerRuntime,
        owns_worker: bool,
        stats: ExportStats,
        spool: Option<SpoolLane>,
    ) -> Self {
        let endpoint = transport.endpoint().to_owned();
        let (phase, _) = watch::channel(Phase::Running);
        let in_flight = Arc::new(InFlight::on(worker.clone()));
        #[cfg(feature = "spool")]
        let spooling = spool.map(|lane| Spooling::new(lane, transport.body_format()));
        #[cfg(feature = "spool")]
        if let Some(spooling) = &spooling {
            spooling::count_found(spooling, stats.signal(config.signal()));
        }
        // Without the `spool` feature there is no lane to be given.
        #[cfg(not(feature = "spool"))]
        let None = spool;
        let core = Self {
            closed: AtomicBool::new(false),
            inner: Arc::new(Inner {
                open_handles: AtomicUsize::new(1),
                signal: config.signal(),
                redactor: Redactor::new(&config),
                health: Health::new(config.signal(), &endpoint),
                config,
                transport,
                endpoint,
                worker,
                owns_worker,
                stats,
                in_flight,
                phase,
                #[cfg(feature = "spool")]
                spooling,
            }),
        };
        #[cfg(feature = "spool")]
        if core.inner.spooling.is_some() {
            // A batch cut short (a batch processor's deadline) waits in the
            // spool instead of being lost.
            let weak = Arc::downgrade(&core.inner);
            core.inner.in_flight.set_rescue(move |items, body| {
                weak.upgrade().is_some_and(|inner| {
                    inner
                        .spooling()
                        .is_some_and(|spooling| spooling.append(items, body).is_ok())
                })
            });
            // Detached: the drain ends with the exporter (it holds it weakly)
            // or with the worker.
            drop(
                core.inner
                    .worker
                    .spawn(spooling::drain(Arc::downgrade(&core.inner))),
            );
        }
        core
    }

    /// Another handle on this core: the same connection, retry loop,
    /// health, counters and spool.
    ///
    /// A handle that is already closed (shut down) no longer holds the core
    /// open, so it cannot open another: the new handle is born closed (its
    /// exports fail and are counted as [`DropReason::AfterShutdown`], its
    /// shutdown returns `Ok` at once) and the count of open handles is left
    /// as it is, so that the last of the others still stops the core.
    pub(crate) fn share(&self) -> Core {
        let closed = self.closed.load(Ordering::Acquire);
        if !closed {
            // If this handle is closed meanwhile and was the last, the core
            // is stopping: the new handle's exports fail all the same (the
            // phase is no longer `Running`) and its shutdown returns `Ok`.
            self.inner.open_handles.fetch_add(1, Ordering::AcqRel);
        }
        Core {
            inner: Arc::clone(&self.inner),
            closed: AtomicBool::new(closed),
        }
    }

    /// Closes this handle; whether it was the last one open.
    fn close_handle(&self) -> bool {
        !self.closed.swap(true, Ordering::AcqRel)
            && self.inner.open_handles.fetch_sub(1, Ordering::AcqRel) == 1
    }

    pub(crate) fn config(&self) -> &ExporterConfig {
        &self.inner.config
    }

    pub(crate) fn stats(&self) -> &ExportStats {
        &self.inner.stats
    }

    pub(crate) fn endpoint(&self) -> &str {
        &self.inner.endpoint
    }

    /// Sends a prepared batch. `data`, what the body was encoded from, is
    /// freed once the send has started, while the worker sends, so that
    /// freeing it overlaps with the network. The returned future owns
    /// everything it needs and needs no runtime of its own.
    pub(crate) fn send<D: Send + 'static>(
        &self,
        prepared: Prepared,
        data: D,
    ) -> impl Future<Output = OTelSdkResult> + Send + 'static + use<D> {
        // Boxed (one allocation per batch), so that the send below is
        // compiled once rather than once per signal's data type.
        self.send_boxed(prepared, Box::new(data))
    }

    fn send_boxed(
        &self,
        prepared: Prepared,
        data: Box<dyn Send>,
    ) -> impl Future<Output = OTelSdkResult> + Send + 'static + use<> {
        let inner = Arc::clone(&self.inner);
        let on_worker = inner.worker.is_worker_thread();
        async move {
            let job = match prepared.0 {
                Ok(job) => job,
                Err(result) => return result,
            };
            if on_worker {
                drop(data);
                return inner.send(job).await;
            }
            let task = Arc::clone(&inner)
                .send(job)
                // The exporter's own work never feeds the pipeline.
                .with_context(Context::new().with_telemetry_suppressed());
            let pending = inner.worker.submit(task);
            drop(data);
            match pending.await {
                Ok(result) => result,
                // The batch was settled when the task was dropped (or by the
                // shutdown deadline): only the message is left to give.
                Err(BridgeError::Panicked(message)) => Err(OTelSdkError::InternalFailure(format!(
                    "otlpkit: the {} export panicked: {message}",
                    inner.signal
                ))),
                Err(error) => Err(OTelSdkError::InternalFailure(format!(
                    "otlpkit: the {} export did not complete: {error}",
                    inner.signal
                ))),
            }
        }
    }

    /// Prepares the export of one batch of `items` items held in `data`, on
    /// the caller's thread: the checks, `encode` (which gives the request
    /// body), the size limit and the compression.
    ///
    /// The items are counted in the stats of the [`BatchAccounting`] found
    /// in the current OpenTelemetry context (a batch processor that hands
    /// the counting over), or in the exporter's own. A batch the processor
    /// has already given up on ([`BatchAccounting::cancel`], before this
    /// call began) is not sent, and counted here only if the processor did
    /// not claim it first.
    pub(crate) fn prepare<D>(
        &self,
        items: u64,
        data: &D,
        encode: impl FnOnce(&D, &dyn Transport) -> Result<Vec<u8>, ExportError>,
    ) -> Prepared {
        Prepared(self.prepare_job(items, data, encode))
    }

    fn prepare_job<D>(
        &self,
        items: u64,
        data: &D,
        encode: impl FnOnce(&D, &dyn Transport) -> Result<Vec<u8>, ExportError>,
    ) -> Result<Job, OTelSdkResult> {
        let inner = &self.inner;
        let current = Context::current();
        let offered = current.get::<BatchAccounting>();
        let handed_over = offered.filter(|accounting| accounting.claim()).cloned();
        if let Some(reason) = offered.and_then(BatchAccounting::cancelled_as) {
            // The batch processor gave up on the batch before this call
            // began (its export timeout or shutdown deadline passed while a
            // blocking call waited for its thread): it is not sent. The
            // processor counted it if it claimed it first; otherwise it is
            // counted here, under the processor's reason.
            if let Some(accounting) = handed_over {
                drop(inner.in_flight.begin(
                    accounting.stats().clone(),
                    Some(accounting),
                    inner.signal,
                    items,
                    &inner.endpoint,
                ));
            }
            return Err(Err(OTelSdkError::InternalFailure(format!(
                "otlpkit: {} not sent: the batch processor gave up on them ({reason}) \
                 before the export began",
                crate::health::items(items, inner.signal)
            ))));
        }
        let stats = handed_over.as_ref().map_or_else(
            || inner.stats.clone(),
            |accounting| accounting.stats().clone(),
        );
        let running = !self.closed.load(Ordering::Acquire)
            && *inner.phase.borrow() == Phase::Running
            && inner.worker.is_running();
        if !running {
            // checklist 3.8: after shutdown every export fails.
            stats
                .signal(inner.signal)
                .record_dropped(DropReason::AfterShutdown, items);
            return Err(Err(OTelSdkError::AlreadyShutdown));
        }
        if items == 0 {
            // checklist 2.12: no empty envelopes.
            return Err(Ok(()));
        }
        let backlog = handed_over
            .as_ref()
            .is_some_and(BatchAccounting::is_backlogged);
        let settlement =
            inner
                .in_flight
                .begin(stats, handed_over, inner.signal, items, &inner.endpoint);
        let body = encode(data, &*inner.transport).and_then(|body| {
            let limit = inner.config.max_request_size();
            if body.len() > limit {
                // checklist 1.14: never sent, counted as oversized.
                return Err(ExportError::request_too_large(body.len(), limit));
            }
            inner.transport.prepare(body)
        });
        match body {
            Ok(body) => {
                #[cfg(feature = "spool")]
                if inner.spooling.is_some() {
                    settlement.keep_body(body.clone());
                }
                Ok(Job {
                    settlement,
                    body,
                    backlog,
                })
            }
            Err(error) => {
                let reason = match error.kind() {
                    crate::ExportErrorKind::RequestTooLarge { .. } => DropReason::Oversized,
                    _ => DropReason::NonRetryable,
                };
                Err(Err(inner.fail(&settlement, reason, &error, &error)))
            }
        }
    }

    /// Closes this handle; if it was the last one open, stops the core
    /// (see [`stop`](Core::stop)) within `timeout`. A second call returns
    /// `Ok` at once.
    ///
    /// On a [shared](Core::share) core, a handle that is not the last one
    /// open only closes itself and returns `Ok` at once, whatever `timeout`
    /// (a batch processor's `Duration::ZERO` after its own deadline
    /// included): its later exports fail and are counted as
    /// [`DropReason::AfterShutdown`]; its exports still in flight are left
    /// to the core, which settles them (delivered, failed, or, when it
    /// stops, saved in the spool or counted as
    /// [`DropReason::ShutdownDeadline`]). The core stops when the last
    /// open handle shuts down, or when any handle calls
    /// [`shutdown_all`](Core::shutdown_all).
    pub(crate) fn shutdown(&self, timeout: Duration) -> OTelSdkResult {
        if !self.close_handle() {
            return Ok(());
        }
        self.stop(timeout)
    }

    /// Closes this handle and stops the core now, within `timeout`, whatever
    /// other handles are still open: for the owner of a
    /// [shared](Core::share) core, which shuts it down after the other
    /// handles' users (which may not have reached their own shutdown in
    /// time). The handles still open then fail their exports as
    /// [`DropReason::AfterShutdown`], and their shutdown returns `Ok` at
    /// once. Returns `Ok` at once if the core was already stopped.
    pub(crate) fn shutdown_all(&self, timeout: Duration) -> OTelSdkResult {
        let _ = self.close_handle();
        self.stop(timeout)
    }

    /// The core's stop, run once (a later call returns `Ok` at once): stops
    /// accepting exports through every handle (later ones fail and are
    /// counted as [`DropReason::AfterShutdown`]), lets those in flight
    /// finish within `timeout` (and the spool drain, when there is one),
    /// then saves what is still in flight in the spool, or counts it as
    /// [`DropReason::ShutdownDeadline`], cancels it, and stops a worker the
    /// exporter started.
    fn stop(&self, timeout: Duration) -> OTelSdkResult {
        let inner = &self.inner;
        let first = inner.phase.send_if_modified(|phase| {
            let first = *phase == Phase::Running;
            if first {
                *phase = Phase::ShuttingDown;
            }
            first
        });
        if !first {
            return Ok(());
        }
        inner.in_flight.shutting_down();
        let started = Instant::now();
        // On the worker thread, waiting would stop the very sends waited for.
        let can_wait = !inner.worker.is_worker_thread();
        let drained = if can_wait {
            inner.in_flight.wait_idle(timeout)
        } else {
            inner.in_flight.len() == 0
        };
        #[cfg(feature = "spool")]
        if let Some(spooling) = &inner.spooling {
            if can_wait {
                wait_for_spool(
                    spooling,
                    otlpkit_core::saturating_deadline(started, timeout),
                );
            }
            if !drained {
                // What is still being sent waits in the spool instead.
                spooling::save_in_flight(spooling, &inner.in_flight);
            }
            spooling.stop();
        }
        if !drained {
            // Counted now, so that the numbers are right when the caller
            // reports them, whatever becomes of the sends.
            // `timeout` is what the caller had left of its deadline (zero
            // when it had passed): not a setting, so not named as one.
            let why = if timeout.is_zero() {
                "the shutdown deadline had passed before the export finished".to_owned()
            } else {
                format!(
                    "the shutdown deadline passed before the export finished ({timeout:?} were left for it)"
                )
            };
            inner
                .in_flight
                .settle_all(DropReason::ShutdownDeadline, &why);
            inner.phase.send_replace(Phase::Cancelled);
            if can_wait {
                inner.in_flight.wait_idle(CANCEL_GRACE);
            }
        }
        if inner.owns_worker {
            let left = timeout.saturating_sub(started.elapsed()).max(CANCEL_GRACE);
            // Bounded; a worker that does not stop in time is detached.
            let _ = inner.worker.shutdown(left);
        }
        if drained {
            Ok(())
        } else {
            Err(OTelSdkError::Timeout(timeout))
        }
    }
}

impl Drop for Core {
    /// A handle dropped without a shutdown no longer counts as open, so that
    /// the others' last shutdown still stops the core. (The last handle
    /// dropped without a shutdown leaves the core to stop as the
    /// exporter's worker and tasks end, as an exporter never shut down.)
    fn drop(&mut self) {
        let _ = self.close_handle();
    }
}

#[cfg(feature = "spool")]
/// Waits (from a thread that is not the worker) until the spool is empty,
/// its drain is waiting out a failing collector (what is left stays for the
/// next process), or `deadline` passes.
fn wait_for_spool(spooling: &Spooling, deadline: Instant) {
    const POLL: Duration = Duration::from_millis(10);
    while !spooling.lane().is_empty() && !spooling.is_failing() {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return;
        }
        std::thread::sleep(left.min(POLL));
    }
}

impl Inner {
    #[cfg_attr(not(feature = "spool"), allow(dead_code))]
    pub(crate) fn signal(&self) -> Signal {
        self.signal
    }

    #[cfg_attr(not(feature = "spool"), allow(dead_code))]
    pub(crate) fn config(&self) -> &ExporterConfig {
        &self.config
    }

    #[cfg_attr(not(feature = "spool"), allow(dead_code))]
    pub(crate) fn endpoint(&self) -> &str {
        &self.endpoint
    }

    #[cfg_attr(not(feature = "spool"), allow(dead_code))]
    pub(crate) fn stats(&self) -> &ExportStats {
        &self.stats
    }

    #[cfg(feature = "spool")]
    pub(crate) fn spooling(&self) -> Option<&Spooling> {
        self.spooling.as_ref()
    }

    /// `message` without any configured credential.
    #[cfg_attr(not(feature = "spool"), allow(dead_code))]
    pub(crate) fn scrub(&self, message: &str) -> String {
        self.redactor.scrub(message)
    }

    /// One attempt: `body` sent once within the attempt's time limit, the
    /// request counted in `stats`.
    pub(crate) fn attempt<'a>(
        &'a self,
        body: Bytes,
        attempt: Attempt,
        stats: &'a SignalStats,
    ) -> impl Future<Output = Result<Accepted, ExportError>> + Send + 'a {
        let transport = &self.transport;
        async move {
            // No time left: no request is made (nor counted).
            if let Some(limit) = attempt.timeout.filter(|limit| limit.is_zero()) {
                let budget = self.config.timeout().unwrap_or(limit);
                return Err(ExportError::budget_ran_out(
                    budget,
                    self.config.sources().timeout,
                ));
            }
            let send = transport.send(body, attempt);
            let sent = match attempt.timeout {
                Some(limit) => tokio::time::timeout(limit, send)
                    .await
                    .unwrap_or_else(|_| Sent::new(Err(ExportError::timeout(limit)), 0)),
                None => send.await,
            };
            stats.record_request(sent.wire_bytes);
            // The attempt's limit is what was left of the export's budget:
            // name the budget and its setting instead.
            match (sent.result, self.config.timeout()) {
                (Err(error), Some(budget)) if error.kind() == crate::ExportErrorKind::Timeout => {
                    Err(ExportError::budget_ran_out(
                        budget,
                        self.config.sources().timeout,
                    ))
                }
                (result, _) => result,
            }
        }
    }

    /// Settles a batch the server accepted, in full or in part.
    pub(crate) fn accepted(&self, settlement: &Settlement, accepted: &Accepted) -> OTelSdkResult {
        let mut rejected = 0;
        settlement.settle(|stats, items| {
            rejected = count_accepted(stats, items, accepted);
        });
        if accepted.is_partial() {
            let message = self.redactor.scrub(&accepted.message);
            self.health
                .partial_success(settlement.items(), rejected, &message);
        }
        self.health.succeeded();
        Ok(())
    }

    /// Runs on the worker: the spool's choice when there is one, else the
    /// retry loop around single attempts, raced against a shutdown that ran
    /// out of time, then the settlement.
    async fn send(self: Arc<Self>, job: Job) -> OTelSdkResult {
        #[cfg(feature = "spool")]
        let job = match &self.spooling {
            Some(spooling) => match spooling::route(&self, spooling, job).await {
                Routed::Done(result) => return result,
                Routed::Send(job) => job,
            },
            None => job,
        };
        let Job {
            settlement, body, ..
        } = job;
        let stats = settlement.stats();
        let mut phase = self.phase.subscribe();
        let (this, noted): (&Self, &Settlement) = (&self, &settlement);
        let attempt = |attempt: Attempt| {
            let sent = this.attempt(body.clone(), attempt, stats);
            async move {
                let result = sent.await;
                if let Err(error) = &result {
                    let message = this.redactor.scrub(&error.to_string());
                    if error.is_retryable() {
                        // Said now, not only when the retries run out.
                        this.health.retrying(&message);
                    }
                    // A deadline that cuts the retries short names the cause.
                    noted.attempt_failed(message);
                }
                result
            }
        };
        let export = run_with_retry(
            self.config.retry_policy(),
            self.config.timeout(),
            stats,
            attempt,
            tokio::time::sleep,
        );
        let outcome = until_cancelled(&mut phase, export).await;
        match outcome {
            Some(Ok(accepted)) => self.accepted(&settlement, &accepted),
            Some(Err(failure)) => {
                let ExportFailure { error, .. } = &failure;
                // "export failed after N attempt(s), <why>: <error>"
                Err(self.fail(&settlement, failure.drop_reason(), error, &failure))
            }
            None => Err(self.cancelled(&settlement)),
        }
    }

    /// What an export cancelled by the shutdown deadline returns. Normally
    /// settled by then already: saved in the spool, or counted as
    /// [`DropReason::ShutdownDeadline`]; counted so here otherwise.
    pub(crate) fn cancelled(&self, settlement: &Settlement) -> OTelSdkError {
        settlement.settle(|stats, items| {
            stats.record_dropped(DropReason::ShutdownDeadline, items);
        });
        OTelSdkError::InternalFailure(format!(
            "otlpkit: {} to {} dropped ({}): the exporter's shutdown timeout passed \
             before the export finished",
            items(settlement.items(), self.signal),
            self.endpoint,
            DropReason::ShutdownDeadline
        ))
    }

    /// A receiver of the exporter's phase, for [`until_cancelled`].
    #[cfg(feature = "spool")]
    pub(crate) fn phase(&self) -> watch::Receiver<Phase> {
        self.phase.subscribe()
    }

    /// Settles a failed batch under `reason`, records the failure (its
    /// `description`, redacted) as the signal's last error, reports it, and
    /// gives the SDK's error.
    fn fail(
        &self,
        settlement: &Settlement,
        reason: DropReason,
        error: &ExportError,
        description: &dyn fmt::Display,
    ) -> OTelSdkError {
        let message = self.redactor.scrub(&description.to_string());
        let n = settlement.items();
        let settled = settlement.settle(|stats, items| {
            stats.record_dropped(reason, items);
            stats.record_error(ExportErrorRecord::new(
                error.kind().name(),
                reason,
                self.endpoint.clone(),
                message.clone(),
                items,
            ));
        });
        if settled {
            self.health.failed(n, &message);
        }
        OTelSdkError::InternalFailure(format!(
            "otlpkit: {} to {} dropped ({reason}): {message}",
            items(n, self.signal),
            self.endpoint
        ))
    }
}

/// `work`'s output, or `None` once the exporter's shutdown cancels what is
/// still in flight. The work first: work that has ended is settled as what
/// it is, even when the shutdown deadline has passed meanwhile. Cancelled,
/// it is dropped: its attempt is abandoned (its batch was saved in the
/// spool or counted by the shutdown).
pub(crate) async fn until_cancelled<F: Future>(
    phase: &mut watch::Receiver<Phase>,
    work: F,
) -> Option<F::Output> {
    let mut work = pin!(work);
    let mut cancelled = pin!(phase.wait_for(|phase| *phase == Phase::Cancelled));
    poll_fn(|cx| {
        if let Poll::Ready(output) = work.as_mut().poll(cx) {
            return Poll::Ready(Some(output));
        }
        // Ready once cancelled (the sender lives in the exporter: never
        // closed before).
        if cancelled.as_mut().poll(cx).is_ready() {
            return Poll::Ready(None);
        }
        Poll::Pending
    })
    .await
}
