//! In-process tail sampling: keep every trace that matters, whole.
//!
//! Head sampling decides when a trace starts, before anyone knows whether it
//! will fail: at a 10 % ratio, 90 % of failing traces are gone. This stage
//! sits in front of the span queue and decides when a trace has ended in this
//! process. The ended spans of each trace are held, keyed by trace id, until
//! the trace's local root ends (or the decision wait passes); then the whole
//! trace is kept (sent on to the queue) or sampled out (counted).
//!
//! # Policies
//!
//! A trace is kept, and counted under the first policy that matched, when:
//!
//! 1. `error`: any of its spans has an error status;
//! 2. `latency`: any of its spans lasted longer than the latency threshold,
//!    or its local root, still open, already has;
//! 3. `attribute`: any of its spans matches an [`AttributeRule`];
//! 4. `parent_sampled`: its incoming (remote) parent was sampled upstream
//!    (on by default, off with
//!    [`with_keep_parent_sampled(false)`](otlpkit_core::TailSamplingConfigBuilder::with_keep_parent_sampled));
//! 5. `ratio`: its trace id falls in the ratio, decided with the algorithm of
//!    the SDK's `TraceIdRatioBased` sampler, so that every service using the
//!    same ratio keeps the same traces.
//!
//! Keeping is final, so a trace is kept the moment the evidence is there:
//! its held spans go on at once and its later spans follow without being
//! held. The ratio and the parent are known from the first span on, so only
//! the traces that would otherwise be sampled out are ever held. A trace
//! nothing kept is sampled out when its local root ends. Spans that end
//! after their trace was decided follow the decision, as long as the stage
//! remembers it:
//!
//! - a trace decided before its local root ended (kept by evidence, the
//!   parent or the ratio, or decided early at a cap) can still get spans
//!   from this process: its verdict is kept until that root ends, however
//!   many other traces are decided meanwhile, for up to `max_traces` such
//!   traces at once (at least 4,096). Past that, the one least recently
//!   seen is remembered as if its root had ended;
//! - a trace whose local root ended is remembered for the last
//!   `max(2 × max_traces, 8,192)` traces seen (each span of a trace makes it
//!   the most recently seen).
//!
//! A span of a trace forgotten (one ending after its root, or after the
//! first bound was passed, once the second has) starts the trace anew: it is
//! decided and counted again, and may be decided otherwise. A local root
//! starting under a sampled remote parent does not keep a trace already
//! sampled out: its spans follow that decision.
//!
//! # Bounds
//!
//! - A trace is held at most the decision wait, or the latency threshold if
//!   shorter (a local root open that long is slow: the trace is kept). The
//!   sweeper that decides it sleeps at least 1 ms at a time, so with a hold
//!   time below that a trace is decided up to 1 ms late, rather than the
//!   sweeper busy on a core.
//! - At most `max_traces` undecided traces are held: the oldest is decided
//!   early, under the same policies (kept if its root is already slow,
//!   sampled out otherwise), never dropped silently.
//! - A trace that reaches `max_spans_per_trace` held spans is decided early
//!   the same way.
//!
//! So the stage holds at most `max_traces × max_spans_per_trace` spans, and
//! in practice the spans ended within one hold time. Every early decision is
//! counted by cause ([`EarlyDecision`](otlpkit_core::stats::EarlyDecision)).
//!
//! # Accounting
//!
//! Spans sampled out are counted as
//! [`sampled_out`](otlpkit_core::stats::SignalStatsSnapshot::sampled_out), a
//! category of its own beside the drops: once everything has settled,
//! `produced = exported + Σ dropped + sampled_out`. The decisions are
//! counted trace by trace in
//! [`SamplingSnapshot`](otlpkit_core::stats::SamplingSnapshot) (kept per
//! policy, sampled out, decided early by cause), and reported as
//! self-metrics by [`TailSamplingHandle::register_metrics`].
//!
//! # Concurrency and cost
//!
//! Held traces live in shards (a mutex and a map each, on
//! their own cache lines), picked by the trace id: a span end locks one
//! shard, never a lock an export holds. Spans of one trace may end on any
//! thread in any order; the decision is made once, under the shard's lock.
//! Kept spans are handed on after the lock is released. A sweeper thread
//! (`otlpkit-tail-sampling`, started with the first held trace) decides the
//! traces whose hold time has passed.
//!
//! # Span paths
//!
//! The stage is generic over [`TailSpan`], what it reads from an ended span.
//! [`TailSamplingProcessor`] is the SDK path: a `SpanProcessor` in front of
//! any other (the [`BatchSpanProcessor`](crate::BatchSpanProcessor)). Any
//! other span representation implements [`TailSpan`] and feeds a
//! [`TailSampler`] whose [`SpanSink`] is its queue; the sink's
//! [`sample_out`](SpanSink::sample_out) receives the spans of traces
//! sampled out, after they are counted, for a path that pools its spans.
//!
//! # Sampling upstream and downstream
//!
//! The head sampler (`OTEL_TRACES_SAMPLER`) still applies first: only spans
//! it samples reach the stage, so tail sampling wants a head sampler that
//! samples every trace this service starts (the default,
//! `parentbased_always_on`). While a trace is undecided, the services it
//! calls see `sampled=1` and record their part; if this stage then samples
//! the trace out, their spans are exported without it. That costs the
//! downstream volume, and it is the right default: the alternative
//! (`sampled=0` until decided) would lose the downstream spans of exactly the
//! traces worth keeping. The decision sees only this process's spans; for a
//! decision over a whole distributed trace, use the Collector's tail
//! sampling behind a trace-id-aware load balancer.

mod handle;
mod policy;
mod processor;
mod sampler;
mod span;
mod store;

pub use handle::{TailSamplingHandle, TailSamplingStats, metric_names};
pub use policy::AttributeRule;
pub use processor::{TailSamplingProcessor, TailSamplingProcessorBuilder};
pub use sampler::{SpanSink, TailSampler, TailSamplerBuilder};
pub use span::{AttributeRef, TailSpan};

/// Whether a trace id falls in `ratio` under the SDK's `TraceIdRatioBased`
/// algorithm, as the stage's ratio policy decides it.
pub fn ratio_keeps(ratio: f64, trace_id: opentelemetry::trace::TraceId) -> bool {
    policy::Ratio::new(ratio).keeps(trace_id)
}
