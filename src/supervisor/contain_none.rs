//! `contain_sys` where there are no PID namespaces (not Linux): every attempt
//! is refused with that reason, so `auto` falls back to what spawn.rs and
//! adopted.rs do there; the descriptor hygiene of spawn.rs remains.

use std::os::fd::OwnedFd;

use super::contain_refusal::NamespaceRefusal;

const WHY: &str = "PID namespaces exist only on Linux";

/// PidnsRefused: no user namespaces here.
pub fn new_userns() -> Result<(), NamespaceRefusal> {
    Err(NamespaceRefusal(WHY.into()))
}

/// PidnsRefused: no PID namespaces here.
pub fn spawn_init(_waker: &OwnedFd, _userns: bool) -> Result<i32, NamespaceRefusal> {
    Err(NamespaceRefusal(WHY.into()))
}

/// PidnsRefused: no PID namespaces here.
pub fn join(_init: i32) -> Result<(), NamespaceRefusal> {
    Err(NamespaceRefusal(WHY.into()))
}

/// PidnsRefused: no PID namespaces here.
pub fn trial(_userns: bool) -> Result<(), NamespaceRefusal> {
    Err(NamespaceRefusal(WHY.into()))
}

/// Mark descriptors 3..=`max` close-on-exec. Async-signal-safe.
pub fn mark_cloexec_from_3(max: i32) {
    for fd in 3..=max {
        // SAFETY: fcntl on an integer descriptor; a closed one is EBADF.
        unsafe {
            libc::fcntl(fd, libc::F_SETFD, libc::FD_CLOEXEC);
        }
    }
}

/// There is no `close_range` here.
pub fn close_range_cloexec_works() -> bool {
    false
}
