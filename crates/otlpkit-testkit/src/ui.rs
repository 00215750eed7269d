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
use crate::shared::{ConnectionCounts, Shared};

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

/// When a connection's large answer last made progress (was started, or had a chunk
/// taken by hyper); `None` while it sends none. A client that stops reading stops the
/// progress, and its connection is closed once none was made for the page's idle
/// timeout, giving back the answer's place.
type Progress = Arc<Mutex<Option<tokio::time::Instant>>>;

/// A response body handed over in [`CHUNK`]s, holding a place among the large answers (if
/// it is one) until its last chunk is taken.
struct Held {
    inner: Full<Bytes>,
    pending: Bytes,
    slot: Option<(OwnedSemaphorePermit, Progress)>,
}

impl Drop for Held {
    fn drop(&mut self) {
        if let Some((_, progress)) = &self.slot {
            *progress.lock() = None;
        }
    }
}

impl hyper::body::Body for Held {
    type Data = Bytes;
    type Error = std::convert::Infallible;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        let this = self.get_mut();
        if let Some((_, progress)) = &this.slot {
            *progress.lock() = Some(tokio::time::Instant::now());
        }
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
    #[cfg(test)]
    before_build: BuildHook,
}

/// Called by a test between taking a large answer's copy and building it.
#[cfg(test)]
type BuildHook = Arc<Mutex<Option<Arc<dyn Fn() + Send + Sync>>>>;

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

    /// Runs `hook` on the thread that builds each large answer, after the answer's copy
    /// was taken out of the store and before it is built.
    #[cfg(test)]
    pub(crate) fn before_build(&self, hook: impl Fn() + Send + Sync + 'static) {
        *self.before_build.lock() = Some(Arc::new(hook));
    }
}

impl Drop for Ui {
    fn drop(&mut self) {
        self.stop.cancel();
    }
}

/// How long the page waits for a request's headers (from the connection's start, or the
/// end of its last answer) when the receiver has no idle timeout.
const HEADER_TIMEOUT: Duration = Duration::from_secs(30);

/// Binds `addr` and serves the page on `runtime`, fed by the receiver's store.
pub(crate) fn start(
    runtime: &tokio::runtime::Handle,
    shared: &Shared,
    addr: SocketAddr,
    limits: RetentionLimits,
    stop: CancellationToken,
) -> Result<Ui, StartError> {
    let store = &shared.store;
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
    #[cfg(test)]
    let before_build: BuildHook = Arc::default();
    let page = Arc::new(Page {
        store: Arc::clone(&retention),
        loopback: local.ip().is_loopback(),
        header_timeout: shared.limits.idle_timeout.unwrap_or(HEADER_TIMEOUT),
        connections: Arc::clone(&shared.connections),
        #[cfg(test)]
        before_build: Arc::clone(&before_build),
    });
    runtime.spawn(serve(listener, page, stop.clone()));
    Ok(Ui {
        addr: local,
        store: retention,
        stop,
        #[cfg(test)]
        before_build,
    })
}

/// What the page's connections share.
struct Page {
    store: Arc<Mutex<Retention>>,
    loopback: bool,
    /// Longest wait for a request's headers: a client that sends them too slowly, or
    /// none, gives its connection back.
    header_timeout: Duration,
    connections: Arc<ConnectionCounts>,
    #[cfg(test)]
    before_build: BuildHook,
}

/// An answer: ready, or to be built from a copy taken out of the store.
enum Answer {
    Ready(Response<Full<Bytes>>),
    /// Built on a blocking thread, so that neither the store's lock nor the runtime's
    /// thread is held while an answer as large as the store is serialized.
    Build(Box<dyn FnOnce() -> Response<Full<Bytes>> + Send>),
}

impl Page {
    async fn answer(self: Arc<Self>, req: Request<Incoming>) -> Response<Full<Bytes>> {
        match handle(&self.store, &req, self.loopback) {
            Answer::Ready(response) => response,
            Answer::Build(build) => {
                #[cfg(test)]
                let hook = self.before_build.lock().clone();
                let built = tokio::task::spawn_blocking(move || {
                    #[cfg(test)]
                    if let Some(hook) = hook {
                        hook();
                    }
                    build()
                })
                .await;
                built.unwrap_or_else(|_| {
                    response(
                        StatusCode::INTERNAL_SERVER_ERROR,
                        "text/plain; charset=utf-8",
                        Bytes::from_static(b"500 the answer could not be built\n"),
                    )
                })
            }
        }
    }
}

async fn serve(listener: tokio::net::TcpListener, page: Arc<Page>, stop: CancellationToken) {
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
            // Over the cap: dropped, hence closed.
            page.connections
                .refused_over_cap
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            continue;
        };
        let (header_timeout, connections) = (page.header_timeout, Arc::clone(&page.connections));
        let page = Arc::clone(&page);
        let answers = Arc::clone(&answers);
        let stop = stop.clone();
        let progress: Progress = Arc::default();
        let watched = Arc::clone(&progress);
        tokio::spawn(async move {
            let svc = service_fn(move |req: Request<Incoming>| {
                let slot = if large(req.uri().path()) {
                    Arc::clone(&answers).try_acquire_owned().ok()
                } else {
                    None
                };
                let busy = large(req.uri().path()) && slot.is_none();
                let page = Arc::clone(&page);
                let progress = Arc::clone(&progress);
                async move {
                    let response = if busy {
                        let mut busy = response(
                            StatusCode::SERVICE_UNAVAILABLE,
                            "text/plain; charset=utf-8",
                            Bytes::from_static(b"503 other answers are being sent; retry\n"),
                        );
                        busy.headers_mut()
                            .insert(http::header::RETRY_AFTER, HeaderValue::from_static("1"));
                        busy
                    } else {
                        page.answer(req).await
                    };
                    // Built: from now on its client must keep reading it.
                    let slot = slot.map(|permit| {
                        *progress.lock() = Some(tokio::time::Instant::now());
                        (permit, progress)
                    });
                    let response = response.map(|inner| Held {
                        inner,
                        pending: Bytes::new(),
                        slot,
                    });
                    Ok::<_, std::convert::Infallible>(response)
                }
            });
            let mut builder = hyper::server::conn::http1::Builder::new();
            builder
                .timer(TokioTimer::new())
                .header_read_timeout(header_timeout);
            {
                // Pinned in this block rather than moved into `select!`, so that the
                // socket is dropped at its end, after the count: a client that sees the
                // close also sees it.
                let mut connection =
                    std::pin::pin!(builder.serve_connection(TokioIo::new(stream), svc));
                tokio::select! {
                    () = stop.cancelled() => {}
                    () = stalled(&watched, header_timeout) => {
                        connections
                            .closed_idle
                            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    }
                    ended = connection.as_mut() => {
                        if ended.is_err_and(|e| crate::server::is_header_timeout(&e)) {
                            connections
                                .closed_idle
                                .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                        }
                    }
                }
            }
            drop(slot);
        });
    }
}

/// Resolves once the connection's large answer made no progress for `timeout`: its
/// client stopped reading it. Never resolves while it sends no large answer.
async fn stalled(progress: &Progress, timeout: Duration) {
    loop {
        let last = *progress.lock();
        match last {
            Some(last) if last.elapsed() >= timeout => return,
            Some(last) => match last.checked_add(timeout) {
                Some(deadline) => tokio::time::sleep_until(deadline).await,
                None => std::future::pending().await,
            },
            // Checked again at this pace: an answer started since is given its whole
            // timeout from its start.
            None => tokio::time::sleep(timeout).await,
        }
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

/// The answer to `req`. Under the store's lock only the copy an answer needs is taken
/// (handles of the stored items, at most the store's size in pointers); the answers that
/// can be as large as the store are built from it after the lock is released.
fn handle(store: &Mutex<Retention>, req: &Request<Incoming>, loopback: bool) -> Answer {
    if loopback && !local_host(req) {
        return Answer::Ready(response(
            StatusCode::FORBIDDEN,
            "text/plain; charset=utf-8",
            Bytes::from_static(b"403 this page answers only to localhost\n"),
        ));
    }
    if req.method() != Method::GET {
        let mut r = response(
            StatusCode::METHOD_NOT_ALLOWED,
            "text/plain; charset=utf-8",
            Bytes::from_static(b"405 method not allowed\n"),
        );
        r.headers_mut()
            .insert(http::header::ALLOW, HeaderValue::from_static("GET"));
        return Answer::Ready(r);
    }
    let path = req.uri().path();
    let ready = match path {
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
        "/api/traces" => {
            let view = store.lock().traces_view(limit(req, 200));
            return Answer::Build(Box::new(move || json(&view.json())));
        }
        "/api/logs" => {
            let trace = query(req, "trace").and_then(hex_id);
            let span = query(req, "span").and_then(hex_id);
            let view = store
                .lock()
                .logs_view(trace.as_deref(), span.as_deref(), limit(req, 200));
            return Answer::Build(Box::new(move || json_text(view.json())));
        }
        "/api/metrics" => {
            let points = query(req, "points")
                .and_then(|v| v.parse().ok())
                .unwrap_or(60usize)
                .min(MAX_LIST);
            let view = store.lock().metrics_view(points);
            return Answer::Build(Box::new(move || json_text(view.json())));
        }
        _ => match path.strip_prefix("/api/traces/").and_then(hex_id) {
            Some(id) => {
                let view = store.lock().trace_view(&id);
                match view {
                    Some(view) => return Answer::Build(Box::new(move || json_text(view.json()))),
                    None => not_found(),
                }
            }
            None => not_found(),
        },
    };
    Answer::Ready(ready)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{Read as _, Write as _};
    use std::net::TcpStream;

    use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
    use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Span};
    use prost::Message as _;

    /// How long a blocked exchange is waited for before the test gives up on it (a guard
    /// against hanging, not a measure).
    const HANG_GUARD: Duration = Duration::from_secs(10);

    fn exchange(addr: SocketAddr, request: &[u8]) -> std::io::Result<String> {
        let mut stream = TcpStream::connect(addr)?;
        stream.set_read_timeout(Some(HANG_GUARD))?;
        stream.write_all(request)?;
        let mut text = Vec::new();
        stream.read_to_end(&mut text)?;
        Ok(String::from_utf8_lossy(&text).into_owned())
    }

    fn export(addr: SocketAddr, span_id: u8) -> std::io::Result<String> {
        let body = ExportTraceServiceRequest {
            resource_spans: vec![ResourceSpans {
                scope_spans: vec![ScopeSpans {
                    spans: vec![Span {
                        trace_id: vec![7; 16],
                        span_id: vec![span_id; 8],
                        name: format!("span {span_id}"),
                        ..Default::default()
                    }],
                    ..Default::default()
                }],
                ..Default::default()
            }],
        }
        .encode_to_vec();
        let mut request = format!(
            "POST /v1/traces HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-protobuf\r\n\
             Content-Length: {}\r\nConnection: close\r\n\r\n",
            body.len()
        )
        .into_bytes();
        request.extend_from_slice(&body);
        exchange(addr, &request)
    }

    // A large answer is built from a copy taken under the store's lock, off the receiver's
    // thread: while it is being built (the hook holds it there), an export is taken in and
    // answered. Built under the lock, or on the runtime's only thread, the export would
    // wait for the answer, and the answer for the export.
    #[test]
    fn intake_goes_on_while_a_large_answer_is_built() {
        let receiver = crate::Receiver::builder().start().unwrap();
        let ui = receiver
            .serve_ui("127.0.0.1:0".parse().unwrap(), RetentionLimits::default())
            .unwrap();
        let first = export(receiver.http_addr(), 1).unwrap();
        assert!(first.starts_with("HTTP/1.1 200"), "{first}");

        let (tx, rx) = std::sync::mpsc::channel();
        let http = receiver.http_addr();
        let tx = Mutex::new(tx);
        ui.before_build(move || {
            let _ = tx.lock().send(export(http, 2));
        });
        let page = exchange(
            ui.addr(),
            format!(
                "GET /api/traces/{} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n",
                "07".repeat(16)
            )
            .as_bytes(),
        )
        .unwrap();
        let during = rx.recv_timeout(HANG_GUARD).expect("the hook ran");
        let during = during.expect("the export during the build was answered");
        assert!(during.starts_with("HTTP/1.1 200"), "{during}");
        assert!(page.starts_with("HTTP/1.1 200"), "{page}");
        // The answer shows the copy taken before the export: one span.
        assert!(
            page.contains("span 1") && !page.contains("span 2"),
            "{page}"
        );
        assert_eq!(receiver.span_count(), 2);
    }

    #[test]
    fn ids_parse_as_hex() {
        assert_eq!(hex_id("0aff"), Some(vec![0x0a, 0xff]));
        assert_eq!(hex_id("0af"), None);
        assert_eq!(hex_id("zz"), None);
        assert_eq!(hex_id(""), Some(vec![]));
    }
}
