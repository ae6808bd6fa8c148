//! Swapping in a reloaded Plan, the engine's part: the new plans of changed
//! services replace the old ones (a restart then spawns them with the new
//! environment), removed services are retired (never started again, hidden
//! from `status`), added services become new units at the end (stopped,
//! until the reload's `start` brings them up), and the graph is rebuilt.
//! The changed services are answered back; the reload restarts them in one
//! joint command (see `tickets.rs`), which plans the cascade once.
//!
//! Units are never reordered or dropped: an index stays a service for the
//! whole run (events, tails and the sink name services by index). A new Plan
//! whose order would need that is refused here, before anything changed —
//! except a dependency on a service added by this reload (a scaled-up
//! `replicas`): the scheduler and the shutdown follow the graph, not the
//! index, and the reload starts added services before restarting changed ones.

use std::sync::Arc;
use std::time::SystemTime;

use super::commands::{OrderChanged, Swap, Swapped};
use super::engine::{policy, Engine, Unit};
use super::graph::Graph;
use super::sink::Record;
use super::state::{Event, State};
use crate::plan::ServicePlan;

impl Engine {
    /// Swap in `s`; the names to restart, or why not (nothing changed then).
    pub(crate) fn swap(&mut self, s: Swap) -> Result<Swapped, OrderChanged> {
        self.check_order(&s)?;
        let index = |e: &Engine, n: &str| e.unit_named(n);
        let mut changed = Vec::new();
        for name in &s.changed {
            let (Some(i), Some(new)) = (index(self, name), s.plan.service(name)) else {
                continue;
            };
            self.units[i].policy = policy(new);
            self.units[i].plan = Arc::new(new.clone());
            changed.push(i);
        }
        for name in &s.removed {
            if let Some(i) = index(self, name) {
                self.units[i].retired = true;
                if !self.kind(i).is_terminal() {
                    self.feed(i, Event::Stop);
                }
            }
        }
        for name in &s.added {
            if let Some(new) = s.plan.service(name) {
                self.add_unit(Arc::new(new.clone()));
            }
        }
        // A retired service waits for nothing: no restart takes it along.
        let plans: Vec<_> = self
            .units
            .iter()
            .map(|u| {
                let mut p = u.plan.as_ref().clone();
                if u.retired {
                    p.depends_on.clear();
                }
                p
            })
            .collect();
        self.graph = Graph::new(&plans.iter().collect::<Vec<_>>());
        self.redact = Arc::new(s.redactor);
        self.generation += 1;
        self.loaded = SystemTime::now();
        let restart = changed
            .into_iter()
            .map(|i| self.units[i].plan.name.clone())
            .collect();
        let names = self.units.iter().map(|u| u.plan.name.clone()).collect();
        Ok(Swapped { restart, names })
    }

    fn add_unit(&mut self, plan: Arc<ServicePlan>) {
        let i = self.units.len();
        let rec = Record::Service {
            svc: i,
            name: plan.name.clone(),
            file: plan.log_file.clone(),
        };
        // The sink learns the name before any line of it can arrive: the
        // runtime sends it (awaiting room) before the next wake-up.
        self.announce.push(rec);
        // Events about it (formatted on this thread) align to it at once.
        super::emit::widen(&plan.name);
        let mut u = Unit::new(plan);
        u.svc.state = State::Stopped;
        u.tail
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .publish_to(i, self.bus.clone());
        self.units.push(u);
    }

    /// Every kept service's dependencies must still come before it.
    fn check_order(&self, s: &Swap) -> Result<(), OrderChanged> {
        let index = |n: &str| self.unit_named(n);
        let added = |n: &str| s.added.iter().any(|a| a == n);
        for (i, u) in self.units.iter().enumerate().filter(|(_, u)| !u.retired) {
            let Some(new) = s.plan.service(&u.plan.name) else {
                continue;
            };
            for d in new.depends_on.iter().filter(|d| !added(&d.name)) {
                if index(&d.name).is_none_or(|j| j >= i) {
                    return Err(OrderChanged {
                        service: u.plan.name.clone(),
                        dependency: d.name.clone(),
                    });
                }
            }
        }
        Ok(())
    }
}
