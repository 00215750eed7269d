//! `cargo xtask bench`: the single entry point for benchmarks.
//!
//! It runs every bench target of the workspace packages, and only those:
//!
//! ```text
//! cargo bench --locked --workspace --all-features --bench '*' [-- <filter>]
//! ```
//!
//! Bench targets are criterion benches (`[[bench]]` with `harness = false`,
//! one scenario per file, `[lib] bench = false` in their package):
//!
//! - the micro-benchmarks inside each crate (`crates/*/benches/`): the batch
//!   queue and its overflow policies, the encoders, the context bridge;
//! - the comparative benchmarks of the top-level `benches/` package, which run
//!   the official `opentelemetry-otlp` + `opentelemetry_sdk` pipeline and the
//!   otlpkit one in the same run, engine against engine and transport against
//!   transport; their comparison tables go to `docs/BENCHMARKS.md`.
//!
//! The targets are discovered with `cargo metadata`, so a new bench needs no
//! change here. While the workspace has none, the command says so and exits
//! successfully.

use anyhow::Context as _;
use xshell::{Shell, cmd};

use crate::flags;

/// A bench target found in `cargo metadata`.
#[derive(Debug, PartialEq, Eq)]
struct BenchTarget {
    name: String,
    src_path: String,
}

impl flags::Bench {
    pub(crate) fn run(self, sh: &Shell) -> anyhow::Result<()> {
        crate::header("bench", 1, 2, "discover bench targets");
        let metadata = cmd!(sh, "cargo metadata --format-version 1 --no-deps")
            .quiet()
            .read()
            .context("bench step `discover bench targets` failed")?;
        let targets = bench_targets(&metadata);
        if targets.is_empty() {
            eprintln!(
                "==> bench: no benchmarks exist in the workspace yet \
                 (no bench target in any package); nothing to run"
            );
            return Ok(());
        }
        for target in &targets {
            eprintln!("    {} ({})", target.name, target.src_path);
        }

        crate::header("bench", 2, 2, "cargo bench");
        let filter: Vec<String> = match self.filter {
            Some(filter) => vec!["--".to_owned(), filter],
            None => Vec::new(),
        };
        cmd!(
            sh,
            "cargo bench --locked --workspace --all-features --bench * {filter...}"
        )
        .run()
        .context("bench step `cargo bench` failed")?;
        Ok(())
    }
}

/// Finds the bench targets in the compact JSON printed by
/// `cargo metadata --format-version 1`.
///
/// Cargo prints each target as `{"kind":[...],"crate_types":[...],"name":"..",
/// "src_path":"..",...}`; this reads the `name` and `src_path` that follow each
/// `"kind":["bench"]`, which keeps xtask free of a JSON dependency.
fn bench_targets(metadata: &str) -> Vec<BenchTarget> {
    const KIND: &str = r#""kind":["bench"]"#;
    let mut targets = Vec::new();
    let mut rest = metadata;
    while let Some(start) = rest.find(KIND) {
        rest = &rest[start + KIND.len()..];
        // The target object ends at the first `}`: none of its fields before
        // `src_path` is an object.
        let object = rest.find('}').map_or(rest, |end| &rest[..end]);
        if let (Some(name), Some(src_path)) = (
            string_field(object, "name"),
            string_field(object, "src_path"),
        ) {
            targets.push(BenchTarget { name, src_path });
        }
    }
    targets
}

/// The value of `"field":"value"` in `object`, without unescaping.
fn string_field(object: &str, field: &str) -> Option<String> {
    let key = format!(r#""{field}":""#);
    let start = object.find(&key)? + key.len();
    let end = object[start..].find('"')?;
    Some(object[start..start + end].to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_only_bench_targets() {
        let metadata = r#"{"packages":[{"name":"otlpkit-batch","targets":[{"kind":["lib"],"crate_types":["lib"],"name":"otlpkit_batch","src_path":"/w/crates/otlpkit-batch/src/lib.rs","edition":"2024","doc":true,"doctest":true,"test":true},{"kind":["bench"],"crate_types":["bin"],"name":"queue","src_path":"/w/crates/otlpkit-batch/benches/queue.rs","edition":"2024","required-features":["bench"],"doc":false,"doctest":false,"test":false},{"kind":["test"],"crate_types":["bin"],"name":"shutdown","src_path":"/w/crates/otlpkit-batch/tests/shutdown.rs","edition":"2024","doc":false,"doctest":false,"test":true}]},{"name":"benches","targets":[{"kind":["bench"],"crate_types":["bin"],"name":"pipeline","src_path":"/w/benches/benches/pipeline.rs","edition":"2024","doc":false,"doctest":false,"test":false}]}]}"#;
        assert_eq!(
            bench_targets(metadata),
            vec![
                BenchTarget {
                    name: "queue".to_owned(),
                    src_path: "/w/crates/otlpkit-batch/benches/queue.rs".to_owned(),
                },
                BenchTarget {
                    name: "pipeline".to_owned(),
                    src_path: "/w/benches/benches/pipeline.rs".to_owned(),
                },
            ]
        );
    }

    #[test]
    fn no_bench_targets_in_a_workspace_without_benches() {
        let metadata = r#"{"packages":[{"name":"xtask","targets":[{"kind":["bin"],"crate_types":["bin"],"name":"xtask","src_path":"/w/xtask/src/main.rs","edition":"2024","doc":true,"doctest":false,"test":true}]}]}"#;
        assert_eq!(bench_targets(metadata), Vec::new());
    }
}
