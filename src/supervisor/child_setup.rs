//! A service's exec context (`user`, `group`, `limits`, `umask`, `nice`)
//! applied in the child between fork and exec.
//!
//! Everything is decided in the parent: [`install`] turns the Plan's
//! [`ExecContext`] into plain numbers and arrays *before* fork, and the
//! pre-exec hook only makes async-signal-safe system calls on them (no
//! allocation, no lock, no NSS lookup). Order in the child, each step for a
//! reason:
//!
//! 1. `setrlimit` for every limit — raising a hard limit needs
//!    CAP_SYS_RESOURCE, which `setuid` drops;
//! 2. `setpriority` (`nice`) — a negative value needs CAP_SYS_NICE, same;
//! 3. `umask`;
//! 4. `setgroups` → `setgid` → `setuid` — in that order, because after
//!    `setuid` the process may no longer change its groups.
//!
//! The hook is installed before the spawn path's own (signal mask,
//! `PR_SET_PDEATHSIG`), so the parent-death signal is armed *after* the
//! credentials change — the kernel clears it on any change of the effective
//! uid or gid. When a step fails, the child writes the step and errno to a
//! close-on-exec pipe; [`Report::explain`] turns that into a spawn error
//! naming the step (`setuid(65534): Operation not permitted`), which the
//! errno alone that std passes back cannot say.

use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::process::CommandExt;
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};

use crate::plan::{ExecContext, Resource, RlimitId, RunAs, INFINITY};

/// Set in the *child's* copy of memory once the service's own `nofile` limit
/// is applied, so the spawn path does not then restore the supervisor's
/// original soft limit over it. The parent's copy is never set.
static NOFILE_SET: AtomicBool = AtomicBool::new(false);

/// Whether this (forked) process applied a service's own `nofile` limit.
pub fn nofile_set() -> bool {
    NOFILE_SET.load(Ordering::Relaxed)
}

/// The exec context as numbers, ready for the child.
struct Prepared {
    limits: Vec<(RlimitId, bool, libc::rlimit)>,
    nice: Option<libc::c_int>,
    umask: Option<libc::mode_t>,
    creds: Option<Creds>,
    report: OwnedFd,
}

struct Creds {
    groups: Vec<libc::gid_t>,
    gid: libc::gid_t,
    uid: Option<libc::uid_t>,
}

/// Steps, as written to the report pipe.
const STEP_SETGROUPS: u32 = 1;
const STEP_SETGID: u32 = 2;
const STEP_SETUID: u32 = 3;
const STEP_NICE: u32 = 4;
/// `STEP_LIMIT + i`: the i-th limit.
const STEP_LIMIT: u32 = 100;

/// Reads what the child reported, if a step failed.
#[derive(Debug, Default)]
pub struct Report {
    read: Option<OwnedFd>,
    exec: ExecContext,
}

/// Install the pre-exec hook for `x` on `cmd` (nothing when `x` is empty).
pub fn install(cmd: &mut Command, x: &ExecContext) -> Report {
    if x.is_empty() {
        return Report::default();
    }
    let Ok((read, write)) = report_pipe() else {
        // Without the pipe a failure is still a spawn error, only less precise.
        return Report::default();
    };
    let p = prepare(x, write);
    // SAFETY: `apply` runs in the forked child before exec and makes only
    // async-signal-safe calls (setrlimit, setpriority, umask, setgroups,
    // setgid, setuid, write) on data prepared before fork; it allocates
    // nothing and takes no lock.
    unsafe {
        cmd.pre_exec(move || apply(&p));
    }
    Report {
        read: Some(read),
        exec: x.clone(),
    }
}

impl Report {
    /// The spawn error `err`, replaced by the failed step when the child
    /// reported one. Call after the spawn returned (the write end is closed).
    pub fn explain(&self, err: String) -> String {
        let Some(fd) = &self.read else { return err };
        let mut buf = [0u8; 8];
        // SAFETY: read into a local buffer from a descriptor we own.
        let n = unsafe { libc::read(fd.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len()) };
        if n != 8 {
            return err;
        }
        let step = u32::from_ne_bytes([buf[0], buf[1], buf[2], buf[3]]);
        let errno = i32::from_ne_bytes([buf[4], buf[5], buf[6], buf[7]]);
        let why = io::Error::from_raw_os_error(errno);
        format!("{} failed in the child before exec: {why}", self.step(step))
    }

    fn step(&self, step: u32) -> String {
        let run_as = self.exec.run_as.as_ref();
        let who = run_as
            .and_then(|r| r.user.clone().or(r.group.clone()))
            .unwrap_or_default();
        match step {
            STEP_SETGROUPS => format!("setgroups (supplementary groups of `{who}`)"),
            STEP_SETGID => format!("setgid({})", run_as.map_or(0, |r| r.gid)),
            STEP_SETUID => format!(
                "setuid({}) (user `{who}`)",
                run_as.and_then(|r| r.uid).unwrap_or(0)
            ),
            STEP_NICE => format!(
                "setpriority (nice = {})",
                self.exec.nice.as_ref().map_or(0, |n| n.value)
            ),
            n => {
                let i = n.saturating_sub(STEP_LIMIT) as usize;
                let name = self.exec.limits.get(i).map_or("?", |l| l.resource.name());
                format!("setrlimit (limits.{name})")
            }
        }
    }
}

fn report_pipe() -> io::Result<(OwnedFd, OwnedFd)> {
    let mut fds = [0; 2];
    // SAFETY: pipe2 fills the two-element array; we own both descriptors after.
    let rc = unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC | libc::O_NONBLOCK) };
    if rc != 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: both are fresh descriptors owned by nobody else.
    Ok(unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) })
}

fn rlim(v: u64) -> libc::rlim_t {
    if v == INFINITY {
        libc::RLIM_INFINITY
    } else {
        v as libc::rlim_t
    }
}

fn prepare(x: &ExecContext, report: OwnedFd) -> Prepared {
    let limits = x
        .limits
        .iter()
        .map(|l| {
            let lim = libc::rlimit {
                rlim_cur: rlim(l.soft),
                rlim_max: rlim(l.hard),
            };
            (l.resource.id(), l.resource == Resource::Nofile, lim)
        })
        .collect();
    Prepared {
        limits,
        nice: x.nice.as_ref().map(|n| n.value),
        umask: x.umask.map(|m| m as libc::mode_t),
        creds: x.run_as.as_ref().and_then(creds),
        report,
    }
}

fn creds(r: &RunAs) -> Option<Creds> {
    // SAFETY: geteuid/getegid cannot fail and touch no memory.
    let (euid, egid) = unsafe { (libc::geteuid(), libc::getegid()) };
    // Not root and already that user and group: nothing to switch (and
    // setgroups would fail without CAP_SETGID).
    let already = r.uid.is_none_or(|u| u == euid) && r.gid == egid;
    if euid != 0 && already {
        return None;
    }
    Some(Creds {
        groups: r.groups.clone(),
        gid: r.gid,
        uid: r.uid,
    })
}

/// In the child: every step in order; the first failure is reported.
fn apply(p: &Prepared) -> io::Result<()> {
    let fail = |step: u32| -> io::Error {
        let err = io::Error::last_os_error();
        let errno = err.raw_os_error().unwrap_or(0);
        let mut buf = [0u8; 8];
        buf[..4].copy_from_slice(&step.to_ne_bytes());
        buf[4..].copy_from_slice(&errno.to_ne_bytes());
        // SAFETY: write(2) from a stack buffer; async-signal-safe.
        unsafe { libc::write(p.report.as_raw_fd(), buf.as_ptr().cast(), buf.len()) };
        err
    };
    for (i, (id, nofile, lim)) in p.limits.iter().enumerate() {
        // SAFETY: setrlimit reads a struct built before fork.
        if unsafe { libc::setrlimit(*id, lim) } != 0 {
            return Err(fail(STEP_LIMIT + i as u32));
        }
        if *nofile {
            NOFILE_SET.store(true, Ordering::Relaxed);
        }
    }
    if let Some(n) = p.nice {
        // SAFETY: setpriority on ourselves; no memory is touched.
        if unsafe { libc::setpriority(libc::PRIO_PROCESS, 0, n) } != 0 {
            return Err(fail(STEP_NICE));
        }
    }
    if let Some(m) = p.umask {
        // SAFETY: umask cannot fail and touches no memory.
        unsafe { libc::umask(m) };
    }
    let Some(c) = &p.creds else { return Ok(()) };
    // SAFETY: setgroups reads the array allocated before fork.
    if unsafe { libc::setgroups(c.groups.len() as _, c.groups.as_ptr()) } != 0 {
        return Err(fail(STEP_SETGROUPS));
    }
    // SAFETY: setgid/setuid touch no memory.
    if unsafe { libc::setgid(c.gid) } != 0 {
        return Err(fail(STEP_SETGID));
    }
    if let Some(uid) = c.uid {
        // SAFETY: as above.
        if unsafe { libc::setuid(uid) } != 0 {
            return Err(fail(STEP_SETUID));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::Limit;

    #[test]
    fn a_failed_step_is_named_in_the_spawn_error() {
        // Above fs.nr_open even root cannot set nofile: a step that fails
        // everywhere, so the report path is exercised without privileges.
        let nr_open: u64 = std::fs::read_to_string("/proc/sys/fs/nr_open")
            .ok()
            .and_then(|s| s.trim().parse().ok())
            .unwrap_or(1 << 20);
        let x = ExecContext {
            limits: vec![Limit {
                resource: Resource::Nofile,
                soft: nr_open + 1,
                hard: nr_open + 1,
                at: String::new(),
            }],
            ..ExecContext::default()
        };
        let mut cmd = Command::new("true");
        let report = install(&mut cmd, &x);
        let err = cmd.spawn().expect_err("setrlimit above nr_open fails");
        drop(cmd);
        let msg = report.explain(err.to_string());
        assert!(
            msg.starts_with("setrlimit (limits.nofile) failed in the child before exec: "),
            "{msg}"
        );
    }

    #[test]
    fn an_empty_context_installs_nothing() {
        let mut cmd = Command::new("true");
        let report = install(&mut cmd, &ExecContext::default());
        assert!(report.read.is_none());
        assert_eq!(report.explain("as is".into()), "as is");
    }
}
