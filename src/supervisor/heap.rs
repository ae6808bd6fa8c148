//! glibc malloc settings for a long-running, mostly idle supervisor.
//!
//! glibc gives each thread that allocates an arena of its own (a 64 MiB
//! reservation whose first pages, 4–12 KiB, become resident). Our helper
//! threads (reaper, spawner, log writer) allocate little and rarely, so one
//! arena for all is enough: `M_ARENA_MAX = 1`, set before any thread starts.
//! Measured in docs/performance.md ("Where the memory goes").

/// Apply the settings; call first thing in `main` (before any thread).
pub(crate) fn tune() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only changes malloc parameters; no thread exists yet.
    unsafe {
        libc::mallopt(libc::M_ARENA_MAX, 1);
    }
}
