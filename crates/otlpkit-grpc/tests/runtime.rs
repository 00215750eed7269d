//! Runtime independence, reconnection and the exporter's life cycle: the
//! exporter works from a plain thread, from inside `current_thread` and
//! multi-thread runtimes and from `spawn_blocking`, reconnects after the
//! collector restarts, and shuts down within its timeout (checklist 3.8).

mod support;

use std::sync::Arc;
use std::sync::mpsc;
use std::time::Duration;

use opentelemetry::trace::{Tracer as _, TracerProvider as _};
use opentelemetry::{KeyValue, StringValue};
use opentelemetry_sdk::error::OTelSdkError;
use opentelemetry_sdk::trace::{SdkTracerProvider, SpanExporter as _};
use otlpkit_core::stats::DropReason;
use otlpkit_fixtures::exec::block_on;
use otlpkit_grpc::WorkerRuntime;
use otlpkit_testkit::{Fault, Receiver, Signal};
use support::{WAIT, spans, spans_to, traces};

#[test]
fn exports_from_a_plain_thread_with_no_runtime() {
    let receiver = Receiver::start().unwrap();
    let endpoint = receiver.grpc_endpoint();
    let exported = std::thread::spawn(move || {
        assert!(tokio::runtime::Handle::try_current().is_err());
        let exporter = otlpkit_grpc::SpanExporter::builder()
            .with_env(otlpkit_core::MapEnv::new())
            .with_endpoint(endpoint)
            .build()
            .unwrap();
        block_on(exporter.export(spans("plain", 3))).unwrap();
        traces(exporter.stats()).exported
    })
    .join()
    .unwrap();
    assert_eq!(exported, 3);
    assert_eq!(receiver.wait_for_spans(3, WAIT).unwrap().len(), 3);
}

// The classic deadlock: the SDK's simple processor blocks the only thread of a
// current_thread runtime on the export future. The I/O runs on the worker, so it
// completes.
#[test]
fn exports_from_inside_a_current_thread_runtime() {
    let receiver = Receiver::start().unwrap();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let exporter = spans_to(&receiver).build().unwrap();
        exporter.export(spans("awaited", 2)).await.unwrap();

        let exporter = spans_to(&receiver).build().unwrap();
        let stats = exporter.stats().clone();
        let provider = SdkTracerProvider::builder()
            .with_simple_exporter(exporter)
            .build();
        provider.tracer("current-thread").in_span("simple", |_| {});
        provider.shutdown().unwrap();
        assert_eq!(traces(&stats).exported, 1);
        receiver.wait_for_spans_async(3, WAIT).await.unwrap();
    });
    assert!(receiver.span("simple").is_some());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exports_concurrently_from_a_multi_thread_runtime_and_spawn_blocking() {
    let receiver = Receiver::start().unwrap();
    let exporter = Arc::new(spans_to(&receiver).build().unwrap());
    let mut tasks = Vec::new();
    for task in 0..4 {
        let exporter = Arc::clone(&exporter);
        tasks.push(tokio::spawn(async move {
            exporter.export(spans(&format!("task{task}"), 5)).await
        }));
    }
    let blocking = Arc::clone(&exporter);
    let from_blocking =
        tokio::task::spawn_blocking(move || block_on(blocking.export(spans("blocking", 5))));
    for task in tasks {
        task.await.unwrap().unwrap();
    }
    from_blocking.await.unwrap().unwrap();
    receiver.wait_for_spans_async(25, WAIT).await.unwrap();
    let stats = traces(exporter.stats());
    assert_eq!((stats.exported, stats.requests), (25, 5));
    assert_eq!(receiver.span_count(), 25);
}

#[test]
fn reconnects_after_the_collector_restarts() {
    let receiver = Receiver::start().unwrap();
    let exporter = spans_to(&receiver).build().unwrap();
    block_on(exporter.export(spans("before", 2))).unwrap();

    receiver.stop();
    // While it is down, the export fails after its attempts and is counted.
    let error = block_on(exporter.export(spans("down", 3))).unwrap_err();
    assert!(error.to_string().contains("connection failed"), "{error}");

    receiver.restart().unwrap();
    block_on(exporter.export(spans("after", 4))).unwrap();
    let requests = receiver.wait_for_requests(2, WAIT).unwrap();
    assert_eq!(receiver.span_count(), 6);
    assert_ne!(
        requests.first().unwrap().connection_id,
        requests.last().unwrap().connection_id
    );
    let stats = traces(exporter.stats());
    assert_eq!(stats.exported, 6);
    assert_eq!(stats.dropped(DropReason::RetriesExhausted), 3);
}

// checklist 3.8: shutdown once; later exports fail and their items are counted.
#[test]
fn shutdown_is_idempotent_and_later_exports_are_refused() {
    let receiver = Receiver::start().unwrap();
    let exporter = spans_to(&receiver).build().unwrap();
    block_on(exporter.export(spans("live", 1))).unwrap();
    exporter.shutdown().unwrap();
    exporter
        .shutdown_with_timeout(Duration::from_millis(10))
        .unwrap();
    exporter.force_flush().unwrap();

    let error = block_on(exporter.export(spans("late", 4))).unwrap_err();
    assert!(matches!(error, OTelSdkError::AlreadyShutdown), "{error:?}");
    assert_eq!(receiver.request_count(), 1);
    let stats = traces(exporter.stats());
    assert_eq!(stats.exported, 1);
    assert_eq!(stats.dropped(DropReason::AfterShutdown), 4);
}

// checklist 2.14, 3.8: shutdown does not wait past its timeout for an export in flight;
// the export is cancelled and its spans are counted.
#[test]
fn shutdown_is_bounded_and_cancels_an_export_in_flight() {
    let receiver = Receiver::start().unwrap();
    receiver.push_fault(Signal::Traces, Fault::delay(Duration::from_secs(60)));
    let exporter = Arc::new(
        spans_to(&receiver)
            .with_timeout(Some(Duration::from_secs(120)))
            .build()
            .unwrap(),
    );
    let (done_tx, done_rx) = mpsc::channel();
    let exporting = Arc::clone(&exporter);
    std::thread::spawn(move || {
        let _ = done_tx.send(block_on(exporting.export(spans("stuck", 6))));
    });
    let waiting_since = std::time::Instant::now();
    while receiver.in_flight() == 0 {
        assert!(waiting_since.elapsed() < WAIT, "the request never arrived");
        std::thread::sleep(Duration::from_millis(5));
    }
    let error = exporter
        .shutdown_with_timeout(Duration::from_millis(200))
        .unwrap_err();
    assert!(matches!(error, OTelSdkError::Timeout(_)), "{error:?}");
    let result = done_rx.recv_timeout(WAIT).unwrap();
    assert!(result.is_err(), "{result:?}");
    let stats = traces(exporter.stats());
    assert_eq!(stats.dropped(DropReason::ShutdownDeadline), 6);
    assert_eq!(stats.exported, 0);
}

// The batch a request was encoded from is freed while the request is in
// flight: memory is not held for the answer, nor through retries.
#[test]
fn the_encoded_batch_is_freed_while_its_request_is_in_flight() {
    let receiver = Receiver::start().unwrap();
    receiver.push_fault(Signal::Traces, Fault::delay(Duration::from_secs(60)));
    let exporter = Arc::new(spans_to(&receiver).build().unwrap());
    let marker: Arc<str> = Arc::from("held only by the batch");
    let mut batch = spans("held", 3);
    batch[1].attributes.push(KeyValue::new(
        "marker",
        StringValue::from(Arc::clone(&marker)),
    ));
    let (done_tx, done_rx) = mpsc::channel();
    let exporting = Arc::clone(&exporter);
    std::thread::spawn(move || {
        let _ = done_tx.send(block_on(exporting.export(batch)));
    });
    let waiting_since = std::time::Instant::now();
    while Arc::strong_count(&marker) > 1 {
        assert!(waiting_since.elapsed() < WAIT, "the batch was never freed");
        std::thread::sleep(Duration::from_millis(5));
    }
    assert!(
        matches!(done_rx.try_recv(), Err(mpsc::TryRecvError::Empty)),
        "the export must still be waiting for its answer"
    );
    exporter
        .shutdown_with_timeout(Duration::from_millis(100))
        .unwrap_err();
    assert!(done_rx.recv_timeout(WAIT).unwrap().is_err());
    let stats = traces(exporter.stats());
    assert_eq!(stats.dropped(DropReason::ShutdownDeadline), 3);
}

#[test]
fn a_shared_worker_outlives_one_exporters_shutdown() {
    let receiver = Receiver::start().unwrap();
    let worker = WorkerRuntime::start("shared-export").unwrap();
    let first = spans_to(&receiver)
        .with_worker(worker.clone())
        .build()
        .unwrap();
    let second = spans_to(&receiver)
        .with_worker(worker.clone())
        .build()
        .unwrap();
    first.shutdown().unwrap();
    assert!(worker.is_running());
    block_on(second.export(spans("second", 2))).unwrap();
    assert_eq!(receiver.wait_for_spans(2, WAIT).unwrap().len(), 2);

    worker.shutdown(Duration::from_secs(1)).unwrap();
    let error = block_on(second.export(spans("no-worker", 3))).unwrap_err();
    assert!(matches!(error, OTelSdkError::AlreadyShutdown), "{error:?}");
    assert_eq!(traces(second.stats()).dropped(DropReason::AfterShutdown), 3);
    // A stopped worker cannot carry a new exporter.
    let error = spans_to(&receiver).with_worker(worker).build().unwrap_err();
    assert!(error.to_string().contains("worker"), "{error}");
}
