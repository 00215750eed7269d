//! Running a program (most often the test binary itself, with
//! `--child <scenario>`) as a child process with a clean environment,
//! under a hang guard.

use std::io::Read;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// The test binary itself, started again with `--child <scenario>`: what a
/// `harness = false` test runs a scenario that needs a process of its own
/// with (global state, the real environment, a kill).
pub fn child_of_this_test(scenario: &str) -> Command {
    let exe = std::env::current_exe().expect("the path of the test binary");
    let mut command = Command::new(exe);
    command.args(["--child", scenario]);
    command
}

/// Removes from `command`'s environment every variable of this process
/// whose name starts with one of `prefixes` or equals one of `names`, so
/// that the child sees only the variables the test gives it.
pub fn scrub_env(command: &mut Command, prefixes: &[&str], names: &[&str]) {
    for (key, _) in std::env::vars_os() {
        let text = key.to_string_lossy();
        if prefixes.iter().any(|p| text.starts_with(p)) || names.iter().any(|n| text == *n) {
            command.env_remove(&key);
        }
    }
}

/// Reads all of `pipe` on a thread of its own, so that a child never
/// blocks on a full pipe while the test waits for it.
pub fn read_to_end_on_a_thread(mut pipe: impl Read + Send + 'static) -> JoinHandle<String> {
    std::thread::spawn(move || {
        let mut text = String::new();
        let _ = pipe.read_to_string(&mut text);
        text
    })
}

/// Waits for `child` to exit, polling every `poll`; past `wait` it is
/// killed and `None` returned. `wait` is a hang guard, not a measurement.
pub fn wait_or_kill(child: &mut Child, wait: Duration, poll: Duration) -> Option<ExitStatus> {
    let deadline = Instant::now() + wait;
    loop {
        if let Some(status) = child.try_wait().expect("the child's status") {
            return Some(status);
        }
        if Instant::now() >= deadline {
            let _ = child.kill();
            let _ = child.wait();
            return None;
        }
        std::thread::sleep(poll);
    }
}

/// What a child process printed and how it ended.
pub struct ChildOutput {
    /// Whether it exited with success.
    pub success: bool,
    /// Its standard output.
    pub stdout: String,
    /// Its standard error.
    pub stderr: String,
}

impl std::fmt::Debug for ChildOutput {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "success: {}\n--- stdout ---\n{}\n--- stderr ---\n{}",
            self.success, self.stdout, self.stderr
        )
    }
}

/// Runs `command` with no standard input, collects both outputs, and waits
/// for it to exit, polling every `poll`. Panics, naming it `label` and
/// quoting its standard error, if it has not exited within `wait` (a hang
/// guard).
pub fn run_to_end(
    mut command: Command,
    label: &str,
    wait: Duration,
    poll: Duration,
) -> ChildOutput {
    command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = command
        .spawn()
        .unwrap_or_else(|error| panic!("{label}: cannot start: {error}"));
    let out = read_to_end_on_a_thread(child.stdout.take().expect("a piped stdout"));
    let err = read_to_end_on_a_thread(child.stderr.take().expect("a piped stderr"));
    let Some(status) = wait_or_kill(&mut child, wait, poll) else {
        panic!(
            "{label} did not exit within {wait:?}; stderr:\n{}",
            err.join().unwrap_or_default()
        );
    };
    ChildOutput {
        success: status.success(),
        stdout: out.join().unwrap_or_default(),
        stderr: err.join().unwrap_or_default(),
    }
}
