//! A service's exec context (`user`, `group`, `limits`, `umask`, `nice`)
//! applied in the child between fork and exec.
//!
//! Everything is decided in the parent: [`prepare`] turns the Plan's
//! [`ExecContext`] into plain numbers and arrays *before* the clone, and the
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
//! The hook runs before the spawn path's own steps (signal mask,
//! `PR_SET_PDEATHSIG`), so the parent-death signal is armed *after* the
//! credentials change — the kernel clears it on any change of the effective
//! uid or gid. When a step fails, [`Hook::apply`] returns its number; the
//! spawn path (`forkexec.rs`) writes it with the errno to the exec-status pipe
//! and [`step_name`] turns it into a spawn error naming the step
//! (`setuid(65534): Operation not permitted`), which the errno alone cannot say.

use crate::plan::{ExecContext, Resource, RlimitId, RunAs, INFINITY};

/// The exec context as numbers, ready for the child.
struct Prepared {
    limits: Vec<(RlimitId, bool, libc::rlimit)>,
    nice: Option<libc::c_int>,
    umask: Option<libc::mode_t>,
    creds: Option<Creds>,
}

/// A prepared exec context, applied in the child by [`Hook::apply`].
pub(crate) struct Hook(Prepared);

struct Creds {
    groups: Vec<libc::gid_t>,
    gid: libc::gid_t,
    uid: Option<libc::uid_t>,
}

/// Steps, as written to the exec-status pipe (1..=99 and 100+ are ours).
const STEP_SETGROUPS: u32 = 1;
const STEP_SETGID: u32 = 2;
const STEP_SETUID: u32 = 3;
const STEP_NICE: u32 = 4;
/// `STEP_LIMIT + i`: the i-th limit.
const STEP_LIMIT: u32 = 100;

/// Prepare `x` for the child (`None` when it is empty: nothing to do).
pub(crate) fn prepare(x: &ExecContext) -> Option<Hook> {
    (!x.is_empty()).then(|| Hook(prepared(x)))
}

/// The failed step `step` of `x`, named; `None` if `step` is not one of ours.
pub(crate) fn step_name(x: &ExecContext, step: u32) -> Option<String> {
    let run_as = x.run_as.as_ref();
    let who = run_as
        .and_then(|r| r.user.clone().or(r.group.clone()))
        .unwrap_or_default();
    Some(match step {
        STEP_SETGROUPS => format!("setgroups (supplementary groups of `{who}`)"),
        STEP_SETGID => format!("setgid({})", run_as.map_or(0, |r| r.gid)),
        STEP_SETUID => format!(
            "setuid({}) (user `{who}`)",
            run_as.and_then(|r| r.uid).unwrap_or(0)
        ),
        STEP_NICE => format!(
            "setpriority (nice = {})",
            x.nice.as_ref().map_or(0, |n| n.value)
        ),
        n if n >= STEP_LIMIT => {
            let i = (n - STEP_LIMIT) as usize;
            let name = x.limits.get(i).map_or("?", |l| l.resource.name());
            format!("setrlimit (limits.{name})")
        }
        _ => return None,
    })
}

fn rlim(v: u64) -> libc::rlim_t {
    if v == INFINITY {
        libc::RLIM_INFINITY
    } else {
        v as libc::rlim_t
    }
}

fn prepared(x: &ExecContext) -> Prepared {
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

impl Hook {
    /// In the child: every step in order; whether the service's own
    /// `nofile` limit was applied (so the spawn path does not restore the
    /// supervisor's original soft limit over it), or the number of the first
    /// step that failed (`errno` says why). Async-signal-safe: system calls
    /// on data prepared before the clone, no allocation, no lock, and no
    /// write to memory (the child shares the supervisor's).
    pub(crate) fn apply(&self) -> Result<bool, u32> {
        let p = &self.0;
        let mut nofile_set = false;
        for (i, (id, nofile, lim)) in p.limits.iter().enumerate() {
            // SAFETY: setrlimit reads a struct built before the clone.
            if unsafe { libc::setrlimit(*id, lim) } != 0 {
                return Err(STEP_LIMIT + i as u32);
            }
            nofile_set |= *nofile;
        }
        if let Some(n) = p.nice {
            // SAFETY: setpriority on ourselves; no memory is touched.
            if unsafe { libc::setpriority(libc::PRIO_PROCESS, 0, n) } != 0 {
                return Err(STEP_NICE);
            }
        }
        if let Some(m) = p.umask {
            // SAFETY: umask cannot fail and touches no memory.
            unsafe { libc::umask(m) };
        }
        let Some(c) = &p.creds else {
            return Ok(nofile_set);
        };
        // SAFETY: setgroups reads the array allocated before the clone.
        if unsafe { libc::setgroups(c.groups.len() as _, c.groups.as_ptr()) } != 0 {
            return Err(STEP_SETGROUPS);
        }
        // SAFETY: setgid/setuid touch no memory.
        if unsafe { libc::setgid(c.gid) } != 0 {
            return Err(STEP_SETGID);
        }
        if let Some(uid) = c.uid {
            // SAFETY: as above.
            if unsafe { libc::setuid(uid) } != 0 {
                return Err(STEP_SETUID);
            }
        }
        Ok(nofile_set)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::Limit;

    #[test]
    fn a_failed_step_is_returned_and_named() {
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
        let hook = prepare(&x).expect("a limit is something to do");
        // In a child: setrlimit changes the calling process.
        // SAFETY: the child only calls `apply` (system calls) and `_exit`.
        let pid = unsafe { libc::fork() };
        assert!(pid >= 0);
        if pid == 0 {
            let code = match hook.apply() {
                Err(step) => step as i32 - STEP_LIMIT as i32,
                Ok(_) => 99,
            };
            // SAFETY: leaving the forked child without running destructors.
            unsafe { libc::_exit(code) };
        }
        let mut status = 0;
        // SAFETY: waiting for the child we forked.
        assert_eq!(unsafe { libc::waitpid(pid, &mut status, 0) }, pid);
        assert_eq!(libc::WEXITSTATUS(status), 0, "the first limit failed");
        assert_eq!(
            step_name(&x, STEP_LIMIT).as_deref(),
            Some("setrlimit (limits.nofile)")
        );
        assert_eq!(step_name(&x, 0), None);
    }

    #[test]
    fn an_empty_context_prepares_nothing() {
        assert!(prepare(&ExecContext::default()).is_none());
    }
}
