//! The stage's memory of its decisions: a trace decided before its local
//! root ended (kept by a parent sampled upstream or by a child's error, or
//! decided early by a cap) follows that decision until its root ends, however
//! many other traces are decided meanwhile, and is counted once.
//!
//! These tests feed a `TailSampler` directly with records of their own, so
//! the floods of other traces cost microseconds a span.
#![cfg(feature = "tail-sampling")]

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use opentelemetry::trace::{SpanId, TraceId};
use otlpkit_batch::tail::{AttributeRef, SpanSink, TailSampler, TailSpan};
use otlpkit_core::stats::{EarlyDecision, ExportStats, SamplingPolicy, SignalStatsSnapshot};
use otlpkit_core::{MapEnv, Signal, TailSamplingConfig, TailSamplingConfigBuilder};

/// More root-only traces than the stage remembers verdicts for
/// (`max(2 × max_traces, 8,192)` with the default `max_traces` of 10,000).
const FLOOD: u128 = 30_000;

#[derive(Debug)]
struct Rec {
    trace: u128,
    span: u64,
    parent: u64,
    remote: bool,
    error: bool,
}

impl TailSpan for Rec {
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
        self.remote
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
    fn attribute(&self, _: &str) -> Option<AttributeRef<'_>> {
        None
    }
}

fn child(trace: u128, span: u64) -> Rec {
    Rec {
        trace,
        span,
        parent: 1,
        remote: false,
        error: false,
    }
}

/// The local root (span 1) of a trace entering from a remote parent.
fn entry(trace: u128) -> Rec {
    Rec {
        trace,
        span: 1,
        parent: 99,
        remote: true,
        error: false,
    }
}

/// Spans kept and sampled out, per trace.
#[derive(Default)]
struct Sink {
    kept: Mutex<HashMap<u128, u64>>,
    sampled_out: Mutex<HashMap<u128, u64>>,
}

impl SpanSink<Rec> for Arc<Sink> {
    fn keep(&self, span: Rec) {
        *self.kept.lock().unwrap().entry(span.trace).or_default() += 1;
    }
    fn sample_out(&self, span: Rec) {
        *self
            .sampled_out
            .lock()
            .unwrap()
            .entry(span.trace)
            .or_default() += 1;
    }
}

impl Sink {
    /// (spans kept, spans sampled out) of `trace`.
    fn of(&self, trace: u128) -> (u64, u64) {
        let get = |m: &Mutex<HashMap<u128, u64>>| m.lock().unwrap().get(&trace).copied();
        (
            get(&self.kept).unwrap_or(0),
            get(&self.sampled_out).unwrap_or(0),
        )
    }
}

struct Stage {
    sampler: TailSampler<Rec>,
    sink: Arc<Sink>,
    stats: ExportStats,
}

fn stage(config: TailSamplingConfigBuilder) -> Stage {
    let sink = Arc::new(Sink::default());
    let stats = ExportStats::new();
    let config = config
        .with_ratio(0.0)
        .build(&MapEnv::new())
        .unwrap()
        .into_value();
    let sampler = TailSampler::builder()
        .with_config(config)
        .with_stats(stats.clone())
        .build(Arc::clone(&sink));
    Stage {
        sampler,
        sink,
        stats,
    }
}

impl Stage {
    /// `FLOOD` short requests (root-only traces, sampled out) end.
    fn flood(&self) {
        for n in 1..=FLOOD {
            self.sampler.on_end(Rec {
                trace: n << 64 | n.wrapping_mul(0x9E37_79B9_7F4A_7C15),
                span: 1,
                parent: 0,
                remote: false,
                error: false,
            });
        }
    }

    fn finish(self) -> (Arc<Sink>, SignalStatsSnapshot) {
        let after = self.sampler.shutdown_within(Duration::from_secs(5));
        assert_eq!((after.held_traces, after.held_spans), (0, 0));
        (self.sink, self.stats.snapshot().signal(Signal::Traces))
    }
}

/// On the SDK path the ended spans do not carry the parent's sampled flag:
/// the verdict given when the local root started is all that keeps the rest
/// of the trace, and it must outlast the decisions of other traces.
#[test]
fn tail_keeps_a_parent_sampled_trace_whole_while_other_traces_are_decided() {
    let stage = stage(TailSamplingConfig::builder());
    let ours = 0xabcdef_u128;
    stage.sampler.keep_parent_sampled(TraceId::from(ours));
    stage.sampler.on_end(child(ours, 2));
    stage.flood();
    stage.sampler.on_end(child(ours, 3));
    stage.sampler.on_end(entry(ours));
    let (sink, traces) = stage.finish();
    assert_eq!(sink.of(ours), (3, 0), "kept whole");
    assert_eq!(traces.sampling.kept(SamplingPolicy::ParentSampled), 1);
    assert_eq!(traces.sampling.traces_sampled_out, FLOOD as u64);
    assert_eq!(traces.sampling.traces_decided(), FLOOD as u64 + 1);
    assert_eq!(traces.sampled_out, FLOOD as u64);
}

/// A child's error keeps the trace before its root ends; its spans ending
/// after a flood of other decisions are kept too.
#[test]
fn tail_keeps_a_trace_kept_by_a_childs_error_whole_while_other_traces_are_decided() {
    let stage = stage(TailSamplingConfig::builder());
    let ours = 0xfeed_u128;
    stage.sampler.on_end(child(ours, 2));
    let mut failed = child(ours, 3);
    failed.error = true;
    stage.sampler.on_end(failed);
    stage.flood();
    stage.sampler.on_end(child(ours, 4));
    stage.sampler.on_end(entry(ours));
    let (sink, traces) = stage.finish();
    assert_eq!(sink.of(ours), (4, 0), "kept whole");
    assert_eq!(traces.sampling.kept(SamplingPolicy::Error), 1);
    assert_eq!(traces.sampling.traces_decided(), FLOOD as u64 + 1);
}

/// A trace sampled out early (its spans reached the cap) stays sampled out
/// until its root ends, however much is decided meanwhile: an error after
/// the flood does not keep the rest of it, nor count it a second time.
#[test]
fn tail_does_not_decide_a_trace_sampled_out_early_again_after_other_decisions() {
    let stage = stage(TailSamplingConfig::builder().with_max_spans_per_trace(2));
    let ours = 0xbeef_u128;
    stage.sampler.on_end(child(ours, 2));
    stage.sampler.on_end(child(ours, 3));
    stage.flood();
    let mut failed = child(ours, 4);
    failed.error = true;
    stage.sampler.on_end(failed);
    stage.sampler.on_end(entry(ours));
    let (sink, traces) = stage.finish();
    assert_eq!(sink.of(ours), (0, 4), "sampled out whole");
    assert_eq!(traces.sampling.early(EarlyDecision::MaxSpansPerTrace), 1);
    assert_eq!(traces.sampling.traces_kept(), 0);
    assert_eq!(traces.sampling.traces_sampled_out, FLOOD as u64 + 1);
}

/// A trace already sampled out is not counted as kept when a local root of
/// it starts under a sampled remote parent: it was decided once, and its
/// later spans follow that decision.
#[test]
fn tail_parent_sampled_does_not_keep_a_trace_already_sampled_out() {
    let stage = stage(TailSamplingConfig::builder());
    let ours = 0xd00d_u128;
    stage.sampler.on_end(child(ours, 2));
    stage.sampler.on_end(entry(ours));
    // A second request of the same trace enters under a sampled parent.
    stage.sampler.keep_parent_sampled(TraceId::from(ours));
    stage.sampler.on_end(child(ours, 12));
    let (sink, traces) = stage.finish();
    assert_eq!(sink.of(ours), (0, 3));
    assert_eq!(traces.sampling.traces_kept(), 0);
    assert_eq!(traces.sampling.traces_decided(), 1);
    assert_eq!(traces.sampled_out, 3);
}
