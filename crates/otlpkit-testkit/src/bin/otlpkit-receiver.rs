//! `otlpkit-receiver`: the testkit's OTLP receiver as a standalone program.
//!
//! Listens for OTLP/gRPC and OTLP/HTTP (protobuf and JSON) and prints one summary per request
//! (signal, protocol, item counts, answer), followed by the span tree, metric lines or log
//! lines. Stops cleanly on Ctrl-C.
//!
//! ```text
//! otlpkit-receiver [--grpc 127.0.0.1:4317] [--http 127.0.0.1:4318] [--brief]
//! ```

use std::io::Write as _;
use std::net::SocketAddr;
use std::process::ExitCode;

use clap::Parser;
use otlpkit_testkit::{Receiver, Summary};

/// Receive OTLP traces, metrics and logs and print what arrives.
#[derive(Debug, Parser)]
#[command(name = "otlpkit-receiver", version)]
struct Args {
    /// Address of the OTLP/gRPC listener.
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:4317")]
    grpc: SocketAddr,
    /// Address of the OTLP/HTTP listener.
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:4318")]
    http: SocketAddr,
    /// Print only the first summary line of each request.
    #[arg(long)]
    brief: bool,
}

/// Writes to stdout, ignoring a closed pipe (the reader went away; nothing to report to).
fn emit(text: &str) {
    let mut out = std::io::stdout().lock();
    let _ = out.write_all(text.as_bytes());
    let _ = out.flush();
}

fn main() -> ExitCode {
    let args = Args::parse();
    let brief = args.brief;
    let started = Receiver::builder()
        .grpc_addr(args.grpc)
        .http_addr(args.http)
        .on_request(move |request| {
            let text = Summary::new(request).to_string();
            if brief {
                let first = text.lines().next().unwrap_or_default();
                emit(&format!("{first}\n"));
            } else {
                emit(&text);
            }
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
    drop(receiver);
    emit(&format!(
        "otlpkit-receiver: stopped after {requests} requests\n"
    ));
    ExitCode::SUCCESS
}
