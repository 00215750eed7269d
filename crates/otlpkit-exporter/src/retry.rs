//! The retry loop every transport runs around its attempts (checklist 2.3,
//! 2.7, 2.8, 2.9, 2.10).

use std::future::Future;
use std::time::{Duration, Instant};

use otlpkit_core::RetryPolicy;
use otlpkit_core::stats::{DropReason, SignalStats};

use crate::error::{ExportError, ExportErrorKind};

/// What the retry loop tells one attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct Attempt {
    /// 1 for the first attempt, 2 for the first retry, and so on.
    pub number: u32,
    /// Time left in the export's budget; the attempt must not take longer.
    /// `None` when the export has no time limit.
    pub timeout: Option<Duration>,
}

/// Why the loop stopped retrying.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub(crate) enum GiveUpReason {
    /// The last error must not be retried.
    NonRetryable,
    /// The policy's maximum number of attempts was reached.
    AttemptsExhausted,
    /// The next delay (backoff or the server's throttling hint) would end
    /// past the export's time budget.
    BudgetExhausted,
}

/// A failed export: the last error, how many attempts were made and why the
/// loop gave up.
#[derive(Debug)]
#[non_exhaustive]
pub(crate) struct ExportFailure {
    /// The error of the last attempt.
    pub(crate) error: ExportError,
    /// Attempts made, the first included.
    pub(crate) attempts: u32,
    /// Why no further attempt was made.
    pub(crate) reason: GiveUpReason,
}

impl ExportFailure {
    /// The reason under which the batch's items are counted as dropped.
    pub(crate) fn drop_reason(&self) -> DropReason {
        match (self.reason, self.error.kind()) {
            (_, ExportErrorKind::RequestTooLarge { .. }) => DropReason::Oversized,
            (_, ExportErrorKind::Shutdown) => DropReason::AfterShutdown,
            (GiveUpReason::NonRetryable, _) => DropReason::NonRetryable,
            (GiveUpReason::AttemptsExhausted | GiveUpReason::BudgetExhausted, _) => {
                DropReason::RetriesExhausted
            }
        }
    }
}

impl std::fmt::Display for ExportFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let why = match self.reason {
            GiveUpReason::NonRetryable => "not retryable",
            GiveUpReason::AttemptsExhausted => "attempts exhausted",
            GiveUpReason::BudgetExhausted => "time budget exhausted",
        };
        write!(
            f,
            "export failed after {} attempt(s), {why}: {}",
            self.attempts, self.error
        )
    }
}

impl std::error::Error for ExportFailure {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.error)
    }
}

/// Runs `attempt` until it succeeds, fails with a non-retryable error, uses
/// up the policy's attempts, or the next wait would end past `budget`.
///
/// Between attempts it waits `policy.delay(..)`: exponential backoff with
/// jitter, never shorter than the server's throttling hint. `sleep` is the
/// caller's timer (the transport's runtime), which keeps this crate free of
/// any runtime; a caller that wants shutdown to cut a wait short races its
/// own signal inside `sleep`. Every failed attempt, and whether it was
/// retried or throttled, is recorded in `stats`; items are not: the caller
/// knows how many the batch held and counts them with
/// [`ExportFailure::drop_reason`].
///
pub(crate) async fn run_with_retry<T, A, AFut, S, SFut>(
    policy: &RetryPolicy,
    budget: Option<Duration>,
    stats: &SignalStats,
    mut attempt: A,
    mut sleep: S,
) -> Result<T, ExportFailure>
where
    A: FnMut(Attempt) -> AFut,
    AFut: Future<Output = Result<T, ExportError>>,
    S: FnMut(Duration) -> SFut,
    SFut: Future<Output = ()>,
{
    let started = Instant::now();
    let mut number = 0u32;
    loop {
        number = number.saturating_add(1);
        let timeout = budget.map(|budget| budget.saturating_sub(started.elapsed()));
        let error = match attempt(Attempt { number, timeout }).await {
            Ok(value) => return Ok(value),
            Err(error) => error,
        };
        let throttled = error.retry_after().is_some();
        let reason = if !error.is_retryable() {
            Some(GiveUpReason::NonRetryable)
        } else if number >= policy.max_attempts() {
            Some(GiveUpReason::AttemptsExhausted)
        } else {
            None
        };
        let delay = policy.delay(number, rand::random::<f64>(), error.retry_after());
        let reason = reason.or_else(|| {
            let over_budget =
                budget.is_some_and(|budget| started.elapsed().saturating_add(delay) >= budget);
            over_budget.then_some(GiveUpReason::BudgetExhausted)
        });
        stats.record_failed_attempt(reason.is_none(), throttled);
        if let Some(reason) = reason {
            return Err(ExportFailure {
                error,
                attempts: number,
                reason,
            });
        }
        sleep(delay).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::GrpcCode;
    use std::cell::RefCell;

    /// Polls a future that never waits on anything but the fake sleep below.
    fn block_on<F: Future>(future: F) -> F::Output {
        let waker = std::task::Waker::noop();
        let mut context = std::task::Context::from_waker(waker);
        let mut future = std::pin::pin!(future);
        loop {
            if let std::task::Poll::Ready(output) = future.as_mut().poll(&mut context) {
                return output;
            }
        }
    }

    fn policy(attempts: u32) -> RetryPolicy {
        RetryPolicy::builder()
            .with_initial_backoff(Duration::from_millis(10))
            .with_max_backoff(Duration::from_millis(40))
            .with_multiplier(2.0)
            .with_jitter(0.5)
            .with_max_attempts(attempts)
            .build()
            .unwrap()
    }

    /// Runs the loop with errors taken from `script` (then success), and
    /// returns the result and the delays it asked to sleep.
    fn run(
        policy: &RetryPolicy,
        budget: Option<Duration>,
        script: Vec<ExportError>,
    ) -> (Result<u32, ExportFailure>, Vec<Duration>, SignalStats) {
        let stats = SignalStats::default();
        let script = RefCell::new(script.into_iter());
        let delays = RefCell::new(Vec::new());
        let result = block_on(run_with_retry(
            policy,
            budget,
            &stats,
            |attempt| {
                let next = script.borrow_mut().next();
                async move {
                    match next {
                        Some(error) => Err(error),
                        None => Ok(attempt.number),
                    }
                }
            },
            |delay| {
                delays.borrow_mut().push(delay);
                async {}
            },
        ));
        (result, delays.into_inner(), stats)
    }

    // checklist 2.9: transient errors are retried with exponential backoff and jitter.
    #[test]
    fn retries_transient_errors_with_growing_jittered_delays() {
        let errors = vec![
            ExportError::http(503, "", None),
            ExportError::connect("reset"),
            ExportError::grpc(GrpcCode::Unavailable, "", None),
            ExportError::timeout(Duration::from_secs(1)),
        ];
        let (result, delays, stats) = run(&policy(5), None, errors);
        assert_eq!(result.unwrap(), 5);
        let nominal = [10u64, 20, 40, 40];
        assert_eq!(delays.len(), nominal.len());
        for (delay, nominal) in delays.iter().zip(nominal) {
            let nominal = Duration::from_millis(nominal);
            assert!(
                *delay >= nominal / 2 && *delay <= nominal * 3 / 2,
                "{delay:?} vs {nominal:?}"
            );
        }
        let snapshot = stats.snapshot();
        assert_eq!(
            (
                snapshot.failed_attempts,
                snapshot.retries,
                snapshot.throttled
            ),
            (4, 4, 0)
        );
    }

    // checklist 2.10, 2.6: a non-retryable failure is not retried.
    #[test]
    fn non_retryable_errors_stop_at_once() {
        let (result, delays, stats) =
            run(&policy(5), None, vec![ExportError::http(400, "bad", None)]);
        let failure = result.unwrap_err();
        assert_eq!(
            (failure.attempts, failure.reason),
            (1, GiveUpReason::NonRetryable)
        );
        assert_eq!(failure.drop_reason(), DropReason::NonRetryable);
        assert!(delays.is_empty());
        assert_eq!(stats.snapshot().retries, 0);
    }

    #[test]
    fn attempts_are_bounded_by_the_policy() {
        let errors = (0..10).map(|_| ExportError::http(429, "", None)).collect();
        let (result, delays, stats) = run(&policy(3), None, errors);
        let failure = result.unwrap_err();
        assert_eq!(
            (failure.attempts, failure.reason),
            (3, GiveUpReason::AttemptsExhausted)
        );
        assert_eq!(failure.drop_reason(), DropReason::RetriesExhausted);
        assert_eq!(delays.len(), 2);
        let snapshot = stats.snapshot();
        assert_eq!((snapshot.failed_attempts, snapshot.retries), (3, 2));
    }

    // checklist 2.3, 2.7: the server's hint is a lower bound on the delay.
    #[test]
    fn throttling_hint_is_honoured() {
        let hint = Duration::from_millis(500);
        let errors = vec![ExportError::grpc(
            GrpcCode::ResourceExhausted,
            "",
            Some(hint),
        )];
        let (result, delays, stats) = run(&policy(5), None, errors);
        assert_eq!(result.unwrap(), 2);
        assert_eq!(delays, vec![hint]);
        assert_eq!(stats.snapshot().throttled, 1);
    }

    // checklist 2.9, 2.14: retries stay inside the export's time budget.
    #[test]
    fn a_wait_past_the_budget_gives_up_instead() {
        let errors = vec![ExportError::http(503, "", Some(Duration::from_secs(60)))];
        let (result, delays, _) = run(&policy(5), Some(Duration::from_secs(1)), errors);
        let failure = result.unwrap_err();
        assert_eq!(
            (failure.attempts, failure.reason),
            (1, GiveUpReason::BudgetExhausted)
        );
        assert!(delays.is_empty());
    }

    #[test]
    fn each_attempt_gets_the_remaining_budget() {
        let stats = SignalStats::default();
        let budget = Duration::from_secs(30);
        let seen = RefCell::new(Vec::new());
        let result = block_on(run_with_retry(
            &policy(2),
            Some(budget),
            &stats,
            |attempt| {
                seen.borrow_mut().push(attempt);
                async move {
                    if attempt.number == 1 {
                        Err(ExportError::connect(""))
                    } else {
                        Ok(())
                    }
                }
            },
            |_| async {},
        ));
        result.unwrap();
        let seen = seen.into_inner();
        assert_eq!(seen.len(), 2);
        assert!(
            seen.iter()
                .all(|attempt| attempt.timeout.is_some_and(|t| t <= budget))
        );
    }

    #[test]
    fn oversized_and_shutdown_map_to_their_own_drop_reasons() {
        let (oversized, _, _) = run(
            &policy(5),
            None,
            vec![ExportError::request_too_large(10, 5)],
        );
        assert_eq!(oversized.unwrap_err().drop_reason(), DropReason::Oversized);
        let (shutdown, _, _) = run(&policy(5), None, vec![ExportError::shutdown()]);
        assert_eq!(
            shutdown.unwrap_err().drop_reason(),
            DropReason::AfterShutdown
        );
    }
}
