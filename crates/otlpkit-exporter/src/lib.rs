//! The OTLP exporter core that otlpkit's transports share: one lifecycle,
//! one builder, one error vocabulary, one place that counts, for spans, log
//! records and metrics over any transport.
//!
//! A transport ([`Transport`]: `otlpkit-grpc`, `otlpkit-http`) only sends
//! encoded bytes once and classifies the outcome. Everything else is here:
//!
//! - the exporters, [`SpanExporter`], [`LogExporter`] and
//!   [`MetricExporter`], implementing the `opentelemetry_sdk` exporter traits
//!   over a transport `T`, and their [`ExporterBuilder`] (configuration from
//!   code, then the `OTEL_EXPORTER_OTLP_*` environment, then the defaults);
//! - encoding: protobuf straight from `SpanData`, log records and the
//!   SDK's collected metrics (`otlpkit-wire`), each batch
//!   encoded and compressed once for every attempt, never sent empty
//!   (checklist 2.12) or over the request size limit (1.14);
//! - the lifecycle: sends run on a [`WorkerRuntime`] (the exporter's own, or
//!   one shared with a batch processor), so `export` works from any thread
//!   with or without a runtime; shutdown is bounded and idempotent (3.8);
//! - the retry loop: the specification's retryable outcomes (2.2, 2.6,
//!   2.8), exponential backoff with jitter, server throttling hints as a
//!   floor (2.3, 2.7), all inside the export timeout;
//! - accounting: every item is counted exactly once in
//!   [`ExportStats`](otlpkit_core::stats::ExportStats), as exported or
//!   dropped under a [`DropReason`](otlpkit_core::stats::DropReason) —
//!   partial success (2.11), retries exhausted, the shutdown deadline, a
//!   panic inside a library — and each signal keeps its last failure,
//!   redacted;
//! - diagnostics: a retried attempt (at most once a minute), the first
//!   failed export, a reminder while failures go on and the first success
//!   after them go to otlpkit's diagnostic output
//!   ([`otlpkit_core::diag`], standard error by default), with every
//!   configured credential scrubbed from what a server sends back.
//!
//! Applications use the transports' names (`otlpkit_grpc::SpanExporter`,
//! `otlpkit_http::HttpSpanExporter`) or the `otlpkit` facade; this crate is
//! for those, and for new transports.
//!
//! # Counting with a batch processor
//!
//! When a batch processor puts a
//! [`BatchAccounting`](otlpkit_core::stats::BatchAccounting) into the
//! OpenTelemetry context it calls `export` in (otlpkit-batch does), the
//! exporter claims it and counts that batch in the processor's statistics;
//! otherwise it counts in its own. Either way each item is counted once.
//!
//! # Feature flags
//!
//! - `spool` (off by default; the transports and the `otlpkit` facade turn
//!   it on with their own `spool` feature): the disk spool
//!   (`otlpkit-spool`): [`ExporterBuilder::with_spool`], [`Spool`],
//!   [`BuildError::Spool`]. Without it, a spool asked for
//!   (`OTLPKIT_SPOOL_DIR`, `with_spool_dir`) is a
//!   [`BuildError::NotCompiled`], never ignored.
//!
//! The transports carry the other features (TLS, JSON, compression).
//!
//! # Supported Rust versions
//!
//! The minimum supported Rust version is 1.95, the workspace's
//! `rust-version`; raising it is not a breaking change.
//!
//! [`WorkerRuntime`]: otlpkit_bridge::WorkerRuntime

#![cfg_attr(docsrs, feature(doc_cfg))]
// The crate docs are written for all features, as docs.rs builds them; in a
// build without `spool`, their links to its items point at nothing.
#![cfg_attr(not(feature = "spool"), allow(rustdoc::broken_intra_doc_links))]

mod accounting;
mod build_error;
mod builder;
mod core;
mod error;
mod exporters;
mod health;
mod redact;
mod retry;
#[cfg(feature = "spool")]
mod spooling;
mod throttle;
mod transport;

pub use accounting::Accepted;
pub use build_error::BuildError;
pub use builder::{ExporterBuilder, ExporterKind};
pub use error::{ExportError, ExportErrorKind, GrpcCode};
pub use exporters::{LogExporter, MetricExporter, SpanExporter};
pub use redact::display_endpoint;
pub use retry::Attempt;
pub use throttle::parse_retry_after;
pub use transport::{BoxFuture, Connect, Payload, Sent, Transport};

#[doc(no_inline)]
pub use otlpkit_core::{BodyFormat, Encoding};
#[cfg(feature = "spool")]
#[cfg_attr(docsrs, doc(cfg(feature = "spool")))]
#[doc(no_inline)]
pub use otlpkit_spool::{Spool, SpoolError};

/// One signal's lane of a disk spool; without the `spool` feature none can
/// exist.
#[cfg(feature = "spool")]
pub(crate) type SpoolLane = otlpkit_spool::Lane;
#[cfg(not(feature = "spool"))]
pub(crate) type SpoolLane = std::convert::Infallible;
