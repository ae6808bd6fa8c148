//! Restart timing: exponential backoff with jitter, and the restart window.
//!
//! Pure functions (no clock, no randomness of their own): the caller passes
//! `now` and a jitter sample, so the state machine stays a pure function and
//! its table tests are exact.
//!
//! Delay before restart attempt `n` (1-based) is `initial * factor^(n-1)`,
//! capped at `max`, multiplied by a jitter factor in `[0.8, 1.2)` and capped at
//! `max` again — so services that crash together (a database outage) do not
//! reconnect in lockstep. The attempt count resets once a run stayed ready for
//! `reset_after` (Docker/pm2 "stable run resets backoff"); independently,
//! `max_restarts` restarts within `restart_window` give up (systemd
//! `StartLimitBurst`/`StartLimitIntervalSec`; `max_restarts = 0` = no limit, as
//! systemd's `StartLimitBurst=0`).

use std::collections::VecDeque;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use crate::plan::Backoff;

/// Jitter spread: ±20 %.
const JITTER: f64 = 0.2;

/// The delay before restart `attempt` (1-based); `jitter` is a sample in `[0, 1)`.
pub(crate) fn delay(b: &Backoff, attempt: u32, jitter: f64) -> Duration {
    let exp = attempt.saturating_sub(1).min(64) as i32;
    let base = b.initial.as_secs_f64() * b.factor.max(1.0).powi(exp);
    let capped = base.min(b.max.as_secs_f64());
    let spread = 1.0 - JITTER + 2.0 * JITTER * jitter.clamp(0.0, 1.0);
    let secs = (capped * spread).min(b.max.as_secs_f64()).max(0.0);
    Duration::try_from_secs_f64(secs).unwrap_or(b.max)
}

/// Whether one more restart is allowed at `now`; prunes `history` to the window.
/// `max = 0` means no limit.
pub(crate) fn allowed(
    history: &mut VecDeque<Instant>,
    max: u32,
    window: Duration,
    now: Instant,
) -> bool {
    while let Some(&t) = history.front() {
        if now.saturating_duration_since(t) >= window {
            history.pop_front();
        } else {
            break;
        }
    }
    max == 0 || history.len() < max as usize
}

/// A tiny xorshift64* generator for jitter; seeded from the clock and pid.
/// Not cryptographic, and needs not be: it only de-synchronises restarts.
#[derive(Debug, Clone)]
pub(crate) struct Jitter(u64);

impl Jitter {
    /// Seeded from the wall clock and the process id.
    pub(crate) fn seeded() -> Self {
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_nanos() as u64)
            .unwrap_or(0x9E37_79B9_7F4A_7C15);
        Jitter::from_seed(nanos ^ (u64::from(std::process::id()) << 32))
    }

    /// A fixed seed (tests).
    pub(crate) fn from_seed(seed: u64) -> Self {
        Jitter(seed | 1)
    }

    /// The next sample in `[0, 1)`.
    pub(crate) fn sample(&mut self) -> f64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        (x.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 11) as f64 / (1u64 << 53) as f64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn b(initial_ms: u64, max_ms: u64, factor: f64) -> Backoff {
        Backoff {
            initial: Duration::from_millis(initial_ms),
            max: Duration::from_millis(max_ms),
            factor,
            reset_after: Duration::from_secs(60),
        }
    }

    #[test]
    fn delay_grows_exponentially_and_caps() {
        let bo = b(100, 1000, 2.0);
        let mid = 0.5; // jitter factor exactly 1.0
        let ms: Vec<u128> = (1..=6).map(|n| delay(&bo, n, mid).as_millis()).collect();
        assert_eq!(ms, vec![100, 200, 400, 800, 1000, 1000]);
    }

    #[test]
    fn jitter_stays_within_twenty_percent_and_under_max() {
        let bo = b(100, 1000, 2.0);
        assert_eq!(delay(&bo, 1, 0.0).as_millis(), 80);
        assert!(delay(&bo, 1, 0.999).as_millis() >= 119);
        assert_eq!(delay(&bo, 10, 0.999), Duration::from_millis(1000));
        assert_eq!(delay(&b(0, 1000, 2.0), 5, 0.7), Duration::ZERO);
    }

    #[test]
    fn window_prunes_old_restarts() {
        let t0 = Instant::now();
        let w = Duration::from_secs(10);
        let mut h: VecDeque<Instant> = [t0, t0 + Duration::from_secs(1)].into();
        assert!(!allowed(&mut h, 2, w, t0 + Duration::from_secs(5)));
        assert!(allowed(&mut h, 2, w, t0 + Duration::from_secs(10)));
        assert_eq!(h.len(), 1);
        assert!(allowed(&mut h, 0, w, t0));
    }

    #[test]
    fn jitter_samples_are_in_unit_interval_and_vary() {
        let mut j = Jitter::from_seed(42);
        let s: Vec<f64> = (0..1000).map(|_| j.sample()).collect();
        assert!(s.iter().all(|x| (0.0..1.0).contains(x)));
        let mean = s.iter().sum::<f64>() / s.len() as f64;
        assert!((0.4..0.6).contains(&mean), "{mean}");
    }
}
