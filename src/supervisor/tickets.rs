//! Commands with tickets: `start` / `stop` / `restart` arrive with a reply
//! channel and are answered by the engine once they have *settled* — the
//! service ready (or stopped, or failed, with the reason) — like a
//! watchexec `Ticket`. Nothing polls: the runtime calls [`Engine::settle`]
//! after every wake-up, and a command moves on only when a transition it
//! waits for has happened.
//!
//! The cascade is planned here from the one dependency graph
//! ([`super::graph::Graph`]): `restart X` stops what waits for X to be
//! `ready` (reverse start order), restarts X, then requeues them; `start X`
//! requeues X and its ended dependencies as `pending`, and the scheduler
//! starts each one only when its own dependencies hold — never before.
//!
//! Each command claims the services it may touch. A command whose claims
//! meet an earlier one's waits behind it (FIFO) and says so in its answer;
//! nothing is ever half-applied. While everything is stopping, commands are
//! refused with the reason.

use std::collections::VecDeque;
use std::time::Instant;

use super::commands::{Refusal, Settled, Ticket, Verb};
use super::engine::{Engine, Timer, SETTLE_UP};
use super::report;
use super::state::{Event, State, StateKind};

/// One step of a command, on one service (or a set).
#[derive(Debug, Clone, PartialEq, Eq)]
enum Step {
    /// Stop it; done when it has ended.
    Stop(usize),
    /// Restart it (requeue it when it has ended); done when ready again.
    Restart(usize),
    /// Requeue those of `requeue` that have ended; done when every one of
    /// `wait` is ready (or completed).
    Start {
        requeue: Vec<usize>,
        wait: Vec<usize>,
    },
}

/// How a step stands.
enum Check {
    Wait,
    /// Ready, without a readiness check: settled once it has stayed up until then.
    WaitUntil(Instant),
    Done,
    Failed(usize),
}

/// A command in flight or queued.
pub(super) struct Command {
    pub(super) verb: Verb,
    pub(super) target: usize,
    claims: Vec<usize>,
    /// Planned when it first may run (`None` while queued).
    steps: Option<VecDeque<Step>>,
    begun: bool,
    /// Services started along the way, for the answer: (words, which).
    pub(super) note: Option<(&'static str, Vec<usize>)>,
    /// The command it waited for, if any.
    pub(super) waited: Option<String>,
    ticket: Ticket,
}

/// At most this many schedule/advance rounds per wake-up (each round that
/// made progress may enable the next; the chain is short in practice).
const ROUNDS: usize = 64;

/// Nothing to do: the service already is where the command would take it.
#[derive(Debug, thiserror::Error)]
#[error("`{service}` is already {kind}")]
struct Already {
    service: String,
    kind: StateKind,
}

impl Engine {
    /// Accept a command; it is answered from [`Engine::settle`].
    pub(crate) fn submit(&mut self, verb: Verb, name: &str, ticket: Ticket) {
        let found = self.unit_named(name);
        let Some(i) = found.filter(|&i| verb == Verb::Stop || !self.units[i].retired) else {
            let why = format!("`{name}` is not supervised by this `up` (not selected)");
            let _ = ticket.send(Err(Refusal::Unknown(why)));
            return;
        };
        if let Some(c) = &self.stopping {
            let why = format!("the supervisor is stopping ({})", report::cause(c));
            let _ = ticket.send(Err(Refusal::Conflict(why)));
            return;
        }
        let mut claims = vec![i];
        claims.extend(match verb {
            Verb::Stop => Vec::new(),
            Verb::Start => self.graph.dependencies(i),
            Verb::Restart => self.graph.ready_dependents(i),
        });
        self.commands.push(Command {
            verb,
            target: i,
            claims,
            steps: None,
            begun: false,
            note: None,
            waited: None,
            ticket,
        });
    }

    /// Schedule, move commands on, repeat while that changed something.
    pub(crate) fn settle(&mut self) {
        for _ in 0..ROUNDS {
            self.schedule();
            if !self.advance() {
                return;
            }
        }
    }

    /// Answer every command still open (the runtime is ending).
    pub(crate) fn close_commands(&mut self, why: &str) {
        for c in self.commands.drain(..) {
            let _ = c.ticket.send(Err(Refusal::Conflict(why.to_owned())));
        }
    }

    /// Move each command that may run on as far as it goes; true when
    /// something was started (a step began, a command ended).
    fn advance(&mut self) -> bool {
        if let Some(c) = &self.stopping {
            let why = format!("the supervisor is stopping ({})", report::cause(c));
            self.close_commands(&why);
            return false;
        }
        let mut progress = false;
        let mut held: Vec<(usize, String)> = Vec::new();
        let mut k = 0;
        while k < self.commands.len() {
            let mut cmd = self.commands.remove(k);
            let blocker = cmd
                .claims
                .iter()
                .find_map(|c| held.iter().find(|(s, _)| s == c).map(|(_, d)| d.clone()));
            let me = self.describe(&cmd);
            held.extend(cmd.claims.iter().map(|&c| (c, me.clone())));
            if let Some(b) = blocker {
                cmd.waited.get_or_insert(b);
                self.commands.insert(k, cmd);
                k += 1;
                continue;
            }
            let (answer, moved) = self.drive(&mut cmd);
            progress |= moved;
            match answer {
                Some(a) => {
                    let _ = cmd.ticket.send(a);
                    progress = true;
                }
                None => {
                    self.commands.insert(k, cmd);
                    k += 1;
                }
            }
        }
        progress
    }

    /// Run `cmd`'s steps while they complete; the answer when it is over.
    fn drive(&mut self, cmd: &mut Command) -> (Option<Result<Settled, Refusal>>, bool) {
        let mut moved = false;
        if cmd.steps.is_none() {
            moved = true;
            match self.plan(cmd) {
                Ok(steps) => cmd.steps = Some(steps),
                Err(noop) => return (Some(Ok(self.settled(cmd, noop.to_string()))), moved),
            }
        }
        loop {
            let Some(step) = cmd.steps.as_ref().and_then(|s| s.front()).cloned() else {
                return (Some(Ok(self.success(cmd))), moved);
            };
            if !cmd.begun {
                if !self.begin(&step) {
                    return (None, moved);
                }
                cmd.begun = true;
                moved = true;
            }
            match self.check(&step) {
                Check::Wait => return (None, moved),
                Check::WaitUntil(at) => {
                    self.arm(at, cmd.target, Timer::Settle);
                    return (None, moved);
                }
                Check::Done => {
                    cmd.steps.as_mut().map(VecDeque::pop_front);
                    cmd.begun = false;
                }
                Check::Failed(i) => return (Some(Err(self.failure(cmd, i))), moved),
            }
        }
    }

    /// The steps of `cmd` from the states now, or why there is nothing to do.
    fn plan(&mut self, cmd: &mut Command) -> Result<VecDeque<Step>, Already> {
        let i = cmd.target;
        let kind = self.kind(i);
        let already = || Already {
            service: self.units[i].plan.name.clone(),
            kind,
        };
        match cmd.verb {
            Verb::Stop if kind.is_terminal() => Err(already()),
            Verb::Stop => Ok(VecDeque::from([Step::Stop(i)])),
            Verb::Start if !kind.is_terminal() => Err(already()),
            Verb::Start => {
                let ended = |k: StateKind| {
                    matches!(
                        k,
                        StateKind::Stopped | StateKind::Exited | StateKind::Failed
                    )
                };
                let deps: Vec<usize> = self.graph.dependencies(i);
                let deps: Vec<usize> = deps.into_iter().filter(|&d| ended(self.kind(d))).collect();
                let mut requeue = deps.clone();
                requeue.push(i);
                cmd.note = Some(("first started", deps));
                Ok(VecDeque::from([Step::Start {
                    requeue,
                    wait: vec![i],
                }]))
            }
            Verb::Restart => {
                let dependents = self.graph.ready_dependents(i);
                let live: Vec<usize> = dependents
                    .into_iter()
                    .filter(|&d| !self.kind(d).is_terminal())
                    .collect();
                let mut steps: VecDeque<Step> = live.iter().rev().map(|&d| Step::Stop(d)).collect();
                steps.push_back(Step::Restart(i));
                if !live.is_empty() {
                    steps.push_back(Step::Start {
                        requeue: live.clone(),
                        wait: live.clone(),
                    });
                }
                cmd.note = Some(("then restarted its dependents", live));
                Ok(steps)
            }
        }
    }

    /// Carry out a step's request; false when the service is between states
    /// (stopping) and the step must wait for it to settle first.
    fn begin(&mut self, step: &Step) -> bool {
        match step {
            Step::Stop(i) => {
                if !self.kind(*i).is_terminal() {
                    self.feed(*i, Event::Stop);
                }
            }
            Step::Restart(i) => match self.kind(*i) {
                StateKind::Stopping | StateKind::Starting => return false,
                StateKind::Pending => {}
                k if k.is_terminal() => self.feed(*i, Event::Requeue),
                _ => {
                    // A restart held back for its dependencies is now ours.
                    self.units[*i].held = false;
                    self.feed(*i, Event::Restart);
                }
            },
            Step::Start { requeue, .. } => {
                for &r in requeue {
                    if self.kind(r).is_terminal() && self.kind(r) != StateKind::Completed {
                        self.feed(r, Event::Requeue);
                    }
                }
            }
        }
        true
    }

    fn check(&self, step: &Step) -> Check {
        match step {
            Step::Stop(i) if self.kind(*i).is_terminal() => Check::Done,
            Step::Stop(_) => Check::Wait,
            Step::Restart(i) => self.up(*i),
            Step::Start { wait, .. } => {
                let mut all = Check::Done;
                for &w in wait {
                    match self.up(w) {
                        Check::Done => {}
                        f @ Check::Failed(_) => return f,
                        later => all = later,
                    }
                }
                all
            }
        }
    }

    /// Whether service `i` got up (see [`SETTLE_UP`]).
    fn up(&self, i: usize) -> Check {
        let u = &self.units[i];
        match &u.svc.state {
            State::Ready { ready_at, .. } if !u.policy.has_ready => {
                let at = *ready_at + SETTLE_UP;
                if Instant::now() >= at {
                    Check::Done
                } else {
                    Check::WaitUntil(at)
                }
            }
            State::Ready { .. } | State::Completed => Check::Done,
            State::Failed { .. }
            | State::Exited { .. }
            | State::Backoff { .. }
            | State::Stopped => Check::Failed(i),
            _ => Check::Wait,
        }
    }

    pub(super) fn kind(&self, i: usize) -> StateKind {
        self.units[i].svc.state.kind()
    }
}
