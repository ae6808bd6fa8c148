//! The init of the services' PID namespace: our own binary, exec'd by
//! `contain_sys::spawn_init` as `uaol-supervisor __pidns-init FD`.
//!
//! It has one job besides existing: reap the orphans that re-parent to it (a
//! daemon's grandchildren, whatever a service left behind), and after each
//! round write a byte to FD — the supervisor's reaper wake socket — so that
//! "is this process group empty yet?" is re-checked when a group member it
//! reaped was the last one. Its life is the namespace's: it dies with `up`
//! (parent-death signal, set before exec), and when it dies the kernel kills
//! everything in the namespace. It never spawns anything itself — services
//! are `up`'s own children.
//!
//! Single-threaded, no allocation in the loop, no timer: it sleeps in
//! `sigwaitinfo(SIGCHLD)`.
//!
//! Memory: the exec and the runtime's start-up touch (and the kernel's
//! fault-around maps) ~1.5–2.5 MiB of our binary's file pages, though the
//! loop needs a few of them: before the loop the init gives them back
//! (`shed.rs`), so that its RSS is what the loop touches again (issue 17).

use std::ffi::OsString;

use super::contain_sys::INIT_ARG;

/// The init's argument, given by hand (only `contain` may exec us so).
#[derive(Debug, thiserror::Error)]
#[error("`{}` is internal to uaol-supervisor", INIT_ARG)]
pub(crate) struct InternalArgument;

/// If `args` ask for the namespace init, run it (never returns normally
/// while the namespace lives); `None` for every other command line.
pub(crate) fn entry(args: &[OsString]) -> Option<Result<u8, InternalArgument>> {
    if args.get(1).is_none_or(|a| a != INIT_ARG) {
        return None;
    }
    let fd = args
        .get(2)
        .and_then(|a| a.to_str())
        .and_then(|a| a.parse::<i32>().ok());
    // SAFETY: getpid takes no arguments.
    let pid = unsafe { libc::getpid() };
    match fd {
        Some(fd) if pid == 1 => Some(Ok(run(fd))),
        _ => Some(Err(InternalArgument)),
    }
}

fn run(waker: i32) -> u8 {
    if supervisor_gone(waker) {
        return 0;
    }
    super::shed::file_pages();
    // SAFETY: plain system calls on locals; we are single-threaded.
    unsafe {
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut set);
        libc::sigaddset(&mut set, libc::SIGCHLD);
        libc::sigprocmask(libc::SIG_BLOCK, &set, std::ptr::null_mut());
        loop {
            if reap_all() {
                // Non-blocking socket: a full buffer already means "wake up".
                libc::write(waker, [0u8].as_ptr().cast(), 1);
            }
            libc::sigwaitinfo(&set, std::ptr::null_mut());
        }
    }
}

/// Reap every exited child; whether any was.
fn reap_all() -> bool {
    let mut any = false;
    loop {
        let mut status = 0;
        // SAFETY: waitpid writes the status into our local.
        let pid = unsafe { libc::waitpid(-1, &mut status, libc::WNOHANG) };
        if pid <= 0 {
            return any;
        }
        any = true;
    }
}

/// `up` died between our clone and the parent-death signal taking effect: its
/// end of the wake socket is closed.
fn supervisor_gone(waker: i32) -> bool {
    let mut p = libc::pollfd {
        fd: waker,
        events: libc::POLLOUT,
        revents: 0,
    };
    // SAFETY: poll on one pollfd we own, no timeout.
    let n = unsafe { libc::poll(&mut p, 1, 0) };
    n < 0 || p.revents & (libc::POLLHUP | libc::POLLERR | libc::POLLNVAL) != 0
}
