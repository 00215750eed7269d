//! An axum HTTP service with server spans that continue the caller's trace,
//! a downstream reqwest call that carries the trace on, a request counter
//! and a latency histogram.
//!
//! ```text
//! cargo run -p otlpkit-examples --bin axum_server                 # smoke mode
//! cargo run -p otlpkit-examples --bin axum_server -- --serve 127.0.0.1:3000
//! ```
//!
//! By default it serves on a free port of 127.0.0.1, sends itself a few
//! requests, and exits: `GET /checkout/{order}` calls `GET /prices/{order}`
//! on the same service through reqwest, so each request makes a four-span
//! trace (client → server → client → server). With `--serve ADDR` it keeps
//! serving until Ctrl-C. Without `OTEL_EXPORTER_OTLP_ENDPOINT`, telemetry
//! goes to the embedded receiver and is printed at the end.
#![allow(clippy::print_stdout, reason = "an example prints what it did")]

use std::future::IntoFuture as _;
use std::net::SocketAddr;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::{MatchedPath, Path, Request, State};
use axum::http::StatusCode;
use axum::middleware::{self, Next};
use axum::response::Response;
use axum::routing::get;
use opentelemetry::KeyValue;
use opentelemetry::metrics::{Counter, Histogram};
use otlpkit::core::Protocol;
use otlpkit::opentelemetry;
use otlpkit::tracing::client::RequestBuilderExt as _;
use otlpkit::tracing::server::HttpServerLayer;
use otlpkit_examples::Collector;
use tracing::Instrument as _;

/// How many requests the smoke mode sends itself.
const SMOKE_REQUESTS: u64 = 3;

#[derive(Clone)]
struct AppState {
    client: reqwest::Client,
    base: String,
    requests: Counter<u64>,
    duration: Histogram<f64>,
}

#[tokio::main]
async fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let serve_addr = match args.as_slice() {
        [] => None,
        [flag, addr] if flag == "--serve" => match addr.parse::<SocketAddr>() {
            Ok(addr) => Some(addr),
            Err(error) => {
                eprintln!("axum_server: `{addr}` is not an address: {error}");
                return ExitCode::FAILURE;
            }
        },
        _ => {
            eprintln!("usage: axum_server [--serve ADDR]");
            return ExitCode::FAILURE;
        }
    };

    let collector = match Collector::from_env() {
        Ok(collector) => collector,
        Err(error) => {
            eprintln!("axum_server: cannot start the embedded receiver: {error}");
            return ExitCode::FAILURE;
        }
    };
    let mut builder = collector.configure(otlpkit::builder(), Protocol::HttpProtobuf);
    if std::env::var_os("OTEL_SERVICE_NAME").is_none() {
        builder = builder.with_service_name("axum-server");
    }
    let telemetry = match builder.init() {
        Ok(telemetry) => telemetry,
        Err(error) => {
            eprintln!("axum_server: {error}");
            return ExitCode::FAILURE;
        }
    };
    println!("axum_server: exporting to {}", collector.describe());

    let outcome = serve(serve_addr).await;
    if let Err(error) = &outcome {
        eprintln!("axum_server: {error}");
    }

    let report = telemetry.shutdown_async().await;
    collector.print_received();
    println!("\n== accounting");
    println!("{report}");
    if report.is_complete() && outcome.is_ok() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

/// Serves until Ctrl-C (`--serve`), or until the smoke requests are done.
async fn serve(addr: Option<SocketAddr>) -> Result<(), String> {
    let listener = tokio::net::TcpListener::bind(addr.unwrap_or(([127, 0, 0, 1], 0).into()))
        .await
        .map_err(|error| format!("cannot listen: {error}"))?;
    let local = listener
        .local_addr()
        .map_err(|error| format!("cannot read the local address: {error}"))?;
    let meter = opentelemetry::global::meter("axum-server");
    let state = AppState {
        client: reqwest::Client::new(),
        base: format!("http://{local}"),
        requests: meter
            .u64_counter("http.server.requests")
            .with_unit("{request}")
            .with_description("Requests served, by route and status.")
            .build(),
        duration: meter
            .f64_histogram("http.server.request.duration")
            .with_unit("s")
            .with_description("Time to serve a request, by route.")
            .build(),
    };
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(
        axum::serve(listener, app(state.clone()))
            .with_graceful_shutdown(async {
                let _ = stopped.await;
            })
            .into_future(),
    );

    let result = if addr.is_some() {
        println!("axum_server: listening on http://{local}; Ctrl-C stops it");
        tokio::signal::ctrl_c()
            .await
            .map_err(|error| format!("cannot wait for Ctrl-C: {error}"))
    } else {
        smoke(&state).await
    };
    let _ = stop.send(());
    match server.await {
        Ok(Ok(())) => result,
        Ok(Err(error)) => Err(format!("the server failed: {error}")),
        Err(error) => Err(format!("the server task failed: {error}")),
    }
}

fn app(state: AppState) -> Router {
    Router::new()
        .route("/checkout/{order}", get(checkout))
        .route("/prices/{order}", get(prices))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            record_metrics,
        ))
        // Outermost: every request runs in a server span that continues the
        // caller's trace (W3C `traceparent`), named after the matched route.
        .layer(HttpServerLayer::new())
        .with_state(state)
}

/// Sends the smoke requests, each from its own client span.
async fn smoke(state: &AppState) -> Result<(), String> {
    for order in 1..=SMOKE_REQUESTS {
        let span = tracing::info_span!(
            "GET /checkout/{order}",
            otel.kind = "client",
            http.request.method = "GET",
        );
        let url = format!("{}/checkout/{order}", state.base);
        let response = async { state.client.get(&url).with_current_context().send().await }
            .instrument(span)
            .await
            .map_err(|error| format!("GET {url}: {error}"))?;
        let status = response.status();
        let body = response.text().await.unwrap_or_default();
        println!("axum_server: GET {url} -> {status}: {body}");
        if !status.is_success() {
            return Err(format!("GET {url} answered {status}"));
        }
    }
    Ok(())
}

/// The front route: prices the order downstream, then answers.
async fn checkout(
    State(state): State<AppState>,
    Path(order): Path<u64>,
) -> Result<String, StatusCode> {
    tracing::info!(order, "checkout started");
    let url = format!("{}/prices/{order}", state.base);
    // The client span of the downstream call; its context goes out in the
    // request's `traceparent`, so the prices route continues this trace.
    let span = tracing::info_span!(
        "GET /prices/{order}",
        otel.kind = "client",
        http.request.method = "GET",
        server.address = %state.base,
    );
    let price = async {
        let response = state
            .client
            .get(&url)
            .with_current_context()
            .send()
            .await
            .map_err(|error| {
                tracing::error!(%error, "prices unreachable");
                StatusCode::BAD_GATEWAY
            })?;
        response.text().await.map_err(|_| StatusCode::BAD_GATEWAY)
    }
    .instrument(span)
    .await?;
    tracing::info!(order, price = %price, "checkout priced");
    Ok(format!("order {order}: {price} EUR"))
}

/// The downstream route.
async fn prices(Path(order): Path<u64>) -> String {
    tokio::time::sleep(Duration::from_millis(2)).await;
    let price = 10 + order * 5;
    tracing::info!(order, price, "price computed");
    price.to_string()
}

/// Counts each request and records its latency, by route and status.
async fn record_metrics(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_owned(), |path| path.as_str().to_owned());
    let started = Instant::now();
    let response = next.run(request).await;
    let status = i64::from(response.status().as_u16());
    state.requests.add(
        1,
        &[
            KeyValue::new("http.route", route.clone()),
            KeyValue::new("http.response.status_code", status),
        ],
    );
    state.duration.record(
        started.elapsed().as_secs_f64(),
        &[KeyValue::new("http.route", route)],
    );
    response
}
