//! Spans made through `tracing` macros, recorded by the stacks under
//! comparison: the registry alone, the official stack
//! (`tracing-opentelemetry` + the SDK's `BatchSpanProcessor` +
//! `opentelemetry-otlp` gRPC), `tracing-opentelemetry` with otlpkit's engine
//! and exporter (`otlpkit::init()` today), and otlpkit's native layer.
//!
//! Every stack gets the same global filter, which keeps the network stack's
//! own spans (h2, hyper, tonic, tower) out, as the official examples do;
//! without it the official stack exports its own exporter's spans.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use opentelemetry::trace::TracerProvider as _;
use opentelemetry_otlp::WithExportConfig as _;
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::trace::{BatchConfigBuilder, SdkTracerProvider};
use otlpkit_batch::{BatchProcessor, BatchSpanProcessor, ProcessorHandle};
use otlpkit_bridge::WorkerRuntime;
use otlpkit_core::OverflowPolicy;
use otlpkit_core::stats::ExportStats;
use otlpkit_testkit::Receiver;
use otlpkit_tracing::native::NativeSpans;

use crate::NullExporter;
use tracing::Dispatch;
use tracing::level_filters::LevelFilter;
use tracing_subscriber::filter::Targets;
use tracing_subscriber::layer::SubscriberExt as _;

/// Which stack records the spans.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stack {
    /// `tracing_subscriber::registry()` alone: the floor.
    Registry,
    /// `tracing-opentelemetry` + the SDK's `BatchSpanProcessor` +
    /// `opentelemetry-otlp` over gRPC.
    Official,
    /// `tracing-opentelemetry` + otlpkit's `BatchSpanProcessor` +
    /// `otlpkit-grpc` on one worker: what `otlpkit::init()` builds today.
    OtlpkitOtel,
    /// otlpkit's native layer + `BatchProcessor<Box<SpanRecord>>` +
    /// `otlpkit-grpc` (through `SpanDataExporter`) on one worker.
    Native,
    /// The native layer without the `code.*`, `thread.*`, `target` and
    /// timing attributes.
    NativeLean,
    /// The lean native layer without context activation (OpenTelemetry-API
    /// code does not see its spans): what activation costs. Not in
    /// [`Stack::ALL`].
    NativeBare,
    /// [`FloorLayer`](crate::floor_layer::FloorLayer): the least a layer
    /// can do and still make an OTLP span, exporting nothing. Not in
    /// [`Stack::ALL`].
    Floor,
}

impl Stack {
    /// Every stack, in table order.
    pub const ALL: [Stack; 5] = [
        Stack::Registry,
        Stack::Official,
        Stack::OtlpkitOtel,
        Stack::Native,
        Stack::NativeLean,
    ];

    /// A short label for tables and benchmark ids.
    pub fn label(self) -> &'static str {
        match self {
            Stack::Registry => "registry alone",
            Stack::Official => "official: tracing-opentelemetry + BSP + otlp-grpc",
            Stack::OtlpkitOtel => "tracing-opentelemetry + otlpkit",
            Stack::Native => "otlpkit native",
            Stack::NativeLean => "otlpkit native, lean",
            Stack::NativeBare => "otlpkit native, lean, no context activation",
            Stack::Floor => "floor layer: ids, parent, start and end clock, fields",
        }
    }
}

impl fmt::Display for Stack {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.label())
    }
}

/// What a stack's queue does when full.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Queue {
    /// Default sizes (2048, batch 512), drop the newest: the producer never
    /// waits, as in the hot-path measurement.
    Default,
    /// Nothing dropped: otlpkit blocks the producer; the official queue is
    /// made large enough to hold this many spans.
    Lossless(usize),
}

/// A built stack: the dispatcher to record with, and what flushes it.
pub struct TracingPipeline {
    /// The stack.
    pub stack: Stack,
    /// The subscriber, to install with `tracing::dispatcher::with_default`.
    pub dispatch: Dispatch,
    /// The SDK provider (the `tracing-opentelemetry` stacks).
    provider: Option<SdkTracerProvider>,
    /// otlpkit's processor handle (otlpkit stacks).
    pub handle: Option<ProcessorHandle>,
    /// The counters otlpkit's engine and exporter record into.
    pub stats: ExportStats,
    /// Keeps the official tonic exporter's runtime alive.
    runtime: Option<tokio::runtime::Runtime>,
}

impl fmt::Debug for TracingPipeline {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TracingPipeline")
            .field("stack", &self.stack)
            .finish_non_exhaustive()
    }
}

fn resource() -> Resource {
    Resource::builder()
        .with_service_name("otlpkit-bench")
        .build()
}

/// The network stack's targets, kept out of every stack.
fn filter() -> Targets {
    Targets::new()
        .with_default(LevelFilter::TRACE)
        .with_target("h2", LevelFilter::OFF)
        .with_target("hyper", LevelFilter::OFF)
        .with_target("hyper_util", LevelFilter::OFF)
        .with_target("tonic", LevelFilter::OFF)
        .with_target("tower", LevelFilter::OFF)
        .with_target("otlpkit_grpc", LevelFilter::OFF)
        .with_target("opentelemetry_sdk", LevelFilter::OFF)
        .with_target("opentelemetry-otlp", LevelFilter::OFF)
}

fn otlpkit_exporter(
    receiver: &Receiver,
    worker: &WorkerRuntime,
    stats: &ExportStats,
) -> otlpkit_grpc::SpanExporter {
    otlpkit_grpc::SpanExporter::builder()
        .with_endpoint(receiver.grpc_endpoint())
        .with_worker(worker.clone())
        .with_stats(stats.clone())
        .build()
        .expect("otlpkit's gRPC exporter")
}

fn policy(queue: Queue) -> OverflowPolicy {
    match queue {
        Queue::Default => OverflowPolicy::DropNewest,
        Queue::Lossless(_) => OverflowPolicy::Block {
            timeout: Duration::from_secs(60),
        },
    }
}

/// Discards every batch of records: the native stack's counterpart of
/// [`NullExporter`].
#[derive(Debug, Clone)]
pub struct NullRecordExporter(pub Arc<otlpkit_wire::SpanRecordPool>);

impl otlpkit_batch::BatchExporter<Box<otlpkit_wire::SpanRecord>> for NullRecordExporter {
    async fn export(
        &self,
        batch: Vec<Box<otlpkit_wire::SpanRecord>>,
    ) -> opentelemetry_sdk::error::OTelSdkResult {
        // As `init()`'s exporter does once it has encoded a batch.
        self.0.give_back_all(batch);
        Ok(())
    }
}

/// The native stack's exporter, as `otlpkit::init()` builds it: otlpkit's
/// gRPC span exporter sending the records straight to OTLP, and giving them
/// back to the layer's pool once encoded.
#[derive(Debug)]
pub struct RecordExporter(
    otlpkit_grpc::SpanExporter,
    Arc<otlpkit_wire::SpanRecordPool>,
);

impl otlpkit_batch::BatchExporter<Box<otlpkit_wire::SpanRecord>> for RecordExporter {
    fn export(
        &self,
        batch: Vec<Box<otlpkit_wire::SpanRecord>>,
    ) -> impl std::future::Future<Output = opentelemetry_sdk::error::OTelSdkResult> + Send {
        self.0
            .export_records(otlpkit_wire::PooledRecords::new(batch, Arc::clone(&self.1)))
    }

    fn shutdown_with_timeout(&self, timeout: Duration) -> opentelemetry_sdk::error::OTelSdkResult {
        opentelemetry_sdk::trace::SpanExporter::shutdown_with_timeout(&self.0, timeout)
    }

    fn set_resource(&mut self, resource: &Resource) {
        opentelemetry_sdk::trace::SpanExporter::set_resource(&mut self.0, resource);
    }
}

impl TracingPipeline {
    /// Builds `stack`, exporting over gRPC to `receiver`, or discarding
    /// every batch without one (the producer's cost alone: the export
    /// worker then takes almost no CPU from the producers).
    pub fn build(stack: Stack, queue: Queue, receiver: Option<&Receiver>) -> TracingPipeline {
        let stats = ExportStats::new();
        let mut pipeline = TracingPipeline {
            stack,
            dispatch: Dispatch::none(),
            provider: None,
            handle: None,
            stats: stats.clone(),
            runtime: None,
        };
        let registry = tracing_subscriber::registry();
        pipeline.dispatch = match stack {
            Stack::Registry => Dispatch::new(registry.with(filter())),
            Stack::Floor => {
                Dispatch::new(registry.with(crate::floor_layer::FloorLayer).with(filter()))
            }
            Stack::Official => {
                let runtime = tokio::runtime::Builder::new_multi_thread()
                    .worker_threads(1)
                    .thread_name("official-tonic")
                    .enable_all()
                    .build()
                    .expect("a runtime for the official exporter");
                let mut config = BatchConfigBuilder::default();
                if let Queue::Lossless(n) = queue {
                    config = config.with_max_queue_size(n.max(2048));
                }
                let config = config.build();
                let processor = match receiver {
                    Some(receiver) => {
                        let exporter = {
                            let _entered = runtime.enter();
                            opentelemetry_otlp::SpanExporter::builder()
                                .with_tonic()
                                .with_endpoint(receiver.grpc_endpoint())
                                .build()
                                .expect("the official gRPC exporter")
                        };
                        opentelemetry_sdk::trace::BatchSpanProcessor::builder(exporter)
                            .with_batch_config(config)
                            .build()
                    }
                    None => opentelemetry_sdk::trace::BatchSpanProcessor::builder(NullExporter)
                        .with_batch_config(config)
                        .build(),
                };
                let provider = SdkTracerProvider::builder()
                    .with_resource(resource())
                    .with_span_processor(processor)
                    .build();
                let tracer = provider.tracer("otlpkit-bench");
                pipeline.provider = Some(provider);
                pipeline.runtime = Some(runtime);
                Dispatch::new(
                    registry
                        .with(tracing_opentelemetry::layer().with_tracer(tracer))
                        .with(filter()),
                )
            }
            Stack::OtlpkitOtel => {
                let worker = WorkerRuntime::start("otlpkit-bench").expect("a worker");
                let builder = match receiver {
                    Some(receiver) => {
                        BatchSpanProcessor::builder(otlpkit_exporter(receiver, &worker, &stats))
                    }
                    None => BatchSpanProcessor::builder(NullExporter),
                };
                let processor = builder
                    .with_worker_runtime(worker)
                    .with_stats(stats.clone())
                    .with_overflow_policy(policy(queue))
                    .build()
                    .expect("otlpkit's processor");
                pipeline.handle = Some(processor.handle());
                let provider = SdkTracerProvider::builder()
                    .with_resource(resource())
                    .with_span_processor(processor)
                    .build();
                let tracer = provider.tracer("otlpkit-bench");
                pipeline.provider = Some(provider);
                Dispatch::new(
                    registry
                        .with(tracing_opentelemetry::layer().with_tracer(tracer))
                        .with(filter()),
                )
            }
            Stack::Native | Stack::NativeLean | Stack::NativeBare => {
                let worker = WorkerRuntime::start("otlpkit-bench").expect("a worker");
                let pool = Arc::new(otlpkit_wire::SpanRecordPool::new(1024));
                let builder = match receiver {
                    Some(receiver) => BatchProcessor::builder(RecordExporter(
                        otlpkit_exporter(receiver, &worker, &stats),
                        Arc::clone(&pool),
                    )),
                    None => BatchProcessor::builder(NullRecordExporter(Arc::clone(&pool))),
                };
                let processor = builder
                    .with_worker_runtime(worker)
                    .with_stats(stats.clone())
                    .with_overflow_policy(policy(queue))
                    .build()
                    .expect("otlpkit's processor");
                let mut native = NativeSpans::new(processor)
                    .with_record_pool(pool)
                    .with_resource(&resource());
                if stack != Stack::Native {
                    native = native.lean();
                }
                if stack == Stack::NativeBare {
                    native = native.with_context_activation(false);
                }
                pipeline.handle = Some(native.handle());
                Dispatch::new(registry.with(native.layer()).with(filter()))
            }
        };
        pipeline
    }

    /// Exports everything ended so far.
    pub fn flush(&self) {
        if let Some(handle) = &self.handle {
            let _ = handle.flush_within(Duration::from_secs(60));
        } else if let Some(provider) = &self.provider {
            let _ = provider.force_flush();
        }
    }
}

impl Drop for TracingPipeline {
    fn drop(&mut self) {
        if let Some(handle) = &self.handle {
            let _ = handle.shutdown_within(Duration::from_secs(1));
        }
        if let Some(provider) = self.provider.take() {
            let _ = provider.shutdown_with_timeout(Duration::from_secs(1));
        }
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_timeout(Duration::from_secs(1));
        }
    }
}

/// Spans per tree: a root and nine children.
pub const SPANS_PER_TREE: u64 = 10;

/// One tree through `tracing` macros: a root and nine children, each with
/// three fields, entered and closed.
#[inline]
pub fn tree_3_fields(i: u64) {
    let root = tracing::info_span!(
        "root",
        http.request.method = "GET",
        http.response.status_code = 200,
        bench.index = i
    );
    let _root = root.enter();
    for child in 0..SPANS_PER_TREE - 1 {
        tracing::info_span!(
            "child",
            http.request.method = "GET",
            http.response.status_code = 200,
            bench.index = child
        )
        .in_scope(|| {});
    }
}

/// The same tree with ten fields per span and one event in each.
#[inline]
pub fn tree_10_fields_event(i: u64) {
    macro_rules! span10 {
        ($name:literal, $index:expr) => {
            tracing::info_span!(
                $name,
                http.request.method = "GET",
                http.response.status_code = 200,
                bench.index = $index,
                url.path = "/api/v1/orders",
                user.id = 4242_i64,
                cache.hit = true,
                db.system = "postgresql",
                db.rows = 17_i64,
                ratio = 0.25,
                region = "eu-west-1"
            )
        };
    }
    let root = span10!("root", i);
    let _root = root.enter();
    tracing::info!(answer = 42_i64, "handled");
    for child in 0..SPANS_PER_TREE - 1 {
        span10!("child", child).in_scope(|| tracing::info!(answer = 42_i64, "handled"));
    }
}

/// The same trees made through the OpenTelemetry API, on otlpkit's
/// `BatchSpanProcessor` and gRPC exporter sharing one worker.
#[derive(Debug)]
pub struct ApiPipeline {
    provider: opentelemetry_sdk::trace::SdkTracerProvider,
    tracer: opentelemetry_sdk::trace::SdkTracer,
    handle: ProcessorHandle,
}

impl ApiPipeline {
    /// Builds the pipeline exporting to `receiver`.
    pub fn build(queue: Queue, receiver: &Receiver) -> ApiPipeline {
        use opentelemetry::trace::TracerProvider as _;
        let stats = ExportStats::new();
        let worker = WorkerRuntime::start("otlpkit-bench").expect("a worker");
        // The default queue, as for the native stacks: `Lossless` blocks
        // otlpkit's producers and only enlarges the official queue.
        let processor = BatchSpanProcessor::builder(otlpkit_exporter(receiver, &worker, &stats))
            .with_worker_runtime(worker)
            .with_stats(stats)
            .with_overflow_policy(policy(queue))
            .build()
            .expect("otlpkit's processor");
        let handle = processor.handle();
        let provider = opentelemetry_sdk::trace::SdkTracerProvider::builder()
            .with_resource(resource())
            .with_span_processor(processor)
            .build();
        let tracer = provider.tracer("bench");
        ApiPipeline {
            provider,
            tracer,
            handle,
        }
    }

    /// One tree: a root and nine children, three attributes each.
    pub fn tree_3_attributes(&self, i: u64) {
        use opentelemetry::KeyValue;
        self.tree(i, |index| {
            vec![
                KeyValue::new("http.request.method", "GET"),
                KeyValue::new("http.response.status_code", 200_i64),
                KeyValue::new("bench.index", index as i64),
            ]
        });
    }

    /// The same tree carrying what a default native span carries: the
    /// three fields plus the source attributes (`code.*`, `thread.*`,
    /// `target`) and `busy_ns`/`idle_ns`, eleven attributes per span, so
    /// that both paths export the same payload.
    pub fn tree_tracing_attributes(&self, i: u64) {
        use opentelemetry::{KeyValue, StringValue};
        thread_local! {
            static THREAD: (i64, StringValue) = {
                let current = std::thread::current();
                let id = format!("{:?}", current.id());
                let id = id.trim_start_matches("ThreadId(").trim_end_matches(')');
                let name = current.name().unwrap_or_default();
                (id.parse().unwrap_or(0), StringValue::from(std::sync::Arc::<str>::from(name)))
            };
        }
        let (thread_id, thread_name) = THREAD.with(Clone::clone);
        self.tree(i, |index| {
            vec![
                KeyValue::new("code.file.path", file!()),
                KeyValue::new("code.module.name", module_path!()),
                KeyValue::new("code.line.number", i64::from(line!())),
                KeyValue::new("thread.id", thread_id),
                KeyValue::new("thread.name", thread_name.clone()),
                KeyValue::new("target", module_path!()),
                KeyValue::new("http.request.method", "GET"),
                KeyValue::new("http.response.status_code", 200_i64),
                KeyValue::new("bench.index", index as i64),
                KeyValue::new("busy_ns", 1_200_i64),
                KeyValue::new("idle_ns", 800_i64),
            ]
        });
    }

    /// A root (index `i`) and nine children (indices 0 to 8), each with
    /// `attributes(index)`; the root ends last.
    fn tree(&self, i: u64, attributes: impl Fn(u64) -> Vec<opentelemetry::KeyValue>) {
        use opentelemetry::trace::{TraceContextExt as _, Tracer as _};
        let root = self
            .tracer
            .span_builder("root")
            .with_attributes(attributes(i))
            .start(&self.tracer);
        let cx = opentelemetry::Context::current_with_span(root);
        for child in 0..SPANS_PER_TREE - 1 {
            let _child = self
                .tracer
                .span_builder("child")
                .with_attributes(attributes(child))
                .start_with_context(&self.tracer, &cx);
        }
        cx.span().end();
    }

    /// Exports everything ended so far.
    pub fn flush(&self) {
        let _ = self.handle.flush_within(Duration::from_secs(60));
    }
}

impl Drop for ApiPipeline {
    fn drop(&mut self) {
        let _ = self.provider.shutdown_with_timeout(Duration::from_secs(10));
    }
}
