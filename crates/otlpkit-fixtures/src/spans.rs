//! Spans as the SDK hands them to an exporter, and the benches' resource.

use std::sync::{Arc, Mutex, PoisonError};

use opentelemetry::trace::{
    SpanContext, SpanId, TraceContextExt as _, TraceFlags, TraceId, TraceState,
};
use opentelemetry::{Context, KeyValue};
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::error::OTelSdkResult;
use opentelemetry_sdk::trace::{SpanData, SpanExporter};

/// An exporter that keeps every span it is handed: put it behind the SDK's
/// simple processor to get finished spans exactly as the SDK builds them.
#[derive(Debug, Clone, Default)]
pub struct CollectSpans(Arc<Mutex<Vec<SpanData>>>);

impl CollectSpans {
    /// The spans collected so far, in the order they were exported.
    pub fn spans(&self) -> Vec<SpanData> {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }
}

impl SpanExporter for CollectSpans {
    async fn export(&self, batch: Vec<SpanData>) -> OTelSdkResult {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .extend(batch);
        Ok(())
    }
}

/// The resource the encoding and export benches describe their service
/// with: a service name and four attributes.
pub fn bench_resource() -> Resource {
    Resource::builder_empty()
        .with_service_name("bench-service")
        .with_attributes([
            KeyValue::new("service.version", "1.4.2"),
            KeyValue::new("deployment.environment.name", "bench"),
            KeyValue::new("host.name", "bench-host-01"),
            KeyValue::new("process.pid", 4242_i64),
        ])
        .build()
}

/// A context holding a remote span, as an incoming request's `traceparent`
/// gives one: trace `trace_id`, span id 7, sampled or not.
pub fn remote_parent(trace_id: u128, sampled: bool) -> Context {
    Context::new().with_remote_span_context(SpanContext::new(
        TraceId::from(trace_id),
        SpanId::from(7_u64),
        if sampled {
            TraceFlags::SAMPLED
        } else {
            TraceFlags::default()
        },
        true,
        TraceState::default(),
    ))
}
