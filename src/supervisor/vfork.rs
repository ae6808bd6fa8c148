//! `clone(CLONE_VM | CLONE_VFORK)` on a stack of its own: what glibc's
//! `posix_spawn` does, for a child that needs steps `posix_spawn` has not
//! (`PR_SET_PDEATHSIG`, limits, credentials; see `forkexec.rs`).
//!
//! Why not `fork`: a fork copies the page tables of the whole supervisor
//! (tokio, the relays' buffers, every thread's stack), then every page the
//! supervisor writes before the child's exec is copied again on a fault, and
//! the exec throws the copy away. Measured on `up` with 200 services, the
//! fork, those faults and the teardown were a quarter of all the CPU time of
//! the start (the services' own shells and `sleep`s the rest). A child that
//! shares our memory costs none of that; the calling thread sleeps until the
//! child has exec'd or exited (`CLONE_VFORK`), so the outcome of the exec is
//! known when this returns, without a pipe.
//!
//! The rules that sharing memory imposes, kept by the caller's `entry`: the
//! child runs on [`STACK`] (never on the parent's stack, which the compiler
//! thinks it owns), allocates nothing, takes no lock, writes no memory but
//! its own stack and the report it was given, and never returns. Every signal
//! is blocked in the calling thread around the clone, so no handler of ours
//! can run in the child (on our memory) before the child has set those
//! dispositions back to the default; the child then empties its mask itself.
//! Other threads of the supervisor run on meanwhile and are not affected.

use std::io;
use std::sync::Mutex;

/// The child's stack: 64 KiB above a guard page, mapped once, reused by
/// every spawn (one at a time: the lock is held across the clone, which
/// returns only when the child is done with it).
static STACK: Mutex<Option<Stack>> = Mutex::new(None);

const STACK_SIZE: usize = 64 * 1024;

struct Stack {
    base: *mut libc::c_void,
    len: usize,
}

// SAFETY: the mapping is only used under `STACK`'s lock.
unsafe impl Send for Stack {}

impl Stack {
    fn map() -> io::Result<Stack> {
        let page = page_size();
        let len = STACK_SIZE + page;
        // SAFETY: a fresh anonymous mapping; nothing else refers to it.
        let base = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                len,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_STACK,
                -1,
                0,
            )
        };
        if base == libc::MAP_FAILED {
            return Err(io::Error::last_os_error());
        }
        // The lowest page: an overflow faults instead of writing below.
        // SAFETY: the first page of the mapping made above.
        if unsafe { libc::mprotect(base, page, libc::PROT_NONE) } != 0 {
            let e = io::Error::last_os_error();
            // SAFETY: unmapping what we mapped; nothing refers to it.
            unsafe { libc::munmap(base, len) };
            return Err(e);
        }
        Ok(Stack { base, len })
    }

    /// The highest address, 16-byte aligned (the stack grows down).
    fn top(&self) -> *mut libc::c_void {
        let end = self.base as usize + self.len;
        (end & !15) as *mut libc::c_void
    }
}

fn page_size() -> usize {
    // SAFETY: sysconf takes an integer.
    match unsafe { libc::sysconf(libc::_SC_PAGESIZE) } {
        n if n > 0 => n as usize,
        _ => 4096,
    }
}

/// Start `entry(arg)` in a child that shares our memory, and return its pid
/// once it has exec'd or exited.
///
/// # Safety
/// `entry` must keep the rules in the module docs, and `arg` must stay
/// valid until this returns (it does: the call returns only then).
pub(super) unsafe fn spawn(
    entry: extern "C" fn(*mut libc::c_void) -> libc::c_int,
    arg: *mut libc::c_void,
) -> io::Result<i32> {
    let mut stack = STACK.lock().unwrap_or_else(|p| p.into_inner());
    if stack.is_none() {
        *stack = Some(Stack::map()?);
    }
    let Some(stack) = stack.as_ref() else {
        return Err(io::Error::other("no stack for the child"));
    };
    // SAFETY: sigset_t is plain data; the calls fill it and swap our
    // thread's mask, restored below whatever the clone did.
    unsafe {
        let mut all: libc::sigset_t = std::mem::zeroed();
        let mut old: libc::sigset_t = std::mem::zeroed();
        libc::sigfillset(&mut all);
        libc::pthread_sigmask(libc::SIG_SETMASK, &all, &mut old);
        let pid = libc::clone(
            entry,
            stack.top(),
            libc::CLONE_VM | libc::CLONE_VFORK | libc::SIGCHLD,
            arg,
        );
        let err = io::Error::last_os_error();
        libc::pthread_sigmask(libc::SIG_SETMASK, &old, std::ptr::null_mut());
        if pid < 0 {
            return Err(err);
        }
        Ok(pid)
    }
}

#[cfg(test)]
mod tests {
    use std::cell::Cell;

    /// The child writes its report into our memory (shared), exits, and
    /// `spawn` returns only after that: the report is there to read.
    #[test]
    fn the_child_shares_memory_and_the_call_waits_for_it() {
        extern "C" fn entry(arg: *mut libc::c_void) -> libc::c_int {
            // SAFETY: `arg` is the Cell below, alive until `spawn` returns.
            let seen = unsafe { &*(arg as *const Cell<i32>) };
            // SAFETY: getpid and _exit take no pointers.
            unsafe {
                seen.set(libc::getpid());
                libc::_exit(7)
            }
        }
        let seen = Cell::new(0);
        let arg = &seen as *const Cell<i32> as *mut libc::c_void;
        // Through the one reaper, which may be running in this test process.
        let reaper = crate::supervisor::reaper::global().expect("reaper");
        let (pid, exit) = reaper
            // SAFETY: the entry only writes the Cell and exits.
            .register(|| unsafe { super::spawn(entry, arg) }, |&p| p)
            .expect("clone");
        assert_eq!(seen.get(), pid, "the child's write is visible at return");
        assert_eq!(
            exit.blocking_recv().ok(),
            Some(crate::supervisor::state::Exit::Code(7))
        );
    }
}
