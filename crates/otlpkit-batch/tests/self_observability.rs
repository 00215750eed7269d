//! The engine's own statistics exported as OpenTelemetry metrics (named
//! after the Collector's exporterhelper metrics), and the suppression that
//! keeps the export path from feeding the pipeline it belongs to.

mod support;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use opentelemetry::Context;
use opentelemetry::metrics::MeterProvider as _;
use opentelemetry::trace::{Tracer as _, TracerProvider as _};
use opentelemetry_otlp::WithExportConfig as _;
use opentelemetry_sdk::error::OTelSdkResult;
use opentelemetry_sdk::metrics::{PeriodicReader, SdkMeterProvider};
use opentelemetry_sdk::trace::{SdkTracerProvider, SpanData, SpanExporter};
use otlpkit_batch::{BatchSpanProcessor, MetricNames, ProcessorHandle};
use otlpkit_core::Signal as CoreSignal;
use otlpkit_testkit::proto::common::v1::any_value;
use otlpkit_testkit::proto::metrics::v1::number_data_point;
use otlpkit_testkit::{Fault, ReceivedMetric, Receiver, Signal};
use support::{WAIT, grpc_processor, produce, provider, wait_in_flight};

/// The value of the point of `metric` whose attributes include all of `attrs`.
fn value(metric: &ReceivedMetric, attrs: &[(&str, &str)]) -> Option<f64> {
    metric.number_points().iter().find_map(|point| {
        let matches = attrs.iter().all(|(key, expected)| {
            otlpkit_testkit::attribute(&point.attributes, key)
                == Some(&any_value::Value::StringValue((*expected).to_owned()))
        });
        if !matches {
            return None;
        }
        match point.value {
            Some(number_data_point::Value::AsInt(v)) => Some(v as f64),
            Some(number_data_point::Value::AsDouble(v)) => Some(v),
            None => None,
        }
    })
}

#[test]
fn statistics_are_exported_as_exporterhelper_style_metrics() {
    let receiver = Receiver::start().unwrap();
    receiver.push_fault(Signal::Traces, Fault::delay(Duration::from_millis(300)));
    let processor = grpc_processor(&receiver)
        .with_max_queue_size(8)
        .with_max_export_batch_size(4)
        .build()
        .unwrap();
    let handle = processor.handle();
    let traces = provider(processor);

    let metric_exporter = opentelemetry_otlp::MetricExporter::builder()
        .with_http()
        .with_endpoint(receiver.http_url(Signal::Metrics))
        .build()
        .unwrap();
    let meters = SdkMeterProvider::builder()
        .with_reader(PeriodicReader::builder(metric_exporter).build())
        .build();
    handle.register_metrics(&meters.meter("otlpkit"));

    produce(&traces, "m", 4);
    wait_in_flight(&receiver, 1);
    produce(&traces, "n", 20); // 8 queued, 12 refused
    let flush = handle.flush_within(WAIT).unwrap();
    assert!(flush.is_complete(), "{flush}");
    meters.force_flush().unwrap();

    let names = MetricNames::for_signal(CoreSignal::Traces);
    let metric = |name: &str| {
        receiver
            .latest_metric(name)
            .unwrap_or_else(|| panic!("{name} was not exported"))
    };
    assert_eq!(names.sent, "otlpkit.exporter.sent_spans");
    assert_eq!(value(&metric(names.sent), &[]), Some(12.0));
    assert_eq!(
        value(&metric(names.enqueue_failed), &[("reason", "queue_full")]),
        Some(12.0)
    );
    assert_eq!(
        value(&metric(names.send_failed), &[("reason", "non_retryable")]),
        Some(0.0)
    );
    assert_eq!(
        value(&metric(names.queue_capacity), &[("signal", "traces")]),
        Some(8.0)
    );
    assert_eq!(
        value(&metric(names.queue_size), &[("signal", "traces")]),
        Some(0.0)
    );
    assert_eq!(
        value(&metric(names.in_flight), &[("signal", "traces")]),
        Some(0.0)
    );
    let exports = value(&metric(names.exports), &[("outcome", "success")]).unwrap();
    assert!(exports >= 2.0, "{exports}");
    let seconds = value(&metric(names.export_duration), &[]).unwrap();
    // The stalled export alone took 300 ms of the total.
    assert!(seconds > 0.0, "{seconds}");

    assert_eq!(
        MetricNames::for_signal(CoreSignal::Logs).sent,
        "otlpkit.exporter.sent_log_records"
    );
    handle.shutdown_within(WAIT).unwrap();
    drop(traces);
    meters.shutdown().unwrap();
}

/// Two span processors counting into one `ExportStats`, as the native and
/// OpenTelemetry-API span processors of `otlpkit::init()` do, registered
/// once together: the item counters they share are read once, each
/// processor's export calls and queue bound are added up. Registered one by
/// one, the second processor's instruments (same names, same attributes)
/// would not be reported beside the first's.
#[test]
fn processors_sharing_their_counters_are_reported_jointly() {
    let receiver = Receiver::start().unwrap();
    let stats = otlpkit_core::stats::ExportStats::new();
    let first = grpc_processor(&receiver)
        .with_stats(stats.clone())
        .with_max_queue_size(8)
        .build()
        .unwrap();
    let second = grpc_processor(&receiver)
        .with_stats(stats)
        .with_max_queue_size(16)
        .build()
        .unwrap();
    let handles = [first.handle(), second.handle()];
    let (first, second) = (provider(first), provider(second));

    let metric_exporter = opentelemetry_otlp::MetricExporter::builder()
        .with_http()
        .with_endpoint(receiver.http_url(Signal::Metrics))
        .build()
        .unwrap();
    let meters = SdkMeterProvider::builder()
        .with_reader(PeriodicReader::builder(metric_exporter).build())
        .build();
    ProcessorHandle::register_joint_metrics(&handles, &meters.meter("otlpkit"));

    produce(&first, "a", 3);
    let flush = handles[0].flush_within(WAIT).unwrap();
    assert!(flush.is_complete(), "{flush}");
    produce(&second, "b", 2);
    let flush = handles[1].flush_within(WAIT).unwrap();
    assert!(flush.is_complete(), "{flush}");
    meters.force_flush().unwrap();

    let names = MetricNames::for_signal(CoreSignal::Traces);
    let metric = |name: &str| {
        receiver
            .latest_metric(name)
            .unwrap_or_else(|| panic!("{name} was not exported"))
    };
    assert_eq!(value(&metric(names.sent), &[]), Some(5.0));
    // One export call per processor, one request each.
    let requests = receiver.requests_for(Signal::Traces).len() as f64;
    assert_eq!(requests, 2.0);
    assert_eq!(
        value(&metric(names.exports), &[("outcome", "success")]),
        Some(requests)
    );
    assert_eq!(
        value(&metric(names.queue_capacity), &[("signal", "traces")]),
        Some(24.0)
    );
    for handle in &handles {
        handle.shutdown_within(WAIT).unwrap();
    }
    drop((first, second));
    meters.shutdown().unwrap();
}

/// An exporter that tries to trace its own work through the global tracer
/// provider, which is the provider it exports for.
#[derive(Debug, Default, Clone)]
struct TracesItself {
    suppressed: Arc<AtomicBool>,
    unsuppressed_calls: Arc<AtomicUsize>,
    exported: Arc<AtomicUsize>,
}

impl SpanExporter for TracesItself {
    async fn export(&self, batch: Vec<SpanData>) -> OTelSdkResult {
        if Context::is_current_telemetry_suppressed() {
            self.suppressed.store(true, Ordering::SeqCst);
        } else {
            self.unsuppressed_calls.fetch_add(1, Ordering::SeqCst);
        }
        opentelemetry::global::tracer("inside-export").in_span("feedback", |_| {});
        self.exported.fetch_add(batch.len(), Ordering::SeqCst);
        Ok(())
    }
}

#[test]
fn the_export_path_never_feeds_the_pipeline() {
    let exporter = TracesItself::default();
    let processor = BatchSpanProcessor::builder(exporter.clone())
        .with_max_export_batch_size(4)
        .build()
        .unwrap();
    let handle = processor.handle();
    let provider = SdkTracerProvider::builder()
        .with_span_processor(processor)
        .build();
    opentelemetry::global::set_tracer_provider(provider.clone());
    let tracer = provider.tracer("app");
    for _ in 0..10 {
        tracer.in_span("work", |_| {});
    }
    handle.flush_within(WAIT).unwrap();
    // Give a feedback span, if one had been made, the time to arrive.
    handle.flush_within(WAIT).unwrap();
    assert!(exporter.suppressed.load(Ordering::SeqCst));
    assert_eq!(exporter.unsuppressed_calls.load(Ordering::SeqCst), 0);
    let stats = handle.stats();
    assert_eq!(stats.received(), 10, "{stats}");
    assert_eq!(exporter.exported.load(Ordering::SeqCst), 10);
    let _ = provider.shutdown();
}
