//! Dependencies for control actions (pure): `restart X` also restarts the
//! services that wait for X to be `ready` (transitively, in start order),
//! and `start X` first starts X's stopped dependencies.

use crate::plan::{Condition, Plan};

/// The `depends_on` graph by name, in the Plan's start order.
#[derive(Debug, Clone, Default)]
pub struct Deps {
    /// Service names in start order (dependencies first).
    names: Vec<String>,
    /// Per service: (dependency index, condition).
    on: Vec<Vec<(usize, Condition)>>,
}

impl Deps {
    /// From the Plan (already in a valid start order).
    pub fn new(plan: &Plan) -> Deps {
        let names: Vec<String> = plan.services.iter().map(|s| s.name.clone()).collect();
        let on = plan
            .services
            .iter()
            .map(|s| {
                s.depends_on
                    .iter()
                    .filter_map(|d| Some((names.iter().position(|n| *n == d.name)?, d.condition)))
                    .collect()
            })
            .collect();
        Deps { names, on }
    }

    /// From `(name, [(dependency, condition)])` in start order (for tests).
    pub fn from_edges(services: &[(&str, &[(&str, Condition)])]) -> Deps {
        let names: Vec<String> = services.iter().map(|(n, _)| (*n).to_owned()).collect();
        let on = services
            .iter()
            .map(|(_, ds)| {
                ds.iter()
                    .filter_map(|(d, c)| Some((names.iter().position(|n| n == d)?, *c)))
                    .collect()
            })
            .collect();
        Deps { names, on }
    }

    fn index(&self, name: &str) -> Option<usize> {
        self.names.iter().position(|n| n == name)
    }

    /// Who waits (transitively) for `name` to be ready, in start order.
    pub fn ready_dependents(&self, name: &str) -> Vec<&str> {
        let Some(root) = self.index(name) else {
            return Vec::new();
        };
        let mut hit = vec![false; self.names.len()];
        hit[root] = true;
        // Start order: a dependency always comes before its dependents.
        for i in root + 1..self.names.len() {
            hit[i] = self.on[i]
                .iter()
                .any(|&(d, c)| hit[d] && c == Condition::Ready);
        }
        hit[root] = false;
        self.pick(&hit)
    }

    /// What `name` depends on (transitively, any condition), in start order.
    pub fn dependencies(&self, name: &str) -> Vec<&str> {
        let Some(root) = self.index(name) else {
            return Vec::new();
        };
        let mut hit = vec![false; self.names.len()];
        let mut stack = vec![root];
        while let Some(i) = stack.pop() {
            for &(d, _) in &self.on[i] {
                if !hit[d] {
                    hit[d] = true;
                    stack.push(d);
                }
            }
        }
        self.pick(&hit)
    }

    fn pick(&self, hit: &[bool]) -> Vec<&str> {
        self.names
            .iter()
            .zip(hit)
            .filter(|(_, h)| **h)
            .map(|(n, _)| n.as_str())
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use Condition::{Completed, Ready, Started};

    fn stack() -> Deps {
        Deps::from_edges(&[
            ("db", &[]),
            ("migrate", &[("db", Ready)]),
            ("api", &[("db", Ready), ("migrate", Completed)]),
            ("web", &[("api", Ready)]),
            ("logs", &[("db", Started)]),
        ])
    }

    #[test]
    fn restart_cascades_through_ready_edges_only() {
        let d = stack();
        assert_eq!(d.ready_dependents("db"), vec!["migrate", "api", "web"]);
        assert_eq!(d.ready_dependents("api"), vec!["web"]);
        assert!(d.ready_dependents("web").is_empty());
        assert!(d.ready_dependents("migrate").is_empty());
        assert!(d.ready_dependents("nope").is_empty());
    }

    #[test]
    fn start_needs_every_dependency_first() {
        let d = stack();
        assert_eq!(d.dependencies("web"), vec!["db", "migrate", "api"]);
        assert_eq!(d.dependencies("logs"), vec!["db"]);
        assert!(d.dependencies("db").is_empty());
    }
}
