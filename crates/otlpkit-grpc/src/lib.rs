//! OTLP/gRPC exporters for OpenTelemetry traces, metrics and logs, built on
//! tonic, that work from any Rust program: a plain `fn main()` without an
//! async runtime, a `#[tokio::main]` server, a `current_thread` runtime, or
//! the SDK's own processor threads.
//!
//! # This crate provides
//!
//! - [`SpanExporter`], [`LogExporter`] and [`MetricExporter`]: the
//!   `opentelemetry_sdk` exporter traits (`SpanExporter`, `LogExporter`,
//!   `PushMetricExporter`), so they plug into the official providers (batch
//!   and simple processors, the periodic reader), into otlpkit's batch
//!   engine, or into anything else that takes an SDK exporter;
//! - builders that resolve their configuration from code, then the
//!   `OTEL_EXPORTER_OTLP_*` environment, then the specification's defaults
//!   ([`otlpkit_core::ExporterConfig`]), or take an already resolved
//!   configuration;
//! - the export path of the OTLP specification: one unary `Export` call per
//!   attempt with `grpc-timeout`, gzip or zstd (`grpc-encoding`), retries
//!   with jittered exponential backoff inside the export timeout, gRPC codes
//!   classified exactly as the specification lists them, `RetryInfo`
//!   honoured, partial success counted and never retried, and every span,
//!   data point and log record accounted for in
//!   [`ExportStats`];
//! - TLS (rustls with `ring`): webpki roots, a custom CA, client
//!   certificates (mTLS). `https://` always means verified TLS.
//!
//! # In libraries and applications
//!
//! Libraries instrument with the `opentelemetry` API (or `tracing`) and do
//! not depend on an exporter. Applications pick this crate (usually through
//! the `otlpkit` facade) when their collector speaks OTLP/gRPC.
//!
//! # How it runs
//!
//! The network I/O never runs on the caller's runtime. Every exporter owns
//! (or is handed, [`SpanExporterBuilder::with_worker`]) an
//! [`otlpkit_bridge::WorkerRuntime`]: one thread with a small tokio runtime
//! where the tonic channel lives. The SDK's `export` future only waits for
//! that worker, so it can be polled by any executor — the SDK's processors
//! use a plain `futures` executor on their own threads — and never needs a
//! reactor of its own. Each request is encoded once (`otlpkit-wire`, on the
//! calling thread) and the same bytes are sent on every attempt. Handing the
//! exporter the worker of the batch processor that calls it (as
//! `otlpkit::init()` does) keeps a batch on one thread from queue to wire.
//!
//! The channel connects lazily on the first export and reconnects by itself
//! after the collector restarts; a failed attempt is retried as the
//! [`RetryPolicy`](otlpkit_core::RetryPolicy) allows.
//!
//! Exporters are safe to call concurrently, each call being one request;
//! the SDK's processors call them sequentially. `shutdown` is bounded and
//! idempotent: exports in flight get the shutdown timeout to finish and are
//! then cancelled, and later exports fail with their items counted as
//! [`DropReason::AfterShutdown`](otlpkit_core::stats::DropReason::AfterShutdown).
//! `force_flush` succeeds at once: the exporter holds no buffer.
//!
//! # Usage
//!
//! From a plain `fn main()`, no async runtime anywhere:
//!
//! ```no_run
//! use opentelemetry::trace::{Tracer as _, TracerProvider as _};
//! use opentelemetry_sdk::trace::SdkTracerProvider;
//! use otlpkit_grpc::SpanExporter;
//!
//! fn main() -> Result<(), Box<dyn std::error::Error>> {
//!     let exporter = SpanExporter::builder()
//!         .with_endpoint("http://localhost:4317")
//!         .with_header("authorization", "Bearer s3cr3t")
//!         .build()?;
//!     let stats = exporter.stats().clone();
//!     let provider = SdkTracerProvider::builder()
//!         .with_batch_exporter(exporter)
//!         .build();
//!     provider.tracer("example").in_span("work", |_cx| {});
//!     provider.shutdown()?;
//!     let traces = stats.snapshot().signal(otlpkit_core::Signal::Traces);
//!     println!("exported {} spans, dropped {}", traces.exported, traces.dropped_total());
//!     Ok(())
//! }
//! ```
//!
//! From async code, here with metrics and the environment
//! (`OTEL_EXPORTER_OTLP_ENDPOINT`, `OTEL_EXPORTER_OTLP_HEADERS`, ...):
//!
//! ```no_run
//! use opentelemetry::metrics::MeterProvider as _;
//! use opentelemetry_sdk::metrics::{PeriodicReader, SdkMeterProvider};
//! use otlpkit_core::{Compression, TemporalityPreference};
//! use otlpkit_grpc::MetricExporter;
//!
//! #[tokio::main(flavor = "current_thread")]
//! async fn main() -> Result<(), Box<dyn std::error::Error>> {
//!     let exporter = MetricExporter::builder()
//!         .with_compression(Compression::Gzip)
//!         .with_temporality_preference(TemporalityPreference::Delta)
//!         .build()?;
//!     let provider = SdkMeterProvider::builder()
//!         .with_reader(PeriodicReader::builder(exporter).build())
//!         .build();
//!     provider.meter("example").u64_counter("requests").build().add(1, &[]);
//!     // Blocking, but it cannot deadlock: the I/O runs on the exporter's worker.
//!     provider.shutdown()?;
//!     Ok(())
//! }
//! ```
//!
//! # Feature flags
//!
//! - `tls` (default): rustls with the `ring` provider and the webpki roots.
//!   Without it an `https://` endpoint is a [`BuildError::TlsNotCompiled`]:
//!   the exporter never falls back to plaintext.
//! - `tls-native-roots`: also trust the operating system's roots (implies
//!   `tls`). A configured CA certificate replaces all built-in roots.
//! - `internal-logs` (default): lets otlpkit's diagnostics (failed exports,
//!   rate-limited; configuration warnings) go to `tracing` under the
//!   `otlpkit` target when [`otlpkit_core::diag::Output::Tracing`] is
//!   selected; by default they go to standard error. They never contain
//!   header values.
//! - `spool` (default): the disk spool (`OTLPKIT_SPOOL_DIR`,
//!   `with_spool_dir`), through `otlpkit-exporter`'s feature of that name.
//!   Without it a configured spool is a [`BuildError::NotCompiled`].
//!
//! # Supported Rust versions
//!
//! The minimum supported Rust version is 1.95, the workspace's
//! `rust-version`; raising it is not a breaking change.

#![cfg_attr(docsrs, feature(doc_cfg))]

mod client;
mod codec;
mod metadata;
mod tls;

pub use client::Grpc;
#[doc(no_inline)]
pub use otlpkit_exporter::{BuildError, ExporterBuilder, ExporterKind};

/// Exports spans over OTLP/gRPC to
/// `/opentelemetry.proto.collector.trace.v1.TraceService/Export`; see
/// [`otlpkit_exporter::SpanExporter`].
pub type SpanExporter = otlpkit_exporter::SpanExporter<Grpc>;
/// Exports log records over OTLP/gRPC to
/// `/opentelemetry.proto.collector.logs.v1.LogsService/Export`; see
/// [`otlpkit_exporter::LogExporter`].
pub type LogExporter = otlpkit_exporter::LogExporter<Grpc>;
/// Exports metrics over OTLP/gRPC to
/// `/opentelemetry.proto.collector.metrics.v1.MetricsService/Export`; see
/// [`otlpkit_exporter::MetricExporter`].
pub type MetricExporter = otlpkit_exporter::MetricExporter<Grpc>;
/// Builds a [`SpanExporter`].
pub type SpanExporterBuilder = ExporterBuilder<SpanExporter>;
/// Builds a [`LogExporter`].
pub type LogExporterBuilder = ExporterBuilder<LogExporter>;
/// Builds a [`MetricExporter`].
pub type MetricExporterBuilder = ExporterBuilder<MetricExporter>;

#[doc(no_inline)]
pub use otlpkit_bridge::{EXPORT_WORKER_NAME, WorkerRuntime};
#[doc(no_inline)]
pub use otlpkit_core::stats::ExportStats;
