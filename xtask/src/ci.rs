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
//! `cargo xtask ci --step <name>` runs one of them (`external-types` for
//! the fifth).
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

/// The step named `name` (`external-types` or `external types`).
fn step_named(name: &str) -> anyhow::Result<(usize, &'static Step)> {
    let wanted = name.replace('-', " ");
    STEPS
        .iter()
        .enumerate()
        .find(|(_, step)| step.name == wanted)
        .with_context(|| {
            let names: Vec<String> = STEPS.iter().map(|s| s.name.replace(' ', "-")).collect();
            format!(
                "no ci step named `{name}`; the steps are {}",
                names.join(", ")
            )
        })
}

impl flags::Ci {
    pub(crate) fn run(self, sh: &Shell) -> anyhow::Result<()> {
        if let Some(name) = &self.step {
            let (index, step) = step_named(name)?;
            crate::header("ci", index + 1, STEPS.len(), step.name);
            return (step.run)(sh).with_context(|| format!("ci step `{}` failed", step.name));
        }
        for (index, step) in STEPS.iter().enumerate() {
            crate::header("ci", index + 1, STEPS.len(), step.name);
            (step.run)(sh).with_context(|| format!("ci step `{}` failed", step.name))?;
        }
        eprintln!("==> ci: all {} steps passed", STEPS.len());
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::step_named;

    #[test]
    fn a_step_is_found_by_its_name_with_dashes_or_spaces() {
        assert_eq!(step_named("clippy").unwrap().0, 1);
        assert_eq!(
            step_named("external-types").unwrap().1.name,
            "external types"
        );
        assert_eq!(step_named("external types").unwrap().0, 4);
        let Err(error) = step_named("lint") else {
            panic!("a step named `lint`");
        };
        let error = error.to_string();
        assert!(error.contains("`lint`"), "{error}");
        assert!(
            error.contains("fmt, clippy, test, doc, external-types, features"),
            "{error}"
        );
    }
}
