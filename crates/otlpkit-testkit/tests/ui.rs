//! The receiver's web page over plain HTTP: its embedded assets, its JSON endpoints and
//! what it refuses. (The page itself is checked in a headless browser by
//! `cargo xtask e2e`.)

mod support;

use std::io::{Read as _, Write as _};
use std::net::{SocketAddr, TcpStream};

use otlpkit_testkit::{Receiver, RetentionLimits, hex};
use support::{TRACE_ID, WAIT, logs, metrics, post_protobuf, traces};

/// A raw HTTP/1.1 exchange: status code, headers (lowercased) and body.
fn request(addr: SocketAddr, method: &str, path: &str, host: &str) -> (u16, String, String) {
    let mut stream = TcpStream::connect(addr).unwrap();
    stream.set_read_timeout(Some(WAIT)).unwrap();
    write!(
        stream,
        "{method} {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n"
    )
    .unwrap();
    let mut text = String::new();
    stream.read_to_string(&mut text).unwrap();
    let (head, body) = text.split_once("\r\n\r\n").unwrap();
    let status = head.split_whitespace().nth(1).unwrap().parse().unwrap();
    (status, head.to_ascii_lowercase(), body.to_owned())
}

fn get_json(addr: SocketAddr, path: &str) -> serde_json::Value {
    let (status, head, body) = request(addr, "GET", path, "localhost");
    assert_eq!(status, 200, "{path}: {head}");
    assert!(head.contains("content-type: application/json"), "{head}");
    serde_json::from_str(&body).unwrap()
}

#[tokio::test]
async fn the_page_serves_its_assets_and_json_and_refuses_the_rest() {
    let receiver = Receiver::start().unwrap();
    // Recorded before the page starts: the page takes in what was recorded so far.
    post_protobuf(
        receiver.http_addr(),
        "/v1/traces",
        &traces(&[
            (1, None, "root"),
            (2, Some(1), "child"),
            (3, Some(9), "orphan"),
        ]),
    )
    .await
    .unwrap();
    let ui = receiver
        .serve_ui("127.0.0.1:0".parse().unwrap(), RetentionLimits::default())
        .unwrap();
    assert_eq!(ui.url(), format!("http://{}/", ui.addr()));
    let mut log_request = logs(2);
    for record in &mut log_request.resource_logs[0].scope_logs[0].log_records {
        record.trace_id = TRACE_ID.to_vec();
    }
    log_request.resource_logs[0].scope_logs[0].log_records[0].span_id = vec![2; 8];
    post_protobuf(receiver.http_addr(), "/v1/logs", &log_request)
        .await
        .unwrap();
    post_protobuf(receiver.http_addr(), "/v1/metrics", &metrics())
        .await
        .unwrap();
    receiver.wait_for_requests_async(3, WAIT).await.unwrap();
    let addr = ui.addr();
    tokio::task::spawn_blocking(move || {
        // The assets, embedded, fetching nothing from elsewhere.
        let (status, head, html) = request(addr, "GET", "/", "127.0.0.1");
        assert_eq!(status, 200);
        assert!(head.contains("content-type: text/html"), "{head}");
        assert!(
            head.contains("content-security-policy: default-src 'self'"),
            "{head}"
        );
        assert!(html.contains("<script src=\"/app.js\""), "{html}");
        for (path, kind) in [("/app.js", "text/javascript"), ("/app.css", "text/css")] {
            let (status, head, body) = request(addr, "GET", path, "localhost");
            assert_eq!(status, 200, "{path}");
            assert!(head.contains(kind), "{head}");
            // The only URL in the assets is the SVG namespace.
            let urls = body.matches("http").count();
            let svg = body.matches("http://www.w3.org/2000/svg").count();
            assert_eq!(urls, svg, "{path} names a URL");
        }
        assert_eq!(html.matches("http").count(), 0);

        let status = get_json(addr, "/api/status");
        assert_eq!(status["received"]["spans"], 3);
        assert_eq!(status["kept"]["logRecords"], 2);
        assert_eq!(status["kept"]["metricSeries"], 3);

        let listed = get_json(addr, "/api/traces");
        let trace = &listed["traces"][0];
        assert_eq!(trace["traceId"], hex(&TRACE_ID));
        assert_eq!(trace["root"], "root");
        assert_eq!(trace["service"], "support-service");
        assert_eq!(trace["spans"], 3);

        let view = get_json(addr, &format!("/api/traces/{}", hex(&TRACE_ID)));
        let spans: Vec<(String, u64, bool)> = view["spans"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| {
                (
                    s["name"].as_str().unwrap().to_owned(),
                    s["depth"].as_u64().unwrap(),
                    s["parentMissing"].as_bool().unwrap(),
                )
            })
            .collect();
        assert_eq!(
            spans,
            [
                ("root".to_owned(), 0, false),
                ("child".to_owned(), 1, false),
                ("orphan".to_owned(), 0, true)
            ]
        );
        assert_eq!(view["resources"][0]["service"], "support-service");
        assert_eq!(view["spans"][1]["attributes"][0]["value"], "child");

        let for_child = get_json(
            addr,
            &format!("/api/logs?trace={}&span={}", hex(&TRACE_ID), hex(&[2; 8])),
        );
        assert_eq!(for_child["logs"].as_array().unwrap().len(), 1);
        assert_eq!(for_child["logs"][0]["body"], "log 0");
        assert_eq!(
            get_json(addr, "/api/logs")["logs"]
                .as_array()
                .unwrap()
                .len(),
            2
        );

        let metrics = get_json(addr, "/api/metrics");
        let names: Vec<&str> = metrics["metrics"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m["name"].as_str().unwrap())
            .collect();
        assert_eq!(names.iter().filter(|n| **n == "requests").count(), 2);
        assert!(names.contains(&"latency"), "{names:?}");

        // Refused: another host name (DNS rebinding), another method, unknown paths.
        assert_eq!(request(addr, "GET", "/api/status", "evil.example").0, 403);
        assert_eq!(request(addr, "POST", "/api/status", "localhost").0, 405);
        assert_eq!(request(addr, "GET", "/nope", "localhost").0, 404);
        assert_eq!(request(addr, "GET", "/api/traces/zz", "localhost").0, 404);
        assert_eq!(request(addr, "GET", "/api/traces/00", "localhost").0, 404);
    })
    .await
    .unwrap();

    // Dropping the page stops it; the receiver keeps running.
    let addr = ui.addr();
    drop(ui);
    let deadline = std::time::Instant::now() + WAIT;
    while TcpStream::connect(addr).is_ok() {
        assert!(
            std::time::Instant::now() < deadline,
            "the page still listens"
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert!(receiver.is_running());
}
