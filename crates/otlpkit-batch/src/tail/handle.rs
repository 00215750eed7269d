//! A cloneable handle on a tail-sampling stage: its statistics, its
//! shutdown and its self-metrics, whatever its span type.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use opentelemetry::KeyValue;
use opentelemetry::metrics::Meter;
use otlpkit_core::stats::{EarlyDecision, SamplingPolicy, SamplingSnapshot};

use super::sampler::Core;
use super::span::TailSpan;

/// The stage operations a handle needs, type-erased over the span type.
pub(crate) trait Control: Send + Sync + 'static {
    fn stats(&self) -> TailSamplingStats;
    fn close(&self, timeout: Duration);
}

impl<S: TailSpan> Control for Core<S> {
    fn stats(&self) -> TailSamplingStats {
        self.snapshot()
    }

    fn close(&self, timeout: Duration) {
        Core::close(self, timeout);
    }
}

/// Stages sharing one set of counters, seen as one.
struct Joint {
    first: TailSamplingHandle,
    rest: Vec<TailSamplingHandle>,
}

impl Control for Joint {
    fn stats(&self) -> TailSamplingStats {
        // The counters are shared: read once, from the first stage.
        let mut total = self.first.stats();
        for stage in self.rest.iter().map(TailSamplingHandle::stats) {
            total.held_traces += stage.held_traces;
            total.held_spans += stage.held_spans;
            total.max_traces += stage.max_traces;
        }
        total
    }

    fn close(&self, timeout: Duration) {
        let started = std::time::Instant::now();
        for stage in std::iter::once(&self.first).chain(&self.rest) {
            stage
                .control
                .close(timeout.saturating_sub(started.elapsed()));
        }
    }
}

/// What a tail-sampling stage holds and has decided.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct TailSamplingStats {
    /// Undecided traces held now.
    pub held_traces: usize,
    /// Their spans.
    pub held_spans: usize,
    /// The cap on held traces.
    pub max_traces: usize,
    /// Spans sampled out so far (in the shared counters, beside the drops).
    pub sampled_out: u64,
    /// The decisions, trace by trace: kept per policy, sampled out, decided
    /// early and why.
    pub sampling: SamplingSnapshot,
}

impl fmt::Display for TailSamplingStats {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "tail sampling: {} traces kept",
            self.sampling.traces_kept()
        )?;
        let kept: Vec<String> = self
            .sampling
            .kept_by_policy()
            .map(|(policy, n)| format!("{policy} {n}"))
            .collect();
        if !kept.is_empty() {
            write!(f, " ({})", kept.join(", "))?;
        }
        write!(
            f,
            ", {} sampled out ({} spans), holding {} traces ({} spans)",
            self.sampling.traces_sampled_out, self.sampled_out, self.held_traces, self.held_spans
        )
    }
}

/// The self-metric names of a tail-sampling stage.
pub mod metric_names {
    /// Traces kept, with a `policy` attribute (`error`, `latency`,
    /// `attribute`, `parent_sampled`, `ratio`).
    pub const TRACES_KEPT: &str = "otlpkit.processor.tail_sampling.traces_kept";
    /// Traces sampled out.
    pub const TRACES_SAMPLED_OUT: &str = "otlpkit.processor.tail_sampling.traces_sampled_out";
    /// Spans sampled out.
    pub const SPANS_SAMPLED_OUT: &str = "otlpkit.processor.tail_sampling.spans_sampled_out";
    /// Traces decided before their local root ended, with a `cause`
    /// attribute (`decision_wait`, `max_traces`, `max_spans_per_trace`,
    /// `shutdown`).
    pub const EARLY_DECISIONS: &str = "otlpkit.processor.tail_sampling.early_decisions";
    /// Undecided traces held now.
    pub const TRACES_HELD: &str = "otlpkit.processor.tail_sampling.traces_held";
    /// Spans of undecided traces held now.
    pub const SPANS_HELD: &str = "otlpkit.processor.tail_sampling.spans_held";
}

/// A cloneable handle on a tail-sampling stage, usable after the stage was
/// moved into a provider.
#[derive(Clone)]
pub struct TailSamplingHandle {
    control: Arc<dyn Control>,
}

impl fmt::Debug for TailSamplingHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TailSamplingHandle")
            .field("stats", &self.stats())
            .finish()
    }
}

impl TailSamplingHandle {
    pub(crate) fn new(control: Arc<dyn Control>) -> Self {
        Self { control }
    }

    /// One handle on several stages that count into the same
    /// [`ExportStats`](otlpkit_core::stats::ExportStats): one per span path
    /// of a pipeline (the native `tracing` records and the SDK's spans).
    /// Its statistics add up what the stages hold and read the shared
    /// counters once; closing it closes each stage in turn. `None` for no
    /// stage.
    pub fn joint(handles: Vec<TailSamplingHandle>) -> Option<TailSamplingHandle> {
        let mut handles = handles.into_iter();
        let first = handles.next()?;
        let rest: Vec<_> = handles.collect();
        if rest.is_empty() {
            Some(first)
        } else {
            Some(Self::new(Arc::new(Joint { first, rest })))
        }
    }

    /// The stage's statistics now.
    pub fn stats(&self) -> TailSamplingStats {
        self.control.stats()
    }

    /// Decides every held trace, sending the kept ones on, and stops the
    /// sweeper thread (waiting for it at most `timeout`). Spans that end
    /// later are decided one by one, never held. Call it before shutting
    /// down what the stage feeds, so that nothing it keeps arrives too late.
    pub fn shutdown_within(&self, timeout: Duration) -> TailSamplingStats {
        self.control.close(timeout);
        self.control.stats()
    }

    /// Registers observable instruments on `meter` reporting the stage's
    /// decisions and what it holds (see [`metric_names`]). The callbacks
    /// only read counters and briefly lock each shard for the held gauges.
    pub fn register_metrics(&self, meter: &Meter) {
        let handle = self.clone();
        meter
            .u64_observable_counter(metric_names::TRACES_KEPT)
            .with_unit("{trace}")
            .with_description("Traces the tail-sampling stage kept, by policy.")
            .with_callback(move |observer| {
                let stats = handle.stats();
                for policy in SamplingPolicy::ALL {
                    observer.observe(
                        stats.sampling.kept(policy),
                        &[KeyValue::new("policy", policy.as_str())],
                    );
                }
            })
            .build();

        let handle = self.clone();
        meter
            .u64_observable_counter(metric_names::TRACES_SAMPLED_OUT)
            .with_unit("{trace}")
            .with_description("Traces the tail-sampling stage sampled out.")
            .with_callback(move |observer| {
                observer.observe(handle.stats().sampling.traces_sampled_out, &[]);
            })
            .build();

        let handle = self.clone();
        meter
            .u64_observable_counter(metric_names::SPANS_SAMPLED_OUT)
            .with_unit("{span}")
            .with_description("Spans the tail-sampling stage sampled out.")
            .with_callback(move |observer| observer.observe(handle.stats().sampled_out, &[]))
            .build();

        let handle = self.clone();
        meter
            .u64_observable_counter(metric_names::EARLY_DECISIONS)
            .with_unit("{trace}")
            .with_description("Traces decided before their local root ended, by cause.")
            .with_callback(move |observer| {
                let stats = handle.stats();
                for cause in EarlyDecision::ALL {
                    observer.observe(
                        stats.sampling.early(cause),
                        &[KeyValue::new("cause", cause.as_str())],
                    );
                }
            })
            .build();

        let handle = self.clone();
        meter
            .u64_observable_gauge(metric_names::TRACES_HELD)
            .with_unit("{trace}")
            .with_description("Undecided traces held by the tail-sampling stage.")
            .with_callback(move |observer| {
                observer.observe(handle.stats().held_traces as u64, &[]);
            })
            .build();

        let handle = self.clone();
        meter
            .u64_observable_gauge(metric_names::SPANS_HELD)
            .with_unit("{span}")
            .with_description("Spans of undecided traces held by the tail-sampling stage.")
            .with_callback(move |observer| {
                observer.observe(handle.stats().held_spans as u64, &[]);
            })
            .build();
    }
}
