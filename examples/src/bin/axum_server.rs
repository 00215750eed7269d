//! An axum HTTP service instrumented as the semantic conventions describe:
//! server spans that continue the caller's trace (`HttpServerLayer`), client
//! spans for reqwest calls that carry the trace on (`send_traced`), the
//! `http.server.request.duration` and `http.client.request.duration`
//! histograms, and a business counter of its own.
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
use std::time::Duration;

use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::get;
use opentelemetry::KeyValue;
use opentelemetry::metrics::Counter;
use otlpkit::core::Protocol;
use otlpkit::opentelemetry;
use otlpkit::tracing::client::RequestBuilderExt as _;
use otlpkit::tracing::server::HttpServerLayer;
use otlpkit_examples::Collector;

/// How many requests the smoke mode sends itself.
const SMOKE_REQUESTS: u64 = 3;

#[derive(Clone)]
struct AppState {
    client: reqwest::Client,
    base: String,
    checkouts: Counter<u64>,
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
    // Created after `init()`, so the counter reaches the installed provider.
    let state = AppState {
        client: reqwest::Client::new(),
        base: format!("http://{local}"),
        checkouts: opentelemetry::global::meter("axum-server")
            .u64_counter("shop.checkouts")
            .with_unit("{checkout}")
            .with_description("Orders checked out.")
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
        // Every request runs in a server span that continues the caller's
        // trace (W3C `traceparent`), named after the matched route, and its
        // duration goes to `http.server.request.duration`.
        .layer(HttpServerLayer::new())
        .with_state(state)
}

/// Sends the smoke requests, each in its own client span (`send_traced`).
async fn smoke(state: &AppState) -> Result<(), String> {
    for order in 1..=SMOKE_REQUESTS {
        let url = format!("{}/checkout/{order}", state.base);
        let response = state
            .client
            .get(&url)
            .send_traced()
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
    // A client span for the downstream call, child of this request's server
    // span; its context goes out in the request's `traceparent`, so the
    // prices route continues this trace.
    let response = state
        .client
        .get(&url)
        .send_traced()
        .await
        .map_err(|error| {
            tracing::error!(%error, "prices unreachable");
            StatusCode::BAD_GATEWAY
        })?;
    let price = response.text().await.map_err(|_| StatusCode::BAD_GATEWAY)?;
    tracing::info!(order, price = %price, "checkout priced");
    state
        .checkouts
        .add(1, &[KeyValue::new("outcome", "priced")]);
    Ok(format!("order {order}: {price} EUR"))
}

/// The downstream route.
async fn prices(Path(order): Path<u64>) -> String {
    tokio::time::sleep(Duration::from_millis(2)).await;
    let price = 10 + order * 5;
    tracing::info!(order, price, "price computed");
    price.to_string()
}
