//! Keeping credentials out of everything the exporter says: messages a
//! server sends back (an error body that echoes the `Authorization` header,
//! a partial-success message, a gRPC status message) pass through
//! [`Redactor::scrub`] before they reach an error, a log line or the
//! statistics. It also puts them on one line with no terminal control
//! characters, so that a server cannot forge log lines.

use otlpkit_core::{ExporterConfig, Url};

/// The shortest value treated as a secret: shorter ones (`1`, `on`) would
/// blank out ordinary words of every message.
const MIN_SECRET_LEN: usize = 4;

/// The longest server message kept, in bytes.
const MAX_MESSAGE_LEN: usize = 1024;

/// What must never appear in a message: every configured header value, the
/// credential part of `Scheme credential` values (`Bearer s3cr3t`), the
/// endpoint's user name, password and query values, and both forms of Basic
/// credentials: a `Basic` header's base64 decoded (`user:password` and the
/// password alone), and the endpoint's `user:password` in base64, as the
/// HTTP client sends it.
#[derive(Default)]
pub(crate) struct Redactor {
    /// Longest first, so that a value containing another is replaced whole.
    secrets: Vec<String>,
}

impl std::fmt::Debug for Redactor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Redactor")
            .field("secrets", &self.secrets.len())
            .finish()
    }
}

impl Redactor {
    pub(crate) fn new(config: &ExporterConfig) -> Self {
        let mut secrets: Vec<String> = Vec::new();
        for (_, value) in config.headers().iter() {
            let value = value.trim();
            secrets.push(value.to_owned());
            // `Scheme credential`: the credential alone may be echoed.
            if let Some((scheme, credential)) = value.split_once(char::is_whitespace) {
                let credential = credential.trim();
                secrets.push(credential.to_owned());
                if scheme.eq_ignore_ascii_case("basic") {
                    secrets.push(credential.trim_end_matches('=').to_owned());
                    secrets.extend(basic_decoded(credential));
                }
            }
        }
        secrets.extend(url_secrets(config.endpoint()));
        secrets.extend(url_basic(config.endpoint()));
        secrets.retain(|secret| secret.len() >= MIN_SECRET_LEN);
        secrets.sort_by_key(|secret| std::cmp::Reverse(secret.len()));
        secrets.dedup();
        Self { secrets }
    }

    /// `message` with every secret replaced by `<redacted>`, on one line
    /// and with no terminal control ([`one_line`]), at most
    /// [`MAX_MESSAGE_LEN`] bytes long.
    pub(crate) fn scrub(&self, message: &str) -> String {
        let mut text = message.to_owned();
        for secret in &self.secrets {
            if text.contains(secret.as_str()) {
                text = text.replace(secret.as_str(), "<redacted>");
            }
        }
        // After the redaction, and replacing rather than removing: a secret
        // the server split with a control character (`s3c\x01r3t`) must not
        // come together again.
        let mut text = one_line(&text);
        if text.len() > MAX_MESSAGE_LEN {
            let mut end = MAX_MESSAGE_LEN;
            while !text.is_char_boundary(end) {
                end -= 1;
            }
            text.truncate(end);
            text.push('…');
        }
        text
    }
}

/// `text` as one line that cannot steer a terminal or forge a log line:
/// whitespace controls (`\n`, `\r`, `\t`, …) become a space, every other
/// control character (ESC of ANSI sequences, DEL, C1 controls) and the
/// bidirectional overrides and isolates (U+202A–U+202E, U+2066–U+2069,
/// "Trojan Source") a visible `\u{…}` escape. Trimmed at both ends.
fn one_line(text: &str) -> String {
    if !text.chars().any(is_unsafe) {
        return text.trim().to_owned();
    }
    let mut line = String::with_capacity(text.len());
    for c in text.chars() {
        if !is_unsafe(c) {
            line.push(c);
        } else if c.is_whitespace() {
            line.push(' ');
        } else {
            line.extend(c.escape_unicode());
        }
    }
    line.trim().to_owned()
}

/// A character [`one_line`] replaces.
fn is_unsafe(c: char) -> bool {
    c.is_control() || matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

/// `text` with its percent-escapes decoded, as a server may echo a URL's
/// user name or password.
fn percent_decoded(text: &str) -> String {
    percent_encoding::percent_decode_str(text)
        .decode_utf8_lossy()
        .into_owned()
}

/// The user name, password and query values of a URL, decoded and as
/// written.
fn url_secrets(url: &Url) -> Vec<String> {
    // The URL keeps them percent-encoded; a server may echo them decoded.
    let mut secrets = vec![url.username().to_owned(), percent_decoded(url.username())];
    if let Some(password) = url.password() {
        secrets.push(password.to_owned());
        secrets.push(percent_decoded(password));
    }
    for (_, value) in url.query_pairs() {
        secrets.push(value.into_owned());
    }
    if let Some(query) = url.query() {
        secrets.extend(
            query
                .split('&')
                .filter_map(|pair| pair.split_once('=').map(|(_, value)| value.to_owned())),
        );
    }
    secrets
}

/// What a `Basic` credential (`base64(user:password)`) stands for: the
/// decoded `user:password`, and the user name and password apart. Nothing
/// when it is not base64 of UTF-8 text.
fn basic_decoded(credential: &str) -> Vec<String> {
    use base64::Engine as _;
    let engines = [
        base64::engine::general_purpose::STANDARD,
        base64::engine::general_purpose::STANDARD_NO_PAD,
    ];
    let Some(decoded) = engines
        .iter()
        .find_map(|engine| engine.decode(credential).ok())
        .and_then(|bytes| String::from_utf8(bytes).ok())
    else {
        return Vec::new();
    };
    let mut secrets = vec![decoded.clone()];
    if let Some((user, password)) = decoded.split_once(':') {
        secrets.push(user.to_owned());
        secrets.push(password.to_owned());
    }
    secrets
}

/// The Basic credential an HTTP client makes of the endpoint's user name
/// and password (`base64(user:password)`, with and without padding), from
/// their decoded and their written forms.
fn url_basic(url: &Url) -> Vec<String> {
    use base64::Engine as _;
    if url.username().is_empty() && url.password().is_none() {
        return Vec::new();
    }
    let password = url.password().unwrap_or_default();
    let mut secrets = Vec::new();
    for pair in [
        format!(
            "{}:{}",
            percent_decoded(url.username()),
            percent_decoded(password)
        ),
        format!("{}:{password}", url.username()),
    ] {
        let encoded = base64::engine::general_purpose::STANDARD.encode(pair);
        secrets.push(encoded.trim_end_matches('=').to_owned());
        secrets.push(encoded);
    }
    secrets
}

/// `scheme://host:port/path` of an endpoint, for messages: no credentials,
/// no query, no fragment.
pub fn display_endpoint(url: &Url) -> String {
    let host = url.host_str().unwrap_or_default();
    match url.port_or_known_default() {
        Some(port) => format!("{}://{host}:{port}{}", url.scheme(), url.path()),
        None => format!("{}://{host}{}", url.scheme(), url.path()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use otlpkit_core::{MapEnv, Signal};

    fn redactor(endpoint: &str, headers: &str) -> Redactor {
        let env = MapEnv::from([("OTEL_EXPORTER_OTLP_HEADERS", headers)]);
        let config = ExporterConfig::builder(Signal::Traces)
            .with_endpoint(endpoint)
            .build(&env)
            .unwrap()
            .into_value();
        Redactor::new(&config)
    }

    #[test]
    fn echoed_credentials_are_redacted_whole_or_in_part() {
        let redactor = redactor(
            "http://user:hunter22@collector:4318/v1/traces?api_key=k3y-s3cr3t",
            "authorization=Bearer%20SECRET123,x-api-key=abcdef,x-short=on",
        );
        let echoed = "401: invalid bearer token 'SECRET123' (Bearer SECRET123), key abcdef, \
                      user hunter22, query k3y-s3cr3t, on";
        let scrubbed = redactor.scrub(echoed);
        for secret in ["SECRET123", "abcdef", "hunter22", "k3y-s3cr3t"] {
            assert!(!scrubbed.contains(secret), "{secret} in {scrubbed}");
        }
        assert!(
            scrubbed.contains("invalid bearer token '<redacted>'"),
            "{scrubbed}"
        );
        // Too short to be told from ordinary words: kept.
        assert!(scrubbed.ends_with(", on"), "{scrubbed}");
    }

    #[test]
    fn credentials_written_percent_encoded_are_redacted_decoded_too() {
        let redactor = redactor("http://us%40er:p%40ss%2Fw0rd@collector:4318/v1/traces", "");
        let echoed = "401: bad password p@ss/w0rd for us@er (p%40ss%2Fw0rd)";
        let scrubbed = redactor.scrub(echoed);
        for secret in ["p@ss/w0rd", "p%40ss%2Fw0rd", "us@er"] {
            assert!(!scrubbed.contains(secret), "{secret} in {scrubbed}");
        }
    }

    #[test]
    fn basic_credentials_are_redacted_encoded_and_decoded() {
        // `dXNlcjpzZWNyZXQ=` is base64 of `user:secret`.
        let from_header = redactor(
            "http://collector:4318/v1/traces",
            "authorization=Basic%20dXNlcjpzZWNyZXQ=",
        );
        let echoed = "401: bad credentials Basic dXNlcjpzZWNyZXQ= (dXNlcjpzZWNyZXQ, \
                      user:secret, password secret)";
        let scrubbed = from_header.scrub(echoed);
        for secret in ["dXNlcjpzZWNyZXQ", "user:secret", "secret"] {
            assert!(!scrubbed.contains(secret), "{secret} in {scrubbed}");
        }
        // Credentials in the endpoint become Basic authentication.
        let from_url = redactor("http://user:hunter22@collector:4318/v1/traces", "");
        let basic = "dXNlcjpodW50ZXIyMg=="; // base64 of `user:hunter22`
        let scrubbed = from_url.scrub(&format!("401: Basic {basic} refused"));
        assert!(!scrubbed.contains("dXNlcjpodW50ZXIyMg"), "{scrubbed}");
        assert_eq!(scrubbed, "401: Basic <redacted> refused");
    }

    // A server's text (an error body, a gRPC status message, a
    // partial-success message) cannot forge a log line, move the cursor,
    // colour the terminal or reorder what is displayed.
    #[test]
    fn control_and_bidi_characters_are_neutralised() {
        let redactor = redactor("http://collector:4318/v1/traces", "x-api-key=s3cr3t-key");
        let scrubbed = redactor.scrub(
            "bad\notlpkit: info: all good\r\n\x1b[31mred\x1b[0m\tend\u{7f}\u{9b}\
             \u{202e}evil\u{2066}x\u{2069}\u{202a} ",
        );
        assert_eq!(
            scrubbed,
            "bad otlpkit: info: all good  \\u{1b}[31mred\\u{1b}[0m end\\u{7f}\\u{9b}\
             \\u{202e}evil\\u{2066}x\\u{2069}\\u{202a}"
        );
        assert!(!scrubbed.chars().any(is_unsafe), "{scrubbed}");
        // A secret split by a control character stays apart.
        let split = redactor.scrub("key s3cr3t\u{1}-key, s3cr3t-key");
        assert_eq!(split, "key s3cr3t\\u{1}-key, <redacted>");
        // Ordinary text, other scripts and emoji are untouched.
        let plain = "ünïcode ✓ 日本語 — fine";
        assert_eq!(redactor.scrub(plain), plain);
    }

    #[test]
    fn long_messages_are_cut_on_a_character_boundary() {
        let text = "é".repeat(MAX_MESSAGE_LEN);
        let scrubbed = Redactor::default().scrub(&text);
        assert!(scrubbed.len() <= MAX_MESSAGE_LEN + '…'.len_utf8());
        assert!(scrubbed.ends_with('…'));
    }

    #[test]
    fn displayed_endpoints_carry_no_credentials_or_query() {
        let url =
            Url::parse("https://user:hunter2@collector.example/v1/traces?token=abc#x").unwrap();
        assert_eq!(
            display_endpoint(&url),
            "https://collector.example:443/v1/traces"
        );
        let url = Url::parse("http://[::1]:4318/").unwrap();
        assert_eq!(display_endpoint(&url), "http://[::1]:4318/");
    }
}
