//! Export request headers (checklist 1.11) and their redacted `Debug`.
//!
//! Every header value is treated as a secret: `Debug` prints keys only, and
//! no warning or error ever contains a value.

use std::borrow::Cow;
use std::collections::HashMap;
use std::fmt;

use percent_encoding::percent_decode_str;

/// Prints `<redacted>` in place of a secret.
pub(crate) struct Redacted;

impl fmt::Debug for Redacted {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

/// An ordered list of request headers.
///
/// Keys are kept as given (lowercasing for gRPC metadata is the transport's
/// job; see [`is_valid_grpc_metadata_key`]); lookups ignore ASCII case and
/// [`insert`](Headers::insert) replaces an existing key.
///
/// ```
/// use otlpkit_core::Headers;
///
/// let (headers, issues) = Headers::parse("Authorization=Basic%20AAA, x-tenant = acme");
/// assert!(issues.is_empty());
/// assert_eq!(headers.get("authorization"), Some("Basic AAA"));
/// assert_eq!(format!("{headers:?}"), r#"{"Authorization": <redacted>, "x-tenant": <redacted>}"#);
/// ```
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Headers {
    entries: Vec<(String, String)>,
}

/// Why an entry of a header list was skipped.
///
/// Neither a value nor anything that may be a secret is ever kept: an entry
/// with nothing after its `=` (the variable set to an API key alone) is
/// reported by position only, and an invalid key is named only when it reads
/// as a header name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HeaderIssue {
    /// Position of the entry in the comma-separated list (0-based).
    pub index: usize,
    /// The key, when the entry is reported for its value; for an invalid
    /// key, its part before the first character not allowed in a header name
    /// if that reads as a header name (`Authorization` for
    /// `Authorization: Bearer xyz=`), else a placeholder giving only its
    /// length (`<redacted: 24 characters>`), since it may be a secret.
    /// `None` if no key could be read, or the entry has no value (it may be
    /// a bare secret).
    pub key: Option<String>,
    /// What is wrong.
    pub reason: &'static str,
}

impl Headers {
    /// No headers.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a header, replacing any header with the same key (ASCII
    /// case-insensitive) in place.
    pub fn insert(&mut self, key: impl Into<String>, value: impl Into<String>) {
        let key = key.into();
        let value = value.into();
        match self
            .entries
            .iter_mut()
            .find(|(k, _)| k.eq_ignore_ascii_case(&key))
        {
            Some(entry) => *entry = (key, value),
            None => self.entries.push((key, value)),
        }
    }

    /// [`insert`](Headers::insert), builder style.
    #[must_use]
    pub fn with(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.insert(key, value);
        self
    }

    /// The value of `key` (ASCII case-insensitive).
    pub fn get(&self, key: &str) -> Option<&str> {
        self.entries
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(key))
            .map(|(_, v)| v.as_str())
    }

    /// The headers in order, as `(key, value)`.
    pub fn iter(&self) -> impl ExactSizeIterator<Item = (&str, &str)> + '_ {
        self.entries.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }

    /// The keys in order.
    pub fn keys(&self) -> impl ExactSizeIterator<Item = &str> + '_ {
        self.entries.iter().map(|(k, _)| k.as_str())
    }

    /// Number of headers.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether there are no headers.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Parses a header list in the `OTEL_EXPORTER_OTLP_HEADERS` form
    /// `key1=value1,key2=value2`:
    ///
    /// - entries are separated by `,`; empty entries are skipped silently;
    /// - key and value are split at the first `=` and trimmed of spaces and tabs;
    /// - values are percent-decoded (RFC 3986) and values that were never
    ///   encoded are accepted as they are: `Basic AAA` and `Basic%20AAA` both
    ///   give `Basic AAA`; keys are not decoded;
    /// - `;` has no special meaning (W3C Baggage metadata is not supported),
    ///   it stays part of the value;
    /// - a malformed entry (no `=`, empty or invalid key, value not UTF-8
    ///   after decoding or containing control characters) is skipped and
    ///   reported as a [`HeaderIssue`];
    /// - an entry with nothing after its first `=` but spaces or more `=`
    ///   (`sk_live_Zm9vYmFy==`: the variable set to a base64 API key alone,
    ///   without `name=`) is not a header: it is skipped and reported by
    ///   position only, never sending or showing the would-be secret as a key;
    /// - a key that belongs to the HTTP protocol itself, which would break
    ///   the request's framing or routing (`content-length`,
    ///   `transfer-encoding`, `host`, `connection`, `te`, `upgrade`,
    ///   `keep-alive`, `proxy-connection`, `:pseudo` headers), is skipped and
    ///   reported;
    /// - a repeated key replaces the earlier one.
    ///
    /// The time taken grows linearly with the length of the list.
    pub fn parse(list: &str) -> (Headers, Vec<HeaderIssue>) {
        let mut headers = Headers::new();
        let mut issues = Vec::new();
        // Lowercased key -> position, so that a long list is not quadratic.
        let mut positions: HashMap<String, usize> = HashMap::new();
        for (index, entry) in list.split(',').enumerate() {
            let entry = trim_ows(entry);
            if entry.is_empty() {
                continue;
            }
            let Some((key, value)) = entry.split_once('=') else {
                issues.push(HeaderIssue {
                    index,
                    key: None,
                    reason: "no `=` between key and value",
                });
                continue;
            };
            let key = trim_ows(key);
            if trim_ows(value).bytes().all(|b| b == b'=') {
                // A bare token: its text is not shown, not even as a key.
                issues.push(HeaderIssue {
                    index,
                    key: None,
                    reason: NO_VALUE,
                });
                continue;
            }
            if let Err(reason) = check_key(key) {
                issues.push(HeaderIssue {
                    index,
                    key: key_hint(key),
                    reason,
                });
                continue;
            }
            let value = match percent_decode_str(trim_ows(value)).decode_utf8() {
                Ok(value) => value,
                Err(_) => {
                    issues.push(HeaderIssue {
                        index,
                        key: Some(key.to_owned()),
                        reason: "value is not valid UTF-8 after percent-decoding",
                    });
                    continue;
                }
            };
            if let Err(reason) = check_value(&value) {
                issues.push(HeaderIssue {
                    index,
                    key: Some(key.to_owned()),
                    reason,
                });
                continue;
            }
            let value = Cow::into_owned(value);
            match positions.entry(key.to_ascii_lowercase()) {
                std::collections::hash_map::Entry::Occupied(at) => {
                    headers.entries[*at.get()] = (key.to_owned(), value);
                }
                std::collections::hash_map::Entry::Vacant(slot) => {
                    slot.insert(headers.entries.len());
                    headers.entries.push((key.to_owned(), value));
                }
            }
        }
        (headers, issues)
    }

    /// Checks every header with the rules [`parse`](Headers::parse) applies,
    /// returning the first offending key (as [`HeaderIssue::key`] shows it:
    /// never text that may be a secret) and the reason.
    pub(crate) fn validate(&self) -> Result<(), (String, &'static str)> {
        for (key, value) in &self.entries {
            check_key(key).map_err(|reason| (key_hint(key).unwrap_or_default(), reason))?;
            check_value(value).map_err(|reason| (key.clone(), reason))?;
        }
        Ok(())
    }
}

impl fmt::Debug for Headers {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map()
            .entries(self.entries.iter().map(|(k, _)| (k, Redacted)))
            .finish()
    }
}

impl<K: Into<String>, V: Into<String>> FromIterator<(K, V)> for Headers {
    fn from_iter<I: IntoIterator<Item = (K, V)>>(iter: I) -> Self {
        let mut headers = Headers::new();
        headers.extend(iter);
        headers
    }
}

impl<K: Into<String>, V: Into<String>> Extend<(K, V)> for Headers {
    fn extend<I: IntoIterator<Item = (K, V)>>(&mut self, iter: I) {
        for (key, value) in iter {
            self.insert(key, value);
        }
    }
}

fn trim_ows(s: &str) -> &str {
    s.trim_matches([' ', '\t'])
}

/// Header names that belong to the HTTP protocol: a configured value would
/// break the request's framing or routing.
const PROTOCOL_HEADERS: [&str; 8] = [
    "content-length",
    "transfer-encoding",
    "host",
    "connection",
    "te",
    "upgrade",
    "keep-alive",
    "proxy-connection",
];

fn check_key(key: &str) -> Result<(), &'static str> {
    if key.is_empty() {
        Err("empty key")
    } else if key.starts_with(':') {
        Err("HTTP/2 pseudo-headers are set by the transport")
    } else if PROTOCOL_HEADERS
        .iter()
        .any(|reserved| key.eq_ignore_ascii_case(reserved))
    {
        Err("the header belongs to the HTTP protocol (framing or routing) and cannot be configured")
    } else if !is_valid_header_name(key) {
        Err("key contains a character not allowed in a header name")
    } else {
        Ok(())
    }
}

fn check_value(value: &str) -> Result<(), &'static str> {
    if is_valid_header_value(value) {
        Ok(())
    } else {
        Err("value contains a control character")
    }
}

/// Why an entry with nothing after its `=` is skipped.
const NO_VALUE: &str = "no value after `=` (a bare token, such as an API key without `name=`?); \
     the entry is not shown, as it may be a secret";

/// How an invalid key is named in a report without echoing a secret.
///
/// The key up to its first invalid character (after a leading `:`), so that
/// a mangled entry such as `Authorization: Bearer xyz` is reported as
/// `Authorization`, but only if that part reads as a header name: words of
/// letters joined by `-`. Anything else (`Zm9v+YmFy/…`, `sk_live_…`, hex)
/// may be a secret and is reported by length alone. `None` for an empty key.
fn key_hint(key: &str) -> Option<String> {
    if key.is_empty() {
        return None;
    }
    let (colon, name) = match key.strip_prefix(':') {
        Some(rest) => (":", rest),
        None => ("", key),
    };
    let end = name.find(|c: char| !is_tchar(c)).unwrap_or(name.len());
    let prefix = &name[..end];
    Some(if reads_as_header_name(prefix) {
        format!("{colon}{prefix}")
    } else {
        let length = key.chars().count();
        let plural = if length == 1 { "" } else { "s" };
        format!("<redacted: {length} character{plural}>")
    })
}

/// Whether `name` looks like a header name someone chose rather than a
/// random token: at most 40 characters, words of ASCII letters joined by
/// single `-`, each word lowercase, uppercase or capitalized
/// (`x-api-key`, `Authorization`, `X-Honeycomb-Team`, `TE`). A secret
/// almost always has digits, other symbols or mixed case inside a word.
fn reads_as_header_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 40
        && name.split('-').all(|word| {
            let mut letters = word.chars();
            letters.next().is_some_and(|c| c.is_ascii_alphabetic())
                && word.chars().all(|c| c.is_ascii_alphabetic())
                && (letters.clone().all(|c| c.is_ascii_lowercase())
                    || letters.all(|c| c.is_ascii_uppercase()))
        })
}

fn is_tchar(c: char) -> bool {
    c.is_ascii_alphanumeric() || "!#$%&'*+-.^_`|~".contains(c)
}

/// Whether `key` is a valid HTTP header name (an RFC 9110 token).
pub(crate) fn is_valid_header_name(key: &str) -> bool {
    !key.is_empty() && key.chars().all(is_tchar)
}

/// Whether `value` is a valid HTTP header value: no control characters
/// other than horizontal tab. Non-ASCII UTF-8 is allowed here; gRPC is
/// stricter (see [`is_valid_grpc_metadata_value`]).
pub(crate) fn is_valid_header_value(value: &str) -> bool {
    !value.chars().any(|c| c.is_control() && c != '\t')
}

/// Whether `key` is valid as an ASCII gRPC metadata name once lowercased:
/// `[0-9a-z_.-]`, not reserved (`grpc-` prefix) and not binary (`-bin` suffix).
pub fn is_valid_grpc_metadata_key(key: &str) -> bool {
    let lower = key.to_ascii_lowercase();
    !lower.is_empty()
        && lower
            .bytes()
            .all(|b| b.is_ascii_digit() || b.is_ascii_lowercase() || b"_.-".contains(&b))
        && !lower.starts_with("grpc-")
        && !lower.ends_with("-bin")
}

/// Whether `value` is valid as an ASCII gRPC metadata value (printable ASCII, 0x20–0x7E).
pub fn is_valid_grpc_metadata_value(value: &str) -> bool {
    value.bytes().all(|b| (0x20..=0x7e).contains(&b))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encoded_and_unencoded_values_both_decode_to_the_same_string() {
        // checklist 1.11
        let (a, issues_a) = Headers::parse("Authorization=Basic AAA");
        let (b, issues_b) = Headers::parse("Authorization=Basic%20AAA");
        assert!(issues_a.is_empty() && issues_b.is_empty());
        assert_eq!(a.get("Authorization"), Some("Basic AAA"));
        assert_eq!(b.get("Authorization"), Some("Basic AAA"));
    }

    #[test]
    fn keys_are_not_percent_decoded_and_keep_their_case() {
        // checklist 1.11
        let (headers, issues) = Headers::parse("X%41=v");
        assert!(issues.is_empty());
        assert_eq!(headers.keys().collect::<Vec<_>>(), vec!["X%41"]);
        let (headers, _) = Headers::parse("X-Tenant=a");
        assert_eq!(headers.keys().collect::<Vec<_>>(), vec!["X-Tenant"]);
    }

    #[test]
    fn optional_whitespace_is_trimmed_and_empty_entries_skipped() {
        // checklist 1.11
        let (headers, issues) = Headers::parse(" a = 1 ,\tb=2\t,, ");
        assert!(issues.is_empty());
        assert_eq!(
            headers.iter().collect::<Vec<_>>(),
            vec![("a", "1"), ("b", "2")]
        );
    }

    #[test]
    fn value_may_contain_equals_signs_and_semicolons_literally() {
        // checklist 1.11: split at the first `=`; `;` metadata is not supported.
        let (headers, issues) = Headers::parse("k=a=b;prop=1");
        assert!(issues.is_empty());
        assert_eq!(headers.get("k"), Some("a=b;prop=1"));
    }

    #[test]
    fn malformed_pairs_are_skipped_and_reported_without_the_value() {
        // checklist 1.11
        let (headers, issues) = Headers::parse(
            "good=1,novalue,=empty,Authorization: Bearer sekrit=x,bad=%FF,ctl=a%0Ab,ok=2",
        );
        assert_eq!(
            headers.iter().collect::<Vec<_>>(),
            vec![("good", "1"), ("ok", "2")]
        );
        assert_eq!(issues.len(), 5);
        assert_eq!(issues[0].index, 1);
        assert_eq!(issues[0].key, None);
        assert_eq!(issues[1].reason, "empty key");
        assert_eq!(issues[2].key.as_deref(), Some("Authorization"));
        assert_eq!(issues[3].key.as_deref(), Some("bad"));
        assert_eq!(issues[4].key.as_deref(), Some("ctl"));
        let text = format!("{issues:?}");
        assert!(
            !text.contains("sekrit") && !text.contains("Bearer"),
            "{text}"
        );
    }

    /// Whether `text` contains `secret` or any 8-character part of it.
    fn shows_part_of(text: &str, secret: &str) -> bool {
        let chars: Vec<char> = secret.chars().collect();
        chars
            .windows(8.min(chars.len()))
            .any(|part| text.contains(&part.iter().collect::<String>()))
    }

    #[test]
    fn a_bare_token_is_not_a_header_and_is_reported_by_position_only() {
        // The variable set to an API key alone, without `name=`: base64
        // padding, an empty value, `=` followed by spaces.
        let tokens = [
            "sk_live_Zm9vYmFyYmF6cXV4==",
            "Zm9v+YmFy/YmF6cXV4cXV1eA==",
            "3f9a0c7d2b6e41f8a5c9d0e7b1f2a3c4=",
            "hcaik_01hx7k2m9qz8w5v3r4t6y1u0ip = ",
        ];
        let list = format!("x-tenant=acme,{}", tokens.join(","));
        let (headers, issues) = Headers::parse(&list);
        assert_eq!(
            headers.iter().collect::<Vec<_>>(),
            vec![("x-tenant", "acme")]
        );
        assert_eq!(
            issues,
            (1..=tokens.len())
                .map(|index| HeaderIssue {
                    index,
                    key: None,
                    reason: NO_VALUE,
                })
                .collect::<Vec<_>>()
        );
        let text = format!("{headers:?} {headers:#?} {issues:?} {issues:#?}");
        for token in tokens {
            assert!(!shows_part_of(&text, token), "{token}: {text}");
        }
    }

    #[test]
    fn an_empty_value_skips_the_entry_without_naming_its_key() {
        let (headers, issues) = Headers::parse("x-api-key=,ok=1, x-tenant = =");
        assert_eq!(headers.iter().collect::<Vec<_>>(), vec![("ok", "1")]);
        assert_eq!(issues.len(), 2);
        assert_eq!((issues[0].index, issues[0].key.as_deref()), (0, None));
        assert_eq!((issues[1].index, issues[1].key.as_deref()), (2, None));
        // A value that only decodes to `=` was written on purpose.
        let (headers, issues) = Headers::parse("k=%3D%3D");
        assert!(issues.is_empty());
        assert_eq!(headers.get("k"), Some("=="));
    }

    #[test]
    fn an_invalid_key_is_named_only_when_it_reads_as_a_header_name() {
        let (headers, issues) = Headers::parse(
            "Zm9v+YmFy/YmF6cXV4=x,sk_live_Zm9vYmFy Zm9v=x,\
             Authorization: Bearer sekrit=x,X-Api-Key Bearer=x,:authority=x,Host=x,\
             x-b3-flags:1=x",
        );
        assert!(headers.is_empty());
        let keys: Vec<_> = issues.iter().map(|i| i.key.as_deref()).collect();
        assert_eq!(
            keys,
            vec![
                Some("<redacted: 18 characters>"),
                Some("<redacted: 21 characters>"),
                Some("Authorization"),
                Some("X-Api-Key"),
                Some(":authority"),
                Some("Host"),
                Some("<redacted: 12 characters>"),
            ]
        );
        let (_, issues) = Headers::parse("/=x");
        assert_eq!(issues[0].key.as_deref(), Some("<redacted: 1 character>"));
        let text = format!("{issues:?}");
        for secret in ["Zm9v+YmFy/YmF6cXV4", "sk_live_Zm9vYmFy", "Bearer sekrit"] {
            assert!(!shows_part_of(&text, secret), "{secret}: {text}");
        }
    }

    #[test]
    fn header_name_hint_accepts_names_and_refuses_tokens() {
        for name in ["authorization", "X-Honeycomb-Team", "TE", "dd-api-key"] {
            assert!(reads_as_header_name(name), "{name}");
        }
        for token in [
            "",
            "sk_live_Zm9v",
            "Zm9v+YmFy",
            "3f9a0c7d",
            "abcDEFgh",
            "x--y",
            "-x",
            "deadbeef-0123",
            "averyveryveryveryveryveryveryverylongword",
        ] {
            assert!(!reads_as_header_name(token), "{token}");
        }
    }

    #[test]
    fn percent_sequences_that_are_not_encodings_stay_literal() {
        // checklist 1.11: values that were never encoded are accepted as-is.
        let (headers, issues) = Headers::parse("k=50%off,j=100%");
        assert!(issues.is_empty());
        assert_eq!(headers.get("k"), Some("50%off"));
        assert_eq!(headers.get("j"), Some("100%"));
    }

    #[test]
    fn repeated_key_replaces_the_earlier_value_in_place() {
        let (headers, _) = Headers::parse("a=1,b=2,A=3");
        assert_eq!(
            headers.iter().collect::<Vec<_>>(),
            vec![("A", "3"), ("b", "2")]
        );
    }

    #[test]
    fn debug_shows_keys_and_redacts_every_value() {
        let headers = Headers::new()
            .with("authorization", "Bearer sekrit")
            .with("x-api-key", "abc123");
        let debug = format!("{headers:?}");
        assert_eq!(
            debug,
            r#"{"authorization": <redacted>, "x-api-key": <redacted>}"#
        );
        let pretty = format!("{headers:#?}");
        assert!(!pretty.contains("sekrit") && !pretty.contains("abc123"));
    }

    #[test]
    fn grpc_and_http_validation_helpers() {
        assert!(is_valid_header_name("X-Api-Key"));
        assert!(!is_valid_header_name("x api"));
        assert!(!is_valid_header_name(""));
        assert!(is_valid_header_value("Basic AAA"));
        assert!(!is_valid_header_value("a\r\nb"));
        assert!(is_valid_grpc_metadata_key("X-Api-Key"));
        assert!(is_valid_grpc_metadata_key("tenant_id.v2"));
        assert!(!is_valid_grpc_metadata_key("grpc-timeout"));
        assert!(!is_valid_grpc_metadata_key("trace-bin"));
        assert!(!is_valid_grpc_metadata_key("x+y"));
        assert!(is_valid_grpc_metadata_value("Bearer abc"));
        assert!(!is_valid_grpc_metadata_value("caf\u{e9}"));
    }

    #[test]
    fn validate_reports_the_first_bad_header_without_its_value() {
        let headers = Headers::new().with("ok", "1").with("bad key", "sekrit");
        let (key, _reason) = headers.validate().unwrap_err();
        assert_eq!(key, "bad");
        // A key that may be a secret is named by its length only.
        let headers = Headers::new().with("Zm9v+YmFy/YmF6", "v");
        let (key, _reason) = headers.validate().unwrap_err();
        assert_eq!(key, "<redacted: 14 characters>");
        assert!(Headers::new().with("k", "v").validate().is_ok());
        let (key, reason) = Headers::new().with("k", "a\nb").validate().unwrap_err();
        assert_eq!(
            (key.as_str(), reason),
            ("k", "value contains a control character")
        );
    }
}
