//! The engine for any item type: [`BatchProcessor<I>`] and the
//! [`BatchExporter<I>`] it exports through, for pipelines whose items are
//! not the SDK's `SpanData` or log records (otlpkit-tracing's native span
//! records, for one). The SDK's span and log processors are built on
//! [`BatchProcessor<I>`] too: it holds the lifecycle all of them share.

use std::fmt;
use std::future::Future;
use std::marker::PhantomData;
use std::sync::Arc;
use std::time::Duration;

use opentelemetry_sdk::Resource;
use opentelemetry_sdk::error::OTelSdkResult;
use otlpkit_core::{BatchKind, EnvSource, Signal};

use crate::builder::{Options, builder_methods};
use crate::engine::Engine;
use crate::error::BuildError;
use crate::exporter::{DynExporter, ExportFuture, ExporterControl};
use crate::handle::{flush_result, shutdown_result};

/// The lifecycle every processor offers (handle, statistics, flush and
/// shutdown with their async twins), written once for [`BatchProcessor`]
/// and the SDK processors built on it. The argument is the path from
/// `self` to the processor's `Arc<Engine<_>>`.
macro_rules! processor_methods {
    ($($engine:ident).+) => {
        /// A cloneable handle for statistics, flush, shutdown and
        /// self-metrics, which stays valid after the processor has been
        /// moved (into a provider, for instance).
        pub fn handle(&self) -> $crate::ProcessorHandle {
            let core = ::std::sync::Arc::clone(&self.$($engine).+.core);
            $crate::ProcessorHandle::new(core as ::std::sync::Arc<dyn $crate::handle::Control>)
        }

        /// The processor's statistics now.
        pub fn stats(&self) -> $crate::ProcessorStats {
            self.$($engine).+.snapshot()
        }

        /// The counters the processor counts into: those given to its
        /// builder's `with_stats`, or its own. A stage in front of the
        /// processor (tail sampling) counts into them too, so that
        /// `produced = delivered + Σ dropped + sampled_out` holds in one
        /// place.
        pub fn export_stats(&self) -> ::otlpkit_core::stats::ExportStats {
            self.$($engine).+.core.export_stats()
        }

        $crate::items::processor_methods!(@waited [$($engine).+]
            flush_within = flush, flush_async -> FlushReport, ProcessorFlushError);
        $crate::items::processor_methods!(@waited [$($engine).+]
            shutdown_within = shutdown, shutdown_async -> ProcessorShutdownReport, ShutdownError);
    };
    // An operation the caller waits for: the blocking method and its async
    // twin, named as on `ProcessorHandle`, over the engine's two.
    (@waited [$($engine:ident).+]
        $blocking:ident = $engine_blocking:ident, $async:ident -> $report:ident, $error:ident) => {
        #[doc = concat!(
            "See [`ProcessorHandle::", stringify!($blocking),
            "`](crate::ProcessorHandle::", stringify!($blocking), ")."
        )]
        pub fn $blocking(
            &self,
            timeout: ::std::time::Duration,
        ) -> Result<$crate::$report, $crate::$error> {
            self.$($engine).+.$engine_blocking(timeout)
        }

        #[doc = concat!(
            "See [`ProcessorHandle::", stringify!($async),
            "`](crate::ProcessorHandle::", stringify!($async), ")."
        )]
        pub async fn $async(
            &self,
            timeout: ::std::time::Duration,
        ) -> Result<$crate::$report, $crate::$error> {
            self.$($engine).+.$async(timeout).await
        }
    };
}

pub(crate) use processor_methods;

/// Exports batches of `I`: the counterpart of the SDK's `SpanExporter` for
/// a [`BatchProcessor<I>`].
///
/// The engine calls `export` with one batch at a time (unless the processor
/// opts in to concurrent exports), from its worker runtime, with telemetry
/// suppressed; the future must not block its thread. Outcomes are counted
/// by the engine from the result, unless the exporter takes the counting
/// over through the [`BatchAccounting`](otlpkit_core::stats::BatchAccounting)
/// in the call's context (see the crate docs, "Accounting").
///
/// ```
/// use opentelemetry_sdk::error::OTelSdkResult;
/// use otlpkit_batch::BatchExporter;
///
/// /// Writes each batch's length to stderr.
/// struct Lengths;
///
/// impl BatchExporter<Vec<u8>> for Lengths {
///     async fn export(&self, batch: Vec<Vec<u8>>) -> OTelSdkResult {
///         eprintln!("{} items", batch.len());
///         Ok(())
///     }
/// }
/// ```
pub trait BatchExporter<I>: Send + Sync + 'static {
    /// Exports one batch.
    fn export(&self, batch: Vec<I>) -> impl Future<Output = OTelSdkResult> + Send;

    /// Exports anything the exporter itself still holds (called after the
    /// engine has exported everything queued, on flush).
    fn force_flush(&self) -> OTelSdkResult {
        Ok(())
    }

    /// Shuts the exporter down within `timeout`.
    fn shutdown_with_timeout(&self, _timeout: Duration) -> OTelSdkResult {
        Ok(())
    }

    /// Receives the resource the items are exported under, before any
    /// export that follows ([`BatchProcessor::set_resource`]).
    fn set_resource(&mut self, _resource: &Resource) {}
}

/// Adapts a [`BatchExporter`] to the engine.
struct Items<E, I>(E, PhantomData<fn(I)>);

impl<I: Send + 'static, E: BatchExporter<I>> DynExporter<I> for Items<E, I> {
    fn export(self: Arc<Self>, batch: Vec<I>) -> ExportFuture {
        Box::pin(async move { self.0.export(batch).await })
    }
}

// `I` is not named by these calls, but `E` only implements `BatchExporter<I>`
// for some `I`: the marker keeps the impl's `I` constrained.
impl<I: Send + 'static, E: BatchExporter<I>> ExporterControl for Items<E, I> {
    fn force_flush(&self) -> OTelSdkResult {
        self.0.force_flush()
    }

    fn shutdown(&self, timeout: Duration) -> OTelSdkResult {
        self.0.shutdown_with_timeout(timeout)
    }

    fn set_resource(&mut self, resource: &Resource) {
        self.0.set_resource(resource);
    }
}

/// The engine of [`BatchSpanProcessor`](crate::BatchSpanProcessor) for items
/// of any type: a bounded lock-free queue on the hot path ([`push`](Self::push)),
/// an export worker on its own thread, the overflow policies, bounded flush
/// and shutdown, and a count for every item in the same
/// [`ProcessorStats`](crate::ProcessorStats) and shutdown reports as the
/// SDK processors.
///
/// ```
/// use std::sync::Mutex;
/// use std::time::Duration;
/// use opentelemetry_sdk::error::OTelSdkResult;
/// use otlpkit_batch::{BatchExporter, BatchProcessor};
///
/// #[derive(Default)]
/// struct Collect(std::sync::Arc<Mutex<Vec<u64>>>);
///
/// impl BatchExporter<u64> for Collect {
///     async fn export(&self, batch: Vec<u64>) -> OTelSdkResult {
///         self.0.lock().unwrap().extend(batch);
///         Ok(())
///     }
/// }
///
/// let seen = std::sync::Arc::new(Mutex::new(Vec::new()));
/// let processor = BatchProcessor::builder(Collect(seen.clone())).build()?;
/// for n in 0..10 {
///     processor.push(n);
/// }
/// let report = processor.handle().shutdown_within(Duration::from_secs(5))?;
/// assert!(report.is_complete(), "{report}");
/// assert_eq!(report.totals.exported(), 10);
/// assert_eq!(seen.lock().unwrap().len(), 10);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct BatchProcessor<I: Send + 'static> {
    pub(crate) engine: Arc<Engine<I>>,
}

impl<I: Send + 'static> fmt::Debug for BatchProcessor<I> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BatchProcessor")
            .field("engine", &self.engine)
            .finish()
    }
}

impl<I: Send + 'static> BatchProcessor<I> {
    /// A builder for a processor exporting through `exporter`, configured
    /// as a span processor: the `OTEL_BSP_*` variables and defaults, items
    /// counted under traces.
    pub fn builder<E: BatchExporter<I>>(exporter: E) -> BatchProcessorBuilder<I> {
        Self::builder_for(BatchKind::Spans, exporter)
    }

    /// A builder for a processor of `kind`: spans (`OTEL_BSP_*`, counted
    /// under traces) or logs (`OTEL_BLRP_*`, counted under logs).
    pub fn builder_for<E: BatchExporter<I>>(
        kind: BatchKind,
        exporter: E,
    ) -> BatchProcessorBuilder<I> {
        BatchProcessorBuilder::new(Box::new(Items(exporter, PhantomData)), kind, |_| 0)
    }

    /// The hot path: queues `item` under the overflow policy. After
    /// shutdown the item is refused and counted as `after_shutdown`.
    #[inline]
    pub fn push(&self, item: I) {
        self.engine.push(item);
    }

    /// Passes the resource the items are exported under to the exporter
    /// (applied by the worker before the exports that follow).
    pub fn set_resource(&self, resource: &Resource) {
        self.engine.set_resource(resource);
    }

    /// Whether the processor no longer accepts items.
    pub fn is_shut_down(&self) -> bool {
        self.engine.is_shut_down()
    }

    processor_methods!(engine);

    /// The SDK's `force_flush`: a flush with the default timeout, `Ok` only
    /// when everything was exported.
    pub(crate) fn sdk_force_flush(&self) -> OTelSdkResult {
        let timeout = self.engine.default_timeout();
        flush_result(self.engine.flush(timeout), timeout)
    }

    /// The SDK's `shutdown_with_timeout`: `Ok` only when everything was
    /// exported and the exporter shut down cleanly.
    pub(crate) fn sdk_shutdown(&self, timeout: Duration) -> OTelSdkResult {
        shutdown_result(self.engine.shutdown(timeout), timeout)
    }
}

impl<I: Send + 'static> Drop for BatchProcessor<I> {
    fn drop(&mut self) {
        if !self.engine.shutdown_called() {
            let _ = self.engine.shutdown(self.engine.default_timeout());
        }
    }
}

/// Builds a [`BatchProcessor`]: explicit setters > a given
/// [`BatchConfig`](otlpkit_core::BatchConfig) > the `OTEL_BSP_*` (or
/// `OTEL_BLRP_*`) variables > defaults.
pub struct BatchProcessorBuilder<I: Send + 'static> {
    exporter: Box<dyn DynExporter<I>>,
    pub(crate) options: Options,
    kind: BatchKind,
    size_of: fn(&I) -> usize,
}

impl<I: Send + 'static> fmt::Debug for BatchProcessorBuilder<I> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BatchProcessorBuilder")
            .field("kind", &self.kind)
            .field("options", &self.options)
            .finish_non_exhaustive()
    }
}

impl<I: Send + 'static> BatchProcessorBuilder<I> {
    pub(crate) fn new(
        exporter: Box<dyn DynExporter<I>>,
        kind: BatchKind,
        size_of: fn(&I) -> usize,
    ) -> Self {
        Self {
            exporter,
            options: Options::new(kind),
            kind,
            size_of,
        }
    }

    builder_methods!(BatchProcessor<I>, "OTEL_BSP_*` (or `OTEL_BLRP_*", options);

    /// How many bytes an item is charged against
    /// [`with_max_queue_bytes`](Self::with_max_queue_bytes) (default: 0, so
    /// only the item bound applies). Called when an item goes in and again
    /// when it comes out: it must only read the item.
    #[must_use]
    pub fn with_item_size(mut self, size_of: fn(&I) -> usize) -> Self {
        self.size_of = size_of;
        self
    }

    /// Resolves the options against `env` and starts the engine.
    pub(crate) fn start<E: EnvSource + ?Sized>(
        self,
        env: &E,
    ) -> Result<BatchProcessor<I>, BuildError> {
        let settings = self.options.resolve(env)?;
        let signal = match self.kind {
            BatchKind::Logs => Signal::Logs,
            _ => Signal::Traces,
        };
        let engine = Engine::start(Arc::from(self.exporter), settings, signal, self.size_of)?;
        Ok(BatchProcessor {
            engine: Arc::new(engine),
        })
    }
}
