//! When `up` ends, stop what it adopted. A process that leaves its service's
//! process group (a daemon that calls `setsid()`, then double-forks) is out of
//! reach of the group signals, but as a child subreaper we are its parent once
//! its own parent exits. After every service has stopped, any child of ours
//! that the reaper does not know (not a service, readiness check or `run` command) is
//! such an orphan: SIGTERM, then SIGKILL after a grace period, in rounds,
//! because killing a daemon re-parents *its* children to us in turn. Without
//! subreaper rights (not Linux) there is nothing to find. As PID 1 the
//! namespace-wide sweep in `runtime.rs` does this and more. Inside a PID
//! namespace of ours (`contain.rs`) orphans re-parent to its init instead, so
//! the init's children are looked at too (it wakes the reaper as it reaps
//! them); whatever is still in the namespace when `up` exits dies with it.
//!
//! Only where the process is the supervisor and nothing else (`up`, `run`:
//! [`own_all_children`]); a test process running a supervisor among other
//! work has children that are none of its business.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;

use super::reaper::Reaper;

static OWN_ALL: AtomicBool = AtomicBool::new(false);

/// Declare that every child of this process is the supervisor's to stop.
pub(crate) fn own_all_children() {
    OWN_ALL.store(true, Ordering::Relaxed);
}

/// Our direct children and the namespace init's (every thread's), from
/// `/proc/PID/task/*/children`.
fn children() -> Vec<i32> {
    let mut all = of("self");
    if let Some(init) = super::contain::init_pid() {
        all.extend(of(&init.to_string()));
    }
    all
}

fn of(pid: &str) -> Vec<i32> {
    let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
        return Vec::new();
    };
    tasks
        .flatten()
        .filter_map(|t| std::fs::read_to_string(t.path().join("children")).ok())
        .flat_map(|s| {
            s.split_whitespace()
                .filter_map(|p| p.parse().ok())
                .collect::<Vec<i32>>()
        })
        .collect()
}

/// Adopted children (not registered with the reaper).
fn adopted(reaper: &Reaper) -> Vec<i32> {
    children()
        .into_iter()
        .filter(|&p| !reaper.is_registered(p))
        .collect()
}

/// Stop every adopted orphan: SIGTERM, SIGKILL after `grace`; a few rounds.
pub(crate) async fn sweep(reaper: &Reaper, grace: Duration) {
    if !OWN_ALL.load(Ordering::Relaxed) {
        return;
    }
    let mut ticks = reaper.ticks();
    for _ in 0..4 {
        let left = adopted(reaper);
        if left.is_empty() {
            return;
        }
        tracing::info!(
            "stopping {} process(es) that left their service's process group: SIGTERM, SIGKILL after {grace:?}",
            left.len()
        );
        signal(&left, Signal::SIGTERM);
        signal(&left, Signal::SIGCONT);
        let deadline = tokio::time::Instant::now() + grace;
        while !adopted(reaper).is_empty() {
            if tokio::time::timeout_at(deadline, ticks.changed())
                .await
                .is_err()
            {
                signal(&adopted(reaper), Signal::SIGKILL);
                let _ = tokio::time::timeout(Duration::from_millis(500), ticks.changed()).await;
                break;
            }
        }
    }
}

fn signal(pids: &[i32], sig: Signal) {
    for &p in pids {
        let _ = kill(Pid::from_raw(p), sig);
    }
}
