//! The words of a command's answer: "restarted `db`: ready (pid 10919); then
//! restarted its dependents: `api` (ready)", "flaky: exit code 3, … — after
//! `restart flaky`". Another `impl Engine` block, apart from the mechanics
//! in `tickets.rs`.

use super::commands::{Refusal, Settled, Verb};
use super::engine::Engine;
use super::state::State;
use super::tickets::Command;

impl Engine {
    /// `restart db` (`restart db api`: a joint restart).
    pub(super) fn describe(&self, cmd: &Command) -> String {
        let mut names: Vec<&str> = cmd
            .targets
            .iter()
            .map(|&t| self.units[t].plan.name.as_str())
            .collect();
        if names.is_empty() {
            names.push(&self.units[cmd.target].plan.name);
        }
        format!("`{} {}`", cmd.verb.as_str(), names.join(" "))
    }

    /// The target's settled state with `message` (plus what it waited for).
    pub(super) fn settled(&self, cmd: &Command, message: String) -> Settled {
        self.settled_of(cmd, cmd.target, message)
    }

    fn settled_of(&self, cmd: &Command, i: usize, mut message: String) -> Settled {
        let u = &self.units[i];
        if let Some(w) = &cmd.waited {
            message.push_str(&format!(" (after {w} finished)"));
        }
        Settled {
            service: u.plan.name.clone(),
            state: u.svc.state.kind(),
            pid: u.svc.state.pid(),
            message,
        }
    }

    pub(super) fn success(&self, cmd: &Command) -> Settled {
        self.success_of(cmd, cmd.target, true)
    }

    /// A joint restart's answers: one per service restarted first (its
    /// failure, when it did not come up), the last one that came up naming
    /// the dependents restarted after them; a dependent that failed last.
    pub(super) fn each(
        &self,
        cmd: &Command,
        failed: Option<usize>,
    ) -> Vec<Result<Settled, Refusal>> {
        let failure = |t: usize| cmd.failures.iter().find(|(f, _)| *f == t);
        let noted = cmd.targets.iter().rposition(|&t| failure(t).is_none());
        let mut all: Vec<_> = (cmd.targets.iter().enumerate())
            .map(|(k, &t)| match failure(t) {
                Some((_, why)) => Err(self.with_held(cmd, t, why)),
                None => Ok(self.success_of(cmd, t, Some(k) == noted)),
            })
            .collect();
        if let Some(i) = failed {
            all.push(Err(self.failure(cmd, i)));
        }
        all
    }

    /// `restarted `db`: ready (pid 10919)`, with the note when `note`.
    fn success_of(&self, cmd: &Command, i: usize, note: bool) -> Settled {
        let u = &self.units[i];
        let name = &u.plan.name;
        let kind = u.svc.state.kind();
        let pid = u
            .svc
            .state
            .pid()
            .map(|p| format!(" (pid {p})"))
            .unwrap_or_default();
        let mut msg = match cmd.verb {
            Verb::Stop => format!("stopped `{name}`"),
            Verb::Start => format!("started `{name}`: {kind}{pid}"),
            Verb::Restart => format!("restarted `{name}`: {kind}{pid}"),
        };
        if let Some((words, which)) = cmd.note.as_ref().filter(|(_, w)| note && !w.is_empty()) {
            let list: Vec<String> = which
                .iter()
                .map(|&d| format!("`{}` ({})", self.units[d].plan.name, self.kind(d)))
                .collect();
            msg.push_str(&format!("; {words}: {}", list.join(", ")));
        }
        self.settled_of(cmd, i, msg)
    }

    /// Service `i` did not get where `cmd` was taking it.
    pub(super) fn failure(&self, cmd: &Command, i: usize) -> Refusal {
        let u = &self.units[i];
        let why = match &u.svc.state {
            State::Failed { reason } => reason.to_string(),
            State::Backoff { last, attempt, .. } => {
                format!("{last}; restarting (attempt {attempt})")
            }
            State::Exited { status } => format!("exited ({status})"),
            st => format!("is {}", st.name()),
        };
        let mut msg = format!("{}: {why} — after {}", u.plan.name, self.describe(cmd));
        if self.finished() {
            msg.push_str("; nothing is left to supervise, so `up` is exiting");
        }
        let mut s = self.settled(cmd, msg);
        s.state = u.svc.state.kind();
        s.pid = u.svc.state.pid();
        s.service = u.plan.name.clone();
        Refusal::Failed(s)
    }
}
