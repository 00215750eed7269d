//! Scenarios 3–6, which measure counts, memory and shutdown behaviour
//! rather than time: each pipeline runs in a child process of this binary
//! (so its peak RSS, `VmHWM`, is its own), the official pipeline and
//! otlpkit's side by side in the same run, and a table is printed.
//!
//! 3. `burst`: 1,000,000 spans (100,000 with `OTLPKIT_BENCH_QUICK=1`) at
//!    default sizes: delivered, dropped, peak memory.
//! 4. `burst_block`: the same burst, otlpkit with the `Block` policy at
//!    default sizes, the official pipeline with a queue big enough to drop
//!    nothing (it has no blocking policy).
//! 5. `collector_down`: 20,000 spans/s for 10 s, the collector down for the
//!    first 3 s (3 s / 1 s down with the quick setting): spans lost.
//! 6. `shutdown_after_burst`: shutdown (5 s) right after two producers each
//!    ended a burst into a queue that holds both; `shutdown_hung`: shutdown (2 s) with a collector
//!    that accepts and never answers. Time taken and what each reports.
//!
//! `cargo bench -p otlpkit-benches --bench scenarios [-- <name filter>]`
#![allow(
    clippy::print_stdout,
    reason = "a table-printing bench binary: printing is its output"
)]

use std::io::{BufRead as _, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use otlpkit_benches::proc::peak_rss;
use otlpkit_benches::{Exporter, Pipeline, Sink, Spec, burst, paced, quick, size};
use otlpkit_testkit::{Fault, Signal};

const JOB_VAR: &str = "OTLPKIT_BENCH_JOB";
const RESULT_PREFIX: &str = "OTLPKIT_RESULT";

/// One scenario: its name, what it shows, and its pipelines.
struct Scenario {
    name: &'static str,
    title: &'static str,
    specs: fn() -> Vec<Spec>,
    run: fn(&Spec) -> Row,
}

/// The measurements of one pipeline in one scenario, in column order.
#[derive(Debug, Default)]
struct Row(Vec<(&'static str, String)>);

impl Row {
    fn new() -> Row {
        Row::default()
    }

    fn insert(&mut self, key: &'static str, value: String) {
        self.0.push((key, value));
    }

    fn get(&self, key: &str) -> Option<&String> {
        self.0.iter().find(|(k, _)| *k == key).map(|(_, v)| v)
    }

    fn keys(&self) -> impl Iterator<Item = &&'static str> {
        self.0.iter().map(|(k, _)| k)
    }

    fn iter(&self) -> impl Iterator<Item = (&&'static str, &String)> {
        self.0.iter().map(|(k, v)| (k, v))
    }

    fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

fn scenarios() -> Vec<Scenario> {
    vec![
        Scenario {
            name: "burst",
            title: "3. burst at default sizes (queue 2048, batch 512, 5 s)",
            specs: || {
                vec![
                    Spec::official(Exporter::OfficialGrpc),
                    Spec::otlpkit(Exporter::OtlpkitGrpc),
                    Spec::official(Exporter::OfficialHttp),
                    Spec::otlpkit(Exporter::OtlpkitHttp),
                ]
            },
            run: run_burst,
        },
        Scenario {
            name: "burst_block",
            title: "4. burst delivered in full: otlpkit `Block` at default sizes vs the official queue sized to hold it",
            specs: || {
                let n = burst_size() as usize;
                vec![
                    Spec::official(Exporter::OfficialGrpc).queue(n),
                    Spec::otlpkit(Exporter::OtlpkitGrpc).blocking(),
                    Spec::official(Exporter::OfficialHttp).queue(n),
                    Spec::otlpkit(Exporter::OtlpkitHttp).blocking(),
                ]
            },
            run: run_burst,
        },
        Scenario {
            name: "collector_down",
            title: "5. collector down at the start of a paced run (20,000 spans/s)",
            specs: || {
                vec![
                    Spec::official(Exporter::OfficialGrpc),
                    Spec::otlpkit(Exporter::OtlpkitGrpc),
                    Spec::otlpkit(Exporter::OtlpkitGrpc).official_retry(),
                    Spec::otlpkit(Exporter::OtlpkitGrpc).blocking(),
                    Spec::otlpkit(Exporter::OtlpkitGrpc).spool(),
                    Spec::official(Exporter::OfficialGrpc).queue(65_536),
                    Spec::otlpkit(Exporter::OtlpkitGrpc).queue(65_536),
                    Spec::otlpkit(Exporter::OtlpkitGrpc)
                        .queue(65_536)
                        .official_retry(),
                ]
            },
            run: run_collector_down,
        },
        Scenario {
            name: "shutdown_after_burst",
            title: "6a. shutdown(5 s) right after a burst from two producers into a queue that holds it",
            specs: || {
                let n = 2 * burst_size() as usize;
                vec![
                    Spec::official(Exporter::OfficialGrpc).queue(n),
                    Spec::otlpkit(Exporter::OtlpkitGrpc).queue(n),
                ]
            },
            run: run_shutdown_after_burst,
        },
        Scenario {
            name: "shutdown_hung",
            title: "6b. shutdown(2 s) with a hung collector (accepts, never answers), 2,000 spans queued",
            specs: || {
                vec![
                    Spec::official(Exporter::OfficialGrpc),
                    Spec::otlpkit(Exporter::OtlpkitGrpc),
                    Spec::official(Exporter::OfficialHttp),
                    Spec::otlpkit(Exporter::OtlpkitHttp),
                ]
            },
            run: run_shutdown_hung,
        },
    ]
}

fn burst_size() -> u64 {
    size(1_000_000, 100_000)
}

fn mib(bytes: Option<u64>) -> String {
    bytes.map_or("?".to_owned(), |b| {
        format!("{:.0}", b as f64 / (1024.0 * 1024.0))
    })
}

fn pct(part: u64, whole: u64) -> String {
    if whole == 0 {
        "-".to_owned()
    } else {
        format!("{:.1}%", part as f64 * 100.0 / whole as f64)
    }
}

/// otlpkit's own account of the drops, `reason n, ...`.
fn drops_of(pipeline: &Pipeline) -> String {
    let Some(handle) = &pipeline.handle else {
        return "(not reported)".to_owned();
    };
    let stats = handle.stats();
    let mut parts: Vec<String> = stats
        .counters
        .drops()
        .map(|(reason, n)| format!("{reason} {n}"))
        .collect();
    if parts.is_empty() {
        parts.push("none".to_owned());
    }
    if stats.counters.spooled > 0 {
        parts.push(format!(
            "(spooled {}, delivered from the spool {})",
            stats.counters.spooled, stats.counters.delivered_from_spool
        ));
    }
    parts.join(", ")
}

fn run_burst(spec: &Spec) -> Row {
    let n = burst_size();
    let sink = Sink::start();
    let pipeline = Pipeline::build(spec, Some(sink.receiver()));
    let start = Instant::now();
    burst(pipeline.tracer(), n);
    let produced_in = start.elapsed();
    let shutdown = pipeline.shutdown(Duration::from_secs(60));
    let delivered = sink.settle(Duration::from_millis(200), Duration::from_secs(10));
    let total = start.elapsed();
    let mut row = Row::new();
    row.insert("produced", n.to_string());
    row.insert("delivered", format!("{delivered} ({})", pct(delivered, n)));
    row.insert("dropped", (n - delivered.min(n)).to_string());
    row.insert("reported drops", drops_of(&pipeline));
    row.insert("burst time", format!("{produced_in:.2?}"));
    row.insert("all settled", format!("{total:.2?}"));
    row.insert("shutdown", shutdown.result);
    row.insert("peak RSS MiB", mib(peak_rss()));
    row
}

fn run_collector_down(spec: &Spec) -> Row {
    let (run, down) = if quick() {
        (Duration::from_secs(3), Duration::from_secs(1))
    } else {
        (Duration::from_secs(10), Duration::from_secs(3))
    };
    let sink = Sink::start();
    sink.receiver().stop();
    let pipeline = Pipeline::build(spec, Some(sink.receiver()));
    let produced = std::thread::scope(|scope| {
        scope.spawn(|| {
            std::thread::sleep(down);
            sink.receiver()
                .restart()
                .expect("the receiver restarts on its ports");
        });
        paced(pipeline.tracer(), 20_000, run)
    });
    let shutdown = pipeline.shutdown(Duration::from_secs(30));
    let delivered = sink.settle(Duration::from_millis(200), Duration::from_secs(10));
    let lost = produced.saturating_sub(delivered);
    let mut row = Row::new();
    row.insert("produced", produced.to_string());
    row.insert("delivered", delivered.to_string());
    row.insert("lost", format!("{lost} ({})", pct(lost, produced)));
    row.insert("reported drops", drops_of(&pipeline));
    row.insert("shutdown", shutdown.result);
    row.insert("peak RSS MiB", mib(peak_rss()));
    row
}

fn run_shutdown_after_burst(spec: &Spec) -> Row {
    let n = 2 * burst_size();
    let sink = Sink::start();
    let pipeline = Pipeline::build(spec, Some(sink.receiver()));
    std::thread::scope(|scope| {
        for _ in 0..2 {
            scope.spawn(|| burst(pipeline.tracer(), n / 2));
        }
    });
    let at_shutdown = sink.delivered();
    let shutdown = pipeline.shutdown(Duration::from_secs(5));
    let at_return = sink.delivered();
    let later = sink.settle(Duration::from_millis(500), Duration::from_secs(20));
    let mut row = Row::new();
    row.insert("produced", n.to_string());
    row.insert("delivered before shutdown", at_shutdown.to_string());
    row.insert("shutdown took", format!("{:.2?}", shutdown.elapsed));
    row.insert("shutdown result", shutdown.result);
    row.insert("delivered when it returned", at_return.to_string());
    row.insert(
        "delivered 20 s later (lost if the process exits)",
        later.to_string(),
    );
    row.insert(
        "reported unsent",
        shutdown
            .unsent
            .map_or("(not reported)".to_owned(), |u| u.to_string()),
    );
    row.insert("reported drops", drops_of(&pipeline));
    row
}

fn run_shutdown_hung(spec: &Spec) -> Row {
    let n = 2_000;
    let sink = Sink::start();
    sink.receiver().push_faults(
        Signal::Traces,
        Fault::delay(Duration::from_secs(120)),
        1_000,
    );
    let pipeline = Pipeline::build(spec, Some(sink.receiver()));
    burst(pipeline.tracer(), n);
    let shutdown = pipeline.shutdown(Duration::from_secs(2));
    let mut row = Row::new();
    row.insert("queued", n.to_string());
    row.insert("shutdown took", format!("{:.2?}", shutdown.elapsed));
    row.insert("shutdown result", shutdown.result);
    row.insert(
        "reported unsent",
        shutdown
            .unsent
            .map_or("(not reported)".to_owned(), |u| u.to_string()),
    );
    row.insert("reported drops", drops_of(&pipeline));
    if let Some(handle) = &pipeline.handle {
        let stats = handle.stats();
        row.insert(
            "accounted when it returned",
            format!(
                "{} of {}",
                stats.exported() + stats.dropped_total(),
                stats.received()
            ),
        );
    }
    row
}

/// Runs one job in this (child) process and prints its row.
fn child(job: &str) {
    let Some((name, index)) = job.split_once(':') else {
        return;
    };
    let Some(scenario) = scenarios().into_iter().find(|s| s.name == name) else {
        return;
    };
    let Some(spec) = index
        .parse::<usize>()
        .ok()
        .and_then(|i| (scenario.specs)().into_iter().nth(i))
    else {
        return;
    };
    let row = (scenario.run)(&spec);
    let fields: Vec<String> = row.iter().map(|(k, v)| format!("{k}={v}")).collect();
    println!("{RESULT_PREFIX}\t{}", fields.join("\t"));
}

/// Runs one job in a child process and parses its row.
fn spawn(job: &str) -> Result<Row, String> {
    let exe = std::env::current_exe().map_err(|e| e.to_string())?;
    let mut child = Command::new(exe)
        .env(JOB_VAR, job)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .map_err(|e| e.to_string())?;
    let stdout = child.stdout.take().ok_or("no stdout")?;
    let mut row = Row::new();
    for line in BufReader::new(stdout).lines().map_while(Result::ok) {
        let Some(rest) = line.strip_prefix(RESULT_PREFIX) else {
            continue;
        };
        for field in rest.split('\t').filter(|f| !f.is_empty()) {
            if let Some((key, value)) = field.split_once('=') {
                let key: &'static str = Box::leak(key.to_owned().into_boxed_str());
                row.insert(key, value.to_owned());
            }
        }
    }
    let status = child.wait().map_err(|e| e.to_string())?;
    if !status.success() || row.is_empty() {
        return Err(format!("child {job} failed: {status}"));
    }
    Ok(row)
}

fn print_table(title: &str, rows: &[(String, Result<Row, String>)]) {
    println!("\n### {title}\n");
    let mut columns: Vec<&'static str> = Vec::new();
    for (_, row) in rows {
        if let Ok(row) = row {
            for key in row.keys() {
                if !columns.contains(key) {
                    columns.push(key);
                }
            }
        }
    }
    println!("| pipeline | {} |", columns.join(" | "));
    println!("|---|{}", "---|".repeat(columns.len()));
    for (label, row) in rows {
        match row {
            Ok(row) => {
                let cells: Vec<&str> = columns
                    .iter()
                    .map(|c| row.get(c).map_or("", String::as_str))
                    .collect();
                println!("| {label} | {} |", cells.join(" | "));
            }
            Err(error) => println!("| {label} | {error} |"),
        }
    }
}

fn main() {
    if let Ok(job) = std::env::var(JOB_VAR) {
        child(&job);
        return;
    }
    // `cargo bench` passes `--bench`; anything else not starting with `-` is
    // a filter on scenario names.
    let filters: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with('-'))
        .collect();
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    println!(
        "otlpkit comparative scenarios ({} mode, {cores} cores)",
        if quick() { "quick" } else { "full" }
    );
    for scenario in scenarios() {
        if !filters.is_empty() && !filters.iter().any(|f| scenario.name.contains(f.as_str())) {
            continue;
        }
        let rows: Vec<(String, Result<Row, String>)> = (scenario.specs)()
            .iter()
            .enumerate()
            .map(|(i, spec)| (spec.label(), spawn(&format!("{}:{i}", scenario.name))))
            .collect();
        print_table(scenario.title, &rows);
    }
}
