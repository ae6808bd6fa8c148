//! The lifecycle vocabulary, as data: how a process ended ([`Exit`]), why a
//! run ended or a service failed ([`Outcome`], [`FailReason`]), the states
//! (variants carry their data), the events and the actions. The decisions
//! live in `state.rs`.

use std::fmt;
use std::time::{Duration, Instant};

use nix::sys::signal::Signal;
use serde::{Deserialize, Serialize};

/// How a process ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Exit {
    /// `exit(code)`.
    Code(i32),
    /// Killed by this signal number.
    Signal(i32),
}

impl Exit {
    /// Exit code 0.
    pub(crate) fn success(self) -> bool {
        self == Exit::Code(0)
    }
}

impl fmt::Display for Exit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Exit::Code(c) => write!(f, "exit code {c}"),
            Exit::Signal(s) => match Signal::try_from(s) {
                Ok(sig) => write!(f, "killed by {}", sig.as_str()),
                Err(_) => write!(f, "killed by signal {s}"),
            },
        }
    }
}

/// How the last run ended, as a restart reason.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Outcome {
    /// The process exited.
    Exit(Exit),
    /// The readiness check did not pass within its timeout (the service was stopped).
    ReadyTimeout,
    /// The process group's RSS exceeded `max_memory` (the service was stopped).
    MemoryLimit {
        /// The group's RSS when sampled (bytes).
        rss: u64,
        /// The limit (bytes).
        limit: u64,
    },
}

impl fmt::Display for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Outcome::Exit(e) => e.fmt(f),
            Outcome::ReadyTimeout => f.write_str("readiness check timed out"),
            Outcome::MemoryLimit { rss, limit } => {
                write!(f, "RSS {} exceeds max_memory {}", mib(*rss), mib(*limit))
            }
        }
    }
}

/// Bytes for a memory message: `612 MiB`, `1.5 MiB`, `300 KiB`.
pub(crate) fn mib(bytes: u64) -> String {
    const M: u64 = 1 << 20;
    match bytes {
        b if b >= 100 * M || b % M == 0 => format!("{} MiB", (b + M / 2) / M),
        b if b >= M => format!("{:.1} MiB", b as f64 / M as f64),
        b => format!("{} KiB", (b + 512) / 1024),
    }
}

/// Why a service is `failed`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum FailReason {
    /// The process could not be started (ENOENT, EACCES, bad cwd…).
    Spawn(String),
    /// It ended and its restart policy (or oneshot-ness) says not to restart.
    Crashed(Outcome),
    /// `max_restarts` restarts within `restart_window`.
    StartLimit {
        /// The limit that was hit.
        restarts: u32,
        /// The window.
        window: Duration,
        /// How the last run ended.
        last: Outcome,
    },
    /// A dependency can no longer satisfy its condition.
    Dependency(String),
}

impl fmt::Display for FailReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FailReason::Spawn(e) => write!(f, "could not start: {e}"),
            FailReason::Crashed(o) => write!(f, "{o}, not restarting (restart policy)"),
            FailReason::StartLimit {
                restarts,
                window,
                last,
            } => write!(
                f,
                "crash loop: {restarts} restarts within {window:?}; giving up (last: {last})"
            ),
            FailReason::Dependency(why) => write!(f, "not started: {why}"),
        }
    }
}

/// What to do once a stopping service's process group is gone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum After {
    /// Stay stopped.
    Stop,
    /// Count it as a failed run and restart per policy (readiness timeout).
    Retry(Outcome),
    /// Back to `Pending`, not counted (a requested restart): the scheduler
    /// starts it again as soon as its dependencies hold — never before.
    Respawn,
    /// The run ended by itself while being stopped, with a status the stop
    /// does not explain and the policy does not restart (`restart = "never"`,
    /// exit code 1): a failure, whatever the stop was for. Set when the leader's
    /// exit arrives; never overridden by a later stop request.
    Fail(Outcome),
}

/// A service's lifecycle state.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum State {
    /// Waiting for dependencies (or the database gate).
    Pending,
    /// Spawn requested; the runtime answers with `Spawned` or `SpawnFailed`.
    Starting,
    /// Spawned; the readiness check is running.
    Running {
        /// Leader pid (= process group id).
        pid: i32,
        /// When it was spawned.
        since: Instant,
    },
    /// Ready: the check passed (or there is none).
    Ready {
        /// Leader pid.
        pid: i32,
        /// When it was spawned.
        since: Instant,
        /// When it became ready.
        ready_at: Instant,
    },
    /// Stop signal sent to the group; waiting for the whole group to be gone.
    Stopping {
        /// Leader pid (= pgid).
        pid: i32,
        /// When SIGKILL goes to the group.
        deadline: Instant,
        /// The leader has been reaped (the group may live on).
        leader_gone: bool,
        /// SIGKILL was sent.
        killed: bool,
        /// Then what.
        then: After,
    },
    /// Waiting to restart.
    Backoff {
        /// When to start again.
        until: Instant,
        /// Why it is restarting.
        last: Outcome,
        /// Restart attempt number (1-based, reset after a healthy run).
        attempt: u32,
    },
    /// Exited and will not be restarted, without failure (e.g. exit 0 under `on-failure`).
    Exited {
        /// How.
        status: Exit,
    },
    /// A oneshot that exited 0.
    Completed,
    /// Gave up.
    Failed {
        /// Why.
        reason: FailReason,
    },
    /// Stopped on request.
    Stopped,
}

/// A state without its data: what crosses channels and the wire (as its
/// lowercase name) — so no consumer compares state strings.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum StateKind {
    /// [`State::Pending`].
    Pending,
    /// [`State::Starting`].
    Starting,
    /// [`State::Running`].
    Running,
    /// [`State::Ready`].
    Ready,
    /// [`State::Stopping`].
    Stopping,
    /// [`State::Backoff`].
    Backoff,
    /// [`State::Exited`].
    Exited,
    /// [`State::Completed`].
    Completed,
    /// [`State::Failed`].
    Failed,
    /// [`State::Stopped`].
    Stopped,
}

impl StateKind {
    /// The name users see (`status`, events, docs/supervision.md "States").
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            StateKind::Pending => "pending",
            StateKind::Starting => "starting",
            StateKind::Running => "running",
            StateKind::Ready => "ready",
            StateKind::Stopping => "stopping",
            StateKind::Backoff => "backoff",
            StateKind::Exited => "exited",
            StateKind::Completed => "completed",
            StateKind::Failed => "failed",
            StateKind::Stopped => "stopped",
        }
    }

    /// Nothing more will happen without an outside request.
    pub(crate) fn is_terminal(self) -> bool {
        matches!(
            self,
            StateKind::Exited | StateKind::Completed | StateKind::Failed | StateKind::Stopped
        )
    }
}

impl fmt::Display for StateKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl State {
    /// Which state, without its data.
    pub(crate) fn kind(&self) -> StateKind {
        match self {
            State::Pending => StateKind::Pending,
            State::Starting => StateKind::Starting,
            State::Running { .. } => StateKind::Running,
            State::Ready { .. } => StateKind::Ready,
            State::Stopping { .. } => StateKind::Stopping,
            State::Backoff { .. } => StateKind::Backoff,
            State::Exited { .. } => StateKind::Exited,
            State::Completed => StateKind::Completed,
            State::Failed { .. } => StateKind::Failed,
            State::Stopped => StateKind::Stopped,
        }
    }

    /// The name users see for this state (see [`StateKind::as_str`]).
    pub(crate) fn name(&self) -> &'static str {
        self.kind().as_str()
    }

    /// The live leader pid, if a process is running.
    pub(crate) fn pid(&self) -> Option<i32> {
        match *self {
            State::Running { pid, .. } | State::Ready { pid, .. } => Some(pid),
            State::Stopping { pid, .. } => Some(pid),
            _ => None,
        }
    }

    /// Nothing more will happen without an outside request.
    pub(crate) fn is_terminal(&self) -> bool {
        self.kind().is_terminal()
    }
}

/// Something that happened to a service.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Event {
    /// Dependencies satisfied (or a `start` request).
    Start,
    /// A `start` request for an ended service: back to `Pending`, so the
    /// scheduler starts it once its dependencies hold (never before).
    Requeue,
    /// The process was spawned.
    Spawned {
        /// Its pid.
        pid: i32,
    },
    /// The process could not be spawned.
    SpawnFailed(String),
    /// The spawned process could not exec (reported after the spawn,
    /// once it was reaped): like `SpawnFailed`, for that run.
    ExecFailed {
        /// The run.
        pid: i32,
        /// Why.
        error: String,
    },
    /// The readiness check passed for this pid.
    ReadyOk {
        /// The run it is about.
        pid: i32,
    },
    /// The readiness check timed out for this pid.
    ReadyTimedOut {
        /// The run it is about.
        pid: i32,
    },
    /// The leader was reaped.
    Exited {
        /// Leader pid.
        pid: i32,
        /// How it ended.
        status: Exit,
    },
    /// No process of the group is left.
    GroupGone {
        /// The pgid.
        pid: i32,
    },
    /// Stop requested (shutdown or `stop`).
    Stop,
    /// Restart requested (`restart`).
    Restart,
    /// The stop timeout elapsed.
    StopDeadline {
        /// The pgid it was armed for.
        pid: i32,
    },
    /// Second SIGINT/SIGTERM: kill at once.
    Kill,
    /// The backoff delay elapsed.
    BackoffElapsed,
    /// A dependency can no longer be satisfied.
    DependencyFailed(String),
    /// The group's RSS was sampled above `max_memory`.
    MemoryExceeded {
        /// The run it is about.
        pid: i32,
        /// The group's RSS (bytes).
        rss: u64,
        /// The limit (bytes).
        limit: u64,
    },
}

/// What the runtime must do.
#[derive(Debug, Clone, PartialEq)]
#[must_use]
pub(crate) enum Action {
    /// Spawn the process; answer with `Spawned` / `SpawnFailed`.
    Spawn,
    /// Start the readiness check for this pid.
    CheckReady {
        /// The run.
        pid: i32,
    },
    /// Send a signal to the process group.
    Signal {
        /// Group.
        pgid: i32,
        /// Signal.
        signal: Signal,
    },
    /// Arm a timer that delivers `StopDeadline` at `at`.
    StopTimer {
        /// When.
        at: Instant,
        /// For which group.
        pid: i32,
    },
    /// Arm a timer that delivers `BackoffElapsed` at `at`.
    BackoffTimer {
        /// When.
        at: Instant,
    },
    /// Deliver `GroupGone` once no process of the group is left.
    AwaitGroup {
        /// Group.
        pgid: i32,
    },
    /// Stop the readiness check, if any.
    CancelReady,
}
