//! Client side: the caller's context goes out with the request, and, for
//! reqwest and tonic, each call gets a client span.
//!
//! - `reqwest` feature: [`RequestBuilderExt`] (async) and
//!   [`BlockingRequestBuilderExt`] (`reqwest::blocking`): `send_traced()`
//!   sends a request in a client span with the HTTP semantic conventions'
//!   attributes and records `http.client.request.duration`;
//!   `with_current_context()` only injects the W3C headers.
//! - `tonic` feature: [`GrpcClientLayer`], a tower layer making a client
//!   span per call with the `rpc.*` attributes and injecting its context;
//!   [`ContextInterceptor`] and [`inject_metadata`] only inject.

#[cfg(feature = "tonic")]
pub use self::tonic_ext::{
    ContextInterceptor, MetadataExtractor, extract_metadata, extract_metadata_with_context,
    inject_metadata,
};
#[cfg(feature = "tonic")]
pub use crate::grpc::{CLIENT_RPC_TARGET, GrpcBody, GrpcClient, GrpcClientLayer, GrpcFuture};
#[cfg(feature = "reqwest")]
pub use crate::reqwest_client::{BlockingRequestBuilderExt, CLIENT_SPAN_TARGET, RequestBuilderExt};

#[cfg(feature = "tonic")]
mod tonic_ext {
    use opentelemetry::Context;
    use opentelemetry::propagation::{Extractor, TextMapPropagator as _};
    use tonic::metadata::{KeyRef, MetadataKey, MetadataMap, MetadataValue};

    use crate::propagation::{BAGGAGE, Outgoing, TRACEPARENT, TRACESTATE, W3cPropagator};

    /// What the extractor returns for a value that is not visible ASCII:
    /// invalid in every grammar, so the value is rejected.
    const UNREADABLE: &str = "\0";

    /// Writes the W3C headers of `cx` into gRPC metadata, with the same rules
    /// as [`inject`](crate::propagation::inject).
    pub fn inject_metadata(cx: &Context, metadata: &mut MetadataMap) {
        let fields = Outgoing::of(cx);
        if let Some(traceparent) = fields.traceparent {
            set(metadata, TRACEPARENT, traceparent);
            match fields.tracestate {
                Some(tracestate) => set(metadata, TRACESTATE, tracestate),
                None => {
                    metadata.remove(TRACESTATE);
                }
            }
        }
        if let Some(baggage) = fields.baggage {
            set(metadata, BAGGAGE, baggage);
        }
    }

    fn set(metadata: &mut MetadataMap, key: &'static str, value: String) {
        // Our own formatting produces visible ASCII only, so this never
        // fails; if it did, the entry would be left out, not sent broken.
        if let Ok(value) = MetadataValue::try_from(value) {
            // `key` is one of our lowercase ASCII constants, which
            // `from_static` accepts.
            metadata.insert(MetadataKey::from_static(key), value);
        }
    }

    /// The context gRPC metadata describes, on top of the current context.
    pub fn extract_metadata(metadata: &MetadataMap) -> Context {
        Context::map_current(|cx| extract_metadata_with_context(cx, metadata))
    }

    /// The context gRPC metadata describes, on top of `cx` (see
    /// [`extract_with_context`](crate::propagation::extract_with_context)).
    pub fn extract_metadata_with_context(cx: &Context, metadata: &MetadataMap) -> Context {
        W3cPropagator::new().extract_with_context(cx, &MetadataExtractor(metadata))
    }

    /// An [`Extractor`] over tonic metadata that returns every value of a
    /// repeated key.
    #[derive(Debug, Clone, Copy)]
    pub struct MetadataExtractor<'a>(pub &'a MetadataMap);

    impl Extractor for MetadataExtractor<'_> {
        fn get(&self, key: &str) -> Option<&str> {
            self.0
                .get(key)
                .map(|value| value.to_str().unwrap_or(UNREADABLE))
        }

        fn keys(&self) -> Vec<&str> {
            self.0
                .keys()
                .filter_map(|key| match key {
                    KeyRef::Ascii(key) => Some(key.as_str()),
                    KeyRef::Binary(_) => None,
                })
                .collect()
        }

        fn get_all(&self, key: &str) -> Option<Vec<&str>> {
            let values: Vec<&str> = self
                .0
                .get_all(key)
                .iter()
                .map(|value| value.to_str().unwrap_or(UNREADABLE))
                .collect();
            (!values.is_empty()).then_some(values)
        }
    }

    /// A tonic client interceptor that injects the current context into
    /// every request's metadata.
    ///
    /// ```no_run
    /// # fn example<Channel>(channel: Channel) {
    /// use otlpkit_tracing::client::ContextInterceptor;
    /// use tonic::service::interceptor::InterceptedService;
    ///
    /// // `channel`: a `tonic::transport::Channel`; then e.g.
    /// // `GreeterClient::new(service)` or `GreeterClient::with_interceptor(channel, ContextInterceptor)`.
    /// let service = InterceptedService::new(channel, ContextInterceptor);
    /// # drop(service);
    /// # }
    /// ```
    ///
    /// Interceptors run when the call starts, on the task making it, so the
    /// context is the caller's.
    #[derive(Debug, Clone, Copy, Default)]
    pub struct ContextInterceptor;

    impl tonic::service::Interceptor for ContextInterceptor {
        fn call(
            &mut self,
            mut request: tonic::Request<()>,
        ) -> Result<tonic::Request<()>, tonic::Status> {
            Context::map_current(|cx| inject_metadata(cx, request.metadata_mut()));
            Ok(request)
        }
    }

    #[cfg(test)]
    mod tests {
        use super::*;
        use opentelemetry::baggage::BaggageExt as _;
        use opentelemetry::trace::{
            SpanContext, SpanId, TraceContextExt as _, TraceFlags, TraceId, TraceState,
        };
        use tonic::service::Interceptor as _;

        fn remote() -> Context {
            Context::new()
                .with_remote_span_context(SpanContext::new(
                    TraceId::from(0xabc_u128),
                    SpanId::from(0xdef_u64),
                    TraceFlags::SAMPLED,
                    true,
                    TraceState::from_key_value([("vendor", "x")]).unwrap(),
                ))
                .with_baggage([opentelemetry::baggage::KeyValueMetadata::new(
                    "tenant", "a b", "",
                )])
        }

        #[test]
        fn the_interceptor_injects_the_current_context_and_extract_reads_it_back() {
            let _current = remote().attach();
            let request = ContextInterceptor.call(tonic::Request::new(())).unwrap();
            let metadata = request.metadata();
            assert_eq!(
                metadata.get(TRACEPARENT).unwrap(),
                "00-00000000000000000000000000000abc-0000000000000def-01"
            );
            assert_eq!(metadata.get(TRACESTATE).unwrap(), "vendor=x");
            assert_eq!(metadata.get(BAGGAGE).unwrap(), "tenant=a%20b");

            let back = extract_metadata_with_context(&Context::new(), metadata);
            let span = back.span();
            assert_eq!(span.span_context().span_id(), SpanId::from(0xdef_u64));
            assert!(span.span_context().is_remote());
            assert_eq!(
                back.baggage().get("tenant").map(|v| v.as_str()),
                Some("a b")
            );
        }

        #[test]
        fn two_traceparent_entries_in_metadata_are_invalid() {
            let mut metadata = MetadataMap::new();
            inject_metadata(&remote(), &mut metadata);
            let value = metadata.get(TRACEPARENT).unwrap().clone();
            metadata.append(TRACEPARENT, value);
            let back = extract_metadata_with_context(&Context::new(), &metadata);
            assert!(!back.span().span_context().is_valid());
        }
    }
}
