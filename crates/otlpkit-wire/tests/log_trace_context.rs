//! A log record's trace context on the wire (checklist 2.17: a log
//! record's ids are optional, an all-zero id is invalid, omit it): a record
//! emitted inside an invalid span context (a no-op tracer's, as
//! `global::tracer(..)` gives while no tracer provider is installed)
//! carries no trace id, span id or flags, never zeros; a valid context is
//! written whole; an all-zero span id alone is left out.

use std::sync::{Arc, Mutex};

use opentelemetry::InstrumentationScope;
use opentelemetry::logs::{LogRecord as _, Logger as _, LoggerProvider as _};
use opentelemetry::trace::noop::NoopTracer;
use opentelemetry::trace::{SpanId, TraceFlags, TraceId, Tracer as _};
use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
use opentelemetry_proto::tonic::logs::v1::LogRecord;
use opentelemetry_sdk::error::OTelSdkResult;
use opentelemetry_sdk::logs::{LogBatch, LogProcessor, SdkLogRecord, SdkLoggerProvider};
use otlpkit_wire::{EncodedResource, encode_logs};
use prost::Message as _;

/// Encodes each record on its own as it is emitted.
#[derive(Debug, Default, Clone)]
struct Encode(Arc<Mutex<Vec<Vec<u8>>>>);

impl LogProcessor for Encode {
    fn emit(&self, record: &mut SdkLogRecord, scope: &InstrumentationScope) {
        let pairs = [(&*record, scope)];
        let mut out = Vec::new();
        encode_logs(
            &LogBatch::new(&pairs),
            &EncodedResource::default(),
            &mut out,
        );
        self.0.lock().unwrap().push(out);
    }
    fn force_flush(&self) -> OTelSdkResult {
        Ok(())
    }
    fn shutdown_with_timeout(&self, _: std::time::Duration) -> OTelSdkResult {
        Ok(())
    }
}

/// The one record of each encoded request, in order; each request decodes
/// (its lengths agree with its bytes) and re-encodes to the same bytes.
fn records(encode: &Encode) -> Vec<LogRecord> {
    encode
        .0
        .lock()
        .unwrap()
        .iter()
        .map(|bytes| {
            let request = ExportLogsServiceRequest::decode(&bytes[..]).unwrap();
            assert_eq!(&request.encode_to_vec(), bytes);
            request.resource_logs[0].scope_logs[0].log_records[0].clone()
        })
        .collect()
}

// checklist 2.17
#[test]
fn invalid_ids_of_a_log_record_are_omitted() {
    let encode = Encode::default();
    let provider = SdkLoggerProvider::builder()
        .with_log_processor(encode.clone())
        .build();
    let logger = provider.logger("app");
    let emit = |context: Option<(TraceId, SpanId, Option<TraceFlags>)>| {
        let mut record = logger.create_log_record();
        record.set_body("a record".into());
        if let Some((trace_id, span_id, flags)) = context {
            record.set_trace_context(trace_id, span_id, flags);
        }
        logger.emit(record);
    };
    // Inside a no-op tracer's span: the SDK hands on its invalid context.
    NoopTracer::new().in_span("work", |_| emit(None));
    emit(Some((
        TraceId::INVALID,
        SpanId::INVALID,
        Some(TraceFlags::SAMPLED),
    )));
    emit(Some((
        TraceId::INVALID,
        SpanId::from(7),
        Some(TraceFlags::SAMPLED),
    )));
    emit(Some((
        TraceId::from(5),
        SpanId::INVALID,
        Some(TraceFlags::SAMPLED),
    )));
    emit(Some((
        TraceId::from(5),
        SpanId::from(7),
        Some(TraceFlags::SAMPLED),
    )));
    emit(None);
    let ids: Vec<(Vec<u8>, Vec<u8>, u32)> = records(&encode)
        .into_iter()
        .map(|record| (record.trace_id, record.span_id, record.flags))
        .collect();
    let trace = TraceId::from(5).to_bytes().to_vec();
    let span = SpanId::from(7).to_bytes().to_vec();
    assert_eq!(
        ids,
        [
            (vec![], vec![], 0),
            (vec![], vec![], 0),
            (vec![], vec![], 0),
            (trace.clone(), vec![], 1),
            (trace, span, 1),
            (vec![], vec![], 0),
        ]
    );
}
