//! Request/response semantics against scripted faults (checklist §2, 1.14,
//! 3.8): what the receiver saw, and how every item, attempt and retry was
//! counted. Also: reconnection after a restart, and secrets never leaking
//! into `Debug`, errors or logs.

mod support;

use std::sync::{Arc, OnceLock};
use std::time::{Duration, SystemTime};

use opentelemetry_sdk::error::OTelSdkError;
use opentelemetry_sdk::trace::SpanExporter as _;
use otlpkit_core::stats::DropReason;
use otlpkit_core::{Compression, Protocol, RetryPolicy, Signal};
use otlpkit_fixtures::exec::block_on;
use otlpkit_http::{HttpExporterBuilder, HttpSpanExporter};
use otlpkit_testkit::{Answer, Fault, Receiver, RefusingPort, RetryAfter, StatusCode};
use support::{CapturedLogs, RawServer, configure, fast_retry, response, sdk_spans};

/// Everything logged by any thread of this test binary (the exporter logs
/// from its worker thread, so the subscriber must be global).
fn logs() -> &'static CapturedLogs {
    static LOGS: OnceLock<CapturedLogs> = OnceLock::new();
    LOGS.get_or_init(|| {
        let logs = CapturedLogs::default();
        // otlpkit's diagnostics go to standard error by default; here they
        // go to `tracing`, where the test reads them.
        otlpkit_core::diag::set_output(otlpkit_core::diag::Output::Tracing);
        tracing::subscriber::set_global_default(logs.subscriber()).unwrap();
        logs
    })
}

fn traces_url(receiver: &Receiver) -> String {
    receiver.http_url(otlpkit_testkit::Signal::Traces)
}

fn span_builder(url: &str, protocol: Protocol) -> HttpExporterBuilder<HttpSpanExporter> {
    logs();
    configure(
        HttpSpanExporter::builder(),
        url,
        protocol,
        Compression::None,
    )
}

fn span_exporter(url: &str) -> HttpSpanExporter {
    span_builder(url, Protocol::HttpProtobuf).build().unwrap()
}

fn export(exporter: &HttpSpanExporter, spans: usize) -> Result<(), OTelSdkError> {
    block_on(exporter.export(sdk_spans(spans)))
}

fn traces(exporter: &HttpSpanExporter) -> otlpkit_core::stats::SignalStatsSnapshot {
    exporter.stats().snapshot().signal(Signal::Traces)
}

/// Exports `spans` spans through `exporter` on a thread of its own, to a
/// collector that holds the request for a minute; returns once the request
/// is in flight, with the thread that waits for its outcome.
fn export_held_in_flight(
    receiver: &Receiver,
    exporter: &Arc<HttpSpanExporter>,
    spans: usize,
) -> std::thread::JoinHandle<Result<(), OTelSdkError>> {
    receiver.push_fault(
        otlpkit_testkit::Signal::Traces,
        Fault::delay(Duration::from_secs(60)),
    );
    let exporting = {
        let exporter = Arc::clone(exporter);
        std::thread::spawn(move || export(&exporter, spans))
    };
    let deadline = std::time::Instant::now() + support::WAIT;
    while receiver.in_flight() == 0 && std::time::Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(5));
    }
    assert_eq!(receiver.in_flight(), 1);
    exporting
}

// --- checklist 2.5, 2.11: success and partial success ----------------------------------------

#[test]
fn success_bodies_empty_null_or_unreadable_count_as_exported() {
    // checklist 2.5: 200 is success; an empty body, `{"partialSuccess":null}`
    // (rotel) and an unreadable body do not turn it into a failure.
    let server = RawServer::start();
    server.push(Some(response(200, "application/x-protobuf", b"", &[])));
    server.push(Some(response(
        200,
        "application/json",
        br#"{"partialSuccess":null}"#,
        &[],
    )));
    server.push(Some(response(
        200,
        "application/x-protobuf",
        b"\xff\xff\xff",
        &[],
    )));
    let exporter = span_exporter(&server.url("/v1/traces"));
    for _ in 0..3 {
        export(&exporter, 2).unwrap();
    }
    assert_eq!(server.requests().len(), 3);
    let stats = traces(&exporter);
    assert_eq!(
        (stats.exported, stats.dropped_total(), stats.retries),
        (6, 0, 0)
    );
    assert_eq!(stats.partial_successes, 0);
}

#[test]
fn partial_success_is_counted_logged_and_never_retried() {
    // checklist 2.11, for both encodings of the response.
    for protocol in support::protocols() {
        let receiver = Receiver::start().unwrap();
        receiver.push_fault(
            otlpkit_testkit::Signal::Traces,
            Fault::partial_success(2, "two spans had no name"),
        );
        let exporter = span_builder(&traces_url(&receiver), protocol)
            .build()
            .unwrap();
        export(&exporter, 5).unwrap();
        assert_eq!(receiver.request_count(), 1, "{protocol}");
        assert!(matches!(
            receiver.requests()[0].answer,
            Answer::PartialSuccess { rejected: 2, .. }
        ));
        let stats = traces(&exporter);
        assert_eq!(stats.exported, 3, "{protocol}");
        assert_eq!(stats.dropped(DropReason::RejectedByServer), 2, "{protocol}");
        assert_eq!(stats.partial_successes, 1, "{protocol}");
        assert_eq!((stats.requests, stats.retries), (1, 0), "{protocol}");
    }
    assert!(
        logs().text().contains("two spans had no name"),
        "{}",
        logs().text()
    );
}

// --- checklist 2.6, 2.10: status classes ----------------------------------------------------

#[test]
fn retryable_statuses_are_retried_until_success() {
    // checklist 2.6: 429, 502, 503 and 504 are retried.
    for status in [429u16, 502, 503, 504] {
        let receiver = Receiver::start().unwrap();
        receiver.push_fault(
            otlpkit_testkit::Signal::Traces,
            Fault::http_status(StatusCode::from_u16(status).unwrap()),
        );
        let exporter = span_exporter(&traces_url(&receiver));
        export(&exporter, 4).unwrap();
        let answers: Vec<Answer> = receiver
            .requests()
            .iter()
            .map(|r| r.answer.clone())
            .collect();
        assert_eq!(answers.len(), 2, "{status}: {answers:?}");
        assert!(matches!(answers[0], Answer::HttpStatus { status: s, .. } if s == status));
        assert_eq!(answers[1], Answer::Ok, "{status}");
        let stats = traces(&exporter);
        assert_eq!(stats.exported, 4, "{status}");
        assert_eq!(
            (stats.requests, stats.failed_attempts, stats.retries),
            (2, 1, 1),
            "{status}"
        );
        assert_eq!(stats.dropped_total(), 0, "{status}");
    }
}

/// A failed attempt that is retried is said at once (not only once the
/// retries run out), and at most once a minute per exporter.
#[test]
fn a_retried_attempt_is_said_at_once_and_not_again_within_the_minute() {
    let receiver = Receiver::start().unwrap();
    let url = traces_url(&receiver);
    let exporter = span_exporter(&url);
    let said = || {
        logs()
            .text()
            .lines()
            .filter(|line| line.contains(&url) && line.contains("is being retried"))
            .count()
    };
    for _ in 0..3 {
        receiver.push_fault(
            otlpkit_testkit::Signal::Traces,
            Fault::http_status(StatusCode::SERVICE_UNAVAILABLE),
        );
        export(&exporter, 1).unwrap();
    }
    assert_eq!(traces(&exporter).retries, 3);
    assert_eq!(said(), 1, "{}", logs().text());
    let line = logs()
        .text()
        .lines()
        .find(|line| line.contains(&url) && line.contains("is being retried"))
        .map(str::to_owned)
        .unwrap_or_default();
    assert!(line.contains("503"), "{line}");
}

#[test]
fn other_statuses_are_dropped_counted_and_their_message_logged() {
    // checklist 2.6, 2.10: every other 4xx/5xx is not retried; the data is
    // dropped and counted; the google.rpc.Status message is kept and logged.
    for status in [400u16, 401, 403, 404, 413, 500, 501] {
        let receiver = Receiver::start().unwrap();
        let message = format!("refused with {status} on purpose");
        receiver.push_fault(
            otlpkit_testkit::Signal::Traces,
            Fault::http_status(StatusCode::from_u16(status).unwrap()).with_message(&message),
        );
        let exporter = span_exporter(&traces_url(&receiver));
        let error = export(&exporter, 3).unwrap_err().to_string();
        assert!(error.contains(&format!("HTTP status {status}")), "{error}");
        assert!(error.contains(&message), "{error}");
        assert_eq!(receiver.request_count(), 1, "{status}");
        let stats = traces(&exporter);
        assert_eq!(stats.dropped(DropReason::NonRetryable), 3, "{status}");
        assert_eq!(
            (stats.exported, stats.requests, stats.retries),
            (0, 1, 0),
            "{status}"
        );
        assert!(
            logs().text().contains(&message),
            "{status}: {}",
            logs().text()
        );
    }
}

#[cfg(feature = "json")]
#[test]
fn a_json_exporter_reads_the_json_status_body() {
    // checklist 2.6 with an OTLP/JSON error body.
    let receiver = Receiver::start().unwrap();
    receiver.push_fault(
        otlpkit_testkit::Signal::Traces,
        Fault::http_status(StatusCode::BAD_REQUEST).with_message("json says no"),
    );
    let exporter = span_builder(&traces_url(&receiver), Protocol::HttpJson)
        .build()
        .unwrap();
    let error = export(&exporter, 1).unwrap_err().to_string();
    assert!(error.contains("json says no"), "{error}");
}

// --- checklist 2.7: Retry-After ----------------------------------------------------------------

#[test]
fn retry_after_in_seconds_is_obeyed() {
    // checklist 2.7 (delay-seconds). A 1 s hint fits the budget: retried
    // once, counted as throttled. A one-hour hint does not: the exporter
    // gives up at once instead of retrying after its 10 ms backoff.
    let receiver = Receiver::start().unwrap();
    receiver.push_fault(
        otlpkit_testkit::Signal::Traces,
        Fault::http_status(StatusCode::SERVICE_UNAVAILABLE).with_retry_after_secs(1),
    );
    let exporter = span_exporter(&traces_url(&receiver));
    export(&exporter, 2).unwrap();
    let stats = traces(&exporter);
    assert_eq!((stats.exported, stats.requests, stats.throttled), (2, 2, 1));
    assert_eq!(
        receiver.requests()[0].answer,
        Answer::HttpStatus {
            status: 503,
            retry_after: Some("1".into()),
            message: "Service Unavailable".into()
        }
    );

    let receiver = Receiver::start().unwrap();
    receiver.push_fault(
        otlpkit_testkit::Signal::Traces,
        Fault::http_status(StatusCode::TOO_MANY_REQUESTS).with_retry_after_secs(3600),
    );
    let exporter = span_exporter(&traces_url(&receiver));
    let error = export(&exporter, 2).unwrap_err().to_string();
    assert!(error.contains("time budget exhausted"), "{error}");
    assert_eq!(receiver.request_count(), 1);
    let stats = traces(&exporter);
    assert_eq!(stats.dropped(DropReason::RetriesExhausted), 2);
    assert_eq!((stats.requests, stats.throttled, stats.retries), (1, 1, 0));
}

#[test]
fn retry_after_as_an_http_date_is_obeyed() {
    // checklist 2.7 (HTTP-date): a date in the past means "now"; a date an
    // hour ahead is past the budget.
    let receiver = Receiver::start().unwrap();
    let past = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000_000);
    receiver.push_fault(
        otlpkit_testkit::Signal::Traces,
        Fault::http_status(StatusCode::BAD_GATEWAY).with_retry_after(RetryAfter::Date(past)),
    );
    let exporter = span_exporter(&traces_url(&receiver));
    export(&exporter, 1).unwrap();
    assert_eq!(traces(&exporter).throttled, 1);
    assert_eq!(receiver.request_count(), 2);

    let receiver = Receiver::start().unwrap();
    let later = SystemTime::now() + Duration::from_secs(3600);
    receiver.push_fault(
        otlpkit_testkit::Signal::Traces,
        Fault::http_status(StatusCode::GATEWAY_TIMEOUT).with_retry_after(RetryAfter::Date(later)),
    );
    let exporter = span_exporter(&traces_url(&receiver));
    export(&exporter, 1).unwrap_err();
    assert_eq!(receiver.request_count(), 1);
    assert_eq!(traces(&exporter).dropped(DropReason::RetriesExhausted), 1);
}

// --- checklist 2.8, 2.9, 2.14: connections, backoff, time budget ---------------------------------

#[test]
fn a_connection_dropped_without_response_is_retried() {
    // checklist 2.8
    let receiver = Receiver::start().unwrap();
    receiver.push_fault(otlpkit_testkit::Signal::Traces, Fault::drop_connection());
    let exporter = span_exporter(&traces_url(&receiver));
    export(&exporter, 3).unwrap();
    let answers: Vec<Answer> = receiver
        .requests()
        .iter()
        .map(|r| r.answer.clone())
        .collect();
    assert_eq!(answers, [Answer::ConnectionDropped, Answer::Ok]);
    let stats = traces(&exporter);
    assert_eq!((stats.exported, stats.requests, stats.retries), (3, 2, 1));
}

#[test]
fn connection_refused_is_retried_then_counted() {
    // checklist 2.8, 2.9, 2.10: every attempt is made, then the items are dropped.
    let dead = RefusingPort::new().unwrap();
    let exporter = span_exporter(&dead.url("/v1/traces"));
    let error = export(&exporter, 2).unwrap_err().to_string();
    assert!(error.contains("attempts exhausted"), "{error}");
    assert!(error.contains("connection failed"), "{error}");
    let stats = traces(&exporter);
    assert_eq!(stats.dropped(DropReason::RetriesExhausted), 2);
    assert_eq!(
        (stats.requests, stats.failed_attempts, stats.retries),
        (3, 3, 2)
    );
}

#[test]
fn retries_stay_inside_the_export_timeout() {
    // checklist 2.9, 2.14: an endless run of 503s ends when the export's time
    // budget is spent, long before the policy's 1000 attempts.
    let receiver = Receiver::start().unwrap();
    receiver.push_faults(
        otlpkit_testkit::Signal::Traces,
        Fault::http_status(StatusCode::SERVICE_UNAVAILABLE),
        1000,
    );
    let policy = RetryPolicy::builder()
        .with_initial_backoff(Duration::from_millis(20))
        .with_max_backoff(Duration::from_millis(50))
        .with_max_attempts(1000)
        .build()
        .unwrap();
    let exporter = span_builder(&traces_url(&receiver), Protocol::HttpProtobuf)
        .with_retry_policy(policy)
        .with_timeout(Some(Duration::from_millis(400)))
        .build()
        .unwrap();
    let error = export(&exporter, 2).unwrap_err().to_string();
    assert!(
        error.contains("time budget exhausted") || error.contains("timed out"),
        "{error}"
    );
    let stats = traces(&exporter);
    assert_eq!(stats.dropped(DropReason::RetriesExhausted), 2);
    assert!(stats.requests >= 2 && stats.requests < 1000, "{stats:?}");
    assert_eq!(stats.requests, receiver.request_count() as u64);
}

#[test]
fn an_attempt_never_outlives_the_export_timeout() {
    // checklist 2.14: a server that does not answer in time is a timeout.
    let receiver = Receiver::start().unwrap();
    receiver.push_faults(
        otlpkit_testkit::Signal::Traces,
        Fault::delay(Duration::from_secs(30)),
        5,
    );
    let exporter = span_builder(&traces_url(&receiver), Protocol::HttpProtobuf)
        .with_timeout(Some(Duration::from_millis(300)))
        .build()
        .unwrap();
    let error = export(&exporter, 2).unwrap_err().to_string();
    assert!(error.contains("export timed out"), "{error}");
    // The budget and where it is set, not what was left of it.
    assert!(
        error.contains("no response within the 300ms export timeout (with_timeout)"),
        "{error}"
    );
    let stats = traces(&exporter);
    assert_eq!(stats.dropped(DropReason::RetriesExhausted), 2);
    assert_eq!(stats.exported, 0);
}

#[test]
fn a_timeout_names_the_variable_that_set_it() {
    let receiver = Receiver::start().unwrap();
    receiver.push_faults(
        otlpkit_testkit::Signal::Traces,
        Fault::delay(Duration::from_secs(30)),
        5,
    );
    logs();
    let exporter = HttpSpanExporter::builder()
        .with_env(otlpkit_core::MapEnv::from([(
            "OTEL_EXPORTER_OTLP_TRACES_TIMEOUT",
            "200",
        )]))
        .with_endpoint(traces_url(&receiver))
        .with_protocol(Protocol::HttpProtobuf)
        .with_retry_policy(fast_retry(3))
        .build()
        .unwrap();
    let error = export(&exporter, 3).unwrap_err().to_string();
    assert!(
        error.contains("200ms export timeout (OTEL_EXPORTER_OTLP_TRACES_TIMEOUT)"),
        "{error}"
    );
    let stats = traces(&exporter);
    assert_eq!(stats.dropped(DropReason::RetriesExhausted), 3);
    assert_eq!(stats.exported, 0);
}

#[test]
fn reconnects_after_the_collector_restarts_on_the_same_port() {
    let receiver = Receiver::start().unwrap();
    let exporter = span_exporter(&traces_url(&receiver));
    export(&exporter, 1).unwrap();
    receiver.stop();
    // Down: every attempt fails, the items are counted.
    export(&exporter, 1).unwrap_err();
    receiver.restart().unwrap();
    export(&exporter, 1).unwrap();
    let requests = receiver.requests();
    let accepted: Vec<_> = requests.iter().filter(|r| r.accepted()).collect();
    assert_eq!(accepted.len(), 2);
    assert_ne!(accepted[0].connection_id, accepted[1].connection_id);
    let stats = traces(&exporter);
    assert_eq!(stats.exported, 2);
    assert_eq!(stats.dropped(DropReason::RetriesExhausted), 1);
}

// --- checklist 1.14, 2.12: sizes and empty batches ----------------------------------------------

#[test]
fn an_oversized_request_is_not_sent_and_is_counted() {
    // checklist 1.14
    let receiver = Receiver::start().unwrap();
    let exporter = span_builder(&traces_url(&receiver), Protocol::HttpProtobuf)
        .with_max_request_size(200)
        .with_compression(Compression::Gzip)
        .build()
        .unwrap();
    let error = export(&exporter, 20).unwrap_err().to_string();
    assert!(error.contains("over the 200-byte limit"), "{error}");
    assert_eq!(receiver.request_count(), 0);
    let stats = traces(&exporter);
    assert_eq!(stats.dropped(DropReason::Oversized), 20);
    assert_eq!(stats.requests, 0);
    // A small batch still goes through.
    export(&exporter, 1).unwrap();
    assert_eq!(receiver.request_count(), 1);
}

#[test]
fn an_oversized_response_fails_without_retry() {
    // checklist 1.14: over the maximum response size is non-retryable, whether
    // announced by Content-Length or only found while reading.
    let server = RawServer::start();
    let big = vec![b'x'; 4096];
    server.push(Some(response(200, "application/x-protobuf", &big, &[])));
    let chunked = {
        let mut bytes =
            b"HTTP/1.1 200 OK\r\ncontent-type: application/x-protobuf\r\ntransfer-encoding: chunked\r\n\r\n"
                .to_vec();
        for _ in 0..4 {
            bytes.extend_from_slice(b"400\r\n");
            bytes.extend_from_slice(&[b'y'; 1024]);
            bytes.extend_from_slice(b"\r\n");
        }
        bytes.extend_from_slice(b"0\r\n\r\n");
        bytes
    };
    server.push(Some(chunked));
    let exporter = span_builder(&server.url("/v1/traces"), Protocol::HttpProtobuf)
        .with_max_response_size(1024)
        .build()
        .unwrap();
    for _ in 0..2 {
        let error = export(&exporter, 2).unwrap_err().to_string();
        assert!(error.contains("exceeds the 1024-byte limit"), "{error}");
    }
    assert_eq!(server.requests().len(), 2);
    let stats = traces(&exporter);
    assert_eq!(stats.dropped(DropReason::NonRetryable), 4);
    assert_eq!(stats.retries, 0);
}

#[test]
fn an_empty_batch_is_not_sent() {
    // checklist 2.12
    let receiver = Receiver::start().unwrap();
    let exporter = span_exporter(&traces_url(&receiver));
    block_on(exporter.export(Vec::new())).unwrap();
    assert_eq!(receiver.request_count(), 0);
    assert_eq!(traces(&exporter).requests, 0);
}

#[test]
fn only_redirects_that_keep_the_body_are_followed() {
    // checklist 2.8 ("other statuses per HTTP semantics"): 307/308 keep the
    // method and body and are followed; 301 is a non-retryable status.
    let server = RawServer::start();
    server.push(Some(response(
        308,
        "text/plain",
        b"",
        &[("location", "/moved/v1/traces")],
    )));
    server.push(None.or(Some(response(200, "application/x-protobuf", b"", &[]))));
    server.push(Some(response(
        301,
        "text/plain",
        b"gone",
        &[("location", "/elsewhere")],
    )));
    let exporter = span_exporter(&server.url("/v1/traces"));
    export(&exporter, 1).unwrap();
    let error = export(&exporter, 1).unwrap_err().to_string();
    assert!(error.contains("HTTP status 301"), "{error}");
    let requests = server.requests();
    assert_eq!(requests.len(), 3, "{requests:?}");
    assert!(
        requests[1].head.starts_with("POST /moved/v1/traces"),
        "{requests:?}"
    );
    assert_eq!(requests[1].body, requests[0].body);
    let stats = traces(&exporter);
    assert_eq!(
        (stats.exported, stats.dropped(DropReason::NonRetryable)),
        (1, 1)
    );
}

#[test]
fn a_redirect_to_another_origin_is_not_followed_and_takes_no_header_along() {
    // reqwest itself drops only `Authorization`, `Cookie` and
    // `Proxy-Authorization` on a redirect to another host: an API-key header
    // and, through `Referer`, the endpoint's query would reach it.
    let endpoint = RawServer::start();
    let elsewhere = RawServer::start();
    endpoint.push(Some(response(
        307,
        "text/plain",
        b"",
        &[("location", &elsewhere.url("/collect?from=redirect"))],
    )));
    // Same origin: followed, without a `Referer`.
    endpoint.push(Some(response(
        308,
        "text/plain",
        b"",
        &[("location", "/moved/v1/traces")],
    )));
    let exporter = span_builder(
        &endpoint.url("/v1/traces?api_key=QUERYSECRET"),
        Protocol::HttpProtobuf,
    )
    .with_header("x-honeycomb-team", "HEADERSECRET")
    .build()
    .unwrap();

    let error = export(&exporter, 2).unwrap_err().to_string();
    assert!(error.contains("HTTP status 307"), "{error}");
    assert!(
        error.contains(&format!(
            "redirect to another origin ({}) not followed",
            elsewhere.url("")
        )),
        "{error}"
    );
    assert!(!error.contains("from=redirect"), "{error}");
    assert!(
        elsewhere.requests().is_empty(),
        "{:?}",
        elsewhere.requests()
    );

    export(&exporter, 1).unwrap();
    let requests = endpoint.requests();
    assert_eq!(requests.len(), 3, "{requests:?}");
    assert!(
        requests[2].head.starts_with("POST /moved/v1/traces"),
        "{requests:?}"
    );
    assert_eq!(requests[2].header("x-honeycomb-team"), Some("HEADERSECRET"));
    assert_eq!(requests[2].header("referer"), None, "{requests:?}");

    let stats = traces(&exporter);
    assert_eq!(
        (
            stats.exported,
            stats.dropped(DropReason::NonRetryable),
            stats.retries
        ),
        (1, 2, 0)
    );
}

/// A server's `Retry-After` of centuries, with a spool: the batch waits in
/// the spool and the export returns (it panicked adding the hint to the
/// clock); the drain tries again after an hour at most.
#[cfg(feature = "spool")]
#[test]
fn a_retry_after_of_centuries_with_a_spool_is_spooled_without_a_panic() {
    let server = RawServer::start();
    for _ in 0..4 {
        server.push(Some(response(
            503,
            "text/plain",
            b"",
            &[("retry-after", "99999999999999999999")],
        )));
    }
    let dir = std::env::temp_dir().join(format!(
        "otlpkit-http-faults-retry-after-{}",
        std::process::id()
    ));
    let _ = std::fs::remove_dir_all(&dir);
    let exporter = span_builder(&server.url("/v1/traces"), Protocol::HttpProtobuf)
        .with_spool_dir(&dir)
        .build()
        .unwrap();
    let result = std::thread::scope(|scope| {
        scope
            .spawn(|| export(&exporter, 3))
            .join()
            .map_err(|_| "the export panicked")
    });
    let stats = traces(&exporter);
    drop(exporter);
    let _ = std::fs::remove_dir_all(&dir);
    assert!(matches!(result, Ok(Ok(()))), "{result:?}");
    assert_eq!(stats.spooled, 3, "{stats:?}");
    assert_eq!(stats.dropped_total(), 0, "{stats:?}");
    assert_eq!(server.requests().len(), 1);
}

// --- checklist 3.8: shutdown --------------------------------------------------------------------

#[test]
fn exports_after_shutdown_fail_and_are_counted() {
    // checklist 3.8
    let receiver = Receiver::start().unwrap();
    let exporter = span_exporter(&traces_url(&receiver));
    export(&exporter, 1).unwrap();
    exporter
        .shutdown_with_timeout(Duration::from_secs(5))
        .unwrap();
    assert!(matches!(
        export(&exporter, 4),
        Err(OTelSdkError::AlreadyShutdown)
    ));
    // A second shutdown is harmless.
    exporter.shutdown().unwrap();
    assert_eq!(receiver.request_count(), 1);
    let stats = traces(&exporter);
    assert_eq!(
        (stats.exported, stats.dropped(DropReason::AfterShutdown)),
        (1, 4)
    );
}

#[test]
fn shared_handles_send_on_one_connection_and_the_last_shutdown_stops_it() {
    let receiver = Receiver::start().unwrap();
    let first = span_exporter(&traces_url(&receiver));
    let second = first.share();
    let third = first.share();
    export(&first, 1).unwrap();
    export(&second, 2).unwrap();
    export(&third, 3).unwrap();
    let requests = receiver.requests_for(otlpkit_testkit::Signal::Traces);
    assert_eq!(requests.len(), 3);
    assert!(
        requests
            .iter()
            .all(|r| r.connection_id == requests[0].connection_id),
        "three handles, one connection: {requests:?}"
    );

    // A handle shut down (or dropped) while others are open stops only
    // itself: its exports fail and are counted, the others still send.
    first.shutdown_with_timeout(Duration::from_secs(5)).unwrap();
    assert!(matches!(
        export(&first, 4),
        Err(OTelSdkError::AlreadyShutdown)
    ));
    drop(second);
    export(&third, 5).unwrap();
    assert!(format!("{third:?}").contains("Running"), "{third:?}");

    // The last one open stops the core.
    third.shutdown_with_timeout(Duration::from_secs(5)).unwrap();
    assert!(!format!("{third:?}").contains("Running"), "{third:?}");
    assert!(matches!(
        export(&third, 6),
        Err(OTelSdkError::AlreadyShutdown)
    ));
    assert_eq!(receiver.request_count(), 4);
    // One set of counters for every handle.
    let stats = traces(&first);
    assert_eq!(
        (stats.exported, stats.dropped(DropReason::AfterShutdown)),
        (11, 10)
    );
}

#[test]
fn shared_handles_a_handle_shared_from_a_shut_down_one_is_born_shut_down() {
    let receiver = Receiver::start().unwrap();
    let first = span_exporter(&traces_url(&receiver));
    let second = first.share();
    first.shutdown_with_timeout(Duration::from_secs(5)).unwrap();

    // A shut-down handle cannot open another: the new handle's exports fail
    // and are counted, and it does not hold the core open.
    let late = first.share();
    assert!(matches!(
        export(&late, 2),
        Err(OTelSdkError::AlreadyShutdown)
    ));
    export(&second, 1).unwrap();

    // The last handle that was really open stops the core, `late` still
    // alive or not.
    second
        .shutdown_with_timeout(Duration::from_secs(5))
        .unwrap();
    assert!(!format!("{late:?}").contains("Running"), "{late:?}");
    assert!(matches!(
        export(&second, 4),
        Err(OTelSdkError::AlreadyShutdown)
    ));
    late.shutdown_with_timeout(Duration::from_secs(5)).unwrap();
    assert_eq!(receiver.request_count(), 1);
    let stats = traces(&first);
    assert_eq!(
        (
            stats.exported,
            stats.dropped(DropReason::AfterShutdown),
            stats.dropped_total()
        ),
        (1, 6, 6)
    );
}

/// A shutdown whose caller's deadline had already passed gets no time:
/// the send in flight is counted at once, and its failure says the
/// deadline had passed instead of naming a "0ns" timeout.
#[test]
fn a_shutdown_with_no_time_left_says_the_deadline_had_passed() {
    let receiver = Receiver::start().unwrap();
    let exporter = Arc::new(span_exporter(&traces_url(&receiver)));
    let exporting = export_held_in_flight(&receiver, &exporter, 2);
    let result = exporter.shutdown_all(Duration::ZERO);
    assert!(
        matches!(result, Err(OTelSdkError::Timeout(_))),
        "{result:?}"
    );
    assert_eq!(traces(&exporter).dropped(DropReason::ShutdownDeadline), 2);
    let last = traces(&exporter).last_error.expect("a last failure");
    assert_eq!(
        last.message,
        "the shutdown deadline had passed before the export finished"
    );
    let error = exporting.join().unwrap().unwrap_err().to_string();
    assert!(!error.contains("0ns"), "{error}");
}

/// What `otlpkit::init()` does with its two span processors: each has a
/// handle, and the pipeline keeps a third, which it shuts down last with
/// `shutdown_all`. The processor whose time ran out before it reached its
/// exporter leaves its handle open; the core stops all the same, once, and
/// settles the send still in flight itself.
#[test]
fn shared_handles_the_owner_stops_the_core_whatever_handles_are_still_open() {
    let receiver = Receiver::start().unwrap();
    let owner = span_exporter(&traces_url(&receiver));
    let native = Arc::new(owner.share());
    let api = owner.share();
    let exporting = export_held_in_flight(&receiver, &native, 3);

    // A processor after its own deadline: `Duration::ZERO`. Not the last
    // handle open, so it closes only itself and cuts nothing short.
    api.shutdown_with_timeout(Duration::ZERO).unwrap();
    assert!(matches!(
        export(&api, 1),
        Err(OTelSdkError::AlreadyShutdown)
    ));
    assert!(format!("{owner:?}").contains("Running"), "{owner:?}");

    // The owner's shutdown stops the core although `native` is still open:
    // the send in flight is counted by the core's shutdown, before it
    // returns.
    let result = owner.shutdown_all(Duration::from_millis(200));
    assert!(
        matches!(result, Err(OTelSdkError::Timeout(_))),
        "{result:?}"
    );
    assert_eq!(traces(&owner).dropped(DropReason::ShutdownDeadline), 3);
    assert!(!format!("{native:?}").contains("Running"), "{native:?}");
    let error = exporting.join().unwrap().unwrap_err().to_string();
    assert!(error.contains("dropped (shutdown_deadline)"), "{error}");

    // Once: the handle left open fails its exports, and its shutdown and
    // a second `shutdown_all` return at once.
    assert!(matches!(
        export(&native, 4),
        Err(OTelSdkError::AlreadyShutdown)
    ));
    native
        .shutdown_with_timeout(Duration::from_secs(5))
        .unwrap();
    owner.shutdown_all(Duration::from_secs(5)).unwrap();
    let stats = traces(&owner);
    assert_eq!(
        (
            stats.exported,
            stats.dropped(DropReason::ShutdownDeadline),
            stats.dropped(DropReason::AfterShutdown),
            stats.dropped_total()
        ),
        (0, 3, 5, 8)
    );
}

#[test]
fn shutdown_is_bounded_while_an_export_hangs() {
    // checklist 3.8, 2.14: a collector that never answers cannot hold the
    // shutdown past its timeout; the items in flight are counted.
    let receiver = Receiver::start().unwrap();
    let exporter = Arc::new(span_exporter(&traces_url(&receiver)));
    let exporting = export_held_in_flight(&receiver, &exporter, 3);
    let result = exporter.shutdown_with_timeout(Duration::from_millis(200));
    assert!(
        matches!(result, Err(OTelSdkError::Timeout(_))),
        "{result:?}"
    );
    let error = exporting.join().unwrap().unwrap_err().to_string();
    assert!(
        error.contains("3 spans") && error.contains("dropped (shutdown_deadline)"),
        "{error}"
    );
    let stats = traces(&exporter);
    assert_eq!(stats.dropped(DropReason::ShutdownDeadline), 3);
    assert_eq!(stats.exported, 0);
}

// --- Secrets ------------------------------------------------------------------------------------

#[test]
fn secrets_never_appear_in_debug_errors_or_logs() {
    const TOKEN: &str = "Bearer s3cr3t";
    let server = RawServer::start();
    // A server that echoes the credential back in its error message.
    let status = {
        use prost::Message as _;
        #[derive(Clone, PartialEq, prost::Message)]
        struct RpcStatus {
            #[prost(int32, tag = "1")]
            code: i32,
            #[prost(string, tag = "2")]
            message: String,
        }
        RpcStatus {
            code: 16,
            message: format!("invalid credential {TOKEN}"),
        }
        .encode_to_vec()
    };
    server.push(Some(response(401, "application/x-protobuf", &status, &[])));
    let url = server
        .url("/v1/traces?api_key=hunter2")
        .replace("http://", "http://user:hunter2@");

    let builder = span_builder(&url, Protocol::HttpProtobuf).with_header("authorization", TOKEN);
    let builder_debug = format!("{builder:?}");
    let exporter = builder.build().unwrap();
    let exporter_debug = format!("{exporter:?}");
    for text in [&builder_debug, &exporter_debug] {
        assert!(
            !text.contains("s3cr3t") && !text.contains("hunter2"),
            "{text}"
        );
        assert!(text.contains("authorization"), "{text}");
    }
    assert!(
        !exporter.endpoint().contains("hunter2"),
        "{}",
        exporter.endpoint()
    );

    // The request carried the secret; nothing the exporter says does.
    let error = export(&exporter, 1).unwrap_err();
    let requests = server.requests();
    assert_eq!(requests[0].header("authorization"), Some(TOKEN));
    assert!(requests[0].head.contains("api_key=hunter2"));
    for text in [error.to_string(), format!("{error:?}")] {
        assert!(
            !text.contains("s3cr3t") && !text.contains("hunter2"),
            "{text}"
        );
        assert!(text.contains("invalid credential <redacted>"), "{text}");
    }

    // A connection failure names the endpoint without credentials or query.
    let dead = RefusingPort::new().unwrap();
    let closed = dead.port();
    let exporter = span_builder(
        &format!("http://user:hunter2@127.0.0.1:{closed}/v1/traces?api_key=hunter2"),
        Protocol::HttpProtobuf,
    )
    .with_header("authorization", TOKEN)
    .with_retry_policy(fast_retry(1))
    .build()
    .unwrap();
    let error = export(&exporter, 1).unwrap_err();
    for text in [error.to_string(), format!("{error:?}")] {
        assert!(
            !text.contains("s3cr3t") && !text.contains("hunter2"),
            "{text}"
        );
        assert!(
            text.contains(&format!("127.0.0.1:{closed}/v1/traces")),
            "{text}"
        );
    }

    // A header value that is not valid in HTTP is refused without showing it.
    let error = span_builder(&server.url("/v1/traces"), Protocol::HttpProtobuf)
        .with_header("authorization", "Bearer s3cr3t\u{7f}")
        .build()
        .unwrap_err();
    for text in [error.to_string(), format!("{error:?}")] {
        assert!(!text.contains("s3cr3t"), "{text}");
    }

    let logged = logs().text();
    assert!(logged.contains("invalid credential <redacted>"), "{logged}");
    assert!(
        !logged.contains("s3cr3t") && !logged.contains("hunter2"),
        "{logged}"
    );
}

// A server that echoes request headers, or only the token of a `Bearer`
// value, back in its error body: neither reaches an error, a log line or the
// statistics (the last failure is kept there, redacted).
#[test]
fn credentials_echoed_in_part_by_a_server_are_redacted() {
    const TOKEN: &str = "SECRET123";
    const API_KEY: &str = "k3y-abcdef";
    let server = RawServer::start();
    let status = |message: String| {
        use prost::Message as _;
        #[derive(Clone, PartialEq, prost::Message)]
        struct RpcStatus {
            #[prost(int32, tag = "1")]
            code: i32,
            #[prost(string, tag = "2")]
            message: String,
        }
        RpcStatus { code: 16, message }.encode_to_vec()
    };
    server.push(Some(response(
        401,
        "application/x-protobuf",
        &status(format!("invalid bearer token '{TOKEN}'")),
        &[],
    )));
    server.push(Some(response(
        403,
        "text/plain",
        format!("you sent authorization: Bearer {TOKEN}\nx-api-key: {API_KEY}").as_bytes(),
        &[],
    )));
    // Echoed across 256 characters, where the message used to be cut
    // before the credential was looked for: half of it stayed.
    let padding = "p".repeat(238);
    server.push(Some(response(
        401,
        "text/plain",
        format!("{padding} token=Bearer {TOKEN}").as_bytes(),
        &[],
    )));
    let exporter = span_builder(&server.url("/v1/traces"), Protocol::HttpProtobuf)
        .with_header("authorization", format!("Bearer {TOKEN}"))
        .with_header("x-api-key", API_KEY)
        .build()
        .unwrap();
    let clean = |what: &str, text: &str| {
        assert!(
            !text.contains(TOKEN) && !text.contains(API_KEY),
            "{what} leaks a credential: {text}"
        );
    };
    for expected in [
        "invalid bearer token '<redacted>'",
        "authorization: <redacted>",
        "token=<redacted>",
    ] {
        let error = export(&exporter, 2).unwrap_err();
        clean("error", &format!("{error} {error:?}"));
        assert!(
            !error.to_string().contains(&TOKEN[..4]),
            "part of a credential: {error}"
        );
        assert!(error.to_string().contains(expected), "{error}");
        let last = traces(&exporter).last_error.expect("a last failure");
        clean("last failure", &format!("{last} {last:?}"));
        assert!(last.message.contains(expected), "{last}");
    }
    assert_eq!(traces(&exporter).dropped(DropReason::NonRetryable), 6);
    clean("log output", &logs().text());
}

// Basic credentials, from an `authorization` header or from the endpoint's
// user name and password (which the client sends as Basic authentication),
// echoed by a server in base64 or decoded: neither form reaches an error, a
// log line or the statistics.
#[test]
fn basic_credentials_echoed_by_a_server_are_redacted() {
    // base64 of `user:secret` and of `user:hunter22`.
    const FROM_HEADER: &str = "dXNlcjpzZWNyZXQ=";
    const FROM_URL: &str = "dXNlcjpodW50ZXIyMg==";
    let server = RawServer::start();
    let clean = |what: &str, text: &str| {
        for secret in [
            FROM_HEADER.trim_end_matches('='),
            FROM_URL.trim_end_matches('='),
            "user:secret",
            "user:hunter22",
            "secret",
            "hunter22",
        ] {
            assert!(!text.contains(secret), "{what} leaks {secret}: {text}");
        }
    };
    server.push(Some(response(
        401,
        "text/plain",
        format!("authorization: Basic {FROM_HEADER} (user:secret) refused").as_bytes(),
        &[],
    )));
    let exporter = span_builder(&server.url("/v1/traces"), Protocol::HttpProtobuf)
        .with_header("authorization", format!("Basic {FROM_HEADER}"))
        .build()
        .unwrap();
    clean("exporter Debug", &format!("{exporter:?}"));
    let error = export(&exporter, 1).unwrap_err();
    clean("error", &format!("{error} {error:?}"));
    assert!(error.to_string().contains("<redacted>"), "{error}");
    let last = traces(&exporter).last_error.expect("a last failure");
    clean("last failure", &format!("{last} {last:?}"));

    server.push(Some(response(
        401,
        "text/plain",
        format!("authorization: Basic {FROM_URL} (user:hunter22) refused").as_bytes(),
        &[],
    )));
    let url = server
        .url("/v1/traces")
        .replace("http://", "http://user:hunter22@");
    let exporter = span_builder(&url, Protocol::HttpProtobuf).build().unwrap();
    clean("exporter Debug", &format!("{exporter:?}"));
    let error = export(&exporter, 1).unwrap_err();
    // The client did send them as Basic authentication.
    let requests = server.requests();
    assert_eq!(
        requests.last().unwrap().header("authorization"),
        Some(format!("Basic {FROM_URL}").as_str())
    );
    clean("error", &format!("{error} {error:?}"));
    let last = traces(&exporter).last_error.expect("a last failure");
    clean("last failure", &format!("{last} {last:?}"));
    clean("log output", &logs().text());
}

// --- the wrong port: an OTLP/HTTP exporter at the receiver's gRPC port -----------------------

#[test]
fn http_to_a_grpc_port_names_the_protocol_not_tls() {
    let receiver = Receiver::start().unwrap();
    let url = format!("{}/v1/traces", receiver.grpc_endpoint());
    let exporter = span_exporter(&url);
    let error = export(&exporter, 2).unwrap_err().to_string();
    assert!(
        error.contains("OTEL_EXPORTER_OTLP_PROTOCOL=grpc"),
        "{error}"
    );
    assert!(error.contains("4318"), "{error}");
    assert!(!error.contains("TLS failed"), "{error}");
    assert!(error.contains("not retryable"), "{error}");
    let stats = traces(&exporter);
    assert_eq!(stats.dropped(DropReason::NonRetryable), 2);
    assert_eq!(stats.last_error.map(|e| e.kind), Some("config"));
    assert_eq!(receiver.span_count(), 0);
}

// Server text — a partial success's `error_message`, an error body — reaches
// the log and the error on one line, with no terminal control: a newline
// cannot forge an otlpkit log line, ESC cannot start an ANSI sequence.
#[test]
fn server_text_cannot_forge_log_lines_or_steer_the_terminal() {
    let receiver = Receiver::start().unwrap();
    receiver.push_fault(
        otlpkit_testkit::Signal::Traces,
        Fault::partial_success(1, "h5-partial\notlpkit: info: forged line\x1b[2J\u{202e}"),
    );
    let exporter = span_exporter(&traces_url(&receiver));
    export(&exporter, 3).unwrap();
    let stats = traces(&exporter);
    assert_eq!(stats.exported, 2);
    assert_eq!(stats.dropped(DropReason::RejectedByServer), 1);
    assert_eq!(stats.partial_successes, 1);
    let text = logs().text();
    let line = text
        .lines()
        .find(|line| line.contains("h5-partial"))
        .unwrap_or_else(|| panic!("{text}"));
    assert!(
        line.contains("h5-partial otlpkit: info: forged line"),
        "{line:?}"
    );
    assert!(!text.contains("h5-partial\n"), "{text:?}");
    assert!(
        !line.contains('\x1b') && !line.contains('\u{202e}'),
        "{line:?}"
    );

    // An error body, text or google.rpc.Status: the same rule.
    receiver.push_fault(
        otlpkit_testkit::Signal::Traces,
        Fault::http_status(StatusCode::BAD_REQUEST)
            .with_message("h5-error\notlpkit: info: forged\x1b[31m"),
    );
    let error = export(&exporter, 2).unwrap_err().to_string();
    assert!(
        error.contains("h5-error otlpkit: info: forged\\u{1b}[31m"),
        "{error:?}"
    );
    let stats = traces(&exporter);
    assert_eq!(stats.dropped(DropReason::NonRetryable), 2);
    let record = stats.last_error.unwrap();
    assert!(!record.message.contains('\n'), "{record:?}");
    assert!(!record.message.contains('\x1b'), "{record:?}");
}

// "Further failures are summarised once a minute" holds when exports fail
// and succeed in turn (a collector refusing some batches as bad data): the
// first failure and the recovery are each said once, not at every flip,
// while every dropped span is counted.
#[test]
fn failures_and_successes_in_turn_are_summarised_not_logged_each_time() {
    let receiver = Receiver::start().unwrap();
    for _ in 0..50 {
        receiver.push_fault(
            otlpkit_testkit::Signal::Traces,
            Fault::http_status(StatusCode::BAD_REQUEST).with_message("h5-flapping bad data"),
        );
        receiver.push_fault(otlpkit_testkit::Signal::Traces, Fault::success());
    }
    let url = traces_url(&receiver);
    let exporter = span_exporter(&url);
    let (mut failed, mut delivered) = (0, 0);
    let start = std::time::Instant::now();
    for i in 0..100 {
        // Sizes vary, so that no duplicate filter could hide a line.
        let n = 1 + i % 7;
        match export(&exporter, n) {
            Ok(()) => delivered += n,
            Err(_) => failed += n,
        }
    }
    let stats = traces(&exporter);
    assert_eq!(stats.dropped(DropReason::NonRetryable), failed as u64);
    assert_eq!(stats.exported, delivered as u64);
    assert_eq!(receiver.request_count(), 100);
    let text = logs().text();
    let ours = |words: &str| {
        text.lines()
            .filter(|line| line.contains(&url) && line.contains(words))
            .count()
    };
    // Bounded by the time taken, not by the number of exports: each kind
    // of line at most once per started minute (once, on any machine that
    // runs 100 local exports within a minute).
    let minutes = usize::try_from(start.elapsed().as_secs() / 60).unwrap() + 1;
    let first = ours("failed, ");
    assert!(
        (1..=minutes).contains(&first),
        "{first} first failures: {text}"
    );
    assert!(ours("still failing") <= minutes, "{text}");
    assert!(ours("succeed again") <= minutes, "{text}");
}

// The same with a disk spool: a collector that fails and recovers in turn
// makes each batch wait in the spool and the drain deliver it; the outage
// and the recovery are each said once, not at every flip.
#[cfg(feature = "spool")]
#[test]
fn a_flapping_collector_behind_a_spool_is_not_logged_at_every_flip() {
    const FLIPS: u64 = 12;
    let receiver = Receiver::start().unwrap();
    let dir = std::env::temp_dir().join(format!(
        "otlpkit-http-faults-spool-flapping-{}",
        std::process::id()
    ));
    let _ = std::fs::remove_dir_all(&dir);
    let url = traces_url(&receiver);
    let exporter = span_builder(&url, Protocol::HttpProtobuf)
        .with_spool_dir(&dir)
        .build()
        .unwrap();
    let start = std::time::Instant::now();
    for flip in 1..=FLIPS {
        // The direct attempt fails and the batch goes to the spool; the
        // drain's next attempt succeeds.
        // Texts and sizes vary, so that no duplicate filter could hide a
        // line.
        receiver.push_fault(
            otlpkit_testkit::Signal::Traces,
            Fault::http_status(StatusCode::SERVICE_UNAVAILABLE)
                .with_message(format!("flapping {flip}")),
        );
        export(&exporter, flip as usize).unwrap();
        let (done, waited) = std::sync::mpsc::channel();
        let exporter = &exporter;
        std::thread::scope(|scope| {
            scope.spawn(move || {
                while traces(exporter).delivered_from_spool < flip * (flip + 1) / 2 {
                    std::thread::sleep(Duration::from_millis(2));
                }
                let _ = done.send(());
            });
            assert!(
                waited.recv_timeout(Duration::from_secs(60)).is_ok(),
                "the drain did not deliver flip {flip}: {:?}",
                traces(exporter)
            );
        });
    }
    let stats = traces(&exporter);
    drop(exporter);
    let _ = std::fs::remove_dir_all(&dir);
    assert_eq!(
        (
            stats.spooled,
            stats.delivered_from_spool,
            stats.dropped_total()
        ),
        (FLIPS * (FLIPS + 1) / 2, FLIPS * (FLIPS + 1) / 2, 0)
    );
    let text = logs().text();
    let ours = |words: &str| {
        text.lines()
            .filter(|line| line.contains(&url) && line.contains(words))
            .count()
    };
    // Each kind of line at most once per started minute.
    let minutes = usize::try_from(start.elapsed().as_secs() / 60).unwrap() + 1;
    let outages = ours("wait in the spool");
    assert!(
        (1..=minutes).contains(&outages),
        "{outages} outages: {text}"
    );
    // Every outage said is followed by its recovery, and only those.
    assert_eq!(ours("succeed again"), outages, "{text}");
}

// checklist 2.11, 2.15 e: a JSON partial success whose int64 count comes as
// a float (`2.0`, from a collector that goes through doubles) still counts
// the rejected spans.
#[cfg(feature = "json")]
#[test]
fn a_json_partial_success_with_a_float_count_counts_the_rejected() {
    let server = RawServer::start();
    server.push(Some(response(
        200,
        "application/json",
        br#"{"partialSuccess":{"rejectedSpans":2.0,"errorMessage":"h5 two too old"}}"#,
        &[],
    )));
    let exporter = span_builder(&server.url("/v1/traces"), Protocol::HttpJson)
        .build()
        .unwrap();
    export(&exporter, 5).unwrap();
    let stats = traces(&exporter);
    assert_eq!(stats.exported, 3);
    assert_eq!(stats.dropped(DropReason::RejectedByServer), 2);
    assert_eq!((stats.partial_successes, stats.retries), (1, 0));
}
