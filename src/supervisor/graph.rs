//! The dependency graph, pure: which services `up A B` runs (those and their
//! transitive dependencies), whether a service may start given its
//! dependencies' states, and who must stop before whom (reverse order).

use std::collections::BTreeSet;

use super::state::State;
use crate::plan::{Condition, ServicePlan};

/// Dependencies and dependents by index into the selected services.
#[derive(Debug, Clone)]
pub(crate) struct Graph {
    /// `deps[i]`: what service i waits for.
    pub deps: Vec<Vec<(usize, Condition)>>,
    /// `dependents[i]`: who waits for service i.
    pub dependents: Vec<Vec<usize>>,
    /// `uses_database` per service.
    pub uses_db: Vec<bool>,
    /// Could be the database (or something it needs): does not use it and
    /// does not depend, even transitively, on anything that does. Such a
    /// service may start before the gate, so it stops after every user of it.
    pub provider: Vec<bool>,
}

/// Whether a service may start now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Clearance {
    /// Every dependency is satisfied.
    Go,
    /// Not yet.
    Wait,
    /// Never will be: why.
    Blocked(String),
}

/// A name given to [`select`] that is no service of the Plan.
#[derive(Debug, Clone, thiserror::Error)]
#[error("unknown service `{name}` (services: {})", known.join(", "))]
pub(crate) struct UnknownService {
    /// The name asked for.
    pub name: String,
    /// Every service of the Plan.
    pub known: Vec<String>,
}

/// The services to run, in plan (start) order: `names` and everything they
/// depend on, or all when `names` is empty; a replicated service's name is
/// every copy. Unknown names are an error.
pub(crate) fn select(all: &[ServicePlan], names: &[String]) -> Result<Vec<usize>, UnknownService> {
    if names.is_empty() {
        return Ok((0..all.len()).collect());
    }
    let index = |n: &str| all.iter().position(|s| s.name == n);
    let mut chosen = BTreeSet::new();
    let mut stack = Vec::new();
    // A replicated service's name selects every copy.
    let copies = |n: &str| -> Vec<usize> {
        let of = |s: &ServicePlan| s.replica.as_ref().is_some_and(|r| r.group == n);
        (0..all.len()).filter(|&i| of(&all[i])).collect()
    };
    for n in names {
        match index(n) {
            Some(i) => stack.push(i),
            None if !copies(n).is_empty() => stack.extend(copies(n)),
            None => {
                let known = all.iter().map(|s| s.name.clone()).collect();
                return Err(UnknownService {
                    name: n.clone(),
                    known,
                });
            }
        }
    }
    while let Some(i) = stack.pop() {
        if chosen.insert(i) {
            stack.extend(all[i].depends_on.iter().filter_map(|d| index(&d.name)));
        }
    }
    Ok(chosen.into_iter().collect())
}

impl Graph {
    /// Build the graph over `services` (already selected; dependencies outside
    /// the set cannot exist after [`select`]).
    pub(crate) fn new(services: &[&ServicePlan]) -> Graph {
        // The last of a name: a reload that re-adds a removed name (a
        // scale-down then up of `replicas`) appends a new unit after the retired one.
        let index = |n: &str| services.iter().rposition(|s| s.name == n);
        let deps: Vec<Vec<(usize, Condition)>> = services
            .iter()
            .map(|s| {
                let d = s.depends_on.iter();
                d.filter_map(|d| index(&d.name).map(|i| (i, d.condition)))
                    .collect()
            })
            .collect();
        let mut dependents = vec![Vec::new(); services.len()];
        for (i, ds) in deps.iter().enumerate() {
            for &(d, _) in ds {
                dependents[d].push(i);
            }
        }
        let uses_db: Vec<bool> = services.iter().map(|s| s.uses_database).collect();
        let provider = (0..services.len())
            .map(|i| !reaches(&deps, i, &uses_db))
            .collect();
        Graph {
            deps,
            dependents,
            uses_db,
            provider,
        }
    }

    /// May service `i` start? `dep(d)` tells a dependency's name, state and
    /// whether it has been started at least once. Only `i`'s dependencies
    /// are looked at, so a pass over every service costs the number of
    /// edges, not services² (no per-call snapshot of every unit).
    pub(crate) fn clearance<'a>(
        &self,
        i: usize,
        dep: impl Fn(usize) -> (&'a str, &'a State, bool),
    ) -> Clearance {
        let mut clearance = Clearance::Go;
        for &(d, cond) in &self.deps[i] {
            let (name, state, started) = dep(d);
            match condition(cond, state, started) {
                Clearance::Go => {}
                Clearance::Wait => clearance = Clearance::Wait,
                Clearance::Blocked(why) => {
                    let c = cond.as_str();
                    return Clearance::Blocked(format!("dependency `{name}` ({c}) {why}"));
                }
            }
        }
        clearance
    }

    /// The dependencies of `i` it is still waiting for (not yet satisfied,
    /// not blocked either — or, `blocked_too`, blocked as well: a service
    /// held back by a failed restart waits for those too): what a pending
    /// service is waiting on. `dep(d)`: state and started-once, as above.
    pub(crate) fn unmet<'a>(
        &self,
        i: usize,
        dep: impl Fn(usize) -> (&'a State, bool),
        blocked_too: bool,
    ) -> Vec<(usize, Condition)> {
        self.deps[i]
            .iter()
            .copied()
            .filter(|&(d, cond)| {
                let (state, started) = dep(d);
                match condition(cond, state, started) {
                    Clearance::Go => false,
                    Clearance::Wait => true,
                    Clearance::Blocked(_) => blocked_too,
                }
            })
            .collect()
    }

    /// May service `i` be stopped now during shutdown? Only once every
    /// dependent has no process left (reverse dependency order).
    /// Dependents count transitively: `api → migrate (done) → db` keeps `db`
    /// up until `api` is gone.
    pub(crate) fn may_stop(&self, i: usize, states: &[&State]) -> bool {
        if self.provider[i] {
            let users = (0..states.len()).filter(|&u| self.uses_db[u]);
            if users.into_iter().any(|u| states[u].pid().is_some()) {
                return false;
            }
        }
        let mut seen = vec![false; self.dependents.len()];
        let mut stack = self.dependents[i].clone();
        while let Some(d) = stack.pop() {
            if std::mem::replace(&mut seen[d], true) {
                continue;
            }
            if states[d].pid().is_some() {
                return false;
            }
            stack.extend(&self.dependents[d]);
        }
        true
    }
}

impl Graph {
    /// Who waits, transitively, for `i` to be `ready` — the services a
    /// `restart` of `i` stops first and starts again after — in start order.
    pub(crate) fn ready_dependents(&self, i: usize) -> Vec<usize> {
        let mut hit = vec![false; self.deps.len()];
        hit[i] = true;
        // Start order: a dependency always comes before its dependents.
        for d in i + 1..self.deps.len() {
            hit[d] = self.deps[d]
                .iter()
                .any(|&(on, c)| hit[on] && c == Condition::Ready);
        }
        hit[i] = false;
        indices(&hit)
    }

    /// What `i` depends on, transitively and under any condition, in start order.
    pub(crate) fn dependencies(&self, i: usize) -> Vec<usize> {
        let mut hit = vec![false; self.deps.len()];
        let mut stack = vec![i];
        while let Some(n) = stack.pop() {
            for &(d, _) in &self.deps[n] {
                if !std::mem::replace(&mut hit[d], true) {
                    stack.push(d);
                }
            }
        }
        indices(&hit)
    }
}

fn indices(hit: &[bool]) -> Vec<usize> {
    (0..hit.len()).filter(|&i| hit[i]).collect()
}

/// Whether `i` is, or transitively depends on, a service with `target` set.
fn reaches(deps: &[Vec<(usize, Condition)>], i: usize, target: &[bool]) -> bool {
    let mut seen = vec![false; deps.len()];
    let mut stack = vec![i];
    while let Some(n) = stack.pop() {
        if std::mem::replace(&mut seen[n], true) {
            continue;
        }
        if target[n] {
            return true;
        }
        stack.extend(deps[n].iter().map(|&(d, _)| d));
    }
    false
}

/// One dependency condition against the dependency's current state.
fn condition(cond: Condition, st: &State, started: bool) -> Clearance {
    use State as S;
    match (cond, st) {
        (_, S::Failed { reason }) => Clearance::Blocked(format!("failed: {reason}")),
        (Condition::Started, _) if started => Clearance::Go,
        (Condition::Ready, S::Ready { .. } | S::Completed) => Clearance::Go,
        (Condition::Completed, S::Completed) => Clearance::Go,
        (Condition::Completed, S::Exited { status }) => {
            Clearance::Blocked(format!("ended ({status})"))
        }
        (_, S::Exited { status }) => Clearance::Blocked(format!("ended ({status})")),
        (_, S::Stopped) => Clearance::Blocked("was stopped".into()),
        _ => Clearance::Wait,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::supervisor::state::{Exit, FailReason, Outcome};
    use std::time::Instant;

    /// db ← migrate(ready) ← api(ready db, completed migrate) ← web(ready api); logs(started db).
    fn stack() -> Graph {
        use Condition::{Completed, Ready, Started};
        let deps = vec![
            vec![],
            vec![(0, Ready)],
            vec![(0, Ready), (1, Completed)],
            vec![(2, Ready)],
            vec![(0, Started)],
        ];
        let n = deps.len();
        Graph {
            deps,
            dependents: vec![Vec::new(); n],
            uses_db: vec![false; n],
            provider: vec![true; n],
        }
    }

    #[test]
    fn restart_cascades_through_ready_edges_only() {
        let g = stack();
        assert_eq!(g.ready_dependents(0), vec![1, 2, 3]);
        assert_eq!(g.ready_dependents(2), vec![3]);
        assert!(g.ready_dependents(3).is_empty());
        assert!(g.ready_dependents(1).is_empty());
    }

    #[test]
    fn a_held_back_service_also_waits_for_blocked_dependencies() {
        let g = stack();
        let t = Instant::now();
        let failed = State::Failed {
            reason: FailReason::Spawn("x".into()),
        };
        let running = State::Running { pid: 1, since: t };
        // api waits for db (ready) and migrate (completed).
        let states = [&failed, &running, &State::Pending, &State::Pending, &failed];
        let started = [true; 5];
        let dep = |d: usize| (states[d], started[d]);
        assert_eq!(g.unmet(2, dep, false), [(1, Condition::Completed)]);
        assert_eq!(
            g.unmet(2, dep, true),
            [(0, Condition::Ready), (1, Condition::Completed)]
        );
    }

    /// A clearance view over `states` that records which services it was asked about.
    fn view<'a>(
        states: [&'a State; 5],
        asked: &'a std::cell::RefCell<Vec<usize>>,
    ) -> impl Fn(usize) -> (&'a str, &'a State, bool) + 'a {
        const NAMES: [&str; 5] = ["db", "migrate", "api", "web", "logs"];
        move |d| {
            asked.borrow_mut().push(d);
            (NAMES[d], states[d], true)
        }
    }

    #[test]
    fn clearance_reads_only_the_dependencies_and_names_the_blocking_one() {
        let g = stack();
        let t = Instant::now();
        let r = &State::Ready {
            pid: 1,
            since: t,
            ready_at: t,
        };
        let f = &State::Failed {
            reason: FailReason::Spawn("x".into()),
        };
        let (c, p) = (&State::Completed, &State::Pending);
        let asked = std::cell::RefCell::new(Vec::new());
        assert_eq!(g.clearance(2, view([r, c, p, p, p], &asked)), Clearance::Go);
        assert_eq!(*asked.borrow(), [0, 1], "api's dependencies only");
        assert_eq!(
            g.clearance(2, view([r, p, p, p, p], &asked)),
            Clearance::Wait
        );
        assert_eq!(
            g.clearance(3, view([r, c, f, p, p], &asked)),
            Clearance::Blocked("dependency `api` (ready) failed: could not start: x".into())
        );
        asked.borrow_mut().clear();
        assert_eq!(g.clearance(0, view([f, f, f, f, f], &asked)), Clearance::Go);
        assert!(asked.borrow().is_empty(), "db has no dependencies");
    }

    #[test]
    fn start_needs_every_dependency_first() {
        let g = stack();
        assert_eq!(g.dependencies(3), vec![0, 1, 2]);
        assert_eq!(g.dependencies(4), vec![0]);
        assert!(g.dependencies(0).is_empty());
    }

    #[test]
    fn condition_table() {
        let t = Instant::now();
        let ready = S::Ready {
            pid: 1,
            since: t,
            ready_at: t,
        };
        let running = S::Running { pid: 1, since: t };
        let failed = S::Failed {
            reason: FailReason::Spawn("x".into()),
        };
        let exited = S::Exited {
            status: Exit::Code(0),
        };
        let backoff = S::Backoff {
            until: t,
            last: Outcome::ReadyTimeout,
            attempt: 1,
        };
        use Condition::*;
        use State as S;
        let rows: Vec<(Condition, &State, bool, bool)> = vec![
            // cond, state, started_once, expect Go
            (Started, &S::Pending, false, false),
            (Started, &running, true, true),
            (Started, &backoff, true, true),
            (Ready, &running, true, false),
            (Ready, &ready, true, true),
            (Ready, &S::Completed, true, true),
            (Completed, &ready, true, false),
            (Completed, &S::Completed, true, true),
        ];
        for (c, st, started, go) in rows {
            assert_eq!(
                condition(c, st, started) == Clearance::Go,
                go,
                "{c:?} {st:?}"
            );
        }
        assert!(matches!(
            condition(Completed, &failed, true),
            Clearance::Blocked(_)
        ));
        assert!(matches!(
            condition(Completed, &exited, true),
            Clearance::Blocked(_)
        ));
        assert!(matches!(
            condition(Started, &failed, true),
            Clearance::Blocked(_)
        ));
    }
}
