//! [`OtlpGuard`]: the running pipeline, its statistics, and its bounded
//! flush and shutdown.

use std::fmt;
use std::thread;
use std::time::{Duration, Instant};

use opentelemetry_sdk::error::{OTelSdkError, OTelSdkResult};
use opentelemetry_sdk::logs::SdkLoggerProvider;
use opentelemetry_sdk::metrics::SdkMeterProvider;
use opentelemetry_sdk::trace::SdkTracerProvider;
#[cfg(feature = "tail-sampling")]
use otlpkit_batch::tail::{TailSamplingHandle, TailSamplingStats};
use otlpkit_batch::{ProcessorHandle, ProcessorStats};
use otlpkit_bridge::{Taker, WorkerRuntime, handoff};
use otlpkit_core::stats::{
    DropReason, ExportErrorRecord, ExportStats, SignalStatsSnapshot, StatsSnapshot,
};
use otlpkit_core::{LogLevel, OtlpConfig, Signal};

use crate::error::InitWarning;
use crate::globals::Ownership;
use crate::metrics::{OwnMetricPoints, SaturatedValues, ShutdownDeadline};

/// Extra time, beyond a deadline, given to a part that reports its outcome
/// (its own work is bounded by the deadline itself).
const REPORT_SLACK: Duration = Duration::from_millis(100);

/// The shortest time the export worker gets to stop after everything else.
const WORKER_MIN_STOP: Duration = Duration::from_millis(100);

/// The longest a flush or a shutdown waits: a year stands for "as long as
/// it takes" (`Duration::MAX`), and keeps every deadline computed from it,
/// here and in the SDK's providers, from overflowing an `Instant`.
const LONGEST_WAIT: Duration = Duration::from_secs(365 * 24 * 3600);

/// The parts of a running pipeline.
#[derive(Debug, Default)]
pub(crate) struct Pipeline {
    pub(crate) tracer_provider: Option<SdkTracerProvider>,
    pub(crate) meter_provider: Option<SdkMeterProvider>,
    pub(crate) logger_provider: Option<SdkLoggerProvider>,
    /// The processor of `tracing` spans on the native path, else of every
    /// span: its statistics are the report's.
    pub(crate) span_handle: Option<ProcessorHandle>,
    /// On the native path, the tracer provider's processor, which exports
    /// the spans made through the OpenTelemetry API.
    pub(crate) api_span_handle: Option<ProcessorHandle>,
    pub(crate) log_handle: Option<ProcessorHandle>,
    /// The pipeline's own handle on the OTLP span exporter that the span
    /// processors share: shut down after them, it stops the exporter's core
    /// once, with what is left of the budget, whether or not they reached
    /// their own handles' shutdown in time.
    pub(crate) span_exporter: Option<SharedExporter>,
    /// The native `tracing` span layer's settings, until the subscriber is
    /// installed.
    #[cfg(feature = "tracing")]
    pub(crate) native: Option<otlpkit_tracing::native::NativeSpans>,
    #[cfg(feature = "tail-sampling")]
    pub(crate) tail_handle: Option<TailSamplingHandle>,
    pub(crate) metric_deadline: ShutdownDeadline,
    pub(crate) worker: Option<WorkerRuntime>,
    /// otlpkit's own metrics are exported: they are collected last at
    /// shutdown, so that their final values include the last exports.
    pub(crate) self_metrics: bool,
    pub(crate) own_metric_points: OwnMetricPoints,
    /// The `u64` metric values the OTLP exporter wrote as `i64::MAX`.
    pub(crate) saturated_metric_values: SaturatedValues,
}

/// A handle on an exporter core that batch processors share
/// (`otlpkit_exporter::SpanExporter::share`), kept by the pipeline to stop
/// the core after them (`SpanExporter::shutdown_all`).
pub(crate) struct SharedExporter(Box<dyn Fn(Duration) -> OTelSdkResult + Send + Sync>);

impl SharedExporter {
    /// `shutdown_all` stops the core of the handle it calls.
    pub(crate) fn new(
        shutdown_all: impl Fn(Duration) -> OTelSdkResult + Send + Sync + 'static,
    ) -> Self {
        Self(Box::new(shutdown_all))
    }

    /// Stops the core, whatever handles are still open, within `timeout`.
    fn shutdown_all(&self, timeout: Duration) -> OTelSdkResult {
        (self.0)(timeout)
    }
}

impl Drop for SharedExporter {
    /// A pipeline dropped without a shutdown (an `init()` that failed after
    /// the traces were built) still stops the core: nothing stays in
    /// flight uncounted. After a shutdown this returns at once.
    fn drop(&mut self) {
        let _ = self.shutdown_all(Duration::ZERO);
    }
}

impl fmt::Debug for SharedExporter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SharedExporter")
    }
}

impl Pipeline {
    /// The span batch processors: the report's and the OpenTelemetry-API
    /// path's on the native path.
    fn span_handles(&self) -> Vec<ProcessorHandle> {
        [&self.span_handle, &self.api_span_handle]
            .into_iter()
            .flatten()
            .cloned()
            .collect()
    }
}

/// The installed pipeline. Keep it for the life of the program: dropping it
/// flushes and shuts everything down within the shutdown timeout
/// ([`Builder::with_shutdown_timeout`](crate::Builder::with_shutdown_timeout),
/// 5 s by default), and so do [`shutdown`](Self::shutdown) (which also
/// returns a [`ShutdownReport`]) and [`shutdown_async`](Self::shutdown_async).
///
/// None of them can hang on a dead collector or deadlock on a
/// `current_thread` runtime: the exports run on otlpkit's own worker thread,
/// and every wait is bounded. The three signals shut down side by side, each
/// with the whole timeout; the export worker then gets what is left (at
/// least 100 ms). A part that has not reported shortly after the deadline
/// is left behind and named in the report, so the whole call overruns the
/// timeout by well under a second at worst.
///
/// The guard of [`init`](crate::init) owns the global tracer and meter
/// providers it installed: while it lives, another `init()` is refused
/// ([`InitError::AlreadyInitialized`](crate::InitError::AlreadyInitialized)).
/// Its shutdown first replaces them by the OpenTelemetry API's no-op
/// providers, if they are still the globals, then shuts the pipeline down
/// (see [`Builder::init`](crate::Builder::init)).
#[must_use = "dropping the guard shuts the telemetry pipeline down; keep it alive until the program ends"]
pub struct OtlpGuard {
    pipeline: Option<Pipeline>,
    config: OtlpConfig,
    warnings: Vec<InitWarning>,
    stats: ExportStats,
    shutdown_timeout: Duration,
    /// The globals this pipeline installed, when `init()` made it: handed
    /// back as it shuts down.
    globals: Option<Ownership>,
}

impl fmt::Debug for OtlpGuard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let pipeline = self.pipeline.as_ref();
        f.debug_struct("OtlpGuard")
            .field("disabled", &self.config.sdk().disabled())
            .field("shut_down", &pipeline.is_none())
            .field(
                "traces",
                &pipeline.is_some_and(|p| p.tracer_provider.is_some()),
            )
            .field(
                "metrics",
                &pipeline.is_some_and(|p| p.meter_provider.is_some()),
            )
            .field(
                "logs",
                &pipeline.is_some_and(|p| p.logger_provider.is_some()),
            )
            .field("warnings", &self.warnings)
            .field("stats", &self.stats.snapshot())
            .field("shutdown_timeout", &self.shutdown_timeout)
            .field("owns_globals", &self.globals.is_some())
            .finish()
    }
}

impl OtlpGuard {
    pub(crate) fn new(
        pipeline: Pipeline,
        config: OtlpConfig,
        warnings: Vec<InitWarning>,
        stats: ExportStats,
        shutdown_timeout: Duration,
    ) -> Self {
        Self {
            pipeline: Some(pipeline),
            config,
            warnings,
            stats,
            shutdown_timeout,
            globals: None,
        }
    }

    /// The guard of an `init()`, owning the globals it installed.
    pub(crate) fn owning_globals(mut self, globals: Option<Ownership>) -> Self {
        self.globals = globals;
        self
    }

    /// Hands the globals back before the pipeline shuts down: the providers
    /// installed by this pipeline become no-op ones (if they are still the
    /// globals), so that nothing more is sent to them once they are shut
    /// down, and another `init()` may install its own.
    fn release_globals(&mut self) {
        if let Some(globals) = self.globals.take() {
            globals.release();
        }
    }

    /// The counters of every signal now: items exported, dropped by reason,
    /// requests, retries, bytes. They account for the OTLP exporters (not
    /// the console ones).
    pub fn stats(&self) -> StatsSnapshot {
        self.stats.snapshot()
    }

    /// The live counters, shared by every exporter and processor of the
    /// pipeline (cheap to clone; reading them later gives later values).
    pub fn export_stats(&self) -> &ExportStats {
        &self.stats
    }

    /// The statistics of the span (`Signal::Traces`) or log record
    /// (`Signal::Logs`) batch processor: queue depth, items in flight,
    /// export durations. On the native path, spans have two processors (one
    /// for `tracing` spans, one for spans made through the OpenTelemetry
    /// API), reported as one ([`ProcessorStats::joint`]). `None` for
    /// metrics, for a signal that does not export over OTLP, and after
    /// shutdown.
    pub fn processor_stats(&self, signal: Signal) -> Option<ProcessorStats> {
        let pipeline = self.pipeline.as_ref()?;
        match signal {
            Signal::Traces => ProcessorHandle::joint_stats(&pipeline.span_handles()),
            Signal::Logs => pipeline.log_handle.as_ref().map(ProcessorHandle::stats),
            _ => None,
        }
    }

    /// The tail-sampling stage's statistics (traces held, kept per policy,
    /// sampled out), when it is on (`OTLPKIT_TAIL_SAMPLING=on`) and the
    /// guard was not shut down. Its counters are also in
    /// [`stats`](Self::stats).
    #[cfg(feature = "tail-sampling")]
    #[cfg_attr(docsrs, doc(cfg(feature = "tail-sampling")))]
    pub fn tail_sampling_stats(&self) -> Option<TailSamplingStats> {
        let pipeline = self.pipeline.as_ref()?;
        pipeline.tail_handle.as_ref().map(TailSamplingHandle::stats)
    }

    /// What the configuration asked for that could not be honoured,
    /// already reported once at start-up.
    pub fn warnings(&self) -> &[InitWarning] {
        &self.warnings
    }

    /// The configuration the pipeline was built from.
    pub fn config(&self) -> &OtlpConfig {
        &self.config
    }

    /// Whether the SDK is disabled (`OTEL_SDK_DISABLED=true`): nothing is
    /// recorded or exported (the propagators still work, and the console
    /// layer still prints `tracing` events).
    pub fn is_disabled(&self) -> bool {
        self.config.sdk().disabled()
    }

    /// The tracer provider, unless traces are disabled (`none`, or the SDK
    /// is off) or the guard was shut down.
    pub fn tracer_provider(&self) -> Option<&SdkTracerProvider> {
        self.pipeline.as_ref()?.tracer_provider.as_ref()
    }

    /// The meter provider, unless metrics are disabled or the guard was shut
    /// down.
    pub fn meter_provider(&self) -> Option<&SdkMeterProvider> {
        self.pipeline.as_ref()?.meter_provider.as_ref()
    }

    /// The logger provider, unless logs are disabled or the guard was shut
    /// down. With the `tracing` feature, `tracing` events already reach it.
    pub fn logger_provider(&self) -> Option<&SdkLoggerProvider> {
        self.pipeline.as_ref()?.logger_provider.as_ref()
    }

    /// Exports everything recorded so far (and collects and exports the
    /// metrics), waiting at most the shutdown timeout.
    ///
    /// # Errors
    ///
    /// [`FlushError`] lists the signals that did not flush completely.
    pub fn flush(&self) -> Result<(), FlushError> {
        self.flush_within(self.shutdown_timeout)
    }

    /// [`flush`](Self::flush) with an explicit timeout: the batch processors
    /// export what they hold and the metric reader collects and exports,
    /// side by side, and the call returns by the deadline.
    ///
    /// # Errors
    ///
    /// [`FlushError`] lists the signals that did not flush completely.
    pub fn flush_within(&self, timeout: Duration) -> Result<(), FlushError> {
        let Some(pipeline) = &self.pipeline else {
            return Ok(());
        };
        let timeout = timeout.min(LONGEST_WAIT);
        let deadline = Instant::now() + timeout;
        let mut pending = Vec::new();
        // The console exporters run in simple processors, which hold nothing
        // back: only the batch processors and the metric reader have
        // anything to flush.
        for (signal, handle) in [
            (Signal::Traces, &pipeline.span_handle),
            (Signal::Traces, &pipeline.api_span_handle),
            (Signal::Logs, &pipeline.log_handle),
        ] {
            if let Some(handle) = handle.clone() {
                pending.push(spawn_bounded(signal, move || {
                    match handle.flush_within(timeout) {
                        Ok(report) if report.is_complete() => Ok(()),
                        Ok(report) => Err(report.to_string()),
                        Err(error) => Err(error.to_string()),
                    }
                }));
            }
        }
        if let Some(provider) = pipeline.meter_provider.clone() {
            pending.push(spawn_bounded(Signal::Metrics, move || {
                provider.force_flush().map_err(|error| error.to_string())
            }));
        }
        let mut failures = Vec::new();
        for (signal, outcome) in pending {
            match outcome.wait(deadline + REPORT_SLACK) {
                Some(Ok(())) => {}
                Some(Err(message)) => failures.push((signal, message)),
                None => failures.push((signal, format!("did not finish within {timeout:?}"))),
            }
        }
        if failures.is_empty() {
            Ok(())
        } else {
            Err(FlushError { failures })
        }
    }

    /// Flushes and shuts everything down within the shutdown timeout
    /// (blocking), and says what could not be sent.
    ///
    /// Safe anywhere: a plain thread, any tokio runtime flavour,
    /// `spawn_blocking`. In async code prefer
    /// [`shutdown_async`](Self::shutdown_async), which does not block the
    /// executor's thread.
    pub fn shutdown(self) -> ShutdownReport {
        let timeout = self.shutdown_timeout;
        self.shutdown_within(timeout)
    }

    /// [`shutdown`](Self::shutdown) with an explicit timeout.
    pub fn shutdown_within(mut self, timeout: Duration) -> ShutdownReport {
        self.release_globals();
        let pipeline = self.pipeline.take().unwrap_or_default();
        shutdown_pipeline(pipeline, &self.stats, timeout)
    }

    /// [`shutdown`](Self::shutdown) for async callers: the work runs on a
    /// helper thread and this future only waits for its report, so it never
    /// blocks the executor; it works on any executor.
    pub async fn shutdown_async(mut self) -> ShutdownReport {
        self.release_globals();
        let pipeline = self.pipeline.take().unwrap_or_default();
        let stats = self.stats.clone();
        let timeout = self.shutdown_timeout;
        let (tx, rx) = tokio::sync::oneshot::channel();
        let pipeline = std::sync::Arc::new(std::sync::Mutex::new(Some(pipeline)));
        let shared = std::sync::Arc::clone(&pipeline);
        let spawned = thread::Builder::new()
            .name("otlpkit-shutdown".to_owned())
            .spawn(move || {
                let pipeline = take(&shared);
                let _ = tx.send(shutdown_pipeline(pipeline, &stats, timeout));
            });
        match spawned {
            Ok(_) => match rx.await {
                Ok(report) => report,
                // The helper thread panicked: nothing more can be done, and
                // the counters say what was sent.
                Err(_) => ShutdownReport::new(&self.stats, Duration::ZERO, Vec::new()),
            },
            // No thread could be started: shut down right here (bounded).
            Err(_) => shutdown_pipeline(take(&pipeline), &self.stats, timeout),
        }
    }
}

fn take(pipeline: &std::sync::Mutex<Option<Pipeline>>) -> Pipeline {
    pipeline
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .take()
        .unwrap_or_default()
}

impl Drop for OtlpGuard {
    fn drop(&mut self) {
        self.release_globals();
        let Some(pipeline) = self.pipeline.take() else {
            return;
        };
        let report = shutdown_pipeline(pipeline, &self.stats, self.shutdown_timeout);
        if !report.is_complete() {
            otlpkit_core::diag::emit(
                LogLevel::Warn,
                format_args!("at shutdown: {}", report.summary()),
            );
        }
    }
}

/// A blocking operation running on its own thread, reporting through a
/// handoff.
struct Bounded<T> {
    receiver: Option<Taker<T>>,
    inline: Option<T>,
}

impl<T> Bounded<T> {
    /// The outcome, or `None` if it did not arrive by `deadline` (the thread
    /// is then left to finish on its own).
    fn wait(self, deadline: Instant) -> Option<T> {
        if let Some(value) = self.inline {
            return Some(value);
        }
        let receiver = self.receiver?;
        receiver
            .wait_timeout(deadline.saturating_duration_since(Instant::now()))
            .ok()
    }
}

/// Runs `work` on a new thread; if no thread can be started, runs it here.
fn spawn_bounded<T: Send + 'static>(
    signal: Signal,
    work: impl FnOnce() -> T + Send + 'static,
) -> (Signal, Bounded<T>) {
    // Boxed, so that the thread machinery below is compiled once per
    // outcome type rather than once per call site.
    spawn_boxed(signal, Box::new(work))
}

fn spawn_boxed<T: Send + 'static>(
    signal: Signal,
    work: Box<dyn FnOnce() -> T + Send + 'static>,
) -> (Signal, Bounded<T>) {
    let (tx, rx) = handoff();
    let work = std::sync::Arc::new(std::sync::Mutex::new(Some(work)));
    let shared = std::sync::Arc::clone(&work);
    let spawned = thread::Builder::new()
        .name(format!("otlpkit-{signal}"))
        .spawn(move || {
            let work = shared
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .take();
            if let Some(work) = work {
                tx.give(work());
            }
        });
    let bounded = match spawned {
        Ok(_) => Bounded {
            receiver: Some(rx),
            inline: None,
        },
        Err(_) => {
            let work = work
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .take();
            Bounded {
                receiver: None,
                inline: work.map(|work| work()),
            }
        }
    };
    (signal, bounded)
}

/// What one signal's shutdown came to.
type SignalOutcome = Vec<ShutdownProblem>;

fn shutdown_pipeline(pipeline: Pipeline, stats: &ExportStats, timeout: Duration) -> ShutdownReport {
    let timeout = timeout.min(LONGEST_WAIT);
    let started = Instant::now();
    let deadline = started + timeout;
    let span_totals = pipeline.span_handles();
    let Pipeline {
        tracer_provider,
        meter_provider,
        logger_provider,
        span_handle,
        log_handle,
        span_exporter,
        #[cfg(feature = "tail-sampling")]
        tail_handle,
        metric_deadline,
        worker,
        self_metrics,
        own_metric_points,
        saturated_metric_values,
        ..
    } = pipeline;
    #[cfg(feature = "tail-sampling")]
    let tail_totals = tail_handle.clone();
    let log_totals = log_handle.clone();

    // The three signals shut down side by side, each with the whole budget;
    // with otlpkit's own metrics on, spans and logs go first (with most of
    // the budget), so that the metrics' last collection counts their exports.
    let metrics_last = self_metrics && meter_provider.is_some();
    let timeout_first = if metrics_last {
        timeout.saturating_sub((timeout / 4).min(Duration::from_secs(1)))
    } else {
        timeout
    };
    let (trace_stats, log_stats, metric_stats) = (stats.clone(), stats.clone(), stats.clone());
    let mut pending = Vec::new();
    if tracer_provider.is_some() || span_handle.is_some() || span_exporter.is_some() {
        pending.push(spawn_bounded(Signal::Traces, move || {
            // The tail-sampling stage first: the traces it still holds are
            // decided and the kept ones reach the queue before it shuts down.
            let tail_started = Instant::now();
            #[cfg(feature = "tail-sampling")]
            if let Some(tail) = tail_handle {
                tail.shutdown_within(timeout_first);
            }
            let left = timeout_first.saturating_sub(tail_started.elapsed());
            shut_down_signal(
                SignalShutdown {
                    signal: Signal::Traces,
                    stats: &trace_stats,
                    handle: span_handle,
                    budget: timeout_first,
                    timeout: left,
                },
                move |left| {
                    // On the native path, the provider's own processor (spans
                    // made through the OpenTelemetry API) shuts down with it.
                    tracer_provider.map(|p| p.shutdown_with_timeout(left))
                },
                // Then the exporter core both span processors share, once,
                // with what is left: the processors' own handles only closed
                // themselves (or were never reached, when a processor ran out
                // of time), so the sends still in flight are waited for,
                // spooled or counted as `shutdown_deadline` here, before the
                // report.
                move |left| span_exporter.map(|exporter| exporter.shutdown_all(left)),
            )
        }));
    }
    if logger_provider.is_some() || log_handle.is_some() {
        pending.push(spawn_bounded(Signal::Logs, move || {
            shut_down_signal(
                SignalShutdown {
                    signal: Signal::Logs,
                    stats: &log_stats,
                    handle: log_handle,
                    budget: timeout_first,
                    timeout: timeout_first,
                },
                move |left| logger_provider.map(|p| p.shutdown_with_timeout(left)),
                |_| None,
            )
        }));
    }
    let mut problems = Vec::new();
    if metrics_last {
        for (signal, outcome) in pending.drain(..) {
            match outcome.wait(started + timeout_first + REPORT_SLACK) {
                Some(found) => problems.extend(found),
                None => problems.push(ShutdownProblem::DidNotFinish {
                    signal,
                    timeout: timeout_first,
                }),
            }
        }
    }
    // The metrics' `shutdown_deadline` count before their shutdown: see
    // `settle_metric_deadline`.
    let mut metrics_cut_before = None;
    if let Some(provider) = meter_provider {
        metrics_cut_before = Some(
            stats
                .signal(Signal::Metrics)
                .snapshot()
                .dropped(DropReason::ShutdownDeadline),
        );
        metric_deadline.set(deadline, timeout);
        let metric_cut_short = metric_deadline.clone();
        let left = deadline.saturating_duration_since(Instant::now());
        pending.push(spawn_bounded(Signal::Metrics, move || {
            shut_down_signal(
                SignalShutdown {
                    signal: Signal::Metrics,
                    stats: &metric_stats,
                    handle: None,
                    budget: timeout,
                    timeout: left,
                },
                move |left| {
                    // The periodic reader says `Failed to shutdown` when the
                    // deadline cut its last export short: that is the
                    // deadline (the reader's own timeouts say so already).
                    Some(provider.shutdown_with_timeout(left).map_err(|error| {
                        if metric_cut_short.cut_an_export_short() {
                            OTelSdkError::Timeout(left)
                        } else {
                            error
                        }
                    }))
                },
                |_| None,
            )
        }));
    }

    for (signal, outcome) in pending {
        match outcome.wait(deadline + REPORT_SLACK) {
            Some(found) => problems.extend(found),
            None => problems.push(ShutdownProblem::DidNotFinish { signal, timeout }),
        }
    }

    if let Some(worker) = worker {
        let left = deadline
            .saturating_duration_since(Instant::now())
            .max(WORKER_MIN_STOP);
        if let Err(error) = worker.shutdown(left) {
            problems.push(ShutdownProblem::Worker {
                message: error.to_string(),
            });
        }
    }

    if let Some(before) = metrics_cut_before {
        settle_metric_deadline(stats, before, &mut problems);
    }

    let mut report = ShutdownReport::new(stats, started.elapsed(), problems);
    report.traces = ProcessorHandle::joint_stats(&span_totals);
    report.logs = log_totals.map(|h| h.stats());
    report.own_metric_points = own_metric_points.get();
    report.saturated_metric_values = saturated_metric_values.get();
    #[cfg(feature = "tail-sampling")]
    {
        report.tail_sampling = tail_totals.map(|h| h.stats());
    }
    report
}

/// Counts into the metrics' [`ShutdownProblem::DeadlinePassed`] what their
/// shutdown dropped as `shutdown_deadline` up to now, once the export
/// worker has stopped. The metrics have no batch processor to report its
/// own count, and the SDK's periodic reader gives up waiting for its last
/// export after a fixed 5 s, before otlpkit's exporter has settled that
/// export: it is settled by the reader's thread once the guard's deadline
/// cuts it short, or when the worker stops under it — after the signal's
/// own shutdown took its count. Without this the problem said `unsent: 0`
/// while the counters said `shutdown_deadline 3`.
fn settle_metric_deadline(stats: &ExportStats, before: u64, problems: &mut [ShutdownProblem]) {
    let now = stats.signal(Signal::Metrics).snapshot();
    let cut = now
        .dropped(DropReason::ShutdownDeadline)
        .saturating_sub(before);
    for problem in problems {
        if let ShutdownProblem::DeadlinePassed {
            signal: Signal::Metrics,
            unsent,
            left_in_spool,
            ..
        } = problem
        {
            *unsent = (*unsent).max(cut);
            *left_in_spool = now.in_spool;
        }
    }
}

/// One signal's part of a shutdown.
struct SignalShutdown<'a> {
    signal: Signal,
    stats: &'a ExportStats,
    /// Its batch processor, shut down first for the typed report.
    handle: Option<ProcessorHandle>,
    /// The deadline a problem names: the configured one, not what was left
    /// of it when this signal's turn came.
    budget: Duration,
    /// What this signal has of it.
    timeout: Duration,
}

/// Shuts one signal down within its timeout: its batch processor first (for
/// the typed report), then its provider (the other processors, and no more
/// spans or records), then an exporter shared by several processors, with
/// what is left.
///
/// Running out of time is one problem, [`ShutdownProblem::DeadlinePassed`],
/// whichever part ran out: it counts what the whole signal's shutdown
/// dropped as `shutdown_deadline` or saved in the spool, so that items are
/// not split between problems and a timeout is not reported as a failure
/// with no cause.
fn shut_down_signal(
    part: SignalShutdown<'_>,
    provider: impl FnOnce(Duration) -> Option<OTelSdkResult>,
    shared_exporter: impl FnOnce(Duration) -> Option<OTelSdkResult>,
) -> SignalOutcome {
    let SignalShutdown {
        signal,
        stats,
        handle,
        budget,
        timeout,
    } = part;
    let started = Instant::now();
    let at_start = stats.signal(signal).snapshot();
    let mut problems = Vec::new();
    // Whether a part of this signal's shutdown ran out of time. Not read
    // from the `shutdown_deadline` counter alone: that reason also counts
    // what a worker that had already stopped dropped (`WorkerGone`).
    let mut out_of_time = false;
    let mut processor_unsent = 0;
    if let Some(handle) = handle {
        match handle.shutdown_within(timeout) {
            Ok(report) => {
                processor_unsent = report.unsent();
                out_of_time |= report.unsent() > 0 || report.flush.timed_out;
                if let Some(message) = report.flush.exporter_error {
                    problems.push(ShutdownProblem::Exporter { signal, message });
                }
            }
            Err(otlpkit_batch::ShutdownError::AlreadyShutdown) => {}
            Err(error) => problems.push(ShutdownProblem::Processor { signal, error }),
        }
    }
    let left = timeout
        .saturating_sub(started.elapsed())
        .max(WORKER_MIN_STOP);
    let before = stats.signal(signal).snapshot();
    if let Some(Err(error)) = provider(left) {
        let after = stats.signal(signal).snapshot();
        let timed_out = only_timeouts(&error);
        out_of_time |= timed_out;
        // A provider's timeout can stand for an export that failed on its
        // own account meanwhile (its processor reports the timeout over
        // the exporter's error): then the provider's failure is said too,
        // with that cause.
        let failed_meanwhile = after.last_error.as_ref().is_some_and(|last| {
            before.last_error.as_ref() != Some(last) && last.reason != DropReason::ShutdownDeadline
        });
        if !timed_out || failed_meanwhile {
            problems.push(ShutdownProblem::Provider {
                signal,
                message: provider_failure(&error.to_string(), &before, &after),
            });
        }
    }
    match shared_exporter(timeout.saturating_sub(started.elapsed())) {
        Some(Err(OTelSdkError::Timeout(_))) => out_of_time = true,
        Some(Err(error)) => problems.push(ShutdownProblem::Exporter {
            signal,
            message: error.to_string(),
        }),
        _ => {}
    }
    if out_of_time {
        let at_end = stats.signal(signal).snapshot();
        let dropped = at_end.dropped(DropReason::ShutdownDeadline)
            - at_start.dropped(DropReason::ShutdownDeadline);
        problems.insert(
            0,
            ShutdownProblem::DeadlinePassed {
                signal,
                // The processor's own count, should its exporter count them
                // after it returned (see `ProcessorShutdownReport`).
                unsent: dropped.max(processor_unsent),
                left_in_spool: at_end.in_spool,
                timeout: budget,
            },
        );
    }
    problems
}

/// Whether a provider's shutdown error says only that its processors ran
/// out of time: `OTelSdkError::Timeout`, or the SDK providers' list of
/// their processors' or readers' errors (`Shutdown errors: [Timeout(..),
/// ..]`, `[Timeout(..)]`) with nothing else in it. Any other error, or a list in another form, is
/// reported as the provider's failure.
fn only_timeouts(error: &OTelSdkError) -> bool {
    match error {
        OTelSdkError::Timeout(_) => true,
        // The tracer and logger providers prefix their list; the meter
        // provider gives the bare list of its readers' errors.
        OTelSdkError::InternalFailure(message) => message
            .strip_prefix("Shutdown errors: ")
            .unwrap_or(message)
            .strip_prefix('[')
            .and_then(|list| list.strip_suffix(']'))
            .is_some_and(|list| {
                !list.is_empty() && list.split(", ").all(|error| error.starts_with("Timeout("))
            }),
        _ => false,
    }
}

/// The SDK provider's shutdown error (`Operation failed: Failed to
/// shutdown`, which names no cause), followed by what otlpkit saw while it
/// ran: the export failure it recorded for the signal (already redacted by
/// the exporter) and the items counted as dropped meanwhile.
fn provider_failure(
    error: &str,
    before: &SignalStatsSnapshot,
    after: &SignalStatsSnapshot,
) -> String {
    let mut message = error.to_owned();
    match &after.last_error {
        Some(last) if before.last_error.as_ref() != Some(last) => {
            message.push_str(&format!(
                "; cause: its last export to {} failed ({}): {}",
                last.endpoint, last.kind, last.message
            ));
        }
        _ => message.push_str("; no export failed meanwhile (the cause is inside the provider)"),
    }
    let lost: Vec<String> = after
        .drops()
        .filter_map(|(reason, n)| {
            let n = n.saturating_sub(before.dropped(reason));
            (n > 0).then(|| format!("{n} as {reason}"))
        })
        .collect();
    if lost.is_empty() {
        message.push_str("; no item was counted as dropped meanwhile");
    } else {
        message.push_str(&format!("; items dropped meanwhile: {}", lost.join(", ")));
    }
    message
}

/// Why [`OtlpGuard::flush`] did not flush everything.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("otlpkit flush incomplete: {}", describe(.failures))]
#[non_exhaustive]
pub struct FlushError {
    failures: Vec<(Signal, String)>,
}

fn describe(failures: &[(Signal, String)]) -> String {
    failures
        .iter()
        .map(|(signal, message)| format!("{signal}: {message}"))
        .collect::<Vec<_>>()
        .join("; ")
}

impl FlushError {
    /// Each signal that did not flush completely, with the reason.
    pub fn failures(&self) -> &[(Signal, String)] {
        &self.failures
    }
}

/// Something that went wrong during [`OtlpGuard::shutdown`]. Items that
/// were not delivered are in the report's statistics under their
/// [`DropReason`]; these say why a part did not finish cleanly.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ShutdownProblem {
    /// The deadline passed before `signal`'s part stopped (its processor,
    /// provider or exporter ran out of time). Items still queued or in
    /// flight then were dropped as `shutdown_deadline`, or, with a disk
    /// spool, saved there for the next run.
    #[error("{}", describe_deadline(*.signal, *.unsent, *.left_in_spool, *.timeout))]
    DeadlinePassed {
        /// The signal.
        signal: Signal,
        /// Items the signal's shutdown dropped as `shutdown_deadline`. (For
        /// traces and logs, an export the export worker's own stop cuts
        /// short afterwards is in the report's counters, not here; for
        /// metrics, which have no batch processor, it is counted here too,
        /// so that this agrees with the metrics' `shutdown_deadline`
        /// counter.)
        unsent: u64,
        /// Items in the disk spool when the signal's shutdown ended, sent by
        /// the next run with the same spool directory (0 without a spool).
        left_in_spool: u64,
        /// The shutdown timeout.
        timeout: Duration,
    },
    /// The batch processor refused or could not complete the shutdown.
    #[error("{signal}: the batch processor's shutdown failed: {error}")]
    Processor {
        /// The signal.
        signal: Signal,
        /// The processor's error.
        #[source]
        error: otlpkit_batch::ShutdownError,
    },
    /// The exporter reported an error when it was shut down.
    #[error("{signal}: the exporter's shutdown failed: {message}")]
    Exporter {
        /// The signal.
        signal: Signal,
        /// The exporter's message.
        message: String,
    },
    /// The provider (its other processors, or the metric reader) reported
    /// an error.
    #[error("{signal}: the provider's shutdown failed: {message}")]
    Provider {
        /// The signal.
        signal: Signal,
        /// The provider's message, then why and what was lost: the export
        /// failure recorded for the signal while the provider shut down
        /// (redacted, as every exporter message), or that there was none,
        /// and the items counted as dropped meanwhile, by reason.
        message: String,
    },
    /// A signal's shutdown did not report back by the deadline; it goes on in
    /// the background.
    #[error("{signal}: the shutdown did not finish within {timeout:?}")]
    DidNotFinish {
        /// The signal.
        signal: Signal,
        /// The shutdown timeout.
        timeout: Duration,
    },
    /// The export worker thread did not stop in time (it was detached).
    #[error("the export worker did not stop: {message}")]
    Worker {
        /// What the worker reported.
        message: String,
    },
}

/// [`ShutdownProblem::DeadlinePassed`]'s text.
fn describe_deadline(signal: Signal, unsent: u64, left_in_spool: u64, timeout: Duration) -> String {
    let mut text = format!("{signal}: the {timeout:?} shutdown deadline passed");
    match (unsent, left_in_spool) {
        // Not "nothing was lost": an export still running when the worker
        // stops is counted after this (the report's counters include it).
        (0, 0) => {
            text.push_str(" before every part stopped; no item had been counted as unsent by then")
        }
        (unsent, 0) => {
            text.push_str(&format!(
                " with {unsent} items unsent: dropped as shutdown_deadline"
            ));
        }
        (0, left) => text.push_str(&format!(
            "; nothing was dropped: {left} items wait in the disk spool for the next run"
        )),
        (unsent, left) => text.push_str(&format!(
            " with {unsent} items unsent: dropped as shutdown_deadline; \
             {left} items wait in the disk spool for the next run"
        )),
    }
    text
}

/// What [`OtlpGuard::shutdown`] achieved: the final counters of every
/// signal (what was delivered, what was dropped and why) and the problems
/// met on the way.
///
/// `Display` prints one accounting line per signal.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ShutdownReport {
    /// The counters after the shutdown.
    pub stats: StatsSnapshot,
    /// The span batch processors' totals (both paths' on the native path,
    /// as one), when traces were exported over OTLP.
    pub traces: Option<ProcessorStats>,
    /// The log batch processor's totals, when logs were exported over OTLP.
    pub logs: Option<ProcessorStats>,
    /// The tail-sampling stage's totals, when it was on.
    #[cfg(feature = "tail-sampling")]
    #[cfg_attr(docsrs, doc(cfg(feature = "tail-sampling")))]
    pub tail_sampling: Option<TailSamplingStats>,
    /// How long the shutdown took.
    pub elapsed: Duration,
    /// What went wrong, if anything.
    pub problems: Vec<ShutdownProblem>,
    /// Metric data points of otlpkit's own metrics among those produced
    /// (0 unless they are on, see `Builder::with_self_metrics`).
    pub own_metric_points: u64,
    /// Exports of `u64` metric values above `i64::MAX` by the OTLP metric
    /// exporter, which sent each as `i64::MAX`: OTLP's data points hold
    /// only an `int64` or a `double`. A cumulative value is counted at
    /// every export. Such a value is not dropped; it is capped.
    pub saturated_metric_values: u64,
}

impl ShutdownReport {
    fn new(stats: &ExportStats, elapsed: Duration, problems: Vec<ShutdownProblem>) -> Self {
        Self {
            stats: stats.snapshot(),
            traces: None,
            logs: None,
            #[cfg(feature = "tail-sampling")]
            tail_sampling: None,
            elapsed,
            problems,
            own_metric_points: 0,
            saturated_metric_values: 0,
        }
    }

    /// True when every item was delivered and every part shut down
    /// cleanly (nothing dropped, nothing left in the spool).
    pub fn is_complete(&self) -> bool {
        self.problems.is_empty()
            && Signal::ALL
                .iter()
                .all(|s| self.dropped(*s) == 0 && self.left_in_spool(*s) == 0)
    }

    /// Items of `signal` produced: for spans and log records, what entered
    /// the batch processor, plus the spans a tail-sampling stage sampled out
    /// before it; for metrics, the data points exported, dropped or left in
    /// the spool, less those found in it at start. Once shut down, without
    /// a spool, `produced = delivered + dropped + sampled_out`.
    pub fn produced(&self, signal: Signal) -> u64 {
        let processor = match signal {
            Signal::Traces => self.traces.as_ref(),
            Signal::Logs => self.logs.as_ref(),
            _ => None,
        };
        processor.map_or_else(
            || {
                (self.delivered(signal) + self.dropped(signal) + self.left_in_spool(signal))
                    .saturating_sub(self.found_in_spool(signal))
            },
            ProcessorStats::received,
        ) + self.sampled_out(signal)
    }

    /// Items of `signal` a tail-sampling stage decided not to keep (spans
    /// only): not a loss, so not in [`dropped`](Self::dropped).
    pub fn sampled_out(&self, signal: Signal) -> u64 {
        self.stats.signal(signal).sampled_out
    }

    /// Items of `signal` the collector accepted, sent directly or from the
    /// disk spool.
    pub fn delivered(&self, signal: Signal) -> u64 {
        self.stats.signal(signal).delivered()
    }

    /// Items of `signal` the collector accepted from the disk spool
    /// (included in [`delivered`](Self::delivered)); some may have been
    /// spooled by an earlier process.
    pub fn delivered_from_spool(&self, signal: Signal) -> u64 {
        self.stats.signal(signal).delivered_from_spool
    }

    /// Items of `signal` found in the disk spool at start, left by an
    /// earlier process.
    pub fn found_in_spool(&self, signal: Signal) -> u64 {
        self.stats.signal(signal).spool_found
    }

    /// Items of `signal` left in the disk spool for the next process with
    /// the same directory: neither delivered nor dropped. Then
    /// `found_in_spool + produced = delivered + dropped + left_in_spool`.
    pub fn left_in_spool(&self, signal: Signal) -> u64 {
        self.stats.signal(signal).in_spool
    }

    /// Items of `signal` that could not be sent, for any reason.
    pub fn dropped(&self, signal: Signal) -> u64 {
        self.stats.signal(signal).dropped_total()
    }

    /// Items of `signal` dropped for `reason`.
    pub fn dropped_for(&self, signal: Signal, reason: DropReason) -> u64 {
        self.stats.signal(signal).dropped(reason)
    }

    /// The last export failure of `signal`, if any: what failed, where,
    /// why and when (redacted).
    pub fn last_error(&self, signal: Signal) -> Option<ExportErrorRecord> {
        self.stats.signal(signal).last_error
    }

    /// One line: delivered and dropped per signal (with the last failure of
    /// a signal that dropped items), and the problems.
    pub fn summary(&self) -> String {
        let mut parts: Vec<String> = Signal::ALL
            .iter()
            .map(|s| {
                let mut part = format!(
                    "{s} {} delivered, {} dropped",
                    self.delivered(*s),
                    self.dropped(*s)
                );
                if self.sampled_out(*s) > 0 {
                    part.push_str(&format!(", {} sampled out", self.sampled_out(*s)));
                }
                if self.left_in_spool(*s) > 0 {
                    part.push_str(&format!(", {} left in the spool", self.left_in_spool(*s)));
                }
                if self.dropped(*s) > 0
                    && let Some(error) = self.last_error(*s)
                {
                    part.push_str(&format!(" (last failure: {error})"));
                }
                part
            })
            .collect();
        parts.extend(self.problems.iter().map(ToString::to_string));
        parts.join("; ")
    }
}

impl fmt::Display for ShutdownReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for signal in Signal::ALL {
            // `Signal`'s `Display` ignores width, so pad its text.
            let name = signal.to_string();
            write!(
                f,
                "{name:<8} produced {:>5}  delivered {:>5}  dropped {:>5}",
                self.produced(*signal),
                self.delivered(*signal),
                self.dropped(*signal)
            )?;
            let reasons: Vec<String> = self
                .stats
                .signal(*signal)
                .drops()
                .map(|(reason, count)| format!("{reason} {count}"))
                .collect();
            if !reasons.is_empty() {
                write!(f, " ({})", reasons.join(", "))?;
            }
            if *signal == Signal::Metrics && self.own_metric_points > 0 {
                write!(f, " [{} of them otlpkit's own]", self.own_metric_points)?;
            }
            if *signal == Signal::Metrics && self.saturated_metric_values > 0 {
                write!(
                    f,
                    "  u64 values above i64::MAX sent as i64::MAX {}",
                    self.saturated_metric_values
                )?;
            }
            if self.sampled_out(*signal) > 0 {
                write!(f, "  sampled out {:>5}", self.sampled_out(*signal))?;
            }
            let spool = self.stats.signal(*signal);
            if spool.spool_found + spool.delivered_from_spool + spool.in_spool > 0 {
                write!(
                    f,
                    "  spool: found {}, delivered from it {}, left {}",
                    spool.spool_found, spool.delivered_from_spool, spool.in_spool
                )?;
            }
            writeln!(f)?;
            if let Some(error) = self.last_error(*signal) {
                writeln!(f, "         last failure: {error}")?;
            }
        }
        for problem in &self.problems {
            writeln!(f, "problem: {problem}")?;
        }
        write!(f, "shutdown took {:?}", self.elapsed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn metrics_part(stats: &ExportStats) -> SignalShutdown<'_> {
        SignalShutdown {
            signal: Signal::Metrics,
            stats,
            handle: None,
            budget: Duration::from_secs(1),
            timeout: Duration::from_secs(1),
        }
    }

    /// A span processor whose shutdown gives a chosen error.
    #[derive(Debug)]
    struct FailingShutdown(fn() -> OTelSdkError);

    impl opentelemetry_sdk::trace::SpanProcessor for FailingShutdown {
        fn on_start(&self, _: &mut opentelemetry_sdk::trace::Span, _: &opentelemetry::Context) {}
        fn on_end(&self, _: opentelemetry_sdk::trace::SpanData) {}
        fn force_flush(&self) -> OTelSdkResult {
            Ok(())
        }
        fn shutdown_with_timeout(&self, _: Duration) -> OTelSdkResult {
            Err((self.0)())
        }
    }

    fn provider_error(processors: &[fn() -> OTelSdkError]) -> OTelSdkError {
        let provider = processors
            .iter()
            .fold(SdkTracerProvider::builder(), |builder, error| {
                builder.with_span_processor(FailingShutdown(*error))
            })
            .build();
        provider
            .shutdown_with_timeout(Duration::from_millis(10))
            .unwrap_err()
    }

    // The SDK's provider folds its processors' errors into one string; a
    // provider whose processors only ran out of time is the deadline, not
    // a failure. Read from the SDK's own provider, so that a change in its
    // wording fails here rather than turning deadlines into failures.
    #[test]
    fn a_provider_out_of_time_is_told_from_a_provider_that_failed() {
        let timeout = || OTelSdkError::Timeout(Duration::from_millis(100));
        let failure = || OTelSdkError::InternalFailure("disk full".into());
        assert!(only_timeouts(&provider_error(&[timeout])));
        assert!(only_timeouts(&provider_error(&[timeout, timeout])));
        assert!(!only_timeouts(&provider_error(&[timeout, failure])));
        assert!(!only_timeouts(&provider_error(&[failure])));
        assert!(only_timeouts(&timeout()));
        assert!(!only_timeouts(&OTelSdkError::AlreadyShutdown));
    }

    /// A metric exporter whose shutdown gives a chosen error.
    #[derive(Debug)]
    struct MetricShutdownFails(fn() -> OTelSdkError);

    impl opentelemetry_sdk::metrics::exporter::PushMetricExporter for MetricShutdownFails {
        async fn export(
            &self,
            _: &opentelemetry_sdk::metrics::data::ResourceMetrics,
        ) -> OTelSdkResult {
            Ok(())
        }
        fn force_flush(&self) -> OTelSdkResult {
            Ok(())
        }
        fn shutdown_with_timeout(&self, _: Duration) -> OTelSdkResult {
            Err((self.0)())
        }
        fn temporality(&self) -> opentelemetry_sdk::metrics::Temporality {
            opentelemetry_sdk::metrics::Temporality::Cumulative
        }
    }

    // The meter provider lists its readers' errors without the prefix the
    // tracer and logger providers put before theirs (`format!("{errs:?}")`
    // in the SDK's pipelines). A periodic reader reports its exporter's
    // failure as `Failed to shutdown`, read here from the SDK itself; a
    // reader that does not stop in time as `Timeout`.
    #[test]
    fn a_meter_provider_out_of_time_is_told_from_one_that_failed() {
        let reader =
            opentelemetry_sdk::metrics::PeriodicReader::builder(MetricShutdownFails(|| {
                OTelSdkError::InternalFailure("disk full".into())
            }))
            .build();
        let failure = SdkMeterProvider::builder()
            .with_reader(reader)
            .build()
            .shutdown()
            .unwrap_err();
        assert!(!only_timeouts(&failure), "{failure:?}");
        let readers_timed_out = OTelSdkError::InternalFailure(format!(
            "{:?}",
            [OTelSdkError::Timeout(Duration::from_secs(5))]
        ));
        assert!(only_timeouts(&readers_timed_out), "{readers_timed_out:?}");
    }

    fn traces_part(stats: &ExportStats) -> SignalShutdown<'_> {
        SignalShutdown {
            signal: Signal::Traces,
            stats,
            handle: None,
            budget: Duration::from_millis(400),
            timeout: Duration::from_millis(400),
        }
    }

    fn provider_timeout() -> Option<OTelSdkResult> {
        Some(Err(OTelSdkError::InternalFailure(
            "Shutdown errors: [Timeout(100ms)]".into(),
        )))
    }

    fn exporter_timeout() -> Option<OTelSdkResult> {
        Some(Err(OTelSdkError::Timeout(Duration::ZERO)))
    }

    // Whichever part ran out of time, the deadline is one problem that
    // counts what the whole signal's shutdown dropped.
    #[test]
    fn running_out_of_time_is_one_problem_counting_every_unsent_item() {
        let stats = ExportStats::new();
        let traces = stats.signal(Signal::Traces);
        traces.record_dropped(DropReason::ShutdownDeadline, 2); // before: not counted
        let problems = shut_down_signal(
            traces_part(&stats),
            |_| {
                traces.record_dropped(DropReason::ShutdownDeadline, 4);
                provider_timeout()
            },
            |_| {
                traces.record_dropped(DropReason::ShutdownDeadline, 3);
                exporter_timeout()
            },
        );
        assert_eq!(
            problems,
            [ShutdownProblem::DeadlinePassed {
                signal: Signal::Traces,
                unsent: 7,
                left_in_spool: 0,
                timeout: Duration::from_millis(400),
            }]
        );
        assert_eq!(
            problems[0].to_string(),
            "traces: the 400ms shutdown deadline passed with 7 items unsent: \
             dropped as shutdown_deadline"
        );

        // With a spool, what waits there is said, and is not a drop.
        let stats = ExportStats::new();
        let traces = stats.signal(Signal::Traces);
        let problems = shut_down_signal(
            traces_part(&stats),
            |_| None,
            |_| {
                traces.record_spooled(5);
                exporter_timeout()
            },
        );
        assert_eq!(
            problems[0].to_string(),
            "traces: the 400ms shutdown deadline passed; nothing was dropped: \
             5 items wait in the disk spool for the next run"
        );
        let problems = shut_down_signal(
            traces_part(&stats),
            |_| None,
            |_| {
                traces.record_dropped(DropReason::ShutdownDeadline, 1);
                exporter_timeout()
            },
        );
        assert_eq!(
            problems[0].to_string(),
            "traces: the 400ms shutdown deadline passed with 1 items unsent: \
             dropped as shutdown_deadline; 5 items wait in the disk spool for the next run"
        );

        // Out of time with nothing counted as unsent.
        let stats = ExportStats::new();
        let problems = shut_down_signal(traces_part(&stats), |_| None, |_| exporter_timeout());
        assert_eq!(
            problems[0].to_string(),
            "traces: the 400ms shutdown deadline passed before every part stopped; \
             no item had been counted as unsent by then"
        );

        // Any other exporter error is its own problem.
        let problems = shut_down_signal(
            traces_part(&stats),
            |_| None,
            |_| Some(Err(OTelSdkError::InternalFailure("spool lock lost".into()))),
        );
        assert_eq!(
            problems,
            [ShutdownProblem::Exporter {
                signal: Signal::Traces,
                message: "Operation failed: spool lock lost".into(),
            }]
        );
    }

    // `shutdown_deadline` also counts what a worker that had already
    // stopped dropped: without a part running out of time, that is not a
    // deadline (the processor's `WorkerGone` says it).
    #[test]
    fn deadline_drops_without_a_timeout_are_not_a_deadline() {
        let stats = ExportStats::new();
        let traces = stats.signal(Signal::Traces);
        let problems = shut_down_signal(
            traces_part(&stats),
            |_| {
                traces.record_dropped(DropReason::ShutdownDeadline, 4);
                None
            },
            |_| None,
        );
        assert_eq!(problems, []);
    }

    // A provider that timed out while its exporter failed for its own
    // reason: the deadline, and the failure, which the timeout would hide.
    #[test]
    fn an_export_failure_behind_a_provider_timeout_is_said() {
        let stats = ExportStats::new();
        let traces = stats.signal(Signal::Traces);
        let problems = shut_down_signal(
            traces_part(&stats),
            |_| {
                traces.record_dropped(DropReason::NonRetryable, 3);
                traces.record_error(ExportErrorRecord::new(
                    "http_status",
                    DropReason::NonRetryable,
                    "http://127.0.0.1:4318/v1/traces",
                    "HTTP 403: forbidden",
                    3,
                ));
                provider_timeout()
            },
            |_| None,
        );
        let text: Vec<String> = problems.iter().map(ToString::to_string).collect();
        assert_eq!(
            text,
            [
                "traces: the 400ms shutdown deadline passed before every part stopped; \
                 no item had been counted as unsent by then",
                "traces: the provider's shutdown failed: Operation failed: Shutdown errors: \
                 [Timeout(100ms)]; cause: its last export to http://127.0.0.1:4318/v1/traces \
                 failed (http_status): HTTP 403: forbidden; items dropped meanwhile: \
                 3 as non_retryable"
            ]
        );

        // A failure that is the deadline itself is not said twice.
        let stats = ExportStats::new();
        let traces = stats.signal(Signal::Traces);
        let problems = shut_down_signal(
            traces_part(&stats),
            |_| {
                traces.record_dropped(DropReason::ShutdownDeadline, 2);
                traces.record_error(ExportErrorRecord::new(
                    "shutdown",
                    DropReason::ShutdownDeadline,
                    "http://127.0.0.1:4318/v1/traces",
                    "the batch processor cancelled the export",
                    2,
                ));
                provider_timeout()
            },
            |_| None,
        );
        assert_eq!(problems.len(), 1, "{problems:?}");
    }

    // The SDK's metric reader answers `Failed to shutdown` when its last
    // export fails, and nothing more: the problem says why (the failure the
    // exporter recorded while it ran, redacted there) and what was lost.
    #[test]
    fn a_provider_failure_names_its_cause_and_what_was_lost() {
        let stats = ExportStats::new();
        let problems = shut_down_signal(
            metrics_part(&stats),
            |_| {
                let metrics = stats.signal(Signal::Metrics);
                metrics.record_dropped(DropReason::NonRetryable, 6);
                metrics.record_error(ExportErrorRecord::new(
                    "http_status",
                    DropReason::NonRetryable,
                    "http://127.0.0.1:4318/v1/metrics",
                    "HTTP 401: token <redacted> refused",
                    6,
                ));
                Some(Err(OTelSdkError::InternalFailure(
                    "Failed to shutdown".into(),
                )))
            },
            |_| None,
        );
        let [ShutdownProblem::Provider { signal, message }] = problems.as_slice() else {
            panic!("{problems:?}");
        };
        assert_eq!(*signal, Signal::Metrics);
        assert!(
            message.starts_with("Operation failed: Failed to shutdown; "),
            "{message}"
        );
        assert!(
            message.contains(
                "cause: its last export to http://127.0.0.1:4318/v1/metrics failed \
                 (http_status): HTTP 401: token <redacted> refused"
            ),
            "{message}"
        );
        assert!(
            message.contains("items dropped meanwhile: 6 as non_retryable"),
            "{message}"
        );

        // A failure older than the shutdown is not its cause.
        let problems = shut_down_signal(
            metrics_part(&stats),
            |_| {
                Some(Err(OTelSdkError::InternalFailure(
                    "Failed to shutdown".into(),
                )))
            },
            |_| None,
        );
        let message = problems[0].to_string();
        assert!(message.contains("no export failed meanwhile"), "{message}");
        assert!(
            message.contains("no item was counted as dropped meanwhile"),
            "{message}"
        );
    }
}
