//! The system calls behind `contain = "pidns"`, each returning a sentence
//! (why the kernel refused) instead of a bare errno, because `check` and
//! `status` show that sentence to the user.
//!
//! - [`new_userns`]: as a normal user, put this whole process in a user
//!   namespace that maps our uid and gid to themselves (services see their
//!   usual ids). The kernel demands a single-threaded caller.
//! - [`spawn_init`]: `clone(CLONE_NEWPID)` a child that is PID 1 of a new PID
//!   namespace, tied to this thread by `PR_SET_PDEATHSIG(SIGKILL)`, and exec
//!   it as the init (`contain_init.rs`). A raw `clone` (not `std::process`):
//!   std cannot create a namespace for a child without also changing ours.
//! - [`join`]: `setns(CLONE_NEWPID)` to that namespace: from then on the
//!   children of *this thread* land in it, while staying our children (their
//!   pids from `fork` are the ones we see, we reap them) — so nothing else in
//!   the supervisor changes. Allowed for a multi-threaded process (only a user
//!   namespace `setns` is not).

use std::ffi::CString;
use std::fs;
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};

use super::contain_refusal::NamespaceRefusal;

/// The argument that makes our binary the namespace init (see `contain_init.rs`).
pub(super) const INIT_ARG: &str = "__pidns-init";

/// Put this process in a user namespace mapping our euid/egid to themselves.
pub(super) fn new_userns() -> Result<(), NamespaceRefusal> {
    // SAFETY: geteuid/getegid cannot fail and take no pointers.
    let (uid, gid) = unsafe { (libc::geteuid(), libc::getegid()) };
    // SAFETY: unshare takes a flag word; no pointers.
    if unsafe { libc::unshare(libc::CLONE_NEWUSER) } != 0 {
        return Err(userns_refused(&io::Error::last_os_error()).into());
    }
    let map = |file: &str, text: String| {
        fs::write(format!("/proc/self/{file}"), text)
            .map_err(|e| format!("cannot write /proc/self/{file} in the new user namespace: {e}"))
    };
    map("uid_map", format!("{uid} {uid} 1"))?;
    map("setgroups", "deny".into())?;
    map("gid_map", format!("{gid} {gid} 1"))?;
    Ok(())
}

fn userns_refused(e: &io::Error) -> String {
    match e.raw_os_error() {
        Some(libc::EPERM) => "unprivileged user namespaces are not allowed here (a sysctl such as kernel.unprivileged_userns_clone, a seccomp policy, or a container runtime refuses them)".into(),
        Some(libc::ENOSPC) => "the user namespace limit is reached (/proc/sys/user/max_user_namespaces)".into(),
        Some(libc::EINVAL) => "the process is already multi-threaded (a bug: please report it)".into(),
        Some(libc::ENOSYS) => "the kernel has no user namespaces".into(),
        _ => format!("cannot create a user namespace: {e}"),
    }
}

fn pidns_refused(e: &io::Error, userns: bool) -> String {
    match e.raw_os_error() {
        Some(libc::EPERM) if userns => "a PID namespace inside the user namespace was refused (an LSM such as AppArmor's kernel.apparmor_restrict_unprivileged_userns, or a seccomp policy)".into(),
        Some(libc::EPERM) => "a PID namespace was refused (no CAP_SYS_ADMIN — a container without it, or a seccomp policy)".into(),
        Some(libc::ENOSPC) => "the PID namespace limit is reached (/proc/sys/user/max_pid_namespaces)".into(),
        Some(libc::EINVAL) | Some(libc::ENOSYS) => "the kernel has no PID namespaces".into(),
        _ => format!("cannot create a PID namespace: {e}"),
    }
}

/// What the cloned child needs, prepared before the clone (it may not allocate).
struct Exec {
    path: CString,
    argv: Vec<CString>,
    null: CString,
}

impl Exec {
    fn new(waker: RawFd) -> Exec {
        let c = |s: String| CString::new(s).unwrap_or_default();
        Exec {
            path: c("/proc/self/exe".into()),
            argv: vec![
                c("uaol-supervisor".into()),
                c(INIT_ARG.into()),
                c(waker.to_string()),
            ],
            null: c("/dev/null".into()),
        }
    }
}

/// Clone + exec the namespace init, which keeps `waker` (the reaper's wake
/// socket) open. Returns its pid as we see it.
pub(super) fn spawn_init(waker: &OwnedFd, userns: bool) -> Result<i32, NamespaceRefusal> {
    let exec = Exec::new(waker.as_raw_fd());
    let mut argv: Vec<*const libc::c_char> = exec.argv.iter().map(|a| a.as_ptr()).collect();
    argv.push(std::ptr::null());
    let envp: [*const libc::c_char; 1] = [std::ptr::null()];
    let (err_r, err_w) = cloexec_pipe().map_err(|e| format!("cannot create a pipe: {e}"))?;
    // SAFETY: the child runs only `init_child`, which makes async-signal-safe
    // system calls on memory prepared above, then execs or `_exit`s.
    let pid = unsafe { clone_newpid() };
    if pid == 0 {
        // SAFETY: see above; this never returns.
        unsafe { init_child(&exec, &argv, &envp, waker.as_raw_fd(), err_w.as_raw_fd()) }
    }
    if pid < 0 {
        return Err(pidns_refused(&io::Error::last_os_error(), userns).into());
    }
    drop(err_w);
    let mut errno = [0u8; 4];
    match read_full(&err_r, &mut errno) {
        0 => Ok(pid as i32),
        _ => Err(format!(
            "cannot start the namespace init (/proc/self/exe): {}",
            io::Error::from_raw_os_error(i32::from_ne_bytes(errno))
        )
        .into()),
    }
}

/// In the cloned child (PID 1 of the new namespace), before exec.
///
/// # Safety
/// Only in the child of [`spawn_init`]'s clone: async-signal-safe calls only.
unsafe fn init_child(
    exec: &Exec,
    argv: &[*const libc::c_char],
    envp: &[*const libc::c_char],
    waker: RawFd,
    err_w: RawFd,
) -> ! {
    // SAFETY: the caller guarantees we are the fresh child; every call below is
    // a plain system call on memory that outlives it.
    unsafe {
        libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL, 0, 0, 0);
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut set);
        libc::sigprocmask(libc::SIG_SETMASK, &set, std::ptr::null_mut());
        let null = libc::open(exec.null.as_ptr(), libc::O_RDWR);
        if null >= 0 {
            libc::dup2(null, 0);
            libc::dup2(null, 1);
        }
        mark_cloexec_from_3(1024);
        libc::fcntl(waker, libc::F_SETFD, 0);
        libc::execve(exec.path.as_ptr(), argv.as_ptr(), envp.as_ptr());
        let e = *libc::__errno_location();
        libc::write(err_w, (&e as *const i32).cast(), 4);
        libc::_exit(127)
    }
}

/// Mark every descriptor from 3 up close-on-exec: `close_range` (Linux 5.11+),
/// else a loop up to `fallback_max`. Async-signal-safe.
pub(super) fn mark_cloexec_from_3(fallback_max: i32) {
    // SAFETY: close_range/fcntl take integers only; marking a descriptor
    // close-on-exec cannot break this process before exec.
    unsafe {
        let r = libc::syscall(
            libc::SYS_close_range,
            3 as libc::c_uint,
            libc::c_uint::MAX,
            libc::CLOSE_RANGE_CLOEXEC as libc::c_uint,
        );
        if r != 0 {
            for fd in 3..=fallback_max {
                libc::fcntl(fd, libc::F_SETFD, libc::FD_CLOEXEC);
            }
        }
    }
}

/// Whether `close_range(…, CLOSE_RANGE_CLOEXEC)` works here (Linux 5.11+).
pub(super) fn close_range_cloexec_works() -> bool {
    // SAFETY: a range of descriptors that cannot exist; integers only.
    unsafe {
        libc::syscall(
            libc::SYS_close_range,
            libc::c_uint::MAX - 1,
            libc::c_uint::MAX,
            libc::CLOSE_RANGE_CLOEXEC as libc::c_uint,
        ) == 0
    }
}

/// Make this thread's future children land in `init`'s PID namespace.
pub(super) fn join(init: i32) -> Result<(), NamespaceRefusal> {
    let ns = fs::File::open(format!("/proc/{init}/ns/pid"))
        .map_err(|e| format!("cannot open the new PID namespace: {e}"))?;
    // SAFETY: setns takes a descriptor we own for the duration of the call.
    if unsafe { libc::setns(ns.as_raw_fd(), libc::CLONE_NEWPID) } != 0 {
        return Err(format!(
            "cannot enter the new PID namespace: {}",
            io::Error::last_os_error()
        )
        .into());
    }
    Ok(())
}

/// For `check`: would [`new_userns`] (when `userns`) and a PID namespace work?
/// Tried in a forked child, so this process stays as it is.
pub(super) fn trial(userns: bool) -> Result<(), NamespaceRefusal> {
    let (r, w) = cloexec_pipe().map_err(|e| format!("cannot create a pipe: {e}"))?;
    // SAFETY: fork; the child below only makes system calls and allocates
    // (`check` is single-threaded when it asks), then `_exit`s.
    let pid = unsafe { libc::fork() };
    if pid < 0 {
        return Err(format!("cannot fork: {}", io::Error::last_os_error()).into());
    }
    if pid == 0 {
        drop(r);
        let msg = match trial_child(userns) {
            Ok(()) => TRIAL_OK.to_owned(),
            Err(e) => e.0,
        };
        // SAFETY: writing our own buffer to our own pipe, then leaving.
        unsafe {
            libc::write(w.as_raw_fd(), msg.as_ptr().cast(), msg.len());
            libc::_exit(0)
        }
    }
    drop(w);
    let mut buf = vec![0u8; 1024];
    let n = read_full(&r, &mut buf);
    let mut status = 0;
    // SAFETY: waiting for the child we just forked.
    unsafe { libc::waitpid(pid, &mut status, 0) };
    match &buf[..n] {
        b if b == TRIAL_OK.as_bytes() => Ok(()),
        [] => Err(format!("the namespace trial ended abnormally (wait status {status})").into()),
        b => Err(String::from_utf8_lossy(b).into_owned().into()),
    }
}

/// What a successful trial child writes (an empty pipe means it died).
const TRIAL_OK: &str = "ok";

fn trial_child(userns: bool) -> Result<(), NamespaceRefusal> {
    if userns {
        new_userns()?;
    }
    // SAFETY: the child exits at once.
    let pid = unsafe { clone_newpid() };
    if pid == 0 {
        // SAFETY: the child leaves at once.
        unsafe { libc::_exit(0) }
    }
    if pid < 0 {
        return Err(pidns_refused(&io::Error::last_os_error(), userns).into());
    }
    let mut status = 0;
    // SAFETY: waiting for the child we just cloned.
    unsafe { libc::waitpid(pid as i32, &mut status, 0) };
    Ok(())
}

/// `clone(CLONE_NEWPID)` like a fork: 0 in the child (PID 1 of a new PID
/// namespace), its pid in the parent, negative on failure (see errno).
///
/// # Safety
/// As `fork`: the child may only make async-signal-safe calls until it
/// execs or `_exit`s (no CLONE_VM, no new stack).
unsafe fn clone_newpid() -> libc::c_long {
    // SAFETY: the caller upholds the fork rules above.
    unsafe {
        libc::syscall(
            libc::SYS_clone,
            (libc::CLONE_NEWPID | libc::SIGCHLD) as libc::c_ulong,
            0usize,
            0usize,
            0usize,
            0usize,
        )
    }
}

fn cloexec_pipe() -> io::Result<(OwnedFd, OwnedFd)> {
    let mut fds = [0; 2];
    // SAFETY: pipe2 fills the two-element array we own.
    if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) } != 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: both descriptors were just created and are owned by nobody else.
    Ok(unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) })
}

/// Read until EOF or `buf` is full; errors end the read. Returns the count.
fn read_full(fd: &OwnedFd, buf: &mut [u8]) -> usize {
    let mut n = 0;
    while n < buf.len() {
        // SAFETY: reading into the unfilled tail of a buffer we own.
        let r = unsafe { libc::read(fd.as_raw_fd(), buf[n..].as_mut_ptr().cast(), buf.len() - n) };
        match r {
            0 => break,
            r if r > 0 => n += r as usize,
            _ if io::Error::last_os_error().kind() == io::ErrorKind::Interrupted => {}
            _ => break,
        }
    }
    n
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(n: i32) -> io::Error {
        io::Error::from_raw_os_error(n)
    }

    #[test]
    fn refusals_name_the_knob() {
        assert!(userns_refused(&err(libc::ENOSPC)).contains("max_user_namespaces"));
        assert!(userns_refused(&err(libc::EPERM)).contains("not allowed"));
        assert!(pidns_refused(&err(libc::ENOSPC), false).contains("max_pid_namespaces"));
        assert!(pidns_refused(&err(libc::EPERM), false).contains("CAP_SYS_ADMIN"));
        assert!(pidns_refused(&err(libc::EPERM), true).contains("inside the user namespace"));
        assert!(pidns_refused(&err(libc::EIO), true).contains("cannot create a PID namespace"));
    }

    #[test]
    fn the_init_argv_carries_the_wake_descriptor() {
        let e = Exec::new(7);
        let argv: Vec<&str> = e.argv.iter().map(|a| a.to_str().unwrap()).collect();
        assert_eq!(argv, ["uaol-supervisor", INIT_ARG, "7"]);
        assert_eq!(e.path.to_str().unwrap(), "/proc/self/exe");
    }
}
