//! The ONE component that reaps child processes.
//!
//! Why not `tokio::process`: tokio waits for each of its children by pid, and
//! a PID-1 supervisor must also reap orphans it adopts (`waitpid(-1)`), which
//! would steal tokio's statuses (tokio reaps per pid, via SIGCHLD or pidfd; containerd#9979
//! is the same clash in Go). So services and
//! readiness `exec` checks are forked by hand (`forkexec.rs`) and never
//! waited on individually: a single
//! process-wide reaper thread, woken by SIGCHLD through a self-pipe
//! (signal-hook), loops `waitpid(-1, WNOHANG)`, routes the status of every pid
//! registered here to its waiter (a oneshot channel) and discards the status of
//! anything else (adopted orphans). It bumps a tick counter after each round so
//! the runtime can re-check "is this process group empty yet?" — event-driven,
//! no polling.
//!
//! Registration happens under the same lock as the reaping, held across the
//! `fork`, so a child that exits immediately cannot be reaped before its waiter
//! is registered (a child whose `exec` failed exits 127 and is reaped here
//! like any other).
//! The reaper is process-global (one per process, however many runtimes) and
//! works with or without being PID 1; the runtime additionally becomes a child
//! subreaper (`PR_SET_CHILD_SUBREAPER`) so orphaned grandchildren re-parent to
//! us, get reaped, and their deaths wake the group-empty checks. Under
//! `contain = "pidns"` orphans go to the namespace's init instead, which
//! reaps them and writes to our wake socket ([`Reaper::waker`]): every wake
//! bumps the tick, whether or not this process reaped anything.

use std::collections::HashMap;
use std::io::{self, Read};
use std::os::fd::OwnedFd;
use std::os::unix::net::UnixStream;
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};

use nix::errno::Errno;
use nix::sys::wait::{waitpid, WaitPidFlag, WaitStatus};
use nix::unistd::Pid;
use tokio::sync::{oneshot, watch};

use super::state::Exit;

/// The process-wide reaper.
pub(crate) struct Reaper {
    waiting: Mutex<HashMap<i32, oneshot::Sender<Exit>>>,
    tick: watch::Sender<u64>,
    /// Our end of the wake socket, to hand to the namespace init.
    waker: UnixStream,
}

static REAPER: OnceLock<Result<Arc<Reaper>, ReaperError>> = OnceLock::new();

/// The reaper could not start (no socket pair, no SIGCHLD handler, no thread).
#[derive(Debug, Clone, thiserror::Error)]
#[error("cannot start the reaper: {0}")]
pub(crate) struct ReaperError(Arc<io::Error>);

/// The reaper, started on first use.
pub(crate) fn global() -> Result<Arc<Reaper>, ReaperError> {
    REAPER
        .get_or_init(|| start().map_err(|e| ReaperError(Arc::new(e))))
        .clone()
}

fn start() -> io::Result<Arc<Reaper>> {
    let (mut rx, tx) = UnixStream::pair()?;
    tx.set_nonblocking(true)?;
    let waker = tx.try_clone()?;
    signal_hook::low_level::pipe::register(libc::SIGCHLD, tx)?;
    let (tick, _) = watch::channel(0);
    let reaper = Arc::new(Reaper {
        waiting: Mutex::new(HashMap::new()),
        tick,
        waker,
    });
    let r = Arc::clone(&reaper);
    std::thread::Builder::new()
        .name("reaper".into())
        .spawn(move || {
            let mut buf = [0u8; 64];
            loop {
                r.reap_all();
                match rx.read(&mut buf) {
                    Ok(0) => return,
                    Ok(_) => {}
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                    Err(_) => return,
                }
            }
        })?;
    Ok(reaper)
}

impl Reaper {
    fn lock(&self) -> MutexGuard<'_, HashMap<i32, oneshot::Sender<Exit>>> {
        self.waiting.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// For any way of forking (on the spawner thread,
    /// a raw `clone`): run `fork` under the reaping lock and register the pid
    /// `pid_of` reads from its result.
    pub(crate) fn register<T, E>(
        &self,
        fork: impl FnOnce() -> Result<T, E>,
        pid_of: impl Fn(&T) -> i32,
    ) -> Result<(T, oneshot::Receiver<Exit>), E> {
        let mut waiting = self.lock();
        let child = fork()?;
        let (tx, rx) = oneshot::channel();
        waiting.insert(pid_of(&child), tx);
        Ok((child, rx))
    }

    /// A descriptor that wakes the reaper when written to (non-blocking).
    pub(crate) fn waker(&self) -> io::Result<OwnedFd> {
        Ok(OwnedFd::from(self.waker.try_clone()?))
    }

    /// Whether `pid` is a child we spawned and still wait for (not an adopted orphan).
    pub(crate) fn is_registered(&self, pid: i32) -> bool {
        self.lock().contains_key(&pid)
    }

    /// A counter bumped after every reaping round.
    pub(crate) fn ticks(&self) -> watch::Receiver<u64> {
        self.tick.subscribe()
    }

    /// Reap everything that has exited; route known pids, discard orphans;
    /// then bump the tick (a wake may also come from the namespace init).
    fn reap_all(&self) {
        {
            let mut waiting = self.lock();
            loop {
                let (pid, exit) = match waitpid(Pid::from_raw(-1), Some(WaitPidFlag::WNOHANG)) {
                    Ok(WaitStatus::Exited(pid, code)) => (pid, Exit::Code(code)),
                    Ok(WaitStatus::Signaled(pid, sig, _)) => (pid, Exit::Signal(sig as i32)),
                    Ok(WaitStatus::StillAlive) | Err(Errno::ECHILD) => break,
                    Ok(_) => continue,
                    Err(Errno::EINTR) => continue,
                    Err(_) => break,
                };
                match waiting.remove(&pid.as_raw()) {
                    Some(tx) => {
                        let _ = tx.send(exit);
                    }
                    None => tracing::debug!(pid = pid.as_raw(), %exit, "reaped an orphan"),
                }
            }
        }
        self.tick.send_modify(|t| *t = t.wrapping_add(1));
    }
}

/// Become a child subreaper (Linux): orphaned descendants re-parent to us.
pub(crate) fn become_subreaper() -> io::Result<()> {
    #[cfg(target_os = "linux")]
    // SAFETY: prctl with PR_SET_CHILD_SUBREAPER takes an integer flag; no pointers.
    unsafe {
        if libc::prctl(libc::PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0 {
            return Err(io::Error::last_os_error());
        }
    }
    Ok(())
}
