//! The thread that forks every child while services run in a PID namespace.
//!
//! `setns(CLONE_NEWPID)` changes where the *calling thread's* children go, and
//! the kernel then refuses that thread new threads (`CLONE_THREAD` across PID
//! namespaces is EINVAL) — but the runtime thread must be able to start
//! threads (tokio's blocking pool resolves host names). So one dedicated
//! thread joins the namespace and does all the forking: spawn.rs hands it
//! each `fork` as a job and waits for the result (a fork is synchronous
//! anyway). It never exits while the process lives, so the parent-death
//! signal of the children it forks fires exactly when `up` dies.
//!
//! Without a namespace there is no such thread and jobs run on the caller.

use std::sync::mpsc::{self, Sender};
use std::sync::{Mutex, OnceLock};

use super::contain_refusal::NamespaceRefusal;

type Job = Box<dyn FnOnce() + Send>;

static SPAWNER: OnceLock<Mutex<Sender<Job>>> = OnceLock::new();

/// Start the forking thread and run `setup` on it first (the namespace init
/// and `setns`); the thread stays only if `setup` succeeds.
pub(super) fn start<T: Send + 'static>(
    setup: impl FnOnce() -> Result<T, NamespaceRefusal> + Send + 'static,
) -> Result<T, NamespaceRefusal> {
    let (jobs, rx) = mpsc::channel::<Job>();
    let (done, result) = mpsc::channel();
    std::thread::Builder::new()
        .name("spawner".into())
        .spawn(move || {
            let r = setup();
            let ok = r.is_ok();
            let _ = done.send(r);
            if ok {
                for job in rx {
                    job();
                }
                // Every sender is gone only when the process ends.
                loop {
                    std::thread::park();
                }
            }
        })
        .map_err(|e| format!("cannot start the spawner thread: {e}"))?;
    let r = result
        .recv()
        .map_err(|_| NamespaceRefusal("the spawner thread died".to_owned()))??;
    let _ = SPAWNER.set(Mutex::new(jobs));
    Ok(r)
}

/// Run `f` on the forking thread if there is one, else here; `None` if that
/// thread is gone.
pub(super) fn run<R: Send + 'static>(f: impl FnOnce() -> R + Send + 'static) -> Option<R> {
    let Some(jobs) = SPAWNER.get() else {
        return Some(f());
    };
    let (tx, rx) = mpsc::channel();
    let job: Job = Box::new(move || {
        let _ = tx.send(f());
    });
    jobs.lock()
        .unwrap_or_else(|p| p.into_inner())
        .send(job)
        .ok()?;
    rx.recv().ok()
}
