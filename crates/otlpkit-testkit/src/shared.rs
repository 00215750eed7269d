//! State shared by both protocol front ends: the store, the fault scripts, and the
//! protocol-independent part of handling an export request.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime};

use parking_lot::Mutex;
use tokio_util::sync::CancellationToken;

use crate::budget::Budget;
use crate::fault::{Action, FaultScripts};
use crate::request::{Answer, Body, Headers, Protocol, RecordedRequest, Signal};
use crate::store::{OnRequest, Store};

/// One accepted TCP connection.
#[derive(Debug, Clone)]
pub(crate) struct ConnCtx {
    pub(crate) id: u64,
    pub(crate) peer: SocketAddr,
    /// Cancelling it makes the connection task drop the connection (no response).
    pub(crate) cancel: CancellationToken,
    /// Cancelled by the connection task once the connection is gone.
    pub(crate) closed: CancellationToken,
}

/// Facts about a request known before any fault is applied.
#[derive(Debug)]
pub(crate) struct RequestMeta {
    pub(crate) signal: Signal,
    pub(crate) protocol: Protocol,
    pub(crate) http_version: http::Version,
    pub(crate) headers: Headers,
    pub(crate) content_encoding: Option<String>,
    pub(crate) body_size: usize,
    pub(crate) decoded_size: usize,
    pub(crate) received_at: SystemTime,
}

/// What the servers allow a client: sizes, memory, time and connections.
#[derive(Debug, Clone)]
pub(crate) struct Limits {
    /// Largest body, before and after decompression.
    pub(crate) max_body_size: usize,
    /// Memory all requests in flight may hold together (none: unlimited).
    pub(crate) budget: Option<Budget>,
    /// Longest time from a request's headers to the end of its body.
    pub(crate) body_timeout: Option<Duration>,
    /// Longest time a connection may stay open without a request in progress.
    pub(crate) idle_timeout: Option<Duration>,
    /// Most connections open at once, per listener.
    pub(crate) max_connections: Option<usize>,
    /// Protobuf bodies are counted, not decoded.
    pub(crate) count_only: bool,
}

/// Connections the receiver closed without a request on them, by cause.
#[derive(Debug, Default)]
pub(crate) struct ConnectionCounts {
    /// Closed by the idle timeout, or by the header read timeout: no request in progress
    /// (idle between requests, or headers sent too slowly or never).
    pub(crate) closed_idle: AtomicU64,
    /// Accepted over the connection cap and closed at once.
    pub(crate) refused_over_cap: AtomicU64,
}

#[derive(Debug)]
pub(crate) struct Shared {
    pub(crate) store: Store,
    pub(crate) faults: Mutex<FaultScripts>,
    pub(crate) limits: Limits,
    /// Shared by every listener, the web page's too.
    pub(crate) connections: std::sync::Arc<ConnectionCounts>,
    next_connection: AtomicU64,
}

/// Records the request as [`Answer::Abandoned`] if the handler is dropped before answering.
struct Pending<'a> {
    store: &'a Store,
    request: Option<RecordedRequest>,
}

impl<'a> Pending<'a> {
    fn new(store: &'a Store, request: RecordedRequest) -> Pending<'a> {
        store.enter_flight();
        Pending {
            store,
            request: Some(request),
        }
    }

    fn finish(mut self, answer: Answer) {
        if let Some(mut request) = self.request.take() {
            request.answer = answer;
            self.store.leave_flight();
            self.store.record(request);
        }
    }
}

impl Drop for Pending<'_> {
    fn drop(&mut self) {
        if let Some(request) = self.request.take() {
            self.store.leave_flight();
            self.store.record(request);
        }
    }
}

impl Shared {
    pub(crate) fn new(limits: Limits, on_request: Option<OnRequest>, keep: bool) -> Shared {
        Shared {
            store: Store::new(on_request, keep),
            faults: Mutex::new(FaultScripts::default()),
            limits,
            connections: std::sync::Arc::default(),
            next_connection: AtomicU64::new(1),
        }
    }

    pub(crate) fn next_connection_id(&self) -> u64 {
        self.next_connection.fetch_add(1, Ordering::Relaxed)
    }

    fn recorded(
        &self,
        meta: RequestMeta,
        conn: &ConnCtx,
        body: Option<Body>,
        answer: Answer,
        delay: Duration,
    ) -> RecordedRequest {
        let (payload, item_count) = body.map_or((None, 0), Body::into_parts);
        RecordedRequest {
            seq: self.store.next_seq(),
            signal: meta.signal,
            protocol: meta.protocol,
            http_version: meta.http_version,
            headers: meta.headers,
            content_encoding: meta.content_encoding,
            body_size: meta.body_size,
            decoded_size: meta.decoded_size,
            item_count,
            answer,
            delay,
            payload,
            received_at: meta.received_at,
            peer: conn.peer,
            connection_id: conn.id,
        }
    }

    /// Records a request the receiver refused before looking at faults (malformed).
    pub(crate) fn record_refused(&self, meta: RequestMeta, conn: &ConnCtx, answer: Answer) {
        let request = self.recorded(meta, conn, None, answer, Duration::ZERO);
        self.store.record(request);
    }

    /// Applies the next scripted fault to a decoded request, records it, and says what to
    /// answer. For [`Action::Drop`] the caller must drop the connection.
    pub(crate) async fn process(&self, meta: RequestMeta, conn: &ConnCtx, body: Body) -> Action {
        let fault = self.faults.lock().pop(meta.signal);
        let delay = fault.as_ref().map_or(Duration::ZERO, |f| f.delay_before());
        let protocol = meta.protocol;
        let request = self.recorded(meta, conn, Some(body), Answer::Abandoned, delay);
        let pending = Pending::new(&self.store, request);
        if !delay.is_zero() {
            tokio::time::sleep(delay).await;
        }
        let action = fault.map_or(Action::Success, |f| f.resolve(protocol));
        let answer = match &action {
            Action::Success => Answer::Ok,
            Action::Partial { rejected, message } => Answer::PartialSuccess {
                rejected: *rejected,
                message: message.clone(),
            },
            Action::Grpc {
                code,
                message,
                retry_delay,
            } => Answer::GrpcStatus {
                code: *code,
                message: message.clone(),
                retry_delay: *retry_delay,
            },
            Action::Http {
                status,
                message,
                retry_after,
            } => Answer::HttpStatus {
                status: status.as_u16(),
                retry_after: retry_after.clone(),
                message: message.clone(),
            },
            Action::Drop => Answer::ConnectionDropped,
        };
        pending.finish(answer);
        action
    }
}

/// Drops the connection of `conn` and never returns: the handler's future is dropped with
/// the connection (HTTP/1.1) or ended by the connection guard (HTTP/2).
pub(crate) async fn drop_connection(conn: &ConnCtx) -> std::convert::Infallible {
    conn.cancel.cancel();
    std::future::pending().await
}
