//! From a request body as received to a decoded [`Payload`], for both protocols: reading
//! with a size limit, a deadline and the in-flight budget, decompressing, estimating the
//! decoded size and decoding.

use std::io::Read;
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use http_body_util::BodyExt as _;
use hyper::body::Incoming;
use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use prost::Message as _;

use crate::budget::{Refusal, Reservation};
use crate::error::BodyError;
use crate::request::{Body, Payload, Signal};

/// How long a request waits for other requests to give back in-flight budget.
pub(crate) const BUDGET_WAIT: Duration = Duration::from_secs(2);

/// Why a body was not turned into a payload; each protocol maps these to its statuses.
#[derive(Debug)]
pub(crate) enum Refused {
    /// Larger than the body limit or the whole budget: never acceptable (413 /
    /// `RESOURCE_EXHAUSTED`).
    TooLarge(String),
    /// The budget is held by other requests: retry later (503 / `RESOURCE_EXHAUSTED` with
    /// `RetryInfo`).
    Busy(String),
    /// The body did not arrive in time (408 / `DEADLINE_EXCEEDED`).
    Slow(String),
    /// Malformed, undecodable or cut short (400 / `INVALID_ARGUMENT`).
    Invalid(String),
}

impl From<Refusal> for Refused {
    fn from(refusal: Refusal) -> Refused {
        match refusal {
            Refusal::TooLarge { .. } => Refused::TooLarge(refusal.message()),
            Refusal::Busy { .. } => Refused::Busy(refusal.message()),
        }
    }
}

impl From<BodyError> for Refused {
    fn from(err: BodyError) -> Refused {
        match err {
            BodyError::TooLarge { .. } => Refused::TooLarge(err.to_string()),
            other => Refused::Invalid(other.to_string()),
        }
    }
}

/// A supported `Content-Encoding` / `grpc-encoding`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Encoding {
    Gzip,
    Zstd,
}

impl Encoding {
    pub(crate) fn parse(name: &str) -> Option<Encoding> {
        match name {
            "gzip" | "x-gzip" => Some(Encoding::Gzip),
            "zstd" => Some(Encoding::Zstd),
            _ => None,
        }
    }

    fn name(self) -> &'static str {
        match self {
            Encoding::Gzip => "gzip",
            Encoding::Zstd => "zstd",
        }
    }
}

/// The first buffer a body is read into holds this much (or the whole body, if smaller):
/// a connection that sent a few bytes of a body holds no more budget than this.
const FIRST_BUFFER: usize = 16 * 1024;

/// A body read into one buffer whose capacity is held from the budget as it grows, so that
/// what a request holds follows what it sent, not what it announced: a client that
/// announces a large body and sends nothing holds nothing.
///
/// The buffer grows to at most twice what arrived, through sizes `bound`, `bound / 2`,
/// `bound / 4`, ... (so that the last step is to `bound` itself, not past it); while it
/// grows, the old buffer and the new one are both held.
#[derive(Debug)]
pub(crate) struct BodyBuffer {
    buf: BytesMut,
    /// Bytes held from the budget for `buf`.
    held: usize,
    /// The most the buffer may need: the announced length, or the limit.
    bound: usize,
}

impl BodyBuffer {
    pub(crate) fn new(bound: usize) -> BodyBuffer {
        BodyBuffer {
            buf: BytesMut::new(),
            held: 0,
            bound,
        }
    }

    /// Lowers or raises the most the buffer may need (a gRPC message's declared length,
    /// once its prefix arrived).
    pub(crate) fn set_bound(&mut self, bound: usize) {
        self.bound = bound;
    }

    pub(crate) fn len(&self) -> usize {
        self.buf.len()
    }

    pub(crate) fn as_slice(&self) -> &[u8] {
        &self.buf
    }

    /// The capacity to grow to for `needed` bytes.
    fn next_capacity(&self, needed: usize) -> usize {
        let want = needed
            .max(self.buf.capacity().saturating_mul(2))
            .max(FIRST_BUFFER);
        if want >= self.bound {
            return self.bound.max(needed);
        }
        let mut capacity = self.bound;
        while capacity / 2 >= want {
            capacity /= 2;
        }
        capacity
    }

    /// Appends `data`, holding budget for a larger buffer first if it needs one.
    pub(crate) async fn push(
        &mut self,
        data: &[u8],
        reservation: &mut Reservation,
    ) -> Result<(), Refused> {
        let needed = self.buf.len() + data.len();
        if needed > self.buf.capacity() {
            let capacity = self.next_capacity(needed);
            reservation.grow(capacity, BUDGET_WAIT).await?;
            // A reallocation: often in place (a large buffer is remapped, not copied),
            // but held as if both buffers were there.
            self.buf.reserve(capacity - self.buf.len());
            if self.buf.capacity() > capacity {
                reservation
                    .grow(self.buf.capacity() - capacity, BUDGET_WAIT)
                    .await?;
            }
            reservation.release(self.held);
            self.held = self.buf.capacity();
        }
        self.buf.extend_from_slice(data);
        Ok(())
    }

    /// The body; its buffer stays held until the reservation is dropped.
    pub(crate) fn freeze(self) -> Bytes {
        self.buf.freeze()
    }
}

/// Reads a request body of at most `limit` bytes, holding budget for what arrives, within
/// `deadline` (none: no deadline). `announced` is the length the request declared, if any:
/// above `limit` it is refused at once; otherwise it bounds the buffer, but budget is held
/// only as the body arrives.
pub(crate) async fn read_body(
    mut body: Incoming,
    limit: usize,
    announced: Option<usize>,
    deadline: Option<Duration>,
    reservation: &mut Reservation,
) -> Result<Bytes, Refused> {
    let too_large = || Refused::TooLarge(BodyError::TooLarge { limit }.to_string());
    if let Some(length) = announced {
        if length > limit {
            return Err(too_large());
        }
        // More than the whole budget can never fit: refused now, not once it arrived.
        reservation.check_fits(length)?;
    }
    let read = async {
        // One buffer, whatever the framing: a body of unknown length (chunked, or HTTP/2
        // without a length) kept as its frames held one `Bytes` per frame, and 1-byte
        // frames made that ~35 times the bytes the budget counted.
        let mut out = BodyBuffer::new(announced.unwrap_or(limit));
        let mut received = 0usize;
        while let Some(frame) = body.frame().await {
            let frame = frame
                .map_err(|err| Refused::Invalid(format!("cannot read the request body: {err}")))?;
            let Ok(data) = frame.into_data() else {
                continue; // trailers
            };
            received += data.len();
            if received > limit {
                return Err(too_large());
            }
            out.push(&data, reservation).await?;
        }
        Ok(out.freeze())
    };
    match deadline {
        None => read.await,
        Some(deadline) => tokio::time::timeout(deadline, read).await.map_err(|_| {
            Refused::Slow(format!(
                "the request body did not arrive within {deadline:?}"
            ))
        })?,
    }
}

/// Reads at most `limit` decompressed bytes, holding budget for them as they come.
fn read_limited(
    mut reader: impl Read,
    limit: usize,
    encoding: Encoding,
    reservation: &mut Reservation,
) -> Result<Vec<u8>, Refused> {
    let base = reservation.held();
    let mut out = Vec::new();
    let mut chunk = vec![0u8; 64 * 1024];
    loop {
        let n = reader.read(&mut chunk).map_err(|source| {
            Refused::from(BodyError::Decompress {
                encoding: encoding.name().to_owned(),
                source,
            })
        })?;
        if n == 0 {
            return Ok(out);
        }
        if out.len() + n > limit {
            return Err(BodyError::TooLarge { limit }.into());
        }
        // A Vec doubles as it grows: hold its capacity, not its length.
        let capacity = (out.len() + n).next_power_of_two().min(limit);
        if base + capacity > reservation.held() {
            reservation.try_grow(base + capacity - reservation.held())?;
        }
        out.extend_from_slice(&chunk[..n]);
    }
}

/// Decompresses a body (at most `limit` bytes out), holding budget for the output.
pub(crate) fn decompress(
    encoding: Option<Encoding>,
    raw: Bytes,
    limit: usize,
    reservation: &mut Reservation,
) -> Result<Bytes, Refused> {
    match encoding {
        None => Ok(raw),
        Some(Encoding::Gzip) => read_limited(
            flate2::read::MultiGzDecoder::new(&raw[..]),
            limit,
            Encoding::Gzip,
            reservation,
        )
        .map(Bytes::from),
        Some(Encoding::Zstd) => {
            let decoder = zstd::stream::read::Decoder::with_buffer(&raw[..]).map_err(|source| {
                Refused::from(BodyError::Decompress {
                    encoding: "zstd".to_owned(),
                    source,
                })
            })?;
            read_limited(decoder, limit, Encoding::Zstd, reservation).map(Bytes::from)
        }
    }
}

/// Decodes a protobuf export request of `signal`, after holding budget for its estimated
/// decoded size.
pub(crate) async fn protobuf(
    signal: Signal,
    body: &[u8],
    reservation: &mut Reservation,
) -> Result<Payload, Refused> {
    // Without a budget there is nothing to reserve: skip the walk. A malformed body is
    // charged what the decoder allocates before it reaches the fault.
    if reservation.is_bounded() {
        reservation
            .grow(crate::cost::protobuf(signal, body), BUDGET_WAIT)
            .await?;
    }
    let decoded = match signal {
        Signal::Traces => ExportTraceServiceRequest::decode(body).map(Payload::Traces),
        Signal::Metrics => ExportMetricsServiceRequest::decode(body).map(Payload::Metrics),
        Signal::Logs => ExportLogsServiceRequest::decode(body).map(Payload::Logs),
    };
    decoded.map_err(|err| BodyError::Protobuf(err).into())
}

/// Decodes a protobuf export request of `signal`, or with `count_only` counts its items
/// without decoding it (a malformed body still goes to the decoder, which says how).
pub(crate) async fn protobuf_body(
    signal: Signal,
    body: &[u8],
    count_only: bool,
    reservation: &mut Reservation,
) -> Result<Body, Refused> {
    if count_only && let Ok(items) = crate::count::items(signal, body) {
        return Ok(Body::Counted(items));
    }
    protobuf(signal, body, reservation).await.map(Body::Decoded)
}

/// Decodes a spec-conformant document straight into the proto types, without a JSON tree.
fn strict_json(signal: Signal, body: &[u8]) -> Option<Payload> {
    match signal {
        Signal::Traces => serde_json::from_slice(body).ok().map(Payload::Traces),
        Signal::Metrics => serde_json::from_slice(body).ok().map(Payload::Metrics),
        Signal::Logs => serde_json::from_slice(body).ok().map(Payload::Logs),
    }
}

/// Decodes an OTLP/JSON export request of `signal`, after holding budget for its estimated
/// decoded size. Documents written as the specification says are decoded in one streaming
/// pass; the others (snake_case keys, enum names, `"NaN"`, ...) by the tolerant
/// [`crate::json`] decoder, which builds a JSON tree first and holds budget for it too.
/// Without a budget, every document goes to the tolerant decoder, as it always did.
pub(crate) async fn json(
    signal: Signal,
    body: &[u8],
    reservation: &mut Reservation,
) -> Result<Payload, Refused> {
    if !reservation.is_bounded() {
        return crate::json::decode(signal, body).map_err(Refused::from);
    }
    // Not JSON: refused with the parser's error, without building a tree of what came
    // before the fault (the tolerant decoder would, holding no budget for it).
    let cost = crate::cost::json(signal, body)
        .map_err(|err| Refused::from(crate::error::BodyError::from(err)))?;
    reservation.grow(cost.decoded, BUDGET_WAIT).await?;
    if !cost.snake_case
        && let Some(payload) = strict_json(signal, body)
    {
        return Ok(payload);
    }
    reservation.grow(cost.tree, BUDGET_WAIT).await?;
    crate::json::decode(signal, body).map_err(Refused::from)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::budget::Budget;
    use std::io::Write as _;

    #[test]
    fn decompression_round_trips_and_enforces_the_limit() {
        let mut none = Reservation::new(None);
        let data = vec![b'x'; 10_000];
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        gz.write_all(&data).unwrap();
        let gz = Bytes::from(gz.finish().unwrap());
        let zs = Bytes::from(zstd::encode_all(&data[..], 3).unwrap());
        assert_eq!(
            decompress(Some(Encoding::Gzip), gz.clone(), 10_000, &mut none).unwrap(),
            data
        );
        assert_eq!(
            decompress(Some(Encoding::Zstd), zs.clone(), 10_000, &mut none).unwrap(),
            data
        );
        assert!(matches!(
            decompress(Some(Encoding::Gzip), gz.clone(), 9_999, &mut none),
            Err(Refused::TooLarge(_))
        ));
        assert!(matches!(
            decompress(Some(Encoding::Zstd), zs, 100, &mut none),
            Err(Refused::TooLarge(_))
        ));
        let Err(Refused::Invalid(message)) = decompress(
            Some(Encoding::Gzip),
            Bytes::from_static(b"not gzip"),
            100,
            &mut none,
        ) else {
            panic!("not refused as invalid")
        };
        assert!(message.contains("gzip"), "{message}");

        // Decompressed bytes are held from the budget.
        let budget = Budget::new(8 * 1024);
        let mut held = Reservation::new(Some(&budget));
        assert!(matches!(
            decompress(Some(Encoding::Gzip), gz, 10_000, &mut held),
            Err(Refused::Busy(_) | Refused::TooLarge(_))
        ));
    }

    #[tokio::test]
    async fn json_takes_the_streaming_path_and_falls_back_to_the_tolerant_one() {
        let budget = Budget::new(1 << 20);
        let mut none = Reservation::new(Some(&budget));
        let strict = br#"{"resourceSpans":[{"scopeSpans":[{"spans":[{
            "traceId":"5b8efff798038103d269b633813fc60c","spanId":"eee19b7ec3c1b174",
            "name":"op","kind":2,"startTimeUnixNano":"1544712660000000000"}]}]}]}"#;
        let snake = br#"{"resource_spans":[{"scope_spans":[{"spans":[{
            "trace_id":"5b8efff798038103d269b633813fc60c","span_id":"eee19b7ec3c1b174",
            "name":"op","kind":"SPAN_KIND_SERVER","start_time_unix_nano":1544712660000000000}]}]}]}"#;
        let a = json(Signal::Traces, strict, &mut none).await.unwrap();
        let b = json(Signal::Traces, snake, &mut none).await.unwrap();
        assert_eq!(a, b);
        assert_eq!(a, crate::json::decode(Signal::Traces, strict).unwrap());
        assert_eq!(a.item_count(), 1);
    }
}
