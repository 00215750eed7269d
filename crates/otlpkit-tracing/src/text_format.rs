//! The console's three text formats (`Full`, `Compact`, `Pretty`) behind one
//! fmt layer type.
//!
//! `tracing_subscriber::fmt::layer().compact()` and `.pretty()` are layers
//! of different types, and a subscriber that can take any of them at run
//! time compiles the whole fmt layer (span bookkeeping, enter/exit, field
//! recording, filtering) once per format: about 20 KB of a release binary
//! each. Here the choice is a value instead: one layer type whose event
//! and field formatters dispatch to `tracing-subscriber`'s own, so the
//! output is theirs, byte for byte, and only their `format_event`s are
//! compiled three times.

use std::fmt;

use tracing::{Event, Subscriber, span};
use tracing_subscriber::field::{RecordFields, VisitOutput as _};
use tracing_subscriber::fmt::format::{
    self, DefaultFields, Format, FormatEvent, FormatFields, PrettyVisitor, Writer,
};
use tracing_subscriber::fmt::time::{FormatTime, SystemTime};
use tracing_subscriber::fmt::{FmtContext, FormattedFields};
use tracing_subscriber::registry::LookupSpan;

/// The event formatter: `tracing-subscriber`'s `Full`, `Compact` or
/// `Pretty` [`Format`], with timestamps from `T`.
#[derive(Debug)]
pub(crate) enum TextEvents<T = SystemTime> {
    Full(Format<format::Full, T>),
    Compact(Format<format::Compact, T>),
    Pretty(Format<format::Pretty, T>),
}

/// The field formatter that goes with it: the default one for `Full` and
/// `Compact`, the pretty one for `Pretty`, as `fmt::layer().pretty()` pairs
/// them.
#[derive(Debug)]
pub(crate) enum TextFields {
    Default(DefaultFields),
    Pretty(format::Pretty),
}

impl TextEvents {
    pub(crate) fn full() -> (Self, TextFields) {
        (
            Self::Full(Format::default()),
            TextFields::Default(DefaultFields::new()),
        )
    }

    pub(crate) fn compact() -> (Self, TextFields) {
        (
            Self::Compact(Format::default().compact()),
            TextFields::Default(DefaultFields::new()),
        )
    }

    pub(crate) fn pretty() -> (Self, TextFields) {
        (
            Self::Pretty(Format::default().pretty()),
            TextFields::Pretty(format::Pretty::default()),
        )
    }
}

impl<S, N, T> FormatEvent<S, N> for TextEvents<T>
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
    T: FormatTime,
{
    fn format_event(
        &self,
        ctx: &FmtContext<'_, S, N>,
        writer: Writer<'_>,
        event: &Event<'_>,
    ) -> fmt::Result {
        match self {
            Self::Full(format) => format.format_event(ctx, writer, event),
            Self::Compact(format) => format.format_event(ctx, writer, event),
            Self::Pretty(format) => format.format_event(ctx, writer, event),
        }
    }
}

impl<'writer> FormatFields<'writer> for TextFields {
    fn format_fields<R: RecordFields>(&self, writer: Writer<'writer>, fields: R) -> fmt::Result {
        match self {
            Self::Default(default) => default.format_fields(writer, fields),
            Self::Pretty(pretty) => pretty.format_fields(writer, fields),
        }
    }

    /// What each formatter's own `add_fields` does, on fields stored under
    /// this type.
    fn add_fields(
        &self,
        current: &'writer mut FormattedFields<Self>,
        fields: &span::Record<'_>,
    ) -> fmt::Result {
        match self {
            Self::Default(default) => {
                if !current.fields.is_empty() {
                    current.fields.push(' ');
                }
                default.format_fields(current.as_writer(), fields)
            }
            Self::Pretty(_) => {
                let empty = current.is_empty();
                let mut visitor = PrettyVisitor::new(current.as_writer(), empty);
                fields.record(&mut visitor);
                visitor.finish()
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::io;
    use std::sync::{Arc, Mutex};

    use tracing_subscriber::fmt::MakeWriter;
    use tracing_subscriber::layer::SubscriberExt as _;

    use super::*;

    #[derive(Clone, Default)]
    struct Buffer(Arc<Mutex<Vec<u8>>>);

    impl io::Write for Buffer {
        fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(bytes);
            Ok(bytes.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    impl<'a> MakeWriter<'a> for Buffer {
        type Writer = Self;
        fn make_writer(&'a self) -> Self {
            self.clone()
        }
    }

    impl Buffer {
        fn text(&self) -> String {
            String::from_utf8(self.0.lock().unwrap().clone()).unwrap()
        }
    }

    /// Spans with fields given at creation and recorded later, nested, and
    /// events with fields inside them.
    fn workload() {
        let outer =
            tracing::info_span!("outer", user = "ada", n = 1, later = tracing::field::Empty);
        outer.record("later", 7);
        outer.record("extra", true);
        outer.in_scope(|| {
            tracing::info_span!("inner", step = 2).in_scope(|| {
                tracing::warn!(retry = 3, reason = "slow", "taking long");
            });
            tracing::info!("done");
        });
    }

    fn printed_by(
        layer: impl tracing_subscriber::Layer<tracing_subscriber::Registry> + Send + Sync,
    ) {
        let subscriber = tracing_subscriber::registry().with(layer);
        tracing::subscriber::with_default(subscriber, workload);
    }

    /// Each format prints exactly what `tracing-subscriber`'s own layer of
    /// that format prints for the same spans and events (no timestamps, so
    /// that the two runs compare; no ANSI, as in a file).
    #[test]
    fn each_format_prints_what_tracing_subscribers_own_layer_prints() {
        type Make = fn() -> (TextEvents, TextFields);
        let formats: [(&str, Make); 3] = [
            ("full", TextEvents::full),
            ("compact", TextEvents::compact),
            ("pretty", TextEvents::pretty),
        ];
        for (name, make) in formats {
            let ours = Buffer::default();
            let (events, fields) = make();
            // The same formats without their timestamps.
            let events = match events {
                TextEvents::Full(f) => TextEvents::Full(f.without_time()),
                TextEvents::Compact(f) => TextEvents::Compact(f.without_time()),
                TextEvents::Pretty(f) => TextEvents::Pretty(f.without_time()),
            };
            printed_by(
                tracing_subscriber::fmt::layer()
                    .with_writer(ours.clone())
                    .with_ansi(false)
                    .event_format(events)
                    .fmt_fields(fields),
            );

            let theirs = Buffer::default();
            let layer = tracing_subscriber::fmt::layer()
                .with_writer(theirs.clone())
                .with_ansi(false)
                .without_time();
            match name {
                "full" => printed_by(layer),
                "compact" => printed_by(layer.compact()),
                _ => printed_by(layer.pretty()),
            }

            let expected = theirs.text();
            assert!(expected.contains("taking long"), "{name}: {expected}");
            assert!(expected.contains("later"), "{name}: {expected}");
            assert_eq!(ours.text(), expected, "{name}");
        }
    }
}
