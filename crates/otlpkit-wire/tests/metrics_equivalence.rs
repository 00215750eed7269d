//! `encode_metrics` against the reference: `opentelemetry-proto` 0.33.1's
//! `ExportMetricsServiceRequest::from(&ResourceMetrics)`, with the metrics
//! that hold no data point and the envelopes left empty removed (what the
//! exporter did before otlpkit-wire encoded metrics), then prost's
//! `encode_to_vec`.
//!
//! The SDK's metric data can only be built by the SDK, so every case runs
//! a real `SdkMeterProvider`: instruments of every kind record the case's
//! measurements, a periodic reader is flushed, and an exporter compares
//! the two encodings of what it is given, byte for byte (which also
//! compares NaN doubles by their bits), and the data point counts. Our
//! bytes are also decoded with prost and re-encoded, to check they are a
//! well-formed request. Exemplars, which the 0.33 SDK never records, are
//! compared in the crate's unit tests.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use opentelemetry::metrics::{Meter, MeterProvider as _};
use opentelemetry::{InstrumentationScope, KeyValue, Value};
use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::metrics::v1::{Metric, metric};
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::error::OTelSdkResult;
use opentelemetry_sdk::metrics::data::ResourceMetrics;
use opentelemetry_sdk::metrics::exporter::PushMetricExporter;
use opentelemetry_sdk::metrics::{
    Aggregation, Instrument, PeriodicReader, SdkMeterProvider, Stream, Temporality,
};
use otlpkit_wire::{encode_metrics, metric_data_points};
use proptest::prelude::*;
use prost::Message as _;

// ---------------------------------------------------------------------------
// The reference, and an exporter that compares.

/// Data points in one metric, whatever its kind (the exporter's count
/// before otlpkit-wire encoded metrics).
fn data_point_count(metric: &Metric) -> usize {
    match &metric.data {
        Some(metric::Data::Gauge(gauge)) => gauge.data_points.len(),
        Some(metric::Data::Sum(sum)) => sum.data_points.len(),
        Some(metric::Data::Histogram(histogram)) => histogram.data_points.len(),
        Some(metric::Data::ExponentialHistogram(histogram)) => histogram.data_points.len(),
        Some(metric::Data::Summary(summary)) => summary.data_points.len(),
        None => 0,
    }
}

/// The exporter's pruning before otlpkit-wire encoded metrics.
fn prune(request: &mut ExportMetricsServiceRequest) -> u64 {
    let mut points = 0u64;
    request.resource_metrics.retain_mut(|resource| {
        resource.scope_metrics.retain_mut(|scope| {
            scope.metrics.retain(|metric| {
                let count = data_point_count(metric);
                points += count as u64;
                count > 0
            });
            !scope.metrics.is_empty()
        });
        !resource.scope_metrics.is_empty()
    });
    points
}

/// The reference with each `u64` value above `i64::MAX` (which it writes
/// as 0) saturated to `i64::MAX`, as otlpkit-wire writes it: the request
/// mirrors the SDK's metrics scope for scope, metric for metric, point for
/// point, before it is pruned.
fn saturate(metrics: &ResourceMetrics, request: &mut ExportMetricsServiceRequest) {
    use opentelemetry_proto::tonic::metrics::v1::number_data_point;
    use opentelemetry_sdk::metrics::data::{AggregatedMetrics, MetricData};
    let saturated = |value: u64| i64::try_from(value).unwrap_or(i64::MAX);
    let scopes = request
        .resource_metrics
        .iter_mut()
        .flat_map(|resource| resource.scope_metrics.iter_mut());
    for (sdk, proto) in metrics.scope_metrics().zip(scopes) {
        for (sdk, proto) in sdk.metrics().zip(proto.metrics.iter_mut()) {
            let AggregatedMetrics::U64(data) = sdk.data() else {
                continue;
            };
            let values: Vec<u64> = match data {
                MetricData::Gauge(gauge) => gauge.data_points().map(|p| p.value()).collect(),
                MetricData::Sum(sum) => sum.data_points().map(|p| p.value()).collect(),
                _ => continue,
            };
            let points = match proto.data.as_mut() {
                Some(metric::Data::Gauge(gauge)) => &mut gauge.data_points,
                Some(metric::Data::Sum(sum)) => &mut sum.data_points,
                _ => unreachable!("a u64 gauge or sum"),
            };
            for (value, point) in values.into_iter().zip(points.iter_mut()) {
                point.value = Some(number_data_point::Value::AsInt(saturated(value)));
            }
        }
    }
}

/// One export as both encoders saw it.
#[derive(Debug)]
struct Compared {
    ours: Vec<u8>,
    /// Ours decoded by prost and encoded again.
    reencoded: Result<Vec<u8>, String>,
    reference: Vec<u8>,
    our_points: u64,
    reference_points: u64,
}

/// Encodes what it is given both ways.
#[derive(Debug, Clone)]
struct Comparing {
    temporality: Temporality,
    seen: Arc<Mutex<Vec<Compared>>>,
}

impl PushMetricExporter for Comparing {
    async fn export(&self, metrics: &ResourceMetrics) -> OTelSdkResult {
        let mut ours = Vec::new();
        encode_metrics(metrics, &mut ours);
        // Well-formed: prost decodes it and writes the same bytes back
        // (checked by the test thread: this runs on the reader's).
        let reencoded = ExportMetricsServiceRequest::decode(ours.as_slice())
            .map(|decoded| decoded.encode_to_vec())
            .map_err(|error| error.to_string());
        let mut request = ExportMetricsServiceRequest::from(metrics);
        saturate(metrics, &mut request);
        let reference_points = prune(&mut request);
        self.seen.lock().unwrap().push(Compared {
            reencoded,
            ours,
            reference: request.encode_to_vec(),
            our_points: metric_data_points(metrics),
            reference_points,
        });
        Ok(())
    }

    fn force_flush(&self) -> OTelSdkResult {
        Ok(())
    }

    fn shutdown_with_timeout(&self, _timeout: Duration) -> OTelSdkResult {
        Ok(())
    }

    fn temporality(&self) -> Temporality {
        self.temporality
    }
}

/// Views by name prefix: `exp.` exponential histograms (`exp.<size>.<scale>`
/// with `.nominmax` for no min and max), `bounds.` explicit buckets at
/// 0, 10, 100 and no min and max, `nobounds.` a single bucket.
fn views(instrument: &Instrument) -> Option<Stream> {
    let name = instrument.name();
    let aggregation = if let Some(rest) = name.strip_prefix("exp.") {
        let mut parts = rest.split('.');
        let max_size = parts.next()?.parse().ok()?;
        let max_scale = parts.next()?.parse().ok()?;
        Aggregation::Base2ExponentialHistogram {
            max_size,
            max_scale,
            record_min_max: !name.ends_with(".nominmax"),
        }
    } else if name.starts_with("bounds.") {
        Aggregation::ExplicitBucketHistogram {
            boundaries: vec![0.0, 10.0, 100.0],
            record_min_max: false,
        }
    } else if name.starts_with("nobounds.") {
        Aggregation::ExplicitBucketHistogram {
            boundaries: vec![],
            record_min_max: true,
        }
    } else {
        return None;
    };
    Stream::builder().with_aggregation(aggregation).build().ok()
}

/// Runs `record` against a provider with `resource` and `temporality`,
/// flushes `collections` times (recording before each), shuts down, and
/// checks every export; returns how many exports had data.
fn check(
    resource: Resource,
    temporality: Temporality,
    collections: usize,
    record: impl Fn(&SdkMeterProvider),
) -> usize {
    let exporter = Comparing {
        temporality,
        seen: Arc::default(),
    };
    let provider = SdkMeterProvider::builder()
        .with_resource(resource)
        .with_view(views)
        .with_reader(PeriodicReader::builder(exporter.clone()).build())
        .build();
    for _ in 0..collections {
        record(&provider);
        provider.force_flush().expect("flush");
    }
    provider.shutdown().expect("shutdown");
    // The reader skips a collection without scopes: there may be nothing.
    let seen = exporter.seen.lock().unwrap();
    let mut with_data = 0;
    for (index, compared) in seen.iter().enumerate() {
        assert_eq!(
            compared.ours, compared.reference,
            "export {index}: bytes differ"
        );
        assert_eq!(
            compared.reencoded.as_ref(),
            Ok(&compared.ours),
            "export {index}: not a well-formed request"
        );
        assert_eq!(
            compared.our_points, compared.reference_points,
            "export {index}: data point counts differ"
        );
        with_data += usize::from(!compared.ours.is_empty());
    }
    with_data
}

fn rich_resource() -> Resource {
    Resource::builder_empty()
        .with_schema_url(
            [
                KeyValue::new("service.name", "checkout"),
                KeyValue::new("host.cores", 8),
                KeyValue::new("ratio", 0.5),
                KeyValue::new("flag", true),
                KeyValue::new("ünïcode", "värde"),
            ],
            "https://opentelemetry.io/schemas/1.26.0",
        )
        .build()
}

fn rich_meter(provider: &SdkMeterProvider) -> Meter {
    provider.meter_with_scope(
        InstrumentationScope::builder("my-crate")
            .with_version("1.2.3")
            .with_schema_url("https://opentelemetry.io/schemas/1.21.0")
            .with_attributes([KeyValue::new("scope.key", "v"), KeyValue::new("n", 1)])
            .build(),
    )
}

fn attributes(n: i64) -> Vec<KeyValue> {
    vec![
        KeyValue::new("route", format!("/r/{n}")),
        KeyValue::new("n", n),
        KeyValue::new("d", n as f64 / 3.0),
        KeyValue::new("ok", n % 2 == 0),
        KeyValue::new("list", Value::Array(vec![n, -n, i64::MIN, i64::MAX].into())),
    ]
}

// ---------------------------------------------------------------------------
// Named cases, one per kind.

const BOTH: [Temporality; 3] = [
    Temporality::Cumulative,
    Temporality::Delta,
    Temporality::LowMemory,
];

#[test]
fn sums_of_every_value_type_are_byte_identical() {
    for temporality in BOTH {
        let with_data = check(rich_resource(), temporality, 2, |provider| {
            let meter = rich_meter(provider);
            let counter = meter
                .u64_counter("requests")
                .with_description("Requests served")
                .with_unit("{request}")
                .build();
            counter.add(3, &attributes(1));
            counter.add(u64::MAX, &attributes(2)); // above i64::MAX: saturated
            meter
                .f64_counter("bytes")
                .with_unit("By")
                .build()
                .add(f64::INFINITY, &attributes(3));
            let up_down = meter.i64_up_down_counter("queue").build();
            up_down.add(-7, &attributes(4));
            up_down.add(i64::MIN, &[]);
            meter
                .f64_up_down_counter("balance")
                .build()
                .add(-0.25, &attributes(5));
        });
        assert!(with_data >= 2, "{temporality:?}");
    }
}

#[test]
fn gauges_of_every_value_type_are_byte_identical() {
    for temporality in BOTH {
        let with_data = check(rich_resource(), temporality, 2, |provider| {
            let meter = rich_meter(provider);
            meter
                .u64_gauge("u")
                .build()
                .record(u64::MAX, &attributes(1));
            meter
                .i64_gauge("i")
                .build()
                .record(i64::MIN, &attributes(2));
            let f = meter.f64_gauge("f").with_unit("1").build();
            f.record(f64::NAN, &attributes(3));
            f.record(-0.0, &attributes(4));
            f.record(0.0, &[]);
        });
        assert!(with_data >= 2, "{temporality:?}");
    }
}

#[test]
fn observable_instruments_are_byte_identical() {
    for temporality in BOTH {
        let with_data = check(
            Resource::builder_empty().build(),
            temporality,
            2,
            |provider| {
                let meter = provider.meter("observer");
                let _counter = meter
                    .u64_observable_counter("oc")
                    .with_callback(|observer| observer.observe(42, &attributes(1)))
                    .build();
                let _up_down = meter
                    .i64_observable_up_down_counter("oud")
                    .with_callback(|observer| observer.observe(-42, &[]))
                    .build();
                let _gauge = meter
                    .f64_observable_gauge("og")
                    .with_callback(|observer| observer.observe(1.5, &attributes(2)))
                    .build();
            },
        );
        assert!(with_data >= 2, "{temporality:?}");
    }
}

#[test]
fn histograms_are_byte_identical() {
    for temporality in BOTH {
        let with_data = check(rich_resource(), temporality, 2, |provider| {
            let meter = rich_meter(provider);
            let latency = meter
                .f64_histogram("latency")
                .with_unit("s")
                .with_description("Latency")
                .build();
            for value in [0.0, 0.004, 7.5, 1e9, -3.0, f64::INFINITY] {
                latency.record(value, &attributes(1));
            }
            // Large, but not so large that the SDK's sum overflows over
            // the collections (it panics in a debug build).
            meter.u64_histogram("huge").build().record(1 << 62, &[]);
            let sizes = meter.u64_histogram("sizes").build();
            sizes.record(1 << 40, &[]);
            sizes.record(12, &attributes(2));
            meter
                .f64_histogram("bounds.min_max_off")
                .build()
                .record(50.0, &[]);
            meter
                .u64_histogram("nobounds.one_bucket")
                .build()
                .record(5, &attributes(3));
            meter
                .f64_histogram("custom")
                .with_boundaries(vec![-1.0, 0.5, f64::MAX])
                .build()
                .record(f64::NAN, &[]);
        });
        assert!(with_data >= 2, "{temporality:?}");
    }
}

#[test]
fn exponential_histograms_are_byte_identical() {
    for temporality in BOTH {
        let with_data = check(rich_resource(), temporality, 2, |provider| {
            let meter = rich_meter(provider);
            let wide = meter.f64_histogram("exp.160.20").build();
            for value in [0.0, 1e-300, 0.5, 1.0, 2.0, 1e300, -4.0, -0.001] {
                wide.record(value, &attributes(1));
            }
            // Few buckets: the scale goes down, below 0 too.
            let narrow = meter.u64_histogram("exp.2.20.nominmax").build();
            for value in [1, 1000, 1_000_000, 1 << 62] {
                narrow.record(value, &attributes(2));
            }
            meter.u64_histogram("exp.8.3").build().record(1 << 62, &[]);
            // Only zeros: empty buckets, zero count only.
            meter.u64_histogram("exp.20.5").build().record(0, &[]);
            meter.f64_histogram("exp.4.-10").build().record(-1e12, &[]);
        });
        assert!(with_data >= 2, "{temporality:?}");
    }
}

#[test]
fn a_request_without_data_points_is_no_bytes() {
    // The one empty `ResourceMetrics` the public API can build: the
    // reference's request holds a resource envelope without scopes, which
    // pruning removes, leaving zero bytes.
    let empty = ResourceMetrics::default();
    let mut request = ExportMetricsServiceRequest::from(&empty);
    assert_eq!(prune(&mut request), 0);
    assert!(request.encode_to_vec().is_empty());
    let mut ours = b"kept".to_vec();
    encode_metrics(&empty, &mut ours);
    assert_eq!(ours, b"kept");
    assert_eq!(metric_data_points(&empty), 0);
}

#[test]
fn metrics_and_scopes_without_data_points_are_not_exported() {
    // The 0.33 SDK leaves out a metric without data points and a scope
    // without metrics, and its reader skips a collection without scopes;
    // the encoder's own pruning (as the exporter's was) is then never
    // reached from the SDK but for the empty request above. A scope whose
    // instruments never record, and one that records once: in delta the
    // second collection has no data point at all.
    let with_data = check(rich_resource(), Temporality::Delta, 2, |provider| {
        let _silent = provider.meter("silent").u64_counter("never").build();
        let _unobserved = provider
            .meter("silent")
            .f64_observable_gauge("unobserved")
            .with_callback(|_| {})
            .build();
        let _ = provider.meter("quiet").u64_histogram("never").build();
    });
    assert_eq!(with_data, 0);
    let calls = AtomicUsize::new(0);
    let with_data = check(rich_resource(), Temporality::Delta, 3, |provider| {
        let _silent = provider.meter("silent").u64_counter("never").build();
        let counter = provider.meter("busy").u64_counter("once").build();
        if calls.fetch_add(1, Ordering::Relaxed) == 0 {
            counter.add(1, &[]);
        }
    });
    assert_eq!(with_data, 1);
}

#[test]
fn bare_scope_and_empty_resource_are_byte_identical() {
    let with_data = check(
        Resource::builder_empty().build(),
        Temporality::Cumulative,
        1,
        |provider| {
            provider
                .meter_with_scope(InstrumentationScope::builder("").build())
                .u64_counter("c")
                .build()
                .add(1, &[]);
        },
    );
    // The flush and the shutdown's final collection.
    assert_eq!(with_data, 2);
}

#[test]
fn encoding_appends_to_the_buffer() {
    /// The request encoded alone, and appended after a prefix.
    type Encoded = Option<(Vec<u8>, Vec<u8>)>;
    #[derive(Debug, Clone)]
    struct Appending(Arc<Mutex<Encoded>>);
    impl PushMetricExporter for Appending {
        async fn export(&self, metrics: &ResourceMetrics) -> OTelSdkResult {
            let mut alone = Vec::new();
            encode_metrics(metrics, &mut alone);
            let mut appended = b"prefix".to_vec();
            encode_metrics(metrics, &mut appended);
            *self.0.lock().unwrap() = Some((alone, appended));
            Ok(())
        }
        fn force_flush(&self) -> OTelSdkResult {
            Ok(())
        }
        fn shutdown_with_timeout(&self, _timeout: Duration) -> OTelSdkResult {
            Ok(())
        }
        fn temporality(&self) -> Temporality {
            Temporality::Cumulative
        }
    }
    let appending = Appending(Arc::default());
    let provider = SdkMeterProvider::builder()
        .with_reader(PeriodicReader::builder(appending.clone()).build())
        .build();
    provider.meter("m").u64_counter("c").build().add(1, &[]);
    provider.force_flush().unwrap();
    let (alone, appended) = appending.0.lock().unwrap().take().unwrap();
    assert!(!alone.is_empty());
    assert_eq!(&appended[..6], b"prefix");
    assert_eq!(&appended[6..], &alone[..]);
    provider.shutdown().unwrap();
}

// ---------------------------------------------------------------------------
// Random metrics.

#[derive(Debug, Clone)]
enum Kind {
    U64Counter,
    F64Counter,
    I64UpDown,
    F64UpDown,
    U64Gauge,
    I64Gauge,
    F64Gauge,
    U64Histogram,
    F64Histogram,
    /// An exponential histogram: max size, max scale, min and max recorded.
    Exponential(u32, i8, bool),
    /// Explicit buckets without min and max.
    Bounded,
    ObservableCounter,
    ObservableGauge,
}

#[derive(Debug, Clone)]
struct InstrumentSpec {
    kind: Kind,
    name: String,
    description: String,
    unit: String,
    /// Values and an attribute set index, per collection.
    measurements: Vec<Vec<(f64, u64, i64, usize)>>,
}

#[derive(Debug, Clone)]
struct MeterSpec {
    name: String,
    version: Option<String>,
    schema_url: Option<String>,
    attributes: Vec<KeyValue>,
    instruments: Vec<InstrumentSpec>,
}

fn text() -> impl Strategy<Value = String> {
    prop_oneof![Just(String::new()), "[a-z]{1,8}", "\\PC{0,12}",]
}

fn double() -> impl Strategy<Value = f64> {
    prop_oneof![
        8 => any::<f64>(),
        1 => Just(0.0),
        1 => Just(-0.0),
        1 => Just(f64::NAN),
        1 => Just(f64::INFINITY),
        1 => Just(f64::NEG_INFINITY),
        4 => -1e6..1e6f64,
    ]
}

fn value() -> impl Strategy<Value = Value> {
    prop_oneof![
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::I64),
        double().prop_map(Value::F64),
        text().prop_map(Value::from),
        prop::collection::vec(any::<i64>(), 0..3).prop_map(|v| Value::Array(v.into())),
        prop::collection::vec(double(), 0..3).prop_map(|v| Value::Array(v.into())),
    ]
}

fn attributes_strategy(max: usize) -> impl Strategy<Value = Vec<KeyValue>> {
    prop::collection::vec(("[a-z.]{0,6}", value()), 0..max).prop_map(|pairs| {
        pairs
            .into_iter()
            .map(|(k, v)| KeyValue::new(k, v))
            .collect()
    })
}

fn kind() -> impl Strategy<Value = Kind> {
    prop_oneof![
        Just(Kind::U64Counter),
        Just(Kind::F64Counter),
        Just(Kind::I64UpDown),
        Just(Kind::F64UpDown),
        Just(Kind::U64Gauge),
        Just(Kind::I64Gauge),
        Just(Kind::F64Gauge),
        Just(Kind::U64Histogram),
        Just(Kind::F64Histogram),
        (2u32..40, -10i8..=20, any::<bool>()).prop_map(|(s, c, m)| Kind::Exponential(s, c, m)),
        Just(Kind::Bounded),
        Just(Kind::ObservableCounter),
        Just(Kind::ObservableGauge),
    ]
}

fn measurement() -> impl Strategy<Value = (f64, u64, i64, usize)> {
    (
        double(),
        // Bounded: the SDK's sums overflow (and panic in debug builds)
        // beyond; the extremes are in the named cases.
        prop_oneof![0u64..(1 << 40), 0u64..1000],
        prop_oneof![-(1i64 << 40)..(1 << 40), -1000i64..1000],
        0usize..4,
    )
}

fn instrument(collections: usize) -> impl Strategy<Value = InstrumentSpec> {
    (
        kind(),
        "[a-z]{1,6}",
        text(),
        text(),
        prop::collection::vec(prop::collection::vec(measurement(), 0..4), collections),
    )
        .prop_map(
            |(kind, name, description, unit, measurements)| InstrumentSpec {
                kind,
                name,
                description,
                unit,
                measurements,
            },
        )
}

fn meter(collections: usize) -> impl Strategy<Value = MeterSpec> {
    (
        text(),
        prop::option::of(text()),
        prop::option::of(text()),
        attributes_strategy(3),
        prop::collection::vec(instrument(collections), 0..4),
    )
        .prop_map(
            |(name, version, schema_url, attributes, instruments)| MeterSpec {
                name,
                version,
                schema_url,
                attributes,
                instruments,
            },
        )
}

fn resource() -> impl Strategy<Value = Resource> {
    (attributes_strategy(4), prop::option::of("[a-z:/.]{1,20}")).prop_map(|(attributes, url)| {
        let builder = Resource::builder_empty();
        match url {
            Some(url) => builder.with_schema_url(attributes, url),
            None => builder.with_attributes(attributes),
        }
        .build()
    })
}

fn temporality() -> impl Strategy<Value = Temporality> {
    prop_oneof![
        Just(Temporality::Cumulative),
        Just(Temporality::Delta),
        Just(Temporality::LowMemory),
    ]
}

/// Builds the instruments and records collection `round`'s measurements.
/// Names are made unique per meter (the SDK merges same-named instruments
/// of one meter, warning about conflicts).
/// Observable instruments are registered in the first round only; their
/// callbacks read the round from `current` (a monotonic counter's values
/// grow from round to round: the SDK's delta would underflow otherwise).
fn record(
    provider: &SdkMeterProvider,
    meters: &[MeterSpec],
    attribute_sets: &[Vec<KeyValue>],
    round: usize,
    current: &Arc<AtomicUsize>,
) {
    current.store(round, Ordering::Relaxed);
    for spec in meters {
        let mut scope = InstrumentationScope::builder(spec.name.clone())
            .with_attributes(spec.attributes.clone());
        if let Some(version) = &spec.version {
            scope = scope.with_version(version.clone());
        }
        if let Some(url) = &spec.schema_url {
            scope = scope.with_schema_url(url.clone());
        }
        let meter = provider.meter_with_scope(scope.build());
        for (index, instrument) in spec.instruments.iter().enumerate() {
            let name = match instrument.kind {
                Kind::Exponential(size, scale, min_max) => format!(
                    "exp.{size}.{scale}{}.{}{index}",
                    if min_max { "" } else { ".nominmax" },
                    instrument.name
                ),
                Kind::Bounded => format!("bounds.{}{index}", instrument.name),
                _ => format!("{}{index}", instrument.name),
            };
            let description = instrument.description.clone();
            let unit = instrument.unit.clone();
            let points = &instrument.measurements[round];
            let attrs = |set: usize| attribute_sets[set].as_slice();
            match instrument.kind {
                Kind::U64Counter => {
                    let c = meter
                        .u64_counter(name)
                        .with_description(description)
                        .with_unit(unit)
                        .build();
                    points.iter().for_each(|p| c.add(p.1, attrs(p.3)));
                }
                Kind::F64Counter => {
                    let c = meter
                        .f64_counter(name)
                        .with_description(description)
                        .with_unit(unit)
                        .build();
                    points.iter().for_each(|p| c.add(p.0, attrs(p.3)));
                }
                Kind::I64UpDown => {
                    let c = meter
                        .i64_up_down_counter(name)
                        .with_description(description)
                        .with_unit(unit)
                        .build();
                    points.iter().for_each(|p| c.add(p.2, attrs(p.3)));
                }
                Kind::F64UpDown => {
                    let c = meter
                        .f64_up_down_counter(name)
                        .with_description(description)
                        .with_unit(unit)
                        .build();
                    points.iter().for_each(|p| c.add(p.0, attrs(p.3)));
                }
                Kind::U64Gauge => {
                    let g = meter
                        .u64_gauge(name)
                        .with_description(description)
                        .with_unit(unit)
                        .build();
                    points.iter().for_each(|p| g.record(p.1, attrs(p.3)));
                }
                Kind::I64Gauge => {
                    let g = meter
                        .i64_gauge(name)
                        .with_description(description)
                        .with_unit(unit)
                        .build();
                    points.iter().for_each(|p| g.record(p.2, attrs(p.3)));
                }
                Kind::F64Gauge => {
                    let g = meter
                        .f64_gauge(name)
                        .with_description(description)
                        .with_unit(unit)
                        .build();
                    points.iter().for_each(|p| g.record(p.0, attrs(p.3)));
                }
                Kind::U64Histogram => {
                    let h = meter
                        .u64_histogram(name)
                        .with_description(description)
                        .with_unit(unit)
                        .build();
                    points.iter().for_each(|p| h.record(p.1, attrs(p.3)));
                }
                Kind::F64Histogram | Kind::Exponential(..) | Kind::Bounded => {
                    let h = meter
                        .f64_histogram(name)
                        .with_description(description)
                        .with_unit(unit)
                        .build();
                    points.iter().for_each(|p| h.record(p.0, attrs(p.3)));
                }
                Kind::ObservableCounter if round == 0 => {
                    let rounds = instrument.measurements.clone();
                    let sets = attribute_sets.to_vec();
                    let current = Arc::clone(current);
                    let _ = meter
                        .u64_observable_counter(name)
                        .with_description(description)
                        .with_unit(unit)
                        .with_callback(move |o| {
                            let now = current.load(Ordering::Relaxed);
                            for p in &rounds[now] {
                                o.observe(p.1 + ((now as u64) << 45), &sets[p.3]);
                            }
                        })
                        .build();
                }
                Kind::ObservableGauge if round == 0 => {
                    let rounds = instrument.measurements.clone();
                    let sets = attribute_sets.to_vec();
                    let current = Arc::clone(current);
                    let _ = meter
                        .f64_observable_gauge(name)
                        .with_description(description)
                        .with_unit(unit)
                        .with_callback(move |o| {
                            for p in &rounds[current.load(Ordering::Relaxed)] {
                                o.observe(p.0, &sets[p.3]);
                            }
                        })
                        .build();
                }
                Kind::ObservableCounter | Kind::ObservableGauge => {}
            }
        }
    }
}

const COLLECTIONS: usize = 2;

proptest! {
    // Each case runs a meter provider (and its reader thread).
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn random_metrics_are_byte_identical(
        resource in resource(),
        temporality in temporality(),
        meters in prop::collection::vec(meter(COLLECTIONS), 0..4),
        attribute_sets in prop::collection::vec(attributes_strategy(4), 4),
    ) {
        let round = AtomicUsize::new(0);
        let current = Arc::new(AtomicUsize::new(0));
        check(resource, temporality, COLLECTIONS, |provider| {
            let now = round.fetch_add(1, Ordering::Relaxed);
            record(provider, &meters, &attribute_sets, now, &current);
        });
    }
}
