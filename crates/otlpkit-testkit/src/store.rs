//! The in-memory record of requests, with notifications for blocking and async waiters.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use parking_lot::{Condvar, Mutex, RwLock};
use tokio::sync::watch;

use crate::error::{ItemKind, WaitError};
use crate::request::{RecordedRequest, Signal};

/// Counts of accepted items and recorded requests since the last `clear()`.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Counts {
    pub(crate) spans: usize,
    pub(crate) data_points: usize,
    pub(crate) log_records: usize,
    pub(crate) requests: usize,
}

impl Counts {
    pub(crate) fn get(&self, kind: ItemKind) -> usize {
        match kind {
            ItemKind::Spans => self.spans,
            ItemKind::DataPoints => self.data_points,
            ItemKind::LogRecords => self.log_records,
            ItemKind::Requests => self.requests,
        }
    }
}

#[derive(Debug, Default)]
struct Inner {
    requests: Vec<Arc<RecordedRequest>>,
    counts: Counts,
    next_seq: u64,
}

/// Called for every recorded request, on the receiver's thread.
pub(crate) type OnRequest = Arc<dyn Fn(&RecordedRequest) + Send + Sync>;

/// Requests recorded so far.
pub(crate) struct Store {
    inner: Mutex<Inner>,
    changed: Condvar,
    version: watch::Sender<u64>,
    on_request: Option<OnRequest>,
    /// Callbacks added after start (the web page's store, for instance).
    subscribers: RwLock<Vec<OnRequest>>,
    /// Whether requests are kept for the queries (counts are kept either way).
    keep: bool,
    in_flight: AtomicUsize,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store")
            .field("counts", &self.counts())
            .field("on_request", &self.on_request.is_some())
            .field("subscribers", &self.subscribers.read().len())
            .field("keep", &self.keep)
            .finish_non_exhaustive()
    }
}

impl Store {
    pub(crate) fn new(on_request: Option<OnRequest>, keep: bool) -> Store {
        Store {
            inner: Mutex::new(Inner {
                next_seq: 1,
                ..Inner::default()
            }),
            changed: Condvar::new(),
            version: watch::Sender::new(0),
            on_request,
            subscribers: RwLock::new(Vec::new()),
            keep,
            in_flight: AtomicUsize::new(0),
        }
    }

    /// Calls `callback` with every request recorded from now on.
    pub(crate) fn subscribe(&self, callback: OnRequest) {
        self.subscribers.write().push(callback);
    }

    /// A decoded request started waiting for its answer.
    pub(crate) fn enter_flight(&self) {
        self.in_flight.fetch_add(1, Ordering::SeqCst);
    }

    /// A decoded request got its answer (or was abandoned).
    pub(crate) fn leave_flight(&self) {
        self.in_flight.fetch_sub(1, Ordering::SeqCst);
    }

    /// Decoded requests not answered yet.
    pub(crate) fn in_flight(&self) -> usize {
        self.in_flight.load(Ordering::SeqCst)
    }

    /// Assigns the next sequence number.
    pub(crate) fn next_seq(&self) -> u64 {
        let mut inner = self.inner.lock();
        let seq = inner.next_seq;
        inner.next_seq += 1;
        seq
    }

    pub(crate) fn record(&self, request: RecordedRequest) {
        let request = Arc::new(request);
        {
            let mut inner = self.inner.lock();
            inner.counts.requests += 1;
            if request.accepted() {
                let n = request.item_count;
                match request.signal {
                    Signal::Traces => inner.counts.spans += n,
                    Signal::Metrics => inner.counts.data_points += n,
                    Signal::Logs => inner.counts.log_records += n,
                }
            }
            if self.keep {
                // Keep the list ordered by sequence number even when a delayed request
                // finishes after a later one.
                let pos = inner.requests.partition_point(|r| r.seq < request.seq);
                inner.requests.insert(pos, Arc::clone(&request));
            }
        }
        self.changed.notify_all();
        self.version.send_modify(|v| *v += 1);
        if let Some(callback) = &self.on_request {
            callback(&request);
        }
        for callback in self.subscribers.read().iter() {
            callback(&request);
        }
    }

    pub(crate) fn requests(&self) -> Vec<Arc<RecordedRequest>> {
        self.inner.lock().requests.clone()
    }

    pub(crate) fn counts(&self) -> Counts {
        self.inner.lock().counts
    }

    pub(crate) fn clear(&self) {
        {
            let mut inner = self.inner.lock();
            inner.requests.clear();
            inner.counts = Counts::default();
        }
        self.changed.notify_all();
        self.version.send_modify(|v| *v += 1);
    }

    /// Blocks until at least `expected` items of `kind` are counted, or `timeout` elapses.
    pub(crate) fn wait_blocking(
        &self,
        kind: ItemKind,
        expected: usize,
        timeout: Duration,
    ) -> Result<(), WaitError> {
        let deadline = Instant::now().checked_add(timeout);
        let mut inner = self.inner.lock();
        loop {
            let arrived = inner.counts.get(kind);
            if arrived >= expected {
                return Ok(());
            }
            let timed_out = match deadline {
                Some(deadline) => self.changed.wait_until(&mut inner, deadline).timed_out(),
                None => {
                    self.changed.wait(&mut inner);
                    false
                }
            };
            if timed_out {
                let arrived = inner.counts.get(kind);
                if arrived >= expected {
                    return Ok(());
                }
                return Err(WaitError::Timeout {
                    kind,
                    expected,
                    arrived,
                    timeout,
                });
            }
        }
    }

    /// Waits until at least `expected` items of `kind` are counted. `deadline` resolves when
    /// the wait must give up; the future itself needs no particular runtime.
    pub(crate) async fn wait_async(
        &self,
        kind: ItemKind,
        expected: usize,
        timeout: Duration,
        deadline: impl std::future::Future<Output = ()>,
    ) -> Result<(), WaitError> {
        let mut version = self.version.subscribe();
        let mut deadline = std::pin::pin!(deadline);
        loop {
            // Mark the current version as seen before checking, so no change is missed.
            version.borrow_and_update();
            let arrived = self.counts().get(kind);
            if arrived >= expected {
                return Ok(());
            }
            tokio::select! {
                biased;
                changed = version.changed() => {
                    if changed.is_err() {
                        // The store is being dropped; nothing more can arrive.
                        break;
                    }
                }
                () = &mut deadline => break,
            }
        }
        let arrived = self.counts().get(kind);
        if arrived >= expected {
            Ok(())
        } else {
            Err(WaitError::Timeout {
                kind,
                expected,
                arrived,
                timeout,
            })
        }
    }
}
