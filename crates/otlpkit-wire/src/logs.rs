//! `opentelemetry.proto.logs.v1.LogRecord` from `SdkLogRecord`, field for
//! field as `From<&SdkLogRecord> for LogRecord` in `opentelemetry-proto`
//! 0.33.1, except for an invalid trace context: an all-zero trace id or
//! span id is omitted (checklist 2.17), where the reference writes zeros.

use opentelemetry::InstrumentationScope;
use opentelemetry::trace::{SpanId, TraceId};
use opentelemetry_sdk::logs::SdkLogRecord;

use crate::common::{
    AnyValueSource, key_value_len, put_key_value, same_str, scope_attributes_equal,
};
use crate::enc::{
    delimited_len, fixed32_len, fixed64_len, int32_len, opt_bytes_len, put_delimited,
    put_delimited_header, put_fixed32, put_fixed64, put_int32, put_opt_bytes, to_nanos,
};
use crate::envelope::{Item, ScopeRef};

// LogRecord.
const LOG_TIME: u32 = 1;
const LOG_SEVERITY_NUMBER: u32 = 2;
const LOG_SEVERITY_TEXT: u32 = 3;
const LOG_BODY: u32 = 5;
const LOG_ATTRIBUTES: u32 = 6;
// 7: dropped_attributes_count, always 0 in the reference.
const LOG_FLAGS: u32 = 8;
const LOG_TRACE_ID: u32 = 9;
const LOG_SPAN_ID: u32 = 10;
const LOG_OBSERVED_TIME: u32 = 11;
const LOG_EVENT_NAME: u32 = 12;

/// A log record with the scope of the logger that emitted it, as a
/// `LogBatch` yields them.
#[derive(Clone, Copy)]
pub(crate) struct LogItem<'a>(
    pub(crate) &'a SdkLogRecord,
    pub(crate) &'a InstrumentationScope,
);

/// The fields computed once per record and shared by both passes.
struct Fields<'a> {
    time: u64,
    observed: u64,
    severity: i32,
    severity_text: &'a str,
    event_name: &'a str,
    flags: u32,
    /// The trace id, when the record carries a valid one (checklist 2.17:
    /// a log record's ids are optional, and an all-zero id is invalid, so
    /// it is omitted, as is an all-zero span id).
    trace_id: Option<[u8; 16]>,
    span_id: Option<[u8; 8]>,
}

impl<'a> Fields<'a> {
    fn of(record: &'a SdkLogRecord) -> Fields<'a> {
        // A context without a valid trace id (a record emitted inside a
        // no-op or otherwise invalid span) is no trace context: neither its
        // ids nor its flags are written, where the reference writes zeros.
        let context = record
            .trace_context()
            .filter(|context| context.trace_id != TraceId::INVALID);
        Fields {
            time: record.timestamp().map(to_nanos).unwrap_or_default(),
            // The reference unwraps the observed timestamp (the SDK always
            // sets it); a record without one gets 0 here instead of a panic.
            observed: record
                .observed_timestamp()
                .map(to_nanos)
                .unwrap_or_default(),
            // `Severity` discriminants are the `SeverityNumber` values.
            severity: record
                .severity_number()
                .map_or(0, |severity| severity as i32),
            severity_text: record.severity_text().unwrap_or_default(),
            event_name: record.event_name().unwrap_or_default(),
            flags: context
                .and_then(|context| context.trace_flags)
                .map_or(0, |flags| u32::from(flags.to_u8())),
            trace_id: context.map(|context| context.trace_id.to_bytes()),
            span_id: context
                .map(|context| context.span_id)
                .filter(|span_id| *span_id != SpanId::INVALID)
                .map(SpanId::to_bytes),
        }
    }
}

impl<'a> Item<'a> for LogItem<'a> {
    /// The target, when set, replaces the scope name.
    fn scope(self) -> ScopeRef<'a> {
        let LogItem(record, scope) = self;
        ScopeRef {
            scope,
            name: record
                .target()
                .map_or(scope.name(), |target| target.as_ref()),
        }
    }

    /// The reference's key: the scope rebuilt with the effective name and
    /// `Some(version or "")`, `Some(schema_url or "")`, then compared with
    /// `InstrumentationScope`'s `PartialEq`.
    fn same_scope(a: ScopeRef<'a>, b: ScopeRef<'a>) -> bool {
        same_str(a.name, b.name)
            && same_str(
                a.scope.version().unwrap_or_default(),
                b.scope.version().unwrap_or_default(),
            )
            && same_str(
                a.scope.schema_url().unwrap_or_default(),
                b.scope.schema_url().unwrap_or_default(),
            )
            && scope_attributes_equal(a.scope, b.scope)
    }

    fn encoded_len(self) -> usize {
        let record = self.0;
        let fields = Fields::of(record);
        fixed64_len(LOG_TIME, fields.time)
            + int32_len(LOG_SEVERITY_NUMBER, fields.severity)
            + opt_bytes_len(LOG_SEVERITY_TEXT, fields.severity_text.as_bytes())
            + record
                .body()
                .map_or(0, |body| delimited_len(LOG_BODY, body.any_len()))
            + record
                .attributes_iter()
                .map(|(key, value)| {
                    delimited_len(LOG_ATTRIBUTES, key_value_len(key.as_str(), value))
                })
                .sum::<usize>()
            + fixed32_len(LOG_FLAGS, fields.flags)
            + fields
                .trace_id
                .map_or(0, |_| delimited_len(LOG_TRACE_ID, 16))
            + fields.span_id.map_or(0, |_| delimited_len(LOG_SPAN_ID, 8))
            + fixed64_len(LOG_OBSERVED_TIME, fields.observed)
            + opt_bytes_len(LOG_EVENT_NAME, fields.event_name.as_bytes())
    }

    fn encode(self, out: &mut Vec<u8>) {
        let record = self.0;
        let fields = Fields::of(record);
        put_fixed64(LOG_TIME, fields.time, out);
        put_int32(LOG_SEVERITY_NUMBER, fields.severity, out);
        put_opt_bytes(LOG_SEVERITY_TEXT, fields.severity_text.as_bytes(), out);
        if let Some(body) = record.body() {
            put_delimited_header(LOG_BODY, body.any_len(), out);
            body.put_any(out);
        }
        for (key, value) in record.attributes_iter() {
            put_key_value(LOG_ATTRIBUTES, key.as_str(), value, out);
        }
        put_fixed32(LOG_FLAGS, fields.flags, out);
        if let Some(trace_id) = &fields.trace_id {
            put_delimited(LOG_TRACE_ID, trace_id, out);
        }
        if let Some(span_id) = &fields.span_id {
            put_delimited(LOG_SPAN_ID, span_id, out);
        }
        put_fixed64(LOG_OBSERVED_TIME, fields.observed, out);
        put_opt_bytes(LOG_EVENT_NAME, fields.event_name.as_bytes(), out);
    }
}
