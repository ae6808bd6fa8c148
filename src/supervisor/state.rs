//! The per-service lifecycle as data: [`State`] (variants carry their data),
//! [`Event`], [`Action`], and ONE pure function [`step`] that decides every
//! `(state, event)` pair — no clock, no I/O, no randomness of its own (the
//! caller passes [`Facts`]). The runtime feeds it events and executes the actions;
//! the table tests in `state_tests.rs` pin each decision.
//!
//! ```text
//! ended ─Requeue→ Pending (a `start` request: the scheduler starts it when its dependencies hold)
//! Pending ─Start→ Starting ─Spawned→ Running ─ReadyOk→ Ready   (no check: ReadyOk once the exec succeeded)
//!                    └SpawnFailed→ Failed{Spawn}
//! Running|Ready ─ExecFailed (the exec, reported after the spawn)→ Failed{Spawn}
//! Running|Ready ─Exited→ Completed (oneshot, exit 0) | Backoff{until} | Exited | Failed{Crashed|StartLimit}
//! Backoff ─BackoffElapsed→ Starting
//! Running ─ReadyTimedOut→ Stopping{then: Retry} ─(leader reaped, GroupGone)→ Backoff | Failed
//! Running|Ready ─MemoryExceeded→ Stopping{then: Retry}   (counted like a crash)
//! any live ─Stop→ Stopping ─StopDeadline→ (SIGKILL group) ─Exited+GroupGone→ Stopped
//! Failed{Dependency} ─Stop→ Stopped   (else it would start again with the dependency)
//!   (an exit the stop does not explain, not restarted by policy → Failed{Crashed})
//! ```
//!
//! Dependency gating (when to send `Start`) is not here: it depends on other
//! services' states and lives in `graph.rs`.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use nix::sys::signal::Signal;

use super::restart;
use crate::plan::{Backoff, RestartPolicy};

pub(crate) use super::lifecycle::*;

/// The per-service configuration the state machine needs.
#[derive(Debug, Clone)]
pub(crate) struct Policy {
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
pub(crate) struct Svc {
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
pub(crate) struct Facts {
    /// The current time.
    pub now: Instant,
    /// A jitter sample in `[0, 1)`.
    pub jitter: f64,
}

/// The pure transition function: `(state, event) → (state, actions)`.
/// Events that do not apply to the current state (stale timers, a readiness
/// result for an older pid) leave it unchanged and do nothing.
pub(crate) fn step(p: &Policy, mut s: Svc, e: Event, cx: Facts) -> (Svc, Vec<Action>) {
    use State as S;
    let state = std::mem::replace(&mut s.state, S::Pending);
    let (next, actions) = match (state, e) {
        (S::Pending | S::Stopped | S::Exited { .. } | S::Completed, Event::Start) => {
            (S::Starting, vec![Action::Spawn])
        }
        (S::Stopped | S::Exited { .. } | S::Completed, Event::Requeue) => (S::Pending, vec![]),
        (S::Failed { .. }, Event::Requeue) => {
            s.attempt = 0;
            s.history.clear();
            (S::Pending, vec![])
        }
        (S::Failed { .. }, Event::Start) => {
            s.attempt = 0;
            s.history.clear();
            (S::Starting, vec![Action::Spawn])
        }
        (S::Starting, Event::Spawned { pid }) => spawned(p, pid, cx),
        (S::Starting, Event::SpawnFailed(err)) => fail(FailReason::Spawn(err)),
        (S::Running { pid, .. } | S::Ready { pid, .. }, Event::ExecFailed { pid: p2, error })
            if pid == p2 =>
        {
            (
                S::Failed {
                    reason: FailReason::Spawn(error),
                },
                vec![Action::CancelReady],
            )
        }
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
        (
            S::Running { pid, .. } | S::Ready { pid, .. },
            Event::MemoryExceeded {
                pid: p2,
                rss,
                limit,
            },
        ) if pid == p2 => stopping(
            p,
            pid,
            cx,
            After::Retry(Outcome::MemoryLimit { rss, limit }),
        ),
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
        (S::Backoff { .. }, Event::Restart) => (S::Pending, vec![]),
        // Kept from starting by a dependency, it would start again with it:
        // a `stop` keeps it down.
        (
            S::Failed {
                reason: FailReason::Dependency(_),
            },
            Event::Stop,
        ) => (S::Stopped, vec![]),
        (S::Pending | S::Backoff { .. }, Event::DependencyFailed(why)) => {
            fail(FailReason::Dependency(why))
        }
        (st @ S::Stopping { .. }, e) => return stopping_step(p, s, st, e, cx),
        (st, _) => (st, vec![]),
    };
    s.state = next;
    (s, actions)
}

/// Events while stopping: leader exit, group gone, deadline, kill, re-requests.
fn stopping_step(p: &Policy, mut s: Svc, st: State, e: Event, cx: Facts) -> (Svc, Vec<Action>) {
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
        Event::Exited { pid: p2, status } if p2 == pid => (
            mk(true, killed, exit_while_stopping(p, then, status, killed)),
            vec![Action::AwaitGroup { pgid: pid }],
        ),
        Event::StopDeadline { pid: p2 } if p2 == pid && !killed && cx.now >= deadline => {
            (mk(leader_gone, true, then), vec![kill(pid)])
        }
        Event::Kill if !killed => (mk(leader_gone, true, stop_instead(then)), vec![kill(pid)]),
        Event::Stop => (mk(leader_gone, killed, stop_instead(then)), vec![]),
        Event::GroupGone { pid: p2 } if p2 == pid && leader_gone => match then {
            After::Stop => (State::Stopped, vec![]),
            // The scheduler starts it again once its dependencies hold.
            After::Respawn => (State::Pending, vec![]),
            After::Retry(outcome) => {
                let (st, a) = ended(p, &mut s, outcome, None, cx);
                (st, a)
            }
            After::Fail(outcome) => fail(FailReason::Crashed(outcome)),
        },
        _ => (mk(leader_gone, killed, then), vec![]),
    };
    s.state = next;
    (s, actions)
}

/// A stop request replaces what was planned — except a failure already seen.
fn stop_instead(then: After) -> After {
    match then {
        f @ After::Fail(_) => f,
        _ => After::Stop,
    }
}

/// The leader's exit arrived while stopping. The stop and the process's own
/// end race (`run -- true` shuts down while a service is exiting 1): a status
/// the stop explains is a stop; any other status is the run's own end, and
/// when the policy would not restart it, a failure — it is decided here, by
/// the status, not by which message the runtime happened to see first.
fn exit_while_stopping(p: &Policy, then: After, status: Exit, killed: bool) -> After {
    let own_end = !stop_explains(p, status, killed) && !restarts(p, status.success());
    match then {
        After::Stop if own_end => After::Fail(Outcome::Exit(status)),
        t => t,
    }
}

/// Whether `status` is what stopping the group produces: a clean exit, death
/// by the stop signal (or SIGKILL once sent), or a shell's `128 + signal`.
fn stop_explains(p: &Policy, status: Exit, killed: bool) -> bool {
    let by = |sig: i32| status == Exit::Signal(sig) || status == Exit::Code(128 + sig);
    status.success() || by(p.stop_signal as i32) || (killed && by(Signal::SIGKILL as i32))
}

/// Whether the policy restarts a run that ended this way.
fn restarts(p: &Policy, success: bool) -> bool {
    match p.restart {
        RestartPolicy::Always => true,
        RestartPolicy::OnFailure => !success,
        RestartPolicy::Never => false,
    }
}

/// Spawned means forked: the exec may still fail. With a readiness check the
/// check starts now; without one the run becomes ready when its exec has
/// succeeded (`ReadyOk` from the launch task, like systemd's `Type=exec`),
/// so a dependent never starts before a program that could not exec.
fn spawned(p: &Policy, pid: i32, cx: Facts) -> (State, Vec<Action>) {
    let actions = if p.has_ready {
        vec![Action::CheckReady { pid }]
    } else {
        vec![]
    };
    (State::Running { pid, since: cx.now }, actions)
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

fn stopping(p: &Policy, pid: i32, cx: Facts, then: After) -> (State, Vec<Action>) {
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
    cx: Facts,
) -> (State, Vec<Action>) {
    let success = outcome == Outcome::Exit(Exit::Code(0));
    if p.oneshot && success {
        return (State::Completed, vec![]);
    }
    if !restarts(p, success) {
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
