//! One builder for every exporter: a signal's exporter over a transport.

use std::fmt;
use std::marker::PhantomData;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use otlpkit_bridge::{BridgeError, EXPORT_WORKER_NAME, WorkerRuntime};
use otlpkit_core::diag;
use otlpkit_core::stats::ExportStats;
use otlpkit_core::{
    Compression, EnvPolicy, EnvSource, ExporterConfig, ExporterConfigBuilder, Headers, LogLevel,
    MetricReaderConfig, ProcessEnv, Protocol, RetryPolicy, Signal, SpoolConfig, SpoolConfigBuilder,
    TemporalityPreference, vars,
};
#[cfg(feature = "spool")]
use otlpkit_spool::Spool;

use crate::core::Core;
use crate::exporters::{LogExporter, MetricExporter, SpanExporter};
use crate::transport::Connect;
use crate::{BuildError, SpoolLane};

mod sealed {
    pub trait Sealed {}
}

/// The exporters a builder makes: [`SpanExporter`], [`LogExporter`] and
/// [`MetricExporter`] over a transport. Sealed.
pub trait ExporterKind: sealed::Sealed {
    /// The signal the exporter sends.
    const SIGNAL: Signal;
    /// The transport it sends over.
    type Transport: Connect;
}

impl<T> sealed::Sealed for SpanExporter<T> {}
impl<T: Connect> ExporterKind for SpanExporter<T> {
    const SIGNAL: Signal = Signal::Traces;
    type Transport = T;
}
impl<T> sealed::Sealed for LogExporter<T> {}
impl<T: Connect> ExporterKind for LogExporter<T> {
    const SIGNAL: Signal = Signal::Logs;
    type Transport = T;
}
impl<T> sealed::Sealed for MetricExporter<T> {}
impl<T: Connect> ExporterKind for MetricExporter<T> {
    const SIGNAL: Signal = Signal::Metrics;
    type Transport = T;
}

/// Builds an exporter `E` ([`SpanExporter`], [`LogExporter`] or
/// [`MetricExporter`] over a transport), usually reached through the
/// transport's names: `otlpkit_grpc::SpanExporter::builder()`,
/// `otlpkit_http::HttpLogExporter::builder()`.
///
/// Every option resolves with otlpkit's precedence: a `with_*` value set
/// here wins over the signal-specific `OTEL_EXPORTER_OTLP_<SIGNAL>_*`
/// variable, which wins over the general `OTEL_EXPORTER_OTLP_*` variable,
/// which wins over the specification default. The environment is the
/// process environment unless [`with_env`](Self::with_env) supplies another.
/// Configuration warnings (a variable that is ignored) go to otlpkit's
/// diagnostic output ([`otlpkit_core::diag`]).
///
/// `Debug` never shows header values, credentials or query strings.
#[must_use]
pub struct ExporterBuilder<E> {
    config: ExporterConfigBuilder,
    /// The first configuration method called, to report a conflict with
    /// `with_config`.
    touched: Option<&'static str>,
    resolved: Option<ExporterConfig>,
    env: Option<Arc<dyn EnvSource + Send + Sync>>,
    worker: Option<WorkerRuntime>,
    stats: Option<ExportStats>,
    temporality: Option<TemporalityPreference>,
    spool: SpoolChoice,
    _exporter: PhantomData<fn() -> E>,
}

/// What the builder was told about the disk spool.
#[derive(Debug)]
enum SpoolChoice {
    /// Nothing: `OTLPKIT_SPOOL_*` decide, unless a resolved configuration
    /// was given ([`ExporterBuilder::with_config`]).
    Unset,
    /// A spool opened elsewhere (shared by a pipeline's exporters), or none.
    #[cfg(feature = "spool")]
    Open(Option<Spool>),
    /// Settings, resolved with the builder's environment.
    Config(SpoolConfigBuilder),
}

impl<E: ExporterKind> fmt::Debug for ExporterBuilder<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Both configuration types redact header values, credentials and
        // query strings themselves.
        f.debug_struct("ExporterBuilder")
            .field("signal", &E::SIGNAL)
            .field("transport", &E::Transport::NAME)
            .field("config", &self.config)
            .field("resolved", &self.resolved)
            .field("env", &self.env.as_ref().map_or("process", |_| "custom"))
            .field("worker", &self.worker)
            .field("stats", &self.stats.is_some())
            .field("temporality", &self.temporality)
            .field("spool", &self.spool)
            .finish()
    }
}

impl<E: ExporterKind> Default for ExporterBuilder<E> {
    fn default() -> Self {
        Self::new()
    }
}

impl<E: ExporterKind> ExporterBuilder<E> {
    /// A builder with nothing set.
    pub fn new() -> Self {
        let mut config = ExporterConfig::builder(E::SIGNAL);
        if let Some(protocol) = <E::Transport as Connect>::FIXED_PROTOCOL {
            config = config.with_protocol(protocol);
        }
        Self {
            config,
            touched: None,
            resolved: None,
            env: None,
            worker: None,
            stats: None,
            temporality: None,
            spool: SpoolChoice::Unset,
            _exporter: PhantomData,
        }
    }

    fn configure(
        mut self,
        method: &'static str,
        change: impl FnOnce(ExporterConfigBuilder) -> ExporterConfigBuilder,
    ) -> Self {
        self.touched.get_or_insert(method);
        self.config = change(self.config);
        self
    }

    /// The signal of the exporter this builder makes.
    pub fn signal(&self) -> Signal {
        E::SIGNAL
    }

    /// Uses an already resolved configuration (for example
    /// [`OtlpConfig::exporter`](otlpkit_core::OtlpConfig::exporter)) as is,
    /// instead of resolving one from this builder and the environment. It
    /// must be for this signal and a protocol of this transport, and cannot
    /// be combined with the other configuration methods
    /// ([`BuildError::ConflictingConfig`]).
    pub fn with_config(mut self, config: ExporterConfig) -> Self {
        self.resolved = Some(config);
        self
    }

    /// Starts from `config` (for this signal) instead of an empty
    /// configuration builder; later `with_*` calls apply on top of it.
    pub fn with_config_builder(mut self, config: ExporterConfigBuilder) -> Self {
        self.touched.get_or_insert("with_config_builder");
        self.config = config;
        if let Some(protocol) = <E::Transport as Connect>::FIXED_PROTOCOL {
            self.config = self.config.with_protocol(protocol);
        }
        self
    }

    /// Reads `OTEL_*` variables from `env` instead of the process
    /// environment.
    pub fn with_env(mut self, env: impl EnvSource + Send + Sync + 'static) -> Self {
        self.env = Some(Arc::new(env));
        self
    }

    /// How configuration warnings are treated (default: reported and
    /// ignored, as the specification asks).
    pub fn with_env_policy(self, policy: EnvPolicy) -> Self {
        self.configure("with_env_policy", |c| c.with_env_policy(policy))
    }

    /// The collector's address. For OTLP/HTTP the full URL to `POST` to,
    /// used as is like `OTEL_EXPORTER_OTLP_<SIGNAL>_ENDPOINT`
    /// (`http://collector:4318/v1/traces`; a URL without a path gets `/`).
    /// For gRPC `http://host:port` (plaintext), `https://host:port` (TLS),
    /// or `host:port` (TLS unless [`with_insecure`](Self::with_insecure)).
    pub fn with_endpoint(self, endpoint: impl Into<String>) -> Self {
        let endpoint = endpoint.into();
        self.configure("with_endpoint", |c| c.with_endpoint(endpoint))
    }

    /// The protocol, for a transport that speaks several (OTLP/HTTP:
    /// `http/protobuf`, the default, or `http/json`).
    pub fn with_protocol(self, protocol: Protocol) -> Self {
        self.configure("with_protocol", |c| c.with_protocol(protocol))
    }

    /// Adds one request header (gRPC metadata, lowercased); headers set in
    /// code replace every header from the environment. Values are secret:
    /// never logged or shown.
    pub fn with_header(self, key: impl Into<String>, value: impl Into<String>) -> Self {
        let (key, value) = (key.into(), value.into());
        self.configure("with_header", |c| c.with_header(key, value))
    }

    /// Sets all request headers, replacing earlier ones.
    pub fn with_headers(self, headers: Headers) -> Self {
        self.configure("with_headers", |c| c.with_headers(headers))
    }

    /// Time allowed for one export, all attempts and waits included; `None`
    /// for no limit. Default 10 s, or `OTEL_EXPORTER_OTLP[_<SIGNAL>]_TIMEOUT`.
    pub fn with_timeout(self, timeout: Option<Duration>) -> Self {
        self.configure("with_timeout", |c| c.with_timeout(timeout))
    }

    /// Request compression: none (the default), gzip or zstd.
    pub fn with_compression(self, compression: Compression) -> Self {
        self.configure("with_compression", |c| c.with_compression(compression))
    }

    /// A PEM file of CA certificates to trust instead of the default roots.
    pub fn with_certificate(self, path: impl Into<PathBuf>) -> Self {
        let path = path.into();
        self.configure("with_certificate", |c| c.with_certificate(path))
    }

    /// The client private key (PEM) for mTLS; needs
    /// [`with_client_certificate`](Self::with_client_certificate).
    pub fn with_client_key(self, path: impl Into<PathBuf>) -> Self {
        let path = path.into();
        self.configure("with_client_key", |c| c.with_client_key(path))
    }

    /// The client certificate chain (PEM) for mTLS; needs
    /// [`with_client_key`](Self::with_client_key).
    pub fn with_client_certificate(self, path: impl Into<PathBuf>) -> Self {
        let path = path.into();
        self.configure("with_client_certificate", |c| {
            c.with_client_certificate(path)
        })
    }

    /// Plaintext for a gRPC endpoint given without a scheme.
    pub fn with_insecure(self, insecure: bool) -> Self {
        self.configure("with_insecure", |c| c.with_insecure(insecure))
    }

    /// Largest encoded request, before compression (default 64 MiB); a
    /// larger batch is not sent and its items are counted as
    /// [`DropReason::Oversized`](otlpkit_core::stats::DropReason::Oversized).
    pub fn with_max_request_size(self, bytes: usize) -> Self {
        self.configure("with_max_request_size", |c| c.with_max_request_size(bytes))
    }

    /// Largest response accepted (default 4 MiB); a larger one fails the
    /// export without retry.
    pub fn with_max_response_size(self, bytes: usize) -> Self {
        self.configure("with_max_response_size", |c| {
            c.with_max_response_size(bytes)
        })
    }

    /// How transient failures are retried.
    pub fn with_retry_policy(self, policy: RetryPolicy) -> Self {
        self.configure("with_retry_policy", |c| c.with_retry_policy(policy))
    }

    /// Runs the network I/O on `worker` instead of a worker thread of the
    /// exporter's own. A shared worker is not stopped by the exporter's
    /// shutdown.
    pub fn with_worker(mut self, worker: WorkerRuntime) -> Self {
        self.worker = Some(worker);
        self
    }

    /// Counts into `stats`, shared with the rest of a pipeline, instead of
    /// counters of its own.
    pub fn with_stats(mut self, stats: ExportStats) -> Self {
        self.stats = Some(stats);
        self
    }

    /// Keeps batches the collector cannot take in a disk spool in `dir`
    /// (created if needed) and sends them, in order, once it takes them
    /// again, in this process or the next one with the same directory
    /// (`OTLPKIT_SPOOL_DIR`). The other settings come from
    /// `OTLPKIT_SPOOL_MAX_BYTES` and `OTLPKIT_SPOOL_FSYNC`, or
    /// [`with_spool_config`](Self::with_spool_config).
    ///
    /// Needs the `spool` feature: without it, asking for a spool (here or
    /// with `OTLPKIT_SPOOL_DIR`) makes `build` fail with
    /// [`BuildError::NotCompiled`] naming the feature.
    pub fn with_spool_dir(self, dir: impl Into<PathBuf>) -> Self {
        self.with_spool_config(SpoolConfig::builder().with_dir(dir))
    }

    /// The disk spool's settings, resolved with this builder's environment
    /// (what they leave unset comes from `OTLPKIT_SPOOL_*`).
    pub fn with_spool_config(mut self, config: SpoolConfigBuilder) -> Self {
        self.spool = SpoolChoice::Config(config);
        self
    }

    /// Spools into `spool`, opened once and shared by the exporters of a
    /// pipeline (each signal has its own log in it); `None` for no spool,
    /// whatever `OTLPKIT_SPOOL_DIR` says.
    #[cfg(feature = "spool")]
    #[cfg_attr(docsrs, doc(cfg(feature = "spool")))]
    pub fn with_spool(mut self, spool: Option<Spool>) -> Self {
        self.spool = SpoolChoice::Open(spool);
        self
    }

    /// Opens the signal's lane of the spool chosen for this exporter.
    fn spool_lane(
        &mut self,
        env: &(dyn EnvSource + Send + Sync),
    ) -> Result<Option<SpoolLane>, BuildError> {
        let config = match std::mem::replace(&mut self.spool, SpoolChoice::Unset) {
            #[cfg(feature = "spool")]
            SpoolChoice::Open(spool) => {
                return Ok(spool.map(|spool| spool.lane(E::SIGNAL)).transpose()?);
            }
            SpoolChoice::Unset if self.resolved.is_some() => return Ok(None),
            SpoolChoice::Unset => SpoolConfig::builder(),
            SpoolChoice::Config(config) => config,
        };
        let resolved = config.build(env)?;
        for warning in &resolved.warnings {
            diag::emit(
                LogLevel::Warn,
                format_args!("{} exporter: {warning}", E::SIGNAL),
            );
        }
        #[cfg(feature = "spool")]
        match Spool::open(&resolved.value)? {
            Some(spool) => Ok(Some(spool.lane(E::SIGNAL)?)),
            None => Ok(None),
        }
        #[cfg(not(feature = "spool"))]
        if resolved.value.is_enabled() {
            // Asked for and not compiled in: an error, never a silent
            // export without the spool.
            Err(BuildError::NotCompiled {
                capability: match resolved.value.sources().dir.var() {
                    Some(_) => "the disk spool (OTLPKIT_SPOOL_DIR)",
                    None => "the disk spool (ExporterBuilder::with_spool_dir)",
                },
                feature: "spool",
                transport: E::Transport::NAME,
            })
        } else {
            Ok(None)
        }
    }

    fn env(&self) -> Arc<dyn EnvSource + Send + Sync> {
        self.env.clone().unwrap_or_else(|| Arc::new(ProcessEnv))
    }

    /// Resolves the configuration, checks it against the transport, starts
    /// (or adopts) the worker and connects the transport on it.
    fn build_core(mut self) -> Result<Core, BuildError> {
        let signal = E::SIGNAL;
        let env = self.env();
        let lane = self.spool_lane(&*env)?;
        let config = match self.resolved {
            Some(config) => {
                if let Some(method) = self.touched {
                    return Err(BuildError::ConflictingConfig { method });
                }
                config
            }
            None => {
                let resolved = self.config.build(&*env)?;
                for warning in &resolved.warnings {
                    // Warnings never carry header values.
                    diag::emit(LogLevel::Warn, format_args!("{signal} exporter: {warning}"));
                }
                resolved.into_value()
            }
        };
        if config.signal() != signal {
            return Err(BuildError::WrongSignal {
                expected: signal,
                found: config.signal(),
            });
        }
        E::Transport::check_protocol(signal, config.protocol())?;
        let (worker, owns_worker) = match self.worker {
            Some(worker) if worker.is_running() => (worker, false),
            Some(_) => return Err(BridgeError::WorkerGone.into()),
            None => (WorkerRuntime::start(EXPORT_WORKER_NAME)?, true),
        };
        let transport = {
            // Clients that spawn background tasks spawn them on the worker.
            let _context = worker.handle().enter();
            E::Transport::connect(&config)?
        };
        Ok(Core::new(
            config,
            Arc::new(transport),
            worker,
            owns_worker,
            self.stats.unwrap_or_default(),
            lane,
        ))
    }
}

impl<T: Connect> ExporterBuilder<SpanExporter<T>> {
    /// Resolves the configuration and builds the exporter. The transport
    /// connects lazily: no connection is made yet.
    ///
    /// # Errors
    ///
    /// [`BuildError`] names what is wrong with the configuration.
    pub fn build(self) -> Result<SpanExporter<T>, BuildError> {
        Ok(SpanExporter::new(self.build_core()?))
    }
}

impl<T: Connect> ExporterBuilder<LogExporter<T>> {
    /// Resolves the configuration and builds the exporter. The transport
    /// connects lazily: no connection is made yet.
    ///
    /// # Errors
    ///
    /// [`BuildError`] names what is wrong with the configuration.
    pub fn build(self) -> Result<LogExporter<T>, BuildError> {
        Ok(LogExporter::new(self.build_core()?))
    }
}

impl<T: Connect> ExporterBuilder<MetricExporter<T>> {
    /// The aggregation temporality preference (checklist 3.11). Default:
    /// `OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE`, else cumulative.
    pub fn with_temporality_preference(mut self, preference: TemporalityPreference) -> Self {
        self.temporality = Some(preference);
        self
    }

    /// Resolves the configuration and builds the exporter. The transport
    /// connects lazily: no connection is made yet.
    ///
    /// # Errors
    ///
    /// [`BuildError`] names what is wrong with the configuration.
    pub fn build(mut self) -> Result<MetricExporter<T>, BuildError> {
        let preference = match self.temporality.take() {
            Some(preference) => preference,
            None => {
                let resolved = MetricReaderConfig::builder().build(&*self.env())?;
                for warning in &resolved.warnings {
                    if warning.var() == vars::OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE {
                        diag::emit(LogLevel::Warn, format_args!("metrics exporter: {warning}"));
                    }
                }
                resolved.value.temporality_preference()
            }
        };
        Ok(MetricExporter::new(self.build_core()?, preference))
    }
}
