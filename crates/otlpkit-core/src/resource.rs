//! Resource attributes (checklist 4.1–4.3).
//!
//! This module produces a plain ordered list of `(key, value)` attributes
//! ([`ResourceConfig::attributes`] as text, [`ResourceConfig::typed_attributes`]
//! with integers where the semantic conventions say so); the facade turns it
//! into an `opentelemetry_sdk::Resource` (which adds `telemetry.sdk.*` itself:
//! otlpkit builds on the official SDK, so `telemetry.sdk.name` stays
//! `opentelemetry`). The detected attributes come from [`crate::detect`].

use std::fmt;

use crate::detect::{self, ResourceDetection, SERVICE_VERSION};
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
#[non_exhaustive]
pub struct ResourceAttributesError {
    /// Position of the entry in the comma-separated list (0-based).
    pub index: usize,
    /// What is wrong.
    pub reason: &'static str,
}

/// A service's name and version as its crate declares them, made by
/// [`service_info!`](crate::service_info) at the call site: the fallback for
/// `service.name` (instead of `unknown_service:<executable>`) and the
/// `service.version` attribute.
///
/// Both stay below the environment: `OTEL_SERVICE_NAME` and
/// `OTEL_RESOURCE_ATTRIBUTES` (`service.name=…`, `service.version=…`) win,
/// and so do [`ResourceConfigBuilder::with_service_name`] and
/// [`ResourceConfigBuilder::with_attribute`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceInfo {
    name: String,
    version: String,
}

impl ServiceInfo {
    /// A name and version; [`service_info!`](crate::service_info) fills them
    /// from the calling crate's `Cargo.toml`.
    pub fn new(name: impl Into<String>, version: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            version: version.into(),
        }
    }

    /// The service name (the crate's name).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The service version (the crate's version).
    pub fn version(&self) -> &str {
        &self.version
    }
}

/// The calling crate's name and version (`CARGO_PKG_NAME`,
/// `CARGO_PKG_VERSION`, read where the macro is written) as a
/// [`ServiceInfo`]: one line gives a program its `service.version` and a
/// better default `service.name`.
///
/// ```
/// use otlpkit_core::{MapEnv, ResourceConfig};
///
/// let resource = ResourceConfig::builder()
///     .with_service_info(otlpkit_core::service_info!())
///     .build(&MapEnv::new())?
///     .into_value();
/// assert_eq!(resource.service_name(), env!("CARGO_PKG_NAME"));
/// assert_eq!(resource.get("service.version"), Some(env!("CARGO_PKG_VERSION")));
///
/// // The environment still wins.
/// let env = MapEnv::from([
///     ("OTEL_SERVICE_NAME", "checkout"),
///     ("OTEL_RESOURCE_ATTRIBUTES", "service.version=2.0.0-rc1"),
/// ]);
/// let resource = ResourceConfig::builder()
///     .with_service_info(otlpkit_core::service_info!())
///     .build(&env)?
///     .into_value();
/// assert_eq!(resource.service_name(), "checkout");
/// assert_eq!(resource.get("service.version"), Some("2.0.0-rc1"));
/// # Ok::<(), otlpkit_core::ConfigError>(())
/// ```
#[macro_export]
macro_rules! service_info {
    () => {
        $crate::ServiceInfo::new(
            ::core::env!("CARGO_PKG_NAME"),
            ::core::env!("CARGO_PKG_VERSION"),
        )
    };
}

/// A resource attribute's value, typed as the semantic conventions type it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum AttributeValue<'a> {
    /// A string (every attribute from code or `OTEL_RESOURCE_ATTRIBUTES`).
    String(&'a str),
    /// An integer (detected attributes such as `process.pid`).
    Int(i64),
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
    /// The detected attributes the conventions type as integers.
    ints: Vec<(&'static str, i64)>,
    service_name_source: Source,
    detection: ResourceDetection,
}

impl ResourceConfig {
    /// A builder.
    pub fn builder() -> ResourceConfigBuilder {
        ResourceConfigBuilder::default()
    }

    /// Every attribute in order, as text: `service.name` first, then
    /// attributes set in code, then those from `OTEL_RESOURCE_ATTRIBUTES`,
    /// then `service.version` from a [`ServiceInfo`], then the detected
    /// attributes, then the `telemetry.distro.*` pair. A key set by an
    /// earlier source is not repeated by a later one.
    ///
    /// Integer attributes (`process.pid`) are given in decimal here; use
    /// [`typed_attributes`](Self::typed_attributes) to export them typed.
    pub fn attributes(&self) -> &[(String, String)] {
        &self.attributes
    }

    /// [`attributes`](Self::attributes), with the detected attributes that
    /// the semantic conventions type as integers (`process.pid`) as
    /// [`AttributeValue::Int`].
    pub fn typed_attributes(&self) -> impl Iterator<Item = (&str, AttributeValue<'_>)> {
        self.attributes.iter().map(|(key, value)| {
            let int = self
                .ints
                .iter()
                .find(|(int_key, _)| int_key == key)
                .map(|(_, int)| *int);
            let value = int.map_or(AttributeValue::String(value), AttributeValue::Int);
            (key.as_str(), value)
        })
    }

    /// Whether the detected attributes were added
    /// (`OTLPKIT_RESOURCE_DETECTION`, [`ResourceConfigBuilder::with_detection`]).
    pub fn detection(&self) -> ResourceDetection {
        self.detection
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
            .field("detection", &self.detection)
            .finish()
    }
}

/// Builds a [`ResourceConfig`]. Code values win over the environment for
/// every key, and both win over the detected attributes.
///
/// Resource detection ([`crate::detect`]: `service.instance.id`, host, OS,
/// process, runtime, container) is on unless
/// `OTLPKIT_RESOURCE_DETECTION=off` or
/// [`with_detection(ResourceDetection::Off)`](Self::with_detection) says
/// otherwise; it never fails a build.
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
    service_info: Option<ServiceInfo>,
    attributes: Vec<(String, String)>,
    detection: Option<ResourceDetection>,
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

    /// The crate's name and version ([`service_info!`](crate::service_info)):
    /// `service.version`, and `service.name` when neither code nor the
    /// environment names the service.
    #[must_use]
    pub fn with_service_info(mut self, info: ServiceInfo) -> Self {
        self.service_info = Some(info);
        self
    }

    /// Whether to add the detected attributes (`OTLPKIT_RESOURCE_DETECTION`;
    /// on by default).
    #[must_use]
    pub fn with_detection(mut self, detection: ResourceDetection) -> Self {
        self.detection = Some(detection);
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
        let detection = match self.detection {
            Some(detection) => detection,
            None => reader
                .parse_enum(vars::OTLPKIT_RESOURCE_DETECTION)
                .unwrap_or_default(),
        };

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
        } else if let Some(info) = self.service_info.as_ref().filter(|i| !i.name.is_empty()) {
            (info.name.clone(), Source::Code)
        } else {
            (default_service_name(), Source::Default)
        };

        let mut attributes = vec![(SERVICE_NAME.to_owned(), service_name)];
        let mut add = |key: &str, value: &str| {
            if !attributes.iter().any(|(k, _)| k == key) {
                attributes.push((key.to_owned(), value.to_owned()));
            }
        };
        for (key, value) in self.attributes.iter().chain(&env_attributes) {
            add(key, value);
        }
        if let Some(info) = self.service_info.as_ref().filter(|i| !i.version.is_empty()) {
            add(SERVICE_VERSION, &info.version);
        }
        let mut ints = Vec::new();
        if detection.is_on() {
            for detected in detect::detect() {
                if attributes.iter().any(|(k, _)| k == detected.key) {
                    continue;
                }
                if let Some(int) = detected.int {
                    ints.push((detected.key, int));
                }
                attributes.push((detected.key.to_owned(), detected.value));
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
            ints,
            service_name_source,
            detection,
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

    fn keys(resource: &ResourceConfig) -> Vec<&str> {
        resource
            .attributes()
            .iter()
            .map(|(k, _)| k.as_str())
            .collect()
    }

    #[test]
    fn detected_attributes_come_after_user_values_and_before_the_distro_pair() {
        let resource = ResourceConfig::builder()
            .with_attribute("team", "core")
            .build(&MapEnv::from([("OTEL_RESOURCE_ATTRIBUTES", "region=eu")]))
            .unwrap()
            .value;
        assert_eq!(resource.detection(), ResourceDetection::On);
        let keys = keys(&resource);
        let position = |key: &str| keys.iter().position(|k| *k == key).unwrap();
        assert_eq!(&keys[..3], ["service.name", "team", "region"]);
        for key in [
            "service.instance.id",
            "host.arch",
            "os.type",
            "process.pid",
            "process.executable.name",
            "process.runtime.name",
            "process.runtime.version",
            "process.runtime.description",
        ] {
            assert!(position(key) > position("region"), "{key}: {keys:?}");
            assert!(position(key) < position(TELEMETRY_DISTRO_NAME), "{key}");
        }
        assert_eq!(
            resource.get("process.pid"),
            Some(std::process::id().to_string().as_str())
        );
        assert_eq!(resource.get("process.runtime.name"), Some("rustc"));
        // One instance id per process, whatever builds the resource.
        let again = ResourceConfig::builder()
            .build(&MapEnv::new())
            .unwrap()
            .value;
        let id = resource.get("service.instance.id").unwrap();
        assert_eq!(again.get("service.instance.id"), Some(id));
        assert_eq!(id.len(), 36);
    }

    #[test]
    fn code_and_the_environment_win_over_detected_values() {
        let env = MapEnv::from([(
            "OTEL_RESOURCE_ATTRIBUTES",
            "host.name=from-env,service.instance.id=pod-7,process.pid=1",
        )]);
        let resource = ResourceConfig::builder()
            .with_attribute("host.arch", "from-code")
            .build(&env)
            .unwrap()
            .value;
        assert_eq!(resource.get("host.name"), Some("from-env"));
        assert_eq!(resource.get("service.instance.id"), Some("pod-7"));
        assert_eq!(resource.get("host.arch"), Some("from-code"));
        // A user's value is a string, even for a key detection types as int.
        assert_eq!(resource.get("process.pid"), Some("1"));
        let typed: Vec<_> = resource.typed_attributes().collect();
        assert!(typed.contains(&("process.pid", AttributeValue::String("1"))));
        for key in [
            "host.name",
            "host.arch",
            "service.instance.id",
            "process.pid",
        ] {
            assert_eq!(keys(&resource).iter().filter(|k| **k == key).count(), 1);
        }
    }

    #[test]
    fn process_pid_is_typed_as_an_integer() {
        let resource = ResourceConfig::builder()
            .build(&MapEnv::new())
            .unwrap()
            .value;
        let typed: Vec<_> = resource.typed_attributes().collect();
        assert_eq!(typed.len(), resource.attributes().len());
        assert!(typed.contains(&(
            "process.pid",
            AttributeValue::Int(i64::from(std::process::id()))
        )));
        assert!(typed.contains(&(
            "service.name",
            AttributeValue::String(resource.service_name())
        )));
    }

    #[test]
    fn detection_is_switched_off_by_the_variable_or_by_code() {
        let detected = ["service.instance.id", "host.arch", "os.type", "process.pid"];
        for value in ["off", "OFF", "false", "none"] {
            let env = MapEnv::from([("OTLPKIT_RESOURCE_DETECTION", value)]);
            let resolved = ResourceConfig::builder().build(&env).unwrap();
            assert!(resolved.warnings.is_empty(), "{value}");
            let resource = resolved.value;
            assert_eq!(resource.detection(), ResourceDetection::Off);
            assert_eq!(
                keys(&resource),
                [
                    "service.name",
                    TELEMETRY_DISTRO_NAME,
                    TELEMETRY_DISTRO_VERSION
                ],
                "{value}"
            );
        }
        // Code wins over the variable, both ways.
        let off = MapEnv::from([("OTLPKIT_RESOURCE_DETECTION", "off")]);
        let resource = ResourceConfig::builder()
            .with_detection(ResourceDetection::On)
            .build(&off)
            .unwrap()
            .value;
        assert!(detected.iter().all(|key| resource.get(key).is_some()));
        let resource = ResourceConfig::builder()
            .with_detection(ResourceDetection::Off)
            .build(&MapEnv::from([("OTLPKIT_RESOURCE_DETECTION", "on")]))
            .unwrap()
            .value;
        assert!(detected.iter().all(|key| resource.get(key).is_none()));
    }

    #[test]
    fn an_unknown_detection_value_warns_and_keeps_detection_on() {
        let env = MapEnv::from([("OTLPKIT_RESOURCE_DETECTION", "sometimes")]);
        let resolved = ResourceConfig::builder().build(&env).unwrap();
        assert_eq!(resolved.value.detection(), ResourceDetection::On);
        assert!(resolved.value.get("process.pid").is_some());
        assert!(matches!(
            &resolved.warnings[..],
            [ConfigWarning::InvalidValue { var: "OTLPKIT_RESOURCE_DETECTION", value, .. }] if value == "sometimes"
        ));
        let strict = ResourceConfig::builder()
            .with_env_policy(EnvPolicy::Strict)
            .build(&env);
        assert!(strict.is_err());
    }

    #[test]
    fn service_info_names_and_versions_the_service_below_the_environment() {
        let info = ServiceInfo::new("billing", "1.4.2");
        let resource = ResourceConfig::builder()
            .with_service_info(info.clone())
            .build(&MapEnv::new())
            .unwrap()
            .value;
        assert_eq!(resource.service_name(), "billing");
        assert_eq!(resource.service_name_source(), Source::Code);
        assert_eq!(resource.get("service.version"), Some("1.4.2"));

        let env = MapEnv::from([(
            "OTEL_RESOURCE_ATTRIBUTES",
            "service.name=attrs,service.version=9",
        )]);
        let resource = ResourceConfig::builder()
            .with_service_info(info.clone())
            .build(&env)
            .unwrap()
            .value;
        assert_eq!(resource.service_name(), "attrs");
        assert_eq!(resource.get("service.version"), Some("9"));

        let resource = ResourceConfig::builder()
            .with_service_info(info)
            .with_service_name("explicit")
            .with_attribute("service.version", "code")
            .build(&MapEnv::from([("OTEL_SERVICE_NAME", "env")]))
            .unwrap()
            .value;
        assert_eq!(resource.service_name(), "explicit");
        assert_eq!(resource.get("service.version"), Some("code"));

        // The macro reads the calling crate's manifest.
        let info = crate::service_info!();
        assert_eq!(info.name(), "otlpkit-core");
        assert_eq!(info.version(), env!("CARGO_PKG_VERSION"));
    }
}
