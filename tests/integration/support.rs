//! Fixture builder: a temp dir with supervisor.toml / .env / tiny `sh`
//! services, and a way to run the real binary with a hard timeout that kills
//! its whole process group on overrun.
#![allow(dead_code)]

use std::fs;
use std::io::Read;
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

/// Path of the binary under test.
pub(crate) fn bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_uaol-supervisor"))
}

/// A temp directory to build a project in.
pub(crate) struct Fixture {
    pub dir: tempfile::TempDir,
}

/// What a finished run printed.
#[derive(Debug)]
pub(crate) struct Output {
    pub status: ExitStatus,
    pub stdout: String,
    pub stderr: String,
    pub timed_out: bool,
}

impl Output {
    /// Exit code (None when killed by a signal).
    pub(crate) fn code(&self) -> Option<i32> {
        self.status.code()
    }
    /// stdout + stderr, for leak sweeps.
    pub(crate) fn all(&self) -> String {
        format!("{}{}", self.stdout, self.stderr)
    }
}

impl Fixture {
    pub(crate) fn new() -> Self {
        Fixture {
            dir: tempfile::tempdir().expect("tempdir"),
        }
    }

    pub(crate) fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Write `contents` to `rel` (creating parent directories).
    pub(crate) fn write(&self, rel: &str, contents: &str) -> PathBuf {
        let p = self.path().join(rel);
        if let Some(parent) = p.parent() {
            fs::create_dir_all(parent).expect("mkdir");
        }
        fs::write(&p, contents).expect("write");
        p
    }

    /// Write an executable `sh` script.
    pub(crate) fn script(&self, rel: &str, body: &str) -> PathBuf {
        let p = self.write(rel, &format!("#!/bin/sh\n{body}\n"));
        fs::set_permissions(&p, fs::Permissions::from_mode(0o755)).expect("chmod");
        p
    }

    /// A command for the binary, run in the fixture dir with a minimal, known
    /// environment (so tests do not depend on the developer's shell).
    pub(crate) fn cmd(&self, args: &[&str]) -> Command {
        let mut c = Command::new(bin());
        c.args(args)
            .current_dir(self.path())
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("HOME", self.path())
            .env("NO_COLOR", "1");
        c
    }

    /// Run the binary with `args`, bounded by `timeout`.
    pub(crate) fn run(&self, args: &[&str], timeout: Duration) -> Output {
        run_bounded(&mut self.cmd(args), timeout)
    }
}

/// Run `cmd` in its own process group; on overrun SIGKILL the whole group.
pub(crate) fn run_bounded(cmd: &mut Command, timeout: Duration) -> Output {
    cmd.stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0);
    let mut child = cmd.spawn().expect("spawn binary");
    let pgid = child.id() as i32;
    let mut out = child.stdout.take().expect("stdout");
    let mut err = child.stderr.take().expect("stderr");
    let t_out = std::thread::spawn(move || {
        let mut s = Vec::new();
        let _ = out.read_to_end(&mut s);
        s
    });
    let t_err = std::thread::spawn(move || {
        let mut s = Vec::new();
        let _ = err.read_to_end(&mut s);
        s
    });
    let deadline = Instant::now() + timeout;
    let mut timed_out = false;
    let status = loop {
        if let Some(st) = child.try_wait().expect("try_wait") {
            break st;
        }
        if Instant::now() >= deadline {
            timed_out = true;
            kill_group(pgid);
            break child.wait().expect("wait");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    // Whatever the binary left in its group must not outlive the test.
    kill_group(pgid);
    let stdout = String::from_utf8_lossy(&t_out.join().unwrap_or_default()).into_owned();
    let stderr = String::from_utf8_lossy(&t_err.join().unwrap_or_default()).into_owned();
    Output {
        status,
        stdout,
        stderr,
        timed_out,
    }
}

/// SIGKILL a process group, ignoring "no such process".
pub(crate) fn kill_group(pgid: i32) {
    // SAFETY: kill(2) with a negative pid signals a process group; no memory is touched.
    unsafe {
        libc::kill(-pgid, libc::SIGKILL);
    }
}

/// Send `sig` to a process group, ignoring "no such process".
pub(crate) fn kill_group_with(pgid: i32, sig: i32) {
    // SAFETY: kill(2) with a negative pid signals a process group; no memory is touched.
    unsafe {
        libc::kill(-pgid, sig);
    }
}

/// A test's environmental prerequisite. Missing → the test **fails**, with
/// the reason: a test that prints "skipped" and passes proves nothing, and CI
/// (root, with `unshare`, `runuser` and python3) has all of them. A developer
/// on a machine without them can opt out knowingly with
/// `UAOL_TEST_ALLOW_SKIP=1`; then the test prints why and returns.
/// Returns whether the test should go on.
#[must_use]
pub(crate) fn prerequisite(ok: bool, what: &str) -> bool {
    if ok {
        return true;
    }
    if std::env::var_os("UAOL_TEST_ALLOW_SKIP").is_some_and(|v| v == "1") {
        eprintln!("SKIPPED (UAOL_TEST_ALLOW_SKIP=1): {what}");
        return false;
    }
    panic!("missing prerequisite: {what} (set UAOL_TEST_ALLOW_SKIP=1 to skip knowingly; CI must run it)");
}

/// `systemd-analyze verify` of `units` (names in `dir`, found there through
/// SYSTEMD_UNIT_PATH) passes with no complaint other than the two keys this
/// systemd is too old to know (RestartSteps, RestartMaxDelaySec).
pub(crate) fn systemd_verify(dir: &Path, units: &[&str]) {
    let v = Command::new("systemd-analyze")
        .arg("verify")
        .args(units.iter().map(|n| dir.join(n)))
        .env("SYSTEMD_UNIT_PATH", format!("{}:", dir.display()))
        .output()
        .expect("systemd-analyze (scripts/test.sh installs the systemd package)");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&v.stdout),
        String::from_utf8_lossy(&v.stderr)
    );
    let unexpected: Vec<&str> = text
        .lines()
        .filter(|l| {
            !l.contains("Unknown key 'RestartSteps'")
                && !l.contains("Unknown key 'RestartMaxDelaySec'")
        })
        .collect();
    assert!(v.status.success() && unexpected.is_empty(), "{text}");
}
