//! [`SpanExt`]: OpenTelemetry operations on a `tracing` span that work on
//! both span paths, the native one and `tracing-opentelemetry`.

use std::borrow::Cow;
use std::time::SystemTime;

use opentelemetry::trace::{SpanContext, Status, TraceContextExt as _};
use opentelemetry::{Context, Key, KeyValue, Value};
use otlpkit_wire::{Attribute, AttributeValue, RecordEvent};

/// Why [`SpanExt::set_parent`] could not give a span a parent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SetParentError {
    /// No OpenTelemetry span layer records the span: neither otlpkit's
    /// native layer nor (with the `tracing-opentelemetry` feature)
    /// `tracing-opentelemetry`'s.
    #[error("no OpenTelemetry span layer records this span")]
    LayerNotFound,
    /// The span's ids are already in use (it was entered, became a parent,
    /// was linked to or had its context read): its parent is fixed.
    #[error("the span has already started: its parent is fixed")]
    AlreadyStarted,
    /// The span is disabled (filtered out).
    #[error("the span is disabled")]
    SpanDisabled,
}

use crate::native::{NativeSpan, Settings, with_native_layer, with_native_span};

/// OpenTelemetry operations on a [`tracing::Span`]: the same methods as
/// `tracing_opentelemetry::OpenTelemetrySpanExt`, working whichever span
/// path records the span: the native layer
/// ([`TracingSetup::with_native_spans`](crate::TracingSetup::with_native_spans))
/// or `tracing-opentelemetry` (the fallback). Import this trait instead of
/// `OpenTelemetrySpanExt` (importing both makes the calls ambiguous).
///
/// ```
/// use opentelemetry::trace::Status;
/// use otlpkit_tracing::SpanExt as _;
///
/// let span = tracing::info_span!("charge");
/// span.set_attribute("payment.amount", 42_i64);
/// span.set_status(Status::error("card declined"));
/// // Without a subscriber the span is disabled: its context is empty.
/// assert!(!opentelemetry::trace::TraceContextExt::span(&span.context()).span_context().is_valid());
/// ```
pub trait SpanExt {
    /// Makes `cx`'s span the parent of this span (a context extracted from
    /// incoming headers, say). Only possible before the span's ids are
    /// used: before it is entered, becomes a parent, is linked to or has
    /// its context read.
    ///
    /// # Errors
    ///
    /// [`SetParentError::AlreadyStarted`] after that point,
    /// [`SetParentError::SpanDisabled`] for a disabled span,
    /// [`SetParentError::LayerNotFound`] when no OpenTelemetry layer records
    /// it.
    fn set_parent(&self, cx: Context) -> Result<(), SetParentError>;

    /// The span's OpenTelemetry context (empty for a disabled span); its ids
    /// are fixed from then on.
    fn context(&self) -> Context;

    /// Links the span to another span's context (ignored when invalid).
    fn add_link(&self, cx: SpanContext) {
        self.add_link_with_attributes(cx, Vec::new());
    }

    /// Links the span to another span's context with attributes.
    fn add_link_with_attributes(&self, cx: SpanContext, attributes: Vec<KeyValue>);

    /// Sets an attribute (appended, within the limits).
    fn set_attribute(&self, key: impl Into<Key>, value: impl Into<Value>);

    /// Sets the status. Once the span has started, a status only replaces a
    /// lower one (Ok > Error > Unset), as the SDK's `set_status` does.
    fn set_status(&self, status: Status);

    /// Adds an event now.
    fn add_event(&self, name: impl Into<Cow<'static, str>>, attributes: Vec<KeyValue>) {
        self.add_event_with_timestamp(name, opentelemetry::time::now(), attributes);
    }

    /// Adds an event at `timestamp`.
    fn add_event_with_timestamp(
        &self,
        name: impl Into<Cow<'static, str>>,
        timestamp: SystemTime,
        attributes: Vec<KeyValue>,
    );
}

impl SpanExt for tracing::Span {
    fn set_parent(&self, cx: Context) -> Result<(), SetParentError> {
        let mut parent = Some(cx);
        let native = with_native_span(self, |span| {
            let NativeSpan { live, layer } = span;
            if live.started {
                return Err(SetParentError::AlreadyStarted);
            }
            let cx = parent.take().unwrap_or_default();
            if live.record.parent_span_id != opentelemetry::trace::SpanId::INVALID
                && !cx.span().span_context().is_valid()
            {
                // It no longer belongs to its old parent's trace.
                live.record.trace_id = opentelemetry::trace::TraceId::INVALID;
            }
            if layer.settings.may_call_the_application(&cx) {
                // Sampled below on a copy, with the span's extensions
                // unlocked: that code may log in this very span.
                return Ok(Some((cx, live.record.as_ref().clone())));
            }
            layer.sample(&cx, &mut live.record);
            live.rebuild_context(&cx, layer.settings.activation);
            Ok(None)
        });
        match native {
            Some(Ok(None)) => Ok(()),
            Some(Ok(Some((cx, mut sampled)))) => {
                let before = Before::of(&sampled);
                with_native_layer(self, |layer| layer.sample(&cx, &mut sampled))
                    .ok_or(SetParentError::LayerNotFound)?;
                with_native_span(self, |span| {
                    let NativeSpan { live, layer } = span;
                    if live.started {
                        return Err(SetParentError::AlreadyStarted);
                    }
                    before.apply(sampled, &mut live.record, &layer.settings);
                    live.rebuild_context(&cx, layer.settings.activation);
                    Ok(())
                })
                .unwrap_or(Err(SetParentError::LayerNotFound))
            }
            Some(Err(error)) => Err(error),
            None => sdk_span::set_parent(self, parent.take().unwrap_or_default()),
        }
    }

    fn context(&self) -> Context {
        with_native_span(self, |span| {
            span.live.started = true;
            span.live.context()
        })
        .unwrap_or_else(|| sdk_span::context(self))
    }

    fn add_link_with_attributes(&self, cx: SpanContext, attributes: Vec<KeyValue>) {
        if !cx.is_valid() {
            return;
        }
        let mut link = Some((cx, attributes));
        let native = with_native_span(self, |span| {
            if let Some((cx, attributes)) = link.take() {
                span.layer
                    .settings
                    .push_link(&mut span.live.record, cx, attributes);
            }
        });
        if native.is_none()
            && let Some((cx, attributes)) = link
        {
            sdk_span::add_link_with_attributes(self, cx, attributes);
        }
    }

    fn set_attribute(&self, key: impl Into<Key>, value: impl Into<Value>) {
        let mut attribute = Some((key.into(), value.into()));
        let native = with_native_span(self, |span| {
            if let Some((key, value)) = attribute.take() {
                span.layer.settings.push_attribute(
                    &mut span.live.record,
                    Attribute::new(key, AttributeValue::from(value)),
                );
            }
        });
        if native.is_none()
            && let Some((key, value)) = attribute
        {
            sdk_span::set_attribute(self, key, value);
        }
    }

    fn set_status(&self, status: Status) {
        let mut status = Some(status);
        let native = with_native_span(self, |span| {
            if let Some(status) = status.take() {
                if span.live.started {
                    span.live.set_status(status);
                } else {
                    span.live.record.status = status;
                }
            }
        });
        if native.is_none()
            && let Some(status) = status
        {
            sdk_span::set_status(self, status);
        }
    }

    fn add_event_with_timestamp(
        &self,
        name: impl Into<Cow<'static, str>>,
        timestamp: SystemTime,
        attributes: Vec<KeyValue>,
    ) {
        let mut event = Some((name.into(), attributes));
        let native = with_native_span(self, |span| {
            if let Some((name, attributes)) = event.take() {
                let mut recorded = RecordEvent::new(name, timestamp);
                for attribute in attributes {
                    span.layer
                        .settings
                        .push_event_attribute(&mut recorded, Attribute::from(attribute));
                }
                span.layer
                    .settings
                    .push_event(&mut span.live.record, recorded);
            }
        });
        if native.is_none()
            && let Some((name, attributes)) = event
        {
            sdk_span::add_event_with_timestamp(self, name, timestamp, attributes);
        }
    }
}

/// The same operations on a span the native layer does not record: through
/// `tracing-opentelemetry` when it is compiled in, else nothing records the
/// span and they do nothing.
#[cfg(feature = "tracing-opentelemetry")]
mod sdk_span {
    use std::borrow::Cow;
    use std::time::SystemTime;

    use opentelemetry::trace::{SpanContext, Status};
    use opentelemetry::{Context, Key, KeyValue, Value};
    use tracing_opentelemetry::OpenTelemetrySpanExt as _;

    use super::SetParentError;

    pub(super) fn set_parent(span: &tracing::Span, cx: Context) -> Result<(), SetParentError> {
        span.set_parent(cx).map_err(|error| match error {
            tracing_opentelemetry::SetParentError::AlreadyStarted => SetParentError::AlreadyStarted,
            tracing_opentelemetry::SetParentError::SpanDisabled => SetParentError::SpanDisabled,
            _ => SetParentError::LayerNotFound,
        })
    }

    pub(super) fn context(span: &tracing::Span) -> Context {
        tracing_opentelemetry::OpenTelemetrySpanExt::context(span)
    }

    pub(super) fn add_link_with_attributes(
        span: &tracing::Span,
        cx: SpanContext,
        attributes: Vec<KeyValue>,
    ) {
        span.add_link_with_attributes(cx, attributes);
    }

    pub(super) fn set_attribute(span: &tracing::Span, key: Key, value: Value) {
        span.set_attribute(key, value);
    }

    pub(super) fn set_status(span: &tracing::Span, status: Status) {
        span.set_status(status);
    }

    pub(super) fn add_event_with_timestamp(
        span: &tracing::Span,
        name: Cow<'static, str>,
        timestamp: SystemTime,
        attributes: Vec<KeyValue>,
    ) {
        span.add_event_with_timestamp(name, timestamp, attributes);
    }
}

#[cfg(not(feature = "tracing-opentelemetry"))]
mod sdk_span {
    use std::borrow::Cow;
    use std::time::SystemTime;

    use opentelemetry::trace::{SpanContext, Status};
    use opentelemetry::{Context, Key, KeyValue, Value};

    use super::SetParentError;

    pub(super) fn set_parent(span: &tracing::Span, _cx: Context) -> Result<(), SetParentError> {
        Err(if span.is_disabled() {
            SetParentError::SpanDisabled
        } else {
            SetParentError::LayerNotFound
        })
    }

    pub(super) fn context(_span: &tracing::Span) -> Context {
        Context::new()
    }

    pub(super) fn add_link_with_attributes(
        _span: &tracing::Span,
        _cx: SpanContext,
        _attributes: Vec<KeyValue>,
    ) {
    }

    pub(super) fn set_attribute(_span: &tracing::Span, _key: Key, _value: Value) {}

    pub(super) fn set_status(_span: &tracing::Span, _status: Status) {}

    pub(super) fn add_event_with_timestamp(
        _span: &tracing::Span,
        _name: Cow<'static, str>,
        _timestamp: SystemTime,
        _attributes: Vec<KeyValue>,
    ) {
    }
}

/// What a copy of a span's record held before it was sampled apart, to
/// tell what sampling added.
struct Before {
    attributes: usize,
    dropped_attributes: u32,
}

impl Before {
    fn of(record: &otlpkit_wire::SpanRecord) -> Self {
        Before {
            attributes: record.attributes.len(),
            dropped_attributes: record.dropped_attributes_count,
        }
    }

    /// Copies onto `live` what sampling the copy (into `sampled`) decided:
    /// the ids, flags and trace state, and the attributes the sampler
    /// added, through the limits.
    fn apply(
        self,
        mut sampled: otlpkit_wire::SpanRecord,
        live: &mut otlpkit_wire::SpanRecord,
        settings: &Settings,
    ) {
        live.trace_id = sampled.trace_id;
        live.parent_span_id = sampled.parent_span_id;
        live.parent_is_remote = sampled.parent_is_remote;
        live.trace_flags = sampled.trace_flags;
        live.trace_state = std::mem::take(&mut sampled.trace_state);
        for attribute in sampled.attributes.drain().skip(self.attributes) {
            settings.push_attribute(live, attribute);
        }
        live.dropped_attributes_count = live.dropped_attributes_count.saturating_add(
            sampled
                .dropped_attributes_count
                .saturating_sub(self.dropped_attributes),
        );
    }
}
