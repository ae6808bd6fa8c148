//! The runtime's control interface (used by `run -- CMD` and the control
//! socket): requests over an mpsc channel, answered on oneshot channels, and a
//! `watch` of [`Health`] that says when everything is ready or something failed.
//! Nothing here carries environment values: status never serves secrets.

use std::time::SystemTime;

use serde::Serialize;
use tokio::sync::{mpsc, oneshot, watch};

use super::logs::Stream;

/// A reply: Ok, or a message for the user.
pub type Reply = oneshot::Sender<Result<(), String>>;

/// A request to the running supervisor.
#[derive(Debug)]
pub enum Request {
    /// A status snapshot.
    Status(oneshot::Sender<Snapshot>),
    /// The last `lines` lines of a service's output.
    Logs {
        /// Service name.
        service: String,
        /// How many.
        lines: usize,
        /// The answer.
        reply: oneshot::Sender<Result<Vec<(Stream, String)>, String>>,
    },
    /// Start a stopped / failed / exited service.
    Start(String, Reply),
    /// Stop a service (stop_signal, then SIGKILL after stop_timeout).
    Stop(String, Reply),
    /// Restart a service (immediately, not counted against max_restarts).
    Restart(String, Reply),
    /// Stop everything and end (like SIGTERM).
    Shutdown,
}

/// One service in a [`Snapshot`].
#[derive(Debug, Clone, Serialize)]
pub struct ServiceStatus {
    /// Name.
    pub name: String,
    /// State name (`pending`, `ready`, …).
    pub state: &'static str,
    /// Leader pid (= pgid) when running.
    pub pid: Option<i32>,
    /// When the current run was spawned.
    pub since: Option<SystemTime>,
    /// Restarts so far.
    pub restarts: u32,
    /// The last exit (`exit code 1`, `killed by SIGKILL`) and when.
    pub last_exit: Option<(String, SystemTime)>,
    /// Ready (or completed).
    pub ready: bool,
    /// Why it failed, when failed.
    pub detail: Option<String>,
}

/// Every service's status.
#[derive(Debug, Clone, Serialize)]
pub struct Snapshot {
    /// In start order.
    pub services: Vec<ServiceStatus>,
    /// Per service not ready yet, what it is waiting for, when known (the
    /// database gate, a dependency, its readiness check).
    pub waiting: std::collections::BTreeMap<String, String>,
}

/// The aggregate state `run -- CMD` waits on.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Health {
    /// Every service is ready, completed, or exited cleanly; none failed.
    pub all_ready: bool,
    /// The first service that failed, with why: `name: reason`.
    pub failed: Option<String>,
    /// The supervisor is stopping everything.
    pub stopping: bool,
    /// The runtime has ended.
    pub done: bool,
}

/// What a caller holds to talk to the runtime.
#[derive(Debug, Clone)]
pub struct Handle {
    /// Send requests here.
    pub control: mpsc::Sender<Request>,
    /// Watch the aggregate health.
    pub health: watch::Receiver<Health>,
}
