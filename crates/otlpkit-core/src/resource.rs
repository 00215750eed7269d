//! Resource attributes (checklist 4.1–4.3).
//!
//! This module produces a plain ordered list of `(key, value)` string
//! attributes; the facade turns it into an `opentelemetry_sdk::Resource`
//! (which adds `telemetry.sdk.*` itself: otlpkit builds on the official SDK,
//! so `telemetry.sdk.name` stays `opentelemetry`).

use std::fmt;

use crate::env::{EnvPolicy, EnvSource};
use crate::error::{ConfigError, ConfigWarning, Origin};
use crate::parse::EnvReader;
use crate::source::{Resolved, Source};
use crate::vars;

/// `service.name`.
pub const SERVICE_NAME: &str = "service.name";
/// `telemetry.distro.name`.
pub const TELEMETRY_DISTRO_NAME: &str = "telemetry.distro.name";
/// `telemetry.distro.version`.
pub const TELEMETRY_DISTRO_VERSION: &str = "telemetry.distro.version";
/// The value of `telemetry.distro.name`: `otlpkit`.
pub const DISTRO_NAME: &str = "otlpkit";
/// The value of `telemetry.distro.version`: this crate's version.
pub const DISTRO_VERSION: &str = env!("CARGO_PKG_VERSION");

/// Why `OTEL_RESOURCE_ATTRIBUTES` could not be decoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("entry #{index}: {reason}")]
pub struct ResourceAttributesError {
    /// Position of the entry in the comma-separated list (0-based).
    pub index: usize,
    /// What is wrong.
    pub reason: &'static str,
}

/// Parses `OTEL_RESOURCE_ATTRIBUTES` (`k1=v1,k2=v2`, checklist 4.2).
///
/// Keys and values are trimmed and percent-decoded; empty entries are
/// skipped; a value may contain a literal `=` (only the first one splits).
/// Any decode error (an entry without `=`, an empty key, a `%` not followed
/// by two hex digits, or bytes that are not UTF-8 once decoded) fails the
/// whole list. A repeated key keeps its first position and its last value.
pub fn parse_resource_attributes(
    list: &str,
) -> Result<Vec<(String, String)>, ResourceAttributesError> {
    let mut attributes: Vec<(String, String)> = Vec::new();
    for (index, entry) in list.split(',').enumerate() {
        let entry = entry.trim();
        if entry.is_empty() {
            continue;
        }
        let error = |reason| ResourceAttributesError { index, reason };
        let (key, value) = entry
            .split_once('=')
            .ok_or_else(|| error("no `=` between key and value"))?;
        let key = strict_percent_decode(key.trim()).map_err(error)?;
        let value = strict_percent_decode(value.trim()).map_err(error)?;
        if key.is_empty() {
            return Err(error("empty key"));
        }
        upsert(&mut attributes, key, value);
    }
    Ok(attributes)
}

/// Percent-decodes, rejecting malformed escapes and non-UTF-8 results.
fn strict_percent_decode(text: &str) -> Result<String, &'static str> {
    let bytes = text.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let valid = bytes
                .get(i + 1..i + 3)
                .is_some_and(|pair| pair.iter().all(u8::is_ascii_hexdigit));
            if !valid {
                return Err("`%` not followed by two hex digits");
            }
            i += 3;
        } else {
            i += 1;
        }
    }
    percent_encoding::percent_decode_str(text)
        .decode_utf8()
        .map(std::borrow::Cow::into_owned)
        .map_err(|_| "not valid UTF-8 once percent-decoded")
}

fn upsert(attributes: &mut Vec<(String, String)>, key: String, value: String) {
    match attributes.iter_mut().find(|(k, _)| *k == key) {
        Some(entry) => entry.1 = value,
        None => attributes.push((key, value)),
    }
}

/// `unknown_service:<executable name>`, or `unknown_service` when the
/// executable name cannot be determined (checklist 4.3).
pub fn default_service_name() -> String {
    std::env::current_exe()
        .ok()
        .and_then(|path| {
            path.file_name()
                .and_then(|name| name.to_str())
                .map(str::to_owned)
        })
        .filter(|name| !name.is_empty())
        .map_or_else(
            || "unknown_service".to_owned(),
            |name| format!("unknown_service:{name}"),
        )
}

/// The resolved resource attributes.
#[derive(Clone, PartialEq, Eq)]
pub struct ResourceConfig {
    attributes: Vec<(String, String)>,
    service_name_source: Source,
}

impl ResourceConfig {
    /// A builder.
    pub fn builder() -> ResourceConfigBuilder {
        ResourceConfigBuilder::default()
    }

    /// Every attribute in order: `service.name` first, then attributes set in
    /// code, then those from `OTEL_RESOURCE_ATTRIBUTES`, then the
    /// `telemetry.distro.*` pair (unless set by the user).
    pub fn attributes(&self) -> &[(String, String)] {
        &self.attributes
    }

    /// The value of attribute `key`.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.attributes
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// The `service.name` attribute (always present).
    pub fn service_name(&self) -> &str {
        self.get(SERVICE_NAME).unwrap_or_default()
    }

    /// Where `service.name` came from: `Code`, `Env(OTEL_SERVICE_NAME)`,
    /// `Env(OTEL_RESOURCE_ATTRIBUTES)` or `Default`.
    pub fn service_name_source(&self) -> Source {
        self.service_name_source
    }
}

impl fmt::Debug for ResourceConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ResourceConfig")
            .field("attributes", &self.attributes)
            .field("service_name_source", &self.service_name_source)
            .finish()
    }
}

/// Builds a [`ResourceConfig`]. Code values win over the environment for
/// every key.
///
/// ```
/// use otlpkit_core::{MapEnv, ResourceConfig};
///
/// let env = MapEnv::from([
///     ("OTEL_RESOURCE_ATTRIBUTES", "service.name=from-attrs,team=core%2Cplatform"),
///     ("OTEL_SERVICE_NAME", "checkout"),
/// ]);
/// let resource = ResourceConfig::builder().build(&env)?.into_value();
/// assert_eq!(resource.service_name(), "checkout");
/// assert_eq!(resource.get("team"), Some("core,platform"));
/// assert_eq!(resource.get("telemetry.distro.name"), Some("otlpkit"));
/// # Ok::<(), otlpkit_core::ConfigError>(())
/// ```
#[derive(Debug, Clone, Default)]
pub struct ResourceConfigBuilder {
    service_name: Option<String>,
    attributes: Vec<(String, String)>,
    policy: EnvPolicy,
}

impl ResourceConfigBuilder {
    /// Sets `service.name` (wins over every other source).
    #[must_use]
    pub fn with_service_name(mut self, name: impl Into<String>) -> Self {
        self.service_name = Some(name.into());
        self
    }

    /// Adds an attribute (a repeated key replaces the earlier value).
    #[must_use]
    pub fn with_attribute(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        upsert(&mut self.attributes, key.into(), value.into());
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

    /// Resolves the attributes.
    pub fn build<E: EnvSource + ?Sized>(
        self,
        env: &E,
    ) -> Result<Resolved<ResourceConfig>, ConfigError> {
        let env: &dyn EnvSource = &env;
        let policy = self.policy;
        let mut reader = EnvReader::new(env);
        let config = self.resolve(&mut reader)?;
        reader.finish(config, policy)
    }

    pub(crate) fn resolve(self, reader: &mut EnvReader<'_>) -> Result<ResourceConfig, ConfigError> {
        if self.attributes.iter().any(|(k, _)| k.is_empty()) {
            return Err(ConfigError::InvalidValue {
                origin: Origin::Builder("ResourceConfigBuilder::with_attribute"),
                value: "\"\"".to_owned(),
                reason: "an attribute key must not be empty",
            });
        }
        if self.service_name.as_deref() == Some("") {
            return Err(ConfigError::InvalidValue {
                origin: Origin::Builder("ResourceConfigBuilder::with_service_name"),
                value: "\"\"".to_owned(),
                reason: "the service name must not be empty",
            });
        }

        let env_attributes = match reader.raw(vars::OTEL_RESOURCE_ATTRIBUTES) {
            None => Vec::new(),
            Some(raw) => match parse_resource_attributes(&raw) {
                Ok(attributes) => attributes,
                Err(error) => {
                    // checklist 4.2: a decode error drops the whole variable.
                    reader.warn(ConfigWarning::InvalidResourceAttributes {
                        var: vars::OTEL_RESOURCE_ATTRIBUTES,
                        value: raw,
                        reason: error.to_string(),
                    });
                    Vec::new()
                }
            },
        };
        let env_service_name = reader.trimmed(vars::OTEL_SERVICE_NAME);

        let code_attr = |key: &str| {
            self.attributes
                .iter()
                .find(|(k, _)| k == key)
                .map(|(_, v)| v.clone())
        };
        let env_attr = |key: &str| {
            env_attributes
                .iter()
                .find(|(k, _)| k == key)
                .map(|(_, v)| v.clone())
        };

        let (service_name, service_name_source) = if let Some(name) = self.service_name.clone() {
            (name, Source::Code)
        } else if let Some(name) = code_attr(SERVICE_NAME) {
            (name, Source::Code)
        } else if let Some(name) = env_service_name {
            (name, Source::Env(vars::OTEL_SERVICE_NAME))
        } else if let Some(name) = env_attr(SERVICE_NAME) {
            (name, Source::Env(vars::OTEL_RESOURCE_ATTRIBUTES))
        } else {
            (default_service_name(), Source::Default)
        };

        let mut attributes = vec![(SERVICE_NAME.to_owned(), service_name)];
        for (key, value) in self.attributes.iter().chain(&env_attributes) {
            if !attributes.iter().any(|(k, _)| k == key) {
                attributes.push((key.clone(), value.clone()));
            }
        }
        for (key, value) in [
            (TELEMETRY_DISTRO_NAME, DISTRO_NAME),
            (TELEMETRY_DISTRO_VERSION, DISTRO_VERSION),
        ] {
            if !attributes.iter().any(|(k, _)| k == key) {
                attributes.push((key.to_owned(), value.to_owned()));
            }
        }

        Ok(ResourceConfig {
            attributes,
            service_name_source,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::MapEnv;

    #[test]
    fn otel_service_name_wins_over_resource_attributes() {
        // checklist 4.1
        let env = MapEnv::from([
            ("OTEL_RESOURCE_ATTRIBUTES", "service.name=attrs,a=1"),
            ("OTEL_SERVICE_NAME", "svc"),
        ]);
        let resource = ResourceConfig::builder().build(&env).unwrap().value;
        assert_eq!(resource.service_name(), "svc");
        assert_eq!(
            resource.service_name_source(),
            Source::Env("OTEL_SERVICE_NAME")
        );
        assert_eq!(
            resource
                .attributes()
                .iter()
                .filter(|(k, _)| k == SERVICE_NAME)
                .count(),
            1
        );
    }

    #[test]
    fn service_name_from_resource_attributes_when_no_service_name_variable() {
        // checklist 4.1
        let env = MapEnv::from([("OTEL_RESOURCE_ATTRIBUTES", "service.name=attrs")]);
        let resource = ResourceConfig::builder().build(&env).unwrap().value;
        assert_eq!(resource.service_name(), "attrs");
        assert_eq!(
            resource.service_name_source(),
            Source::Env("OTEL_RESOURCE_ATTRIBUTES")
        );
    }

    #[test]
    fn code_values_win_over_environment_for_every_key() {
        // checklist 4.2: env attributes are merged as secondary.
        let env = MapEnv::from([
            ("OTEL_RESOURCE_ATTRIBUTES", "a=env,b=env"),
            ("OTEL_SERVICE_NAME", "env-svc"),
        ]);
        let resource = ResourceConfig::builder()
            .with_service_name("code-svc")
            .with_attribute("a", "code")
            .build(&env)
            .unwrap()
            .value;
        assert_eq!(resource.service_name(), "code-svc");
        assert_eq!(resource.service_name_source(), Source::Code);
        assert_eq!(resource.get("a"), Some("code"));
        assert_eq!(resource.get("b"), Some("env"));
    }

    #[test]
    fn resource_attributes_are_percent_decoded() {
        // checklist 4.2
        let parsed =
            parse_resource_attributes(" k%3D1 = v%2C1 , url=http://x?a=b, emoji=%F0%9F%A6%80,")
                .unwrap();
        assert_eq!(
            parsed,
            vec![
                ("k=1".to_owned(), "v,1".to_owned()),
                ("url".to_owned(), "http://x?a=b".to_owned()),
                ("emoji".to_owned(), "\u{1f980}".to_owned()),
            ]
        );
    }

    #[test]
    fn decode_error_drops_the_whole_variable_with_a_warning() {
        // checklist 4.2
        for bad in ["a=1,b=%zz", "a=1,novalue", "a=%FF", "=v", "a=%4"] {
            assert!(parse_resource_attributes(bad).is_err(), "{bad}");
            let env = MapEnv::from([("OTEL_RESOURCE_ATTRIBUTES", bad)]);
            let resolved = ResourceConfig::builder().build(&env).unwrap();
            assert_eq!(resolved.value.get("a"), None, "{bad}");
            assert!(matches!(
                &resolved.warnings[0],
                ConfigWarning::InvalidResourceAttributes { value, .. } if value == bad
            ));
        }
    }

    #[test]
    fn default_service_name_is_unknown_service_with_executable_name() {
        // checklist 4.3
        let expected = format!(
            "unknown_service:{}",
            std::env::current_exe()
                .unwrap()
                .file_name()
                .unwrap()
                .to_str()
                .unwrap()
        );
        assert_eq!(default_service_name(), expected);
        let resource = ResourceConfig::builder()
            .build(&MapEnv::new())
            .unwrap()
            .value;
        assert_eq!(resource.service_name(), expected);
        assert_eq!(resource.service_name_source(), Source::Default);
    }

    #[test]
    fn distro_attributes_identify_otlpkit() {
        // checklist 4.3: telemetry.sdk.* stays the official SDK's; otlpkit is the distro.
        let resource = ResourceConfig::builder()
            .build(&MapEnv::new())
            .unwrap()
            .value;
        assert_eq!(resource.get("telemetry.distro.name"), Some("otlpkit"));
        assert_eq!(
            resource.get("telemetry.distro.version"),
            Some(env!("CARGO_PKG_VERSION"))
        );
        assert_eq!(resource.get("telemetry.sdk.name"), None);
        assert_eq!(resource.attributes()[0].0, "service.name");
    }

    #[test]
    fn empty_keys_and_names_from_code_are_errors() {
        assert!(
            ResourceConfig::builder()
                .with_attribute("", "v")
                .build(&MapEnv::new())
                .is_err()
        );
        assert!(
            ResourceConfig::builder()
                .with_service_name("")
                .build(&MapEnv::new())
                .is_err()
        );
    }
}
