//! Recording an error on a span the way the OpenTelemetry semantic
//! conventions describe it: status `Error` with a description, and an
//! `exception` event with `exception.type`, `exception.message` and, when
//! known, `exception.stacktrace`.

use std::borrow::Cow;
use std::error::Error;
use std::fmt::Write as _;

use crate::SpanExt as _;
use opentelemetry::trace::{Status, TraceContextExt as _};
use opentelemetry::{Context, KeyValue};

/// The most sources of an error followed: an error whose `source()` leads
/// back to itself would otherwise be followed until memory runs out.
pub(crate) const MAX_SOURCES: usize = 64;

/// `first` and the sources after it, at most [`MAX_SOURCES`].
pub(crate) fn sources<'a>(
    first: Option<&'a (dyn Error + 'static)>,
) -> impl Iterator<Item = &'a (dyn Error + 'static)> {
    std::iter::successors(first, |&error| error.source()).take(MAX_SOURCES)
}

/// The name of the span event an exception is recorded as.
pub const EXCEPTION_EVENT: &str = "exception";
/// Attribute: the type of the exception.
pub const EXCEPTION_TYPE: &str = "exception.type";
/// Attribute: the exception message.
pub const EXCEPTION_MESSAGE: &str = "exception.message";
/// Attribute: the stack trace, as text.
pub const EXCEPTION_STACKTRACE: &str = "exception.stacktrace";

/// An exception, ready to be recorded on a span.
///
/// ```
/// use otlpkit_tracing::Exception;
///
/// let error = std::io::Error::other("disk full");
/// let span = tracing::info_span!("write");
/// Exception::from_error(&error).record_on(&span);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Exception {
    exception_type: Cow<'static, str>,
    message: String,
    stacktrace: Option<String>,
}

impl Exception {
    /// An exception of type `exception_type` with `message`.
    pub fn new(exception_type: impl Into<Cow<'static, str>>, message: impl Into<String>) -> Self {
        Self {
            exception_type: exception_type.into(),
            message: message.into(),
            stacktrace: None,
        }
    }

    /// An exception describing `error`: its type is the Rust type name of
    /// `E` (`std::io::error::Error`; `dyn core::error::Error` for a trait
    /// object, where [`new`](Self::new) can say more), its message is the
    /// error followed by its chain of sources, separated by `": "`.
    pub fn from_error<E: Error + ?Sized>(error: &E) -> Self {
        let mut message = error.to_string();
        for cause in sources(error.source()) {
            let _ = write!(message, ": {cause}");
        }
        Self::new(std::any::type_name::<E>(), message)
    }

    /// Adds a stack trace (e.g. `std::backtrace::Backtrace::capture().to_string()`).
    pub fn with_stacktrace(mut self, stacktrace: impl Into<String>) -> Self {
        self.stacktrace = Some(stacktrace.into());
        self
    }

    /// `exception.type`.
    pub fn exception_type(&self) -> &str {
        &self.exception_type
    }

    /// `exception.message`.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// `exception.stacktrace`, if any.
    pub fn stacktrace(&self) -> Option<&str> {
        self.stacktrace.as_deref()
    }

    /// The attributes of the `exception` event.
    pub fn attributes(&self) -> Vec<KeyValue> {
        let mut attributes = vec![
            KeyValue::new(EXCEPTION_TYPE, self.exception_type.clone()),
            KeyValue::new(EXCEPTION_MESSAGE, self.message.clone()),
        ];
        if let Some(stacktrace) = &self.stacktrace {
            attributes.push(KeyValue::new(EXCEPTION_STACKTRACE, stacktrace.clone()));
        }
        attributes
    }

    /// Records the exception on a `tracing` span: status `Error` with the
    /// message as description, and the `exception` event. Works on both span
    /// paths ([`SpanExt`](crate::SpanExt)); does nothing when the span is
    /// disabled or no OpenTelemetry layer is installed.
    pub fn record_on(&self, span: &tracing::Span) {
        span.set_status(Status::error(self.message.clone()));
        span.add_event(EXCEPTION_EVENT, self.attributes());
    }

    /// Records the exception on the OpenTelemetry span of `cx` (for code
    /// that uses the OpenTelemetry API directly).
    pub fn record_on_context(&self, cx: &Context) {
        let span = cx.span();
        span.set_status(Status::error(self.message.clone()));
        span.add_event(EXCEPTION_EVENT, self.attributes());
    }

    /// Records the exception on whatever is current: the current `tracing`
    /// span if there is one, otherwise the span of the current OpenTelemetry
    /// context.
    pub fn record_on_current(&self) {
        let span = tracing::Span::current();
        if span.is_disabled() {
            Context::map_current(|cx| self.record_on_context(cx));
        } else {
            self.record_on(&span);
        }
    }
}

/// Records `error` on `span` ([`Exception::from_error`] then
/// [`Exception::record_on`]).
pub fn record_error<E: Error + ?Sized>(span: &tracing::Span, error: &E) {
    Exception::from_error(error).record_on(span);
}

/// Records `error` on the current span ([`Exception::record_on_current`]).
pub fn record_error_on_current<E: Error + ?Sized>(error: &E) {
    Exception::from_error(error).record_on_current();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, thiserror::Error)]
    #[error("request failed")]
    struct Outer(#[source] std::io::Error);

    #[test]
    fn from_error_names_the_type_and_the_whole_chain() {
        let error = Outer(std::io::Error::other("connection reset"));
        let exception = Exception::from_error(&error);
        assert!(
            exception.exception_type().ends_with("Outer"),
            "{exception:?}"
        );
        assert_eq!(exception.message(), "request failed: connection reset");
        assert_eq!(exception.attributes().len(), 2);

        let dynamic: &(dyn Error + 'static) = &error;
        let exception = Exception::from_error(dynamic).with_stacktrace("at main");
        assert_eq!(exception.exception_type(), "dyn core::error::Error");
        assert_eq!(exception.stacktrace(), Some("at main"));
        assert_eq!(
            exception.attributes()[2],
            KeyValue::new(EXCEPTION_STACKTRACE, "at main")
        );
    }
}
