//! Configuration for otlpkit: builders plus the standard `OTEL_*` environment,
//! resolved with one precedence rule and validated into typed values.
//!
//! Code settings win over signal-specific variables, which win over general
//! variables, which win over the specification defaults. Where the
//! specification says "warn and ignore", resolution returns a
//! [`ConfigWarning`] next to the value; anything else that is invalid is a
//! [`ConfigError`] naming the variable (or builder method) and the value.
//! Nothing panics on any input, and header values never appear in `Debug`
//! output, warnings or errors.
//!
//! ```
//! use std::time::Duration;
//! use otlpkit_core::{MapEnv, OtlpConfig, Protocol, Signal, Source};
//!
//! let env = MapEnv::from([
//!     ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://collector:4318"),
//!     ("OTEL_EXPORTER_OTLP_LOGS_ENDPOINT", "http://logs:4318/ingest"),
//!     ("OTEL_EXPORTER_OTLP_HEADERS", "authorization=Basic%20AAA"),
//!     ("OTEL_EXPORTER_OTLP_TIMEOUT", "soon"), // not a number: a warning, ignored
//!     ("OTEL_SERVICE_NAME", "checkout"),
//!     ("OTEL_BSP_SCHEDULE_DELAY", "1000"),
//! ]);
//! let resolved = OtlpConfig::from_env(&env)?;
//! let config = &resolved.value;
//!
//! let traces = config.exporter(Signal::Traces);
//! assert_eq!(traces.protocol(), Protocol::HttpProtobuf);
//! assert_eq!(traces.endpoint().as_str(), "http://collector:4318/v1/traces");
//! assert_eq!(traces.headers().get("authorization"), Some("Basic AAA"));
//! assert_eq!(traces.timeout(), Some(Duration::from_secs(10)));
//! assert_eq!(traces.sources().endpoint, Source::GeneralEnv("OTEL_EXPORTER_OTLP_ENDPOINT"));
//! assert!(!format!("{traces:?}").contains("Basic AAA"));
//!
//! let logs = config.exporter(Signal::Logs);
//! assert_eq!(logs.endpoint().as_str(), "http://logs:4318/ingest");
//!
//! assert_eq!(config.span_batch().schedule_delay(), Duration::from_secs(1));
//! assert_eq!(config.resource().service_name(), "checkout");
//! assert_eq!(resolved.warnings.len(), 1);
//! assert_eq!(resolved.warnings[0].var(), "OTEL_EXPORTER_OTLP_TIMEOUT");
//! # Ok::<(), otlpkit_core::ConfigError>(())
//! ```
//!
//! # This crate provides
//!
//! - [`EnvSource`], with [`ProcessEnv`] for the real environment and
//!   [`MapEnv`] (or any map or list of pairs) for tests and embedders;
//! - the variable names as constants in [`vars`];
//! - shared types: [`Signal`], [`Protocol`], [`Compression`], [`Headers`],
//!   [`TemporalityPreference`], [`Sampler`], [`Propagator`], …;
//! - one builder per part: [`ExporterConfig`] (per signal), [`BatchConfig`]
//!   (spans, logs), [`MetricReaderConfig`], [`ResourceConfig`], [`SdkConfig`],
//!   [`TailSamplingConfig`] (the `OTLPKIT_TAIL_SAMPLING*` variables),
//!   [`SpoolConfig`] (the optional disk spool), and [`OtlpConfig`] for all
//!   of them at once;
//! - [`detect`]: resource detection (`service.instance.id`, host, OS,
//!   process, Rust runtime and container attributes, switchable with
//!   `OTLPKIT_RESOURCE_DETECTION`), and [`service_info!`] for the calling
//!   crate's `service.version`;
//! - [`Source`], recording where every option came from, and [`Resolved`],
//!   carrying the warnings;
//! - [`RetryPolicy`] and [`USER_AGENT`] for the transports;
//! - [`stats`]: the [`ExportStats`](stats::ExportStats) counters that
//!   account for every item (delivered, dropped under a
//!   [`DropReason`](stats::DropReason), or sampled out by tail sampling),
//!   and each signal's last export failure;
//! - [`diag`]: where the toolkit's own diagnostics go (standard error by
//!   default, or `tracing`), filtered by `OTEL_LOG_LEVEL`.
//!
//! The specification's rules and otlpkit's decisions on its gaps are listed
//! in `docs/CONFIGURATION.md`.
//!
//! # In libraries and applications
//!
//! Libraries that only need the shared types depend on this crate alone: it
//! has no network or async-runtime dependency. Applications normally use the
//! `otlpkit` facade, which resolves an [`OtlpConfig`] from [`ProcessEnv`] and
//! builds the pipeline from it.
//!
//! # Feature flags
//!
//! - `internal-logs` (default): [`diag::Output::Tracing`] sends the
//!   toolkit's diagnostics to `tracing` under the `otlpkit` target. Without
//!   it that output prints nothing (standard error still works).
//!
//! # Supported Rust versions
//!
//! The minimum supported Rust version is 1.95, the workspace's
//! `rust-version`; raising it is not a breaking change.

mod batch;
mod body_format;
mod compression;
mod config;
pub mod detect;
pub mod diag;
mod endpoint;
mod env;
mod error;
mod exporter;
mod headers;
mod identity;
mod metrics;
mod parse;
mod protocol;
mod resource;
mod retry;
mod sdk;
mod signal;
mod source;
mod spool;
pub mod stats;
mod tail;
mod time;
mod toolkit;
pub mod vars;

pub use batch::{BatchConfig, BatchConfigBuilder, BatchKind, BatchSources, OverflowPolicy};
pub use body_format::{BodyFormat, Encoding};
pub use compression::Compression;
pub use config::{OtlpConfig, OtlpConfigBuilder};
pub use detect::ResourceDetection;
pub use env::{EnvPolicy, EnvSource, Lookup, MapEnv, ProcessEnv};
pub use error::{ConfigError, ConfigWarning, Origin, ParseEnumError, redact_url};
pub use exporter::{
    ExporterConfig, ExporterConfigBuilder, ExporterSources, ExporterVar, TlsConfig,
};
pub use headers::{HeaderIssue, Headers, is_valid_grpc_metadata_key, is_valid_grpc_metadata_value};
pub use identity::{OTEL_OTLP_VERSION, USER_AGENT, user_agent};
pub use metrics::{
    ExemplarFilter, HistogramAggregation, InstrumentKind, MetricReaderConfig,
    MetricReaderConfigBuilder, MetricReaderSources, Temporality, TemporalityPreference,
};
pub use protocol::Protocol;
pub use resource::{
    AttributeValue, DISTRO_NAME, DISTRO_VERSION, ResourceAttributesError, ResourceConfig,
    ResourceConfigBuilder, SERVICE_NAME, ServiceInfo, TELEMETRY_DISTRO_NAME,
    TELEMETRY_DISTRO_VERSION, default_service_name, parse_resource_attributes,
};
pub use retry::{RetryPolicy, RetryPolicyBuilder};
pub use sdk::{
    ExporterKind, LimitKind, Limits, LogLevel, Propagator, Sampler, SamplerArg, SamplerConfig,
    SdkConfig, SdkConfigBuilder, SdkSources,
};
pub use signal::Signal;
pub use source::{Resolved, Source};
pub use spool::{FsyncPolicy, SpoolConfig, SpoolConfigBuilder, SpoolSources};
pub use tail::{TailSamplingConfig, TailSamplingConfigBuilder, TailSamplingSources};
pub use time::saturating_deadline;
pub use toolkit::{ConsoleFormat, ToolkitConfig, ToolkitConfigBuilder, ToolkitSources};

#[doc(no_inline)]
pub use url::Url;
