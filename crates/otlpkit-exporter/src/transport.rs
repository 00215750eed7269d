//! What a transport implements: send encoded bytes once, and say what came
//! of it. Everything else — the lifecycle, encoding to protobuf, the retry
//! loop, the accounting, the diagnostics — is the exporter core's.

use std::fmt;
use std::future::Future;
use std::pin::Pin;

use bytes::Bytes;
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::logs::LogBatch;
use opentelemetry_sdk::metrics::data::ResourceMetrics;
use opentelemetry_sdk::trace::SpanData;
use otlpkit_core::BodyFormat;
use otlpkit_core::{ExporterConfig, Protocol, Signal};
use otlpkit_wire::SpanRecord;

use crate::BuildError;
use crate::accounting::Accepted;
use crate::error::ExportError;
use crate::retry::Attempt;

/// A boxed, sendable future.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// A batch to encode, for a transport that has an encoding of its own
/// ([`Transport::encode`]).
#[derive(Debug, Clone, Copy)]
#[non_exhaustive]
pub enum Payload<'a> {
    /// Spans, with the provider's resource.
    Spans {
        /// The spans.
        spans: &'a [SpanData],
        /// The resource of the provider they came from.
        resource: &'a Resource,
    },
    /// Log records, with the provider's resource.
    Logs {
        /// The records and their scopes.
        logs: &'a LogBatch<'a>,
        /// The resource of the provider they came from.
        resource: &'a Resource,
    },
    /// Metrics as the SDK collected them, resource included. They hold at
    /// least one data point; the transport leaves out the metrics without
    /// any and the scope and resource envelopes left empty (checklist
    /// 2.12), as the protobuf encoding (`otlpkit_wire::encode_metrics`)
    /// does.
    Metrics(&'a ResourceMetrics),
    /// Spans recorded by otlpkit's native `tracing` layer, with the
    /// resource they are exported under.
    SpanRecords {
        /// The records.
        records: &'a [Box<SpanRecord>],
        /// The resource.
        resource: &'a Resource,
    },
}

/// The outcome of one attempt.
#[derive(Debug)]
#[non_exhaustive]
pub struct Sent {
    /// What the server said, or why there was no answer.
    pub result: Result<Accepted, ExportError>,
    /// Bytes that went out on the wire for this attempt (after any
    /// compression the transport applied); 0 when nothing was sent.
    pub wire_bytes: u64,
}

impl Sent {
    /// An attempt that sent `wire_bytes` bytes and ended with `result`.
    pub fn new(result: Result<Accepted, ExportError>, wire_bytes: u64) -> Self {
        Self { result, wire_bytes }
    }
}

/// One way of sending OTLP requests: gRPC (otlpkit-grpc), HTTP (otlpkit-http).
///
/// A transport is built once per exporter ([`Connect`]) and then shared by
/// every export of it, from the exporter's worker runtime; calls may run
/// concurrently. It never counts items, retries or logs failures: it sends
/// one attempt and classifies the outcome as an [`ExportError`] whose
/// retry classification follows the specification.
pub trait Transport: fmt::Debug + Send + Sync + 'static {
    /// Where requests go, for messages: `scheme://host:port/path`, without
    /// credentials or query.
    fn endpoint(&self) -> &str;

    /// The request body for `payload` when the transport encodes it itself
    /// (OTLP/JSON); `None` (the default) for protobuf, which the core
    /// encodes.
    fn encode(&self, payload: Payload<'_>) -> Option<Result<Vec<u8>, ExportError>> {
        let _ = payload;
        None
    }

    /// Readies an encoded body for sending, once per batch: every attempt
    /// sends the result. OTLP/HTTP compresses here; the default sends the
    /// body as is.
    fn prepare(&self, body: Vec<u8>) -> Result<Bytes, ExportError> {
        Ok(Bytes::from(body))
    }

    /// The format of the bodies [`prepare`](Self::prepare) gives: what a
    /// disk spool records with each body, so that only an exporter sending
    /// the same format replays it. The default, uncompressed protobuf, is
    /// right for a transport that neither encodes nor compresses in
    /// `prepare` (gRPC compresses each attempt itself).
    fn body_format(&self) -> BodyFormat {
        BodyFormat::PROTOBUF
    }

    /// Sends `body` once, within `attempt.timeout`, and classifies the
    /// outcome. Messages in the error are the server's or the client
    /// library's; the core redacts credentials from them.
    fn send(&self, body: Bytes, attempt: Attempt) -> BoxFuture<'_, Sent>;
}

/// How a transport is built from a resolved configuration.
pub trait Connect: Transport + Sized {
    /// The crate name, for messages (`otlpkit-grpc`).
    const NAME: &'static str;

    /// The protocol the transport always speaks, whatever the environment
    /// says (`grpc` for otlpkit-grpc); `None` when the configuration
    /// chooses (`http/protobuf` or `http/json`).
    const FIXED_PROTOCOL: Option<Protocol>;

    /// Checks that the transport can speak `protocol` in this build.
    ///
    /// # Errors
    ///
    /// [`BuildError::WrongProtocol`] for a protocol of another transport,
    /// [`BuildError::NotCompiled`] for one whose feature is off.
    fn check_protocol(signal: Signal, protocol: Protocol) -> Result<(), BuildError>;

    /// Builds the transport. It runs inside the exporter worker runtime's
    /// context, so clients that spawn background tasks (connection pools)
    /// spawn them there.
    ///
    /// # Errors
    ///
    /// Whatever makes the configuration unusable for this transport:
    /// headers it cannot send, TLS files, an `https` endpoint in a build
    /// without TLS.
    fn connect(config: &ExporterConfig) -> Result<Self, BuildError>;
}
