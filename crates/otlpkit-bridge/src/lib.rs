//! otlpkit's bridge between synchronous and asynchronous code.
//!
//! A trace is only useful when its parent/child links survive every hop the
//! program makes: from an async task to `spawn_blocking`, from a request
//! handler to a thread, from sync code into a future and back. Both the
//! OpenTelemetry [`Context`](opentelemetry::Context) and the current
//! [`tracing::Span`] live in thread-locals and stay behind at each of those
//! hops; this crate carries them across. It also holds otlpkit's one idea
//! about runtimes: the hot path never touches an async runtime, and all
//! network I/O runs on one export worker thread that owns its own small
//! tokio runtime.
//!
//! This crate provides:
//!
//! - [`Captured`]: the OpenTelemetry context and the `tracing` span of one
//!   moment, to re-attach elsewhere ([`Captured::attach`],
//!   [`Captured::in_scope`], [`Captured::wrap`] for closures,
//!   [`Captured::wrap_fn`] for parallel iterators);
//! - drop-in spawners that carry both: [`spawn`] and [`spawn_blocking`] (tokio),
//!   [`thread::spawn`] and [`thread::scope`] (std), and, with the `rayon`
//!   feature, `rayon::{spawn, join, scope}`;
//! - [`FutureContextExt`] (`.in_current_context()`, `.with_captured(c)`) for
//!   futures handed to any executor, and [`StreamContextExt`] for streams,
//!   optionally with one child span per item
//!   ([`with_item_spans`](StreamContextExt::with_item_spans));
//! - [`block_on`]: run a future from synchronous code on a plain thread, a
//!   multi-thread runtime or a `current_thread` runtime without panicking
//!   (and [`block_on_local`] for futures that are not `Send`);
//! - [`WorkerRuntime`]: the export worker thread and its runtime, with its own
//!   deadline-bounded [`block_on`](WorkerRuntime::block_on), an async
//!   [`run`](WorkerRuntime::run) twin, and a bounded
//!   [`shutdown`](WorkerRuntime::shutdown);
//! - [`handoff`]: one value handed from one thread to a waiter with a
//!   bounded wait, compiled once rather than a channel per reply type.
//!
//! The wrappers compose [`tracing::Instrument`] and
//! [`opentelemetry::context::FutureExt::with_context`] rather than replace
//! them. They need no subscriber: with `tracing-opentelemetry` installed
//! (as `otlpkit-tracing` does), a `tracing` span entered on the far side of a
//! hop also makes its OpenTelemetry context current, and spans started there,
//! through `tracing` or the OpenTelemetry API, become its children.
//!
//! # Usage
//!
//! Libraries and applications alike call these helpers where they cross a
//! boundary; the helpers cost a clone of the context and the span (two
//! reference-count increments) per hop.
//!
//! ```
//! use otlpkit_bridge::{Captured, FutureContextExt as _};
//!
//! let span = tracing::info_span!("import");
//! let _entered = span.enter();
//!
//! // A thread, then sync code calling async code, all inside "import".
//! let rows = otlpkit_bridge::thread::spawn(|| {
//!     otlpkit_bridge::block_on(async { 3 }).unwrap()
//! })
//! .join()
//! .unwrap();
//! assert_eq!(rows, 3);
//!
//! // The manual case: capture now, attach later, somewhere else.
//! let captured = Captured::current();
//! let later = std::thread::spawn(move || {
//!     let _guard = captured.attach();
//!     tracing::info!("still inside `import`");
//! });
//! later.join().unwrap();
//! ```
//!
//! From async code:
//!
//! ```no_run
//! # async fn example() {
//! use otlpkit_bridge::FutureContextExt as _;
//!
//! let checksum = otlpkit_bridge::spawn_blocking(|| {
//!     // Blocking I/O, inside the caller's span.
//!     std::fs::read("data.bin").map(|bytes| bytes.len())
//! })
//! .await;
//! let task = tokio::spawn(async { /* ... */ }.in_current_context());
//! # let _ = (checksum, task);
//! # }
//! ```
//!
//! # Feature flags
//!
//! - `rayon` (off by default): the [`rayon`](mod@crate::rayon) module.
//!
//! # Supported Rust versions
//!
//! The workspace is built and tested with Rust 1.95.0 (`rust-version` in the
//! workspace manifest): the newest stable and the three minors before it;
//! raising it is not a breaking change.
#![cfg_attr(docsrs, feature(doc_cfg))]
// The crate docs are written for the whole crate, as docs.rs builds it (all
// features) and `cargo xtask ci` checks it; in a build without some
// features, their links point at items that are compiled out.
#![cfg_attr(not(feature = "rayon"), allow(rustdoc::broken_intra_doc_links))]

mod block_on;
mod captured;
mod error;
mod handoff;
#[cfg(feature = "rayon")]
#[cfg_attr(docsrs, doc(cfg(feature = "rayon")))]
pub mod rayon;
mod spawn;
mod worker;

pub use block_on::{BLOCK_ON_THREAD_NAME, block_on, block_on_local};
pub use captured::{
    Captured, CapturedGuard, FutureContextExt, InContext, InContextStream, ItemSpans,
    StreamContextExt,
};
pub use error::{BlockOnError, BridgeError};
pub use handoff::{Giver, HandoffError, Taker, handoff};
pub use spawn::{spawn, spawn_blocking, spawn_blocking_on, spawn_on, thread};
pub use worker::{EXPORT_WORKER_NAME, WorkerRuntime};
