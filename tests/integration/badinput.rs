//! The bad-input sweep: every malformed supervisor.toml / .env under
//! `tests/corpus/config/bad/` (listed in its `CASES` file with the expected
//! exit code, location and message), plus generated ones too big to keep as
//! files. Each must give a clear error naming the place and exit code 3 —
//! never a panic, never a hang.

use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::support::{Fixture, Output};

const T: Duration = Duration::from_secs(20);

fn corpus() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/corpus/config/bad")
}

/// Put `bytes` in place as supervisor.toml, or as `.env` listed by a minimal one.
fn fixture(name: &str, bytes: &[u8]) -> Fixture {
    let f = Fixture::new();
    if name.ends_with(".env") {
        f.write("supervisor.toml", "[supervisor]\nenv_files = [\".env\"]\n");
        std::fs::write(f.path().join(".env"), bytes).expect("write .env");
    } else {
        std::fs::write(f.path().join("supervisor.toml"), bytes).expect("write toml");
    }
    f
}

fn check_case(name: &str, out: &Output, code: i32, location: &str, message: &str) {
    assert!(!out.timed_out, "{name}: timed out");
    assert!(
        !out.stderr.contains("panicked"),
        "{name}: panicked:\n{}",
        out.stderr
    );
    assert_eq!(out.code(), Some(code), "{name}:\n{}", out.stderr);
    assert!(
        out.stderr.contains(location),
        "{name}: no `{location}` in:\n{}",
        out.stderr
    );
    assert!(
        out.stderr.contains(message),
        "{name}: no `{message}` in:\n{}",
        out.stderr
    );
    assert!(
        out.stderr.len() < 10_000,
        "{name}: {} bytes of error output",
        out.stderr.len()
    );
}

/// Run every case of `config/bad/CASES`; returns how many. Called by the one
/// corpus test in `corpus.rs`, which runs the URL cases too.
pub(crate) fn every_config_case_fails_cleanly_naming_the_place() -> usize {
    let cases = std::fs::read_to_string(corpus().join("CASES")).expect("CASES");
    let mut n = 0;
    for line in cases
        .lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
    {
        let cols: Vec<&str> = line.split(" | ").map(str::trim).collect();
        let [name, code, location, message] = cols[..] else {
            panic!("bad CASES line: {line}")
        };
        let bytes = std::fs::read(corpus().join(name)).unwrap_or_else(|e| panic!("{name}: {e}"));
        let f = fixture(name, &bytes);
        let mut cmd = f.cmd(&["check", "--no-probe"]);
        cmd.env("PATH", "/usr/bin:/bin");
        let out = crate::support::run_bounded(&mut cmd, T);
        check_case(name, &out, code.parse().expect("code"), location, message);
        n += 1;
    }
    assert!(n >= 30, "only {n} corpus cases");
    n
}

#[test]
fn every_corpus_file_is_listed() {
    let cases = std::fs::read_to_string(corpus().join("CASES")).expect("CASES");
    for entry in std::fs::read_dir(corpus()).expect("corpus dir") {
        let name = entry
            .expect("entry")
            .file_name()
            .into_string()
            .expect("utf-8 name");
        if name != "CASES" {
            assert!(
                cases.contains(&format!("{name} |")),
                "{name} is not in CASES"
            );
        }
    }
}

#[test]
fn generated_huge_and_deep_inputs_fail_cleanly() {
    let huge = "x".repeat(2 << 20);
    let generated: Vec<(&str, Vec<u8>, &str, &str)> = vec![
        (
            "huge-value.env",
            format!("A={huge}\nB=ok\nC=one two\n").into_bytes(),
            ".env:3",
            "quote a value",
        ),
        (
            "huge-key.toml",
            format!("[services.a]\n{} = 1\n", "k".repeat(100_000)).into_bytes(),
            "supervisor.toml:2:1",
            "unknown key `kkkk",
        ),
        (
            "huge-command.toml",
            format!("[services.a]\ncommand = \"{huge}\"\n").into_bytes(),
            "supervisor.toml:2:11",
            "(truncated)",
        ),
        (
            "deep-array.toml",
            format!("a = {}{}\n", "[".repeat(50_000), "]".repeat(50_000)).into_bytes(),
            "supervisor.toml:1:",
            "cannot recurse further; max recursion depth met",
        ),
        (
            "deep-inline.toml",
            format!("a = {}{}\n", "{b=".repeat(50_000), "}".repeat(50_000)).into_bytes(),
            "supervisor.toml:1:",
            "cannot recurse further; max recursion depth met",
        ),
        (
            "long-cycle.toml",
            long_cycle(5000).into_bytes(),
            "supervisor.toml:",
            "dependency cycle: s0 → s1 → s2",
        ),
    ];
    for (name, bytes, location, message) in generated {
        let f = fixture(name, &bytes);
        let out = f.run(&["check", "--no-probe"], T);
        check_case(name, &out, 3, location, message);
    }
}

/// `n` services, each depending on the next, the last on the first.
fn long_cycle(n: usize) -> String {
    (0..n)
        .map(|i| {
            format!(
                "[services.s{i}]\ncommand = \"/bin/sh\"\ndepends_on = [\"s{}\"]\n",
                (i + 1) % n
            )
        })
        .collect()
}

/// A FIFO, directory, socket or device named as supervisor.toml, an env file
/// (global or per service) or a certificate is refused with a reason, never
/// read: a FIFO without a writer used to block `check` and `up` forever. The
/// bound is short, so a blocking open fails the test instead of hanging it.
#[test]
fn special_files_are_refused_never_read() {
    use std::os::unix::net::UnixListener;
    const QUICK: Duration = Duration::from_secs(5);
    let f = Fixture::new();
    nix::unistd::mkfifo(&f.path().join("fifo"), nix::sys::stat::Mode::S_IRWXU).expect("mkfifo");
    let _socket = UnixListener::bind(f.path().join("socket")).expect("socket");
    std::fs::create_dir(f.path().join("dir")).expect("mkdir");
    let svc = "[services.a]\ncommand = [\"sh\", \"-c\", \"true\"]\n";
    f.write("ok.toml", svc);
    let cases: Vec<(String, &str, &str)> = [
        ("fifo", "a FIFO (named pipe)"),
        ("socket", "a socket"),
        ("dir", "a directory"),
        ("/dev/zero", "a character device"),
        ("/dev/stdin", "not a regular file"),
    ]
    .iter()
    .flat_map(|(file, what)| {
        let name = |n: &str| f.write(n, "").display().to_string();
        let global = name(&format!("global-{}.toml", file.replace('/', "_")));
        std::fs::write(&global, format!("[supervisor]\nenv_files = [{file:?}]\n\n{svc}"))
            .expect("write");
        let own = name(&format!("own-{}.toml", file.replace('/', "_")));
        std::fs::write(&own, format!("{svc}env_file = {file:?}\n")).expect("write");
        let cert = name(&format!("cert-{}.toml", file.replace('/', "_")));
        std::fs::write(&cert, format!("[database]\nurl = \"postgresql://u:pw@db.internal:5432/app?sslmode=verify-full&sslrootcert={file}\"\nprobe = false\n\n{svc}")).expect("write");
        let key = name(&format!("key-{}.toml", file.replace('/', "_")));
        std::fs::write(&key, format!("[database]\nurl = \"postgresql://u:pw@db.internal:5432/app?sslmode=require&sslkey={file}\"\nprobe = false\n\n{svc}")).expect("write");
        [
            (file.to_string(), *file, *what),
            (global, *file, *what),
            (own, *file, *what),
            (cert, *file, *what),
            (key, *file, *what),
        ]
    })
    .collect();
    for (config, file, what) in &cases {
        for args in [
            &["check", "--no-probe"][..],
            &["up"],
            &["env", "a"],
            &["status"],
        ] {
            let mut cmd = f.cmd(&[&["-c", config.as_str()][..], args].concat());
            cmd.env("PATH", "/usr/bin:/bin");
            let out = crate::support::run_bounded(&mut cmd, QUICK);
            let name = format!("{config} {args:?}");
            assert!(!out.timed_out, "{name}: blocked on {file}");
            if args[0] == "status" {
                // status reads supervisor.toml only (for the socket path), canonicalized.
                let refused = out.code() != Some(0) && out.stderr.contains("not a regular file");
                assert!(config != file || refused, "{name}:\n{}", out.all());
                continue;
            }
            assert!(!out.stderr.contains("panicked"), "{name}:\n{}", out.stderr);
            assert_eq!(out.code(), Some(3), "{name}:\n{}", out.all());
            assert!(
                out.stderr.contains(file),
                "{name}: no `{file}` in:\n{}",
                out.stderr
            );
            assert!(
                out.stderr.contains("not a regular file") && out.stderr.contains(what),
                "{name}: no `{what}` in:\n{}",
                out.stderr
            );
        }
    }
}

/// What `up` used to fail to spawn after `check` said OK is a `check` error
/// naming the cause: a `#!` interpreter or ELF loader that does not exist, a
/// script with Windows line endings, a NUL byte in an argument. (E2BIG has
/// its own test below; NUL cases are in the corpus too.)
#[test]
fn what_exec_would_refuse_is_a_check_error() {
    let f = Fixture::new();
    f.write("missing.js", "#!/nonexistent/node\nconsole.log(1)\n");
    f.write("crlf.sh", "#!/bin/sh\r\necho hi\r\n");
    f.write("nested.sh", "#!./missing.js\n");
    f.write("env.js", "#!/usr/bin/env no-such-node-uaol\n");
    let sh = std::fs::read(std::fs::canonicalize("/bin/sh").unwrap()).unwrap();
    let loader = [
        "/lib64/ld-linux-x86-64.so.2",
        "/lib/ld-linux-aarch64.so.1",
        "/lib/ld-musl-x86_64.so.1",
    ]
    .into_iter()
    .find(|l| sh.windows(l.len()).any(|w| w == l.as_bytes()))
    .expect("/bin/sh's dynamic loader");
    let foreign = loader.replacen("lib", "zzz", 1);
    let pos = sh
        .windows(loader.len())
        .position(|w| w == loader.as_bytes())
        .unwrap();
    let mut bin = sh.clone();
    bin[pos..pos + loader.len()].copy_from_slice(foreign.as_bytes());
    std::fs::write(f.path().join("foreign"), bin).unwrap();
    for name in ["missing.js", "crlf.sh", "nested.sh", "foreign", "env.js"] {
        let p = f.path().join(name);
        std::fs::set_permissions(&p, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    }
    let cases = [
        (
            "[\"./missing.js\"]",
            "needs its interpreter `/nonexistent/node` (from its `#!` line), which does not exist",
        ),
        (
            "\"./crlf.sh\"",
            "crlf.sh has Windows (CRLF) line endings: its `#!` line ends in a carriage return, which the kernel keeps as part of `/bin/sh\\r`",
        ),
        (
            "[\"./nested.sh\"]",
            "missing.js needs its interpreter `/nonexistent/node`",
        ),
        (
            "[\"./foreign\"]",
            &format!("needs its dynamic loader `{foreign}`"),
        ),
        (
            "[\"echo\", \"a\\u0000b\"]",
            "argument 1 contains a NUL byte",
        ),
        (
            "[\"./env.js\"]",
            "runs `no-such-node-uaol` through `/usr/bin/env` (its `#!` line), but `no-such-node-uaol` not found on the service's PATH",
        ),
    ];
    for (command, message) in cases {
        f.write(
            "supervisor.toml",
            &format!("[services.app]\ncommand = {command}\nrestart = \"never\"\n"),
        );
        for args in [&["check", "--no-probe"][..], &["up"]] {
            let out = f.run(args, T);
            assert!(!out.timed_out, "{command} {args:?}: timed out");
            assert_eq!(out.code(), Some(3), "{command} {args:?}:\n{}", out.all());
            assert!(
                out.stderr
                    .contains("supervisor.toml:2:11: services.app.command: "),
                "{}",
                out.stderr
            );
            assert!(
                out.stderr.contains(message),
                "{command}: no `{message}` in:\n{}",
                out.stderr
            );
        }
    }
}

/// The spawn-time message names the missing interpreter too: a service whose
/// script deletes its own interpreter passes `check`, runs once, and its
/// restart fails to spawn (ENOENT) — reported as the interpreter, not as
/// "program not found" for a script that is right there.
#[test]
fn a_spawn_that_fails_on_a_missing_interpreter_names_it() {
    let f = Fixture::new();
    let interp = f.path().join("mysh");
    std::fs::copy("/bin/sh", &interp).unwrap();
    f.write(
        "run.sh",
        &format!(
            "#!{}\nrm -f {}\nexit 1\n",
            interp.display(),
            interp.display()
        ),
    );
    std::fs::set_permissions(
        f.path().join("run.sh"),
        std::os::unix::fs::PermissionsExt::from_mode(0o755),
    )
    .unwrap();
    f.write(
        "supervisor.toml",
        "[services.app]\ncommand = [\"./run.sh\"]\nrestart = \"always\"\nbackoff = { initial = \"50ms\" }\nmax_restarts = 1\n",
    );
    let out = f.run(&["up"], T);
    assert!(!out.timed_out, "up did not end:\n{}", out.all());
    let want = format!("could not start: cannot execute: {}/run.sh needs its interpreter `{}` (from its `#!` line), which does not exist", f.path().display(), interp.display());
    assert!(out.all().contains(&want), "no `{want}` in:\n{}", out.all());
    assert!(!out.all().contains("not found"), "{}", out.all());
}

/// The kernel's limit for argv + environment, computed in the test as
/// fs/exec.c does for this process's stack limit (the binary inherits it).
fn kernel_arg_limit() -> usize {
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit writes into the local struct.
    assert_eq!(unsafe { libc::getrlimit(libc::RLIMIT_STACK, &mut lim) }, 0);
    let stk_lim: u64 = 8 << 20;
    (stk_lim / 4 * 3).min(lim.rlim_cur / 4).max(128 << 10) as usize
}

/// `up` with exactly `vars` as the environment of `/bin/true` (nothing
/// inherited) — what `check` says and whether the real execve accepts it.
fn exec_with_env(vars: &[(String, usize)]) -> (crate::support::Output, crate::support::Output) {
    let f = Fixture::new();
    let env: String = vars
        .iter()
        .map(|(k, n)| format!("{k}={}\n", "x".repeat(*n)))
        .collect();
    std::fs::write(f.path().join(".env"), env).unwrap();
    f.write(
        "supervisor.toml",
        "[supervisor]\ninherit = []\nenv_files = [\".env\"]\n\n[services.t]\ncommand = [\"/bin/true\"]\noneshot = true\n",
    );
    (f.run(&["check", "--no-probe"], T), f.run(&["up"], T))
}

/// E2BIG is computed like the kernel: a single string of 131072 bytes with
/// its NUL runs and one byte more does not; argv + environment exactly at
/// the limit runs and one byte more does not. Each "runs" is the real
/// execve (`up` starting `/bin/true`), each "does not" a `check` error.
#[test]
fn argument_list_limits_match_the_kernel() {
    // "A=" + value + NUL = 131072.
    let (check, up) = exec_with_env(&[("A".into(), 131_072 - 3)]);
    assert_eq!(
        (check.code(), up.code()),
        (Some(0), Some(0)),
        "{}{}",
        check.all(),
        up.all()
    );
    let (check, _) = exec_with_env(&[("A".into(), 131_072 - 2)]);
    assert_eq!(check.code(), Some(3), "{}", check.all());
    assert!(
        check
            .stderr
            .contains("variable `A` (from .env:1) is 128.0 KiB")
            && check.stderr.contains("E2BIG"),
        "{}",
        check.stderr
    );

    // The total: "/bin/true" twice (path and argv[0]) with NULs, every
    // NAME=value with its NUL, one pointer per argument and variable.
    let limit = kernel_arg_limit();
    let fixed = 2 * ("/bin/true".len() + 1) + std::mem::size_of::<usize>();
    let per_var = |k: &str, n: usize| k.len() + n + 2 + std::mem::size_of::<usize>();
    let mut vars = Vec::new();
    let mut total = fixed;
    while total + per_var("V000", 100_000) + per_var("W", 1) <= limit {
        vars.push((format!("V{:03}", vars.len()), 100_000));
        total += per_var("V000", 100_000);
    }
    let last = limit - total - per_var("W", 0);
    vars.push(("W".into(), last));
    // The model against the real execve, directly: at the limit, and over.
    let spawn = |vars: &[(String, usize)]| {
        std::process::Command::new("/bin/true")
            .env_clear()
            .envs(vars.iter().map(|(k, n)| (k.clone(), "x".repeat(*n))))
            .status()
            .map_err(|e| e.raw_os_error())
    };
    assert!(
        spawn(&vars).is_ok_and(|s| s.success()),
        "at the limit ({limit})"
    );
    let mut over = vars.clone();
    over.last_mut().unwrap().1 += 1;
    assert_eq!(
        spawn(&over).err(),
        Some(Some(libc::E2BIG)),
        "one byte over ({limit})"
    );
    let (check, up) = exec_with_env(&vars);
    assert_eq!(
        check.code(),
        Some(0),
        "at the limit ({limit}): {}",
        check.all()
    );
    assert_eq!(
        up.code(),
        Some(0),
        "the kernel refused at the limit ({limit}): {}",
        up.all()
    );
    vars.last_mut().unwrap().1 += 1;
    let (check, up) = exec_with_env(&vars);
    assert_eq!(
        check.code(),
        Some(3),
        "one byte over ({limit}): {}",
        check.all()
    );
    assert!(check.stderr.contains("E2BIG"), "{}", check.stderr);
    assert_eq!(up.code(), Some(3), "{}", up.all());
}
