//! The wire format: a request encoded once with prost and sent as-is on
//! every attempt, the response decoded into the one shape all three
//! `Export*ServiceResponse` messages share, and a counter of the bytes that
//! actually left (after compression).

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::{Context, Poll};

use bytes::{BufMut as _, Bytes};
use http_body_util::BodyExt as _;
use tonic::Status;
use tonic::body::Body;
use tonic::codec::{BufferSettings, Codec, DecodeBuf, Decoder, EncodeBuf, Encoder};
use tonic::codegen::Service;
use tonic::codegen::http;
use tonic::transport::Channel;
use tonic::transport::channel::ResponseFuture;

/// The 5-byte gRPC message prefix (compressed flag + length).
const FRAME_HEADER: usize = 5;
/// tonic's default: the encoder hands a chunk to the transport every 32 KiB.
const YIELD_THRESHOLD: usize = 32 * 1024;

/// `Export{Trace,Metrics,Logs}ServiceResponse`: the three messages have the
/// same wire layout, `partial_success = 1` holding `rejected_* = 1` (int64)
/// and `error_message = 2`, so one type decodes all of them (checklist §6).
#[derive(Clone, PartialEq, prost::Message)]
pub(crate) struct ExportResponse {
    /// `partial_success`, unset on full success (checklist 2.1).
    #[prost(message, optional, tag = "1")]
    pub(crate) partial_success: Option<PartialSuccess>,
}

/// `Export*PartialSuccess`.
#[derive(Clone, PartialEq, prost::Message)]
pub(crate) struct PartialSuccess {
    /// `rejected_spans` / `rejected_data_points` / `rejected_log_records`.
    #[prost(int64, tag = "1")]
    pub(crate) rejected: i64,
    /// `error_message`.
    #[prost(string, tag = "2")]
    pub(crate) error_message: String,
}

/// A response message as the decoder read it. An undecodable one is no
/// failure of the call: the final `grpc-status` decides that, and tonic
/// reads it only when the decoder does not fail.
#[derive(Debug)]
pub(crate) enum Decoded {
    Response(ExportResponse),
    /// The message is not an `Export*ServiceResponse`.
    Undecodable(prost::DecodeError),
}

/// Sends a request that is already protobuf-encoded.
#[derive(Debug, Clone, Copy)]
pub(crate) struct PreEncodedCodec {
    /// Encoded length, to size tonic's buffer once.
    len: usize,
}

impl PreEncodedCodec {
    pub(crate) fn new(len: usize) -> Self {
        Self { len }
    }
}

impl Codec for PreEncodedCodec {
    type Encode = Bytes;
    type Decode = Decoded;
    type Encoder = PreEncodedEncoder;
    type Decoder = ResponseDecoder;

    fn encoder(&mut self) -> Self::Encoder {
        PreEncodedEncoder { len: self.len }
    }

    fn decoder(&mut self) -> Self::Decoder {
        ResponseDecoder
    }
}

/// Copies the encoded request into tonic's frame buffer.
#[derive(Debug)]
pub(crate) struct PreEncodedEncoder {
    len: usize,
}

impl Encoder for PreEncodedEncoder {
    type Item = Bytes;
    type Error = Status;

    fn encode(&mut self, item: Bytes, dst: &mut EncodeBuf<'_>) -> Result<(), Status> {
        dst.reserve(item.len());
        dst.put_slice(&item);
        Ok(())
    }

    fn buffer_settings(&self) -> BufferSettings {
        BufferSettings::new(self.len.saturating_add(FRAME_HEADER), YIELD_THRESHOLD)
    }
}

/// Decodes the response; a message that does not decode is passed on as
/// [`Decoded::Undecodable`], not as an error.
#[derive(Debug)]
pub(crate) struct ResponseDecoder;

impl Decoder for ResponseDecoder {
    type Item = Decoded;
    type Error = Status;

    fn decode(&mut self, src: &mut DecodeBuf<'_>) -> Result<Option<Decoded>, Status> {
        use bytes::Buf as _;
        match <ExportResponse as prost::Message>::decode(&mut *src) {
            Ok(response) => Ok(Some(Decoded::Response(response))),
            Err(error) => {
                // Skip what is left of the message: tonic reads the next
                // frame (the trailers) after it.
                let rest = src.remaining();
                src.advance(rest);
                Ok(Some(Decoded::Undecodable(error)))
            }
        }
    }
}

/// Bytes of one request's body as they went out (after compression). Put it
/// in the request's extensions; [`CountingChannel`] adds to it.
#[derive(Debug, Clone, Default)]
pub(crate) struct WireBytes(Arc<AtomicU64>);

impl WireBytes {
    pub(crate) fn get(&self) -> u64 {
        self.0.load(Ordering::Relaxed)
    }
}

/// A [`Channel`] that counts the request body bytes of requests carrying
/// [`WireBytes`] in their extensions.
#[derive(Debug, Clone)]
pub(crate) struct CountingChannel {
    inner: Channel,
}

impl CountingChannel {
    pub(crate) fn new(inner: Channel) -> Self {
        Self { inner }
    }
}

impl Service<http::Request<Body>> for CountingChannel {
    type Response = http::Response<Body>;
    type Error = tonic::transport::Error;
    type Future = ResponseFuture;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: http::Request<Body>) -> Self::Future {
        let request = match request.extensions().get::<WireBytes>().cloned() {
            Some(WireBytes(counter)) => request.map(|body| {
                Body::new(body.map_frame(move |frame| {
                    if let Some(data) = frame.data_ref() {
                        counter.fetch_add(data.len() as u64, Ordering::Relaxed);
                    }
                    frame
                }))
            }),
            None => request,
        };
        self.inner.call(request)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use opentelemetry_proto::tonic::collector::logs::v1::{
        ExportLogsPartialSuccess, ExportLogsServiceResponse,
    };
    use opentelemetry_proto::tonic::collector::metrics::v1::{
        ExportMetricsPartialSuccess, ExportMetricsServiceResponse,
    };
    use opentelemetry_proto::tonic::collector::trace::v1::{
        ExportTracePartialSuccess, ExportTraceServiceResponse,
    };
    use prost::Message as _;

    fn decode(bytes: Vec<u8>) -> ExportResponse {
        ExportResponse::decode(bytes.as_slice()).unwrap()
    }

    // checklist 2.1, 2.11, §6: one shape decodes every signal's response.
    #[test]
    fn every_signal_response_decodes_into_the_shared_shape() {
        let traces = ExportTraceServiceResponse {
            partial_success: Some(ExportTracePartialSuccess {
                rejected_spans: 3,
                error_message: "bad spans".into(),
            }),
        };
        let metrics = ExportMetricsServiceResponse {
            partial_success: Some(ExportMetricsPartialSuccess {
                rejected_data_points: 4,
                error_message: "bad points".into(),
            }),
        };
        let logs = ExportLogsServiceResponse {
            partial_success: Some(ExportLogsPartialSuccess {
                rejected_log_records: i64::MAX,
                error_message: String::new(),
            }),
        };
        let expect = |rejected, message: &str| ExportResponse {
            partial_success: Some(PartialSuccess {
                rejected,
                error_message: message.into(),
            }),
        };
        assert_eq!(decode(traces.encode_to_vec()), expect(3, "bad spans"));
        assert_eq!(decode(metrics.encode_to_vec()), expect(4, "bad points"));
        assert_eq!(decode(logs.encode_to_vec()), expect(i64::MAX, ""));
        let full = ExportTraceServiceResponse::default().encode_to_vec();
        assert_eq!(decode(full).partial_success, None);
    }
}
