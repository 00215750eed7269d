//! The native span path end to end: `tracing` spans recorded by the native
//! layer, queued in otlpkit's batch engine, exported by otlpkit's gRPC
//! exporter and checked as the testkit receiver saw them on the wire.
//!
//! One pipeline serves the binary, installed globally with `try_init()` as
//! an application would: native spans, the log bridge, and an SDK tracer
//! provider (global) for code that uses the OpenTelemetry API. Tests that
//! need another configuration (sampler, limits, a disabled SDK, a tiny
//! queue) install their own native layer for the current thread with
//! `tracing::dispatcher::with_default`. Tests tell their telemetry apart by
//! trace id and unique names.

use std::sync::OnceLock;
use std::time::{Duration, Instant};

use futures_util::StreamExt as _;
use opentelemetry::trace::{
    SpanContext, SpanId, TraceContextExt as _, TraceFlags, TraceId, TraceState, Tracer as _,
    TracerProvider as _, mark_span_as_active,
};
use opentelemetry::{Context, KeyValue};
use opentelemetry_otlp::WithExportConfig as _;
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::logs::SdkLoggerProvider;
use opentelemetry_sdk::trace::{
    RandomIdGenerator, Sampler, SdkTracer, SdkTracerProvider, ShouldSample as _,
};
use otlpkit_batch::{BatchProcessor, ProcessorHandle};
use otlpkit_bridge::{Captured, FutureContextExt as _, StreamContextExt as _};
use otlpkit_core::stats::{DropReason, ExportStats};
use otlpkit_core::{MapEnv, OverflowPolicy, SdkConfig};
use otlpkit_fixtures::spans::remote_parent;
use otlpkit_testkit::proto::common::v1::any_value;
use otlpkit_testkit::proto::trace::v1::{span, status};
use otlpkit_testkit::{ReceivedSpan, Receiver, Signal, SpanTree, attribute_str};
use otlpkit_tracing::native::{NativeSpans, SpanDataExporter};
use otlpkit_tracing::{Exception, SpanExt as _, TracingSetup};
use otlpkit_wire::SpanRecord;
use tracing_subscriber::layer::SubscriberExt as _;

const WAIT: Duration = Duration::from_secs(20);
const SCOPE: &str = "native-e2e";

struct Pipeline {
    receiver: Receiver,
    spans: ProcessorHandle,
    tracer_provider: SdkTracerProvider,
    tracer: SdkTracer,
    logger_provider: SdkLoggerProvider,
}

fn resource() -> Resource {
    Resource::builder_empty()
        .with_service_name("native-tests")
        .build()
}

/// A processor exporting records through otlpkit's gRPC exporter, which
/// counts its own outcomes into `stats`.
fn processor(
    receiver: &Receiver,
    stats: &ExportStats,
    configure: impl FnOnce(
        otlpkit_batch::BatchProcessorBuilder<Box<SpanRecord>>,
    ) -> otlpkit_batch::BatchProcessorBuilder<Box<SpanRecord>>,
) -> BatchProcessor<Box<SpanRecord>> {
    let exporter = otlpkit_grpc::SpanExporter::builder()
        .with_endpoint(receiver.grpc_endpoint())
        .with_stats(stats.clone())
        .build()
        .unwrap();
    configure(BatchProcessor::builder(SpanDataExporter::new(exporter)).with_stats(stats.clone()))
        .build_with_env(&MapEnv::new())
        .unwrap()
}

fn pipeline() -> &'static Pipeline {
    static PIPELINE: OnceLock<Pipeline> = OnceLock::new();
    PIPELINE.get_or_init(|| {
        let receiver = Receiver::start().unwrap();
        let stats = ExportStats::new();
        let native =
            NativeSpans::new(processor(&receiver, &stats, |b| b)).with_resource(&resource());
        let spans = native.handle();
        let api_exporter = opentelemetry_otlp::SpanExporter::builder()
            .with_http()
            .with_endpoint(receiver.http_url(Signal::Traces))
            .build()
            .unwrap();
        let tracer_provider = SdkTracerProvider::builder()
            .with_resource(resource())
            .with_batch_exporter(api_exporter)
            .build();
        let logs = opentelemetry_otlp::LogExporter::builder()
            .with_http()
            .with_endpoint(receiver.http_url(Signal::Logs))
            .build()
            .unwrap();
        let logger_provider = SdkLoggerProvider::builder()
            .with_resource(resource())
            .with_batch_exporter(logs)
            .build();
        TracingSetup::builder()
            .with_native_spans(native)
            .with_tracer_provider(&tracer_provider)
            .with_logger_provider(&logger_provider)
            .with_scope_name(SCOPE)
            .with_directives("info")
            .try_init()
            .unwrap();
        opentelemetry::global::set_tracer_provider(tracer_provider.clone());
        let tracer = tracer_provider.tracer("native-e2e-api");
        Pipeline {
            receiver,
            spans,
            tracer_provider,
            tracer,
            logger_provider,
        }
    })
}

fn flush_all() {
    let pipe = pipeline();
    let _ = pipe.spans.flush_within(WAIT);
    let _ = pipe.tracer_provider.force_flush();
    let _ = pipe.logger_provider.force_flush();
}

/// Flushes everything until `found` returns something, or fails the test.
fn wait_for<T>(what: &str, found: impl Fn(&Receiver) -> Option<T>) -> T {
    let deadline = Instant::now() + WAIT;
    loop {
        flush_all();
        if let Some(value) = found(&pipeline().receiver) {
            return value;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn span_named(name: &str) -> ReceivedSpan {
    wait_for(name, |r| r.span(name))
}

fn current_ids() -> (TraceId, SpanId) {
    Context::map_current(|cx| {
        let span = cx.span();
        (
            span.span_context().trace_id(),
            span.span_context().span_id(),
        )
    })
}

/// Runs `body` in a root span named `root`, waits for `expected` spans of
/// its trace and returns the tree.
fn traced(root: &'static str, expected: usize, body: impl FnOnce()) -> SpanTree {
    pipeline();
    let span = tracing::info_span!("root", otel.name = root);
    let trace_id = span.in_scope(|| {
        body();
        current_ids().0
    });
    drop(span);
    wait_for(root, |r| {
        let tree = r.span_tree(trace_id.to_bytes());
        (tree.len() >= expected).then_some(tree)
    })
}

/// A `tracing` span with an OpenTelemetry-API span inside it.
fn work(name: &'static str) {
    tracing::info_span!("work", otel.name = name).in_scope(|| {
        pipeline().tracer.in_span(format!("{name}/otel"), |_| {});
    });
}

fn multi_thread_runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

fn current_thread_runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

// ---------------------------------------------------------------------------
// Parent/child across every otlpkit-bridge boundary, and mixing with the
// OpenTelemetry API (each `work` has an API child).

#[test]
fn threads_scoped_threads_and_rayon_keep_the_parent() {
    let tree = traced("native-threads", 11, || {
        otlpkit_bridge::thread::spawn(|| work("thread"))
            .join()
            .unwrap();
        otlpkit_bridge::thread::scope(|s| {
            s.spawn(|| work("scoped")).join().unwrap();
        });
        otlpkit_bridge::rayon::join(|| work("rayon-a"), || work("rayon-b"));
        otlpkit_bridge::rayon::scope(|s| s.spawn(|_| work("rayon-scope")));
        // Control: a bare thread loses the context.
        std::thread::spawn(|| work("bare-thread")).join().unwrap();
    });
    let root = &tree.roots()[0];
    assert_eq!(root.name(), "native-threads", "{tree}");
    let mut children = root.child_names();
    children.sort_unstable();
    assert_eq!(
        children,
        ["rayon-a", "rayon-b", "rayon-scope", "scoped", "thread"],
        "{tree}"
    );
    for child in &root.children {
        assert_eq!(
            child.child_names(),
            [format!("{}/otel", child.name())],
            "{tree}"
        );
    }
    assert!(tree.find("bare-thread").is_none(), "{tree}");
}

#[test]
fn tasks_blocking_futures_streams_and_block_on_keep_the_parent() {
    let multi = multi_thread_runtime();
    let current = current_thread_runtime();
    let tree = traced("native-async", 17, || {
        multi.block_on(async {
            otlpkit_bridge::spawn(async { work("task") }).await.unwrap();
            otlpkit_bridge::spawn_blocking(|| work("blocking"))
                .await
                .unwrap();
            otlpkit_bridge::block_on(async { work("block-on-inside") }).unwrap();
            tokio::task::spawn_blocking(|| work("bare-blocking"))
                .await
                .unwrap();
        });
        let carried = async { work("future") }.in_current_context();
        let captured = Captured::current();
        let per_item = futures_util::stream::iter(1..=2_u32)
            .map(|n| {
                work("produce");
                n
            })
            .with_item_spans(|index| tracing::info_span!("item", otel.name = "item", index));
        std::thread::spawn(move || {
            current.block_on(async move {
                tokio::spawn(carried).await.unwrap();
                let items = tokio::spawn(per_item.collect::<Vec<u32>>()).await.unwrap();
                assert_eq!(items, [1, 2]);
                captured.in_scope(|| otlpkit_bridge::block_on(async { work("block-on") }))
            })
        })
        .join()
        .unwrap()
        .unwrap();
    });
    let root = &tree.roots()[0];
    assert_eq!(
        root.child_names(),
        [
            "task",
            "blocking",
            "block-on-inside",
            "future",
            "item",
            "item",
            "block-on"
        ],
        "{tree}"
    );
    for item in root.children.iter().filter(|c| c.name() == "item") {
        assert_eq!(item.child_names(), ["produce"], "{tree}");
    }
    assert!(tree.find("bare-blocking").is_none(), "{tree}");
}

#[test]
fn a_tracing_span_inside_an_api_span_is_its_child() {
    let tree = traced("native-mixed", 4, || {
        let api = pipeline().tracer.start("api-outer");
        let _active = mark_span_as_active(api);
        tracing::info_span!("tracing-inner").in_scope(|| {
            pipeline().tracer.in_span("api-innermost", |_| {});
        });
    });
    assert_eq!(
        tree.outline(),
        "native-mixed\n  api-outer\n    tracing-inner\n      api-innermost\n",
        "{tree}"
    );
    let inner = &tree.find("tracing-inner").unwrap().span;
    // Local parent: the span flags say so (checklist 2.16).
    assert_eq!(inner.span.flags, 0x101);
}

// ---------------------------------------------------------------------------
// What a span carries.

#[test]
fn special_fields_set_name_kind_and_status() {
    pipeline();
    tracing::info_span!(
        "ignored-name",
        otel.name = "renamed-span",
        otel.kind = "client",
        otel.status_code = "error",
        otel.status_description = "upstream refused",
        peer = "db-1",
    )
    .in_scope(|| {});
    let span = tracing::info_span!("ok-span", otel.kind = "SERVER", otel.status_code = Empty);
    span.record("otel.status_code", "ok");
    drop(span);
    tracing::info_span!("message-span", otel.status_message = "broken").in_scope(|| {});

    let renamed = span_named("renamed-span");
    assert_eq!(renamed.kind(), span::SpanKind::Client);
    assert_eq!(renamed.status_code(), status::StatusCode::Error);
    assert_eq!(
        renamed.span.status.as_ref().unwrap().message,
        "upstream refused"
    );
    assert_eq!(renamed.attribute_str("peer"), Some("db-1"));
    assert!(renamed.attribute("otel.name").is_none());
    assert!(renamed.attribute("otel.kind").is_none());
    // The same attributes as tracing-opentelemetry puts on every span.
    assert_eq!(renamed.attribute_str("target"), Some("native"));
    assert_eq!(renamed.attribute_str("code.module.name"), Some("native"));
    assert!(renamed.attribute("code.line.number").is_some());
    assert!(renamed.attribute("thread.id").is_some());
    assert!(renamed.attribute("busy_ns").is_some() && renamed.attribute("idle_ns").is_some());
    let ok = span_named("ok-span");
    assert_eq!(ok.kind(), span::SpanKind::Server);
    assert_eq!(ok.status_code(), status::StatusCode::Ok);
    let message = span_named("message-span");
    assert_eq!(message.span.status.as_ref().unwrap().message, "broken");
    // Resource and scope.
    assert_eq!(
        renamed.origin.resource_attribute_str("service.name"),
        Some("native-tests")
    );
    assert_eq!(renamed.origin.scope.name, SCOPE);
    assert_eq!(renamed.origin.scope.version, env!("CARGO_PKG_VERSION"));
}

#[derive(Debug, thiserror::Error)]
#[error("could not save the order")]
struct SaveError(#[source] std::io::Error);

#[tracing::instrument(err)]
fn instrumented_failure(order: u32) -> Result<(), SaveError> {
    Err(SaveError(std::io::Error::other("disk full")))
}

#[test]
fn errors_give_an_error_status_and_an_exception_event() {
    pipeline();
    let _ = instrumented_failure(7);
    tracing::info_span!("error-field-span").in_scope(|| {
        tracing::error!(error = %"quota exceeded");
    });
    let recorded = tracing::info_span!("record-error-span");
    otlpkit_tracing::record_error(&recorded, &SaveError(std::io::Error::other("disk full")));
    drop(recorded);
    tracing::info_span!("error-level-span").in_scope(|| tracing::error!("plain error log"));

    let instrumented = span_named("instrumented_failure");
    assert_eq!(instrumented.status_code(), status::StatusCode::Error);
    assert_eq!(
        instrumented.span.status.as_ref().unwrap().message,
        "could not save the order"
    );
    // An unsigned field is recorded through `Debug`, as tracing-opentelemetry does.
    assert_eq!(instrumented.attribute_str("order"), Some("7"));
    let event = instrumented.event("exception").unwrap();
    assert_eq!(
        attribute_str(&event.attributes, "exception.message"),
        Some("could not save the order")
    );

    let field = span_named("error-field-span");
    assert_eq!(
        field.span.status.as_ref().unwrap().message,
        "quota exceeded"
    );
    assert!(field.event("exception").is_some());

    let recorded = span_named("record-error-span");
    assert_eq!(recorded.status_code(), status::StatusCode::Error);
    let event = recorded.event("exception").unwrap();
    assert!(
        attribute_str(&event.attributes, "exception.type")
            .unwrap()
            .ends_with("SaveError")
    );
    assert_eq!(
        attribute_str(&event.attributes, "exception.message"),
        Some("could not save the order: disk full")
    );

    let level = span_named("error-level-span");
    assert_eq!(level.status_code(), status::StatusCode::Error);
    assert_eq!(level.span.status.as_ref().unwrap().message, "");
}

#[test]
fn follows_from_becomes_a_link() {
    pipeline();
    let cause = tracing::info_span!("link-cause");
    let (cause_trace, cause_id) = cause.in_scope(current_ids);
    let effect = tracing::info_span!(parent: None, "link-effect");
    effect.follows_from(&cause);
    drop(effect);
    drop(cause);
    let effect = span_named("link-effect");
    assert!(effect.span.parent_span_id.is_empty());
    assert_eq!(effect.span.links.len(), 1);
    let link = &effect.span.links[0];
    assert_eq!(link.trace_id, cause_trace.to_bytes());
    assert_eq!(link.span_id, cause_id.to_bytes());
    assert_eq!(link.flags, 0x101);
}

#[test]
fn events_are_span_events_and_correlated_log_records() {
    pipeline();
    let (trace_id, span_id) = tracing::info_span!("evented-span").in_scope(|| {
        tracing::info!(order = 42_i64, "order placed (native)");
        current_ids()
    });
    let span = span_named("evented-span");
    assert_eq!(span.span.span_id, span_id.to_bytes());
    let event = span.event("order placed (native)").unwrap();
    assert_eq!(attribute_str(&event.attributes, "level"), Some("INFO"));
    assert_eq!(
        otlpkit_testkit::attribute(&event.attributes, "order"),
        Some(&any_value::Value::IntValue(42))
    );
    let log = wait_for("the correlated log", |r| {
        r.logs()
            .into_iter()
            .find(|log| log.body_str() == Some("order placed (native)"))
    });
    assert_eq!(log.record.trace_id, trace_id.to_bytes());
    assert_eq!(log.record.span_id, span_id.to_bytes());
}

// ---------------------------------------------------------------------------
// Propagation.

#[test]
fn propagation_injects_the_native_span_and_extracts_into_one() {
    pipeline();
    let outgoing = tracing::info_span!("propagating-span").in_scope(|| {
        let mut headers = http::HeaderMap::new();
        otlpkit_tracing::propagation::inject_current(&mut headers);
        (headers, current_ids())
    });
    let (headers, (trace_id, span_id)) = outgoing;
    assert_eq!(
        headers["traceparent"].to_str().unwrap(),
        format!("00-{trace_id}-{span_id}-01")
    );

    // An incoming request: extracted, made the parent of a server span.
    let mut incoming = http::HeaderMap::new();
    incoming.insert(
        "traceparent",
        "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
            .parse()
            .unwrap(),
    );
    incoming.insert("tracestate", "vendor=abc".parse().unwrap());
    let server = tracing::info_span!("extracted-server", otel.kind = "server");
    server
        .set_parent(otlpkit_tracing::propagation::extract(&incoming))
        .unwrap();
    server.in_scope(|| {});
    // Too late once entered.
    assert!(server.set_parent(Context::new()).is_err());
    drop(server);
    let received = span_named("extracted-server");
    assert_eq!(
        otlpkit_testkit::hex(&received.span.trace_id),
        "0af7651916cd43dd8448eb211c80319c"
    );
    assert_eq!(
        otlpkit_testkit::hex(&received.span.parent_span_id),
        "b7ad6b7169203331"
    );
    assert_eq!(received.span.trace_state, "vendor=abc");
    // Remote parent (checklist 2.16).
    assert_eq!(received.span.flags, 0x301);
}

// ---------------------------------------------------------------------------
// Configurations of their own, on this thread only.

/// A native layer on this thread, with its own processor to the shared
/// receiver; returns what `body` returned and the processor's handle.
fn with_native<R>(
    configure: impl FnOnce(NativeSpans) -> NativeSpans,
    queue: impl FnOnce(
        otlpkit_batch::BatchProcessorBuilder<Box<SpanRecord>>,
    ) -> otlpkit_batch::BatchProcessorBuilder<Box<SpanRecord>>,
    body: impl FnOnce() -> R,
) -> (R, ProcessorHandle) {
    let pipe = pipeline();
    let native = configure(NativeSpans::new(processor(
        &pipe.receiver,
        &ExportStats::new(),
        queue,
    )));
    let handle = native.handle();
    let dispatch = tracing::Dispatch::new(tracing_subscriber::registry().with(native.layer()));
    let result = tracing::dispatcher::with_default(&dispatch, body);
    assert!(handle.flush_within(WAIT).unwrap().is_complete());
    (result, handle)
}

fn sdk_config(pairs: &[(&str, &str)]) -> SdkConfig {
    let env: MapEnv = pairs.iter().copied().collect();
    SdkConfig::builder().build(&env).unwrap().into_value()
}

#[test]
fn a_trace_id_ratio_decides_as_the_sdk_does_and_children_follow_their_parent() {
    let config = sdk_config(&[
        ("OTEL_TRACES_SAMPLER", "parentbased_traceidratio"),
        ("OTEL_TRACES_SAMPLER_ARG", "0.5"),
    ]);
    let (roots, _) = with_native(
        |n| n.with_sdk_config(&config),
        |b| b,
        || {
            (0..64)
                .map(|_| {
                    tracing::info_span!("ratio-root").in_scope(|| {
                        tracing::info_span!("ratio-child").in_scope(|| {});
                        current_ids().0
                    })
                })
                .collect::<Vec<TraceId>>()
        },
    );
    // The SDK's own algorithm on the same trace ids.
    let sdk = Sampler::TraceIdRatioBased(0.5);
    let expected: Vec<TraceId> = roots
        .iter()
        .copied()
        .filter(|trace_id| {
            let kind = opentelemetry::trace::SpanKind::Internal;
            sdk.should_sample(None, *trace_id, "", &kind, &[], &[])
                .decision
                == opentelemetry_sdk::trace::SamplingDecision::RecordAndSample
        })
        .collect();
    assert!(
        !expected.is_empty() && expected.len() < roots.len(),
        "{expected:?}"
    );
    let receiver = &pipeline().receiver;
    for trace_id in &roots {
        let tree = receiver.span_tree(trace_id.to_bytes());
        if expected.contains(trace_id) {
            assert_eq!(tree.outline(), "ratio-root\n  ratio-child\n", "{tree}");
        } else {
            assert_eq!(tree.len(), 0, "{tree}");
        }
    }
}

#[test]
fn a_remote_parent_decides_for_a_parent_based_sampler() {
    let trace_in = 0x00aa_u128 << 64 | 1;
    let trace_out = 0x00bb_u128 << 64 | 2;
    with_native(
        |n| n.with_sampler(Sampler::ParentBased(Box::new(Sampler::AlwaysOn))),
        |b| b,
        || {
            let _in = remote_parent(trace_in, true).attach();
            tracing::info_span!("remote-sampled-child").in_scope(|| {});
            drop(_in);
            let _out = remote_parent(trace_out, false).attach();
            tracing::info_span!("remote-unsampled-child").in_scope(|| {
                // The decision travels on: propagated unsampled.
                let mut headers = http::HeaderMap::new();
                otlpkit_tracing::propagation::inject_current(&mut headers);
                assert!(headers["traceparent"].to_str().unwrap().ends_with("-00"));
            });
        },
    );
    let kept = span_named("remote-sampled-child");
    assert_eq!(kept.span.trace_id, TraceId::from(trace_in).to_bytes());
    assert_eq!(kept.span.flags, 0x301);
    assert!(pipeline().receiver.span("remote-unsampled-child").is_none());
}

#[test]
fn a_disabled_sdk_records_nothing() {
    let config = sdk_config(&[("OTEL_SDK_DISABLED", "true")]);
    let (ids, handle) = with_native(
        |n| n.with_sdk_config(&config),
        |b| b,
        || {
            tracing::info_span!("disabled-span").in_scope(|| {
                // No context either: nothing is made current.
                current_ids()
            })
        },
    );
    assert_eq!(ids.0, TraceId::INVALID);
    // Control: the same layer enabled records it.
    with_native(
        |n| n,
        |b| b,
        || tracing::info_span!("enabled-span").in_scope(|| {}),
    );
    span_named("enabled-span");
    assert!(pipeline().receiver.span("disabled-span").is_none());
    assert_eq!(handle.stats().received(), 0);
}

#[test]
fn limits_apply_to_attributes_values_events_and_links() {
    let config = sdk_config(&[
        ("OTEL_SPAN_ATTRIBUTE_COUNT_LIMIT", "4"),
        ("OTEL_SPAN_ATTRIBUTE_VALUE_LENGTH_LIMIT", "3"),
        ("OTEL_SPAN_EVENT_COUNT_LIMIT", "2"),
        ("OTEL_EVENT_ATTRIBUTE_COUNT_LIMIT", "1"),
        ("OTEL_SPAN_LINK_COUNT_LIMIT", "1"),
    ]);
    with_native(
        |n| n.with_sdk_config(&config).lean(),
        |b| b,
        || {
            let cause = tracing::info_span!("limit-cause");
            let other = tracing::info_span!("limit-other");
            let span = tracing::info_span!(
                "limited-span",
                word = "héllo",
                short = "ab",
                number = 123_456_i64,
                fourth = true,
                fifth = 5_i64,
                sixth = 6_i64,
            );
            span.follows_from(&cause);
            span.follows_from(&other);
            span.in_scope(|| {
                tracing::info!(a = 1, b = 2, "first");
                tracing::info!("second");
                tracing::info!("third");
            });
        },
    );
    let span = span_named("limited-span");
    let keys: Vec<&str> = span
        .span
        .attributes
        .iter()
        .map(|kv| kv.key.as_str())
        .collect();
    assert_eq!(keys, ["word", "short", "number", "fourth"]);
    assert_eq!(span.span.dropped_attributes_count, 2);
    assert_eq!(span.attribute_str("word"), Some("hél"));
    assert_eq!(span.attribute_str("short"), Some("ab"));
    assert_eq!(span.span.events.len(), 2);
    assert_eq!(span.span.dropped_events_count, 1);
    // Each event keeps one attribute (`level` comes first) and counts the rest.
    assert_eq!(span.span.events[0].attributes.len(), 1);
    assert_eq!(span.span.events[0].dropped_attributes_count, 3);
    assert_eq!(span.span.links.len(), 1);
    assert_eq!(span.span.dropped_links_count, 1);
}

#[test]
fn every_span_is_delivered_or_counted_as_dropped() {
    // A 16-span queue that drops the newest: a burst overflows it.
    let (_, handle) = with_native(
        |n| n.lean(),
        |b| {
            b.with_max_queue_size(16)
                .with_max_export_batch_size(8)
                .with_overflow_policy(OverflowPolicy::DropNewest)
        },
        || {
            for _ in 0..2000 {
                tracing::info_span!("accounted-span").in_scope(|| {});
            }
            // Unsampled spans are never handed over, so never counted.
            let unsampled = Context::new().with_remote_span_context(SpanContext::new(
                TraceId::from(5_u128),
                SpanId::from(5_u64),
                TraceFlags::default(),
                true,
                TraceState::default(),
            ));
            let _guard = unsampled.attach();
            tracing::info_span!("accounted-unsampled").in_scope(|| {});
        },
    );
    // The layer (and its processor) went with the dispatcher: shut down.
    assert!(handle.is_shut_down());
    let totals = handle.stats();
    assert_eq!(totals.received(), 2000, "{totals}");
    assert!(totals.dropped(DropReason::QueueFull) > 0, "{totals}");
    assert_eq!(
        totals.exported() + totals.dropped_total(),
        totals.received(),
        "{totals}"
    );
    let delivered = wait_for("the accounted spans", |r| {
        let n = r.spans_named("accounted-span").len() as u64;
        (n == totals.exported()).then_some(n)
    });
    assert_eq!(delivered + totals.dropped(DropReason::QueueFull), 2000);
}

#[test]
fn exceptions_recorded_through_span_ext_and_the_api_coexist() {
    pipeline();
    let span = tracing::info_span!("span-ext-span");
    span.set_attribute("set.later", 5_i64);
    span.add_event("custom-event", vec![KeyValue::new("k", "v")]);
    span.in_scope(|| Exception::new("Rejected", "no credit").record_on_current());
    drop(span);
    let received = span_named("span-ext-span");
    assert_eq!(
        received.attribute("set.later"),
        Some(&any_value::Value::IntValue(5))
    );
    assert!(received.event("custom-event").is_some());
    let exception = received.event("exception").unwrap();
    assert_eq!(
        attribute_str(&exception.attributes, "exception.type"),
        Some("Rejected")
    );
    assert_eq!(received.status_code(), status::StatusCode::Error);
}

#[test]
fn ids_come_from_the_configured_generator() {
    // The default generator is random: two roots never share a trace.
    let ((a, b), _) = with_native(
        |n| n.with_id_generator(RandomIdGenerator::default()),
        |b| b,
        || {
            (
                tracing::info_span!("id-a").in_scope(current_ids),
                tracing::info_span!("id-b").in_scope(current_ids),
            )
        },
    );
    assert_ne!(a.0, b.0);
    assert_ne!(a.1, b.1);
    assert_eq!(span_named("id-a").span.span_id, a.1.to_bytes());
}

use tracing::field::Empty;

// ---------------------------------------------------------------------------
// Records used again.

/// Exports records through otlpkit's gRPC exporter and gives them back to
/// `pool` once encoded, as `otlpkit::init()` does.
struct PooledExporter {
    exporter: otlpkit_grpc::SpanExporter,
    pool: std::sync::Arc<otlpkit_wire::SpanRecordPool>,
}

impl otlpkit_batch::BatchExporter<Box<SpanRecord>> for PooledExporter {
    fn export(
        &self,
        batch: Vec<Box<SpanRecord>>,
    ) -> impl std::future::Future<Output = opentelemetry_sdk::error::OTelSdkResult> + Send {
        self.exporter
            .export_records(otlpkit_wire::PooledRecords::new(
                batch,
                std::sync::Arc::clone(&self.pool),
            ))
    }
}

/// The exporter gives each record back to the layer's pool once encoded,
/// the layer takes them again, and a record used again carries nothing of
/// the span it held before: kind, status, events, links, fields, parent and
/// trace state all start afresh.
#[test]
fn records_come_back_to_the_pool_and_carry_nothing_over() {
    let pipe = pipeline();
    let pool = std::sync::Arc::new(otlpkit_wire::SpanRecordPool::new(64));
    let exporter = otlpkit_grpc::SpanExporter::builder()
        .with_endpoint(pipe.receiver.grpc_endpoint())
        .build()
        .unwrap();
    let processor = BatchProcessor::builder(PooledExporter {
        exporter,
        pool: std::sync::Arc::clone(&pool),
    })
    .build_with_env(&MapEnv::new())
    .unwrap();
    let native = NativeSpans::new(processor).with_record_pool(std::sync::Arc::clone(&pool));
    let handle = native.handle();
    let dispatch = tracing::Dispatch::new(tracing_subscriber::registry().with(native.layer()));
    let spans = 20;
    let remote = Context::new().with_remote_span_context(SpanContext::new(
        TraceId::from(0x9001_u128),
        SpanId::from(7_u64),
        TraceFlags::SAMPLED,
        true,
        TraceState::from_key_value([("pool", "1")]).unwrap(),
    ));
    tracing::dispatcher::with_default(&dispatch, || {
        let anchor = tracing::info_span!("pool-anchor");
        for n in 0..spans {
            let span = tracing::info_span!(
                "pool-full",
                otel.kind = "server",
                order = n,
                text = "a value longer than the inline capacity of a record"
            );
            span.set_parent(remote.clone()).unwrap();
            span.follows_from(&anchor);
            span.in_scope(|| tracing::error!(attempt = n, "failed"));
        }
    });
    assert!(handle.flush_within(WAIT).unwrap().is_complete());
    // Every record came back: the anchor's and the twenty spans'.
    assert_eq!(pool.len(), spans + 1);

    tracing::dispatcher::with_default(&dispatch, || {
        for _ in 0..spans {
            tracing::info_span!("pool-plain").in_scope(|| {});
        }
    });
    assert!(handle.flush_within(WAIT).unwrap().is_complete());
    // The plain spans took records from the pool rather than new ones.
    assert_eq!(pool.len(), spans + 1);
    assert_eq!(handle.stats().exported(), 2 * spans as u64 + 1);

    let full = wait_for("the full spans", |r| {
        let found = r.spans_named("pool-full");
        (found.len() == spans).then_some(found)
    });
    for span in &full {
        assert_eq!(span.span.kind, span::SpanKind::Server as i32);
        assert_eq!(
            span.span.status.as_ref().map(|status| status.code),
            Some(status::StatusCode::Error as i32)
        );
        assert_eq!(span.span.events.len(), 1);
        assert_eq!(span.span.links.len(), 1);
        assert!(!span.span.parent_span_id.is_empty());
        assert_eq!(span.span.trace_state, "pool=1");
        assert!(span.attribute("order").is_some());
    }
    let plain = wait_for("the plain spans", |r| {
        let found = r.spans_named("pool-plain");
        (found.len() == spans).then_some(found)
    });
    for span in &plain {
        let s = &span.span;
        assert_eq!(s.kind, span::SpanKind::Internal as i32, "{s:?}");
        assert!(
            s.status.as_ref().is_none_or(|status| status.code == 0),
            "{s:?}"
        );
        assert!(s.events.is_empty() && s.links.is_empty(), "{s:?}");
        assert!(s.parent_span_id.is_empty(), "{s:?}");
        assert!(s.trace_state.is_empty(), "{s:?}");
        assert_eq!(s.dropped_attributes_count, 0, "{s:?}");
        for key in ["order", "text", "attempt"] {
            assert!(span.attribute(key).is_none(), "{key} in {s:?}");
        }
        assert!(span.attribute("busy_ns").is_some(), "{s:?}");
    }
}

/// Records of traces the tail-sampling stage samples out go back to the
/// layer's pool, as those the head sampler samples out do, whether the
/// pool is given before or after the stage: ten traces of two spans each,
/// all sampled out, allocate two records in all.
#[cfg(feature = "tail-sampling")]
#[test]
fn records_the_tail_stage_samples_out_come_back_to_the_pool() {
    let pipe = pipeline();
    let pool = std::sync::Arc::new(otlpkit_wire::SpanRecordPool::new(64));
    let exporter = otlpkit_grpc::SpanExporter::builder()
        .with_endpoint(pipe.receiver.grpc_endpoint())
        .build()
        .unwrap();
    let processor = BatchProcessor::builder(PooledExporter {
        exporter,
        pool: std::sync::Arc::clone(&pool),
    })
    // The processor's own counters: the stage counts into them too.
    .build_with_env(&MapEnv::new())
    .unwrap();
    let config = otlpkit_core::TailSamplingConfig::builder()
        .with_ratio(0.0)
        .build(&MapEnv::new())
        .unwrap()
        .into_value();
    let native = NativeSpans::new(processor)
        .with_tail_sampling(config, Vec::new())
        .with_record_pool(std::sync::Arc::clone(&pool));
    let handle = native.handle();
    let tail = native.tail_handle().unwrap();
    let dispatch = tracing::Dispatch::new(tracing_subscriber::registry().with(native.layer()));
    let traces = 10;
    tracing::dispatcher::with_default(&dispatch, || {
        for _ in 0..traces {
            tracing::info_span!("tail-out-root")
                .in_scope(|| tracing::info_span!("tail-out-child").in_scope(|| {}));
        }
    });
    // Each trace was decided when its root ended: both records came back,
    // and the next trace took them again.
    assert_eq!(pool.len(), 2);
    let decided = tail.shutdown_within(WAIT);
    assert_eq!(decided.sampled_out, 2 * traces);
    assert!(handle.shutdown_within(WAIT).unwrap().is_complete());
    let counted = handle.stats();
    assert_eq!(counted.sampled_out(), 2 * traces);
    assert_eq!(counted.exported(), 0);
    assert_eq!(counted.dropped_total(), 0);
}
