//! The optional disk spool's configuration (`OTLPKIT_SPOOL_*`, an otlpkit
//! extension): where encoded batches go when the collector cannot take
//! them, how large the spool may grow, and how often it is forced to disk.

use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::env::{EnvPolicy, EnvSource};
use crate::error::{ConfigError, ConfigWarning, Origin};
use crate::parse::{Describe, EnvReader};
use crate::source::{Resolved, Source};
use crate::vars;

/// When the spool forces what it wrote to the disk (`fsync`).
///
/// A process that is killed (even with `SIGKILL`) loses nothing the spool
/// had written, whatever the policy: the data is in the operating system's
/// page cache. The policy only decides what an operating-system crash or a
/// power loss may take: with [`Always`](Self::Always) nothing acknowledged,
/// with [`Interval`](Self::Interval) at most that interval of writes, with
/// [`Never`](Self::Never) whatever the system had not written back yet.
/// Torn or lost records are detected by their checksums either way.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum FsyncPolicy {
    /// After every batch written and every batch removed: the safest and
    /// the slowest (one `fsync` per batch, on the blocking pool).
    Always,
    /// At most once per interval, when something was written since the last
    /// time (the default: every second).
    Interval(Duration),
    /// Never; the operating system writes back when it sees fit.
    Never,
}

impl FsyncPolicy {
    /// The default: at most once a second.
    pub const DEFAULT: FsyncPolicy = FsyncPolicy::Interval(Duration::from_secs(1));
}

impl Default for FsyncPolicy {
    fn default() -> Self {
        Self::DEFAULT
    }
}

impl fmt::Display for FsyncPolicy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FsyncPolicy::Always => f.write_str("always"),
            FsyncPolicy::Interval(every) => write!(f, "{}", every.as_millis()),
            FsyncPolicy::Never => f.write_str("never"),
        }
    }
}

impl Describe for FsyncPolicy {
    fn describe(&self) -> String {
        match self {
            FsyncPolicy::Interval(every) => format!("every {} ms", every.as_millis()),
            other => other.to_string(),
        }
    }
}

/// Where each [`SpoolConfig`] option came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct SpoolSources {
    /// Of [`SpoolConfig::dir`].
    pub dir: Source,
    /// Of [`SpoolConfig::max_bytes`].
    pub max_bytes: Source,
    /// Of [`SpoolConfig::fsync`].
    pub fsync: Source,
}

/// The resolved spool configuration. Without a directory (the default)
/// there is no spool.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SpoolConfig {
    dir: Option<PathBuf>,
    max_bytes: u64,
    fsync: FsyncPolicy,
    sources: SpoolSources,
}

impl Default for SpoolConfig {
    /// No spool.
    fn default() -> Self {
        Self {
            dir: None,
            max_bytes: Self::DEFAULT_MAX_BYTES,
            fsync: FsyncPolicy::DEFAULT,
            sources: SpoolSources {
                dir: Source::Default,
                max_bytes: Source::Default,
                fsync: Source::Default,
            },
        }
    }
}

impl SpoolConfig {
    /// Default byte cap on the spool: 256 MiB.
    pub const DEFAULT_MAX_BYTES: u64 = 256 << 20;

    /// A builder.
    pub fn builder() -> SpoolConfigBuilder {
        SpoolConfigBuilder::default()
    }

    /// The spool directory; `None` for no spool.
    pub fn dir(&self) -> Option<&Path> {
        self.dir.as_deref()
    }

    /// Whether a spool is configured.
    pub fn is_enabled(&self) -> bool {
        self.dir.is_some()
    }

    /// The most bytes the spool's files may take on disk, all signals
    /// together.
    pub fn max_bytes(&self) -> u64 {
        self.max_bytes
    }

    /// When written data is forced to disk.
    pub fn fsync(&self) -> FsyncPolicy {
        self.fsync
    }

    /// Where each option came from.
    pub fn sources(&self) -> &SpoolSources {
        &self.sources
    }
}

/// Builds a [`SpoolConfig`]: code > `OTLPKIT_SPOOL_*` > default (no spool).
///
/// ```
/// use otlpkit_core::{FsyncPolicy, MapEnv, SpoolConfig};
///
/// let env = MapEnv::from([
///     ("OTLPKIT_SPOOL_DIR", "/var/spool/checkout"),
///     ("OTLPKIT_SPOOL_FSYNC", "always"),
/// ]);
/// let config = SpoolConfig::builder()
///     .with_max_bytes(64 << 20)
///     .build(&env)?
///     .into_value();
/// assert_eq!(config.dir().unwrap().to_str(), Some("/var/spool/checkout"));
/// assert_eq!(config.fsync(), FsyncPolicy::Always);
/// assert_eq!(config.max_bytes(), 64 << 20);
/// # Ok::<(), otlpkit_core::ConfigError>(())
/// ```
#[derive(Debug, Clone, Default)]
pub struct SpoolConfigBuilder {
    dir: Option<Option<PathBuf>>,
    max_bytes: Option<u64>,
    fsync: Option<FsyncPolicy>,
    policy: EnvPolicy,
}

impl SpoolConfigBuilder {
    /// Spools into `dir` (created if missing), whatever `OTLPKIT_SPOOL_DIR`
    /// says.
    #[must_use]
    pub fn with_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.dir = Some(Some(dir.into()));
        self
    }

    /// No spool, whatever `OTLPKIT_SPOOL_DIR` says.
    #[must_use]
    pub fn disabled(mut self) -> Self {
        self.dir = Some(None);
        self
    }

    /// The most bytes the spool may take on disk (positive).
    #[must_use]
    pub fn with_max_bytes(mut self, bytes: u64) -> Self {
        self.max_bytes = Some(bytes);
        self
    }

    /// When written data is forced to disk (an interval must be positive).
    #[must_use]
    pub fn with_fsync(mut self, fsync: FsyncPolicy) -> Self {
        self.fsync = Some(fsync);
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
    ) -> Result<Resolved<SpoolConfig>, ConfigError> {
        let env: &dyn EnvSource = &env;
        let policy = self.policy;
        let mut reader = EnvReader::new(env);
        let config = self.resolve(&mut reader)?;
        reader.finish(config, policy)
    }

    pub(crate) fn resolve(self, reader: &mut EnvReader<'_>) -> Result<SpoolConfig, ConfigError> {
        match self.dir {
            Some(Some(ref dir)) if dir.as_os_str().is_empty() => {
                return Err(invalid(
                    "SpoolConfigBuilder::with_dir",
                    "\"\"",
                    "empty path",
                ));
            }
            _ => {}
        }
        if self.max_bytes == Some(0) {
            return Err(invalid(
                "SpoolConfigBuilder::with_max_bytes",
                "0",
                "must be positive",
            ));
        }
        if let Some(FsyncPolicy::Interval(every)) = self.fsync
            && every.is_zero()
        {
            return Err(invalid(
                "SpoolConfigBuilder::with_fsync",
                "Interval(0s)",
                "a zero interval is `Always`; use that instead",
            ));
        }

        let (dir, dir_source) = match self.dir {
            Some(dir) => (dir, Source::Code),
            None => match reader.raw(vars::OTLPKIT_SPOOL_DIR) {
                Some(dir) => (
                    Some(PathBuf::from(dir.trim())),
                    Source::Env(vars::OTLPKIT_SPOOL_DIR),
                ),
                None => (None, Source::Default),
            },
        };
        let (max_bytes, max_bytes_source) = reader.single(
            self.max_bytes,
            vars::OTLPKIT_SPOOL_MAX_BYTES,
            || SpoolConfig::DEFAULT_MAX_BYTES,
            read_bytes,
        );
        let (fsync, fsync_source) = reader.single(
            self.fsync,
            vars::OTLPKIT_SPOOL_FSYNC,
            || FsyncPolicy::DEFAULT,
            read_fsync,
        );
        if dir.is_none() {
            for (var, source) in [
                (vars::OTLPKIT_SPOOL_MAX_BYTES, max_bytes_source),
                (vars::OTLPKIT_SPOOL_FSYNC, fsync_source),
            ] {
                if source.is_env() {
                    reader.warn(ConfigWarning::Ignored {
                        var,
                        reason: "only used with a spool directory (OTLPKIT_SPOOL_DIR)",
                    });
                }
            }
        }
        Ok(SpoolConfig {
            dir,
            max_bytes,
            fsync,
            sources: SpoolSources {
                dir: dir_source,
                max_bytes: max_bytes_source,
                fsync: fsync_source,
            },
        })
    }
}

fn invalid(method: &'static str, value: &str, reason: &'static str) -> ConfigError {
    ConfigError::InvalidValue {
        origin: Origin::Builder(method),
        value: value.to_owned(),
        reason,
    }
}

/// A positive byte count; larger than the specification's integers, since
/// a spool may well hold more than 2 GiB.
fn read_bytes(reader: &mut EnvReader<'_>, var: &'static str) -> Option<u64> {
    let value = reader.raw(var)?;
    let expected = "a positive integer number of bytes";
    let trimmed = value.trim();
    if trimmed.is_empty() || !trimmed.bytes().all(|b| b.is_ascii_digit()) {
        reader.warn(ConfigWarning::InvalidValue {
            var,
            value,
            expected,
            instead: None,
        });
        return None;
    }
    match trimmed.parse::<u64>() {
        Ok(n) if n > 0 => Some(n),
        _ => {
            reader.warn(ConfigWarning::OutOfRange {
                var,
                value,
                expected,
                instead: None,
            });
            None
        }
    }
}

/// `always`, `never`, or a positive number of milliseconds.
fn read_fsync(reader: &mut EnvReader<'_>, var: &'static str) -> Option<FsyncPolicy> {
    let value = reader.raw(var)?;
    let trimmed = value.trim();
    if trimmed.eq_ignore_ascii_case("always") {
        return Some(FsyncPolicy::Always);
    }
    if trimmed.eq_ignore_ascii_case("never") {
        return Some(FsyncPolicy::Never);
    }
    match crate::parse::parse_int(trimmed) {
        Ok(ms) if ms > 0 => Some(FsyncPolicy::Interval(Duration::from_millis(u64::from(ms)))),
        _ => {
            reader.warn(ConfigWarning::InvalidValue {
                var,
                value,
                expected: "`always`, `never` or positive integer milliseconds",
                instead: None,
            });
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::MapEnv;

    #[test]
    fn no_directory_means_no_spool_by_default() {
        let config = SpoolConfig::builder()
            .build(&MapEnv::new())
            .unwrap()
            .into_value();
        assert!(!config.is_enabled());
        assert_eq!(config.max_bytes(), SpoolConfig::DEFAULT_MAX_BYTES);
        assert_eq!(
            config.fsync(),
            FsyncPolicy::Interval(Duration::from_secs(1))
        );
        assert_eq!(config, SpoolConfig::default());
    }

    #[test]
    fn variables_are_read_and_code_wins() {
        let env = MapEnv::from([
            ("OTLPKIT_SPOOL_DIR", " /tmp/spool "),
            ("OTLPKIT_SPOOL_MAX_BYTES", "10737418240"),
            ("OTLPKIT_SPOOL_FSYNC", "250"),
        ]);
        let config = SpoolConfig::builder().build(&env).unwrap().into_value();
        assert_eq!(config.dir(), Some(Path::new("/tmp/spool")));
        assert_eq!(config.max_bytes(), 10 << 30);
        assert_eq!(
            config.fsync(),
            FsyncPolicy::Interval(Duration::from_millis(250))
        );
        assert_eq!(
            config.sources().max_bytes,
            Source::Env("OTLPKIT_SPOOL_MAX_BYTES")
        );
        let code = SpoolConfig::builder()
            .disabled()
            .with_fsync(FsyncPolicy::Never)
            .build(&env)
            .unwrap()
            .into_value();
        assert!(!code.is_enabled());
        assert_eq!(code.fsync(), FsyncPolicy::Never);
        assert_eq!(code.sources().dir, Source::Code);
    }

    #[test]
    fn invalid_values_are_warnings_naming_the_variable() {
        let env = MapEnv::from([
            ("OTLPKIT_SPOOL_DIR", "/tmp/spool"),
            ("OTLPKIT_SPOOL_MAX_BYTES", "-5"),
            ("OTLPKIT_SPOOL_FSYNC", "sometimes"),
        ]);
        let resolved = SpoolConfig::builder().build(&env).unwrap();
        assert_eq!(resolved.value.max_bytes(), SpoolConfig::DEFAULT_MAX_BYTES);
        assert_eq!(resolved.value.fsync(), FsyncPolicy::DEFAULT);
        let vars: Vec<_> = resolved.warnings.iter().map(ConfigWarning::var).collect();
        assert_eq!(vars, ["OTLPKIT_SPOOL_MAX_BYTES", "OTLPKIT_SPOOL_FSYNC"]);
        let fsync = resolved.warnings[1].to_string();
        assert!(fsync.contains("`always`, `never`"), "{fsync}");
        assert!(
            fsync.contains("using every 1000 ms (the default)"),
            "{fsync}"
        );
        let error = SpoolConfig::builder()
            .with_env_policy(EnvPolicy::Strict)
            .build(&env)
            .unwrap_err();
        assert!(matches!(error, ConfigError::Strict { .. }));
    }

    #[test]
    fn settings_without_a_directory_are_ignored_with_a_warning() {
        let env = MapEnv::from([("OTLPKIT_SPOOL_FSYNC", "never")]);
        let resolved = SpoolConfig::builder().build(&env).unwrap();
        assert!(!resolved.value.is_enabled());
        assert_eq!(resolved.warnings.len(), 1);
        assert!(matches!(
            resolved.warnings[0],
            ConfigWarning::Ignored {
                var: "OTLPKIT_SPOOL_FSYNC",
                ..
            }
        ));
    }

    #[test]
    fn zero_values_from_code_are_errors_naming_the_method() {
        for builder in [
            SpoolConfig::builder().with_max_bytes(0),
            SpoolConfig::builder().with_fsync(FsyncPolicy::Interval(Duration::ZERO)),
            SpoolConfig::builder().with_dir(""),
        ] {
            let error = builder.build(&MapEnv::new()).unwrap_err();
            assert!(
                error.to_string().contains("SpoolConfigBuilder::with_"),
                "{error}"
            );
        }
    }
}
