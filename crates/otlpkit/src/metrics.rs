//! The metric side of the pipeline: the export timeout of the periodic
//! reader, and the view that applies the histogram aggregation and the
//! cardinality limit.

use std::fmt;
use std::future::{Future, poll_fn};
use std::pin::{Pin, pin};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::task::Poll;
use std::time::{Duration, Instant};

use opentelemetry_sdk::error::{OTelSdkError, OTelSdkResult};
use opentelemetry_sdk::metrics::data::{AggregatedMetrics, MetricData, ResourceMetrics};
use opentelemetry_sdk::metrics::exporter::PushMetricExporter;
use opentelemetry_sdk::metrics::{Aggregation, Instrument, InstrumentKind, Stream, Temporality};
use otlpkit_bridge::WorkerRuntime;
use otlpkit_core::{ExemplarFilter, HistogramAggregation, MetricReaderConfig, Source, vars};

use crate::error::InitWarning;

/// A metric exporter whose `export` returns by `timeout`
/// (`OTEL_METRIC_EXPORT_TIMEOUT`, checklist 3.10), which the SDK's periodic
/// reader does not enforce itself.
///
/// The timer runs on the shared export worker, so the future still needs
/// no runtime of its own. When it fires, the reader gets
/// [`OTelSdkError::Timeout`] carrying the budget that ran out (the export
/// timeout, or the whole shutdown timeout), and goes on with its schedule;
/// otlpkit's exporters settle the abandoned request on their own: it is
/// delivered, or its data points are counted as dropped, whatever becomes
/// of it (the exporter's shutdown deadline, the worker stopping).
///
/// Once the guard's shutdown has begun, exports also return by its deadline
/// ([`ShutdownDeadline`]), since the SDK's meter provider ignores the
/// shutdown timeout it is given.
///
/// The exporter it wraps is behind a trait object: the SDK's periodic
/// reader, generic over its exporter, is then compiled once for the console
/// and the OTLP metric exporters (and this wrapper with it).
pub(crate) struct TimeoutExporter {
    inner: Box<dyn DynMetricExporter>,
    timeout: Option<Duration>,
    deadline: ShutdownDeadline,
    worker: WorkerRuntime,
    own_points: Option<OwnMetricPoints>,
    saturated: Option<SaturatedValues>,
}

impl fmt::Debug for TimeoutExporter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TimeoutExporter")
            .field("timeout", &self.timeout)
            .field("deadline", &self.deadline)
            .field("worker", &self.worker)
            .field("own_points", &self.own_points)
            .field("saturated", &self.saturated)
            .finish_non_exhaustive()
    }
}

/// The future of an export through [`DynMetricExporter`].
type ExportFuture<'a> = Pin<Box<dyn Future<Output = OTelSdkResult> + Send + 'a>>;

/// [`PushMetricExporter`] as a trait object (its `export` returns an opaque
/// future, so it is not object-safe itself).
trait DynMetricExporter: Send + Sync + 'static {
    fn dyn_export<'a>(&'a self, metrics: &'a ResourceMetrics) -> ExportFuture<'a>;
    fn dyn_force_flush(&self) -> OTelSdkResult;
    fn dyn_shutdown_with_timeout(&self, timeout: Duration) -> OTelSdkResult;
    fn dyn_temporality(&self) -> Temporality;
}

impl<E: PushMetricExporter> DynMetricExporter for E {
    fn dyn_export<'a>(&'a self, metrics: &'a ResourceMetrics) -> ExportFuture<'a> {
        Box::pin(PushMetricExporter::export(self, metrics))
    }

    fn dyn_force_flush(&self) -> OTelSdkResult {
        PushMetricExporter::force_flush(self)
    }

    fn dyn_shutdown_with_timeout(&self, timeout: Duration) -> OTelSdkResult {
        PushMetricExporter::shutdown_with_timeout(self, timeout)
    }

    fn dyn_temporality(&self) -> Temporality {
        PushMetricExporter::temporality(self)
    }
}

/// The data points of otlpkit's own metrics (scope `otlpkit`) handed to the
/// OTLP metric exporter, so that the shutdown report can tell them from the
/// application's.
#[derive(Debug, Clone, Default)]
pub(crate) struct OwnMetricPoints(Arc<AtomicU64>);

impl OwnMetricPoints {
    pub(crate) fn get(&self) -> u64 {
        self.0.load(Ordering::Relaxed)
    }

    fn count(&self, metrics: &ResourceMetrics) {
        let points: usize = metrics
            .scope_metrics()
            .filter(|scope| scope.scope().name() == OWN_SCOPE)
            .flat_map(|scope| scope.metrics())
            .map(|metric| match metric.data() {
                AggregatedMetrics::F64(data) => data_points(data),
                AggregatedMetrics::U64(data) => data_points(data),
                AggregatedMetrics::I64(data) => data_points(data),
            })
            .sum();
        self.0.fetch_add(points as u64, Ordering::Relaxed);
    }
}

/// The `u64` data point values above `i64::MAX` handed to the OTLP metric
/// exporter, which writes them as `i64::MAX`: OTLP's `NumberDataPoint`
/// holds only an `int64` (`as_int`) or a `double`. Counted once per export
/// of such a value (a cumulative value is exported again at every
/// collection), said once through otlpkit's diagnostics, and reported at
/// shutdown (`ShutdownReport::saturated_metric_values`).
#[derive(Debug, Clone, Default)]
pub(crate) struct SaturatedValues(Arc<AtomicU64>);

impl SaturatedValues {
    pub(crate) fn get(&self) -> u64 {
        self.0.load(Ordering::Relaxed)
    }

    fn count(&self, metrics: &ResourceMetrics) {
        let mut first = None;
        let mut found = 0u64;
        for metric in metrics.scope_metrics().flat_map(|scope| scope.metrics()) {
            let AggregatedMetrics::U64(data) = metric.data() else {
                continue;
            };
            let mut values: Box<dyn Iterator<Item = u64> + '_> = match data {
                MetricData::Gauge(gauge) => Box::new(gauge.data_points().map(|p| p.value())),
                MetricData::Sum(sum) => Box::new(sum.data_points().map(|p| p.value())),
                // A histogram's sum, min and max are doubles.
                _ => continue,
            };
            for value in values
                .by_ref()
                .filter(|value| i64::try_from(*value).is_err())
            {
                found += 1;
                first.get_or_insert((metric.name(), value));
            }
        }
        let Some((name, value)) = first else {
            return;
        };
        if self.0.fetch_add(found, Ordering::Relaxed) == 0 {
            otlpkit_core::diag::emit(
                otlpkit_core::LogLevel::Warn,
                format_args!(
                    "metrics: the u64 value {value} of `{name}` is above i64::MAX, the largest \
                     integer an OTLP data point holds, and is exported as i64::MAX \
                     ({found} such value(s) in this export); further ones are counted, not \
                     logged, and reported at shutdown"
                ),
            );
        }
    }
}

/// The instrumentation scope of otlpkit's own metrics.
pub(crate) const OWN_SCOPE: &str = "otlpkit";

fn data_points<T>(data: &MetricData<T>) -> usize {
    match data {
        MetricData::Gauge(gauge) => gauge.data_points().count(),
        MetricData::Sum(sum) => sum.data_points().count(),
        MetricData::Histogram(histogram) => histogram.data_points().count(),
        MetricData::ExponentialHistogram(histogram) => histogram.data_points().count(),
    }
}

impl TimeoutExporter {
    pub(crate) fn new(
        inner: impl PushMetricExporter,
        timeout: Option<Duration>,
        deadline: ShutdownDeadline,
        worker: WorkerRuntime,
    ) -> Self {
        Self {
            inner: Box::new(inner),
            timeout,
            deadline,
            worker,
            own_points: None,
            saturated: None,
        }
    }

    /// Counts otlpkit's own data points in what this exporter is handed.
    pub(crate) fn counting_own_points(mut self, points: OwnMetricPoints) -> Self {
        self.own_points = Some(points);
        self
    }

    /// Counts (and says once) the `u64` values above `i64::MAX` in what
    /// this exporter is handed, which OTLP carries as `i64::MAX`.
    pub(crate) fn counting_saturated(mut self, saturated: SaturatedValues) -> Self {
        self.saturated = Some(saturated);
        self
    }

    /// The time the next export may take, and the budget to report when
    /// it runs out: the export timeout, or the whole shutdown timeout once
    /// the shutdown deadline is the nearer limit.
    fn limit(&self) -> Option<Limit> {
        let export = self.timeout.map(|timeout| Limit {
            wait: timeout,
            budget: timeout,
            shutdown: false,
        });
        let shutdown = self.deadline.remaining().map(|(left, timeout)| Limit {
            wait: left,
            budget: timeout,
            shutdown: true,
        });
        match (export, shutdown) {
            (Some(export), Some(shutdown)) if shutdown.wait < export.wait => Some(shutdown),
            (export, shutdown) => export.or(shutdown),
        }
    }
}

/// How long an export may run, and the budget to name when it runs out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Limit {
    wait: Duration,
    budget: Duration,
    /// Whether the limit is the guard's shutdown deadline.
    shutdown: bool,
}

/// The guard's shutdown deadline and timeout, once its shutdown has begun;
/// shared with the metric exporters, which say when it cut an export short.
#[derive(Debug, Clone, Default)]
pub(crate) struct ShutdownDeadline(Arc<DeadlineState>);

#[derive(Debug, Default)]
struct DeadlineState {
    set: OnceLock<(Instant, Duration)>,
    cut_an_export_short: std::sync::atomic::AtomicBool,
}

impl ShutdownDeadline {
    /// The shutdown began with `timeout`, ending at `deadline`.
    pub(crate) fn set(&self, deadline: Instant, timeout: Duration) {
        // Only the first shutdown sets it; later calls change nothing.
        let _ = self.0.set.set((deadline, timeout));
    }

    /// The time left before the deadline, and the shutdown timeout.
    fn remaining(&self) -> Option<(Duration, Duration)> {
        self.0.set.get().map(|(deadline, timeout)| {
            (deadline.saturating_duration_since(Instant::now()), *timeout)
        })
    }

    /// Whether an export returned because the deadline passed: the SDK's
    /// periodic reader then reports its shutdown as `Failed to shutdown`,
    /// which names no timeout.
    pub(crate) fn cut_an_export_short(&self) -> bool {
        self.0
            .cut_an_export_short
            .load(std::sync::atomic::Ordering::Acquire)
    }

    fn record_cut_short(&self) {
        self.0
            .cut_an_export_short
            .store(true, std::sync::atomic::Ordering::Release);
    }
}

/// Aborts the timer task when the export finishes first, so no sleeping
/// task keeps the worker busy at shutdown.
struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

impl PushMetricExporter for TimeoutExporter {
    fn export(&self, metrics: &ResourceMetrics) -> impl Future<Output = OTelSdkResult> + Send {
        if let Some(points) = &self.own_points {
            points.count(metrics);
        }
        if let Some(saturated) = &self.saturated {
            saturated.count(metrics);
        }
        let inner = &*self.inner;
        let limit = self.limit();
        let worker = self.worker.clone();
        let deadline = &self.deadline;
        // The inner exporter is called on the first poll (at once: the
        // reader blocks on the future), inside the block, so that its
        // future may borrow both `self` and `metrics`.
        async move {
            let export = inner.dyn_export(metrics);
            let Some(Limit {
                wait,
                budget,
                shutdown,
            }) = limit
            else {
                return export.await;
            };
            // The sleep is created on the worker: it needs the worker's timer.
            let mut timer =
                AbortOnDrop(worker.spawn(async move { tokio::time::sleep(wait).await }));
            let mut export = pin!(export);
            poll_fn(|cx| {
                if let Poll::Ready(result) = export.as_mut().poll(cx) {
                    return Poll::Ready(result);
                }
                match std::pin::Pin::new(&mut timer.0).poll(cx) {
                    // The timer fired, or the worker is gone: either way the
                    // reader must not wait any longer.
                    Poll::Ready(_) => {
                        if shutdown {
                            deadline.record_cut_short();
                        }
                        Poll::Ready(Err(OTelSdkError::Timeout(budget)))
                    }
                    Poll::Pending => Poll::Pending,
                }
            })
            .await
        }
    }

    fn force_flush(&self) -> OTelSdkResult {
        self.inner.dyn_force_flush()
    }

    fn shutdown_with_timeout(&self, timeout: Duration) -> OTelSdkResult {
        // The periodic reader passes its own timeout (5 s by default), not
        // the guard's: a send still held by the collector must be settled
        // by the guard's deadline, so that the signal's shutdown finishes
        // in time and reports it.
        let timeout = self
            .deadline
            .remaining()
            .map_or(timeout, |(left, _)| timeout.min(left));
        self.inner.dyn_shutdown_with_timeout(timeout)
    }

    fn temporality(&self) -> Temporality {
        self.inner.dyn_temporality()
    }
}

/// Warnings for reader settings `opentelemetry_sdk` 0.33 cannot apply: it
/// records no exemplars, so only the `always_off` exemplar filter is
/// honoured.
pub(crate) fn unsupported_settings(config: &MetricReaderConfig, warnings: &mut Vec<InitWarning>) {
    let filter = config.exemplar_filter();
    if filter != ExemplarFilter::AlwaysOff && config.sources().exemplar_filter != Source::Default {
        warnings.push(InitWarning::Unsupported {
            setting: vars::OTEL_METRICS_EXEMPLAR_FILTER,
            value: filter.to_string(),
            instead: "opentelemetry_sdk records no exemplars, so metrics are exported without them",
        });
    }
}

/// The SDK view implementing the reader configuration's histogram
/// aggregation (checklist 3.11b) and cardinality limit (3.12), or `None`
/// when both are the SDK's defaults.
///
/// It is one view for every instrument: the SDK makes one stream per
/// matching view, so two views would duplicate the metrics.
///
/// The streams it gives are built once here first: should the SDK refuse
/// one (core bounds the limit to what the SDK accepts, so it does not
/// today), the refusal is an [`InitWarning`] naming the setting and its
/// value, and no view is installed, rather than a view that leaves each
/// instrument to the SDK's default stream without a word.
pub(crate) fn view(
    config: &MetricReaderConfig,
    warnings: &mut Vec<InitWarning>,
) -> Option<impl Fn(&Instrument) -> Option<Stream> + Send + Sync + 'static> {
    let exponential =
        config.histogram_aggregation() == HistogramAggregation::Base2ExponentialBucketHistogram;
    let limit = config.cardinality_limit();
    if !exponential && limit == MetricReaderConfig::DEFAULT_CARDINALITY_LIMIT {
        return None;
    }
    let stream = move |histogram: bool| {
        let mut stream = Stream::builder().with_cardinality_limit(limit);
        if exponential && histogram {
            stream = stream.with_aggregation(Aggregation::Base2ExponentialHistogram {
                max_size: 160,
                max_scale: 20,
                record_min_max: true,
            });
        }
        stream.build()
    };
    for histogram in [false, true] {
        if stream(histogram).is_err() {
            warnings.push(refused_view(config, histogram && exponential));
            return None;
        }
    }
    // Built as above, so it builds again: same inputs, same checks.
    Some(move |instrument: &Instrument| stream(instrument.kind() == InstrumentKind::Histogram).ok())
}

/// The warning for a view the SDK refused: the setting that made it.
fn refused_view(config: &MetricReaderConfig, histogram: bool) -> InitWarning {
    let instead = "opentelemetry_sdk refused the metric stream built from it, so otlpkit installs no view: every instrument gets the SDK's default stream (cardinality limit 2000, explicit-bucket histograms)";
    if histogram {
        InitWarning::Unsupported {
            setting: config
                .sources()
                .histogram_aggregation
                .var()
                .unwrap_or("MetricReaderConfigBuilder::with_histogram_aggregation"),
            value: config.histogram_aggregation().to_string(),
            instead,
        }
    } else {
        InitWarning::Unsupported {
            setting: "MetricReaderConfigBuilder::with_cardinality_limit",
            value: config.cardinality_limit().to_string(),
            instead,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    #[cfg(feature = "console-exporters")]
    use crate::console::{ConsoleMetricExporter, SharedBuffer};
    use opentelemetry::metrics::MeterProvider as _;
    use opentelemetry_sdk::metrics::{PeriodicReader, SdkMeterProvider};
    use std::sync::atomic::{AtomicUsize, Ordering};

    /// Polls `future` on this thread until it completes.
    fn block_on_thread<F: Future>(future: F) -> F::Output {
        struct Unpark(std::thread::Thread);
        impl std::task::Wake for Unpark {
            fn wake(self: Arc<Self>) {
                self.0.unpark();
            }
        }
        let waker = std::task::Waker::from(Arc::new(Unpark(std::thread::current())));
        let mut context = std::task::Context::from_waker(&waker);
        let mut future = pin!(future);
        loop {
            if let Poll::Ready(output) = future.as_mut().poll(&mut context) {
                return output;
            }
            std::thread::park();
        }
    }

    /// Runs `f` on a thread; fails the test if it has not returned after a
    /// minute (it would hang forever without the timeout under test).
    fn returns_within_a_minute<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || tx.send(f()));
        rx.recv_timeout(Duration::from_secs(60))
            .expect("the export did not return")
    }

    /// An exporter whose export never finishes.
    #[derive(Debug, Default)]
    struct Stuck {
        calls: Arc<AtomicUsize>,
    }

    impl PushMetricExporter for Stuck {
        fn export(&self, _: &ResourceMetrics) -> impl Future<Output = OTelSdkResult> + Send {
            self.calls.fetch_add(1, Ordering::SeqCst);
            std::future::pending()
        }
        fn force_flush(&self) -> OTelSdkResult {
            Ok(())
        }
        fn shutdown_with_timeout(&self, _: Duration) -> OTelSdkResult {
            Ok(())
        }
        fn temporality(&self) -> Temporality {
            Temporality::Cumulative
        }
    }

    // checklist 3.10
    #[test]
    fn a_stuck_export_returns_a_timeout_by_the_reader_deadline() {
        let worker = WorkerRuntime::start("otlpkit-test-timer").unwrap();
        let stuck = Stuck::default();
        let calls = Arc::clone(&stuck.calls);
        let exporter = TimeoutExporter::new(
            stuck,
            Some(Duration::from_millis(50)),
            ShutdownDeadline::default(),
            worker.clone(),
        );
        let provider = SdkMeterProvider::builder()
            .with_reader(PeriodicReader::builder(exporter).build())
            .build();
        provider.meter("m").u64_counter("c").build().add(1, &[]);
        let flushing = provider.clone();
        let result = returns_within_a_minute(move || flushing.force_flush());
        assert!(result.is_err(), "{result:?}");
        assert_eq!(calls.load(Ordering::SeqCst), 1);
        let _ = provider.shutdown();
        worker.shutdown(Duration::from_secs(1)).unwrap();
    }

    #[test]
    fn once_shutdown_began_a_stuck_export_returns_by_its_deadline() {
        let worker = WorkerRuntime::start("otlpkit-test-timer").unwrap();
        let deadline = ShutdownDeadline::default();
        let exporter =
            TimeoutExporter::new(Stuck::default(), None, deadline.clone(), worker.clone());
        assert_eq!(exporter.limit(), None);
        let budget = Duration::from_millis(50);
        deadline.set(Instant::now() + budget, budget);
        // The wait shrinks with the time left; the budget reported is the
        // shutdown timeout, never the nothing that is left of it.
        assert!(
            exporter
                .limit()
                .is_some_and(|limit| limit.wait <= budget && limit.budget == budget)
        );
        // A later deadline does not move the first one.
        deadline.set(
            Instant::now() + Duration::from_secs(3600),
            Duration::from_secs(3600),
        );
        assert!(
            exporter
                .limit()
                .is_some_and(|limit| limit.wait <= budget && limit.budget == budget)
        );
        let provider = SdkMeterProvider::builder()
            .with_reader(PeriodicReader::builder(exporter).build())
            .build();
        provider.meter("m").u64_counter("c").build().add(1, &[]);
        let flushing = provider.clone();
        assert!(returns_within_a_minute(move || flushing.force_flush()).is_err());
        // The error names the shutdown timeout, not what was left of it.
        std::thread::sleep(budget);
        let direct = TimeoutExporter::new(Stuck::default(), None, deadline, worker.clone());
        let result = returns_within_a_minute(move || {
            let metrics = ResourceMetrics::default();
            block_on_thread(direct.export(&metrics))
        });
        assert!(
            matches!(result, Err(OTelSdkError::Timeout(limit)) if limit == budget),
            "{result:?}"
        );
        let _ = provider.shutdown();
        worker.shutdown(Duration::from_secs(1)).unwrap();
    }

    #[cfg(feature = "console-exporters")]
    #[test]
    fn without_a_timeout_the_export_result_passes_through() {
        let worker = WorkerRuntime::start("otlpkit-test-timer").unwrap();
        let buffer = SharedBuffer::default();
        let exporter = TimeoutExporter::new(
            ConsoleMetricExporter::to_writer(buffer.clone()),
            None,
            ShutdownDeadline::default(),
            worker.clone(),
        );
        let provider = SdkMeterProvider::builder()
            .with_reader(PeriodicReader::builder(exporter).build())
            .build();
        provider.meter("m").u64_counter("c").build().add(5, &[]);
        provider.force_flush().unwrap();
        assert!(
            buffer.contents().contains("metric c {} 5"),
            "{}",
            buffer.contents()
        );
        provider.shutdown().unwrap();
        worker.shutdown(Duration::from_secs(1)).unwrap();
    }

    #[test]
    fn an_exemplar_filter_other_than_always_off_is_reported() {
        use otlpkit_core::MapEnv;
        let warn = |value: Option<&str>| {
            let env: MapEnv = value
                .map(|v| ("OTEL_METRICS_EXEMPLAR_FILTER", v))
                .into_iter()
                .collect();
            let config = MetricReaderConfig::builder()
                .build(&env)
                .unwrap()
                .into_value();
            let mut warnings = Vec::new();
            unsupported_settings(&config, &mut warnings);
            warnings
        };
        assert!(warn(None).is_empty());
        assert!(warn(Some("always_off")).is_empty());
        let warnings = warn(Some("always_on"));
        assert!(
            matches!(&warnings[..], [InitWarning::Unsupported { setting: "OTEL_METRICS_EXEMPLAR_FILTER", value, .. }] if value == "always_on"),
            "{warnings:?}"
        );
    }

    // checklist 3.11b, 3.12
    #[cfg(feature = "console-exporters")]
    #[test]
    fn the_view_applies_exponential_histograms_and_the_cardinality_limit() {
        use otlpkit_core::MapEnv;
        let default = MetricReaderConfig::builder().build(&MapEnv::new()).unwrap();
        assert!(view(default.value(), &mut Vec::new()).is_none());

        let env = MapEnv::from([(
            "OTEL_EXPORTER_OTLP_METRICS_DEFAULT_HISTOGRAM_AGGREGATION",
            "base2_exponential_bucket_histogram",
        )]);
        let config = MetricReaderConfig::builder()
            .with_cardinality_limit(2)
            .build(&env)
            .unwrap()
            .into_value();
        let buffer = SharedBuffer::default();
        let mut builder = SdkMeterProvider::builder().with_reader(
            PeriodicReader::builder(ConsoleMetricExporter::to_writer(buffer.clone())).build(),
        );
        let mut warnings = Vec::new();
        if let Some(view) = view(&config, &mut warnings) {
            builder = builder.with_view(view);
        }
        assert_eq!(warnings, []);
        let provider = builder.build();
        let meter = provider.meter("m");
        let histogram = meter.f64_histogram("latency").build();
        histogram.record(1.0, &[]);
        let counter = meter.u64_counter("hits").build();
        for user in ["a", "b", "c", "d"] {
            counter.add(1, &[opentelemetry::KeyValue::new("user", user)]);
        }
        provider.shutdown().unwrap();
        let text = buffer.contents();
        // The exponential histogram prints no min/max range line form of
        // explicit buckets: count and sum only.
        assert!(text.contains("metric latency {} count=1 sum=1\n"), "{text}");
        // Four attribute sets under a limit of 2: the SDK keeps two and
        // folds the rest into the overflow series.
        let hits = text
            .lines()
            .filter(|l| l.starts_with("metric hits "))
            .count();
        assert_eq!(hits, 3, "{text}");
        assert!(
            text.contains("metric hits {otel.metric.overflow=true} 2\n"),
            "{text}"
        );
    }
}
