//! Giving back the memory of a phase that is over, like the Linux kernel's
//! `free_initmem()`, which frees its `__init` code once booting is done.
//!
//! Why: starting touches much more of our binary than supervising does —
//! reading and checking the configuration (clap, toml, serde, the Plan), the
//! PID namespace's set-up, the database gate (TLS), printing the first lines —
//! and the kernel maps 64 KiB of the file around every page touched
//! (fault-around). Those pages stay mapped, and counted in our RSS and PSS,
//! for as long as `up` runs, though nothing executes them again. So once a
//! phase is over, [`file_pages`] drops the page-table entries of each private
//! read-only file mapping that holds no private copy (`Anonymous: 0` in
//! `/proc/self/smaps`: byte for byte the file) with `MADV_DONTNEED`.
//! Nothing is lost: a page that is needed again comes back from the page
//! cache on its next touch (a minor fault). What a running supervisor touches
//! after that is mostly the code `scripts/symbol-order.sh` puts first in the
//! binary, so it fills few 64 KiB windows (docs/performance.md, "Where the
//! memory goes").
//!
//! When: the PID namespace's init before its loop (`contain_init.rs`); `up`
//! once the start of its services has settled (every one up, failed or
//! waiting to restart, the database gate over: [`start_over`], checked by the
//! runtime after each wake-up — no timer) and again after each reload has
//! been answered (`control/server.rs`, `control/watch.rs`: after the answer
//! is written, which is reload-only code too). Only where [`enable`] was
//! called (`up`): a test binary running supervisors in-process keeps its
//! pages.
//! Best effort and cheap: one read of smaps, one `madvise` per mapping; any
//! failure keeps the pages.

use std::sync::atomic::{AtomicBool, Ordering};

use super::engine::Engine;
use super::tickets::Check;

static ENABLED: AtomicBool = AtomicBool::new(false);

/// Shed after each phase from now on (`up`: a process that lives long).
pub(crate) fn enable() {
    ENABLED.store(true, Ordering::Relaxed);
}

/// Whether [`enable`] was called.
pub(crate) fn enabled() -> bool {
    ENABLED.load(Ordering::Relaxed)
}

/// A phase is over (the start has settled, a reload was answered): give
/// back its file pages, when enabled. (glibc's `malloc_trim(0)` here was
/// measured too: the heap's RSS did not change, so it is not called.)
pub(crate) fn phase_over() {
    if enabled() {
        file_pages();
    }
}

/// The start of `engine`'s services is over: the database gate has opened
/// (or was not needed), no command is in flight, and every service has
/// settled — up (ready, and without a readiness check up for `SETTLE_UP`),
/// ended, failed, waiting out a backoff, or held back by a dependency that
/// did not come up. False while stopping: there is nothing left to save.
pub(super) fn start_over(engine: &Engine) -> bool {
    engine.gate_open
        && engine.stopping.is_none()
        && engine.commands.is_empty()
        && (0..engine.units.len()).all(|i| {
            let u = &engine.units[i];
            u.retired || u.held_back || matches!(engine.up(i), Check::Done | Check::Failed(_))
        })
}

/// Drop the pages of every private read-only file mapping without a private
/// copy (see the module docs); best effort, any failure keeps the pages.
pub(crate) fn file_pages() {
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
