//! Runtime independence: exporting works from a plain thread with no tokio
//! runtime, from inside a `current_thread` runtime (no deadlock, no "no
//! reactor running"), from a multi-thread runtime, from `spawn_blocking`,
//! and from the SDK's own processors, because all network I/O runs on the
//! exporter's worker runtime. Also: one worker and one set of counters
//! shared by the three signals.

mod support;

use std::time::Duration;

use opentelemetry::logs::{LogRecord as _, Logger as _, LoggerProvider as _, Severity};
use opentelemetry::metrics::MeterProvider as _;
use opentelemetry::trace::{Tracer as _, TracerProvider as _};
use opentelemetry_sdk::logs::SdkLoggerProvider;
use opentelemetry_sdk::metrics::{PeriodicReader, SdkMeterProvider};
use opentelemetry_sdk::trace::{SdkTracerProvider, SpanExporter as _};
use otlpkit_core::stats::ExportStats;
use otlpkit_core::{Compression, Protocol, Signal};
use otlpkit_fixtures::exec::block_on;
use otlpkit_http::WorkerRuntime;
use otlpkit_http::{EXPORT_WORKER_NAME, HttpLogExporter, HttpMetricExporter, HttpSpanExporter};
use otlpkit_testkit::Receiver;
use support::{WAIT, configure, sdk_spans};

fn span_exporter(receiver: &Receiver) -> HttpSpanExporter {
    configure(
        HttpSpanExporter::builder(),
        &receiver.http_url(otlpkit_testkit::Signal::Traces),
        Protocol::HttpProtobuf,
        Compression::None,
    )
    .build()
    .unwrap()
}

fn exported(exporter: &HttpSpanExporter) -> u64 {
    exporter.stats().snapshot().signal(Signal::Traces).exported
}

#[test]
fn from_a_plain_thread_without_any_runtime() {
    assert!(tokio::runtime::Handle::try_current().is_err());
    let receiver = Receiver::start().unwrap();
    let exporter = span_exporter(&receiver);
    // Directly, driven by a minimal executor as the SDK's processors do.
    block_on(exporter.export(sdk_spans(2))).unwrap();
    assert_eq!(exported(&exporter), 2);
    // Through the SDK: the batch processor's own thread, then the simple
    // processor on this very thread.
    let batch = SdkTracerProvider::builder()
        .with_batch_exporter(span_exporter(&receiver))
        .build();
    batch.tracer("plain").in_span("batched", |_| {});
    batch.shutdown().unwrap();
    let simple = SdkTracerProvider::builder()
        .with_simple_exporter(span_exporter(&receiver))
        .build();
    simple.tracer("plain").in_span("simple", |_| {});
    simple.shutdown().unwrap();
    receiver.wait_for_spans(4, WAIT).unwrap();
    assert!(receiver.span("batched").is_some() && receiver.span("simple").is_some());
}

#[tokio::test(flavor = "current_thread")]
async fn inside_a_current_thread_runtime() {
    let receiver = Receiver::start().unwrap();
    // Built inside the runtime; awaited on its only thread.
    let exporter = span_exporter(&receiver);
    exporter.export(sdk_spans(3)).await.unwrap();
    assert_eq!(exported(&exporter), 3);
    // The simple processor blocks this thread while it exports: the worker
    // still makes progress, so there is no deadlock.
    let provider = SdkTracerProvider::builder()
        .with_simple_exporter(span_exporter(&receiver))
        .build();
    provider.tracer("current").in_span("blocking", |_| {});
    provider.force_flush().unwrap();
    provider.shutdown().unwrap();
    receiver.wait_for_spans_async(4, WAIT).await.unwrap();
    assert!(receiver.span("blocking").is_some());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn inside_a_multi_thread_runtime_and_from_spawn_blocking() {
    let receiver = Receiver::start().unwrap();
    let exporter = std::sync::Arc::new(span_exporter(&receiver));
    exporter.export(sdk_spans(1)).await.unwrap();
    let spawned = exporter.clone();
    tokio::spawn(async move { spawned.export(sdk_spans(1)).await })
        .await
        .unwrap()
        .unwrap();
    let blocking = exporter.clone();
    tokio::task::spawn_blocking(move || block_on(blocking.export(sdk_spans(1))))
        .await
        .unwrap()
        .unwrap();
    // Several exports at once on one exporter are safe.
    let concurrent: Vec<_> = (0..4)
        .map(|_| {
            let exporter = exporter.clone();
            tokio::spawn(async move { exporter.export(sdk_spans(2)).await })
        })
        .collect();
    for task in concurrent {
        task.await.unwrap().unwrap();
    }
    assert_eq!(exported(&exporter), 11);
    assert_eq!(receiver.span_count(), 11);
}

#[test]
fn an_exporter_outlives_the_runtime_it_was_built_in() {
    let receiver = Receiver::start().unwrap();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let exporter = runtime.block_on(async { span_exporter(&receiver) });
    drop(runtime);
    block_on(exporter.export(sdk_spans(2))).unwrap();
    assert_eq!(receiver.span_count(), 2);
}

#[test]
fn three_signals_share_one_worker_and_one_set_of_counters() {
    let receiver = Receiver::start().unwrap();
    let worker = WorkerRuntime::start("shared-export").unwrap();
    let stats = ExportStats::new();
    let url = |signal| receiver.http_url(signal);

    let spans = configure(
        HttpSpanExporter::builder(),
        &url(otlpkit_testkit::Signal::Traces),
        support::json_if_available(),
        if cfg!(feature = "zstd") {
            Compression::Zstd
        } else {
            Compression::None
        },
    )
    .with_worker(worker.clone())
    .with_stats(stats.clone())
    .build()
    .unwrap();
    let logs = configure(
        HttpLogExporter::builder(),
        &url(otlpkit_testkit::Signal::Logs),
        Protocol::HttpProtobuf,
        Compression::Gzip,
    )
    .with_worker(worker.clone())
    .with_stats(stats.clone())
    .build()
    .unwrap();
    let metrics = configure(
        HttpMetricExporter::builder(),
        &url(otlpkit_testkit::Signal::Metrics),
        Protocol::HttpProtobuf,
        Compression::None,
    )
    .with_worker(worker.clone())
    .with_stats(stats.clone())
    .build()
    .unwrap();

    let tracer_provider = SdkTracerProvider::builder()
        .with_batch_exporter(spans)
        .build();
    let logger_provider = SdkLoggerProvider::builder()
        .with_batch_exporter(logs)
        .build();
    let meter_provider = SdkMeterProvider::builder()
        .with_reader(
            PeriodicReader::builder(metrics)
                .with_interval(Duration::from_secs(3600))
                .build(),
        )
        .build();
    tracer_provider.tracer("shared").in_span("one", |_| {});
    let logger = logger_provider.logger("shared");
    let mut record = logger.create_log_record();
    record.set_severity_number(Severity::Info);
    record.set_body("hello".into());
    logger.emit(record);
    meter_provider
        .meter("shared")
        .u64_counter("n")
        .build()
        .add(1, &[]);

    tracer_provider.shutdown().unwrap();
    logger_provider.shutdown().unwrap();
    meter_provider.shutdown().unwrap();
    receiver.wait_for_spans(1, WAIT).unwrap();
    receiver.wait_for_logs(1, WAIT).unwrap();
    receiver.wait_for_data_points(1, WAIT).unwrap();

    let snapshot = stats.snapshot();
    for signal in [Signal::Traces, Signal::Logs, Signal::Metrics] {
        assert_eq!(snapshot.signal(signal).exported, 1, "{signal}");
        assert_eq!(snapshot.signal(signal).dropped_total(), 0, "{signal}");
    }
    // Shutting the exporters down leaves a worker they were given running.
    assert!(worker.is_running());
    worker.shutdown(Duration::from_secs(2)).unwrap();
}

#[test]
fn an_exporter_without_a_worker_starts_its_own() {
    let receiver = Receiver::start().unwrap();
    let exporter = span_exporter(&receiver);
    let debug = format!("{exporter:?}");
    assert!(debug.contains(EXPORT_WORKER_NAME), "{debug}");
    // Its worker stops with the shutdown; later exports fail cleanly.
    exporter.shutdown().unwrap();
    assert!(block_on(exporter.export(sdk_spans(1))).is_err());
}
