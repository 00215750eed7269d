//! Helpers shared by the integration tests: request builders and a raw HTTP client
//! (hyper's low-level connection API, so connection errors stay visible).
#![allow(dead_code)]

use std::io::Write as _;
use std::net::SocketAddr;
use std::time::Duration;

use bytes::Bytes;
use http::{HeaderMap, Method, Request, StatusCode, Version};
use http_body_util::{BodyExt as _, Full};
use hyper_util::rt::{TokioExecutor, TokioIo};
use otlpkit_testkit::proto::collector::logs::v1::ExportLogsServiceRequest;
use otlpkit_testkit::proto::collector::metrics::v1::ExportMetricsServiceRequest;
use otlpkit_testkit::proto::collector::trace::v1::ExportTraceServiceRequest;
use otlpkit_testkit::proto::common::v1::{AnyValue, InstrumentationScope, KeyValue, any_value};
use otlpkit_testkit::proto::logs::v1::{LogRecord, ResourceLogs, ScopeLogs};
use otlpkit_testkit::proto::metrics::v1::{
    Histogram, HistogramDataPoint, Metric, NumberDataPoint, ResourceMetrics, ScopeMetrics, Sum,
    metric, number_data_point,
};
use otlpkit_testkit::proto::resource::v1::Resource;
use otlpkit_testkit::proto::trace::v1::{ResourceSpans, ScopeSpans, Span};

/// Generous bound for waits: tests share two cores with other builds.
pub(crate) const WAIT: Duration = Duration::from_secs(10);

pub(crate) const TRACE_ID: [u8; 16] = [
    0x5b, 0x8e, 0xff, 0xf7, 0x98, 0x03, 0x81, 0x03, 0xd2, 0x69, 0xb6, 0x33, 0x81, 0x3f, 0xc6, 0x0c,
];

pub(crate) fn kv(key: &str, value: &str) -> KeyValue {
    KeyValue {
        key: key.into(),
        value: Some(AnyValue {
            value: Some(any_value::Value::StringValue(value.into())),
        }),
        key_strindex: 0,
    }
}

fn resource() -> Option<Resource> {
    Some(Resource {
        attributes: vec![kv("service.name", "support-service")],
        ..Default::default()
    })
}

fn scope() -> Option<InstrumentationScope> {
    Some(InstrumentationScope {
        name: "support-scope".into(),
        version: "1.0.0".into(),
        attributes: vec![kv("scope.attr", "yes")],
        dropped_attributes_count: 0,
    })
}

/// A trace request: `(span id byte, parent id byte, name)` per span, in `TRACE_ID`.
pub(crate) fn traces(spans: &[(u8, Option<u8>, &str)]) -> ExportTraceServiceRequest {
    let spans = spans
        .iter()
        .enumerate()
        .map(|(i, (id, parent, name))| Span {
            trace_id: TRACE_ID.to_vec(),
            span_id: vec![*id; 8],
            parent_span_id: parent.map(|p| vec![p; 8]).unwrap_or_default(),
            name: (*name).into(),
            start_time_unix_nano: 1_000_000_000 + i as u64 * 1_000,
            end_time_unix_nano: 2_000_000_000,
            attributes: vec![kv("span.attr", name)],
            ..Default::default()
        })
        .collect();
    ExportTraceServiceRequest {
        resource_spans: vec![ResourceSpans {
            resource: resource(),
            scope_spans: vec![ScopeSpans {
                scope: scope(),
                spans,
                schema_url: String::new(),
            }],
            schema_url: String::new(),
        }],
    }
}

/// One trace request with a single span named `name`.
pub(crate) fn one_span(name: &str) -> ExportTraceServiceRequest {
    traces(&[(1, None, name)])
}

/// A metric request with 3 data points: a sum with 2, a histogram with 1.
pub(crate) fn metrics() -> ExportMetricsServiceRequest {
    let point = |v: i64, attr: &str| NumberDataPoint {
        attributes: vec![kv("k", attr)],
        time_unix_nano: 5,
        value: Some(number_data_point::Value::AsInt(v)),
        ..Default::default()
    };
    ExportMetricsServiceRequest {
        resource_metrics: vec![ResourceMetrics {
            resource: resource(),
            scope_metrics: vec![ScopeMetrics {
                scope: scope(),
                metrics: vec![
                    Metric {
                        name: "requests".into(),
                        data: Some(metric::Data::Sum(Sum {
                            data_points: vec![point(3, "a"), point(4, "b")],
                            aggregation_temporality: 2,
                            is_monotonic: true,
                        })),
                        ..Default::default()
                    },
                    Metric {
                        name: "latency".into(),
                        data: Some(metric::Data::Histogram(Histogram {
                            data_points: vec![HistogramDataPoint {
                                count: 2,
                                sum: Some(3.5),
                                bucket_counts: vec![1, 1],
                                explicit_bounds: vec![1.0],
                                ..Default::default()
                            }],
                            aggregation_temporality: 2,
                        })),
                        ..Default::default()
                    },
                ],
                schema_url: String::new(),
            }],
            schema_url: String::new(),
        }],
    }
}

/// A log request with `n` records whose bodies are `log 0`, `log 1`, ...
pub(crate) fn logs(n: usize) -> ExportLogsServiceRequest {
    ExportLogsServiceRequest {
        resource_logs: vec![ResourceLogs {
            resource: resource(),
            scope_logs: vec![ScopeLogs {
                scope: scope(),
                log_records: (0..n)
                    .map(|i| LogRecord {
                        time_unix_nano: 7,
                        severity_number: 9,
                        severity_text: "INFO".into(),
                        body: Some(AnyValue {
                            value: Some(any_value::Value::StringValue(format!("log {i}"))),
                        }),
                        ..Default::default()
                    })
                    .collect(),
                schema_url: String::new(),
            }],
            schema_url: String::new(),
        }],
    }
}

pub(crate) fn gzip(data: &[u8]) -> Vec<u8> {
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    enc.write_all(data).unwrap();
    enc.finish().unwrap()
}

pub(crate) fn zstd(data: &[u8]) -> Vec<u8> {
    zstd::encode_all(data, 3).unwrap()
}

/// A response as seen by the raw client.
#[derive(Debug)]
pub(crate) struct RawResponse {
    pub(crate) status: StatusCode,
    pub(crate) headers: HeaderMap,
    pub(crate) body: Bytes,
}

impl RawResponse {
    pub(crate) fn content_type(&self) -> &str {
        self.headers
            .get(http::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
    }
}

/// POSTs `body` to `path` on a fresh connection (HTTP/1.1, or h2c with prior knowledge for
/// `Version::HTTP_2`). `Err` means the client got no response at all.
pub(crate) async fn post(
    addr: SocketAddr,
    version: Version,
    path: &str,
    headers: &[(&str, &str)],
    body: Vec<u8>,
) -> Result<RawResponse, hyper::Error> {
    send(addr, version, Method::POST, path, headers, body).await
}

/// Sends one request with any method on a fresh connection.
pub(crate) async fn send(
    addr: SocketAddr,
    version: Version,
    method: Method,
    path: &str,
    headers: &[(&str, &str)],
    body: Vec<u8>,
) -> Result<RawResponse, hyper::Error> {
    let stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    let io = TokioIo::new(stream);
    let mut builder = Request::builder()
        .method(method)
        .uri(format!("http://{addr}{path}"));
    for (name, value) in headers {
        builder = builder.header(*name, *value);
    }
    let request = builder.body(Full::new(Bytes::from(body))).unwrap();
    let response = if version == Version::HTTP_2 {
        let (mut sender, conn) =
            hyper::client::conn::http2::handshake(TokioExecutor::new(), io).await?;
        tokio::spawn(conn);
        sender.send_request(request).await?
    } else {
        let (mut sender, conn) = hyper::client::conn::http1::handshake(io).await?;
        tokio::spawn(conn);
        sender.send_request(request).await?
    };
    let (parts, body) = response.into_parts();
    let body = body.collect().await?.to_bytes();
    Ok(RawResponse {
        status: parts.status,
        headers: parts.headers,
        body,
    })
}

/// POSTs protobuf-encoded `message` over HTTP/1.1 with the given extra headers.
pub(crate) async fn post_protobuf(
    addr: SocketAddr,
    path: &str,
    message: &impl prost::Message,
) -> Result<RawResponse, hyper::Error> {
    post(
        addr,
        Version::HTTP_11,
        path,
        &[("content-type", "application/x-protobuf")],
        message.encode_to_vec(),
    )
    .await
}

/// Bound for the `otlpkit-receiver` binary's lines (its banner first): starting a
/// process on a loaded machine can take far longer than a request does. A hang guard.
pub(crate) const BINARY_WAIT: Duration = Duration::from_secs(120);

/// The addresses in the binary's banner, `otlpkit-receiver listening: grpc http://{grpc}
/// http http://{http}`: the tests start it on port 0 and read where it listens, so that
/// no other test can take a port between its choice and the bind.
pub(crate) fn banner_addrs(banner: &str) -> (SocketAddr, SocketAddr) {
    let rest = banner
        .strip_prefix("otlpkit-receiver listening: grpc http://")
        .unwrap_or_else(|| panic!("not the banner: {banner}"));
    let (grpc, http) = rest
        .split_once(" http http://")
        .unwrap_or_else(|| panic!("not the banner: {banner}"));
    (grpc.parse().unwrap(), http.parse().unwrap())
}

/// The page's address in the binary's `otlpkit-receiver web page: http://{addr}/` line.
pub(crate) fn web_page_addr(line: &str) -> SocketAddr {
    line.strip_prefix("otlpkit-receiver web page: http://")
        .and_then(|rest| rest.strip_suffix('/'))
        .unwrap_or_else(|| panic!("not the web page line: {line}"))
        .parse()
        .unwrap()
}
