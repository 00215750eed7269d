//! The options both processor builders share, and their resolution into
//! the engine's settings.

use std::time::Duration;

use otlpkit_bridge::WorkerRuntime;
use otlpkit_core::stats::ExportStats;
use otlpkit_core::{BatchConfig, BatchKind, EnvSource, OverflowPolicy};

use crate::diag;
use crate::engine::Settings;
use crate::error::BuildError;

/// Code settings of a processor, resolved at `build`.
#[derive(Debug)]
pub(crate) struct Options {
    kind: BatchKind,
    base: Option<BatchConfig>,
    pub(crate) schedule_delay: Option<Duration>,
    pub(crate) export_timeout: Option<Option<Duration>>,
    pub(crate) max_queue_size: Option<usize>,
    pub(crate) max_export_batch_size: Option<usize>,
    pub(crate) overflow_policy: Option<OverflowPolicy>,
    pub(crate) max_queue_bytes: Option<usize>,
    pub(crate) max_concurrent_exports: Option<usize>,
    pub(crate) stats: Option<ExportStats>,
    pub(crate) worker: Option<WorkerRuntime>,
    pub(crate) default_timeout: Duration,
    pub(crate) blocking_exports: bool,
}

/// The timeout of `force_flush()`, of the SDK's `shutdown()` default and of
/// `Drop`: 5 s, the SDK's own default.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(5);

impl Options {
    pub(crate) fn new(kind: BatchKind) -> Self {
        Self {
            kind,
            base: None,
            schedule_delay: None,
            export_timeout: None,
            max_queue_size: None,
            max_export_batch_size: None,
            overflow_policy: None,
            max_queue_bytes: None,
            max_concurrent_exports: None,
            stats: None,
            worker: None,
            default_timeout: DEFAULT_TIMEOUT,
            blocking_exports: false,
        }
    }

    pub(crate) fn with_config(&mut self, config: BatchConfig) {
        self.base = Some(config);
    }

    /// Resolves the options: explicit setters > the given configuration >
    /// the `OTEL_BSP_*` / `OTEL_BLRP_*` variables of `env` > defaults.
    pub(crate) fn resolve<E: EnvSource + ?Sized>(self, env: &E) -> Result<Settings, BuildError> {
        if self.max_concurrent_exports == Some(0) {
            return Err(BuildError::ZeroConcurrency(0));
        }
        if self.max_queue_bytes == Some(0) {
            return Err(BuildError::ZeroQueueBytes(0));
        }
        if self.default_timeout.is_zero() {
            return Err(BuildError::ZeroTimeout(self.default_timeout));
        }
        let mut builder = BatchConfig::builder(self.kind);
        if let Some(base) = &self.base {
            if base.kind() != self.kind {
                return Err(BuildError::WrongConfigKind {
                    expected: self.kind,
                    given: base.kind(),
                });
            }
            builder = builder
                .with_schedule_delay(base.schedule_delay())
                .with_export_timeout(base.export_timeout())
                .with_max_queue_size(base.max_queue_size())
                .with_max_export_batch_size(base.max_export_batch_size())
                .with_overflow_policy(base.overflow_policy())
                .with_max_concurrent_exports(base.max_concurrent_exports())
                .with_max_queue_bytes(base.max_queue_bytes());
        }
        if let Some(delay) = self.schedule_delay {
            builder = builder.with_schedule_delay(delay);
        }
        if let Some(timeout) = self.export_timeout {
            builder = builder.with_export_timeout(timeout);
        }
        if let Some(size) = self.max_queue_size {
            builder = builder.with_max_queue_size(size);
        }
        if let Some(size) = self.max_export_batch_size {
            builder = builder.with_max_export_batch_size(size);
        }
        if let Some(policy) = self.overflow_policy {
            builder = builder.with_overflow_policy(policy);
        }
        if let Some(n) = self.max_concurrent_exports {
            builder = builder.with_max_concurrent_exports(n);
        }
        if let Some(bytes) = self.max_queue_bytes {
            builder = builder.with_max_queue_bytes(Some(bytes));
        }
        let resolved = builder.build(env)?;
        for warning in &resolved.warnings {
            diag::warn(format_args!("{warning}"));
        }
        Ok(Settings {
            max_queue_bytes: resolved.value.max_queue_bytes(),
            max_concurrent_exports: resolved.value.max_concurrent_exports(),
            config: resolved.value,
            stats: self.stats.unwrap_or_default(),
            worker: self.worker,
            default_timeout: self.default_timeout,
            blocking_exports: self.blocking_exports,
        })
    }
}

/// The setters and `build` every processor builder shares: `$processor` is
/// what it builds, `$vars` the variables it reads, and the path from `self`
/// to its [`Options`]. `build_with_env` hands over to the builder's own
/// `start`.
macro_rules! builder_methods {
    ($processor:ty, $vars:literal, $($options:ident).+) => {
        /// Uses this configuration (for instance one resolved once for the
        /// whole pipeline by `otlpkit_core::OtlpConfig`) instead of reading
        #[doc = concat!("the `", $vars, "` variables; setters still override it.")]
        #[must_use]
        pub fn with_config(mut self, config: otlpkit_core::BatchConfig) -> Self {
            self.$($options).+.with_config(config);
            self
        }

        /// Delay between two exports of a partial batch; the timer restarts
        /// after each export (checklist 3.4). Zero exports as soon as items
        /// arrive.
        #[must_use]
        pub fn with_schedule_delay(mut self, delay: std::time::Duration) -> Self {
            self.$($options).+.schedule_delay = Some(delay);
            self
        }

        /// Time before an export call is cancelled (`None`: no limit). Its
        /// items are then dropped as `retries_exhausted`.
        #[must_use]
        pub fn with_export_timeout(mut self, timeout: Option<std::time::Duration>) -> Self {
            self.$($options).+.export_timeout = Some(timeout);
            self
        }

        /// The queue's item bound (positive). The queue's slots are
        /// allocated up front.
        #[must_use]
        pub fn with_max_queue_size(mut self, size: usize) -> Self {
            self.$($options).+.max_queue_size = Some(size);
            self
        }

        /// The largest batch per export call (positive, at most the queue
        /// size); a full batch wakes the worker at once.
        #[must_use]
        pub fn with_max_export_batch_size(mut self, size: usize) -> Self {
            self.$($options).+.max_export_batch_size = Some(size);
            self
        }

        /// What a full queue does with a new item: drop it (the
        /// specification's default), evict the oldest, or block the
        /// producer for at most a timeout.
        ///
        /// `Block` parks the producing thread on a condition variable that
        /// the export worker signals when it takes items out. That is safe
        /// even on a `current_thread` tokio runtime: the export runs on the
        /// worker's own thread, never on the runtime that is blocked, so the
        /// queue always drains. It does stall every task of that runtime
        /// while it waits, so keep the timeout short there.
        #[must_use]
        pub fn with_overflow_policy(mut self, policy: otlpkit_core::OverflowPolicy) -> Self {
            self.$($options).+.overflow_policy = Some(policy);
            self
        }

        /// A byte bound beside the item bound: the estimated in-memory size
        /// of the queued items (structs, names, attributes, events, links,
        /// bodies) may not exceed `bytes`. The overflow policy applies to
        /// both bounds. A single item larger than the bound is still
        /// accepted into an empty queue. Default: none, or the environment
        /// (`OTLPKIT_BSP_MAX_QUEUE_BYTES`, `OTLPKIT_BLRP_MAX_QUEUE_BYTES`).
        #[must_use]
        pub fn with_max_queue_bytes(mut self, bytes: usize) -> Self {
            self.$($options).+.max_queue_bytes = Some(bytes);
            self
        }

        /// Allows up to `n` export calls at once (default 1).
        ///
        /// The specification forbids concurrent `Export` calls on one
        /// exporter (checklist 3.5), so this is an explicit opt-in: only
        /// raise it for an exporter that documents that it is safe to call
        /// concurrently, as otlpkit's gRPC and HTTP exporters do. With more
        /// than one, the batches of one processor may arrive out of order.
        /// The environment can say it too
        /// (`OTLPKIT_BSP_MAX_CONCURRENT_EXPORTS`,
        /// `OTLPKIT_BLRP_MAX_CONCURRENT_EXPORTS`).
        #[must_use]
        pub fn with_max_concurrent_exports(mut self, n: usize) -> Self {
            self.$($options).+.max_concurrent_exports = Some(n);
            self
        }

        /// Records into these shared counters (by default, fresh ones).
        /// otlpkit's exporters count the batches this processor hands them
        /// into these counters too (see the crate docs, "Accounting").
        #[must_use]
        pub fn with_stats(mut self, stats: otlpkit_core::stats::ExportStats) -> Self {
            self.$($options).+.stats = Some(stats);
            self
        }

        /// Runs the export worker on this runtime, for instance the one an
        /// exporter's client was built on. By default the processor starts
        /// its own and stops it at shutdown; a runtime given here is left
        /// running.
        #[must_use]
        pub fn with_worker_runtime(mut self, worker: otlpkit_bridge::WorkerRuntime) -> Self {
            self.$($options).+.worker = Some(worker);
            self
        }

        /// Declares that the exporter blocks its thread inside `export`
        /// instead of awaiting, as `opentelemetry-otlp`'s HTTP exporter with
        /// reqwest's blocking client does. Each export call then runs on a
        /// blocking thread of the worker runtime, so the worker stays
        /// responsive and deadlines hold. A call the worker stops waiting for
        /// (export timeout, shutdown deadline) is counted as dropped and
        /// left to finish in the background, where it may still deliver.
        #[must_use]
        pub fn with_blocking_exports(mut self, blocking: bool) -> Self {
            self.$($options).+.blocking_exports = blocking;
            self
        }

        /// The timeout of the SDK's `force_flush()` and of `Drop`
        /// (default [`DEFAULT_TIMEOUT`](crate::DEFAULT_TIMEOUT), 5 s).
        #[must_use]
        pub fn with_default_timeout(mut self, timeout: std::time::Duration) -> Self {
            self.$($options).+.default_timeout = timeout;
            self
        }

        /// Builds the processor, reading
        #[doc = concat!("`", $vars, "` from the process environment for what")]
        /// was not set in code, and starts its worker.
        pub fn build(self) -> Result<$processor, $crate::BuildError> {
            self.build_with_env(&otlpkit_core::ProcessEnv)
        }

        /// Like [`build`](Self::build), reading the variables from `env`.
        pub fn build_with_env<E: otlpkit_core::EnvSource + ?Sized>(
            self,
            env: &E,
        ) -> Result<$processor, $crate::BuildError> {
            self.start(env)
        }
    };
}

pub(crate) use builder_methods;
