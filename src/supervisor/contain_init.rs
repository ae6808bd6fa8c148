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
//! fault-around maps) ~1.5–2.5 MiB of our binary's and libc's file pages,
//! though the loop needs a few pages of them. Before the loop the init drops
//! its read-only file mappings that hold no private copy (`Anonymous: 0` in
//! smaps: byte for byte the file) with `MADV_DONTNEED`, so that its RSS is
//! what the loop touches again, not the start-up. Nothing is lost: a page
//! it needs comes back from the page cache on the next touch (issue 17).

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
    shed_file_pages();
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

/// Unmap the pages of every read-only, unmodified file mapping (see the module
/// docs); best effort, any failure just keeps the pages.
fn shed_file_pages() {
    let Ok(smaps) = std::fs::read_to_string("/proc/self/smaps") else {
        return;
    };
    for (start, end) in sheddable(&smaps) {
        // SAFETY: a private, non-writable file mapping without private pages
        // is exactly the file's contents: dropping its page-table entries only
        // makes the next access read them from the page cache again.
        unsafe { libc::madvise(start as *mut libc::c_void, end - start, libc::MADV_DONTNEED) };
    }
}

/// The `(start, end)` of each mapping in `smaps` that is private, not
/// writable, backed by a file (a path), and has no anonymous (copied) page.
fn sheddable(smaps: &str) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    let mut cur: Option<(usize, usize)> = None;
    for line in smaps.lines() {
        let mut f = line.split_whitespace();
        let (Some(first), Some(second)) = (f.next(), f.next()) else {
            continue;
        };
        if let Some((a, b)) = first.split_once('-').filter(|_| !first.ends_with(':')) {
            let path = f.nth(3).unwrap_or("");
            let ro_file = !second.contains('w') && second.ends_with('p') && path.starts_with('/');
            let range = usize::from_str_radix(a, 16)
                .ok()
                .zip(usize::from_str_radix(b, 16).ok());
            cur = range.filter(|_| ro_file);
        } else if first == "Anonymous:" {
            if let Some(r) = cur.take().filter(|_| second == "0") {
                out.push(r);
            }
        }
    }
    out
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

#[cfg(test)]
mod tests {
    use super::sheddable;

    const SMAPS: &str = "\
00200000-0033f000 r--p 00000000 08:01 42 /usr/bin/uaol-supervisor
Rss:                 448 kB
Anonymous:             0 kB
0033f000-006c8000 r-xp 0013f000 08:01 42 /usr/bin/uaol-supervisor
Anonymous:             0 kB
006c8000-006cd000 r--p 004c8000 08:01 42 /usr/bin/uaol-supervisor
Anonymous:            20 kB
006cd000-006d1000 rw-p 004cd000 08:01 42 /usr/bin/uaol-supervisor
Anonymous:             0 kB
7f0000000000-7f0000001000 r--s 00000000 08:01 7 /dev/shm/x
Anonymous:             0 kB
7f817f692000-7f817f694000 r-xp 00000000 00:00 0 [vdso]
Anonymous:             0 kB
7ffeecf0f000-7ffeecf30000 rw-p 00000000 00:00 0 [stack]
Anonymous:             8 kB
";

    #[test]
    fn only_unmodified_private_read_only_file_mappings_are_shed() {
        // Not the relocated (anonymous) r--p, not rw-p, not shared, not [vdso].
        assert_eq!(
            sheddable(SMAPS),
            [(0x200000, 0x33f000), (0x33f000, 0x6c8000)]
        );
        assert!(sheddable("").is_empty());
    }
}
