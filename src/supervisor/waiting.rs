//! What a service that is not ready yet is waiting for, in words: the
//! database gate (its host:port and the last probe failure), a dependency
//! (and the condition it must reach), or its own readiness check. Shown by
//! `run` when `--timeout` runs out and carried in status snapshots, so "not
//! ready" never comes without a why. Another `impl Engine` block; no I/O
//! but the one `tracing` line announcing the gate.

use super::engine::Engine;
use super::state::State;
use crate::db::probe::{LastCause, Progress};
use crate::db::view::ConnectPlan;
use crate::db::DatabasePlan;
use crate::plan::ReadyKind;

/// The database gate while it probes.
#[derive(Debug, Clone)]
pub(crate) struct GateWait {
    /// Where it connects: `host:port`, several joined with `, `.
    pub target: String,
    /// The last transient failure, e.g. `refused (tcp)`.
    pub last: LastCause,
}

impl GateWait {
    /// A gate probing the endpoints of `plan`.
    pub(crate) fn new(plan: &ConnectPlan) -> GateWait {
        GateWait {
            target: target(plan),
            last: LastCause::default(),
        }
    }

    /// `the database gate at db.internal:5432 (last attempt: refused (tcp))`.
    pub(crate) fn describe(&self) -> String {
        let last = self.last.lock().map(|l| l.clone()).unwrap_or_default();
        match last {
            Some(cause) => format!(
                "the database gate at {} (last attempt: {cause})",
                self.target
            ),
            None => format!("the database gate at {} (first attempt)", self.target),
        }
    }
}

/// Each endpoint as a client would name it: `host:port`, `[v6]:port`, or the
/// Unix socket's path.
pub(crate) fn target(plan: &ConnectPlan) -> String {
    let one = |e: &crate::db::view::Endpoint| {
        if e.host.starts_with('/') {
            format!("{}/.s.PGSQL.{}", e.host, e.port)
        } else if e.host.contains(':') {
            format!("[{}]:{}", e.host, e.port)
        } else {
            format!("{}:{}", e.host, e.port)
        }
    };
    let all: Vec<String> = plan.endpoints.iter().map(one).collect();
    all.join(", ")
}

impl Engine {
    /// The gate is about to probe `db` (when probing is on): remember where,
    /// say so, and return the progress reporter that records each failure.
    pub(crate) fn watch_gate(&mut self, db: Option<&DatabasePlan>) -> Progress {
        self.gate_wait = db
            .filter(|d| d.settings.probe)
            .map(|d| GateWait::new(d.url.connect_plan()));
        let Some((d, g)) = db.zip(self.gate_wait.as_ref()) else {
            return Progress::lines();
        };
        let users: Vec<&str> = self
            .units
            .iter()
            .filter(|u| u.plan.uses_database)
            .map(|u| u.plan.name.as_str())
            .collect();
        tracing::info!(
            "database gate: probing {} (for up to {:?}) before starting {}",
            g.target,
            d.settings.wait,
            users.join(", ")
        );
        Progress::lines().recording(std::sync::Arc::clone(&g.last))
    }

    /// What service `i` is waiting for, when it is not ready yet and the
    /// reason is known.
    pub(crate) fn waiting_for(&self, i: usize) -> Option<String> {
        let u = &self.units[i];
        match &u.svc.state {
            State::Pending => {}
            State::Backoff { .. } if u.held => {}
            State::Starting | State::Running { .. } => {
                return u.plan.ready.as_ref().map(|r| {
                    let what = self.redact.redact(&check_words(&r.kind)).into_owned();
                    format!("its readiness check ({what})")
                });
            }
            _ => return None,
        }
        if u.plan.uses_database && !self.gate_open {
            return Some(match &self.gate_wait {
                Some(g) => g.describe(),
                None => "the database gate".into(),
            });
        }
        let dep = |d: usize| (&self.units[d].svc.state, self.units[d].started);
        let deps: Vec<String> = self
            .graph
            .unmet(i, dep, u.held_back)
            .into_iter()
            .map(|(d, cond)| {
                let dep = &self.units[d];
                format!(
                    "`{}` to be {} (now {})",
                    dep.plan.name,
                    cond.as_str(),
                    dep.svc.state.name()
                )
            })
            .collect();
        (!deps.is_empty()).then(|| deps.join(", "))
    }

    /// `waiting for `db` to be ready (now backoff)`, for a service held back
    /// by a failed restart (see [`super::engine::Unit::held_back`]).
    pub(crate) fn held_reason(&self, i: usize) -> Option<String> {
        let u = &self.units[i];
        if !u.held_back || u.svc.state != State::Pending {
            return None;
        }
        self.waiting_for(i).map(|w| format!("waiting for {w}"))
    }
}

/// A readiness check in a few words (an exec check by its program only: its
/// arguments may carry secrets).
fn check_words(p: &ReadyKind) -> String {
    match p {
        ReadyKind::Tcp(a) => format!("tcp {a}"),
        ReadyKind::Http(u) => format!("http {u}"),
        ReadyKind::Exec(argv) => format!("exec {}", argv.first().map_or("", String::as_str)),
        ReadyKind::Log(re) => format!("log /{re}/"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::{validate, DbSettings};

    fn target_of(raw: &str) -> String {
        let v = validate(raw, &DbSettings::default());
        target(v.url.expect("url").connect_plan())
    }

    #[test]
    fn targets_are_named_as_clients_name_them() {
        assert_eq!(
            target_of("postgresql://u@db.internal/x"),
            "db.internal:5432"
        );
        assert_eq!(target_of("postgresql://u@a:1,[::1]:2/x"), "a:1, [::1]:2");
        assert_eq!(
            target_of("postgresql:///x?host=/run/pg&port=6000"),
            "/run/pg/.s.PGSQL.6000"
        );
    }

    #[test]
    fn the_gate_says_its_last_failure() {
        let g = GateWait {
            target: "db:5432".into(),
            last: LastCause::default(),
        };
        assert_eq!(g.describe(), "the database gate at db:5432 (first attempt)");
        *g.last.lock().expect("lock") = Some("refused (tcp)".into());
        assert_eq!(
            g.describe(),
            "the database gate at db:5432 (last attempt: refused (tcp))"
        );
    }
}
