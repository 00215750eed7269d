//! Project automation for otlpkit, in the `cargo xtask` style.
//!
//! Run `cargo xtask --help` for the grammar. The commands:
//!
//! - `cargo xtask ci` ([`ci`](mod@ci)): format check, clippy, tests, docs and
//!   the public API's foreign types, exactly as CI runs them;
//! - `cargo xtask e2e` ([`e2e`](mod@e2e)): installs the pinned rotel collector when
//!   absent, starts it on free loopback ports and runs the `otlpkit-e2e`
//!   suite against it, then checks the receiver's web page in a headless
//!   browser ([`browser`](mod@browser); `--browser-only` runs just that);
//! - `cargo xtask bench` ([`bench`](mod@bench)): the single entry point for benchmarks.
//!
//! Every command runs from the project root, whatever the current directory.
//! Steps print a one-line header to stderr and the first failing step stops
//! the command with a non-zero exit status and the step's name.

mod bench;
mod browser;
mod ci;
mod e2e;
mod external_types;
mod features;
mod flags;

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context as _;
use xshell::Shell;

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            // The chain of contexts says which step failed and why; anyhow's
            // own `Debug` would add a backtrace of xtask itself, which is
            // noise here.
            eprintln!("error: {error}");
            for cause in error.chain().skip(1) {
                eprintln!("caused by: {cause}");
            }
            ExitCode::FAILURE
        }
    }
}

fn run() -> anyhow::Result<()> {
    let flags = flags::Xtask::from_env_or_exit();
    let root = project_root()?;
    let sh = Shell::new()?;
    sh.change_dir(&root);
    match flags.subcommand {
        flags::XtaskCmd::Ci(cmd) => cmd.run(&sh),
        flags::XtaskCmd::E2e(cmd) => cmd.run(&sh, &root),
        flags::XtaskCmd::Bench(cmd) => cmd.run(&sh),
    }
}

/// The workspace root: the parent of this crate's manifest directory.
fn project_root() -> anyhow::Result<PathBuf> {
    // `cargo run` sets the variable at run time; fall back to the build-time
    // value when the binary is started by hand.
    let manifest_dir = std::env::var_os("CARGO_MANIFEST_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")));
    manifest_dir
        .parent()
        .map(Path::to_path_buf)
        .with_context(|| {
            format!(
                "the xtask manifest directory {} has no parent directory",
                manifest_dir.display()
            )
        })
}

/// Prints the one-line header of a step to stderr.
fn header(task: &str, index: usize, total: usize, step: &str) {
    eprintln!("==> {task} [{index}/{total}] {step}");
}

/// Moves a tool installed into `staging` to `install_dir`, replacing what
/// is there: a tool directory exists only once its install has finished.
fn promote_staged(sh: &Shell, staging: &Path, install_dir: &Path) -> anyhow::Result<()> {
    if install_dir.exists() {
        sh.remove_path(install_dir)?;
    }
    std::fs::rename(staging, install_dir).with_context(|| {
        format!(
            "cannot rename {} to {}",
            staging.display(),
            install_dir.display()
        )
    })
}

/// Whether we run under CI (`CI=true`, as set by every major CI service).
fn is_ci() -> bool {
    std::env::var("CI")
        .is_ok_and(|value| matches!(value.to_ascii_lowercase().as_str(), "true" | "1"))
}
