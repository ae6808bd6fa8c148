//! Release builds for x86_64 Linux (GNU) put the functions `up` executes next
//! to each other (`build/symbol-order.txt`, or `symbol-order-static.txt` for
//! `cargo build-static`; made by `scripts/symbol-order.sh`).
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
//! a stale list makes the layout worse, never the build fail. Where the host's
//! glibc is 2.36 or later the relative relocations are packed too (DT_RELR).

use std::env;
use std::process::Command;

/// One list per kind of build: symbol names carry a hash of how the crate
/// was compiled, and `cargo build-static` (`.cargo/config.toml`) compiles it
/// with other flags than `cargo build --release`.
const ORDER: &str = "build/symbol-order.txt";
const ORDER_STATIC: &str = "build/symbol-order-static.txt";

fn main() {
    println!("cargo:rerun-if-changed={ORDER}");
    println!("cargo:rerun-if-changed={ORDER_STATIC}");
    println!("cargo:rerun-if-changed=build.rs");
    let static_crt = var("CARGO_CFG_TARGET_FEATURE")
        .split(',')
        .any(|f| f == "crt-static");
    let list = if static_crt { ORDER_STATIC } else { ORDER };
    let order = format!("{}/{list}", var("CARGO_MANIFEST_DIR"));
    if !wanted() || !std::path::Path::new(&order).exists() {
        return;
    }
    println!("cargo:rustc-link-arg-bins=-Wl,--symbol-ordering-file={order}");
    println!("cargo:rustc-link-arg-bins=-Wl,--no-warn-symbol-ordering");
    // Functions whose code is byte for byte the same are kept once.
    println!("cargo:rustc-link-arg-bins=-Wl,--icf=all");
    if glibc_minor() >= 36 {
        // Relative relocations packed (DT_RELR, glibc 2.36+): the 130 KiB
        // `.rela.dyn` the loader reads at every start shrinks to a few KiB.
        println!("cargo:rustc-link-arg-bins=-Wl,-z,pack-relative-relocs");
    }
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

/// The minor version of the C library the binary will run with, when it is
/// the host's (`glibc 2.36` → 36; 0 when cross-compiling or unknown): a
/// binary with packed relocations needs 2.36 or later, and says so in its
/// version requirements only when linked against a glibc that has them.
fn glibc_minor() -> u32 {
    if var("HOST") != var("TARGET") {
        return 0;
    }
    let out = Command::new("getconf").arg("GNU_LIBC_VERSION").output();
    let text = out.map(|o| String::from_utf8_lossy(&o.stdout).into_owned());
    let text = text.unwrap_or_default();
    minor(text.split_whitespace().nth(1).unwrap_or(""))
}

/// `1.95.0` or `2.36` → 95 or 36; 0 when not a version.
fn minor(version: &str) -> u32 {
    version
        .split('.')
        .nth(1)
        .and_then(|m| m.parse().ok())
        .unwrap_or(0)
}

/// The minor version of the compiler cargo uses (`rustc 1.95.0 (…)` → 95).
fn rustc_minor() -> u32 {
    let rustc = env::var_os("RUSTC").unwrap_or_else(|| "rustc".into());
    let out = Command::new(rustc).arg("--version").output();
    let text = out.map(|o| String::from_utf8_lossy(&o.stdout).into_owned());
    let text = text.unwrap_or_default();
    minor(text.split_whitespace().nth(1).unwrap_or(""))
}
