//! The accounting invariant under random fault schedules: whatever the
//! collector does (fail, throttle, answer partial success, stall past the
//! export timeout, drop the connection, restart under exports in flight,
//! hang through the shutdown deadline), and whatever the exporter does
//! (panic in its export call or in the future it returned), every ended
//! span or emitted log record is either delivered or counted as dropped
//! under exactly one reason, and the counts agree with what the collector
//! itself recorded.
//!
//! Two ledgers are kept apart and compared:
//!
//! - the test's: the items it produced (`produced`), what an injected panic
//!   lost, and what the testkit receiver recorded request by request,
//!   grouped by batch (a retry resends the same batch) and judged by the
//!   last answer the batch got;
//! - otlpkit's: the processor's counters.
//!
//! The schedule is built so that every answer the receiver records reaches
//! the exporter, or the exporter had given up before the answer existed:
//! stalls are either short enough to end well inside every timeout or long
//! enough to outlast the whole case (the client always leaves first, and the
//! receiver records the request as abandoned); the collector is stopped, the
//! connection dropped with a sibling request on it, and the shutdown deadline
//! reached, only while every export in flight is held by such a stall. So
//! the receiver's view decides each batch's fate exactly, and the test
//! asserts it, reason by reason.
//!
//! Each case carries spans through the span processor or log records
//! through the log processor, and may make one export call panic.
//!
//! Exporters, picked at random per case:
//! - the official `opentelemetry-otlp` gRPC exporter, accounted by the
//!   engine (which classifies its errors), cut by the engine's export
//!   timeout;
//! - otlpkit's gRPC and HTTP/protobuf exporters, which take the counting
//!   over and record every outcome themselves, with up to two concurrent
//!   exports, cut either by their own timeout or by the engine's.
//!
//! Timeouts and the shutdown budget are configuration, never assertions: the
//! test holds however slow the machine is, within the margins noted below.
//! `PROPTEST_CASES` runs more cases (the default keeps CI short).

mod support;

use std::collections::{BTreeMap, HashSet};
use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use opentelemetry::logs::{AnyValue, LogRecord as _, Logger as _, LoggerProvider as _};
use opentelemetry_otlp::{WithExportConfig as _, WithTonicConfig as _};
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::error::OTelSdkResult;
use opentelemetry_sdk::logs::{LogBatch, LogExporter, SdkLoggerProvider};
use opentelemetry_sdk::trace::{SdkTracerProvider, SpanData, SpanExporter};
use otlpkit_batch::{
    BatchLogProcessor, BatchSpanProcessor, FlushReport, ProcessorFlushError, ProcessorHandle,
    ProcessorShutdownReport, ShutdownError,
};
use otlpkit_bridge::WorkerRuntime;
use otlpkit_core::stats::{DropReason, ExportStats, SignalStatsSnapshot};
use otlpkit_core::{OverflowPolicy, Protocol, RetryPolicy};
use otlpkit_testkit::proto::common::v1::KeyValue;
use otlpkit_testkit::proto::common::v1::any_value::Value;
use otlpkit_testkit::proto::resource::v1::Resource as ProtoResource;
use otlpkit_testkit::{Answer, Code, Fault, Payload, Receiver, RecordedRequest, Signal};
use proptest::prelude::*;
use support::{WAIT, produce, provider, resource};

/// Cases per run by default; `PROPTEST_CASES` overrides it.
const DEFAULT_CASES: u32 = 32;

/// The shorter of the two export time limits (the exporter's own budget and
/// the engine's export timeout): what a long stall costs. Everything a short
/// path can take (five attempts, each failing after at most `SLOW_MAX`,
/// four backoffs of at most 12 ms or a 10 ms throttling hint, a final short
/// stall of at most `SLOW_MAX`) stays under a third of it, so a short stall
/// never meets a timeout.
const CUTOFF: Duration = Duration::from_millis(400);
/// The other time limit, which then never fires first.
const BACKSTOP: Duration = Duration::from_millis(800);
/// The time limits of a case that reaches the shutdown deadline: from the
/// moment every export slot is held until the deadline passes (filling the
/// queue, at most `DEADLINE_QUEUED` items that may each block for the block
/// timeout, then the shutdown budget) takes far less, so the held exports
/// are still held when it passes.
const DEADLINE_CUTOFF: Duration = Duration::from_millis(1200);
const DEADLINE_BACKSTOP: Duration = Duration::from_millis(1600);
/// The longest short stall or slow failure, in milliseconds.
const SLOW_MAX: u64 = 15;
/// The longest block timeout, in milliseconds.
const BLOCK_MAX: u64 = 20;
/// The longest shutdown budget of a case that reaches the deadline, in
/// milliseconds, and the most items queued behind the held exports.
const DEADLINE_MAX: u64 = 200;
const DEADLINE_QUEUED: usize = 12;

/// A shutdown budget nothing in a case comes near (a few export time
/// limits at most).
const GENEROUS: Duration = Duration::from_secs(10);

/// Stalls that outlast any case. The receiver records how long the fault it
/// applied to a request was, so each one tells which of them a request got:
/// a stall in the schedule (cut by an export timeout), a hold before a
/// collector restart or a connection drop (cut by it), or a hold at
/// shutdown (cut by the shutdown deadline). Every one of them ends with the
/// client gone, and the receiver records the request as abandoned.
const LONG_STALL: Duration = Duration::from_secs(40);
const MID_HOLD: Duration = Duration::from_secs(41);
const END_HOLD: Duration = Duration::from_secs(42);

/// The message of a partial success, when there is one.
const PARTIAL_MESSAGE: &str = "some rejected";

/// One scripted answer of the collector.
#[derive(Debug, Clone)]
enum Step {
    /// UNAVAILABLE (HTTP 503): retryable.
    Unavailable,
    /// UNAVAILABLE after a short wait.
    SlowUnavailable(u64),
    /// INVALID_ARGUMENT (HTTP 400): not retryable, the batch is dropped.
    InvalidArgument,
    /// RESOURCE_EXHAUSTED with a throttling hint (gRPC RetryInfo of that
    /// many milliseconds; over HTTP a `Retry-After` of one second, past the
    /// export's budget: the exporter gives up at once).
    Throttled(u64),
    /// Partial success rejecting this many spans (negative, zero, within
    /// the batch, above it), with an error message or none. The receiver
    /// keeps every span of the request.
    Partial(i64, bool),
    /// Success after a short wait.
    ShortStall(u64),
    /// No answer before every export time limit has passed.
    LongStall,
    /// The connection is closed without an answer.
    DropConnection,
}

impl Step {
    fn fault(&self) -> Fault {
        let ms = Duration::from_millis;
        match self {
            Step::Unavailable => Fault::grpc_status(Code::Unavailable, "restarting"),
            Step::SlowUnavailable(wait) => {
                Fault::grpc_status(Code::Unavailable, "restarting").after(ms(*wait))
            }
            Step::InvalidArgument => Fault::grpc_status(Code::InvalidArgument, "bad data"),
            Step::Throttled(hint) => {
                Fault::grpc_status(Code::ResourceExhausted, "slow down").with_retry_info(ms(*hint))
            }
            Step::Partial(rejected, message) => {
                Fault::partial_success(*rejected, if *message { PARTIAL_MESSAGE } else { "" })
            }
            Step::ShortStall(wait) => Fault::delay(ms(*wait)),
            Step::LongStall => Fault::delay(LONG_STALL),
            Step::DropConnection => Fault::drop_connection(),
        }
    }
}

fn step() -> impl Strategy<Value = Step> {
    let rejected = prop_oneof![
        -1_000i64..0,
        0i64..3,
        1i64..200,
        200i64..100_000,
        Just(i64::MAX),
        Just(i64::MIN),
    ];
    prop_oneof![
        2 => Just(Step::Unavailable),
        1 => (1..=SLOW_MAX).prop_map(Step::SlowUnavailable),
        2 => Just(Step::InvalidArgument),
        1 => (1u64..=10).prop_map(Step::Throttled),
        3 => (rejected, any::<bool>()).prop_map(|(n, message)| Step::Partial(n, message)),
        2 => (1..=SLOW_MAX).prop_map(Step::ShortStall),
        1 => Just(Step::LongStall),
        2 => Just(Step::DropConnection),
    ]
}

/// What happens after a round of production.
#[derive(Debug, Clone)]
enum Event {
    /// Nothing: the next round follows at once.
    Nothing,
    /// A flush.
    Flush,
    /// The collector stops with nothing in flight, spans are produced while
    /// it is down, and it comes back after `down_ms`.
    Outage { down_ms: u64 },
    /// Every export slot is held by a stall when the collector stops (the
    /// exports in flight fail), spans are produced while it is down, and it
    /// comes back after `down_ms`.
    RestartInFlight { down_ms: u64 },
    /// A request is held when the connection is dropped under it by
    /// another one (on HTTP/2 they share the connection).
    DropInFlight,
    /// Every export slot is held by a stall and spans are queued behind
    /// them when a flush with a budget of `budget_ms` starts: it returns at
    /// its deadline with everything unsent, and drops nothing.
    FlushDeadline { budget_ms: u64 },
}

fn event() -> impl Strategy<Value = Event> {
    prop_oneof![
        2 => Just(Event::Nothing),
        1 => Just(Event::Flush),
        1 => (0u64..60).prop_map(|down_ms| Event::Outage { down_ms }),
        2 => (0u64..60).prop_map(|down_ms| Event::RestartInFlight { down_ms }),
        1 => Just(Event::DropInFlight),
        1 => (50..=DEADLINE_MAX).prop_map(|budget_ms| Event::FlushDeadline { budget_ms }),
    ]
}

/// One round: faults appended to the collector's script, items produced,
/// then an event. Faults left over are used by later rounds.
#[derive(Debug, Clone)]
struct Round {
    steps: Vec<Step>,
    producers: usize,
    per_producer: usize,
    event: Event,
}

fn round() -> impl Strategy<Value = Round> {
    (
        prop::collection::vec(step(), 0..5),
        1usize..4,
        5usize..80,
        event(),
    )
        .prop_map(|(steps, producers, per_producer, event)| Round {
            steps,
            producers,
            per_producer,
            event,
        })
}

/// How the processor is shut down.
#[derive(Debug, Clone, Copy)]
enum Shutdown {
    /// A budget nothing in the case comes near.
    Generous,
    /// Every export slot is held by a stall, `queued` more spans wait in
    /// the queue, and the budget is `budget_ms`: the deadline passes with
    /// exports in flight and spans queued.
    Deadline { budget_ms: u64, queued: usize },
    /// As for the deadline, but the worker runtime the processor was given
    /// is stopped under it instead: the processor's shutdown then finds its
    /// worker gone.
    WorkerStopped { queued: usize },
}

impl Shutdown {
    /// Whether the shutdown cuts exports held in flight.
    fn cuts(self) -> bool {
        !matches!(self, Shutdown::Generous)
    }
}

fn shutdown() -> impl Strategy<Value = Shutdown> {
    prop_oneof![
        2 => Just(Shutdown::Generous),
        2 => (50..=DEADLINE_MAX, 1..=DEADLINE_QUEUED)
            .prop_map(|(budget_ms, queued)| Shutdown::Deadline { budget_ms, queued }),
        1 => (1..=DEADLINE_QUEUED).prop_map(|queued| Shutdown::WorkerStopped { queued }),
    ]
}

/// How the test calls flush and shutdown: blocking, or their async twins
/// (awaited on a runtime of the test's own).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Caller {
    Blocking,
    Async,
}

fn policy() -> impl Strategy<Value = OverflowPolicy> {
    prop_oneof![
        Just(OverflowPolicy::DropNewest),
        Just(OverflowPolicy::DropOldest),
        (1..=BLOCK_MAX).prop_map(|ms| OverflowPolicy::Block {
            timeout: Duration::from_millis(ms)
        }),
    ]
}

/// What flows through the pipeline: spans through the span processor, or
/// log records through the log processor.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Items {
    Spans,
    Logs,
}

impl Items {
    fn signal(self) -> Signal {
        match self {
            Items::Spans => Signal::Traces,
            Items::Logs => Signal::Logs,
        }
    }
}

/// Which exporter sits behind the engine.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Transport {
    Official,
    OtlpkitGrpc,
    OtlpkitHttp,
}

impl Transport {
    /// Whether the exporter takes the counting over from the engine.
    fn counts_itself(self) -> bool {
        self != Transport::Official
    }
}

fn transport() -> impl Strategy<Value = Transport> {
    prop_oneof![
        Just(Transport::Official),
        Just(Transport::OtlpkitGrpc),
        Just(Transport::OtlpkitHttp),
    ]
}

/// Which time limit cuts a long stall: the exporter's own budget (retry
/// loop and attempt timeouts) or the engine's export timeout.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Cutoff {
    Exporter,
    Engine,
}

#[derive(Debug, Clone)]
struct Case {
    items: Items,
    transport: Transport,
    concurrency: usize,
    cutoff: Cutoff,
    policy: OverflowPolicy,
    queue: usize,
    batch: usize,
    /// The schedule delay: short (partial batches leave at once) or long
    /// (only full batches leave, until a flush or the shutdown).
    delay: Duration,
    /// The queue's byte bound.
    max_bytes: Option<usize>,
    /// The exporter's request size limit (otlpkit's exporters only): larger
    /// batches are never sent.
    max_request: Option<usize>,
    /// Whether each export call runs on a blocking thread of the worker
    /// runtime (`with_blocking_exports`). For otlpkit's exporters only with
    /// the exporter's own cutoff: an export call the engine stops waiting
    /// for would go on in the background and settle later.
    blocking: bool,
    caller: Caller,
    /// Export call number `.0` (from 0) panics at `.1`.
    panic: Option<(usize, PanicSite)>,
    rounds: Vec<Round>,
    shutdown: Shutdown,
    /// Spans ended after the shutdown.
    late: usize,
}

fn case() -> impl Strategy<Value = Case> {
    (
        (
            prop_oneof![Just(Items::Spans), Just(Items::Logs)],
            transport(),
            1usize..3,
            prop_oneof![Just(Cutoff::Exporter), Just(Cutoff::Engine)],
            policy(),
            4usize..100,
            1usize..4,
        ),
        (
            prop_oneof![
                Just(Duration::from_millis(5)),
                Just(Duration::from_secs(10))
            ],
            prop::option::weighted(0.3, 3_000usize..40_000),
            prop::option::weighted(0.3, 1_000usize..12_000),
            prop::bool::weighted(0.25),
            prop_oneof![Just(Caller::Blocking), Just(Caller::Async)],
            prop::option::weighted(
                0.25,
                (
                    0usize..6,
                    prop_oneof![Just(PanicSite::Call), Just(PanicSite::Future)],
                ),
            ),
        ),
        prop::collection::vec(round(), 1..4),
        shutdown(),
        0usize..4,
    )
        .prop_map(
            |(
                (items, transport, concurrency, cutoff, policy, queue, divisor),
                (delay, max_bytes, max_request, blocking, caller, panic),
                mut rounds,
                shutdown,
                late,
            )| {
                // The official exporter is not documented as safe to call
                // concurrently, has no time limit short enough of its own,
                // and no request size limit.
                let (concurrency, cutoff, max_request) = if transport == Transport::Official {
                    (1, Cutoff::Engine, None)
                } else {
                    (concurrency, cutoff, max_request)
                };
                let blocking =
                    blocking && (transport == Transport::Official || cutoff == Cutoff::Exporter);
                // With a request size limit, otlpkit's export call counts an
                // oversized batch itself (as oversized) before returning the
                // future a panic would be in: the panic then loses nothing.
                // Such a case panics in the call instead.
                let panic = panic.map(|(call, site)| match max_request {
                    Some(_) => (call, PanicSite::Call),
                    None => (call, site),
                });
                // A dropped HTTP/2 connection takes every request on it along,
                // and one the receiver had already answered may lose its
                // answer: the exporter would then count as failed a batch the
                // collector kept. With concurrent gRPC exports, the scripted
                // drop therefore becomes UNAVAILABLE (which fails one request
                // only); `Event::DropInFlight` drops the connection while the
                // other requests on it are held, where nothing is ambiguous.
                if transport == Transport::OtlpkitGrpc && concurrency > 1 {
                    for step in rounds.iter_mut().flat_map(|round| &mut round.steps) {
                        if matches!(step, Step::DropConnection) {
                            *step = Step::Unavailable;
                        }
                    }
                }
                Case {
                    items,
                    transport,
                    concurrency,
                    cutoff,
                    policy,
                    queue,
                    batch: (queue / divisor).max(1),
                    delay,
                    max_bytes,
                    max_request,
                    blocking,
                    caller,
                    panic,
                    rounds,
                    shutdown,
                    late,
                }
            },
        )
}

// --- The pipeline under test ---------------------------------------------------------------

/// Where an injected panic happens (a bug in a library the exporter
/// calls): in the export call, before the exporter has the batch (the
/// engine counts it), or in the returned future, once the exporter has
/// taken the counting over (it counts it while unwinding).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum PanicSite {
    Call,
    Future,
}

/// The case's exporter, of which one export call may panic; it records
/// how many items that call lost.
#[derive(Debug)]
struct Panicky<E> {
    inner: E,
    calls: AtomicUsize,
    panic: Option<(usize, PanicSite)>,
    lost: Arc<AtomicU64>,
}

impl<E> Panicky<E> {
    fn new(inner: E, panic: Option<(usize, PanicSite)>, lost: &Arc<AtomicU64>) -> Self {
        Self {
            inner,
            calls: AtomicUsize::new(0),
            panic,
            lost: Arc::clone(lost),
        }
    }
}

impl<E> Panicky<E> {
    /// Whether export call number `call` panics, and where.
    fn site(&self) -> (u64, Option<PanicSite>) {
        let call = self.calls.fetch_add(1, Ordering::SeqCst);
        let site = self
            .panic
            .and_then(|(at, site)| (at == call).then_some(site));
        (call as u64, site)
    }

    /// Runs export call `export` of a batch of `items`, panicking in the
    /// call itself or in the future it returns where the case says, after
    /// recording the items that panic loses.
    fn export_or_panic<F>(
        &self,
        items: u64,
        export: impl FnOnce() -> F,
    ) -> impl Future<Output = OTelSdkResult> + Send
    where
        F: Future<Output = OTelSdkResult> + Send,
    {
        let (call, site) = self.site();
        if site == Some(PanicSite::Call) {
            self.lost.store(items, Ordering::SeqCst);
            panic!("injected panic in export call {call}");
        }
        let export = export();
        let lost = Arc::clone(&self.lost);
        async move {
            if site == Some(PanicSite::Future) {
                let _export = export;
                lost.store(items, Ordering::SeqCst);
                panic!("injected panic in export future {call}");
            }
            export.await
        }
    }
}

impl<E: LogExporter> LogExporter for Panicky<E> {
    fn export(&self, batch: LogBatch<'_>) -> impl Future<Output = OTelSdkResult> + Send {
        let items = batch.iter().count() as u64;
        self.export_or_panic(items, || self.inner.export(batch))
    }

    fn shutdown_with_timeout(&self, timeout: Duration) -> OTelSdkResult {
        self.inner.shutdown_with_timeout(timeout)
    }

    fn set_resource(&mut self, resource: &Resource) {
        self.inner.set_resource(resource);
    }
}

impl<E: SpanExporter> SpanExporter for Panicky<E> {
    fn export(&self, batch: Vec<SpanData>) -> impl Future<Output = OTelSdkResult> + Send {
        let items = batch.len() as u64;
        self.export_or_panic(items, || self.inner.export(batch))
    }

    fn shutdown_with_timeout(&self, timeout: Duration) -> OTelSdkResult {
        self.inner.shutdown_with_timeout(timeout)
    }

    fn force_flush(&self) -> OTelSdkResult {
        self.inner.force_flush()
    }

    fn set_resource(&mut self, resource: &Resource) {
        self.inner.set_resource(resource);
    }
}

/// The official exporters' retries: short, like otlpkit's below.
fn official_retries() -> opentelemetry_otlp::RetryPolicy {
    opentelemetry_otlp::RetryPolicy::default()
        .with_max_retries(4)
        .with_initial_delay(Duration::from_millis(2))
        .with_max_delay(Duration::from_millis(8))
        .with_max_jitter(Duration::from_millis(2))
}

/// The official exporters' own timeout: longer than the engine's export
/// timeout, which cuts them.
const OFFICIAL_TIMEOUT: Duration = Duration::from_secs(5);

fn official_span_exporter(
    receiver: &Receiver,
    worker: &WorkerRuntime,
) -> opentelemetry_otlp::SpanExporter {
    let _runtime = worker.handle().enter();
    opentelemetry_otlp::SpanExporter::builder()
        .with_tonic()
        .with_endpoint(receiver.grpc_endpoint())
        .with_timeout(OFFICIAL_TIMEOUT)
        .with_retry_policy(official_retries())
        .build()
        .unwrap()
}

fn official_log_exporter(
    receiver: &Receiver,
    worker: &WorkerRuntime,
) -> opentelemetry_otlp::LogExporter {
    let _runtime = worker.handle().enter();
    opentelemetry_otlp::LogExporter::builder()
        .with_tonic()
        .with_endpoint(receiver.grpc_endpoint())
        .with_timeout(OFFICIAL_TIMEOUT)
        .with_retry_policy(official_retries())
        .build()
        .unwrap()
}

fn short_retries() -> RetryPolicy {
    RetryPolicy::builder()
        .with_initial_backoff(Duration::from_millis(2))
        .with_max_backoff(Duration::from_millis(8))
        .with_max_attempts(5)
        .build()
        .unwrap()
}

/// The exporter's time budget and the engine's export timeout.
fn limits(case: &Case) -> (Duration, Duration) {
    let (cutoff, backstop) = match case.shutdown {
        Shutdown::Generous => (CUTOFF, BACKSTOP),
        Shutdown::Deadline { .. } | Shutdown::WorkerStopped { .. } => {
            (DEADLINE_CUTOFF, DEADLINE_BACKSTOP)
        }
    };
    match case.cutoff {
        Cutoff::Exporter => (cutoff, backstop),
        Cutoff::Engine => (backstop, cutoff),
    }
}

/// The settings every case's processor gets, on either builder.
macro_rules! configured {
    ($builder:expr, $case:expr, $worker:expr, $stats:expr, $timeout:expr) => {{
        let case: &Case = $case;
        let builder = $builder
            .with_worker_runtime($worker.clone())
            .with_blocking_exports(case.blocking)
            .with_stats($stats.clone())
            .with_max_concurrent_exports(case.concurrency)
            .with_export_timeout(Some($timeout))
            .with_max_queue_size(case.queue)
            .with_max_export_batch_size(case.batch)
            .with_schedule_delay(case.delay)
            .with_overflow_policy(case.policy);
        match case.max_bytes {
            Some(bytes) => builder.with_max_queue_bytes(bytes),
            None => builder,
        }
    }};
}

/// otlpkit's exporter of `$kind` for the case's transport.
macro_rules! otlpkit_exporter {
    ($grpc:ty, $http:ty, $case:expr, $receiver:expr, $worker:expr, $budget:expr) => {{
        let case: &Case = $case;
        let max_request = case.max_request.unwrap_or(usize::MAX);
        match case.transport {
            Transport::OtlpkitGrpc => Either::Grpc(
                <$grpc>::builder()
                    .with_endpoint($receiver.grpc_endpoint())
                    .with_timeout(Some($budget))
                    .with_retry_policy(short_retries())
                    .with_max_request_size(max_request)
                    .with_worker($worker.clone())
                    .build()
                    .unwrap(),
            ),
            _ => Either::Http(
                <$http>::builder()
                    .with_endpoint($receiver.http_url(case.items.signal()))
                    .with_protocol(Protocol::HttpProtobuf)
                    .with_timeout(Some($budget))
                    .with_retry_policy(short_retries())
                    .with_max_request_size(max_request)
                    .with_worker($worker.clone())
                    .build()
                    .unwrap(),
            ),
        }
    }};
}

/// One of otlpkit's two transports.
enum Either<G, H> {
    Grpc(G),
    Http(H),
}

/// The pipeline of a case: the provider the test produces into, the
/// processor's handle, the worker runtime its exports run on, and the items
/// an injected panic lost.
struct Pipeline {
    provider: Provider,
    handle: ProcessorHandle,
    worker: WorkerRuntime,
    lost: Arc<AtomicU64>,
}

/// The provider the test produces into.
enum Provider {
    Spans(SdkTracerProvider),
    Logs(SdkLoggerProvider),
}

impl Provider {
    /// Ends `count` spans, or emits `count` log records, named
    /// `{prefix}-{i}` with three attributes.
    fn produce(&self, prefix: &str, count: usize) {
        match self {
            Provider::Spans(provider) => produce(provider, prefix, count),
            Provider::Logs(provider) => emit(provider, prefix, count),
        }
    }
}

fn emit(provider: &SdkLoggerProvider, prefix: &str, count: usize) {
    let logger = provider.logger("batch-tests");
    for i in 0..count {
        let mut record = logger.create_log_record();
        record.set_body(AnyValue::from(format!("{prefix}-{i}")));
        record.add_attribute("producer", prefix.to_owned());
        record.add_attribute("index", i as i64);
        record.add_attribute("payload", "x");
        logger.emit(record);
    }
}

/// Builds the case's pipeline, counting into `stats`.
fn pipeline(case: &Case, receiver: &Receiver, stats: &ExportStats) -> Pipeline {
    let worker = WorkerRuntime::start("accounting").unwrap();
    let (budget, timeout) = limits(case);
    let lost = Arc::new(AtomicU64::new(0));
    let (provider, handle) = match case.items {
        Items::Spans => {
            let builder = match case.transport {
                Transport::Official => BatchSpanProcessor::builder(Panicky::new(
                    official_span_exporter(receiver, &worker),
                    case.panic,
                    &lost,
                )),
                _ => match otlpkit_exporter!(
                    otlpkit_grpc::SpanExporter,
                    otlpkit_http::HttpSpanExporter,
                    case,
                    receiver,
                    worker,
                    budget
                ) {
                    Either::Grpc(exporter) => {
                        BatchSpanProcessor::builder(Panicky::new(exporter, case.panic, &lost))
                    }
                    Either::Http(exporter) => {
                        BatchSpanProcessor::builder(Panicky::new(exporter, case.panic, &lost))
                    }
                },
            };
            let processor = configured!(builder, case, worker, stats, timeout)
                .build()
                .unwrap();
            let handle = processor.handle();
            (Provider::Spans(provider(processor)), handle)
        }
        Items::Logs => {
            let builder = match case.transport {
                Transport::Official => BatchLogProcessor::builder(Panicky::new(
                    official_log_exporter(receiver, &worker),
                    case.panic,
                    &lost,
                )),
                _ => match otlpkit_exporter!(
                    otlpkit_grpc::LogExporter,
                    otlpkit_http::HttpLogExporter,
                    case,
                    receiver,
                    worker,
                    budget
                ) {
                    Either::Grpc(exporter) => {
                        BatchLogProcessor::builder(Panicky::new(exporter, case.panic, &lost))
                    }
                    Either::Http(exporter) => {
                        BatchLogProcessor::builder(Panicky::new(exporter, case.panic, &lost))
                    }
                },
            };
            let processor = configured!(builder, case, worker, stats, timeout)
                .build()
                .unwrap();
            let handle = processor.handle();
            let provider = SdkLoggerProvider::builder()
                .with_resource(resource())
                .with_log_processor(processor)
                .build();
            (Provider::Logs(provider), handle)
        }
    };
    Pipeline {
        provider,
        handle,
        worker,
        lost,
    }
}

/// Flush and shutdown, called as the case says.
fn flush_as(
    case: &Case,
    handle: &ProcessorHandle,
    budget: Duration,
) -> Result<FlushReport, ProcessorFlushError> {
    match case.caller {
        Caller::Blocking => handle.flush_within(budget),
        Caller::Async => runtime().block_on(handle.flush_async(budget)),
    }
}

fn shutdown_as(
    case: &Case,
    handle: &ProcessorHandle,
    budget: Duration,
) -> Result<ProcessorShutdownReport, ShutdownError> {
    match case.caller {
        Caller::Blocking => handle.shutdown_within(budget),
        Caller::Async => runtime().block_on(handle.shutdown_async(budget)),
    }
}

/// A runtime of the test's own, for the async twins.
fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap()
}

/// More than the queue charges for one of the test's items, in bytes.
const ITEM_BYTES_MAX: usize = 2_000;

/// The test's own ledger of what it handed to the pipeline.
struct Producer<'a> {
    provider: &'a Provider,
    handle: &'a ProcessorHandle,
    /// Spans ended at a time in `until`: a batch, or one with a request size
    /// limit, so that the batches are small enough to be sent.
    chunk: usize,
    produced: u64,
}

impl Producer<'_> {
    /// `producers` threads produce `per_producer` items each.
    fn round(&mut self, name: &str, producers: usize, per_producer: usize) {
        std::thread::scope(|scope| {
            for producer in 0..producers {
                let provider = self.provider;
                let prefix = format!("{name}p{producer}");
                scope.spawn(move || provider.produce(&prefix, per_producer));
            }
        });
        self.produced += (producers * per_producer) as u64;
    }

    /// Whether the queue has room for one more item, by both bounds.
    fn room(&self) -> bool {
        let queue = self.handle.stats();
        queue.queue_len < queue.queue_capacity
            && queue
                .max_queue_bytes
                .is_none_or(|max| queue.queue_bytes + ITEM_BYTES_MAX <= max)
    }

    /// Produces up to `count` items, one by one, while the queue has room: no
    /// producer waits for room under the block policy, and no item is
    /// refused.
    fn fill(&mut self, name: &str, count: usize) {
        for n in 0..count {
            if !self.room() {
                break;
            }
            self.provider.produce(&format!("{name}{n}"), 1);
            self.produced += 1;
        }
    }

    /// Produces items until `until` holds, a chunk at a time while the queue
    /// has room. After each chunk a short flush starts exports of what is
    /// queued at once (a partial batch would otherwise wait for the
    /// schedule delay, or longer after the timer found the queue empty) and
    /// gives the worker time to take them.
    fn until(&mut self, name: &str, until: impl Fn() -> bool) {
        let deadline = Instant::now() + WAIT;
        let mut n = 0;
        while !until() {
            assert!(
                Instant::now() < deadline,
                "{name}: the condition never held"
            );
            self.fill(&format!("{name}{n}-"), self.chunk);
            n += 1;
            match self.handle.flush_within(Duration::from_millis(30)) {
                Ok(_) | Err(ProcessorFlushError::Unresponsive { .. }) => {}
                Err(error) => panic!("{error}"),
            }
        }
    }
}

/// Replaces whatever is left of the collector's script with holds of
/// `hold`, and produces items until `slots` requests have taken one: then every
/// export slot holds a request that will not be answered (until its client
/// leaves), and nothing in flight can be answered.
fn hold_every_slot(
    signal: Signal,
    receiver: &Receiver,
    handle: &ProcessorHandle,
    producer: &mut Producer<'_>,
    name: &str,
    hold: Duration,
    slots: usize,
) {
    // Nothing in flight, nothing scripted: the holds go to fresh exports,
    // one each.
    handle.flush_within(WAIT).unwrap();
    receiver.clear_faults();
    // Two spare holds: an export that takes one while another is cut and
    // retried is held too.
    receiver.push_faults(signal, Fault::delay(hold), slots + 2);
    producer.until(name, || receiver.pending_faults() <= 2);
}

fn run(case: &Case) {
    let receiver = Receiver::start().unwrap();
    let stats = ExportStats::new();
    let signal = case.items.signal();
    let Pipeline {
        provider,
        handle,
        worker,
        lost,
    } = pipeline(case, &receiver, &stats);
    let mut producer = Producer {
        provider: &provider,
        handle: &handle,
        chunk: if case.max_request.is_some() {
            1
        } else {
            case.batch
        },
        produced: 0,
    };
    // Whether the collector was ever down: batches may then fail without
    // reaching it.
    let mut went_down = false;

    for (index, round) in case.rounds.iter().enumerate() {
        for step in &round.steps {
            receiver.push_fault(signal, step.fault());
        }
        producer.round(&format!("r{index}"), round.producers, round.per_producer);
        match round.event {
            Event::Nothing => {}
            Event::Flush => {
                let report = flush_as(case, &handle, WAIT).unwrap();
                assert!(!report.timed_out, "{report}");
                assert_eq!(report.unsent, 0, "{report}");
            }
            Event::Outage { down_ms } => {
                handle.flush_within(WAIT).unwrap();
                receiver.stop();
                went_down = true;
                producer.round(&format!("o{index}"), round.producers, round.per_producer);
                std::thread::sleep(Duration::from_millis(down_ms));
                receiver.restart().unwrap();
            }
            Event::RestartInFlight { down_ms } => {
                let name = format!("h{index}-");
                let slots = case.concurrency;
                hold_every_slot(
                    signal,
                    &receiver,
                    &handle,
                    &mut producer,
                    &name,
                    MID_HOLD,
                    slots,
                );
                receiver.stop();
                went_down = true;
                receiver.clear_faults();
                producer.round(&format!("d{index}"), round.producers, round.per_producer);
                std::thread::sleep(Duration::from_millis(down_ms));
                receiver.restart().unwrap();
            }
            Event::DropInFlight => {
                handle.flush_within(WAIT).unwrap();
                receiver.clear_faults();
                // The other slots are held; one request drops the connection
                // a little later, when every slot is taken.
                let others = case.concurrency - 1;
                receiver.push_faults(signal, Fault::delay(MID_HOLD), others);
                receiver.push_fault(
                    signal,
                    Fault::drop_connection().after(Duration::from_millis(20)),
                );
                producer.until(&format!("x{index}-"), || receiver.pending_faults() == 0);
            }
            Event::FlushDeadline { budget_ms } => {
                let name = format!("g{index}-");
                let slots = case.concurrency;
                hold_every_slot(
                    signal,
                    &receiver,
                    &handle,
                    &mut producer,
                    &name,
                    MID_HOLD,
                    slots,
                );
                receiver.clear_faults();
                producer.fill(&format!("g{index}q-"), case.batch);
                let before = handle.stats().counters;
                match flush_as(case, &handle, Duration::from_millis(budget_ms)) {
                    Ok(report) => {
                        // Nothing could settle: the flush left everything
                        // where it was and says so.
                        let now = handle.stats();
                        let counted = now.exported() + now.dropped_total();
                        assert!(report.timed_out, "{report}");
                        assert_eq!(
                            (report.exported, report.failed),
                            (0, 0),
                            "{report}\n{}",
                            summary(&receiver)
                        );
                        assert_eq!(report.unsent, producer.produced - counted, "{report}");
                        assert_eq!(now.counters.exported, before.exported, "{report}");
                        assert_eq!(now.dropped_total(), before.dropped_total(), "{report}");
                    }
                    // As for the shutdown below.
                    Err(ProcessorFlushError::Unresponsive { .. }) => {}
                    Err(error) => panic!("{error}"),
                }
            }
        }
    }

    let deadline_case = case.shutdown.cuts();
    // Whether nothing can settle between the reading below and the start
    // of the shutdown, which makes its report exact.
    let mut quiet = deadline_case;
    let budget = match case.shutdown {
        Shutdown::Generous if case.delay >= Duration::from_secs(1) => {
            // Less than a batch waits for the timer, nothing is in flight.
            handle.flush_within(WAIT).unwrap();
            producer.fill("s-", case.batch - 1);
            quiet = true;
            GENEROUS
        }
        Shutdown::Generous => GENEROUS,
        Shutdown::Deadline { queued, .. } | Shutdown::WorkerStopped { queued } => {
            let slots = case.concurrency;
            hold_every_slot(
                signal,
                &receiver,
                &handle,
                &mut producer,
                "f",
                END_HOLD,
                slots,
            );
            // Spans queued behind the held exports, as many as fit.
            producer.fill("q-", queued);
            match case.shutdown {
                Shutdown::Deadline { budget_ms, .. } => Duration::from_millis(budget_ms),
                _ => GENEROUS,
            }
        }
    };
    let before = handle.stats().counters;
    if let Shutdown::WorkerStopped { .. } = case.shutdown {
        // Its tasks are dropped at once. A blocking export thread may not
        // notice that the runtime under its call is gone: the runtime's
        // thread is then detached rather than waited for.
        match worker.shutdown(Duration::from_millis(100)) {
            Ok(()) | Err(otlpkit_bridge::BridgeError::Timeout(_)) => {}
            Err(error) => panic!("{error}"),
        }
    }
    let report = match shutdown_as(case, &handle, budget) {
        Ok(report) => Some(report),
        // The worker answers a little before the caller's deadline; on a
        // loaded machine it may answer after it. It still settles
        // everything, as soon as it runs again.
        Err(ShutdownError::Unresponsive { .. }) if deadline_case => {
            let settled = Instant::now() + WAIT;
            while handle.stats().pending() > 0 {
                assert!(
                    Instant::now() < settled,
                    "never settled: {}",
                    handle.stats()
                );
                std::thread::sleep(Duration::from_millis(5));
            }
            None
        }
        // The stopped worker counted what it held, and the shutdown what
        // was queued since: all of it as dropped at the deadline.
        Err(ShutdownError::WorkerGone { dropped })
            if matches!(case.shutdown, Shutdown::WorkerStopped { .. }) =>
        {
            let now = handle.stats();
            assert_eq!(dropped, now.dropped(DropReason::ShutdownDeadline), "{now}");
            None
        }
        Err(error) => panic!("{error}"),
    };
    if let Shutdown::WorkerStopped { .. } = case.shutdown {
        assert!(report.is_none(), "{report:?}");
    }
    // Items produced after the shutdown are refused and counted.
    producer.round("late", 1, case.late);
    let produced = producer.produced;
    // A send that a blocking export call left running at the deadline is
    // counted by the exporter's own shutdown, which may still be running
    // when the processor's returns (it is not waited for past the
    // deadline): give it time to count (a hang guard, not a threshold).
    let cut_by_exporter = case.shutdown.cuts() && case.blocking && case.transport.counts_itself();
    if cut_by_exporter {
        let settled = Instant::now() + WAIT;
        while handle.stats().exported() + handle.stats().dropped_total() < produced {
            if Instant::now() >= settled {
                break;
            }
            std::thread::sleep(Duration::from_millis(5));
        }
    }
    let after = handle.stats();
    let totals = &after.counters;

    // Everything the receiver recorded is final once it is stopped: a
    // request still held is recorded as abandoned.
    receiver.stop();
    let collector = Collector::judge(&receiver.requests_for(signal), case.transport);
    let context = format!("{after}\n{report:?}\n{collector:?}\n{}", summary(&receiver));

    // otlpkit's ledger balances: every item is counted once.
    assert_eq!(after.received(), produced, "{context}");
    assert_eq!(after.pending(), 0, "{context}");
    assert_eq!(
        after.exported() + after.dropped_total(),
        produced,
        "{context}"
    );

    // It agrees with the collector's, reason by reason.
    assert_eq!(totals.exported, collector.delivered, "{context}");
    assert_eq!(
        totals.dropped(DropReason::RejectedByServer),
        collector.rejected,
        "{context}"
    );
    assert_eq!(
        totals.partial_successes, collector.partial_answers,
        "{context}"
    );
    assert_eq!(
        totals.dropped(DropReason::NonRetryable),
        collector.refused,
        "{context}"
    );
    // A batch that failed at its last attempt was given up by the exporter;
    // batches may also fail without reaching the collector while it is down.
    let given_up = totals.dropped(DropReason::RetriesExhausted);
    if went_down {
        assert!(given_up >= collector.given_up, "{context}");
    } else {
        assert_eq!(given_up, collector.given_up, "{context}");
    }
    // Batches held at the shutdown deadline, and whatever was still queued.
    let cut = totals.dropped(DropReason::ShutdownDeadline);
    if deadline_case {
        assert!(
            report.as_ref().is_none_or(|r| r.flush.timed_out),
            "{context}"
        );
        assert!(cut > collector.cut_at_deadline, "{context}");
    } else {
        assert!(!report.as_ref().unwrap().flush.timed_out, "{context}");
        assert_eq!(cut, 0, "{context}");
        assert_eq!(collector.cut_at_deadline, 0, "{context}");
    }
    // otlpkit's exporters count their attempts: one success per accepted
    // batch, every failure the collector answered (and those it could not
    // answer), every throttling hint, and a failure ending the retries of
    // each refused batch.
    if case.transport.counts_itself() {
        assert_eq!(
            totals.requests,
            collector.accepted_batches + totals.failed_attempts,
            "{context}"
        );
        assert!(
            totals.failed_attempts >= collector.failed_answers,
            "{context}"
        );
        assert_eq!(totals.throttled, collector.throttled_answers, "{context}");
        assert!(
            totals.failed_attempts - totals.retries >= collector.refused_batches,
            "{context}"
        );
    }
    // Batches over the request size limit are never sent.
    match case.max_request {
        Some(limit) => {
            for request in receiver.requests_for(signal) {
                assert!(request.decoded_size <= limit, "{request:?}: {context}");
            }
        }
        None => assert_eq!(totals.dropped(DropReason::Oversized), 0, "{context}"),
    }
    // The queue gave back every byte it charged.
    assert_eq!(after.queue_bytes, 0, "{context}");
    // What an injected panic lost, and nothing else.
    assert_eq!(
        totals.dropped(DropReason::Internal),
        lost.load(Ordering::SeqCst),
        "{context}"
    );
    assert_eq!(
        totals.dropped(DropReason::AfterShutdown),
        case.late as u64,
        "{context}"
    );

    // The queue's own reasons: only the policy's, and only while producers
    // were producing (none during the shutdown).
    let queue_reasons = [
        DropReason::QueueFull,
        DropReason::EvictedOldest,
        DropReason::BlockTimeout,
    ];
    let own = match case.policy {
        OverflowPolicy::DropNewest => DropReason::QueueFull,
        OverflowPolicy::DropOldest => DropReason::EvictedOldest,
        _ => DropReason::BlockTimeout,
    };
    for reason in queue_reasons {
        if reason != own {
            assert_eq!(totals.dropped(reason), 0, "{reason}: {context}");
        }
        assert_eq!(
            totals.dropped(reason),
            before.dropped(reason),
            "{reason} during shutdown: {context}"
        );
    }

    // The shutdown report tells what the shutdown settled.
    if let Some(report) = &report {
        // Nothing was left for the exporter's own shutdown to cut, except,
        // at the deadline, a send that a blocking export call left running
        // on the worker: the exporter's shutdown cuts it (counted as
        // dropped at the deadline) and says it timed out.
        if !cut_by_exporter {
            assert_eq!(report.flush.exporter_error, None, "{context}");
        }
        // The report's totals are read when the processor's shutdown
        // returns: the exporter's shutdown may count such a send later.
        // The report's own numbers are exact, against the final counters,
        // unless the exporter's shutdown outlasted the deadline (it then
        // reported no error: it had not returned): the report then says
        // what the counters said at the deadline, and the exporter counts
        // what it still held as it finishes.
        let counted_late = cut_by_exporter && report.flush.exporter_error.is_none();
        let settled = if cut_by_exporter {
            assert!(
                report.totals.exported() + report.totals.dropped_total()
                    <= after.exported() + after.dropped_total(),
                "{context}"
            );
            totals
        } else {
            &report.totals.counters
        };
        check_report(&report.flush, &before, settled, quiet, counted_late);
        assert_eq!(
            report.totals.counters.dropped(DropReason::AfterShutdown),
            0,
            "{context}"
        );
    }
    drop(provider);
}

/// The report of the shutdown against the counters before and after it.
/// Exact when the deadline was reached (every export in flight was held,
/// nothing settled between the two readings); otherwise exports in flight
/// may settle before the shutdown starts counting. `counted_late`: the
/// exporter's own shutdown outlasted the deadline and may have counted
/// what it held after the report.
fn check_report(
    flush: &otlpkit_batch::FlushReport,
    before: &SignalStatsSnapshot,
    after: &SignalStatsSnapshot,
    exact: bool,
    counted_late: bool,
) {
    let failed = |s: &SignalStatsSnapshot| {
        [
            DropReason::NonRetryable,
            DropReason::RetriesExhausted,
            DropReason::RejectedByServer,
            DropReason::Oversized,
            DropReason::Internal,
        ]
        .into_iter()
        .map(|reason| s.dropped(reason))
        .sum::<u64>()
    };
    let exported = after.exported - before.exported;
    let failed = failed(after) - failed(before);
    let unsent =
        after.dropped(DropReason::ShutdownDeadline) - before.dropped(DropReason::ShutdownDeadline);
    if counted_late {
        assert!(
            flush.exported <= exported && flush.failed <= failed && flush.unsent <= unsent,
            "{flush}: exported {exported}, failed {failed}, unsent {unsent}"
        );
    } else if exact {
        assert_eq!(
            (flush.exported, flush.failed, flush.unsent),
            (exported, failed, unsent),
            "{flush}"
        );
    } else {
        assert!(
            flush.exported <= exported && flush.failed <= failed && flush.unsent == unsent,
            "{flush}: exported {exported}, failed {failed}, unsent {unsent}"
        );
    }
}

// --- The collector's ledger ----------------------------------------------------------------

/// What the receiver's records say became of the items it saw, each batch
/// judged once, by the last answer it got.
#[derive(Debug, Default)]
struct Collector {
    /// Spans the collector kept and did not report as rejected.
    delivered: u64,
    /// Spans reported as rejected in a partial success (the count the
    /// collector sent, capped to the batch, negative as none).
    rejected: u64,
    /// Partial-success answers.
    partial_answers: u64,
    /// Spans of batches refused with a non-retryable status.
    refused: u64,
    /// Spans of batches whose last attempt failed in a retryable way: an
    /// error status, a dropped connection, a stall cut by a time limit or a
    /// restart.
    given_up: u64,
    /// Spans of batches held when the shutdown deadline passed.
    cut_at_deadline: u64,
    /// Batches accepted (each by exactly one request).
    accepted_batches: u64,
    /// Batches refused with a non-retryable status.
    refused_batches: u64,
    /// Requests answered with an error status or a dropped connection.
    failed_answers: u64,
    /// Requests answered with a throttling hint.
    throttled_answers: u64,
}

impl Collector {
    fn judge(requests: &[std::sync::Arc<RecordedRequest>], transport: Transport) -> Self {
        // A retry resends the same batch: group the requests by their items.
        let mut batches: BTreeMap<Vec<String>, Vec<&RecordedRequest>> = BTreeMap::new();
        for request in requests {
            batches
                .entry(item_names(request))
                .or_default()
                .push(request);
        }
        let mut collector = Collector::default();
        let mut seen = HashSet::new();
        for (names, attempts) in &batches {
            for name in names {
                assert!(seen.insert(name), "{name} sent in two different batches");
            }
            for attempt in attempts {
                match &attempt.answer {
                    Answer::GrpcStatus {
                        code: Code::ResourceExhausted,
                        ..
                    }
                    | Answer::HttpStatus { status: 429, .. } => {
                        collector.failed_answers += 1;
                        collector.throttled_answers += 1;
                    }
                    Answer::GrpcStatus { .. }
                    | Answer::HttpStatus { .. }
                    | Answer::ConnectionDropped => collector.failed_answers += 1,
                    _ => {}
                }
            }
            let items = names.len() as u64;
            let last = attempts.last().expect("a batch has a request");
            // Each answer reached the exporter (or came after it left), so
            // a batch is accepted at most once, by its last request.
            for attempt in &attempts[..attempts.len() - 1] {
                assert!(
                    !attempt.answer.is_success(),
                    "batch accepted, then sent again: {attempts:#?}"
                );
            }
            if last.answer.is_success() {
                collector.accepted_batches += 1;
            }
            match &last.answer {
                Answer::Ok => collector.delivered += items,
                Answer::PartialSuccess { rejected, message } => {
                    if transport.counts_itself() {
                        // The wire's int64: negative means none; without a
                        // message either, it is a full success.
                        let rejected = u64::try_from(*rejected).unwrap_or(0);
                        if rejected > 0 || !message.is_empty() {
                            collector.partial_answers += 1;
                        }
                        let rejected = rejected.min(items);
                        collector.delivered += items - rejected;
                        collector.rejected += rejected;
                    } else {
                        // The official exporter logs partial success and
                        // reports success.
                        collector.delivered += items;
                    }
                }
                Answer::GrpcStatus {
                    code: Code::InvalidArgument,
                    ..
                }
                | Answer::HttpStatus { status: 400, .. } => {
                    collector.refused += items;
                    collector.refused_batches += 1;
                }
                Answer::Abandoned if last.delay == END_HOLD => collector.cut_at_deadline += items,
                Answer::GrpcStatus {
                    code: Code::Unavailable | Code::ResourceExhausted,
                    ..
                }
                | Answer::HttpStatus {
                    status: 429 | 503, ..
                }
                | Answer::ConnectionDropped
                | Answer::Abandoned => collector.given_up += items,
                other => panic!("an answer the schedule never gives: {other}"),
            }
        }
        collector
    }
}

/// The sorted names of the items of a request (a span's name, a log
/// record's body), checking that each is intact: its attributes and
/// resource are the ones it was produced with.
fn item_names(request: &RecordedRequest) -> Vec<String> {
    let mut names = Vec::new();
    match &request.payload {
        Some(Payload::Traces(payload)) => {
            for resource_spans in &payload.resource_spans {
                check_resource(resource_spans.resource.as_ref(), request);
                for span in resource_spans
                    .scope_spans
                    .iter()
                    .flat_map(|scope| &scope.spans)
                {
                    names.push(intact(&span.name, &span.attributes));
                }
            }
        }
        Some(Payload::Logs(payload)) => {
            for resource_logs in &payload.resource_logs {
                check_resource(resource_logs.resource.as_ref(), request);
                for record in resource_logs
                    .scope_logs
                    .iter()
                    .flat_map(|scope| &scope.log_records)
                {
                    let body = record.body.as_ref().and_then(|body| body.value.as_ref());
                    let Some(Value::StringValue(name)) = body else {
                        panic!("a record without its body: {record:?}");
                    };
                    names.push(intact(name, &record.attributes));
                }
            }
        }
        _ => panic!("an undecoded request: {request:?}"),
    }
    names.sort();
    assert!(!names.is_empty(), "an empty request: {request:?}");
    names
}

fn check_resource(resource: Option<&ProtoResource>, request: &RecordedRequest) {
    let service = resource
        .iter()
        .flat_map(|resource| &resource.attributes)
        .find(|attribute| attribute.key == "service.name")
        .and_then(|attribute| attribute.value.as_ref()?.value.as_ref());
    assert_eq!(
        service,
        Some(&Value::StringValue("batch-tests".into())),
        "{request:?}"
    );
}

/// `name`, checked against the attributes it was produced with.
fn intact(name: &str, attributes: &[KeyValue]) -> String {
    let attribute = |key: &str| {
        attributes
            .iter()
            .find(|attribute| attribute.key == key)
            .and_then(|attribute| attribute.value.as_ref()?.value.clone())
    };
    let (prefix, index) = name.rsplit_once('-').expect("a produced name");
    assert_eq!(
        attribute("producer"),
        Some(Value::StringValue(prefix.to_owned())),
        "{name}: {attributes:?}"
    );
    assert_eq!(
        attribute("index"),
        Some(Value::IntValue(index.parse().unwrap())),
        "{name}: {attributes:?}"
    );
    assert_eq!(
        attribute("payload"),
        Some(Value::StringValue("x".into())),
        "{name}: {attributes:?}"
    );
    name.to_owned()
}

/// What the receiver recorded, one line per request, for failure messages.
fn summary(receiver: &Receiver) -> String {
    receiver
        .requests()
        .iter()
        .map(|request| {
            let line = otlpkit_testkit::Summary::new(request).to_string();
            let line = line.lines().next().unwrap_or_default().to_owned();
            format!("{line} (fault delay {:?})\n", request.delay)
        })
        .collect()
}

/// `PROPTEST_CASES` and `PROPTEST_MAX_SHRINK_ITERS` (read here because the
/// configuration below sets both).
fn from_env(variable: &str, default: u32) -> u32 {
    std::env::var(variable)
        .ok()
        .and_then(|value| value.parse().ok())
        .unwrap_or(default)
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: from_env("PROPTEST_CASES", DEFAULT_CASES),
        failure_persistence: None,
        // A failing case is reported nearly as found: shrinking replays
        // slow cases.
        max_shrink_iters: from_env("PROPTEST_MAX_SHRINK_ITERS", 4),
        ..ProptestConfig::default()
    })]

    #[test]
    fn every_item_is_delivered_or_dropped_under_one_reason(case in case()) {
        run(&case);
    }
}
