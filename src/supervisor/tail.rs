//! The last lines of a service's output (for `logs` and `run`), bounded by a
//! line count and a byte count.
//!
//! Kept as byte chunks, not one `String` per line, so a flooding service
//! costs the tail one copy of the lines that can survive per batch, not an
//! allocation per line: of a 64 KiB batch only the newest `max_lines` lines
//! (at most `max_bytes`) are copied, older ones are evicted by moving an
//! offset. Memory stays below about twice `max_bytes`. Text conversion
//! (lossy UTF-8) happens only when the tail is read.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use memchr::{memchr, memrchr_iter};

use super::chunk::{split_lines, Chunk, Stream};
use super::events::{self, Bus, Published};

/// The global output order: every batch of lines, of any service, gets the
/// next number, so `logs` can merge tails and a follower can join the live
/// stream exactly where the history ends.
static SEQ: AtomicU64 = AtomicU64::new(1);

/// Lines from one stream; the live ones are `bytes[start..]`.
#[derive(Debug)]
struct Piece {
    seq: u64,
    stream: Stream,
    bytes: Vec<u8>,
    start: usize,
    lines: usize,
}

/// The last lines of a service's output, bounded by count and bytes
/// (newlines included).
#[derive(Debug)]
pub(crate) struct Tail {
    pieces: VecDeque<Piece>,
    lines: usize,
    bytes: usize,
    max_lines: usize,
    max_bytes: usize,
    /// Where each batch is also published (service index, bus).
    bus: Option<(usize, Bus)>,
}

impl Tail {
    /// A ring buffer of at most `max_lines` lines and `max_bytes` bytes
    /// (a single longer line is kept whole).
    pub(crate) fn new(max_lines: usize, max_bytes: usize) -> Tail {
        Tail {
            pieces: VecDeque::new(),
            lines: 0,
            bytes: 0,
            max_lines: max_lines.max(1),
            max_bytes,
            bus: None,
        }
    }

    /// Publish every batch pushed from now on as service `svc`'s output.
    pub(crate) fn publish_to(&mut self, svc: usize, bus: Bus) {
        self.bus = Some((svc, bus));
    }

    /// Append one line (without newline).
    #[cfg(test)]
    pub(crate) fn push(&mut self, stream: Stream, line: &str) {
        let mut c = Chunk::default();
        c.bytes.extend_from_slice(line.as_bytes());
        c.bytes.push(b'\n');
        c.lines = 1;
        self.push_chunk(stream, &Arc::new(c));
    }

    /// Append lines, evicting the oldest as needed (and publish them: the
    /// bus gets the same buffer as the sink, a reference count, not a copy).
    pub(crate) fn push_chunk(&mut self, stream: Stream, c: &Arc<Chunk>) {
        if c.is_empty() {
            return;
        }
        let seq = SEQ.fetch_add(1, Ordering::Relaxed);
        if let Some((svc, bus)) = &self.bus {
            events::publish(bus, || Published::Output {
                at: std::time::SystemTime::now(),
                svc: *svc,
                stream,
                seq,
                chunk: Arc::clone(c),
            });
        }
        let (start, lines) = if c.lines > self.max_lines || c.bytes.len() > self.max_bytes {
            // These lines alone fill the tail: nothing older survives.
            self.pieces.clear();
            (self.lines, self.bytes) = (0, 0);
            self.newest(&c.bytes)
        } else {
            (0, c.lines)
        };
        let bytes = c.bytes[start..].to_vec();
        self.lines += lines;
        self.bytes += bytes.len();
        self.pieces.push_back(Piece {
            seq,
            stream,
            bytes,
            start: 0,
            lines,
        });
        self.evict();
    }

    /// Where the lines of `b` that fit begin, and how many they are.
    fn newest(&self, b: &[u8]) -> (usize, usize) {
        let (mut start, mut lines) = (0, 0);
        let mut found = false;
        for nl in memrchr_iter(b'\n', &b[..b.len() - 1]).chain([usize::MAX]) {
            let s = nl.wrapping_add(1); // usize::MAX: the first line, at 0
            if found && (lines == self.max_lines || b.len() - s > self.max_bytes) {
                return (start, lines);
            }
            (start, lines, found) = (s, lines + 1, true);
        }
        (start, lines)
    }

    fn evict(&mut self) {
        while self.lines > self.max_lines || (self.bytes > self.max_bytes && self.lines > 1) {
            let Some(p) = self.pieces.front_mut() else {
                return;
            };
            let end = memchr(b'\n', &p.bytes[p.start..]).map_or(p.bytes.len(), |n| p.start + n + 1);
            self.bytes -= end - p.start;
            self.lines -= 1;
            (p.start, p.lines) = (end, p.lines - 1);
            if p.lines == 0 {
                self.pieces.pop_front();
            }
        }
    }

    /// The last `n` lines, oldest first.
    #[cfg(test)]
    pub(crate) fn last(&self, n: usize) -> Vec<(Stream, String)> {
        self.last_seq(n)
            .into_iter()
            .map(|(_, s, l)| (s, l))
            .collect()
    }

    /// The last `n` lines with their batch's place in the global order.
    pub(crate) fn last_seq(&self, n: usize) -> Vec<(u64, Stream, String)> {
        let mut skip = self.lines.saturating_sub(n);
        let mut out = Vec::with_capacity(self.lines - skip);
        for p in &self.pieces {
            for l in split_lines(&p.bytes[p.start..]) {
                if skip > 0 {
                    skip -= 1;
                } else {
                    out.push((p.seq, p.stream, String::from_utf8_lossy(l).into_owned()));
                }
            }
        }
        out
    }
}

/// Shared handle to a service's tail.
pub(crate) type SharedTail = Arc<Mutex<Tail>>;

/// A new shared tail with the default bounds (200 lines, 64 KiB).
pub(crate) fn new_tail() -> SharedTail {
    Arc::new(Mutex::new(Tail::new(200, 64 * 1024)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts(t: &Tail, n: usize) -> Vec<String> {
        t.last(n).into_iter().map(|(_, l)| l).collect()
    }

    fn chunk(lines: &[&str]) -> Arc<Chunk> {
        let mut c = Chunk::default();
        for l in lines {
            c.push_line(l.as_bytes());
        }
        Arc::new(c)
    }

    #[test]
    fn tail_is_bounded() {
        let mut t = Tail::new(3, 10);
        for l in ["aaaa", "bbbb", "cccc", "dddd"] {
            t.push(Stream::Stdout, l);
        }
        assert_eq!(texts(&t, 10), vec!["cccc", "dddd"]);
        assert_eq!(texts(&t, 1), vec!["dddd"]);
    }

    #[test]
    fn chunks_keep_exactly_the_newest_lines() {
        let mut t = Tail::new(3, 100);
        t.push_chunk(Stream::Stdout, &chunk(&["a", "b"]));
        t.push_chunk(Stream::Stderr, &chunk(&["c", "d"]));
        assert_eq!(
            t.last(9),
            vec![
                (Stream::Stdout, "b".into()),
                (Stream::Stderr, "c".into()),
                (Stream::Stderr, "d".into())
            ]
        );
        // A chunk larger than the tail: only its newest lines are kept.
        t.push_chunk(Stream::Stdout, &chunk(&["1", "2", "3", "4", "5"]));
        assert_eq!(texts(&t, 9), vec!["3", "4", "5"]);
        // By bytes: 4 + 4 fit in 9, a third line does not.
        let mut t = Tail::new(10, 9);
        t.push_chunk(Stream::Stdout, &chunk(&["xxx", "yyy", "zzz"]));
        assert_eq!(texts(&t, 9), vec!["yyy", "zzz"]);
        // A single line longer than the byte bound is kept whole.
        t.push_chunk(Stream::Stdout, &chunk(&["a-very-long-line"]));
        assert_eq!(texts(&t, 9), vec!["a-very-long-line"]);
        t.push_chunk(Stream::Stdout, &chunk(&["q", "r", "a-very-long-line"]));
        assert_eq!(texts(&t, 9), vec!["a-very-long-line"]);
    }

    #[test]
    fn matches_line_by_line_eviction() {
        // Pushing in chunks of any size keeps the same lines as one by one.
        let all: Vec<String> = (0..500).map(|i| "x".repeat(i % 37)).collect();
        for size in [1, 7, 64, 300] {
            let mut by_chunk = Tail::new(50, 600);
            let mut by_line = Tail::new(50, 600);
            for part in all.chunks(size) {
                let refs: Vec<&str> = part.iter().map(String::as_str).collect();
                by_chunk.push_chunk(Stream::Stdout, &chunk(&refs));
                for l in part {
                    by_line.push(Stream::Stdout, l);
                }
            }
            assert_eq!(texts(&by_chunk, 999), texts(&by_line, 999), "size {size}");
            assert!(by_chunk.bytes <= 600 && by_chunk.lines <= 50);
        }
    }
}
