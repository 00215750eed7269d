//! The bounded store behind the web page: the most recent traces, log records and metric
//! points, in a compact form whose size is counted, within count and byte limits.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::fmt::Write as _;
use std::mem::size_of;
use std::sync::Arc;

use opentelemetry_proto::tonic::common::v1::{InstrumentationScope, KeyValue, any_value};
use opentelemetry_proto::tonic::metrics::v1::{metric, number_data_point};
use opentelemetry_proto::tonic::resource::v1::Resource;
use opentelemetry_proto::tonic::trace::v1::Span;

use crate::items::{DisplayValue, hex};
use crate::request::{Payload, RecordedRequest};

/// How much the store keeps. The oldest data goes first when any limit is reached.
///
/// ```
/// use otlpkit_testkit::RetentionLimits;
///
/// let limits = RetentionLimits::default().with_traces(100);
/// assert_eq!(limits.traces, 100);
/// assert_eq!(limits.bytes, 16 * 1024 * 1024);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct RetentionLimits {
    /// The most recent traces kept (default 1,000); a trace is recent when one of its spans
    /// arrived recently.
    pub traces: usize,
    /// Spans kept per trace (default 10,000); later ones are counted, not kept.
    pub spans_per_trace: usize,
    /// The most recent log records kept (default 10,000).
    pub log_records: usize,
    /// The most recent metric points kept, over all series (default 20,000).
    pub metric_points: usize,
    /// Memory for everything kept, as counted by the store (default 16 MiB).
    pub bytes: usize,
}

impl Default for RetentionLimits {
    fn default() -> Self {
        RetentionLimits {
            traces: 1_000,
            spans_per_trace: 10_000,
            log_records: 10_000,
            metric_points: 20_000,
            bytes: 16 * 1024 * 1024,
        }
    }
}

impl RetentionLimits {
    /// Keeps the `n` most recent traces.
    #[must_use]
    pub fn with_traces(mut self, n: usize) -> Self {
        self.traces = n;
        self
    }

    /// Keeps at most `n` spans per trace.
    #[must_use]
    pub fn with_spans_per_trace(mut self, n: usize) -> Self {
        self.spans_per_trace = n;
        self
    }

    /// Keeps the `n` most recent log records.
    #[must_use]
    pub fn with_log_records(mut self, n: usize) -> Self {
        self.log_records = n;
        self
    }

    /// Keeps the `n` most recent metric points, over all series.
    #[must_use]
    pub fn with_metric_points(mut self, n: usize) -> Self {
        self.metric_points = n;
        self
    }

    /// Keeps at most `bytes` of telemetry, as the store counts it.
    #[must_use]
    pub fn with_bytes(mut self, bytes: usize) -> Self {
        self.bytes = bytes;
        self
    }
}

/// The longest string kept for a value, name or body, in bytes.
const MAX_TEXT: usize = 1024;
/// The most attributes kept per item, event or resource.
const MAX_ATTRIBUTES: usize = 64;
/// The most events and links kept per span.
const MAX_EVENTS: usize = 64;

/// Text cut at [`MAX_TEXT`] bytes (on a character boundary), with `…` when cut, and its
/// bidirectional-text controls escaped.
fn text(s: &str) -> Box<str> {
    if s.len() <= MAX_TEXT {
        return escape_bidi(s);
    }
    let mut end = MAX_TEXT;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    escape_bidi(&format!("{}…", &s[..end]))
}

/// Whether `c` changes the direction of the text around it.
fn is_bidi_control(c: char) -> bool {
    matches!(
        c,
        '\u{061c}' | '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}'
    )
}

/// `s` with its bidirectional-text controls written as `\u{..}`, as the terminal summary
/// writes them: a name a sender chose (`U+202E` reverses what follows) cannot reorder
/// what the page shows around it. At most 3 times longer (3 bytes become 8).
fn escape_bidi(s: &str) -> Box<str> {
    if !s.chars().any(is_bidi_control) {
        return s.into();
    }
    let mut out = String::with_capacity(s.len() + 16);
    for c in s.chars() {
        if is_bidi_control(c) {
            let _ = write!(out, "{}", c.escape_unicode());
        } else {
            out.push(c);
        }
    }
    out.into_boxed_str()
}

/// Bounded text of any value: strings as they are, others as `DisplayValue` shows them.
fn value_text(value: Option<&any_value::Value>) -> (&'static str, Box<str>) {
    struct Capped(String);
    impl std::fmt::Write for Capped {
        fn write_str(&mut self, s: &str) -> std::fmt::Result {
            if self.0.len() + s.len() > MAX_TEXT {
                let room = MAX_TEXT.saturating_sub(self.0.len());
                let mut end = room.min(s.len());
                while !s.is_char_boundary(end) {
                    end -= 1;
                }
                self.0.push_str(&s[..end]);
                return Err(std::fmt::Error);
            }
            self.0.push_str(s);
            Ok(())
        }
    }
    let Some(value) = value else {
        return ("empty", "".into());
    };
    let kind = match value {
        any_value::Value::StringValue(s) => return ("string", text(s)),
        any_value::Value::BoolValue(_) => "bool",
        any_value::Value::IntValue(_) => "int",
        any_value::Value::DoubleValue(_) => "double",
        any_value::Value::BytesValue(_) => "bytes",
        any_value::Value::ArrayValue(_) => "array",
        any_value::Value::KvlistValue(_) => "map",
        any_value::Value::StringValueStrindex(_) => "strindex",
    };
    let mut out = Capped(String::new());
    if write!(out, "{}", DisplayValue(value)).is_err() {
        out.0.push('…');
    }
    (kind, escape_bidi(&out.0))
}

/// One attribute as kept: key, value type and value text.
#[derive(Debug, Clone)]
struct Attr {
    key: Box<str>,
    kind: &'static str,
    value: Box<str>,
}

impl Attr {
    fn bytes(&self) -> usize {
        size_of::<Attr>() + self.key.len() + self.value.len()
    }
}

fn attrs(list: &[KeyValue]) -> Box<[Attr]> {
    list.iter()
        .take(MAX_ATTRIBUTES)
        .map(|kv| {
            let (kind, value) = value_text(kv.value.as_ref().and_then(|v| v.value.as_ref()));
            Attr {
                key: text(&kv.key),
                kind,
                value,
            }
        })
        .collect()
}

fn attrs_bytes(list: &[Attr]) -> usize {
    list.iter().map(Attr::bytes).sum()
}

/// A resource and scope, shared by the items of one envelope.
#[derive(Debug)]
struct Origin {
    service: Box<str>,
    resource: Box<[Attr]>,
    scope: Box<str>,
    bytes: usize,
}

impl Origin {
    fn new(resource: Option<&Resource>, scope: Option<&InstrumentationScope>) -> Arc<Origin> {
        let attributes = resource.map(|r| r.attributes.as_slice()).unwrap_or(&[]);
        let service = text(crate::items::attribute_str(attributes, "service.name").unwrap_or(""));
        let resource = attrs(attributes);
        let scope = text(scope.map_or("", |s| s.name.as_str()));
        let bytes = size_of::<Origin>() + service.len() + attrs_bytes(&resource) + scope.len();
        Arc::new(Origin {
            service,
            resource,
            scope,
            bytes,
        })
    }
}

#[derive(Debug)]
struct StoredEvent {
    name: Box<str>,
    time: u64,
    attributes: Box<[Attr]>,
}

#[derive(Debug)]
struct StoredLink {
    trace_id: Box<[u8]>,
    span_id: Box<[u8]>,
}

#[derive(Debug)]
struct StoredSpan {
    /// Only what the tree needs of the proto span: ids, name, start.
    ids: Span,
    kind: i32,
    end: u64,
    status_code: i32,
    status_message: Box<str>,
    attributes: Box<[Attr]>,
    events: Box<[StoredEvent]>,
    links: Box<[StoredLink]>,
    origin: Arc<Origin>,
}

impl StoredSpan {
    fn new(span: &Span, origin: &Arc<Origin>) -> StoredSpan {
        StoredSpan {
            ids: Span {
                trace_id: span.trace_id.clone(),
                span_id: span.span_id.clone(),
                parent_span_id: span.parent_span_id.clone(),
                name: text(&span.name).into(),
                start_time_unix_nano: span.start_time_unix_nano,
                ..Default::default()
            },
            kind: span.kind,
            end: span.end_time_unix_nano,
            status_code: span.status.as_ref().map_or(0, |s| s.code),
            status_message: text(span.status.as_ref().map_or("", |s| s.message.as_str())),
            attributes: attrs(&span.attributes),
            events: span
                .events
                .iter()
                .take(MAX_EVENTS)
                .map(|e| StoredEvent {
                    name: text(&e.name),
                    time: e.time_unix_nano,
                    attributes: attrs(&e.attributes),
                })
                .collect(),
            links: span
                .links
                .iter()
                .take(MAX_EVENTS)
                .map(|l| StoredLink {
                    trace_id: l.trace_id.clone().into_boxed_slice(),
                    span_id: l.span_id.clone().into_boxed_slice(),
                })
                .collect(),
            origin: Arc::clone(origin),
        }
    }

    fn bytes(&self) -> usize {
        size_of::<StoredSpan>()
            + self.ids.trace_id.capacity()
            + self.ids.span_id.capacity()
            + self.ids.parent_span_id.capacity()
            + self.ids.name.capacity()
            + self.status_message.len()
            + attrs_bytes(&self.attributes)
            + self
                .events
                .iter()
                .map(|e| size_of::<StoredEvent>() + e.name.len() + attrs_bytes(&e.attributes))
                .sum::<usize>()
            + self
                .links
                .iter()
                .map(|l| size_of::<StoredLink>() + l.trace_id.len() + l.span_id.len())
                .sum::<usize>()
    }

    fn is_error(&self) -> bool {
        self.status_code == 2
    }
}

#[derive(Debug)]
struct Trace {
    /// Shared with the page's answers, which are built from a copy of these handles after
    /// the store's lock is released.
    spans: Vec<Arc<StoredSpan>>,
    /// Spans that arrived after the per-trace limit.
    dropped_spans: usize,
    /// The tick of its last update (its place in the eviction order).
    tick: u64,
    bytes: usize,
    /// Resources charged to this trace, by address.
    origins: Vec<Arc<Origin>>,
    start: u64,
    end: u64,
    errors: usize,
}

#[derive(Debug)]
struct StoredLog {
    tick: u64,
    time: u64,
    severity_number: i32,
    severity_text: Box<str>,
    body: Box<str>,
    trace_id: Box<[u8]>,
    span_id: Box<[u8]>,
    attributes: Box<[Attr]>,
    origin: Arc<Origin>,
    bytes: usize,
}

/// What does not change in a metric stream, shared with the page's answers.
#[derive(Debug)]
struct SeriesInfo {
    name: Box<str>,
    description: Box<str>,
    unit: Box<str>,
    kind: &'static str,
    attributes: Box<[Attr]>,
    origin: Arc<Origin>,
}

/// One metric stream: a name with one set of point attributes, from one service.
#[derive(Debug)]
struct Series {
    info: Arc<SeriesInfo>,
    /// Its key in `Retention::series_ids`, so that letting it go removes that entry
    /// without a scan of every series.
    key: Box<str>,
    /// `(time, value, tick)`, oldest first.
    points: VecDeque<(u64, f64, u64)>,
    /// Text of the latest point (histograms: count, sum, min, max).
    latest: Box<str>,
    bytes: usize,
}

/// Counters of what arrived and what was let go.
#[derive(Debug, Default, Clone, Copy)]
struct Totals {
    spans: u64,
    log_records: u64,
    metric_points: u64,
    evicted_traces: u64,
    evicted_logs: u64,
    evicted_points: u64,
    dropped_spans: u64,
}

/// The most the store held at once since it started: counted as each item is taken in,
/// before older items make room for it, so within a request too.
#[derive(Debug, Default, Clone, Copy)]
struct Peak {
    bytes: usize,
    metric_series: usize,
}

/// The bounded store.
#[derive(Debug)]
pub(crate) struct Retention {
    limits: RetentionLimits,
    tick: u64,
    version: u64,
    bytes: usize,
    traces: HashMap<Box<[u8]>, Trace>,
    trace_order: BTreeMap<u64, Box<[u8]>>,
    span_count: usize,
    logs: VecDeque<Arc<StoredLog>>,
    series: HashMap<u64, Series>,
    series_ids: HashMap<String, u64>,
    next_series: u64,
    /// `(tick, series id)` of every point kept, oldest first.
    points: VecDeque<(u64, u64)>,
    totals: Totals,
    peak: Peak,
}

/// Which kind of item is the oldest.
enum Oldest {
    Trace,
    Log,
    Point,
}

impl Retention {
    pub(crate) fn new(limits: RetentionLimits) -> Retention {
        Retention {
            limits,
            tick: 0,
            version: 0,
            bytes: 0,
            traces: HashMap::new(),
            trace_order: BTreeMap::new(),
            span_count: 0,
            logs: VecDeque::new(),
            series: HashMap::new(),
            series_ids: HashMap::new(),
            next_series: 1,
            points: VecDeque::new(),
            totals: Totals::default(),
            peak: Peak::default(),
        }
    }

    /// Bytes counted for everything kept.
    pub(crate) fn bytes(&self) -> usize {
        self.bytes
    }

    /// Changes with every ingested request.
    #[cfg(test)]
    pub(crate) fn version(&self) -> u64 {
        self.version
    }

    fn next_tick(&mut self) -> u64 {
        self.tick += 1;
        self.tick
    }

    /// Takes in the items of an accepted request.
    pub(crate) fn ingest(&mut self, request: &RecordedRequest) {
        if !request.accepted() {
            return;
        }
        match &request.payload {
            Some(Payload::Traces(req)) => {
                for rs in &req.resource_spans {
                    for ss in &rs.scope_spans {
                        let origin = Origin::new(rs.resource.as_ref(), ss.scope.as_ref());
                        for span in &ss.spans {
                            self.add_span(span, &origin);
                            self.made_room();
                        }
                    }
                }
            }
            Some(Payload::Logs(req)) => {
                for rl in &req.resource_logs {
                    for sl in &rl.scope_logs {
                        let origin = Origin::new(rl.resource.as_ref(), sl.scope.as_ref());
                        let share = origin.bytes / sl.log_records.len().max(1) + 1;
                        for record in &sl.log_records {
                            self.add_log(record, &origin, share);
                            self.made_room();
                        }
                    }
                }
            }
            Some(Payload::Metrics(req)) => {
                for rm in &req.resource_metrics {
                    for sm in &rm.scope_metrics {
                        let origin = Origin::new(rm.resource.as_ref(), sm.scope.as_ref());
                        for m in &sm.metrics {
                            self.add_metric(m, &origin);
                        }
                    }
                }
            }
            None => {}
        }
        self.version += 1;
    }

    /// Notes the peak, then lets the oldest items go until the store is within its limits
    /// again: after every item, so that a request of any size never takes the store past
    /// its limits by more than one item (nor the work of letting go past one item's).
    fn made_room(&mut self) {
        self.peak.bytes = self.peak.bytes.max(self.bytes);
        self.peak.metric_series = self.peak.metric_series.max(self.series.len());
        self.evict();
    }

    fn add_span(&mut self, span: &Span, origin: &Arc<Origin>) {
        self.totals.spans += 1;
        let tick = self.next_tick();
        let key: &[u8] = &span.trace_id;
        if !self.traces.contains_key(key) {
            self.traces.insert(
                key.into(),
                Trace {
                    spans: Vec::new(),
                    dropped_spans: 0,
                    tick,
                    bytes: size_of::<Trace>() + key.len(),
                    origins: Vec::new(),
                    start: u64::MAX,
                    end: 0,
                    errors: 0,
                },
            );
            self.bytes += size_of::<Trace>() + key.len();
        }
        let Some(trace) = self.traces.get_mut(key) else {
            return;
        };
        self.trace_order.remove(&trace.tick);
        trace.tick = tick;
        self.trace_order.insert(tick, key.into());
        if trace.spans.len() >= self.limits.spans_per_trace {
            trace.dropped_spans += 1;
            self.totals.dropped_spans += 1;
            return;
        }
        let stored = StoredSpan::new(span, origin);
        let mut bytes = stored.bytes() + ARC_COUNTS;
        if !trace.origins.iter().any(|o| Arc::ptr_eq(o, origin)) {
            trace.origins.push(Arc::clone(origin));
            bytes += origin.bytes + size_of::<Arc<Origin>>();
        }
        trace.start = trace.start.min(span.start_time_unix_nano);
        trace.end = trace.end.max(span.end_time_unix_nano);
        trace.errors += usize::from(stored.is_error());
        trace.spans.push(Arc::new(stored));
        trace.bytes += bytes;
        self.bytes += bytes;
        self.span_count += 1;
    }

    fn add_log(
        &mut self,
        record: &opentelemetry_proto::tonic::logs::v1::LogRecord,
        origin: &Arc<Origin>,
        share: usize,
    ) {
        self.totals.log_records += 1;
        let tick = self.next_tick();
        let body = value_text(record.body.as_ref().and_then(|b| b.value.as_ref())).1;
        let attributes = attrs(&record.attributes);
        let severity_text = text(&record.severity_text);
        let bytes = size_of::<StoredLog>()
            + body.len()
            + severity_text.len()
            + record.trace_id.len()
            + record.span_id.len()
            + attrs_bytes(&attributes)
            + share
            + ARC_COUNTS;
        self.bytes += bytes;
        self.logs.push_back(Arc::new(StoredLog {
            tick,
            time: if record.time_unix_nano != 0 {
                record.time_unix_nano
            } else {
                record.observed_time_unix_nano
            },
            severity_number: record.severity_number,
            severity_text,
            body,
            trace_id: record.trace_id.clone().into_boxed_slice(),
            span_id: record.span_id.clone().into_boxed_slice(),
            attributes,
            origin: Arc::clone(origin),
            bytes,
        }));
    }

    fn add_metric(
        &mut self,
        m: &opentelemetry_proto::tonic::metrics::v1::Metric,
        origin: &Arc<Origin>,
    ) {
        let number = |p: &opentelemetry_proto::tonic::metrics::v1::NumberDataPoint| match p.value {
            Some(number_data_point::Value::AsInt(i)) => (i as f64, i.to_string()),
            Some(number_data_point::Value::AsDouble(d)) => (d, d.to_string()),
            None => (f64::NAN, "no value".to_owned()),
        };
        // (attributes, time, value, latest text)
        let mut points: Vec<(&[KeyValue], u64, f64, String)> = Vec::new();
        let kind = match &m.data {
            Some(metric::Data::Gauge(g)) => {
                for p in &g.data_points {
                    let (v, t) = number(p);
                    points.push((&p.attributes, p.time_unix_nano, v, t));
                }
                "gauge"
            }
            Some(metric::Data::Sum(s)) => {
                for p in &s.data_points {
                    let (v, t) = number(p);
                    points.push((&p.attributes, p.time_unix_nano, v, t));
                }
                "sum"
            }
            Some(metric::Data::Histogram(h)) => {
                for p in &h.data_points {
                    let mut t = format!("count {}", p.count);
                    if let Some(sum) = p.sum {
                        let _ = write!(t, ", sum {sum}");
                    }
                    if let (Some(min), Some(max)) = (p.min, p.max) {
                        let _ = write!(t, ", min {min}, max {max}");
                    }
                    points.push((&p.attributes, p.time_unix_nano, p.count as f64, t));
                }
                "histogram"
            }
            Some(metric::Data::ExponentialHistogram(h)) => {
                for p in &h.data_points {
                    let mut t = format!("count {}", p.count);
                    if let Some(sum) = p.sum {
                        let _ = write!(t, ", sum {sum}");
                    }
                    points.push((&p.attributes, p.time_unix_nano, p.count as f64, t));
                }
                "exponential histogram"
            }
            Some(metric::Data::Summary(s)) => {
                for p in &s.data_points {
                    let t = format!("count {}, sum {}", p.count, p.sum);
                    points.push((&p.attributes, p.time_unix_nano, p.count as f64, t));
                }
                "summary"
            }
            None => "empty",
        };
        for (attributes, time, value, latest) in points {
            self.totals.metric_points += 1;
            let attributes = attrs(attributes);
            let mut key = String::new();
            let _ = write!(key, "{}\u{1}{}\u{1}", origin.service, m.name);
            for a in attributes.iter() {
                let _ = write!(key, "{}={}\u{1}", a.key, a.value);
            }
            let tick = self.next_tick();
            let id = match self.series_ids.get(&key) {
                Some(id) => *id,
                None => {
                    let id = self.next_series;
                    self.next_series += 1;
                    let bytes = size_of::<Series>()
                        + size_of::<SeriesInfo>()
                        + ARC_COUNTS
                        + 2 * key.len()
                        + 64
                        + m.name.len().min(MAX_TEXT)
                        + m.description.len().min(MAX_TEXT)
                        + m.unit.len().min(MAX_TEXT)
                        + attrs_bytes(&attributes)
                        + origin.bytes;
                    self.bytes += bytes;
                    self.series.insert(
                        id,
                        Series {
                            info: Arc::new(SeriesInfo {
                                name: text(&m.name),
                                description: text(&m.description),
                                unit: text(&m.unit),
                                kind,
                                attributes,
                                origin: Arc::clone(origin),
                            }),
                            key: key.as_str().into(),
                            points: VecDeque::new(),
                            latest: "".into(),
                            bytes,
                        },
                    );
                    self.series_ids.insert(key, id);
                    id
                }
            };
            if let Some(series) = self.series.get_mut(&id) {
                self.bytes -= series.latest.len();
                series.latest = text(&latest);
                self.bytes += series.latest.len();
                series.points.push_back((time, value, tick));
                series.bytes += POINT_BYTES;
                self.bytes += POINT_BYTES;
                self.points.push_back((tick, id));
            }
            self.made_room();
        }
    }

    fn oldest(&self) -> Option<(Oldest, u64)> {
        let trace = self.trace_order.keys().next().map(|t| (Oldest::Trace, *t));
        let log = self.logs.front().map(|l| (Oldest::Log, l.tick));
        let point = self.points.front().map(|p| (Oldest::Point, p.0));
        [trace, log, point]
            .into_iter()
            .flatten()
            .min_by_key(|(_, tick)| *tick)
    }

    /// Each `evict_*` returns whether it let something go.
    fn evict_trace(&mut self) -> bool {
        let Some((_, id)) = self.trace_order.pop_first() else {
            return false;
        };
        if let Some(trace) = self.traces.remove(&id) {
            self.bytes -= trace.bytes;
            self.span_count -= trace.spans.len();
            self.totals.evicted_traces += 1;
        }
        true
    }

    fn evict_log(&mut self) -> bool {
        let Some(log) = self.logs.pop_front() else {
            return false;
        };
        self.bytes -= log.bytes;
        self.totals.evicted_logs += 1;
        true
    }

    fn evict_point(&mut self) -> bool {
        let Some((_, id)) = self.points.pop_front() else {
            return false;
        };
        self.totals.evicted_points += 1;
        let empty = match self.series.get_mut(&id) {
            Some(series) => {
                series.points.pop_front();
                series.bytes -= POINT_BYTES;
                self.bytes -= POINT_BYTES;
                series.points.is_empty()
            }
            None => false,
        };
        if empty && let Some(series) = self.series.remove(&id) {
            self.bytes -= series.bytes;
            self.series_ids.remove(&*series.key);
        }
        true
    }

    fn evict(&mut self) {
        while self.traces.len() > self.limits.traces && self.evict_trace() {}
        while self.logs.len() > self.limits.log_records && self.evict_log() {}
        while self.points.len() > self.limits.metric_points && self.evict_point() {}
        while self.bytes > self.limits.bytes {
            let evicted = match self.oldest() {
                Some((Oldest::Trace, _)) => self.evict_trace(),
                Some((Oldest::Log, _)) => self.evict_log(),
                Some((Oldest::Point, _)) => self.evict_point(),
                None => false,
            };
            if !evicted {
                break;
            }
        }
    }
}

/// The reference counts of an `Arc`, charged for each item kept behind one.
const ARC_COUNTS: usize = 2 * size_of::<usize>();

/// What one kept metric point counts for: its tuple in the series and in the global queue.
const POINT_BYTES: usize = size_of::<(u64, f64, u64)>() + size_of::<(u64, u64)>();

// --- JSON views ---------------------------------------------------------------------------

use serde_json::{Value, json};

fn attrs_json(list: &[Attr]) -> Value {
    Value::Array(
        list.iter()
            .map(|a| json!({"key": &*a.key, "type": a.kind, "value": &*a.value}))
            .collect(),
    )
}

fn origin_json(origin: &Origin) -> Value {
    json!({
        "service": &*origin.service,
        "scope": &*origin.scope,
        "attributes": attrs_json(&origin.resource),
    })
}

/// `head` (an object) with one more member, `key`, the array of `items`, written as text one
/// item at a time. A `Value` tree of a whole answer takes several times the memory the store
/// counts for what it shows (a B-tree node of about 630 bytes for each attribute of a
/// couple of bytes): only one item's tree is held at once here.
fn object_with_list(head: Value, key: &str, items: impl Iterator<Item = Value>) -> Vec<u8> {
    // Writing JSON with string keys into a Vec cannot fail.
    let mut out = serde_json::to_vec(&head).unwrap_or_else(|_| b"{}".to_vec());
    out.pop(); // the closing brace
    if out.len() > 1 {
        out.push(b',');
    }
    let _ = serde_json::to_writer(&mut out, key);
    out.extend_from_slice(b":[");
    for (i, item) in items.enumerate() {
        if i > 0 {
            out.push(b',');
        }
        let _ = serde_json::to_writer(&mut out, &item);
    }
    out.extend_from_slice(b"]}");
    out
}

/// Nanoseconds as JSON: a number while it is exact in a double, else a string.
fn nanos(n: u64) -> Value {
    if n < (1 << 53) {
        json!(n)
    } else {
        json!(n.to_string())
    }
}

impl Retention {
    /// `GET /api/status`.
    pub(crate) fn status_json(&self) -> Value {
        let t = self.totals;
        json!({
            "version": self.version,
            "kept": {
                "traces": self.traces.len(),
                "spans": self.span_count,
                "logRecords": self.logs.len(),
                "metricSeries": self.series.len(),
                "metricPoints": self.points.len(),
                "bytes": self.bytes,
            },
            "limits": {
                "traces": self.limits.traces,
                "spansPerTrace": self.limits.spans_per_trace,
                "logRecords": self.limits.log_records,
                "metricPoints": self.limits.metric_points,
                "bytes": self.limits.bytes,
            },
            "received": {
                "spans": t.spans,
                "logRecords": t.log_records,
                "metricPoints": t.metric_points,
            },
            "evicted": {
                "traces": t.evicted_traces,
                "logRecords": t.evicted_logs,
                "metricPoints": t.evicted_points,
                "spansOverTraceLimit": t.dropped_spans,
            },
            "peak": {
                "bytes": self.peak.bytes,
                "metricSeries": self.peak.metric_series,
            },
        })
    }

    /// `GET /api/traces`, copied out: the most recently updated traces, each with the handle
    /// of its root span (found here, in time linear in its spans); [`TracesView::json`]
    /// builds the answer without the store.
    pub(crate) fn traces_view(&self, limit: usize) -> TracesView {
        let traces = self
            .trace_order
            .values()
            .rev()
            .take(limit)
            .filter_map(|id| self.traces.get(id).map(|t| (id, t)))
            .map(|(id, t)| TraceSummary {
                trace_id: id.clone(),
                root: root(&t.spans).cloned(),
                spans: t.spans.len(),
                start: t.start,
                end: t.end,
                dropped_spans: t.dropped_spans,
                errors: t.errors,
            })
            .collect();
        TracesView {
            version: self.version,
            traces,
        }
    }

    /// `GET /api/traces/{id}`, copied out: the handles of its spans.
    pub(crate) fn trace_view(&self, trace_id: &[u8]) -> Option<TraceView> {
        let trace = self.traces.get(trace_id)?;
        Some(TraceView {
            trace_id: trace_id.into(),
            start: trace.start,
            end: trace.end,
            dropped_spans: trace.dropped_spans,
            spans: trace.spans.clone(),
        })
    }

    /// `GET /api/logs`, copied out: the handles of the most recent log records, optionally
    /// those of one trace or span.
    pub(crate) fn logs_view(
        &self,
        trace_id: Option<&[u8]>,
        span_id: Option<&[u8]>,
        limit: usize,
    ) -> LogsView {
        let logs = self
            .logs
            .iter()
            .rev()
            .filter(|l| trace_id.is_none_or(|t| *l.trace_id == *t))
            .filter(|l| span_id.is_none_or(|s| *l.span_id == *s))
            .take(limit)
            .cloned()
            .collect();
        LogsView {
            version: self.version,
            logs,
        }
    }

    /// `GET /api/metrics`, copied out: each series' handle, latest text and last `points`
    /// points.
    pub(crate) fn metrics_view(&self, points: usize) -> MetricsView {
        let series = self
            .series
            .values()
            .map(|s| {
                let skip = s.points.len().saturating_sub(points);
                SeriesView {
                    info: Arc::clone(&s.info),
                    latest: s.latest.clone(),
                    points: s
                        .points
                        .iter()
                        .skip(skip)
                        .map(|&(t, v, _)| (t, v))
                        .collect(),
                }
            })
            .collect();
        MetricsView {
            version: self.version,
            series,
        }
    }

    #[cfg(test)]
    pub(crate) fn traces_json(&self, limit: usize) -> Value {
        self.traces_view(limit).json()
    }

    #[cfg(test)]
    pub(crate) fn trace_json(&self, trace_id: &[u8]) -> Option<Vec<u8>> {
        self.trace_view(trace_id).map(|view| view.json())
    }

    #[cfg(test)]
    pub(crate) fn logs_json(
        &self,
        trace_id: Option<&[u8]>,
        span_id: Option<&[u8]>,
        limit: usize,
    ) -> Vec<u8> {
        self.logs_view(trace_id, span_id, limit).json()
    }
}

/// Why a span id cannot name a span (`None` when it can): the page and the summary say so
/// instead of showing an empty or zero id as if it were one.
pub(crate) fn invalid_span_id(id: &[u8]) -> Option<&'static str> {
    if id.is_empty() {
        Some("empty")
    } else if id.len() != 8 {
        Some("not 8 bytes")
    } else if id.iter().all(|b| *b == 0) {
        Some("all zero")
    } else {
        None
    }
}

/// The root of a trace: its earliest span without a parent in the trace, else its earliest
/// span. A span without an id is no span's parent: the spans without a parent id stay
/// roots beside it.
fn root(spans: &[Arc<StoredSpan>]) -> Option<&Arc<StoredSpan>> {
    let ids: std::collections::HashSet<&[u8]> =
        spans.iter().map(|s| s.ids.span_id.as_slice()).collect();
    spans
        .iter()
        .filter(|s| {
            s.ids.parent_span_id.is_empty() || !ids.contains(s.ids.parent_span_id.as_slice())
        })
        .min_by_key(|s| (!s.ids.parent_span_id.is_empty(), s.ids.start_time_unix_nano))
        .or_else(|| spans.iter().min_by_key(|s| s.ids.start_time_unix_nano))
}

/// One trace of the list, copied out of the store.
#[derive(Debug)]
struct TraceSummary {
    trace_id: Box<[u8]>,
    root: Option<Arc<StoredSpan>>,
    spans: usize,
    start: u64,
    end: u64,
    dropped_spans: usize,
    errors: usize,
}

/// What `GET /api/traces` shows, copied out of the store.
#[derive(Debug)]
pub(crate) struct TracesView {
    version: u64,
    traces: Vec<TraceSummary>,
}

impl TracesView {
    pub(crate) fn json(&self) -> Value {
        let traces: Vec<Value> = self
            .traces
            .iter()
            .map(|t| {
                let root = t.root.as_deref();
                json!({
                    "traceId": hex(&t.trace_id),
                    "root": root.map_or("", |s| s.ids.name.as_str()),
                    "service": root.map_or("", |s| &*s.origin.service),
                    "start": nanos(t.start),
                    "durationNanos": nanos(t.end.saturating_sub(t.start)),
                    "spans": t.spans,
                    "droppedSpans": t.dropped_spans,
                    "errors": t.errors,
                })
            })
            .collect();
        json!({ "version": self.version, "traces": traces })
    }
}

/// What `GET /api/traces/{id}` shows, copied out of the store.
#[derive(Debug)]
pub(crate) struct TraceView {
    trace_id: Box<[u8]>,
    start: u64,
    end: u64,
    dropped_spans: usize,
    spans: Vec<Arc<StoredSpan>>,
}

impl TraceView {
    /// The spans of the trace in tree order, with their depth, as JSON text.
    pub(crate) fn json(&self) -> Vec<u8> {
        let layout = crate::tree::Layout::of(&self.spans, |s| &s.ids);
        let mut origins: Vec<&Arc<Origin>> = Vec::new();
        for &(i, _) in &layout.order {
            let origin = &self.spans[i].origin;
            if !origins.iter().any(|o| Arc::ptr_eq(o, origin)) {
                origins.push(origin);
            }
        }
        let head = json!({
            "traceId": hex(&self.trace_id),
            "start": nanos(self.start),
            "end": nanos(self.end),
            "droppedSpans": self.dropped_spans,
            "resources": origins.iter().map(|o| origin_json(o)).collect::<Vec<_>>(),
        });
        let spans = layout.order.iter().map(|&(i, depth)| {
            let s = &self.spans[i];
            let origin = origins
                .iter()
                .position(|o| Arc::ptr_eq(o, &s.origin))
                .unwrap_or_default();
            json!({
                "spanId": hex(&s.ids.span_id),
                "invalidSpanId": invalid_span_id(&s.ids.span_id),
                "parentSpanId": hex(&s.ids.parent_span_id),
                "parentMissing": layout.parent_missing[i],
                "depth": depth,
                "name": &s.ids.name,
                "kind": s.kind,
                "start": nanos(s.ids.start_time_unix_nano),
                "end": nanos(s.end),
                "status": {"code": s.status_code, "message": &*s.status_message},
                "resource": origin,
                "attributes": attrs_json(&s.attributes),
                "events": s.events.iter().map(|e| json!({
                    "name": &*e.name,
                    "time": nanos(e.time),
                    "attributes": attrs_json(&e.attributes),
                })).collect::<Vec<_>>(),
                "links": s.links.iter().map(|l| json!({
                    "traceId": hex(&l.trace_id),
                    "spanId": hex(&l.span_id),
                })).collect::<Vec<_>>(),
            })
        });
        object_with_list(head, "spans", spans)
    }
}

/// What `GET /api/logs` shows, copied out of the store.
#[derive(Debug)]
pub(crate) struct LogsView {
    version: u64,
    logs: Vec<Arc<StoredLog>>,
}

impl LogsView {
    /// The log records, most recent first, as JSON text.
    pub(crate) fn json(&self) -> Vec<u8> {
        let logs = self.logs.iter().map(|l| {
            json!({
                "time": nanos(l.time),
                "severityNumber": l.severity_number,
                "severityText": &*l.severity_text,
                "body": &*l.body,
                "traceId": hex(&l.trace_id),
                "spanId": hex(&l.span_id),
                "service": &*l.origin.service,
                "attributes": attrs_json(&l.attributes),
            })
        });
        object_with_list(json!({ "version": self.version }), "logs", logs)
    }
}

/// One series of `GET /api/metrics`, copied out of the store.
#[derive(Debug)]
struct SeriesView {
    info: Arc<SeriesInfo>,
    latest: Box<str>,
    points: Vec<(u64, f64)>,
}

/// What `GET /api/metrics` shows, copied out of the store.
#[derive(Debug)]
pub(crate) struct MetricsView {
    version: u64,
    series: Vec<SeriesView>,
}

impl MetricsView {
    /// Every series with its latest value and recent points, as JSON text.
    pub(crate) fn json(mut self) -> Vec<u8> {
        self.series.sort_by(|a, b| {
            let (a, b) = (&a.info, &b.info);
            (&*a.origin.service, &*a.name, a.attributes.len()).cmp(&(
                &*b.origin.service,
                &*b.name,
                b.attributes.len(),
            ))
        });
        let list = self.series.iter().map(|s| {
            let info = &s.info;
            json!({
                "name": &*info.name,
                "description": &*info.description,
                "unit": &*info.unit,
                "kind": info.kind,
                "service": &*info.origin.service,
                "attributes": attrs_json(&info.attributes),
                "latest": &*s.latest,
                "points": s.points.iter().map(|&(t, v)| {
                    json!([nanos(t), if v.is_finite() { json!(v) } else { Value::Null }])
                }).collect::<Vec<_>>(),
            })
        });
        object_with_list(json!({ "version": self.version }), "metrics", list)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::request::{Answer, Headers, Protocol, Signal};
    use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
    use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
    use opentelemetry_proto::tonic::logs::v1::{LogRecord, ResourceLogs, ScopeLogs};
    use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans};
    use std::time::{Duration, SystemTime};

    fn request(seq: u64, payload: Payload) -> RecordedRequest {
        RecordedRequest {
            seq,
            signal: payload.signal(),
            protocol: Protocol::Grpc,
            http_version: http::Version::HTTP_2,
            headers: Headers::default(),
            content_encoding: None,
            body_size: 0,
            decoded_size: 0,
            item_count: payload.item_count(),
            answer: Answer::Ok,
            delay: Duration::ZERO,
            payload: Some(payload),
            received_at: SystemTime::UNIX_EPOCH,
            peer: "127.0.0.1:1".parse().unwrap(),
            connection_id: 1,
        }
    }

    fn trace(trace: u64, spans: u64) -> Payload {
        Payload::Traces(ExportTraceServiceRequest {
            resource_spans: vec![ResourceSpans {
                scope_spans: vec![ScopeSpans {
                    spans: (0..spans)
                        .map(|i| Span {
                            trace_id: [trace.to_be_bytes(), [0; 8]].concat(),
                            span_id: (i + 1).to_be_bytes().to_vec(),
                            parent_span_id: if i == 0 {
                                Vec::new()
                            } else {
                                i.to_be_bytes().to_vec()
                            },
                            name: format!("span {i}"),
                            start_time_unix_nano: 10 + i,
                            end_time_unix_nano: 100,
                            ..Default::default()
                        })
                        .collect(),
                    ..Default::default()
                }],
                ..Default::default()
            }],
        })
    }

    #[test]
    fn a_span_without_an_id_is_no_parent_and_says_what_it_is() {
        let span = |id: Vec<u8>, name: &str, start: u64| Span {
            trace_id: vec![9; 16],
            parent_span_id: if name == "early child" {
                vec![1; 8]
            } else {
                Vec::new()
            },
            span_id: id,
            name: name.into(),
            start_time_unix_nano: start,
            end_time_unix_nano: start + 10,
            ..Default::default()
        };
        let mut store = Retention::new(RetentionLimits::default());
        store.ingest(&request(
            1,
            Payload::Traces(ExportTraceServiceRequest {
                resource_spans: vec![ResourceSpans {
                    scope_spans: vec![ScopeSpans {
                        spans: vec![
                            span(Vec::new(), "no id", 20),
                            span(vec![1; 8], "first root", 10),
                            span(vec![2; 8], "early child", 5),
                        ],
                        ..Default::default()
                    }],
                    ..Default::default()
                }],
            }),
        ));
        // The spans without a parent id are roots, whatever another span lacks.
        let listed = store.traces_json(10);
        assert_eq!(listed["traces"][0]["root"], "first root", "{listed}");
        let view: Value = serde_json::from_slice(&store.trace_json(&[9; 16]).unwrap()).unwrap();
        let spans = view["spans"].as_array().unwrap();
        let shape: Vec<(&str, u64)> = spans
            .iter()
            .map(|s| (s["name"].as_str().unwrap(), s["depth"].as_u64().unwrap()))
            .collect();
        assert_eq!(
            shape,
            [("first root", 0), ("early child", 1), ("no id", 0)],
            "{view}"
        );
        assert_eq!(spans[0]["invalidSpanId"], Value::Null);
        assert_eq!(spans[2]["spanId"], "");
        assert_eq!(spans[2]["invalidSpanId"], "empty");
    }

    #[test]
    fn bidirectional_controls_are_shown_escaped() {
        let mut store = Retention::new(RetentionLimits::default());
        store.ingest(&request(
            1,
            Payload::Traces(ExportTraceServiceRequest {
                resource_spans: vec![ResourceSpans {
                    scope_spans: vec![ScopeSpans {
                        spans: vec![Span {
                            trace_id: vec![3; 16],
                            span_id: vec![1; 8],
                            name: "invoice\u{202e}fdp.exe".into(),
                            attributes: vec![KeyValue {
                                key: "k\u{2066}ey".into(),
                                value: Some(opentelemetry_proto::tonic::common::v1::AnyValue {
                                    value: Some(any_value::Value::StringValue(
                                        "v\u{200f}al".into(),
                                    )),
                                }),
                                ..Default::default()
                            }],
                            ..Default::default()
                        }],
                        ..Default::default()
                    }],
                    ..Default::default()
                }],
            }),
        ));
        let text = String::from_utf8(store.trace_json(&[3; 16]).unwrap()).unwrap();
        let view: Value = serde_json::from_str(&text).unwrap();
        let span = &view["spans"][0];
        assert_eq!(span["name"], "invoice\\u{202e}fdp.exe");
        assert_eq!(span["attributes"][0]["key"], "k\\u{2066}ey");
        assert_eq!(span["attributes"][0]["value"], "v\\u{200f}al");
        assert_eq!(
            store.traces_json(1)["traces"][0]["root"],
            "invoice\\u{202e}fdp.exe"
        );
        for c in ['\u{202e}', '\u{2066}', '\u{200f}'] {
            assert!(!text.contains(c), "{text}");
        }
    }

    #[test]
    fn keeps_the_most_recent_traces_within_count_and_bytes() {
        let limits = RetentionLimits::default()
            .with_traces(10)
            .with_spans_per_trace(3);
        let mut store = Retention::new(limits);
        for t in 0..25 {
            store.ingest(&request(t + 1, trace(t, 5)));
        }
        let listed = store.traces_json(100);
        let traces = listed["traces"].as_array().unwrap();
        assert_eq!(traces.len(), 10);
        assert_eq!(
            traces[0]["traceId"],
            hex(&[24u64.to_be_bytes(), [0; 8]].concat())
        );
        assert_eq!(traces[0]["spans"], 3);
        assert_eq!(traces[0]["droppedSpans"], 2);
        assert_eq!(traces[0]["root"], "span 0");
        let status = store.status_json();
        assert_eq!(status["evicted"]["traces"], 15);
        assert_eq!(status["kept"]["spans"], 30);

        // A byte budget smaller than the data keeps only what fits.
        let mut store = Retention::new(RetentionLimits::default().with_bytes(64 * 1024));
        for t in 0..200 {
            store.ingest(&request(t + 1, trace(t, 20)));
            assert!(store.bytes() <= 64 * 1024, "{}", store.bytes());
        }
        let kept = store.status_json()["kept"]["traces"].as_u64().unwrap();
        assert!((5..200).contains(&kept), "{kept}");
    }

    #[test]
    fn trace_view_is_in_tree_order_and_logs_filter_by_span() {
        let mut store = Retention::new(RetentionLimits::default());
        store.ingest(&request(1, trace(7, 3)));
        let id = [7u64.to_be_bytes(), [0; 8]].concat();
        let view: Value = serde_json::from_slice(&store.trace_json(&id).unwrap()).unwrap();
        let depths: Vec<u64> = view["spans"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s["depth"].as_u64().unwrap())
            .collect();
        assert_eq!(depths, [0, 1, 2]);
        assert!(store.trace_json(b"nope").is_none());

        let logs = Payload::Logs(ExportLogsServiceRequest {
            resource_logs: vec![ResourceLogs {
                scope_logs: vec![ScopeLogs {
                    log_records: (0..3u64)
                        .map(|i| LogRecord {
                            trace_id: id.clone(),
                            span_id: (i + 1).to_be_bytes().to_vec(),
                            severity_text: "INFO".into(),
                            ..Default::default()
                        })
                        .collect(),
                    ..Default::default()
                }],
                ..Default::default()
            }],
        });
        store.ingest(&request(2, logs));
        let span2 = 2u64.to_be_bytes();
        let logs = |trace: Option<&[u8]>, span: Option<&[u8]>| -> Value {
            serde_json::from_slice(&store.logs_json(trace, span, 10)).unwrap()
        };
        let found = logs(Some(&id), Some(&span2));
        assert_eq!(found["logs"].as_array().unwrap().len(), 1);
        assert_eq!(logs(None, None)["logs"].as_array().unwrap().len(), 3);
        assert_eq!(store.version(), 2);
        let _ = Signal::Logs;
    }
}
