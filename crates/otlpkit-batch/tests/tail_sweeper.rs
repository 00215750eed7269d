//! The tail-sampling sweeper with a hold time far below a millisecond (a
//! 1 ns latency threshold) sleeps at least a millisecond at a time rather
//! than waking thousands of times a second.
//!
//! Its wake-ups are the thread's voluntary context switches, read from
//! `/proc` (Linux only). The test is alone in its binary, so the stage's
//! sweeper is the only thread with that name. No clock threshold: the
//! wake-ups are compared with the time they took, however long that was.
#![cfg(all(feature = "tail-sampling", target_os = "linux"))]

use std::time::{Duration, Instant, SystemTime};

use opentelemetry::trace::{SpanId, TraceId};
use otlpkit_batch::tail::{AttributeRef, TailSampler, TailSpan};
use otlpkit_core::{MapEnv, TailSamplingConfig};

#[derive(Debug)]
struct Child(u128);

impl TailSpan for Child {
    fn trace_id(&self) -> TraceId {
        TraceId::from(self.0)
    }
    fn span_id(&self) -> SpanId {
        SpanId::from(2_u64)
    }
    fn parent_span_id(&self) -> SpanId {
        SpanId::from(1_u64)
    }
    fn parent_is_remote(&self) -> bool {
        false
    }
    fn is_error(&self) -> bool {
        false
    }
    fn start_time(&self) -> SystemTime {
        SystemTime::now()
    }
    fn end_time(&self) -> SystemTime {
        SystemTime::now()
    }
    fn attribute(&self, _: &str) -> Option<AttributeRef<'_>> {
        None
    }
}

/// How many times the sweeper thread (`otlpkit-tail-sampling`, truncated to
/// 15 bytes by the kernel) went to sleep, if it runs.
fn sweeper_sleeps() -> Option<u64> {
    for task in std::fs::read_dir("/proc/self/task").ok()? {
        let path = task.ok()?.path();
        let name = std::fs::read_to_string(path.join("comm")).unwrap_or_default();
        if !name.starts_with("otlpkit-tail") {
            continue;
        }
        let status = std::fs::read_to_string(path.join("status")).ok()?;
        return status
            .lines()
            .find_map(|line| line.strip_prefix("voluntary_ctxt_switches:"))
            .and_then(|n| n.trim().parse().ok());
    }
    None
}

#[test]
fn tail_sweeper_sleeps_at_least_a_millisecond_under_a_nanosecond_threshold() {
    let config = TailSamplingConfig::builder()
        .with_ratio(0.0)
        .with_latency_threshold(Some(Duration::from_nanos(1)))
        .build(&MapEnv::new())
        .unwrap()
        .into_value();
    let sampler = TailSampler::builder()
        .with_config(config)
        .build(|_: Child| {});
    let started = Instant::now();
    // A held trace starts the sweeper (which keeps it: its root, still
    // open, is slower than 1 ns).
    sampler.on_end(Child(7));
    let mut before = None;
    while before.is_none() {
        std::thread::yield_now();
        before = sweeper_sleeps();
    }
    // A fixed number of the test thread's own 1 ms sleeps.
    for _ in 0..100 {
        std::thread::sleep(Duration::from_millis(1));
    }
    let sleeps = sweeper_sleeps().unwrap() - before.unwrap();
    let elapsed_ms = started.elapsed().as_millis() as u64;
    let after = sampler.shutdown_within(Duration::from_secs(5));
    assert_eq!(after.held_traces, 0);
    // At most one sleep a millisecond (with room for a few spurious ones).
    assert!(
        sleeps <= elapsed_ms + 10,
        "the sweeper slept {sleeps} times in {elapsed_ms} ms"
    );
}
