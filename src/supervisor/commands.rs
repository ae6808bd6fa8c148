//! The runtime's control interface (used by `run -- CMD` and the control
//! socket): requests over an mpsc channel, answered on oneshot channels, and a
//! `watch` of [`Health`] that says when everything is ready or something failed.
//! Nothing here carries environment values: status never serves secrets.

use std::time::SystemTime;

use serde::Serialize;
use tokio::sync::{mpsc, oneshot, watch};

use std::sync::Arc;

use super::events::Bus;
use super::logs::Stream;
use super::state::StateKind;

/// A control command on one service.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Verb {
    /// Start it (its ended dependencies first); settled when ready.
    Start,
    /// Stop it; settled when its whole group is gone.
    Stop,
    /// Restart it (stopping what waits for it to be ready, starting that
    /// again after); settled when all of them are ready again.
    Restart,
}

impl Verb {
    /// `start`, `stop`, `restart`.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Verb::Start => "start",
            Verb::Stop => "stop",
            Verb::Restart => "restart",
        }
    }
}

/// Where a command left its service: the engine's answer on the ticket.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Settled {
    /// The service.
    pub service: String,
    /// Its state now.
    pub state: StateKind,
    /// Its leader pid, when running.
    pub pid: Option<i32>,
    /// A sentence for the user.
    pub message: String,
}

/// Why a command did not get where it was going.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Refusal {
    /// No such service in this `up`.
    Unknown(String),
    /// Not now (the supervisor is stopping): a sentence.
    Conflict(String),
    /// It was carried out and the service failed (crashed, gave up).
    Failed(Settled),
}

/// The ticket: answered once the command has settled.
pub(crate) type Ticket = oneshot::Sender<Result<Settled, Refusal>>;

/// The ticket of a joint restart: one answer per service restarted.
pub(crate) type Tickets = oneshot::Sender<Vec<Result<Settled, Refusal>>>;

/// A request to the running supervisor.
#[derive(Debug)]
pub(crate) enum EngineRequest {
    /// A status snapshot.
    Status(oneshot::Sender<Snapshot>),
    /// The last `lines` lines of these services' output (all when empty),
    /// merged in the order they were read.
    Logs {
        /// Service names.
        services: Vec<String>,
        /// How many, in all.
        lines: usize,
        /// The answer.
        reply: oneshot::Sender<Result<Vec<HistLine>, NoService>>,
    },
    /// `start` / `stop` / `restart` a service; the ticket is answered when
    /// it has settled (see `tickets.rs`).
    Command {
        /// What.
        verb: Verb,
        /// Which service.
        service: String,
        /// The answer.
        ticket: Ticket,
    },
    /// Restart these services as one plan (a reload's changed services):
    /// what waits for any of them to be ready is stopped once, before
    /// them, and started once, after all of them; a completed oneshot among
    /// them runs again. Answered once settled, one answer per service.
    Restarts {
        /// Which services.
        services: Vec<String>,
        /// The answers.
        tickets: Tickets,
    },
    /// Stop everything and end (like SIGTERM).
    Shutdown,
    /// A reloaded Plan (see `swap.rs`); answered with what changed.
    Swap(Box<Swap>, oneshot::Sender<Result<Swapped, OrderChanged>>),
}

/// A reload that would make a running service depend on one that starts
/// after it: the engine's order is fixed while `up` runs.
#[derive(Debug, Clone, thiserror::Error)]
#[error("`{service}` now depends on `{dependency}`, which starts after it: restart `up` to apply this order")]
pub(crate) struct OrderChanged {
    /// The kept service.
    pub service: String,
    /// Its new dependency.
    pub dependency: String,
}

/// A name the engine does not supervise.
#[derive(Debug, Clone, thiserror::Error)]
#[error("no service `{0}`")]
pub(crate) struct NoService(pub String);

/// The engine's answer to a [`Swap`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Swapped {
    /// The changed services, to restart together ([`EngineRequest::Restarts`]).
    pub restart: Vec<String>,
    /// Every service by engine index now (added ones at the end).
    pub names: Vec<String>,
}

/// What a reload hands the engine: the new Plan, which of the running
/// services changed or were removed, and the redactor for both Plans.
#[derive(Debug)]
pub(crate) struct Swap {
    /// The new Plan.
    pub plan: Arc<crate::plan::Plan>,
    /// Services whose settings or environment changed.
    pub changed: Vec<String>,
    /// Services no longer in the Plan.
    pub removed: Vec<String>,
    /// Services new in the Plan, in its start order (they start `stopped`;
    /// a `start` command brings each up).
    pub added: Vec<String>,
    /// Masks the secrets of the old and the new Plan.
    pub redactor: crate::secret::Redactor,
}

/// One line of output history.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct HistLine {
    /// Its batch's place in the global output order (see `tail.rs`).
    pub seq: u64,
    /// Service index.
    pub svc: usize,
    /// Which stream.
    pub stream: Stream,
    /// The line (secrets masked).
    pub line: String,
}

/// One service in a [`Snapshot`].
#[derive(Debug, Clone, Serialize)]
pub(crate) struct ServiceStatus {
    /// Name.
    pub name: String,
    /// State.
    pub state: StateKind,
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
    /// Why it failed, when failed; what it waits for, when held back by a
    /// failed restart (see `engine::Unit::held_back`).
    pub detail: Option<String>,
}

/// Every service's status.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct Snapshot {
    /// In start order.
    pub services: Vec<ServiceStatus>,
    /// The Plan generation (1 at start, +1 per applied reload).
    pub generation: u64,
    /// When that Plan was loaded.
    pub loaded: SystemTime,
    /// Per service not ready yet, what it is waiting for, when known (the
    /// database gate, a dependency, its readiness check).
    pub waiting: std::collections::BTreeMap<String, String>,
}

/// The aggregate state `run -- CMD` waits on.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Health {
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
pub(crate) struct Handle {
    /// Send requests here.
    pub control: mpsc::Sender<EngineRequest>,
    /// Watch the aggregate health.
    pub health: watch::Receiver<Health>,
    /// Subscribe here for transitions, notices and output (`events.rs`).
    pub events: Bus,
    /// The supervised services by engine index (as in published items).
    pub names: Arc<Vec<String>>,
}
