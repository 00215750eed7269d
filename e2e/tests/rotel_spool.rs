//! The disk spool against a real rotel collector: rotel is stopped, a
//! program that spools its spans exits, rotel starts again on the same
//! ports, the program runs again on the same spool directory, and rotel's
//! report shows the first run's spans.
//!
//! This test starts and stops its own rotel (the binary `cargo xtask e2e`
//! installed, named by `OTLPKIT_E2E_ROTEL_BIN`), on ports of its own with a
//! report of its own, so the suite's shared collector is never stopped.
//! Whenever rotel is not running, the test holds both ports itself
//! (`RefusingPort`), so that nobody else can take them and the run made
//! while rotel is down is refused. It lets them go only once rotel's command
//! is ready to spawn, since rotel must bind them itself: another socket
//! binding one between that release and rotel's own bind (the time rotel
//! takes to start) is the window left. Each
//! run of the program is a process of its own (`harness = false`): this
//! binary starts itself again with `--child <run>`.
//!
//! Needs `cargo xtask e2e`; without it the test fails with instructions.

use std::fs::File;
use std::io::Write as _;
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitCode, Stdio};
use std::time::{Duration, Instant};

use otlpkit_e2e::Rotel;
use otlpkit_fixtures::harness::{self, Test};
use otlpkit_fixtures::process;
use otlpkit_testkit::RefusingPort;

/// The variable `cargo xtask e2e` sets to the `rotel-agent` binary.
const ROTEL_BIN_VAR: &str = "OTLPKIT_E2E_ROTEL_BIN";
/// How long rotel may take to start or report, and a run to finish.
const WAIT: Duration = Duration::from_secs(60);
/// Spans the first run creates (one trace).
const SPANS: usize = 25;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if let Some(position) = args.iter().position(|a| a == "--child") {
        return child(args.get(position + 1).map_or("", String::as_str));
    }
    let tests: &[Test] = &[(
        "a_program_that_exited_while_rotel_was_down_is_delivered_by_the_next_run",
        a_program_that_exited_while_rotel_was_down_is_delivered_by_the_next_run,
    )];
    harness::run(tests, &args)
}

/// A rotel of this test's own.
struct OwnRotel {
    child: Child,
}

impl OwnRotel {
    /// Starts rotel on `grpc` and `http`, letting the test's hold on them
    /// (`held`) go only once the command is ready to spawn.
    fn start(
        binary: &Path,
        (grpc, http): (u16, u16),
        held: Vec<RefusingPort>,
        report: &Path,
        run_dir: &Path,
    ) -> OwnRotel {
        let log = File::options()
            .create(true)
            .append(true)
            .open(report)
            .unwrap();
        let mut command = Command::new(binary);
        command
            .arg("start")
            .args(["--exporter", "blackhole"])
            .args(["--debug-log", "traces"])
            .args(["--debug-log-verbosity", "detailed"])
            .arg("--otlp-grpc-endpoint")
            .arg(format!("127.0.0.1:{grpc}"))
            .arg("--otlp-http-endpoint")
            .arg(format!("127.0.0.1:{http}"))
            .arg("--pid-file")
            .arg(run_dir.join("rotel-agent.pid"))
            .arg("--log-file")
            .arg(run_dir.join("rotel-agent.log"))
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log);
        for (key, _) in std::env::vars_os() {
            if key.to_string_lossy().starts_with("ROTEL_") {
                command.env_remove(key);
            }
        }
        // From here until rotel has bound them, any socket may take the ports.
        drop(held);
        let mut child = command.spawn().unwrap();
        let deadline = Instant::now() + WAIT;
        while TcpStream::connect(("127.0.0.1", grpc)).is_err() {
            assert!(
                child.try_wait().unwrap().is_none(),
                "rotel exited during startup"
            );
            assert!(Instant::now() < deadline, "rotel did not start in {WAIT:?}");
            std::thread::sleep(Duration::from_millis(50));
        }
        OwnRotel { child }
    }

    fn stop(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for OwnRotel {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Holds the ports of a rotel that has just stopped, until it starts again.
/// Best effort: if a port cannot be held (another socket took it, or a
/// connection to it lingers in `TIME_WAIT`), the test goes on without that
/// hold, as it did before there was one, and says so.
fn hold_again(ports: &[u16]) -> Vec<RefusingPort> {
    ports
        .iter()
        .filter_map(|&port| {
            RefusingPort::at(port)
                .inspect_err(|error| eprintln!("rotel is down, its port stays free: {error}"))
                .ok()
        })
        .collect()
}

/// Runs `run` as its own process against `grpc`, spooling into `spool`;
/// returns its standard output.
fn run(run: &str, grpc: u16, spool: &Path) -> String {
    let mut command = process::child_of_this_test(run);
    process::scrub_env(&mut command, &["OTEL_", "OTLPKIT_SPOOL"], &["RUST_LOG"]);
    command
        .env("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc")
        .env(
            "OTEL_EXPORTER_OTLP_ENDPOINT",
            format!("http://127.0.0.1:{grpc}"),
        )
        .env("OTEL_EXPORTER_OTLP_TIMEOUT", "2000")
        .env("OTEL_METRICS_EXPORTER", "none")
        .env("OTEL_LOGS_EXPORTER", "none")
        .env("OTEL_SERVICE_NAME", "otlpkit-e2e-spool")
        .env("OTLPKIT_SPOOL_DIR", spool);
    let output = process::run_to_end(
        command,
        &format!("`{run}`"),
        WAIT,
        Duration::from_millis(20),
    );
    assert!(
        output.success,
        "`{run}` failed:\n{}\n{}",
        output.stdout, output.stderr
    );
    output.stdout
}

fn value(out: &str, key: &str) -> String {
    out.lines()
        .find_map(|line| line.strip_prefix(key))
        .unwrap_or_else(|| panic!("no `{key}` in:\n{out}"))
        .trim()
        .to_owned()
}

fn a_program_that_exited_while_rotel_was_down_is_delivered_by_the_next_run() {
    let binary = PathBuf::from(std::env::var(ROTEL_BIN_VAR).unwrap_or_else(|_| {
        panic!("{ROTEL_BIN_VAR} is not set: run the end-to-end suite with `cargo xtask e2e`")
    }));
    let work = std::env::temp_dir().join(format!("otlpkit-e2e-spool-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&work);
    std::fs::create_dir_all(&work).unwrap();
    let spool = work.join("spool");
    let report = work.join("rotel-report.log");
    File::create(&report).unwrap();
    let held = vec![RefusingPort::new().unwrap(), RefusingPort::new().unwrap()];
    let ports = (held[0].port(), held[1].port());
    let (grpc, http) = ports;

    // rotel runs, then stops; the test holds its ports while it is down.
    OwnRotel::start(&binary, ports, held, &report, &work).stop();
    let held = hold_again(&[grpc, http]);
    // The first run exits while it is down: its spans stay in the spool.
    let first = run("first", grpc, &spool);
    let trace_id = value(&first, "trace");
    assert_eq!(value(&first, "left"), SPANS.to_string(), "{first}");
    // rotel is back on the same ports; the program runs again.
    let rotel = OwnRotel::start(&binary, ports, held, &report, &work);
    let second = run("second", grpc, &spool);
    assert_eq!(value(&second, "found"), SPANS.to_string(), "{second}");
    assert_eq!(value(&second, "left"), "0", "{second}");

    let view = Rotel::from_lookup(|name| match name {
        "OTLPKIT_E2E_ROTEL_GRPC_ENDPOINT" => Some(format!("http://127.0.0.1:{grpc}")),
        "OTLPKIT_E2E_ROTEL_HTTP_ENDPOINT" => Some(format!("http://127.0.0.1:{http}")),
        "OTLPKIT_E2E_ROTEL_LOG" => Some(report.display().to_string()),
        _ => None,
    })
    .unwrap();
    let spans = view
        .wait_for_spans(&trace_id, SPANS, WAIT)
        .unwrap_or_else(|error| panic!("{error}"));
    assert_eq!(spans.len(), SPANS);
    let mut names: Vec<&str> = spans.iter().map(|s| s.name.as_str()).collect();
    names.sort_unstable();
    names.dedup();
    assert_eq!(names.len(), SPANS, "each span once: {names:?}");
    assert!(names.iter().all(|name| name.starts_with("spooled.")));
    rotel.stop();
    let _ = std::fs::remove_dir_all(&work);
}

/// One run of the program: `first` creates a trace and exits; `second` only
/// starts and shuts down, delivering what the spool holds.
fn child(run: &str) -> ExitCode {
    use opentelemetry::trace::{TraceContextExt as _, Tracer as _, TracerProvider as _};
    let guard = otlpkit::builder()
        .without_tracing_subscriber()
        .build()
        .unwrap();
    let mut out = std::io::stdout();
    if run == "first" {
        let tracer = guard.tracer_provider().unwrap().tracer("otlpkit-e2e-spool");
        tracer.in_span("spooled.0", |context| {
            let trace_id = context.span().span_context().trace_id();
            let _ = writeln!(out, "trace {trace_id}");
            for n in 1..SPANS {
                drop(tracer.start(format!("spooled.{n}")));
            }
        });
    }
    let report = guard.shutdown_within(Duration::from_secs(20));
    let _ = writeln!(
        out,
        "found {}",
        report.found_in_spool(otlpkit::core::Signal::Traces)
    );
    let _ = writeln!(
        out,
        "left {}",
        report.left_in_spool(otlpkit::core::Signal::Traces)
    );
    let _ = writeln!(out, "{report}");
    ExitCode::SUCCESS
}
