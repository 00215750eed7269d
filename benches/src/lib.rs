//! Shared pieces of otlpkit's comparative benchmarks: the pipelines under
//! test (the official `opentelemetry_sdk` `BatchSpanProcessor` with
//! `opentelemetry-otlp`, and otlpkit's engine with otlpkit's exporters),
//! the span workload, and CPU and memory readings from `/proc`.
//!
//! Every scenario builds both pipelines with the workspace's versions of the
//! official crates and runs them side by side in the same process run,
//! against the in-process testkit receiver on `127.0.0.1`.
//!
//! Set `OTLPKIT_BENCH_QUICK=1` for reduced sizes (a smoke run).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock, Weak};
use std::time::{Duration, Instant};

use otlpkit_testkit::Receiver;

pub mod floor_layer;
pub mod pipeline;
pub mod proc;
pub mod tracing_stack;

pub use pipeline::{
    DropProcessor, Engine, Exporter, NullExporter, Pipeline, ShutdownOutcome, Spec,
};

/// Whether `OTLPKIT_BENCH_QUICK` asks for reduced sizes.
pub fn quick() -> bool {
    std::env::var("OTLPKIT_BENCH_QUICK").is_ok_and(|v| !v.is_empty() && v != "0")
}

/// `full` normally, `reduced` with `OTLPKIT_BENCH_QUICK=1`.
pub fn size(full: u64, reduced: u64) -> u64 {
    if quick() { reduced } else { full }
}

/// Ends one span the way the hot-path scenario measures it: created with
/// three attributes, then ended.
#[inline]
pub fn one_span(tracer: &opentelemetry_sdk::trace::SdkTracer, i: u64) {
    use opentelemetry::KeyValue;
    use opentelemetry::trace::{Span as _, Tracer as _};
    let mut span = tracer
        .span_builder("bench-span")
        .with_attributes(vec![
            KeyValue::new("http.request.method", "GET"),
            KeyValue::new("http.response.status_code", 200),
            KeyValue::new("bench.index", i as i64),
        ])
        .start(tracer);
    span.end();
}

/// Ends `n` spans as fast as possible.
pub fn burst(tracer: &opentelemetry_sdk::trace::SdkTracer, n: u64) {
    for i in 0..n {
        one_span(tracer, i);
    }
}

/// Ends spans at `rate` per second for `duration` (bursting to catch up
/// when the producer was held back). Returns how many were ended.
pub fn paced(tracer: &opentelemetry_sdk::trace::SdkTracer, rate: u64, duration: Duration) -> u64 {
    let total = rate * duration.as_millis() as u64 / 1000;
    let start = Instant::now();
    let per_span = Duration::from_secs(1).as_nanos() as u64 / rate.max(1);
    for i in 0..total {
        let due = start + Duration::from_nanos(i * per_span);
        let now = Instant::now();
        if due > now {
            std::thread::sleep(due - now);
        }
        one_span(tracer, i);
    }
    total
}

/// The testkit receiver, counting the spans it accepts and forgetting every
/// request as soon as it is counted, so that its memory and its store stay
/// flat however many spans a scenario sends (peak memory then belongs to
/// the pipeline, not to the receiver).
pub struct Sink {
    receiver: Arc<Receiver>,
    delivered: Arc<AtomicU64>,
}

impl std::fmt::Debug for Sink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sink")
            .field("delivered", &self.delivered())
            .finish_non_exhaustive()
    }
}

impl Sink {
    /// Starts a receiver on ephemeral `127.0.0.1` ports, decoding every
    /// request as a collector would.
    pub fn start() -> Sink {
        Sink::with_decoding(true)
    }

    /// Starts a receiver that counts the items of protobuf requests without
    /// decoding them (`ReceiverBuilder::count_only`): for throughput figures
    /// of the exporting side, which a decoding receiver sharing its cores
    /// would bound.
    pub fn counting() -> Sink {
        Sink::with_decoding(false)
    }

    fn with_decoding(decode: bool) -> Sink {
        let delivered = Arc::new(AtomicU64::new(0));
        let slot: Arc<OnceLock<Weak<Receiver>>> = Arc::new(OnceLock::new());
        let counter = Arc::clone(&delivered);
        let forget = Arc::clone(&slot);
        let receiver = Receiver::builder()
            .count_only(!decode)
            .on_request(move |request| {
                if request.accepted() {
                    counter.fetch_add(request.item_count as u64, Ordering::SeqCst);
                }
                if let Some(receiver) = forget.get().and_then(Weak::upgrade) {
                    receiver.clear();
                }
            })
            .start()
            .expect("the testkit receiver");
        let receiver = Arc::new(receiver);
        let _ = slot.set(Arc::downgrade(&receiver));
        Sink {
            receiver,
            delivered,
        }
    }

    /// The receiver, for endpoints, faults, stop and restart.
    pub fn receiver(&self) -> &Receiver {
        &self.receiver
    }

    /// Spans accepted so far.
    pub fn delivered(&self) -> u64 {
        self.delivered.load(Ordering::SeqCst)
    }

    /// Starts counting from zero.
    pub fn reset(&self) {
        self.delivered.store(0, Ordering::SeqCst);
    }

    /// Waits until `n` spans were accepted or `timeout` passes; returns the
    /// time it took, or `None` on timeout.
    pub fn wait_for(&self, n: u64, timeout: Duration) -> Option<Duration> {
        let start = Instant::now();
        while self.delivered() < n {
            if start.elapsed() >= timeout {
                return None;
            }
            std::thread::sleep(Duration::from_micros(200));
        }
        Some(start.elapsed())
    }

    /// Waits until the count has not changed for `quiet`, at most `timeout`.
    pub fn settle(&self, quiet: Duration, timeout: Duration) -> u64 {
        let start = Instant::now();
        let mut last = self.delivered();
        let mut since = Instant::now();
        while start.elapsed() < timeout {
            std::thread::sleep(Duration::from_millis(5));
            let now = self.delivered();
            if now != last {
                last = now;
                since = Instant::now();
            } else if since.elapsed() >= quiet {
                break;
            }
        }
        last
    }
}
