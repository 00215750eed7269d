//! The tail-sampling stage in front of the batch span processor, exporting
//! over gRPC to the testkit receiver: exactly the traces with an error, a
//! slow span, a matching attribute or a sampled parent arrive, whole; a
//! trace is decided once whatever the order and the threads its spans end
//! on; the caps hold under a flood; and the accounting is exact.
//!
//! Slow spans get explicit start and end times (hours apart, against a
//! threshold of an hour), so no test depends on how fast the machine is.
//! The decision wait is driven with short waits and generous hang guards.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant, SystemTime};

use opentelemetry::trace::{
    Span as _, Status, TraceContextExt as _, TraceId, Tracer as _, TracerProvider as _,
};
use opentelemetry::{Context, KeyValue};
use opentelemetry_sdk::trace::{Sampler, SdkTracer, SdkTracerProvider, ShouldSample as _};
use otlpkit_batch::tail::{
    AttributeRule, TailSamplingHandle, TailSamplingProcessor, metric_names, ratio_keeps,
};
use otlpkit_batch::{BatchSpanProcessor, ProcessorHandle};
use otlpkit_bridge::WorkerRuntime;
use otlpkit_core::stats::{EarlyDecision, ExportStats, SamplingPolicy, SignalStatsSnapshot};
use otlpkit_core::{MapEnv, OverflowPolicy, Signal, TailSamplingConfig, TailSamplingConfigBuilder};
use otlpkit_fixtures::spans::remote_parent;
use otlpkit_testkit::Receiver;
use proptest::prelude::*;

/// How long anything may take (a hang guard, never a threshold).
const WAIT: Duration = Duration::from_secs(30);

/// The latency threshold of most tests, and how long a "slow" span lasts.
const THRESHOLD: Duration = Duration::from_secs(3600);
const SLOW: Duration = Duration::from_secs(2 * 3600);

/// A tracer provider with the stage in front of a batch processor that
/// blocks rather than drop, so every kept span must arrive.
struct Pipeline {
    provider: SdkTracerProvider,
    tracer: SdkTracer,
    tail: TailSamplingHandle,
    batch: ProcessorHandle,
    stats: ExportStats,
}

impl Pipeline {
    fn new(
        receiver: &Receiver,
        config: TailSamplingConfigBuilder,
        rules: &[AttributeRule],
    ) -> Self {
        Self::with_sampler(
            receiver,
            config,
            rules,
            Sampler::ParentBased(Box::new(Sampler::AlwaysOn)),
        )
    }

    fn with_sampler(
        receiver: &Receiver,
        config: TailSamplingConfigBuilder,
        rules: &[AttributeRule],
        sampler: Sampler,
    ) -> Self {
        let stats = ExportStats::new();
        let worker = WorkerRuntime::start("tail-sampling-test").unwrap();
        let exporter = otlpkit_grpc::SpanExporter::builder()
            .with_endpoint(receiver.grpc_endpoint())
            .with_worker(worker.clone())
            .build()
            .unwrap();
        let batch = BatchSpanProcessor::builder(exporter)
            .with_worker_runtime(worker)
            .with_stats(stats.clone())
            .with_max_queue_size(1 << 16)
            .with_overflow_policy(OverflowPolicy::Block { timeout: WAIT })
            .build()
            .unwrap();
        let batch_handle = batch.handle();
        let config = config
            .with_enabled(true)
            .build(&MapEnv::new())
            .unwrap()
            .into_value();
        let mut tail = TailSamplingProcessor::builder(batch)
            .with_config(config)
            .with_stats(stats.clone());
        for rule in rules {
            tail = tail.with_attribute_rule(rule.clone());
        }
        let tail = tail.build();
        let tail_handle = tail.handle();
        let provider = SdkTracerProvider::builder()
            .with_sampler(sampler)
            .with_span_processor(tail)
            .build();
        let tracer = provider.tracer("tail-sampling-test");
        Self {
            provider,
            tracer,
            tail: tail_handle,
            batch: batch_handle,
            stats,
        }
    }

    fn traces(&self) -> SignalStatsSnapshot {
        self.stats.snapshot().signal(Signal::Traces)
    }

    /// Shuts everything down (the stage first, then the batch processor)
    /// and returns the final counters.
    fn shutdown(self) -> SignalStatsSnapshot {
        self.provider.shutdown_with_timeout(WAIT).unwrap();
        let totals = self.batch.stats();
        let counters = self.traces();
        assert_eq!(totals.counters, counters);
        assert_eq!(self.tail.stats().held_traces, 0);
        assert_eq!(self.tail.stats().held_spans, 0);
        counters
    }
}

/// A span started at `start` as a child of `cx` (its end time is given
/// when it ends).
fn timed_span(
    tracer: &SdkTracer,
    name: &str,
    cx: &Context,
    start: SystemTime,
) -> opentelemetry_sdk::trace::Span {
    tracer
        .span_builder(name.to_owned())
        .with_start_time(start)
        .start_with_context(tracer, cx)
}

/// Spans received per trace id (hex), checking that no span arrived twice.
fn received_by_trace(receiver: &Receiver) -> HashMap<String, Vec<String>> {
    let mut seen = HashSet::new();
    let mut traces: HashMap<String, Vec<String>> = HashMap::new();
    for span in receiver.spans() {
        assert!(seen.insert(span.span_id_hex()), "duplicate {span:?}");
        traces
            .entry(span.trace_id_hex())
            .or_default()
            .push(span.name().to_owned());
    }
    traces
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Marked {
    Plain,
    ErrorDeep,
    SlowChild,
    SlowRoot,
    Attribute,
}

/// One request: `req` → `db` → `query` → `row`, and `cache` beside `db`;
/// the marked span carries the evidence.
fn request(tracer: &SdkTracer, i: usize, marked: Marked) -> TraceId {
    let t0 = SystemTime::now();
    let root = timed_span(tracer, &format!("req-{i}"), &Context::new(), t0);
    let trace_id = root.span_context().trace_id();
    let root_cx = Context::new().with_span(root);
    {
        let db = timed_span(tracer, &format!("db-{i}"), &root_cx, t0);
        let db_cx = root_cx.with_span(db);
        {
            let query = timed_span(tracer, &format!("query-{i}"), &db_cx, t0);
            let query_cx = db_cx.with_span(query);
            let row = timed_span(tracer, &format!("row-{i}"), &query_cx, t0);
            let row_cx = query_cx.with_span(row);
            if marked == Marked::ErrorDeep {
                row_cx
                    .span()
                    .set_status(Status::error("constraint violated"));
            }
            row_cx.span().end();
            query_cx.span().end();
        }
        let cache = timed_span(tracer, &format!("cache-{i}"), &root_cx, t0);
        let cache_cx = root_cx.with_span(cache);
        if marked == Marked::Attribute {
            cache_cx
                .span()
                .set_attribute(KeyValue::new("debug.keep", true));
        }
        if marked == Marked::SlowChild {
            cache_cx.span().end_with_timestamp(t0 + SLOW);
        } else {
            cache_cx.span().end();
        }
        db_cx.span().end();
    }
    if marked == Marked::SlowRoot {
        root_cx.span().end_with_timestamp(t0 + SLOW);
    } else {
        root_cx.span().end();
    }
    trace_id
}

// With ratio 0 only the traces some policy keeps arrive, every span of each.
#[test]
fn with_ratio_zero_exactly_the_error_slow_and_matching_traces_arrive_whole() {
    let receiver = Receiver::start().unwrap();
    let pipeline = Pipeline::new(
        &receiver,
        TailSamplingConfig::builder()
            .with_ratio(0.0)
            .with_latency_threshold(Some(THRESHOLD)),
        &[AttributeRule::bool("debug.keep", true)],
    );
    const TRACES: usize = 120;
    let mut expected = HashMap::new();
    for i in 0..TRACES {
        let marked = match i {
            _ if i % 24 == 3 => Marked::ErrorDeep,
            _ if i % 40 == 7 => Marked::SlowChild,
            100 => Marked::SlowRoot,
            50 => Marked::Attribute,
            _ => Marked::Plain,
        };
        let trace_id = request(&pipeline.tracer, i, marked);
        if marked != Marked::Plain {
            expected.insert(trace_id.to_string(), i);
        }
    }
    assert_eq!(expected.len(), 10);
    assert_eq!(pipeline.tail.stats().held_traces, 0, "every root ended");
    let counters = pipeline.shutdown();

    let received = received_by_trace(&receiver);
    assert_eq!(
        received.keys().collect::<HashSet<_>>(),
        expected.keys().collect::<HashSet<_>>()
    );
    for (trace_id, names) in &received {
        let i = expected[trace_id];
        let mut names = names.clone();
        names.sort();
        let mut whole: Vec<String> = ["cache", "db", "query", "req", "row"]
            .iter()
            .map(|n| format!("{n}-{i}"))
            .collect();
        whole.sort();
        assert_eq!(names, whole, "trace {i} arrived whole");
    }

    let produced = (TRACES * 5) as u64;
    assert_eq!(counters.exported, 50);
    assert_eq!(counters.dropped_total(), 0);
    assert_eq!(counters.sampled_out, produced - 50);
    assert_eq!(
        counters.exported + counters.dropped_total() + counters.sampled_out,
        produced
    );
    let sampling = &counters.sampling;
    assert_eq!(sampling.kept(SamplingPolicy::Error), 5);
    assert_eq!(sampling.kept(SamplingPolicy::Latency), 4);
    assert_eq!(sampling.kept(SamplingPolicy::Attribute), 1);
    assert_eq!(sampling.kept(SamplingPolicy::Ratio), 0);
    assert_eq!(sampling.traces_sampled_out, (TRACES - 10) as u64);
    assert_eq!(sampling.traces_decided(), TRACES as u64);
    assert!(EarlyDecision::ALL.iter().all(|c| sampling.early(*c) == 0));
}

// Spans of one trace ending on several threads at once, and spans ending
// after their local root, are decided once: a trace arrives whole or not at
// all, and the late spans follow the decision made when the root ended.
#[test]
fn spans_ending_out_of_order_and_across_threads_are_decided_once() {
    let receiver = Receiver::start().unwrap();
    let pipeline = Pipeline::new(
        &receiver,
        TailSamplingConfig::builder()
            .with_ratio(0.0)
            .with_latency_threshold(Some(THRESHOLD)),
        &[],
    );
    const TRACES: usize = 60;
    const CHILDREN: usize = 4;
    let tracer = &pipeline.tracer;
    let mut kept = HashSet::new();
    let mut sampled_out = HashSet::new();
    for i in 0..TRACES {
        let root = tracer.start(format!("root-{i}"));
        let trace_id = root.span_context().trace_id().to_string();
        let root_cx = Context::new().with_span(root);
        let error_child = (i % 3 == 0).then_some(i % CHILDREN);
        // A third of the traces end their root before the children.
        let root_first = i % 3 == 1 || i % 5 == 0;
        let children: Vec<_> = (0..CHILDREN)
            .map(|c| tracer.start_with_context(format!("child-{i}-{c}"), &root_cx))
            .collect();
        if root_first {
            root_cx.span().end();
        }
        let barrier = Arc::new(Barrier::new(CHILDREN));
        std::thread::scope(|scope| {
            for (c, mut child) in children.into_iter().enumerate() {
                let barrier = Arc::clone(&barrier);
                scope.spawn(move || {
                    if error_child == Some(c) {
                        child.set_status(Status::error("failed"));
                    }
                    barrier.wait();
                    child.end();
                });
            }
        });
        if !root_first {
            root_cx.span().end();
        }
        if error_child.is_some() && !root_first {
            kept.insert(trace_id);
        } else {
            sampled_out.insert(trace_id);
        }
    }
    let counters = pipeline.shutdown();

    let received = received_by_trace(&receiver);
    for (trace_id, names) in &received {
        assert!(kept.contains(trace_id), "{trace_id} was not to be kept");
        assert_eq!(names.len(), CHILDREN + 1, "{names:?}");
    }
    assert_eq!(received.len(), kept.len());
    let spans = (CHILDREN + 1) as u64;
    assert_eq!(counters.exported, kept.len() as u64 * spans);
    assert_eq!(counters.sampled_out, sampled_out.len() as u64 * spans);
    assert_eq!(counters.dropped_total(), 0);
    assert_eq!(
        counters.sampling.kept(SamplingPolicy::Error),
        kept.len() as u64
    );
    assert_eq!(
        counters.sampling.traces_sampled_out,
        sampled_out.len() as u64
    );
    assert_eq!(counters.sampling.traces_decided(), TRACES as u64);
}

/// Polls `done` until it holds; `WAIT` is a hang guard.
fn eventually(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + WAIT;
    while !done() {
        assert!(Instant::now() < deadline, "never happened: {what}");
        std::thread::sleep(Duration::from_millis(5));
    }
}

// A trace whose local root does not end is decided when the wait passes:
// sampled out while its root is not slow yet, and the root follows later.
#[test]
fn the_decision_wait_decides_a_trace_whose_root_stays_open() {
    let receiver = Receiver::start().unwrap();
    let pipeline = Pipeline::new(
        &receiver,
        TailSamplingConfig::builder()
            .with_ratio(0.0)
            .with_latency_threshold(Some(THRESHOLD))
            .with_decision_wait(Duration::from_millis(20)),
        &[],
    );
    let tracer = &pipeline.tracer;
    let mut roots = Vec::new();
    for i in 0..5 {
        let root_cx = Context::new().with_span(tracer.start(format!("open-{i}")));
        for c in 0..3 {
            tracer
                .start_with_context(format!("done-{i}-{c}"), &root_cx)
                .end();
        }
        roots.push(root_cx);
    }
    eventually("the held traces are decided", || {
        pipeline
            .traces()
            .sampling
            .early(EarlyDecision::DecisionWait)
            == 5
    });
    let stats = pipeline.tail.stats();
    assert_eq!((stats.held_traces, stats.held_spans), (0, 0));
    assert_eq!(stats.sampled_out, 15);
    for root in roots {
        root.span().end();
    }
    let counters = pipeline.shutdown();
    assert_eq!(counters.sampled_out, 20, "the roots followed the decision");
    assert_eq!(counters.exported, 0);
    assert_eq!(counters.sampling.traces_decided(), 5);
    assert_eq!(counters.sampling.early(EarlyDecision::Shutdown), 0);
    assert!(receiver.spans().is_empty());
}

// A local root open longer than the latency threshold is slow: held for the
// threshold (shorter than the wait), the trace is kept, and what ends later
// follows it.
#[test]
fn a_root_still_open_after_the_threshold_keeps_its_trace() {
    let receiver = Receiver::start().unwrap();
    let pipeline = Pipeline::new(
        &receiver,
        TailSamplingConfig::builder()
            .with_ratio(0.0)
            .with_latency_threshold(Some(Duration::from_millis(20)))
            .with_decision_wait(Duration::from_secs(3600)),
        &[],
    );
    let tracer = &pipeline.tracer;
    let root_cx = Context::new().with_span(tracer.start("long job"));
    tracer.start_with_context("step 1", &root_cx).end();
    tracer.start_with_context("step 2", &root_cx).end();
    eventually("the trace is kept by latency", || {
        pipeline.traces().sampling.kept(SamplingPolicy::Latency) == 1
    });
    tracer.start_with_context("step 3", &root_cx).end();
    root_cx.span().end();
    let counters = pipeline.shutdown();
    let mut names: Vec<_> = receiver
        .spans()
        .iter()
        .map(|s| s.name().to_owned())
        .collect();
    names.sort();
    assert_eq!(names, ["long job", "step 1", "step 2", "step 3"]);
    assert_eq!(counters.sampling.early(EarlyDecision::DecisionWait), 1);
    assert_eq!((counters.exported, counters.sampled_out), (4, 0));
}

// A flood of long-lived traces: never more than `max_traces` held (plus one
// per producer while it decides the oldest), never more than
// `max_spans_per_trace` spans each; every trace decided early is counted.
#[test]
fn the_caps_hold_under_a_flood_of_long_lived_traces() {
    let receiver = Receiver::start().unwrap();
    const MAX_TRACES: usize = 50;
    const MAX_SPANS: usize = 8;
    const PRODUCERS: usize = 2;
    const TRACES_EACH: usize = 2_000;
    let pipeline = Pipeline::new(
        &receiver,
        TailSamplingConfig::builder()
            .with_ratio(0.0)
            .with_latency_threshold(Some(THRESHOLD))
            .with_decision_wait(Duration::from_secs(3600))
            .with_max_traces(MAX_TRACES)
            .with_max_spans_per_trace(MAX_SPANS),
        &[],
    );
    let tracer = &pipeline.tracer;
    let tail = &pipeline.tail;
    let peak = std::sync::atomic::AtomicUsize::new(0);
    let roots = std::thread::scope(|scope| {
        let producers: Vec<_> = (0..PRODUCERS)
            .map(|p| {
                let peak = &peak;
                scope.spawn(move || {
                    let mut roots = Vec::new();
                    for i in 0..TRACES_EACH {
                        let root_cx =
                            Context::new().with_span(tracer.start(format!("flood-{p}-{i}")));
                        // Every tenth trace is a large one, over the span cap.
                        let children = if i % 10 == 0 { 3 * MAX_SPANS } else { 3 };
                        for c in 0..children {
                            tracer
                                .start_with_context(format!("child-{c}"), &root_cx)
                                .end();
                        }
                        if i % 50 == 0 {
                            let stats = tail.stats();
                            peak.fetch_max(stats.held_traces, std::sync::atomic::Ordering::Relaxed);
                            assert!(stats.held_spans <= (MAX_TRACES + PRODUCERS) * MAX_SPANS);
                        }
                        // The roots stay open: the traces are long-lived.
                        roots.push(root_cx);
                    }
                    roots
                })
            })
            .collect();
        producers
            .into_iter()
            .flat_map(|p| p.join().unwrap())
            .collect::<Vec<_>>()
    });
    let stats = tail.stats();
    assert!(stats.held_traces <= MAX_TRACES, "{stats}");
    assert!(stats.held_spans <= MAX_TRACES * MAX_SPANS, "{stats}");
    assert!(peak.into_inner() <= MAX_TRACES + PRODUCERS);
    let traces = (PRODUCERS * TRACES_EACH) as u64;
    let large = traces / 10;
    let sampling = &stats.sampling;
    // A large trace is decided at the span cap, unless (both producers
    // racing) it became the oldest first and was decided at the trace cap.
    let at_span_cap = sampling.early(EarlyDecision::MaxSpansPerTrace);
    assert!(at_span_cap > 0 && at_span_cap <= large, "{stats}");
    assert_eq!(
        at_span_cap + sampling.early(EarlyDecision::MaxTraces) + stats.held_traces as u64,
        traces
    );
    assert_eq!(sampling.traces_kept(), 0);

    let counters = pipeline.shutdown();
    drop(roots);
    let sampling = &counters.sampling;
    assert_eq!(
        sampling.early(EarlyDecision::MaxSpansPerTrace)
            + sampling.early(EarlyDecision::MaxTraces)
            + sampling.early(EarlyDecision::Shutdown),
        traces
    );
    assert_eq!(sampling.traces_decided(), traces);
    assert_eq!(counters.exported, 0);
    assert!(receiver.spans().is_empty());
}

// A trace whose local root continues a sampled remote parent is kept whole
// (unless that policy is off); an unsampled one is tail-sampled like any
// other when the head sampler records it anyway.
#[test]
fn a_trace_entering_with_a_sampled_parent_is_kept_whole() {
    let remote = |sampled: bool, n: u128| remote_parent(n, sampled);
    let serve = |tracer: &SdkTracer, parent: &Context| {
        let root_cx = parent.with_span(tracer.start_with_context("server", parent));
        tracer.start_with_context("handler", &root_cx).end();
        root_cx.span().end();
    };
    let receiver = Receiver::start().unwrap();
    let pipeline = Pipeline::with_sampler(
        &receiver,
        TailSamplingConfig::builder().with_ratio(0.0),
        &[],
        Sampler::AlwaysOn,
    );
    serve(&pipeline.tracer, &remote(true, 0xa1));
    serve(&pipeline.tracer, &remote(false, 0xa2));
    let counters = pipeline.shutdown();
    assert_eq!(counters.sampling.kept(SamplingPolicy::ParentSampled), 1);
    assert_eq!((counters.exported, counters.sampled_out), (2, 2));
    let received = received_by_trace(&receiver);
    assert_eq!(received.len(), 1);
    assert_eq!(received[&TraceId::from(0xa1_u128).to_string()].len(), 2);

    let receiver = Receiver::start().unwrap();
    let pipeline = Pipeline::new(
        &receiver,
        TailSamplingConfig::builder()
            .with_ratio(0.0)
            .with_keep_parent_sampled(false),
        &[],
    );
    serve(&pipeline.tracer, &remote(true, 0xb1));
    let counters = pipeline.shutdown();
    assert_eq!((counters.exported, counters.sampled_out), (0, 2));
    assert!(receiver.spans().is_empty());
}

// The ratio is the SDK's TraceIdRatioBased decision, trace for trace, so
// every service with the same ratio keeps the same traces.
#[test]
fn the_ratio_keeps_the_traces_the_sdk_ratio_sampler_samples() {
    let receiver = Receiver::start().unwrap();
    let pipeline = Pipeline::new(
        &receiver,
        TailSamplingConfig::builder().with_ratio(0.3),
        &[],
    );
    let mut expected = HashSet::new();
    let sdk = Sampler::TraceIdRatioBased(0.3);
    for i in 0..300 {
        let root_cx = Context::new().with_span(pipeline.tracer.start(format!("r-{i}")));
        pipeline.tracer.start_with_context("child", &root_cx).end();
        let trace_id = root_cx.span().span_context().trace_id();
        root_cx.span().end();
        let decision = sdk
            .should_sample(
                None,
                trace_id,
                "r",
                &opentelemetry::trace::SpanKind::Internal,
                &[],
                &[],
            )
            .decision;
        if decision == opentelemetry_sdk::trace::SamplingDecision::RecordAndSample {
            expected.insert(trace_id.to_string());
        }
    }
    let counters = pipeline.shutdown();
    let received = received_by_trace(&receiver);
    assert_eq!(
        received.keys().cloned().collect::<HashSet<_>>(),
        expected,
        "the same traces"
    );
    assert!(received.values().all(|names| names.len() == 2));
    assert_eq!(
        counters.sampling.kept(SamplingPolicy::Ratio),
        expected.len() as u64
    );
    // About 30 % (a loose sanity bound on 300 random ids, not a threshold).
    assert!((40..160).contains(&expected.len()), "{}", expected.len());
}

// The stage reports its decisions as self-metrics.
#[test]
fn decisions_are_reported_as_metrics() {
    use opentelemetry::metrics::MeterProvider as _;
    use opentelemetry_otlp::WithExportConfig as _;
    use otlpkit_testkit::proto::common::v1::any_value;
    use otlpkit_testkit::proto::metrics::v1::number_data_point;

    let receiver = Receiver::start().unwrap();
    let pipeline = Pipeline::new(
        &receiver,
        TailSamplingConfig::builder()
            .with_ratio(0.0)
            .with_latency_threshold(Some(THRESHOLD)),
        &[],
    );
    let metric_exporter = opentelemetry_otlp::MetricExporter::builder()
        .with_http()
        .with_endpoint(receiver.http_url(otlpkit_testkit::Signal::Metrics))
        .build()
        .unwrap();
    let meters = opentelemetry_sdk::metrics::SdkMeterProvider::builder()
        .with_reader(opentelemetry_sdk::metrics::PeriodicReader::builder(metric_exporter).build())
        .build();
    pipeline.tail.register_metrics(&meters.meter("otlpkit"));
    request(&pipeline.tracer, 1, Marked::ErrorDeep);
    request(&pipeline.tracer, 2, Marked::Plain);
    request(&pipeline.tracer, 3, Marked::Plain);
    meters.force_flush().unwrap();

    let value = |name: &str, attr: Option<(&str, &str)>| -> Option<i64> {
        let metric = receiver.latest_metric(name)?;
        metric.number_points().iter().find_map(|point| {
            let matches = attr.is_none_or(|(key, expected)| {
                otlpkit_testkit::attribute(&point.attributes, key)
                    == Some(&any_value::Value::StringValue(expected.to_owned()))
            });
            match point.value {
                Some(number_data_point::Value::AsInt(v)) if matches => Some(v),
                _ => None,
            }
        })
    };
    assert_eq!(
        value(metric_names::TRACES_KEPT, Some(("policy", "error"))),
        Some(1)
    );
    assert_eq!(
        value(metric_names::TRACES_KEPT, Some(("policy", "ratio"))),
        Some(0)
    );
    assert_eq!(value(metric_names::TRACES_SAMPLED_OUT, None), Some(2));
    assert_eq!(value(metric_names::SPANS_SAMPLED_OUT, None), Some(10));
    assert_eq!(
        value(metric_names::EARLY_DECISIONS, Some(("cause", "max_traces"))),
        Some(0)
    );
    assert_eq!(value(metric_names::TRACES_HELD, None), Some(0));
    assert_eq!(value(metric_names::SPANS_HELD, None), Some(0));
    pipeline.shutdown();
    meters.shutdown().unwrap();
}

/// One generated trace: each span's parent (an earlier span; span 0 is the
/// local root), the span carrying an error and the one that is slow, if any,
/// and whether the root continues a remote parent sampled upstream.
#[derive(Debug, Clone)]
struct Shape {
    parents: Vec<usize>,
    error: Option<usize>,
    slow: Option<usize>,
    parent_sampled: bool,
}

/// Root-only traces ended in the middle of a case, when it floods: more
/// than the stage remembers the verdicts of traces whose root ended
/// (`max(2 × max_traces, 8,192)`), so that the verdicts given before a
/// root ended must outlast them.
const FLOOD: usize = 12_000;

fn shape() -> impl Strategy<Value = Shape> {
    (1..10_usize)
        .prop_flat_map(|len| {
            (
                (1..len.max(2))
                    .map(|i| 0..i)
                    .collect::<Vec<_>>()
                    .prop_map(move |mut parents| {
                        parents.truncate(len - 1);
                        parents
                    }),
                prop::option::weighted(0.2, 0..len),
                prop::option::weighted(0.2, 0..len),
                prop::bool::weighted(0.25),
            )
        })
        .prop_map(|(parents, error, slow, parent_sampled)| Shape {
            parents,
            error,
            slow,
            parent_sampled,
        })
}

/// The order spans end in: indices `(trace, span)` over all traces,
/// interleaved; `order` ranks them.
fn end_order(shapes: &[Shape], ranks: &[u32]) -> Vec<(usize, usize)> {
    let mut all: Vec<(usize, usize)> = shapes
        .iter()
        .enumerate()
        .flat_map(|(t, s)| (0..=s.parents.len()).map(move |i| (t, i)))
        .collect();
    let rank = |k: usize| ranks.get(k % ranks.len().max(1)).copied().unwrap_or(0);
    let keyed: Vec<_> = all
        .iter()
        .enumerate()
        .map(|(k, ts)| (rank(k), *ts))
        .collect();
    let mut keyed = keyed;
    keyed.sort_by_key(|(r, (t, i))| (*r, *t, *i));
    all.clear();
    all.extend(keyed.into_iter().map(|(_, ts)| ts));
    all
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    // Random trace shapes, error and slow placements, sampled remote
    // parents, end orders, ratios and caps, with or without a flood of other
    // traces decided halfway: every span is counted once (exported, dropped
    // or sampled out), every trace is decided once and arrives whole or not
    // at all; when the caps do not bind, exactly the traces the policies
    // keep arrive.
    #[test]
    fn accounting_is_exact_for_random_trace_shapes(
        shapes in prop::collection::vec(shape(), 1..16),
        ranks in prop::collection::vec(any::<u32>(), 1..64),
        ratio in prop::sample::select(vec![0.0, 0.5, 1.0]),
        max_traces in 1..20_usize,
        max_spans in 1..12_usize,
        flood in any::<bool>(),
        seed in any::<u64>(),
    ) {
        let receiver = Receiver::start().unwrap();
        let pipeline = Pipeline::new(
            &receiver,
            TailSamplingConfig::builder()
                .with_ratio(ratio)
                .with_latency_threshold(Some(THRESHOLD))
                .with_decision_wait(Duration::from_secs(3600))
                .with_max_traces(max_traces)
                .with_max_spans_per_trace(max_spans),
            &[],
        );
        let tracer = &pipeline.tracer;
        let t0 = SystemTime::now();
        // Start every span (parents first), keep their contexts.
        let mut spans: Vec<Vec<Context>> = Vec::new();
        for (t, shape) in shapes.iter().enumerate() {
            let mut trace: Vec<Context> = Vec::new();
            // Under a sampled remote parent, the trace id is the parent's.
            let entry = remote_parent(u128::from(seed) << 64 | (t as u128 + 1), true);
            for i in 0..=shape.parents.len() {
                let parent = match i {
                    0 if shape.parent_sampled => entry.clone(),
                    0 => Context::new(),
                    _ => trace[shape.parents[i - 1]].clone(),
                };
                let span = timed_span(tracer, &format!("s-{t}-{i}"), &parent, t0);
                let cx = parent.with_span(span);
                if shape.error == Some(i) {
                    cx.span().set_status(Status::error("e"));
                }
                trace.push(cx);
            }
            spans.push(trace);
        }
        let trace_ids: Vec<TraceId> = spans.iter().map(|t| t[0].span().span_context().trace_id()).collect();
        let order = end_order(&shapes, &ranks);
        // The model, when no cap binds: kept by ratio, or by evidence that
        // ended no later than the local root.
        let mut root_ended = vec![false; shapes.len()];
        let mut evidence = vec![false; shapes.len()];
        // The flood comes halfway, or later: where no trace whose root has
        // ended still has a span to end (a trace whose root ended is
        // remembered for the last `max(2 × max_traces, 8,192)` traces only,
        // and this many would make its late span start it anew).
        let flood_at = (order.len() / 2..=order.len())
            .find(|&k| {
                order[k..].iter().all(|&(t, _)| {
                    !order[..k].iter().any(|&(u, i)| u == t && i == 0)
                })
            })
            .unwrap_or(order.len());
        let run_flood = || {
            for n in 0..FLOOD {
                tracer.start(format!("flood-{n}")).end();
            }
        };
        for (k, &(t, i)) in order.iter().enumerate() {
            if flood && k == flood_at {
                run_flood();
            }
            let shape = &shapes[t];
            if !root_ended[t] && (shape.error == Some(i) || shape.slow == Some(i)) {
                evidence[t] = true;
            }
            if i == 0 {
                root_ended[t] = true;
            }
            let cx = &spans[t][i];
            if shape.slow == Some(i) {
                cx.span().end_with_timestamp(t0 + SLOW);
            } else {
                cx.span().end();
            }
        }
        if flood && flood_at == order.len() {
            run_flood();
        }
        drop(spans);
        let counters = pipeline.shutdown();

        let flooded = if flood { FLOOD } else { 0 };
        let produced: u64 =
            shapes.iter().map(|s| s.parents.len() as u64 + 1).sum::<u64>() + flooded as u64;
        prop_assert_eq!(
            counters.exported + counters.dropped_total() + counters.sampled_out,
            produced
        );
        prop_assert_eq!(counters.dropped_total(), 0);
        prop_assert_eq!(
            counters.sampling.traces_decided(),
            (shapes.len() + flooded) as u64
        );
        let received = received_by_trace(&receiver);
        let mut kept_spans = 0;
        for (t, shape) in shapes.iter().enumerate() {
            let len = shape.parents.len() + 1;
            let got = received.get(&trace_ids[t].to_string()).map_or(0, Vec::len);
            prop_assert!(got == 0 || got == len, "trace {} arrived in part: {}/{}", t, got, len);
            kept_spans += got;
            let caps_bind = shapes.len() > max_traces || len >= max_spans;
            if !caps_bind {
                let expect =
                    ratio_keeps(ratio, trace_ids[t]) || evidence[t] || shape.parent_sampled;
                prop_assert_eq!(got == len, expect, "trace {}: {:?}", t, shape);
            }
        }
        // The flood's traces have one span each: those kept arrived too.
        let flood_kept = received.len() - received_traces_of(&received, &trace_ids);
        prop_assert_eq!(counters.exported, (kept_spans + flood_kept) as u64);
    }
}

/// How many of `traces` arrived.
fn received_traces_of(received: &HashMap<String, Vec<String>>, traces: &[TraceId]) -> usize {
    traces
        .iter()
        .filter(|t| received.contains_key(&t.to_string()))
        .count()
}
