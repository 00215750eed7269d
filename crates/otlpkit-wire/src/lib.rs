//! OTLP protobuf encoding straight from OpenTelemetry SDK data.
//!
//! # Why
//!
//! The official path from a batch of `SpanData` to request bytes is
//! `opentelemetry_proto::transform` followed by prost's `encode_to_vec`: every
//! string, id and attribute is cloned into an intermediate prost message, the
//! spans are grouped through a `HashMap` keyed (and SipHashed) by scope, and
//! the tree is then walked twice more to size and write it. In otlpkit's
//! export worker that was most of the CPU per delivered span, dominated by
//! `malloc`/`free`.
//!
//! This crate writes the same protobuf bytes directly from `&[SpanData]`, from
//! `&[SpanRecord]` (the compact finished span that otlpkit-tracing's native
//! `tracing` layer produces without the SDK's span machinery; it converts to
//! `SpanData` for any SDK exporter), from a [`LogBatch`] and from the
//! SDK's collected metrics ([`ResourceMetrics`], see [`encode_metrics`]),
//! into one caller-owned `Vec<u8>`. For traces and logs:
//!
//! - a sizing pass computes every envelope's length, then the output is
//!   reserved once and written in a second pass (protobuf needs each nested
//!   message's length before its bytes);
//! - nothing is allocated per span or log record: two small per-batch vectors
//!   (the distinct scopes, and each item's scope and length) and the growth of
//!   `out` are all. The one exception is a rare scope comparison (two scopes
//!   with the same name, version, schema URL and attribute count whose
//!   attributes differ in order or value), which sorts copies of the lists
//!   just as `InstrumentationScope`'s `PartialEq` does;
//! - a record's source attributes (`code.*`, `thread.*`, `level`, `target`),
//!   the same for every span of one callsite on one thread, are encoded once
//!   and kept in a per-thread cache of 256 blocks, written with one copy when
//!   the same values come again (compared in full: the bytes never depend on
//!   the cache); a block not yet cached is encoded into its slot, the only
//!   other allocation, once per callsite and thread;
//! - the resource is encoded once per exporter ([`EncodedResource`]).
//!
//! Varints, keys and fixed-width values are written as `prost::encoding`
//! writes them (a one-byte varint with a single push); lengths are computed
//! with `prost::encoding`.
//!
//! # Equivalence with `opentelemetry-proto`
//!
//! The bytes decode to exactly what `opentelemetry-proto` 0.33.1's
//! `group_spans_by_resource_and_scope` / `group_logs_by_resource_and_scope`
//! produce, field for field: one `ResourceSpans`/`ResourceLogs` with the
//! resource attributes and schema URL; one `ScopeSpans`/`ScopeLogs` per
//! distinct scope (the reference's grouping key and equality; for logs a
//! record's target replaces the scope name); ids, `trace_state` in header
//! form, an empty parent span id for a root span, the span kind, timestamps
//! (0 before the epoch), flags with the `is_remote` bits for spans and links,
//! status code and message (always present), events, links, dropped counts,
//! and for logs severity, body (`AnyValue` lists, maps and bytes included),
//! event name and trace context (a valid one: see below). Fields are written in field-number order and
//! proto3 defaults are skipped, as prost does, so the bytes are identical to
//! `encode_to_vec` of the reference messages: always for spans (the
//! reference also keeps scopes in first-seen order), and for logs whenever the
//! reference happens to order the scopes the same way (always for a batch
//! with one scope).
//!
//! Metrics come out byte for byte as `ExportMetricsServiceRequest::from`
//! (`opentelemetry-proto` 0.33.1) gives them once the metrics without data
//! points and the envelopes left empty are removed (checklist 2.12): the
//! resource and its schema URL, the scopes in the SDK's order (name,
//! version, attributes, schema URL), and every aggregation the SDK makes —
//! gauges, sums (temporality, monotonic flag), histograms and exponential
//! histograms of `u64`, `i64` and `f64` values, start times and exemplars.
//! This is what lets a default otlpkit build do without
//! `opentelemetry-proto` and prost's derive macro.
//!
//! Two deliberate differences are reachable:
//!
//! - a `u64` metric value above `i64::MAX` (a data point's or an
//!   exemplar's; `NumberDataPoint` holds only an `int64` or a `double`) is
//!   written as `i64::MAX`, saturated, where the reference writes 0;
//!   [`saturated_u64_values`] counts them, so that a caller can say so;
//! - a log record's invalid trace context (checklist 2.17; a record emitted
//!   inside a no-op tracer's span carries one) is left out: without a valid
//!   (non-zero) trace id the record has no trace id, span id or flags, and
//!   an all-zero span id is omitted, where the reference writes zeros.
//!
//! The others are not reachable with the 0.33 SDK:
//!
//! - log scopes are written in first-seen order, records in batch order
//!   within a scope; the reference's order across log scopes comes from
//!   iterating a `HashMap` and is random;
//! - a log record without an observed timestamp (the SDK always sets one) gets
//!   0 where the reference panics;
//! - a value kind added to the `#[non_exhaustive]` `Value`, `Array` or log
//!   `AnyValue` enums after 0.33 is written as an empty `AnyValue` (or empty
//!   array) where the reference panics.
//!
//! # How it is tested
//!
//! `tests/equivalence.rs` compares against the reference: byte for byte for
//! batches built with the SDK types (every field and value kind, unicode and
//! empty strings, `i64` extremes, NaN and infinities, scope grouping), and
//! with proptest on random spans and log records (random attribute kinds,
//! arrays, nested log bodies, events, links, statuses, kinds, remote parents,
//! several scopes with and without version, schema URL and attributes,
//! resources with a schema URL). Spans are compared byte for byte; logs too
//! when there is one scope, and otherwise after sorting both requests' scopes
//! the same way. Comparing bytes compares NaN doubles by their bits. Our
//! output is also decoded with prost and re-encoded to the same bytes.
//! `tests/metrics_equivalence.rs` does the same for metrics, which only the
//! SDK can build: a meter provider records named cases of every instrument
//! and aggregation (each temporality, extremes, NaN and infinities, empty
//! and rich scopes and resources) and proptest-generated instruments and
//! measurements over two collections, and an exporter compares the two
//! encodings of each collection. Exemplars, which the 0.33 SDK never
//! records, are compared field by field in a unit test.
//!
//! # Example
//!
//! ```
//! use opentelemetry_sdk::Resource;
//! use opentelemetry_sdk::trace::SpanData;
//! use otlpkit_wire::{EncodedResource, encode_spans};
//!
//! // Once per exporter, in `set_resource`:
//! let resource = EncodedResource::new(&Resource::builder_empty().with_service_name("api").build());
//!
//! // Per batch; `out` may hold earlier bytes, the request is appended.
//! let batch: Vec<SpanData> = Vec::new();
//! let mut out = Vec::new();
//! encode_spans(&batch, &resource, &mut out);
//! assert!(!out.is_empty()); // an empty batch still has its resource envelope
//! ```
//!
//! [`LogBatch`]: opentelemetry_sdk::logs::LogBatch
//! [`ResourceMetrics`]: opentelemetry_sdk::metrics::data::ResourceMetrics

mod common;
mod enc;
mod envelope;
mod logs;
mod metrics;
mod pool;
mod record;
mod source_block;
mod trace;

pub use pool::{PooledRecords, SpanRecordPool};
pub use record::{
    Attribute, AttributeValue, Attributes, BusyIdle, INLINE_ATTRIBUTES, INLINE_STR_CAPACITY,
    InlineStr, RecordEvent, SourceAttributes, SpanRecord, intern_scope,
};

use opentelemetry_sdk::Resource;
use opentelemetry_sdk::logs::LogBatch;
use opentelemetry_sdk::metrics::data::ResourceMetrics;
use opentelemetry_sdk::trace::SpanData;

/// A resource, encoded once: the bytes of its `Resource` message (the
/// attributes, in the resource's iteration order; `dropped_attributes_count`
/// 0; no entity references) and its schema URL.
///
/// Exporters build one in `set_resource` and pass it to every
/// [`encode_spans`] / [`encode_logs`] call. The default is the empty resource
/// (no attributes, no schema URL), as `ResourceAttributesWithSchema::default()`.
///
/// ```
/// use opentelemetry::KeyValue;
/// use opentelemetry_sdk::Resource;
/// use otlpkit_wire::EncodedResource;
///
/// let resource = Resource::builder_empty()
///     .with_schema_url([KeyValue::new("service.name", "api")], "https://opentelemetry.io/schemas/1.26.0")
///     .build();
/// let encoded = EncodedResource::new(&resource);
/// assert_eq!(encoded.schema_url(), "https://opentelemetry.io/schemas/1.26.0");
/// assert!(encoded.encoded_len() > 0);
/// assert_eq!(EncodedResource::default().encoded_len(), 0);
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EncodedResource {
    message: Vec<u8>,
    schema_url: String,
}

impl EncodedResource {
    /// Encodes `resource`.
    pub fn new(resource: &Resource) -> EncodedResource {
        EncodedResource {
            message: common::encode_resource(resource),
            schema_url: resource.schema_url().unwrap_or_default().to_owned(),
        }
    }

    /// The length of the encoded `Resource` message body.
    pub fn encoded_len(&self) -> usize {
        self.message.len()
    }

    /// The resource's schema URL; empty when it has none.
    pub fn schema_url(&self) -> &str {
        &self.schema_url
    }
}

/// Appends to `out` the bytes of an `ExportTraceServiceRequest` carrying
/// `spans`: one `ResourceSpans` for `resource`, one `ScopeSpans` per distinct
/// instrumentation scope (in first-seen order), the spans in input order
/// within their scope.
///
/// The bytes equal `ExportTraceServiceRequest { resource_spans:
/// group_spans_by_resource_and_scope(spans, resource) }.encode_to_vec()` from
/// `opentelemetry-proto` 0.33.1. Nothing is allocated per span; `out` is
/// reserved once to the exact length.
///
/// **Empty batch:** like the reference, an empty `spans` still yields one
/// `ResourceSpans` holding the resource and no `ScopeSpans` (a few bytes, or
/// two for an empty resource). OTLP exporters should not send empty
/// envelopes; otlpkit's exporters skip empty batches before encoding.
///
/// ```
/// use std::time::{Duration, UNIX_EPOCH};
/// use opentelemetry::trace::{SpanContext, SpanId, SpanKind, Status, TraceFlags, TraceId, TraceState};
/// use opentelemetry::{InstrumentationScope, KeyValue};
/// use opentelemetry_sdk::trace::{SpanData, SpanEvents, SpanLinks};
/// use otlpkit_wire::{EncodedResource, encode_spans};
///
/// let span = SpanData {
///     span_context: SpanContext::new(
///         TraceId::from(1),
///         SpanId::from(2),
///         TraceFlags::SAMPLED,
///         false,
///         TraceState::default(),
///     ),
///     parent_span_id: SpanId::INVALID,
///     parent_span_is_remote: false,
///     span_kind: SpanKind::Server,
///     name: "GET /".into(),
///     start_time: UNIX_EPOCH + Duration::from_secs(1),
///     end_time: UNIX_EPOCH + Duration::from_secs(2),
///     attributes: vec![KeyValue::new("http.response.status_code", 200)],
///     dropped_attributes_count: 0,
///     events: SpanEvents::default(),
///     links: SpanLinks::default(),
///     status: Status::Ok,
///     instrumentation_scope: InstrumentationScope::builder("my-crate").build(),
/// };
/// let mut out = Vec::new();
/// encode_spans(&[span], &EncodedResource::default(), &mut out);
/// // The span name is in there, once.
/// assert_eq!(out.windows(5).filter(|w| *w == b"GET /").count(), 1);
/// ```
pub fn encode_spans(spans: &[SpanData], resource: &EncodedResource, out: &mut Vec<u8>) {
    envelope::encode_request(|| spans.iter(), resource, out);
}

/// Appends to `out` the bytes of an `ExportTraceServiceRequest` carrying
/// `records` (`SpanRecord`s, or the `Box<SpanRecord>`s a native layer
/// queues): exactly the bytes [`encode_spans`] appends for the `SpanData`
/// the records convert to ([`SpanRecord::into_span_data`]), without
/// converting them. One `ResourceSpans` for `resource`, one `ScopeSpans` per
/// distinct scope in first-seen order (records sharing an interned scope are
/// grouped without comparing it), records in input order within their scope.
///
/// ```
/// use std::time::{Duration, UNIX_EPOCH};
/// use opentelemetry::InstrumentationScope;
/// use opentelemetry::trace::{SpanId, TraceId};
/// use otlpkit_wire::{EncodedResource, SpanRecord, encode_span_records, encode_spans, intern_scope};
///
/// let scope = intern_scope(InstrumentationScope::builder("my-crate").build());
/// let start = UNIX_EPOCH + Duration::from_secs(1);
/// let record = SpanRecord::new(TraceId::from(1), SpanId::from(2), "GET /", scope, start);
/// let resource = EncodedResource::default();
///
/// let mut ours = Vec::new();
/// encode_span_records(std::slice::from_ref(&record), &resource, &mut ours);
/// let mut via_span_data = Vec::new();
/// encode_spans(&[record.into_span_data()], &resource, &mut via_span_data);
/// assert_eq!(ours, via_span_data);
/// ```
pub fn encode_span_records<R: std::borrow::Borrow<SpanRecord>>(
    records: &[R],
    resource: &EncodedResource,
    out: &mut Vec<u8>,
) {
    envelope::encode_request(|| records.iter().map(R::borrow), resource, out);
}

/// Appends to `out` the bytes of an `ExportLogsServiceRequest` carrying the
/// records of `batch`: one `ResourceLogs` for `resource`, one `ScopeLogs` per
/// distinct scope (a record's target, when set, replaces its scope's name),
/// in first-seen order, records in batch order within their scope.
///
/// The bytes equal `ExportLogsServiceRequest { resource_logs:
/// group_logs_by_resource_and_scope(batch, resource) }.encode_to_vec()` from
/// `opentelemetry-proto` 0.33.1 up to the order of scopes, which the
/// reference takes from a `HashMap` (identical for a single scope). Nothing
/// is allocated per record; `out` is reserved once to the exact length.
///
/// **Empty batch:** like the reference, one `ResourceLogs` with the resource
/// and no `ScopeLogs`.
///
/// ```
/// use opentelemetry::InstrumentationScope;
/// use opentelemetry::logs::{AnyValue, LogRecord as _, Logger as _, LoggerProvider as _, Severity};
/// use opentelemetry_sdk::logs::{LogBatch, SdkLoggerProvider};
/// use otlpkit_wire::{EncodedResource, encode_logs};
///
/// let provider = SdkLoggerProvider::builder().build();
/// let mut record = provider.logger("my-crate").create_log_record();
/// record.set_severity_number(Severity::Warn);
/// record.set_body(AnyValue::from("disk almost full"));
/// record.set_observed_timestamp(std::time::SystemTime::now());
/// let scope = InstrumentationScope::builder("my-crate").build();
///
/// let records = [(&record, &scope)];
/// let mut out = Vec::new();
/// encode_logs(&LogBatch::new(&records), &EncodedResource::default(), &mut out);
/// assert_eq!(out.windows(16).filter(|w| *w == b"disk almost full").count(), 1);
/// ```
pub fn encode_logs(batch: &LogBatch<'_>, resource: &EncodedResource, out: &mut Vec<u8>) {
    envelope::encode_request(
        || {
            batch
                .iter()
                .map(|(record, scope)| logs::LogItem(record, scope))
        },
        resource,
        out,
    );
}

/// Appends to `out` the bytes of an `ExportMetricsServiceRequest` carrying
/// `metrics` as the SDK collected them, without the metrics that hold no
/// data point nor the scope and resource envelopes left empty (checklist
/// 2.12): one `ResourceMetrics` with the resource (attributes, schema URL),
/// the scopes in the SDK's order, each with its name, version, attributes
/// and schema URL, the metrics in order within their scope. Gauges, sums
/// (temporality, monotonic flag), histograms and exponential histograms of
/// `u64`, `i64` and `f64` values, with their start times and exemplars.
///
/// The bytes equal, byte for byte, `opentelemetry-proto` 0.33.1's
/// `ExportMetricsServiceRequest::from(metrics)` with the empty metrics and
/// envelopes removed, then `encode_to_vec()`, except that a `u64` value
/// above `i64::MAX` is written as `i64::MAX` where the reference writes 0
/// ([`saturated_u64_values`] counts them). When no metric holds a data
/// point, nothing is appended (the pruned request is empty); exporters skip
/// such a batch before encoding ([`metric_data_points`] is 0). Nothing is
/// allocated per data point: two small vectors (the scopes written, each
/// metric's length) and the growth of `out`, reserved once to the exact
/// length; the resource is encoded with each request.
///
/// ```
/// use opentelemetry::metrics::MeterProvider as _;
/// use opentelemetry_sdk::error::OTelSdkResult;
/// use opentelemetry_sdk::metrics::data::ResourceMetrics;
/// use opentelemetry_sdk::metrics::exporter::PushMetricExporter;
/// use opentelemetry_sdk::metrics::{PeriodicReader, SdkMeterProvider, Temporality};
/// use std::sync::{Arc, Mutex};
///
/// // An exporter that keeps the bytes of what it is given.
/// #[derive(Debug, Clone, Default)]
/// struct Bytes(Arc<Mutex<Vec<(u64, Vec<u8>)>>>);
///
/// impl PushMetricExporter for Bytes {
///     async fn export(&self, metrics: &ResourceMetrics) -> OTelSdkResult {
///         let mut out = Vec::new();
///         otlpkit_wire::encode_metrics(metrics, &mut out);
///         let points = otlpkit_wire::metric_data_points(metrics);
///         self.0.lock().unwrap().push((points, out));
///         Ok(())
///     }
///     fn force_flush(&self) -> OTelSdkResult { Ok(()) }
///     fn shutdown_with_timeout(&self, _: std::time::Duration) -> OTelSdkResult { Ok(()) }
///     fn temporality(&self) -> Temporality { Temporality::Cumulative }
/// }
///
/// let exporter = Bytes::default();
/// let provider = SdkMeterProvider::builder()
///     .with_reader(PeriodicReader::builder(exporter.clone()).build())
///     .build();
/// provider.meter("my-crate").u64_counter("requests").build().add(1, &[]);
/// provider.force_flush().unwrap();
/// let (points, bytes) = exporter.0.lock().unwrap().pop().unwrap();
/// assert_eq!(points, 1);
/// assert_eq!(bytes.windows(8).filter(|w| *w == b"requests").count(), 1);
/// ```
pub fn encode_metrics(metrics: &ResourceMetrics, out: &mut Vec<u8>) {
    metrics::encode_request(metrics, out);
}

/// The `u64` values in `metrics` above `i64::MAX` — data point values and
/// exemplar values of `u64` instruments — which [`encode_metrics`] writes
/// as `i64::MAX`: OTLP's `NumberDataPoint` and `Exemplar` hold only an
/// `int64` or a `double`. (`opentelemetry-proto`'s conversion writes them
/// as 0.) A caller that wants the loss seen counts or reports these.
///
/// ```
/// use opentelemetry::metrics::MeterProvider as _;
/// use opentelemetry_sdk::error::OTelSdkResult;
/// use opentelemetry_sdk::metrics::data::ResourceMetrics;
/// use opentelemetry_sdk::metrics::exporter::PushMetricExporter;
/// use opentelemetry_sdk::metrics::{PeriodicReader, SdkMeterProvider, Temporality};
/// use std::sync::{Arc, Mutex};
///
/// #[derive(Debug, Clone, Default)]
/// struct Saturated(Arc<Mutex<u64>>);
///
/// impl PushMetricExporter for Saturated {
///     async fn export(&self, metrics: &ResourceMetrics) -> OTelSdkResult {
///         *self.0.lock().unwrap() += otlpkit_wire::saturated_u64_values(metrics);
///         Ok(())
///     }
///     fn force_flush(&self) -> OTelSdkResult { Ok(()) }
///     fn shutdown_with_timeout(&self, _: std::time::Duration) -> OTelSdkResult { Ok(()) }
///     fn temporality(&self) -> Temporality { Temporality::Cumulative }
/// }
///
/// let exporter = Saturated::default();
/// let provider = SdkMeterProvider::builder()
///     .with_reader(PeriodicReader::builder(exporter.clone()).build())
///     .build();
/// let meter = provider.meter("my-crate");
/// meter.u64_gauge("limit").build().record(u64::MAX, &[]);
/// meter.u64_gauge("small").build().record(7, &[]);
/// provider.force_flush().unwrap();
/// assert_eq!(*exporter.0.lock().unwrap(), 1);
/// ```
pub fn saturated_u64_values(metrics: &ResourceMetrics) -> u64 {
    metrics
        .scope_metrics()
        .flat_map(|scope| scope.metrics())
        .map(metrics::metric_saturated_u64_values)
        .sum()
}

/// The data points in `metrics`, all kinds together: the items an export
/// of them counts ([`encode_metrics`] writes exactly the metrics that hold
/// some).
pub fn metric_data_points(metrics: &ResourceMetrics) -> u64 {
    metrics
        .scope_metrics()
        .flat_map(|scope| scope.metrics())
        .map(|metric| metrics::metric_data_points(metric) as u64)
        .sum()
}
