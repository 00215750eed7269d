//! The `otlpkit-receiver` web page in a real headless browser, the last step of
//! `cargo xtask e2e` (and all of `cargo xtask e2e --browser-only`).
//!
//! 1. Node.js 20.11 or newer and npm must be on `PATH`. Without them the step is skipped
//!    with a message outside CI, and fails with an install hint under `CI=true`.
//! 2. The pinned `@sparticuz/chromium` (a Chromium build inside an npm package, which
//!    runs offline) and `puppeteer-core` are installed with `npm ci` from
//!    `xtask/browser/package-lock.json` into `.tools/browser/` (git-ignored), when absent
//!    or when the lock file changed.
//! 3. The receiver binary is built and started on three free `127.0.0.1` ports with
//!    `--ui`; a known trace (a server span, nested children, a failed client span with an
//!    event), a log record of the failed span and two metrics are sent to it as OTLP/JSON.
//! 4. `xtask/browser/receiver-page.mjs` loads the page and checks that the trace is
//!    listed with its root span, service, span count and error mark, that its waterfall
//!    shows every span at its depth with the failed one marked, and that the failed span's
//!    details hold its status, attributes and log record; it saves a screenshot to
//!    `.tools/browser/receiver-page.png`.
//!
//! The receiver and the browser are stopped in every case; the browser run is bounded by
//! [`BROWSER_TIMEOUT`].

use std::fs;
use std::io::{Read as _, Write as _};
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::thread;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::{Context as _, anyhow, bail};
use xshell::{Shell, cmd};

/// The longest the browser check may take before it is killed.
const BROWSER_TIMEOUT: Duration = Duration::from_secs(180);
/// How long the receiver may take to accept connections.
const STARTUP_TIMEOUT: Duration = Duration::from_secs(30);
/// The trace the page must show.
const TRACE_ID: &str = "5b8efff798038103d269b633813fc60c";
/// Files copied from `xtask/browser/` into the scratch directory.
const FILES: [&str; 3] = ["package.json", "package-lock.json", "receiver-page.mjs"];

/// The oldest Node.js the pinned `@sparticuz/chromium` supports.
const NODE_MIN: (u32, u32) = (20, 11);

/// Runs the browser check: `Ok(true)` when it ran and passed, `Ok(false)` when it was
/// skipped (outside CI, without Node.js and npm).
pub(crate) fn run(sh: &Shell, root: &Path) -> anyhow::Result<bool> {
    if let Err(missing) = check_node() {
        if crate::is_ci() {
            bail!(
                "the web page test needs {missing}; install Node.js {}.{} or newer with npm \
                 (on Debian: `apt-get install -y nodejs npm` where that is recent enough)",
                NODE_MIN.0,
                NODE_MIN.1
            );
        }
        eprintln!(
            "    skipped: the web page test needs {missing} (install Node.js {}.{}+ and npm to \
             run it; under CI=true it is required)",
            NODE_MIN.0, NODE_MIN.1
        );
        return Ok(false);
    }
    let dir = root.join(".tools").join("browser");
    install(sh, root, &dir).context("installing the headless browser failed")?;

    cmd!(
        sh,
        "cargo build --locked --workspace --all-features --bin otlpkit-receiver"
    )
    .run()
    .context("building otlpkit-receiver failed")?;
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| root.join("target"));
    let binary = target.join("debug").join("otlpkit-receiver");

    let receiver = ReceiverProcess::start(&binary)?;
    send_telemetry(receiver.http).context("sending the known trace to the receiver failed")?;
    let screenshot = dir.join("receiver-page.png");
    let _ = fs::remove_file(&screenshot);
    let mut node = Command::new("node");
    node.arg("receiver-page.mjs")
        .arg(format!("http://{}/", receiver.ui))
        .arg(TRACE_ID)
        .arg(&screenshot)
        .current_dir(&dir);
    run_bounded(node, BROWSER_TIMEOUT).context("the web page check failed")?;
    drop(receiver);
    let png = fs::read(&screenshot)
        .with_context(|| format!("no screenshot at {}", screenshot.display()))?;
    if !png.starts_with(b"\x89PNG") {
        bail!("{} is not a PNG image", screenshot.display());
    }
    eprintln!(
        "    the page shows the trace; screenshot: {}",
        screenshot.display()
    );
    Ok(true)
}

/// `Err` names what is missing: npm, Node.js, or a recent enough Node.js.
fn check_node() -> Result<(), String> {
    let version = |tool: &str| {
        Command::new(tool)
            .arg("--version")
            .stderr(Stdio::null())
            .output()
            .ok()
            .filter(|out| out.status.success())
            .map(|out| String::from_utf8_lossy(&out.stdout).trim().to_owned())
    };
    let Some(node) = version("node") else {
        return Err("Node.js (`node`), not found on PATH".to_owned());
    };
    if version("npm").is_none() {
        return Err("npm, not found on PATH".to_owned());
    }
    if node_version(&node) < NODE_MIN {
        return Err(format!(
            "Node.js {}.{} or newer, and `node` is {node}",
            NODE_MIN.0, NODE_MIN.1
        ));
    }
    Ok(())
}

/// `(major, minor)` of `node --version` output such as `v20.20.2` (`(0, 0)` if unreadable).
fn node_version(text: &str) -> (u32, u32) {
    let mut parts = text.trim().trim_start_matches('v').split('.');
    let mut next = || parts.next().and_then(|p| p.parse().ok()).unwrap_or(0);
    (next(), next())
}

/// Copies the test's files into `dir` and runs `npm ci` there unless the same lock file
/// was installed already.
fn install(sh: &Shell, root: &Path, dir: &Path) -> anyhow::Result<()> {
    fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let source = root.join("xtask").join("browser");
    let lock = fs::read(source.join("package-lock.json"))?;
    let installed = dir.join("node_modules").join(".otlpkit-lock");
    let current = fs::read(&installed).is_ok_and(|stamp| stamp == lock);
    for file in FILES {
        fs::copy(source.join(file), dir.join(file))
            .with_context(|| format!("cannot copy {file} to {}", dir.display()))?;
    }
    if !current {
        let _dir = sh.push_dir(dir);
        cmd!(sh, "npm ci --no-audit --no-fund").run()?;
        fs::write(&installed, &lock)?;
    }
    Ok(())
}

/// The receiver, killed when dropped.
struct ReceiverProcess {
    child: Child,
    http: SocketAddr,
    ui: SocketAddr,
}

fn free_port() -> anyhow::Result<SocketAddr> {
    Ok(TcpListener::bind((Ipv4Addr::LOCALHOST, 0))?.local_addr()?)
}

impl ReceiverProcess {
    fn start(binary: &Path) -> anyhow::Result<ReceiverProcess> {
        let (grpc, http, ui) = (free_port()?, free_port()?, free_port()?);
        let child = Command::new(binary)
            .args(["--grpc", &grpc.to_string(), "--http", &http.to_string()])
            .args(["--ui", &ui.to_string(), "--quiet"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .spawn()
            .with_context(|| format!("cannot start {}", binary.display()))?;
        let mut receiver = ReceiverProcess { child, http, ui };
        let deadline = Instant::now() + STARTUP_TIMEOUT;
        while !(TcpStream::connect(ui).is_ok() && TcpStream::connect(http).is_ok()) {
            if let Some(status) = receiver.child.try_wait()? {
                bail!("otlpkit-receiver exited during start-up: {status}");
            }
            if Instant::now() > deadline {
                bail!("otlpkit-receiver did not listen within {STARTUP_TIMEOUT:?}");
            }
            thread::sleep(Duration::from_millis(50));
        }
        Ok(receiver)
    }
}

impl Drop for ReceiverProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Runs `command`, killing it after `timeout`; an error names its exit status.
fn run_bounded(mut command: Command, timeout: Duration) -> anyhow::Result<()> {
    let mut child = command.spawn().context("cannot start node")?;
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(status) = child.try_wait()? {
            return if status.success() {
                Ok(())
            } else {
                Err(anyhow!("node exited with {status}"))
            };
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            bail!("the browser did not finish within {timeout:?}");
        }
        thread::sleep(Duration::from_millis(100));
    }
}

/// POSTs one OTLP/JSON body and checks for `200`.
fn post(addr: SocketAddr, path: &str, body: &str) -> anyhow::Result<()> {
    let mut stream = TcpStream::connect(addr)?;
    stream.set_read_timeout(Some(STARTUP_TIMEOUT))?;
    write!(
        stream,
        "POST {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )?;
    let mut answer = String::new();
    stream.read_to_string(&mut answer)?;
    if !answer.starts_with("HTTP/1.1 200") {
        bail!("POST {path} was answered {answer:?}");
    }
    Ok(())
}

/// The known trace, a log record of its failed span and two metrics, timed a moment ago.
fn send_telemetry(http: SocketAddr) -> anyhow::Result<()> {
    let now = SystemTime::now().duration_since(UNIX_EPOCH)?.as_nanos() as u64;
    let t = |ms: u64| (now - 1_000_000_000 + ms * 1_000_000).to_string();
    let resource = r#"{"attributes":[{"key":"service.name","value":{"stringValue":"checkout"}},{"key":"service.version","value":{"stringValue":"1.4.2"}},{"key":"telemetry.sdk.language","value":{"stringValue":"rust"}}]}"#;
    let span = |id: u8,
                parent: Option<u8>,
                name: &str,
                kind: u8,
                start: u64,
                end: u64,
                extra: &str| {
        let parent = parent.map_or(String::new(), |p| format!("{p:016x}"));
        format!(
            r#"{{"traceId":"{TRACE_ID}","spanId":"{id:016x}","parentSpanId":"{parent}","name":"{name}","kind":{kind},"startTimeUnixNano":"{}","endTimeUnixNano":"{}"{extra}}}"#,
            t(start),
            t(end)
        )
    };
    let spans = [
        span(1, None, "POST /checkout", 2, 0, 120,
            r#","attributes":[{"key":"http.request.method","value":{"stringValue":"POST"}},{"key":"http.route","value":{"stringValue":"/checkout"}},{"key":"http.response.status_code","value":{"intValue":"502"}}],"status":{"code":2,"message":"payment failed"}"#),
        span(2, Some(1), "price items", 1, 4, 36,
            r#","attributes":[{"key":"items","value":{"intValue":"3"}}]"#),
        span(3, Some(2), "db.query", 3, 9, 31,
            r#","attributes":[{"key":"db.system","value":{"stringValue":"postgresql"}},{"key":"db.query.text","value":{"stringValue":"SELECT price FROM items WHERE id = $1"}}]"#),
        span(4, Some(1), "charge card", 3, 40, 112,
            r#","attributes":[{"key":"payment.provider","value":{"stringValue":"acme-pay"}},{"key":"retry","value":{"boolValue":false}}],"status":{"code":2,"message":"card declined"},"events":[{"name":"exception","timeUnixNano":"TIME","attributes":[{"key":"exception.message","value":{"stringValue":"issuer timeout"}}]}]"#.replace("TIME", &t(110)).as_str()),
    ];
    let traces = format!(
        r#"{{"resourceSpans":[{{"resource":{resource},"scopeSpans":[{{"scope":{{"name":"shop"}},"spans":[{}]}}]}}]}}"#,
        spans.join(",")
    );
    post(http, "/v1/traces", &traces)?;
    let logs = format!(
        r#"{{"resourceLogs":[{{"resource":{resource},"scopeLogs":[{{"scope":{{"name":"shop"}},"logRecords":[{{"timeUnixNano":"{}","severityNumber":17,"severityText":"ERROR","body":{{"stringValue":"card declined by issuer"}},"traceId":"{TRACE_ID}","spanId":"{:016x}","attributes":[{{"key":"order","value":{{"intValue":"1001"}}}}]}}]}}]}}]}}"#,
        t(111),
        4
    );
    post(http, "/v1/logs", &logs)?;
    for (i, value) in [3, 5, 8, 9, 12].iter().enumerate() {
        let metrics = format!(
            r#"{{"resourceMetrics":[{{"resource":{resource},"scopeMetrics":[{{"scope":{{"name":"shop"}},"metrics":[{{"name":"orders.processed","unit":"{{order}}","sum":{{"aggregationTemporality":2,"isMonotonic":true,"dataPoints":[{{"timeUnixNano":"{}","asInt":"{value}"}}]}}}}]}}]}}]}}"#,
            t(200 * i as u64)
        );
        post(http, "/v1/metrics", &metrics)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn node_versions_compare_by_major_then_minor() {
        assert_eq!(node_version("v20.20.2\n"), (20, 20));
        assert!(node_version("v20.11.0") >= NODE_MIN);
        assert!(node_version("v20.10.9") < NODE_MIN);
        assert!(node_version("v18.19.0") < NODE_MIN);
        assert!(node_version("v22.1.0") >= NODE_MIN);
        assert_eq!(node_version("garbage"), (0, 0));
    }
}
