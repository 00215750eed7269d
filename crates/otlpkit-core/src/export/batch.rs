//! One batch through the export path: size check, retry loop, partial
//! success, and the accounting of every item in the batch.

use std::future::Future;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use super::error::ExportError;
use super::retry_loop::{Attempt, ExportFailure, GiveUpReason, run_with_retry};
use super::stats::{DropReason, SignalStats};
use crate::{RetryPolicy, Signal};

/// How often, at most, a partial-success warning is logged per signal.
const PARTIAL_SUCCESS_LOG_INTERVAL: Duration = Duration::from_secs(10);

/// The server's answer to a request it accepted (checklist 2.1, 2.5, 2.11).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Accepted {
    /// Items the server rejected (`rejected_spans`, `rejected_data_points`,
    /// `rejected_log_records`); 0 on full success.
    pub rejected: u64,
    /// The server's `error_message`; empty on full success.
    pub message: String,
}

impl Accepted {
    /// A full success.
    pub fn full() -> Self {
        Self::default()
    }

    /// A partial success with `rejected` items and the server's message.
    pub fn partial(rejected: u64, message: impl Into<String>) -> Self {
        Self {
            rejected,
            message: message.into(),
        }
    }
}

/// The request a transport is asked to send: how many items it carries and
/// its encoded size before compression.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct BatchRequest {
    /// The signal.
    pub signal: Signal,
    /// Spans, log records or metric data points in the request.
    pub items: u64,
    /// Encoded size in bytes, before compression.
    pub encoded_len: usize,
}

impl BatchRequest {
    /// Describes a request of `items` items encoded in `encoded_len` bytes.
    pub fn new(signal: Signal, items: u64, encoded_len: usize) -> Self {
        Self {
            signal,
            items,
            encoded_len,
        }
    }
}

/// The limits one export runs under.
#[derive(Debug, Clone, Copy, PartialEq)]
#[non_exhaustive]
pub struct BatchLimits<'a> {
    /// The retry policy.
    pub policy: &'a RetryPolicy,
    /// The time the whole export (all attempts and waits) may take.
    pub budget: Option<Duration>,
    /// The maximum encoded request size (checklist 1.14).
    pub max_request_size: usize,
}

impl<'a> BatchLimits<'a> {
    /// Limits from a retry policy, a time budget and a request size limit.
    pub fn new(policy: &'a RetryPolicy, budget: Option<Duration>, max_request_size: usize) -> Self {
        Self {
            policy,
            budget,
            max_request_size,
        }
    }
}

/// Exports one batch and accounts for every item in it.
///
/// - An empty batch is not sent (checklist 2.12).
/// - A batch over `max_request_size` is not sent; its items are dropped as
///   [`DropReason::Oversized`] (1.14).
/// - Otherwise `send` runs under [`run_with_retry`]. On success the items
///   the server rejected are dropped as [`DropReason::RejectedByServer`], the
///   rest count as exported, and a partial success is never retried and is
///   logged at most every 10 s per signal (2.11). On failure every item is
///   dropped under [`ExportFailure::drop_reason`] (2.10).
///
/// The result is `Ok` whenever the server accepted the request, partial
/// success included: the export result for partial success is a decision
/// documented in `docs/CONFIGURATION.md`.
pub async fn export_batch<A, AFut, S, SFut>(
    request: BatchRequest,
    limits: BatchLimits<'_>,
    stats: &SignalStats,
    send: A,
    sleep: S,
) -> Result<Accepted, ExportFailure>
where
    A: FnMut(Attempt) -> AFut,
    AFut: Future<Output = Result<Accepted, ExportError>>,
    S: FnMut(Duration) -> SFut,
    SFut: Future<Output = ()>,
{
    if request.items == 0 {
        return Ok(Accepted::full());
    }
    if request.encoded_len > limits.max_request_size {
        stats.record_dropped(DropReason::Oversized, request.items);
        return Err(ExportFailure {
            error: ExportError::request_too_large(request.encoded_len, limits.max_request_size),
            attempts: 0,
            reason: GiveUpReason::NonRetryable,
        });
    }
    match run_with_retry(limits.policy, limits.budget, stats, send, sleep).await {
        Ok(accepted) => {
            let rejected = accepted.rejected.min(request.items);
            stats.record_exported(request.items - rejected);
            if rejected > 0 {
                stats.record_dropped(DropReason::RejectedByServer, rejected);
            }
            if rejected > 0 || !accepted.message.is_empty() {
                stats.record_partial_success();
                if partial_success_log_due(request.signal) {
                    crate::internal_log::warn(format_args!(
                        "otlpkit: the collector rejected {rejected} of {} {} as a partial success: {}",
                        request.items, request.signal, accepted.message
                    ));
                }
            }
            Ok(accepted)
        }
        Err(failure) => {
            stats.record_dropped(failure.drop_reason(), request.items);
            Err(failure)
        }
    }
}

/// True at most once per [`PARTIAL_SUCCESS_LOG_INTERVAL`] per signal.
fn partial_success_log_due(signal: Signal) -> bool {
    static EPOCH: OnceLock<Instant> = OnceLock::new();
    // Milliseconds since EPOCH of the last log, plus one (0 = never).
    static LAST: [AtomicU64; 3] = [AtomicU64::new(0), AtomicU64::new(0), AtomicU64::new(0)];
    let now = u64::try_from(EPOCH.get_or_init(Instant::now).elapsed().as_millis())
        .unwrap_or(u64::MAX)
        .saturating_add(1);
    let last = &LAST[signal.index()];
    let previous = last.load(Ordering::Relaxed);
    let interval = PARTIAL_SUCCESS_LOG_INTERVAL.as_millis() as u64;
    (previous == 0 || now.saturating_sub(previous) >= interval)
        && last
            .compare_exchange(previous, now, Ordering::Relaxed, Ordering::Relaxed)
            .is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::Cell;

    fn block_on<F: Future>(future: F) -> F::Output {
        let mut context = std::task::Context::from_waker(std::task::Waker::noop());
        let mut future = std::pin::pin!(future);
        loop {
            if let std::task::Poll::Ready(output) = future.as_mut().poll(&mut context) {
                return output;
            }
        }
    }

    fn fast_policy() -> RetryPolicy {
        RetryPolicy::builder()
            .with_initial_backoff(Duration::from_millis(1))
            .with_max_attempts(3)
            .build()
            .unwrap()
    }

    fn export(
        items: u64,
        encoded_len: usize,
        answers: Vec<Result<Accepted, ExportError>>,
        stats: &SignalStats,
    ) -> (Result<Accepted, ExportFailure>, u32) {
        let policy = fast_policy();
        let calls = Cell::new(0u32);
        let answers = std::cell::RefCell::new(answers.into_iter());
        let result = block_on(export_batch(
            BatchRequest::new(Signal::Traces, items, encoded_len),
            BatchLimits::new(&policy, None, 1000),
            stats,
            |_| {
                calls.set(calls.get() + 1);
                let answer = answers.borrow_mut().next().unwrap_or(Ok(Accepted::full()));
                async move { answer }
            },
            |_| async {},
        ));
        (result, calls.get())
    }

    #[test]
    fn full_success_counts_every_item_as_exported() {
        let stats = SignalStats::default();
        let (result, calls) = export(10, 100, vec![], &stats);
        assert_eq!(result.unwrap(), Accepted::full());
        assert_eq!(calls, 1);
        let snapshot = stats.snapshot();
        assert_eq!(
            (
                snapshot.exported,
                snapshot.dropped_total(),
                snapshot.partial_successes
            ),
            (10, 0, 0)
        );
    }

    // checklist 2.11: partial success is not retried; rejected items are counted.
    #[test]
    fn partial_success_is_counted_and_not_retried() {
        let stats = SignalStats::default();
        let (result, calls) = export(10, 100, vec![Ok(Accepted::partial(3, "bad spans"))], &stats);
        assert_eq!(result.unwrap().rejected, 3);
        assert_eq!(calls, 1);
        let snapshot = stats.snapshot();
        assert_eq!(snapshot.exported, 7);
        assert_eq!(snapshot.dropped(DropReason::RejectedByServer), 3);
        assert_eq!(snapshot.partial_successes, 1);
    }

    // checklist 2.11: rejected = 0 with a message is a warning, all exported.
    #[test]
    fn partial_success_warning_without_rejections() {
        let stats = SignalStats::default();
        let (result, _) = export(
            4,
            100,
            vec![Ok(Accepted::partial(0, "deprecated field"))],
            &stats,
        );
        result.unwrap();
        let snapshot = stats.snapshot();
        assert_eq!(
            (
                snapshot.exported,
                snapshot.dropped_total(),
                snapshot.partial_successes
            ),
            (4, 0, 1)
        );
    }

    #[test]
    fn a_server_claiming_more_rejections_than_items_is_capped() {
        let stats = SignalStats::default();
        let (result, _) = export(2, 100, vec![Ok(Accepted::partial(99, ""))], &stats);
        result.unwrap();
        assert_eq!(stats.snapshot().dropped(DropReason::RejectedByServer), 2);
        assert_eq!(stats.snapshot().exported, 0);
    }

    // checklist 1.14: an oversized request is not sent and is counted.
    #[test]
    fn oversized_batch_is_not_sent() {
        let stats = SignalStats::default();
        let (result, calls) = export(5, 1001, vec![], &stats);
        let failure = result.unwrap_err();
        assert_eq!(calls, 0);
        assert_eq!(failure.drop_reason(), DropReason::Oversized);
        assert_eq!(stats.snapshot().dropped(DropReason::Oversized), 5);
        assert_eq!(stats.snapshot().requests, 0);
    }

    // checklist 2.12: no empty envelopes.
    #[test]
    fn empty_batch_is_not_sent() {
        let stats = SignalStats::default();
        let (result, calls) = export(0, 10, vec![], &stats);
        result.unwrap();
        assert_eq!(calls, 0);
    }

    // checklist 2.10: a failed export drops and counts every item.
    #[test]
    fn failures_drop_every_item_under_their_reason() {
        let stats = SignalStats::default();
        let (result, calls) = export(6, 100, vec![Err(ExportError::http(400, "", None))], &stats);
        assert_eq!(result.unwrap_err().reason, GiveUpReason::NonRetryable);
        assert_eq!(calls, 1);
        let retryable = (0..3)
            .map(|_| Err(ExportError::http(503, "", None)))
            .collect();
        let (result, calls) = export(4, 100, retryable, &stats);
        assert_eq!(result.unwrap_err().reason, GiveUpReason::AttemptsExhausted);
        assert_eq!(calls, 3);
        let snapshot = stats.snapshot();
        assert_eq!(snapshot.dropped(DropReason::NonRetryable), 6);
        assert_eq!(snapshot.dropped(DropReason::RetriesExhausted), 4);
        assert_eq!(snapshot.exported, 0);
    }
}
