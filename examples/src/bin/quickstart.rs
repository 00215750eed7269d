//! otlpkit in one screen: `init()`, a small workload that crosses every
//! boundary, and the proof that it all arrived.
//!
//! ```text
//! cargo run -p otlpkit-examples --bin quickstart
//! cargo run -p otlpkit-examples --bin quickstart -- --ui   # and look at the page
//! ```
//!
//! Without `OTEL_EXPORTER_OTLP_ENDPOINT`, it starts the embedded OTLP
//! receiver, exports traces, metrics and logs to it, and prints the trace it
//! received as an indented tree with durations, the log records with their
//! spans, the metric values, and the accounting: produced, delivered,
//! dropped. With the variable set, it exports to that collector instead
//! (every other `OTEL_*` variable applies too).
//!
//! With `--ui` (or `--ui ADDR`, default `127.0.0.1:4320`), the embedded
//! receiver also serves its live web page: the quickstart prints the page's
//! URL first, runs as usual, then keeps the page up until Ctrl-C.
//!
//! The workload: an `async fn` checkout that prices items from a stream,
//! renders a receipt on `spawn_blocking`, audits on a plain thread, and
//! charges a card whose first attempt fails (an error recorded on its span).
#![allow(clippy::print_stdout, reason = "an example prints what it did")]

use std::process::ExitCode;
use std::time::Duration;

use futures_util::StreamExt as _;
use opentelemetry::KeyValue;
use opentelemetry::metrics::{Counter, Histogram};
use otlpkit::bridge::{FutureContextExt as _, StreamContextExt as _};
use otlpkit::core::Protocol;
use otlpkit::opentelemetry;
use otlpkit_examples::Collector;
use otlpkit_testkit::{RetentionLimits, Ui};
use tracing::Instrument as _;

/// Where `--ui` serves the page unless an address follows it.
const UI_ADDR: &str = "127.0.0.1:4320";

/// A card payment that did not go through.
#[derive(Debug, thiserror::Error)]
#[error("card declined for order {order}: {reason}")]
struct PaymentError {
    order: u64,
    reason: &'static str,
}

struct Instruments {
    orders: Counter<u64>,
    amount: Histogram<f64>,
}

#[tokio::main]
async fn main() -> ExitCode {
    let collector = match Collector::from_env() {
        Ok(collector) => collector,
        Err(error) => {
            eprintln!("quickstart: cannot start the embedded receiver: {error}");
            return ExitCode::FAILURE;
        }
    };
    let ui = match ui_addr() {
        Ok(None) => None,
        Ok(Some(addr)) => match serve_ui(&collector, addr) {
            Ok(ui) => ui,
            Err(message) => {
                eprintln!("quickstart: {message}");
                return ExitCode::FAILURE;
            }
        },
        Err(message) => {
            eprintln!("quickstart: {message}");
            return ExitCode::FAILURE;
        }
    };
    let mut builder = collector.configure(otlpkit::builder(), Protocol::HttpProtobuf);
    if std::env::var_os("OTEL_SERVICE_NAME").is_none() {
        builder = builder.with_service_name("quickstart");
    }
    let telemetry = match builder.init() {
        Ok(telemetry) => telemetry,
        Err(error) => {
            eprintln!("quickstart: {error}");
            return ExitCode::FAILURE;
        }
    };
    println!(
        "quickstart: exporting traces, metrics and logs to {}",
        collector.describe()
    );

    let meter = opentelemetry::global::meter("quickstart");
    let instruments = Instruments {
        orders: meter
            .u64_counter("orders.processed")
            .with_unit("{order}")
            .build(),
        amount: meter
            .f64_histogram("orders.amount")
            .with_unit("EUR")
            .build(),
    };
    // One trace: a root span around both orders.
    async {
        for order in [1001, 1002] {
            match checkout(order, &instruments).await {
                Ok(total) => tracing::info!(order, total, "order complete"),
                Err(error) => tracing::error!(order, %error, "order failed"),
            }
        }
    }
    .instrument(tracing::info_span!("place orders"))
    .await;

    let report = telemetry.shutdown_async().await;
    collector.print_received();
    println!("\n== accounting");
    println!("{report}");
    if let Some(ui) = &ui {
        println!(
            "\nquickstart: the trace, logs and metrics are on {} (Ctrl-C to stop)",
            ui.url()
        );
        if let Err(error) = tokio::signal::ctrl_c().await {
            eprintln!("quickstart: cannot wait for Ctrl-C: {error}");
        }
    }
    if report.is_complete() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

/// The address of `--ui [ADDR]` or `--ui=ADDR`, if given.
fn ui_addr() -> Result<Option<std::net::SocketAddr>, String> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let value = match args.as_slice() {
        [] => return Ok(None),
        [flag] if flag == "--ui" => UI_ADDR,
        [flag, addr] if flag == "--ui" => addr.as_str(),
        [flag] if flag.starts_with("--ui=") => &flag["--ui=".len()..],
        _ => {
            return Err(format!(
                "unexpected arguments {args:?}; the only option is --ui [ADDR]"
            ));
        }
    };
    value
        .parse()
        .map(Some)
        .map_err(|error| format!("--ui {value:?} is not an address like {UI_ADDR}: {error}"))
}

/// Starts the embedded receiver's page and prints its URL first thing.
fn serve_ui(collector: &Collector, addr: std::net::SocketAddr) -> Result<Option<Ui>, String> {
    let Some(receiver) = collector.receiver() else {
        println!(
            "quickstart: --ui shows the embedded receiver's page; with {} set, look at \
             your collector instead",
            otlpkit_examples::ENDPOINT_VAR
        );
        return Ok(None);
    };
    let ui = receiver
        .serve_ui(addr, RetentionLimits::default())
        .map_err(|error| format!("cannot serve the page: {error}"))?;
    println!("quickstart: watch it live on {}", ui.url());
    Ok(Some(ui))
}

/// One order, across every boundary: a stream, `spawn_blocking`, a thread,
/// `tokio::spawn`, and a failing then succeeding call.
#[tracing::instrument(name = "checkout", skip(instruments))]
async fn checkout(order: u64, instruments: &Instruments) -> Result<f64, PaymentError> {
    let total = price_items(order).await;

    // Blocking work keeps the span: `otlpkit::bridge::spawn_blocking`.
    let receipt = otlpkit::bridge::spawn_blocking(move || {
        let _span = tracing::info_span!("render receipt").entered();
        std::thread::sleep(Duration::from_millis(3));
        format!("order {order}: {total:.2} EUR")
    })
    .await
    .unwrap_or_default();

    // So does a plain thread: `otlpkit::bridge::thread::spawn`.
    let audit = otlpkit::bridge::thread::spawn(move || {
        let _span = tracing::info_span!("audit").entered();
        tracing::info!(receipt = %receipt, "receipt archived");
    });
    let _ = audit.join();

    // And a task: `.in_current_context()`.
    let charged = tokio::spawn(charge_with_retry(order, total).in_current_context())
        .await
        .unwrap_or(Err(PaymentError {
            order,
            reason: "the payment task panicked",
        }));
    if charged.is_ok() {
        instruments
            .orders
            .add(1, &[KeyValue::new("outcome", "paid")]);
        instruments.amount.record(total, &[]);
    }
    charged.map(|()| total)
}

/// Prices the items of `order` from a stream, one child span per item.
#[tracing::instrument(name = "price items")]
async fn price_items(order: u64) -> f64 {
    // Each item is looked up inside its own span, a child of `price items`.
    let prices = futures_util::stream::iter([("book", 12.5), ("pen", 1.75), ("lamp", 30.0)])
        .then(|(name, price)| async move {
            tokio::time::sleep(Duration::from_millis(2)).await;
            tracing::debug!(name, price, "priced");
            price
        })
        .with_item_spans(|index| tracing::info_span!("price item", index))
        .collect::<Vec<f64>>()
        .await;
    prices.iter().sum()
}

/// The first attempt is declined; the retry goes through.
async fn charge_with_retry(order: u64, total: f64) -> Result<(), PaymentError> {
    for attempt in 1..=2 {
        let span = tracing::info_span!("charge card", attempt, total);
        let result = async {
            tokio::time::sleep(Duration::from_millis(5)).await;
            if attempt == 1 {
                Err(PaymentError {
                    order,
                    reason: "issuer timeout",
                })
            } else {
                Ok(())
            }
        }
        .instrument(span.clone())
        .await;
        match result {
            Ok(()) => return Ok(()),
            Err(error) => {
                // Status `Error` and an `exception` event on the span, as the
                // semantic conventions say.
                otlpkit::tracing::record_error(&span, &error);
                span.in_scope(|| tracing::warn!(%error, "charge failed, retrying"));
            }
        }
    }
    Err(PaymentError {
        order,
        reason: "declined after retries",
    })
}
