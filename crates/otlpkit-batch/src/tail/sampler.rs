//! The stage itself, generic over the span representation: sharded held
//! traces, the decision on each span end, the caps, and the sweeper thread
//! that decides traces whose decision wait has passed.
//!
//! A pipeline has a stage per span path (SDK spans in the facade, native
//! records in otlpkit-tracing), each compiled in the crate that names its
//! span type; what does not touch spans is kept out of the generic code:
//! the sweeper thread and its loop are compiled once, here, over the stage
//! behind a trait object, and the stage's close is one copy per span type
//! that `Drop`, the handle and `shutdown_within` share.

use std::fmt;
use std::marker::PhantomData;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock, PoisonError, Weak};
use std::thread::{self, Thread};
use std::time::{Duration, Instant, SystemTime};

use opentelemetry::trace::{SpanContext, TraceId};
use otlpkit_core::stats::{EarlyDecision, ExportStats, SamplingPolicy, SignalStats};
use otlpkit_core::{Signal, TailSamplingConfig};

use super::handle::{TailSamplingHandle, TailSamplingStats};
use super::policy::{AttributeRule, Policies};
use super::span::TailSpan;
use super::store::{Held, Shard, Verdict};

/// Where the spans of kept traces go: the span queue, or any next stage.
///
/// Closures implement it: `move |span| processor.on_end(span)`.
pub trait SpanSink<S>: Send + Sync + 'static {
    /// Takes one span of a kept trace.
    fn keep(&self, span: S);

    /// Takes one span of a trace sampled out, already counted in
    /// `sampled_out`. Dropped by default; a span path that pools its spans
    /// takes them back here, so that sampling out costs no allocation.
    fn sample_out(&self, span: S) {
        drop(span);
    }
}

impl<S, F: Fn(S) + Send + Sync + 'static> SpanSink<S> for F {
    fn keep(&self, span: S) {
        self(span)
    }
}

/// How long [`TailSampler`]'s `Drop` waits for the sweeper thread to stop.
const STOP_ON_DROP: Duration = Duration::from_secs(1);

/// Attempts to decide the oldest trace when a cap is passed, before giving
/// up for this span (other producers are deciding traces at the same time).
const EVICTION_ATTEMPTS: usize = 8;

/// The fewest traces whose local root ended whose verdict is remembered.
const MIN_REMEMBERED: usize = 8_192;

/// The fewest traces decided before their local root ended whose verdict is
/// kept until it ends.
const MIN_REMEMBERED_OPEN: usize = 4_096;

/// The shortest the sweeper sleeps: with a hold time (a latency threshold
/// or a decision wait) shorter than this, it would wake thousands of times
/// a second, busy on a core; traces are then decided up to this much after
/// their hold time.
const MIN_SWEEP_SLEEP: Duration = Duration::from_millis(1);

/// A shard, on its own cache lines so that producers on different shards do
/// not contend.
#[repr(align(128))]
struct Padded<T>(T);

/// The state every part of one stage shares.
pub(crate) struct Core<S> {
    shards: Box<[Padded<Mutex<Shard<S>>>]>,
    mask: usize,
    policies: Policies,
    config: TailSamplingConfig,
    /// How long a trace is held at most: the decision wait, or the latency
    /// threshold when shorter (a local root open that long is slow).
    hold: Duration,
    held_traces: AtomicUsize,
    stats: ExportStats,
    closed: AtomicBool,
    sink: OnceLock<Arc<dyn SpanSink<S>>>,
    sweeper: Sweeper,
}

impl<S> fmt::Debug for Core<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TailSampler")
            .field("config", &self.config)
            .field("rules", &self.policies.rules)
            .field("shards", &self.shards.len())
            .field("held_traces", &self.held_traces.load(Ordering::Relaxed))
            .field("closed", &self.closed.load(Ordering::Relaxed))
            .finish_non_exhaustive()
    }
}

impl<S: TailSpan> Core<S> {
    fn new(config: TailSamplingConfig, rules: Vec<AttributeRule>, stats: ExportStats) -> Arc<Self> {
        let parallelism = thread::available_parallelism().map_or(2, |n| n.get());
        let shard_count = (parallelism * 4).next_power_of_two().clamp(4, 64);
        // The verdicts of traces whose local root ended are remembered for
        // twice as many traces as are held, and at least 8,192 (about 100
        // bytes each), so that spans ending after their root follow its
        // decision even while a flood of other traces is decided meanwhile.
        // Those of traces decided before their root ended are kept until it
        // ends, for as many traces as are held, and at least 4,096: their
        // later spans, the root's included, follow the decision.
        let remembered = config
            .max_traces()
            .saturating_mul(2)
            .max(MIN_REMEMBERED)
            .div_ceil(shard_count);
        let remembered_open = config
            .max_traces()
            .max(MIN_REMEMBERED_OPEN)
            .div_ceil(shard_count);
        let hold = match config.latency_threshold() {
            Some(latency) => latency.min(config.decision_wait()),
            None => config.decision_wait(),
        };
        Arc::new_cyclic(|me: &Weak<Self>| Core {
            shards: (0..shard_count)
                .map(|_| Padded(Mutex::new(Shard::new(remembered, remembered_open))))
                .collect(),
            mask: shard_count - 1,
            policies: Policies::new(&config, rules),
            config,
            hold,
            held_traces: AtomicUsize::new(0),
            stats,
            closed: AtomicBool::new(false),
            sink: OnceLock::new(),
            sweeper: Sweeper::new(me.clone() as Weak<dyn Sweep>),
        })
    }

    fn signal_stats(&self) -> &SignalStats {
        self.stats.signal(Signal::Traces)
    }

    fn shard(&self, trace_id: TraceId) -> &Mutex<Shard<S>> {
        let bytes = trace_id.to_bytes();
        // Trace ids are random: any of their bits spread the traces.
        let index = usize::from(bytes[15]) | (usize::from(bytes[14]) << 8);
        &self.shards[index & self.mask].0
    }

    pub(crate) fn attach(&self, sink: impl FnOnce() -> Arc<dyn SpanSink<S>>) {
        self.sink.get_or_init(sink);
    }

    /// The hot path: one ended, sampled span.
    pub(crate) fn offer(&self, span: S, sink: &dyn SpanSink<S>) {
        let trace_id = span.trace_id();
        // The span's own evidence needs no lock.
        let matched = self.policies.matched_by(&span);
        let root = span.is_local_root();
        let start = span.start_time();
        let mut shard = lock(self.shard(trace_id));

        let span = if matched.is_none() && !root {
            match shard.push(&trace_id, span, start) {
                Ok(count) => {
                    if count >= self.config.max_spans_per_trace() {
                        self.decide_full(shard, trace_id, sink);
                    }
                    return;
                }
                Err(span) => span,
            }
        } else if let Some(held) = shard.take(&trace_id) {
            // The evidence keeps the whole trace, or its local root ended
            // with no policy satisfied.
            shard.remember(trace_id, verdict(matched.is_some()), !root);
            drop(shard);
            self.settle(held, matched, None, sink);
            self.follow(span, matched.is_some(), sink);
            return;
        } else {
            span
        };

        // Not held: decided already, or a new trace.
        if let Some(verdict) = shard.follow(&trace_id, root) {
            drop(shard);
            self.follow(span, verdict == Verdict::Keep, sink);
            return;
        }
        let keep = matched.or_else(|| {
            self.policies
                .ratio
                .keeps(trace_id)
                .then_some(SamplingPolicy::Ratio)
        });
        let closed = self.closed.load(Ordering::Acquire);
        if keep.is_some() || root || closed {
            shard.remember(trace_id, verdict(keep.is_some()), !root);
            drop(shard);
            let stats = self.signal_stats();
            if closed && keep.is_none() && !root {
                stats.record_early_decision(EarlyDecision::Shutdown);
            }
            match keep {
                Some(policy) => stats.record_trace_kept(policy),
                None => stats.record_trace_sampled_out(),
            }
            self.follow(span, keep.is_some(), sink);
            return;
        }
        shard.hold(trace_id, span, start, Instant::now());
        // Counted under the shard's lock, so that the decision that takes
        // the trace out (under the same lock) always counts it down after.
        let before = self.held_traces.fetch_add(1, Ordering::AcqRel);
        if self.config.max_spans_per_trace() == 1 {
            self.decide_full(shard, trace_id, sink);
        } else {
            drop(shard);
        }
        if before == 0 {
            // Started with the first held trace; never woken by producers
            // (it sleeps at most one hold time, see `sweep_until_closed`).
            let _ = self.sweeper.thread();
        }
        if before >= self.config.max_traces() {
            self.enforce_max_traces(sink);
        }
    }

    /// Decides a held trace that reached the cap on spans per trace.
    fn decide_full(
        &self,
        mut shard: MutexGuard<'_, Shard<S>>,
        trace_id: TraceId,
        sink: &dyn SpanSink<S>,
    ) {
        let Some(held) = shard.take(&trace_id) else {
            return;
        };
        let keep = self.slow(&held, Instant::now());
        shard.remember(trace_id, verdict(keep.is_some()), true);
        drop(shard);
        self.settle(held, keep, Some(EarlyDecision::MaxSpansPerTrace), sink);
    }

    /// A span of a decided trace follows the decision.
    fn follow(&self, span: S, keep: bool, sink: &dyn SpanSink<S>) {
        if keep {
            sink.keep(span);
        } else {
            self.signal_stats().record_sampled_out(1);
            sink.sample_out(span);
        }
    }

    /// A span of `trace_id` started under `parent` (`sampled`: the head
    /// sampler's decision for it): a local root under a remote parent
    /// sampled upstream keeps its trace whole.
    pub(crate) fn on_start(
        &self,
        parent: &SpanContext,
        trace_id: TraceId,
        sampled: bool,
        sink: &dyn SpanSink<S>,
    ) {
        if sampled && parent.is_remote() && parent.is_sampled() {
            self.keep_parent_sampled(trace_id, sink);
        }
    }

    /// The trace's incoming parent was sampled upstream: keep it whole.
    pub(crate) fn keep_parent_sampled(&self, trace_id: TraceId, sink: &dyn SpanSink<S>) {
        if !self.policies.keep_parent_sampled {
            return;
        }
        let mut shard = lock(self.shard(trace_id));
        match shard.verdict(&trace_id) {
            // Counted already; a local root is starting, so the verdict is
            // kept until a local root of the trace ends.
            Some(Verdict::Keep) => {
                shard.remember(trace_id, Verdict::Keep, true);
                return;
            }
            // Sampled out already (and counted so): keeping its later
            // spans would split it and count it twice.
            Some(Verdict::Drop) => return,
            None => {}
        }
        let held = shard.take(&trace_id);
        shard.remember(trace_id, Verdict::Keep, true);
        drop(shard);
        match held {
            Some(held) => self.settle(held, Some(SamplingPolicy::ParentSampled), None, sink),
            None => self
                .signal_stats()
                .record_trace_kept(SamplingPolicy::ParentSampled),
        }
    }

    /// Whether a held trace is kept when decided before its local root
    /// ended: only if that root, still open, is already slow.
    fn slow(&self, held: &Held<S>, now: Instant) -> Option<SamplingPolicy> {
        let latency = self.policies.latency?;
        let open = now.duration_since(held.first_seen) >= latency
            || self
                .policies
                .open_too_long(held.earliest_start, SystemTime::now());
        open.then_some(SamplingPolicy::Latency)
    }

    /// Counts a decided trace and sends its spans on if it is kept.
    fn settle(
        &self,
        held: Held<S>,
        keep: Option<SamplingPolicy>,
        early: Option<EarlyDecision>,
        sink: &dyn SpanSink<S>,
    ) {
        self.held_traces.fetch_sub(1, Ordering::AcqRel);
        let stats = self.signal_stats();
        if let Some(cause) = early {
            stats.record_early_decision(cause);
        }
        match keep {
            Some(policy) => {
                stats.record_trace_kept(policy);
                for span in held.spans {
                    sink.keep(span);
                }
            }
            None => {
                stats.record_trace_sampled_out();
                stats.record_sampled_out(held.spans.len() as u64);
                for span in held.spans {
                    sink.sample_out(span);
                }
            }
        }
    }

    /// Decides the oldest held traces until no more than the cap are held.
    fn enforce_max_traces(&self, sink: &dyn SpanSink<S>) {
        for _ in 0..EVICTION_ATTEMPTS {
            if self.held_traces.load(Ordering::Acquire) <= self.config.max_traces() {
                return;
            }
            self.decide_oldest(sink);
        }
    }

    /// Decides the oldest held trace of all shards early.
    fn decide_oldest(&self, sink: &dyn SpanSink<S>) {
        let mut oldest: Option<(Instant, usize, TraceId, u64)> = None;
        for (index, shard) in self.shards.iter().enumerate() {
            if let Some((first_seen, trace_id, seq)) = lock(&shard.0).oldest()
                && oldest.is_none_or(|(seen, ..)| first_seen < seen)
            {
                oldest = Some((first_seen, index, trace_id, seq));
            }
        }
        let Some((_, index, trace_id, seq)) = oldest else {
            return;
        };
        let mut shard = lock(&self.shards[index].0);
        // Another thread may have decided it meanwhile: then it is done.
        let Some(held) = shard.take_if_oldest(&trace_id, seq) else {
            return;
        };
        let keep = self.slow(&held, Instant::now());
        shard.remember(trace_id, verdict(keep.is_some()), true);
        drop(shard);
        self.settle(held, keep, Some(EarlyDecision::MaxTraces), sink);
    }

    /// Decides the traces held for the whole hold time; returns when the
    /// next one is due.
    fn sweep(&self, sink: &dyn SpanSink<S>) -> Option<Instant> {
        let now = Instant::now();
        // Held for `hold` with the latency policy as the shorter bound: the
        // local root has been open longer than the threshold.
        let slow_when_due = self.policies.latency.is_some_and(|l| l <= self.hold);
        let mut next: Option<Instant> = None;
        for shard in &*self.shards {
            let mut shard = lock(&shard.0);
            let expired = match now.checked_sub(self.hold) {
                Some(cutoff) => shard.take_expired(cutoff),
                None => Vec::new(),
            };
            let mut decided = Vec::with_capacity(expired.len());
            for (trace_id, held) in expired {
                let keep = if slow_when_due {
                    Some(SamplingPolicy::Latency)
                } else {
                    self.slow(&held, now)
                };
                shard.remember(trace_id, verdict(keep.is_some()), true);
                decided.push((held, keep));
            }
            if let Some((first_seen, ..)) = shard.oldest() {
                let due = crate::engine::later(first_seen, self.hold);
                next = Some(next.map_or(due, |n| n.min(due)));
            }
            drop(shard);
            for (held, keep) in decided {
                self.settle(held, keep, Some(EarlyDecision::DecisionWait), sink);
            }
        }
        next
    }

    /// Decides every held trace (under the policies, with what was seen) and
    /// stops the sweeper, waiting for it at most `timeout`. Spans ending
    /// later are decided one by one.
    ///
    /// Never inlined: the handle, `shutdown_within` and `Drop` share one
    /// copy per span type.
    #[inline(never)]
    pub(crate) fn close(&self, timeout: Duration) {
        let deadline = crate::engine::later(Instant::now(), timeout);
        if self.closed.swap(true, Ordering::AcqRel) {
            return;
        }
        let now = Instant::now();
        for shard in &*self.shards {
            let mut shard = lock(&shard.0);
            let all = shard.take_all();
            let mut decided = Vec::with_capacity(all.len());
            for (trace_id, held) in all {
                let keep = self.slow(&held, now);
                shard.remember(trace_id, verdict(keep.is_some()), true);
                decided.push((held, keep));
            }
            drop(shard);
            for (held, keep) in decided {
                match self.sink.get() {
                    Some(sink) => {
                        self.settle(held, keep, Some(EarlyDecision::Shutdown), sink.as_ref());
                    }
                    // Nothing was ever forwarded anywhere: no sink to keep
                    // into; the spans are counted, never lost silently.
                    None => self.settle(held, None, Some(EarlyDecision::Shutdown), &|_: S| {}),
                }
            }
        }
        self.sweeper.stop(deadline);
    }

    pub(crate) fn is_closed(&self) -> bool {
        self.closed.load(Ordering::Acquire)
    }

    pub(crate) fn snapshot(&self) -> TailSamplingStats {
        // Every shard at once (no other path holds two shard locks, so this
        // cannot deadlock): summed one after another, a busy stage could
        // count a trace evicted from one shard and its replacement in the
        // next, more than it ever held at one time.
        let shards: Vec<_> = self.shards.iter().map(|s| lock(&s.0)).collect();
        let held_spans = shards.iter().map(|shard| shard.held_spans()).sum();
        let held_traces = shards.iter().map(|shard| shard.held_traces()).sum();
        drop(shards);
        let counters = self.signal_stats().snapshot();
        TailSamplingStats {
            held_traces,
            held_spans,
            max_traces: self.config.max_traces(),
            sampled_out: counters.sampled_out,
            sampling: counters.sampling,
        }
    }
}

impl<S> Drop for Core<S> {
    fn drop(&mut self) {
        // The sweeper holds only a weak reference: wake it to see it is gone.
        self.sweeper.unpark();
    }
}

/// What the sweeper thread needs of a stage, whatever its span type.
trait Sweep: Send + Sync + 'static {
    /// Decides the traces that are due; returns when the next one is due
    /// and the hold time, or `None` once the stage is closed.
    fn sweep_due(&self) -> Option<(Option<Instant>, Duration)>;
}

impl<S: TailSpan> Sweep for Core<S> {
    fn sweep_due(&self) -> Option<(Option<Instant>, Duration)> {
        if self.is_closed() {
            return None;
        }
        let next = match self.sink.get() {
            Some(sink) => self.sweep(sink.as_ref()),
            None => None,
        };
        Some((next, self.hold))
    }
}

/// The sweeper thread of a stage: started with the first held trace,
/// stopped by the stage's close. Not generic over the span type, so that
/// the thread and its loop are compiled once.
struct Sweeper {
    /// The stage, weakly: the thread must not keep it alive.
    stage: Weak<dyn Sweep>,
    thread: OnceLock<Option<Thread>>,
    done: Mutex<Option<otlpkit_bridge::Taker<()>>>,
}

impl Sweeper {
    fn new(stage: Weak<dyn Sweep>) -> Self {
        Self {
            stage,
            thread: OnceLock::new(),
            done: Mutex::new(None),
        }
    }

    /// The thread, started on the first call.
    fn thread(&self) -> Option<&Thread> {
        self.thread
            .get_or_init(|| {
                let stage = self.stage.clone();
                let (done, finished) = otlpkit_bridge::handoff::<()>();
                let spawned = thread::Builder::new()
                    .name("otlpkit-tail-sampling".to_owned())
                    .spawn(move || {
                        let _done = done;
                        sweep_until_closed(&stage);
                    });
                match spawned {
                    Ok(handle) => {
                        *lock(&self.done) = Some(finished);
                        Some(handle.thread().clone())
                    }
                    Err(error) => {
                        crate::diag::warn(format_args!(
                            "tail sampling: no thread for the decision wait ({error}); \
                             traces are decided when their local root ends, at the caps \
                             or at shutdown"
                        ));
                        None
                    }
                }
            })
            .as_ref()
    }

    /// Wakes the thread, if it was started.
    fn unpark(&self) {
        if let Some(Some(thread)) = self.thread.get() {
            thread.unpark();
        }
    }

    /// Wakes the thread of a closed stage and waits for it to end, at most
    /// until `deadline`.
    fn stop(&self, deadline: Instant) {
        self.unpark();
        if let Some(finished) = lock(&self.done).take() {
            let _ = finished.wait_timeout(deadline.saturating_duration_since(Instant::now()));
        }
    }
}

fn verdict(keep: bool) -> Verdict {
    if keep { Verdict::Keep } else { Verdict::Drop }
}

/// The sweeper's loop: decide what is due, then sleep until the next trace
/// is due, or for one hold time when none is held, and never less than
/// [`MIN_SWEEP_SLEEP`]. Producers never wake it: a trace held while it
/// sleeps is due one hold time after it was first seen, no earlier than the
/// sweeper wakes, so waking it per trace would only cost a context switch
/// per trace.
fn sweep_until_closed(stage: &Weak<dyn Sweep>) {
    loop {
        let Some(stage) = stage.upgrade() else {
            return;
        };
        let Some((next, hold)) = stage.sweep_due() else {
            return;
        };
        drop(stage);
        let now = Instant::now();
        let wait = next.map_or(hold, |next| next.saturating_duration_since(now).min(hold));
        thread::park_timeout(wait.max(MIN_SWEEP_SLEEP));
    }
}

/// The tail-sampling stage over spans of type `S`, for a span path that is
/// not an SDK `SpanProcessor` (the SDK path uses
/// [`TailSamplingProcessor`](super::TailSamplingProcessor), built on it).
///
/// ```
/// use std::sync::{Arc, Mutex};
/// use opentelemetry_sdk::trace::SpanData;
/// use otlpkit_batch::tail::TailSampler;
/// use otlpkit_core::TailSamplingConfig;
///
/// let kept: Arc<Mutex<Vec<SpanData>>> = Arc::default();
/// let into = Arc::clone(&kept);
/// let config = TailSamplingConfig::builder().with_ratio(0.0).build(&otlpkit_core::MapEnv::new())?.into_value();
/// let sampler = TailSampler::builder()
///     .with_config(config)
///     .build(move |span: SpanData| into.lock().unwrap().push(span));
/// // Hand every ended span to `sampler.on_end(span)`; shut it down last.
/// let stats = sampler.shutdown_within(std::time::Duration::from_secs(1));
/// assert_eq!(stats.held_traces, 0);
/// # Ok::<(), otlpkit_core::ConfigError>(())
/// ```
pub struct TailSampler<S: TailSpan> {
    core: Arc<Core<S>>,
}

impl<S: TailSpan> fmt::Debug for TailSampler<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.core.fmt(f)
    }
}

impl<S: TailSpan> TailSampler<S> {
    /// A builder: the default [`TailSamplingConfig`], no attribute rule,
    /// fresh counters. The span type is inferred from the sink given to
    /// [`build`](TailSamplerBuilder::build).
    pub fn builder() -> TailSamplerBuilder<S> {
        TailSamplerBuilder::default()
    }

    pub(crate) fn detached(builder: TailSamplerBuilder<S>) -> Self {
        Self {
            core: Core::new(builder.config, builder.rules, builder.stats),
        }
    }

    pub(crate) fn core(&self) -> &Core<S> {
        &self.core
    }

    /// Takes one ended span: held, kept (sent to the sink) or sampled out.
    /// Spans that were not sampled by the head sampler should not be passed.
    pub fn on_end(&self, span: S) {
        if let Some(sink) = self.core.sink.get() {
            self.core.offer(span, sink.as_ref());
        }
    }

    /// Keeps the trace whole because its incoming parent was sampled
    /// upstream (unless that policy is off); for a span path that learns the
    /// flag when the local root starts rather than from the ended span.
    pub fn keep_parent_sampled(&self, trace_id: TraceId) {
        if let Some(sink) = self.core.sink.get() {
            self.core.keep_parent_sampled(trace_id, sink.as_ref());
        }
    }

    /// A span of `trace_id` started under `parent` (its parent's context;
    /// `sampled`: the head sampler's decision for the span): when it is a
    /// local root whose remote parent was sampled upstream, the trace is
    /// kept whole ([`keep_parent_sampled`](Self::keep_parent_sampled)).
    pub fn on_start(&self, parent: &SpanContext, trace_id: TraceId, sampled: bool) {
        if let Some(sink) = self.core.sink.get() {
            self.core.on_start(parent, trace_id, sampled, sink.as_ref());
        }
    }

    /// A handle for statistics, shutdown and self-metrics.
    pub fn handle(&self) -> TailSamplingHandle {
        TailSamplingHandle::new(Arc::clone(&self.core) as Arc<dyn super::handle::Control>)
    }

    /// Decides every held trace and stops the sweeper thread (waiting for it
    /// at most `timeout`); spans ending later are decided one by one, never
    /// held. Returns the statistics after it.
    pub fn shutdown_within(&self, timeout: Duration) -> TailSamplingStats {
        self.core.close(timeout);
        self.core.snapshot()
    }
}

impl<S: TailSpan> Drop for TailSampler<S> {
    fn drop(&mut self) {
        self.core.close(STOP_ON_DROP);
    }
}

/// Builds a [`TailSampler`] (and, through
/// [`TailSamplingProcessorBuilder`](super::TailSamplingProcessorBuilder),
/// the SDK processor).
pub struct TailSamplerBuilder<S> {
    pub(crate) config: TailSamplingConfig,
    pub(crate) rules: Vec<AttributeRule>,
    pub(crate) stats: ExportStats,
    span: PhantomData<fn(S)>,
}

impl<S> Default for TailSamplerBuilder<S> {
    fn default() -> Self {
        Self {
            config: TailSamplingConfig::default(),
            rules: Vec::new(),
            stats: ExportStats::default(),
            span: PhantomData,
        }
    }
}

impl<S> fmt::Debug for TailSamplerBuilder<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TailSamplerBuilder")
            .field("config", &self.config)
            .field("rules", &self.rules)
            .finish_non_exhaustive()
    }
}

impl<S: TailSpan> TailSamplerBuilder<S> {
    /// The policies and bounds (its `enabled` flag is for the pipeline that
    /// decides whether to add the stage; the stage ignores it).
    #[must_use]
    pub fn with_config(mut self, config: TailSamplingConfig) -> Self {
        self.config = config;
        self
    }

    /// Also keep traces with a span matching `rule`.
    #[must_use]
    pub fn with_attribute_rule(mut self, rule: AttributeRule) -> Self {
        self.rules.push(rule);
        self
    }

    /// The counters to record the decisions in: those of the pipeline the
    /// stage is in front of, so that its traces' `sampled_out` stands beside
    /// their delivery and drops.
    #[must_use]
    pub fn with_stats(mut self, stats: ExportStats) -> Self {
        self.stats = stats;
        self
    }

    /// Builds the stage, sending the spans of kept traces to `sink`.
    pub fn build(self, sink: impl SpanSink<S>) -> TailSampler<S> {
        let sampler = TailSampler::detached(self);
        let sink: Arc<dyn SpanSink<S>> = Arc::new(sink);
        sampler.core.attach(|| sink);
        sampler
    }
}

/// Locks `mutex`. The stage calls no code of the application under its
/// locks (kept spans are handed on after the lock is released), so a
/// poisoned lock can only follow a panic in the stage itself; it is used
/// as it is rather than spreading that panic to every thread that ends a
/// span, as the engine's queue does.
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tail::AttributeRef;
    use opentelemetry::trace::SpanId;
    use otlpkit_core::MapEnv;

    /// A span representation of its own, as a native span path has: the
    /// stage needs nothing but the `TailSpan` impl and a sink.
    #[derive(Debug, Clone, PartialEq)]
    struct Record {
        trace: u128,
        span: u64,
        parent: u64,
        remote_parent_sampled: Option<bool>,
        error: bool,
    }

    impl TailSpan for Record {
        fn trace_id(&self) -> TraceId {
            TraceId::from(self.trace)
        }
        fn span_id(&self) -> SpanId {
            SpanId::from(self.span)
        }
        fn parent_span_id(&self) -> SpanId {
            SpanId::from(self.parent)
        }
        fn parent_is_remote(&self) -> bool {
            self.remote_parent_sampled.is_some()
        }
        fn remote_parent_sampled(&self) -> Option<bool> {
            self.remote_parent_sampled
        }
        fn is_error(&self) -> bool {
            self.error
        }
        fn start_time(&self) -> SystemTime {
            SystemTime::now()
        }
        fn end_time(&self) -> SystemTime {
            SystemTime::now()
        }
        fn attribute(&self, _key: &str) -> Option<AttributeRef<'_>> {
            None
        }
    }

    fn record(trace: u128, span: u64, parent: u64) -> Record {
        Record {
            trace,
            span,
            parent,
            remote_parent_sampled: None,
            error: false,
        }
    }

    /// Keeps and takes back spans into two lists.
    #[derive(Default)]
    struct TwoWays {
        kept: Mutex<Vec<(u128, u64)>>,
        sampled_out: Mutex<Vec<(u128, u64)>>,
    }

    impl SpanSink<Record> for Arc<TwoWays> {
        fn keep(&self, span: Record) {
            lock(&self.kept).push((span.trace, span.span));
        }
        fn sample_out(&self, span: Record) {
            lock(&self.sampled_out).push((span.trace, span.span));
        }
    }

    /// Every span sampled out reaches the sink's `sample_out` once, whether
    /// it was held (decided at its root, by a cap, at shutdown) or followed
    /// a decision already made, and exactly those spans are counted.
    #[test]
    fn spans_sampled_out_go_back_to_the_sink() {
        let sink = Arc::new(TwoWays::default());
        let stats = ExportStats::new();
        let config = TailSamplingConfig::builder()
            .with_ratio(0.0)
            .with_max_traces(1)
            .build(&MapEnv::new())
            .unwrap()
            .into_value();
        let sampler = TailSampler::builder()
            .with_config(config)
            .with_stats(stats.clone())
            .build(Arc::clone(&sink));
        // Trace 1 held, then decided at its root; a late span follows.
        sampler.on_end(record(1, 11, 10));
        sampler.on_end(record(1, 10, 0));
        sampler.on_end(record(1, 12, 10));
        // Trace 2 held, pushed out by trace 3 past the cap of one trace.
        sampler.on_end(record(2, 21, 20));
        sampler.on_end(record(3, 31, 30));
        // Trace 4 kept by an error: not sampled out.
        let mut failed = record(4, 41, 40);
        failed.error = true;
        sampler.on_end(failed);
        // Trace 3 still held: decided at shutdown.
        let after = sampler.shutdown_within(Duration::from_secs(1));

        let mut out = lock(&sink.sampled_out).clone();
        out.sort_unstable();
        assert_eq!(out, [(1, 10), (1, 11), (1, 12), (2, 21), (3, 31)]);
        assert_eq!(*lock(&sink.kept), [(4, 41)]);
        assert_eq!(after.sampled_out, out.len() as u64);
        assert_eq!(
            stats.snapshot().signal(Signal::Traces).sampled_out,
            out.len() as u64
        );
    }

    #[test]
    fn any_span_type_with_a_tail_span_impl_is_tail_sampled() {
        let kept: Arc<Mutex<Vec<Record>>> = Arc::default();
        let into = Arc::clone(&kept);
        let stats = ExportStats::new();
        let config = TailSamplingConfig::builder()
            .with_ratio(0.0)
            .build(&MapEnv::new())
            .unwrap()
            .into_value();
        let sampler = TailSampler::builder()
            .with_config(config)
            .with_stats(stats.clone())
            .build(move |record: Record| lock(&into).push(record));

        // Trace 1: an error in a child; trace 2: nothing; trace 3: the
        // record carries its remote parent's sampled flag.
        sampler.on_end(record(1, 11, 10));
        let mut failed = record(1, 12, 10);
        failed.error = true;
        sampler.on_end(failed);
        sampler.on_end(record(1, 10, 0));
        sampler.on_end(record(2, 21, 20));
        sampler.on_end(record(2, 20, 0));
        sampler.on_end(record(3, 31, 30));
        let mut entry = record(3, 30, 99);
        entry.remote_parent_sampled = Some(true);
        sampler.on_end(entry);
        // A late span of trace 2 follows its decision.
        sampler.on_end(record(2, 22, 20));
        let after = sampler.shutdown_within(Duration::from_secs(1));

        let spans: Vec<(u128, u64)> = lock(&kept).iter().map(|r| (r.trace, r.span)).collect();
        assert_eq!(spans, [(1, 11), (1, 12), (1, 10), (3, 31), (3, 30)]);
        assert_eq!(after.sampled_out, 3);
        assert_eq!(after.sampling.kept(SamplingPolicy::Error), 1);
        assert_eq!(after.sampling.kept(SamplingPolicy::ParentSampled), 1);
        assert_eq!(after.sampling.traces_sampled_out, 1);
        assert_eq!((after.held_traces, after.held_spans), (0, 0));
        assert_eq!(stats.snapshot().signal(Signal::Traces).sampled_out, 3);
        assert!(format!("{sampler:?}").contains("TailSampler"));
        assert!(after.to_string().contains("error 1"), "{after}");
    }
}
