//! The web page: a live view of what the receiver got (traces as waterfalls, the log
//! records of a span, the metrics), served on its own loopback port from assets embedded in
//! the binary, with the JSON endpoints behind it. It reads the bounded [`Retention`] store,
//! fed by every request the receiver records.

use std::collections::HashSet;
use std::fmt;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use http::header::{CACHE_CONTROL, CONTENT_TYPE, HOST};
use http::{HeaderValue, Method, Request, Response, StatusCode};
use http_body_util::Full;
use hyper::body::{Frame, Incoming, SizeHint};
use hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};
use parking_lot::Mutex;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio_util::sync::CancellationToken;

use crate::error::{Listener, StartError};
use crate::retention::{Retention, RetentionLimits};
use crate::store::Store;

const INDEX_HTML: &str = include_str!("ui/index.html");
const APP_JS: &str = include_str!("ui/app.js");
const APP_CSS: &str = include_str!("ui/app.css");

/// Most connections the page's listener serves at once.
const MAX_CONNECTIONS: usize = 64;
/// Most traces listed, log records returned and points per metric series returned.
const MAX_LIST: usize = 1000;
/// Most answers of a trace, the log records or the metrics built or being sent at once: each
/// can be as large as the store, and a client that does not read would otherwise keep one
/// per connection (64 of them) in memory.
const MAX_LARGE_ANSWERS: usize = 2;
/// The pieces a large answer is handed to hyper in: it takes the next one only once it has
/// written most of the last, so the answer's place is held until it is nearly sent.
const CHUNK: usize = 64 * 1024;

/// Whether `path` asks for an answer that can be as large as the store.
fn large(path: &str) -> bool {
    path == "/api/logs" || path == "/api/metrics" || path.starts_with("/api/traces/")
}

/// A response body handed over in [`CHUNK`]s, holding a place among the large answers (if
/// it is one) until its last chunk is taken.
struct Held {
    inner: Full<Bytes>,
    pending: Bytes,
    _slot: Option<OwnedSemaphorePermit>,
}

impl hyper::body::Body for Held {
    type Data = Bytes;
    type Error = std::convert::Infallible;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        let this = self.get_mut();
        if this.pending.is_empty() {
            match Pin::new(&mut this.inner).poll_frame(cx) {
                Poll::Ready(Some(Ok(frame))) => match frame.into_data() {
                    Ok(data) => this.pending = data,
                    Err(frame) => return Poll::Ready(Some(Ok(frame))),
                },
                other => return other,
            }
        }
        let n = this.pending.len().min(CHUNK);
        Poll::Ready(Some(Ok(Frame::data(this.pending.split_to(n)))))
    }

    fn is_end_stream(&self) -> bool {
        self.pending.is_empty() && self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        let rest = self.inner.size_hint().exact().unwrap_or(0);
        SizeHint::with_exact(self.pending.len() as u64 + rest)
    }
}

/// The running web page of a [`Receiver`](crate::Receiver), from
/// [`Receiver::serve_ui`](crate::Receiver::serve_ui). Dropping it stops the page (the
/// receiver keeps running).
pub struct Ui {
    addr: SocketAddr,
    store: Arc<Mutex<Retention>>,
    stop: CancellationToken,
}

impl fmt::Debug for Ui {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Ui")
            .field("addr", &self.addr)
            .field("kept_bytes", &self.store.lock().bytes())
            .finish()
    }
}

impl Ui {
    /// The address the page listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The page's URL, e.g. `http://127.0.0.1:4320/`.
    pub fn url(&self) -> String {
        format!("http://{}/", self.addr)
    }

    /// Bytes the page's store counts for the telemetry it keeps (at most
    /// [`RetentionLimits::bytes`]).
    pub fn kept_bytes(&self) -> usize {
        self.store.lock().bytes()
    }
}

impl Drop for Ui {
    fn drop(&mut self) {
        self.stop.cancel();
    }
}

/// Binds `addr` and serves the page on `runtime`, fed by `store`.
pub(crate) fn start(
    runtime: &tokio::runtime::Handle,
    store: &Store,
    addr: SocketAddr,
    limits: RetentionLimits,
    stop: CancellationToken,
) -> Result<Ui, StartError> {
    let retention = Arc::new(Mutex::new(Retention::new(limits)));
    // Subscribe first and skip, in the callback, what the backfill below already took.
    let backfilled: Arc<Mutex<Option<HashSet<u64>>>> = Arc::new(Mutex::new(None));
    {
        let mut guard = retention.lock();
        let feed = Arc::clone(&retention);
        let skip = Arc::clone(&backfilled);
        store.subscribe(Arc::new(move |request| {
            let seen = skip
                .lock()
                .as_ref()
                .is_some_and(|seqs| seqs.contains(&request.seq));
            if !seen {
                feed.lock().ingest(request);
            }
        }));
        let earlier = store.requests();
        *backfilled.lock() = Some(earlier.iter().map(|r| r.seq).collect());
        for request in &earlier {
            guard.ingest(request);
        }
    }
    let _context = runtime.enter();
    let listener = crate::server::bind(addr, Listener::Ui)?;
    let local = listener.local_addr().map_err(|source| StartError::Bind {
        listener: Listener::Ui,
        addr,
        source,
    })?;
    runtime.spawn(serve(
        listener,
        Arc::clone(&retention),
        stop.clone(),
        local.ip().is_loopback(),
    ));
    Ok(Ui {
        addr: local,
        store: retention,
        stop,
    })
}

async fn serve(
    listener: tokio::net::TcpListener,
    store: Arc<Mutex<Retention>>,
    stop: CancellationToken,
    loopback: bool,
) {
    let slots = Arc::new(Semaphore::new(MAX_CONNECTIONS));
    let answers = Arc::new(Semaphore::new(MAX_LARGE_ANSWERS));
    loop {
        let accepted = tokio::select! {
            biased;
            () = stop.cancelled() => return,
            accepted = listener.accept() => accepted,
        };
        let Ok((stream, _)) = accepted else {
            tokio::time::sleep(Duration::from_millis(10)).await;
            continue;
        };
        let Ok(slot) = Arc::clone(&slots).try_acquire_owned() else {
            continue; // over the cap: dropped, hence closed
        };
        let store = Arc::clone(&store);
        let answers = Arc::clone(&answers);
        let stop = stop.clone();
        tokio::spawn(async move {
            let svc = service_fn(move |req| {
                let slot = if large(req.uri().path()) {
                    Arc::clone(&answers).try_acquire_owned().ok()
                } else {
                    None
                };
                let response = if large(req.uri().path()) && slot.is_none() {
                    let mut busy = response(
                        StatusCode::SERVICE_UNAVAILABLE,
                        "text/plain; charset=utf-8",
                        Bytes::from_static(b"503 other answers are being sent; retry\n"),
                    );
                    busy.headers_mut()
                        .insert(http::header::RETRY_AFTER, HeaderValue::from_static("1"));
                    busy
                } else {
                    handle(&store, &req, loopback)
                };
                let response = response.map(|inner| Held {
                    inner,
                    pending: Bytes::new(),
                    _slot: slot,
                });
                async move { Ok::<_, std::convert::Infallible>(response) }
            });
            let mut builder = hyper::server::conn::http1::Builder::new();
            builder
                .timer(TokioTimer::new())
                .header_read_timeout(Duration::from_secs(30));
            let connection = builder.serve_connection(TokioIo::new(stream), svc);
            tokio::select! {
                () = stop.cancelled() => {}
                _ = connection => {}
            }
            drop(slot);
        });
    }
}

fn response(status: StatusCode, content_type: &'static str, body: Bytes) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(body));
    *response.status_mut() = status;
    let headers = response.headers_mut();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
    headers.insert(
        "content-security-policy",
        HeaderValue::from_static(
            "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; \
             connect-src 'self'; frame-ancestors 'none'",
        ),
    );
    headers.insert(
        "x-content-type-options",
        HeaderValue::from_static("nosniff"),
    );
    headers.insert("referrer-policy", HeaderValue::from_static("no-referrer"));
    headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

fn json(value: &serde_json::Value) -> Response<Full<Bytes>> {
    match serde_json::to_vec(value) {
        Ok(body) => response(StatusCode::OK, "application/json", Bytes::from(body)),
        Err(_) => not_found(),
    }
}

fn json_text(body: Vec<u8>) -> Response<Full<Bytes>> {
    response(StatusCode::OK, "application/json", Bytes::from(body))
}

fn not_found() -> Response<Full<Bytes>> {
    response(
        StatusCode::NOT_FOUND,
        "text/plain; charset=utf-8",
        Bytes::from_static(b"404 page not found\n"),
    )
}

/// Whether the `Host` header names this machine: a page on a loopback port answers only
/// those, so that a web site cannot read it through a DNS name it points at 127.0.0.1.
fn local_host(req: &Request<Incoming>) -> bool {
    let Some(host) = req.headers().get(HOST).and_then(|h| h.to_str().ok()) else {
        return false;
    };
    let name = match host.strip_prefix('[') {
        Some(rest) => rest.split(']').next().unwrap_or_default(),
        None => host.rsplit_once(':').map_or(host, |(name, _)| name),
    };
    name.eq_ignore_ascii_case("localhost")
        || name
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

fn query<'a>(req: &'a Request<Incoming>, key: &str) -> Option<&'a str> {
    req.uri().query()?.split('&').find_map(|pair| {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        (k == key).then_some(v)
    })
}

fn hex_id(text: &str) -> Option<Vec<u8>> {
    if !text.len().is_multiple_of(2) || text.len() > 64 {
        return None;
    }
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(text.get(i..i + 2)?, 16).ok())
        .collect()
}

fn limit(req: &Request<Incoming>, default: usize) -> usize {
    query(req, "limit")
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
        .min(MAX_LIST)
}

fn handle(
    store: &Mutex<Retention>,
    req: &Request<Incoming>,
    loopback: bool,
) -> Response<Full<Bytes>> {
    if loopback && !local_host(req) {
        return response(
            StatusCode::FORBIDDEN,
            "text/plain; charset=utf-8",
            Bytes::from_static(b"403 this page answers only to localhost\n"),
        );
    }
    if req.method() != Method::GET {
        let mut r = response(
            StatusCode::METHOD_NOT_ALLOWED,
            "text/plain; charset=utf-8",
            Bytes::from_static(b"405 method not allowed\n"),
        );
        r.headers_mut()
            .insert(http::header::ALLOW, HeaderValue::from_static("GET"));
        return r;
    }
    let path = req.uri().path();
    match path {
        "/" | "/index.html" => response(
            StatusCode::OK,
            "text/html; charset=utf-8",
            Bytes::from_static(INDEX_HTML.as_bytes()),
        ),
        "/app.js" => response(
            StatusCode::OK,
            "text/javascript; charset=utf-8",
            Bytes::from_static(APP_JS.as_bytes()),
        ),
        "/app.css" => response(
            StatusCode::OK,
            "text/css; charset=utf-8",
            Bytes::from_static(APP_CSS.as_bytes()),
        ),
        "/api/status" => json(&store.lock().status_json()),
        "/api/traces" => json(&store.lock().traces_json(limit(req, 200))),
        "/api/logs" => {
            let trace = query(req, "trace").and_then(hex_id);
            let span = query(req, "span").and_then(hex_id);
            json_text(
                store
                    .lock()
                    .logs_json(trace.as_deref(), span.as_deref(), limit(req, 200)),
            )
        }
        "/api/metrics" => {
            let points = query(req, "points")
                .and_then(|v| v.parse().ok())
                .unwrap_or(60usize)
                .min(MAX_LIST);
            json_text(store.lock().metrics_json(points))
        }
        _ => match path.strip_prefix("/api/traces/").and_then(hex_id) {
            Some(id) => match store.lock().trace_json(&id) {
                Some(view) => json_text(view),
                None => not_found(),
            },
            None => not_found(),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_parse_as_hex() {
        assert_eq!(hex_id("0aff"), Some(vec![0x0a, 0xff]));
        assert_eq!(hex_id("0af"), None);
        assert_eq!(hex_id("zz"), None);
        assert_eq!(hex_id(""), Some(vec![]));
    }
}
