//! The engine's statistics as OpenTelemetry metrics, named after the
//! Collector's `exporterhelper` metrics under an `otlpkit.` prefix.

use std::sync::Arc;

use opentelemetry::KeyValue;
use opentelemetry::metrics::Meter;
use otlpkit_core::Signal;
use otlpkit_core::stats::{DropReason, ExportStats, SignalStatsSnapshot};

use crate::handle::ProcessorHandle;

/// Drop reasons that happen before an item is handed to the exporter
/// (reported under `enqueue_failed`); the others are reported under
/// `send_failed`.
const ENQUEUE_REASONS: [DropReason; 4] = [
    DropReason::QueueFull,
    DropReason::EvictedOldest,
    DropReason::BlockTimeout,
    DropReason::AfterShutdown,
];

/// Every other reason: items that had left the queue, including those lost
/// from the disk spool (`spool_corrupt`). Together with
/// [`ENQUEUE_REASONS`] exactly [`DropReason::ALL`] (a unit test checks it,
/// so a new reason cannot go unreported).
const SEND_REASONS: [DropReason; 7] = [
    DropReason::NonRetryable,
    DropReason::RetriesExhausted,
    DropReason::RejectedByServer,
    DropReason::Oversized,
    DropReason::ShutdownDeadline,
    DropReason::Internal,
    DropReason::SpoolCorrupt,
];

/// The metric names for one signal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct MetricNames {
    /// Items delivered, sent directly or from the disk spool:
    /// `otlpkit.exporter.sent_spans` / `otlpkit.exporter.sent_log_records`.
    pub sent: &'static str,
    /// Items dropped after they left the queue (export failed after
    /// retries, non-retryable, rejected as partial success, oversized,
    /// shutdown deadline, internal error, damaged in the disk spool), with
    /// a `reason` attribute:
    /// `otlpkit.exporter.send_failed_spans` / `…_log_records`.
    pub send_failed: &'static str,
    /// Items the queue refused or evicted (queue full, evicted oldest, block
    /// timeout, after shutdown), with a `reason` attribute:
    /// `otlpkit.exporter.enqueue_failed_spans` / `…_log_records`.
    pub enqueue_failed: &'static str,
    /// Items in the queue: `otlpkit.exporter.queue_size` (with a `signal`
    /// attribute, as the queue metrics of the Collector have none per item
    /// kind).
    pub queue_size: &'static str,
    /// The queue's item bound: `otlpkit.exporter.queue_capacity`.
    pub queue_capacity: &'static str,
    /// Export calls running: `otlpkit.exporter.in_flight_exports`.
    pub in_flight: &'static str,
    /// Finished export calls, with an `outcome` attribute (`success`,
    /// `failure`): `otlpkit.exporter.exports`.
    pub exports: &'static str,
    /// Total time spent in export calls, in seconds:
    /// `otlpkit.exporter.export_duration`.
    pub export_duration: &'static str,
}

impl MetricNames {
    /// The names used for `signal`: spans and log records (counted by
    /// their batch processors), metric data points (see
    /// [`register_item_counters`](Self::register_item_counters)).
    pub const fn for_signal(signal: Signal) -> MetricNames {
        let (sent, send_failed, enqueue_failed) = match signal {
            Signal::Logs => (
                "otlpkit.exporter.sent_log_records",
                "otlpkit.exporter.send_failed_log_records",
                "otlpkit.exporter.enqueue_failed_log_records",
            ),
            Signal::Metrics => (
                "otlpkit.exporter.sent_metric_points",
                "otlpkit.exporter.send_failed_metric_points",
                "otlpkit.exporter.enqueue_failed_metric_points",
            ),
            _ => (
                "otlpkit.exporter.sent_spans",
                "otlpkit.exporter.send_failed_spans",
                "otlpkit.exporter.enqueue_failed_spans",
            ),
        };
        MetricNames {
            sent,
            send_failed,
            enqueue_failed,
            queue_size: "otlpkit.exporter.queue_size",
            queue_capacity: "otlpkit.exporter.queue_capacity",
            in_flight: "otlpkit.exporter.in_flight_exports",
            exports: "otlpkit.exporter.exports",
            export_duration: "otlpkit.exporter.export_duration",
        }
    }
}

impl MetricNames {
    /// Registers the item counters of `signal` on `meter` — [`sent`],
    /// [`send_failed`] and [`enqueue_failed`], by reason, as
    /// [`ProcessorHandle::register_metrics`] registers them — read from
    /// `stats` at every collection: for a signal no batch processor of
    /// this crate exports, such as metrics (the SDK's periodic reader
    /// hands its data points to the exporter, which counts them into the
    /// same [`ExportStats`]). Register a signal's counters once, through
    /// this or through its processors.
    ///
    /// [`sent`]: MetricNames::sent
    /// [`send_failed`]: MetricNames::send_failed
    /// [`enqueue_failed`]: MetricNames::enqueue_failed
    pub fn register_item_counters(stats: &ExportStats, signal: Signal, meter: &Meter) {
        let stats = stats.clone();
        register_item_counters(signal, meter, move || stats.signal(signal).snapshot());
    }
}

/// The unit of `signal`'s items.
fn item_unit(signal: Signal) -> &'static str {
    match signal {
        Signal::Logs => "{log_record}",
        Signal::Metrics => "{data_point}",
        _ => "{span}",
    }
}

/// Registers `signal`'s item counters, each reading `read()` when
/// collected.
fn register_item_counters<S: ItemCounts + 'static>(
    signal: Signal,
    meter: &Meter,
    read: impl Fn() -> S + Send + Sync + Clone + 'static,
) {
    let names = MetricNames::for_signal(signal);
    let unit = item_unit(signal);
    let sent = read.clone();
    meter
        .u64_observable_counter(names.sent)
        .with_unit(unit)
        .with_description("Items successfully delivered to the destination.")
        .with_callback(move |observer| observer.observe(sent().delivered(), &[]))
        .build();

    for (name, reasons, description) in [
        (
            names.send_failed,
            &SEND_REASONS[..],
            "Items that could not be delivered, by reason.",
        ),
        (
            names.enqueue_failed,
            &ENQUEUE_REASONS[..],
            "Items the queue refused or evicted, by reason.",
        ),
    ] {
        let read = read.clone();
        meter
            .u64_observable_counter(name)
            .with_unit(unit)
            .with_description(description)
            .with_callback(move |observer| {
                let stats = read();
                for reason in reasons {
                    observer.observe(
                        stats.dropped(*reason),
                        &[KeyValue::new("reason", reason.as_str())],
                    );
                }
            })
            .build();
    }
}

/// Delivered and dropped items, from a processor's statistics or a
/// signal's counters.
trait ItemCounts {
    /// Sent directly or from the disk spool.
    fn delivered(&self) -> u64;
    fn dropped(&self, reason: DropReason) -> u64;
}

impl ItemCounts for SignalStatsSnapshot {
    fn delivered(&self) -> u64 {
        SignalStatsSnapshot::delivered(self)
    }
    fn dropped(&self, reason: DropReason) -> u64 {
        SignalStatsSnapshot::dropped(self, reason)
    }
}

impl ItemCounts for crate::ProcessorStats {
    fn delivered(&self) -> u64 {
        crate::ProcessorStats::delivered(self)
    }
    fn dropped(&self, reason: DropReason) -> u64 {
        crate::ProcessorStats::dropped(self, reason)
    }
}

impl ProcessorHandle {
    /// Registers observable instruments on `meter` that report this
    /// processor's statistics at every collection (see [`MetricNames`]).
    /// The gauges and the export counters carry a `signal` attribute
    /// (`traces`, `logs`), so both processors can register on one meter.
    ///
    /// The callbacks only read atomic counters; they live as long as the
    /// meter provider.
    pub fn register_metrics(&self, meter: &Meter) {
        Self::register_joint_metrics(std::slice::from_ref(self), meter);
    }

    /// Registers the instruments of [`register_metrics`](Self::register_metrics)
    /// once for several processors of one signal that count into one
    /// [`ExportStats`](otlpkit_core::stats::ExportStats), such as the two
    /// span processors `otlpkit::init()` builds on its native path (one for
    /// `tracing` spans, one for spans made through the OpenTelemetry API):
    /// the item counters, which they share, are read once; the queue sizes
    /// and bounds, the exports in flight, the finished export calls and
    /// their time are summed over them. Registering each on its own would
    /// make instruments of the same names and attributes, one processor's
    /// values hiding the other's. Does nothing for an empty slice.
    pub fn register_joint_metrics(handles: &[ProcessorHandle], meter: &Meter) {
        let (Some(first), Some(stats)) = (handles.first(), ProcessorHandle::joint_stats(handles))
        else {
            return;
        };
        let handles: Arc<[ProcessorHandle]> = handles.into();
        let signal = stats.signal;
        let names = MetricNames::for_signal(signal);
        let unit = item_unit(signal);
        let signal_attr = KeyValue::new("signal", signal.to_string());

        // The item counters are the signal's, shared: read them once.
        let handle = first.clone();
        register_item_counters(signal, meter, move || handle.stats());

        // Each processor's own: summed ([`ProcessorStats::joint`]).
        let all = Arc::clone(&handles);
        let attrs = [signal_attr.clone()];
        meter
            .u64_observable_gauge(names.queue_size)
            .with_unit(unit)
            .with_description("Items in the queue.")
            .with_callback(move |observer| {
                if let Some(stats) = ProcessorHandle::joint_stats(&all) {
                    observer.observe(stats.queue_len as u64, &attrs);
                }
            })
            .build();

        let attrs = [signal_attr.clone()];
        let capacity = stats.queue_capacity as u64;
        meter
            .u64_observable_gauge(names.queue_capacity)
            .with_unit(unit)
            .with_description("The queue's item bound.")
            .with_callback(move |observer| observer.observe(capacity, &attrs))
            .build();

        let all = Arc::clone(&handles);
        let attrs = [signal_attr.clone()];
        meter
            .u64_observable_gauge(names.in_flight)
            .with_unit("{export}")
            .with_description("Export calls running.")
            .with_callback(move |observer| {
                if let Some(stats) = ProcessorHandle::joint_stats(&all) {
                    observer.observe(stats.in_flight_exports as u64, &attrs);
                }
            })
            .build();

        let all = Arc::clone(&handles);
        let success = [signal_attr.clone(), KeyValue::new("outcome", "success")];
        let failure = [signal_attr.clone(), KeyValue::new("outcome", "failure")];
        meter
            .u64_observable_counter(names.exports)
            .with_unit("{export}")
            .with_description("Finished export calls, by outcome.")
            .with_callback(move |observer| {
                if let Some(stats) = ProcessorHandle::joint_stats(&all) {
                    let failed = stats.failed_exports;
                    let total = stats.export_durations.count;
                    observer.observe(total.saturating_sub(failed), &success);
                    observer.observe(failed, &failure);
                }
            })
            .build();

        let all = handles;
        let attrs = [signal_attr];
        meter
            .f64_observable_counter(names.export_duration)
            .with_unit("s")
            .with_description("Total time spent in export calls.")
            .with_callback(move |observer| {
                if let Some(stats) = ProcessorHandle::joint_stats(&all) {
                    observer.observe(stats.export_durations.total.as_secs_f64(), &attrs);
                }
            })
            .build();
    }
}

#[cfg(test)]
mod tests {
    use opentelemetry::metrics::MeterProvider as _;
    use opentelemetry_sdk::error::OTelSdkResult;
    use opentelemetry_sdk::metrics::data::{AggregatedMetrics, MetricData};
    use opentelemetry_sdk::metrics::{InMemoryMetricExporter, PeriodicReader, SdkMeterProvider};
    use opentelemetry_sdk::trace::{SpanData, SpanExporter};
    use otlpkit_core::stats::ExportStats;

    use super::*;
    use crate::BatchSpanProcessor;

    #[test]
    fn the_reported_reasons_are_every_drop_reason_once() {
        let mut reported: Vec<DropReason> = ENQUEUE_REASONS
            .iter()
            .chain(SEND_REASONS.iter())
            .copied()
            .collect();
        assert_eq!(reported.len(), DropReason::ALL.len(), "{reported:?}");
        for reason in DropReason::ALL {
            let at = reported.iter().position(|r| *r == reason);
            assert!(at.is_some(), "{reason} is in neither list");
            reported.remove(at.unwrap_or_default());
        }
        assert!(reported.is_empty(), "listed twice: {reported:?}");
    }

    #[derive(Debug)]
    struct Nowhere;

    impl SpanExporter for Nowhere {
        async fn export(&self, _: Vec<SpanData>) -> OTelSdkResult {
            Ok(())
        }
    }

    /// The value of `name`'s point whose `reason` is `reason`, or, for
    /// `None`, of its point without attributes.
    fn point_value(
        exporter: &InMemoryMetricExporter,
        name: &str,
        reason: Option<&str>,
    ) -> Option<u64> {
        let metrics = exporter.get_finished_metrics().unwrap();
        let metric = metrics
            .iter()
            .rev()
            .flat_map(|resource| resource.scope_metrics())
            .flat_map(|scope| scope.metrics())
            .find(|metric| metric.name() == name)?;
        let AggregatedMetrics::U64(MetricData::Sum(sum)) = metric.data() else {
            return None;
        };
        sum.data_points()
            .find(|point| {
                let mut attributes = point.attributes();
                match reason {
                    Some(reason) => attributes
                        .any(|kv| kv.key.as_str() == "reason" && kv.value.as_str() == reason),
                    None => attributes.next().is_none(),
                }
            })
            .map(|point| point.value())
    }

    fn dropped(exporter: &InMemoryMetricExporter, name: &str, reason: &str) -> Option<u64> {
        point_value(exporter, name, Some(reason))
    }

    fn total(exporter: &InMemoryMetricExporter, name: &str) -> Option<u64> {
        point_value(exporter, name, None)
    }

    #[test]
    fn items_delivered_from_the_spool_are_reported_as_sent() {
        let stats = ExportStats::new();
        let processor = BatchSpanProcessor::builder(Nowhere)
            .with_stats(stats.clone())
            .build()
            .unwrap();
        let exporter = InMemoryMetricExporter::default();
        let provider = SdkMeterProvider::builder()
            .with_reader(PeriodicReader::builder(exporter.clone()).build())
            .build();
        processor
            .handle()
            .register_metrics(&provider.meter("otlpkit"));
        // What the exporter core records: 2 sent directly, 3 spooled and
        // then delivered by the drain.
        let traces = stats.signal(Signal::Traces);
        traces.record_exported(2);
        traces.record_spooled(3);
        traces.record_delivered_from_spool(3);
        provider.force_flush().unwrap();
        let names = MetricNames::for_signal(Signal::Traces);
        assert_eq!(total(&exporter, names.sent), Some(5));
        let processor_stats = processor.handle().stats();
        assert_eq!(processor_stats.delivered(), 5);
        assert!(
            processor_stats
                .to_string()
                .contains("exported 2, dropped 0, delivered from the spool 3, in the spool 0"),
            "{processor_stats}"
        );
        provider.shutdown().unwrap();
        let _ = processor
            .handle()
            .shutdown_within(std::time::Duration::from_secs(5));
    }

    #[test]
    fn records_lost_from_the_spool_are_reported_as_send_failed() {
        let stats = ExportStats::new();
        let processor = BatchSpanProcessor::builder(Nowhere)
            .with_stats(stats.clone())
            .build()
            .unwrap();
        let exporter = InMemoryMetricExporter::default();
        let provider = SdkMeterProvider::builder()
            .with_reader(PeriodicReader::builder(exporter.clone()).build())
            .build();
        processor
            .handle()
            .register_metrics(&provider.meter("otlpkit"));
        // What the exporter core records for damaged spool records.
        stats
            .signal(Signal::Traces)
            .record_dropped_from_spool(DropReason::SpoolCorrupt, 5);
        stats
            .signal(Signal::Traces)
            .record_dropped(DropReason::QueueFull, 1);
        provider.force_flush().unwrap();
        let names = MetricNames::for_signal(Signal::Traces);
        assert_eq!(
            dropped(&exporter, names.send_failed, "spool_corrupt"),
            Some(5)
        );
        assert_eq!(
            dropped(&exporter, names.enqueue_failed, "queue_full"),
            Some(1)
        );
        provider.shutdown().unwrap();
        let _ = processor
            .handle()
            .shutdown_within(std::time::Duration::from_secs(5));
    }
}
