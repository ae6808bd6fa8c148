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
//! slowly only fills its own socket buffer; the broadcast then drops the
//! oldest items *for it* and it is told how many (`lagged`); the engine and
//! the relays never wait.
//!
//! [`write_line`], the one way a response line is written (one-shot answers
//! in `server.rs` too), is here so that `server` depends on `stream`, not
//! both ways.

use std::sync::Arc;

use tokio::io::{AsyncReadExt, AsyncWriteExt, BufWriter};
use tokio::net::unix::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::UnixStream;
use tokio::sync::broadcast::error::{RecvError, TryRecvError};
use tokio::sync::broadcast::Receiver;
use tokio::sync::OwnedSemaphorePermit;

use super::context::Context;
use super::protocol::{Item, Request, Response};
use super::serve::{history, names, views};
use crate::supervisor::chunk::split_lines;
use crate::supervisor::events::Published;
use crate::supervisor::format::rfc3339;
use crate::supervisor::logs::Stream as Out;

/// At most this many items are written between two flushes.
const BATCH: usize = 1024;

/// What woke a stream.
enum Next {
    Got(Arc<Published>),
    Lagged(u64),
    End,
}

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

/// A stream thread's stack: it formats lines, nothing deep.
const STACK: usize = 256 * 1024;

/// Serve a streaming request on `stream` until either side ends.
async fn serve(stream: UnixStream, ctx: &Context, req: Request) {
    let rx = ctx.events.subscribe();
    let (rd, wr) = stream.into_split();
    let mut s = Stream {
        rx,
        rd,
        out: BufWriter::with_capacity(64 * 1024, wr),
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
        if let Ok(wr) = s.out.into_inner().reunite(s.rd) {
            write_line(wr, &response).await;
        }
    }
}

struct Stream {
    rx: Receiver<Arc<Published>>,
    rd: OwnedReadHalf,
    out: BufWriter<OwnedWriteHalf>,
}

/// `Err(None)`: the client went away; `Err(Some(r))`: answer `r` and close.
type Flow = Result<(), Option<Response>>;

impl Stream {
    async fn events(&mut self, ctx: &Context) -> Flow {
        loop {
            for n in self.batch(ctx).await {
                match n {
                    Next::End => return Ok(()),
                    Next::Lagged(dropped) => self.write(&Item::Lagged { dropped }).await?,
                    Next::Got(p) => {
                        if let Some(item) = event_item(ctx, &p) {
                            self.write(&item).await?;
                        }
                    }
                }
            }
            self.flush().await?;
        }
    }

    async fn follow(&mut self, ctx: &Context, names: Vec<String>, lines: usize) -> Flow {
        let past = history(ctx, &names, lines).await.map_err(Some)?;
        let all = ctx.names();
        let wanted: Vec<usize> = (0..all.len())
            .filter(|&i| names.is_empty() || names.contains(&all[i]))
            .collect();
        let seen = past.iter().map(|l| l.seq).max().unwrap_or(0);
        let names_all = all.to_vec();
        self.write(&Item::Services { names: names_all }).await?;
        let redactor = ctx.redactor();
        for l in past {
            let item = Item::Line {
                ts: None,
                service: name(ctx, l.svc),
                stream: l.stream.as_str().to_owned(),
                line: redactor.redact(&l.line).into_owned(),
            };
            self.write(&item).await?;
        }
        self.flush().await?;
        loop {
            for n in self.batch(ctx).await {
                match n {
                    Next::End => return Ok(()),
                    Next::Lagged(dropped) => self.write(&Item::Lagged { dropped }).await?,
                    Next::Got(p) => match &*p {
                        Published::Output {
                            at,
                            svc,
                            stream,
                            seq,
                            chunk,
                        } if *seq > seen && wanted.contains(svc) => {
                            let head = line_head(&rfc3339(*at), &name(ctx, *svc), *stream);
                            let mut buf = Vec::with_capacity(chunk.bytes.len() * 2);
                            for l in split_lines(&chunk.bytes) {
                                line_json(&head, l, &mut buf);
                            }
                            self.out.write_all(&buf).await.map_err(|_| None)?;
                        }
                        _ => {}
                    },
                }
            }
            self.flush().await?;
        }
    }

    /// A full status now, then again after every batch of transitions.
    async fn watch(&mut self, ctx: &Context) -> Flow {
        loop {
            let services = views(ctx).await.map_err(Some)?;
            self.write(&Item::Status { services }).await?;
            self.flush().await?;
            loop {
                let batch = self.batch(ctx).await;
                if batch.iter().any(|n| matches!(n, Next::End)) {
                    return Ok(());
                }
                let changed = batch.iter().any(|n| match n {
                    Next::Got(p) => matches!(&**p, Published::Transition(_)),
                    Next::Lagged(_) => true,
                    Next::End => false,
                });
                if changed {
                    break;
                }
            }
        }
    }

    /// Wait for the next item, the client leaving, or the runtime ending.
    async fn next(&mut self, ctx: &Context) -> Next {
        let mut health = ctx.health.clone();
        // Biased: what is already published goes out before the end is seen.
        tokio::select! {
            biased;
            r = self.rx.recv() => match r {
                Ok(p) => Next::Got(p),
                Err(RecvError::Lagged(n)) => Next::Lagged(n),
                Err(RecvError::Closed) => Next::End,
            },
            () = gone(&mut self.rd) => Next::End,
            _ = health.wait_for(|h| h.done) => Next::End,
        }
    }

    /// The next item (waiting for it) and whatever else is already waiting.
    async fn batch(&mut self, ctx: &Context) -> Vec<Next> {
        let first = self.next(ctx).await;
        let mut batch = vec![first];
        self.drain(&mut batch);
        batch
    }

    /// Whatever else is already waiting (bounded), without waiting.
    fn drain(&mut self, batch: &mut Vec<Next>) {
        while batch.len() < BATCH {
            match self.rx.try_recv() {
                Ok(p) => batch.push(Next::Got(p)),
                Err(TryRecvError::Lagged(n)) => batch.push(Next::Lagged(n)),
                Err(TryRecvError::Empty) => return,
                Err(TryRecvError::Closed) => {
                    batch.push(Next::End);
                    return;
                }
            }
        }
    }

    async fn write(&mut self, item: &Item) -> Flow {
        let mut line = serde_json::to_vec(item).map_err(|_| None)?;
        line.push(b'\n');
        self.out.write_all(&line).await.map_err(|_| None)
    }

    async fn flush(&mut self) -> Flow {
        self.out.flush().await.map_err(|_| None)
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
