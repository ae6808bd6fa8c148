//! The spawn itself: a child that shares our memory until its exec.
//!
//! std's `Command::spawn` (with a `pre_exec` hook it must fork) copies the
//! whole process and then blocks on a close-on-exec error pipe until the
//! child has exec'd. Here the child is started with `clone(CLONE_VM |
//! CLONE_VFORK)` (`vfork.rs`): nothing is copied, and the call returns once
//! the child has exec'd or failed — the child writes a failure (failed step,
//! errno) straight into [`Report`], in our memory, before `_exit(127)`, so
//! [`Forked::exec`] is known at return, with no pipe and no second look.
//!
//! Everything the child needs is built before the clone ([`Spec`]: C
//! strings, the pointer arrays, descriptors, the `PATH` candidates of
//! `exec_path.rs`); the child makes only async-signal-safe calls, allocates
//! nothing and writes no memory but its stack and the report, in this order:
//! `setpgid`, `dup2` of stdio, `chdir`, the service's exec context
//! (`child_setup.rs`: limits, nice, umask, user), descriptors from 3 up
//! marked close-on-exec, default dispositions for the signals we handle or
//! ignore and then an empty signal mask (the clone runs with every signal
//! blocked, so none of our handlers can run in the child), the original
//! soft fd limit back, `PR_SET_PDEATHSIG(SIGKILL)` (after the user switch,
//! which would clear it; armed by the cloning thread's child, see
//! `spawn.rs`), then `execve` of each `PATH` candidate with the service's
//! environment — so the program is looked up in the *child's* `PATH` and a
//! script without `#!` runs under `/bin/sh`, as with `execvp`.

use std::cell::Cell;
use std::ffi::CString;
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};

use super::child_setup::Hook;
use super::exec_path::Search;
use super::vfork;

/// Where a child's stdio goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Stdio {
    /// stdin from /dev/null, stdout and stderr to new pipes.
    Piped,
    /// stdin, stdout and stderr from/to /dev/null.
    Null,
    /// All three ours.
    Inherit,
}

/// Steps of ours that can fail in the child (the exec context's are 1..=4
/// and 100+, see `child_setup.rs`).
pub(super) const STEP_EXEC: u32 = 0;
/// `setpgid(0, 0)`.
pub(super) const STEP_SETPGID: u32 = 10;
/// `dup2` of stdio.
pub(super) const STEP_STDIO: u32 = 11;
/// `chdir(cwd)`.
pub(super) const STEP_CHDIR: u32 = 12;
/// `PR_SET_PDEATHSIG`.
pub(super) const STEP_PDEATHSIG: u32 = 13;
/// The parent died before `PR_SET_PDEATHSIG` took effect (ESRCH).
pub(super) const STEP_PARENT: u32 = 14;

/// What to run and how.
pub(super) struct Spec {
    /// The program (looked up in the child's `PATH` when it has no `/`).
    pub program: CString,
    /// argv, `argv[0]` included.
    pub argv: Vec<CString>,
    /// The whole environment, `KEY=value`.
    pub envp: Vec<CString>,
    /// The working directory (`None`: ours).
    pub cwd: Option<CString>,
    /// Stdio.
    pub stdio: Stdio,
    /// Its own process group.
    pub pgroup: bool,
    /// The exec context (user, limits, …).
    pub hook: Option<Hook>,
    /// The last steps' data.
    pub last: Last,
}

/// Plain data for the last steps before exec.
#[derive(Debug, Clone, Copy, Default)]
pub(super) struct Last {
    /// The parent pid the child must see.
    pub parent: libc::pid_t,
    /// The soft fd limit to restore (0 = unchanged).
    pub nofile: u64,
    /// Mark descriptors from 3 up close-on-exec (the highest one to mark by
    /// hand when `close_range` cannot).
    pub close_from_3: Option<i32>,
}

/// A child that has exec'd, or failed to.
#[derive(Debug)]
pub(super) struct Forked {
    /// Its pid.
    pub pid: i32,
    /// Read end of its stdout pipe ([`Stdio::Piped`]).
    pub stdout: Option<OwnedFd>,
    /// Read end of its stderr pipe ([`Stdio::Piped`]).
    pub stderr: Option<OwnedFd>,
    /// Whether it exec'd: the failed step otherwise (it exits 127).
    pub exec: Result<(), Failure>,
}

/// A failed step in the child.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Failure {
    /// Which step (`STEP_*` or `child_setup`'s).
    pub step: u32,
    /// Why.
    pub errno: i32,
}

/// Fork and exec; returns once the child has exec'd or failed.
pub(super) fn fork_exec(spec: &Spec) -> io::Result<Forked> {
    let null = dev_null()?;
    let (out, err) = match spec.stdio {
        Stdio::Piped => (Some(pipe()?), Some(pipe()?)),
        _ => (None, None),
    };
    let argv = ptrs(&spec.argv);
    let envp = ptrs(&spec.envp);
    let args = Args {
        spec,
        fds: ChildFds {
            null,
            out: out.as_ref().map(|(_, w)| w.as_raw_fd()),
            err: err.as_ref().map(|(_, w)| w.as_raw_fd()),
        },
        argv: &argv,
        envp: &envp,
        search: Search::new(&spec.program, &spec.argv, &spec.envp),
        report: Report(Cell::new(None)),
    };
    // SAFETY: `entry` keeps vfork's rules (async-signal-safe calls on memory
    // prepared above, writes only to `report`); `args` outlives the call,
    // which returns once the child has exec'd or exited.
    let pid = unsafe { vfork::spawn(entry, &args as *const Args as *mut libc::c_void)? };
    Ok(Forked {
        pid,
        stdout: out.map(|(r, _)| r),
        stderr: err.map(|(r, _)| r),
        exec: args.report.0.get().map_or(Ok(()), Err),
    })
}

/// Where the child writes the step that failed (shared memory: the parent
/// reads it once the clone returned).
struct Report(Cell<Option<Failure>>);

/// Everything the child reads.
struct Args<'a> {
    spec: &'a Spec,
    fds: ChildFds,
    argv: &'a [*const libc::c_char],
    envp: &'a [*const libc::c_char],
    search: Search,
    report: Report,
}

struct ChildFds {
    null: RawFd,
    out: Option<RawFd>,
    err: Option<RawFd>,
}

/// The child's entry on its own stack (`vfork.rs`).
extern "C" fn entry(arg: *mut libc::c_void) -> libc::c_int {
    // SAFETY: `arg` is the `Args` of `fork_exec`, alive until the clone
    // returns; we are the fresh child.
    unsafe { child(&*(arg as *const Args)) }
}

/// In the child: every step, then exec; on failure report and `_exit(127)`.
///
/// # Safety
/// Only in the child of [`fork_exec`]'s clone.
unsafe fn child(a: &Args) -> ! {
    let (spec, fds, st) = (a.spec, &a.fds, &a.report);
    // SAFETY: in the cloned child (the caller's contract): async-signal-safe
    // calls only, on memory prepared before the clone.
    unsafe {
        if spec.pgroup && libc::setpgid(0, 0) != 0 {
            fail(st, STEP_SETPGID);
        }
        let (stdin, out, err) = match spec.stdio {
            Stdio::Piped => (
                fds.null,
                fds.out.unwrap_or(fds.null),
                fds.err.unwrap_or(fds.null),
            ),
            Stdio::Null => (fds.null, fds.null, fds.null),
            Stdio::Inherit => (0, 1, 2),
        };
        for (from, to) in [(stdin, 0), (out, 1), (err, 2)] {
            if from != to && libc::dup2(from, to) < 0 {
                fail(st, STEP_STDIO);
            }
        }
        if let Some(cwd) = &spec.cwd {
            if libc::chdir(cwd.as_ptr()) != 0 {
                fail(st, STEP_CHDIR);
            }
        }
        let mut nofile_set = false;
        if let Some(hook) = &spec.hook {
            match hook.apply() {
                Ok(set) => nofile_set = set,
                Err(step) => fail(st, step),
            }
        }
        reset(&spec.last, nofile_set);
        #[cfg(target_os = "linux")]
        {
            if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL, 0, 0, 0) != 0 {
                fail(st, STEP_PDEATHSIG);
            }
            // The parent may have died before prctl took effect (inside our
            // PID namespace the parent is outside it: getppid() is 0).
            if libc::getppid() != spec.last.parent {
                report(st, STEP_PARENT, libc::ESRCH);
            }
        }
        let errno = a.search.exec(a.argv.as_ptr(), a.envp.as_ptr());
        report(st, STEP_EXEC, errno)
    }
}

/// The signals we ignore (Rust: SIGPIPE) or handle (tokio: INT, TERM, HUP;
/// the reaper: CHLD), plus QUIT: set back to the default in the child before
/// its mask is emptied, so that none is ignored by a service and none of our
/// handlers runs in the child, on our memory.
const HANDLED: [libc::c_int; 6] = [
    libc::SIGPIPE,
    libc::SIGINT,
    libc::SIGTERM,
    libc::SIGHUP,
    libc::SIGQUIT,
    libc::SIGCHLD,
];

/// Descriptors from 3 up close-on-exec, default dispositions (tokio's and
/// signal-hook's must not leak into services) and then an empty signal mask,
/// the original soft fd limit unless the exec context set one (`nofile_set`).
///
/// # Safety
/// Only in the cloned child.
unsafe fn reset(last: &Last, nofile_set: bool) {
    // SAFETY: in the cloned child (the caller's contract): async-signal-safe
    // calls only, on memory prepared before the clone.
    unsafe {
        if let Some(max) = last.close_from_3 {
            super::contain_sys::mark_cloexec_from_3(max);
        }
        for sig in HANDLED {
            libc::signal(sig, libc::SIG_DFL);
        }
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut set);
        libc::sigprocmask(libc::SIG_SETMASK, &set, std::ptr::null_mut());
        if last.nofile != 0 && !nofile_set {
            let mut lim: libc::rlimit = std::mem::zeroed();
            if libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) == 0 {
                lim.rlim_cur = last.nofile as libc::rlim_t;
                libc::setrlimit(libc::RLIMIT_NOFILE, &lim);
            }
        }
    }
}

/// Report the failed `step` with the current errno and leave.
///
/// # Safety
/// Only in the cloned child.
unsafe fn fail(r: &Report, step: u32) -> ! {
    // SAFETY: in the cloned child (the caller's contract); errno is the
    // cloning thread's, which sleeps until we exit.
    unsafe { report(r, step, *libc::__errno_location()) }
}

/// Write `(step, errno)` into the parent's report and leave.
///
/// # Safety
/// Only in the cloned child.
unsafe fn report(r: &Report, step: u32, errno: i32) -> ! {
    r.0.set(Some(Failure { step, errno }));
    // SAFETY: leaving the child without running anything of the parent's.
    unsafe { libc::_exit(127) }
}

/// A NULL-terminated array of pointers into `v` (valid while `v` is).
fn ptrs(v: &[CString]) -> Vec<*const libc::c_char> {
    v.iter()
        .map(|c| c.as_ptr())
        .chain(std::iter::once(std::ptr::null()))
        .collect()
}

/// A close-on-exec pipe: (read, write).
fn pipe() -> io::Result<(OwnedFd, OwnedFd)> {
    let mut fds = [0; 2];
    // SAFETY: pipe2 fills the two-element array; we own both descriptors after.
    if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) } != 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: both are fresh descriptors owned by nobody else.
    Ok(unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) })
}

/// /dev/null, opened once (close-on-exec; `dup2` in the child clears that).
fn dev_null() -> io::Result<RawFd> {
    static NULL: std::sync::OnceLock<Result<OwnedFd, i32>> = std::sync::OnceLock::new();
    let f = NULL.get_or_init(|| {
        std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .open("/dev/null")
            .map(OwnedFd::from)
            .map_err(|e| e.raw_os_error().unwrap_or(libc::EIO))
    });
    match f {
        Ok(fd) => Ok(fd.as_raw_fd()),
        Err(e) => Err(io::Error::from_raw_os_error(*e)),
    }
}
