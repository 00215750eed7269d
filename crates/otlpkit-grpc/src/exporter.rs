//! The builder and the core that the span, log and metric exporters share:
//! configuration, the channel, the worker runtime, the counters, and the
//! export and shutdown paths.

use std::fmt;
use std::future::Future;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use bytes::Bytes;
use opentelemetry_sdk::error::{OTelSdkError, OTelSdkResult};
use otlpkit_bridge::{BridgeError, WorkerRuntime};
use otlpkit_core::export::{
    Accepted, BatchLimits, BatchRequest, DropReason, ExportFailure, ExportStats, export_batch,
};
use otlpkit_core::{
    Compression, EnvPolicy, EnvSource, ExporterConfig, ExporterConfigBuilder, Headers, ProcessEnv,
    Protocol, RetryPolicy, Signal,
};
use tokio::sync::watch;

use crate::BuildError;
use crate::client::GrpcClient;

/// Name of the worker thread an exporter starts when it is given none.
pub(crate) const WORKER_NAME: &str = "otlpkit-export";

/// After the shutdown timeout, how long in-flight exports get to notice the
/// cancellation and count their items.
const CANCEL_GRACE: Duration = Duration::from_millis(200);

/// How often, at most, one exporter logs a failed export.
const FAILURE_LOG_INTERVAL: Duration = Duration::from_secs(10);

/// The shared, signal-independent part of the three builders.
pub(crate) struct ExporterBuilder {
    signal: Signal,
    config: ExporterConfigBuilder,
    /// The first configuration method called, to report a conflict with
    /// `with_config`.
    touched: Option<&'static str>,
    resolved: Option<ExporterConfig>,
    env: Option<Arc<dyn EnvSource + Send + Sync>>,
    worker: Option<WorkerRuntime>,
    stats: Option<ExportStats>,
}

impl fmt::Debug for ExporterBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Both configuration types redact header values and passwords.
        f.debug_struct("ExporterBuilder")
            .field("signal", &self.signal)
            .field("config", &self.config)
            .field("resolved", &self.resolved)
            .field(
                "env",
                &if self.env.is_some() {
                    "custom"
                } else {
                    "process"
                },
            )
            .field("worker", &self.worker)
            .field("stats", &self.stats.is_some())
            .finish()
    }
}

impl ExporterBuilder {
    pub(crate) fn new(signal: Signal) -> Self {
        Self {
            signal,
            config: ExporterConfig::builder(signal).with_protocol(Protocol::Grpc),
            touched: None,
            resolved: None,
            env: None,
            worker: None,
            stats: None,
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

    pub(crate) fn with_config(mut self, config: ExporterConfig) -> Self {
        self.resolved = Some(config);
        self
    }

    pub(crate) fn with_env(mut self, env: impl EnvSource + Send + Sync + 'static) -> Self {
        self.env = Some(Arc::new(env));
        self
    }

    pub(crate) fn with_env_policy(self, policy: EnvPolicy) -> Self {
        self.configure("with_env_policy", |c| c.with_env_policy(policy))
    }

    pub(crate) fn with_endpoint(self, endpoint: String) -> Self {
        self.configure("with_endpoint", |c| c.with_endpoint(endpoint))
    }

    pub(crate) fn with_header(self, key: String, value: String) -> Self {
        self.configure("with_header", |c| c.with_header(key, value))
    }

    pub(crate) fn with_headers(self, headers: Headers) -> Self {
        self.configure("with_headers", |c| c.with_headers(headers))
    }

    pub(crate) fn with_timeout(self, timeout: Option<Duration>) -> Self {
        self.configure("with_timeout", |c| c.with_timeout(timeout))
    }

    pub(crate) fn with_compression(self, compression: Compression) -> Self {
        self.configure("with_compression", |c| c.with_compression(compression))
    }

    pub(crate) fn with_certificate(self, path: PathBuf) -> Self {
        self.configure("with_certificate", |c| c.with_certificate(path))
    }

    pub(crate) fn with_client_key(self, path: PathBuf) -> Self {
        self.configure("with_client_key", |c| c.with_client_key(path))
    }

    pub(crate) fn with_client_certificate(self, path: PathBuf) -> Self {
        self.configure("with_client_certificate", |c| {
            c.with_client_certificate(path)
        })
    }

    pub(crate) fn with_insecure(self, insecure: bool) -> Self {
        self.configure("with_insecure", |c| c.with_insecure(insecure))
    }

    pub(crate) fn with_max_request_size(self, bytes: usize) -> Self {
        self.configure("with_max_request_size", |c| c.with_max_request_size(bytes))
    }

    pub(crate) fn with_max_response_size(self, bytes: usize) -> Self {
        self.configure("with_max_response_size", |c| {
            c.with_max_response_size(bytes)
        })
    }

    pub(crate) fn with_retry_policy(self, policy: RetryPolicy) -> Self {
        self.configure("with_retry_policy", |c| c.with_retry_policy(policy))
    }

    pub(crate) fn with_worker(mut self, worker: WorkerRuntime) -> Self {
        self.worker = Some(worker);
        self
    }

    pub(crate) fn with_stats(mut self, stats: ExportStats) -> Self {
        self.stats = Some(stats);
        self
    }

    /// The environment the builder resolves against (for the metric
    /// exporter's temporality preference).
    pub(crate) fn env(&self) -> Arc<dyn EnvSource + Send + Sync> {
        self.env.clone().unwrap_or_else(|| Arc::new(ProcessEnv))
    }

    pub(crate) fn build(self) -> Result<ExporterCore, BuildError> {
        let signal = self.signal;
        let config = match self.resolved {
            Some(config) => {
                if let Some(method) = self.touched {
                    return Err(BuildError::ConflictingConfig { method });
                }
                config
            }
            None => {
                let env = self.env.clone().unwrap_or_else(|| Arc::new(ProcessEnv));
                let resolved = self.config.build(&*env)?;
                for warning in &resolved.warnings {
                    log_warning(format_args!("otlpkit: {signal} exporter: {warning}"));
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
        if config.protocol() != Protocol::Grpc {
            return Err(BuildError::WrongProtocol {
                signal,
                protocol: config.protocol(),
            });
        }
        crate::tls::require_tls_support(config.endpoint(), cfg!(feature = "tls"))?;
        let metadata = crate::metadata::to_metadata(config.headers())?;
        let (worker, owns_worker) = match self.worker {
            Some(worker) if worker.is_running() => (worker, false),
            Some(_) => return Err(BuildError::Worker(BridgeError::WorkerGone)),
            None => (WorkerRuntime::start(WORKER_NAME)?, true),
        };
        let client = {
            // tonic spawns the channel's task on the runtime in context.
            let _context = worker.handle().enter();
            GrpcClient::new(&config, metadata)?
        };
        let (phase, _) = watch::channel(Phase::Running);
        Ok(ExporterCore {
            inner: Arc::new(Inner {
                signal,
                config,
                client,
                worker,
                owns_worker,
                stats: self.stats.unwrap_or_default(),
                phase,
                in_flight: Mutex::new(0),
                idle: Condvar::new(),
                last_failure_log: AtomicU64::new(0),
                epoch: Instant::now(),
            }),
        })
    }
}

/// Where the exporter is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// Exports are accepted.
    Running,
    /// `shutdown` was called: new exports are refused, in-flight ones may
    /// finish until the shutdown timeout.
    ShuttingDown,
    /// The shutdown timeout passed: in-flight exports stop and count their
    /// items as dropped.
    Cancelled,
}

/// The exporter core; cheap to clone, safe to use from any thread, and safe
/// to call concurrently (each call is one independent request).
#[derive(Clone)]
pub(crate) struct ExporterCore {
    inner: Arc<Inner>,
}

struct Inner {
    signal: Signal,
    config: ExporterConfig,
    client: GrpcClient,
    worker: WorkerRuntime,
    owns_worker: bool,
    stats: ExportStats,
    phase: watch::Sender<Phase>,
    in_flight: Mutex<usize>,
    idle: Condvar,
    /// Milliseconds since `epoch` of the last failure log, plus one.
    last_failure_log: AtomicU64,
    epoch: Instant,
}

impl fmt::Debug for ExporterCore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let inner = &self.inner;
        f.debug_struct("GrpcExporter")
            .field("signal", &inner.signal)
            .field("endpoint", &inner.client.origin())
            .field("config", &inner.config)
            .field("worker", &inner.worker)
            .field("owns_worker", &inner.owns_worker)
            .field("phase", &*inner.phase.borrow())
            .field("in_flight", &*inner.lock_in_flight())
            .finish()
    }
}

impl ExporterCore {
    pub(crate) fn config(&self) -> &ExporterConfig {
        &self.inner.config
    }

    pub(crate) fn stats(&self) -> &ExportStats {
        &self.inner.stats
    }

    pub(crate) fn is_shut_down(&self) -> bool {
        *self.inner.phase.borrow() != Phase::Running
    }

    /// Sends one encoded request of `items` items on the worker runtime,
    /// with retries, and accounts for every item. The returned future only
    /// waits for the worker: it needs no runtime of its own.
    ///
    /// `encoded_from` is what `body` was encoded from (a span batch): it is
    /// dropped by the caller's thread while the worker sends, not before the
    /// send starts, so that freeing the batch overlaps with the network.
    pub(crate) fn export<Spent: Send + 'static>(
        &self,
        items: u64,
        body: Bytes,
        encoded_from: Spent,
    ) -> impl Future<Output = OTelSdkResult> + Send + 'static {
        let inner = Arc::clone(&self.inner);
        async move {
            let stats = inner.stats.signal(inner.signal);
            if *inner.phase.borrow() != Phase::Running || !inner.worker.is_running() {
                stats.record_dropped(DropReason::AfterShutdown, items);
                return Err(OTelSdkError::AlreadyShutdown);
            }
            if items == 0 {
                // checklist 2.12: no empty envelopes.
                return Ok(());
            }
            let guard = InFlight::enter(&inner);
            let task = Arc::clone(&inner);
            let pending = inner.worker.submit(async move {
                let _guard = guard;
                task.send_batch(items, body).await
            });
            drop(encoded_from);
            let outcome = pending.await;
            match outcome {
                Ok(result) => result,
                Err(error) => {
                    // The batch was never settled (the worker stopped at the
                    // shutdown deadline, or the send panicked inside a
                    // library), so none of its items has been counted yet.
                    let reason = match error {
                        BridgeError::Panicked(_) => DropReason::Internal,
                        _ => DropReason::ShutdownDeadline,
                    };
                    stats.record_dropped(reason, items);
                    Err(OTelSdkError::InternalFailure(format!(
                        "otlpkit: {} export abandoned: {error}",
                        inner.signal
                    )))
                }
            }
        }
    }

    /// Stops accepting exports, lets in-flight ones finish within `timeout`,
    /// then cancels them (their items are counted as
    /// [`DropReason::ShutdownDeadline`]) and stops an owned worker. A second
    /// call returns `Ok` at once.
    pub(crate) fn shutdown(&self, timeout: Duration) -> OTelSdkResult {
        let inner = &self.inner;
        let first = inner.phase.send_if_modified(|phase| {
            let first = *phase == Phase::Running;
            if first {
                *phase = Phase::ShuttingDown;
            }
            first
        });
        if !first {
            return Ok(());
        }
        let started = Instant::now();
        // On the worker thread, waiting would stop the very exports we wait for.
        let can_wait = !inner.worker.is_worker_thread();
        let drained = if can_wait {
            inner.wait_idle(timeout)
        } else {
            *inner.lock_in_flight() == 0
        };
        if !drained {
            inner.phase.send_replace(Phase::Cancelled);
            if can_wait {
                inner.wait_idle(CANCEL_GRACE);
            }
        }
        if inner.owns_worker {
            let left = timeout.saturating_sub(started.elapsed()).max(CANCEL_GRACE);
            // Bounded; a worker that does not stop in time is detached.
            let _ = inner.worker.shutdown(left);
        }
        if drained {
            Ok(())
        } else {
            Err(OTelSdkError::Timeout(timeout))
        }
    }
}

impl Inner {
    fn lock_in_flight(&self) -> MutexGuard<'_, usize> {
        // The counter is a plain integer: a panic elsewhere cannot tear it.
        self.in_flight
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// Waits until no export is in flight, at most `limit`.
    fn wait_idle(&self, limit: Duration) -> bool {
        let guard = self.lock_in_flight();
        let (guard, _) = self
            .idle
            .wait_timeout_while(guard, limit, |count| *count > 0)
            .unwrap_or_else(PoisonError::into_inner);
        *guard == 0
    }

    /// Runs on the worker: the retry loop around single attempts, raced
    /// against a shutdown that ran out of time.
    async fn send_batch(self: Arc<Self>, items: u64, body: Bytes) -> OTelSdkResult {
        let stats = self.stats.signal(self.signal);
        let mut phase = self.phase.subscribe();
        let config = &self.config;
        let export = export_batch(
            BatchRequest::new(self.signal, items, body.len()),
            BatchLimits::new(
                config.retry_policy(),
                config.timeout(),
                config.max_request_size(),
            ),
            stats,
            |attempt| {
                let body = body.clone();
                let client = &self.client;
                async move { client.send(body, attempt, stats).await }
            },
            tokio::time::sleep,
        );
        tokio::select! {
            biased;
            result = export => self.settle(items, result),
            _ = phase.wait_for(|phase| *phase == Phase::Cancelled) => {
                stats.record_dropped(DropReason::ShutdownDeadline, items);
                Err(OTelSdkError::InternalFailure(format!(
                    "otlpkit: {} export cancelled: the shutdown timeout passed",
                    self.signal
                )))
            }
        }
    }

    fn settle(&self, items: u64, result: Result<Accepted, ExportFailure>) -> OTelSdkResult {
        match result {
            Ok(_) => Ok(()),
            Err(failure) => {
                if self.failure_log_due() {
                    log_warning(format_args!(
                        "otlpkit: dropped {items} {} sent to {}: {failure}",
                        item_name(self.signal),
                        self.client.origin()
                    ));
                }
                Err(OTelSdkError::InternalFailure(format!(
                    "otlpkit: {} to {}: {failure}",
                    item_name(self.signal),
                    self.client.origin()
                )))
            }
        }
    }

    fn failure_log_due(&self) -> bool {
        let now = u64::try_from(self.epoch.elapsed().as_millis())
            .unwrap_or(u64::MAX)
            .saturating_add(1);
        let previous = self.last_failure_log.load(Ordering::Relaxed);
        let interval = u64::try_from(FAILURE_LOG_INTERVAL.as_millis()).unwrap_or(u64::MAX);
        (previous == 0 || now.saturating_sub(previous) >= interval)
            && self
                .last_failure_log
                .compare_exchange(previous, now, Ordering::Relaxed, Ordering::Relaxed)
                .is_ok()
    }
}

/// Marks one export in flight until dropped (on whichever thread).
struct InFlight {
    inner: Arc<Inner>,
}

impl InFlight {
    fn enter(inner: &Arc<Inner>) -> Self {
        *inner.lock_in_flight() += 1;
        Self {
            inner: Arc::clone(inner),
        }
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        let mut count = self.inner.lock_in_flight();
        *count = count.saturating_sub(1);
        if *count == 0 {
            self.inner.idle.notify_all();
        }
    }
}

fn item_name(signal: Signal) -> &'static str {
    match signal {
        Signal::Traces => "spans",
        Signal::Metrics => "metric data points",
        Signal::Logs => "log records",
        // `Signal` is non-exhaustive; a new signal gets a generic name.
        _ => "items",
    }
}

/// The exporter's own warnings (never containing header values).
pub(crate) fn log_warning(message: fmt::Arguments<'_>) {
    #[cfg(feature = "internal-logs")]
    tracing::warn!(target: "otlpkit", "{message}");
    #[cfg(not(feature = "internal-logs"))]
    let _ = message;
}

/// Generates the configuration methods every signal's builder forwards to
/// [`ExporterBuilder`].
macro_rules! builder_methods {
    ($builder:ident) => {
        impl $builder {
            /// Uses an already resolved configuration (for example
            /// [`OtlpConfig::exporter`](otlpkit_core::OtlpConfig::exporter))
            /// instead of resolving one from the builder's settings and the
            /// environment. It must be for this signal and the `grpc`
            /// protocol, and cannot be combined with the other configuration
            /// methods ([`BuildError::ConflictingConfig`](crate::BuildError::ConflictingConfig)).
            pub fn with_config(mut self, config: otlpkit_core::ExporterConfig) -> Self {
                self.inner = self.inner.with_config(config);
                self
            }

            /// The environment to read `OTEL_*` variables from (default: the
            /// process environment).
            pub fn with_env(
                mut self,
                env: impl otlpkit_core::EnvSource + Send + Sync + 'static,
            ) -> Self {
                self.inner = self.inner.with_env(env);
                self
            }

            /// How configuration warnings are treated (default: logged and
            /// ignored, as the specification asks).
            pub fn with_env_policy(mut self, policy: otlpkit_core::EnvPolicy) -> Self {
                self.inner = self.inner.with_env_policy(policy);
                self
            }

            /// The collector's address: `http://host:port` (plaintext),
            /// `https://host:port` (TLS), or `host:port` (TLS unless
            /// [`with_insecure`](Self::with_insecure)). Default
            /// `http://localhost:4317`, or `OTEL_EXPORTER_OTLP[_<SIGNAL>]_ENDPOINT`.
            pub fn with_endpoint(mut self, endpoint: impl Into<String>) -> Self {
                self.inner = self.inner.with_endpoint(endpoint.into());
                self
            }

            /// Adds a request header, sent as gRPC metadata (the key is
            /// lowercased). Headers set in code replace those of the
            /// environment.
            pub fn with_header(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
                self.inner = self.inner.with_header(key.into(), value.into());
                self
            }

            /// Sets all request headers, replacing earlier ones.
            pub fn with_headers(mut self, headers: otlpkit_core::Headers) -> Self {
                self.inner = self.inner.with_headers(headers);
                self
            }

            /// Time allowed for one export, all attempts and waits included;
            /// `None` for no limit. Default 10 s, or
            /// `OTEL_EXPORTER_OTLP[_<SIGNAL>]_TIMEOUT`.
            pub fn with_timeout(mut self, timeout: Option<std::time::Duration>) -> Self {
                self.inner = self.inner.with_timeout(timeout);
                self
            }

            /// Request compression (`grpc-encoding`): none, gzip or zstd.
            pub fn with_compression(mut self, compression: otlpkit_core::Compression) -> Self {
                self.inner = self.inner.with_compression(compression);
                self
            }

            /// The CA certificate (PEM) the server's certificate must chain
            /// to; it replaces the built-in roots.
            pub fn with_certificate(mut self, path: impl Into<std::path::PathBuf>) -> Self {
                self.inner = self.inner.with_certificate(path.into());
                self
            }

            /// The client private key (PEM) for mTLS.
            pub fn with_client_key(mut self, path: impl Into<std::path::PathBuf>) -> Self {
                self.inner = self.inner.with_client_key(path.into());
                self
            }

            /// The client certificate chain (PEM) for mTLS.
            pub fn with_client_certificate(mut self, path: impl Into<std::path::PathBuf>) -> Self {
                self.inner = self.inner.with_client_certificate(path.into());
                self
            }

            /// Plaintext for an endpoint given without a scheme.
            pub fn with_insecure(mut self, insecure: bool) -> Self {
                self.inner = self.inner.with_insecure(insecure);
                self
            }

            /// Largest encoded request; a larger batch is not sent and its
            /// items are counted as oversized (default 64 MiB).
            pub fn with_max_request_size(mut self, bytes: usize) -> Self {
                self.inner = self.inner.with_max_request_size(bytes);
                self
            }

            /// Largest response accepted (default 4 MiB); a larger one fails
            /// the export without retry.
            pub fn with_max_response_size(mut self, bytes: usize) -> Self {
                self.inner = self.inner.with_max_response_size(bytes);
                self
            }

            /// How transient failures are retried.
            pub fn with_retry_policy(mut self, policy: otlpkit_core::RetryPolicy) -> Self {
                self.inner = self.inner.with_retry_policy(policy);
                self
            }

            /// Runs the network I/O on this worker instead of starting a
            /// worker thread of the exporter's own. A shared worker is not
            /// stopped by the exporter's shutdown.
            pub fn with_worker(mut self, worker: otlpkit_bridge::WorkerRuntime) -> Self {
                self.inner = self.inner.with_worker(worker);
                self
            }

            /// Counts into these (shared) counters instead of fresh ones.
            pub fn with_stats(mut self, stats: otlpkit_core::export::ExportStats) -> Self {
                self.inner = self.inner.with_stats(stats);
                self
            }
        }
    };
}

pub(crate) use builder_methods;

#[cfg(test)]
mod tests {
    use super::*;
    use otlpkit_core::MapEnv;

    fn grpc_config(signal: Signal) -> ExporterConfig {
        ExporterConfig::builder(signal)
            .with_protocol(Protocol::Grpc)
            .with_endpoint("http://127.0.0.1:4317")
            .build(&MapEnv::new())
            .unwrap()
            .into_value()
    }

    #[test]
    fn a_resolved_configuration_is_used_as_is() {
        let core = ExporterBuilder::new(Signal::Logs)
            .with_config(grpc_config(Signal::Logs))
            .build()
            .unwrap();
        assert_eq!(core.config().endpoint().as_str(), "http://127.0.0.1:4317/");
        core.shutdown(Duration::from_secs(1)).unwrap();
    }

    #[test]
    fn a_resolved_configuration_must_fit_the_exporter() {
        let error = ExporterBuilder::new(Signal::Traces)
            .with_config(grpc_config(Signal::Traces))
            .with_timeout(None)
            .build()
            .unwrap_err();
        assert!(
            matches!(
                error,
                BuildError::ConflictingConfig {
                    method: "with_timeout"
                }
            ),
            "{error:?}"
        );
        let error = ExporterBuilder::new(Signal::Traces)
            .with_config(grpc_config(Signal::Metrics))
            .build()
            .unwrap_err();
        assert!(matches!(error, BuildError::WrongSignal { .. }), "{error:?}");
        let http = ExporterConfig::builder(Signal::Traces)
            .build(&MapEnv::new())
            .unwrap()
            .into_value();
        let error = ExporterBuilder::new(Signal::Traces)
            .with_config(http)
            .build()
            .unwrap_err();
        assert!(error.to_string().contains("http/protobuf"), "{error}");
    }

    // checklist 1.3, 1.8: the environment supplies what code does not; the protocol of
    // this exporter is grpc whatever OTEL_EXPORTER_OTLP_PROTOCOL says.
    #[test]
    fn the_environment_fills_in_what_code_does_not() {
        let env = MapEnv::new()
            .with("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf")
            .with("OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:4317")
            .with("OTEL_EXPORTER_OTLP_TRACES_TIMEOUT", "2500")
            .with("OTEL_EXPORTER_OTLP_COMPRESSION", "zstd");
        let core = ExporterBuilder::new(Signal::Traces)
            .with_env(env)
            .with_timeout(Some(Duration::from_secs(1)))
            .build()
            .unwrap();
        let config = core.config();
        assert_eq!(config.protocol(), Protocol::Grpc);
        // No `v1/traces` for gRPC.
        assert_eq!(config.endpoint().as_str(), "http://127.0.0.1:4317/");
        assert_eq!(config.timeout(), Some(Duration::from_secs(1)));
        assert_eq!(config.compression(), Compression::Zstd);
        core.shutdown(Duration::from_secs(1)).unwrap();
    }
}
