//! What the engine publishes: every state transition, supervisor notices
//! (gate open/failed, stopping everything) and every batch of output lines,
//! on ONE bounded broadcast channel. Subscribers (`events`, `logs -f`,
//! `status --watch`, `run`) each read at their own pace; one that falls
//! behind loses the oldest items and is told how many (`Lagged`) — the
//! engine and the log relays never wait for anyone. Publishing costs nothing
//! when nobody listens (checked before anything is built).

use std::sync::Arc;
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

/// The sending side, shared by the engine and the tails.
pub(crate) type Bus = broadcast::Sender<Arc<Published>>;

/// A new bus.
pub(crate) fn bus() -> Bus {
    broadcast::channel(CAPACITY).0
}

/// Publish `make()` when someone listens.
pub(crate) fn publish(bus: &Bus, make: impl FnOnce() -> Published) {
    if bus.receiver_count() > 0 {
        let _ = bus.send(Arc::new(make()));
    }
}
