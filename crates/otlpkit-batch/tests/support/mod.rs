//! Shared pieces of the integration tests: real exporters (the official
//! `opentelemetry-otlp` ones) pointed at the in-process testkit receiver,
//! and helpers to produce and check spans.

#![allow(dead_code, unreachable_pub)]

use std::collections::HashSet;
use std::sync::mpsc;
use std::time::Duration;

use opentelemetry::KeyValue;
use opentelemetry::trace::{Span as _, Tracer as _, TracerProvider as _};
use opentelemetry_otlp::{WithExportConfig as _, WithHttpConfig as _};
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::trace::SdkTracerProvider;
use otlpkit_batch::{
    BatchSpanProcessor, BatchSpanProcessorBuilder, FlushReport, ProcessorFlushError,
    ProcessorHandle, ProcessorShutdownReport, ShutdownError,
};
use otlpkit_bridge::WorkerRuntime;
use otlpkit_testkit::Receiver;

/// How long tests wait for anything (a generous bound, never a threshold).
pub const WAIT: Duration = Duration::from_secs(30);

/// A worker runtime and the official gRPC span exporter built on it (tonic
/// needs a runtime when the channel is created).
pub fn grpc_exporter(receiver: &Receiver) -> (WorkerRuntime, opentelemetry_otlp::SpanExporter) {
    let worker = WorkerRuntime::start("otlpkit-test-worker").unwrap();
    let exporter = {
        let _runtime = worker.handle().enter();
        opentelemetry_otlp::SpanExporter::builder()
            .with_tonic()
            .with_endpoint(receiver.grpc_endpoint())
            .with_timeout(Duration::from_secs(10))
            .build()
            .unwrap()
    };
    (worker, exporter)
}

/// A processor builder over the official gRPC exporter to `receiver`.
pub fn grpc_processor(receiver: &Receiver) -> BatchSpanProcessorBuilder {
    let (worker, exporter) = grpc_exporter(receiver);
    BatchSpanProcessor::builder(exporter).with_worker_runtime(worker)
}

/// The official HTTP/protobuf span exporter (reqwest's blocking client).
pub fn http_exporter(receiver: &Receiver) -> opentelemetry_otlp::SpanExporter {
    opentelemetry_otlp::SpanExporter::builder()
        .with_http()
        .with_endpoint(receiver.http_url(otlpkit_testkit::Signal::Traces))
        .with_timeout(Duration::from_secs(10))
        .with_headers(Default::default())
        .build()
        .unwrap()
}

pub fn resource() -> Resource {
    Resource::builder().with_service_name("batch-tests").build()
}

pub fn provider(processor: BatchSpanProcessor) -> SdkTracerProvider {
    SdkTracerProvider::builder()
        .with_resource(resource())
        .with_span_processor(processor)
        .build()
}

/// Ends `count` spans named `{prefix}-{i}` with three attributes.
pub fn produce(provider: &SdkTracerProvider, prefix: &str, count: usize) {
    let tracer = provider.tracer("batch-tests");
    for i in 0..count {
        let mut span = tracer.start(format!("{prefix}-{i}"));
        span.set_attribute(KeyValue::new("producer", prefix.to_owned()));
        span.set_attribute(KeyValue::new("index", i as i64));
        span.set_attribute(KeyValue::new("payload", "x"));
        span.end();
    }
}

/// The names of the spans the receiver got, checking there is no duplicate
/// span id and that every span is intact (name, attributes, resource).
pub fn received_names(receiver: &Receiver) -> HashSet<String> {
    let spans = receiver.spans();
    let mut ids = HashSet::new();
    let mut names = HashSet::new();
    for span in &spans {
        assert!(
            ids.insert(span.span.span_id.clone()),
            "duplicate span {span:?}"
        );
        let name = span.name().to_owned();
        let (prefix, index) = name.rsplit_once('-').expect("a produced span name");
        assert_eq!(span.attribute_str("producer"), Some(prefix), "{span:?}");
        assert_eq!(
            span.attribute("index"),
            Some(
                &otlpkit_testkit::proto::common::v1::any_value::Value::IntValue(
                    index.parse().unwrap()
                )
            ),
            "{span:?}"
        );
        assert_eq!(span.attribute_str("payload"), Some("x"));
        assert_eq!(
            span.origin.resource_attribute_str("service.name"),
            Some("batch-tests")
        );
        assert!(names.insert(name), "duplicate name");
    }
    names
}

/// Runs `f` on its own thread and waits for it: a call that never returned
/// would fail the test after `WAIT` instead of hanging the suite.
pub fn returns<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(f());
    });
    rx.recv_timeout(WAIT).expect("the call did not return")
}

/// What `check` returns once it returns something, polling; panics after
/// [`WAIT`] (a hang guard, not a time limit of the code under test).
pub fn eventually<T>(mut check: impl FnMut() -> Option<T>) -> T {
    let deadline = std::time::Instant::now() + WAIT;
    loop {
        if let Some(value) = check() {
            return value;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the condition never held"
        );
        std::thread::sleep(Duration::from_millis(2));
    }
}

/// Waits until the receiver holds `n` requests unanswered (delay faults).
pub fn wait_in_flight(receiver: &Receiver, n: usize) {
    let deadline = std::time::Instant::now() + WAIT;
    while receiver.in_flight() < n {
        assert!(
            std::time::Instant::now() < deadline,
            "the receiver never held {n} requests"
        );
        std::thread::sleep(Duration::from_millis(2));
    }
}

/// How many times a scenario that needs the worker's answer within the
/// caller's timeout is run before the test fails for want of one.
pub const ANSWER_ATTEMPTS: usize = 5;

/// Runs `scenario` (a fresh pipeline each time) until it returns `Some`.
///
/// A flush or shutdown with a deadline answers with the worker's report only
/// if the worker gets the CPU between its own deadline and the caller's, a
/// margin of at most 25 ms: on a loaded machine a descheduled worker misses
/// it, and the caller returns `Unresponsive` by its deadline, as documented.
/// Such a run checks the documented fallback ([`shutdown_answer`],
/// [`flush_answer`]) and returns `None`; the scenario is then run again, so
/// that the report itself is still checked. A worker that never answered in
/// time fails the test after [`ANSWER_ATTEMPTS`] runs.
pub fn until_answered<T>(mut scenario: impl FnMut() -> Option<T>) -> T {
    for _ in 0..ANSWER_ATTEMPTS {
        if let Some(value) = scenario() {
            return value;
        }
    }
    panic!("the worker never answered within the caller's timeout in {ANSWER_ATTEMPTS} runs");
}

/// The shutdown's report, or `None` when the worker did not answer within
/// the caller's timeout: then, once the worker has got control back, every
/// item it received is accounted for (exported or dropped under a reason)
/// and nothing is pending, which is what `ShutdownError::Unresponsive`
/// promises.
pub fn shutdown_answer(
    result: Result<ProcessorShutdownReport, ShutdownError>,
    handle: &ProcessorHandle,
) -> Option<ProcessorShutdownReport> {
    match result {
        Ok(report) => Some(report),
        Err(error @ ShutdownError::Unresponsive { .. }) => {
            let stats = eventually(|| {
                let stats = handle.stats();
                (stats.pending() == 0).then_some(stats)
            });
            assert_eq!(
                stats.received(),
                stats.exported() + stats.dropped_total(),
                "{stats:?}"
            );
            eprintln!("{error}: the worker was late (a loaded machine?); running again");
            None
        }
        Err(error) => panic!("{error}"),
    }
}

/// The flush's report, or `None` when the worker did not answer within the
/// caller's timeout: a flush never drops, so then `pending` items are still
/// queued or in flight and none is dropped.
pub fn flush_answer(
    result: Result<FlushReport, ProcessorFlushError>,
    handle: &ProcessorHandle,
    pending: u64,
) -> Option<FlushReport> {
    match result {
        Ok(report) => Some(report),
        Err(error @ ProcessorFlushError::Unresponsive { .. }) => {
            let stats = handle.stats();
            assert_eq!(stats.dropped_total(), 0, "{stats:?}");
            assert_eq!(stats.pending(), pending, "{stats:?}");
            eprintln!("{error}: the worker was late (a loaded machine?); running again");
            None
        }
        Err(error) => panic!("{error}"),
    }
}
