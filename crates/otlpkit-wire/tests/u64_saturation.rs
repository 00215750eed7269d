//! A `u64` metric value above `i64::MAX` cannot be an OTLP `as_int`
//! (`int64`): it is written as `i64::MAX`, saturated, never as 0 (which
//! `opentelemetry-proto`'s conversion writes, silently), and
//! `saturated_u64_values` counts it so that the exporter can say so.

use std::sync::{Arc, Mutex};

use opentelemetry::metrics::MeterProvider as _;
use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::metrics::v1::{metric, number_data_point};
use opentelemetry_sdk::error::OTelSdkResult;
use opentelemetry_sdk::metrics::data::ResourceMetrics;
use opentelemetry_sdk::metrics::exporter::PushMetricExporter;
use opentelemetry_sdk::metrics::{PeriodicReader, SdkMeterProvider, Temporality};
use prost::Message as _;

/// The bytes of one export and its count of saturated values.
type Export = (Vec<u8>, u64);

/// Keeps what each export gave.
#[derive(Debug, Clone, Default)]
struct Bytes(Arc<Mutex<Vec<Export>>>);

impl PushMetricExporter for Bytes {
    async fn export(&self, metrics: &ResourceMetrics) -> OTelSdkResult {
        let mut out = Vec::new();
        otlpkit_wire::encode_metrics(metrics, &mut out);
        let saturated = otlpkit_wire::saturated_u64_values(metrics);
        self.0.lock().unwrap().push((out, saturated));
        Ok(())
    }
    fn force_flush(&self) -> OTelSdkResult {
        Ok(())
    }
    fn shutdown_with_timeout(&self, _: std::time::Duration) -> OTelSdkResult {
        Ok(())
    }
    fn temporality(&self) -> Temporality {
        Temporality::Cumulative
    }
}

#[test]
fn u64_values_above_i64_max_are_saturated_and_counted() {
    let exporter = Bytes::default();
    let provider = SdkMeterProvider::builder()
        .with_reader(PeriodicReader::builder(exporter.clone()).build())
        .build();
    let meter = provider.meter("m");
    // RLIM_INFINITY, a large byte counter, and values that fit.
    meter
        .u64_gauge("open_files_limit")
        .build()
        .record(u64::MAX, &[]);
    meter.u64_counter("bytes").build().add(1u64 << 63, &[]);
    meter.u64_counter("fits").build().add(i64::MAX as u64, &[]);
    meter.u64_gauge("small").build().record(7, &[]);
    provider.force_flush().unwrap();
    let (bytes, saturated) = exporter.0.lock().unwrap().pop().unwrap();
    assert_eq!(saturated, 2);
    let request = ExportMetricsServiceRequest::decode(&bytes[..]).unwrap();
    let mut values = Vec::new();
    for m in &request.resource_metrics[0].scope_metrics[0].metrics {
        let points = match m.data.as_ref().unwrap() {
            metric::Data::Gauge(g) => &g.data_points,
            metric::Data::Sum(s) => &s.data_points,
            other => panic!("{other:?}"),
        };
        values.push((m.name.as_str(), points[0].value));
    }
    values.sort_by_key(|(name, _)| *name);
    let int = |v| Some(number_data_point::Value::AsInt(v));
    assert_eq!(
        values,
        [
            ("bytes", int(i64::MAX)),
            ("fits", int(i64::MAX)),
            ("open_files_limit", int(i64::MAX)),
            ("small", int(7)),
        ]
    );
}
