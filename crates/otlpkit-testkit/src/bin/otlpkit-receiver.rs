//! `otlpkit-receiver`: the testkit's OTLP receiver as a standalone program.
//!
//! Listens for OTLP/gRPC and OTLP/HTTP (protobuf and JSON) and prints one summary per request
//! (signal, protocol, item counts, answer), followed by the resources and the span tree,
//! metric lines or log lines. With `--ui`, also serves a live web page of the recent traces
//! (waterfalls), log records and metrics. Stops cleanly on Ctrl-C.
//!
//! Bounded by construction: it keeps no request once printed, the page keeps the most
//! recent telemetry within `--retain-*` limits, requests being read and decoded share an
//! in-flight budget, and connections are capped and timed out. With the default flags it
//! stays under about 100 MB of memory whatever it is sent.
//!
//! ```text
//! otlpkit-receiver [--grpc 127.0.0.1:4317] [--http 127.0.0.1:4318] [--ui [127.0.0.1:4320]]
//!                  [--brief | --quiet] [--limit 100] [--hide-otlpkit-metrics] ...
//! ```

use std::io::Write as _;
use std::net::SocketAddr;
use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;
use otlpkit_testkit::{Receiver, RetentionLimits, Summary};

const MIB: usize = 1024 * 1024;

/// Receive OTLP traces, metrics and logs, print what arrives, and show it on a web page.
#[derive(Debug, Parser)]
#[command(name = "otlpkit-receiver", version)]
struct Args {
    /// Address of the OTLP/gRPC listener.
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:4317")]
    grpc: SocketAddr,
    /// Address of the OTLP/HTTP listener.
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:4318")]
    http: SocketAddr,
    /// Serve the live web page on ADDR (127.0.0.1:4320 when given without a value).
    #[arg(long, value_name = "ADDR", num_args = 0..=1, default_missing_value = "127.0.0.1:4320")]
    ui: Option<SocketAddr>,
    /// Print only the first summary line of each request.
    #[arg(long, conflicts_with = "quiet")]
    brief: bool,
    /// Print nothing per request (with --ui: look at the page instead).
    #[arg(long)]
    quiet: bool,
    /// Print at most N spans, metrics or log records per request.
    #[arg(long, value_name = "N", default_value_t = 100)]
    limit: usize,
    /// Leave out otlpkit's own metrics (names starting with `otlpkit.`).
    #[arg(long)]
    hide_otlpkit_metrics: bool,
    /// Largest request body, before and after decompression, in MiB.
    #[arg(long, value_name = "MIB", default_value_t = 32)]
    max_body_mib: usize,
    /// Memory all requests being read and decoded may hold together, in MiB.
    #[arg(long, value_name = "MIB", default_value_t = 64)]
    in_flight_mib: usize,
    /// Memory the web page's store may keep, in MiB.
    #[arg(long, value_name = "MIB", default_value_t = 16)]
    retain_mib: usize,
    /// Traces the web page keeps (the most recent ones).
    #[arg(long, value_name = "N", default_value_t = 1000)]
    retain_traces: usize,
    /// Spans kept per trace on the web page.
    #[arg(long, value_name = "N", default_value_t = 10_000)]
    retain_spans_per_trace: usize,
    /// Log records the web page keeps.
    #[arg(long, value_name = "N", default_value_t = 10_000)]
    retain_logs: usize,
    /// Metric points the web page keeps, over all series.
    #[arg(long, value_name = "N", default_value_t = 20_000)]
    retain_points: usize,
    /// Seconds a request body may take to arrive.
    #[arg(long, value_name = "SECS", default_value_t = 30)]
    body_timeout: u64,
    /// Seconds a connection may stay open without a request in progress.
    #[arg(long, value_name = "SECS", default_value_t = 60)]
    idle_timeout: u64,
    /// Most open connections per listener.
    #[arg(long, value_name = "N", default_value_t = 128)]
    max_connections: usize,
}

/// Writes to stdout, ignoring a closed pipe (the reader went away; nothing to report to).
fn emit(text: &str) {
    let mut out = std::io::stdout().lock();
    let _ = out.write_all(text.as_bytes());
    let _ = out.flush();
}

fn main() -> ExitCode {
    let args = Args::parse();
    let (brief, quiet, limit, hide) = (
        args.brief,
        args.quiet,
        args.limit,
        args.hide_otlpkit_metrics,
    );
    let started = Receiver::builder()
        .grpc_addr(args.grpc)
        .http_addr(args.http)
        .keep_requests(false)
        .max_body_size(args.max_body_mib.saturating_mul(MIB))
        .in_flight_budget(args.in_flight_mib.saturating_mul(MIB))
        .body_timeout(Duration::from_secs(args.body_timeout.max(1)))
        .idle_timeout(Duration::from_secs(args.idle_timeout.max(1)))
        .max_connections(args.max_connections.max(1))
        .on_request(move |request| {
            if quiet {
                return;
            }
            let mut summary = Summary::new(request).limit(limit);
            if hide {
                summary = summary.hide_metrics("otlpkit.");
                if !summary.shows_anything() {
                    return;
                }
            }
            if brief {
                summary = summary.brief();
            }
            emit(&summary.to_string());
        })
        .start();
    let receiver = match started {
        Ok(receiver) => receiver,
        Err(err) => {
            eprintln!("otlpkit-receiver: {err}");
            return ExitCode::FAILURE;
        }
    };
    emit(&format!(
        "otlpkit-receiver listening: grpc {} http {}\n",
        receiver.grpc_endpoint(),
        receiver.http_endpoint()
    ));
    let _ui = match args.ui {
        None => None,
        Some(addr) => {
            let limits = RetentionLimits::default()
                .with_traces(args.retain_traces)
                .with_spans_per_trace(args.retain_spans_per_trace)
                .with_log_records(args.retain_logs)
                .with_metric_points(args.retain_points)
                .with_bytes(args.retain_mib.saturating_mul(MIB));
            match receiver.serve_ui(addr, limits) {
                Ok(ui) => {
                    emit(&format!("otlpkit-receiver web page: {}\n", ui.url()));
                    Some(ui)
                }
                Err(err) => {
                    eprintln!("otlpkit-receiver: {err}");
                    return ExitCode::FAILURE;
                }
            }
        }
    };

    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(err) => {
            eprintln!("otlpkit-receiver: cannot build a runtime to wait for Ctrl-C: {err}");
            return ExitCode::FAILURE;
        }
    };
    if let Err(err) = runtime.block_on(tokio::signal::ctrl_c()) {
        eprintln!("otlpkit-receiver: cannot listen for Ctrl-C: {err}");
        return ExitCode::FAILURE;
    }
    let requests = receiver.request_count();
    let (idle, refused) = (
        receiver.connections_closed_idle(),
        receiver.connections_refused(),
    );
    drop(receiver);
    emit(&format!(
        "otlpkit-receiver: stopped after {requests} requests; connections closed: {idle} \
         idle or with headers too slow (--idle-timeout), {refused} over --max-connections\n"
    ));
    ExitCode::SUCCESS
}
