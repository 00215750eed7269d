//! A synchronous command-line tool: no async runtime anywhere in this file,
//! threads and blocking file I/O, all telemetry exported over OTLP/gRPC
//! unless `OTEL_EXPORTER_OTLP_PROTOCOL` says otherwise.
//!
//! ```text
//! cargo run -p otlpkit-examples --bin sync_cli
//! OTEL_EXPORTER_OTLP_ENDPOINT=http://127.0.0.1:4317 cargo run -p otlpkit-examples --bin sync_cli
//! OTEL_EXPORTER_OTLP_ENDPOINT=http://127.0.0.1:4318 OTEL_EXPORTER_OTLP_PROTOCOL=http/protobuf \
//!     cargo run -p otlpkit-examples --bin sync_cli
//! ```
//!
//! It writes a few files into a temporary directory, indexes them on scoped
//! threads (one span per file, each a child of the command's span thanks to
//! `otlpkit::bridge::thread::scope`), fails on one entry that is a directory
//! (the error is recorded on its span), and prints a summary. Without
//! `OTEL_EXPORTER_OTLP_ENDPOINT` it exports to the embedded receiver and
//! prints what arrived; with it, the variable names the collector's
//! endpoint for the protocol in use (gRPC by default).
#![allow(clippy::print_stdout, reason = "an example prints what it did")]

use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use opentelemetry::KeyValue;
use otlpkit::core::Protocol;
use otlpkit::opentelemetry;
use otlpkit_examples::Collector;

/// The files the tool writes, then indexes.
const FILES: &[(&str, &str)] = &[
    ("alpha.txt", "the quick brown fox"),
    ("beta.txt", "jumps over the lazy dog"),
    ("gamma.txt", "otlpkit exports over grpc from plain threads"),
];

fn main() -> ExitCode {
    let collector = match Collector::from_env() {
        Ok(collector) => collector,
        Err(error) => {
            eprintln!("sync_cli: cannot start the embedded receiver: {error}");
            return ExitCode::FAILURE;
        }
    };
    // gRPC unless OTEL_EXPORTER_OTLP_PROTOCOL names another protocol.
    let mut builder = collector.configure(otlpkit::builder(), Protocol::Grpc);
    if std::env::var_os("OTEL_SERVICE_NAME").is_none() {
        builder = builder.with_service_name("sync-cli");
    }
    let telemetry = match builder.init() {
        Ok(telemetry) => telemetry,
        Err(error) => {
            eprintln!("sync_cli: {error}");
            return ExitCode::FAILURE;
        }
    };
    println!("sync_cli: exporting to {}", collector.describe());

    let outcome = tracing::info_span!("index directory").in_scope(run);
    match &outcome {
        Ok(summary) => println!("sync_cli: {summary}"),
        Err(error) => eprintln!("sync_cli: {error}"),
    }

    let report = telemetry.shutdown();
    collector.print_received();
    println!("\n== accounting");
    println!("{report}");
    if report.is_complete() && outcome.is_ok() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

/// Writes the files, indexes them in parallel, and summarises.
fn run() -> io::Result<String> {
    let dir = tempfile::tempdir()?;
    write_files(dir.path())?;
    let mut entries: Vec<PathBuf> = fs::read_dir(dir.path())?
        .map(|entry| entry.map(|e| e.path()))
        .collect::<io::Result<_>>()?;
    entries.sort();

    let meter = opentelemetry::global::meter("sync-cli");
    let indexed = meter
        .u64_counter("files.indexed")
        .with_unit("{file}")
        .build();
    let words = meter
        .u64_counter("words.indexed")
        .with_unit("{word}")
        .build();

    // Scoped threads that carry the current span: each thread's span is a
    // child of `index directory`.
    let results: Vec<(PathBuf, io::Result<usize>)> = otlpkit::bridge::thread::scope(|scope| {
        let handles: Vec<_> = entries
            .iter()
            .map(|path| {
                let (indexed, words) = (indexed.clone(), words.clone());
                scope.spawn(move || {
                    let result = index_file(path);
                    if let Ok(count) = &result {
                        indexed.add(1, &[KeyValue::new("outcome", "ok")]);
                        words.add(*count as u64, &[]);
                    }
                    (path.clone(), result)
                })
            })
            .collect();
        handles
            .into_iter()
            .filter_map(|handle| handle.join().ok())
            .collect()
    });

    let _span = tracing::info_span!("summarize").entered();
    let total: usize = results.iter().filter_map(|(_, r)| r.as_ref().ok()).sum();
    let failed = results.iter().filter(|(_, r)| r.is_err()).count();
    tracing::info!(
        files = results.len(),
        failed,
        words = total,
        "index complete"
    );
    Ok(format!(
        "indexed {} entries: {total} words, {failed} failed",
        results.len()
    ))
}

fn write_files(dir: &Path) -> io::Result<()> {
    let _span = tracing::info_span!("write files", count = FILES.len()).entered();
    for (name, text) in FILES {
        fs::write(dir.join(name), text)?;
    }
    // Not a file: reading it fails, and the failure is recorded.
    fs::create_dir(dir.join("delta.txt"))?;
    tracing::info!(dir = %dir.display(), "files written");
    Ok(())
}

/// Reads one file (blocking I/O) and counts its words.
fn index_file(path: &Path) -> io::Result<usize> {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let span = tracing::info_span!("index file", file = %name);
    let _entered = span.enter();
    match fs::read_to_string(path) {
        Ok(text) => {
            let count = text.split_whitespace().count();
            tracing::info!(file = %name, words = count, "indexed");
            Ok(count)
        }
        Err(error) => {
            otlpkit::tracing::record_error(&span, &error);
            tracing::warn!(file = %name, %error, "cannot index");
            Err(error)
        }
    }
}
