//! Deciding what happens next across services: start whatever may start
//! (dependency conditions, the database gate), and while stopping, stop
//! whatever may stop (reverse dependency order; a second signal kills all).
//! What a dependency's end kept from starting waits again once that
//! dependency is brought back (see [`Engine::unblock`]).
//! A second `impl Engine` block, kept apart from the per-service mechanics.

use super::engine::{Engine, StopCause};
use super::graph::Clearance;
use super::report;
use super::state::{Event, FailReason, State};

impl Engine {
    /// Start whatever may start; while stopping, stop whatever may stop.
    pub(crate) fn schedule(&mut self) {
        if self.stopping.is_some() {
            return self.drive_stop();
        }
        loop {
            let mut changed = false;
            for i in 0..self.units.len() {
                if self.units[i].held && matches!(self.units[i].svc.state, State::Backoff { .. }) {
                    changed |= self.backoff_elapsed(i);
                    continue;
                }
                changed |= self.unblock(i);
                if self.units[i].svc.state != State::Pending || self.units[i].retired {
                    continue;
                }
                if self.units[i].plan.uses_database && !self.gate_open {
                    continue;
                }
                match self.clearance(i) {
                    Clearance::Go => self.feed(i, Event::Start),
                    Clearance::Wait => continue,
                    // Held back by a failed restart: it waits for the
                    // dependency to come back, however that happens.
                    Clearance::Blocked(_) if self.units[i].held_back => continue,
                    Clearance::Blocked(why) => self.feed(i, Event::DependencyFailed(why)),
                }
                changed = true;
                if self.stopping.is_some() {
                    return self.drive_stop();
                }
            }
            if !changed {
                return;
            }
        }
    }

    /// A service that failed only because a dependency could not hold
    /// (`not started: dependency `db` (ready) failed: …`) goes back to
    /// `pending`, held back, once none of its dependencies is blocked any
    /// more: a `start`, `restart` or reload brought the dependency back, so
    /// what its end kept from starting waits for it again and starts once
    /// it holds — transitively, as each one in turn is `pending` again
    /// (start order: a dependency comes first). Only a command or a reload
    /// takes a service out of `failed`, `exited` or `stopped`, so this
    /// never fires by itself; a dependent the user stopped is `stopped`,
    /// not this, and stays stopped. Returns whether it did.
    fn unblock(&mut self, i: usize) -> bool {
        let u = &self.units[i];
        if !self.kept_back(i) || u.retired || matches!(self.clearance(i), Clearance::Blocked(_)) {
            return false;
        }
        self.units[i].held_back = true;
        self.feed(i, Event::Requeue);
        let why = self.held_reason(i).unwrap_or_default();
        let name = self.units[i].plan.name.as_str();
        tracing::info!(service = name, "back to pending: {why}");
        true
    }

    /// Whether `i` is `failed` only because a dependency could not hold.
    pub(super) fn kept_back(&self, i: usize) -> bool {
        matches!(
            &self.units[i].svc.state,
            State::Failed {
                reason: FailReason::Dependency(_)
            }
        )
    }

    /// A restart is due: go if the dependencies still hold (a dependency that
    /// is itself restarting must be ready again first), else hold. Returns
    /// whether anything changed.
    pub(super) fn backoff_elapsed(&mut self, i: usize) -> bool {
        match self.clearance(i) {
            Clearance::Go => {
                self.units[i].held = false;
                self.feed(i, Event::BackoffElapsed);
                true
            }
            Clearance::Wait => {
                if !std::mem::replace(&mut self.units[i].held, true) {
                    let what = self
                        .waiting_for(i)
                        .unwrap_or_else(|| "its dependencies".into());
                    let name = self.units[i].plan.name.as_str();
                    tracing::info!(service = name, "restart waits for {what}");
                }
                false
            }
            Clearance::Blocked(why) => {
                self.units[i].held = false;
                self.feed(i, Event::DependencyFailed(why));
                true
            }
        }
    }

    /// Only `i`'s dependencies are read: `schedule` asks this of every
    /// pending service, so it must not cost a pass over all of them.
    fn clearance(&self, i: usize) -> Clearance {
        self.graph.clearance(i, |d| {
            let u = &self.units[d];
            (u.plan.name.as_str(), &u.svc.state, u.started)
        })
    }

    /// Begin stopping everything (idempotent).
    pub(crate) fn begin_stop(&mut self, cause: StopCause) {
        if self.stopping.is_some() {
            return;
        }
        tracing::info!("stopping all services ({})", report::cause(&cause));
        self.notice(format!("stopping all services ({})", report::cause(&cause)));
        self.stopping = Some(cause);
        self.drive_stop();
    }

    /// Second signal: kill every group now.
    pub(crate) fn kill_all(&mut self) {
        self.stopping.get_or_insert(StopCause::Requested);
        tracing::warn!("second stop request: killing every process group now");
        for i in 0..self.units.len() {
            self.feed(i, Event::Kill);
        }
    }

    fn drive_stop(&mut self) {
        for i in (0..self.units.len()).rev() {
            let st = &self.units[i].svc.state;
            let stop = match st {
                State::Pending | State::Backoff { .. } | State::Starting => true,
                State::Running { .. } | State::Ready { .. } => {
                    let states: Vec<&State> = self.units.iter().map(|u| &u.svc.state).collect();
                    self.graph.may_stop(i, &states)
                }
                _ => false,
            };
            if stop {
                self.feed(i, Event::Stop);
            }
        }
    }

    /// The run is over: every service has ended and no group is left — and
    /// either everything is stopping (signal, shutdown, critical failure) or
    /// the services ended BY THEMSELVES (oneshots completed, failures:
    /// container semantics). A service the user stopped (`stop` over the
    /// control socket; outside a global stop that is the only way to
    /// `stopped`) keeps `up` running, waiting for `start` or a signal.
    pub(crate) fn finished(&self) -> bool {
        let ended =
            self.awaiting.is_empty() && self.units.iter().all(|u| u.svc.state.is_terminal());
        let user_stopped = self.units.iter().any(|u| u.svc.state == State::Stopped);
        ended && (self.stopping.is_some() || !user_stopped)
    }
}
