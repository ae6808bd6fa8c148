//! The plan of a `restart`, for one service or for all the services a
//! reload changed (one joint command, like systemd merging the jobs of one
//! transaction): what waits for any target to be `ready` is stopped once,
//! in reverse start order; the targets restart together (the copies of a
//! replicated service one after the other, rolling); once each has
//! settled (up, or failed), the dependents start again once — with those
//! the targets' end had kept from starting (`failed`: `not started:
//! dependency … failed`), the restart brings them back — except those
//! that wait for a target that failed: they go back to `pending`, held back,
//! and start once that target is ready (its restart policy may bring it
//! back; a `start` or a reload may), as after a failed `restart`: the
//! restart stopped them, so it owes them a start. A target that itself
//! waits for another target restarts as its dependent, after it; a changed
//! completed oneshot among them runs again. Another `impl Engine` block
//! beside the mechanics in `tickets.rs`.

use std::collections::VecDeque;

use super::commands::{Refusal, Verb};
use super::engine::Engine;
use super::state::Event;
use super::tickets::{Check, Command, Step};

impl Engine {
    /// The steps of a restart of `cmd.targets`; `cmd.targets` becomes the
    /// targets restarted first (the others restart as dependents).
    pub(super) fn plan_restart(&self, cmd: &mut Command) -> VecDeque<Step> {
        let changed = std::mem::take(&mut cmd.targets);
        let mut dependents: Vec<usize> = changed
            .iter()
            .flat_map(|&t| self.graph.ready_dependents(t))
            .collect();
        dependents.sort_unstable();
        dependents.dedup();
        let first: Vec<usize> = changed
            .iter()
            .copied()
            .filter(|t| !dependents.contains(t))
            .collect();
        // Those that were up, every changed one (even stopped or completed),
        // and those that the end of a target kept from starting.
        let restarted: Vec<usize> = changed.iter().chain(&dependents).copied().collect();
        let again: Vec<usize> = dependents
            .iter()
            .copied()
            .filter(|d| {
                !self.kind(*d).is_terminal()
                    || changed.contains(d)
                    || self.kept_back_by(*d, &restarted)
            })
            .collect();
        // An ended one has nothing to stop (and one kept from starting must
        // not become `stopped`: that is the user's `stop`).
        let live = again.iter().rev().filter(|&&d| !self.kind(d).is_terminal());
        let mut steps: VecDeque<Step> = live.map(|&d| Step::Stop(d)).collect();
        for wave in self.waves(&first) {
            steps.extend(wave.iter().map(|&t| Step::Bounce(t)));
            steps.push_back(Step::Settle(wave));
        }
        steps.push_back(Step::Again(again));
        cmd.targets = first;
        steps
    }

    /// Whether `d` failed only because dependencies among `restarted`
    /// could not hold (`not started: dependency `db` (ready) failed`):
    /// the restart brings those back, so it starts `d` again with the
    /// dependents that were up (see also [`Engine::unblock`]). One that
    /// also waits for something else that cannot hold stays as it is.
    fn kept_back_by(&self, d: usize, restarted: &[usize]) -> bool {
        let dep = |x: usize| (&self.units[x].svc.state, self.units[x].started);
        let waiting = self.graph.unmet(d, dep, false);
        let unmet = self.graph.unmet(d, dep, true);
        self.kept_back(d)
            && unmet
                .iter()
                .filter(|x| !waiting.contains(x))
                .all(|(on, _)| restarted.contains(on))
    }

    /// The targets in waves restarted one after the other, each settled
    /// before the next: the copies of a replicated service roll (the k-th
    /// copy of each in wave k, as `restart web` restarts them one at a
    /// time); every other target restarts in the first wave, together.
    fn waves(&self, first: &[usize]) -> Vec<Vec<usize>> {
        let mut seen: Vec<&str> = Vec::new();
        let mut waves: Vec<Vec<usize>> = Vec::new();
        for &t in first {
            let k = match &self.units[t].plan.replica {
                Some(r) => {
                    seen.push(&r.group);
                    seen.iter().filter(|g| **g == r.group).count() - 1
                }
                None => 0,
            };
            if waves.len() <= k {
                waves.resize_with(k + 1, Vec::new);
            }
            waves[k].push(t);
        }
        waves
    }

    /// The targets of a wave have settled: note the ones that failed.
    pub(super) fn note_failures(&self, cmd: &mut Command, settled: &[usize]) {
        for &t in settled {
            if let Check::Failed(_) = self.up(t) {
                let why = self.failure(cmd, t);
                cmd.failures.push((t, why));
            }
        }
    }

    /// A target that was up when its wave settled (its readiness check
    /// passed) but is down again by the time the command ends — it crashed
    /// right after — did not come up either: the answer must not say
    /// `restarted `a`: backoff` and succeed.
    pub(super) fn note_late_failures(&self, cmd: &mut Command) {
        if cmd.verb == Verb::Stop {
            return;
        }
        for &t in &cmd.targets {
            let noted = cmd.failures.iter().any(|(f, _)| *f == t);
            if !noted && matches!(self.up(t), Check::Failed(_)) {
                let why = self.failure(cmd, t);
                cmd.failures.push((t, why));
            }
        }
    }

    /// `Again(list)` once the targets have settled: start again those of
    /// `list` that wait for no target that failed; those that do are held
    /// back (see [`Engine::hold_back`]).
    pub(super) fn expand_again(&mut self, cmd: &mut Command, list: &[usize]) -> Step {
        let blocked: Vec<usize> = cmd
            .failures
            .iter()
            .flat_map(|(f, _)| self.graph.ready_dependents(*f))
            .collect();
        let (held, again): (Vec<usize>, Vec<usize>) =
            list.iter().copied().partition(|d| blocked.contains(d));
        self.hold_back(&held);
        cmd.held = held;
        cmd.note = Some((self.dependents_words(cmd, &again), again.clone()));
        Step::Start {
            requeue: again.clone(),
            wait: again,
        }
    }

    /// What waits for a target that did not come up goes back to
    /// `pending`, held back: the scheduler starts it (in dependency order)
    /// once that target is ready — by its own restart policy, a `start`, a
    /// reload — and it waits, rather than fails, while the target has
    /// ended. A dependent stopped by hand was never in the list: it stays
    /// stopped. The command does not wait for these.
    fn hold_back(&mut self, held: &[usize]) {
        for &d in held {
            if !self.kind(d).is_terminal() {
                continue;
            }
            self.units[d].held_back = true;
            self.feed(d, Event::Requeue);
            let name = self.units[d].plan.name.as_str();
            let why = self.held_reason(d).unwrap_or_default();
            tracing::info!(service = name, "not started again yet: {why}");
        }
    }

    /// `; what waits for it starts once it is ready: `api``, for a failure
    /// of target `t` (empty when nothing was held back for it).
    pub(super) fn held_words(&self, cmd: &Command, t: usize) -> String {
        let mine = self.graph.ready_dependents(t);
        let names: Vec<String> = (cmd.held.iter())
            .filter(|d| mine.contains(d))
            .map(|&d| format!("`{}`", self.units[d].plan.name))
            .collect();
        if names.is_empty() {
            return String::new();
        }
        format!(
            "; what waits for it starts once it is ready: {}",
            names.join(", ")
        )
    }

    /// A target's failure, with what was held back for it.
    pub(super) fn with_held(&self, cmd: &Command, t: usize, why: &Refusal) -> Refusal {
        let mut r = why.clone();
        if let Refusal::Failed(s) = &mut r {
            s.message.push_str(&self.held_words(cmd, t));
        }
        r
    }

    /// `then restarted its dependents`; for several targets, which of them
    /// the dependents wait for.
    fn dependents_words(&self, cmd: &Command, again: &[usize]) -> String {
        if cmd.targets.len() <= 1 {
            return "then restarted its dependents".into();
        }
        let waited: Vec<String> = cmd
            .targets
            .iter()
            .filter(|&&t| {
                let d = self.graph.ready_dependents(t);
                d.iter().any(|x| again.contains(x))
            })
            .map(|&t| format!("`{}`", self.units[t].plan.name))
            .collect();
        format!("then restarted what waits for {}", waited.join(", "))
    }

    /// Whether every one of `list` has settled: up, or failed.
    pub(super) fn all_settled(&self, list: &[usize]) -> Check {
        let mut all = Check::Done;
        for &w in list {
            match self.up(w) {
                Check::Done | Check::Failed(_) => {}
                Check::WaitUntil(at) => all = Check::WaitUntil(at),
                Check::Wait => {
                    if let Check::Done = all {
                        all = Check::Wait;
                    }
                }
            }
        }
        all
    }
}
