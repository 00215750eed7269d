//! Batch span / log record processor configuration (checklist 3.1–3.4, 3.7).

use std::fmt;
use std::time::Duration;

use crate::env::{EnvPolicy, EnvSource};
use crate::error::{ConfigError, ConfigWarning, Origin};
use crate::parse::{EnvReader, check_code_timeout};
use crate::source::{Resolved, Source};
use crate::vars;

/// Which batch processor a [`BatchConfig`] is for; the two have different
/// variables and a different default schedule delay.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum BatchKind {
    /// The batch span processor (`OTEL_BSP_*`).
    Spans,
    /// The batch log record processor (`OTEL_BLRP_*`).
    Logs,
}

/// The variables of one batch processor.
struct BatchVars {
    schedule_delay: &'static str,
    export_timeout: &'static str,
    max_queue_size: &'static str,
    max_export_batch_size: &'static str,
    overflow: &'static str,
    block_timeout: &'static str,
    max_concurrent_exports: &'static str,
    max_queue_bytes: &'static str,
}

impl BatchKind {
    fn vars(self) -> BatchVars {
        match self {
            BatchKind::Spans => BatchVars {
                schedule_delay: vars::OTEL_BSP_SCHEDULE_DELAY,
                export_timeout: vars::OTEL_BSP_EXPORT_TIMEOUT,
                max_queue_size: vars::OTEL_BSP_MAX_QUEUE_SIZE,
                max_export_batch_size: vars::OTEL_BSP_MAX_EXPORT_BATCH_SIZE,
                overflow: vars::OTLPKIT_BSP_OVERFLOW,
                block_timeout: vars::OTLPKIT_BSP_BLOCK_TIMEOUT,
                max_concurrent_exports: vars::OTLPKIT_BSP_MAX_CONCURRENT_EXPORTS,
                max_queue_bytes: vars::OTLPKIT_BSP_MAX_QUEUE_BYTES,
            },
            BatchKind::Logs => BatchVars {
                schedule_delay: vars::OTEL_BLRP_SCHEDULE_DELAY,
                export_timeout: vars::OTEL_BLRP_EXPORT_TIMEOUT,
                max_queue_size: vars::OTEL_BLRP_MAX_QUEUE_SIZE,
                max_export_batch_size: vars::OTEL_BLRP_MAX_EXPORT_BATCH_SIZE,
                overflow: vars::OTLPKIT_BLRP_OVERFLOW,
                block_timeout: vars::OTLPKIT_BLRP_BLOCK_TIMEOUT,
                max_concurrent_exports: vars::OTLPKIT_BLRP_MAX_CONCURRENT_EXPORTS,
                max_queue_bytes: vars::OTLPKIT_BLRP_MAX_QUEUE_BYTES,
            },
        }
    }

    /// The specification's default schedule delay: 5000 ms for spans,
    /// 1000 ms for logs.
    pub const fn default_schedule_delay(self) -> Duration {
        match self {
            BatchKind::Spans => Duration::from_millis(5000),
            BatchKind::Logs => Duration::from_millis(1000),
        }
    }
}

/// What a full queue does with a new item.
///
/// The specification requires dropping new items (checklist 3.3), which is
/// the default; the other policies are otlpkit extensions.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum OverflowPolicy {
    /// Drop the item being added (spec behaviour, the default).
    #[default]
    DropNewest,
    /// Drop the oldest queued item to make room.
    DropOldest,
    /// Block the caller until there is room or `timeout` elapses, then drop
    /// the item being added.
    Block {
        /// Longest time the caller waits (must be positive).
        timeout: Duration,
    },
}

impl OverflowPolicy {
    /// How long `block` waits when only `OTLPKIT_*_OVERFLOW=block` is given: 1 s.
    pub const DEFAULT_BLOCK_TIMEOUT: Duration = Duration::from_secs(1);

    /// The spelling used by `OTLPKIT_BSP_OVERFLOW` / `OTLPKIT_BLRP_OVERFLOW`.
    pub const fn as_str(self) -> &'static str {
        match self {
            OverflowPolicy::DropNewest => "drop_newest",
            OverflowPolicy::DropOldest => "drop_oldest",
            OverflowPolicy::Block { .. } => "block",
        }
    }
}

impl fmt::Display for OverflowPolicy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            OverflowPolicy::Block { timeout } => write!(f, "block ({timeout:?})"),
            other => f.write_str(other.as_str()),
        }
    }
}

/// The variable form of [`OverflowPolicy`], without the timeout.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum OverflowName {
    DropNewest,
    DropOldest,
    Block,
}

impl std::str::FromStr for OverflowName {
    type Err = crate::ParseEnumError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let t = s.trim();
        if t.eq_ignore_ascii_case("drop_newest") {
            Ok(OverflowName::DropNewest)
        } else if t.eq_ignore_ascii_case("drop_oldest") {
            Ok(OverflowName::DropOldest)
        } else if t.eq_ignore_ascii_case("block") {
            Ok(OverflowName::Block)
        } else {
            Err(crate::ParseEnumError::new(
                "overflow policy",
                s,
                "drop_newest | drop_oldest | block",
            ))
        }
    }
}

/// Where each [`BatchConfig`] option came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct BatchSources {
    /// Of [`BatchConfig::schedule_delay`].
    pub schedule_delay: Source,
    /// Of [`BatchConfig::export_timeout`].
    pub export_timeout: Source,
    /// Of [`BatchConfig::max_queue_size`].
    pub max_queue_size: Source,
    /// Of [`BatchConfig::max_export_batch_size`].
    pub max_export_batch_size: Source,
    /// Of [`BatchConfig::overflow_policy`].
    pub overflow_policy: Source,
    /// Of [`BatchConfig::max_concurrent_exports`].
    pub max_concurrent_exports: Source,
    /// Of [`BatchConfig::max_queue_bytes`].
    pub max_queue_bytes: Source,
}

/// The resolved configuration of a batch span or log record processor.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BatchConfig {
    kind: BatchKind,
    schedule_delay: Duration,
    export_timeout: Option<Duration>,
    max_queue_size: usize,
    max_export_batch_size: usize,
    overflow_policy: OverflowPolicy,
    max_concurrent_exports: usize,
    max_queue_bytes: Option<usize>,
    sources: BatchSources,
}

impl BatchConfig {
    /// Default export timeout: 30 s (checklist 3.1, 3.2).
    pub const DEFAULT_EXPORT_TIMEOUT: Duration = Duration::from_secs(30);
    /// Default queue capacity: 2048.
    pub const DEFAULT_MAX_QUEUE_SIZE: usize = 2048;
    /// Default maximum batch: 512.
    pub const DEFAULT_MAX_EXPORT_BATCH_SIZE: usize = 512;

    /// A builder for `kind`.
    pub fn builder(kind: BatchKind) -> BatchConfigBuilder {
        BatchConfigBuilder::new(kind)
    }

    /// A builder for the batch span processor (`OTEL_BSP_*`).
    pub fn spans() -> BatchConfigBuilder {
        Self::builder(BatchKind::Spans)
    }

    /// A builder for the batch log record processor (`OTEL_BLRP_*`).
    pub fn logs() -> BatchConfigBuilder {
        Self::builder(BatchKind::Logs)
    }

    /// Which processor this is for.
    pub fn kind(&self) -> BatchKind {
        self.kind
    }

    /// Delay between two consecutive exports (the timer restarts after each export).
    pub fn schedule_delay(&self) -> Duration {
        self.schedule_delay
    }

    /// Time before an export is cancelled; `None` means no limit.
    pub fn export_timeout(&self) -> Option<Duration> {
        self.export_timeout
    }

    /// Queue capacity.
    pub fn max_queue_size(&self) -> usize {
        self.max_queue_size
    }

    /// Largest number of items per export (never more than the queue size).
    pub fn max_export_batch_size(&self) -> usize {
        self.max_export_batch_size
    }

    /// What a full queue does with a new item.
    pub fn overflow_policy(&self) -> OverflowPolicy {
        self.overflow_policy
    }

    /// Export calls allowed at once (default 1, as the specification asks;
    /// more only for an exporter that is safe to call concurrently).
    pub fn max_concurrent_exports(&self) -> usize {
        self.max_concurrent_exports
    }

    /// A bound on the estimated bytes of the queued items, beside the item
    /// bound; `None` (the default) for none.
    pub fn max_queue_bytes(&self) -> Option<usize> {
        self.max_queue_bytes
    }

    /// Where each option came from.
    pub fn sources(&self) -> &BatchSources {
        &self.sources
    }
}

/// Builds a [`BatchConfig`]: code > `OTEL_BSP_*`/`OTEL_BLRP_*` > default.
///
/// ```
/// use std::time::Duration;
/// use otlpkit_core::{BatchConfig, MapEnv, OverflowPolicy};
///
/// let env = MapEnv::from([("OTEL_BLRP_MAX_QUEUE_SIZE", "4096")]);
/// let config = BatchConfig::logs()
///     .with_overflow_policy(OverflowPolicy::DropOldest)
///     .build(&env)?
///     .into_value();
/// assert_eq!(config.schedule_delay(), Duration::from_millis(1000));
/// assert_eq!(config.max_queue_size(), 4096);
/// assert_eq!(config.overflow_policy(), OverflowPolicy::DropOldest);
/// # Ok::<(), otlpkit_core::ConfigError>(())
/// ```
#[derive(Debug, Clone)]
pub struct BatchConfigBuilder {
    kind: BatchKind,
    schedule_delay: Option<Duration>,
    export_timeout: Option<Option<Duration>>,
    max_queue_size: Option<usize>,
    max_export_batch_size: Option<usize>,
    overflow_policy: Option<OverflowPolicy>,
    max_concurrent_exports: Option<usize>,
    max_queue_bytes: Option<Option<usize>>,
    policy: EnvPolicy,
}

impl BatchConfigBuilder {
    fn new(kind: BatchKind) -> Self {
        Self {
            kind,
            schedule_delay: None,
            export_timeout: None,
            max_queue_size: None,
            max_export_batch_size: None,
            overflow_policy: None,
            max_concurrent_exports: None,
            max_queue_bytes: None,
            policy: EnvPolicy::default(),
        }
    }

    /// Which processor this builder configures.
    pub fn kind(&self) -> BatchKind {
        self.kind
    }

    /// Delay between two consecutive exports (zero is allowed: export as
    /// soon as the previous export returns).
    #[must_use]
    pub fn with_schedule_delay(mut self, delay: Duration) -> Self {
        self.schedule_delay = Some(delay);
        self
    }

    /// Time before an export is cancelled; `None` means no limit (a zero
    /// duration is rejected; use `None`).
    #[must_use]
    pub fn with_export_timeout(mut self, timeout: Option<Duration>) -> Self {
        self.export_timeout = Some(timeout);
        self
    }

    /// Queue capacity (positive).
    #[must_use]
    pub fn with_max_queue_size(mut self, size: usize) -> Self {
        self.max_queue_size = Some(size);
        self
    }

    /// Largest number of items per export (positive, at most the queue size).
    #[must_use]
    pub fn with_max_export_batch_size(mut self, size: usize) -> Self {
        self.max_export_batch_size = Some(size);
        self
    }

    /// What a full queue does with a new item.
    #[must_use]
    pub fn with_overflow_policy(mut self, policy: OverflowPolicy) -> Self {
        self.overflow_policy = Some(policy);
        self
    }

    /// Export calls allowed at once (positive; default 1). The
    /// specification forbids concurrent `Export` calls on one exporter, so
    /// raise it only for an exporter documented as safe to call
    /// concurrently, as otlpkit's gRPC and HTTP exporters are.
    #[must_use]
    pub fn with_max_concurrent_exports(mut self, n: usize) -> Self {
        self.max_concurrent_exports = Some(n);
        self
    }

    /// A bound on the estimated bytes of the queued items, beside the item
    /// bound (positive); `None` for none (the default).
    #[must_use]
    pub fn with_max_queue_bytes(mut self, bytes: Option<usize>) -> Self {
        self.max_queue_bytes = Some(bytes);
        self
    }

    /// How warnings are treated.
    #[must_use]
    pub fn with_env_policy(mut self, policy: EnvPolicy) -> Self {
        self.policy = policy;
        self
    }

    pub(crate) fn env_policy(&self) -> EnvPolicy {
        self.policy
    }

    /// Resolves the configuration.
    pub fn build<E: EnvSource + ?Sized>(
        self,
        env: &E,
    ) -> Result<Resolved<BatchConfig>, ConfigError> {
        let env: &dyn EnvSource = &env;
        let policy = self.policy;
        let mut reader = EnvReader::new(env);
        let config = self.resolve(&mut reader)?;
        reader.finish(config, policy)
    }

    pub(crate) fn resolve(self, reader: &mut EnvReader<'_>) -> Result<BatchConfig, ConfigError> {
        let kind = self.kind;
        let v = kind.vars();

        check_code_timeout(
            self.export_timeout,
            "BatchConfigBuilder::with_export_timeout",
        )?;
        for (size, method) in [
            (
                self.max_queue_size,
                "BatchConfigBuilder::with_max_queue_size",
            ),
            (
                self.max_export_batch_size,
                "BatchConfigBuilder::with_max_export_batch_size",
            ),
            (
                self.max_concurrent_exports,
                "BatchConfigBuilder::with_max_concurrent_exports",
            ),
            (
                self.max_queue_bytes.flatten(),
                "BatchConfigBuilder::with_max_queue_bytes",
            ),
        ] {
            if size == Some(0) {
                return Err(ConfigError::InvalidValue {
                    origin: Origin::Builder(method),
                    value: "0".to_owned(),
                    reason: "must be positive",
                });
            }
        }
        if let Some(OverflowPolicy::Block { timeout }) = self.overflow_policy
            && timeout.is_zero()
        {
            return Err(ConfigError::InvalidValue {
                origin: Origin::Builder("BatchConfigBuilder::with_overflow_policy"),
                value: "Block { timeout: 0s }".to_owned(),
                reason: "a zero block timeout is DropNewest; use that instead",
            });
        }

        let (schedule_delay, schedule_delay_source) = reader.single(
            self.schedule_delay,
            v.schedule_delay,
            || kind.default_schedule_delay(),
            |r, var| r.duration(var, 0),
        );
        let (export_timeout, export_timeout_source) = reader.single(
            self.export_timeout,
            v.export_timeout,
            || Some(BatchConfig::DEFAULT_EXPORT_TIMEOUT),
            |r, var| r.timeout(var),
        );
        let to_usize = |n: u32| usize::try_from(n).ok();
        let (max_queue_size, max_queue_size_source) = reader.single(
            self.max_queue_size,
            v.max_queue_size,
            || BatchConfig::DEFAULT_MAX_QUEUE_SIZE,
            |r, var| r.int(var, 1).and_then(to_usize),
        );
        let (mut max_export_batch_size, max_export_batch_size_source) = reader.single(
            self.max_export_batch_size,
            v.max_export_batch_size,
            || BatchConfig::DEFAULT_MAX_EXPORT_BATCH_SIZE,
            |r, var| r.int(var, 1).and_then(to_usize),
        );
        if max_export_batch_size > max_queue_size {
            if max_export_batch_size_source == Source::Default {
                // Only the queue was made smaller: the default batch follows it.
                max_export_batch_size = max_queue_size;
            } else {
                return Err(ConfigError::BatchLargerThanQueue {
                    batch: max_export_batch_size,
                    batch_origin: max_export_batch_size_source
                        .origin("BatchConfigBuilder::with_max_export_batch_size"),
                    queue: max_queue_size,
                    queue_origin: max_queue_size_source
                        .origin("BatchConfigBuilder::with_max_queue_size"),
                });
            }
        }

        let (overflow_policy, overflow_policy_source) = match self.overflow_policy {
            Some(policy) => (policy, Source::Code),
            None => match reader.parse_enum::<OverflowName>(v.overflow) {
                Some(OverflowName::Block) => {
                    let timeout = reader
                        .duration(v.block_timeout, 1)
                        .unwrap_or(OverflowPolicy::DEFAULT_BLOCK_TIMEOUT);
                    (OverflowPolicy::Block { timeout }, Source::Env(v.overflow))
                }
                other => {
                    if reader.raw(v.block_timeout).is_some() {
                        reader.warn(ConfigWarning::Ignored {
                            var: v.block_timeout,
                            reason: "only used when the overflow policy is `block`",
                        });
                    }
                    match other {
                        Some(OverflowName::DropOldest) => {
                            (OverflowPolicy::DropOldest, Source::Env(v.overflow))
                        }
                        Some(_) => (OverflowPolicy::DropNewest, Source::Env(v.overflow)),
                        None => (OverflowPolicy::DropNewest, Source::Default),
                    }
                }
            },
        };

        let (max_concurrent_exports, max_concurrent_exports_source) = reader.single(
            self.max_concurrent_exports,
            v.max_concurrent_exports,
            || 1,
            |r, var| r.int(var, 1).and_then(to_usize),
        );
        let (max_queue_bytes, max_queue_bytes_source) = reader.single(
            self.max_queue_bytes,
            v.max_queue_bytes,
            || None,
            |r, var| r.int(var, 1).and_then(to_usize).map(Some),
        );

        Ok(BatchConfig {
            kind,
            schedule_delay,
            export_timeout,
            max_queue_size,
            max_export_batch_size,
            overflow_policy,
            max_concurrent_exports,
            max_queue_bytes,
            sources: BatchSources {
                schedule_delay: schedule_delay_source,
                export_timeout: export_timeout_source,
                max_queue_size: max_queue_size_source,
                max_export_batch_size: max_export_batch_size_source,
                overflow_policy: overflow_policy_source,
                max_concurrent_exports: max_concurrent_exports_source,
                max_queue_bytes: max_queue_bytes_source,
            },
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::MapEnv;

    // The engine settings the specification leaves out, from code and the
    // OTLPKIT_BSP_* / OTLPKIT_BLRP_* variables.
    #[test]
    fn concurrency_and_byte_bound_come_from_code_then_the_environment() {
        let env = MapEnv::from([
            ("OTLPKIT_BSP_MAX_CONCURRENT_EXPORTS", "2"),
            ("OTLPKIT_BSP_MAX_QUEUE_BYTES", "1048576"),
            ("OTLPKIT_BLRP_MAX_CONCURRENT_EXPORTS", "0"),
        ]);
        let spans = BatchConfig::spans().build(&env).unwrap().into_value();
        assert_eq!(spans.max_concurrent_exports(), 2);
        assert_eq!(spans.max_queue_bytes(), Some(1 << 20));
        assert_eq!(
            spans.sources().max_queue_bytes,
            Source::Env("OTLPKIT_BSP_MAX_QUEUE_BYTES")
        );
        let logs = BatchConfig::logs().build(&env).unwrap();
        assert_eq!(logs.value.max_concurrent_exports(), 1);
        assert_eq!(logs.value.max_queue_bytes(), None);
        assert_eq!(logs.warnings.len(), 1);
        assert!(
            logs.warnings[0]
                .to_string()
                .contains("using 1 (the default)"),
            "{}",
            logs.warnings[0]
        );
        let code = BatchConfig::spans()
            .with_max_concurrent_exports(4)
            .with_max_queue_bytes(None)
            .build(&env)
            .unwrap()
            .into_value();
        assert_eq!(
            (code.max_concurrent_exports(), code.max_queue_bytes()),
            (4, None)
        );
        let zero = BatchConfig::spans()
            .with_max_concurrent_exports(0)
            .build(&env);
        assert!(zero.is_err());
    }

    #[test]
    fn bsp_defaults_match_the_spec() {
        // checklist 3.1
        let config = BatchConfig::spans().build(&MapEnv::new()).unwrap().value;
        assert_eq!(config.kind(), BatchKind::Spans);
        assert_eq!(config.schedule_delay(), Duration::from_millis(5000));
        assert_eq!(config.export_timeout(), Some(Duration::from_millis(30_000)));
        assert_eq!(config.max_queue_size(), 2048);
        assert_eq!(config.max_export_batch_size(), 512);
        assert_eq!(config.sources().schedule_delay, Source::Default);
    }

    #[test]
    fn blrp_defaults_match_the_spec_with_a_1000ms_delay() {
        // checklist 3.2
        let config = BatchConfig::logs().build(&MapEnv::new()).unwrap().value;
        assert_eq!(config.kind(), BatchKind::Logs);
        assert_eq!(config.schedule_delay(), Duration::from_millis(1000));
        assert_eq!(config.export_timeout(), Some(Duration::from_millis(30_000)));
        assert_eq!(config.max_queue_size(), 2048);
        assert_eq!(config.max_export_batch_size(), 512);
    }

    #[test]
    fn bsp_variables_are_read() {
        // checklist 3.1
        let env = MapEnv::from([
            ("OTEL_BSP_SCHEDULE_DELAY", "250"),
            ("OTEL_BSP_EXPORT_TIMEOUT", "0"),
            ("OTEL_BSP_MAX_QUEUE_SIZE", "100"),
            ("OTEL_BSP_MAX_EXPORT_BATCH_SIZE", "10"),
            // The log processor's variables do not affect spans.
            ("OTEL_BLRP_SCHEDULE_DELAY", "7"),
        ]);
        let config = BatchConfig::spans().build(&env).unwrap().value;
        assert_eq!(config.schedule_delay(), Duration::from_millis(250));
        assert_eq!(config.export_timeout(), None);
        assert_eq!(config.max_queue_size(), 100);
        assert_eq!(config.max_export_batch_size(), 10);
        assert_eq!(
            config.sources().max_queue_size,
            Source::Env("OTEL_BSP_MAX_QUEUE_SIZE")
        );
    }

    #[test]
    fn blrp_variables_are_read() {
        // checklist 3.2
        let env = MapEnv::from([
            ("OTEL_BLRP_SCHEDULE_DELAY", "20"),
            ("OTEL_BLRP_EXPORT_TIMEOUT", "1500"),
            ("OTEL_BLRP_MAX_QUEUE_SIZE", "64"),
            ("OTEL_BLRP_MAX_EXPORT_BATCH_SIZE", "64"),
        ]);
        let config = BatchConfig::logs().build(&env).unwrap().value;
        assert_eq!(config.schedule_delay(), Duration::from_millis(20));
        assert_eq!(config.export_timeout(), Some(Duration::from_millis(1500)));
        assert_eq!(config.max_queue_size(), 64);
        assert_eq!(config.max_export_batch_size(), 64);
    }

    #[test]
    fn batch_larger_than_queue_is_an_error_naming_both_sources() {
        // checklist 3.1
        let env = MapEnv::from([
            ("OTEL_BSP_MAX_QUEUE_SIZE", "100"),
            ("OTEL_BSP_MAX_EXPORT_BATCH_SIZE", "200"),
        ]);
        let error = BatchConfig::spans().build(&env).unwrap_err();
        assert_eq!(
            error,
            ConfigError::BatchLargerThanQueue {
                batch: 200,
                batch_origin: Origin::Env("OTEL_BSP_MAX_EXPORT_BATCH_SIZE"),
                queue: 100,
                queue_origin: Origin::Env("OTEL_BSP_MAX_QUEUE_SIZE"),
            }
        );
        let error = BatchConfig::logs()
            .with_max_queue_size(10)
            .with_max_export_batch_size(11)
            .build(&MapEnv::new())
            .unwrap_err();
        assert!(error.to_string().contains("with_max_export_batch_size"));
    }

    #[test]
    fn a_small_queue_pulls_the_default_batch_size_down() {
        // checklist 3.1: batch ≤ queue without an error when only the queue was set.
        let env = MapEnv::from([("OTEL_BSP_MAX_QUEUE_SIZE", "100")]);
        let config = BatchConfig::spans().build(&env).unwrap().value;
        assert_eq!(config.max_export_batch_size(), 100);
    }

    #[test]
    fn zero_or_negative_sizes_from_env_are_ignored_with_warnings() {
        // checklist 1.18, 3.1: valid values are positive.
        let env = MapEnv::from([
            ("OTEL_BSP_MAX_QUEUE_SIZE", "0"),
            ("OTEL_BSP_MAX_EXPORT_BATCH_SIZE", "-5"),
            ("OTEL_BSP_SCHEDULE_DELAY", "-1"),
        ]);
        let resolved = BatchConfig::spans().build(&env).unwrap();
        assert_eq!(resolved.value.max_queue_size(), 2048);
        assert_eq!(resolved.value.max_export_batch_size(), 512);
        assert_eq!(resolved.value.schedule_delay(), Duration::from_millis(5000));
        assert_eq!(resolved.warnings.len(), 3);
    }

    #[test]
    fn zero_sizes_from_code_are_errors() {
        let error = BatchConfig::spans()
            .with_max_queue_size(0)
            .build(&MapEnv::new())
            .unwrap_err();
        assert!(error.to_string().contains("with_max_queue_size"));
    }

    #[test]
    fn queue_full_drops_newest_by_default() {
        // checklist 3.3
        let config = BatchConfig::spans().build(&MapEnv::new()).unwrap().value;
        assert_eq!(config.overflow_policy(), OverflowPolicy::DropNewest);
        assert_eq!(OverflowPolicy::default(), OverflowPolicy::DropNewest);
        assert_eq!(config.sources().overflow_policy, Source::Default);
    }

    #[test]
    fn overflow_policy_extension_variables() {
        // checklist 3.3 (otlpkit extension)
        let env = MapEnv::from([
            ("OTLPKIT_BSP_OVERFLOW", "BLOCK"),
            ("OTLPKIT_BSP_BLOCK_TIMEOUT", "250"),
            ("OTLPKIT_BLRP_OVERFLOW", "drop_oldest"),
        ]);
        let spans = BatchConfig::spans().build(&env).unwrap().value;
        assert_eq!(
            spans.overflow_policy(),
            OverflowPolicy::Block {
                timeout: Duration::from_millis(250)
            }
        );
        let logs = BatchConfig::logs().build(&env).unwrap().value;
        assert_eq!(logs.overflow_policy(), OverflowPolicy::DropOldest);

        let env = MapEnv::from([("OTLPKIT_BLRP_OVERFLOW", "block")]);
        let logs = BatchConfig::logs().build(&env).unwrap().value;
        assert_eq!(
            logs.overflow_policy(),
            OverflowPolicy::Block {
                timeout: OverflowPolicy::DEFAULT_BLOCK_TIMEOUT
            }
        );
        let env = MapEnv::from([
            ("OTLPKIT_BLRP_OVERFLOW", "block"),
            ("OTLPKIT_BLRP_BLOCK_TIMEOUT", "75"),
        ]);
        let logs = BatchConfig::logs().build(&env).unwrap().value;
        assert_eq!(
            logs.overflow_policy(),
            OverflowPolicy::Block {
                timeout: Duration::from_millis(75)
            }
        );

        let env = MapEnv::from([
            ("OTLPKIT_BSP_OVERFLOW", "spill"),
            ("OTLPKIT_BSP_BLOCK_TIMEOUT", "5"),
        ]);
        let resolved = BatchConfig::spans().build(&env).unwrap();
        assert_eq!(resolved.value.overflow_policy(), OverflowPolicy::DropNewest);
        assert_eq!(resolved.warnings.len(), 2);
    }

    #[test]
    fn overflow_policy_from_code_wins_and_zero_block_timeout_is_rejected() {
        let env = MapEnv::from([("OTLPKIT_BSP_OVERFLOW", "drop_oldest")]);
        let config = BatchConfig::spans()
            .with_overflow_policy(OverflowPolicy::Block {
                timeout: Duration::from_millis(5),
            })
            .build(&env)
            .unwrap()
            .value;
        assert_eq!(config.overflow_policy().as_str(), "block");
        assert_eq!(config.sources().overflow_policy, Source::Code);
        let error = BatchConfig::spans()
            .with_overflow_policy(OverflowPolicy::Block {
                timeout: Duration::ZERO,
            })
            .build(&env)
            .unwrap_err();
        assert!(error.to_string().contains("with_overflow_policy"));
    }

    #[test]
    fn export_timeout_is_the_time_before_an_export_is_cancelled() {
        // checklist 3.3, 3.7: zero from code is rejected, None means no limit.
        let error = BatchConfig::logs()
            .with_export_timeout(Some(Duration::ZERO))
            .build(&MapEnv::new())
            .unwrap_err();
        assert!(error.to_string().contains("with_export_timeout"));
        let config = BatchConfig::logs()
            .with_export_timeout(Some(Duration::from_secs(2)))
            .build(&MapEnv::from([("OTEL_BLRP_EXPORT_TIMEOUT", "9")]))
            .unwrap()
            .value;
        assert_eq!(config.export_timeout(), Some(Duration::from_secs(2)));
    }
}
