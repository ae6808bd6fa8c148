//! Service output: the pure parts (line splitting, formatting, the tail ring
//! buffer) and the per-pipe relay task.
//!
//! Bounded memory everywhere: a line longer than [`MAX_LINE`] is emitted in
//! pieces, every piece but the last marked with a trailing [`CUT`]; a partial
//! last line is flushed at EOF; each relay reads at most 64 KiB at a time and
//! hands whole batches to the sink over a bounded channel. When the sink (our
//! stdout) is slower than a child, the channel fills, the relay stops reading,
//! the child's pipe fills and the child blocks in `write` — backpressure on
//! that child, honestly, instead of dropping lines or growing memory. The event
//! loop never writes output itself, so it is never stalled by it, and the
//! channel is FIFO-fair, so a quiet service's lines still get through between
//! a flooder's batches.
//!
//! The last line of defence for secrets (SPEC: the password never appears in
//! any output): a child may print its own `DATABASE_URL`, password or token,
//! so each line is scrubbed with the Plan's [`Redactor`] (the database
//! password and every value marked secret) before it
//! reaches the tail (`logs`, `run`), the sink and the `log_file`. Free when
//! there is no password (the redactor is empty); a secret cut by the
//! [`MAX_LINE`] split is not recognised (documented in the README).

use std::collections::VecDeque;
use std::os::fd::OwnedFd;
use std::sync::{Arc, Mutex};

use regex_lite::Regex;
use tokio::net::unix::pipe;
use tokio::sync::mpsc;

use super::sink::Record;
use crate::secret::Redactor;

/// Longest line emitted in one piece (bytes).
pub const MAX_LINE: usize = 16 * 1024;
/// Marks a piece of a line that continues in the next piece.
pub const CUT: &str = "…";

/// Which output stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stream {
    /// stdout.
    Stdout,
    /// stderr.
    Stderr,
}

impl Stream {
    /// `stdout` / `stderr`.
    pub fn as_str(self) -> &'static str {
        match self {
            Stream::Stdout => "stdout",
            Stream::Stderr => "stderr",
        }
    }
}

/// Splits a byte stream into lines of at most [`MAX_LINE`] bytes.
#[derive(Debug, Default)]
pub struct Lines {
    buf: Vec<u8>,
}

impl Lines {
    /// Feed bytes; complete lines (and cut pieces of long ones) go to `out`.
    pub fn push(&mut self, mut data: &[u8], out: &mut Vec<String>) {
        while !data.is_empty() {
            let room = MAX_LINE - self.buf.len();
            let window = &data[..data.len().min(room + 1)];
            if let Some(nl) = window
                .iter()
                .position(|&b| b == b'\n')
                .filter(|&n| n <= room)
            {
                self.buf.extend_from_slice(&data[..nl]);
                out.push(take_line(&mut self.buf, false));
                data = &data[nl + 1..];
            } else if data.len() > room {
                self.buf.extend_from_slice(&data[..room]);
                data = &data[room..];
                let keep = utf8_tail(&self.buf);
                let rest = self.buf.split_off(self.buf.len() - keep);
                out.push(take_line(&mut self.buf, true));
                self.buf = rest;
            } else {
                self.buf.extend_from_slice(data);
                data = &[];
            }
        }
    }

    /// End of stream: flush a partial last line.
    pub fn finish(&mut self, out: &mut Vec<String>) {
        if !self.buf.is_empty() {
            out.push(take_line(&mut self.buf, false));
        }
    }
}

fn take_line(buf: &mut Vec<u8>, cut: bool) -> String {
    if !cut && buf.last() == Some(&b'\r') {
        buf.pop();
    }
    let mut s = String::from_utf8_lossy(buf).into_owned();
    buf.clear();
    if cut {
        s.push_str(CUT);
    }
    s
}

/// Bytes at the end of `b` that are an incomplete UTF-8 sequence (kept for the next piece).
fn utf8_tail(b: &[u8]) -> usize {
    for back in 1..=3.min(b.len()) {
        let c = b[b.len() - back];
        if c & 0xC0 != 0x80 {
            let need = if c >= 0xF0 {
                4
            } else if c >= 0xE0 {
                3
            } else if c >= 0xC0 {
                2
            } else {
                1
            };
            return if need > back { back } else { 0 };
        }
    }
    0
}

/// The last lines of a service's output, bounded by count and bytes.
#[derive(Debug)]
pub struct Tail {
    lines: VecDeque<(Stream, String)>,
    bytes: usize,
    max_lines: usize,
    max_bytes: usize,
}

impl Tail {
    /// A ring buffer of at most `max_lines` lines and `max_bytes` bytes.
    pub fn new(max_lines: usize, max_bytes: usize) -> Tail {
        Tail {
            lines: VecDeque::new(),
            bytes: 0,
            max_lines,
            max_bytes,
        }
    }
    /// Append a line, evicting the oldest as needed.
    pub fn push(&mut self, stream: Stream, line: &str) {
        self.bytes += line.len();
        self.lines.push_back((stream, line.to_owned()));
        while self.lines.len() > self.max_lines
            || (self.bytes > self.max_bytes && self.lines.len() > 1)
        {
            if let Some((_, old)) = self.lines.pop_front() {
                self.bytes -= old.len();
            }
        }
    }
    /// The last `n` lines, oldest first.
    pub fn last(&self, n: usize) -> Vec<(Stream, String)> {
        let skip = self.lines.len().saturating_sub(n);
        self.lines.iter().skip(skip).cloned().collect()
    }
}

/// Shared handle to a service's tail.
pub type SharedTail = Arc<Mutex<Tail>>;

/// A new shared tail with the default bounds (200 lines, 64 KiB).
pub fn new_tail() -> SharedTail {
    Arc::new(Mutex::new(Tail::new(200, 64 * 1024)))
}

/// Where a relay's lines go.
pub struct Relay {
    /// Service index.
    pub svc: usize,
    /// Which stream.
    pub stream: Stream,
    /// The sink.
    pub sink: mpsc::Sender<Record>,
    /// The tail.
    pub tail: SharedTail,
    /// `ready = { log = "…" }`: the regex, and who to tell (once) when a line matches.
    pub ready: Option<(Regex, Box<dyn FnOnce() + Send>)>,
    /// Dropped when the relay ends (EOF): lets the exit report wait for the
    /// last lines, so they print before "exited".
    pub done: Option<tokio::sync::oneshot::Sender<()>>,
    /// Masks secrets in every line (empty: no-op).
    pub redact: Arc<Redactor>,
}

/// Read `fd` to EOF, relaying lines. Ends when every writer closed the pipe.
pub async fn relay(fd: OwnedFd, mut r: Relay) {
    let Ok(rx) = pipe::Receiver::from_owned_fd(fd) else {
        return;
    };
    let mut lines = Lines::default();
    loop {
        if rx.readable().await.is_err() {
            return;
        }
        let mut out = Vec::new();
        let eof = match read_now(&rx, &mut lines, &mut out) {
            Some(eof) => eof,
            None => continue, // spurious wake-up
        };
        if !out.is_empty() {
            deliver(&mut r, out).await;
        }
        if eof {
            return;
        }
    }
}

thread_local! {
    /// One read buffer per thread, shared by every relay: an idle service
    /// costs no buffer (1000 services would otherwise pin 128 MiB of them).
    static SCRATCH: std::cell::RefCell<Vec<u8>> = std::cell::RefCell::new(vec![0u8; 64 * 1024]);
}

/// Read what is available without waiting; `Some(true)` at EOF, `None` if
/// nothing was ready after all.
fn read_now(rx: &pipe::Receiver, lines: &mut Lines, out: &mut Vec<String>) -> Option<bool> {
    SCRATCH.with(|buf| {
        let mut buf = buf.borrow_mut();
        match rx.try_read(&mut buf) {
            Ok(0) => {
                lines.finish(out);
                Some(true)
            }
            Ok(n) => {
                lines.push(&buf[..n], out);
                Some(false)
            }
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => None,
            Err(_) => {
                lines.finish(out);
                Some(true)
            }
        }
    })
}

async fn deliver(r: &mut Relay, mut lines: Vec<String>) {
    if !r.redact.is_empty() {
        for l in &mut lines {
            if r.redact.contains_secret(l) {
                *l = r.redact.redact(l).into_owned();
            }
        }
    }
    {
        let mut tail = r.tail.lock().unwrap_or_else(|p| p.into_inner());
        for l in &lines {
            tail.push(r.stream, l);
        }
    }
    if let Some((re, _)) = &r.ready {
        if lines.iter().any(|l| re.is_match(l)) {
            if let Some((_, notify)) = r.ready.take() {
                notify();
            }
        }
    }
    let rec = Record::Lines {
        svc: r.svc,
        stream: r.stream,
        lines,
        ts: std::time::SystemTime::now(),
    };
    let _ = r.sink.send(rec).await;
}

#[cfg(test)]
mod tests {
    use super::*;

    fn split(chunks: &[&[u8]]) -> Vec<String> {
        let mut l = Lines::default();
        let mut out = vec![];
        for c in chunks {
            l.push(c, &mut out);
        }
        l.finish(&mut out);
        out
    }

    #[test]
    fn splits_lines_across_chunks_and_flushes_partial() {
        assert_eq!(split(&[b"a\nb", b"c\r\nd"]), vec!["a", "bc", "d"]);
        assert_eq!(split(&[b"\n\n"]), vec!["", ""]);
    }

    #[test]
    fn long_lines_are_cut_with_a_marker() {
        let long = vec![b'x'; MAX_LINE * 2 + 10];
        let mut data = long.clone();
        data.extend_from_slice(b"\nok\n");
        let out = split(&[&data]);
        assert_eq!(out.len(), 4);
        assert!(out[0].ends_with(CUT) && out[1].ends_with(CUT));
        assert_eq!(out[2].len(), 10);
        assert_eq!(out[3], "ok");
        // A line of exactly MAX_LINE bytes is not cut.
        let mut exact = vec![b'y'; MAX_LINE];
        exact.push(b'\n');
        assert_eq!(split(&[&exact]), vec!["y".repeat(MAX_LINE)]);
    }

    #[test]
    fn cuts_do_not_split_utf8() {
        let mut data = vec![b'x'; MAX_LINE - 1];
        data.extend_from_slice("é".as_bytes());
        data.push(b'\n');
        let out = split(&[&data]);
        assert_eq!(out.len(), 2);
        assert!(!out.concat().contains('\u{FFFD}'));
        assert_eq!(out[1], "é");
    }

    /// Secret sweep regression: a child printing its DATABASE_URL or password
    /// reached the output, the tail and the log file verbatim.
    #[test]
    fn relayed_lines_are_scrubbed_of_the_password() {
        let (rd, wr) = nix::unistd::pipe().expect("pipe");
        let text = "url=postgresql://u:p%40ss%20w%2F1@h/db\npw=p@ss w/1\nplain\nlast p@ss w/1";
        nix::unistd::write(&wr, text.as_bytes()).expect("write");
        drop(wr);
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("rt");
        let (tx, mut rx) = mpsc::channel(8);
        let tail = new_tail();
        let r = Relay {
            svc: 0,
            stream: Stream::Stdout,
            sink: tx,
            tail: Arc::clone(&tail),
            ready: None,
            redact: Arc::new(Redactor::for_secret("p@ss w/1")),
            done: None,
        };
        let mut got = vec![];
        rt.block_on(async {
            relay(rd, r).await;
            while let Some(Record::Lines { lines, .. }) = rx.recv().await {
                got.extend(lines);
            }
        });
        let want = [
            "url=postgresql://u:****@h/db",
            "pw=****",
            "plain",
            "last ****",
        ];
        assert_eq!(got, want);
        let kept: Vec<String> = tail
            .lock()
            .expect("tail")
            .last(9)
            .into_iter()
            .map(|(_, l)| l)
            .collect();
        assert_eq!(kept, want);
    }

    #[test]
    fn tail_is_bounded() {
        let mut t = Tail::new(3, 10);
        for l in ["aaaa", "bbbb", "cccc", "dddd"] {
            t.push(Stream::Stdout, l);
        }
        let last: Vec<String> = t.last(10).into_iter().map(|(_, l)| l).collect();
        assert_eq!(last, vec!["cccc", "dddd"]);
    }
}
