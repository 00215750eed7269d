//! otlpkit's `tracing` integration: one call turns `tracing` spans and events
//! into OpenTelemetry traces and logs, and the W3C headers carry the trace
//! from service to service.
//!
//! This crate provides:
//!
//! - [`TracingSetup`]: a builder taking the tracer and logger providers you
//!   made, composing the OpenTelemetry span layer (`tracing-opentelemetry`),
//!   the log bridge ([`LogBridge`]: events become log records with the
//!   trace and span ids of the span they happen in, mapped as
//!   `opentelemetry-appender-tracing` maps them), an
//!   `RUST_LOG` filter (default directives; plain `target=level` directives
//!   through `tracing-subscriber`'s `Targets`, span and field directives
//!   through its `EnvFilter` with the `env-filter` feature, see
//!   [`DirectiveError`]) and an optional fmt
//!   layer ([`Fmt`]: full, compact, pretty or JSON). [`try_init`](TracingSetup::try_init)
//!   installs it globally, [`layer`](TracingSetup::layer) returns it for your
//!   own subscriber. The toolkit's own targets (`otlpkit`, `opentelemetry*`,
//!   `h2`, `hyper`, `tonic`, `reqwest`, `tower`) never reach the
//!   OpenTelemetry layers, so exporting cannot feed itself;
//! - [`native`]: the native span path, `tracing` spans recorded straight into
//!   compact records and queued in otlpkit's batch engine, without
//!   `tracing-opentelemetry` or the SDK's `SpanData` (several times cheaper
//!   per span); [`TracingSetup::with_native_spans`] selects it;
//! - [`SpanExt`]: OpenTelemetry operations on a `tracing` span (parent,
//!   context, attributes, status, events, links) on either span path;
//! - [`Exception`], [`record_error`]: an error recorded as the semantic
//!   conventions say (status `Error` with a description, an `exception`
//!   event with `exception.type`, `exception.message` and optionally
//!   `exception.stacktrace`);
//! - [`propagation`]: W3C `traceparent`, `tracestate` and `baggage` for an
//!   [`http::HeaderMap`] ([`inject`](propagation::inject),
//!   [`extract`](propagation::extract)) and as a
//!   [`TextMapPropagator`](opentelemetry::propagation::TextMapPropagator),
//!   validated as the specifications say (the module documents where it
//!   departs from `opentelemetry_sdk`'s propagators, and why);
//! - [`server::HttpServerLayer`]: a tower layer that gives axum/hyper
//!   servers a server span continuing the caller's trace, with the HTTP
//!   semantic conventions' attributes and the `http.server.request.duration`
//!   histogram;
//! - [`client`]: client spans for `reqwest` (async and blocking, with the
//!   `http.client.request.duration` histogram) and tonic
//!   ([`client::GrpcClientLayer`]), and plain context injection, behind
//!   features;
//! - [`server::GrpcServerLayer`] (`tonic` feature): server spans for tonic
//!   services with the `rpc.*` attributes, continuing the caller's trace;
//! - [`metrics`]: the names and bucket boundaries of the duration
//!   histograms.
//!
//! The instrumentation makes ordinary `tracing` spans (kind, name and status
//! in the `otel.kind`, `otel.name` and `otel.status_code` fields), so they
//! reach whatever span layer is installed and obey `RUST_LOG`: their
//! targets are `http.server`, `http.client`, `rpc.server` and `rpc.client`.
//!
//! # Usage
//!
//! Applications call [`TracingSetup`] once at start-up; libraries only use
//! `tracing` and, where they make or serve requests, the propagation helpers.
//! Spans and events from `tracing` macros then reach OpenTelemetry, with
//! parent links across threads and tasks when the hops go through
//! `otlpkit-bridge`.
//!
//! A synchronous program:
//!
//! ```no_run
//! use opentelemetry_sdk::logs::SdkLoggerProvider;
//! use opentelemetry_sdk::trace::SdkTracerProvider;
//! use otlpkit_tracing::{Fmt, TracingSetup};
//!
//! fn main() -> Result<(), Box<dyn std::error::Error>> {
//!     // Add your exporters (otlpkit-grpc, otlpkit-http, ...) to the providers.
//!     let tracer_provider = SdkTracerProvider::builder().build();
//!     let logger_provider = SdkLoggerProvider::builder().build();
//!     TracingSetup::builder()
//!         .with_tracer_provider(&tracer_provider)
//!         .with_logger_provider(&logger_provider)
//!         .with_fmt(Fmt::Compact)
//!         .try_init()?;
//!
//!     tracing::info_span!("import").in_scope(|| tracing::info!(rows = 3, "imported"));
//!
//!     tracer_provider.shutdown()?;
//!     logger_provider.shutdown()?;
//!     Ok(())
//! }
//! ```
//!
//! An async one, with a server span per request and a client span for a
//! downstream call, whose context goes along:
//!
//! ```no_run
//! use opentelemetry_sdk::logs::SdkLoggerProvider;
//! use opentelemetry_sdk::trace::SdkTracerProvider;
//! use otlpkit_tracing::TracingSetup;
//! use otlpkit_tracing::server::HttpServerLayer;
//!
//! #[tokio::main]
//! async fn main() -> Result<(), Box<dyn std::error::Error>> {
//!     let tracer_provider = SdkTracerProvider::builder().build();
//!     let logger_provider = SdkLoggerProvider::builder().build();
//!     TracingSetup::builder()
//!         .with_tracer_provider(&tracer_provider)
//!         .with_logger_provider(&logger_provider)
//!         .try_init()?;
//!
//!     let app = axum::Router::new()
//!         .route("/", axum::routing::get(|| async {
//!             use otlpkit_tracing::client::RequestBuilderExt as _;
//!             let prices = reqwest::Client::new()
//!                 .get("http://127.0.0.1:8081/prices")
//!                 .send_traced()
//!                 .await;
//!             if prices.is_ok() { "ok" } else { "prices unavailable" }
//!         }))
//!         .layer(HttpServerLayer::new());
//!     let listener = tokio::net::TcpListener::bind("127.0.0.1:8080").await?;
//!     axum::serve(listener, app).await?;
//!
//!     tracer_provider.shutdown()?;
//!     logger_provider.shutdown()?;
//!     Ok(())
//! }
//! ```
//!
//! # Feature flags
//!
//! - `tracing-opentelemetry` (on by default; the `otlpkit` facade turns it
//!   off unless its own feature of that name asks for it):
//!   [`TracingSetup::with_tracer_provider`], `tracing` spans as SDK spans
//!   through `tracing-opentelemetry`.
//! - `env-filter`: filter directives on spans and fields
//!   (`my_app[request]=debug`) through `tracing-subscriber`'s `EnvFilter`,
//!   which compiles `regex`; plain `target=level` directives need no feature.
//! - `json`: [`Fmt::Json`].
//! - `axum`: `http.route` from axum's `MatchedPath` in
//!   [`server::HttpServerLayer`].
//! - `reqwest`: [`client::RequestBuilderExt`] and
//!   [`client::BlockingRequestBuilderExt`] (`send_traced()`, context
//!   injection); turns on reqwest's `blocking` feature.
//! - `tonic`: [`client::GrpcClientLayer`], [`server::GrpcServerLayer`],
//!   injection into and extraction from tonic metadata, and
//!   [`client::ContextInterceptor`].
//! - `tail-sampling`: `native::NativeSpans::with_tail_sampling`, the
//!   tail-sampling stage (`otlpkit_batch::tail`) between the native layer
//!   and its span queue.
//!
//! # Supported Rust versions
//!
//! The workspace's `rust-version` (1.95): the newest stable and the three
//! minors before it; raising it is not a breaking change.
#![cfg_attr(docsrs, feature(doc_cfg))]
// The crate docs are written for the whole crate, as docs.rs builds it (all
// features) and `cargo xtask ci` checks it; in a build without some
// features, their links point at items that are compiled out.
#![cfg_attr(
    not(all(
        feature = "tracing-opentelemetry",
        feature = "env-filter",
        feature = "json",
        feature = "axum",
        feature = "reqwest",
        feature = "tonic"
    )),
    allow(rustdoc::broken_intra_doc_links)
)]

pub mod client;
mod directives;
mod error;
mod exception;
mod filter;
#[cfg(feature = "tonic")]
mod grpc;
mod log_bridge;
pub mod metrics;
pub mod native;
pub mod propagation;
#[cfg(feature = "reqwest")]
mod reqwest_client;
mod semconv;
pub mod server;
mod setup;
mod span_details;
mod span_ext;
mod text_format;

pub use directives::DirectiveError;
pub use error::SetupError;
pub use exception::{
    EXCEPTION_EVENT, EXCEPTION_MESSAGE, EXCEPTION_STACKTRACE, EXCEPTION_TYPE, Exception,
    record_error, record_error_on_current,
};
pub use log_bridge::LogBridge;
pub use setup::{
    DEFAULT_DIRECTIVES, DEFAULT_EXCLUDED_TARGETS, DEFAULT_FILTER_ENV, Fmt, TracingSetup,
};
pub use span_details::SpanDetails;
pub use span_ext::{SetParentError, SpanExt};
