//! OpenTelemetry traces, metrics and logs out of any Rust program, delivered
//! over OTLP, in one call.
//!
//! [`init()`] reads the standard `OTEL_*` environment, builds the tracer,
//! meter and logger providers with otlpkit's transports and batch engine,
//! installs them (with the propagators and, with the `tracing` feature, a
//! `tracing` subscriber), and returns an [`OtlpGuard`]. Dropping the guard
//! flushes and shuts everything down within a deadline. It works the same
//! from a plain `fn main()` with no async runtime and from `#[tokio::main]`
//! on either runtime flavour: all network I/O runs on one export worker
//! thread that otlpkit owns.
//!
//! A synchronous program:
//!
//! ```no_run
//! fn main() -> Result<(), Box<dyn std::error::Error>> {
//!     let _telemetry = otlpkit::init()?;
//!     tracing::info_span!("import").in_scope(|| tracing::info!(rows = 3, "imported"));
//!     Ok(())
//! } // the guard flushes and shuts down here, within its 5 s shutdown timeout
//! ```
//!
//! An asynchronous one (`current_thread` works too):
//!
//! ```no_run
//! #[tokio::main]
//! async fn main() -> Result<(), Box<dyn std::error::Error>> {
//!     let telemetry = otlpkit::init()?;
//!     async { tracing::info!("serving") }.await;
//!     println!("{}", telemetry.shutdown_async().await);
//!     Ok(())
//! }
//! ```
//!
//! Point it at a collector with the usual variables
//! (`OTEL_EXPORTER_OTLP_ENDPOINT`, `OTEL_EXPORTER_OTLP_PROTOCOL`,
//! `OTEL_SERVICE_NAME`, ...), or say it in code with [`builder()`]; code
//! wins over the environment. Here with otlpkit's test receiver, checking
//! what arrived:
//!
//! ```
//! use opentelemetry::trace::{Tracer as _, TracerProvider as _};
//! use otlpkit::core::Signal;
//!
//! let receiver = otlpkit_testkit::Receiver::start()?;
//! let telemetry = otlpkit::builder()
//!     .with_service_name("docs")
//!     .with_endpoint(receiver.http_endpoint())
//!     .build()?; // `build` installs nothing global; `init` would.
//! let tracer = telemetry.tracer_provider().unwrap().tracer("docs");
//! tracer.in_span("checkout", |_| tracer.in_span("charge card", |_| {}));
//!
//! let report = telemetry.shutdown();
//! assert!(report.is_complete(), "{report}");
//! assert_eq!(report.delivered(Signal::Traces), 2);
//! assert_eq!(receiver.span("charge card").unwrap().origin.resource_attribute_str("service.name"), Some("docs"));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # This crate provides
//!
//! - [`init()`] and [`builder()`] ([`Builder`]): the whole pipeline from the
//!   environment, or from code with the environment filling in the rest;
//! - [`OtlpGuard`]: the providers, the statistics ([`OtlpGuard::stats`]),
//!   [`flush`](OtlpGuard::flush), and a bounded
//!   [`shutdown`](OtlpGuard::shutdown) / [`shutdown_async`](OtlpGuard::shutdown_async)
//!   returning a [`ShutdownReport`];
//! - [`console`]: the `console` exporters (the `console-exporters` feature);
//! - the sub-crates, re-exported behind their features: [`core`], [`bridge`],
//!   [`batch`], [`grpc`], [`http`], [`tracing`]; and the `opentelemetry`
//!   and `opentelemetry_sdk` crates the providers come from.
//!
//! # What `init` applies
//!
//! Everything `otlpkit-core` resolves ([`core::OtlpConfig`]), with code
//! settings winning over signal-specific variables, over general variables,
//! over the specification's defaults:
//!
//! - the resource: `service.name`, `OTEL_RESOURCE_ATTRIBUTES`, attributes set
//!   in code, `telemetry.distro.*` and the SDK's `telemetry.sdk.*`;
//! - the sampler and its argument (`jaeger_remote` and `xray` fall back to
//!   the default with a warning);
//! - the propagators, as the global text map propagator (W3C `tracecontext`
//!   and `baggage`; the others are skipped with a warning), also when the SDK
//!   is disabled;
//! - span limits (counts by the SDK, value lengths by otlpkit);
//! - per signal: the exporters (`otlp`, `console`, `none`), the protocol
//!   (gRPC, HTTP/protobuf, HTTP/JSON), endpoint, headers, timeout,
//!   compression, TLS files;
//! - the batch processors of `otlpkit-batch` for spans and log records, with
//!   one shared export worker and one shared [`ExportStats`](core::stats::ExportStats)
//!   for all signals;
//! - with the `tail-sampling` feature and `OTLPKIT_TAIL_SAMPLING=on` (or
//!   [`Builder::with_tail_sampling`]), tail sampling in front of the span
//!   queue ([`batch::tail`]): every trace with an error or a slow span is
//!   kept whole, a ratio of the rest;
//! - the periodic metric reader: interval, export timeout, temporality
//!   preference, histogram aggregation, cardinality limit;
//! - `OTEL_SDK_DISABLED=true`: a no-op guard (only the propagators are set,
//!   and the console layer still prints `tracing` events);
//! - `OTEL_LOG_LEVEL`: the level of otlpkit's own diagnostics (configuration
//!   warnings, kept on the guard too, [`OtlpGuard::warnings`]; the first
//!   failed export of each signal and its recovery), printed through the
//!   console layer, or on standard error without one;
//! - the resource detected from the host, OS, process, runtime and container
//!   (`OTLPKIT_RESOURCE_DETECTION=off` to skip), below what code and
//!   `OTEL_RESOURCE_ATTRIBUTES` say;
//! - with the `tracing` feature: the native span layer (`tracing` spans are
//!   recorded and encoded straight to OTLP; [`TracingPath`], with the
//!   `tracing-opentelemetry` feature, keeps `tracing-opentelemetry`
//!   instead), the log bridge, `RUST_LOG` (plain `target=level`
//!   directives; span and field directives with the `env-filter` feature)
//!   and a console layer (`OTLPKIT_LOG_FORMAT`: `full`, `compact`, `pretty`,
//!   `json`, `off`).
//!
//! What the configuration cannot say, code adds: span processors, metric
//! views and readers, `tracing` layers of your own (see [`Builder`],
//! "Extension points").
//!
//! # Nothing lost silently
//!
//! [`OtlpGuard::stats`] counts, per signal, what was exported and what was
//! dropped and why (queue full, retries exhausted, rejected by the server,
//! shutdown deadline, ...) and its last export failure, and apart from the
//! drops, the spans tail sampling decided not to keep (`sampled_out`).
//! [`OtlpGuard::shutdown`] returns a [`ShutdownReport`] with the final counts,
//! each signal's last failure and what went wrong
//! (`produced = delivered + dropped + sampled_out`). With
//! `OTLPKIT_SELF_METRICS=true` the batch processors also report their
//! statistics as `otlpkit.exporter.*` metrics, and the tail-sampling stage
//! as `otlpkit.processor.tail_sampling.*`.
//!
//! # Feature flags
//!
//! | feature | default | enables |
//! |---|---|---|
//! | `grpc` | no | OTLP/gRPC (`OTEL_EXPORTER_OTLP_PROTOCOL=grpc`), [`grpc`] |
//! | `http` | yes | OTLP/HTTP with protobuf bodies (`http/protobuf`, the specification's default), [`http`] |
//! | `tracing` | yes | [`init`] installs a `tracing` subscriber: spans become OTLP spans, events become log records correlated with them, a console layer prints them; [`tracing`] |
//! | `tracing-opentelemetry` | no | [`TracingPath::TracingOpenTelemetry`](crate::TracingPath): `tracing` spans become SDK spans through `tracing-opentelemetry`, for span processors of your own and the console trace exporter (without it, `tracing` spans go to the OTLP exporter only) |
//! | `env-filter` | no | `RUST_LOG` directives that filter on spans or fields (`my_app[request]=debug`), through `tracing-subscriber`'s `EnvFilter`, which compiles `regex`; plain `target=level` directives need no feature |
//! | `json-logs` | no | `OTLPKIT_LOG_FORMAT=json`: JSON console lines |
//! | `gzip` | yes | gzip compression (`OTEL_EXPORTER_OTLP_COMPRESSION=gzip`), pure Rust |
//! | `zstd` | no | zstd compression, an otlpkit extension (builds the zstd C library) |
//! | `http-json` | no | OTLP/HTTP with JSON bodies (`http/json`); brings `opentelemetry-proto`'s generated messages |
//! | `tls` | no | `https://` endpoints for every enabled transport: rustls with ring, the webpki roots, custom CA and client certificates |
//! | `axum` | no | `http.route` from axum in [`tracing::server::HttpServerLayer`] |
//! | `reqwest` | no | client spans, `http.client.request.duration` and W3C injection for reqwest (async and blocking) |
//! | `tonic` | no | client and server layers for tonic: `rpc.*` spans, W3C context in the metadata |
//! | `rayon` | no | context-carrying rayon wrappers in [`bridge`] |
//! | `spool` | no | the disk spool: `OTLPKIT_SPOOL_DIR`, [`Builder::with_spool_dir`] |
//! | `tail-sampling` | no | the tail-sampling stage: `OTLPKIT_TAIL_SAMPLING=on`, [`Builder::with_tail_sampling`], [`batch::tail`] |
//! | `console-exporters` | no | the `console` exporters (`OTEL_{TRACES,METRICS,LOGS}_EXPORTER=console`), [`console`]; the console layer that prints `tracing` events needs no feature |
//! | `full` | no | all of the above |
//!
//! A protocol whose feature is off is an [`InitError::ProtocolNotCompiled`]
//! naming the feature and the setting that chose the protocol, a spool asked
//! for without `spool` an
//! [`InitError::SpoolNotCompiled`] naming the feature and the setting, tail
//! sampling turned on without `tail-sampling` an
//! [`InitError::TailSamplingNotCompiled`] likewise, a
//! `RUST_LOG` directive on spans or fields without `env-filter` an
//! [`InitError::Tracing`] naming the directive and the feature; a `console`
//! exporter without `console-exporters` is skipped with a warning naming the
//! feature; an `https://` endpoint without `tls` is refused, never sent in
//! plaintext.
//!
//! # In libraries and applications
//!
//! Libraries instrument with `tracing` or the `opentelemetry` API and depend
//! on neither this crate nor a transport. Applications call [`init`] once,
//! at start-up, and keep the guard until the end of `main`. A second
//! `init()` while that guard lives is refused
//! ([`InitError::AlreadyInitialized`], naming where the first was called)
//! rather than replacing the global providers; [`Builder::build`] makes
//! further pipelines that install nothing global.
//!
//! # Supported Rust versions
//!
//! The minimum supported Rust version is 1.95, the workspace's
//! `rust-version`: the newest stable and the three minors before it;
//! raising it is not a breaking change.
#![cfg_attr(docsrs, feature(doc_cfg))]
// The crate docs are written for the whole crate, as docs.rs builds it (all
// features) and `cargo xtask ci` checks it; in a build without some
// features, their links point at items that are compiled out.
#![cfg_attr(not(feature = "full"), allow(rustdoc::broken_intra_doc_links))]

mod builder;
#[cfg(feature = "console-exporters")]
#[cfg_attr(docsrs, doc(cfg(feature = "console-exporters")))]
pub mod console;
mod error;
mod globals;
mod guard;
mod metrics;
mod pipeline;
mod sdk;

#[cfg(feature = "tracing")]
#[cfg_attr(docsrs, doc(cfg(feature = "tracing")))]
pub use builder::TracingPath;
pub use builder::{Builder, DEFAULT_SHUTDOWN_TIMEOUT};
pub use error::{InitError, InitWarning};
pub use guard::{FlushError, OtlpGuard, ShutdownProblem, ShutdownReport};
pub use pipeline::WORKER_THREAD_NAME;

/// Configuration, the shared export types and the statistics (`otlpkit-core`).
#[doc(inline)]
pub use otlpkit_core as core;

/// The calling crate's name and version, for
/// [`Builder::with_service_info`]: `otlpkit::service_info!()`.
#[doc(inline)]
pub use otlpkit_core::service_info;

/// Context propagation across threads, tasks, futures and streams, and
/// `block_on` anywhere (`otlpkit-bridge`).
#[doc(inline)]
pub use otlpkit_bridge as bridge;

/// The batch and backpressure engine (`otlpkit-batch`).
#[doc(inline)]
pub use otlpkit_batch as batch;

/// The OTLP/gRPC exporters (`otlpkit-grpc`).
#[cfg(feature = "grpc")]
#[cfg_attr(docsrs, doc(cfg(feature = "grpc")))]
#[doc(inline)]
pub use otlpkit_grpc as grpc;

/// The OTLP/HTTP exporters (`otlpkit-http`).
#[cfg(feature = "http")]
#[cfg_attr(docsrs, doc(cfg(feature = "http")))]
#[doc(inline)]
pub use otlpkit_http as http;

/// The `tracing` integration: subscriber, error recording, W3C propagation
/// for http, tower, tonic and reqwest (`otlpkit-tracing`).
#[cfg(feature = "tracing")]
#[cfg_attr(docsrs, doc(cfg(feature = "tracing")))]
#[doc(inline)]
pub use otlpkit_tracing as tracing;

#[doc(no_inline)]
pub use opentelemetry;
#[doc(no_inline)]
pub use opentelemetry_sdk;

/// Installs traces, metrics and logs as the `OTEL_*` environment
/// configures them, and returns the guard that shuts them down.
///
/// The same as `otlpkit::builder().init()`; see [`Builder::init`].
///
/// # Errors
///
/// [`InitError`]: an invalid configuration (naming the variable and the
/// value), a protocol this build does not contain, an exporter that cannot
/// be built (TLS files, ...), invalid `RUST_LOG` directives, or
/// [`InitError::AlreadyInitialized`] while the guard of an earlier `init()`
/// is still alive (it owns the globals; see [`Builder::init`]).
#[track_caller]
pub fn init() -> Result<OtlpGuard, InitError> {
    builder().init()
}

/// A [`Builder`] for everything the environment can say, in code.
pub fn builder() -> Builder {
    Builder::default()
}
