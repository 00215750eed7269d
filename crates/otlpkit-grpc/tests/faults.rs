//! Checklist §2 against the testkit's fault injection: what the receiver saw,
//! what the export returned, and how every span was counted.

mod support;

use std::time::Duration;

use opentelemetry_sdk::trace::SpanExporter as _;
use otlpkit_core::stats::DropReason;
use otlpkit_fixtures::exec::block_on;
use otlpkit_testkit::{Answer, Code, Fault, Receiver, RefusingPort, Signal};
use support::{WAIT, fast_policy, spans, spans_to, traces};

// checklist 2.1: a unary Export per batch; OK means every span was delivered.
#[test]
fn full_success_counts_every_span_and_the_bytes_on_the_wire() {
    let receiver = Receiver::start().unwrap();
    let exporter = spans_to(&receiver).build().unwrap();
    block_on(exporter.export(spans("ok", 5))).unwrap();

    let requests = receiver.requests();
    assert_eq!(requests.len(), 1);
    assert_eq!(requests[0].answer, Answer::Ok);
    assert_eq!(requests[0].item_count, 5);
    let stats = traces(exporter.stats());
    assert_eq!((stats.exported, stats.dropped_total()), (5, 0));
    assert_eq!(
        (stats.requests, stats.retries, stats.failed_attempts),
        (1, 0, 0)
    );
    // The receiver counts the gRPC body it read; the exporter the body it wrote.
    assert_eq!(stats.bytes_sent, requests[0].body_size as u64);
}

// checklist 2.2: CANCELLED, DEADLINE_EXCEEDED, ABORTED, OUT_OF_RANGE, UNAVAILABLE and
// DATA_LOSS are retried; every other code is not.
#[test]
fn retryable_codes_are_retried_and_the_others_dropped() {
    let receiver = Receiver::start().unwrap();
    let exporter = spans_to(&receiver)
        .with_retry_policy(fast_policy(2))
        .build()
        .unwrap();
    let retryable = [1, 4, 10, 11, 14, 15];
    let (mut exported, mut dropped) = (0, 0);
    for number in 1..=16 {
        receiver.clear();
        let code = Code::from_i32(number);
        receiver.push_fault(Signal::Traces, Fault::grpc_status(code, "scripted"));
        let result = block_on(exporter.export(spans("code", 2)));
        let requests = receiver.requests();
        if retryable.contains(&number) {
            assert!(result.is_ok(), "code {number}: {result:?}");
            assert_eq!(requests.len(), 2, "code {number} must be retried");
            assert_eq!(requests[1].answer, Answer::Ok);
            exported += 2;
        } else {
            let error = result.unwrap_err().to_string();
            assert_eq!(requests.len(), 1, "code {number} must not be retried");
            assert!(error.contains(&format!("({number})")), "{error}");
            dropped += 2;
        }
        let stats = traces(exporter.stats());
        assert_eq!(stats.exported, exported, "code {number}");
        assert_eq!(
            stats.dropped(DropReason::NonRetryable),
            dropped,
            "code {number}"
        );
    }
    let stats = traces(exporter.stats());
    assert_eq!(stats.retries, retryable.len() as u64);
    assert_eq!(stats.failed_attempts, 16);
    assert_eq!(stats.dropped_total(), dropped);
}

// checklist 2.2, 2.3: RESOURCE_EXHAUSTED is retried only with RetryInfo.
#[test]
fn resource_exhausted_is_retried_only_with_retry_info() {
    let receiver = Receiver::start().unwrap();
    let exporter = spans_to(&receiver).build().unwrap();

    receiver.push_fault(
        Signal::Traces,
        Fault::grpc_status(Code::ResourceExhausted, "slow down")
            .with_retry_info(Duration::from_millis(30)),
    );
    block_on(exporter.export(spans("throttled", 3))).unwrap();
    assert_eq!(receiver.request_count(), 2);
    let stats = traces(exporter.stats());
    assert_eq!((stats.exported, stats.throttled, stats.retries), (3, 1, 1));

    receiver.clear();
    receiver.push_fault(
        Signal::Traces,
        Fault::grpc_status(Code::ResourceExhausted, "quota exceeded"),
    );
    let error = block_on(exporter.export(spans("quota", 2))).unwrap_err();
    assert!(error.to_string().contains("quota exceeded"), "{error}");
    assert_eq!(receiver.request_count(), 1);
    let stats = traces(exporter.stats());
    assert_eq!(stats.dropped(DropReason::NonRetryable), 2);
    assert_eq!(stats.throttled, 1);
}

// checklist 2.3, 2.9: the server's delay is a floor on the wait. With a one-second budget,
// a 60 s RetryInfo leaves no room for a retry, although the policy would retry after 10 ms.
#[test]
fn retry_info_delay_is_honoured_within_the_export_budget() {
    let receiver = Receiver::start().unwrap();
    let exporter = spans_to(&receiver)
        .with_timeout(Some(Duration::from_secs(1)))
        .with_retry_policy(fast_policy(5))
        .build()
        .unwrap();
    receiver.push_fault(
        Signal::Traces,
        Fault::grpc_status(Code::Unavailable, "come back in a minute")
            .with_retry_info(Duration::from_secs(60)),
    );
    let error = block_on(exporter.export(spans("later", 4))).unwrap_err();
    assert!(
        error.to_string().contains("time budget exhausted"),
        "{error}"
    );
    assert_eq!(receiver.request_count(), 1);
    let stats = traces(exporter.stats());
    assert_eq!(stats.dropped(DropReason::RetriesExhausted), 4);
    assert_eq!((stats.throttled, stats.retries, stats.requests), (1, 0, 1));
}

// checklist 2.4, 1.14: a response over the maximum response size is refused locally
// (tonic reports it as a status) and must not be retried.
#[test]
fn an_oversized_response_is_not_retried() {
    let receiver = Receiver::start().unwrap();
    let exporter = spans_to(&receiver)
        .with_max_response_size(256)
        .build()
        .unwrap();
    receiver.push_fault(Signal::Traces, Fault::partial_success(0, "x".repeat(4096)));
    let error = block_on(exporter.export(spans("big-answer", 3))).unwrap_err();
    let text = error.to_string();
    assert!(text.contains("response too large"), "{text}");
    assert!(text.contains("256"), "{text}");
    assert_eq!(receiver.request_count(), 1);
    let stats = traces(exporter.stats());
    assert_eq!(stats.dropped(DropReason::NonRetryable), 3);
    assert_eq!((stats.retries, stats.exported), (0, 0));
}

// checklist 2.8: a connection dropped without a response is retried.
#[test]
fn a_dropped_connection_is_retried() {
    let receiver = Receiver::start().unwrap();
    let exporter = spans_to(&receiver).build().unwrap();
    receiver.push_fault(Signal::Traces, Fault::drop_connection());
    block_on(exporter.export(spans("dropped", 4))).unwrap();

    let requests = receiver.wait_for_requests(2, WAIT).unwrap();
    assert_eq!(requests[0].answer, Answer::ConnectionDropped);
    assert_eq!(requests[1].answer, Answer::Ok);
    assert_ne!(requests[0].connection_id, requests[1].connection_id);
    let stats = traces(exporter.stats());
    assert_eq!(
        (stats.exported, stats.retries, stats.failed_attempts),
        (4, 1, 1)
    );
}

// checklist 2.8, 2.9: connection refused is retried with backoff until the attempts run out.
#[test]
fn connection_refused_is_retried_until_the_attempts_run_out() {
    let dead = RefusingPort::new().unwrap();
    let receiver = Receiver::start().unwrap();
    let exporter = spans_to(&receiver)
        .with_endpoint(dead.endpoint())
        .build()
        .unwrap();
    let error = block_on(exporter.export(spans("refused", 6))).unwrap_err();
    let text = error.to_string();
    assert!(text.contains("connection failed"), "{text}");
    assert!(text.contains("attempts exhausted"), "{text}");
    let stats = traces(exporter.stats());
    assert_eq!(stats.dropped(DropReason::RetriesExhausted), 6);
    assert_eq!((stats.failed_attempts, stats.retries), (3, 2));
    assert_eq!(stats.requests, 3);
    assert_eq!(stats.bytes_sent, 0);
}

// checklist 2.9: transient failures are retried and the same request is sent each time.
#[test]
fn transient_failures_are_retried_with_the_same_request() {
    let receiver = Receiver::start().unwrap();
    let exporter = spans_to(&receiver)
        .with_retry_policy(fast_policy(5))
        .build()
        .unwrap();
    receiver.push_faults(
        Signal::Traces,
        Fault::grpc_status(Code::Unavailable, "restarting"),
        2,
    );
    block_on(exporter.export(spans("flaky", 7))).unwrap();
    let requests = receiver.requests();
    assert_eq!(requests.len(), 3);
    assert!(requests.iter().all(|r| r.payload == requests[0].payload));
    assert!(
        requests
            .iter()
            .all(|r| r.body_size == requests[0].body_size)
    );
    assert_eq!(receiver.span_count(), 7);
    let stats = traces(exporter.stats());
    assert_eq!((stats.exported, stats.retries, stats.requests), (7, 2, 3));
    assert_eq!(stats.bytes_sent, 3 * requests[0].body_size as u64);
}

// checklist 2.10: a non-retryable failure drops the batch and counts it.
#[test]
fn a_non_retryable_failure_is_dropped_and_counted() {
    let receiver = Receiver::start().unwrap();
    let exporter = spans_to(&receiver).build().unwrap();
    receiver.push_fault(
        Signal::Traces,
        Fault::grpc_status(Code::InvalidArgument, "malformed"),
    );
    let error = block_on(exporter.export(spans("bad", 5))).unwrap_err();
    assert!(error.to_string().contains("not retryable"), "{error}");
    assert_eq!(receiver.request_count(), 1);
    assert_eq!(receiver.span_count(), 0);
    let stats = traces(exporter.stats());
    assert_eq!(stats.dropped(DropReason::NonRetryable), 5);
    assert_eq!((stats.exported, stats.retries), (0, 0));
}

// checklist 2.11: partial success is never retried; rejected spans are counted.
#[test]
fn partial_success_is_counted_and_not_retried() {
    let receiver = Receiver::start().unwrap();
    let exporter = spans_to(&receiver).build().unwrap();
    receiver.push_fault(
        Signal::Traces,
        Fault::partial_success(2, "two spans too old"),
    );
    block_on(exporter.export(spans("partial", 5))).unwrap();
    assert_eq!(receiver.request_count(), 1);
    let stats = traces(exporter.stats());
    assert_eq!(stats.exported, 3);
    assert_eq!(stats.dropped(DropReason::RejectedByServer), 2);
    assert_eq!((stats.partial_successes, stats.retries), (1, 0));

    // rejected = 0 with a message is a warning: everything counts as exported.
    receiver.push_fault(
        Signal::Traces,
        Fault::partial_success(0, "deprecated field"),
    );
    block_on(exporter.export(spans("warning", 4))).unwrap();
    let stats = traces(exporter.stats());
    assert_eq!(stats.exported, 7);
    assert_eq!(stats.dropped_total(), 2);
    assert_eq!(stats.partial_successes, 2);
}

// checklist 2.12: no empty envelopes.
#[test]
fn an_empty_batch_is_not_sent() {
    let receiver = Receiver::start().unwrap();
    let exporter = spans_to(&receiver).build().unwrap();
    block_on(exporter.export(Vec::new())).unwrap();
    assert_eq!(receiver.request_count(), 0);
    assert_eq!(traces(exporter.stats()).requests, 0);
}

// checklist 2.14: an export never blocks past its timeout; `grpc-timeout` tells the
// server the same deadline.
#[test]
fn an_export_is_bounded_by_its_timeout() {
    let receiver = Receiver::start().unwrap();
    let exporter = spans_to(&receiver)
        .with_timeout(Some(Duration::from_millis(300)))
        .build()
        .unwrap();
    receiver.push_fault(Signal::Traces, Fault::delay(Duration::from_secs(5)));
    let error = block_on(exporter.export(spans("slow", 3))).unwrap_err();
    assert!(error.to_string().contains("timed out"), "{error}");
    let requests = receiver.wait_for_requests(1, WAIT).unwrap();
    let deadline = requests[0].headers.get("grpc-timeout").unwrap();
    assert!(
        deadline.ends_with('m') || deadline.ends_with('u'),
        "{deadline}"
    );
    let stats = traces(exporter.stats());
    assert_eq!(stats.dropped(DropReason::RetriesExhausted), 3);
    assert_eq!(stats.exported, 0);
}

// checklist 1.14: a batch over the maximum request size is not sent, and is counted.
#[test]
fn an_oversized_batch_is_not_sent() {
    let receiver = Receiver::start().unwrap();
    let exporter = spans_to(&receiver)
        .with_max_request_size(100)
        .build()
        .unwrap();
    let error = block_on(exporter.export(spans("huge", 10))).unwrap_err();
    assert!(error.to_string().contains("request too large"), "{error}");
    assert_eq!(receiver.request_count(), 0);
    let stats = traces(exporter.stats());
    assert_eq!(stats.dropped(DropReason::Oversized), 10);
    assert_eq!(stats.requests, 0);
}

// The wrong port: a gRPC exporter at the receiver's OTLP/HTTP port.
#[test]
fn grpc_to_an_http_port_names_the_protocol_and_the_port() {
    let receiver = Receiver::start().unwrap();
    let exporter = spans_to(&receiver)
        .with_endpoint(receiver.http_endpoint())
        .build()
        .unwrap();
    let error = block_on(exporter.export(spans("wrong-port", 3)))
        .unwrap_err()
        .to_string();
    assert!(
        error.contains("OTEL_EXPORTER_OTLP_PROTOCOL=http/protobuf"),
        "{error}"
    );
    assert!(error.contains("4317"), "{error}");
    assert_eq!(receiver.span_count(), 0);
    let stats = traces(exporter.stats());
    assert_eq!(stats.dropped(DropReason::NonRetryable), 3);
    assert_eq!((stats.exported, stats.retries), (0, 0));
}

// A server that does not answer within the export timeout: the error names
// the timeout and the variable that set it, whichever of tonic's deadline
// and the exporter's own fires first.
#[test]
fn a_timeout_names_the_budget_and_the_variable_that_set_it() {
    let receiver = Receiver::start().unwrap();
    receiver.push_faults(Signal::Traces, Fault::delay(Duration::from_secs(30)), 5);
    let exporter = otlpkit_grpc::SpanExporter::builder()
        .with_env(otlpkit_core::MapEnv::from([(
            "OTEL_EXPORTER_OTLP_TRACES_TIMEOUT",
            "200",
        )]))
        .with_endpoint(receiver.grpc_endpoint())
        .with_retry_policy(support::fast_policy(3))
        .build()
        .unwrap();
    let error = block_on(exporter.export(spans("slow", 2)))
        .unwrap_err()
        .to_string();
    assert!(
        error.contains(
            "export timed out: no response within the 200ms export timeout \
                        (OTEL_EXPORTER_OTLP_TRACES_TIMEOUT)"
        ),
        "{error}"
    );
    let stats = traces(exporter.stats());
    assert_eq!(stats.dropped(DropReason::RetriesExhausted), 2);
    assert_eq!(stats.exported, 0);
}

// A server's status message reaches the error and the statistics on one
// line, with no terminal control: a newline cannot forge a log line, ESC
// cannot start an ANSI sequence, a bidi override cannot reorder the text.
#[test]
fn a_status_message_cannot_forge_log_lines_or_steer_the_terminal() {
    let receiver = Receiver::start().unwrap();
    receiver.push_fault(
        Signal::Traces,
        Fault::grpc_status(
            Code::InvalidArgument,
            "bad\notlpkit: info: traces exports succeed again\x1b[31mRED\u{202e}",
        ),
    );
    let exporter = spans_to(&receiver).build().unwrap();
    let error = block_on(exporter.export(spans("forged", 2)))
        .unwrap_err()
        .to_string();
    assert!(
        error.contains("bad otlpkit: info: traces exports succeed again\\u{1b}[31mRED\\u{202e}"),
        "{error:?}"
    );
    let stats = traces(exporter.stats());
    assert_eq!(stats.dropped(DropReason::NonRetryable), 2);
    let record = stats.last_error.expect("a last failure");
    assert!(
        !record.message.contains('\n') && !record.message.contains('\x1b'),
        "{record:?}"
    );
}
