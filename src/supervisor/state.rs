//! The per-service lifecycle as data: [`State`] (variants carry their data),
//! [`Event`], [`Action`], and ONE pure function [`step`] that decides every
//! `(state, event)` pair — no clock, no I/O, no randomness of its own (the
//! caller passes [`Ctx`]). The runtime feeds it events and executes the actions;
//! the table tests in `state_tests.rs` pin each decision.
//!
//! ```text
//! Pending ─Start→ Starting ─Spawned→ Running ─ReadyOk→ Ready        (no check: Starting → Ready)
//!                    └SpawnFailed→ Failed{Spawn}
//! Running|Ready ─Exited→ Completed (oneshot, exit 0) | Backoff{until} | Exited | Failed{Crashed|StartLimit}
//! Backoff ─BackoffElapsed→ Starting
//! Running ─ReadyTimedOut→ Stopping{then: Retry} ─(leader reaped, GroupGone)→ Backoff | Failed
//! any live ─Stop→ Stopping ─StopDeadline→ (SIGKILL group) ─Exited+GroupGone→ Stopped
//! ```
//!
//! Dependency gating (when to send `Start`) is not here: it depends on other
//! services' states and lives in `graph.rs`.

use std::collections::VecDeque;
use std::fmt;
use std::time::{Duration, Instant};

use nix::sys::signal::Signal;

use super::restart;
use crate::plan::{Backoff, RestartPolicy};

/// How a process ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    /// `exit(code)`.
    Code(i32),
    /// Killed by this signal number.
    Signal(i32),
}

impl Exit {
    /// Exit code 0.
    pub fn success(self) -> bool {
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
pub enum Outcome {
    /// The process exited.
    Exit(Exit),
    /// The readiness check did not pass within its timeout (the service was stopped).
    ReadyTimeout,
}

impl fmt::Display for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Outcome::Exit(e) => e.fmt(f),
            Outcome::ReadyTimeout => f.write_str("readiness check timed out"),
        }
    }
}

/// Why a service is `failed`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FailReason {
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
pub enum After {
    /// Stay stopped.
    Stop,
    /// Count it as a failed run and restart per policy (readiness timeout).
    Retry(Outcome),
    /// Start again at once, not counted (a requested restart).
    Respawn,
}

/// A service's lifecycle state.
#[derive(Debug, Clone, PartialEq)]
pub enum State {
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

impl State {
    /// The SPEC's name for this state.
    pub fn name(&self) -> &'static str {
        match self {
            State::Pending => "pending",
            State::Starting => "starting",
            State::Running { .. } => "running",
            State::Ready { .. } => "ready",
            State::Stopping { .. } => "stopping",
            State::Backoff { .. } => "backoff",
            State::Exited { .. } => "exited",
            State::Completed => "completed",
            State::Failed { .. } => "failed",
            State::Stopped => "stopped",
        }
    }

    /// The live leader pid, if a process is running.
    pub fn pid(&self) -> Option<i32> {
        match *self {
            State::Running { pid, .. } | State::Ready { pid, .. } => Some(pid),
            State::Stopping { pid, .. } => Some(pid),
            _ => None,
        }
    }

    /// Nothing more will happen without an outside request.
    pub fn is_terminal(&self) -> bool {
        matches!(
            self,
            State::Exited { .. } | State::Completed | State::Failed { .. } | State::Stopped
        )
    }
}

/// Something that happened to a service.
#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    /// Dependencies satisfied (or a `start` request).
    Start,
    /// The process was spawned.
    Spawned {
        /// Its pid.
        pid: i32,
    },
    /// The process could not be spawned.
    SpawnFailed(String),
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
}

/// What the runtime must do.
#[derive(Debug, Clone, PartialEq)]
#[must_use]
pub enum Action {
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

/// The per-service configuration the state machine needs.
#[derive(Debug, Clone)]
pub struct Policy {
    /// `restart`.
    pub restart: RestartPolicy,
    /// `backoff`.
    pub backoff: Backoff,
    /// `max_restarts` (0 = no limit).
    pub max_restarts: u32,
    /// `restart_window`.
    pub restart_window: Duration,
    /// `oneshot`.
    pub oneshot: bool,
    /// Whether a readiness check is configured.
    pub has_ready: bool,
    /// `stop_signal`.
    pub stop_signal: Signal,
    /// `stop_timeout`.
    pub stop_timeout: Duration,
}

/// A service: its state plus restart bookkeeping.
#[derive(Debug, Clone, PartialEq)]
pub struct Svc {
    /// Current state.
    pub state: State,
    /// Restart attempt counter (drives the backoff delay).
    pub attempt: u32,
    /// Restart times within the window.
    pub history: VecDeque<Instant>,
    /// Total restarts so far (for status).
    pub restarts: u32,
}

impl Default for Svc {
    fn default() -> Self {
        Svc {
            state: State::Pending,
            attempt: 0,
            history: VecDeque::new(),
            restarts: 0,
        }
    }
}

/// The outside facts a step may use.
#[derive(Debug, Clone, Copy)]
pub struct Ctx {
    /// The current time.
    pub now: Instant,
    /// A jitter sample in `[0, 1)`.
    pub jitter: f64,
}

/// The pure transition function: `(state, event) → (state, actions)`.
/// Events that do not apply to the current state (stale timers, a readiness
/// result for an older pid) leave it unchanged and do nothing.
pub fn step(p: &Policy, mut s: Svc, e: Event, cx: Ctx) -> (Svc, Vec<Action>) {
    use State as S;
    let state = std::mem::replace(&mut s.state, S::Pending);
    let (next, actions) = match (state, e) {
        (S::Pending | S::Stopped | S::Exited { .. } | S::Completed, Event::Start) => {
            (S::Starting, vec![Action::Spawn])
        }
        (S::Failed { .. }, Event::Start) => {
            s.attempt = 0;
            s.history.clear();
            (S::Starting, vec![Action::Spawn])
        }
        (S::Starting, Event::Spawned { pid }) => spawned(p, pid, cx),
        (S::Starting, Event::SpawnFailed(err)) => fail(FailReason::Spawn(err)),
        (S::Running { pid, since }, Event::ReadyOk { pid: p2 }) if pid == p2 => {
            let ready_at = cx.now;
            (
                S::Ready {
                    pid,
                    since,
                    ready_at,
                },
                vec![],
            )
        }
        (S::Running { pid, .. }, Event::ReadyTimedOut { pid: p2 }) if pid == p2 => {
            stopping(p, pid, cx, After::Retry(Outcome::ReadyTimeout))
        }
        (S::Running { pid, .. }, Event::Exited { pid: p2, status }) if pid == p2 => {
            let (st, mut a) = ended(p, &mut s, Outcome::Exit(status), None, cx);
            a.insert(0, Action::CancelReady);
            a.push(Action::Signal {
                pgid: pid,
                signal: Signal::SIGKILL,
            });
            (st, a)
        }
        (S::Ready { pid, ready_at, .. }, Event::Exited { pid: p2, status }) if pid == p2 => {
            let (st, mut a) = ended(p, &mut s, Outcome::Exit(status), Some(ready_at), cx);
            a.push(Action::Signal {
                pgid: pid,
                signal: Signal::SIGKILL,
            });
            (st, a)
        }
        (S::Running { pid, .. } | S::Ready { pid, .. }, Event::Stop) => {
            stopping(p, pid, cx, After::Stop)
        }
        (S::Running { pid, .. } | S::Ready { pid, .. }, Event::Restart) => {
            stopping(p, pid, cx, After::Respawn)
        }
        (S::Running { pid, .. } | S::Ready { pid, .. }, Event::Kill) => (
            stopping_state(pid, cx.now, true, After::Stop),
            vec![Action::CancelReady, kill(pid)],
        ),
        (S::Pending | S::Backoff { .. } | S::Starting, Event::Stop | Event::Kill) => {
            (S::Stopped, vec![])
        }
        (S::Backoff { until, .. }, Event::BackoffElapsed) if cx.now >= until => {
            (S::Starting, vec![Action::Spawn])
        }
        (S::Backoff { .. }, Event::Restart) => (S::Starting, vec![Action::Spawn]),
        (S::Pending, Event::DependencyFailed(why)) => fail(FailReason::Dependency(why)),
        (st @ S::Stopping { .. }, e) => return stopping_step(p, s, st, e, cx),
        (st, _) => (st, vec![]),
    };
    s.state = next;
    (s, actions)
}

/// Events while stopping: leader exit, group gone, deadline, kill, re-requests.
fn stopping_step(p: &Policy, mut s: Svc, st: State, e: Event, cx: Ctx) -> (Svc, Vec<Action>) {
    let State::Stopping {
        pid,
        deadline,
        leader_gone,
        killed,
        then,
    } = st
    else {
        s.state = st;
        return (s, vec![]);
    };
    let mk = |leader_gone, killed, then| State::Stopping {
        pid,
        deadline,
        leader_gone,
        killed,
        then,
    };
    let (next, actions) = match e {
        Event::Exited { pid: p2, .. } if p2 == pid => (
            mk(true, killed, then),
            vec![Action::AwaitGroup { pgid: pid }],
        ),
        Event::StopDeadline { pid: p2 } if p2 == pid && !killed && cx.now >= deadline => {
            (mk(leader_gone, true, then), vec![kill(pid)])
        }
        Event::Kill if !killed => (mk(leader_gone, true, After::Stop), vec![kill(pid)]),
        Event::Stop => (mk(leader_gone, killed, After::Stop), vec![]),
        Event::GroupGone { pid: p2 } if p2 == pid && leader_gone => match then {
            After::Stop => (State::Stopped, vec![]),
            After::Respawn => (State::Starting, vec![Action::Spawn]),
            After::Retry(outcome) => {
                let (st, a) = ended(p, &mut s, outcome, None, cx);
                (st, a)
            }
        },
        _ => (mk(leader_gone, killed, then), vec![]),
    };
    s.state = next;
    (s, actions)
}

fn spawned(p: &Policy, pid: i32, cx: Ctx) -> (State, Vec<Action>) {
    if p.has_ready {
        (
            State::Running { pid, since: cx.now },
            vec![Action::CheckReady { pid }],
        )
    } else {
        let (since, ready_at) = (cx.now, cx.now);
        (
            State::Ready {
                pid,
                since,
                ready_at,
            },
            vec![],
        )
    }
}

fn fail(reason: FailReason) -> (State, Vec<Action>) {
    (State::Failed { reason }, vec![])
}

fn kill(pid: i32) -> Action {
    Action::Signal {
        pgid: pid,
        signal: Signal::SIGKILL,
    }
}

fn stopping_state(pid: i32, deadline: Instant, killed: bool, then: After) -> State {
    State::Stopping {
        pid,
        deadline,
        leader_gone: false,
        killed,
        then,
    }
}

fn stopping(p: &Policy, pid: i32, cx: Ctx, then: After) -> (State, Vec<Action>) {
    let at = cx.now + p.stop_timeout;
    (
        stopping_state(pid, at, false, then),
        vec![
            Action::CancelReady,
            Action::Signal {
                pgid: pid,
                signal: p.stop_signal,
            },
            Action::StopTimer { at, pid },
        ],
    )
}

/// A run ended on its own: complete, restart after a delay, or give up.
fn ended(
    p: &Policy,
    s: &mut Svc,
    outcome: Outcome,
    ready_at: Option<Instant>,
    cx: Ctx,
) -> (State, Vec<Action>) {
    let success = outcome == Outcome::Exit(Exit::Code(0));
    if p.oneshot && success {
        return (State::Completed, vec![]);
    }
    let restart = match p.restart {
        RestartPolicy::Always => true,
        RestartPolicy::OnFailure => !success,
        RestartPolicy::Never => false,
    };
    if !restart {
        return match outcome {
            Outcome::Exit(status) if success => (State::Exited { status }, vec![]),
            o => fail(FailReason::Crashed(o)),
        };
    }
    if ready_at.is_some_and(|r| cx.now.saturating_duration_since(r) >= p.backoff.reset_after) {
        s.attempt = 0;
    }
    if !restart::allowed(&mut s.history, p.max_restarts, p.restart_window, cx.now) {
        let (restarts, window) = (p.max_restarts, p.restart_window);
        return fail(FailReason::StartLimit {
            restarts,
            window,
            last: outcome,
        });
    }
    s.history.push_back(cx.now);
    s.attempt += 1;
    s.restarts += 1;
    let until = cx.now + restart::delay(&p.backoff, s.attempt, cx.jitter);
    let attempt = s.attempt;
    (
        State::Backoff {
            until,
            last: outcome,
            attempt,
        },
        vec![Action::BackoffTimer { at: until }],
    )
}

#[cfg(test)]
#[path = "state_tests.rs"]
mod tests;
