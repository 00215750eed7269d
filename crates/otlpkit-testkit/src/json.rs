//! A tolerant OTLP/JSON decoder (checklist 2.15) into the `opentelemetry_proto` types.
//!
//! `opentelemetry-proto`'s `with-serde` deserialisers are close to OTLP/JSON but reject
//! some documents a receiver should accept: `"NaN"`/`"Infinity"` for `doubleValue`,
//! `asDouble`, `sum`, `min`, `max` and `explicitBounds`; `null` for any field; 32-bit
//! integers written as strings; `{}` for an `arrayValue`/`kvlistValue` without `values`;
//! URL-safe or unpadded base64 for `bytesValue`. It also gives no location for errors.
//! This module walks the JSON tree itself and accepts, per field:
//!
//! - `traceId`, `spanId`, `parentSpanId` (spans, links, log records, exemplars) as
//!   case-insensitive hex strings, `""` meaning absent (2.15a);
//! - enums (`kind`, `status.code`, `severityNumber`, `aggregationTemporality`) as integers,
//!   and, tolerantly, as numeric strings or their proto names (2.15b);
//! - keys in lowerCamelCase and, tolerantly, in their original snake_case spelling (2.15c);
//! - unknown fields, which are ignored (2.15d);
//! - 64-bit integers as decimal strings or numbers, doubles as numbers, numeric strings or
//!   `"NaN"`/`"Infinity"`/`"-Infinity"`, `bytesValue` as base64, `null` as the default
//!   value (2.15e).
//!
//! Errors name the JSON path of the offending value and quote it.
//!
//! ```
//! let body = br#"{"resourceSpans":[{"scopeSpans":[{"spans":[{
//!     "traceId":"5B8EFFF798038103D269B633813FC60C","spanId":"EEE19B7EC3C1B174",
//!     "name":"op","kind":2,"startTimeUnixNano":"1544712660000000000"}]}]}]}"#;
//! let request = otlpkit_testkit::json::decode_traces(body).unwrap();
//! let span = &request.resource_spans[0].scope_spans[0].spans[0];
//! assert_eq!(span.span_id, [0xee, 0xe1, 0x9b, 0x7e, 0xc3, 0xc1, 0xb1, 0x74]);
//! assert_eq!(span.start_time_unix_nano, 1_544_712_660_000_000_000);
//! ```

use base64::Engine as _;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::{
    AnyValue, ArrayValue, EntityRef, InstrumentationScope, KeyValue, KeyValueList, any_value,
};
use opentelemetry_proto::tonic::logs::v1::{LogRecord, ResourceLogs, ScopeLogs, SeverityNumber};
use opentelemetry_proto::tonic::metrics::v1::{
    AggregationTemporality, Exemplar, ExponentialHistogram, ExponentialHistogramDataPoint, Gauge,
    Histogram, HistogramDataPoint, Metric, NumberDataPoint, ResourceMetrics, ScopeMetrics, Sum,
    Summary, SummaryDataPoint, exemplar, exponential_histogram_data_point, metric,
    number_data_point, summary_data_point,
};
use opentelemetry_proto::tonic::resource::v1::Resource;
use opentelemetry_proto::tonic::trace::v1::{
    ResourceSpans, ScopeSpans, Span, Status, span, status,
};
use serde_json::{Map, Value};

use crate::error::{BodyError, JsonError};
use crate::request::{Payload, Signal};

/// Decodes an OTLP/JSON `ExportTraceServiceRequest`.
pub fn decode_traces(body: &[u8]) -> Result<ExportTraceServiceRequest, BodyError> {
    let value: Value = serde_json::from_slice(body)?;
    Ok(traces_from_value(&value)?)
}

/// Decodes an OTLP/JSON `ExportMetricsServiceRequest`.
pub fn decode_metrics(body: &[u8]) -> Result<ExportMetricsServiceRequest, BodyError> {
    let value: Value = serde_json::from_slice(body)?;
    Ok(metrics_from_value(&value)?)
}

/// Decodes an OTLP/JSON `ExportLogsServiceRequest`.
pub fn decode_logs(body: &[u8]) -> Result<ExportLogsServiceRequest, BodyError> {
    let value: Value = serde_json::from_slice(body)?;
    Ok(logs_from_value(&value)?)
}

/// Decodes an OTLP/JSON export request of `signal`.
pub fn decode(signal: Signal, body: &[u8]) -> Result<Payload, BodyError> {
    Ok(match signal {
        Signal::Traces => Payload::Traces(decode_traces(body)?),
        Signal::Metrics => Payload::Metrics(decode_metrics(body)?),
        Signal::Logs => Payload::Logs(decode_logs(body)?),
    })
}

/// Converts an already parsed JSON document into an `ExportTraceServiceRequest`.
pub fn traces_from_value(value: &Value) -> Result<ExportTraceServiceRequest, JsonError> {
    let p = Path::ROOT;
    let m = object(value, &p)?;
    Ok(ExportTraceServiceRequest {
        resource_spans: list(m, "resourceSpans", &p, resource_spans)?,
    })
}

/// Converts an already parsed JSON document into an `ExportMetricsServiceRequest`.
pub fn metrics_from_value(value: &Value) -> Result<ExportMetricsServiceRequest, JsonError> {
    let p = Path::ROOT;
    let m = object(value, &p)?;
    Ok(ExportMetricsServiceRequest {
        resource_metrics: list(m, "resourceMetrics", &p, resource_metrics)?,
    })
}

/// Converts an already parsed JSON document into an `ExportLogsServiceRequest`.
pub fn logs_from_value(value: &Value) -> Result<ExportLogsServiceRequest, JsonError> {
    let p = Path::ROOT;
    let m = object(value, &p)?;
    Ok(ExportLogsServiceRequest {
        resource_logs: list(m, "resourceLogs", &p, resource_logs)?,
    })
}

/// The OTLP/JSON `Export<Signal>ServiceResponse` body: `{}` on full success, otherwise
/// `partialSuccess` with the rejected count as a decimal string (2.15e).
pub fn encode_response(signal: Signal, partial: Option<(i64, &str)>) -> Vec<u8> {
    let value = match partial {
        None => serde_json::json!({}),
        Some((rejected, message)) => {
            let field = match signal {
                Signal::Traces => "rejectedSpans",
                Signal::Metrics => "rejectedDataPoints",
                Signal::Logs => "rejectedLogRecords",
            };
            let mut inner = Map::new();
            inner.insert(field.to_owned(), Value::String(rejected.to_string()));
            inner.insert("errorMessage".to_owned(), Value::String(message.to_owned()));
            serde_json::json!({ "partialSuccess": inner })
        }
    };
    value.to_string().into_bytes()
}

/// The OTLP/JSON `google.rpc.Status` body of an HTTP error response.
pub fn encode_status(code: i32, message: &str) -> Vec<u8> {
    serde_json::json!({ "code": code, "message": message, "details": [] })
        .to_string()
        .into_bytes()
}

// ---------------------------------------------------------------------------------------------
// Paths for error messages.

#[derive(Clone, Copy)]
enum Seg {
    Root,
    Field(&'static str),
    Index(usize),
}

/// A JSON path, built on the stack while walking the document and rendered only on error.
#[derive(Clone, Copy)]
struct Path<'a> {
    parent: Option<&'a Path<'a>>,
    seg: Seg,
}

impl<'a> Path<'a> {
    const ROOT: Path<'static> = Path {
        parent: None,
        seg: Seg::Root,
    };

    fn field(&'a self, name: &'static str) -> Path<'a> {
        Path {
            parent: Some(self),
            seg: Seg::Field(name),
        }
    }

    fn index(&'a self, index: usize) -> Path<'a> {
        Path {
            parent: Some(self),
            seg: Seg::Index(index),
        }
    }

    fn render(&self) -> String {
        let mut segs = Vec::new();
        let mut cur = Some(self);
        while let Some(p) = cur {
            segs.push(p.seg);
            cur = p.parent;
        }
        let mut out = String::new();
        for seg in segs.iter().rev() {
            match seg {
                Seg::Root => {}
                Seg::Field(name) => {
                    if !out.is_empty() {
                        out.push('.');
                    }
                    out.push_str(name);
                }
                Seg::Index(i) => out.push_str(&format!("[{i}]")),
            }
        }
        if out.is_empty() { "$".to_owned() } else { out }
    }

    fn error(&self, message: impl Into<String>) -> JsonError {
        JsonError {
            path: self.render(),
            message: message.into(),
        }
    }
}

/// A short rendering of a JSON value for error messages.
fn show(value: &Value) -> String {
    let text = value.to_string();
    if text.chars().count() > 80 {
        let cut: String = text.chars().take(77).collect();
        format!("{cut}...")
    } else {
        text
    }
}

// ---------------------------------------------------------------------------------------------
// Field access.

type Obj = Map<String, Value>;

fn object<'v>(value: &'v Value, p: &Path<'_>) -> Result<&'v Obj, JsonError> {
    value
        .as_object()
        .ok_or_else(|| p.error(format!("expected an object, got {}", show(value))))
}

/// Whether `key` is the snake_case spelling of the lowerCamelCase `camel`.
fn is_snake_of(key: &str, camel: &str) -> bool {
    let mut key = key.chars();
    for c in camel.chars() {
        if c.is_ascii_uppercase() {
            if key.next() != Some('_') || key.next() != Some(c.to_ascii_lowercase()) {
                return false;
            }
        } else if key.next() != Some(c) {
            return false;
        }
    }
    key.next().is_none()
}

/// The value of field `camel` (or its snake_case spelling); `null` counts as absent.
fn lookup<'v>(m: &'v Obj, camel: &str) -> Option<&'v Value> {
    let found = m.get(camel).or_else(|| {
        if camel.bytes().any(|b| b.is_ascii_uppercase()) {
            m.iter()
                .find(|(k, _)| is_snake_of(k, camel))
                .map(|(_, v)| v)
        } else {
            None
        }
    });
    found.filter(|v| !v.is_null())
}

fn opt<'v, T>(
    m: &'v Obj,
    name: &'static str,
    p: &Path<'_>,
    f: impl FnOnce(&'v Value, &Path<'_>) -> Result<T, JsonError>,
) -> Result<Option<T>, JsonError> {
    match lookup(m, name) {
        None => Ok(None),
        Some(v) => f(v, &p.field(name)).map(Some),
    }
}

fn or_default<'v, T: Default>(
    m: &'v Obj,
    name: &'static str,
    p: &Path<'_>,
    f: impl FnOnce(&'v Value, &Path<'_>) -> Result<T, JsonError>,
) -> Result<T, JsonError> {
    Ok(opt(m, name, p, f)?.unwrap_or_default())
}

fn list<'v, T>(
    m: &'v Obj,
    name: &'static str,
    p: &Path<'_>,
    f: impl Fn(&'v Value, &Path<'_>) -> Result<T, JsonError>,
) -> Result<Vec<T>, JsonError> {
    let fp = p.field(name);
    match lookup(m, name) {
        None => Ok(Vec::new()),
        Some(Value::Array(items)) => items
            .iter()
            .enumerate()
            .map(|(i, v)| f(v, &fp.index(i)))
            .collect(),
        Some(other) => Err(fp.error(format!("expected an array, got {}", show(other)))),
    }
}

// ---------------------------------------------------------------------------------------------
// Scalars.

fn string(v: &Value, p: &Path<'_>) -> Result<String, JsonError> {
    v.as_str()
        .map(str::to_owned)
        .ok_or_else(|| p.error(format!("expected a string, got {}", show(v))))
}

fn boolean(v: &Value, p: &Path<'_>) -> Result<bool, JsonError> {
    v.as_bool()
        .ok_or_else(|| p.error(format!("expected true or false, got {}", show(v))))
}

/// An integer written as a JSON number (integral) or a decimal string, as i128 to check ranges.
fn integer(v: &Value, p: &Path<'_>, what: &str) -> Result<i128, JsonError> {
    let bad = || {
        p.error(format!(
            "expected {what} (number or decimal string), got {}",
            show(v)
        ))
    };
    match v {
        Value::Number(n) => {
            if let Some(u) = n.as_u64() {
                Ok(i128::from(u))
            } else if let Some(i) = n.as_i64() {
                Ok(i128::from(i))
            } else {
                // An integral float such as 1e3 or 5.0; proto3 JSON parsers accept those.
                match n.as_f64() {
                    Some(f) if f.fract() == 0.0 && f.abs() < 1.8e19 => Ok(f as i128),
                    _ => Err(bad()),
                }
            }
        }
        Value::String(s) => s.trim().parse::<i128>().map_err(|_| bad()),
        _ => Err(bad()),
    }
}

fn ranged<T: TryFrom<i128>>(v: &Value, p: &Path<'_>, what: &str) -> Result<T, JsonError> {
    let n = integer(v, p, what)?;
    T::try_from(n).map_err(|_| p.error(format!("{what} out of range: {}", show(v))))
}

fn u64_(v: &Value, p: &Path<'_>) -> Result<u64, JsonError> {
    ranged(v, p, "an unsigned 64-bit integer")
}

fn i64_(v: &Value, p: &Path<'_>) -> Result<i64, JsonError> {
    ranged(v, p, "a signed 64-bit integer")
}

fn u32_(v: &Value, p: &Path<'_>) -> Result<u32, JsonError> {
    ranged(v, p, "an unsigned 32-bit integer")
}

fn i32_(v: &Value, p: &Path<'_>) -> Result<i32, JsonError> {
    ranged(v, p, "a signed 32-bit integer")
}

fn f64_(v: &Value, p: &Path<'_>) -> Result<f64, JsonError> {
    let bad = || {
        p.error(format!(
            "expected a number, a numeric string, \"NaN\", \"Infinity\" or \"-Infinity\", got {}",
            show(v)
        ))
    };
    match v {
        Value::Number(n) => n.as_f64().ok_or_else(bad),
        Value::String(s) => match s.as_str() {
            "NaN" => Ok(f64::NAN),
            "Infinity" => Ok(f64::INFINITY),
            "-Infinity" => Ok(f64::NEG_INFINITY),
            other => other.trim().parse::<f64>().map_err(|_| bad()),
        },
        _ => Err(bad()),
    }
}

/// An enum: an integer, a numeric string, or (tolerantly) the value's proto name.
fn enumeration(
    v: &Value,
    p: &Path<'_>,
    from_name: fn(&str) -> Option<i32>,
) -> Result<i32, JsonError> {
    if let Value::String(s) = v
        && let Some(n) = from_name(s)
    {
        return Ok(n);
    }
    ranged(v, p, "an enum number")
}

fn hex_digit(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

/// Trace and span ids: case-insensitive hex (2.15a).
fn hex_bytes(v: &Value, p: &Path<'_>) -> Result<Vec<u8>, JsonError> {
    let s = v
        .as_str()
        .ok_or_else(|| p.error(format!("expected a hex string, got {}", show(v))))?;
    let bytes = s.as_bytes();
    if bytes.len() % 2 != 0 {
        return Err(p.error(format!("odd number of hex digits in {}", show(v))));
    }
    bytes
        .chunks(2)
        .map(|pair| match (hex_digit(pair[0]), hex_digit(pair[1])) {
            (Some(hi), Some(lo)) => Ok(hi << 4 | lo),
            _ => Err(p.error(format!("not a hex string: {}", show(v)))),
        })
        .collect()
}

const LENIENT: GeneralPurposeConfig =
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent);
const STANDARD_LENIENT: GeneralPurpose = GeneralPurpose::new(&base64::alphabet::STANDARD, LENIENT);
const URL_SAFE_LENIENT: GeneralPurpose = GeneralPurpose::new(&base64::alphabet::URL_SAFE, LENIENT);

/// Other bytes fields: base64, standard or URL-safe, padded or not.
fn base64_bytes(v: &Value, p: &Path<'_>) -> Result<Vec<u8>, JsonError> {
    let s = v
        .as_str()
        .ok_or_else(|| p.error(format!("expected a base64 string, got {}", show(v))))?;
    STANDARD_LENIENT
        .decode(s)
        .or_else(|_| URL_SAFE_LENIENT.decode(s))
        .map_err(|e| p.error(format!("not base64 ({e}): {}", show(v))))
}

// ---------------------------------------------------------------------------------------------
// common.v1 and resource.v1

fn any_value(v: &Value, p: &Path<'_>) -> Result<AnyValue, JsonError> {
    let m = object(v, p)?;
    let value = if let Some(s) = opt(m, "stringValue", p, string)? {
        Some(any_value::Value::StringValue(s))
    } else if let Some(b) = opt(m, "boolValue", p, boolean)? {
        Some(any_value::Value::BoolValue(b))
    } else if let Some(i) = opt(m, "intValue", p, i64_)? {
        Some(any_value::Value::IntValue(i))
    } else if let Some(d) = opt(m, "doubleValue", p, f64_)? {
        Some(any_value::Value::DoubleValue(d))
    } else if let Some(a) = opt(m, "arrayValue", p, array_value)? {
        Some(any_value::Value::ArrayValue(a))
    } else if let Some(kv) = opt(m, "kvlistValue", p, kvlist_value)? {
        Some(any_value::Value::KvlistValue(kv))
    } else if let Some(b) = opt(m, "bytesValue", p, base64_bytes)? {
        Some(any_value::Value::BytesValue(b))
    } else {
        opt(m, "stringValueStrindex", p, i32_)?.map(any_value::Value::StringValueStrindex)
    };
    Ok(AnyValue { value })
}

fn array_value(v: &Value, p: &Path<'_>) -> Result<ArrayValue, JsonError> {
    let m = object(v, p)?;
    Ok(ArrayValue {
        values: list(m, "values", p, any_value)?,
    })
}

fn kvlist_value(v: &Value, p: &Path<'_>) -> Result<KeyValueList, JsonError> {
    let m = object(v, p)?;
    Ok(KeyValueList {
        values: list(m, "values", p, key_value)?,
    })
}

fn key_value(v: &Value, p: &Path<'_>) -> Result<KeyValue, JsonError> {
    let m = object(v, p)?;
    Ok(KeyValue {
        key: or_default(m, "key", p, string)?,
        value: opt(m, "value", p, any_value)?,
        key_strindex: or_default(m, "keyStrindex", p, i32_)?,
    })
}

fn attributes(m: &Obj, name: &'static str, p: &Path<'_>) -> Result<Vec<KeyValue>, JsonError> {
    list(m, name, p, key_value)
}

fn scope(v: &Value, p: &Path<'_>) -> Result<InstrumentationScope, JsonError> {
    let m = object(v, p)?;
    Ok(InstrumentationScope {
        name: or_default(m, "name", p, string)?,
        version: or_default(m, "version", p, string)?,
        attributes: attributes(m, "attributes", p)?,
        dropped_attributes_count: or_default(m, "droppedAttributesCount", p, u32_)?,
    })
}

fn entity_ref(v: &Value, p: &Path<'_>) -> Result<EntityRef, JsonError> {
    let m = object(v, p)?;
    Ok(EntityRef {
        schema_url: or_default(m, "schemaUrl", p, string)?,
        r#type: or_default(m, "type", p, string)?,
        id_keys: list(m, "idKeys", p, string)?,
        description_keys: list(m, "descriptionKeys", p, string)?,
    })
}

fn resource(v: &Value, p: &Path<'_>) -> Result<Resource, JsonError> {
    let m = object(v, p)?;
    Ok(Resource {
        attributes: attributes(m, "attributes", p)?,
        dropped_attributes_count: or_default(m, "droppedAttributesCount", p, u32_)?,
        entity_refs: list(m, "entityRefs", p, entity_ref)?,
    })
}

// ---------------------------------------------------------------------------------------------
// trace.v1

fn resource_spans(v: &Value, p: &Path<'_>) -> Result<ResourceSpans, JsonError> {
    let m = object(v, p)?;
    Ok(ResourceSpans {
        resource: opt(m, "resource", p, resource)?,
        scope_spans: list(m, "scopeSpans", p, scope_spans)?,
        schema_url: or_default(m, "schemaUrl", p, string)?,
    })
}

fn scope_spans(v: &Value, p: &Path<'_>) -> Result<ScopeSpans, JsonError> {
    let m = object(v, p)?;
    Ok(ScopeSpans {
        scope: opt(m, "scope", p, scope)?,
        spans: list(m, "spans", p, span_)?,
        schema_url: or_default(m, "schemaUrl", p, string)?,
    })
}

fn span_kind(name: &str) -> Option<i32> {
    span::SpanKind::from_str_name(name).map(|k| k as i32)
}

fn status_code(name: &str) -> Option<i32> {
    status::StatusCode::from_str_name(name).map(|c| c as i32)
}

fn span_(v: &Value, p: &Path<'_>) -> Result<Span, JsonError> {
    let m = object(v, p)?;
    Ok(Span {
        trace_id: or_default(m, "traceId", p, hex_bytes)?,
        span_id: or_default(m, "spanId", p, hex_bytes)?,
        trace_state: or_default(m, "traceState", p, string)?,
        parent_span_id: or_default(m, "parentSpanId", p, hex_bytes)?,
        flags: or_default(m, "flags", p, u32_)?,
        name: or_default(m, "name", p, string)?,
        kind: or_default(m, "kind", p, |v, p| enumeration(v, p, span_kind))?,
        start_time_unix_nano: or_default(m, "startTimeUnixNano", p, u64_)?,
        end_time_unix_nano: or_default(m, "endTimeUnixNano", p, u64_)?,
        attributes: attributes(m, "attributes", p)?,
        dropped_attributes_count: or_default(m, "droppedAttributesCount", p, u32_)?,
        events: list(m, "events", p, event)?,
        dropped_events_count: or_default(m, "droppedEventsCount", p, u32_)?,
        links: list(m, "links", p, link)?,
        dropped_links_count: or_default(m, "droppedLinksCount", p, u32_)?,
        status: opt(m, "status", p, span_status)?,
    })
}

fn event(v: &Value, p: &Path<'_>) -> Result<span::Event, JsonError> {
    let m = object(v, p)?;
    Ok(span::Event {
        time_unix_nano: or_default(m, "timeUnixNano", p, u64_)?,
        name: or_default(m, "name", p, string)?,
        attributes: attributes(m, "attributes", p)?,
        dropped_attributes_count: or_default(m, "droppedAttributesCount", p, u32_)?,
    })
}

fn link(v: &Value, p: &Path<'_>) -> Result<span::Link, JsonError> {
    let m = object(v, p)?;
    Ok(span::Link {
        trace_id: or_default(m, "traceId", p, hex_bytes)?,
        span_id: or_default(m, "spanId", p, hex_bytes)?,
        trace_state: or_default(m, "traceState", p, string)?,
        attributes: attributes(m, "attributes", p)?,
        dropped_attributes_count: or_default(m, "droppedAttributesCount", p, u32_)?,
        flags: or_default(m, "flags", p, u32_)?,
    })
}

fn span_status(v: &Value, p: &Path<'_>) -> Result<Status, JsonError> {
    let m = object(v, p)?;
    Ok(Status {
        message: or_default(m, "message", p, string)?,
        code: or_default(m, "code", p, |v, p| enumeration(v, p, status_code))?,
    })
}

// ---------------------------------------------------------------------------------------------
// logs.v1

fn resource_logs(v: &Value, p: &Path<'_>) -> Result<ResourceLogs, JsonError> {
    let m = object(v, p)?;
    Ok(ResourceLogs {
        resource: opt(m, "resource", p, resource)?,
        scope_logs: list(m, "scopeLogs", p, scope_logs)?,
        schema_url: or_default(m, "schemaUrl", p, string)?,
    })
}

fn scope_logs(v: &Value, p: &Path<'_>) -> Result<ScopeLogs, JsonError> {
    let m = object(v, p)?;
    Ok(ScopeLogs {
        scope: opt(m, "scope", p, scope)?,
        log_records: list(m, "logRecords", p, log_record)?,
        schema_url: or_default(m, "schemaUrl", p, string)?,
    })
}

fn severity(name: &str) -> Option<i32> {
    SeverityNumber::from_str_name(name).map(|s| s as i32)
}

fn log_record(v: &Value, p: &Path<'_>) -> Result<LogRecord, JsonError> {
    let m = object(v, p)?;
    Ok(LogRecord {
        time_unix_nano: or_default(m, "timeUnixNano", p, u64_)?,
        observed_time_unix_nano: or_default(m, "observedTimeUnixNano", p, u64_)?,
        severity_number: or_default(m, "severityNumber", p, |v, p| enumeration(v, p, severity))?,
        severity_text: or_default(m, "severityText", p, string)?,
        body: opt(m, "body", p, any_value)?,
        attributes: attributes(m, "attributes", p)?,
        dropped_attributes_count: or_default(m, "droppedAttributesCount", p, u32_)?,
        flags: or_default(m, "flags", p, u32_)?,
        trace_id: or_default(m, "traceId", p, hex_bytes)?,
        span_id: or_default(m, "spanId", p, hex_bytes)?,
        event_name: or_default(m, "eventName", p, string)?,
    })
}

// ---------------------------------------------------------------------------------------------
// metrics.v1

fn resource_metrics(v: &Value, p: &Path<'_>) -> Result<ResourceMetrics, JsonError> {
    let m = object(v, p)?;
    Ok(ResourceMetrics {
        resource: opt(m, "resource", p, resource)?,
        scope_metrics: list(m, "scopeMetrics", p, scope_metrics)?,
        schema_url: or_default(m, "schemaUrl", p, string)?,
    })
}

fn scope_metrics(v: &Value, p: &Path<'_>) -> Result<ScopeMetrics, JsonError> {
    let m = object(v, p)?;
    Ok(ScopeMetrics {
        scope: opt(m, "scope", p, scope)?,
        metrics: list(m, "metrics", p, metric_)?,
        schema_url: or_default(m, "schemaUrl", p, string)?,
    })
}

fn metric_(v: &Value, p: &Path<'_>) -> Result<Metric, JsonError> {
    let m = object(v, p)?;
    let data = if let Some(g) = opt(m, "gauge", p, gauge)? {
        Some(metric::Data::Gauge(g))
    } else if let Some(s) = opt(m, "sum", p, sum)? {
        Some(metric::Data::Sum(s))
    } else if let Some(h) = opt(m, "histogram", p, histogram)? {
        Some(metric::Data::Histogram(h))
    } else if let Some(h) = opt(m, "exponentialHistogram", p, exponential_histogram)? {
        Some(metric::Data::ExponentialHistogram(h))
    } else {
        opt(m, "summary", p, summary)?.map(metric::Data::Summary)
    };
    Ok(Metric {
        name: or_default(m, "name", p, string)?,
        description: or_default(m, "description", p, string)?,
        unit: or_default(m, "unit", p, string)?,
        metadata: attributes(m, "metadata", p)?,
        data,
    })
}

fn temporality(name: &str) -> Option<i32> {
    AggregationTemporality::from_str_name(name).map(|t| t as i32)
}

fn temporality_field(m: &Obj, p: &Path<'_>) -> Result<i32, JsonError> {
    or_default(m, "aggregationTemporality", p, |v, p| {
        enumeration(v, p, temporality)
    })
}

fn gauge(v: &Value, p: &Path<'_>) -> Result<Gauge, JsonError> {
    let m = object(v, p)?;
    Ok(Gauge {
        data_points: list(m, "dataPoints", p, number_point)?,
    })
}

fn sum(v: &Value, p: &Path<'_>) -> Result<Sum, JsonError> {
    let m = object(v, p)?;
    Ok(Sum {
        data_points: list(m, "dataPoints", p, number_point)?,
        aggregation_temporality: temporality_field(m, p)?,
        is_monotonic: or_default(m, "isMonotonic", p, boolean)?,
    })
}

fn histogram(v: &Value, p: &Path<'_>) -> Result<Histogram, JsonError> {
    let m = object(v, p)?;
    Ok(Histogram {
        data_points: list(m, "dataPoints", p, histogram_point)?,
        aggregation_temporality: temporality_field(m, p)?,
    })
}

fn exponential_histogram(v: &Value, p: &Path<'_>) -> Result<ExponentialHistogram, JsonError> {
    let m = object(v, p)?;
    Ok(ExponentialHistogram {
        data_points: list(m, "dataPoints", p, exponential_point)?,
        aggregation_temporality: temporality_field(m, p)?,
    })
}

fn summary(v: &Value, p: &Path<'_>) -> Result<Summary, JsonError> {
    let m = object(v, p)?;
    Ok(Summary {
        data_points: list(m, "dataPoints", p, summary_point)?,
    })
}

fn number_point(v: &Value, p: &Path<'_>) -> Result<NumberDataPoint, JsonError> {
    let m = object(v, p)?;
    let value = if let Some(d) = opt(m, "asDouble", p, f64_)? {
        Some(number_data_point::Value::AsDouble(d))
    } else {
        opt(m, "asInt", p, i64_)?.map(number_data_point::Value::AsInt)
    };
    Ok(NumberDataPoint {
        attributes: attributes(m, "attributes", p)?,
        start_time_unix_nano: or_default(m, "startTimeUnixNano", p, u64_)?,
        time_unix_nano: or_default(m, "timeUnixNano", p, u64_)?,
        exemplars: list(m, "exemplars", p, exemplar_)?,
        flags: or_default(m, "flags", p, u32_)?,
        value,
    })
}

fn histogram_point(v: &Value, p: &Path<'_>) -> Result<HistogramDataPoint, JsonError> {
    let m = object(v, p)?;
    Ok(HistogramDataPoint {
        attributes: attributes(m, "attributes", p)?,
        start_time_unix_nano: or_default(m, "startTimeUnixNano", p, u64_)?,
        time_unix_nano: or_default(m, "timeUnixNano", p, u64_)?,
        count: or_default(m, "count", p, u64_)?,
        sum: opt(m, "sum", p, f64_)?,
        bucket_counts: list(m, "bucketCounts", p, u64_)?,
        explicit_bounds: list(m, "explicitBounds", p, f64_)?,
        exemplars: list(m, "exemplars", p, exemplar_)?,
        flags: or_default(m, "flags", p, u32_)?,
        min: opt(m, "min", p, f64_)?,
        max: opt(m, "max", p, f64_)?,
    })
}

fn buckets(
    v: &Value,
    p: &Path<'_>,
) -> Result<exponential_histogram_data_point::Buckets, JsonError> {
    let m = object(v, p)?;
    Ok(exponential_histogram_data_point::Buckets {
        offset: or_default(m, "offset", p, i32_)?,
        bucket_counts: list(m, "bucketCounts", p, u64_)?,
    })
}

fn exponential_point(v: &Value, p: &Path<'_>) -> Result<ExponentialHistogramDataPoint, JsonError> {
    let m = object(v, p)?;
    Ok(ExponentialHistogramDataPoint {
        attributes: attributes(m, "attributes", p)?,
        start_time_unix_nano: or_default(m, "startTimeUnixNano", p, u64_)?,
        time_unix_nano: or_default(m, "timeUnixNano", p, u64_)?,
        count: or_default(m, "count", p, u64_)?,
        sum: opt(m, "sum", p, f64_)?,
        scale: or_default(m, "scale", p, i32_)?,
        zero_count: or_default(m, "zeroCount", p, u64_)?,
        positive: opt(m, "positive", p, buckets)?,
        negative: opt(m, "negative", p, buckets)?,
        flags: or_default(m, "flags", p, u32_)?,
        exemplars: list(m, "exemplars", p, exemplar_)?,
        min: opt(m, "min", p, f64_)?,
        max: opt(m, "max", p, f64_)?,
        zero_threshold: or_default(m, "zeroThreshold", p, f64_)?,
    })
}

fn summary_point(v: &Value, p: &Path<'_>) -> Result<SummaryDataPoint, JsonError> {
    let m = object(v, p)?;
    Ok(SummaryDataPoint {
        attributes: attributes(m, "attributes", p)?,
        start_time_unix_nano: or_default(m, "startTimeUnixNano", p, u64_)?,
        time_unix_nano: or_default(m, "timeUnixNano", p, u64_)?,
        count: or_default(m, "count", p, u64_)?,
        sum: or_default(m, "sum", p, f64_)?,
        quantile_values: list(m, "quantileValues", p, quantile)?,
        flags: or_default(m, "flags", p, u32_)?,
    })
}

fn quantile(v: &Value, p: &Path<'_>) -> Result<summary_data_point::ValueAtQuantile, JsonError> {
    let m = object(v, p)?;
    Ok(summary_data_point::ValueAtQuantile {
        quantile: or_default(m, "quantile", p, f64_)?,
        value: or_default(m, "value", p, f64_)?,
    })
}

fn exemplar_(v: &Value, p: &Path<'_>) -> Result<Exemplar, JsonError> {
    let m = object(v, p)?;
    let value = if let Some(d) = opt(m, "asDouble", p, f64_)? {
        Some(exemplar::Value::AsDouble(d))
    } else {
        opt(m, "asInt", p, i64_)?.map(exemplar::Value::AsInt)
    };
    Ok(Exemplar {
        filtered_attributes: attributes(m, "filteredAttributes", p)?,
        time_unix_nano: or_default(m, "timeUnixNano", p, u64_)?,
        span_id: or_default(m, "spanId", p, hex_bytes)?,
        trace_id: or_default(m, "traceId", p, hex_bytes)?,
        value,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn first_span(req: &ExportTraceServiceRequest) -> &Span {
        &req.resource_spans[0].scope_spans[0].spans[0]
    }

    #[test]
    fn decodes_the_otlp_trace_example() {
        // The shape of opentelemetry-proto `examples/trace.json`, written out by hand
        // (uppercase hex ids, string nanos, integer kind). checklist 2.15a, 2.15b, 2.15e
        let body = br#"{
          "resourceSpans": [{
            "resource": {"attributes": [{"key": "service.name", "value": {"stringValue": "my.service"}}]},
            "scopeSpans": [{
              "scope": {"name": "my.library", "version": "1.0.0",
                        "attributes": [{"key": "my.scope.attribute", "value": {"stringValue": "some scope attribute"}}]},
              "spans": [{
                "traceId": "5B8EFFF798038103D269B633813FC60C",
                "spanId": "EEE19B7EC3C1B174",
                "parentSpanId": "EEE19B7EC3C1B173",
                "name": "I'm a server span",
                "startTimeUnixNano": "1544712660000000000",
                "endTimeUnixNano": "1544712661000000000",
                "kind": 2,
                "attributes": [{"key": "my.span.attr", "value": {"stringValue": "some value"}}]
              }]
            }]
          }]
        }"#;
        let req = decode_traces(body).unwrap();
        let rs = &req.resource_spans[0];
        let resource = rs.resource.as_ref().unwrap();
        assert_eq!(resource.attributes[0].key, "service.name");
        assert_eq!(
            resource.attributes[0].value.as_ref().unwrap().value,
            Some(any_value::Value::StringValue("my.service".into()))
        );
        let scope = rs.scope_spans[0].scope.as_ref().unwrap();
        assert_eq!(
            (scope.name.as_str(), scope.version.as_str()),
            ("my.library", "1.0.0")
        );
        assert_eq!(scope.attributes[0].key, "my.scope.attribute");
        let span = first_span(&req);
        assert_eq!(
            span.trace_id,
            [
                0x5b, 0x8e, 0xff, 0xf7, 0x98, 0x03, 0x81, 0x03, 0xd2, 0x69, 0xb6, 0x33, 0x81, 0x3f,
                0xc6, 0x0c
            ]
        );
        assert_eq!(
            span.span_id,
            [0xee, 0xe1, 0x9b, 0x7e, 0xc3, 0xc1, 0xb1, 0x74]
        );
        assert_eq!(
            span.parent_span_id,
            [0xee, 0xe1, 0x9b, 0x7e, 0xc3, 0xc1, 0xb1, 0x73]
        );
        assert_eq!(span.name, "I'm a server span");
        assert_eq!(span.kind, span::SpanKind::Server as i32);
        assert_eq!(span.start_time_unix_nano, 1_544_712_660_000_000_000);
        assert_eq!(span.end_time_unix_nano, 1_544_712_661_000_000_000);
        assert_eq!(span.attributes[0].key, "my.span.attr");
    }

    #[test]
    fn accepts_every_spelling_a_receiver_should_tolerate() {
        // checklist 2.15: numbers for 64-bit ints, enum names, snake_case keys, nulls,
        // unknown fields, lowercase hex, "" ids.
        let body = json!({
            "resource_spans": [{
                "unknownEnvelopeField": {"deep": [1, 2, 3]},
                "scope_spans": [{
                    "scope": null,
                    "spans": [{
                        "trace_id": "5b8efff798038103d269b633813fc60c",
                        "spanId": "eee19b7ec3c1b174",
                        "parentSpanId": "",
                        "name": "tolerant",
                        "kind": "SPAN_KIND_CLIENT",
                        "startTimeUnixNano": 1544712660000000000u64,
                        "endTimeUnixNano": "1544712661000000000",
                        "droppedAttributesCount": "3",
                        "flags": 257,
                        "status": {"code": "STATUS_CODE_ERROR", "message": "boom"},
                        "events": [{"timeUnixNano": "7", "name": "ev", "attributes": null}],
                        "links": [{"traceId": "00000000000000000000000000000001",
                                   "spanId": "0000000000000002", "flags": "1"}],
                        "someFutureField": true
                    }]
                }]
            }]
        });
        let req = traces_from_value(&body).unwrap();
        let span = first_span(&req);
        assert_eq!(span.trace_id.len(), 16);
        assert!(span.parent_span_id.is_empty());
        assert_eq!(span.kind, span::SpanKind::Client as i32);
        assert_eq!(span.start_time_unix_nano, 1_544_712_660_000_000_000);
        assert_eq!(span.dropped_attributes_count, 3);
        assert_eq!(span.flags, 257);
        let status = span.status.as_ref().unwrap();
        assert_eq!(status.code, status::StatusCode::Error as i32);
        assert_eq!(status.message, "boom");
        assert_eq!(span.events[0].time_unix_nano, 7);
        assert_eq!(span.links[0].span_id, [0, 0, 0, 0, 0, 0, 0, 2]);
        assert_eq!(span.links[0].flags, 1);
        assert!(req.resource_spans[0].scope_spans[0].scope.is_none());
    }

    #[test]
    fn decodes_every_any_value_kind() {
        let body = json!({"resourceLogs": [{"scopeLogs": [{"logRecords": [{
            "timeUnixNano": "1",
            "severityNumber": 13,
            "severityText": "WARN",
            "traceId": "0102030405060708090a0b0c0d0e0f10",
            "spanId": "0102030405060708",
            "eventName": "my.event",
            "body": {"kvlistValue": {"values": [
                {"key": "s", "value": {"stringValue": "x"}},
                {"key": "b", "value": {"boolValue": true}},
                {"key": "i", "value": {"intValue": "-9007199254740993"}},
                {"key": "d", "value": {"doubleValue": "NaN"}},
                {"key": "a", "value": {"arrayValue": {"values": [{"intValue": 1}, {"doubleValue": 2.5}]}}},
                {"key": "e", "value": {"arrayValue": {}}},
                {"key": "y", "value": {"bytesValue": "3q2-7w"}},
                {"key": "z", "value": {"bytesValue": "3q2+7w=="}},
                {"key": "empty", "value": {}}
            ]}}
        }]}]}]});
        let req = logs_from_value(&body).unwrap();
        let log = &req.resource_logs[0].scope_logs[0].log_records[0];
        assert_eq!(log.severity_number, SeverityNumber::Warn as i32);
        assert_eq!(log.severity_text, "WARN");
        assert_eq!(log.trace_id, (1u8..=16).collect::<Vec<_>>());
        assert_eq!(log.event_name, "my.event");
        let Some(any_value::Value::KvlistValue(kv)) = &log.body.as_ref().unwrap().value else {
            panic!("body is not a kvlist: {:?}", log.body);
        };
        let get = |k: &str| {
            kv.values
                .iter()
                .find(|v| v.key == k)
                .and_then(|v| v.value.as_ref())
                .and_then(|v| v.value.clone())
        };
        assert_eq!(get("s"), Some(any_value::Value::StringValue("x".into())));
        assert_eq!(get("b"), Some(any_value::Value::BoolValue(true)));
        assert_eq!(
            get("i"),
            Some(any_value::Value::IntValue(-9_007_199_254_740_993))
        );
        assert!(matches!(get("d"), Some(any_value::Value::DoubleValue(d)) if d.is_nan()));
        let Some(any_value::Value::ArrayValue(arr)) = get("a") else {
            panic!("not an array")
        };
        assert_eq!(arr.values.len(), 2);
        assert_eq!(
            arr.values[1].value,
            Some(any_value::Value::DoubleValue(2.5))
        );
        assert_eq!(
            get("e"),
            Some(any_value::Value::ArrayValue(ArrayValue { values: vec![] }))
        );
        assert_eq!(
            get("y"),
            Some(any_value::Value::BytesValue(vec![0xde, 0xad, 0xbe, 0xef]))
        );
        assert_eq!(
            get("z"),
            Some(any_value::Value::BytesValue(vec![0xde, 0xad, 0xbe, 0xef]))
        );
        assert_eq!(get("empty"), None);
    }

    #[test]
    fn decodes_metric_points_of_every_kind() {
        let body = json!({"resourceMetrics": [{"scopeMetrics": [{"metrics": [
            {"name": "g", "gauge": {"dataPoints": [{"asDouble": "Infinity", "timeUnixNano": "5"}]}},
            {"name": "c", "unit": "1", "sum": {"aggregationTemporality": "AGGREGATION_TEMPORALITY_DELTA",
                "isMonotonic": true, "dataPoints": [{"asInt": "12", "exemplars": [
                    {"asInt": 3, "traceId": "0102030405060708090A0B0C0D0E0F10", "spanId": "0102030405060708",
                     "filteredAttributes": [{"key": "k", "value": {"stringValue": "v"}}]}]}]}},
            {"name": "h", "histogram": {"aggregationTemporality": 2, "dataPoints": [{
                "count": "3", "sum": 7.5, "min": "-Infinity", "max": 4,
                "bucketCounts": ["1", 2, "0"], "explicitBounds": [1.0, "Infinity"]}]}},
            {"name": "e", "exponentialHistogram": {"aggregationTemporality": 1, "dataPoints": [{
                "count": 4, "scale": -2, "zeroCount": "1", "zeroThreshold": 0.5,
                "positive": {"offset": -1, "bucketCounts": ["1", "2"]},
                "negative": {"bucketCounts": []}}]}},
            {"name": "s", "summary": {"dataPoints": [{"count": "2", "sum": "3.5",
                "quantileValues": [{"quantile": 0.5, "value": "NaN"}, {"quantile": 1, "value": 2}]}]}}
        ]}]}]});
        let req = metrics_from_value(&body).unwrap();
        let metrics = &req.resource_metrics[0].scope_metrics[0].metrics;
        let Some(metric::Data::Gauge(g)) = &metrics[0].data else {
            panic!("gauge")
        };
        assert_eq!(
            g.data_points[0].value,
            Some(number_data_point::Value::AsDouble(f64::INFINITY))
        );
        let Some(metric::Data::Sum(s)) = &metrics[1].data else {
            panic!("sum")
        };
        assert_eq!(
            s.aggregation_temporality,
            AggregationTemporality::Delta as i32
        );
        assert!(s.is_monotonic);
        assert_eq!(
            s.data_points[0].value,
            Some(number_data_point::Value::AsInt(12))
        );
        let ex = &s.data_points[0].exemplars[0];
        assert_eq!(ex.value, Some(exemplar::Value::AsInt(3)));
        assert_eq!(ex.span_id, (1u8..=8).collect::<Vec<_>>());
        assert_eq!(ex.filtered_attributes[0].key, "k");
        let Some(metric::Data::Histogram(h)) = &metrics[2].data else {
            panic!("histogram")
        };
        let hp = &h.data_points[0];
        assert_eq!((hp.count, hp.sum, hp.max), (3, Some(7.5), Some(4.0)));
        assert_eq!(hp.min, Some(f64::NEG_INFINITY));
        assert_eq!(hp.bucket_counts, vec![1, 2, 0]);
        assert_eq!(hp.explicit_bounds, vec![1.0, f64::INFINITY]);
        let Some(metric::Data::ExponentialHistogram(e)) = &metrics[3].data else {
            panic!("exponential histogram")
        };
        let ep = &e.data_points[0];
        assert_eq!(
            (ep.count, ep.scale, ep.zero_count, ep.zero_threshold),
            (4, -2, 1, 0.5)
        );
        assert_eq!(ep.positive.as_ref().unwrap().offset, -1);
        assert_eq!(ep.positive.as_ref().unwrap().bucket_counts, vec![1, 2]);
        let Some(metric::Data::Summary(sm)) = &metrics[4].data else {
            panic!("summary")
        };
        let sp = &sm.data_points[0];
        assert_eq!((sp.count, sp.sum), (2, 3.5));
        assert!(sp.quantile_values[0].value.is_nan());
        assert_eq!(sp.quantile_values[1].quantile, 1.0);
    }

    #[test]
    fn errors_name_the_path_and_the_value() {
        let body = json!({"resourceSpans": [{"scopeSpans": [{"spans": [
            {"traceId": "00"}, {"traceId": "zz"}
        ]}]}]});
        let err = traces_from_value(&body).unwrap_err();
        assert_eq!(err.path, "resourceSpans[0].scopeSpans[0].spans[1].traceId");
        assert!(err.message.contains("\"zz\""), "{err}");

        let err = traces_from_value(&json!({"resourceSpans": {}})).unwrap_err();
        assert_eq!(err.path, "resourceSpans");

        let err = traces_from_value(&json!([1])).unwrap_err();
        assert_eq!(err.path, "$");

        let body = json!({"resourceLogs": [{"scopeLogs": [{"logRecords": [
            {"severityNumber": "SEVERITY_NUMBER_LOUD"}]}]}]});
        let err = logs_from_value(&body).unwrap_err();
        assert_eq!(
            err.path,
            "resourceLogs[0].scopeLogs[0].logRecords[0].severityNumber"
        );
        assert!(err.message.contains("SEVERITY_NUMBER_LOUD"), "{err}");

        let body = json!({"resourceMetrics": [{"scopeMetrics": [{"metrics": [
            {"sum": {"dataPoints": [{"asInt": "12.5"}]}}]}]}]});
        let err = metrics_from_value(&body).unwrap_err();
        assert_eq!(
            err.path,
            "resourceMetrics[0].scopeMetrics[0].metrics[0].sum.dataPoints[0].asInt"
        );

        let err = traces_from_value(&json!({"resourceSpans": [{"scopeSpans": [{"spans": [
            {"droppedAttributesCount": -1}]}]}]}))
        .unwrap_err();
        assert!(err.message.contains("out of range"), "{err}");

        assert!(matches!(
            decode_traces(b"{not json"),
            Err(BodyError::Syntax(_))
        ));
    }

    #[test]
    fn agrees_with_the_with_serde_serializer() {
        // Whatever opentelemetry-proto's serializer writes, this decoder reads back equal.
        use opentelemetry_proto::tonic::common::v1::AnyValue;
        let kv = |k: &str, v: any_value::Value| KeyValue {
            key: k.into(),
            value: Some(AnyValue { value: Some(v) }),
            key_strindex: 0,
        };
        let req = ExportTraceServiceRequest {
            resource_spans: vec![ResourceSpans {
                resource: Some(Resource {
                    attributes: vec![kv(
                        "service.name",
                        any_value::Value::StringValue("svc".into()),
                    )],
                    dropped_attributes_count: 1,
                    entity_refs: vec![],
                }),
                scope_spans: vec![ScopeSpans {
                    scope: Some(InstrumentationScope {
                        name: "lib".into(),
                        version: "1.2.3".into(),
                        attributes: vec![kv("scope.k", any_value::Value::BoolValue(true))],
                        dropped_attributes_count: 0,
                    }),
                    spans: vec![Span {
                        trace_id: (1u8..=16).collect(),
                        span_id: (1u8..=8).collect(),
                        trace_state: "a=b".into(),
                        parent_span_id: (9u8..=16).collect(),
                        flags: 0x301,
                        name: "op".into(),
                        kind: span::SpanKind::Producer as i32,
                        start_time_unix_nano: u64::MAX - 1,
                        end_time_unix_nano: u64::MAX,
                        attributes: vec![
                            kv("i", any_value::Value::IntValue(i64::MIN)),
                            kv("d", any_value::Value::DoubleValue(-0.25)),
                            kv("bytes", any_value::Value::BytesValue(vec![0, 255, 7])),
                            kv(
                                "arr",
                                any_value::Value::ArrayValue(ArrayValue {
                                    values: vec![AnyValue {
                                        value: Some(any_value::Value::StringValue("x".into())),
                                    }],
                                }),
                            ),
                        ],
                        dropped_attributes_count: 2,
                        events: vec![span::Event {
                            time_unix_nano: 5,
                            name: "ev".into(),
                            attributes: vec![],
                            dropped_attributes_count: 0,
                        }],
                        dropped_events_count: 3,
                        links: vec![span::Link {
                            trace_id: vec![0xab; 16],
                            span_id: vec![0xcd; 8],
                            trace_state: String::new(),
                            attributes: vec![kv("l", any_value::Value::StringValue("y".into()))],
                            dropped_attributes_count: 0,
                            flags: 1,
                        }],
                        dropped_links_count: 4,
                        status: Some(Status {
                            message: "bad".into(),
                            code: status::StatusCode::Error as i32,
                        }),
                    }],
                    schema_url: "https://opentelemetry.io/schemas/1.30.0".into(),
                }],
                schema_url: "https://example.invalid/schema".into(),
            }],
        };
        let text = serde_json::to_vec(&req).unwrap();
        assert_eq!(decode_traces(&text).unwrap(), req);
    }

    #[test]
    fn responses_follow_otlp_json() {
        assert_eq!(encode_response(Signal::Traces, None), b"{}");
        let body: Value =
            serde_json::from_slice(&encode_response(Signal::Logs, Some((3, "bad records"))))
                .unwrap();
        assert_eq!(
            body,
            json!({"partialSuccess": {"rejectedLogRecords": "3", "errorMessage": "bad records"}})
        );
        let body: Value = serde_json::from_slice(&encode_status(14, "down")).unwrap();
        assert_eq!(body, json!({"code": 14, "message": "down", "details": []}));
    }

    #[test]
    fn snake_case_matching() {
        assert!(is_snake_of("start_time_unix_nano", "startTimeUnixNano"));
        assert!(!is_snake_of("start_time_unix_nan", "startTimeUnixNano"));
        assert!(!is_snake_of("starttimeunixnano", "startTimeUnixNano"));
        assert!(is_snake_of("name", "name"));
    }
}
