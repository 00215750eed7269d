//! The native layer against `tracing-opentelemetry`: the same `tracing`
//! code, recorded once by each path, gives the same spans (names, kinds,
//! statuses, attributes in order with their values, events, links, parent
//! relations, scope), apart from ids, timestamps and the measured
//! `busy_ns`/`idle_ns` values.

use std::time::Duration;

use opentelemetry::trace::TracerProvider as _;
use opentelemetry::{InstrumentationScope, KeyValue, Value};
use opentelemetry_sdk::trace::{InMemorySpanExporter, SdkTracerProvider, SpanData};
use otlpkit_batch::BatchProcessor;
use otlpkit_core::MapEnv;
use otlpkit_tracing::native::{NativeSpans, SpanDataExporter};
use otlpkit_tracing::{SpanDetails, TracingSetup};
use tracing_subscriber::Registry;
use tracing_subscriber::layer::SubscriberExt as _;

#[derive(Debug, thiserror::Error)]
#[error("outer failure")]
struct Outer(#[source] std::io::Error);

#[tracing::instrument(err)]
fn failing(count: u32) -> Result<(), Outer> {
    Err(Outer(std::io::Error::other("inner cause")))
}

/// Everything a span can carry through `tracing` macros.
fn workload() {
    let root = tracing::info_span!(
        "root",
        text = "a string value that is longer than the inline buffer",
        short = "GET",
        signed = -5_i64,
        unsigned = 7_u64,
        small = 3_i32,
        flag = true,
        ratio = 0.5,
        debug = ?vec![1, 2],
        display = %"shown",
        later = tracing::field::Empty,
        otel.kind = "server",
    );
    root.in_scope(|| {
        tracing::info!(answer = 42_i64, "an event with a message");
        tracing::warn!(detail = "no message");
        tracing::info_span!(
            "renamed",
            otel.name = "the new name",
            otel.status_code = "ok"
        )
        .in_scope(|| {});
        tracing::info_span!("errored").in_scope(|| {
            tracing::error!(error = %"it failed");
        });
        tracing::info_span!("error value").in_scope(|| {
            let error = Outer(std::io::Error::other("disk"));
            tracing::error!(
                failure = &error as &(dyn std::error::Error + 'static),
                "with an error value"
            );
        });
        let _ = failing(2);
        let cause = tracing::info_span!("cause");
        let effect = tracing::info_span!("effect");
        effect.follows_from(&cause);
        drop(effect);
        drop(cause);
    });
    root.record("later", "recorded after");
    drop(root);
}

fn scope() -> InstrumentationScope {
    InstrumentationScope::builder("parity")
        .with_version("1.2.3")
        .build()
}

fn through_tracing_opentelemetry() -> Vec<SpanData> {
    let exporter = InMemorySpanExporter::default();
    let provider = SdkTracerProvider::builder()
        .with_simple_exporter(exporter.clone())
        .build();
    let tracer = provider.tracer_with_scope(scope());
    let subscriber =
        tracing_subscriber::registry().with(tracing_opentelemetry::layer().with_tracer(tracer));
    tracing::subscriber::with_default(subscriber, workload);
    provider.force_flush().unwrap();
    exporter.get_finished_spans().unwrap()
}

fn through_native() -> Vec<SpanData> {
    recorded_natively(|native| native.with_scope(scope()).layer())
}

/// The workload recorded by the native layer `layer` builds around a
/// processor exporting to memory; the spans are read once flushed, while
/// the layer (which owns the processor) still lives.
fn recorded_natively<L>(layer: impl FnOnce(NativeSpans) -> L) -> Vec<SpanData>
where
    L: tracing_subscriber::Layer<Registry> + Send + Sync + 'static,
{
    let exporter = InMemorySpanExporter::default();
    let processor = BatchProcessor::builder(SpanDataExporter::new(exporter.clone()))
        .build_with_env(&MapEnv::new())
        .unwrap();
    let handle = processor.handle();
    let layer = layer(NativeSpans::new(processor));
    let dispatch = tracing::Dispatch::new(tracing_subscriber::registry().with(layer));
    tracing::dispatcher::with_default(&dispatch, workload);
    assert!(
        handle
            .flush_within(Duration::from_secs(10))
            .unwrap()
            .is_complete()
    );
    exporter.get_finished_spans().unwrap()
}

/// A value with its kind, independent of how its string is held (static,
/// owned or shared are the same value).
fn value(value: &Value) -> String {
    let kind = match value {
        Value::Bool(_) => "bool",
        Value::I64(_) => "i64",
        Value::F64(_) => "f64",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        _ => "other",
    };
    format!("{kind}:{value}")
}

fn key_values(attributes: &[KeyValue]) -> Vec<String> {
    attributes
        .iter()
        .map(|kv| match kv.key.as_str() {
            "busy_ns" | "idle_ns" => kv.key.to_string(),
            _ => format!("{}={}", kv.key, value(&kv.value)),
        })
        .collect()
}

/// What must agree: everything but ids, times and measured durations.
fn comparable(spans: &[SpanData]) -> Vec<String> {
    let name_of = |id| {
        spans
            .iter()
            .find(|span| span.span_context.span_id() == id)
            .map_or("-".to_owned(), |span| span.name.to_string())
    };
    let mut out: Vec<String> = spans
        .iter()
        .map(|span| {
            let attributes = key_values(&span.attributes);
            let events: Vec<String> = span
                .events
                .iter()
                .map(|event| {
                    format!(
                        "{} {:?} dropped {}",
                        event.name,
                        key_values(&event.attributes),
                        event.dropped_attributes_count
                    )
                })
                .collect();
            let links: Vec<String> = span
                .links
                .iter()
                .map(|link| name_of(link.span_context.span_id()))
                .collect();
            format!(
                "{} kind {:?} status {:?} parent {} remote {} sampled {}\n  attributes {:?} dropped {}\n  events {:?} dropped {}\n  links {:?} dropped {}\n  scope {:?}",
                span.name,
                span.span_kind,
                span.status,
                name_of(span.parent_span_id),
                span.parent_span_is_remote,
                span.span_context.is_sampled(),
                attributes,
                span.dropped_attributes_count,
                events,
                span.events.dropped_count,
                links,
                span.links.dropped_count,
                span.instrumentation_scope,
            )
        })
        .collect();
    out.sort();
    out
}

#[test]
fn the_native_layer_records_what_tracing_opentelemetry_records() {
    let reference = comparable(&through_tracing_opentelemetry());
    let native = comparable(&through_native());
    assert_eq!(reference.len(), 7, "{reference:#?}");
    for (ours, theirs) in native.iter().zip(&reference) {
        assert_eq!(ours, theirs);
    }
    assert_eq!(native.len(), reference.len());
}

/// The workload through `TracingSetup::layer`, on the native path or on
/// `tracing-opentelemetry`, with the given span details. The spans are read
/// while the pipeline lives: its shutdown empties the in-memory exporter.
fn through_setup(details: SpanDetails, native: bool) -> Vec<SpanData> {
    let setup = TracingSetup::builder()
        .with_directives("trace")
        .with_span_details(details);
    if native {
        return recorded_natively(|native| {
            setup.with_native_spans(native).layer::<Registry>().unwrap()
        });
    }
    let exporter = InMemorySpanExporter::default();
    let provider = SdkTracerProvider::builder()
        .with_simple_exporter(exporter.clone())
        .build();
    let layer = setup
        .with_tracer_provider(&provider)
        .layer::<Registry>()
        .unwrap();
    tracing::subscriber::with_default(tracing_subscriber::registry().with(layer), workload);
    provider.force_flush().unwrap();
    exporter.get_finished_spans().unwrap()
}

/// `TracingSetup::with_span_details` gives both span paths the same
/// attributes beyond the spans' fields, and exactly the ones asked for.
#[test]
fn span_details_apply_alike_on_both_paths() {
    const LOCATION: [&str; 3] = ["code.file.path", "code.module.name", "code.line.number"];
    const THREADS: [&str; 2] = ["thread.id", "thread.name"];
    const BUSY_IDLE: [&str; 2] = ["busy_ns", "idle_ns"];
    let cases = [
        (SpanDetails::default(), [true, true, true, false, true]),
        (SpanDetails::lean(), [false; 5]),
        (
            SpanDetails::lean().with_location(true).with_level(true),
            [true, false, false, true, false],
        ),
        (
            SpanDetails::default()
                .with_threads(false)
                .with_busy_idle(false),
            [true, false, true, false, false],
        ),
        (
            SpanDetails::lean().with_threads(true).with_target(true),
            [false, true, true, false, false],
        ),
    ];
    for (details, [location, threads, target, level, busy_idle]) in cases {
        let native = through_setup(details, true);
        let reference = through_setup(details, false);
        assert_eq!(comparable(&native), comparable(&reference), "{details:?}");

        let mut expected: Vec<&str> = Vec::new();
        for (on, keys) in [
            (location, &LOCATION[..]),
            (threads, &THREADS[..]),
            (target, &["target"][..]),
            (level, &["level"][..]),
            (busy_idle, &BUSY_IDLE[..]),
        ] {
            if on {
                expected.extend(keys);
            }
        }
        expected.sort_unstable();
        assert_eq!((native.len(), reference.len()), (7, 7), "{details:?}");
        let root = native.iter().find(|span| span.name == "root").unwrap();
        let mut found: Vec<&str> = root
            .attributes
            .iter()
            .map(|kv| kv.key.as_str())
            .filter(|key| {
                LOCATION.contains(key)
                    || THREADS.contains(key)
                    || BUSY_IDLE.contains(key)
                    || ["target", "level"].contains(key)
            })
            .collect();
        found.sort_unstable();
        assert_eq!(found, expected, "{details:?}");
    }
}
