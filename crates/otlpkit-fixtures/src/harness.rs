//! The test loop of the test binaries that run without libtest
//! (`harness = false`) because some of their tests start the binary again
//! as a child process of its own (see [`crate::process`]).

use std::io::Write as _;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::process::ExitCode;

/// A test: its name and its body, which fails by panicking.
pub type Test = (&'static str, fn());

/// The arguments of the standard test harness that matter here: name
/// filters, `--exact`, `--skip`, `--list` and `--ignored` (there are no
/// ignored tests).
#[derive(Debug, Default)]
pub struct Options {
    filters: Vec<String>,
    skip: Vec<String>,
    exact: bool,
    list: bool,
    /// `--ignored`: run (or list) only ignored tests, of which there are none.
    ignored_only: bool,
}

impl Options {
    /// Reads the arguments, the program name left out.
    pub fn parse(args: &[String]) -> Self {
        let mut options = Options::default();
        let mut args = args.iter();
        while let Some(arg) = args.next() {
            match arg.as_str() {
                "--exact" => options.exact = true,
                "--list" => options.list = true,
                "--ignored" => options.ignored_only = true,
                "--skip" => options.skip.extend(args.next().cloned()),
                // Options that take a value, which is not a filter.
                "--test-threads" | "--format" | "--color" | "--logfile" | "-Z" => {
                    args.next();
                }
                flag if flag.starts_with('-') => {}
                filter => options.filters.push(filter.to_owned()),
            }
        }
        options
    }

    /// Whether the tests are only to be listed (`--list`).
    pub fn lists(&self) -> bool {
        self.list
    }

    /// Whether the test `name` is to run.
    pub fn selects(&self, name: &str) -> bool {
        let matches = |filter: &String| {
            if self.exact {
                name == filter
            } else {
                name.contains(filter.as_str())
            }
        };
        !self.ignored_only
            && (self.filters.is_empty() || self.filters.iter().any(matches))
            && !self.skip.iter().any(matches)
    }
}

/// Lists or runs the `tests` that `args` select, one after the other, and
/// reports them the way libtest does; fails if any test panicked.
pub fn run(tests: &[Test], args: &[String]) -> ExitCode {
    let options = Options::parse(args);
    let selected: Vec<&Test> = tests
        .iter()
        .filter(|(name, _)| options.selects(name))
        .collect();
    let mut out = std::io::stdout();
    if options.lists() {
        for (name, _) in &selected {
            let _ = writeln!(out, "{name}: test");
        }
        return ExitCode::SUCCESS;
    }
    let _ = writeln!(out, "\nrunning {} tests", selected.len());
    let mut failed = Vec::new();
    for (name, test) in &selected {
        let outcome = catch_unwind(AssertUnwindSafe(test));
        let verdict = if outcome.is_ok() { "ok" } else { "FAILED" };
        let _ = writeln!(out, "test {name} ... {verdict}");
        if outcome.is_err() {
            failed.push(*name);
        }
    }
    conclude(selected.len(), &failed)
}

/// Prints the result line of `ran` tests, of which `failed` failed, and
/// their names, the way libtest does; fails if any did.
pub fn conclude(ran: usize, failed: &[&str]) -> ExitCode {
    let mut out = std::io::stdout();
    let _ = writeln!(
        out,
        "\ntest result: {}. {} passed; {} failed\n",
        if failed.is_empty() { "ok" } else { "FAILED" },
        ran - failed.len(),
        failed.len()
    );
    if failed.is_empty() {
        ExitCode::SUCCESS
    } else {
        for name in failed {
            let _ = writeln!(out, "failed: {name}");
        }
        ExitCode::FAILURE
    }
}
