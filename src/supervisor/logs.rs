//! Service output: the per-pipe relay task. Line splitting is in
//! [`super::chunk`], the `logs` ring buffer in [`super::tail`], formatting in
//! [`super::format`] and writing in [`super::sink`].
//!
//! Each read (up to 64 KiB, into a buffer allocated for it) becomes one
//! [`Chunk`] of complete lines as bytes — the buffer itself for ordinary
//! lines, no allocation, copy or UTF-8 conversion per line — which goes to
//! the tail, the readiness regex (until it matches) and the sink.
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
//! The last line of defence for secrets (the password never appears in any
//! output: docs/environment.md "Secrets"): a child may print its own `DATABASE_URL`, password or token,
//! so each line is scrubbed with the Plan's [`Redactor`] (the database
//! password and every value marked secret) before it
//! reaches the tail (`logs`, `run`), the sink and the `log_file`. Free when
//! there is no secret (the redactor is empty), one search per chunk when
//! the chunk holds no secret; a secret cut by the
//! [`MAX_LINE`] split is not recognised (documented in docs/reliability.md).

use std::os::fd::OwnedFd;
use std::sync::Arc;

use regex_lite::Regex;
use tokio::net::unix::pipe;
use tokio::sync::mpsc;

use super::chunk::FLOOD;
pub(crate) use super::chunk::{Chunk, Lines, Stream};
#[cfg(doc)]
use super::chunk::{CUT, MAX_LINE};
use super::sink::Record;
pub(crate) use super::tail::{new_tail, SharedTail};
use crate::secret::Redactor;

/// Where a relay's lines go.
pub(crate) struct Relay {
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
    pub _done: Option<tokio::sync::oneshot::Sender<()>>,
    /// Masks secrets in every line (empty: no-op).
    pub redact: Arc<Redactor>,
}

/// Read `fd` to EOF, relaying lines. Ends when every writer closed the pipe.
pub(crate) async fn relay(fd: OwnedFd, mut r: Relay) {
    let Ok(rx) = pipe::Receiver::from_owned_fd(fd) else {
        return;
    };
    let mut lines = Lines::default();
    let mut widened = false;
    loop {
        if rx.readable().await.is_err() {
            return;
        }
        let mut out = Chunk::default();
        let size = if widened {
            WIDE_PIPE as usize
        } else {
            READ_SIZE
        };
        let eof = match read_now(&rx, &mut lines, &mut out, size) {
            Some(eof) => eof,
            None => continue, // spurious wake-up
        };
        if !widened && out.bytes.len() >= FLOOD {
            widened = true;
            widen(&rx);
        }
        if !out.is_empty() {
            deliver(&mut r, out).await;
        }
        if eof {
            return;
        }
    }
}

/// Unused room a chunk may keep (see `deliver`).
const SLACK: usize = 4096;
/// The most one read takes (a whole widened pipe once flooding).
const READ_SIZE: usize = 64 * 1024;
/// The pipe size asked for a flooding child.
const WIDE_PIPE: i32 = 256 * 1024;

/// A flooding child (one read filled half a default pipe): a bigger pipe lets it
/// write longer before it blocks, and the relay reads it whole, so child,
/// relay and writer wake each other a quarter as often. Only for floods: each widened pipe counts against the user's
/// pipe-buffer quota. Best effort (the kernel may refuse).
fn widen(rx: &pipe::Receiver) {
    #[cfg(target_os = "linux")]
    {
        use nix::fcntl::{fcntl, FcntlArg};
        let _ = fcntl(rx, FcntlArg::F_SETPIPE_SZ(WIDE_PIPE));
    }
}

/// Read what is available without waiting, straight into the buffer that
/// becomes the chunk (after the pending partial line: no copy for ordinary
/// lines, see [`Lines::push_owned`]); `Some(true)` at EOF, `None` if nothing
/// was ready after all. An idle relay holds no buffer.
fn read_now(rx: &pipe::Receiver, lines: &mut Lines, out: &mut Chunk, size: usize) -> Option<bool> {
    let mut bytes = lines.take_pending();
    bytes.reserve(size);
    match rx.try_read_buf(&mut bytes) {
        Ok(0) => {
            lines.restore(bytes);
            lines.finish(out);
            Some(true)
        }
        Ok(_) => {
            lines.push_owned(bytes, out);
            Some(false)
        }
        Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
            lines.restore(bytes);
            None
        }
        Err(_) => {
            lines.restore(bytes);
            lines.finish(out);
            Some(true)
        }
    }
}

async fn deliver(r: &mut Relay, mut chunk: Chunk) {
    if !r.redact.is_empty() {
        scrub(&r.redact, &mut chunk);
    }
    // One buffer for the sink and every follower (`logs -f`): shared, not
    // copied. A follower that lags keeps up to `events::CAPACITY` chunks
    // alive, so a short read gives back the room reserved for a long one
    // (in place: a shrinking realloc does not copy).
    if chunk.bytes.capacity() - chunk.bytes.len() > SLACK {
        chunk.bytes.shrink_to_fit();
    }
    let chunk = Arc::new(chunk);
    r.tail
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .push_chunk(r.stream, &chunk);
    if let Some((re, _)) = &r.ready {
        let matched = chunk
            .iter()
            .any(|l| re.is_match(&String::from_utf8_lossy(l)));
        if matched {
            if let Some((_, notify)) = r.ready.take() {
                notify();
            }
        }
    }
    let rec = Record::Lines {
        svc: r.svc,
        stream: r.stream,
        chunk,
        ts: std::time::SystemTime::now(),
    };
    let _ = r.sink.send(rec).await;
}

/// Mask secrets. One search over the whole chunk in the common case (no
/// secret in it); only a chunk with a secret is rebuilt, line by line.
fn scrub(redact: &Redactor, chunk: &mut Chunk) {
    if !redact.contains_secret(&String::from_utf8_lossy(&chunk.bytes)) {
        return;
    }
    let mut clean = Chunk::default();
    for l in chunk.iter() {
        clean.push_line(redact.redact(&String::from_utf8_lossy(l)).as_bytes());
    }
    *chunk = clean;
}

#[cfg(test)]
mod tests {
    use super::*;

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
            _done: None,
        };
        let mut got = vec![];
        rt.block_on(async {
            relay(rd, r).await;
            while let Some(Record::Lines { chunk, .. }) = rx.recv().await {
                got.extend(chunk.to_strings());
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
}
