//! Records the compiler's version for the `process.runtime.*` resource
//! attributes. It asks the same `rustc` Cargo builds with (`$RUSTC`); when
//! that fails, the attributes are left out rather than the build failing.

use std::process::Command;

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-env-changed=RUSTC");
    let rustc = std::env::var_os("RUSTC").unwrap_or_else(|| "rustc".into());
    let Ok(output) = Command::new(rustc).arg("--version").output() else {
        return;
    };
    if !output.status.success() {
        return;
    }
    let Ok(text) = String::from_utf8(output.stdout) else {
        return;
    };
    // `rustc 1.95.0 (59807616e 2026-04-14)`
    let description = text.trim();
    if description.is_empty() || description.contains('\n') {
        return;
    }
    println!("cargo:rustc-env=OTLPKIT_RUSTC_DESCRIPTION={description}");
}
