//! The pipelines under test, built from a [`Spec`].

use std::fmt;
use std::time::{Duration, Instant};

use opentelemetry::trace::TracerProvider as _;
use opentelemetry_otlp::{WithExportConfig as _, WithHttpConfig as _};
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::error::OTelSdkResult;
use opentelemetry_sdk::trace::{
    BatchConfigBuilder, SdkTracer, SdkTracerProvider, SpanData, SpanExporter,
};
use otlpkit_batch::tail::{TailSamplingHandle, TailSamplingProcessor};
use otlpkit_batch::{BatchSpanProcessor, ProcessorHandle};
use otlpkit_bridge::WorkerRuntime;
use otlpkit_core::stats::ExportStats;
use otlpkit_core::{OverflowPolicy, Protocol};
use otlpkit_testkit::{Receiver, Signal};

/// Which batch engine.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Engine {
    /// No processor at all: the SDK's own span cost.
    None,
    /// A processor that drops every span in `on_end` ([`DropProcessor`]):
    /// what the SDK itself spends to hand a span to any processor.
    Drop,
    /// `opentelemetry_sdk::trace::BatchSpanProcessor`.
    Official,
    /// `otlpkit_batch::BatchSpanProcessor`.
    Otlpkit,
}

/// Which exporter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exporter {
    /// Discards every batch ([`NullExporter`]): the engine's cost alone.
    Null,
    /// `opentelemetry-otlp` over gRPC (tonic).
    OfficialGrpc,
    /// `opentelemetry-otlp` over HTTP/protobuf (reqwest's blocking client).
    OfficialHttp,
    /// `otlpkit-grpc`.
    OtlpkitGrpc,
    /// `otlpkit-http`, HTTP/protobuf.
    OtlpkitHttp,
}

impl Exporter {
    fn short(self) -> &'static str {
        match self {
            Exporter::Null => "null",
            Exporter::OfficialGrpc => "otlp-grpc",
            Exporter::OfficialHttp => "otlp-http",
            Exporter::OtlpkitGrpc => "otlpkit-grpc",
            Exporter::OtlpkitHttp => "otlpkit-http",
        }
    }
}

/// A pipeline: engine, exporter and sizes.
#[derive(Debug, Clone)]
pub struct Spec {
    /// The engine.
    pub engine: Engine,
    /// The exporter.
    pub exporter: Exporter,
    /// Queue capacity (both engines).
    pub max_queue_size: usize,
    /// Batch size (both engines).
    pub max_export_batch_size: usize,
    /// Schedule delay (both engines).
    pub schedule_delay: Duration,
    /// Overflow policy (otlpkit only; the official engine drops newest).
    pub policy: OverflowPolicy,
    /// Concurrent exports (otlpkit only).
    pub concurrency: usize,
    /// otlpkit's exporters' retry policy; `None` for their default
    /// (`otlpkit_core::RetryPolicy::default()`: 200 ms initial backoff, ×2,
    /// at most 1 s apart, 10 attempts).
    pub retry: Option<otlpkit_core::RetryPolicy>,
    /// otlpkit's exporter runs on the engine's worker thread, as
    /// `otlpkit::init()` builds them, instead of a worker of its own.
    pub shared_worker: bool,
    /// otlpkit only: a tail-sampling stage in front of the engine keeping
    /// this ratio of the traces no other policy keeps (latency threshold
    /// 10 s, so that traces held open for a measurement stay held; the
    /// other settings at their defaults).
    pub tail_ratio: Option<f64>,
    /// otlpkit's exporter has a disk spool (in a fresh temporary directory).
    pub spool: bool,
}

impl Spec {
    /// The official engine with its defaults (queue 2048, batch 512, 5 s).
    pub fn official(exporter: Exporter) -> Spec {
        Spec {
            engine: Engine::Official,
            exporter,
            max_queue_size: 2048,
            max_export_batch_size: 512,
            schedule_delay: Duration::from_secs(5),
            policy: OverflowPolicy::DropNewest,
            concurrency: 1,
            retry: None,
            shared_worker: false,
            tail_ratio: None,
            spool: false,
        }
    }

    /// otlpkit's engine with the same defaults.
    pub fn otlpkit(exporter: Exporter) -> Spec {
        Spec {
            engine: Engine::Otlpkit,
            ..Spec::official(exporter)
        }
    }

    /// The SDK with a processor that drops every span.
    pub fn drop_processor() -> Spec {
        Spec {
            engine: Engine::Drop,
            ..Spec::no_processor()
        }
    }

    /// The SDK without a processor.
    pub fn no_processor() -> Spec {
        Spec {
            engine: Engine::None,
            exporter: Exporter::Null,
            ..Spec::official(Exporter::Null)
        }
    }

    /// With this queue capacity.
    #[must_use]
    pub fn queue(mut self, size: usize) -> Spec {
        self.max_queue_size = size;
        self
    }

    /// otlpkit's exporter with a disk spool in a fresh temporary directory.
    #[must_use]
    pub fn spool(mut self) -> Spec {
        self.spool = true;
        self
    }

    /// With this overflow policy.
    #[must_use]
    pub fn policy(mut self, policy: OverflowPolicy) -> Spec {
        self.policy = policy;
        self
    }

    /// Blocking, with a timeout long enough never to drop in a benchmark.
    #[must_use]
    pub fn blocking(self) -> Spec {
        self.policy(OverflowPolicy::Block {
            timeout: Duration::from_secs(60),
        })
    }

    /// otlpkit's exporters with the retry schedule of `opentelemetry-otlp`'s
    /// default (100 ms initial backoff, doubling up to 1.6 s, 3 retries).
    #[must_use]
    pub fn official_retry(mut self) -> Spec {
        self.retry = Some(
            otlpkit_core::RetryPolicy::builder()
                .with_initial_backoff(Duration::from_millis(100))
                .with_max_backoff(Duration::from_millis(1600))
                .with_multiplier(2.0)
                .with_max_attempts(4)
                .build()
                .expect("a valid retry policy"),
        );
        self
    }

    /// otlpkit's exporter on the engine's worker, as `otlpkit::init()`
    /// builds it.
    #[must_use]
    pub fn shared_worker(mut self) -> Spec {
        self.shared_worker = true;
        self
    }

    /// With a tail-sampling stage in front, keeping `ratio` of the rest.
    #[must_use]
    pub fn tail_sampling(mut self, ratio: f64) -> Spec {
        self.tail_ratio = Some(ratio);
        self
    }

    /// With this many concurrent exports.
    #[must_use]
    pub fn concurrency(mut self, n: usize) -> Spec {
        self.concurrency = n;
        self
    }

    /// A short label for tables and benchmark ids.
    pub fn label(&self) -> String {
        let engine = match self.engine {
            Engine::None => return "sdk, no processor".to_owned(),
            Engine::Drop => return "sdk + a processor that drops".to_owned(),
            Engine::Official => "official BSP",
            Engine::Otlpkit => "otlpkit",
        };
        let mut label = format!("{engine} + {}", self.exporter.short());
        if self.max_queue_size != 2048 {
            label.push_str(&format!(", queue {}", self.max_queue_size));
        }
        if self.engine == Engine::Otlpkit {
            match self.policy {
                OverflowPolicy::Block { .. } => label.push_str(", block"),
                OverflowPolicy::DropOldest => label.push_str(", drop-oldest"),
                _ => {}
            }
            if self.concurrency > 1 {
                label.push_str(&format!(", {} concurrent", self.concurrency));
            }
            if self.retry.is_some() {
                label.push_str(", official retry schedule");
            }
            if self.shared_worker {
                label.push_str(", one worker");
            }
            if let Some(ratio) = self.tail_ratio {
                label.push_str(&format!(", tail sampling {ratio}"));
            }
            if self.spool {
                label.push_str(", spool");
            }
        }
        label
    }
}

impl fmt::Display for Spec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.label())
    }
}

/// An exporter that discards every batch.
#[derive(Debug, Default, Clone, Copy)]
pub struct NullExporter;

impl SpanExporter for NullExporter {
    async fn export(&self, batch: Vec<SpanData>) -> OTelSdkResult {
        drop(batch);
        Ok(())
    }
}

/// A processor that drops every span it is given.
#[derive(Debug, Default, Clone, Copy)]
pub struct DropProcessor;

impl opentelemetry_sdk::trace::SpanProcessor for DropProcessor {
    fn on_start(&self, _span: &mut opentelemetry_sdk::trace::Span, _cx: &opentelemetry::Context) {}

    fn on_end(&self, span: SpanData) {
        drop(span);
    }

    fn force_flush(&self) -> OTelSdkResult {
        Ok(())
    }

    fn shutdown_with_timeout(&self, _timeout: Duration) -> OTelSdkResult {
        Ok(())
    }
}

/// A built pipeline: a tracer provider with one processor.
pub struct Pipeline {
    /// The provider.
    pub provider: SdkTracerProvider,
    /// otlpkit's processor handle (otlpkit engine only).
    pub handle: Option<ProcessorHandle>,
    /// The tail-sampling stage's handle, when the spec has one.
    pub tail: Option<TailSamplingHandle>,
    /// The counters otlpkit's engine and exporters record into.
    pub stats: ExportStats,
    /// The label of the spec.
    pub label: String,
    tracer: SdkTracer,
    /// Keeps the official tonic exporter's runtime alive.
    runtime: Option<tokio::runtime::Runtime>,
    /// The spool's directory, kept for the life of the pipeline and removed
    /// with it.
    _spool_dir: Option<tempfile::TempDir>,
}

impl fmt::Debug for Pipeline {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Pipeline")
            .field("label", &self.label)
            .finish()
    }
}

/// What a shutdown did.
#[derive(Debug, Clone)]
pub struct ShutdownOutcome {
    /// How long the call took.
    pub elapsed: Duration,
    /// `Ok` / the error, as the call reported it.
    pub result: String,
    /// What otlpkit reported as unsent (otlpkit engine only).
    pub unsent: Option<u64>,
}

fn resource() -> Resource {
    Resource::builder()
        .with_service_name("otlpkit-bench")
        .build()
}

fn official_runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .thread_name("official-tonic")
        .enable_all()
        .build()
        .expect("a tokio runtime for the official gRPC exporter")
}

fn official_grpc(receiver: &Receiver) -> opentelemetry_otlp::SpanExporter {
    opentelemetry_otlp::SpanExporter::builder()
        .with_tonic()
        .with_endpoint(receiver.grpc_endpoint())
        .build()
        .expect("the official gRPC exporter")
}

fn official_http(receiver: &Receiver) -> opentelemetry_otlp::SpanExporter {
    opentelemetry_otlp::SpanExporter::builder()
        .with_http()
        .with_endpoint(receiver.http_url(Signal::Traces))
        .with_headers(Default::default())
        .build()
        .expect("the official HTTP exporter")
}

impl Pipeline {
    /// Builds `spec`, exporting to `receiver` (unused by the null exporter).
    pub fn build(spec: &Spec, receiver: Option<&Receiver>) -> Pipeline {
        let stats = ExportStats::new();
        let spool_dir = spec
            .spool
            .then(|| tempfile::tempdir().expect("a directory for the spool"));
        let mut runtime = None;
        let mut handle = None;
        let mut tail = None;
        let builder = SdkTracerProvider::builder().with_resource(resource());
        let receiver = || receiver.expect("this exporter needs a receiver");
        let provider = match spec.engine {
            Engine::None => builder.build(),
            Engine::Drop => builder.with_span_processor(DropProcessor).build(),
            Engine::Official => {
                let config = BatchConfigBuilder::default()
                    .with_max_queue_size(spec.max_queue_size)
                    .with_max_export_batch_size(spec.max_export_batch_size)
                    .with_scheduled_delay(spec.schedule_delay)
                    .build();
                macro_rules! official {
                    ($exporter:expr) => {
                        builder
                            .with_span_processor(
                                opentelemetry_sdk::trace::BatchSpanProcessor::builder($exporter)
                                    .with_batch_config(config)
                                    .build(),
                            )
                            .build()
                    };
                }
                match spec.exporter {
                    Exporter::Null => official!(NullExporter),
                    Exporter::OfficialGrpc => {
                        let rt = official_runtime();
                        let exporter = {
                            let _entered = rt.enter();
                            official_grpc(receiver())
                        };
                        runtime = Some(rt);
                        official!(exporter)
                    }
                    Exporter::OfficialHttp => official!(official_http(receiver())),
                    Exporter::OtlpkitGrpc => official!(
                        otlpkit_grpc::SpanExporter::builder()
                            .with_endpoint(receiver().grpc_endpoint())
                            .with_stats(stats.clone())
                            .build()
                            .expect("otlpkit's gRPC exporter")
                    ),
                    Exporter::OtlpkitHttp => official!(
                        otlpkit_http::HttpSpanExporter::builder()
                            .with_endpoint(receiver().http_url(Signal::Traces))
                            .with_protocol(Protocol::HttpProtobuf)
                            .with_stats(stats.clone())
                            .build()
                            .expect("otlpkit's HTTP exporter")
                    ),
                }
            }
            Engine::Otlpkit => {
                let worker = WorkerRuntime::start("otlpkit-bench-bsp").expect("a worker");
                let ours = |processor: otlpkit_batch::BatchSpanProcessorBuilder| {
                    processor
                        .with_worker_runtime(worker.clone())
                        .with_stats(stats.clone())
                        .with_max_queue_size(spec.max_queue_size)
                        .with_max_export_batch_size(spec.max_export_batch_size)
                        .with_schedule_delay(spec.schedule_delay)
                        .with_overflow_policy(spec.policy)
                        .with_max_concurrent_exports(spec.concurrency)
                        .build()
                        .expect("otlpkit's processor")
                };
                let processor = match spec.exporter {
                    Exporter::Null => ours(BatchSpanProcessor::builder(NullExporter)),
                    Exporter::OfficialGrpc => {
                        let exporter = {
                            let _entered = worker.handle().enter();
                            official_grpc(receiver())
                        };
                        ours(BatchSpanProcessor::builder(exporter))
                    }
                    Exporter::OfficialHttp => ours(
                        BatchSpanProcessor::builder(official_http(receiver()))
                            .with_blocking_exports(true),
                    ),
                    Exporter::OtlpkitGrpc => ours(BatchSpanProcessor::builder({
                        let mut exporter = otlpkit_grpc::SpanExporter::builder()
                            .with_endpoint(receiver().grpc_endpoint())
                            .with_stats(stats.clone());
                        if spec.shared_worker {
                            exporter = exporter.with_worker(worker.clone());
                        }
                        if let Some(retry) = &spec.retry {
                            exporter = exporter.with_retry_policy(*retry);
                        }
                        if let Some(dir) = &spool_dir {
                            exporter = exporter.with_spool_dir(dir.path());
                        }
                        exporter.build().expect("otlpkit's gRPC exporter")
                    })),
                    Exporter::OtlpkitHttp => ours(BatchSpanProcessor::builder({
                        let mut exporter = otlpkit_http::HttpSpanExporter::builder()
                            .with_endpoint(receiver().http_url(Signal::Traces))
                            .with_protocol(Protocol::HttpProtobuf)
                            .with_stats(stats.clone());
                        if spec.shared_worker {
                            exporter = exporter.with_worker(worker.clone());
                        }
                        if let Some(retry) = &spec.retry {
                            exporter = exporter.with_retry_policy(*retry);
                        }
                        if let Some(dir) = &spool_dir {
                            exporter = exporter.with_spool_dir(dir.path());
                        }
                        exporter.build().expect("otlpkit's HTTP exporter")
                    })),
                };
                handle = Some(processor.handle());
                match spec.tail_ratio {
                    Some(ratio) => {
                        let config = otlpkit_core::TailSamplingConfig::builder()
                            .with_enabled(true)
                            .with_ratio(ratio)
                            .with_latency_threshold(Some(Duration::from_secs(10)))
                            .build(&otlpkit_core::MapEnv::new())
                            .expect("a valid tail-sampling configuration")
                            .into_value();
                        let stage = TailSamplingProcessor::builder(processor)
                            .with_config(config)
                            .with_stats(stats.clone())
                            .build();
                        tail = Some(stage.handle());
                        builder.with_span_processor(stage).build()
                    }
                    None => builder.with_span_processor(processor).build(),
                }
            }
        };
        let tracer = provider.tracer("otlpkit-bench");
        Pipeline {
            provider,
            handle,
            tail,
            stats,
            label: spec.label(),
            tracer,
            runtime,
            _spool_dir: spool_dir,
        }
    }

    /// The tracer to end spans with.
    pub fn tracer(&self) -> &SdkTracer {
        &self.tracer
    }

    /// Exports everything ended so far (the provider's `force_flush`), as
    /// an application does at the end of a unit of work.
    pub fn flush(&self) {
        let _ = self.provider.force_flush();
    }

    /// Shuts the pipeline down with `timeout`, as an application would:
    /// otlpkit through its handle (to get the report), the official one
    /// through the provider.
    pub fn shutdown(&self, timeout: Duration) -> ShutdownOutcome {
        let start = Instant::now();
        if let Some(tail) = &self.tail {
            // The stage first: what it holds is decided and reaches the queue.
            tail.shutdown_within(timeout);
        }
        match &self.handle {
            Some(handle) => {
                let result = handle.shutdown_within(timeout);
                let elapsed = start.elapsed();
                // The provider's own shutdown then finds the processor done.
                let _ = self.provider.shutdown_with_timeout(timeout);
                match result {
                    Ok(report) => ShutdownOutcome {
                        elapsed,
                        result: if report.is_complete() {
                            "Ok".to_owned()
                        } else {
                            format!(
                                "report: exported {}, failed {}, unsent {}{}",
                                report.flush.exported,
                                report.flush.failed,
                                report.flush.unsent,
                                if report.flush.timed_out {
                                    " (deadline)"
                                } else {
                                    ""
                                }
                            )
                        },
                        unsent: Some(report.unsent()),
                    },
                    Err(error) => ShutdownOutcome {
                        elapsed,
                        result: format!("Err({error})"),
                        unsent: None,
                    },
                }
            }
            None => {
                let result = self.provider.shutdown_with_timeout(timeout);
                ShutdownOutcome {
                    elapsed: start.elapsed(),
                    result: match result {
                        Ok(()) => "Ok".to_owned(),
                        Err(error) => format!("Err({error})"),
                    },
                    unsent: None,
                }
            }
        }
    }
}

impl Drop for Pipeline {
    fn drop(&mut self) {
        // Bounded: a pipeline left with a hung collector must not stall the
        // benchmark run.
        let _ = self.provider.shutdown_with_timeout(Duration::from_secs(1));
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_timeout(Duration::from_secs(1));
        }
    }
}
