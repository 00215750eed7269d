//! Where environment variables come from: an injectable [`EnvSource`].
//!
//! Resolution never reads `std::env` directly; it asks an [`EnvSource`].
//! [`ProcessEnv`] reads the real process environment, [`MapEnv`] (and maps or
//! slices of pairs) let tests and embedders supply their own.

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::hash::BuildHasher;

/// The outcome of looking one variable up.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Lookup {
    /// The variable is not set.
    Unset,
    /// The variable is set to this value (possibly empty).
    Value(String),
    /// The variable is set but its value is not valid Unicode; it is reported
    /// with a warning and treated as unset.
    NotUnicode,
}

/// A source of environment variables.
///
/// Implement [`get`](EnvSource::get); override [`lookup`](EnvSource::lookup)
/// only if the source can hold values that are not valid Unicode.
///
/// An empty value is treated exactly like an unset variable (checklist 1.18);
/// sources do not need to filter empty values themselves.
pub trait EnvSource {
    /// The value of `name`, or `None` if it is unset (or not valid Unicode).
    fn get(&self, name: &str) -> Option<String>;

    /// Like [`get`](EnvSource::get) but able to report a value that is set yet
    /// not valid Unicode.
    fn lookup(&self, name: &str) -> Lookup {
        match self.get(name) {
            Some(value) => Lookup::Value(value),
            None => Lookup::Unset,
        }
    }
}

impl<T: EnvSource + ?Sized> EnvSource for &T {
    fn get(&self, name: &str) -> Option<String> {
        (**self).get(name)
    }

    fn lookup(&self, name: &str) -> Lookup {
        (**self).lookup(name)
    }
}

/// The environment of the running process (`std::env`).
///
/// A value that is not valid Unicode is reported as [`Lookup::NotUnicode`]
/// (which resolution turns into a [`ConfigWarning::NotUnicode`](crate::ConfigWarning::NotUnicode)),
/// never a panic.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ProcessEnv;

impl EnvSource for ProcessEnv {
    fn get(&self, name: &str) -> Option<String> {
        match self.lookup(name) {
            Lookup::Value(value) => Some(value),
            Lookup::Unset | Lookup::NotUnicode => None,
        }
    }

    fn lookup(&self, name: &str) -> Lookup {
        // The platform may reject names that are empty or contain `=` or NUL;
        // no such variable can be set, so answer "unset" without asking.
        if name.is_empty() || name.contains(['=', '\0']) {
            return Lookup::Unset;
        }
        match std::env::var_os(name) {
            None => Lookup::Unset,
            Some(value) => match value.into_string() {
                Ok(value) => Lookup::Value(value),
                Err(_) => Lookup::NotUnicode,
            },
        }
    }
}

/// An in-memory environment, for tests and for programs that read their
/// configuration from somewhere other than the process environment.
///
/// ```
/// use otlpkit_core::{EnvSource, MapEnv};
///
/// let env = MapEnv::new().with("OTEL_SERVICE_NAME", "checkout");
/// assert_eq!(env.get("OTEL_SERVICE_NAME").as_deref(), Some("checkout"));
///
/// let env = MapEnv::from([("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc")]);
/// assert_eq!(env.get("OTEL_EXPORTER_OTLP_PROTOCOL").as_deref(), Some("grpc"));
/// ```
///
/// `Debug` shows every variable name but redacts the values of header
/// variables (`*_HEADERS`), which carry credentials, and the user
/// information and query of endpoint variables (`*_ENDPOINT`).
#[derive(Clone, Default, PartialEq, Eq)]
pub struct MapEnv {
    vars: BTreeMap<String, String>,
}

impl MapEnv {
    /// An empty environment.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets `name` to `value` and returns the environment (builder style).
    #[must_use]
    pub fn with(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.set(name, value);
        self
    }

    /// Sets `name` to `value`, replacing any previous value.
    pub fn set(&mut self, name: impl Into<String>, value: impl Into<String>) {
        self.vars.insert(name.into(), value.into());
    }

    /// Removes `name`, returning its previous value.
    pub fn remove(&mut self, name: &str) -> Option<String> {
        self.vars.remove(name)
    }

    /// Number of variables set.
    pub fn len(&self) -> usize {
        self.vars.len()
    }

    /// Whether no variable is set.
    pub fn is_empty(&self) -> bool {
        self.vars.is_empty()
    }
}

impl EnvSource for MapEnv {
    fn get(&self, name: &str) -> Option<String> {
        self.vars.get(name).cloned()
    }
}

impl fmt::Debug for MapEnv {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut map = f.debug_map();
        for (name, value) in &self.vars {
            if crate::vars::is_secret(name) {
                map.entry(name, &crate::headers::Redacted);
            } else if name.ends_with("_ENDPOINT") {
                // `user:password@` and `?api_key=` of an endpoint.
                map.entry(name, &crate::error::redact_url_secrets(value));
            } else {
                map.entry(name, value);
            }
        }
        map.finish()
    }
}

impl<K: Into<String>, V: Into<String>> FromIterator<(K, V)> for MapEnv {
    fn from_iter<I: IntoIterator<Item = (K, V)>>(iter: I) -> Self {
        let mut env = Self::new();
        env.extend(iter);
        env
    }
}

impl<K: Into<String>, V: Into<String>> Extend<(K, V)> for MapEnv {
    fn extend<I: IntoIterator<Item = (K, V)>>(&mut self, iter: I) {
        for (name, value) in iter {
            self.set(name, value);
        }
    }
}

impl<K: Into<String>, V: Into<String>, const N: usize> From<[(K, V); N]> for MapEnv {
    fn from(pairs: [(K, V); N]) -> Self {
        pairs.into_iter().collect()
    }
}

impl<S: BuildHasher> EnvSource for HashMap<String, String, S> {
    fn get(&self, name: &str) -> Option<String> {
        HashMap::get(self, name).cloned()
    }
}

impl<S: BuildHasher> EnvSource for HashMap<&str, &str, S> {
    fn get(&self, name: &str) -> Option<String> {
        HashMap::get(self, name).map(|v| (*v).to_owned())
    }
}

impl EnvSource for BTreeMap<String, String> {
    fn get(&self, name: &str) -> Option<String> {
        BTreeMap::get(self, name).cloned()
    }
}

impl EnvSource for BTreeMap<&str, &str> {
    fn get(&self, name: &str) -> Option<String> {
        BTreeMap::get(self, name).map(|v| (*v).to_owned())
    }
}

/// A list of pairs; when a name appears twice the later pair wins, as with
/// repeated assignments in a shell.
impl EnvSource for [(&str, &str)] {
    fn get(&self, name: &str) -> Option<String> {
        self.iter()
            .rev()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| (*v).to_owned())
    }
}

/// See the slice implementation.
impl<const N: usize> EnvSource for [(&str, &str); N] {
    fn get(&self, name: &str) -> Option<String> {
        EnvSource::get(self.as_slice(), name)
    }
}

/// See the slice implementation.
impl EnvSource for Vec<(&str, &str)> {
    fn get(&self, name: &str) -> Option<String> {
        EnvSource::get(self.as_slice(), name)
    }
}

/// A list of owned pairs; the later pair wins.
impl EnvSource for [(String, String)] {
    fn get(&self, name: &str) -> Option<String> {
        self.iter()
            .rev()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.clone())
    }
}

/// See the slice implementation.
impl EnvSource for Vec<(String, String)> {
    fn get(&self, name: &str) -> Option<String> {
        EnvSource::get(self.as_slice(), name)
    }
}

/// How resolution treats the problems the specification says to warn about.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum EnvPolicy {
    /// Follow the specification: report a [`ConfigWarning`](crate::ConfigWarning),
    /// ignore the offending value and carry on (the default).
    #[default]
    Lenient,
    /// Turn every warning into [`ConfigError::Strict`](crate::ConfigError::Strict)
    /// (an otlpkit extension, useful in CI and tests).
    Strict,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn map_env_builder_set_and_remove() {
        let mut env = MapEnv::new().with("A", "1").with("B", "2");
        assert_eq!(env.len(), 2);
        assert_eq!(env.get("A").as_deref(), Some("1"));
        env.set("A", "3");
        assert_eq!(env.get("A").as_deref(), Some("3"));
        assert_eq!(env.remove("A").as_deref(), Some("3"));
        assert_eq!(env.get("A"), None);
        assert!(!env.is_empty());
        assert_eq!(env.lookup("B"), Lookup::Value("2".into()));
        assert_eq!(env.lookup("C"), Lookup::Unset);
    }

    #[test]
    fn map_env_debug_redacts_headers_and_endpoint_credentials() {
        let env = MapEnv::from([
            ("OTEL_EXPORTER_OTLP_HEADERS", "authorization=Bearer sekrit"),
            ("OTEL_SERVICE_NAME", "checkout"),
        ]);
        let debug = format!("{env:?}");
        assert!(!debug.contains("sekrit"), "{debug}");
        assert!(debug.contains("OTEL_EXPORTER_OTLP_HEADERS"), "{debug}");
        assert!(debug.contains("checkout"), "{debug}");
        let env = MapEnv::from([
            (
                "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
                "http://user:pw-sekrit@collector:4318/v1/traces?api_key=key-sekrit",
            ),
            (
                "OTEL_EXPORTER_OTLP_ENDPOINT",
                "user:pw-sekrit@collector:4318",
            ),
        ]);
        let debug = format!("{env:?}");
        assert!(!debug.contains("sekrit"), "{debug}");
        assert!(debug.contains("collector:4318/v1/traces"), "{debug}");
    }

    #[test]
    fn pair_slices_let_the_later_pair_win() {
        let pairs = [("A", "1"), ("A", "2")];
        assert_eq!(EnvSource::get(&pairs, "A").as_deref(), Some("2"));
        assert_eq!(EnvSource::get(&pairs[..], "B"), None);
        let owned = vec![("A".to_owned(), "x".to_owned())];
        assert_eq!(EnvSource::get(&owned, "A").as_deref(), Some("x"));
        let borrowed = vec![("A", "y")];
        assert_eq!(EnvSource::get(&borrowed, "A").as_deref(), Some("y"));
    }

    #[test]
    fn std_maps_are_sources() {
        let mut hash: HashMap<String, String> = HashMap::new();
        hash.insert("A".into(), "1".into());
        assert_eq!(EnvSource::get(&hash, "A").as_deref(), Some("1"));
        let hash_str: HashMap<&str, &str> = [("A", "2")].into_iter().collect();
        assert_eq!(EnvSource::get(&hash_str, "A").as_deref(), Some("2"));
        let tree: BTreeMap<&str, &str> = [("A", "3")].into_iter().collect();
        assert_eq!(EnvSource::get(&tree, "A").as_deref(), Some("3"));
        let tree_owned: BTreeMap<String, String> = [("A".into(), "4".into())].into();
        assert_eq!(EnvSource::get(&tree_owned, "A").as_deref(), Some("4"));
    }

    #[test]
    fn process_env_answers_unset_for_names_the_platform_rejects() {
        assert_eq!(ProcessEnv.lookup(""), Lookup::Unset);
        assert_eq!(ProcessEnv.lookup("A=B"), Lookup::Unset);
        assert_eq!(ProcessEnv.lookup("A\0B"), Lookup::Unset);
        assert_eq!(
            ProcessEnv.get("OTLPKIT_TEST_SURELY_UNSET_VARIABLE_42"),
            None
        );
    }
}
