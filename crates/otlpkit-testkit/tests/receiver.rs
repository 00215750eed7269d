//! The receiver's protocol behaviour, queries and lifecycle, driven by raw clients nobody here
//! wrote: the tonic clients generated in `opentelemetry-proto` and hyper's HTTP client.

mod support;

use std::io::{BufRead as _, BufReader};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use http::{Method, Version};
use otlpkit_testkit::proto::collector::logs::v1::logs_service_client::LogsServiceClient;
use otlpkit_testkit::proto::collector::metrics::v1::metrics_service_client::MetricsServiceClient;
use otlpkit_testkit::proto::collector::trace::v1::ExportTraceServiceResponse;
use otlpkit_testkit::proto::collector::trace::v1::trace_service_client::TraceServiceClient;
use otlpkit_testkit::proto::trace::v1::span::SpanKind;
use otlpkit_testkit::{
    Answer, ItemKind, Payload, Protocol, Receiver, Signal, WaitError, attribute_str, hex,
};
use prost::Message as _;
use support::{
    BINARY_WAIT, TRACE_ID, WAIT, banner_addrs, gzip, logs, metrics, one_span, post, post_protobuf,
    send, traces, zstd,
};
use tonic::codec::CompressionEncoding;

#[tokio::test]
async fn grpc_receives_every_signal_compressed_or_not() {
    // Runs on a current-thread runtime: the receiver must not need the test's runtime.
    let receiver = Receiver::start().unwrap();
    let endpoint = receiver.grpc_endpoint();

    let mut trace_client = TraceServiceClient::connect(endpoint.clone())
        .await
        .unwrap()
        .send_compressed(CompressionEncoding::Gzip);
    let mut request = tonic::Request::new(traces(&[(1, None, "root"), (2, Some(1), "child")]));
    request
        .metadata_mut()
        .insert("authorization", "Bearer s3cr3t".parse().unwrap());
    request
        .metadata_mut()
        .insert("x-tenant", "blue".parse().unwrap());
    let response = trace_client.export(request).await.unwrap().into_inner();
    assert_eq!(response.partial_success, None); // checklist 2.1

    let mut metric_client = MetricsServiceClient::connect(endpoint.clone())
        .await
        .unwrap()
        .send_compressed(CompressionEncoding::Zstd);
    metric_client.export(metrics()).await.unwrap();
    let mut log_client = LogsServiceClient::connect(endpoint).await.unwrap();
    log_client.export(logs(4)).await.unwrap();

    let spans = receiver.wait_for_spans_async(2, WAIT).await.unwrap();
    receiver.wait_for_data_points_async(3, WAIT).await.unwrap();
    let received_logs = receiver.wait_for_logs_async(4, WAIT).await.unwrap();
    assert_eq!(spans.len(), 2);
    assert_eq!(received_logs[3].body_str(), Some("log 3"));
    assert_eq!(receiver.data_point_count(), 3);

    let requests = receiver.requests();
    assert_eq!(requests.len(), 3);
    let trace_req = &requests[0];
    assert_eq!(trace_req.signal, Signal::Traces);
    assert_eq!(trace_req.protocol, Protocol::Grpc);
    assert_eq!(trace_req.http_version, Version::HTTP_2);
    assert_eq!(trace_req.content_encoding.as_deref(), Some("gzip"));
    assert_eq!(trace_req.item_count, 2);
    assert_eq!(trace_req.answer, Answer::Ok);
    assert_eq!(trace_req.headers.get("x-tenant"), Some("blue"));
    assert_eq!(
        trace_req.headers.get("authorization"),
        Some("Bearer s3cr3t")
    );
    assert!(
        trace_req
            .headers
            .get("content-type")
            .unwrap()
            .starts_with("application/grpc")
    );
    assert!(!format!("{trace_req:?}").contains("s3cr3t"));
    let Some(Payload::Traces(decoded)) = &trace_req.payload else {
        panic!("no trace payload")
    };
    assert_eq!(trace_req.decoded_size, decoded.encoded_len());
    assert!(trace_req.body_size > 5, "{trace_req:?}");

    assert_eq!(requests[1].content_encoding.as_deref(), Some("zstd"));
    assert_eq!(requests[1].item_count, 3);
    assert_eq!(requests[2].content_encoding, None);
    // The uncompressed message travels with a 5-byte gRPC frame prefix.
    assert_eq!(requests[2].body_size, requests[2].decoded_size + 5);
    assert!(requests.windows(2).all(|w| w[0].seq < w[1].seq));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http_answers_in_the_request_encoding_for_every_compression_and_version() {
    // Also exercises the multi-thread runtime option of the receiver.
    let receiver = Receiver::builder().worker_threads(2).start().unwrap();
    let addr = receiver.http_addr();
    let request = one_span("http-span");
    let proto_body = request.encode_to_vec();
    let json_body = serde_json::to_vec(&request).unwrap();
    let mut expected = 0;
    for version in [Version::HTTP_11, Version::HTTP_2] {
        for (content_type, body) in [
            ("application/x-protobuf", &proto_body),
            ("application/json", &json_body),
        ] {
            for encoding in [None, Some("gzip"), Some("zstd")] {
                let wire = match encoding {
                    None => body.clone(),
                    Some("gzip") => gzip(body),
                    Some(_) => zstd(body),
                };
                let mut headers = vec![("content-type", content_type)];
                if let Some(encoding) = encoding {
                    headers.push(("content-encoding", encoding));
                }
                let response = post(addr, version, "/v1/traces", &headers, wire.clone())
                    .await
                    .unwrap();
                let case = format!("{version:?} {content_type} {encoding:?}");
                assert_eq!(response.status, 200, "{case}");
                // checklist 1.17, 2.5: the reply uses the request's content type.
                assert_eq!(response.content_type(), content_type, "{case}");
                if content_type == "application/json" {
                    assert_eq!(&response.body[..], b"{}", "{case}");
                } else {
                    let decoded = ExportTraceServiceResponse::decode(response.body).unwrap();
                    assert_eq!(decoded.partial_success, None, "{case}");
                }
                expected += 1;
                let recorded = receiver
                    .wait_for_requests_async(expected, WAIT)
                    .await
                    .unwrap();
                let last = recorded.last().unwrap();
                assert_eq!(last.http_version, version, "{case}");
                assert_eq!(last.content_encoding.as_deref(), encoding, "{case}");
                assert_eq!(last.body_size, wire.len(), "{case}");
                assert_eq!(last.decoded_size, body.len(), "{case}");
                let protocol = if content_type == "application/json" {
                    Protocol::HttpJson
                } else {
                    Protocol::HttpProtobuf
                };
                assert_eq!(last.protocol, protocol, "{case}");
                assert_eq!(
                    last.payload,
                    Some(Payload::Traces(request.clone())),
                    "{case}"
                );
            }
        }
    }
    assert_eq!(receiver.span_count(), 12);
}

#[tokio::test]
async fn http_json_decodes_the_otlp_examples_style_payloads() {
    let receiver = Receiver::start().unwrap();
    let addr = receiver.http_addr();
    let json = [("content-type", "application/json")];
    // Hand-written in the shape of opentelemetry-proto `examples/trace.json` (checklist 2.15).
    let trace = r#"{
      "resourceSpans": [{
        "resource": {"attributes": [{"key": "service.name", "value": {"stringValue": "my.service"}}]},
        "scopeSpans": [{
          "scope": {"name": "my.library", "version": "1.0.0",
                    "attributes": [{"key": "my.scope.attribute", "value": {"stringValue": "some scope attribute"}}]},
          "spans": [{
            "traceId": "5B8EFFF798038103D269B633813FC60C",
            "spanId": "EEE19B7EC3C1B174",
            "parentSpanId": "EEE19B7EC3C1B173",
            "name": "I'm a server span",
            "startTimeUnixNano": "1544712660000000000",
            "endTimeUnixNano": "1544712661000000000",
            "kind": 2,
            "attributes": [{"key": "my.span.attr", "value": {"stringValue": "some value"}}]
          }]
        }]
      }]
    }"#;
    let response = post(addr, Version::HTTP_11, "/v1/traces", &json, trace.into())
        .await
        .unwrap();
    assert_eq!(response.status, 200);
    let span = receiver
        .wait_for_spans_async(1, WAIT)
        .await
        .unwrap()
        .remove(0);
    assert_eq!(span.span.trace_id, TRACE_ID);
    assert_eq!(span.span_id_hex(), "eee19b7ec3c1b174");
    assert_eq!(
        span.parent_span_id_hex().as_deref(),
        Some("eee19b7ec3c1b173")
    );
    assert_eq!(span.kind(), SpanKind::Server);
    assert_eq!(span.duration(), Duration::from_secs(1));
    assert_eq!(span.attribute_str("my.span.attr"), Some("some value"));
    assert_eq!(
        span.origin.resource_attribute_str("service.name"),
        Some("my.service")
    );
    assert_eq!(span.origin.scope.name, "my.library");
    assert_eq!(span.origin.scope.version, "1.0.0");
    assert_eq!(
        attribute_str(&span.origin.scope.attributes, "my.scope.attribute"),
        Some("some scope attribute")
    );
    assert_eq!(span.origin.protocol, Protocol::HttpJson);

    let metrics = r#"{"resourceMetrics": [{"scopeMetrics": [{"metrics": [
        {"name": "my.counter", "unit": "1", "sum": {"aggregationTemporality": 1, "isMonotonic": true,
          "dataPoints": [{"asDouble": 5, "startTimeUnixNano": "1544712660300000000",
                          "timeUnixNano": "1544712660300000000"}]}},
        {"name": "my.histogram", "histogram": {"aggregationTemporality": 1, "dataPoints": [
          {"count": "2", "sum": 2, "bucketCounts": ["1", "1"], "explicitBounds": [1], "min": 0, "max": 2}]}}
    ]}]}]}"#;
    let response = post(addr, Version::HTTP_11, "/v1/metrics", &json, metrics.into())
        .await
        .unwrap();
    assert_eq!(response.status, 200);
    receiver.wait_for_data_points_async(2, WAIT).await.unwrap();
    let counter = receiver.latest_metric("my.counter").unwrap();
    assert_eq!(
        counter.number_points()[0].time_unix_nano,
        1_544_712_660_300_000_000
    );
    let histogram = receiver.latest_metric("my.histogram").unwrap();
    assert_eq!(histogram.histogram_points()[0].bucket_counts, [1, 1]);

    let logs = r#"{"resourceLogs": [{"scopeLogs": [{"logRecords": [{
        "timeUnixNano": "1544712660300000000", "observedTimeUnixNano": 1544712660300000000,
        "severityNumber": 10, "severityText": "Information",
        "traceId": "5B8EFFF798038103D269B633813FC60C", "spanId": "EEE19B7EC3C1B174",
        "body": {"stringValue": "Example log record"},
        "attributes": [{"key": "int.attribute", "value": {"intValue": "10"}}]}]}]}]}"#;
    let response = post(addr, Version::HTTP_11, "/v1/logs", &json, logs.into())
        .await
        .unwrap();
    assert_eq!(response.status, 200);
    let log = receiver
        .wait_for_logs_async(1, WAIT)
        .await
        .unwrap()
        .remove(0);
    assert_eq!(log.body_str(), Some("Example log record"));
    assert_eq!(log.record.severity_number, 10);
    assert_eq!(log.record.trace_id, TRACE_ID);
    assert_eq!(
        log.record.observed_time_unix_nano,
        1_544_712_660_300_000_000
    );
}

#[tokio::test]
async fn http_refuses_what_it_cannot_read() {
    let receiver = Receiver::builder().max_body_size(4096).start().unwrap();
    let addr = receiver.http_addr();
    let body = one_span("x").encode_to_vec();

    // 415 for an unknown content type, with a google.rpc.Status body.
    let r = post(
        addr,
        Version::HTTP_11,
        "/v1/traces",
        &[("content-type", "text/plain")],
        body.clone(),
    )
    .await
    .unwrap();
    assert_eq!(r.status, 415);
    let status = tonic_types::Status::decode(r.body).unwrap();
    assert!(status.message.contains("text/plain"), "{status:?}");

    // 415 for an unknown content encoding.
    let headers = [
        ("content-type", "application/x-protobuf"),
        ("content-encoding", "br"),
    ];
    let r = post(addr, Version::HTTP_11, "/v1/traces", &headers, body.clone())
        .await
        .unwrap();
    assert_eq!(r.status, 415);

    // 400 for an undecodable protobuf body (checklist 2.6: google.rpc.Status body).
    let r = post(
        addr,
        Version::HTTP_11,
        "/v1/logs",
        &[("content-type", "application/x-protobuf")],
        vec![0xff; 10],
    )
    .await
    .unwrap();
    assert_eq!(r.status, 400);
    assert_eq!(r.content_type(), "application/x-protobuf");
    let status = tonic_types::Status::decode(r.body).unwrap();
    assert_eq!(status.code, tonic::Code::InvalidArgument as i32);

    // 400 for bad OTLP/JSON, answered in JSON and naming the offending field.
    let bad = br#"{"resourceSpans":[{"scopeSpans":[{"spans":[{"spanId":"xyz!"}]}]}]}"#;
    let r = post(
        addr,
        Version::HTTP_11,
        "/v1/traces",
        &[("content-type", "application/json; charset=utf-8")],
        bad.to_vec(),
    )
    .await
    .unwrap();
    assert_eq!(r.status, 400);
    assert_eq!(r.content_type(), "application/json");
    let status: serde_json::Value = serde_json::from_slice(&r.body).unwrap();
    let message = status["message"].as_str().unwrap();
    assert!(
        message.contains("resourceSpans[0].scopeSpans[0].spans[0].spanId"),
        "{message}"
    );

    // 400 for a body that is not gzip although it says so.
    let headers = [
        ("content-type", "application/x-protobuf"),
        ("content-encoding", "gzip"),
    ];
    let r = post(addr, Version::HTTP_11, "/v1/traces", &headers, body.clone())
        .await
        .unwrap();
    assert_eq!(r.status, 400);

    // 413 above the body limit, before and after decompression.
    let r = post(
        addr,
        Version::HTTP_11,
        "/v1/traces",
        &[("content-type", "application/x-protobuf")],
        vec![0; 5000],
    )
    .await
    .unwrap();
    assert_eq!(r.status, 413);
    let r = post(
        addr,
        Version::HTTP_11,
        "/v1/traces",
        &headers,
        gzip(&[0; 5000]),
    )
    .await
    .unwrap();
    assert_eq!(r.status, 413);

    // 404 for unknown paths, 405 for other methods; those carry no signal and are not recorded.
    let r = post(
        addr,
        Version::HTTP_11,
        "/v1/profiles",
        &[("content-type", "application/x-protobuf")],
        body.clone(),
    )
    .await
    .unwrap();
    assert_eq!(r.status, 404);
    let r = send(
        addr,
        Version::HTTP_11,
        Method::GET,
        "/v1/traces",
        &[],
        Vec::new(),
    )
    .await
    .unwrap();
    assert_eq!(r.status, 405);
    assert_eq!(r.headers["allow"], "POST");

    let recorded = receiver.wait_for_requests_async(7, WAIT).await.unwrap();
    let statuses: Vec<u16> = recorded
        .iter()
        .map(|r| match r.answer {
            Answer::HttpStatus { status, .. } => status,
            ref other => panic!("unexpected answer {other:?}"),
        })
        .collect();
    assert_eq!(statuses, [415, 415, 400, 400, 400, 413, 413]);
    assert!(
        recorded
            .iter()
            .all(|r| r.payload.is_none() && !r.accepted())
    );
    assert_eq!(recorded[3].protocol, Protocol::HttpJson);
    assert_eq!(recorded[2].signal, Signal::Logs);
    assert_eq!(receiver.span_count() + receiver.log_count(), 0);
    assert_eq!(receiver.request_count(), 7);
}

#[tokio::test]
async fn grpc_answers_unknown_services_with_unimplemented() {
    let receiver = Receiver::start().unwrap();
    let headers = [("content-type", "application/grpc"), ("te", "trailers")];
    let frame = vec![0, 0, 0, 0, 0]; // an empty, uncompressed message
    let r = post(
        receiver.grpc_addr(),
        Version::HTTP_2,
        "/opentelemetry.proto.collector.profiles.v1development.ProfilesService/Export",
        &headers,
        frame,
    )
    .await
    .unwrap();
    assert_eq!(r.status, 200);
    assert_eq!(
        r.headers["grpc-status"],
        (tonic::Code::Unimplemented as i32).to_string()
    );
    assert_eq!(receiver.request_count(), 0);
}

#[test]
fn blocking_waits_work_without_any_runtime_and_time_out_with_a_typed_error() {
    let receiver = Receiver::start().unwrap();
    let err = receiver
        .wait_for_spans(1, Duration::from_millis(50))
        .unwrap_err();
    assert_eq!(
        err,
        WaitError::Timeout {
            kind: ItemKind::Spans,
            expected: 1,
            arrived: 0,
            timeout: Duration::from_millis(50),
        }
    );
    assert_eq!(
        err.to_string(),
        "timed out after 50ms waiting for 1 spans: 0 arrived"
    );

    // A client on another thread (with its own runtime) sends while this thread blocks.
    let addr = receiver.http_addr();
    let sender = std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(async {
            for _ in 0..2 {
                let r = post_protobuf(addr, "/v1/logs", &logs(2)).await.unwrap();
                assert_eq!(r.status, 200);
            }
        });
    });
    let received = receiver.wait_for_logs(4, WAIT).unwrap();
    assert_eq!(received.len(), 4);
    sender.join().unwrap();
    let err = receiver
        .wait_for_logs(5, Duration::from_millis(20))
        .unwrap_err();
    assert!(
        matches!(
            err,
            WaitError::Timeout {
                expected: 5,
                arrived: 4,
                ..
            }
        ),
        "{err}"
    );
}

#[tokio::test]
async fn async_waits_on_a_current_thread_runtime_do_not_deadlock() {
    let receiver = Receiver::start().unwrap();
    let addr = receiver.http_addr();
    // The client runs on this same single-threaded runtime, concurrently with the wait.
    let client = tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(20)).await;
        post_protobuf(addr, "/v1/traces", &one_span("late"))
            .await
            .unwrap()
            .status
    });
    let spans = receiver.wait_for_spans_async(1, WAIT).await.unwrap();
    assert_eq!(spans[0].name(), "late");
    assert_eq!(client.await.unwrap(), 200);

    let err = receiver
        .wait_for_spans_async(2, Duration::from_millis(30))
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            WaitError::Timeout {
                expected: 2,
                arrived: 1,
                ..
            }
        ),
        "{err}"
    );
}

#[test]
fn async_waits_need_no_tokio_in_the_caller() {
    // A hand-rolled executor: the wait's timer lives on the receiver's runtime.
    struct ThreadWaker(std::thread::Thread);
    impl std::task::Wake for ThreadWaker {
        fn wake(self: std::sync::Arc<Self>) {
            self.0.unpark();
        }
    }
    fn block_on<F: std::future::Future>(fut: F) -> F::Output {
        let waker =
            std::task::Waker::from(std::sync::Arc::new(ThreadWaker(std::thread::current())));
        let mut cx = std::task::Context::from_waker(&waker);
        let mut fut = std::pin::pin!(fut);
        loop {
            if let std::task::Poll::Ready(out) = fut.as_mut().poll(&mut cx) {
                return out;
            }
            std::thread::park();
        }
    }
    let receiver = Receiver::start().unwrap();
    let err = block_on(receiver.wait_for_requests_async(1, Duration::from_millis(30))).unwrap_err();
    assert!(matches!(
        err,
        WaitError::Timeout {
            kind: ItemKind::Requests,
            ..
        }
    ));
}

#[tokio::test]
async fn queries_give_trees_resources_scopes_and_clear_resets() {
    let receiver = Receiver::start().unwrap();
    let mut client = TraceServiceClient::connect(receiver.grpc_endpoint())
        .await
        .unwrap();
    client
        .export(traces(&[
            (3, Some(1), "second-child"),
            (4, Some(2), "grandchild"),
            (1, None, "root"),
            (2, Some(1), "first-child"),
        ]))
        .await
        .unwrap();
    receiver.wait_for_spans_async(4, WAIT).await.unwrap();

    let tree = receiver.span_tree(TRACE_ID);
    // Children are ordered by start time: the support builder starts span i at i µs.
    assert_eq!(
        tree.outline(),
        "root\n  second-child\n  first-child\n    grandchild\n"
    );
    assert_eq!(tree.parent_of("grandchild").unwrap().name(), "first-child");
    assert!(
        tree.to_string().starts_with("root (999.998ms, unset)\n"),
        "{tree}"
    );
    assert!(receiver.span_tree([0u8; 16]).is_empty());

    let child = receiver.span("grandchild").unwrap();
    assert_eq!(child.parent_span_id_hex(), Some(hex(&[2; 8])));
    assert_eq!(child.trace_id_hex(), hex(&TRACE_ID));
    assert_eq!(
        child.origin.resource_attribute_str("service.name"),
        Some("support-service")
    );
    assert_eq!(child.origin.scope.name, "support-scope");
    assert_eq!(child.origin.scope.version, "1.0.0");
    assert!(child.origin.scope_attribute("scope.attr").is_some());
    assert_eq!(receiver.spans_named("root").len(), 1);

    receiver.clear();
    assert_eq!(receiver.span_count(), 0);
    assert!(receiver.requests().is_empty());
    client.export(one_span("after-clear")).await.unwrap();
    let spans = receiver.wait_for_spans_async(1, WAIT).await.unwrap();
    assert_eq!(spans.len(), 1);
    assert_eq!(
        receiver.requests()[0].seq,
        2,
        "sequence numbers keep counting"
    );
}

#[tokio::test]
async fn dropping_the_receiver_closes_its_ports() {
    let receiver = Receiver::start().unwrap();
    let (grpc, http) = (receiver.grpc_addr(), receiver.http_addr());
    let mut client = TraceServiceClient::connect(receiver.grpc_endpoint())
        .await
        .unwrap();
    client.export(one_span("before-drop")).await.unwrap();
    drop(receiver);
    for addr in [grpc, http] {
        let err = tokio::net::TcpStream::connect(addr).await.unwrap_err();
        assert_eq!(err.kind(), std::io::ErrorKind::ConnectionRefused, "{addr}");
    }
    let status = client.export(one_span("after-drop")).await.unwrap_err();
    assert!(status.metadata().get("grpc-status").is_none(), "{status:?}");
}

#[test]
fn the_binary_prints_one_summary_per_request_and_stops_on_ctrl_c() {
    // Port 0: the banner says where it listens.
    let mut child = Command::new(env!("CARGO_BIN_EXE_otlpkit-receiver"))
        .args(["--grpc", "127.0.0.1:0", "--http", "127.0.0.1:0"])
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            if tx.send(line.unwrap()).is_err() {
                break;
            }
        }
    });
    let next = || {
        rx.recv_timeout(BINARY_WAIT)
            .expect("the receiver printed nothing in time")
    };

    let banner = next();
    let (grpc, http) = banner_addrs(&banner);
    assert_eq!(
        banner,
        format!("otlpkit-receiver listening: grpc http://{grpc} http http://{http}")
    );
    assert!(
        grpc.port() != 0 && http.port() != 0 && grpc != http,
        "{banner}"
    );
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let response = runtime
        .block_on(post_protobuf(
            http,
            "/v1/traces",
            &traces(&[(1, None, "root"), (2, Some(1), "child")]),
        ))
        .unwrap();
    assert_eq!(response.status, 200);
    let summary = next();
    assert!(
        summary.starts_with("#1 traces http/protobuf HTTP/1.1 "),
        "{summary}"
    );
    assert!(summary.ends_with(": 2 spans -> ok"), "{summary}");
    assert_eq!(next(), "  resource service.name=\"support-service\"");
    assert_eq!(next(), format!("  trace {}", hex(&TRACE_ID)));
    assert_eq!(
        next(),
        format!(
            "    root (1s, unset) span {} span.attr=\"root\"",
            "01".repeat(8)
        )
    );
    assert_eq!(
        next(),
        format!(
            "      child (999.999ms, unset) span {} span.attr=\"child\"",
            "02".repeat(8)
        )
    );

    // Ctrl-C: SIGINT through kill(1), then a clean exit.
    let status = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    assert_eq!(
        next(),
        "otlpkit-receiver: stopped after 1 requests; connections closed: 0 idle or with \
         headers too slow (--idle-timeout), 0 over --max-connections"
    );
    let exit = child.wait().unwrap();
    assert!(exit.success(), "{exit:?}");
}

#[tokio::test]
async fn a_counting_receiver_counts_protobuf_items_without_decoding_them() {
    let receiver = Receiver::builder().count_only(true).start().unwrap();
    let mut trace_client = TraceServiceClient::connect(receiver.grpc_endpoint())
        .await
        .unwrap();
    let spans = traces(&[
        (1, None, "root"),
        (2, Some(1), "child"),
        (3, Some(1), "other"),
    ]);
    trace_client.export(spans).await.unwrap();
    let protobuf = [("content-type", "application/x-protobuf")];
    let addr = receiver.http_addr();
    let response = post(
        addr,
        Version::HTTP_11,
        "/v1/logs",
        &[
            ("content-type", "application/x-protobuf"),
            ("content-encoding", "gzip"),
        ],
        gzip(&logs(4).encode_to_vec()),
    )
    .await
    .unwrap();
    assert_eq!(response.status, 200);
    let response = post(
        addr,
        Version::HTTP_11,
        "/v1/metrics",
        &protobuf,
        metrics().encode_to_vec(),
    )
    .await
    .unwrap();
    assert_eq!(response.status, 200);
    // A malformed body is still refused, as by a decoding receiver.
    let mut truncated = one_span("cut").encode_to_vec();
    truncated.truncate(truncated.len() - 2);
    let response = post(addr, Version::HTTP_11, "/v1/traces", &protobuf, truncated)
        .await
        .unwrap();
    assert_eq!(response.status, 400);

    let requests = receiver.wait_for_requests_async(4, WAIT).await.unwrap();
    assert_eq!(
        requests.iter().map(|r| r.item_count).collect::<Vec<_>>(),
        [3, 4, 3, 0]
    );
    assert!(requests.iter().all(|r| r.payload.is_none()));
    assert_eq!(receiver.span_count(), 3);
    assert_eq!(receiver.log_count(), 4);
    assert_eq!(receiver.data_point_count(), 3);
    // Nothing was decoded, so the queries that read payloads see nothing.
    assert!(receiver.spans().is_empty());
}

/// A client that closes its sending side once its request is out
/// (`shutdown(SHUT_WR)`, as some HTTP/1.1 clients and scripts do) still gets
/// its answer, and the request counts. The receiver delays each answer, so
/// that the end of the client's input always comes while the request is
/// being handled: without half-close that aborted the request unanswered.
#[test]
fn a_client_that_half_closes_after_its_request_gets_the_answer() {
    use std::io::{Read as _, Write as _};
    use std::net::{Shutdown, TcpStream};

    let receiver = Receiver::start().unwrap();
    let names: Vec<String> = (0..200).map(|i| format!("half-closed-{i}")).collect();
    let spans: Vec<(u8, Option<u8>, &str)> =
        names.iter().map(|name| (1, None, name.as_str())).collect();
    let body = traces(&spans).encode_to_vec();
    let rounds = 2;
    for round in 0..rounds {
        receiver.push_fault(
            Signal::Traces,
            otlpkit_testkit::Fault::delay(Duration::from_millis(100)),
        );
        let mut stream = TcpStream::connect(receiver.http_addr()).unwrap();
        stream.set_read_timeout(Some(WAIT)).unwrap();
        stream.set_write_timeout(Some(WAIT)).unwrap();
        write!(
            stream,
            "POST /v1/traces HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/x-protobuf\r\nContent-Length: {}\r\n\r\n",
            body.len()
        )
        .unwrap();
        stream.write_all(&body).unwrap();
        stream.shutdown(Shutdown::Write).unwrap();
        let mut answer = Vec::new();
        stream.read_to_end(&mut answer).unwrap();
        let head = String::from_utf8_lossy(&answer[..answer.len().min(64)]).into_owned();
        assert!(head.starts_with("HTTP/1.1 200"), "round {round}: {head:?}");
    }
    assert_eq!(receiver.span_count(), rounds * names.len());
}
