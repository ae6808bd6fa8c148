//! The synchronous heart of the runtime: owns every service's state, feeds
//! events to the pure [`step`], executes the returned actions, decides what to
//! start (dependencies, database gate) and what to stop (reverse order), and
//! reports transitions through `tracing`. The async shell (`runtime.rs`) only
//! waits for the next wake-up and calls in here; nothing in this file awaits.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use nix::sys::signal::Signal;
use tokio::sync::mpsc;
use tokio::task::{AbortHandle, JoinHandle};

use super::events::{self, Bus, Published, Transition};
use super::graph::Graph;
use super::logs::{self, SharedTail};
use super::reaper::Reaper;
use super::report;
use super::restart::Jitter;
use super::sink::Record;
use super::spawn::{self, SpawnError};
use super::state::{step, Action, After, Event, Exit, Facts, Policy, State, StateKind, Svc};
use super::waiting::GateWait;
use crate::plan::ServicePlan;
use crate::secret::Redactor;

/// Messages from tasks (exit forwarders, readiness checks, relays) to the loop.
#[derive(Debug)]
pub(crate) enum Inbound {
    /// A service's leader was reaped.
    Exited {
        /// Service index.
        svc: usize,
        /// Leader pid.
        pid: i32,
        /// How.
        status: Exit,
    },
    /// A readiness check finished.
    Ready {
        /// Service index.
        svc: usize,
        /// The run it was for.
        pid: i32,
        /// Passed or timed out.
        ok: bool,
    },
    /// A service's exec failed in the child (which was then reaped).
    ExecFailed {
        /// Service index.
        svc: usize,
        /// Its pid.
        pid: i32,
        /// Its exit (127).
        status: Exit,
        /// The spawn error, naming the failed step.
        error: SpawnError,
    },
}

/// A service without a readiness check is `ready` as soon as its exec succeeded;
/// it counts as *up* — for `run`'s "all ready" and for a command's answer —
/// once it has stayed up this long, so one that crashes at once (a wrong
/// command, a missing variable) is a failure, not a race.
pub(crate) const SETTLE_UP: Duration = Duration::from_millis(200);

/// Timer kinds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Timer {
    /// Backoff elapsed.
    Backoff,
    /// Stop deadline for this pgid.
    StopDeadline(i32),
    /// Fallback re-check of groups being awaited.
    GroupCheck,
    /// Sample the RSS of groups with `max_memory` (see `memory.rs`).
    MemoryCheck,
    /// A service without a readiness check has stayed up [`SETTLE_UP`]
    /// (or a command waits for that): firing only wakes the loop, which
    /// moves commands on and republishes health.
    Settle,
}

/// Why everything is stopping.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum StopCause {
    /// SIGINT/SIGTERM or a shutdown request.
    Requested,
    /// A critical service failed.
    Critical(String),
    /// The database gate failed, with its exit code.
    Gate(u8),
}

/// One supervised service.
pub(crate) struct Unit {
    /// Its plan.
    pub plan: Arc<ServicePlan>,
    /// State-machine policy.
    pub policy: Policy,
    /// Its state.
    pub svc: Svc,
    /// Spawned at least once.
    pub started: bool,
    /// Recent output.
    pub tail: SharedTail,
    /// The running readiness check.
    pub(super) ready_task: Option<AbortHandle>,
    /// Backoff elapsed, but a dependency is not satisfied (e.g. restarting
    /// towards ready): the restart waits for it.
    pub held: bool,
    /// Stopped by a restart of a dependency that then did not come up, and
    /// put back to `pending`: it starts once its dependencies hold again
    /// (the dependency's own restart, a `start`, a reload), and while one
    /// of them has ended it keeps waiting instead of failing (see
    /// `restart_plan.rs`). Cleared when it leaves `pending` or a command
    /// takes it over.
    pub held_back: bool,
    /// Last leader exit and when.
    pub last_exit: Option<(Exit, SystemTime)>,
    /// Why the supervisor ended that run, if it did on its own (readiness
    /// timeout, max_memory): shown with the last exit in `status`.
    pub exit_note: Option<String>,
    /// When the current run was spawned.
    pub since: Option<SystemTime>,
    /// When the current state was entered (for events: "202ms").
    pub entered: Instant,
    /// Removed by a reload: never started again, not shown (see `swap.rs`).
    pub retired: bool,
}

impl Unit {
    /// A service not started yet.
    pub(crate) fn new(plan: Arc<ServicePlan>) -> Unit {
        Unit {
            policy: policy(&plan),
            plan,
            svc: Svc::default(),
            started: false,
            held: false,
            held_back: false,
            tail: logs::new_tail(),
            ready_task: None,
            last_exit: None,
            exit_note: None,
            since: None,
            entered: Instant::now(),
            retired: false,
        }
    }
}

/// All runtime state.
pub(crate) struct Engine {
    /// The services, in start order.
    pub units: Vec<Unit>,
    /// Their dependency graph.
    pub graph: Graph,
    /// Pending timers.
    timers: BinaryHeap<Reverse<(Instant, u64, usize, Timer)>>,
    seq: u64,
    /// Groups whose leader is gone but that may still have members.
    pub awaiting: Vec<(usize, i32)>,
    jitter: Jitter,
    /// Where tasks report.
    pub(super) inbound: mpsc::UnboundedSender<Inbound>,
    /// The output sink.
    pub(super) sink: mpsc::Sender<Record>,
    pub(super) reaper: Arc<Reaper>,
    /// The database gate is open (or not needed).
    pub gate_open: bool,
    /// While the gate probes: where, and the last failure.
    pub gate_wait: Option<GateWait>,
    /// Everything is stopping, and why.
    pub stopping: Option<StopCause>,
    /// Some service failed at some point.
    pub failed: Option<String>,
    /// Relay tasks (joined at the end so the last lines are written).
    pub relays: Vec<JoinHandle<()>>,
    /// Masks secrets in service output (empty: none).
    pub redact: Arc<Redactor>,
    /// The `max_memory` sampling timer is armed.
    pub(super) memory_armed: bool,
    /// Control commands in flight or queued (see `tickets.rs`).
    pub(super) commands: Vec<super::tickets::Command>,
    /// Where transitions, notices and output are published.
    pub(super) bus: Bus,
    /// Records for the sink the runtime sends before the next wake-up
    /// (a service added by a reload; see `swap.rs`).
    pub announce: Vec<Record>,
    /// The Plan generation: 1 at start, +1 per applied reload.
    pub generation: u64,
    /// When that Plan was loaded.
    pub loaded: SystemTime,
}

impl Engine {
    /// The unit called `name`: the live one when a reload re-added a name it
    /// had removed (the retired unit stays, as indices never change).
    pub(crate) fn unit_named(&self, name: &str) -> Option<usize> {
        let live = |u: &Unit| u.plan.name == name && !u.retired;
        self.units
            .iter()
            .rposition(live)
            .or_else(|| self.units.iter().rposition(|u| u.plan.name == name))
    }

    /// Build the engine over the selected services.
    pub(crate) fn new(
        services: Vec<Arc<ServicePlan>>,
        inbound: mpsc::UnboundedSender<Inbound>,
        sink: mpsc::Sender<Record>,
        reaper: Arc<Reaper>,
    ) -> Engine {
        let graph = Graph::new(&services.iter().map(|s| s.as_ref()).collect::<Vec<_>>());
        let units = services.into_iter().map(Unit::new).collect();
        Engine {
            units,
            graph,
            timers: BinaryHeap::new(),
            seq: 0,
            awaiting: Vec::new(),
            jitter: Jitter::seeded(),
            inbound,
            sink,
            reaper,
            gate_open: false,
            gate_wait: None,
            stopping: None,
            failed: None,
            relays: Vec::new(),
            redact: Arc::default(),
            memory_armed: false,
            commands: Vec::new(),
            bus: events::bus(),
            announce: Vec::new(),
            generation: 1,
            loaded: SystemTime::now(),
        }
    }

    /// Publish on `bus` from now on: transitions, notices, and (through the
    /// tails) every service's output.
    pub(crate) fn attach(&mut self, bus: Bus) {
        for (i, u) in self.units.iter().enumerate() {
            let mut t = u.tail.lock().unwrap_or_else(|p| p.into_inner());
            t.publish_to(i, bus.clone());
        }
        self.bus = bus;
    }

    /// Publish a supervisor notice (secrets masked, like every output).
    pub(crate) fn notice(&self, message: String) {
        events::publish(&self.bus, || Published::Notice {
            at: SystemTime::now(),
            message: self.redact.redact(&message).into_owned(),
        });
    }

    /// Feed one event to service `i` and carry out what the state machine says.
    pub(crate) fn feed(&mut self, i: usize, e: Event) {
        let cx = Facts {
            now: Instant::now(),
            jitter: self.jitter.sample(),
        };
        let u = &mut self.units[i];
        let before = u.svc.state.clone();
        let (svc, actions) = step(&u.policy, std::mem::take(&mut u.svc), e, cx);
        u.svc = svc;
        report::transition(u, &before);
        if let (State::Ready { ready_at, .. }, false) = (&u.svc.state, u.policy.has_ready) {
            if before.kind() != StateKind::Ready {
                let at = *ready_at + SETTLE_UP;
                self.arm(at, i, Timer::Settle);
            }
        }
        let u = &mut self.units[i];
        if u.svc.state != State::Pending {
            u.held_back = false;
        }
        if before.kind() != u.svc.state.kind() {
            let now = Instant::now();
            let after = now.saturating_duration_since(std::mem::replace(&mut u.entered, now));
            let u = &self.units[i];
            events::publish(&self.bus, || {
                let reason = report::reason(u, &before)
                    .or_else(|| self.held_reason(i))
                    .map(|r| self.redact.redact(&r).into_owned());
                Published::Transition(Transition {
                    at: SystemTime::now(),
                    svc: i,
                    from: before.kind(),
                    to: u.svc.state.kind(),
                    pid: u.svc.state.pid().or(before.pid()),
                    after,
                    reason,
                })
            });
        }
        if let State::Failed { reason } = &self.units[i].svc.state {
            if !matches!(before, State::Failed { .. }) {
                self.on_failed(i, reason.to_string());
            }
        }
        for a in actions {
            self.execute(i, a);
        }
    }

    fn on_failed(&mut self, i: usize, reason: String) {
        let name = self.units[i].plan.name.clone();
        self.failed.get_or_insert(format!("{name}: {reason}"));
        if self.units[i].plan.critical && self.stopping.is_none() {
            tracing::error!(service = %name, "critical service failed: stopping everything");
            self.begin_stop(StopCause::Critical(name));
        }
    }

    fn execute(&mut self, i: usize, a: Action) {
        match a {
            Action::Spawn => {
                self.spawn(i);
                self.watch_memory();
            }
            Action::CheckReady { pid } => self.check_ready(i, pid),
            Action::CancelReady => {
                if let Some(h) = self.units[i].ready_task.take() {
                    h.abort();
                }
            }
            Action::Signal { pgid, signal } => {
                spawn::signal_group(pgid, signal);
                if signal != Signal::SIGKILL && signal != Signal::SIGCONT {
                    // A stopped (SIGSTOP'd) process must wake up to act on the signal.
                    spawn::signal_group(pgid, Signal::SIGCONT);
                }
            }
            Action::StopTimer { at, pid } => self.arm(at, i, Timer::StopDeadline(pid)),
            // A zero backoff restarts now, in this same wake-up: no timer,
            // no trip round the loop (unless everything is stopping).
            Action::BackoffTimer { at } if at <= Instant::now() && self.stopping.is_none() => {
                self.backoff_elapsed(i);
            }
            Action::BackoffTimer { at } => self.arm(at, i, Timer::Backoff),
            Action::AwaitGroup { pgid } => {
                if spawn::group_alive(pgid) {
                    if self.awaiting.is_empty() {
                        self.arm(
                            Instant::now() + Duration::from_millis(200),
                            i,
                            Timer::GroupCheck,
                        );
                    }
                    self.awaiting.push((i, pgid));
                } else {
                    self.feed(i, Event::GroupGone { pid: pgid });
                }
            }
        }
    }

    pub(super) fn arm(&mut self, at: Instant, i: usize, t: Timer) {
        self.seq += 1;
        self.timers.push(Reverse((at, self.seq, i, t)));
    }

    /// When the next timer is due.
    pub(crate) fn next_timer(&self) -> Option<Instant> {
        self.timers.peek().map(|Reverse((at, ..))| *at)
    }

    /// Fire every due timer.
    pub(crate) fn fire_timers(&mut self) {
        let now = Instant::now();
        while let Some(Reverse((at, _, i, t))) = self.timers.peek().cloned() {
            if at > now {
                break;
            }
            self.timers.pop();
            match t {
                Timer::Backoff => {
                    self.backoff_elapsed(i);
                }
                Timer::StopDeadline(pid) => self.feed(i, Event::StopDeadline { pid }),
                Timer::MemoryCheck => self.check_memory(),
                Timer::Settle => {}
                Timer::GroupCheck => {
                    self.check_groups();
                    if !self.awaiting.is_empty() {
                        self.arm(now + Duration::from_millis(500), i, Timer::GroupCheck);
                    }
                }
            }
        }
    }

    /// Re-check groups whose leader is gone (after a reap, or on the fallback timer).
    pub(crate) fn check_groups(&mut self) {
        let gone: Vec<(usize, i32)> = self
            .awaiting
            .iter()
            .copied()
            .filter(|&(_, pgid)| !spawn::group_alive(pgid))
            .collect();
        self.awaiting.retain(|x| !gone.contains(x));
        for (i, pgid) in gone {
            self.feed(i, Event::GroupGone { pid: pgid });
        }
    }

    /// A task reported something.
    pub(crate) fn on_inbound(&mut self, m: Inbound) {
        match m {
            Inbound::Exited { svc, pid, status } => {
                let u = &mut self.units[svc];
                u.exit_note = match &u.svc.state {
                    State::Stopping {
                        then: After::Retry(why),
                        ..
                    } => Some(why.to_string()),
                    _ => None,
                };
                u.last_exit = Some((status, SystemTime::now()));
                self.feed(svc, Event::Exited { pid, status });
            }
            Inbound::Ready { svc, pid, ok: true } => self.feed(svc, Event::ReadyOk { pid }),
            Inbound::Ready {
                svc,
                pid,
                ok: false,
            } => self.feed(svc, Event::ReadyTimedOut { pid }),
            Inbound::ExecFailed {
                svc,
                pid,
                status,
                error,
            } => match self.units[svc].svc.state {
                State::Running { pid: p, .. } | State::Ready { pid: p, .. } if p == pid => {
                    let error = error.to_string();
                    self.feed(svc, Event::ExecFailed { pid, error })
                }
                // Being stopped meanwhile: an exit like any other.
                _ => self.on_inbound(Inbound::Exited { svc, pid, status }),
            },
        }
    }
}

/// The state machine's policy of a service plan.
pub(super) fn policy(p: &ServicePlan) -> Policy {
    Policy {
        restart: p.restart,
        backoff: p.backoff,
        max_restarts: p.max_restarts,
        restart_window: p.restart_window,
        oneshot: p.oneshot,
        has_ready: p.ready.is_some(),
        stop_signal: p.stop_signal,
        stop_timeout: p.stop_timeout,
    }
}
