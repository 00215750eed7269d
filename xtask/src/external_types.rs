//! The foreign types each published crate lets into its public API.
//!
//! A type from another crate in our public API ties our semver to that
//! crate's: its next major release is a breaking change of ours. So which
//! foreign types may appear is a decision, written down per crate in its
//! `Cargo.toml`:
//!
//! ```toml
//! [package.metadata.cargo_check_external_types]
//! allowed_external_types = ["opentelemetry::*", "otlpkit_core::*"]
//! ```
//!
//! and [`cargo-check-external-types`](https://github.com/awslabs/cargo-check-external-types)
//! ([`TOOL_VERSION`]) fails when one not on the list leaks. Every package
//! under `crates/` or at the root whose manifest does not say
//! `publish = false` is checked (the workspace-wide `publish = false` the
//! library crates inherit only guards against an accidental release), with
//! all its features, and must have the table.
//!
//! The tool reads rustdoc's JSON output, which is unstable:
//! `RUSTC_BOOTSTRAP=1` lets the pinned stable toolchain write it (rustdoc
//! 1.95 writes format version 57, the one the tool's `rustdoc-types` 0.57
//! reads; a toolchain bump may need a tool bump). Because `RUSTC_BOOTSTRAP`
//! is part of every compiled crate's fingerprint, the step builds in its own
//! target directory, `target/external-types`, so that it never invalidates
//! the build the other steps share (and a second run reuses it).
//!
//! The tool documents private items as well; links are checked by the
//! `doc` step, so here rustdoc's lints only warn.
//!
//! The tool is installed from crates.io into `.tools/` when absent
//! (`cargo install --locked`, about two minutes on two cores), as
//! `cargo xtask e2e` installs rotel.

use std::fs;
use std::path::{Path, PathBuf};

use anyhow::{Context as _, anyhow, bail};
use xshell::{Shell, cmd};

/// The cargo-check-external-types release the check runs; its
/// `rustdoc-types` must match the JSON format of the pinned toolchain's
/// rustdoc.
pub(crate) const TOOL_VERSION: &str = "0.5.0";

const TOOL: &str = "cargo-check-external-types";

/// The manifest table that holds a crate's allowed external types.
const METADATA_TABLE: &str = "[package.metadata.cargo_check_external_types]";

pub(crate) fn run(sh: &Shell) -> anyhow::Result<()> {
    let root = sh.current_dir();
    let crates = published_crates(&root)?;
    let tool = ensure_tool(sh, &root)?;
    let target_dir = root.join("target").join("external-types");
    for manifest in &crates {
        let name = manifest.display();
        cmd!(
            sh,
            "{tool} check-external-types --all-features --manifest-path {manifest}"
        )
        .env("RUSTC_BOOTSTRAP", "1")
        .env("CARGO_TARGET_DIR", &target_dir)
        // The tool documents private items too, which makes some intra-doc
        // links ambiguous (a function and the private module it is defined
        // in); the `doc` step checks the links as users see them.
        .env("RUSTDOCFLAGS", "--cap-lints=warn")
        .run()
        .with_context(|| {
            format!(
                "the external-types check of {name} failed (see above); if a foreign \
                 type it does not allow is in the public API, stop exposing it, or add \
                 it to the manifest's `allowed_external_types` if it belongs in the API"
            )
        })?;
    }
    Ok(())
}

/// The manifests of the packages that are published, each checked for its
/// table of allowed external types.
fn published_crates(root: &Path) -> anyhow::Result<Vec<PathBuf>> {
    let mut dirs = Vec::new();
    for parent in [root.to_path_buf(), root.join("crates")] {
        for entry in
            fs::read_dir(&parent).with_context(|| format!("cannot list {}", parent.display()))?
        {
            let path = entry?.path();
            if path.join("Cargo.toml").is_file() && path != root.join("target") {
                dirs.push(path);
            }
        }
    }
    dirs.sort();
    let mut published = Vec::new();
    for dir in dirs {
        let manifest = dir.join("Cargo.toml");
        let text = fs::read_to_string(&manifest)
            .with_context(|| format!("cannot read {}", manifest.display()))?;
        let lines = || text.lines().map(str::trim);
        if lines().any(|line| line == "publish = false") {
            continue;
        }
        if !lines().any(|line| line == METADATA_TABLE) {
            bail!(
                "{} is a published crate without a {METADATA_TABLE} table: \
                 list the foreign types its public API may expose (an empty \
                 `allowed_external_types = []` if none)",
                manifest.display()
            );
        }
        published.push(manifest);
    }
    if published.is_empty() {
        bail!("found no published crate under {}", root.display());
    }
    Ok(published)
}

/// Returns the path of the pinned tool, installing it first if absent.
fn ensure_tool(sh: &Shell, root: &Path) -> anyhow::Result<PathBuf> {
    let tools = root.join(".tools");
    let install_dir = tools.join(format!("{TOOL}-{TOOL_VERSION}"));
    let binary = install_dir.join("bin").join(TOOL);
    if binary.is_file() {
        return Ok(binary);
    }
    let manual = format!(
        "cargo install --locked {TOOL} --version {TOOL_VERSION} --root {}",
        install_dir.display()
    );
    // Install into a staging directory and rename it when complete, so an
    // interrupted install never looks like a finished one.
    let staging = tools.join(format!("{TOOL}-{TOOL_VERSION}.partial"));
    if staging.exists() {
        sh.remove_path(&staging)?;
    }
    eprintln!(
        "    installing {TOOL} {TOOL_VERSION} into {}",
        install_dir.display()
    );
    let install = cmd!(
        sh,
        "cargo install --locked --quiet {TOOL} --version {TOOL_VERSION} --root {staging}"
    )
    .run();
    if let Err(error) = install {
        let hint = if crate::is_ci() {
            String::new()
        } else {
            format!("\ninstall it by hand with\n    {manual}\nthen rerun `cargo xtask ci`")
        };
        return Err(anyhow!(
            "{TOOL} {TOOL_VERSION} is not installed and cannot be: {error}{hint}"
        ));
    }
    crate::promote_staged(sh, &staging, &install_dir)?;
    Ok(binary)
}
