//! A flush that races a shutdown either runs (and gives way to the
//! shutdown) or is told `AlreadyShutdown`; it is never told that the worker
//! is gone, which means its runtime was stopped under the processor.

mod support;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use opentelemetry_sdk::trace::InMemorySpanExporter;
use otlpkit_batch::{BatchSpanProcessor, ProcessorFlushError};
use otlpkit_bridge::WorkerRuntime;
use support::{WAIT, produce, provider};

/// How many races are run: the flush must check for a shutdown before the
/// shutdown begins and reach the worker after it, a window of a few
/// instructions; released together (see `together`), the two hit it about
/// once in tens of races.
const RACES: usize = 1000;

// checklist 3.7: a flush that found no shutdown begun, then reached the
// worker behind the shutdown request, was dropped with the worker's control
// channel and said `WorkerGone`.
#[test]
fn a_flush_racing_a_shutdown_is_never_told_the_worker_is_gone() {
    let worker = WorkerRuntime::start("flush-racing-shutdown").unwrap();
    // Every call below is bounded by `WAIT`.
    let (mut ran, mut refused) = (0, 0);
    for race in 0..RACES {
        let processor = BatchSpanProcessor::builder(InMemorySpanExporter::default())
            .with_worker_runtime(worker.clone())
            .with_schedule_delay(Duration::from_secs(600))
            .build()
            .unwrap();
        let handle = processor.handle();
        let provider = provider(processor);
        produce(&provider, "r", 1);
        let start = Arc::new(AtomicUsize::new(0));
        let flusher = {
            let (handle, start) = (handle.clone(), Arc::clone(&start));
            std::thread::spawn(move || {
                together(&start);
                handle.flush_within(WAIT)
            })
        };
        together(&start);
        let report = handle.shutdown_within(WAIT).unwrap();
        // The span was exported, by the flush or by the shutdown.
        assert_eq!(report.totals.exported(), 1, "race {race}: {report}");
        match flusher.join().unwrap() {
            Ok(_) => ran += 1,
            Err(ProcessorFlushError::AlreadyShutdown) => refused += 1,
            Err(error) => panic!("race {race}: the flush said {error:?}"),
        }
        drop(provider);
    }
    eprintln!("flushes that ran: {ran}, refused: {refused}");
}

/// Returns once both racers have arrived, spinning, so that neither waits
/// to be woken by the other.
fn together(start: &AtomicUsize) {
    start.fetch_add(1, Ordering::AcqRel);
    while start.load(Ordering::Acquire) < 2 {
        std::hint::spin_loop();
    }
}
