//! Streaming answers: `events`, `logs … follow` and `status watch` write one
//! JSON [`Item`] per line until the client disconnects or `up` ends. Each is
//! a subscription to the engine's broadcast (`supervisor/events.rs`), taken
//! BEFORE any history is read, so a follower sees every line exactly once
//! (history up to a point in the global output order, live after it).
//!
//! Each stream runs on its own thread, with its own small current-thread
//! runtime: formatting and writing a follower's lines (JSON per line) never
//! takes time from `up`'s runtime thread, where the engine and the output
//! relays run — a follower costs the relay one `Arc` clone per batch.
//!
//! Nothing here polls: a stream waits on the broadcast, on the client's
//! half of the socket (EOF = gone) and on the runtime's end — with followers
//! attached and nothing happening, no task wakes up. A client that reads
//! slowly only fills its own socket buffer; meanwhile the stream keeps
//! taking items off the broadcast into its backlog ([`super::inbox`]),
//! bounded by bytes: past it the oldest go, and the client is told how many
//! (`lagged`); the engine and the relays never wait.
//!
//! Output is formatted a batch at a time and written in one go (up to
//! [`HOLD`]); a batch of plain ASCII lines is turned into JSON lines with
//! one SIMD check for the whole batch, not a look at every byte.
//!
//! [`write_line`], the one way a response line is written (one-shot answers
//! in `server.rs` too), is here so that `server` depends on `stream`, not
//! both ways.

use std::io::ErrorKind;
use std::sync::Arc;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::unix::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::UnixStream;
use tokio::sync::broadcast::Receiver;
use tokio::sync::OwnedSemaphorePermit;

use super::context::Context;
use super::inbox::{Inbox, Next, LIMIT};
use super::protocol::{Item, Request, Response};
use super::serve::{history, names, views};
use crate::diag::visible::is_plain;
use crate::supervisor::chunk::{split_lines, Chunk};
use crate::supervisor::events::Published;
use crate::supervisor::format::rfc3339;
use crate::supervisor::logs::Stream as Out;

/// At most this many items are taken off the broadcast at once.
const BATCH: usize = 1024;
/// Formatted output written in one go (at most, give or take one item).
const HOLD: usize = 64 * 1024;

/// Serve a streaming request on its own thread (see the module doc); the
/// connection `permit` is released when the stream ends.
pub(crate) fn spawn(
    stream: UnixStream,
    ctx: Arc<Context>,
    req: Request,
    permit: OwnedSemaphorePermit,
) {
    let std = match stream.into_std() {
        Ok(s) => s,
        Err(e) => return tracing::warn!("control socket: cannot hand over a stream: {e}"),
    };
    let run = move || {
        yield_cpu();
        if let Ok(rt) = crate::supervisor::runtime::current_thread() {
            rt.block_on(async {
                if let Ok(s) = UnixStream::from_std(std) {
                    serve(s, &ctx, req).await;
                }
            });
        }
        drop(permit);
    };
    let spawned = std::thread::Builder::new()
        .name("control-stream".into())
        .stack_size(STACK)
        .spawn(run);
    if let Err(e) = spawned {
        tracing::warn!("control socket: cannot start a stream thread: {e}");
    }
}

/// A stream is a spectator: when CPU is short (a flood on a small
/// machine), the relays and the engine — what the services wait on — go
/// first, and the stream catches up from its backlog or loses its oldest
/// lines (`lagged`), never the other way round. So its thread runs at nice
/// +10 (Linux: the nice value is per thread). Measured on 2 busy cores, one
/// `logs -f` attached to a 200 MiB flood: `up`'s own output 0.72× → 0.93×
/// of the rate without a follower (bench/relay_ab.py). Best effort.
fn yield_cpu() {
    #[cfg(target_os = "linux")]
    {
        let tid = nix::unistd::gettid().as_raw();
        if let Ok(tid) = libc::id_t::try_from(tid) {
            // SAFETY: setpriority takes plain integers and touches no memory;
            // lowering one's own priority is always allowed.
            unsafe { libc::setpriority(libc::PRIO_PROCESS, tid, STREAM_NICE) };
        }
    }
}

/// The nice value of a stream thread (see [`yield_cpu`]).
const STREAM_NICE: libc::c_int = 10;

/// A stream thread's stack: it formats lines, nothing deep.
const STACK: usize = 256 * 1024;

/// Serve a streaming request on `stream` until either side ends.
async fn serve(stream: UnixStream, ctx: &Context, req: Request) {
    let rx = ctx.events.subscribe();
    let (rd, wr) = stream.into_split();
    let mut s = Stream {
        rx,
        inbox: Inbox::new(Box::new(|_| true), LIMIT),
        rd,
        wr,
        out: Vec::new(),
    };
    let r = match req {
        Request::Events => s.events(ctx).await,
        Request::Status { .. } => s.watch(ctx).await,
        Request::Logs {
            service,
            services,
            lines,
            ..
        } => {
            let names = ctx.expand_all(names(service, services));
            s.follow(ctx, names, lines).await
        }
        _ => Ok(()),
    };
    if let Err(Some(response)) = r {
        if let Ok(wr) = s.wr.reunite(s.rd) {
            write_line(wr, &response).await;
        }
    }
}

struct Stream {
    rx: Receiver<Arc<Published>>,
    /// What was taken off `rx` and not written yet (bounded by bytes).
    inbox: Inbox,
    rd: OwnedReadHalf,
    wr: OwnedWriteHalf,
    /// Formatted, not yet written.
    out: Vec<u8>,
}

/// `Err(None)`: the client went away; `Err(Some(r))`: answer `r` and close.
type Flow = Result<(), Option<Response>>;

impl Stream {
    async fn events(&mut self, ctx: &Context) -> Flow {
        self.inbox
            .keep(Box::new(|p| !matches!(p, Published::Output { .. })));
        self.pump(ctx, |out, p| {
            if let Some(item) = event_item(ctx, p) {
                push(out, &item);
            }
        })
        .await
    }

    async fn follow(&mut self, ctx: &Context, names: Vec<String>, lines: usize) -> Flow {
        let past = history(ctx, &names, lines).await.map_err(Some)?;
        let all = ctx.names();
        let wanted: Vec<usize> = (0..all.len())
            .filter(|&i| names.is_empty() || names.contains(&all[i]))
            .collect();
        let seen = past.iter().map(|l| l.seq).max().unwrap_or(0);
        let names_all = all.to_vec();
        push(&mut self.out, &Item::Services { names: names_all });
        let redactor = ctx.redactor();
        for l in past {
            let item = Item::Line {
                ts: None,
                service: name(ctx, l.svc),
                stream: l.stream.as_str().to_owned(),
                line: redactor.redact(&l.line).into_owned(),
            };
            push(&mut self.out, &item);
        }
        self.send().await?;
        // No names: every service, also those a reload adds later.
        let every = names.is_empty();
        self.inbox.keep(Box::new(move |p| {
            matches!(p, Published::Output { svc, seq, .. }
                if *seq > seen && (every || wanted.contains(svc)))
        }));
        let mut known = all;
        self.pump(ctx, |out, p| {
            if let Published::Output {
                at,
                svc,
                stream,
                chunk,
                ..
            } = p
            {
                let names = ctx.names();
                renamed(&mut known, &names, out);
                let service = names.get(*svc).map_or("", String::as_str);
                output_json(&rfc3339(*at), service, *stream, chunk, out);
            }
        })
        .await
    }

    /// Write every item (`render`) and lag marker until the end; the end
    /// of `up` writes what is already published first.
    async fn pump(
        &mut self,
        ctx: &Context,
        mut render: impl FnMut(&mut Vec<u8>, &Published),
    ) -> Flow {
        loop {
            let mut next = self.next(ctx).await;
            loop {
                match next {
                    Next::End => return self.send().await,
                    Next::Lagged(dropped) => push(&mut self.out, &Item::Lagged { dropped }),
                    Next::Got(p) => render(&mut self.out, &p),
                }
                if self.out.len() >= HOLD {
                    break;
                }
                self.drain();
                match self.inbox.pop() {
                    Some(n) => next = n,
                    None => break,
                }
            }
            self.send().await?;
        }
    }

    /// A full status now, then again after every batch of transitions.
    async fn watch(&mut self, ctx: &Context) -> Flow {
        self.inbox
            .keep(Box::new(|p| matches!(p, Published::Transition(_))));
        loop {
            let services = views(ctx).await.map_err(Some)?;
            push(&mut self.out, &Item::Status { services });
            self.send().await?;
            // Any transition (or lost ones) means a change: one redraw for
            // all that are already waiting.
            let mut next = self.next(ctx).await;
            loop {
                if matches!(next, Next::End) {
                    return Ok(());
                }
                self.drain();
                match self.inbox.pop() {
                    Some(n) => next = n,
                    None => break,
                }
            }
        }
    }

    /// The next thing to write, waiting for it (or for the client leaving,
    /// or the runtime ending).
    async fn next(&mut self, ctx: &Context) -> Next {
        let mut health = ctx.health.clone();
        loop {
            self.drain();
            if let Some(n) = self.inbox.pop() {
                return n;
            }
            // Biased: what is already published goes out before the end is seen.
            tokio::select! {
                biased;
                r = self.rx.recv() => self.inbox.take(r),
                () = gone(&mut self.rd) => return Next::End,
                _ = health.wait_for(|h| h.done) => return Next::End,
            }
        }
    }

    /// Take what is already waiting on the broadcast (bounded), without waiting.
    fn drain(&mut self) {
        for _ in 0..BATCH {
            if !self.inbox.take_now(self.rx.try_recv()) {
                return;
            }
        }
    }

    /// Write `out` to the client. While the client's socket is full, keep
    /// taking items off the broadcast into the bounded backlog: a slow
    /// client loses its oldest lines (and is told), it never holds more.
    async fn send(&mut self) -> Flow {
        let mut at = 0;
        while at < self.out.len() {
            tokio::select! {
                biased;
                w = self.wr.writable() => {
                    w.map_err(|_| None)?;
                    match self.wr.try_write(&self.out[at..]) {
                        Ok(n) => at += n,
                        Err(e) if e.kind() == ErrorKind::WouldBlock => {}
                        Err(_) => return Err(None),
                    }
                }
                r = self.rx.recv(), if !self.inbox.closed() => {
                    self.inbox.take(r);
                    self.drain();
                }
            }
        }
        self.out.clear();
        Ok(())
    }
}

/// One item as a JSON line.
fn push(out: &mut Vec<u8>, item: &Item) {
    if serde_json::to_writer(&mut *out, item).is_ok() {
        out.push(b'\n');
    }
}

/// One `line` item per line of `chunk`. A chunk of plain ASCII without
/// quotes, backslashes or tabs (one SIMD pass, the common case) needs no
/// escaping at all: each line is copied between the head and `"}`.
fn output_json(ts: &str, service: &str, stream: Out, chunk: &Chunk, out: &mut Vec<u8>) {
    let head = line_head(ts, service, stream);
    let b = &chunk.bytes;
    let plain = is_plain(b) && memchr::memchr3(b'"', b'\\', b'\t', b).is_none();
    out.reserve(b.len() + chunk.lines * (head.len() + 4));
    for l in split_lines(b) {
        if plain {
            out.extend_from_slice(&head);
            out.push(b'"');
            out.extend_from_slice(l);
            out.extend_from_slice(b"\"}\n");
        } else {
            line_json(&head, l, out);
        }
    }
}

/// Resolves when the client has closed its side (or it failed).
async fn gone(rd: &mut OwnedReadHalf) {
    let mut buf = [0u8; 256];
    loop {
        match rd.read(&mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(_) => {}
        }
    }
}

/// `{"type":"line","ts":…,"service":…,"stream":…,"line":` for one batch.
fn line_head(ts: &str, service: &str, stream: Out) -> Vec<u8> {
    let item = Item::Line {
        ts: Some(ts.to_owned()),
        service: service.to_owned(),
        stream: stream.as_str().to_owned(),
        line: String::new(),
    };
    let mut v = serde_json::to_vec(&item).unwrap_or_default();
    // Drop the empty `""}` so each line's text can follow.
    v.truncate(v.len().saturating_sub(3));
    v
}

/// One line item, as `serde_json` would write it, without building one: a
/// line that needs no escaping (the common case) is copied as it is.
fn line_json(head: &[u8], line: &[u8], out: &mut Vec<u8>) {
    let special = |b: &u8| *b < 0x20 || *b == b'"' || *b == b'\\';
    let plain = !line.iter().any(special) && std::str::from_utf8(line).is_ok();
    out.extend_from_slice(head);
    if plain {
        out.push(b'"');
        out.extend_from_slice(line);
        out.push(b'"');
    } else {
        let text = String::from_utf8_lossy(line);
        if serde_json::to_writer(&mut *out, &text).is_err() {
            out.extend_from_slice(b"\"\"");
        }
    }
    out.extend_from_slice(b"}\n");
}

/// A reload changed the services: tell the client the new list first (it
/// aligns its prefixes to the longest name, as `up` does), once. `now` is
/// the list in force (one `Arc` per Plan: comparing it costs nothing while
/// no reload happened).
fn renamed(known: &mut Arc<Vec<String>>, now: &Arc<Vec<String>>, out: &mut Vec<u8>) {
    if Arc::ptr_eq(known, now) {
        return;
    }
    if **known != **now {
        push(
            out,
            &Item::Services {
                names: now.to_vec(),
            },
        );
    }
    *known = Arc::clone(now);
}

fn name(ctx: &Context, svc: usize) -> String {
    ctx.names().get(svc).cloned().unwrap_or_default()
}

/// A transition or notice as an item (output is not an event).
fn event_item(ctx: &Context, p: &Published) -> Option<Item> {
    match p {
        Published::Transition(t) => Some(Item::Transition {
            ts: rfc3339(t.at),
            service: name(ctx, t.svc),
            from: t.from,
            to: t.to,
            pid: t.pid,
            after_ms: u64::try_from(t.after.as_millis()).unwrap_or(u64::MAX),
            reason: t.reason.clone(),
        }),
        Published::Notice { at, message } => Some(Item::Supervisor {
            ts: rfc3339(*at),
            message: message.clone(),
        }),
        Published::Output { .. } => None,
    }
}

/// A client must take its answer within this.
const WRITE_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

/// Write one response line and close; a client that does not read its answer
/// only loses its own connection.
pub(crate) async fn write_line(mut stream: UnixStream, response: &Response) {
    let mut line = serde_json::to_string(response).unwrap_or_else(|_| {
        r#"{"ok":false,"error":"cannot encode the response","kind":"unavailable"}"#.to_owned()
    });
    line.push('\n');
    let write = async {
        stream.write_all(line.as_bytes()).await?;
        stream.shutdown().await
    };
    let _ = tokio::time::timeout(WRITE_TIMEOUT, write).await;
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A whole chunk, plain or not: one line item per line, as serde writes them.
    #[test]
    fn chunk_json_is_what_serde_writes() {
        let ts = "2026-12-05T08:00:00.000Z";
        for text in [
            &b"a\nplain line {x}\n"[..],
            b"a\nq \"x\"\ntab\tx\ncaf\xc3\xa9\n",
        ] {
            let mut chunk = Chunk::default();
            for l in split_lines(text) {
                chunk.push_line(l);
            }
            let mut fast = Vec::new();
            output_json(ts, "api", Out::Stdout, &chunk, &mut fast);
            let mut want = String::new();
            for l in chunk.to_strings() {
                let item = Item::Line {
                    ts: Some(ts.into()),
                    service: "api".into(),
                    stream: "stdout".into(),
                    line: l,
                };
                want += &(serde_json::to_string(&item).unwrap() + "\n");
            }
            assert_eq!(String::from_utf8(fast).unwrap(), want);
        }
    }

    #[test]
    fn fast_line_json_is_what_serde_writes() {
        let head = line_head("2026-12-05T08:00:00.000Z", "api", Out::Stderr);
        for line in [
            &b"plain text"[..],
            b"quote \" and \\",
            b"tab\tesc\x1b",
            b"caf\xc3\xa9",
            b"bad \xff",
        ] {
            let mut fast = Vec::new();
            line_json(&head, line, &mut fast);
            let item = Item::Line {
                ts: Some("2026-12-05T08:00:00.000Z".into()),
                service: "api".into(),
                stream: "stderr".into(),
                line: String::from_utf8_lossy(line).into_owned(),
            };
            let want = serde_json::to_string(&item).unwrap() + "\n";
            assert_eq!(String::from_utf8(fast).unwrap(), want);
        }
    }
}
