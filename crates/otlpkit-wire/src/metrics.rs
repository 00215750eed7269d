//! `opentelemetry.proto.metrics.v1` from the SDK's `ResourceMetrics`, field
//! for field as `From<&ResourceMetrics> for ExportMetricsServiceRequest` in
//! `opentelemetry-proto` 0.33.1, with the metrics that hold no data point,
//! and the envelopes left empty, not written (checklist 2.12):
//!
//! ```text
//! ExportMetricsServiceRequest { 1: ResourceMetrics {
//!     1: Resource, 2: repeated ScopeMetrics {
//!         1: InstrumentationScope, 2: repeated Metric, 3: schema_url },
//!     3: schema_url } }
//! Metric { 1: name, 2: description, 3: unit,
//!     oneof { 5: Gauge, 7: Sum, 9: Histogram, 10: ExponentialHistogram } }
//! ```
//!
//! Fields are written in the order prost writes them: by field number, a
//! oneof at its lowest number; proto3 defaults are skipped.

use std::time::SystemTime;

use opentelemetry::KeyValue;
use opentelemetry_sdk::metrics::Temporality;
use opentelemetry_sdk::metrics::data::{
    AggregatedMetrics, Exemplar, ExponentialBucket, ExponentialHistogram,
    ExponentialHistogramDataPoint, Gauge, GaugeDataPoint, Histogram, HistogramDataPoint, Metric,
    MetricData, ResourceMetrics, ScopeMetrics, Sum, SumDataPoint,
};

use crate::common::{
    attributes_len, put_attributes, put_resource, put_scope, resource_len, scope_len,
};
use crate::enc::{
    delimited_len, double_len, fixed64_len, int32_len, opt_bool_len, opt_bytes_len, opt_double_len,
    packed_fixed64_len, packed_varint_len, put_delimited, put_delimited_header, put_double,
    put_fixed64, put_int32, put_opt_bool, put_opt_bytes, put_opt_double, put_packed_fixed64,
    put_packed_varint, put_sfixed64, put_sint32, sfixed64_len, sint32_len, to_nanos,
};
use crate::envelope::{
    REQUEST_RESOURCES, RESOURCE_RESOURCE, RESOURCE_SCHEMA_URL, RESOURCE_SCOPES, SCOPE_ITEMS,
    SCOPE_SCHEMA_URL, SCOPE_SCOPE,
};

// Metric.
const METRIC_NAME: u32 = 1;
const METRIC_DESCRIPTION: u32 = 2;
const METRIC_UNIT: u32 = 3;
const METRIC_GAUGE: u32 = 5;
const METRIC_SUM: u32 = 7;
const METRIC_HISTOGRAM: u32 = 9;
const METRIC_EXPONENTIAL_HISTOGRAM: u32 = 10;
// Gauge, Sum, Histogram, ExponentialHistogram.
const DATA_POINTS: u32 = 1;
const DATA_TEMPORALITY: u32 = 2;
const SUM_MONOTONIC: u32 = 3;
// NumberDataPoint (flags, 8, is always 0).
const NUMBER_START: u32 = 2;
const NUMBER_TIME: u32 = 3;
const NUMBER_AS_DOUBLE: u32 = 4;
const NUMBER_EXEMPLARS: u32 = 5;
const NUMBER_AS_INT: u32 = 6;
const NUMBER_ATTRIBUTES: u32 = 7;
// HistogramDataPoint (flags, 10, is always 0).
const HISTOGRAM_START: u32 = 2;
const HISTOGRAM_TIME: u32 = 3;
const HISTOGRAM_COUNT: u32 = 4;
const HISTOGRAM_SUM: u32 = 5;
const HISTOGRAM_BUCKET_COUNTS: u32 = 6;
const HISTOGRAM_BOUNDS: u32 = 7;
const HISTOGRAM_EXEMPLARS: u32 = 8;
const HISTOGRAM_ATTRIBUTES: u32 = 9;
const HISTOGRAM_MIN: u32 = 11;
const HISTOGRAM_MAX: u32 = 12;
// ExponentialHistogramDataPoint (flags, 10, is always 0).
const EXP_ATTRIBUTES: u32 = 1;
const EXP_START: u32 = 2;
const EXP_TIME: u32 = 3;
const EXP_COUNT: u32 = 4;
const EXP_SUM: u32 = 5;
const EXP_SCALE: u32 = 6;
const EXP_ZERO_COUNT: u32 = 7;
const EXP_POSITIVE: u32 = 8;
const EXP_NEGATIVE: u32 = 9;
const EXP_EXEMPLARS: u32 = 11;
const EXP_MIN: u32 = 12;
const EXP_MAX: u32 = 13;
const EXP_ZERO_THRESHOLD: u32 = 14;
// ExponentialHistogramDataPoint.Buckets.
const BUCKETS_OFFSET: u32 = 1;
const BUCKETS_COUNTS: u32 = 2;
// Exemplar.
const EXEMPLAR_TIME: u32 = 2;
const EXEMPLAR_AS_DOUBLE: u32 = 3;
const EXEMPLAR_SPAN_ID: u32 = 4;
const EXEMPLAR_TRACE_ID: u32 = 5;
const EXEMPLAR_AS_INT: u32 = 6;
const EXEMPLAR_FILTERED_ATTRIBUTES: u32 = 7;
// AggregationTemporality.
const TEMPORALITY_DELTA: i32 = 1;
const TEMPORALITY_CUMULATIVE: i32 = 2;

/// A number as a data point or exemplar holds it: `as_double` or `as_int`.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Num {
    Double(f64),
    Int(i64),
}

/// The SDK's value types: `f64`, `i64`, `u64`.
pub(crate) trait Number: Copy + 'static {
    /// The value's oneof member. `NumberDataPoint` and `Exemplar` hold
    /// only an `int64` or a `double`, so a `u64` above `i64::MAX` is
    /// written as `i64::MAX` (saturated; see [`crate::saturated_u64_values`]),
    /// where the reference's `i64::try_from(value).unwrap_or_default()`
    /// writes 0.
    fn num(self) -> Num;
    /// The value as a histogram's `sum`, `min` or `max` (`as f64`).
    fn to_f64(self) -> f64;
}

impl Number for f64 {
    fn num(self) -> Num {
        Num::Double(self)
    }
    fn to_f64(self) -> f64 {
        self
    }
}

impl Number for i64 {
    fn num(self) -> Num {
        Num::Int(self)
    }
    fn to_f64(self) -> f64 {
        self as f64
    }
}

impl Number for u64 {
    fn num(self) -> Num {
        Num::Int(saturating_i64(self))
    }
    fn to_f64(self) -> f64 {
        self as f64
    }
}

/// `value` as an OTLP `as_int`: `i64::MAX` when it is above it.
pub(crate) fn saturating_i64(value: u64) -> i64 {
    i64::try_from(value).unwrap_or(i64::MAX)
}

/// Whether `value` is written saturated ([`saturating_i64`]).
fn saturates(value: &u64) -> bool {
    i64::try_from(*value).is_err()
}

/// The values in `data` written saturated: data point values and exemplar
/// values (a histogram's sum, min and max are doubles, never saturated).
fn saturated_in(data: &MetricData<u64>) -> u64 {
    let exemplars = |exemplars: &mut dyn Iterator<Item = &Exemplar<u64>>| {
        exemplars
            .filter(|exemplar| saturates(&exemplar.value))
            .count()
    };
    let count = match data {
        MetricData::Gauge(gauge) => gauge
            .data_points()
            .map(|point| usize::from(saturates(&point.value())) + exemplars(&mut point.exemplars()))
            .sum(),
        MetricData::Sum(sum) => sum
            .data_points()
            .map(|point| usize::from(saturates(&point.value())) + exemplars(&mut point.exemplars()))
            .sum(),
        MetricData::Histogram(histogram) => histogram
            .data_points()
            .map(|point| exemplars(&mut point.exemplars()))
            .sum(),
        MetricData::ExponentialHistogram(histogram) => histogram
            .data_points()
            .map(|point| exemplars(&mut point.exemplars()))
            .sum::<usize>(),
    };
    count as u64
}

/// The `u64` values (data point values and exemplar values) in `metric`
/// above `i64::MAX`, which are written saturated to `i64::MAX`.
pub(crate) fn metric_saturated_u64_values(metric: &Metric) -> u64 {
    match metric.data() {
        AggregatedMetrics::U64(data) => saturated_in(data),
        AggregatedMetrics::F64(_) | AggregatedMetrics::I64(_) => 0,
    }
}

/// A oneof number (always written): a `double` or an `sfixed64`.
fn num_len(double_tag: u32, int_tag: u32, value: Num) -> usize {
    match value {
        Num::Double(value) => double_len(double_tag, value),
        Num::Int(value) => sfixed64_len(int_tag, value),
    }
}

fn put_num(double_tag: u32, int_tag: u32, value: Num, out: &mut Vec<u8>) {
    match value {
        Num::Double(value) => put_double(double_tag, value, out),
        Num::Int(value) => put_sfixed64(int_tag, value, out),
    }
}

/// The `AggregationTemporality` number: a temporality other than delta
/// (`LowMemory` is a reader's preference, never a data point's) is
/// cumulative, as in the reference.
fn temporality_number(temporality: Temporality) -> i32 {
    match temporality {
        Temporality::Delta => TEMPORALITY_DELTA,
        _ => TEMPORALITY_CUMULATIVE,
    }
}

/// What an exemplar is made of; the SDK's [`Exemplar`] and, in tests, a
/// value built field by field (the SDK records no exemplar in 0.33).
pub(crate) trait ExemplarSource {
    type Value: Number;
    fn filtered_attributes(&self) -> impl Iterator<Item = &KeyValue>;
    fn time(&self) -> SystemTime;
    fn span_id(&self) -> &[u8; 8];
    fn trace_id(&self) -> &[u8; 16];
    fn value(&self) -> Self::Value;
}

impl<T: Number> ExemplarSource for Exemplar<T> {
    type Value = T;
    fn filtered_attributes(&self) -> impl Iterator<Item = &KeyValue> {
        Exemplar::filtered_attributes(self)
    }
    fn time(&self) -> SystemTime {
        Exemplar::time(self)
    }
    fn span_id(&self) -> &[u8; 8] {
        Exemplar::span_id(self)
    }
    fn trace_id(&self) -> &[u8; 16] {
        Exemplar::trace_id(self)
    }
    fn value(&self) -> T {
        self.value
    }
}

/// The `Exemplar` message body length. The ids are always written (eight
/// and sixteen bytes, zero or not).
pub(crate) fn exemplar_len(exemplar: &impl ExemplarSource) -> usize {
    fixed64_len(EXEMPLAR_TIME, to_nanos(exemplar.time()))
        + num_len(EXEMPLAR_AS_DOUBLE, EXEMPLAR_AS_INT, exemplar.value().num())
        + delimited_len(EXEMPLAR_SPAN_ID, 8)
        + delimited_len(EXEMPLAR_TRACE_ID, 16)
        + attributes_len(EXEMPLAR_FILTERED_ATTRIBUTES, exemplar.filtered_attributes())
}

/// Writes the `Exemplar` message body; see [`exemplar_len`].
pub(crate) fn put_exemplar(exemplar: &impl ExemplarSource, out: &mut Vec<u8>) {
    put_fixed64(EXEMPLAR_TIME, to_nanos(exemplar.time()), out);
    put_num(
        EXEMPLAR_AS_DOUBLE,
        EXEMPLAR_AS_INT,
        exemplar.value().num(),
        out,
    );
    put_delimited(EXEMPLAR_SPAN_ID, exemplar.span_id(), out);
    put_delimited(EXEMPLAR_TRACE_ID, exemplar.trace_id(), out);
    put_attributes(
        EXEMPLAR_FILTERED_ATTRIBUTES,
        exemplar.filtered_attributes(),
        out,
    );
}

fn exemplars_len<'a, E: ExemplarSource + 'a>(
    tag: u32,
    exemplars: impl Iterator<Item = &'a E>,
) -> usize {
    exemplars
        .map(|exemplar| delimited_len(tag, exemplar_len(exemplar)))
        .sum()
}

fn put_exemplars<'a, E: ExemplarSource + 'a>(
    tag: u32,
    exemplars: impl Iterator<Item = &'a E>,
    out: &mut Vec<u8>,
) {
    for exemplar in exemplars {
        put_delimited_header(tag, exemplar_len(exemplar), out);
        put_exemplar(exemplar, out);
    }
}

/// A gauge's or a sum's data point.
trait NumberPoint<T: Number> {
    fn attributes(&self) -> impl Iterator<Item = &KeyValue>;
    fn exemplars(&self) -> impl Iterator<Item = &Exemplar<T>>;
    fn value(&self) -> T;
}

impl<T: Number> NumberPoint<T> for GaugeDataPoint<T> {
    fn attributes(&self) -> impl Iterator<Item = &KeyValue> {
        GaugeDataPoint::attributes(self)
    }
    fn exemplars(&self) -> impl Iterator<Item = &Exemplar<T>> {
        GaugeDataPoint::exemplars(self)
    }
    fn value(&self) -> T {
        GaugeDataPoint::value(self)
    }
}

impl<T: Number> NumberPoint<T> for SumDataPoint<T> {
    fn attributes(&self) -> impl Iterator<Item = &KeyValue> {
        SumDataPoint::attributes(self)
    }
    fn exemplars(&self) -> impl Iterator<Item = &Exemplar<T>> {
        SumDataPoint::exemplars(self)
    }
    fn value(&self) -> T {
        SumDataPoint::value(self)
    }
}

/// The `NumberDataPoint` body length; `flags` is 0 and not written.
fn number_point_len<T: Number>(start: u64, time: u64, point: &impl NumberPoint<T>) -> usize {
    fixed64_len(NUMBER_START, start)
        + fixed64_len(NUMBER_TIME, time)
        + num_len(NUMBER_AS_DOUBLE, NUMBER_AS_INT, point.value().num())
        + exemplars_len(NUMBER_EXEMPLARS, point.exemplars())
        + attributes_len(NUMBER_ATTRIBUTES, point.attributes())
}

fn put_number_point<T: Number>(
    start: u64,
    time: u64,
    point: &impl NumberPoint<T>,
    out: &mut Vec<u8>,
) {
    put_fixed64(NUMBER_START, start, out);
    put_fixed64(NUMBER_TIME, time, out);
    put_num(NUMBER_AS_DOUBLE, NUMBER_AS_INT, point.value().num(), out);
    put_exemplars(NUMBER_EXEMPLARS, point.exemplars(), out);
    put_attributes(NUMBER_ATTRIBUTES, point.attributes(), out);
}

/// The bytes of the repeated `data_points` field of number points.
fn number_points_len<'a, T: Number + 'a, P: NumberPoint<T> + 'a>(
    start: u64,
    time: u64,
    points: impl Iterator<Item = &'a P>,
) -> usize {
    points
        .map(|point| delimited_len(DATA_POINTS, number_point_len(start, time, point)))
        .sum()
}

fn put_number_points<'a, T: Number + 'a, P: NumberPoint<T> + 'a>(
    start: u64,
    time: u64,
    points: impl Iterator<Item = &'a P>,
    out: &mut Vec<u8>,
) {
    for point in points {
        put_delimited_header(DATA_POINTS, number_point_len(start, time, point), out);
        put_number_point(start, time, point, out);
    }
}

/// A gauge's start time is optional (0 when absent).
fn gauge_times<T>(gauge: &Gauge<T>) -> (u64, u64) {
    (
        gauge.start_time().map(to_nanos).unwrap_or_default(),
        to_nanos(gauge.time()),
    )
}

fn gauge_len<T: Number>(gauge: &Gauge<T>) -> usize {
    let (start, time) = gauge_times(gauge);
    number_points_len(start, time, gauge.data_points())
}

fn put_gauge<T: Number>(gauge: &Gauge<T>, out: &mut Vec<u8>) {
    let (start, time) = gauge_times(gauge);
    put_number_points(start, time, gauge.data_points(), out);
}

fn sum_len<T: Number>(sum: &Sum<T>) -> usize {
    let (start, time) = (to_nanos(sum.start_time()), to_nanos(sum.time()));
    number_points_len(start, time, sum.data_points())
        + int32_len(DATA_TEMPORALITY, temporality_number(sum.temporality()))
        + opt_bool_len(SUM_MONOTONIC, sum.is_monotonic())
}

fn put_sum<T: Number>(sum: &Sum<T>, out: &mut Vec<u8>) {
    let (start, time) = (to_nanos(sum.start_time()), to_nanos(sum.time()));
    put_number_points(start, time, sum.data_points(), out);
    put_int32(DATA_TEMPORALITY, temporality_number(sum.temporality()), out);
    put_opt_bool(SUM_MONOTONIC, sum.is_monotonic(), out);
}

/// The `HistogramDataPoint` body length: `sum` is always present, `min`
/// and `max` when recorded; `flags` is 0.
fn histogram_point_len<T: Number>(start: u64, time: u64, point: &HistogramDataPoint<T>) -> usize {
    fixed64_len(HISTOGRAM_START, start)
        + fixed64_len(HISTOGRAM_TIME, time)
        + fixed64_len(HISTOGRAM_COUNT, point.count())
        + double_len(HISTOGRAM_SUM, point.sum().to_f64())
        + packed_fixed64_len(HISTOGRAM_BUCKET_COUNTS, point.bucket_counts().count())
        + packed_fixed64_len(HISTOGRAM_BOUNDS, point.bounds().count())
        + exemplars_len(HISTOGRAM_EXEMPLARS, point.exemplars())
        + attributes_len(HISTOGRAM_ATTRIBUTES, point.attributes())
        + point
            .min()
            .map_or(0, |min| double_len(HISTOGRAM_MIN, min.to_f64()))
        + point
            .max()
            .map_or(0, |max| double_len(HISTOGRAM_MAX, max.to_f64()))
}

fn put_histogram_point<T: Number>(
    start: u64,
    time: u64,
    point: &HistogramDataPoint<T>,
    out: &mut Vec<u8>,
) {
    put_fixed64(HISTOGRAM_START, start, out);
    put_fixed64(HISTOGRAM_TIME, time, out);
    put_fixed64(HISTOGRAM_COUNT, point.count(), out);
    put_double(HISTOGRAM_SUM, point.sum().to_f64(), out);
    put_packed_fixed64(
        HISTOGRAM_BUCKET_COUNTS,
        point.bucket_counts().count(),
        point.bucket_counts(),
        out,
    );
    put_packed_fixed64(
        HISTOGRAM_BOUNDS,
        point.bounds().count(),
        point.bounds().map(f64::to_bits),
        out,
    );
    put_exemplars(HISTOGRAM_EXEMPLARS, point.exemplars(), out);
    put_attributes(HISTOGRAM_ATTRIBUTES, point.attributes(), out);
    if let Some(min) = point.min() {
        put_double(HISTOGRAM_MIN, min.to_f64(), out);
    }
    if let Some(max) = point.max() {
        put_double(HISTOGRAM_MAX, max.to_f64(), out);
    }
}

fn histogram_len<T: Number>(histogram: &Histogram<T>) -> usize {
    let (start, time) = (to_nanos(histogram.start_time()), to_nanos(histogram.time()));
    histogram
        .data_points()
        .map(|point| delimited_len(DATA_POINTS, histogram_point_len(start, time, point)))
        .sum::<usize>()
        + int32_len(
            DATA_TEMPORALITY,
            temporality_number(histogram.temporality()),
        )
}

fn put_histogram<T: Number>(histogram: &Histogram<T>, out: &mut Vec<u8>) {
    let (start, time) = (to_nanos(histogram.start_time()), to_nanos(histogram.time()));
    for point in histogram.data_points() {
        put_delimited_header(DATA_POINTS, histogram_point_len(start, time, point), out);
        put_histogram_point(start, time, point, out);
    }
    put_int32(
        DATA_TEMPORALITY,
        temporality_number(histogram.temporality()),
        out,
    );
}

/// The `Buckets` body length (always present in a point, even empty).
fn buckets_len(buckets: &ExponentialBucket) -> usize {
    sint32_len(BUCKETS_OFFSET, buckets.offset())
        + packed_varint_len(BUCKETS_COUNTS, buckets.counts())
}

fn put_buckets(tag: u32, buckets: &ExponentialBucket, out: &mut Vec<u8>) {
    put_delimited_header(tag, buckets_len(buckets), out);
    put_sint32(BUCKETS_OFFSET, buckets.offset(), out);
    put_packed_varint(BUCKETS_COUNTS, || buckets.counts(), out);
}

/// The `ExponentialHistogramDataPoint` body length: `sum` and both bucket
/// messages always present, `min` and `max` when recorded, `zero_threshold`
/// unless it equals 0.0; `flags` is 0.
fn exponential_point_len<T: Number>(
    start: u64,
    time: u64,
    point: &ExponentialHistogramDataPoint<T>,
) -> usize {
    attributes_len(EXP_ATTRIBUTES, point.attributes())
        + fixed64_len(EXP_START, start)
        + fixed64_len(EXP_TIME, time)
        + fixed64_len(EXP_COUNT, point.count() as u64)
        + double_len(EXP_SUM, point.sum().to_f64())
        + sint32_len(EXP_SCALE, i32::from(point.scale()))
        + fixed64_len(EXP_ZERO_COUNT, point.zero_count())
        + delimited_len(EXP_POSITIVE, buckets_len(point.positive_bucket()))
        + delimited_len(EXP_NEGATIVE, buckets_len(point.negative_bucket()))
        + exemplars_len(EXP_EXEMPLARS, point.exemplars())
        + point
            .min()
            .map_or(0, |min| double_len(EXP_MIN, min.to_f64()))
        + point
            .max()
            .map_or(0, |max| double_len(EXP_MAX, max.to_f64()))
        + opt_double_len(EXP_ZERO_THRESHOLD, point.zero_threshold())
}

fn put_exponential_point<T: Number>(
    start: u64,
    time: u64,
    point: &ExponentialHistogramDataPoint<T>,
    out: &mut Vec<u8>,
) {
    put_attributes(EXP_ATTRIBUTES, point.attributes(), out);
    put_fixed64(EXP_START, start, out);
    put_fixed64(EXP_TIME, time, out);
    put_fixed64(EXP_COUNT, point.count() as u64, out);
    put_double(EXP_SUM, point.sum().to_f64(), out);
    put_sint32(EXP_SCALE, i32::from(point.scale()), out);
    put_fixed64(EXP_ZERO_COUNT, point.zero_count(), out);
    put_buckets(EXP_POSITIVE, point.positive_bucket(), out);
    put_buckets(EXP_NEGATIVE, point.negative_bucket(), out);
    put_exemplars(EXP_EXEMPLARS, point.exemplars(), out);
    if let Some(min) = point.min() {
        put_double(EXP_MIN, min.to_f64(), out);
    }
    if let Some(max) = point.max() {
        put_double(EXP_MAX, max.to_f64(), out);
    }
    put_opt_double(EXP_ZERO_THRESHOLD, point.zero_threshold(), out);
}

fn exponential_len<T: Number>(histogram: &ExponentialHistogram<T>) -> usize {
    let (start, time) = (to_nanos(histogram.start_time()), to_nanos(histogram.time()));
    histogram
        .data_points()
        .map(|point| delimited_len(DATA_POINTS, exponential_point_len(start, time, point)))
        .sum::<usize>()
        + int32_len(
            DATA_TEMPORALITY,
            temporality_number(histogram.temporality()),
        )
}

fn put_exponential<T: Number>(histogram: &ExponentialHistogram<T>, out: &mut Vec<u8>) {
    let (start, time) = (to_nanos(histogram.start_time()), to_nanos(histogram.time()));
    for point in histogram.data_points() {
        put_delimited_header(DATA_POINTS, exponential_point_len(start, time, point), out);
        put_exponential_point(start, time, point, out);
    }
    put_int32(
        DATA_TEMPORALITY,
        temporality_number(histogram.temporality()),
        out,
    );
}

/// The bytes of the `Metric.data` oneof member (always written).
fn data_len<T: Number>(data: &MetricData<T>) -> usize {
    match data {
        MetricData::Gauge(gauge) => delimited_len(METRIC_GAUGE, gauge_len(gauge)),
        MetricData::Sum(sum) => delimited_len(METRIC_SUM, sum_len(sum)),
        MetricData::Histogram(histogram) => {
            delimited_len(METRIC_HISTOGRAM, histogram_len(histogram))
        }
        MetricData::ExponentialHistogram(histogram) => {
            delimited_len(METRIC_EXPONENTIAL_HISTOGRAM, exponential_len(histogram))
        }
    }
}

fn put_data<T: Number>(data: &MetricData<T>, out: &mut Vec<u8>) {
    match data {
        MetricData::Gauge(gauge) => {
            put_delimited_header(METRIC_GAUGE, gauge_len(gauge), out);
            put_gauge(gauge, out);
        }
        MetricData::Sum(sum) => {
            put_delimited_header(METRIC_SUM, sum_len(sum), out);
            put_sum(sum, out);
        }
        MetricData::Histogram(histogram) => {
            put_delimited_header(METRIC_HISTOGRAM, histogram_len(histogram), out);
            put_histogram(histogram, out);
        }
        MetricData::ExponentialHistogram(histogram) => {
            put_delimited_header(
                METRIC_EXPONENTIAL_HISTOGRAM,
                exponential_len(histogram),
                out,
            );
            put_exponential(histogram, out);
        }
    }
}

fn data_point_count<T>(data: &MetricData<T>) -> usize {
    match data {
        MetricData::Gauge(gauge) => gauge.data_points().count(),
        MetricData::Sum(sum) => sum.data_points().count(),
        MetricData::Histogram(histogram) => histogram.data_points().count(),
        MetricData::ExponentialHistogram(histogram) => histogram.data_points().count(),
    }
}

/// The data points of one metric, whatever its kind and value type.
pub(crate) fn metric_data_points(metric: &Metric) -> usize {
    match metric.data() {
        AggregatedMetrics::F64(data) => data_point_count(data),
        AggregatedMetrics::U64(data) => data_point_count(data),
        AggregatedMetrics::I64(data) => data_point_count(data),
    }
}

/// The `Metric` body length: name, description, unit (each absent when
/// empty) and the data; `metadata` is empty.
fn metric_len(metric: &Metric) -> usize {
    opt_bytes_len(METRIC_NAME, metric.name().as_bytes())
        + opt_bytes_len(METRIC_DESCRIPTION, metric.description().as_bytes())
        + opt_bytes_len(METRIC_UNIT, metric.unit().as_bytes())
        + match metric.data() {
            AggregatedMetrics::F64(data) => data_len(data),
            AggregatedMetrics::U64(data) => data_len(data),
            AggregatedMetrics::I64(data) => data_len(data),
        }
}

fn put_metric(metric: &Metric, out: &mut Vec<u8>) {
    put_opt_bytes(METRIC_NAME, metric.name().as_bytes(), out);
    put_opt_bytes(METRIC_DESCRIPTION, metric.description().as_bytes(), out);
    put_opt_bytes(METRIC_UNIT, metric.unit().as_bytes(), out);
    match metric.data() {
        AggregatedMetrics::F64(data) => put_data(data, out),
        AggregatedMetrics::U64(data) => put_data(data, out),
        AggregatedMetrics::I64(data) => put_data(data, out),
    }
}

/// The metrics of a scope that are written: those with data points.
fn kept(scope: &ScopeMetrics) -> impl Iterator<Item = &Metric> {
    scope
        .metrics()
        .filter(|metric| metric_data_points(metric) > 0)
}

/// A scope that keeps at least one metric, with its lengths.
struct KeptScope<'a> {
    scope: &'a ScopeMetrics,
    /// The `InstrumentationScope` message body length.
    scope_len: usize,
    /// The `ScopeMetrics` message body length.
    body_len: usize,
}

fn scope_schema_url(scope: &ScopeMetrics) -> &str {
    scope.scope().schema_url().unwrap_or_default()
}

/// Appends the request for `metrics`; nothing when no metric holds a data
/// point (the reference request, pruned, is then empty: zero bytes).
pub(crate) fn encode_request(metrics: &ResourceMetrics, out: &mut Vec<u8>) {
    // Sizing pass: each kept metric's length, in order, and each kept
    // scope's.
    let mut scopes: Vec<KeptScope<'_>> = Vec::new();
    let mut metric_lens: Vec<usize> = Vec::new();
    for scope in metrics.scope_metrics() {
        let first = metric_lens.len();
        metric_lens.extend(kept(scope).map(metric_len));
        if metric_lens.len() == first {
            continue;
        }
        let scope_len = scope_len(scope.scope(), scope.scope().name());
        let body_len = delimited_len(SCOPE_SCOPE, scope_len)
            + metric_lens[first..]
                .iter()
                .map(|&len| delimited_len(SCOPE_ITEMS, len))
                .sum::<usize>()
            + opt_bytes_len(SCOPE_SCHEMA_URL, scope_schema_url(scope).as_bytes());
        scopes.push(KeptScope {
            scope,
            scope_len,
            body_len,
        });
    }
    if scopes.is_empty() {
        return;
    }
    let resource = metrics.resource();
    let resource_schema_url = resource.schema_url().unwrap_or_default().as_bytes();
    let resource_message_len = resource_len(resource);
    let resource_body_len = delimited_len(RESOURCE_RESOURCE, resource_message_len)
        + scopes
            .iter()
            .map(|scope| delimited_len(RESOURCE_SCOPES, scope.body_len))
            .sum::<usize>()
        + opt_bytes_len(RESOURCE_SCHEMA_URL, resource_schema_url);
    let total = delimited_len(REQUEST_RESOURCES, resource_body_len);
    out.reserve(total);

    // Writing pass.
    #[cfg(debug_assertions)]
    let start = out.len();
    put_delimited_header(REQUEST_RESOURCES, resource_body_len, out);
    put_delimited_header(RESOURCE_RESOURCE, resource_message_len, out);
    put_resource(resource, out);
    let mut lens = metric_lens.iter();
    for kept_scope in &scopes {
        let scope = kept_scope.scope;
        put_delimited_header(RESOURCE_SCOPES, kept_scope.body_len, out);
        put_delimited_header(SCOPE_SCOPE, kept_scope.scope_len, out);
        put_scope(scope.scope(), scope.scope().name(), out);
        for (metric, &len) in kept(scope).zip(&mut lens) {
            put_delimited_header(SCOPE_ITEMS, len, out);
            #[cfg(debug_assertions)]
            let metric_start = out.len();
            put_metric(metric, out);
            #[cfg(debug_assertions)]
            debug_assert_eq!(out.len() - metric_start, len, "metric length mismatch");
        }
        put_opt_bytes(SCOPE_SCHEMA_URL, scope_schema_url(scope).as_bytes(), out);
    }
    put_opt_bytes(RESOURCE_SCHEMA_URL, resource_schema_url, out);
    #[cfg(debug_assertions)]
    debug_assert_eq!(out.len() - start, total, "request length mismatch");
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, UNIX_EPOCH};

    use opentelemetry_proto::tonic::metrics::v1::{Exemplar as ProtoExemplar, exemplar};
    use prost::Message as _;

    use super::*;

    /// An exemplar built field by field: the 0.33 SDK records none, and its
    /// `Exemplar` cannot be built outside it.
    struct Built<T> {
        attributes: Vec<KeyValue>,
        time: SystemTime,
        span_id: [u8; 8],
        trace_id: [u8; 16],
        value: T,
    }

    impl<T: Number> ExemplarSource for Built<T> {
        type Value = T;
        fn filtered_attributes(&self) -> impl Iterator<Item = &KeyValue> {
            self.attributes.iter()
        }
        fn time(&self) -> SystemTime {
            self.time
        }
        fn span_id(&self) -> &[u8; 8] {
            &self.span_id
        }
        fn trace_id(&self) -> &[u8; 16] {
            &self.trace_id
        }
        fn value(&self) -> T {
            self.value
        }
    }

    /// `From<&SdkExemplar<T>> for Exemplar` of the reference, field for field.
    fn reference<T: Number + Into<exemplar::Value>>(built: &Built<T>) -> Vec<u8> {
        ProtoExemplar {
            filtered_attributes: built
                .attributes
                .iter()
                .map(|kv| (&kv.key, &kv.value).into())
                .collect(),
            time_unix_nano: to_nanos(built.time),
            span_id: built.span_id.into(),
            trace_id: built.trace_id.into(),
            value: Some(built.value.into()),
        }
        .encode_to_vec()
    }

    fn ours(built: &Built<impl Number>) -> Vec<u8> {
        let mut out = Vec::new();
        put_exemplar(built, &mut out);
        assert_eq!(out.len(), exemplar_len(built));
        out
    }

    fn built<T>(value: T, time: SystemTime, ids: u8, attributes: Vec<KeyValue>) -> Built<T> {
        Built {
            attributes,
            time,
            span_id: [ids; 8],
            trace_id: [ids; 16],
            value,
        }
    }

    #[test]
    fn exemplars_are_byte_identical_to_the_reference() {
        let later = UNIX_EPOCH + Duration::from_nanos(1_700_000_000_000_000_123);
        let before = UNIX_EPOCH - Duration::from_secs(1);
        let attributes = vec![
            KeyValue::new("http.route", "/r"),
            KeyValue::new("n", -3),
            KeyValue::new("ratio", f64::NAN),
        ];
        for time in [later, UNIX_EPOCH, before] {
            for ids in [0, 0xab] {
                for attributes in [vec![], attributes.clone()] {
                    // Above `i64::MAX`: saturated, where the reference writes 0.
                    let u = built(u64::MAX, time, ids, attributes.clone());
                    let saturated = built(i64::MAX, time, ids, attributes.clone());
                    assert_eq!(ours(&u), reference(&saturated));
                    let u = built(1u64 << 63, time, ids, attributes.clone());
                    assert_eq!(ours(&u), reference(&saturated));
                    let u = built(i64::MAX as u64, time, ids, attributes.clone());
                    assert_eq!(ours(&u), reference(&saturated));
                    let u = built(7u64, time, ids, attributes.clone());
                    assert_eq!(ours(&u), reference(&u));
                    let i = built(i64::MIN, time, ids, attributes.clone());
                    assert_eq!(ours(&i), reference(&i));
                    let i = built(0i64, time, ids, attributes.clone());
                    assert_eq!(ours(&i), reference(&i));
                    for value in [0.0, -0.0, f64::NAN, f64::NEG_INFINITY, 2.5] {
                        let f = built(value, time, ids, attributes.clone());
                        assert_eq!(ours(&f), reference(&f));
                    }
                }
            }
        }
    }
}
