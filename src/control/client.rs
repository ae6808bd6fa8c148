//! The client side: connect to the first socket that answers, check WHO
//! answers, send one request line, read one response line. Blocking std I/O:
//! the commands are one-shot and need no runtime.
//!
//! Trust goes both ways: the server checks our uid, and we check the
//! server's (`SO_PEERCRED` on the connected socket) — it must be our own uid
//! or root, the same rule the server applies. Anyone else could have bound
//! the path first (a world-writable directory, a stale path reused) and
//! would be believed; such a server is refused before a byte is sent, and
//! everything shown from a server passes [`super::display::sanitize`].

use std::borrow::Cow;
use std::io::{BufRead, BufReader, ErrorKind, Write};
use std::os::unix::net::UnixStream;
use std::path::PathBuf;
use std::time::Duration;

use super::display::visible;
use super::protocol::{Item, Request, Response};
use crate::diag::visible::is_plain;

/// Why there was no answer.
#[derive(Debug, thiserror::Error)]
pub(crate) enum ClientError {
    /// No `up` listens on any of the paths.
    #[error("no running `up` found (no control socket at {0})")]
    NoSupervisor(String),
    /// The socket exists but we may not connect (another user's `up`).
    #[error("cannot connect to {0}: {1}")]
    Connect(PathBuf, std::io::Error),
    /// The listener is not run by us or root.
    #[error("refusing the control socket {0}: it is served by uid {1}, not by you (uid {2}) or root — another user's process may have taken the path")]
    Untrusted(PathBuf, u32, u32),
    /// Connected, but the exchange failed.
    #[error("control socket {0}: {1}")]
    Exchange(PathBuf, String),
}

/// Connect to the first of `candidates` with a listener we trust.
pub(crate) fn connect(candidates: &[PathBuf]) -> Result<(UnixStream, PathBuf), ClientError> {
    for p in candidates {
        match UnixStream::connect(p) {
            Ok(s) => {
                trusted(&s, p)?;
                return Ok((s, p.clone()));
            }
            Err(e) if matches!(e.kind(), ErrorKind::NotFound | ErrorKind::ConnectionRefused) => {}
            Err(e) => return Err(ClientError::Connect(p.clone(), e)),
        }
    }
    let tried: Vec<String> = candidates.iter().map(|p| p.display().to_string()).collect();
    Err(ClientError::NoSupervisor(tried.join(" or ")))
}

/// Whether a server uid may be believed: ours, or root (pure).
pub(crate) fn trusted_uid(server: u32, me: u32) -> bool {
    server == me || server == 0
}

/// The server at `path` must run as our uid or root.
fn trusted(s: &UnixStream, path: &std::path::Path) -> Result<(), ClientError> {
    use nix::sys::socket::{getsockopt, sockopt::PeerCredentials};
    let me = nix::unistd::geteuid().as_raw();
    let cred = getsockopt(s, PeerCredentials).map_err(|e| {
        ClientError::Exchange(path.to_owned(), format!("cannot check the server: {e}"))
    })?;
    let uid = cred.uid();
    if trusted_uid(uid, me) {
        Ok(())
    } else {
        Err(ClientError::Untrusted(path.to_owned(), uid, me))
    }
}

/// How a stream ended.
#[derive(Debug)]
pub(crate) enum StreamEnd {
    /// The server closed it (`up` ended) or `on_item` said stop.
    Done,
    /// The server answered with an error instead.
    Refused(Response),
}

/// Where a stream's items go. Every string has been made visible
/// ([`super::display`]) before it is handed over.
pub(crate) trait Items {
    /// One item; false: stop.
    fn item(&mut self, item: Item) -> bool;
    /// One `line` item, borrowed from the read buffer: the hot path of
    /// `logs -f` (no allocation per line). False: stop.
    fn line(&mut self, l: LineRef<'_>) -> bool {
        self.item(Item::Line {
            ts: l.ts.map(str::to_owned),
            service: l.service.into_owned(),
            stream: l.stream.into_owned(),
            line: l.line.into_owned(),
        })
    }
    /// Every item read so far was handed over: the next read may wait, so
    /// output held back for one big write goes out now. False: stop.
    fn idle(&mut self) -> bool {
        true
    }
}

impl<F: FnMut(Item) -> bool> Items for F {
    fn item(&mut self, item: Item) -> bool {
        self(item)
    }
}

/// A `line` item as it came off the wire, strings borrowed where they
/// need no unescaping (and already made visible).
#[derive(Debug, serde::Deserialize)]
pub(crate) struct LineRef<'a> {
    /// `"line"`.
    #[serde(rename = "type")]
    kind: &'a str,
    /// When it was read (none for history lines).
    #[serde(default)]
    pub ts: Option<&'a str>,
    /// Service.
    #[serde(borrow)]
    pub service: Cow<'a, str>,
    /// `stdout` / `stderr`.
    #[serde(borrow)]
    pub stream: Cow<'a, str>,
    /// The line.
    #[serde(borrow)]
    pub line: Cow<'a, str>,
}

/// `text` as a `line` item, cheaply, when it is one the way the server
/// writes them (else the general path parses it).
fn line_ref(text: &[u8]) -> Option<LineRef<'_>> {
    if !text.starts_with(br#"{"type":"line","#) {
        return None;
    }
    if let Some(l) = plain_line(text) {
        return Some(l);
    }
    let mut l: LineRef = serde_json::from_slice(text).ok()?;
    if l.kind != "line" || l.ts.is_some_and(|t| visible(t) != t) {
        return None;
    }
    visible_cow(&mut l.service);
    visible_cow(&mut l.stream);
    visible_cow(&mut l.line);
    Some(l)
}

/// A `line` item exactly as the server writes a plain one (printable
/// ASCII, no backslash anywhere, so every string is literal and needs no
/// escaping for a terminal either): fields found by position, nothing
/// decoded. One SIMD pass and a few `memchr`s instead of a JSON parse;
/// anything else is left to the parser.
fn plain_line(text: &[u8]) -> Option<LineRef<'_>> {
    if !is_plain(text) || memchr::memchr(b'\\', text).is_some() {
        return None;
    }
    plain_fields(std::str::from_utf8(text).ok()?)
}

/// The fields of a plain `line` item (see [`plain_line`]), by position, in
/// text already known to be plain and free of backslashes.
fn plain_fields(text: &str) -> Option<LineRef<'_>> {
    let text = text.strip_suffix('\n').unwrap_or(text);
    let rest = text.strip_prefix(r#"{"type":"line","ts":""#)?;
    let (ts, rest) = literal(rest)?;
    let (service, rest) = literal(rest.strip_prefix(r#","service":""#)?)?;
    let (stream, rest) = literal(rest.strip_prefix(r#","stream":""#)?)?;
    let line = rest.strip_prefix(r#","line":""#)?.strip_suffix(r#""}"#)?;
    if memchr::memchr(b'"', line.as_bytes()).is_some() {
        return None;
    }
    Some(LineRef {
        kind: "line",
        ts: Some(ts),
        service: Cow::Borrowed(service),
        stream: Cow::Borrowed(stream),
        line: Cow::Borrowed(line),
    })
}

/// What [`plain_run`] did with the start of the read buffer.
struct Run {
    /// Bytes handed over (whole items).
    used: usize,
    /// False: the receiver said stop.
    go: bool,
    /// Bytes after `used` that are not plain: the per-item path takes them
    /// before the next run is tried (so no byte is checked twice over).
    dirty: usize,
}

/// The hot path of a follower: the whole items at the start of `buf` that
/// are plain `line` items, handed over with ONE check of all their bytes
/// (printable ASCII, no backslash) instead of one per item — then each
/// item's fields by position ([`plain_fields`]). Stops at the first other
/// item (`services`, `lagged`, an escaped line), which the caller reads.
fn plain_run(buf: &[u8], on_item: &mut dyn Items) -> Run {
    let mut run = Run {
        used: 0,
        go: true,
        dirty: 0,
    };
    // Whole items before the first backslash.
    let clean = memchr::memchr(b'\\', buf).unwrap_or(buf.len());
    let Some(last) = memchr::memrchr(b'\n', &buf[..clean]) else {
        return run;
    };
    let region = &buf[..=last];
    let text = match std::str::from_utf8(region) {
        Ok(t) if is_plain(region) => t,
        _ => {
            run.dirty = region.len();
            return run;
        }
    };
    for nl in memchr::memchr_iter(b'\n', region) {
        let Some(l) = plain_fields(&text[run.used..=nl]) else {
            break;
        };
        run.used = nl + 1;
        if !on_item.line(l) {
            run.go = false;
            break;
        }
    }
    run
}

/// A string up to its closing quote, and what follows the quote.
fn literal(s: &str) -> Option<(&str, &str)> {
    let q = memchr::memchr(b'"', s.as_bytes())?;
    Some((&s[..q], &s[q + 1..]))
}

fn visible_cow(c: &mut Cow<'_, str>) {
    if let Cow::Owned(v) = visible(c) {
        *c = Cow::Owned(v);
    }
}

/// Send a streaming `req` and hand each item to `on_item` (false: stop)
/// until the server closes. No read timeout: a quiet stream is normal.
pub(crate) fn stream(
    candidates: &[PathBuf],
    req: &Request,
    on_item: &mut dyn Items,
) -> Result<StreamEnd, ClientError> {
    let (mut stream, path) = connect(candidates)?;
    let fail = |e: String| ClientError::Exchange(path.clone(), e);
    let mut line = serde_json::to_string(req).map_err(|e| fail(e.to_string()))?;
    line.push('\n');
    stream
        .write_all(line.as_bytes())
        .map_err(|e| fail(e.to_string()))?;
    // Big reads: a follower of a flood takes hundreds of lines per read.
    let mut reader = BufReader::with_capacity(READ_BUF, &stream);
    let mut text = Vec::new();
    // Bytes the per-item path below takes before the next plain run.
    let mut slow = 0;
    loop {
        if slow == 0 {
            let run = plain_run(reader.buffer(), on_item);
            reader.consume(run.used);
            if !run.go {
                return Ok(StreamEnd::Done);
            }
            slow = run.dirty;
            if run.used > 0 {
                continue;
            }
        }
        // A whole line item in the buffer: handled in place, uncopied.
        let buf = reader.buffer();
        if let Some(nl) = memchr::memchr(b'\n', buf) {
            if let Some(l) = line_ref(&buf[..=nl]) {
                let go = on_item.line(l);
                reader.consume(nl + 1);
                slow = slow.saturating_sub(nl + 1);
                if !go {
                    return Ok(StreamEnd::Done);
                }
                continue;
            }
        } else if !on_item.idle() {
            return Ok(StreamEnd::Done);
        }
        text.clear();
        if reader
            .read_until(b'\n', &mut text)
            .map_err(|e| fail(e.to_string()))?
            == 0
        {
            return Ok(StreamEnd::Done);
        }
        slow = slow.saturating_sub(text.len());
        if let Some(l) = line_ref(&text) {
            if !on_item.line(l) {
                return Ok(StreamEnd::Done);
            }
            continue;
        }
        if let Ok(mut item) = serde_json::from_slice::<Item>(&text) {
            super::display::item(&mut item);
            if !on_item.item(item) {
                return Ok(StreamEnd::Done);
            }
            continue;
        }
        let mut r: Response =
            serde_json::from_slice(&text).map_err(|e| fail(format!("unreadable answer: {e}")))?;
        super::display::sanitize(&mut r);
        return Ok(StreamEnd::Refused(r));
    }
}

/// How much of the stream one read takes at most.
const READ_BUF: usize = 256 * 1024;

/// Send `req`, wait at most `timeout` for the answer.
pub(crate) fn call(
    candidates: &[PathBuf],
    req: &Request,
    timeout: Duration,
) -> Result<Response, ClientError> {
    let (mut stream, path) = connect(candidates)?;
    let fail = |e: String| ClientError::Exchange(path.clone(), e);
    let mut line = serde_json::to_string(req).map_err(|e| fail(e.to_string()))?;
    line.push('\n');
    stream
        .set_read_timeout(Some(timeout))
        .map_err(|e| fail(e.to_string()))?;
    // A refused peer is answered (and closed on) before it has written:
    // read the answer even when the write failed.
    let wrote = stream.write_all(line.as_bytes());
    let mut answer = String::new();
    let read = BufReader::new(&stream).read_line(&mut answer);
    if answer.is_empty() {
        let why = match (wrote, read) {
            (Err(e), _) | (Ok(()), Err(e)) => e.to_string(),
            (Ok(()), Ok(_)) => "closed without an answer".into(),
        };
        return Err(fail(why));
    }
    let mut r: Response =
        serde_json::from_str(&answer).map_err(|e| fail(format!("unreadable answer: {e}")))?;
    super::display::sanitize(&mut r);
    Ok(r)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The positional fast path reads exactly what the JSON parser reads,
    /// and leaves everything it cannot read literally to the parser.
    #[test]
    fn plain_line_items_read_like_parsed_ones() {
        let plain = br#"{"type":"line","ts":"2026-12-05T08:00:00.000Z","service":"api","stream":"stderr","line":"hello: x=1 {}"}"#;
        let fast = plain_line(plain).expect("plain");
        let slow: LineRef = serde_json::from_slice(plain).unwrap();
        assert_eq!(
            (fast.ts, &fast.service, &fast.stream, &fast.line),
            (slow.ts, &slow.service, &slow.stream, &slow.line)
        );
        assert_eq!(fast.line, "hello: x=1 {}");
        let with_newline = [&plain[..], b"\n"].concat();
        assert_eq!(plain_line(&with_newline).expect("plain").line, fast.line);
        let others: [&[u8]; 6] = [
            br#"{"type":"line","ts":"t","service":"api","stream":"stdout","line":"a \"q\" b"}"#,
            br#"{"type":"line","ts":"t","service":"api","stream":"stdout","line":"tab\there"}"#,
            br#"{"type":"line","ts":"t","service":"api","stream":"stdout","line":"caf\u00e9"}"#,
            "{\"type\":\"line\",\"ts\":\"t\",\"service\":\"api\",\"stream\":\"stdout\",\"line\":\"café\"}".as_bytes(),
            br#"{"type":"line","service":"api","stream":"stdout","line":"history"}"#,
            br#"{"type":"line","ts":"t","stream":"stdout","service":"api","line":"reordered"}"#,
        ];
        for other in others {
            let shown = String::from_utf8_lossy(other);
            assert!(plain_line(other).is_none(), "{shown}");
            let l = line_ref(other).expect("the parser reads it");
            assert!(!l.line.is_empty(), "{shown}");
        }
        // Escapes a terminal must not get are made visible on the slow path.
        let esc =
            br#"{"type":"line","ts":"t","service":"api","stream":"stdout","line":"\u001b[2Jx"}"#;
        assert!(plain_line(esc).is_none());
        assert_eq!(line_ref(esc).expect("parsed").line, "\\x1b[2Jx");
    }

    /// A buffer of many items: the run hands over the plain line items at
    /// its start exactly as the per-item path reads them, and stops at the
    /// first other item, before an escaped line and where it is told to.
    #[test]
    fn plain_runs_stop_where_the_per_item_path_must_read() {
        let item = |l: &str| {
            format!(r#"{{"type":"line","ts":"t","service":"api","stream":"stdout","line":"{l}"}}"#)
                + "\n"
        };
        let services = "{\"type\":\"services\",\"names\":[\"api\"]}\n";
        let buf = [item("a"), item("b"), services.into(), item("c")].concat();
        let mut got = vec![];
        let mut keep = |i: Item| {
            if let Item::Line { line, .. } = i {
                got.push(line);
            }
            true
        };
        let run = plain_run(buf.as_bytes(), &mut keep);
        assert_eq!(
            (run.used, run.go, run.dirty),
            (2 * item("a").len(), true, 0)
        );
        assert_eq!(got, ["a", "b"]);

        // Before a backslash: only the whole items before it.
        let buf = [item("a"), item(r"back\\slash"), item("b")].concat();
        let run = plain_run(buf.as_bytes(), &mut |_: Item| true);
        assert_eq!((run.used, run.dirty), (item("a").len(), 0));

        // Not plain (a raw control byte): the per-item path takes it all.
        let buf = [item("a"), item("b\u{7f}"), item("c")].concat();
        let run = plain_run(buf.as_bytes(), &mut |_: Item| true);
        assert_eq!((run.used, run.dirty), (0, buf.len()));

        // A partial last item is left for the next read; a stop is obeyed.
        let buf = [item("a"), item("b"), "{\"type\":\"li".into()].concat();
        let mut n = 0;
        let run = plain_run(buf.as_bytes(), &mut |_: Item| {
            n += 1;
            false
        });
        assert_eq!((run.used, run.go, n), (item("a").len(), false, 1));
    }

    #[test]
    fn only_our_uid_or_root_is_believed() {
        assert!(trusted_uid(1000, 1000));
        assert!(trusted_uid(0, 1000));
        assert!(!trusted_uid(65534, 1000));
        assert!(!trusted_uid(1000, 0));
    }
}
