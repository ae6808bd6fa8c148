//! fork + exec by hand, so the parent does not wait for the exec.
//!
//! std's `Command::spawn` (with a `pre_exec` hook it must fork) blocks until
//! the child has exec'd or failed: it reads its close-on-exec error pipe
//! before returning. On the event loop that is a round trip per spawn: a
//! restart waits for it and 200 spawns at start run one after another. Here
//! the parent returns right after `fork` with the read end of the same kind
//! of pipe ([`Forked::status`]): EOF when the exec succeeded, or 8 bytes
//! (failed step, errno) written by the child before `_exit(127)`. The caller
//! reads it when it suits it — asynchronously for services (`spawn::Exec`).
//!
//! Everything the child needs is built before `fork` ([`Spec`]: C strings,
//! the pointer arrays, descriptors); between fork and exec the child makes
//! only async-signal-safe calls, in this order: `setpgid`, `dup2` of stdio,
//! `chdir`, the service's exec context (`child_setup.rs`: limits, nice,
//! umask, user), descriptors from 3 up marked close-on-exec, an empty signal
//! mask and default dispositions, the original soft fd limit back,
//! `PR_SET_PDEATHSIG(SIGKILL)` (after the user switch, which would clear it;
//! armed by the forking thread's child, see `spawn.rs`), then
//! `environ = envp` and `execvp` — exactly std's sequence, so the program is
//! looked up in the *child's* `PATH` and a script without `#!` runs under
//! `/bin/sh`, as with std.

use std::ffi::CString;
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};

use super::child_setup::Hook;

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
    /// argv, argv[0] included.
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

/// A forked child whose exec may still be under way.
#[derive(Debug)]
pub(super) struct Forked {
    /// Its pid.
    pub pid: i32,
    /// Read end of its stdout pipe ([`Stdio::Piped`]).
    pub stdout: Option<OwnedFd>,
    /// Read end of its stderr pipe ([`Stdio::Piped`]).
    pub stderr: Option<OwnedFd>,
    /// The exec-status pipe: EOF = exec'd; 8 bytes = `(step, errno)`.
    pub status: OwnedFd,
}

/// A failed step in the child.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Failure {
    /// Which step (`STEP_*` or `child_setup`'s).
    pub step: u32,
    /// Why.
    pub errno: i32,
}

impl Failure {
    /// Decode the 8 bytes the child wrote.
    pub(super) fn decode(b: &[u8]) -> Option<Failure> {
        let b: &[u8; 8] = b.try_into().ok()?;
        Some(Failure {
            step: u32::from_ne_bytes([b[0], b[1], b[2], b[3]]),
            errno: i32::from_ne_bytes([b[4], b[5], b[6], b[7]]),
        })
    }
}

/// Fork and start the exec in the child; returns at once in the parent.
pub(super) fn fork_exec(spec: &Spec) -> io::Result<Forked> {
    let null = dev_null()?;
    let (out, err) = match spec.stdio {
        Stdio::Piped => (Some(pipe()?), Some(pipe()?)),
        _ => (None, None),
    };
    let (status_r, status_w) = pipe()?;
    let argv = ptrs(&spec.argv);
    let envp = ptrs(&spec.envp);
    let fds = ChildFds {
        null,
        out: out.as_ref().map(|(_, w)| w.as_raw_fd()),
        err: err.as_ref().map(|(_, w)| w.as_raw_fd()),
        status: status_w.as_raw_fd(),
    };
    // SAFETY: fork; the child runs only `child` (async-signal-safe calls on
    // memory prepared above) and never returns.
    let pid = unsafe { libc::fork() };
    if pid < 0 {
        return Err(io::Error::last_os_error());
    }
    if pid == 0 {
        // SAFETY: in the forked child.
        unsafe { child(spec, &fds, &argv, &envp) }
    }
    if spec.pgroup {
        // Also here, so a signal to the group cannot miss a child that has
        // not called it yet (EACCES once it exec'd: it did it itself).
        // SAFETY: setpgid on our own child; integers only.
        unsafe { libc::setpgid(pid, pid) };
    }
    Ok(Forked {
        pid,
        stdout: out.map(|(r, _)| r),
        stderr: err.map(|(r, _)| r),
        status: status_r,
    })
}

/// Wait for the exec-status pipe (blocking); `Ok` when the child exec'd.
pub(super) fn wait_blocking(status: &OwnedFd) -> Result<(), Failure> {
    let mut buf = [0u8; 8];
    let mut got = 0;
    while got < buf.len() {
        // SAFETY: read into the rest of a local buffer from a descriptor we own.
        let n = unsafe {
            libc::read(
                status.as_raw_fd(),
                buf[got..].as_mut_ptr().cast(),
                buf.len() - got,
            )
        };
        match n {
            0 => break,
            n if n > 0 => got += n as usize,
            _ if io::Error::last_os_error().kind() == io::ErrorKind::Interrupted => {}
            _ => break,
        }
    }
    match Failure::decode(&buf[..got]) {
        Some(f) => Err(f),
        None => Ok(()),
    }
}

struct ChildFds {
    null: RawFd,
    out: Option<RawFd>,
    err: Option<RawFd>,
    status: RawFd,
}

extern "C" {
    static mut environ: *const *const libc::c_char;
}

/// In the child: every step, then exec; on failure report and `_exit(127)`.
///
/// # Safety
/// Only in a freshly forked child.
unsafe fn child(
    spec: &Spec,
    fds: &ChildFds,
    argv: &[*const libc::c_char],
    envp: &[*const libc::c_char],
) -> ! {
    // SAFETY: in the forked child (the caller's contract): async-signal-safe
    // calls only, on memory prepared before fork.
    unsafe {
        let st = fds.status;
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
        if let Some(hook) = &spec.hook {
            if let Err(step) = hook.apply() {
                fail(st, step);
            }
        }
        reset(&spec.last);
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
        environ = envp.as_ptr();
        libc::execvp(spec.program.as_ptr(), argv.as_ptr());
        fail(st, STEP_EXEC)
    }
}

/// Descriptors from 3 up close-on-exec, an empty signal mask, default
/// dispositions (tokio's and signal-hook's must not leak into services), the
/// original soft fd limit unless the exec context set one.
///
/// # Safety
/// Only in the forked child.
unsafe fn reset(last: &Last) {
    // SAFETY: in the forked child (the caller's contract): async-signal-safe
    // calls only, on memory prepared before fork.
    unsafe {
        if let Some(max) = last.close_from_3 {
            super::contain_sys::mark_cloexec_from_3(max);
        }
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut set);
        libc::sigprocmask(libc::SIG_SETMASK, &set, std::ptr::null_mut());
        for sig in [
            libc::SIGPIPE,
            libc::SIGINT,
            libc::SIGTERM,
            libc::SIGHUP,
            libc::SIGQUIT,
        ] {
            libc::signal(sig, libc::SIG_DFL);
        }
        if last.nofile != 0 && !super::child_setup::nofile_set() {
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
/// Only in the forked child.
unsafe fn fail(fd: RawFd, step: u32) -> ! {
    // SAFETY: in the forked child (the caller's contract): async-signal-safe
    // calls only, on memory prepared before fork.
    unsafe {
        let errno = io::Error::last_os_error().raw_os_error().unwrap_or(0);
        report(fd, step, errno)
    }
}

/// Write `(step, errno)` to the status pipe and leave.
///
/// # Safety
/// Only in the forked child.
unsafe fn report(fd: RawFd, step: u32, errno: i32) -> ! {
    // SAFETY: in the forked child (the caller's contract): async-signal-safe
    // calls only, on memory prepared before fork.
    unsafe {
        let mut buf = [0u8; 8];
        buf[..4].copy_from_slice(&step.to_ne_bytes());
        buf[4..].copy_from_slice(&errno.to_ne_bytes());
        libc::write(fd, buf.as_ptr().cast(), buf.len());
        libc::_exit(127)
    }
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
