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
            "",
        ),
        (
            "deep-inline.toml",
            format!("a = {}{}\n", "{b=".repeat(50_000), "}".repeat(50_000)).into_bytes(),
            "supervisor.toml:1:",
            "",
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
        [(file.to_string(), *file, *what), (global, *file, *what), (own, *file, *what), (cert, *file, *what)]
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
