//! Error types, one per operation.

use std::fmt;
use std::io;
use std::net::SocketAddr;
use std::time::Duration;

/// Which listener an address belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Listener {
    /// The OTLP/gRPC listener.
    Grpc,
    /// The OTLP/HTTP listener.
    Http,
    /// The web page's listener ([`Receiver::serve_ui`](crate::Receiver::serve_ui)).
    Ui,
}

impl fmt::Display for Listener {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Listener::Grpc => "gRPC",
            Listener::Http => "HTTP",
            Listener::Ui => "web page",
        })
    }
}

/// Starting (or restarting) the receiver failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StartError {
    /// The receiver thread could not be spawned.
    #[error("cannot spawn the receiver thread: {0}")]
    Thread(#[source] io::Error),
    /// The receiver's tokio runtime could not be built.
    #[error("cannot build the receiver's tokio runtime: {0}")]
    Runtime(#[source] io::Error),
    /// The receiver thread exited before handing over its runtime.
    #[error("the receiver thread exited during start-up")]
    ThreadExited,
    /// A listener could not bind its address.
    #[error("cannot bind the {listener} listener to {addr}: {source}")]
    Bind {
        /// Which listener.
        listener: Listener,
        /// The address it tried to bind.
        addr: SocketAddr,
        /// The OS error.
        #[source]
        source: io::Error,
    },
}

/// A [`RefusingPort`](crate::RefusingPort) could not reserve its port.
#[derive(Debug, thiserror::Error)]
#[error("cannot reserve the TCP port {addr}: {source}")]
#[non_exhaustive]
pub struct ReserveError {
    /// The address it tried to bind (port 0: any free port).
    pub addr: SocketAddr,
    /// The OS error (`AddrInUse` when a socket is bound to the port).
    #[source]
    pub source: io::Error,
}

/// What a wait was counting.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ItemKind {
    /// Spans of successful trace requests.
    Spans,
    /// Metric data points of successful metric requests.
    DataPoints,
    /// Log records of successful log requests.
    LogRecords,
    /// Recorded requests, whatever their outcome.
    Requests,
}

impl fmt::Display for ItemKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ItemKind::Spans => "spans",
            ItemKind::DataPoints => "metric data points",
            ItemKind::LogRecords => "log records",
            ItemKind::Requests => "requests",
        })
    }
}

/// A wait for items ended without the expected number arriving.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum WaitError {
    /// The timeout elapsed first.
    #[error("timed out after {timeout:?} waiting for {expected} {kind}: {arrived} arrived")]
    Timeout {
        /// What was counted.
        kind: ItemKind,
        /// How many were expected.
        expected: usize,
        /// How many had arrived when the wait gave up.
        arrived: usize,
        /// The timeout.
        timeout: Duration,
    },
}

/// Where in a JSON document a decoding error happened, e.g.
/// `resourceSpans[0].scopeSpans[1].spans[2].traceId`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid OTLP/JSON at {path}: {message}")]
#[non_exhaustive]
pub struct JsonError {
    /// The JSON path of the offending value (`$` for the document itself).
    pub path: String,
    /// What is wrong with it, quoting the value.
    pub message: String,
}

/// Why an OTLP/HTTP request body could not be turned into a request.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BodyError {
    /// The body is larger than the configured limit (before or after decompression).
    #[error("request body larger than the limit of {limit} bytes")]
    TooLarge {
        /// The limit in bytes.
        limit: usize,
    },
    /// Decompression failed.
    #[error("cannot decompress the {encoding} body: {source}")]
    Decompress {
        /// The content encoding, `gzip` or `zstd`.
        encoding: String,
        /// The decoder's error.
        #[source]
        source: io::Error,
    },
    /// The protobuf body does not decode as the signal's export request.
    #[error("cannot decode the protobuf body: {0}")]
    Protobuf(#[from] prost::DecodeError),
    /// The JSON body is not valid JSON.
    #[error("the body is not valid JSON: {0}")]
    Syntax(#[from] serde_json::Error),
    /// The JSON body is JSON but not OTLP/JSON.
    #[error(transparent)]
    Json(#[from] JsonError),
}
