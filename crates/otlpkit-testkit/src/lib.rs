//! An in-process OTLP receiver for tests: a real gRPC and HTTP server on loopback ports that
//! decodes what exporters send, records every request, answers with scripted faults, and
//! offers assertions on the received spans, metrics and logs.
//!
//! This crate provides:
//!
//! - [`Receiver`]: OTLP/gRPC (the `Export` services of `opentelemetry-proto`, gzip and zstd
//!   accepted) and OTLP/HTTP (`POST /v1/traces|metrics|logs`, protobuf or JSON, gzip or zstd
//!   bodies, HTTP/1.1 and h2c) on its own thread with its own tokio runtime, so it behaves
//!   the same in sync tests and in async tests on any runtime flavour;
//! - queries and waits: [`Receiver::wait_for_spans`] (and `_async`), spans by name,
//!   [`SpanTree`], resource and scope of every item ([`ReceivedSpan`], [`ReceivedMetric`],
//!   [`ReceivedLog`]), every [`RecordedRequest`] with headers, encoding, sizes and answer;
//! - fault injection, request by request ([`Fault`]): gRPC statuses with `RetryInfo`, HTTP
//!   statuses with `Retry-After`, partial success, delays, dropped connections, and
//!   [`Receiver::stop`] / [`Receiver::restart`];
//! - [`json`]: a tolerant OTLP/JSON decoder;
//! - bounds for long-running use ([`ReceiverBuilder::keep_requests`],
//!   [`ReceiverBuilder::in_flight_budget`], timeouts and a connection cap), with the status
//!   OTLP asks for on every refusal (`413`/`RESOURCE_EXHAUSTED` for too large,
//!   `400`/`INVALID_ARGUMENT` for undecodable, ...);
//! - [`Receiver::serve_ui`]: a live web page of the recent traces (waterfalls), log records
//!   and metrics, kept within [`RetentionLimits`];
//! - [`Summary`]: the one-request report printed by the `otlpkit-receiver` binary;
//! - [`RefusingPort`]: a dead collector's endpoint, a loopback port that refuses every
//!   connection and that no other socket can take while the test holds it.
//!
//! The decoded `opentelemetry_proto` types stay accessible everywhere; [`proto`] re-exports
//! them.
//!
//! # Usage
//!
//! Tests (and the project's benchmarks) depend on this crate as a dev-dependency; it is not
//! meant for production code. All tests in the project bind to `127.0.0.1` only.
//!
//! ```
//! use std::time::Duration;
//! use otlpkit_testkit::{Receiver, WaitError};
//!
//! let receiver = Receiver::start()?;
//! println!("gRPC endpoint: {}", receiver.grpc_endpoint());
//! println!("HTTP endpoint: {}", receiver.http_endpoint());
//!
//! // Point an exporter at it, then:
//! let err = receiver.wait_for_spans(1, Duration::from_millis(10)).unwrap_err();
//! assert!(matches!(err, WaitError::Timeout { expected: 1, arrived: 0, .. }));
//! # Ok::<(), otlpkit_testkit::StartError>(())
//! ```
//!
//! Scripted faults, applied to requests in arrival order:
//!
//! ```
//! use std::time::Duration;
//! use otlpkit_testkit::{Code, Fault, Receiver, Signal, StatusCode};
//!
//! let receiver = Receiver::start()?;
//! receiver.push_fault(Signal::Traces, Fault::grpc_status(Code::Unavailable, "restarting")
//!     .with_retry_info(Duration::from_millis(100)));
//! receiver.push_fault(Signal::Logs, Fault::http_status(StatusCode::TOO_MANY_REQUESTS)
//!     .with_retry_after_secs(1));
//! receiver.push_fault_any(Fault::drop_connection());
//! assert_eq!(receiver.pending_faults(), 3);
//! # Ok::<(), otlpkit_testkit::StartError>(())
//! ```
//!
//! # Feature flags
//!
//! None: the crate always serves both protocols and all three signals.
//!
//! # Supported Rust versions
//!
//! The workspace's `rust-version` (1.95): the newest stable and the three minors before it;
//! raising it is not a breaking change.

#![cfg_attr(docsrs, feature(doc_cfg))]

mod budget;
mod cost;
mod count;
mod decode;
mod error;
mod fault;
mod grpc_server;
mod http_server;
mod items;
pub mod json;
mod port;
mod receiver;
mod request;
mod retention;
mod server;
mod shared;
mod store;
mod summary;
mod tree;
mod ui;

pub use error::{BodyError, ItemKind, JsonError, Listener, ReserveError, StartError, WaitError};
pub use fault::{Fault, FaultKind, RetryAfter};
pub use items::{
    DataPoints, DisplayValue, Origin, ReceivedLog, ReceivedMetric, ReceivedSpan, attribute,
    attribute_str, hex,
};
pub use port::RefusingPort;
pub use receiver::{DEFAULT_MAX_BODY_SIZE, Receiver, ReceiverBuilder};
pub use request::{Answer, Headers, Payload, Protocol, RecordedRequest, Signal};
pub use retention::RetentionLimits;
pub use summary::Summary;
pub use tree::{SpanNode, SpanTree};
pub use ui::Ui;

/// The generated OTLP types (`opentelemetry_proto::tonic`).
pub use opentelemetry_proto::tonic as proto;

/// gRPC status codes, for [`Fault::grpc_status`].
#[doc(no_inline)]
pub use tonic::Code;

/// HTTP status codes, for [`Fault::http_status`].
#[doc(no_inline)]
pub use http::StatusCode;
