//! The builder shared by the three exporters, and the exporter core they
//! wrap: configuration, the transport, the worker runtime, the counters and
//! the shutdown state.

use std::fmt;
use std::marker::PhantomData;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use opentelemetry::Context;
use opentelemetry::context::FutureExt as _;
use opentelemetry_sdk::error::{OTelSdkError, OTelSdkResult};
use otlpkit_bridge::WorkerRuntime;
use otlpkit_core::export::{
    Attempt, BatchLimits, BatchRequest, DropReason, ExportError, ExportStats, export_batch,
};
use otlpkit_core::{
    Compression, EnvSource, ExporterConfig, ExporterConfigBuilder, Headers, ProcessEnv, Protocol,
    RetryPolicy, Signal, TemporalityPreference,
};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::client::Transport;
use crate::compress::{self, Codec};
use crate::encode::{self, Encoding, OtlpRequest};
use crate::error::BuildError;

/// Name of the worker thread an exporter starts when it is not given one.
pub const WORKER_THREAD_NAME: &str = "otlpkit-export";

/// Extra time, beyond a shutdown's timeout, allowed for the worker to report.
const SHUTDOWN_SLACK: Duration = Duration::from_millis(200);

/// Builds an OTLP/HTTP exporter of one signal: [`HttpSpanExporter`](crate::HttpSpanExporter),
/// [`HttpLogExporter`](crate::HttpLogExporter) or [`HttpMetricExporter`](crate::HttpMetricExporter).
///
/// Every option resolves with otlpkit's precedence: a `with_*` value set here
/// wins over the signal-specific `OTEL_EXPORTER_OTLP_<SIGNAL>_*` variable,
/// which wins over the general `OTEL_EXPORTER_OTLP_*` variable, which wins
/// over the specification default. The environment is the process
/// environment unless [`with_env`](Self::with_env) supplies another.
///
/// `Debug` never shows header values.
///
/// ```no_run
/// use std::time::Duration;
/// use otlpkit_core::Compression;
/// use otlpkit_http::HttpSpanExporter;
///
/// let exporter = HttpSpanExporter::builder()
///     .with_endpoint("https://collector.example:4318/v1/traces")
///     .with_header("authorization", "Bearer s3cr3t")
///     .with_compression(Compression::Gzip)
///     .with_timeout(Some(Duration::from_secs(5)))
///     .build()?;
/// # Ok::<(), otlpkit_http::BuildError>(())
/// ```
#[must_use]
pub struct HttpExporterBuilder<E> {
    signal: Signal,
    config: ExporterConfigBuilder,
    resolved: Option<ExporterConfig>,
    /// The first builder setting made, for the conflict check with `resolved`.
    touched: Option<&'static str>,
    env: Option<Arc<dyn EnvSource + Send + Sync>>,
    worker: Option<WorkerRuntime>,
    stats: Option<ExportStats>,
    pub(crate) temporality: Option<TemporalityPreference>,
    _exporter: PhantomData<fn() -> E>,
}

impl<E> fmt::Debug for HttpExporterBuilder<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // ExporterConfigBuilder and ExporterConfig redact header values and
        // endpoint passwords themselves; query strings are redacted here.
        f.debug_struct("HttpExporterBuilder")
            .field("signal", &self.signal)
            .field("config", &RedactQueries(&self.config))
            .field("resolved", &RedactQueries(&self.resolved))
            .field("env", &self.env.as_ref().map(|_| "<custom>"))
            .field("worker", &self.worker)
            .field("stats", &self.stats.is_some())
            .field("temporality", &self.temporality)
            .finish()
    }
}

impl<E> HttpExporterBuilder<E> {
    pub(crate) fn new(signal: Signal) -> Self {
        Self {
            signal,
            config: ExporterConfig::builder(signal),
            resolved: None,
            touched: None,
            env: None,
            worker: None,
            stats: None,
            temporality: None,
            _exporter: PhantomData,
        }
    }

    fn set(
        mut self,
        method: &'static str,
        f: impl FnOnce(ExporterConfigBuilder) -> ExporterConfigBuilder,
    ) -> Self {
        self.touched.get_or_insert(method);
        self.config = f(self.config);
        self
    }

    /// The signal this builder's exporter sends.
    pub fn signal(&self) -> Signal {
        self.signal
    }

    /// The endpoint: the full URL to `POST` to, used as-is like
    /// `OTEL_EXPORTER_OTLP_<SIGNAL>_ENDPOINT` (for example
    /// `http://collector:4318/v1/traces`; a URL without a path gets `/`).
    pub fn with_endpoint(self, endpoint: impl Into<String>) -> Self {
        let endpoint = endpoint.into();
        self.set("with_endpoint", |c| c.with_endpoint(endpoint))
    }

    /// The protocol: `http/protobuf` (the default) or `http/json`.
    pub fn with_protocol(self, protocol: Protocol) -> Self {
        self.set("with_protocol", |c| c.with_protocol(protocol))
    }

    /// Adds one request header; headers set in code replace every header
    /// from the environment. Values are secret: never logged or shown.
    pub fn with_header(self, key: impl Into<String>, value: impl Into<String>) -> Self {
        let (key, value) = (key.into(), value.into());
        self.set("with_header", |c| c.with_header(key, value))
    }

    /// Sets all request headers.
    pub fn with_headers(self, headers: Headers) -> Self {
        self.set("with_headers", |c| c.with_headers(headers))
    }

    /// Time allowed for one export, all attempts and waits included; `None`
    /// means no limit (default 10 s).
    pub fn with_timeout(self, timeout: Option<Duration>) -> Self {
        self.set("with_timeout", |c| c.with_timeout(timeout))
    }

    /// Body compression: none (the default), gzip or zstd.
    pub fn with_compression(self, compression: Compression) -> Self {
        self.set("with_compression", |c| c.with_compression(compression))
    }

    /// A PEM file of CA certificates to trust instead of the default roots.
    pub fn with_certificate(self, path: impl Into<PathBuf>) -> Self {
        let path = path.into();
        self.set("with_certificate", |c| c.with_certificate(path))
    }

    /// The client private key (PEM) for mTLS; needs
    /// [`with_client_certificate`](Self::with_client_certificate).
    pub fn with_client_key(self, path: impl Into<PathBuf>) -> Self {
        let path = path.into();
        self.set("with_client_key", |c| c.with_client_key(path))
    }

    /// The client certificate chain (PEM) for mTLS; needs
    /// [`with_client_key`](Self::with_client_key).
    pub fn with_client_certificate(self, path: impl Into<PathBuf>) -> Self {
        let path = path.into();
        self.set("with_client_certificate", |c| {
            c.with_client_certificate(path)
        })
    }

    /// Largest encoded request, before compression (default 64 MiB); a
    /// larger batch is not sent and its items are counted as
    /// [`DropReason::Oversized`].
    pub fn with_max_request_size(self, bytes: usize) -> Self {
        self.set("with_max_request_size", |c| c.with_max_request_size(bytes))
    }

    /// Largest response body accepted (default 4 MiB); a larger one fails
    /// the export without retry.
    pub fn with_max_response_size(self, bytes: usize) -> Self {
        self.set("with_max_response_size", |c| {
            c.with_max_response_size(bytes)
        })
    }

    /// How transient failures are retried.
    pub fn with_retry_policy(self, policy: RetryPolicy) -> Self {
        self.set("with_retry_policy", |c| c.with_retry_policy(policy))
    }

    /// Starts from an [`ExporterConfigBuilder`] (of this signal) instead of an
    /// empty one; later `with_*` calls apply on top of it.
    pub fn with_config_builder(mut self, config: ExporterConfigBuilder) -> Self {
        self.touched.get_or_insert("with_config_builder");
        self.config = config;
        self
    }

    /// Uses a configuration resolved elsewhere (for example by
    /// `OtlpConfig`), as is. It cannot be combined with the configuration
    /// setters of this builder: `build` fails
    /// with [`BuildError::ConflictingSettings`] rather than ignore them.
    pub fn with_config(mut self, config: ExporterConfig) -> Self {
        self.resolved = Some(config);
        self
    }

    /// Reads `OTEL_*` variables from `env` instead of the process
    /// environment.
    pub fn with_env(mut self, env: impl EnvSource + Send + Sync + 'static) -> Self {
        self.env = Some(Arc::new(env));
        self
    }

    /// Runs the exporter's network I/O on `worker` instead of a worker
    /// thread of its own. The worker keeps running when the exporter shuts
    /// down.
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

    /// The environment to resolve from.
    pub(crate) fn env(&self) -> Arc<dyn EnvSource + Send + Sync> {
        self.env.clone().unwrap_or_else(|| Arc::new(ProcessEnv))
    }

    /// Resolves the configuration and builds the shared core.
    pub(crate) fn build_core(self) -> Result<ExporterCore, BuildError> {
        let env = self.env();
        let config = match self.resolved {
            Some(config) => {
                if let Some(method) = self.touched {
                    return Err(BuildError::ConflictingSettings { method });
                }
                config
            }
            None => {
                if self.config.signal() != self.signal {
                    return Err(BuildError::SignalMismatch {
                        expected: self.signal,
                        found: self.config.signal(),
                    });
                }
                let resolved = self.config.build(&*env)?;
                for warning in &resolved.warnings {
                    // Warnings never carry header values.
                    tracing::warn!(target: "otlpkit", "otlpkit: {warning}");
                }
                resolved.value
            }
        };
        if config.signal() != self.signal {
            return Err(BuildError::SignalMismatch {
                expected: self.signal,
                found: config.signal(),
            });
        }
        ExporterCore::new(config, self.worker, self.stats.unwrap_or_default())
    }
}

/// Shows a value's `Debug` with the query of every URL in it replaced by
/// `<redacted>`: a query can carry an API key.
struct RedactQueries<'a, T>(&'a T);

impl<T: fmt::Debug> fmt::Debug for RedactQueries<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&redact_queries(&format!("{:?}", self.0)))
    }
}

/// Replaces `?query` (up to the end of the quoted string) after every `://`.
fn redact_queries(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find("://") {
        let (before, url) = rest.split_at(start);
        out.push_str(before);
        // The URL ends at the closing quote of its Debug string.
        let end = url.find('"').unwrap_or(url.len());
        let (url, after) = url.split_at(end);
        match url.find('?') {
            Some(query) => {
                out.push_str(&url[..query]);
                out.push_str("?<redacted>");
            }
            None => out.push_str(url),
        }
        rest = after;
    }
    out.push_str(rest);
    out
}

/// The shutdown state shared with the export tasks.
#[derive(Debug, Default)]
struct Lifecycle {
    shut_down: AtomicBool,
    /// Export tasks in flight on the worker.
    tracker: TaskTracker,
    /// Cancels the tasks still in flight when a shutdown's deadline passes.
    abort: CancellationToken,
}

/// Counts a batch's items as dropped at the shutdown deadline (or as
/// [`DropReason::Internal`] if the send panicked) unless the export path
/// accounted for them (it always does once it returns).
struct Unsettled {
    stats: ExportStats,
    signal: Signal,
    items: u64,
    settled: bool,
}

impl Drop for Unsettled {
    fn drop(&mut self) {
        if !self.settled {
            // Dropped while unwinding: the send panicked inside a library.
            // Otherwise the task was cancelled at the shutdown deadline.
            let reason = if std::thread::panicking() {
                DropReason::Internal
            } else {
                DropReason::ShutdownDeadline
            };
            self.stats
                .signal(self.signal)
                .record_dropped(reason, self.items);
        }
    }
}

/// What the three exporters share.
pub(crate) struct ExporterCore {
    signal: Signal,
    protocol: Protocol,
    compression: Compression,
    codec: Codec,
    encoding: Encoding,
    timeout: Option<Duration>,
    max_request_size: usize,
    retry_policy: RetryPolicy,
    header_keys: Vec<String>,
    transport: Arc<Transport>,
    worker: WorkerRuntime,
    owns_worker: bool,
    stats: ExportStats,
    lifecycle: Arc<Lifecycle>,
}

impl fmt::Debug for ExporterCore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HttpExporter")
            .field("signal", &self.signal)
            .field("protocol", &self.protocol)
            .field("endpoint", &self.transport.endpoint())
            .field("headers", &self.header_keys)
            .field("compression", &self.compression)
            .field("timeout", &self.timeout)
            .field("max_request_size", &self.max_request_size)
            .field("retry_policy", &self.retry_policy)
            .field("worker", &self.worker)
            .field("shut_down", &self.is_shut_down())
            .finish()
    }
}

impl ExporterCore {
    fn new(
        config: ExporterConfig,
        worker: Option<WorkerRuntime>,
        stats: ExportStats,
    ) -> Result<ExporterCore, BuildError> {
        let signal = config.signal();
        let encoding = match config.protocol() {
            Protocol::HttpProtobuf => Encoding::Protobuf,
            #[cfg(feature = "json")]
            Protocol::HttpJson => Encoding::Json,
            #[cfg(not(feature = "json"))]
            Protocol::HttpJson => return Err(BuildError::JsonNotCompiled { signal }),
            protocol => return Err(BuildError::UnsupportedProtocol { signal, protocol }),
        };
        let codec = Codec::for_compression(config.compression()).ok_or(
            BuildError::UnsupportedCompression {
                compression: config.compression(),
            },
        )?;
        let (worker, owns_worker) = match worker {
            Some(worker) => (worker, false),
            None => (WorkerRuntime::start(WORKER_THREAD_NAME)?, true),
        };
        let transport = {
            // The client's connection pool belongs to the worker runtime.
            let _runtime = worker.handle().enter();
            Transport::new(&config, encoding, codec)?
        };
        Ok(ExporterCore {
            signal,
            protocol: config.protocol(),
            compression: config.compression(),
            codec,
            encoding,
            timeout: config.timeout(),
            max_request_size: config.max_request_size(),
            retry_policy: *config.retry_policy(),
            header_keys: config.headers().keys().map(str::to_owned).collect(),
            transport: Arc::new(transport),
            worker,
            owns_worker,
            stats,
            lifecycle: Arc::default(),
        })
    }

    pub(crate) fn stats(&self) -> &ExportStats {
        &self.stats
    }

    pub(crate) fn endpoint(&self) -> &str {
        self.transport.endpoint()
    }

    pub(crate) fn is_shut_down(&self) -> bool {
        self.lifecycle.shut_down.load(Ordering::Acquire)
    }

    /// Whether request bodies are protobuf (`http/protobuf`), the encoding
    /// [`prepare_protobuf`](Self::prepare_protobuf) is for.
    pub(crate) fn is_protobuf(&self) -> bool {
        self.encoding == Encoding::Protobuf
    }

    /// Prepares the export of one batch of `items` items: `request` builds
    /// the OTLP request, which is encoded and compressed here, on the
    /// caller's thread, so that [`Prepared::run`] owns everything it needs.
    /// The network I/O, the retries and their waits run on the worker.
    pub(crate) fn prepare<T: OtlpRequest>(
        &self,
        items: u64,
        request: impl FnOnce() -> T,
    ) -> Prepared {
        let encoding = self.encoding;
        Prepared(self.prepare_job(items, || {
            let request = request();
            let body = encode::encode(&request, encoding)?;
            Ok((body, Box::new(request) as Box<dyn Send>))
        }))
    }

    /// Like [`prepare`](Self::prepare), for a protobuf exporter whose body
    /// `encode` writes directly from `data` (otlpkit-wire); `data` is freed
    /// while the worker sends, as `prepare`'s request is.
    pub(crate) fn prepare_protobuf<D: Send + 'static>(
        &self,
        items: u64,
        data: D,
        encode: impl FnOnce(&D) -> Vec<u8>,
    ) -> Prepared {
        debug_assert!(self.is_protobuf(), "prepare_protobuf on a JSON exporter");
        Prepared(self.prepare_job(items, || {
            let body = encode(&data);
            Ok((body, Box::new(data) as Box<dyn Send>))
        }))
    }

    /// The checks, the size limit and the compression around `encode`, which
    /// returns the encoded body and what to free while the worker sends it.
    fn prepare_job(
        &self,
        items: u64,
        encode: impl FnOnce() -> Result<(Vec<u8>, Box<dyn Send>), ExportError>,
    ) -> Result<Job, OTelSdkResult> {
        let signal_stats = self.stats.signal(self.signal);
        if self.is_shut_down() {
            // checklist 3.8: after shutdown every export fails.
            signal_stats.record_dropped(DropReason::AfterShutdown, items);
            return Err(Err(OTelSdkError::AlreadyShutdown));
        }
        if items == 0 {
            // checklist 2.12: no empty envelopes.
            return Err(Ok(()));
        }
        let encoded = encode().and_then(|(body, request)| {
            let encoded_len = body.len();
            // An oversized body is never sent (checklist 1.14): skip the
            // compression, export_batch counts it.
            let body = if encoded_len > self.max_request_size {
                bytes::Bytes::new()
            } else {
                compress::compress(self.codec, body)?
            };
            Ok((body, encoded_len, request))
        });
        let (body, encoded_len, request) = match encoded {
            Ok(encoded) => encoded,
            Err(error) => {
                signal_stats.record_dropped(DropReason::NonRetryable, items);
                return Err(Err(OTelSdkError::InternalFailure(format!(
                    "otlpkit: the {} batch could not be encoded: {error}",
                    self.signal
                ))));
            }
        };
        Ok(Job {
            signal: self.signal,
            items,
            encoded_len,
            body,
            request,
            timeout: self.timeout,
            max_request_size: self.max_request_size,
            retry_policy: self.retry_policy,
            transport: self.transport.clone(),
            worker: self.worker.clone(),
            stats: self.stats.clone(),
            lifecycle: self.lifecycle.clone(),
        })
    }

    /// Shuts the exporter down (checklist 3.8): later exports fail and are
    /// counted as [`DropReason::AfterShutdown`]; exports in flight get until
    /// `timeout` to finish, then are cancelled and counted as
    /// [`DropReason::ShutdownDeadline`]. A worker the exporter started is
    /// stopped too. A second call returns `Ok` at once.
    pub(crate) fn shutdown(&self, timeout: Duration) -> OTelSdkResult {
        if self.lifecycle.shut_down.swap(true, Ordering::AcqRel) {
            return Ok(());
        }
        let started = Instant::now();
        let tracker = self.lifecycle.tracker.clone();
        tracker.close();
        let drained = if tracker.is_empty() {
            true
        } else if self.worker.is_worker_thread() {
            // Blocking here would stop the very runtime the exports need.
            false
        } else {
            let waiting = tracker.clone();
            self.worker
                .block_on(
                    async move { tokio::time::timeout(timeout, waiting.wait()).await.is_ok() },
                    Some(timeout + SHUTDOWN_SLACK),
                )
                .unwrap_or(false)
        };
        if !drained {
            self.lifecycle.abort.cancel();
        }
        if self.owns_worker {
            let remaining = timeout.saturating_sub(started.elapsed());
            // The tasks are cancelled (and counted) when the runtime stops.
            let _ = self.worker.shutdown(remaining.max(SHUTDOWN_SLACK));
        }
        if drained {
            Ok(())
        } else {
            Err(OTelSdkError::Timeout(timeout))
        }
    }
}

/// An export ready to run: a job, or its result when there is nothing to
/// send (shut down, empty batch, encoding failure).
pub(crate) struct Prepared(Result<Job, OTelSdkResult>);

impl Prepared {
    /// Sends the batch (with retries) on the worker and reports the outcome.
    pub(crate) async fn run(self) -> OTelSdkResult {
        match self.0 {
            Err(result) => result,
            Ok(job) => job.run().await,
        }
    }
}

/// One prepared export: everything the worker needs, owned.
struct Job {
    signal: Signal,
    items: u64,
    encoded_len: usize,
    body: bytes::Bytes,
    /// The encoded request, freed while the worker sends it.
    request: Box<dyn Send>,
    timeout: Option<Duration>,
    max_request_size: usize,
    retry_policy: RetryPolicy,
    transport: Arc<Transport>,
    worker: WorkerRuntime,
    stats: ExportStats,
    lifecycle: Arc<Lifecycle>,
}

impl Job {
    async fn run(self) -> OTelSdkResult {
        let Job {
            signal,
            items,
            encoded_len,
            body,
            request,
            timeout,
            max_request_size,
            retry_policy,
            transport,
            worker,
            stats,
            lifecycle,
        } = self;
        let endpoint = transport.endpoint().to_owned();
        let guard = Unsettled {
            stats: stats.clone(),
            signal,
            items,
            settled: false,
        };
        let abort = lifecycle.abort.clone();
        let task = async move {
            let mut guard = guard;
            let signal_stats = stats.signal(signal);
            let attempt = |attempt: Attempt| {
                let transport = transport.clone();
                let body = body.clone();
                let stats = stats.clone();
                async move {
                    let wire = body.len() as u64;
                    stats.signal(signal).record_request(wire);
                    match attempt.timeout {
                        Some(limit) => tokio::time::timeout(limit, transport.send(body))
                            .await
                            .unwrap_or_else(|_| Err(ExportError::timeout(limit))),
                        None => transport.send(body).await,
                    }
                }
            };
            let exported = export_batch(
                BatchRequest::new(signal, items, encoded_len),
                BatchLimits::new(&retry_policy, timeout, max_request_size),
                signal_stats,
                attempt,
                tokio::time::sleep,
            );
            let outcome = tokio::select! {
                biased;
                () = abort.cancelled() => None,
                outcome = exported => Some(outcome),
            };
            // export_batch counted every item once it returned.
            guard.settled = outcome.is_some();
            outcome
        };
        // The toolkit's own logs on the worker must not be exported again.
        let task = lifecycle
            .tracker
            .track_future(task)
            .with_context(Context::new().with_telemetry_suppressed());
        // Start the send first, then free the request on this thread while
        // the worker sends it: the deallocation is off the critical path.
        let pending = worker.submit(task);
        drop(request);
        let outcome = pending.await;
        match outcome {
            Ok(Some(Ok(_accepted))) => Ok(()),
            Ok(Some(Err(failure))) => Err(OTelSdkError::InternalFailure(format!(
                "otlpkit: {signal} export to {endpoint} failed, {items} item(s) dropped: {failure}"
            ))),
            Ok(None) => Err(OTelSdkError::InternalFailure(format!(
                "otlpkit: {signal} export to {endpoint} cancelled by shutdown, {items} item(s) dropped"
            ))),
            Err(error) => Err(OTelSdkError::InternalFailure(format!(
                "otlpkit: {signal} export to {endpoint} did not complete, {items} item(s) dropped: {error}"
            ))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn queries_are_redacted_from_debug_output() {
        assert_eq!(
            redact_queries(r#"A { endpoint: Some("https://h:1/v1/traces?api_key=k"), b: "x?y" }"#),
            r#"A { endpoint: Some("https://h:1/v1/traces?<redacted>"), b: "x?y" }"#
        );
        assert_eq!(redact_queries("no url"), "no url");
        assert_eq!(redact_queries("http://h/p?q"), "http://h/p?<redacted>");
    }
}
