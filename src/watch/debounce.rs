//! Debounce (pure, time passed in): a burst of changes becomes one action.
//! A trigger fires once nothing new arrived for it for [`QUIET`] — an editor's
//! save (write, rename, chmod) or a `git checkout` of fifty files is one
//! restart — but at most [`MAX_WAIT`] after its first change, so a file that
//! never stops changing still restarts its service now and then instead of
//! never. Nothing is pending → no deadline → the watcher sleeps on the kernel
//! alone (no timer).

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

/// Quiet period after the last change.
pub(crate) const QUIET: Duration = Duration::from_millis(150);
/// Longest delay after the first change of a burst.
pub(crate) const MAX_WAIT: Duration = Duration::from_secs(2);

/// What a change asks for. A reload sorts first: it runs before restarts
/// that were due at the same moment.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Trigger {
    /// supervisor.toml or an env file changed: `reload`.
    Reload,
    /// A file under this service's `watch` paths changed: restart it.
    Restart(String),
}

/// Pending triggers with the first and last change of their burst.
#[derive(Debug, Default)]
pub(crate) struct Debounce {
    pending: BTreeMap<Trigger, (Instant, Instant)>,
}

impl Debounce {
    /// A change for `t` at `now`.
    pub(crate) fn hit(&mut self, t: Trigger, now: Instant) {
        self.pending
            .entry(t)
            .and_modify(|(_, last)| *last = now)
            .or_insert((now, now));
    }

    /// When the next trigger is due; `None` when nothing is pending.
    pub(crate) fn due(&self) -> Option<Instant> {
        self.pending.values().map(|&(f, l)| deadline(f, l)).min()
    }

    /// The triggers due at `now` (in order: reload first), removed.
    pub(crate) fn take(&mut self, now: Instant) -> Vec<Trigger> {
        let due: Vec<Trigger> = self
            .pending
            .iter()
            .filter(|(_, &(f, l))| deadline(f, l) <= now)
            .map(|(t, _)| t.clone())
            .collect();
        for t in &due {
            self.pending.remove(t);
        }
        due
    }
}

fn deadline(first: Instant, last: Instant) -> Instant {
    (last + QUIET).min(first + MAX_WAIT)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(t0: Instant, n: u64) -> Instant {
        t0 + Duration::from_millis(n)
    }

    #[test]
    fn a_burst_is_one_trigger_after_the_quiet_period() {
        let t0 = Instant::now();
        let mut d = Debounce::default();
        assert_eq!(d.due(), None);
        for i in 0..50 {
            d.hit(Trigger::Restart("api".into()), ms(t0, i * 2));
        }
        assert_eq!(d.due(), Some(ms(t0, 98) + QUIET));
        assert!(d.take(ms(t0, 200)).is_empty());
        assert_eq!(d.take(ms(t0, 248)), vec![Trigger::Restart("api".into())]);
        assert_eq!(d.due(), None);
        assert!(d.take(ms(t0, 10_000)).is_empty());
    }

    #[test]
    fn endless_changes_still_fire_after_max_wait() {
        let t0 = Instant::now();
        let mut d = Debounce::default();
        for i in 0..100 {
            d.hit(Trigger::Reload, ms(t0, i * 100));
        }
        assert_eq!(d.due(), Some(t0 + MAX_WAIT));
        assert_eq!(d.take(t0 + MAX_WAIT), vec![Trigger::Reload]);
    }

    #[test]
    fn triggers_are_independent_and_reload_comes_first() {
        let t0 = Instant::now();
        let mut d = Debounce::default();
        d.hit(Trigger::Restart("web".into()), t0);
        d.hit(Trigger::Reload, t0);
        d.hit(Trigger::Restart("api".into()), ms(t0, 100));
        assert_eq!(d.due(), Some(t0 + QUIET));
        assert_eq!(
            d.take(ms(t0, 160)),
            vec![Trigger::Reload, Trigger::Restart("web".into())]
        );
        assert_eq!(d.take(ms(t0, 250)), vec![Trigger::Restart("api".into())]);
    }
}
