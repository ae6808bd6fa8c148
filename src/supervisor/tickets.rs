//! Commands with tickets: `start` / `stop` / `restart` arrive with a reply
//! channel and are answered by the engine once they have *settled* — the
//! service ready (or stopped, or failed, with the reason) — like a
//! watchexec `Ticket`. Nothing polls: the runtime calls [`Engine::settle`]
//! after every wake-up, and a command moves on only when a transition it
//! waits for has happened.
//!
//! The cascade is planned here from the one dependency graph
//! ([`super::graph::Graph`]): `restart X` stops what waits for X to be
//! `ready` (reverse start order), restarts X, then requeues them (held back
//! until X is ready, when X did not come up: `restart_plan.rs`); `start X`
//! requeues X and its ended dependencies as `pending`, and the scheduler
//! starts each one only when its own dependencies hold — never before.
//! A reload (or one burst of `up --watch`) restarts its services as ONE
//! command (like systemd's job merging, see `restart_plan.rs`): what waits
//! for any of them is stopped once and started once, after all of them; one
//! of them that waits for another restarts as its dependent, and a completed
//! oneshot among them runs again (changed: its run was of the old one).
//!
//! Each command claims the services it may touch. A command whose claims
//! meet an earlier one's waits behind it (FIFO) and says so in its answer;
//! nothing is ever half-applied. While everything is stopping, commands are
//! refused with the reason.

use std::collections::VecDeque;
use std::time::Instant;

use super::commands::{Refusal, Ticket, Tickets, Verb};
use super::engine::{Engine, Timer, SETTLE_UP};
use super::report;
use super::state::{Event, State, StateKind};

/// One step of a command, on one service (or a set).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Step {
    /// Stop it; done when it has ended.
    Stop(usize),
    /// Restart it (requeue it when it has ended); done once asked.
    Bounce(usize),
    /// Done when every one is up or has failed (failures are noted).
    Settle(Vec<usize>),
    /// Becomes a `Start` of these, less what waits for a noted failure
    /// (see `restart_plan.rs`).
    Again(Vec<usize>),
    /// Requeue those of `requeue` that have ended (a completed oneshot
    /// too: it runs again); done when every one of `wait` is ready (or
    /// completed).
    Start {
        requeue: Vec<usize>,
        wait: Vec<usize>,
    },
}

/// How a step stands.
pub(super) enum Check {
    Wait,
    /// Ready, without a readiness check: settled once it has stayed up until then.
    WaitUntil(Instant),
    Done,
    Failed(usize),
}

/// How a command ended.
enum End {
    /// Nothing to do.
    Already(Already),
    /// Every step done.
    Done,
    /// This service did not get where the command was taking it.
    Failed(usize),
}

/// Where the answer goes.
enum Reply {
    /// One command on one service.
    One(Ticket),
    /// A joint restart: an answer per service restarted first.
    Each(Tickets),
}

/// A command in flight or queued.
pub(super) struct Command {
    pub(super) verb: Verb,
    pub(super) target: usize,
    /// A joint restart's services ([`Engine::submit_restarts`]); once
    /// planned, those restarted first (the others restart as dependents).
    /// `[target]` for any other command.
    pub(super) targets: Vec<usize>,
    claims: Vec<usize>,
    /// Planned when it first may run (`None` while queued).
    steps: Option<VecDeque<Step>>,
    /// Services of a restart that did not come up, and why.
    pub(super) failures: Vec<(usize, Refusal)>,
    begun: bool,
    /// Dependents held back for a target that did not come up (they start
    /// once it is ready; see `restart_plan.rs`).
    pub(super) held: Vec<usize>,
    /// Services started along the way, for the answer: (words, which).
    pub(super) note: Option<(String, Vec<usize>)>,
    /// The command it waited for, if any.
    pub(super) waited: Option<String>,
    reply: Reply,
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
        self.enqueue(verb, vec![i], Reply::One(ticket));
    }

    /// Accept a joint restart of `names` (a reload's changed services, the
    /// services one burst of `up --watch` restarts).
    pub(crate) fn submit_restarts(&mut self, names: &[String], tickets: Tickets) {
        let mut targets: Vec<usize> = names
            .iter()
            .filter_map(|n| self.unit_named(n))
            .filter(|&i| !self.units[i].retired)
            .collect();
        targets.sort_unstable();
        targets.dedup();
        if targets.is_empty() {
            let _ = tickets.send(Vec::new());
            return;
        }
        if let Some(c) = &self.stopping {
            let why = format!("the supervisor is stopping ({})", report::cause(c));
            let _ = tickets.send(vec![Err(Refusal::Conflict(why))]);
            return;
        }
        self.enqueue(Verb::Restart, targets, Reply::Each(tickets));
    }

    fn enqueue(&mut self, verb: Verb, targets: Vec<usize>, reply: Reply) {
        let mut claims = targets.clone();
        for &i in &targets {
            claims.extend(match verb {
                Verb::Stop => Vec::new(),
                Verb::Start => self.graph.dependencies(i),
                Verb::Restart => self.graph.ready_dependents(i),
            });
        }
        self.commands.push(Command {
            verb,
            target: targets[0],
            targets,
            claims,
            steps: None,
            failures: Vec::new(),
            held: Vec::new(),
            begun: false,
            note: None,
            waited: None,
            reply,
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
            let refusal = Err(Refusal::Conflict(why.to_owned()));
            match c.reply {
                Reply::One(t) => drop(t.send(refusal)),
                Reply::Each(t) => drop(t.send(vec![refusal])),
            }
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
            let (end, moved) = self.drive(&mut cmd);
            progress |= moved;
            match end {
                Some(end) => {
                    self.answer(cmd, end);
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

    /// Send `cmd`'s answer.
    fn answer(&self, mut cmd: Command, end: End) {
        if let End::Done = end {
            self.note_late_failures(&mut cmd);
        }
        match &cmd.reply {
            Reply::One(_) => {
                let a = match end {
                    End::Already(noop) => Ok(self.settled(&cmd, noop.to_string())),
                    End::Done => match cmd.failures.first() {
                        Some((t, why)) => Err(self.with_held(&cmd, *t, why)),
                        None => Ok(self.success(&cmd)),
                    },
                    End::Failed(i) => Err(self.failure(&cmd, i)),
                };
                if let Reply::One(t) = cmd.reply {
                    let _ = t.send(a);
                }
            }
            Reply::Each(_) => {
                let failed = match end {
                    End::Failed(i) => Some(i),
                    End::Already(_) | End::Done => None,
                };
                let all = self.each(&cmd, failed);
                if let Reply::Each(t) = cmd.reply {
                    let _ = t.send(all);
                }
            }
        }
    }

    /// Run `cmd`'s steps while they complete; how it ended, when it has.
    fn drive(&mut self, cmd: &mut Command) -> (Option<End>, bool) {
        let mut moved = false;
        if cmd.steps.is_none() {
            moved = true;
            match self.plan(cmd) {
                Ok(steps) => cmd.steps = Some(steps),
                Err(noop) => return (Some(End::Already(noop)), moved),
            }
        }
        loop {
            let Some(mut step) = cmd.steps.as_ref().and_then(|s| s.front()).cloned() else {
                return (Some(End::Done), moved);
            };
            if let Step::Again(list) = &step {
                step = self.expand_again(cmd, list);
                if let Some(front) = cmd.steps.as_mut().and_then(VecDeque::front_mut) {
                    *front = step.clone();
                }
            }
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
                    if let Step::Settle(list) = &step {
                        self.note_failures(cmd, list);
                    }
                    cmd.steps.as_mut().map(VecDeque::pop_front);
                    cmd.begun = false;
                }
                Check::Failed(i) => return (Some(End::Failed(i)), moved),
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
            // One its dependency's end kept from starting would start again
            // with it: `stop` makes it `stopped` (see `Engine::unblock`).
            Verb::Stop if kind.is_terminal() && !self.kept_back(i) => Err(already()),
            Verb::Stop => Ok(VecDeque::from([Step::Stop(i)])),
            // A service held back by a failed restart is `pending`, but a
            // `start` still brings up its ended dependencies.
            Verb::Start if !kind.is_terminal() && !self.units[i].held_back => Err(already()),
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
                // `start` of a completed oneshot does not run it again.
                if kind != StateKind::Completed {
                    requeue.push(i);
                }
                cmd.note = Some(("first started".into(), deps));
                Ok(VecDeque::from([Step::Start {
                    requeue,
                    wait: vec![i],
                }]))
            }
            Verb::Restart => Ok(self.plan_restart(cmd)),
        }
    }

    /// Carry out a step's request; false when the service is between states
    /// (stopping) and the step must wait for it to settle first.
    fn begin(&mut self, step: &Step) -> bool {
        match step {
            Step::Stop(i) => {
                if !self.kind(*i).is_terminal() || self.kept_back(*i) {
                    self.feed(*i, Event::Stop);
                }
            }
            Step::Bounce(i) => match self.kind(*i) {
                // Held back by an earlier failed restart: ours now.
                StateKind::Pending if self.units[*i].held_back => {
                    self.units[*i].held_back = false;
                }
                StateKind::Stopping | StateKind::Starting => return false,
                StateKind::Pending => {}
                k if k.is_terminal() => self.feed(*i, Event::Requeue),
                _ => {
                    // A restart held back for its dependencies is now ours.
                    self.units[*i].held = false;
                    self.feed(*i, Event::Restart);
                }
            },
            Step::Settle(_) | Step::Again(_) => {}
            Step::Start { requeue, wait } => {
                for &r in requeue {
                    if self.kind(r).is_terminal() {
                        self.feed(r, Event::Requeue);
                    }
                }
                // Waited for now: a dependency that cannot hold fails it
                // (and so this command) instead of holding it back.
                for &w in wait {
                    self.units[w].held_back = false;
                }
            }
        }
        true
    }

    fn check(&self, step: &Step) -> Check {
        match step {
            Step::Stop(i) if self.kind(*i).is_terminal() => Check::Done,
            Step::Stop(_) => Check::Wait,
            Step::Bounce(_) | Step::Again(_) => Check::Done,
            Step::Settle(list) => self.all_settled(list),
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
    pub(super) fn up(&self, i: usize) -> Check {
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
