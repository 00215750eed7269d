//! Every fault mode, seen through raw clients nobody here wrote (the tonic clients generated
//! in `opentelemetry-proto`, hyper's HTTP client): what the client sees and what the
//! receiver recorded.

mod support;

use std::error::Error as _;
use std::time::{Duration, SystemTime};

use http::Version;
use otlpkit_testkit::proto::collector::logs::v1::ExportLogsServiceResponse;
use otlpkit_testkit::proto::collector::logs::v1::logs_service_client::LogsServiceClient;
use otlpkit_testkit::proto::collector::metrics::v1::metrics_service_client::MetricsServiceClient;
use otlpkit_testkit::proto::collector::trace::v1::trace_service_client::TraceServiceClient;
use otlpkit_testkit::proto::collector::trace::v1::{
    ExportTracePartialSuccess, ExportTraceServiceResponse,
};
use otlpkit_testkit::{Answer, Code, Fault, Protocol, Receiver, RetryAfter, Signal, StatusCode};
use prost::Message as _;
use support::{WAIT, logs, metrics, one_span, post, post_protobuf};
use tonic_types::StatusExt as _;

/// Polls until the receiver holds a request (bounded by `WAIT`).
async fn until_in_flight(receiver: &Receiver) {
    let deadline = tokio::time::Instant::now() + WAIT;
    while receiver.in_flight() == 0 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "no request arrived in time"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

/// Whether `status` was made by the client from a transport failure rather than sent by a
/// server: no `grpc-status` came back, and a tonic transport / hyper error is the cause.
fn is_transport_error(status: &tonic::Status) -> bool {
    let mut cause = status.source();
    while let Some(err) = cause {
        if err.is::<tonic::transport::Error>() || err.is::<hyper::Error>() {
            return status.metadata().get("grpc-status").is_none();
        }
        cause = err.source();
    }
    false
}

/// Whether hyper's error means the server closed the connection without a response.
fn is_connection_closed(err: &hyper::Error) -> bool {
    if err.is_incomplete_message() {
        return true;
    }
    let mut cause = err.source();
    while let Some(inner) = cause {
        if let Some(io) = inner.downcast_ref::<std::io::Error>() {
            return matches!(
                io.kind(),
                std::io::ErrorKind::ConnectionReset | std::io::ErrorKind::BrokenPipe
            );
        }
        cause = inner.source();
    }
    false
}

#[tokio::test]
async fn grpc_status_with_and_without_retry_info() {
    // checklist 2.2, 2.3
    let receiver = Receiver::start().unwrap();
    receiver.push_fault(
        Signal::Traces,
        Fault::grpc_status(Code::ResourceExhausted, "slow down")
            .with_retry_info(Duration::from_millis(1500)),
    );
    receiver.push_fault(
        Signal::Traces,
        Fault::grpc_status(Code::Unavailable, "restarting"),
    );
    let mut client = TraceServiceClient::connect(receiver.grpc_endpoint())
        .await
        .unwrap();

    let status = client.export(one_span("a")).await.unwrap_err();
    assert_eq!(status.code(), Code::ResourceExhausted);
    assert_eq!(status.message(), "slow down");
    // grpc-status-details-bin, moved by tonic from the trailers into `details()`.
    assert!(!status.details().is_empty());
    let retry = status
        .get_details_retry_info()
        .expect("RetryInfo in the details");
    assert_eq!(retry.retry_delay, Some(Duration::from_millis(1500)));

    let status = client.export(one_span("b")).await.unwrap_err();
    assert_eq!(status.code(), Code::Unavailable);
    assert!(status.get_details_retry_info().is_none());
    assert!(status.details().is_empty());

    // The script is empty now: success.
    client.export(one_span("c")).await.unwrap();
    let spans = receiver.wait_for_spans_async(1, WAIT).await.unwrap();
    assert_eq!(spans.len(), 1, "failed attempts do not count as received");
    assert_eq!(spans[0].name(), "c");
    let answers: Vec<Answer> = receiver
        .requests()
        .iter()
        .map(|r| r.answer.clone())
        .collect();
    assert_eq!(
        answers,
        [
            Answer::GrpcStatus {
                code: Code::ResourceExhausted,
                message: "slow down".into(),
                retry_delay: Some(Duration::from_millis(1500)),
            },
            Answer::GrpcStatus {
                code: Code::Unavailable,
                message: "restarting".into(),
                retry_delay: None,
            },
            Answer::Ok,
        ]
    );
    // The failed attempts keep their payloads for inspection.
    assert_eq!(receiver.requests()[0].item_count, 1);
    assert_eq!(receiver.pending_faults(), 0);
}

#[tokio::test]
async fn http_status_with_retry_after_seconds_or_date_and_a_status_body() {
    // checklist 2.6, 2.7
    let receiver = Receiver::start().unwrap();
    let addr = receiver.http_addr();
    let when = SystemTime::UNIX_EPOCH + Duration::from_secs(2_000_000_000);
    receiver.push_fault(
        Signal::Metrics,
        Fault::http_status(StatusCode::SERVICE_UNAVAILABLE).with_retry_after_secs(3),
    );
    receiver.push_fault(
        Signal::Metrics,
        Fault::http_status(StatusCode::TOO_MANY_REQUESTS)
            .with_retry_after(RetryAfter::Date(when))
            .with_message("quota"),
    );
    receiver.push_fault(Signal::Metrics, Fault::http_status(StatusCode::BAD_REQUEST));

    let r = post_protobuf(addr, "/v1/metrics", &metrics())
        .await
        .unwrap();
    assert_eq!(r.status, 503);
    assert_eq!(r.headers["retry-after"], "3");
    let body = tonic_types::Status::decode(r.body).unwrap();
    assert_eq!(body.message, "Service Unavailable");

    let json = serde_json::to_vec(&metrics()).unwrap();
    let r = post(
        addr,
        Version::HTTP_11,
        "/v1/metrics",
        &[("content-type", "application/json")],
        json,
    )
    .await
    .unwrap();
    assert_eq!(r.status, 429);
    let retry_after = r.headers["retry-after"].to_str().unwrap();
    assert_eq!(retry_after, "Wed, 18 May 2033 03:33:20 GMT");
    assert_eq!(httpdate::parse_http_date(retry_after).unwrap(), when);
    assert_eq!(r.content_type(), "application/json");
    let body: serde_json::Value = serde_json::from_slice(&r.body).unwrap();
    assert_eq!(body["message"], "quota");

    let r = post_protobuf(addr, "/v1/metrics", &metrics())
        .await
        .unwrap();
    assert_eq!(r.status, 400);
    assert!(r.headers.get("retry-after").is_none());

    let r = post_protobuf(addr, "/v1/metrics", &metrics())
        .await
        .unwrap();
    assert_eq!(r.status, 200);
    receiver.wait_for_data_points_async(3, WAIT).await.unwrap();
    let requests = receiver.requests();
    assert_eq!(
        requests[0].answer,
        Answer::HttpStatus {
            status: 503,
            retry_after: Some("3".into()),
            message: "Service Unavailable".into(),
        }
    );
    assert_eq!(
        requests[1].answer,
        Answer::HttpStatus {
            status: 429,
            retry_after: Some("Wed, 18 May 2033 03:33:20 GMT".into()),
            message: "quota".into(),
        }
    );
    assert_eq!(
        receiver.data_point_count(),
        3,
        "only the successful request counts"
    );
}

#[tokio::test]
async fn faults_for_any_signal_are_translated_to_the_other_protocol() {
    let receiver = Receiver::start().unwrap();
    // An HTTP fault hit by a gRPC request, then a gRPC fault hit by an HTTP request.
    receiver.push_fault_any(Fault::http_status(StatusCode::BAD_GATEWAY).with_retry_after_secs(2));
    receiver.push_fault_any(
        Fault::grpc_status(Code::ResourceExhausted, "busy")
            .with_retry_info(Duration::from_millis(2500)),
    );
    // Per-signal scripts come first.
    receiver.push_fault(
        Signal::Logs,
        Fault::grpc_status(Code::Internal, "logs only"),
    );

    let mut logs_client = LogsServiceClient::connect(receiver.grpc_endpoint())
        .await
        .unwrap();
    let status = logs_client.export(logs(1)).await.unwrap_err();
    assert_eq!(
        (status.code(), status.message()),
        (Code::Internal, "logs only")
    );

    let mut metrics_client = MetricsServiceClient::connect(receiver.grpc_endpoint())
        .await
        .unwrap();
    let status = metrics_client.export(metrics()).await.unwrap_err();
    assert_eq!(status.code(), Code::Unavailable);
    assert_eq!(
        status.get_details_retry_info().unwrap().retry_delay,
        Some(Duration::from_secs(2))
    );

    let r = post_protobuf(receiver.http_addr(), "/v1/traces", &one_span("x"))
        .await
        .unwrap();
    assert_eq!(r.status, 429);
    assert_eq!(
        r.headers["retry-after"], "3",
        "2.5 s rounds up to whole seconds"
    );
    assert_eq!(receiver.pending_faults(), 0);
}

#[tokio::test]
async fn partial_success_on_grpc_and_http_keeps_all_items() {
    // checklist 2.11
    let receiver = Receiver::start().unwrap();
    receiver.push_faults(Signal::Traces, Fault::partial_success(1, "span too old"), 3);

    let mut client = TraceServiceClient::connect(receiver.grpc_endpoint())
        .await
        .unwrap();
    let response = client.export(one_span("grpc")).await.unwrap().into_inner();
    let expected = ExportTracePartialSuccess {
        rejected_spans: 1,
        error_message: "span too old".into(),
    };
    assert_eq!(response.partial_success, Some(expected.clone()));

    let r = post_protobuf(receiver.http_addr(), "/v1/traces", &one_span("proto"))
        .await
        .unwrap();
    assert_eq!(r.status, 200);
    let response = ExportTraceServiceResponse::decode(r.body).unwrap();
    assert_eq!(response.partial_success, Some(expected));

    let json = serde_json::to_vec(&one_span("json")).unwrap();
    let r = post(
        receiver.http_addr(),
        Version::HTTP_2,
        "/v1/traces",
        &[("content-type", "application/json")],
        json,
    )
    .await
    .unwrap();
    assert_eq!(r.status, 200);
    let body: serde_json::Value = serde_json::from_slice(&r.body).unwrap();
    assert_eq!(
        body,
        serde_json::json!({"partialSuccess": {"rejectedSpans": "1", "errorMessage": "span too old"}})
    );

    // Documented behaviour: the receiver keeps every item of a partial success.
    let spans = receiver.wait_for_spans_async(3, WAIT).await.unwrap();
    let names: Vec<&str> = spans.iter().map(|s| s.name()).collect();
    assert_eq!(names, ["grpc", "proto", "json"]);
    assert!(receiver.requests().iter().all(|r| r.answer
        == Answer::PartialSuccess {
            rejected: 1,
            message: "span too old".into()
        }));
}

#[tokio::test]
async fn delays_hold_the_answer_and_clients_that_give_up_are_recorded() {
    let receiver = Receiver::start().unwrap();
    receiver.push_fault(Signal::Logs, Fault::delay(Duration::from_millis(100)));
    receiver.push_fault(Signal::Logs, Fault::delay(Duration::from_secs(60)));
    let mut client = LogsServiceClient::connect(receiver.grpc_endpoint())
        .await
        .unwrap();

    // A short delay, then success.
    let response = client.export(logs(1)).await.unwrap().into_inner();
    assert_eq!(response, ExportLogsServiceResponse::default());
    let first = receiver
        .wait_for_requests_async(1, WAIT)
        .await
        .unwrap()
        .remove(0);
    assert_eq!(first.delay, Duration::from_millis(100));
    assert_eq!(first.answer, Answer::Ok);

    // A long delay: the client gives up while the request is held.
    let mut held = client.clone();
    let call = tokio::spawn(async move { held.export(logs(2)).await });
    until_in_flight(&receiver).await;
    call.abort();
    let recorded = receiver.wait_for_requests_async(2, WAIT).await.unwrap();
    assert_eq!(recorded[1].answer, Answer::Abandoned);
    assert_eq!(recorded[1].item_count, 2);
    assert_eq!(receiver.log_count(), 1, "abandoned requests do not count");
    assert_eq!(receiver.in_flight(), 0);
}

#[tokio::test]
async fn dropped_http1_connection_is_a_connection_error_not_a_status() {
    let receiver = Receiver::start().unwrap();
    receiver.push_fault(Signal::Traces, Fault::drop_connection());
    let err = post_protobuf(receiver.http_addr(), "/v1/traces", &one_span("lost"))
        .await
        .unwrap_err();
    assert!(is_connection_closed(&err), "{err:?}");

    // A new connection works, and the receiver saw two connections.
    let r = post_protobuf(receiver.http_addr(), "/v1/traces", &one_span("kept"))
        .await
        .unwrap();
    assert_eq!(r.status, 200);
    let requests = receiver.wait_for_requests_async(2, WAIT).await.unwrap();
    assert_eq!(requests[0].answer, Answer::ConnectionDropped);
    assert_eq!(requests[1].answer, Answer::Ok);
    assert_ne!(requests[0].connection_id, requests[1].connection_id);
    assert_eq!(receiver.spans().len(), 1);
}

#[tokio::test]
async fn dropped_grpc_connection_is_a_transport_error_and_the_channel_reconnects() {
    let receiver = Receiver::start().unwrap();
    receiver.push_fault(
        Signal::Traces,
        Fault::drop_connection().after(Duration::from_millis(20)),
    );
    let mut client = TraceServiceClient::connect(receiver.grpc_endpoint())
        .await
        .unwrap();
    let status = client.export(one_span("lost")).await.unwrap_err();
    assert!(is_transport_error(&status), "{status:?}");

    // The same channel reconnects (it may need a second attempt to notice).
    let mut attempts = 0;
    loop {
        attempts += 1;
        match client.export(one_span("kept")).await {
            Ok(_) => break,
            Err(status) if attempts < 5 => assert!(is_transport_error(&status), "{status:?}"),
            Err(status) => panic!("no reconnection: {status:?}"),
        }
    }
    receiver.wait_for_spans_async(1, WAIT).await.unwrap();
    let requests = receiver.requests();
    assert_eq!(requests[0].answer, Answer::ConnectionDropped);
    assert_eq!(requests[0].delay, Duration::from_millis(20));
    let last = requests.last().unwrap();
    assert_eq!(last.answer, Answer::Ok);
    assert_ne!(requests[0].connection_id, last.connection_id);
}

#[tokio::test]
async fn stop_closes_connections_in_flight_and_restart_reuses_the_ports() {
    let receiver = Receiver::start().unwrap();
    let (grpc, http) = (receiver.grpc_addr(), receiver.http_addr());
    let mut client = TraceServiceClient::connect(receiver.grpc_endpoint())
        .await
        .unwrap();
    client.export(one_span("before")).await.unwrap();

    // An HTTP request held by a delay is cut off by stop().
    receiver.push_fault(Signal::Logs, Fault::delay(Duration::from_secs(60)));
    let held = tokio::spawn(async move { post_protobuf(http, "/v1/logs", &logs(1)).await });
    until_in_flight(&receiver).await;
    receiver.stop();
    assert!(!receiver.is_running());
    let err = held.await.unwrap().unwrap_err();
    assert!(
        is_connection_closed(&err),
        "the held request got no response: {err:?}"
    );
    for addr in [grpc, http] {
        let err = tokio::net::TcpStream::connect(addr).await.unwrap_err();
        assert_eq!(err.kind(), std::io::ErrorKind::ConnectionRefused);
    }
    let status = client.export(one_span("while-stopped")).await.unwrap_err();
    assert!(is_transport_error(&status), "{status:?}");

    receiver.restart().unwrap();
    assert!(receiver.is_running());
    assert_eq!((receiver.grpc_addr(), receiver.http_addr()), (grpc, http));
    let mut attempts = 0;
    loop {
        attempts += 1;
        match client.export(one_span("after")).await {
            Ok(_) => break,
            Err(status) if attempts < 5 => assert!(is_transport_error(&status), "{status:?}"),
            Err(status) => panic!("no reconnection after restart: {status:?}"),
        }
    }
    let r = post_protobuf(http, "/v1/logs", &logs(1)).await.unwrap();
    assert_eq!(r.status, 200);

    let names: Vec<String> = receiver
        .wait_for_spans_async(2, WAIT)
        .await
        .unwrap()
        .iter()
        .map(|s| s.name().to_owned())
        .collect();
    assert_eq!(names, ["before", "after"]);
    let logs_requests = receiver.requests_for(Signal::Logs);
    assert_eq!(logs_requests[0].answer, Answer::Abandoned);
    assert_eq!(logs_requests[0].protocol, Protocol::HttpProtobuf);
    assert_eq!(logs_requests.last().unwrap().answer, Answer::Ok);
    assert_eq!(receiver.log_count(), 1);
}
