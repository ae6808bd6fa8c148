//! `max_memory`: sample the WHOLE process group's RSS of each service that sets
//! a limit, every [`INTERVAL`], and restart a group over its limit through the
//! normal stop path (stop_signal, SIGKILL after stop_timeout), counted as a
//! failure (`Outcome::MemoryLimit`) for restart policy, backoff and
//! max_restarts. Another `impl Engine` block.
//!
//! Cost: ONE timer in the engine's heap, armed only while at least one
//! service with a limit is running (re-armed after each sample while one
//! still is, armed again when one is spawned). With no `max_memory` anywhere
//! there is no timer and no sampling: an idle supervisor does not wake up.
//! A sample reads /proc membership plus one `statm` per group member.

use std::time::{Duration, Instant};

use super::engine::{Engine, Timer};
use super::state::{Event, State};
use super::usage;

/// How often groups with a limit are sampled.
pub(super) const INTERVAL: Duration = Duration::from_secs(2);

impl Engine {
    /// Services with a limit that are running now: `(index, pgid, limit)`.
    fn limited(&self) -> Vec<(usize, i32, u64)> {
        self.units
            .iter()
            .enumerate()
            .filter_map(|(i, u)| {
                let limit = u.plan.max_memory?;
                match u.svc.state {
                    State::Running { pid, .. } | State::Ready { pid, .. } => Some((i, pid, limit)),
                    _ => None,
                }
            })
            .collect()
    }

    /// Arm the sampling timer if a limited service runs and it is not armed.
    pub(super) fn watch_memory(&mut self) {
        if !self.memory_armed && !self.limited().is_empty() {
            self.memory_armed = true;
            self.arm(Instant::now() + INTERVAL, 0, Timer::MemoryCheck);
        }
    }

    /// The timer fired: sample, act on groups over their limit, re-arm.
    pub(super) fn check_memory(&mut self) {
        self.memory_armed = false;
        let limited = self.limited();
        let groups: Vec<i32> = limited.iter().map(|&(_, pgid, _)| pgid).collect();
        let rss = usage::group_rss(&groups);
        for (i, pid, limit) in limited {
            let Some(&rss) = rss.get(&pid).filter(|&&r| r > limit) else {
                continue;
            };
            // Logged by the transition to `stopping` (report.rs), with the reason.
            self.feed(i, Event::MemoryExceeded { pid, rss, limit });
        }
        self.watch_memory();
    }
}
