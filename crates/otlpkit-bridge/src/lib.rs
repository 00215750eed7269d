//! otlpkit's bridge between synchronous and asynchronous code.
//!
//! The one idea of otlpkit is that the hot path of an application never
//! touches an async runtime, and all network I/O runs on one export worker
//! thread that owns its own small tokio runtime. This crate provides:
//!
//! - [`WorkerRuntime`]: that thread and its runtime, with
//!   [`block_on`](WorkerRuntime::block_on) that works from a plain thread,
//!   from inside a multi-thread or `current_thread` tokio runtime and from
//!   `spawn_blocking` without panicking or deadlocking, an async
//!   [`run`](WorkerRuntime::run) twin, and a bounded
//!   [`shutdown`](WorkerRuntime::shutdown).
//!
//! Context propagation across threads, tasks, futures and streams is planned
//! for this crate as well.
//!
//! # Example
//!
//! ```
//! use std::time::Duration;
//! use otlpkit_bridge::WorkerRuntime;
//!
//! let worker = WorkerRuntime::start("otlpkit-export").unwrap();
//! // From synchronous code:
//! let n = worker.block_on(async { 1 + 1 }, Some(Duration::from_secs(1))).unwrap();
//! assert_eq!(n, 2);
//! ```
//!
//! # Supported Rust versions
//!
//! The workspace is built and tested with Rust 1.95.0 (`rust-version` in the
//! workspace manifest).
#![cfg_attr(docsrs, feature(doc_cfg))]

mod error;
mod worker;

pub use error::BridgeError;
pub use worker::WorkerRuntime;
