//! A harness for a long-running `up`: start the real binary in its own process
//! group, watch its output as it comes, signal it, wait with a hard timeout.
//! On drop it SIGKILLs the supervisor's group and every service group it
//! announced (`started (pid N)`), so nothing outlives a failing test.
#![allow(dead_code)]

use std::io::Read;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::process::CommandExt;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::support::{kill_group, Fixture};

/// A running `up`.
pub(crate) struct Up {
    child: Child,
    out: Arc<Mutex<String>>,
    status: Option<ExitStatus>,
    /// The master side of its controlling terminal, if it has one (closing
    /// it would hang the terminal up).
    tty: Option<OwnedFd>,
}

impl Up {
    /// Start `uaol-supervisor ARGS` in the fixture dir.
    pub(crate) fn start(f: &Fixture, args: &[&str]) -> Up {
        Up::spawn(f.cmd(args))
    }

    /// Start `uaol-supervisor ARGS` as the leader of a session whose
    /// controlling terminal is a fresh pty (as in a terminal window).
    pub(crate) fn start_on_terminal(f: &Fixture, args: &[&str]) -> Up {
        let (mut master, mut slave) = (-1, -1);
        // SAFETY: openpty(3) writes two fds; null name/termios/winsize are allowed.
        let rc = unsafe {
            libc::openpty(
                &mut master,
                &mut slave,
                std::ptr::null_mut(),
                std::ptr::null(),
                std::ptr::null(),
            )
        };
        assert_eq!(rc, 0, "openpty");
        // SAFETY: both fds were just opened by openpty and are owned here.
        let (master, slave) =
            unsafe { (OwnedFd::from_raw_fd(master), OwnedFd::from_raw_fd(slave)) };
        let mut cmd = f.cmd(args);
        let raw = slave.as_raw_fd();
        // SAFETY: setsid(2) and ioctl(TIOCSCTTY) only, between fork and exec.
        unsafe {
            cmd.pre_exec(move || {
                if libc::setsid() < 0 || libc::ioctl(raw, libc::TIOCSCTTY, 0) < 0 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
        let mut up = Up::spawn_as(cmd, false);
        drop(slave);
        up.tty = Some(master);
        up
    }

    /// Start an arbitrary command (e.g. wrapped in `unshare`).
    pub(crate) fn spawn(cmd: Command) -> Up {
        Up::spawn_as(cmd, true)
    }

    fn spawn_as(mut cmd: Command, own_group: bool) -> Up {
        cmd.stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        if own_group {
            cmd.process_group(0);
        }
        let mut child = cmd.spawn().expect("spawn");
        let out = Arc::new(Mutex::new(String::new()));
        for mut r in [
            Box::new(child.stdout.take().unwrap()) as Box<dyn Read + Send>,
            Box::new(child.stderr.take().unwrap()),
        ] {
            let out = Arc::clone(&out);
            std::thread::spawn(move || {
                let mut buf = [0u8; 8192];
                while let Ok(n) = r.read(&mut buf) {
                    if n == 0 {
                        break;
                    }
                    out.lock()
                        .unwrap()
                        .push_str(&String::from_utf8_lossy(&buf[..n]));
                }
            });
        }
        Up {
            child,
            out,
            status: None,
            tty: None,
        }
    }

    /// The supervisor's pid.
    pub(crate) fn pid(&self) -> i32 {
        self.child.id() as i32
    }

    /// Everything printed so far (stdout and stderr interleaved).
    pub(crate) fn output(&self) -> String {
        self.out.lock().unwrap().clone()
    }

    /// Wait until the output contains `needle`; false on timeout.
    pub(crate) fn wait_for(&self, needle: &str, limit: Duration) -> bool {
        let end = Instant::now() + limit;
        while Instant::now() < end {
            if self.output().contains(needle) {
                return true;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        false
    }

    /// Send a signal to the supervisor (only, not its group).
    pub(crate) fn signal(&self, sig: i32) {
        // SAFETY: kill(2) on our own child's pid; no memory is involved.
        unsafe {
            libc::kill(self.pid(), sig);
        }
    }

    /// Wait for exit; SIGKILL and panic after `limit`.
    pub(crate) fn wait(&mut self, limit: Duration) -> ExitStatus {
        let end = Instant::now() + limit;
        loop {
            if let Some(st) = self.child.try_wait().unwrap() {
                self.status = Some(st);
                std::thread::sleep(Duration::from_millis(50)); // let the readers drain
                return st;
            }
            if Instant::now() >= end {
                self.cleanup();
                panic!(
                    "`up` did not exit within {limit:?}; output:\n{}",
                    self.output()
                );
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Service pids announced in the output (`started (pid N)`).
    pub(crate) fn service_pids(&self) -> Vec<i32> {
        let out = self.output();
        out.match_indices("started (pid ")
            .filter_map(|(i, m)| {
                let rest = &out[i + m.len()..];
                rest[..rest.find(')')?].parse().ok()
            })
            .collect()
    }

    fn cleanup(&mut self) {
        kill_group(self.pid());
        for p in self.service_pids() {
            kill_group(p);
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Up {
    fn drop(&mut self) {
        self.cleanup();
    }
}

/// Whether a process (or, negative, a group) exists; zombies excluded for pids.
pub(crate) fn alive(pid: i32) -> bool {
    if pid > 0 {
        if let Ok(s) = std::fs::read_to_string(format!("/proc/{pid}/stat")) {
            if let Some(state) = s.rsplit(") ").next().and_then(|r| r.chars().next()) {
                return state != 'Z';
            }
        }
        return false;
    }
    // SAFETY: kill(2) with signal 0 only checks for existence.
    unsafe { libc::kill(pid, 0) == 0 }
}

/// Wait until `pred` holds (true) or `limit` passes (false).
pub(crate) fn eventually(limit: Duration, mut pred: impl FnMut() -> bool) -> bool {
    let end = Instant::now() + limit;
    while Instant::now() < end {
        if pred() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    pred()
}

/// A temp project holding just `supervisor.toml` = `toml`.
pub(crate) fn project(toml: &str) -> Fixture {
    let f = Fixture::new();
    f.write("supervisor.toml", toml);
    f
}

/// The text of the first line `svc` printed that contains `what` (after the
/// `name | ` prefix, trimmed); panics with the whole output when there is none.
pub(crate) fn service_line(out: &str, svc: &str, what: &str) -> String {
    out.lines()
        .find(|l| l.starts_with(svc) && l.contains(what))
        .unwrap_or_else(|| panic!("no {what} from {svc}:\n{out}"))
        .split("| ")
        .nth(1)
        .unwrap_or_default()
        .trim()
        .to_string()
}
