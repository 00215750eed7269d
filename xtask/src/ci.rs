//! `cargo xtask ci`: the checks CI runs, in order, failing fast.
//!
//! 1. `fmt`: `cargo fmt --all -- --check`
//! 2. `clippy`: `cargo clippy --locked --workspace --all-targets --all-features -- -D warnings`
//! 3. `test`: `cargo test --locked --workspace --all-features --exclude otlpkit-e2e`
//! 4. `doc`: `cargo doc --locked --workspace --no-deps --all-features` with
//!    `RUSTDOCFLAGS=-D warnings`
//! 5. `external types`: the foreign types in each published crate's public
//!    API are the ones its `Cargo.toml` allows
//!    ([`external_types`](crate::external_types))
//! 6. `features`: the feature combinations a user can pick, each built, and
//!    the tests that only mean something without a feature
//!    ([`features`](crate::features))
//!
//! `test` and `doc` use the same feature selection (`--all-features`) so the
//! dependency graph is resolved once and the build is shared between the
//! steps; nothing is cleaned and no test rebuilds anything on its own.

use anyhow::Context as _;
use xshell::{Shell, cmd};

use crate::flags;

/// One named check.
struct Step {
    name: &'static str,
    run: fn(&Shell) -> anyhow::Result<()>,
}

const STEPS: &[Step] = &[
    Step {
        name: "fmt",
        run: |sh| Ok(cmd!(sh, "cargo fmt --all -- --check").run()?),
    },
    Step {
        name: "clippy",
        run: |sh| {
            Ok(cmd!(
                sh,
                "cargo clippy --locked --workspace --all-targets --all-features -- -D warnings"
            )
            .run()?)
        },
    },
    Step {
        name: "test",
        // The e2e crate needs a running rotel collector; it is still built by
        // `clippy` above, and it runs only under `cargo xtask e2e`.
        run: |sh| {
            Ok(cmd!(
                sh,
                "cargo test --locked --workspace --all-features --exclude otlpkit-e2e"
            )
            .run()?)
        },
    },
    Step {
        name: "doc",
        run: |sh| {
            Ok(cmd!(
                sh,
                "cargo doc --locked --workspace --no-deps --all-features"
            )
            .env("RUSTDOCFLAGS", "-D warnings")
            .run()?)
        },
    },
    Step {
        name: "external types",
        run: crate::external_types::run,
    },
    Step {
        name: "features",
        run: |sh| Ok(crate::features::run(sh)?),
    },
];

impl flags::Ci {
    pub(crate) fn run(self, sh: &Shell) -> anyhow::Result<()> {
        for (index, step) in STEPS.iter().enumerate() {
            crate::header("ci", index + 1, STEPS.len(), step.name);
            (step.run)(sh).with_context(|| format!("ci step `{}` failed", step.name))?;
        }
        eprintln!("==> ci: all {} steps passed", STEPS.len());
        Ok(())
    }
}
