//! A stream's backlog: what it took off the engine's broadcast and has not
//! written to its client yet, bounded by BYTES, not only by count.
//!
//! Why: the broadcast holds its last 4096 items for a subscriber that does
//! not read, and an output item is a whole read of a service's pipe (up to
//! 256 KiB once it floods) — a stuck `logs -f` client could keep ~1 GiB of
//! output alive. So a stream drains the broadcast whenever it waits (for the
//! broadcast or for its client's socket, see `stream.rs`), keeps only the
//! items it will write, and past [`LIMIT`] bytes drops its oldest ones and
//! counts them: the client is told (`lagged`), as for a broadcast lag.
//! Pure bookkeeping, no I/O.

use std::collections::VecDeque;
use std::sync::Arc;

use tokio::sync::broadcast::error::{RecvError, TryRecvError};

use crate::supervisor::events::Published;

/// The most a stream holds back for a slow client (bytes of output).
pub(crate) const LIMIT: usize = 16 << 20;

/// What a stream does next.
#[derive(Debug)]
pub(crate) enum Next {
    /// Write this.
    Got(Arc<Published>),
    /// Tell the client it lost this many items.
    Lagged(u64),
    /// The engine is gone (or the client): stop.
    End,
}

/// The backlog and the rule for what enters it.
pub(crate) struct Inbox {
    queue: VecDeque<Arc<Published>>,
    /// Bytes held in `queue` (see [`cost`]).
    bytes: usize,
    /// Items lost since the last marker (dropped here or by the broadcast).
    lost: u64,
    /// The broadcast closed: after the queue, the end.
    closed: bool,
    /// Which items this stream writes; the rest are let go at once.
    keep: Box<dyn Fn(&Published) -> bool + Send>,
    limit: usize,
}

impl Inbox {
    /// An empty backlog keeping what `keep` accepts, at most `limit` bytes.
    pub(crate) fn new(keep: Box<dyn Fn(&Published) -> bool + Send>, limit: usize) -> Inbox {
        Inbox {
            queue: VecDeque::new(),
            bytes: 0,
            lost: 0,
            closed: false,
            keep,
            limit,
        }
    }

    /// Change which items are kept (`logs -f` learns where its history ended).
    pub(crate) fn keep(&mut self, keep: Box<dyn Fn(&Published) -> bool + Send>) {
        self.keep = keep;
    }

    /// Take in what the broadcast gave.
    pub(crate) fn take(&mut self, got: Result<Arc<Published>, RecvError>) {
        match got {
            Ok(p) => self.push(p),
            Err(RecvError::Lagged(n)) => self.lost += n,
            Err(RecvError::Closed) => self.closed = true,
        }
    }

    /// Like [`Inbox::take`], for a `try_recv`; false when nothing was waiting.
    pub(crate) fn take_now(&mut self, got: Result<Arc<Published>, TryRecvError>) -> bool {
        match got {
            Ok(p) => self.push(p),
            Err(TryRecvError::Lagged(n)) => self.lost += n,
            Err(TryRecvError::Closed) => self.closed = true,
            Err(TryRecvError::Empty) => return false,
        }
        !self.closed
    }

    fn push(&mut self, p: Arc<Published>) {
        if !(self.keep)(&p) {
            return;
        }
        self.bytes += cost(&p);
        self.queue.push_back(p);
        while self.bytes > self.limit && self.queue.len() > 1 {
            if let Some(old) = self.queue.pop_front() {
                self.bytes -= cost(&old);
                self.lost += 1;
            }
        }
    }

    /// The next thing to do, if any: a lag marker first (the lost items
    /// were the oldest), then the backlog in order, then the end.
    pub(crate) fn pop(&mut self) -> Option<Next> {
        if self.lost > 0 {
            return Some(Next::Lagged(std::mem::take(&mut self.lost)));
        }
        if let Some(p) = self.queue.pop_front() {
            self.bytes -= cost(&p);
            return Some(Next::Got(p));
        }
        self.closed.then_some(Next::End)
    }

    /// Whether the broadcast has closed.
    pub(crate) fn closed(&self) -> bool {
        self.closed
    }

    /// Bytes held.
    #[cfg(test)]
    pub(crate) fn bytes(&self) -> usize {
        self.bytes
    }
}

/// What an item holds alive (bytes): its own allocations (the shared item,
/// the chunk, allocator rounding — counted generously, so that a flood of
/// one-line batches is bounded too) and an output batch's buffer.
fn cost(p: &Published) -> usize {
    const ITEM: usize = 256;
    match p {
        Published::Output { chunk, .. } => ITEM + chunk.bytes.capacity(),
        _ => ITEM,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::supervisor::chunk::{Chunk, Stream};
    use std::time::SystemTime;

    fn output(svc: usize, seq: u64, len: usize) -> Arc<Published> {
        let mut chunk = Chunk::default();
        chunk.push_line(&vec![b'x'; len - 1]);
        chunk.bytes.shrink_to_fit();
        Arc::new(Published::Output {
            at: SystemTime::UNIX_EPOCH,
            svc,
            stream: Stream::Stdout,
            seq,
            chunk: Arc::new(chunk),
        })
    }

    fn seqs(inbox: &mut Inbox) -> (Vec<u64>, u64) {
        let (mut got, mut lost) = (vec![], 0);
        while let Some(n) = inbox.pop() {
            match n {
                Next::Got(p) => match &*p {
                    Published::Output { seq, .. } => got.push(*seq),
                    _ => unreachable!(),
                },
                Next::Lagged(n) => lost += n,
                Next::End => break,
            }
        }
        (got, lost)
    }

    #[test]
    fn past_the_limit_the_oldest_go_and_are_counted() {
        let mut inbox = Inbox::new(Box::new(|_| true), 10_000);
        for seq in 1..=10 {
            inbox.take(Ok(output(0, seq, 3000)));
            assert!(inbox.bytes() <= 10_000, "{}", inbox.bytes());
        }
        let (got, lost) = seqs(&mut inbox);
        assert_eq!(got, vec![8, 9, 10]);
        assert_eq!(lost, 7);
        assert_eq!(inbox.bytes(), 0);
    }

    #[test]
    fn unwanted_items_are_not_held_and_the_end_comes_last() {
        let mut inbox = Inbox::new(
            Box::new(|p| matches!(p, Published::Output { svc: 1, .. })),
            1 << 20,
        );
        inbox.take(Ok(output(0, 1, 100_000)));
        inbox.take(Ok(output(1, 2, 100)));
        inbox.take(Err(RecvError::Lagged(5)));
        inbox.take(Err(RecvError::Closed));
        assert!(inbox.bytes() < 1000);
        assert!(matches!(inbox.pop(), Some(Next::Lagged(5))));
        assert!(matches!(inbox.pop(), Some(Next::Got(_))));
        assert!(matches!(inbox.pop(), Some(Next::End)));
    }

    #[test]
    fn one_item_bigger_than_the_limit_still_goes_out() {
        let mut inbox = Inbox::new(Box::new(|_| true), 100);
        inbox.take(Ok(output(0, 1, 500)));
        let (got, lost) = seqs(&mut inbox);
        assert_eq!((got, lost), (vec![1], 0));
    }
}
