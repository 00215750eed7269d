//! Parent/child links across every boundary the bridge covers, checked as the
//! testkit receiver saw them on the wire.
//!
//! One pipeline serves the whole binary: `tracing` with the
//! `tracing-opentelemetry` layer (installed globally, as an application
//! would), an `opentelemetry_sdk` tracer provider with a batch processor and
//! the official OTLP/HTTP exporter, and an `otlpkit_testkit::Receiver`. Each
//! test runs its workload inside its own root span, so it owns one trace, and
//! asserts on the tree the receiver rebuilt for that trace. Each test also
//! runs a control (the same hop through the plain std/tokio API) whose span
//! must *not* land in the trace, so the assertions can fail.
//!
//! The pipeline is built before any tokio runtime exists in the test (the
//! blocking HTTP client of the exporter must not be created inside one).

use std::sync::OnceLock;
use std::time::{Duration, Instant};

use futures_util::StreamExt as _;
use opentelemetry::trace::{TraceContextExt as _, Tracer as _, TracerProvider as _};
use opentelemetry::{Context, trace::mark_span_as_active};
use opentelemetry_otlp::WithExportConfig as _;
use opentelemetry_sdk::trace::{SdkTracer, SdkTracerProvider};
use otlpkit_bridge::{Captured, FutureContextExt as _, StreamContextExt as _};
use otlpkit_testkit::{Receiver, Signal, SpanTree};
use tracing_subscriber::layer::SubscriberExt as _;

const WAIT: Duration = Duration::from_secs(20);

struct Pipeline {
    receiver: Receiver,
    provider: SdkTracerProvider,
    tracer: SdkTracer,
}

fn pipeline() -> &'static Pipeline {
    static PIPELINE: OnceLock<Pipeline> = OnceLock::new();
    PIPELINE.get_or_init(|| {
        let receiver = Receiver::start().unwrap();
        let exporter = opentelemetry_otlp::SpanExporter::builder()
            .with_http()
            .with_endpoint(receiver.http_url(Signal::Traces))
            .with_timeout(Duration::from_secs(10))
            .build()
            .unwrap();
        let provider = SdkTracerProvider::builder()
            .with_batch_exporter(exporter)
            .build();
        let tracer = provider.tracer("otlpkit-bridge-tests");
        let subscriber = tracing_subscriber::registry()
            .with(tracing_opentelemetry::layer().with_tracer(tracer.clone()));
        tracing::subscriber::set_global_default(subscriber).unwrap();
        Pipeline {
            receiver,
            provider,
            tracer,
        }
    })
}

/// Runs `body` inside a root span named `root`, then waits until the receiver
/// holds `expected` spans of that trace (root included) and returns the tree.
fn traced(root: &'static str, expected: usize, body: impl FnOnce()) -> SpanTree {
    let pipe = pipeline();
    let span = tracing::info_span!("root", otel.name = root);
    let trace_id = span.in_scope(|| {
        let trace_id = Context::map_current(|cx| cx.span().span_context().trace_id());
        body();
        trace_id
    });
    drop(span);
    let deadline = Instant::now() + WAIT;
    loop {
        pipe.provider.force_flush().unwrap();
        let tree = pipe.receiver.span_tree(trace_id.to_bytes());
        if tree.len() >= expected || Instant::now() >= deadline {
            return tree;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// A `tracing` span with one OpenTelemetry-API span inside it, both children of
/// whatever is current.
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

#[test]
fn tokio_spawn_and_spawn_blocking_keep_the_parent() {
    pipeline();
    let runtime = multi_thread_runtime();
    let tree = traced("root-tokio", 5, || {
        runtime.block_on(async {
            otlpkit_bridge::spawn(async { work("task") }).await.unwrap();
            otlpkit_bridge::spawn_blocking(|| work("blocking"))
                .await
                .unwrap();
            // Control: the plain tokio API loses the context.
            tokio::task::spawn_blocking(|| work("bare-blocking"))
                .await
                .unwrap();
        });
    });
    assert_eq!(
        tree.outline(),
        "root-tokio\n  task\n    task/otel\n  blocking\n    blocking/otel\n",
        "{tree}"
    );
}

#[test]
fn std_threads_and_scoped_threads_keep_the_parent() {
    let tree = traced("root-threads", 7, || {
        otlpkit_bridge::thread::spawn(|| work("thread"))
            .join()
            .unwrap();
        otlpkit_bridge::thread::scope(|s| {
            s.spawn(|| work("scoped")).join().unwrap();
            // A scoped thread that spawns again through a clone of the scope.
            let nested = s.clone();
            s.spawn(move || nested.spawn(|| work("nested")).join().unwrap())
                .join()
                .unwrap();
        });
        // Control.
        std::thread::spawn(|| work("bare-thread")).join().unwrap();
    });
    assert_eq!(
        tree.outline(),
        "root-threads\n  thread\n    thread/otel\n  scoped\n    scoped/otel\n  nested\n    nested/otel\n",
        "{tree}"
    );
}

#[test]
fn futures_on_another_executor_keep_the_parent() {
    pipeline();
    let runtime = current_thread_runtime();
    let tree = traced("root-futures", 5, || {
        // Created under the root, run later on a runtime entered outside it.
        let carried = async { work("future") }.in_current_context();
        let captured = Captured::current();
        let explicit = async { work("with-captured") };
        let bare = async { work("bare-future") };
        std::thread::spawn(move || {
            runtime.block_on(async {
                tokio::spawn(carried).await.unwrap();
                tokio::spawn(explicit.with_captured(captured))
                    .await
                    .unwrap();
                tokio::spawn(bare).await.unwrap();
            });
        })
        .join()
        .unwrap();
    });
    assert_eq!(
        tree.outline(),
        "root-futures\n  future\n    future/otel\n  with-captured\n    with-captured/otel\n",
        "{tree}"
    );
}

#[test]
fn streams_keep_the_parent_and_can_make_one_span_per_item() {
    pipeline();
    let runtime = current_thread_runtime();
    let tree = traced("root-streams", 14, || {
        let carried = futures_util::stream::iter(["a", "b"])
            .map(|_| work("stream-poll"))
            .in_current_context();
        let per_item = futures_util::stream::iter(1..=3_u32)
            .map(|n| {
                work("produce");
                n
            })
            .with_item_spans(|index| tracing::info_span!("item", otel.name = "item", index));
        let bare = futures_util::stream::iter([1]).map(|_| work("bare-stream"));
        let items = std::thread::spawn(move || {
            runtime.block_on(async {
                let polled = tokio::spawn(carried.collect::<Vec<()>>()).await.unwrap();
                let items = tokio::spawn(per_item.collect::<Vec<u32>>()).await.unwrap();
                tokio::spawn(bare.collect::<Vec<()>>()).await.unwrap();
                (polled.len(), items)
            })
        })
        .join()
        .unwrap();
        assert_eq!(items, (2, vec![1, 2, 3]));
    });
    // Per-item spans: one per item and none for the end of this stream, whose
    // size hint announced it.
    let root = &tree.roots()[0];
    assert_eq!(root.name(), "root-streams", "{tree}");
    assert_eq!(
        root.child_names(),
        ["stream-poll", "stream-poll", "item", "item", "item"],
        "{tree}"
    );
    for item in root.children.iter().filter(|c| c.name() == "item") {
        assert_eq!(item.child_names(), ["produce"], "{tree}");
    }
    assert!(tree.find("bare-stream").is_none(), "{tree}");
}

#[test]
fn block_on_keeps_the_parent_everywhere() {
    pipeline();
    async fn child(name: &'static str) {
        tokio::time::sleep(Duration::from_millis(2)).await;
        work(name);
    }
    let multi = multi_thread_runtime();
    let current = current_thread_runtime();
    let tree = traced("root-block-on", 9, || {
        otlpkit_bridge::block_on(child("plain")).unwrap();
        multi.block_on(async {
            otlpkit_bridge::block_on(child("multi-main")).unwrap();
            // Inside a worker thread: a task carrying the root.
            otlpkit_bridge::spawn(async {
                otlpkit_bridge::block_on(child("multi-worker")).unwrap()
            })
            .await
            .unwrap();
        });
        current.block_on(async {
            otlpkit_bridge::block_on(child("current-thread")).unwrap();
        });
    });
    assert_eq!(
        tree.outline(),
        "root-block-on\n  plain\n    plain/otel\n  multi-main\n    multi-main/otel\n  multi-worker\n    multi-worker/otel\n  current-thread\n    current-thread/otel\n",
        "{tree}"
    );
}

#[test]
fn an_opentelemetry_span_made_current_inside_a_tracing_span_stays_the_parent() {
    pipeline();
    let tree = traced("root-mixed", 4, || {
        let otel_span = pipeline().tracer.start("otel-parent");
        let _active = mark_span_as_active(otel_span);
        otlpkit_bridge::thread::spawn(|| work("under-otel"))
            .join()
            .unwrap();
    });
    assert_eq!(
        tree.outline(),
        "root-mixed\n  otel-parent\n    under-otel\n      under-otel/otel\n",
        "{tree}"
    );
}

#[cfg(feature = "rayon")]
#[test]
fn rayon_keeps_the_parent() {
    use rayon::prelude::*;

    let tree = traced("root-rayon", 13, || {
        otlpkit_bridge::rayon::join(|| work("join-a"), || work("join-b"));
        otlpkit_bridge::rayon::scope(|s| {
            s.spawn(|s| {
                work("scope-task");
                s.spawn(|_| work("scope-nested"));
            });
        });
        let (done_tx, done_rx) = std::sync::mpsc::channel();
        otlpkit_bridge::rayon::spawn(move || {
            work("spawned");
            done_tx.send(()).unwrap();
        });
        done_rx.recv_timeout(WAIT).unwrap();
        let captured = Captured::current();
        let sum: u32 = (0..1_u32)
            .into_par_iter()
            .map(captured.wrap_fn(|n| {
                work("par-iter");
                n + 1
            }))
            .sum();
        assert_eq!(sum, 1);
        // Control.
        rayon::join(|| work("bare-rayon"), || ());
    });
    let root = &tree.roots()[0];
    let mut children = root.child_names();
    children.sort_unstable();
    assert_eq!(
        children,
        [
            "join-a",
            "join-b",
            "par-iter",
            "scope-nested",
            "scope-task",
            "spawned"
        ],
        "{tree}"
    );
    for child in &root.children {
        assert_eq!(child.children.len(), 1, "{tree}");
    }
}
