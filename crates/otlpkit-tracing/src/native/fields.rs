//! Field visitors: `tracing` span and event fields into a record, with the
//! conventions of `tracing-opentelemetry` (`otel.*` fields, `error`,
//! `message`, error sources), and the values without a heap allocation
//! where the value allows it.

use std::borrow::Cow;
use std::fmt::{self, Write as _};

use opentelemetry::trace::{SpanKind, Status};
use opentelemetry::{Array, Key, StringValue};
use otlpkit_wire::{
    Attribute, AttributeValue, INLINE_STR_CAPACITY, InlineStr, RecordEvent, SpanRecord,
};
use tracing::field::{Field, Visit};

use super::live::Settings;

pub(crate) const SPAN_NAME_FIELD: &str = "otel.name";
pub(crate) const SPAN_KIND_FIELD: &str = "otel.kind";
pub(crate) const SPAN_STATUS_CODE_FIELD: &str = "otel.status_code";
/// `tracing-opentelemetry`'s name for the status description.
pub(crate) const SPAN_STATUS_DESCRIPTION_FIELD: &str = "otel.status_description";
/// The name the semantic conventions' examples use; accepted too.
pub(crate) const SPAN_STATUS_MESSAGE_FIELD: &str = "otel.status_message";
/// What every special span field name above starts with.
const SPECIAL_PREFIX: &str = "otel.";
const EXCEPTION_EVENT: &str = "exception";
const EXCEPTION_MESSAGE: &str = "exception.message";
const EXCEPTION_STACKTRACE: &str = "exception.stacktrace";

/// Formats into an inline buffer, moving to a `String` only when the text
/// outgrows it.
struct InlineWriter {
    bytes: [u8; INLINE_STR_CAPACITY],
    len: usize,
    spilled: Option<String>,
}

impl InlineWriter {
    fn new() -> Self {
        Self {
            bytes: [0; INLINE_STR_CAPACITY],
            len: 0,
            spilled: None,
        }
    }

    fn inline_str(&self) -> &str {
        // Whole `&str`s are copied in: always valid.
        std::str::from_utf8(&self.bytes[..self.len]).unwrap_or_default()
    }

    fn into_value(self) -> AttributeValue {
        match self.spilled {
            Some(text) => AttributeValue::String(StringValue::from(text)),
            None => AttributeValue::copied(self.inline_str()),
        }
    }

    fn into_string(self) -> String {
        match self.spilled {
            Some(text) => text,
            None => self.inline_str().to_owned(),
        }
    }
}

impl fmt::Write for InlineWriter {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        if let Some(text) = &mut self.spilled {
            text.push_str(s);
        } else if self.len + s.len() <= INLINE_STR_CAPACITY {
            self.bytes[self.len..self.len + s.len()].copy_from_slice(s.as_bytes());
            self.len += s.len();
        } else {
            let mut text = String::with_capacity(self.len + s.len() + 16);
            text.push_str(self.inline_str());
            text.push_str(s);
            self.spilled = Some(text);
        }
        Ok(())
    }
}

/// `value` in decimal, as its `Debug` writes it (20 digits at most: always
/// inline).
#[inline]
pub(crate) fn decimal(value: u64) -> AttributeValue {
    AttributeValue::Inline(InlineStr::decimal(value))
}

/// `format!("{value:?}")` as an attribute value, inline when short.
pub(crate) fn debug_value(value: &dyn fmt::Debug) -> AttributeValue {
    let mut writer = InlineWriter::new();
    let _ = write!(writer, "{value:?}");
    writer.into_value()
}

fn debug_string(value: &dyn fmt::Debug) -> String {
    let mut writer = InlineWriter::new();
    let _ = write!(writer, "{value:?}");
    writer.into_string()
}

pub(crate) fn span_kind(text: &str) -> Option<SpanKind> {
    let is = |name: &str| text.eq_ignore_ascii_case(name);
    if is("server") {
        Some(SpanKind::Server)
    } else if is("client") {
        Some(SpanKind::Client)
    } else if is("producer") {
        Some(SpanKind::Producer)
    } else if is("consumer") {
        Some(SpanKind::Consumer)
    } else if is("internal") {
        Some(SpanKind::Internal)
    } else {
        None
    }
}

fn status_code(text: &str) -> Status {
    if text.eq_ignore_ascii_case("ok") {
        Status::Ok
    } else if text.eq_ignore_ascii_case("error") {
        Status::error("")
    } else {
        Status::Unset
    }
}

/// An error's sources, outermost first (not the error itself), at most
/// [`MAX_SOURCES`](crate::exception::MAX_SOURCES).
fn source_chain(error: &(dyn std::error::Error + 'static)) -> Vec<StringValue> {
    crate::exception::sources(error.source())
        .map(|source| StringValue::from(source.to_string()))
        .collect()
}

fn chain_value(chain: Vec<StringValue>) -> AttributeValue {
    AttributeValue::Array(Box::new(Array::String(chain)))
}

/// Records the fields of a span (at creation and on `record`) into its
/// record.
pub(crate) struct SpanVisitor<'a> {
    pub(crate) record: &'a mut SpanRecord,
    pub(crate) settings: &'a Settings,
    /// Whether the span has started: a status then follows the SDK's
    /// `set_status` order (Ok > Error > Unset) instead of replacing.
    pub(crate) started: bool,
    /// Which of the record's name, kind and status a special field set.
    pub(crate) changed: Changed,
}

/// The special fields (`otel.name`, `otel.kind`, `otel.status_*`) a visit
/// applied: what [`Changed::apply`] copies from a record visited apart
/// onto the span's own.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct Changed {
    name: bool,
    kind: bool,
    status: bool,
}

impl Changed {
    /// Copies onto `live` what the visit set on `visited`, a record that
    /// held nothing else: the name, kind and status it changed, and its
    /// attributes through the limits (with the ones the visit already
    /// dropped counted).
    pub(crate) fn apply(
        self,
        visited: &mut SpanRecord,
        live: &mut super::live::LiveSpan,
        settings: &Settings,
    ) {
        if self.name {
            live.record.name = std::mem::take(&mut visited.name);
        }
        if self.kind {
            live.record.kind = visited.kind.clone();
        }
        if self.status {
            let status = std::mem::replace(&mut visited.status, Status::Unset);
            if live.started {
                live.set_status(status);
            } else {
                live.record.status = status;
            }
        }
        for attribute in visited.attributes.drain() {
            settings.push_attribute(&mut live.record, attribute);
        }
        live.record.dropped_attributes_count = live
            .record
            .dropped_attributes_count
            .saturating_add(visited.dropped_attributes_count);
    }
}

impl SpanVisitor<'_> {
    /// Appends a field, straight onto the list when no limit can change it
    /// (the common case, without the call through the limits).
    #[inline]
    fn push(&mut self, key: &'static str, value: AttributeValue) {
        let attribute = Attribute::new(Key::from_static_str(key), value);
        if self.settings.takes_as_is(self.record) {
            self.record.attributes.push(attribute);
        } else {
            self.settings.push_attribute(self.record, attribute);
        }
    }

    fn status(&mut self, status: Status) {
        if !self.started || status > self.record.status {
            self.record.status = status;
        }
    }

    /// Applies a special field (`otel.name`, ...); `false` for any other.
    /// Most names are told apart by their first bytes, before the text is
    /// made or the names compared one by one.
    #[inline]
    fn special(&mut self, field: &Field, text: &dyn Fn() -> String) -> bool {
        let name = field.name();
        if !name.starts_with(SPECIAL_PREFIX) {
            return false;
        }
        self.special_named(name, text)
    }

    fn special_named(&mut self, name: &str, text: &dyn Fn() -> String) -> bool {
        match name {
            SPAN_NAME_FIELD => {
                self.record.name = Cow::Owned(text());
                self.changed.name = true;
            }
            SPAN_KIND_FIELD => {
                if let Some(kind) = span_kind(&text()) {
                    self.record.kind = kind;
                    self.changed.kind = true;
                }
            }
            SPAN_STATUS_CODE_FIELD => {
                self.status(status_code(&text()));
                self.changed.status = true;
            }
            SPAN_STATUS_DESCRIPTION_FIELD | SPAN_STATUS_MESSAGE_FIELD => {
                self.status(Status::error(text()));
                self.changed.status = true;
            }
            _ => return false,
        }
        true
    }
}

impl Visit for SpanVisitor<'_> {
    fn record_bool(&mut self, field: &Field, value: bool) {
        self.push(field.name(), AttributeValue::Bool(value));
    }

    fn record_f64(&mut self, field: &Field, value: f64) {
        self.push(field.name(), AttributeValue::F64(value));
    }

    fn record_i64(&mut self, field: &Field, value: i64) {
        self.push(field.name(), AttributeValue::I64(value));
    }

    /// `Debug` of a `u64`, as `tracing-opentelemetry` records it (a string),
    /// without the formatting machinery.
    fn record_u64(&mut self, field: &Field, value: u64) {
        self.push(field.name(), decimal(value));
    }

    fn record_str(&mut self, field: &Field, value: &str) {
        if !self.special(field, &|| value.to_owned()) {
            self.push(field.name(), AttributeValue::copied(value));
        }
    }

    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        if !self.special(field, &|| debug_string(value)) {
            self.push(field.name(), debug_value(value));
        }
    }

    fn record_error(&mut self, field: &Field, value: &(dyn std::error::Error + 'static)) {
        let chain = source_chain(value);
        let message = value.to_string();
        self.push(EXCEPTION_MESSAGE, AttributeValue::from(message.clone()));
        self.push(EXCEPTION_STACKTRACE, chain_value(chain.clone()));
        self.push(field.name(), AttributeValue::from(message));
        let chain_key = Key::from(format!("{}.chain", field.name()));
        self.settings
            .push_attribute(self.record, Attribute::new(chain_key, chain_value(chain)));
    }
}

/// What an event changes on its span besides adding itself.
#[derive(Default)]
pub(crate) struct SpanUpdates {
    pub(crate) status: Option<Status>,
    pub(crate) attributes: Vec<Attribute>,
}

/// Records an event's fields into a span event, as `tracing-opentelemetry`
/// does: `message` names the event, an `error` field on an unnamed event
/// makes it an `exception` event and sets the span's status, error values
/// carry their source chain.
pub(crate) struct EventVisitor<'a> {
    pub(crate) event: &'a mut RecordEvent,
    pub(crate) updates: &'a mut SpanUpdates,
    pub(crate) settings: &'a Settings,
}

impl EventVisitor<'_> {
    #[inline]
    fn push(&mut self, key: impl Into<Key>, value: AttributeValue) {
        self.settings
            .push_event_attribute(self.event, Attribute::new(key, value));
    }

    fn exception(&mut self, message: String) {
        self.updates.status = Some(Status::error(message.clone()));
        self.event.name = Cow::Borrowed(EXCEPTION_EVENT);
        self.push(EXCEPTION_MESSAGE, AttributeValue::from(message));
    }
}

impl Visit for EventVisitor<'_> {
    fn record_bool(&mut self, field: &Field, value: bool) {
        match field.name() {
            "message" => self.event.name = Cow::Owned(value.to_string()),
            name => self.push(Key::from_static_str(name), AttributeValue::Bool(value)),
        }
    }

    fn record_f64(&mut self, field: &Field, value: f64) {
        match field.name() {
            "message" => self.event.name = Cow::Owned(value.to_string()),
            name => self.push(Key::from_static_str(name), AttributeValue::F64(value)),
        }
    }

    fn record_i64(&mut self, field: &Field, value: i64) {
        match field.name() {
            "message" => self.event.name = Cow::Owned(value.to_string()),
            name => self.push(Key::from_static_str(name), AttributeValue::I64(value)),
        }
    }

    fn record_str(&mut self, field: &Field, value: &str) {
        match field.name() {
            "message" => self.event.name = Cow::Owned(value.to_owned()),
            "error" if self.event.name.is_empty() => self.exception(format!("{value:?}")),
            name => self.push(Key::from_static_str(name), AttributeValue::copied(value)),
        }
    }

    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        match field.name() {
            "message" => self.event.name = Cow::Owned(debug_string(value)),
            "error" if self.event.name.is_empty() => self.exception(debug_string(value)),
            name => self.push(Key::from_static_str(name), debug_value(value)),
        }
    }

    fn record_error(&mut self, field: &Field, value: &(dyn std::error::Error + 'static)) {
        let chain = source_chain(value);
        let message = value.to_string();
        self.push(EXCEPTION_MESSAGE, AttributeValue::from(message.clone()));
        self.push(EXCEPTION_STACKTRACE, chain_value(chain.clone()));
        self.updates.attributes.push(Attribute::new(
            EXCEPTION_MESSAGE,
            AttributeValue::from(message.clone()),
        ));
        self.updates.attributes.push(Attribute::new(
            EXCEPTION_STACKTRACE,
            chain_value(chain.clone()),
        ));
        self.push(
            Key::from_static_str(field.name()),
            AttributeValue::from(message),
        );
        self.push(
            Key::from(format!("{}.chain", field.name())),
            chain_value(chain),
        );
    }
}

/// An inline string for a `'static` text that is known to fit (used for
/// cached thread names).
pub(crate) fn thread_name_value(name: &str) -> AttributeValue {
    match InlineStr::new(name) {
        Some(inline) => AttributeValue::Inline(inline),
        None => AttributeValue::from(std::sync::Arc::<str>::from(name)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_error_that_is_its_own_source_gives_a_bounded_chain() {
        #[derive(Debug)]
        struct Cyclic;
        impl fmt::Display for Cyclic {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("cyclic")
            }
        }
        impl std::error::Error for Cyclic {
            fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
                Some(self)
            }
        }
        let chain = source_chain(&Cyclic);
        assert_eq!(chain.len(), crate::exception::MAX_SOURCES);
        assert!(chain.iter().all(|text| text.as_str() == "cyclic"));
    }

    #[test]
    fn debug_values_stay_inline_until_they_outgrow_the_buffer() {
        assert!(matches!(debug_value(&42_u64), AttributeValue::Inline(_)));
        assert_eq!(debug_value(&42_u64).as_str(), Some("42"));
        let long = "x".repeat(INLINE_STR_CAPACITY + 5);
        let value = debug_value(&long);
        assert!(matches!(value, AttributeValue::String(_)));
        assert_eq!(value.as_str(), Some(format!("{long:?}").as_str()));
    }

    #[test]
    fn decimals_are_what_debug_writes() {
        for value in [0, 7, 10, 42, 999, 1_000_000, u64::MAX] {
            assert_eq!(decimal(value).as_str(), Some(format!("{value:?}").as_str()));
        }
    }

    #[test]
    fn every_special_field_name_has_the_prefix_that_tells_them_apart() {
        for name in [
            SPAN_NAME_FIELD,
            SPAN_KIND_FIELD,
            SPAN_STATUS_CODE_FIELD,
            SPAN_STATUS_DESCRIPTION_FIELD,
            SPAN_STATUS_MESSAGE_FIELD,
        ] {
            assert!(name.starts_with(SPECIAL_PREFIX), "{name}");
        }
    }

    #[test]
    fn kinds_and_status_codes_parse_like_tracing_opentelemetry() {
        assert_eq!(span_kind("SERVER"), Some(SpanKind::Server));
        assert_eq!(span_kind("consumer"), Some(SpanKind::Consumer));
        assert_eq!(span_kind("other"), None);
        assert_eq!(status_code("OK"), Status::Ok);
        assert_eq!(status_code("error"), Status::error(""));
        assert_eq!(status_code("unset"), Status::Unset);
    }
}
