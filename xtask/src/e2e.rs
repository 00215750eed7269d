//! `cargo xtask e2e`: the end-to-end suite against the rotel collector.
//!
//! 1. `install rotel`: installs the pinned rotel ([`ROTEL_VERSION`]) from PyPI
//!    into `.tools/rotel-<version>/` when its `rotel/rotel-agent` binary is
//!    absent (`python3 -m pip install --target ...`). A missing pip or binary
//!    is an error naming what failed; outside CI it also prints the install
//!    command to run by hand.
//! 2. `start rotel`: starts `rotel-agent start` in the foreground as a child
//!    process, listening only on two free `127.0.0.1` ports, exporting to
//!    `blackhole` and printing a detailed debug log of every span, metric and
//!    log record it receives. Its stdout and stderr (the debug log, "rotel's
//!    report") go to `.tools/e2e/rotel-report.log`; its own log and pid files
//!    are kept in `.tools/e2e/` as well. The command waits until both ports
//!    accept connections.
//! 3. `test`: runs the test targets of `otlpkit-e2e` (`rotel`: the official
//!    exporter; `transports`: otlpkit's gRPC and HTTP exporters, 3 signals ×
//!    3 protocols; `setups`: `otlpkit::init` from sync and async programs;
//!    `rotel_spool`: the disk spool across a rotel restart, with a rotel of its own
//!    started from the binary named by `OTLPKIT_E2E_ROTEL_BIN`;
//!    `rotel_support`: the tests of its support code) with
//!    [`GRPC_ENDPOINT_VAR`], [`HTTP_ENDPOINT_VAR`] and [`REPORT_VAR`] telling
//!    the tests where rotel listens and where its report is. They are built
//!    with the workspace-wide feature selection of `cargo xtask ci`, so the
//!    build of that command is reused.
//!    rotel is stopped by its pid (SIGTERM, then SIGKILL after a bounded wait)
//!    in every case, through a guard that also runs on error and on panic.
//! 4. `web page`: the `otlpkit-receiver` page in a headless browser
//!    ([`crate::browser`]); `cargo xtask e2e --browser-only` runs only this step.

use std::fs::{self, File};
use std::io;
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use anyhow::{Context as _, anyhow};
use xshell::{Shell, cmd};

use crate::flags;

/// The rotel release the suite runs against (a prerelease, so pip needs the
/// exact `==` pin). Keep in sync with `otlpkit_e2e::ROTEL_VERSION`; a test
/// below checks it.
pub(crate) const ROTEL_VERSION: &str = "0.0.1a15";

/// Environment variable with rotel's OTLP/gRPC endpoint, e.g. `http://127.0.0.1:4317`.
pub(crate) const GRPC_ENDPOINT_VAR: &str = "OTLPKIT_E2E_ROTEL_GRPC_ENDPOINT";
/// Environment variable with rotel's OTLP/HTTP base endpoint, e.g. `http://127.0.0.1:4318`.
pub(crate) const HTTP_ENDPOINT_VAR: &str = "OTLPKIT_E2E_ROTEL_HTTP_ENDPOINT";
/// Environment variable with the absolute path of rotel's report (its debug log).
pub(crate) const REPORT_VAR: &str = "OTLPKIT_E2E_ROTEL_LOG";

/// How long rotel may take to accept connections on both ports.
const STARTUP_TIMEOUT: Duration = Duration::from_secs(30);
/// How long rotel may take to exit after SIGTERM before it is killed.
const STOP_TIMEOUT: Duration = Duration::from_secs(10);
/// Starts attempted when rotel exits during startup (another process may take
/// a port between our probe and rotel's bind).
const START_ATTEMPTS: usize = 3;
/// Lines of rotel's output quoted in errors.
const TAIL_LINES: usize = 40;

const STEPS: usize = 4;

impl flags::E2e {
    pub(crate) fn run(self, sh: &Shell, root: &Path) -> anyhow::Result<()> {
        if self.browser_only {
            crate::header("e2e", 1, 1, "web page");
            let ran = crate::browser::run(sh, root).context("e2e step `web page` failed")?;
            if ran {
                eprintln!("==> e2e: the web page step passed");
            } else {
                eprintln!("==> e2e: the web page step was skipped");
            }
            return Ok(());
        }
        crate::header("e2e", 1, STEPS, "install rotel");
        let binary = ensure_rotel(sh, root).context("e2e step `install rotel` failed")?;

        crate::header("e2e", 2, STEPS, "start rotel");
        let run_dir = root.join(".tools").join("e2e");
        fs::create_dir_all(&run_dir)
            .with_context(|| format!("cannot create {}", run_dir.display()))
            .context("e2e step `start rotel` failed")?;
        let rotel = RotelProcess::start(&binary, root, &run_dir)
            .context("e2e step `start rotel` failed")?;
        eprintln!(
            "    rotel {ROTEL_VERSION} (pid {}) listens on grpc {} and http {}; report: {}",
            rotel.pid,
            rotel.grpc,
            rotel.http,
            rotel.report.display()
        );

        crate::header("e2e", 3, STEPS, "test");
        // The same `--workspace --all-features` selection as the test step of
        // `cargo xtask ci`, so the dependencies resolve to the same features and
        // that build is reused: only the e2e crate compiles here.
        // (`cargo test -p otlpkit-e2e` would resolve features for that crate
        // alone and rebuild some twenty dependencies, tokio, hyper, tonic and
        // reqwest among them.) `--test` then picks the e2e crate's test targets.
        let result = cmd!(
            sh,
            "cargo test --locked --workspace --all-features --test rotel --test rotel_support --test setups --test transports --test rotel_spool"
        )
        // The spool test stops and starts a rotel of its own.
        .env("OTLPKIT_E2E_ROTEL_BIN", &binary)
        .env(GRPC_ENDPOINT_VAR, format!("http://{}", rotel.grpc))
        .env(HTTP_ENDPOINT_VAR, format!("http://{}", rotel.http))
        .env(REPORT_VAR, &rotel.report)
        .run();
        let report = rotel.report.clone();
        drop(rotel);
        result.with_context(|| {
            format!(
                "e2e step `test` failed; rotel's report of what it received is {}",
                report.display()
            )
        })?;

        crate::header("e2e", 4, STEPS, "web page");
        if crate::browser::run(sh, root).context("e2e step `web page` failed")? {
            eprintln!("==> e2e: all {STEPS} steps passed");
        } else {
            eprintln!(
                "==> e2e: {} steps passed; the web page step was skipped",
                STEPS - 1
            );
        }
        Ok(())
    }
}

/// Returns the path of the pinned `rotel-agent`, installing it first if absent.
fn ensure_rotel(sh: &Shell, root: &Path) -> anyhow::Result<PathBuf> {
    let tools = root.join(".tools");
    let install_dir = tools.join(format!("rotel-{ROTEL_VERSION}"));
    let binary = agent_binary(&install_dir);
    if is_executable(&binary) {
        eprintln!("    using {}", binary.display());
        return Ok(binary);
    }

    let manual = format!(
        "python3 -m pip install --disable-pip-version-check --target {} rotel=={ROTEL_VERSION}",
        install_dir.display()
    );
    let missing = |what: String| -> anyhow::Error {
        if crate::is_ci() {
            anyhow!("rotel {ROTEL_VERSION} is not installed and cannot be: {what}")
        } else {
            anyhow!(
                "rotel {ROTEL_VERSION} is not installed and cannot be: {what}\n\
                 install it by hand with\n    {manual}\nthen rerun `cargo xtask e2e`"
            )
        }
    };

    if let Err(error) = cmd!(sh, "python3 -m pip --version")
        .quiet()
        .ignore_stdout()
        .run()
    {
        return Err(missing(format!(
            "`python3 -m pip --version` failed: {error}"
        )));
    }

    // Install into a staging directory and rename it when complete, so an
    // interrupted install never looks like a finished one.
    let staging = tools.join(format!("rotel-{ROTEL_VERSION}.partial"));
    if staging.exists() {
        sh.remove_path(&staging)?;
    }
    let install = cmd!(
        sh,
        "python3 -m pip install --disable-pip-version-check --target {staging} rotel=={ROTEL_VERSION}"
    )
    .run();
    if let Err(error) = install {
        return Err(missing(format!(
            "pip could not install rotel=={ROTEL_VERSION}: {error}"
        )));
    }
    let staged_binary = agent_binary(&staging);
    if !is_executable(&staged_binary) {
        return Err(missing(format!(
            "pip installed rotel=={ROTEL_VERSION} but {} is missing or not executable",
            staged_binary.display()
        )));
    }
    crate::promote_staged(sh, &staging, &install_dir)?;
    eprintln!("    installed {}", binary.display());
    Ok(binary)
}

/// Where the rotel wheel puts its binary inside a `pip --target` directory.
fn agent_binary(install_dir: &Path) -> PathBuf {
    install_dir.join("rotel").join("rotel-agent")
}

fn is_executable(path: &Path) -> bool {
    let Ok(metadata) = fs::metadata(path) else {
        return false;
    };
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        metadata.is_file() && metadata.permissions().mode() & 0o111 != 0
    }
    #[cfg(not(unix))]
    {
        metadata.is_file()
    }
}

/// A running `rotel-agent`; dropping it stops the process.
#[derive(Debug)]
struct RotelProcess {
    child: Child,
    pid: u32,
    grpc: SocketAddr,
    http: SocketAddr,
    report: PathBuf,
}

/// Why a start attempt failed.
enum StartError {
    /// rotel exited before both ports accepted connections; worth a retry on
    /// fresh ports.
    Exited(anyhow::Error),
    /// Anything else.
    Fatal(anyhow::Error),
}

impl RotelProcess {
    fn start(binary: &Path, root: &Path, run_dir: &Path) -> anyhow::Result<Self> {
        let mut attempt = 1;
        loop {
            match Self::start_once(binary, root, run_dir) {
                Ok(rotel) => return Ok(rotel),
                Err(StartError::Exited(error)) if attempt < START_ATTEMPTS => {
                    eprintln!(
                        "    attempt {attempt}/{START_ATTEMPTS} failed, retrying on other ports: {error:#}"
                    );
                    attempt += 1;
                }
                Err(StartError::Exited(error) | StartError::Fatal(error)) => return Err(error),
            }
        }
    }

    fn start_once(binary: &Path, root: &Path, run_dir: &Path) -> Result<Self, StartError> {
        let (grpc, http) = free_loopback_ports()
            .context("cannot find free ports on 127.0.0.1")
            .map_err(StartError::Fatal)?;
        let report = run_dir.join("rotel-report.log");
        let stdout = File::create(&report)
            .with_context(|| format!("cannot create {}", report.display()))
            .map_err(StartError::Fatal)?;
        // The clone shares the file offset, so stdout and stderr append to the
        // same file without overwriting each other.
        let stderr = stdout
            .try_clone()
            .with_context(|| format!("cannot reopen {}", report.display()))
            .map_err(StartError::Fatal)?;

        let mut command = Command::new(binary);
        command
            .arg("start")
            .args(["--exporter", "blackhole"])
            // `--debug-log` takes one signal per occurrence.
            .args([
                "--debug-log",
                "traces",
                "--debug-log",
                "metrics",
                "--debug-log",
                "logs",
            ])
            .args(["--debug-log-verbosity", "detailed"])
            .arg("--otlp-grpc-endpoint")
            .arg(grpc.to_string())
            .arg("--otlp-http-endpoint")
            .arg(http.to_string())
            .arg("--pid-file")
            .arg(run_dir.join("rotel-agent.pid"))
            .arg("--log-file")
            .arg(run_dir.join("rotel-agent.log"))
            .current_dir(root)
            .stdin(Stdio::null())
            .stdout(stdout)
            .stderr(stderr);
        // rotel reads every option from `ROTEL_*` variables too; a stray one in
        // the caller's environment must not change the suite's collector.
        for (key, _) in std::env::vars_os() {
            if key.to_string_lossy().starts_with("ROTEL_") {
                command.env_remove(key);
            }
        }
        let child = command
            .spawn()
            .with_context(|| format!("cannot start {}", binary.display()))
            .map_err(StartError::Fatal)?;
        let pid = child.id();
        let mut rotel = RotelProcess {
            child,
            pid,
            grpc,
            http,
            report,
        };
        rotel.wait_ready()?;
        Ok(rotel)
    }

    /// Waits until both ports accept connections; the caller drops (and so
    /// stops) the process on error.
    fn wait_ready(&mut self) -> Result<(), StartError> {
        let deadline = Instant::now() + STARTUP_TIMEOUT;
        loop {
            match self.child.try_wait() {
                Ok(Some(status)) => {
                    return Err(StartError::Exited(anyhow!(
                        "rotel-agent exited during startup ({status}); last lines of {}:\n{}",
                        self.report.display(),
                        tail(&self.report)
                    )));
                }
                Ok(None) => {}
                Err(error) => {
                    return Err(StartError::Fatal(
                        anyhow::Error::new(error)
                            .context(format!("cannot query rotel-agent (pid {})", self.pid)),
                    ));
                }
            }
            if accepts(self.grpc) && accepts(self.http) {
                return Ok(());
            }
            if Instant::now() >= deadline {
                return Err(StartError::Fatal(anyhow!(
                    "rotel-agent (pid {}) did not accept connections on {} and {} within {}s; last lines of {}:\n{}",
                    self.pid,
                    self.grpc,
                    self.http,
                    STARTUP_TIMEOUT.as_secs(),
                    self.report.display(),
                    tail(&self.report)
                )));
            }
            thread::sleep(Duration::from_millis(100));
        }
    }

    /// Stops rotel: SIGTERM by pid, a bounded wait, then SIGKILL.
    fn stop(&mut self) {
        if matches!(self.child.try_wait(), Ok(Some(_))) {
            return;
        }
        let terminated = Command::new("kill")
            .args(["-TERM", &self.pid.to_string()])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|status| status.success());
        if terminated {
            let deadline = Instant::now() + STOP_TIMEOUT;
            while Instant::now() < deadline {
                match self.child.try_wait() {
                    Ok(Some(_)) => {
                        eprintln!("    rotel (pid {}) stopped", self.pid);
                        return;
                    }
                    Ok(None) => thread::sleep(Duration::from_millis(50)),
                    Err(_) => break,
                }
            }
        }
        // SIGKILL cannot be ignored, so the wait below returns promptly.
        match self.child.kill().and_then(|()| self.child.wait()) {
            Ok(_) => eprintln!("    rotel (pid {}) killed", self.pid),
            Err(error) => eprintln!("    cannot kill rotel (pid {}): {error}", self.pid),
        }
    }
}

impl Drop for RotelProcess {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Two distinct ports that were free on 127.0.0.1 a moment ago: both are bound
/// at once (so they differ), read, and released for rotel to take.
fn free_loopback_ports() -> io::Result<(SocketAddr, SocketAddr)> {
    let first = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))?;
    let second = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))?;
    Ok((first.local_addr()?, second.local_addr()?))
}

fn accepts(addr: SocketAddr) -> bool {
    TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_ok()
}

/// The last lines of a file, or why it cannot be read.
fn tail(path: &Path) -> String {
    match fs::read(path) {
        Ok(bytes) => {
            let text = String::from_utf8_lossy(&bytes);
            let lines: Vec<&str> = text.lines().collect();
            lines[lines.len().saturating_sub(TAIL_LINES)..].join("\n")
        }
        Err(error) => format!("(cannot read it: {error})"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// xtask cannot depend on the e2e crate, so the names both sides use are
    /// checked here: a mismatch would make every e2e test fail with "rotel is
    /// not running".
    #[test]
    fn e2e_crate_agrees_on_version_and_variables() {
        let lib = Path::new(env!("CARGO_MANIFEST_DIR")).join("../e2e/src/lib.rs");
        let source = fs::read_to_string(&lib).unwrap();
        for expected in [
            format!(r#"pub const ROTEL_VERSION: &str = "{ROTEL_VERSION}";"#),
            format!(r#"pub const GRPC_ENDPOINT_VAR: &str = "{GRPC_ENDPOINT_VAR}";"#),
            format!(r#"pub const HTTP_ENDPOINT_VAR: &str = "{HTTP_ENDPOINT_VAR}";"#),
            format!(r#"pub const REPORT_VAR: &str = "{REPORT_VAR}";"#),
        ] {
            assert!(
                source.contains(&expected),
                "{} lacks `{expected}`",
                lib.display()
            );
        }
    }
}
