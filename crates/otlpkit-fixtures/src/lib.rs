//! Fixtures shared by otlpkit's tests and benches.
//!
//! Test and bench code only (`publish = false`): crates take it as a
//! dev-dependency. It depends on the OpenTelemetry crates and, with the
//! `receiver` feature, on `otlpkit-testkit`, and on no other otlpkit crate,
//! so a crate under test never sees a second copy of its own types through
//! it (docs/TESTING.md, "Shared fixtures").
//!
//! - [`at`]: a timestamp in nanoseconds since the epoch, as the wire has it.
//! - [`exec`]: a runtime-free executor, the way a plain `fn main()` or the
//!   SDK's processors drive a future.
//! - [`spans`]: an exporter that keeps what the SDK hands it, and the
//!   resource the benches describe their service with.
//! - [`roundtrip`] (feature `receiver`): the trace and log records the round
//!   trip tests send through the SDK providers, and the checks of what the
//!   testkit receiver recorded of them.
//! - [`harness`] and [`process`]: the tests that run as child processes of
//!   their own (`harness = false`): argument parsing, the test loop, and
//!   running a child with a clean environment under a hang guard.

use std::time::{Duration, SystemTime};

pub mod exec;
pub mod harness;
pub mod process;
#[cfg(feature = "receiver")]
pub mod roundtrip;
pub mod spans;

/// The time `nanos` nanoseconds after the Unix epoch.
pub fn at(nanos: u64) -> SystemTime {
    SystemTime::UNIX_EPOCH + Duration::from_nanos(nanos)
}
