//! `BatchProcessor<I>`: the engine for items of any type, pushed directly.
//! Every item pushed is exported or dropped under exactly one reason, as
//! for the SDK processors, whatever the policy and the exporter's outcome.

mod support;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use opentelemetry_sdk::Resource;
use opentelemetry_sdk::error::{OTelSdkError, OTelSdkResult};
use otlpkit_batch::{BatchExporter, BatchProcessor};
use otlpkit_core::stats::DropReason;
use otlpkit_core::{BatchKind, MapEnv, OverflowPolicy};
use support::{shutdown_answer, until_answered};

/// Keeps what it is given; fails every batch while `failing` is set; waits
/// `delay` per batch.
#[derive(Clone, Default)]
struct Keep {
    items: Arc<Mutex<Vec<u64>>>,
    failing: Arc<std::sync::atomic::AtomicBool>,
    delay: Duration,
    resource: Arc<Mutex<Option<Resource>>>,
    flushes: Arc<AtomicU64>,
}

impl BatchExporter<u64> for Keep {
    async fn export(&self, batch: Vec<u64>) -> OTelSdkResult {
        if !self.delay.is_zero() {
            tokio::time::sleep(self.delay).await;
        }
        if self.failing.load(Ordering::SeqCst) {
            return Err(OTelSdkError::InternalFailure("invalid argument".into()));
        }
        self.items.lock().unwrap().extend(batch);
        Ok(())
    }

    fn force_flush(&self) -> OTelSdkResult {
        self.flushes.fetch_add(1, Ordering::SeqCst);
        Ok(())
    }

    fn set_resource(&mut self, resource: &Resource) {
        *self.resource.lock().unwrap() = Some(resource.clone());
    }
}

const WAIT: Duration = Duration::from_secs(10);

#[test]
fn every_item_is_exported_in_order_and_the_resource_arrives_first() {
    let exporter = Keep::default();
    let processor = BatchProcessor::builder(exporter.clone())
        .with_max_export_batch_size(7)
        .build_with_env(&MapEnv::new())
        .unwrap();
    processor.set_resource(&Resource::builder_empty().with_service_name("items").build());
    for n in 0..100 {
        processor.push(n);
    }
    let flush = processor.flush_within(WAIT).unwrap();
    assert!(flush.is_complete(), "{flush}");
    // The worker may send full batches of seven before the flush reaches
    // it; the flush report counts what it exported, the totals everything.
    assert!(flush.exported <= 100, "{flush}");
    let stats = processor.stats();
    assert_eq!(stats.exported(), 100, "{stats}");
    assert_eq!(stats.queue_len, 0, "{stats}");
    assert_eq!(
        *exporter.items.lock().unwrap(),
        (0..100).collect::<Vec<_>>()
    );
    assert_eq!(exporter.flushes.load(Ordering::SeqCst), 1);
    let resource = exporter.resource.lock().unwrap().clone().unwrap();
    assert_eq!(
        resource
            .get(&"service.name".into())
            .map(|v| v.to_string())
            .as_deref(),
        Some("items")
    );
    let report = processor.handle().shutdown_within(WAIT).unwrap();
    assert!(report.is_complete(), "{report}");
    assert_eq!(report.totals.received(), 100);
    assert_eq!(report.totals.exported(), 100);
}

/// Records each batch's size when its export starts; the first export then
/// waits until the test opens the gate.
#[derive(Clone)]
struct Gated {
    sizes: Arc<Mutex<Vec<usize>>>,
    started: std::sync::mpsc::SyncSender<()>,
    gate: Arc<tokio::sync::Semaphore>,
}

impl BatchExporter<u64> for Gated {
    async fn export(&self, batch: Vec<u64>) -> OTelSdkResult {
        let first = {
            let mut sizes = self.sizes.lock().unwrap();
            sizes.push(batch.len());
            sizes.len() == 1
        };
        let _ = self.started.try_send(());
        if first {
            let _permit = self.gate.acquire().await;
        }
        Ok(())
    }
}

/// A flush ends a burst. The worker sends the tail of a burst right after a
/// full batch; it once kept that state across a flush, so an item pushed
/// while the flush waited for a full batch in flight left alone, as a
/// one-item export, the moment the flush returned.
#[test]
fn an_item_pushed_during_a_flush_waits_for_a_full_batch() {
    let mut conclusive = 0;
    for _round in 0..50 {
        let (started, exports_started) = std::sync::mpsc::sync_channel(16);
        let exporter = Gated {
            sizes: Arc::default(),
            started,
            gate: Arc::new(tokio::sync::Semaphore::new(0)),
        };
        let processor = BatchProcessor::builder(exporter.clone())
            .with_max_export_batch_size(4)
            .with_schedule_delay(Duration::from_secs(600))
            .build_with_env(&MapEnv::new())
            .unwrap();
        // A full batch: the worker starts its export, which holds at the gate.
        for n in 0..4 {
            processor.push(n);
        }
        exports_started.recv_timeout(WAIT).unwrap();
        let handle = processor.handle();
        let flush = std::thread::spawn(move || handle.flush_within(WAIT).unwrap());
        // Give the flush time to reach the worker (a nudge, not a bound: the
        // flush report tells below whether it did), then push one item and
        // let the held export finish, which ends the flush.
        std::thread::sleep(Duration::from_millis(20));
        processor.push(4);
        exporter.gate.add_permits(1);
        let report = flush.join().unwrap();
        assert!(report.is_complete(), "{report}");
        if report.exported != 4 {
            // The item went in before the flush looked at the queue, so the
            // flush sent it: legitimate, and not the case under test.
            processor.handle().shutdown_within(WAIT).unwrap();
            continue;
        }
        conclusive += 1;
        // Three more make a full batch with the one pushed during the flush.
        for n in 5..8 {
            processor.push(n);
        }
        exports_started.recv_timeout(WAIT).unwrap();
        let report = processor.handle().shutdown_within(WAIT).unwrap();
        assert_eq!(report.totals.exported(), 8, "{report}");
        assert_eq!(*exporter.sizes.lock().unwrap(), [4, 4]);
        if conclusive == 3 {
            return;
        }
    }
    panic!("in 50 rounds the flush reached the worker after the push every time but {conclusive}");
}

#[test]
fn a_full_queue_failures_and_pushes_after_shutdown_are_each_counted() {
    let exporter = Keep {
        delay: Duration::from_millis(50),
        ..Keep::default()
    };
    let processor = BatchProcessor::builder(exporter.clone())
        .with_max_queue_size(8)
        .with_max_export_batch_size(4)
        .with_overflow_policy(OverflowPolicy::DropNewest)
        .build_with_env(&MapEnv::new())
        .unwrap();
    let handle = processor.handle();
    // A burst the 8-slot queue cannot hold while a batch is being exported.
    for n in 0..1000 {
        processor.push(n);
    }
    assert!(processor.flush_within(WAIT).unwrap().is_complete());
    let stats = handle.stats();
    let full = stats.dropped(DropReason::QueueFull);
    assert!(full > 0, "{stats}");
    assert_eq!(stats.exported() + full, 1000, "{stats}");
    assert_eq!(
        exporter.items.lock().unwrap().len() as u64,
        stats.exported()
    );

    // Failed exports: the engine counts the batch under the failure's reason.
    exporter.failing.store(true, Ordering::SeqCst);
    for n in 0..4 {
        processor.push(n);
    }
    let flush = processor.flush_within(WAIT).unwrap();
    assert_eq!(flush.failed, 4, "{flush}");

    let report = handle.shutdown_within(WAIT).unwrap();
    processor.push(1);
    processor.push(2);
    let totals = handle.stats();
    assert_eq!(totals.dropped(DropReason::NonRetryable), 4, "{totals}");
    assert_eq!(totals.dropped(DropReason::AfterShutdown), 2, "{totals}");
    assert_eq!(totals.received(), 1006, "{totals}");
    assert_eq!(
        totals.exported() + totals.dropped_total(),
        totals.received(),
        "{totals}"
    );
    assert!(processor.is_shut_down());
    drop(report);
}

#[test]
fn block_holds_the_producer_and_loses_nothing() {
    let exporter = Keep {
        delay: Duration::from_millis(2),
        ..Keep::default()
    };
    let processor = Arc::new(
        BatchProcessor::builder(exporter.clone())
            .with_max_queue_size(16)
            .with_max_export_batch_size(8)
            .with_overflow_policy(OverflowPolicy::Block {
                timeout: Duration::from_secs(30),
            })
            .build_with_env(&MapEnv::new())
            .unwrap(),
    );
    std::thread::scope(|scope| {
        for thread in 0..2_u64 {
            let processor = Arc::clone(&processor);
            scope.spawn(move || {
                for n in 0..500 {
                    processor.push(thread * 1000 + n);
                }
            });
        }
    });
    let report = processor.shutdown_within(WAIT).unwrap();
    assert!(report.is_complete(), "{report}");
    assert_eq!(report.totals.exported(), 1000);
    assert_eq!(report.totals.dropped_total(), 0);
    let mut items = exporter.items.lock().unwrap().clone();
    items.sort_unstable();
    items.dedup();
    assert_eq!(items.len(), 1000);
}

#[test]
fn a_log_processor_reads_the_log_variables_and_counts_under_logs() {
    let env = MapEnv::from([("OTEL_BLRP_MAX_QUEUE_SIZE", "3")]);
    let processor = BatchProcessor::builder_for(BatchKind::Logs, Keep::default())
        .with_schedule_delay(Duration::from_secs(60))
        .build_with_env(&env)
        .unwrap();
    for n in 0..5 {
        processor.push(n);
    }
    let stats = processor.stats();
    assert_eq!(stats.queue_capacity, 3, "{stats}");
    assert_eq!(stats.signal, otlpkit_core::Signal::Logs);
    let report = processor.shutdown_within(WAIT).unwrap();
    // The worker may take a batch of three while the five are pushed, so
    // how many found the queue full depends on timing; each is exported or
    // dropped as queue_full, and at least the three the queue holds are
    // exported.
    let full = report.totals.dropped(DropReason::QueueFull);
    assert_eq!(report.totals.exported() + full, 5, "{report}");
    assert_eq!(report.totals.dropped_total(), full, "{report}");
    assert!(report.totals.exported() >= 3, "{report}");
}

/// Fails every batch that holds item 3; its own shutdown outlasts any
/// deadline a test gives it.
#[derive(Clone, Default)]
struct SlowToShutDown;

impl BatchExporter<u64> for SlowToShutDown {
    async fn export(&self, batch: Vec<u64>) -> OTelSdkResult {
        if batch.contains(&3) {
            return Err(OTelSdkError::InternalFailure("invalid argument".into()));
        }
        Ok(())
    }

    fn shutdown_with_timeout(&self, _timeout: Duration) -> OTelSdkResult {
        std::thread::sleep(Duration::from_secs(5));
        Ok(())
    }
}

#[test]
fn an_exporter_that_does_not_finish_shutting_down_gets_the_engines_own_report() {
    until_answered(|| {
        let processor = BatchProcessor::builder(SlowToShutDown)
            .with_max_export_batch_size(3)
            .with_schedule_delay(Duration::from_secs(60))
            .build_with_env(&MapEnv::new())
            .unwrap();
        for n in 0..5 {
            processor.push(n);
        }
        // [0, 1, 2] is exported when the batch fills or in the drain, whichever
        // comes first; [3, 4] (refused) only in the drain. The exporter's
        // shutdown then outlasts the deadline, so the report says what the
        // engine settled during the shutdown.
        let result = processor.shutdown_within(Duration::from_millis(1500));
        let report = shutdown_answer(result, &processor.handle())?;
        assert!(report.flush.timed_out, "{report}");
        assert_eq!(report.flush.failed, 2, "{report}");
        assert!(matches!(report.flush.exported, 0 | 3), "{report}");
        assert_eq!(report.flush.unsent, 0, "{report}");
        assert_eq!(report.totals.exported(), 3, "{report}");
        assert_eq!(report.totals.counters.dropped_total(), 2, "{report}");
        Some(())
    });
}
