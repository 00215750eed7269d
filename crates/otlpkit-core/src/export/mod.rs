//! What every transport shares when it sends a batch: the error type and its
//! retry classification, the retry loop, throttling hints, and the counters
//! that account for every item.
//!
//! These are transport-agnostic and runtime-free: the loop takes the sleep
//! function from its caller, so otlpkit-core still depends on no async
//! runtime.

mod batch;
mod error;
mod retry_loop;
mod stats;
mod throttle;

pub use batch::{Accepted, BatchLimits, BatchRequest, export_batch};
pub use error::{ExportError, ExportErrorKind, GrpcCode};
pub use retry_loop::{Attempt, ExportFailure, GiveUpReason, run_with_retry};
pub use stats::{DropReason, ExportStats, SignalStats, SignalStatsSnapshot, StatsSnapshot};
pub use throttle::parse_retry_after;
