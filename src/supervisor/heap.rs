//! glibc malloc settings for a long-running, mostly idle supervisor.
//!
//! - glibc gives each thread that allocates an arena of its own (a 64 MiB
//!   reservation whose first pages, 4–12 KiB, become resident). Our helper
//!   threads (reaper, spawner, log writer) allocate little and rarely, so one
//!   arena for all is enough: `M_ARENA_MAX = 1`, set before any thread starts.
//! - The PID namespace's init (`contain_init`) allocates only while it starts
//!   (its largest block is the text of `/proc/self/smaps`, freed before its
//!   loop, which allocates nothing). glibc keeps up to 128 KiB of free memory
//!   at the top of the heap, resident; the init gives it back at once
//!   (`M_TRIM_THRESHOLD = 0`, `M_TOP_PAD = 0`). Not for `up`: its relays
//!   allocate and free 64 KiB buffers all the time, and trimming each one
//!   would cost a `brk` and fresh page faults per read.
//!
//! Measured in docs/performance.md ("Where the memory goes").

use std::ffi::OsString;

/// Apply the settings; call first thing in `main` (before any thread), with
/// the command line.
pub(crate) fn tune(args: &[OsString]) {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    glibc::tune(
        args.get(1)
            .is_some_and(|a| a == super::contain_sys::INIT_ARG),
    );
    #[cfg(not(all(target_os = "linux", target_env = "gnu")))]
    let _ = args;
}

#[cfg(all(target_os = "linux", target_env = "gnu"))]
mod glibc {
    /// One arena; for the init, no free memory kept at the heap's top.
    pub(super) fn tune(init: bool) {
        // SAFETY: mallopt only changes malloc's parameters; no thread exists yet.
        unsafe {
            libc::mallopt(libc::M_ARENA_MAX, 1);
            if init {
                libc::mallopt(libc::M_TRIM_THRESHOLD, 0);
                libc::mallopt(libc::M_TOP_PAD, 0);
            }
        }
    }
}
