//! What `execve` itself refuses, checked when the Plan is built so `check`
//! fails instead of the spawn: a NUL byte in an argument or a variable (C
//! strings end there), one argument or `NAME=value` over `MAX_ARG_STRLEN`,
//! and argv + environment over the kernel's total (E2BIG, "Argument list too
//! long"). Arguments are named by position, never shown (one may hold a
//! secret). The total is computed as fs/exec.c does: every string with its
//! NUL (the program path, the environment, argv) plus one pointer per
//! argument and variable, against a quarter of the stack limit, capped at
//! 3/4 of `_STK_LIM` (6 MiB) and never below 32 pages (128 KiB) — what
//! glibc's `sysconf(_SC_ARG_MAX)` reports (without the cap). A `#!` script
//! adds its interpreter's path to that (a few hundred bytes, not counted).

use std::path::Path;

use crate::env::Env;

/// `MAX_ARG_STRLEN`: the longest single string, NUL included (32 pages).
pub(super) const MAX_ARG_STRLEN: usize = 32 * 4096;
const PTR: usize = std::mem::size_of::<usize>();
const STK_LIM: u64 = 8 * 1024 * 1024;

/// The kernel's limit for argv + environment, for a process with this
/// process's `RLIMIT_STACK` (children inherit it).
pub(super) fn arg_limit() -> usize {
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit writes into the local struct it is given, nothing else.
    let ok = unsafe { libc::getrlimit(libc::RLIMIT_STACK, &mut lim) } == 0;
    // rlim_t is u64 on 64-bit Linux, narrower on some 32-bit targets.
    #[allow(clippy::useless_conversion)]
    let stack = u64::from(lim.rlim_cur);
    limit_for_stack(if ok { stack } else { STK_LIM })
}

fn limit_for_stack(stack: u64) -> usize {
    let limit = (STK_LIM / 4 * 3).min(stack / 4).max(MAX_ARG_STRLEN as u64);
    usize::try_from(limit).unwrap_or(usize::MAX)
}

/// The first reason `execve(program, argv, env)` would refuse, or `None`.
pub(super) fn problem(program: &Path, argv: &[String], env: &Env, limit: usize) -> Option<String> {
    if let Some((i, _)) = argv.iter().enumerate().find(|(_, a)| a.contains('\0')) {
        return Some(format!("argument {i} contains a NUL byte, which no program argument can hold (C strings end there); remove it"));
    }
    if let Some((k, _)) = env
        .pairs()
        .find(|(k, v)| k.contains('\0') || v.contains('\0'))
    {
        return Some(format!(
            "the variable `{}` contains a NUL byte, which no process environment can hold",
            k.replace('\0', "\\0")
        ));
    }
    let strings = argv
        .iter()
        .enumerate()
        .map(|(i, a)| (format!("argument {i}"), a.len() + 1))
        .chain(env.vars.iter().map(|(k, v)| {
            let what = format!("variable `{k}` (from {})", v.source);
            (what, k.len() + v.value.len() + 2)
        }));
    let mut total = program.as_os_str().len() + 1 + (argv.len().max(1) + env.len()) * PTR;
    let mut named = Vec::new();
    for (what, len) in strings {
        if len > MAX_ARG_STRLEN {
            return Some(format!("{what} is {} long; the kernel refuses any single argument or NAME=value over {} bytes (execve fails with E2BIG, \"Argument list too long\"); pass it in a file instead", size(len - 1), MAX_ARG_STRLEN - 1));
        }
        total += len;
        named.push((what, len));
    }
    if total <= limit {
        return None;
    }
    named.sort_by_key(|(_, len)| std::cmp::Reverse(*len));
    let top: Vec<String> = named
        .iter()
        .take(3)
        .map(|(w, l)| format!("{w} {}", size(*l)))
        .collect();
    Some(format!(
        "the arguments and environment take {} but the kernel allows {} for a new program (a quarter of the stack limit, `ulimit -s`), so execve would fail with E2BIG (\"Argument list too long\"); largest: {}; pass large data in a file instead",
        size(total),
        size(limit),
        top.join(", ")
    ))
}

fn size(n: usize) -> String {
    if n >= 1024 * 1024 {
        format!("{:.1} MiB", n as f64 / (1024.0 * 1024.0))
    } else if n >= 1024 {
        format!("{:.1} KiB", n as f64 / 1024.0)
    } else {
        format!("{n} bytes")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::env::{EnvVar, Source};

    fn env(pairs: &[(&str, String)]) -> Env {
        let mut e = Env::default();
        for (k, v) in pairs {
            let var = EnvVar {
                value: v.clone(),
                secret: Default::default(),
                source: Source::Os,
                shadowed: vec![],
            };
            e.vars.insert(k.to_string(), var);
        }
        e
    }

    #[test]
    fn the_limit_follows_the_stack_like_the_kernel() {
        assert_eq!(limit_for_stack(8 << 20), 2 << 20);
        assert_eq!(limit_for_stack(u64::MAX), 6 << 20);
        assert_eq!(limit_for_stack(64 << 10), 128 << 10);
        assert!(arg_limit() >= 128 << 10);
    }

    #[test]
    fn what_execve_refuses() {
        let p = Path::new("/bin/true");
        let argv = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        let none = env(&[]);
        assert_eq!(problem(p, &argv(&["true", "ok"]), &none, 1 << 20), None);
        let nul = problem(p, &argv(&["true", "a\0b"]), &none, 1 << 20).unwrap_or_default();
        assert!(nul.contains("argument 1 contains a NUL byte"), "{nul}");
        let e = env(&[("BAD", "a\0".into())]);
        assert!(problem(p, &argv(&["true"]), &e, 1 << 20).is_some_and(|m| m.contains("`BAD`")));
        // One string: 131071 bytes with its NUL is the most.
        let fits = env(&[("A", "x".repeat(MAX_ARG_STRLEN - 3))]);
        assert_eq!(problem(p, &argv(&["true"]), &fits, 1 << 20), None);
        let over = env(&[("A", "x".repeat(MAX_ARG_STRLEN - 2))]);
        let m = problem(p, &argv(&["true"]), &over, 1 << 20).unwrap_or_default();
        assert!(
            m.contains("variable `A` (from os) is 128.0 KiB") && m.contains("E2BIG"),
            "{m}"
        );
        let long = format!("--token={}", "s".repeat(MAX_ARG_STRLEN));
        let m = problem(p, &argv(&["true", &long]), &none, 1 << 30).unwrap_or_default();
        assert!(m.starts_with("argument 1 is 128.0 KiB long"), "{m}");
        assert!(!m.contains("--token"), "never shown: {m}");
        // The total: strings and pointers against the limit, exactly.
        let e = env(&[("B", "y".repeat(1000))]);
        let need = "/bin/true".len() + 1 + "true".len() + 1 + 1003 + 2 * PTR;
        assert_eq!(problem(p, &argv(&["true"]), &e, need), None);
        let m = problem(p, &argv(&["true"]), &e, need - 1).unwrap_or_default();
        assert!(
            m.contains("largest: variable `B` (from os) 1003 bytes"),
            "{m}"
        );
    }
}
