//! The words of a command's answer: "restarted `db`: ready (pid 10919); then
//! restarted its dependents: `api` (ready)", "flaky: exit code 3, … — after
//! `restart flaky`". Another `impl Engine` block, apart from the mechanics
//! in `tickets.rs`.

use super::commands::{Refusal, Settled, Verb};
use super::engine::Engine;
use super::state::State;
use super::tickets::Command;

impl Engine {
    /// `restart db`.
    pub(super) fn describe(&self, cmd: &Command) -> String {
        format!(
            "`{} {}`",
            cmd.verb.as_str(),
            self.units[cmd.target].plan.name
        )
    }

    /// The target's settled state with `message` (plus what it waited for).
    pub(super) fn settled(&self, cmd: &Command, mut message: String) -> Settled {
        let u = &self.units[cmd.target];
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
        let u = &self.units[cmd.target];
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
        if let Some((words, which)) = cmd.note.as_ref().filter(|(_, w)| !w.is_empty()) {
            let list: Vec<String> = which
                .iter()
                .map(|&d| format!("`{}` ({})", self.units[d].plan.name, self.kind(d)))
                .collect();
            msg.push_str(&format!("; {words}: {}", list.join(", ")));
        }
        self.settled(cmd, msg)
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
