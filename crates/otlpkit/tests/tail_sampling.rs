//! Tail sampling through the facade, configured by the `OTLPKIT_TAIL_SAMPLING*`
//! variables: with ratio 0 exactly the traces with an error or a slow span
//! reach the receiver, and every span is accounted for in `guard.stats()`,
//! the guard's tail-sampling statistics and the shutdown report
//! (`produced = delivered + dropped + sampled_out`).

use std::collections::HashSet;
use std::time::{Duration, SystemTime};

use opentelemetry::Context;
use opentelemetry::trace::{
    Span as _, Status, TraceContextExt as _, Tracer as _, TracerProvider as _,
};
use otlpkit::batch::tail::AttributeRule;
use otlpkit::core::stats::SamplingPolicy;
use otlpkit::core::{MapEnv, Signal};

/// A hang guard for the receiver, never a threshold.
const WAIT: Duration = Duration::from_secs(30);

#[test]
fn the_environment_turns_tail_sampling_on_and_every_span_is_accounted_for() {
    let receiver = otlpkit_testkit::Receiver::start().unwrap();
    let env = MapEnv::from([
        ("OTEL_EXPORTER_OTLP_ENDPOINT", receiver.http_endpoint()),
        ("OTEL_SERVICE_NAME", "tail-sampling".to_owned()),
        ("OTLPKIT_TAIL_SAMPLING", "on".to_owned()),
        ("OTLPKIT_TAIL_SAMPLING_RATIO", "0".to_owned()),
        // An hour: the slow spans below last two, by their timestamps.
        ("OTLPKIT_TAIL_SAMPLING_LATENCY_MS", "3600000".to_owned()),
        (
            "OTLPKIT_TAIL_SAMPLING_DECISION_WAIT_MS",
            "3600000".to_owned(),
        ),
        ("OTLPKIT_TAIL_SAMPLING_MAX_TRACES", "1000".to_owned()),
        ("OTEL_BSP_MAX_QUEUE_SIZE", "65536".to_owned()),
    ]);
    let telemetry = otlpkit::builder()
        .with_self_metrics(false)
        .with_tail_sampling_rule(AttributeRule::one_of("tenant", ["vip"]))
        .build_with_env(&env)
        .unwrap();
    assert!(
        telemetry.warnings().is_empty(),
        "{:?}",
        telemetry.warnings()
    );
    assert!(telemetry.config().tail_sampling().enabled());
    let tracer = telemetry.tracer_provider().unwrap().tracer("tail");

    let mut kept = HashSet::new();
    for i in 0..50 {
        let t0 = SystemTime::now();
        let root = tracer.start(format!("request-{i}"));
        let trace_id = root.span_context().trace_id().to_string();
        let cx = Context::new().with_span(root);
        let mut child = tracer
            .span_builder(format!("work-{i}"))
            .with_start_time(t0)
            .start_with_context(&tracer, &cx);
        match i {
            7 | 31 => child.set_status(Status::error("failed")),
            19 => child.set_attribute(opentelemetry::KeyValue::new("tenant", "vip")),
            _ => {}
        }
        if i == 44 {
            child.end_with_timestamp(t0 + Duration::from_secs(7200));
        } else {
            child.end();
        }
        cx.span().end();
        if [7, 31, 19, 44].contains(&i) {
            kept.insert(trace_id);
        }
    }

    let stats = telemetry.stats().signal(Signal::Traces);
    assert_eq!(stats.sampled_out, 92);
    assert_eq!(stats.sampling.kept(SamplingPolicy::Error), 2);
    assert_eq!(stats.sampling.kept(SamplingPolicy::Latency), 1);
    assert_eq!(stats.sampling.kept(SamplingPolicy::Attribute), 1);
    assert_eq!(stats.sampling.traces_sampled_out, 46);
    let tail = telemetry.tail_sampling_stats().unwrap();
    assert_eq!((tail.held_traces, tail.max_traces), (0, 1000));

    let report = telemetry.shutdown();
    assert!(report.is_complete(), "{report}");
    assert_eq!(report.produced(Signal::Traces), 100);
    assert_eq!(report.delivered(Signal::Traces), 8);
    assert_eq!(report.dropped(Signal::Traces), 0);
    assert_eq!(report.sampled_out(Signal::Traces), 92);
    let totals = report.traces.as_ref().unwrap();
    assert_eq!((totals.received(), totals.sampled_out()), (8, 92));
    assert_eq!(totals.produced(), 100);
    assert_eq!(report.tail_sampling.as_ref().unwrap().sampled_out, 92);
    assert!(report.to_string().contains("sampled out    92"), "{report}");
    assert!(
        report.summary().contains("92 sampled out"),
        "{}",
        report.summary()
    );

    let spans = receiver.wait_for_spans(8, WAIT).unwrap();
    let received: HashSet<String> = spans.iter().map(|s| s.trace_id_hex()).collect();
    assert_eq!(received, kept);
    assert_eq!(spans.len(), 8);
}

#[test]
fn tail_sampling_is_off_by_default_and_then_nothing_is_sampled_out() {
    let receiver = otlpkit_testkit::Receiver::start().unwrap();
    let env = MapEnv::from([("OTEL_EXPORTER_OTLP_ENDPOINT", receiver.http_endpoint())]);
    let telemetry = otlpkit::builder()
        .with_self_metrics(false)
        .build_with_env(&env)
        .unwrap();
    assert!(telemetry.tail_sampling_stats().is_none());
    let tracer = telemetry.tracer_provider().unwrap().tracer("tail");
    for _ in 0..3 {
        tracer.in_span("plain", |_| {});
    }
    let report = telemetry.shutdown();
    assert!(report.is_complete(), "{report}");
    assert_eq!(report.sampled_out(Signal::Traces), 0);
    assert!(report.tail_sampling.is_none());
    assert_eq!(report.produced(Signal::Traces), 3);
    assert!(!report.to_string().contains("sampled out"), "{report}");
    assert_eq!(receiver.wait_for_spans(3, WAIT).unwrap().len(), 3);
}

// The guard's shutdown decides the traces the stage still holds before the
// span queue shuts down: a held trace kept then is delivered.
#[test]
fn the_guard_decides_held_traces_before_the_queue_shuts_down() {
    let receiver = otlpkit_testkit::Receiver::start().unwrap();
    let env = MapEnv::from([
        ("OTEL_EXPORTER_OTLP_ENDPOINT", receiver.http_endpoint()),
        ("OTLPKIT_TAIL_SAMPLING", "on".to_owned()),
        ("OTLPKIT_TAIL_SAMPLING_RATIO", "0".to_owned()),
        ("OTLPKIT_TAIL_SAMPLING_LATENCY_MS", "3600000".to_owned()),
    ]);
    let telemetry = otlpkit::builder()
        .with_self_metrics(false)
        .build_with_env(&env)
        .unwrap();
    let tracer = telemetry.tracer_provider().unwrap().tracer("tail");
    let two_hours_ago = SystemTime::now() - Duration::from_secs(7200);
    // Two open roots: under one, a short step that started two hours ago
    // (the root, still open, is older than the threshold); under the other,
    // a step that started now.
    let old = Context::new().with_span(tracer.start("old job"));
    tracer
        .span_builder("old step")
        .with_start_time(two_hours_ago)
        .start_with_context(&tracer, &old)
        .end_with_timestamp(two_hours_ago + Duration::from_millis(1));
    let new = Context::new().with_span(tracer.start("new job"));
    tracer.start_with_context("new step", &new).end();
    assert_eq!(telemetry.tail_sampling_stats().unwrap().held_traces, 2);

    let report = telemetry.shutdown();
    let traces = report.stats.signal(Signal::Traces);
    let sampling = &traces.sampling;
    assert_eq!(sampling.kept(SamplingPolicy::Latency), 1);
    assert_eq!(sampling.traces_sampled_out, 1);
    assert_eq!(
        sampling.early(otlpkit::core::stats::EarlyDecision::Shutdown),
        2
    );
    assert_eq!(report.delivered(Signal::Traces), 1, "{report}");
    assert_eq!(report.sampled_out(Signal::Traces), 1);
    assert_eq!(report.tail_sampling.as_ref().unwrap().held_traces, 0);
    let spans = receiver.wait_for_spans(1, WAIT).unwrap();
    assert_eq!(spans[0].name(), "old step");
    drop((old, new));
}
