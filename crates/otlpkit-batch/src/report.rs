//! What a flush or a shutdown achieved, item by item.

use std::fmt;
use std::time::Duration;

use crate::stats::ProcessorStats;

/// The outcome of a flush (checklist 3.6).
///
/// A flush exports everything the processor had received when it was called
/// (including exports already running), then calls the exporter's own flush;
/// the deadline takes priority over finishing.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct FlushReport {
    /// Items in export calls that succeeded.
    pub exported: u64,
    /// Items in export calls that failed or hit the export timeout (each
    /// counted under its drop reason).
    pub failed: u64,
    /// Items not settled when the deadline passed: still queued or in
    /// flight. A flush leaves them where they are (they are exported later);
    /// a shutdown drops them as `shutdown_deadline`.
    pub unsent: u64,
    /// Whether the deadline passed before the flush finished.
    pub timed_out: bool,
    /// How long the flush took.
    pub elapsed: Duration,
    /// The exporter's own flush or shutdown error, if it reported one.
    pub exporter_error: Option<String>,
}

impl FlushReport {
    /// True when everything was exported in time and nothing failed.
    pub fn is_complete(&self) -> bool {
        !self.timed_out && self.failed == 0 && self.unsent == 0 && self.exporter_error.is_none()
    }
}

impl fmt::Display for FlushReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "exported {}, failed {}, unsent {} in {:?}",
            self.exported, self.failed, self.unsent, self.elapsed
        )?;
        if self.timed_out {
            f.write_str(" (deadline passed)")?;
        }
        if let Some(error) = &self.exporter_error {
            write!(f, " (exporter: {error})")?;
        }
        Ok(())
    }
}

/// The outcome of a shutdown (checklist 3.7): the final flush, what the
/// deadline left behind (dropped as `shutdown_deadline`), and the
/// processor's totals when the shutdown returned.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ProcessorShutdownReport {
    /// The final flush. Its `unsent` items were dropped as
    /// [`DropReason::ShutdownDeadline`](otlpkit_core::stats::DropReason::ShutdownDeadline).
    pub flush: FlushReport,
    /// The processor's statistics when the shutdown returned.
    ///
    /// An exporter that counts its own batches may still hold, at the
    /// deadline, a send that a blocking export call left running; its own
    /// shutdown counts it as dropped at the deadline, and may do so after
    /// the processor's shutdown returned. Those items are then in neither
    /// `flush` nor here (both are read from the same counters) until the
    /// exporter's shutdown finishes; [`ProcessorHandle::stats`](crate::ProcessorHandle::stats)
    /// has them afterwards.
    pub totals: ProcessorStats,
}

impl ProcessorShutdownReport {
    /// True when everything was exported in time, nothing failed and the
    /// exporter shut down cleanly.
    pub fn is_complete(&self) -> bool {
        self.flush.is_complete()
    }

    /// Items that could not be sent because the deadline passed.
    pub fn unsent(&self) -> u64 {
        self.flush.unsent
    }
}

impl fmt::Display for ProcessorShutdownReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "shutdown: {}; totals: {}", self.flush, self.totals)
    }
}
