//! The disk spool end to end through the facade: a collector outage under a
//! steady stream loses nothing and keeps the order; a process killed with
//! `SIGKILL` at random points leaves a spool the next process delivers,
//! with accounting that adds up across both; a second owner, a full spool
//! and a read-only directory are clear errors or counted drops.
//!
//! Scenarios that must be their own process (killed, locked out, run with
//! fewer privileges) run this binary again with `--child <scenario>`
//! (`harness = false`), as `tests/init.rs` does.

use std::collections::HashSet;
use std::io::{BufRead as _, BufReader, Write as _};
use std::path::Path;
use std::process::{Child, Command, ExitCode, Stdio};
use std::sync::{Mutex, PoisonError, mpsc};
use std::time::{Duration, Instant};

use opentelemetry::trace::{Tracer as _, TracerProvider as _};
use otlpkit::core::stats::DropReason;
use otlpkit::core::{BatchConfig, Compression, MapEnv, Protocol, Signal};
use otlpkit::{InitError, OtlpGuard, ShutdownReport};
use otlpkit_fixtures::harness::{self, Test};
use otlpkit_fixtures::process;
use otlpkit_testkit::{Fault, Receiver, RefusingPort};

/// Longest wait for a child or for data: a hang guard, never a measurement.
const WAIT: Duration = Duration::from_secs(90);

const TESTS: &[Test] = &[
    (
        "an_outage_under_a_steady_stream_loses_nothing_and_keeps_the_order",
        an_outage_under_a_steady_stream_loses_nothing_and_keeps_the_order,
    ),
    (
        "processes_killed_at_random_points_leave_everything_they_wrote",
        processes_killed_at_random_points_leave_everything_they_wrote,
    ),
    (
        "a_batch_taken_above_the_high_water_mark_goes_to_the_spool",
        a_batch_taken_above_the_high_water_mark_goes_to_the_spool,
    ),
    (
        "all_three_signals_wait_in_the_spool_for_the_next_pipeline",
        all_three_signals_wait_in_the_spool_for_the_next_pipeline,
    ),
    (
        "sends_cut_short_by_the_shutdown_deadline_wait_in_the_spool",
        sends_cut_short_by_the_shutdown_deadline_wait_in_the_spool,
    ),
    (
        "a_second_process_is_told_the_directory_and_the_owner",
        a_second_process_is_told_the_directory_and_the_owner,
    ),
    (
        "a_full_spool_counts_its_drops_and_says_so",
        a_full_spool_counts_its_drops_and_says_so,
    ),
    (
        "a_read_only_directory_is_an_error_or_counted_drops",
        a_read_only_directory_is_an_error_or_counted_drops,
    ),
];

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if let Some(position) = args.iter().position(|a| a == "--child") {
        let scenario = args.get(position + 1).map(String::as_str).unwrap_or("");
        return child::run(scenario, &args[position + 2..]);
    }
    harness::run(TESTS, &args)
}

// ----- shared helpers ------------------------------------------------------------------------

/// A traces-only pipeline with a spool in `dir`, installed nowhere global.
fn pipeline(
    endpoint: &str,
    protocol: Protocol,
    dir: &Path,
    configure: impl FnOnce(otlpkit::Builder) -> otlpkit::Builder,
) -> Result<OtlpGuard, InitError> {
    let builder = otlpkit::builder()
        .without_tracing_subscriber()
        .with_exporters(Signal::Metrics, [])
        .with_exporters(Signal::Logs, [])
        .with_self_metrics(false)
        .with_protocol(protocol)
        .with_endpoint(endpoint)
        .with_timeout(Some(Duration::from_secs(2)))
        .with_spool_dir(dir)
        .with_batch_config(
            BatchConfig::spans()
                .with_schedule_delay(Duration::from_millis(50))
                .with_max_queue_size(2048)
                .with_max_export_batch_size(512),
        );
    configure(builder).build_with_env(&MapEnv::new())
}

/// Ends `count` spans named `s<seq>`, `seq` counting on from `first`.
fn produce(guard: &OtlpGuard, first: u64, count: u64) {
    let tracer = guard
        .tracer_provider()
        .expect("traces are exported")
        .tracer("spool-test");
    for seq in first..first + count {
        drop(tracer.start(format!("s{seq}")));
    }
}

/// The sequence numbers of the spans the receiver got, in arrival order.
fn received_seqs(receiver: &Receiver) -> Vec<u64> {
    receiver
        .spans()
        .iter()
        .filter_map(|span| span.name().strip_prefix('s')?.parse().ok())
        .collect()
}

/// Waits until the receiver holds at least `count` spans.
fn wait_for_spans(receiver: &Receiver, count: usize) {
    let deadline = Instant::now() + WAIT;
    while receiver.span_count() < count {
        assert!(
            Instant::now() < deadline,
            "only {} of {count} spans arrived within {WAIT:?}",
            receiver.span_count()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// `found + produced = delivered + dropped + left` for traces.
fn assert_adds_up(report: &ShutdownReport) {
    let s = Signal::Traces;
    assert_eq!(
        report.found_in_spool(s) + report.produced(s),
        report.delivered(s) + report.dropped(s) + report.left_in_spool(s),
        "{report}"
    );
}

fn segment_bytes(dir: &Path) -> u64 {
    let lane = dir.join("traces");
    std::fs::read_dir(lane)
        .map(|entries| {
            entries
                .filter_map(Result::ok)
                .filter(|e| e.file_name().to_string_lossy().ends_with(".seg"))
                .filter_map(|e| e.metadata().ok())
                .map(|m| m.len())
                .sum()
        })
        .unwrap_or(0)
}

/// A child process running `scenario`, its stdout read line by line.
struct Running {
    child: Child,
    lines: mpsc::Receiver<String>,
    stderr: std::thread::JoinHandle<String>,
}

fn spawn_child(scenario: &str, args: &[&str], privileged: bool) -> Running {
    let exe = std::env::current_exe().unwrap();
    let mut command = if privileged {
        Command::new(&exe)
    } else {
        // Root ignores directory permissions: drop the capabilities that
        // let it, so that a read-only directory is read-only.
        let mut command = Command::new("setpriv");
        command
            .args([
                "--bounding-set=-dac_override,-dac_read_search,-fowner",
                "--",
            ])
            .arg(&exe);
        command
    };
    command
        .args(["--child", scenario])
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    process::scrub_env(&mut command, &["OTEL_", "OTLPKIT_"], &[]);
    let mut child = command.spawn().unwrap();
    let stdout = child.stdout.take().unwrap();
    let stderr = child.stderr.take().unwrap();
    let (tx, lines) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let stderr = process::read_to_end_on_a_thread(stderr);
    Running {
        child,
        lines,
        stderr,
    }
}

impl Running {
    /// Waits for the child to exit; returns its stdout lines and stderr.
    fn finish(mut self) -> (bool, Vec<String>, String) {
        let Some(status) = process::wait_or_kill(&mut self.child, WAIT, Duration::from_millis(10))
        else {
            panic!("child did not exit within {WAIT:?}");
        };
        let stderr = self.stderr.join().unwrap();
        // Until the reader thread saw the end of the pipe: the child has
        // exited, but its last lines may still be on their way.
        let lines: Vec<String> = self.lines.iter().collect();
        (status.success(), lines, stderr)
    }

    /// `SIGKILL`, then the lines printed before it.
    fn kill(mut self) -> Vec<String> {
        self.child.kill().unwrap();
        let _ = self.child.wait();
        let _ = self.stderr.join();
        self.lines.iter().collect()
    }
}

/// The value of the last `key value` line.
fn last_value(lines: &[String], key: &str) -> Option<u64> {
    lines
        .iter()
        .rev()
        .find_map(|line| line.strip_prefix(key)?.trim().parse().ok())
}

/// Whether this process can write into a directory without write
/// permission (root): then the read-only scenario runs with fewer
/// capabilities.
fn ignores_permissions() -> bool {
    use std::os::unix::fs::PermissionsExt as _;
    let dir = tempfile::tempdir().unwrap();
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o555)).unwrap();
    let writable = std::fs::write(dir.path().join("probe"), b"x").is_ok();
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    writable
}

// ----- the tests -----------------------------------------------------------------------------

/// The collector goes away for a while under a steady stream (a scaled-down
/// version of 10 s at 20,000 spans/s: more than the queue holds arrives
/// during the outage), then comes back.
fn an_outage_under_a_steady_stream_loses_nothing_and_keeps_the_order() {
    const TOTAL: u64 = 24_000;
    const PER_TICK: u64 = 120;
    let receiver = Receiver::start().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let guard = pipeline(&receiver.grpc_endpoint(), Protocol::Grpc, dir.path(), |b| b).unwrap();
    let ticks = TOTAL / PER_TICK;
    for tick in 0..ticks {
        // Down for the middle half of the stream: ~12,000 spans, six times
        // what the queue holds.
        if tick == ticks / 4 {
            receiver.stop();
        }
        if tick == ticks * 3 / 4 {
            receiver.restart().unwrap();
        }
        produce(&guard, tick * PER_TICK, PER_TICK);
        std::thread::sleep(Duration::from_millis(5));
    }
    wait_for_spans(&receiver, TOTAL as usize);
    let report = guard.shutdown_within(Duration::from_secs(30));
    // A request the collector took just before it stopped may have lost
    // its answer: that batch is spooled and sent again (the at-least-once
    // window, at most the one batch in flight at the stop).
    let seqs = received_seqs(&receiver);
    let mut seen = HashSet::new();
    let first_arrivals: Vec<u64> = seqs.iter().copied().filter(|s| seen.insert(*s)).collect();
    let duplicates = seqs.len() - first_arrivals.len();
    assert!(
        duplicates <= 512,
        "{duplicates} spans arrived twice: more than the batch in flight at the stop"
    );
    // In order of spooling: strictly increasing, so no loss.
    assert_eq!(first_arrivals.len() as u64, TOTAL, "{report}");
    assert!(
        first_arrivals.windows(2).all(|pair| pair[0] < pair[1]),
        "out of order around {:?}",
        first_arrivals.windows(2).find(|pair| pair[0] >= pair[1])
    );
    let traces = report.stats.signal(Signal::Traces);
    assert_eq!(traces.dropped_total(), 0, "{report}");
    assert_eq!(report.dropped_for(Signal::Traces, DropReason::QueueFull), 0);
    assert!(
        traces.spooled > 0,
        "the outage never reached the spool: {report}"
    );
    assert!(traces.failed_attempts > 0, "{report}");
    assert_eq!(traces.delivered_from_spool, traces.spooled, "{report}");
    assert_eq!(report.delivered(Signal::Traces), TOTAL);
    assert_eq!(report.left_in_spool(Signal::Traces), 0);
    assert_adds_up(&report);
    assert_eq!(segment_bytes(dir.path()), 0, "drained segments are deleted");
}

/// Writers killed with `SIGKILL` at random points while their collector is
/// down, then the next process on the same directory delivers all they
/// wrote, once; then a process killed while it drains, and the next one
/// finishes with at most one batch sent twice.
fn processes_killed_at_random_points_leave_everything_they_wrote() {
    for round in 0..3 {
        let dir = tempfile::tempdir().unwrap();
        let dir_arg = dir.path().to_str().unwrap().to_owned();
        let dead = RefusingPort::new().unwrap();
        let writer = spawn_child("writer", &[&dir_arg, &dead.endpoint()], true);
        // Wait for the first report, then kill at a random moment: between
        // batches or in the middle of a write.
        let first = writer.lines.recv_timeout(WAIT).expect("the writer reports");
        assert!(first.starts_with("spooled"), "{first}");
        std::thread::sleep(Duration::from_millis(fastrand::u64(50..800)));
        let mut lines = vec![first];
        lines.extend(writer.kill());
        let spooled = last_value(&lines, "spooled").unwrap();
        let produced_at_most = last_value(&lines, "produced").unwrap_or(0) + 2_000;

        let receiver = Receiver::start().unwrap();
        let guard = pipeline(
            &receiver.http_endpoint(),
            Protocol::HttpProtobuf,
            dir.path(),
            |b| b.with_compression(Compression::Gzip),
        )
        .unwrap();
        let found = guard.stats().signal(Signal::Traces).spool_found;
        let corrupt = guard
            .stats()
            .signal(Signal::Traces)
            .dropped(DropReason::SpoolCorrupt);
        assert!(
            found >= spooled,
            "round {round}: {found} found, {spooled} were reported written"
        );
        assert!(found <= produced_at_most);
        wait_for_spans(&receiver, (found - corrupt) as usize);
        let report = guard.shutdown_within(Duration::from_secs(30));
        let seqs = received_seqs(&receiver);
        let distinct: HashSet<u64> = seqs.iter().copied().collect();
        assert_eq!(distinct.len(), seqs.len(), "round {round}: duplicates");
        // A prefix of what the writer produced, in order: only the torn
        // record at the very end can be missing.
        assert!(
            seqs.iter().copied().eq(0..seqs.len() as u64),
            "round {round}"
        );
        assert_eq!(
            report.delivered_from_spool(Signal::Traces),
            seqs.len() as u64
        );
        assert_eq!(report.found_in_spool(Signal::Traces), found);
        assert_eq!(report.left_in_spool(Signal::Traces), 0, "{report}");
        assert_adds_up(&report);
    }

    // Killed while draining: the next process sends the rest, and at most
    // the batch in flight at the kill twice (the at-least-once window).
    let dir = tempfile::tempdir().unwrap();
    let dir_arg = dir.path().to_str().unwrap().to_owned();
    let dead = RefusingPort::new().unwrap();
    let writer = spawn_child("writer", &[&dir_arg, &dead.endpoint(), "20"], true);
    let (success, lines, stderr) = writer.finish();
    assert!(success, "{stderr}");
    let spooled = last_value(&lines, "spooled").unwrap();
    assert_eq!(last_value(&lines, "left").unwrap(), spooled, "{lines:?}");
    let receiver = Receiver::start().unwrap();
    // Slow answers, so that the kill lands in the middle of the drain.
    receiver.push_faults(
        otlpkit_testkit::Signal::Traces,
        Fault::delay(Duration::from_millis(40)),
        10_000,
    );
    let drainer = spawn_child("drainer", &[&dir_arg, &receiver.http_endpoint()], true);
    let deadline = Instant::now() + WAIT;
    let at = fastrand::u64(500..(spooled / 2).max(600));
    while (receiver.span_count() as u64) < at {
        assert!(Instant::now() < deadline, "the drain never started");
        std::thread::sleep(Duration::from_millis(5));
    }
    drainer.kill();
    let before_kill = receiver.span_count() as u64;
    receiver.clear_faults();
    let guard = pipeline(
        &receiver.http_endpoint(),
        Protocol::HttpProtobuf,
        dir.path(),
        |b| b.with_compression(Compression::Gzip),
    )
    .unwrap();
    let found = guard.stats().signal(Signal::Traces).spool_found;
    assert!(found + before_kill >= spooled);
    wait_for_spans(&receiver, (found + before_kill) as usize);
    let report = guard.shutdown_within(Duration::from_secs(30));
    let seqs = received_seqs(&receiver);
    let distinct: HashSet<u64> = seqs.iter().copied().collect();
    assert_eq!(distinct, (0..spooled).collect(), "everything arrives");
    let duplicates = seqs.len() - distinct.len();
    assert!(
        duplicates <= 512,
        "{duplicates} spans sent twice: more than the one batch in flight"
    );
    assert_eq!(report.left_in_spool(Signal::Traces), 0);
    assert_adds_up(&report);
}

/// A batch the batch processor takes while its queue is still more than
/// half full goes to the spool instead of holding the queue up with a
/// send, and so does every batch behind it while the spool holds
/// something; the collector gets them all, in order, once each. The
/// collector holds its first request until the queue behind it is filled,
/// so the outcome does not depend on timing.
fn a_batch_taken_above_the_high_water_mark_goes_to_the_spool() {
    // The queue's capacity: the queue alone could hold it all, so any
    // spooling is the high-water mark's doing.
    const TOTAL: u64 = 2048;
    let (arrived_tx, arrived) = mpsc::sync_channel::<()>(1);
    let (release, release_rx) = mpsc::sync_channel::<()>(1);
    let held = Mutex::new(Some((arrived_tx, release_rx)));
    let receiver = Receiver::builder()
        .on_request(move |_| {
            let first = held.lock().unwrap_or_else(PoisonError::into_inner).take();
            if let Some((arrived, release)) = first {
                let _ = arrived.send(());
                // A hang guard: the test releases it.
                let _ = release.recv_timeout(WAIT);
            }
        })
        .start()
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    // No attempt runs out of time while the first request is held.
    let guard = pipeline(&receiver.grpc_endpoint(), Protocol::Grpc, dir.path(), |b| {
        b.with_timeout(Some(WAIT))
    })
    .unwrap();
    produce(&guard, 0, 512);
    arrived
        .recv_timeout(WAIT)
        .expect("the first batch reaches the collector");
    let sent_first = receiver.span_count() as u64;
    assert!((1..=512).contains(&sent_first), "{sent_first}");
    // At least 1,536 queued behind the held batch: the next batch taken
    // leaves at least 1,024 (half the queue) behind it.
    produce(&guard, 512, TOTAL - 512);
    release.send(()).unwrap();
    wait_for_spans(&receiver, TOTAL as usize);
    let report = guard.shutdown_within(Duration::from_secs(30));
    let traces = report.stats.signal(Signal::Traces);
    assert_eq!(traces.dropped_total(), 0, "{report}");
    assert!(
        traces.spooled >= 512,
        "the batch taken above the high-water mark was not spooled: {report}"
    );
    assert_eq!(traces.delivered_from_spool, traces.spooled, "{report}");
    assert_eq!(traces.exported + traces.spooled, TOTAL, "{report}");
    assert_eq!(
        traces.failed_attempts, 0,
        "the collector never failed: {report}"
    );
    assert_eq!(report.delivered(Signal::Traces), TOTAL, "{report}");
    assert_eq!(report.left_in_spool(Signal::Traces), 0, "{report}");
    let seqs = received_seqs(&receiver);
    assert!(seqs.iter().copied().eq(0..TOTAL), "in order, each once");
    assert_adds_up(&report);
}

/// Spans, log records and metric data points, spooled while the collector
/// is down, arrive from the next pipeline on the same directory.
fn all_three_signals_wait_in_the_spool_for_the_next_pipeline() {
    use opentelemetry::logs::{LogRecord as _, Logger as _, LoggerProvider as _};
    use opentelemetry::metrics::MeterProvider as _;
    let dir = tempfile::tempdir().unwrap();
    let build = |endpoint: &str| {
        otlpkit::builder()
            .without_tracing_subscriber()
            .with_self_metrics(false)
            .with_protocol(Protocol::Grpc)
            .with_endpoint(endpoint)
            .with_timeout(Some(Duration::from_secs(2)))
            .with_spool_dir(dir.path())
            .with_metric_interval(Duration::from_secs(3600))
            .build_with_env(&MapEnv::new())
            .unwrap()
    };
    let dead = RefusingPort::new().unwrap();
    let first = build(&dead.endpoint());
    produce(&first, 0, 300);
    let logger = first.logger_provider().unwrap().logger("spool-test");
    for n in 0..40 {
        let mut record = logger.create_log_record();
        record.set_body(format!("record {n}").into());
        logger.emit(record);
    }
    let counter = first
        .meter_provider()
        .unwrap()
        .meter("spool-test")
        .u64_counter("spooled.points")
        .build();
    counter.add(7, &[opentelemetry::KeyValue::new("k", "a")]);
    counter.add(7, &[opentelemetry::KeyValue::new("k", "b")]);
    let report = first.shutdown_within(Duration::from_secs(10));
    let left = |signal| report.left_in_spool(signal);
    assert_eq!(left(Signal::Traces), 300, "{report}");
    assert_eq!(left(Signal::Logs), 40, "{report}");
    assert_eq!(left(Signal::Metrics), 2, "{report}");
    for signal in Signal::ALL {
        assert_eq!(report.dropped(*signal), 0, "{report}");
    }

    let receiver = Receiver::start().unwrap();
    let second = build(&receiver.grpc_endpoint());
    wait_for_spans(&receiver, 300);
    receiver
        .wait_for_logs(40, WAIT)
        .unwrap_or_else(|error| panic!("{error}"));
    receiver
        .wait_for_data_points(2, WAIT)
        .unwrap_or_else(|error| panic!("{error}"));
    let report = second.shutdown_within(Duration::from_secs(10));
    for (signal, count) in [
        (Signal::Traces, 300),
        (Signal::Logs, 40),
        (Signal::Metrics, 2),
    ] {
        assert_eq!(report.found_in_spool(signal), count, "{signal}: {report}");
        assert_eq!(
            report.delivered_from_spool(signal),
            count,
            "{signal}: {report}"
        );
        assert_eq!(report.left_in_spool(signal), 0, "{signal}: {report}");
    }
    assert_eq!(receiver.span_count(), 300);
    assert_eq!(receiver.log_count(), 40);
    let points = receiver
        .latest_metric("spooled.points")
        .expect("the counter arrived");
    assert_eq!(points.point_count(), 2);
}

/// A collector that takes longer to answer than the shutdown allows: what
/// is still being sent at the deadline goes to the spool, not to the drop
/// counters.
fn sends_cut_short_by_the_shutdown_deadline_wait_in_the_spool() {
    let receiver = Receiver::start().unwrap();
    receiver.push_faults(
        otlpkit_testkit::Signal::Traces,
        Fault::delay(Duration::from_secs(20)),
        10,
    );
    let dir = tempfile::tempdir().unwrap();
    let guard = pipeline(&receiver.grpc_endpoint(), Protocol::Grpc, dir.path(), |b| {
        b.with_timeout(Some(Duration::from_secs(15)))
    })
    .unwrap();
    produce(&guard, 0, 100);
    let report = guard.shutdown_within(Duration::from_millis(800));
    assert_eq!(report.dropped(Signal::Traces), 0, "{report}");
    assert_eq!(report.left_in_spool(Signal::Traces), 100, "{report}");
    assert_adds_up(&report);
    receiver.clear_faults();
}

fn a_second_process_is_told_the_directory_and_the_owner() {
    let dir = tempfile::tempdir().unwrap();
    let dead = RefusingPort::new().unwrap();
    let guard = pipeline(&dead.endpoint(), Protocol::Grpc, dir.path(), |b| b).unwrap();
    let dir_arg = dir.path().to_str().unwrap().to_owned();
    let (success, lines, stderr) = spawn_child("second_owner", &[&dir_arg], true).finish();
    assert!(success, "{lines:?} {stderr}");
    let error = lines.join("\n");
    let canonical = dir.path().canonicalize().unwrap();
    assert!(error.contains("cannot open the otlpkit spool"), "{error}");
    assert!(error.contains(&canonical.display().to_string()), "{error}");
    assert!(
        error.contains(&format!("process {}", std::process::id())),
        "{error}"
    );
    drop(guard);
}

fn a_full_spool_counts_its_drops_and_says_so() {
    let dir = tempfile::tempdir().unwrap();
    let dir_arg = dir.path().to_str().unwrap().to_owned();
    let dead = RefusingPort::new().unwrap();
    let (success, lines, stderr) =
        spawn_child("full", &[&dir_arg, &dead.endpoint()], true).finish();
    assert!(success, "{lines:?}\n{stderr}");
    let dropped = last_value(&lines, "dropped").unwrap();
    let left = last_value(&lines, "left").unwrap();
    let produced = last_value(&lines, "produced").unwrap();
    assert!(dropped > 0 && left > 0, "{lines:?}");
    assert_eq!(produced, dropped + left, "{lines:?}");
    assert!(stderr.contains("the spool is full"), "{stderr}");
    assert!(
        segment_bytes(dir.path()) <= child::FULL_CAP,
        "the cap holds"
    );
}

fn a_read_only_directory_is_an_error_or_counted_drops() {
    use std::os::unix::fs::PermissionsExt as _;
    let dir = tempfile::tempdir().unwrap();
    let read_only = dir.path().join("read-only");
    std::fs::create_dir(&read_only).unwrap();
    std::fs::set_permissions(&read_only, std::fs::Permissions::from_mode(0o555)).unwrap();
    let writable = dir.path().join("writable");
    let privileged = !ignores_permissions();
    let dead = RefusingPort::new().unwrap();
    let (success, lines, stderr) = spawn_child(
        "read_only",
        &[
            read_only.to_str().unwrap(),
            writable.to_str().unwrap(),
            &dead.endpoint(),
        ],
        privileged,
    )
    .finish();
    std::fs::set_permissions(&read_only, std::fs::Permissions::from_mode(0o755)).unwrap();
    assert!(success, "{lines:?}\n{stderr}");
    let error = lines
        .iter()
        .find(|line| line.starts_with("error"))
        .unwrap_or_else(|| panic!("{lines:?}"));
    assert!(error.contains(&read_only.display().to_string()), "{error}");
    assert!(error.contains("ermission denied"), "{error}");
    let dropped = last_value(&lines, "dropped").unwrap();
    let left = last_value(&lines, "left").unwrap();
    let produced = last_value(&lines, "produced").unwrap();
    assert!(dropped > 0, "{lines:?}");
    assert_eq!(produced, dropped + left, "{lines:?}");
    assert!(stderr.contains("cannot be spooled"), "{stderr}");
}

/// The child side.
mod child {
    use super::*;

    /// The cap of the `full` scenario.
    pub(super) const FULL_CAP: u64 = 192 << 10;

    pub(super) fn run(scenario: &str, args: &[String]) -> ExitCode {
        let arg = |n: usize| args.get(n).map(String::as_str).unwrap_or("");
        match scenario {
            "writer" => writer(Path::new(arg(0)), arg(1), arg(2).parse().ok()),
            "drainer" => drainer(Path::new(arg(0)), arg(1)),
            "second_owner" => second_owner(Path::new(arg(0))),
            "full" => full(Path::new(arg(0)), arg(1)),
            "read_only" => read_only(Path::new(arg(0)), Path::new(arg(1)), arg(2)),
            other => {
                eprintln!("unknown scenario {other}");
                ExitCode::FAILURE
            }
        }
    }

    fn say(line: impl std::fmt::Display) {
        let mut out = std::io::stdout();
        let _ = writeln!(out, "{line}");
        let _ = out.flush();
    }

    fn http_pipeline(endpoint: &str, dir: &Path) -> OtlpGuard {
        pipeline(endpoint, Protocol::HttpProtobuf, dir, |b| {
            b.with_compression(Compression::Gzip)
                .with_timeout(Some(Duration::from_millis(500)))
        })
        .unwrap()
    }

    /// Produces batches of 500 spans to a dead collector, and after each
    /// one says how many are in the spool; `rounds` batches, or until
    /// killed.
    fn writer(dir: &Path, endpoint: &str, rounds: Option<u64>) -> ExitCode {
        let guard = http_pipeline(endpoint, dir);
        let mut seq = 0;
        for _ in 0..rounds.unwrap_or(u64::MAX) {
            produce(&guard, seq, 500);
            seq += 500;
            let _ = guard.flush_within(Duration::from_secs(10));
            let traces = guard.stats().signal(Signal::Traces);
            say(format!("spooled {}", traces.spooled));
            say(format!("produced {seq}"));
        }
        let report = guard.shutdown_within(Duration::from_secs(5));
        say(format!("left {}", report.left_in_spool(Signal::Traces)));
        ExitCode::SUCCESS
    }

    /// Drains the spool until killed.
    fn drainer(dir: &Path, endpoint: &str) -> ExitCode {
        let guard = http_pipeline(endpoint, dir);
        std::thread::sleep(WAIT);
        drop(guard);
        ExitCode::SUCCESS
    }

    fn second_owner(dir: &Path) -> ExitCode {
        let dead = RefusingPort::new().unwrap();
        match pipeline(&dead.endpoint(), Protocol::Grpc, dir, |b| b) {
            Ok(_) => {
                say("opened a spool another process owns");
                ExitCode::FAILURE
            }
            Err(error) => {
                say(&error);
                if matches!(error, InitError::Spool(_)) {
                    ExitCode::SUCCESS
                } else {
                    ExitCode::FAILURE
                }
            }
        }
    }

    fn report(report: &ShutdownReport) {
        let s = Signal::Traces;
        say(format!("produced {}", report.produced(s)));
        say(format!("dropped {}", report.dropped(s)));
        say(format!("left {}", report.left_in_spool(s)));
        say(report);
    }

    /// A small cap and a dead collector: the spool fills, then batches are
    /// sent without it and dropped, counted.
    fn full(dir: &Path, endpoint: &str) -> ExitCode {
        let guard = pipeline(endpoint, Protocol::HttpProtobuf, dir, |b| {
            b.with_spool_max_bytes(FULL_CAP)
                .with_timeout(Some(Duration::from_millis(200)))
        })
        .unwrap();
        for round in 0..20 {
            produce(&guard, round * 1000, 1000);
            let _ = guard.flush_within(Duration::from_secs(10));
        }
        report(&guard.shutdown_within(Duration::from_secs(5)));
        ExitCode::SUCCESS
    }

    /// A read-only directory cannot be opened; a lane directory that
    /// becomes read-only makes batches go without the spool, counted.
    fn read_only(read_only: &Path, writable: &Path, endpoint: &str) -> ExitCode {
        use std::os::unix::fs::PermissionsExt as _;
        match pipeline(endpoint, Protocol::Grpc, &read_only.join("spool"), |b| b) {
            Ok(_) => {
                say("opened a spool in a read-only directory");
                return ExitCode::FAILURE;
            }
            Err(error) => say(format!("error {error}")),
        }
        let guard = pipeline(endpoint, Protocol::HttpProtobuf, writable, |b| {
            b.with_spool_max_bytes(1 << 20)
                .with_timeout(Some(Duration::from_millis(200)))
        })
        .unwrap();
        produce(&guard, 0, 500);
        let _ = guard.flush_within(Duration::from_secs(10));
        let lane = writable.join("traces");
        std::fs::set_permissions(&lane, std::fs::Permissions::from_mode(0o555)).unwrap();
        // Enough to need new segment files, which cannot be created.
        for round in 1..12 {
            produce(&guard, round * 1000, 1000);
            let _ = guard.flush_within(Duration::from_secs(10));
        }
        let report_now = guard.shutdown_within(Duration::from_secs(5));
        let _ = std::fs::set_permissions(&lane, std::fs::Permissions::from_mode(0o755));
        report(&report_now);
        ExitCode::SUCCESS
    }
}
