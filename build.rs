//! Release builds for x86_64 Linux (GNU) put the functions `up` executes next
//! to each other (`build/symbol-order.txt`, made by `scripts/symbol-order.sh`).
//!
//! Why: the kernel maps 64 KiB of the binary around every page of code a
//! process touches (fault-around), so the few hundred functions `up` runs,
//! scattered over 3 MB of text, made nearly all of it resident; packed, they
//! fill about a third of it (docs/performance.md, "Where the memory goes").
//!
//! Only where it is known to work: the release profile, that target, and the
//! linker Rust uses there by default since 1.90 (rust-lld, which understands
//! `--symbol-ordering-file`). With another linker configured, an older
//! compiler or any other target the build is the same as without this file.
//! Names in the list that the binary no longer has are skipped silently:
//! a stale list makes the layout worse, never the build fail.

use std::env;
use std::process::Command;

const ORDER: &str = "build/symbol-order.txt";

fn main() {
    println!("cargo:rerun-if-changed={ORDER}");
    println!("cargo:rerun-if-changed=build.rs");
    let order = format!("{}/{ORDER}", var("CARGO_MANIFEST_DIR"));
    if !wanted() || !std::path::Path::new(&order).exists() {
        return;
    }
    println!("cargo:rustc-link-arg-bins=-Wl,--symbol-ordering-file={order}");
    println!("cargo:rustc-link-arg-bins=-Wl,--no-warn-symbol-ordering");
}

fn var(name: &str) -> String {
    env::var(name).unwrap_or_default()
}

/// Release, x86_64-unknown-linux-gnu, default linker (rust-lld).
fn wanted() -> bool {
    let flags = var("CARGO_ENCODED_RUSTFLAGS");
    let own_linker = env::var_os("RUSTC_LINKER").is_some()
        || ["linker", "link-self-contained", "fuse-ld"]
            .iter()
            .any(|f| flags.contains(f));
    var("PROFILE") == "release"
        && var("TARGET") == "x86_64-unknown-linux-gnu"
        && !own_linker
        && rustc_minor() >= 90
}

/// The minor version of the compiler cargo uses (`rustc 1.95.0 (…)` → 95).
fn rustc_minor() -> u32 {
    let rustc = env::var_os("RUSTC").unwrap_or_else(|| "rustc".into());
    let out = Command::new(rustc).arg("--version").output();
    let text = out.map(|o| String::from_utf8_lossy(&o.stdout).into_owned());
    let text = text.unwrap_or_default();
    let version = text.split_whitespace().nth(1).unwrap_or("");
    version
        .split('.')
        .nth(1)
        .and_then(|m| m.parse().ok())
        .unwrap_or(0)
}
