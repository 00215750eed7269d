//! OTLP/HTTP exporters for OpenTelemetry traces, metrics and logs —
//! protobuf and JSON over reqwest with rustls — that plug into the official
//! `opentelemetry_sdk` providers and work from any Rust program: a plain
//! `fn main()` without an async runtime, a `#[tokio::main]` server, a
//! `current_thread` runtime, or `spawn_blocking`.
//!
//! All network I/O runs on an export worker thread that owns a small tokio
//! runtime ([`otlpkit_bridge::WorkerRuntime`]); the SDK's `export` future only
//! waits for it. Encoding and compression happen once per export on the
//! calling thread, and every retry sends the same bytes.
//!
//! # This crate provides
//!
//! - [`HttpSpanExporter`], [`HttpLogExporter`] and [`HttpMetricExporter`],
//!   implementing the SDK's `SpanExporter`, `LogExporter` and
//!   `PushMetricExporter`;
//! - [`HttpExporterBuilder`], shared by the three: configuration from code and
//!   the `OTEL_EXPORTER_OTLP_*` environment (resolved by `otlpkit-core`), an
//!   optional shared [`WorkerRuntime`] and
//!   shared [`ExportStats`];
//! - [`BuildError`], naming the offending value (never a header value or key
//!   material);
//! - [`Http`], the transport itself: the exporters are `otlpkit-exporter`'s,
//!   which owns the lifecycle, the retry loop and the accounting.
//!
//! What the exporters do, per the OTLP specification (numbers from the
//! project's checklist):
//!
//! - `POST` to the resolved endpoint with `Content-Type:
//!   application/x-protobuf` or `application/json` (1.17), the `User-Agent`
//!   `otlpkit/<v> OTel-OTLP-Exporter-Rust/<v>` (1.15), configured headers,
//!   HTTP/1.1 with keep-alive and HTTP/2 when a TLS server offers it (1.16);
//! - gzip or zstd bodies with `Content-Encoding` (1.13); requests over the
//!   maximum size are not sent and are counted; responses over the maximum
//!   size fail without retry (1.14);
//! - retries with exponential backoff and jitter inside the export timeout
//!   for 429/502/503/504, dropped connections and timeouts, honouring
//!   `Retry-After` in both forms; every other status is dropped and counted,
//!   with the server's `google.rpc.Status` message reported (2.6–2.10);
//! - partial success decoded from protobuf or JSON, never retried, counted and
//!   logged at a limited rate (2.11);
//! - compact OTLP/JSON with hex ids, integer enums, lowerCamelCase keys,
//!   64-bit integers as strings and `"NaN"`/`"Infinity"` doubles (2.15);
//! - TLS with rustls and the ring provider: webpki roots, a custom CA file,
//!   client certificate and key (1.10); `https://` always means verified TLS.
//!
//! Every item is either exported or counted under a
//! [`DropReason`](otlpkit_core::stats::DropReason), readable with `stats()`.
//!
//! # In libraries and applications
//!
//! Libraries should not pick a transport: they use the `opentelemetry` API
//! only. Applications build an exporter here (or through the `otlpkit`
//! facade) and hand it to an SDK provider.
//!
//! From a plain `fn main()`, without any async runtime:
//!
//! ```no_run
//! use opentelemetry::trace::{Tracer as _, TracerProvider as _};
//! use opentelemetry_sdk::trace::SdkTracerProvider;
//! use otlpkit_http::HttpSpanExporter;
//!
//! fn main() -> Result<(), Box<dyn std::error::Error>> {
//!     // Endpoint, headers, protocol, compression... come from OTEL_* variables
//!     // unless set here.
//!     let exporter = HttpSpanExporter::builder()
//!         .with_endpoint("http://127.0.0.1:4318/v1/traces")
//!         .build()?;
//!     let stats = exporter.stats().clone();
//!     let provider = SdkTracerProvider::builder()
//!         .with_batch_exporter(exporter)
//!         .build();
//!     provider.tracer("example").in_span("work", |_cx| {});
//!     provider.shutdown()?;
//!     let traces = stats.snapshot().signal(otlpkit_core::Signal::Traces);
//!     eprintln!("exported {} span(s), dropped {}", traces.exported, traces.dropped_total());
//!     Ok(())
//! }
//! ```
//!
//! From a `#[tokio::main]` program (any flavour; the I/O never runs on the
//! application's runtime), here with JSON and gzip:
//!
//! ```no_run
//! use opentelemetry::logs::{LogRecord as _, Logger as _, LoggerProvider as _, Severity};
//! use opentelemetry_sdk::logs::SdkLoggerProvider;
//! use otlpkit_core::{Compression, Protocol};
//! use otlpkit_http::HttpLogExporter;
//!
//! #[tokio::main(flavor = "current_thread")]
//! async fn main() -> Result<(), Box<dyn std::error::Error>> {
//!     let exporter = HttpLogExporter::builder()
//!         .with_endpoint("https://collector.example:4318/v1/logs")
//!         .with_protocol(Protocol::HttpJson)
//!         .with_compression(Compression::Gzip)
//!         .with_header("authorization", "Bearer s3cr3t")
//!         .build()?;
//!     let provider = SdkLoggerProvider::builder()
//!         .with_simple_exporter(exporter)
//!         .build();
//!     let logger = provider.logger("example");
//!     let mut record = logger.create_log_record();
//!     record.set_severity_number(Severity::Info);
//!     record.set_body("hello".into());
//!     logger.emit(record);
//!     provider.shutdown()?;
//!     Ok(())
//! }
//! ```
//!
//! # Feature flags
//!
//! - `tls` (default): TLS with rustls and the ring provider, trusting the
//!   webpki roots unless a CA file is configured. Without it an `https://`
//!   endpoint is a [`BuildError::TlsNotCompiled`] — never plaintext.
//!   The exporters always hand reqwest a complete rustls configuration built
//!   on the ring provider, so they never need a process-wide rustls
//!   provider. The feature enables reqwest's own `rustls` feature (not
//!   `rustls-no-provider`), so any other reqwest client in the same program
//!   keeps a working default TLS stack instead of panicking for want of a
//!   process-wide provider.
//! - `tls-system-roots`: also trust the operating system's certificate store.
//! - `json` (default): the `http/json` protocol, through
//!   `opentelemetry-proto`'s generated messages and their serde derives.
//!   Without it selecting `http/json` is a [`BuildError::NotCompiled`], and
//!   the crate builds without `opentelemetry-proto` and prost's derive
//!   macro: protobuf bodies are written by `otlpkit-wire`, responses decoded
//!   with `prost::encoding`'s primitives.
//! - `spool` (default): the disk spool (`OTLPKIT_SPOOL_DIR`,
//!   `with_spool_dir`), through `otlpkit-exporter`'s feature of that name.
//!   Without it a configured spool is a [`BuildError::NotCompiled`].
//!
//! # Supported Rust versions
//!
//! The minimum supported Rust version is 1.95, the workspace's
//! `rust-version`; raising it is not a breaking change.
#![cfg_attr(docsrs, feature(doc_cfg))]
#![forbid(unsafe_code)]

mod classify;
mod client;
mod compress;
mod encode;
#[cfg(feature = "json")]
mod json;
#[cfg(feature = "tls")]
mod tls;

pub use client::Http;
#[doc(no_inline)]
pub use otlpkit_bridge::{EXPORT_WORKER_NAME, WorkerRuntime};
#[doc(no_inline)]
pub use otlpkit_core::stats::ExportStats;
#[doc(no_inline)]
pub use otlpkit_exporter::{BuildError, ExporterBuilder, ExporterKind};

/// Exports spans over OTLP/HTTP (protobuf or JSON); see
/// [`otlpkit_exporter::SpanExporter`].
pub type HttpSpanExporter = otlpkit_exporter::SpanExporter<Http>;
/// Exports log records over OTLP/HTTP (protobuf or JSON); see
/// [`otlpkit_exporter::LogExporter`].
pub type HttpLogExporter = otlpkit_exporter::LogExporter<Http>;
/// Exports metrics over OTLP/HTTP (protobuf or JSON); see
/// [`otlpkit_exporter::MetricExporter`].
pub type HttpMetricExporter = otlpkit_exporter::MetricExporter<Http>;
/// Builds one of the OTLP/HTTP exporters: `HttpExporterBuilder<HttpSpanExporter>`
/// is what [`HttpSpanExporter::builder`](otlpkit_exporter::SpanExporter::builder) returns.
pub type HttpExporterBuilder<E> = ExporterBuilder<E>;
