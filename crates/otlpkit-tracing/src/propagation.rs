//! W3C Trace Context (`traceparent`, `tracestate`) and W3C Baggage
//! (`baggage`) propagation, validated as the specifications say.
//!
//! [`inject`] and [`extract`] work on an [`http::HeaderMap`];
//! [`W3cPropagator`] implements OpenTelemetry's
//! [`TextMapPropagator`] for any other carrier (and for
//! `opentelemetry::global::set_text_map_propagator`).
//!
//! # Why not `opentelemetry_sdk`'s propagators
//!
//! `TraceContextPropagator` and `BaggagePropagator` from `opentelemetry_sdk`
//! 0.33 depart from the specifications in ways the tests of this module show,
//! so both headers are parsed and written here:
//!
//! - `traceparent`: the SDK drops the `random` flag (`0x02`) on extract and on
//!   inject (it must be kept); it accepts fields of the wrong length
//!   (`00-1-2-01`), a `+` sign in the ids, and trailing data after a
//!   version-00 header (`…-01-`); a header sent twice is not detected.
//! - `tracestate`: the SDK keeps the first 32 members of a longer list (the
//!   whole header must be discarded), accepts duplicate keys, empty values,
//!   values with characters outside `0x20–0x7E`, and reads only the first of
//!   several `tracestate` headers (they must be combined).
//! - `baggage`: the SDK cuts a value at its second `=` (`k=a=b` gives `a`),
//!   percent-decodes keys, drops members whose value is not UTF-8 (it must
//!   decode to U+FFFD), does not percent-encode `%` or `\` on inject, writes
//!   properties back decoded (a `%2C` becomes a `,` that splits the header),
//!   drops a whole header over 8192 bytes instead of only the members that
//!   do not fit, and reads only the first of several `baggage` headers.
//!
//! # Decisions where the specifications leave room
//!
//! - Only `traceparent` versions are checked, not the flags' meaning: flags
//!   other than `sampled` (`0x01`) and `random` (`0x02`) are zeroed.
//! - An invalid `tracestate` is discarded whole; the `traceparent` stays.
//! - `tracestate` is propagated in full (no truncation to 512 characters).
//! - `opentelemetry`'s `TraceState`, which holds the parsed list, accepts at
//!   most 13 characters after the `@` of a multi-tenant key where the
//!   specification allows 14; a list with such a key is discarded.
//! - An invalid `baggage` member (a key that is not a token, a value with
//!   characters that should have been percent-encoded, a malformed property)
//!   is skipped; the other members are kept. Members beyond 64, or beyond
//!   8192 bytes in total, are dropped whole. For a key given twice, the last
//!   value wins.
//! - Extracting never throws and, on bad input, returns the context it was
//!   given (checklist 5.5).

use std::collections::HashSet;
use std::fmt;

use http::{HeaderMap, HeaderName, HeaderValue};
use opentelemetry::Context;
use opentelemetry::baggage::{BaggageExt as _, KeyValueMetadata};
use opentelemetry::propagation::text_map_propagator::FieldIter;
use opentelemetry::propagation::{Extractor, Injector, TextMapPropagator};
use opentelemetry::trace::{
    SpanContext, SpanId, TraceContextExt as _, TraceFlags, TraceId, TraceState,
};
use percent_encoding::{AsciiSet, CONTROLS, percent_decode_str, utf8_percent_encode};

/// The `traceparent` header.
pub const TRACEPARENT: &str = "traceparent";
/// The `tracestate` header.
pub const TRACESTATE: &str = "tracestate";
/// The `baggage` header.
pub const BAGGAGE: &str = "baggage";

/// The `random` trace flag of W3C Trace Context Level 2.
pub const RANDOM_FLAG: TraceFlags = TraceFlags::new(0x02);

/// The flags that are propagated; all others are zeroed.
const KNOWN_FLAGS: u8 = 0x03;
const TRACEPARENT_LEN: usize = 55;
const MAX_TRACESTATE_MEMBERS: usize = 32;
const MAX_TRACESTATE_KEY: usize = 256;
const MAX_TRACESTATE_VALUE: usize = 256;
const MAX_TENANT_ID: usize = 241;
const MAX_SYSTEM_ID: usize = 14;
/// Most baggage members propagated.
pub const MAX_BAGGAGE_MEMBERS: usize = 64;
/// Most baggage bytes propagated (all `baggage` headers together).
pub const MAX_BAGGAGE_BYTES: usize = 8192;

/// Optional white space around list members.
const OWS: [char; 2] = [' ', '\t'];

/// What a carrier returns for a header value that is not visible ASCII: a
/// NUL, invalid in every grammar here, so the value is rejected as a whole.
const UNREADABLE: &str = "\0";

/// Everything outside `baggage-octet`, plus `%` itself, is percent-encoded.
const BAGGAGE_ENCODE: &AsciiSet = &CONTROLS
    .add(b' ')
    .add(b'"')
    .add(b',')
    .add(b';')
    .add(b'\\')
    .add(b'%');

/// W3C Trace Context and Baggage in one [`TextMapPropagator`].
///
/// ```
/// use opentelemetry::propagation::TextMapPropagator as _;
/// use opentelemetry::trace::TraceContextExt as _;
/// use otlpkit_tracing::propagation::W3cPropagator;
/// use std::collections::HashMap;
///
/// let carrier = HashMap::from([(
///     "traceparent".to_owned(),
///     "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-03".to_owned(),
/// )]);
/// let cx = W3cPropagator::new().extract(&carrier);
/// let span_context = cx.span().span_context().clone();
/// assert!(span_context.is_remote() && span_context.is_sampled());
/// assert_eq!(span_context.trace_flags().to_u8(), 0x03); // `random` kept
/// ```
#[derive(Clone, Default)]
pub struct W3cPropagator {
    _private: (),
}

impl fmt::Debug for W3cPropagator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("W3cPropagator")
    }
}

static FIELDS: std::sync::LazyLock<[String; 3]> = std::sync::LazyLock::new(|| {
    [
        TRACEPARENT.to_owned(),
        TRACESTATE.to_owned(),
        BAGGAGE.to_owned(),
    ]
});

impl W3cPropagator {
    /// The propagator.
    pub fn new() -> Self {
        Self { _private: () }
    }
}

impl TextMapPropagator for W3cPropagator {
    fn inject_context(&self, cx: &Context, injector: &mut dyn Injector) {
        let fields = Outgoing::of(cx);
        if let Some(traceparent) = fields.traceparent {
            injector.set(TRACEPARENT, traceparent);
        }
        if let Some(tracestate) = fields.tracestate {
            injector.set(TRACESTATE, tracestate);
        }
        if let Some(baggage) = fields.baggage {
            injector.set(BAGGAGE, baggage);
        }
    }

    fn extract_with_context(&self, cx: &Context, extractor: &dyn Extractor) -> Context {
        let values = |key: &str| extractor.get_all(key).unwrap_or_default();
        let mut out = None;
        if let Some(span_context) = span_context_from(&values(TRACEPARENT), &values(TRACESTATE)) {
            out = Some(cx.with_remote_span_context(span_context));
        }
        let members = baggage_from(&values(BAGGAGE));
        if !members.is_empty() {
            out = Some(out.as_ref().unwrap_or(cx).with_baggage(members));
        }
        out.unwrap_or_else(|| cx.clone())
    }

    fn fields(&self) -> FieldIter<'_> {
        FieldIter::new(&*FIELDS)
    }
}

/// Writes the span context and baggage of `cx` into `headers`.
///
/// A valid span context sets `traceparent`, and sets `tracestate` or removes
/// a stale one when the state is empty; without one both are left alone.
/// Non-empty baggage sets `baggage`. Existing values of these headers are
/// replaced, never duplicated.
pub fn inject(cx: &Context, headers: &mut HeaderMap) {
    let fields = Outgoing::of(cx);
    if let Some(traceparent) = fields.traceparent {
        set(headers, TRACEPARENT, traceparent);
        match fields.tracestate {
            Some(tracestate) => set(headers, TRACESTATE, tracestate),
            None => {
                headers.remove(TRACESTATE);
            }
        }
    }
    if let Some(baggage) = fields.baggage {
        set(headers, BAGGAGE, baggage);
    }
}

/// [`inject`] with the current OpenTelemetry context (inside a `tracing`
/// span, that span's context when `tracing-opentelemetry` is installed).
pub fn inject_current(headers: &mut HeaderMap) {
    Context::map_current(|cx| inject(cx, headers));
}

/// The context `headers` describe, on top of the current context.
///
/// See [`extract_with_context`].
pub fn extract(headers: &HeaderMap) -> Context {
    Context::map_current(|cx| extract_with_context(cx, headers))
}

/// The context `headers` describe, on top of `cx`: a valid `traceparent`
/// (with its `tracestate`) becomes the remote parent span, valid `baggage`
/// members become the baggage. Invalid or missing headers leave `cx` as it
/// is.
pub fn extract_with_context(cx: &Context, headers: &HeaderMap) -> Context {
    W3cPropagator::new().extract_with_context(cx, &HeaderExtractor(headers))
}

fn set(headers: &mut HeaderMap, name: &'static str, value: String) {
    // `name` is one of our lowercase constants, which `from_static` accepts.
    let name = HeaderName::from_static(name);
    // What reaches here is visible ASCII (`tracestate` checked against its
    // grammar, the rest formatted here); a value that still did not fit a
    // header is left out, and so is the previous request's, rather than
    // sent beside a `traceparent` it does not belong to.
    match HeaderValue::try_from(value) {
        Ok(value) => {
            headers.insert(name, value);
        }
        Err(_) => {
            headers.remove(name);
        }
    }
}

/// An [`Extractor`] over an [`http::HeaderMap`] that returns every value of a
/// repeated header.
#[derive(Debug, Clone, Copy)]
pub struct HeaderExtractor<'a>(pub &'a HeaderMap);

impl Extractor for HeaderExtractor<'_> {
    fn get(&self, key: &str) -> Option<&str> {
        self.0
            .get(key)
            .map(|value| value.to_str().unwrap_or(UNREADABLE))
    }

    fn keys(&self) -> Vec<&str> {
        self.0.keys().map(HeaderName::as_str).collect()
    }

    fn get_all(&self, key: &str) -> Option<Vec<&str>> {
        let values: Vec<&str> = self
            .0
            .get_all(key)
            .iter()
            .map(|value| value.to_str().unwrap_or(UNREADABLE))
            .collect();
        (!values.is_empty()).then_some(values)
    }
}

/// An [`Injector`] into an [`http::HeaderMap`] (replaces existing values).
#[derive(Debug)]
pub struct HeaderInjector<'a>(pub &'a mut HeaderMap);

impl Injector for HeaderInjector<'_> {
    fn set(&mut self, key: &str, value: String) {
        if let (Ok(name), Ok(value)) = (
            HeaderName::try_from(key.to_ascii_lowercase()),
            HeaderValue::try_from(value),
        ) {
            self.0.insert(name, value);
        }
    }
}

/// The header values for one context.
pub(crate) struct Outgoing {
    pub(crate) traceparent: Option<String>,
    pub(crate) tracestate: Option<String>,
    pub(crate) baggage: Option<String>,
}

impl Outgoing {
    pub(crate) fn of(cx: &Context) -> Self {
        let span = cx.span();
        let span_context = span.span_context();
        let (traceparent, tracestate) = if span_context.is_valid() {
            let flags = span_context.trace_flags().to_u8() & KNOWN_FLAGS;
            let traceparent = format!(
                "00-{}-{}-{flags:02x}",
                span_context.trace_id(),
                span_context.span_id()
            );
            // The application builds its `TraceState`, which refuses only
            // `,` and `=` in values: one that breaks the W3C grammar (a
            // control character, a non-ASCII value) is not sent.
            let tracestate = span_context.trace_state().header();
            let valid = !tracestate.is_empty() && tracestate_members(&[&tracestate]).is_some();
            (Some(traceparent), valid.then_some(tracestate))
        } else {
            (None, None)
        };
        Self {
            traceparent,
            tracestate,
            baggage: format_baggage(cx),
        }
    }
}

// --- traceparent -----------------------------------------------------------------

/// The parsed fields of a valid `traceparent`.
fn parse_traceparent(raw: &str) -> Option<(TraceId, SpanId, TraceFlags)> {
    let value = raw.trim_matches(OWS).as_bytes();
    if value.len() < TRACEPARENT_LEN {
        return None;
    }
    let version = lower_hex(&value[0..2])?;
    match version {
        0xff => return None,
        // Version 00 is exactly 55 characters.
        0 if value.len() != TRACEPARENT_LEN => return None,
        // A later version may append fields, after a dash.
        _ if value.len() > TRACEPARENT_LEN && value[TRACEPARENT_LEN] != b'-' => return None,
        _ => {}
    }
    if value[2] != b'-' || value[35] != b'-' || value[52] != b'-' {
        return None;
    }
    let trace_id = lower_hex(&value[3..35])?;
    let span_id = lower_hex(&value[36..52])?;
    let flags = lower_hex(&value[53..55])?;
    if trace_id == 0 || span_id == 0 {
        return None;
    }
    let span_id = u64::try_from(span_id).ok()?;
    let flags = u8::try_from(flags).ok()? & KNOWN_FLAGS;
    Some((
        TraceId::from(trace_id),
        SpanId::from(span_id),
        TraceFlags::new(flags),
    ))
}

/// Lowercase hexadecimal digits only (no sign, no uppercase), at most 32.
fn lower_hex(digits: &[u8]) -> Option<u128> {
    if digits.is_empty() || digits.len() > 32 {
        return None;
    }
    digits.iter().try_fold(0_u128, |acc, &digit| {
        let nibble = match digit {
            b'0'..=b'9' => digit - b'0',
            b'a'..=b'f' => digit - b'a' + 10,
            _ => return None,
        };
        Some((acc << 4) | u128::from(nibble))
    })
}

fn span_context_from(traceparents: &[&str], tracestates: &[&str]) -> Option<SpanContext> {
    // Two traceparent headers: ambiguous, so invalid.
    let [traceparent] = traceparents else {
        return None;
    };
    let (trace_id, span_id, flags) = parse_traceparent(traceparent)?;
    let trace_state = parse_tracestate(tracestates).unwrap_or_default();
    Some(SpanContext::new(
        trace_id,
        span_id,
        flags,
        true,
        trace_state,
    ))
}

// --- tracestate ------------------------------------------------------------------

/// The combined `tracestate` headers, or `None` when they must be discarded.
fn parse_tracestate(values: &[&str]) -> Option<TraceState> {
    let members = tracestate_members(values)?;
    if members.is_empty() {
        return Some(TraceState::NONE);
    }
    TraceState::from_key_value(members).ok()
}

/// The members of the `tracestate` header values, in order, when every one
/// follows the W3C grammar, no key repeats and there are at most
/// [`MAX_TRACESTATE_MEMBERS`]; `None` otherwise.
fn tracestate_members<'a>(values: &[&'a str]) -> Option<Vec<(&'a str, &'a str)>> {
    let mut members: Vec<(&str, &str)> = Vec::new();
    let mut keys = HashSet::new();
    for member in values.iter().flat_map(|value| value.split(',')) {
        let member = member.trim_matches(OWS);
        if member.is_empty() {
            continue;
        }
        let (key, value) = member.split_once('=')?;
        if !valid_tracestate_key(key) || !valid_tracestate_value(value) || !keys.insert(key) {
            return None;
        }
        members.push((key, value));
        if members.len() > MAX_TRACESTATE_MEMBERS {
            return None;
        }
    }
    Some(members)
}

fn valid_tracestate_key(key: &str) -> bool {
    let body = |b: u8| {
        b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'_' | b'-' | b'*' | b'/')
    };
    let first = |b: Option<&u8>| b.is_some_and(|b| b.is_ascii_lowercase() || b.is_ascii_digit());
    match key.split_once('@') {
        None => {
            key.len() <= MAX_TRACESTATE_KEY
                && first(key.as_bytes().first())
                && key.bytes().all(body)
        }
        Some((tenant, system)) => {
            tenant.len() <= MAX_TENANT_ID
                && first(tenant.as_bytes().first())
                && tenant.bytes().all(body)
                && system.len() <= MAX_SYSTEM_ID
                && system
                    .as_bytes()
                    .first()
                    .is_some_and(u8::is_ascii_lowercase)
                && system.bytes().all(body)
        }
    }
}

fn valid_tracestate_value(value: &str) -> bool {
    !value.is_empty()
        && value.len() <= MAX_TRACESTATE_VALUE
        && !value.ends_with(' ')
        && value
            .bytes()
            .all(|b| (0x20..=0x7e).contains(&b) && b != b',' && b != b'=')
}

// --- baggage ---------------------------------------------------------------------

/// `tchar` of RFC 7230.
fn is_token(s: &str) -> bool {
    !s.is_empty()
        && s.bytes().all(|b| {
            b.is_ascii_alphanumeric()
                || matches!(
                    b,
                    b'!' | b'#'
                        | b'$'
                        | b'%'
                        | b'&'
                        | b'\''
                        | b'*'
                        | b'+'
                        | b'-'
                        | b'.'
                        | b'^'
                        | b'_'
                        | b'`'
                        | b'|'
                        | b'~'
                )
        })
}

/// `baggage-octet`: visible ASCII except `"`, `,`, `;` and `\`.
fn is_baggage_octet(b: u8) -> bool {
    matches!(b, 0x21 | 0x23..=0x2b | 0x2d..=0x3a | 0x3c..=0x5b | 0x5d..=0x7e)
}

/// One property: `key` or `key = value`, OWS trimmed around `=`.
fn normalized_property(property: &str) -> Option<String> {
    let property = property.trim_matches(OWS);
    match property.split_once('=') {
        None => is_token(property).then(|| property.to_owned()),
        Some((key, value)) => {
            let (key, value) = (key.trim_end_matches(OWS), value.trim_start_matches(OWS));
            (is_token(key) && value.bytes().all(is_baggage_octet)).then(|| format!("{key}={value}"))
        }
    }
}

/// One valid member: decoded key and value, properties as an opaque string.
fn parse_baggage_member(member: &str) -> Option<(String, String, String)> {
    let mut parts = member.split(';');
    let (key, value) = parts.next()?.split_once('=')?;
    let (key, value) = (key.trim_matches(OWS), value.trim_matches(OWS));
    if !is_token(key) || !value.bytes().all(is_baggage_octet) {
        return None;
    }
    let value =
        String::from_utf8_lossy(&percent_decode_str(value).collect::<Vec<u8>>()).into_owned();
    let properties = parts
        .map(normalized_property)
        .collect::<Option<Vec<String>>>()?
        .join(";");
    Some((key.to_owned(), value, properties))
}

/// The valid members of the combined `baggage` headers, within the limits.
fn baggage_from(values: &[&str]) -> Vec<KeyValueMetadata> {
    let mut members = Vec::new();
    let mut bytes = 0_usize;
    for raw in values.iter().flat_map(|value| value.split(',')) {
        let raw = raw.trim_matches(OWS);
        if raw.is_empty() {
            continue;
        }
        let Some((key, value, properties)) = parse_baggage_member(raw) else {
            continue;
        };
        // The size as propagated: the member plus its separating comma.
        let size = raw.len() + usize::from(!members.is_empty());
        if members.len() == MAX_BAGGAGE_MEMBERS || bytes + size > MAX_BAGGAGE_BYTES {
            continue;
        }
        bytes += size;
        members.push(KeyValueMetadata::new(key, value, properties));
    }
    members
}

fn format_baggage(cx: &Context) -> Option<String> {
    let baggage = cx.baggage();
    let mut header = String::new();
    let mut count = 0;
    for (key, (value, metadata)) in baggage {
        if !is_token(key.as_str()) {
            continue;
        }
        let mut member = format!(
            "{}={}",
            key.as_str(),
            utf8_percent_encode(value.as_str(), BAGGAGE_ENCODE)
        );
        let properties = metadata
            .as_str()
            .split(';')
            .filter(|p| !p.trim_matches(OWS).is_empty())
            .map(normalized_property)
            .collect::<Option<Vec<String>>>();
        // Metadata that would break the header is left out, the member kept.
        if let Some(properties) = properties {
            for property in properties {
                member.push(';');
                member.push_str(&property);
            }
        }
        let size = member.len() + usize::from(count > 0);
        if count == MAX_BAGGAGE_MEMBERS || header.len() + size > MAX_BAGGAGE_BYTES {
            continue;
        }
        if count > 0 {
            header.push(',');
        }
        header.push_str(&member);
        count += 1;
    }
    (!header.is_empty()).then_some(header)
}

#[cfg(test)]
mod tests;
