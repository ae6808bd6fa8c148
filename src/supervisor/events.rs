//! What the engine publishes: every state transition, supervisor notices
//! (gate open/failed, stopping everything) and every batch of output lines,
//! on ONE bounded broadcast channel. Subscribers (`events`, `logs -f`,
//! `status --watch`, `run`) each read at their own pace; one that falls
//! behind loses the oldest items and is told how many (`Lagged`) — the
//! engine and the log relays never wait for anyone. Publishing costs nothing
//! when nobody listens (checked before anything is built).
//!
//! The channel itself is made at the first subscription: its 4096 slots
//! (32 bytes each, all written when it is made) are 128 KiB, a third of the
//! anonymous memory of `up` with 10 services, and most supervisors never
//! get a subscriber (docs/performance.md, "Where the memory goes").

use std::sync::{Arc, OnceLock};
use std::time::{Duration, SystemTime};

use tokio::sync::broadcast;

use super::chunk::{Chunk, Stream};
use super::state::StateKind;

/// How many items a subscriber may fall behind before it loses some.
pub(crate) const CAPACITY: usize = 4096;

/// One published item.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Published {
    /// A service changed state.
    Transition(Transition),
    /// The supervisor's own news (gate, stopping).
    Notice {
        /// When.
        at: SystemTime,
        /// What, as a sentence.
        message: String,
    },
    /// A batch of output lines of one service (secrets already masked).
    Output {
        /// When they were read.
        at: SystemTime,
        /// Service index (see [`super::Handle::names`]).
        svc: usize,
        /// Which stream.
        stream: Stream,
        /// Position in the global output order (the tails use the same numbers).
        seq: u64,
        /// The lines, shared with the sink (never copied for a subscriber).
        chunk: Arc<Chunk>,
    },
}

/// A state transition.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Transition {
    /// When.
    pub at: SystemTime,
    /// Service index.
    pub svc: usize,
    /// From.
    pub from: StateKind,
    /// To.
    pub to: StateKind,
    /// The run's leader pid (of the new state, else of the old one).
    pub pid: Option<i32>,
    /// Time spent in `from`.
    pub after: Duration,
    /// Why, when there is something to say (exit status, failure, backoff).
    pub reason: Option<String>,
}

/// The sending side, shared (cloned) by the engine, the tails and the
/// control server; the channel is made by the first [`Bus::subscribe`].
#[derive(Clone, Debug, Default)]
pub(crate) struct Bus(Arc<OnceLock<broadcast::Sender<Arc<Published>>>>);

impl Bus {
    /// A receiver of everything published from now on.
    pub(crate) fn subscribe(&self) -> broadcast::Receiver<Arc<Published>> {
        self.0
            .get_or_init(|| broadcast::channel(CAPACITY).0)
            .subscribe()
    }

    /// The channel, when someone listens.
    fn listened(&self) -> Option<&broadcast::Sender<Arc<Published>>> {
        self.0.get().filter(|tx| tx.receiver_count() > 0)
    }
}

/// A new bus (no channel yet).
pub(crate) fn bus() -> Bus {
    Bus::default()
}

/// Publish `make()` when someone listens.
pub(crate) fn publish(bus: &Bus, make: impl FnOnce() -> Published) {
    if let Some(tx) = bus.listened() {
        let _ = tx.send(Arc::new(make()));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn notice(message: &str) -> Published {
        Published::Notice {
            at: SystemTime::UNIX_EPOCH,
            message: message.into(),
        }
    }

    #[test]
    fn no_channel_until_someone_subscribes() {
        let bus = bus();
        let mut built = false;
        publish(&bus, || {
            built = true;
            notice("nobody")
        });
        assert!(!built, "nothing is built when nobody listens");
        assert!(bus.0.get().is_none(), "no channel before a subscriber");
    }

    #[test]
    fn a_clone_publishes_to_a_subscriber_of_another_clone() {
        let engine = bus();
        let control = engine.clone();
        publish(&engine, || notice("before"));
        let mut rx = control.subscribe();
        publish(&engine, || notice("after"));
        let got = rx.try_recv().map(|p| (*p).clone());
        assert_eq!(got.ok(), Some(notice("after")));
        assert!(rx.try_recv().is_err(), "only what came after subscribing");
    }
}
