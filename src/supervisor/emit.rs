//! Supervisor events into the output stream, and what the writer thread
//! receives ([`Record`]). Below the sink (`sink.rs`, the writer thread) so
//! that what runs on that thread — the `log_file` rotation — and the
//! `tracing` layer can emit events without importing the writer.
//!
//! Emitting a `tracing` event never blocks the event loop: if the channel is
//! full (stdout is slower than the children) the event is parked in a bounded
//! overflow queue (10 000 events) that the writer drains next; past that,
//! events are counted and the count is reported — never dropped silently.
//! With no sink running, events are written to stdout directly.
//!
//! The event loop [`hold`]s the events of its thread while it handles one
//! wake-up and [`release`]s them as one record at the end: a restart's lines
//! ("killed by SIGKILL; restarting", "started") reach the writer thread —
//! and wake it — after the spawn, not before it, and the 200 lines of a
//! start are one record and one write, not 200 wake-ups of the writer.
//! Nothing can come between them: on that thread, nothing else runs then.

use std::cell::RefCell;
use std::collections::VecDeque;
use std::io::{self, Write};
use std::sync::{Arc, Mutex};
use std::time::SystemTime;

use tokio::sync::mpsc;

use super::chunk::{Chunk, Stream};
use super::format::Style;
use crate::plan::{LogFile, LogFormat};

/// What the writer thread receives.
#[derive(Debug)]
pub(crate) enum Record {
    /// Lines from one service stream.
    Lines {
        /// Service index.
        svc: usize,
        /// Stream.
        stream: Stream,
        /// The lines (bytes, newline-terminated), shared with the tail's subscribers.
        chunk: Arc<Chunk>,
        /// When they were read.
        ts: SystemTime,
    },
    /// A formatted supervisor event (one or more complete lines).
    Event(String),
    /// Nothing: wakes the writer to drain parked events.
    Flush,
    /// A service added by a reload: its name and log file, at index `svc`.
    Service {
        /// Service index (the next one).
        svc: usize,
        /// Its name.
        name: String,
        /// Its `log_file`.
        file: Option<LogFile>,
    },
    /// Write and flush everything before this, then acknowledge.
    Barrier(tokio::sync::oneshot::Sender<()>),
}

/// Wait (at most `limit`) until everything sent to the running sink so far
/// is written and flushed: `run` calls it before CMD shares our stdout, so
/// the supervisor's lines about the start come before CMD's output. Returns
/// at once when no sink runs.
pub(crate) async fn barrier(limit: std::time::Duration) {
    let tx = STYLE
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .as_ref()
        .map(|(_, tx)| tx.clone());
    let Some(tx) = tx else { return };
    let (ack, done) = tokio::sync::oneshot::channel();
    // Never hold a sender across an await: the writer ends when every sender
    // is gone, and `Sink::finish` joins it from the runtime thread — a sender
    // parked here (the supervisor ending by itself meanwhile) would keep that
    // join waiting forever. (A full queue skips the barrier: best effort.)
    let sent = tx.try_send(Record::Barrier(ack)).is_ok();
    drop(tx);
    if sent {
        let _ = tokio::time::timeout(limit, done).await;
    }
}

/// The style events use; set while a sink runs.
static STYLE: Mutex<Option<(Style, mpsc::Sender<Record>)>> = Mutex::new(None);

/// Format and emit a supervisor event (called by the tracing layer).
pub(crate) fn emit_event(
    level: &str,
    service: Option<&str>,
    message: &str,
    fields: &[(String, String)],
) {
    let guard = STYLE.lock().unwrap_or_else(|p| p.into_inner());
    let (text, tx) = match &*guard {
        Some((style, tx)) => (
            style.event(level, service, message, fields),
            Some(tx.clone()),
        ),
        None => {
            let style = Style::new(LogFormat::Pretty, false, &[]);
            (style.event(level, service, message, fields), None)
        }
    };
    drop(guard);
    let held = HELD.with(|h| match h.borrow_mut().as_mut() {
        Some(buf) => {
            if !buf.is_empty() {
                buf.push('\n');
            }
            buf.push_str(&text);
            true
        }
        None => false,
    });
    if !held {
        deliver(text, tx);
    }
}

thread_local! {
    /// This thread's events while held ([`hold`]), newline-separated.
    static HELD: RefCell<Option<String>> = const { RefCell::new(None) };
}

/// Keep the events emitted on this thread until [`release`] (see the module docs).
pub(crate) fn hold() {
    HELD.with(|h| {
        h.borrow_mut().get_or_insert_with(String::new);
    });
}

/// Emit the events held on this thread, as one record, and stop holding.
pub(crate) fn release() {
    let Some(text) = HELD.with(|h| h.borrow_mut().take()) else {
        return;
    };
    if text.is_empty() {
        return;
    }
    let tx = STYLE
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .as_ref()
        .map(|(_, tx)| tx.clone());
    deliver(text, tx);
}

/// Send `text` (one or more lines) to the sink, or write it when none runs.
fn deliver(text: String, tx: Option<mpsc::Sender<Record>>) {
    let text = match tx {
        Some(tx) => match tx.try_send(Record::Event(text)) {
            Ok(()) => return,
            // The queue is full (stdout is slower than the children): never
            // block the event loop, never drop silently — park the event in a
            // bounded overflow the writer drains next, and poke the writer.
            Err(mpsc::error::TrySendError::Full(Record::Event(t))) => {
                overflow(t);
                let _ = tx.try_send(Record::Flush);
                return;
            }
            Err(mpsc::error::TrySendError::Closed(Record::Event(t))) => t,
            Err(_) => return,
        },
        None => text,
    };
    // No sink running (before `up` starts supervising, or after): write directly.
    let mut out = io::stdout().lock();
    let _ = writeln!(out, "{text}");
    let _ = out.flush();
}

/// Events that found the queue full, and how many did not fit either.
static OVERFLOW: Mutex<(VecDeque<String>, u64)> = Mutex::new((VecDeque::new(), 0));
/// At most this many parked events; beyond, they are counted and reported.
const OVERFLOW_MAX: usize = 10_000;

fn overflow(text: String) {
    let mut o = OVERFLOW.lock().unwrap_or_else(|p| p.into_inner());
    if o.0.len() < OVERFLOW_MAX {
        o.0.push_back(text);
    } else {
        o.1 += 1;
    }
}

/// Route events to the running sink (`style`, `tx`) from now on.
pub(crate) fn install(style: Style, tx: mpsc::Sender<Record>) {
    *STYLE.lock().unwrap_or_else(|p| p.into_inner()) = Some((style, tx));
}

/// A service named `name` joins (a reload): if its name is the longest yet,
/// events are aligned to it from now on, as the writer aligns the lines.
pub(crate) fn widen(name: &str) {
    if let Some((style, _)) = STYLE.lock().unwrap_or_else(|p| p.into_inner()).as_mut() {
        style.widen(name);
    }
}

/// The sink is ending: events go to stdout directly again.
pub(crate) fn uninstall() {
    *STYLE.lock().unwrap_or_else(|p| p.into_inner()) = None;
}

/// The parked events and how many did not fit (both reset), for the writer.
pub(crate) fn take_overflow() -> (VecDeque<String>, u64) {
    let mut o = OVERFLOW.lock().unwrap_or_else(|p| p.into_inner());
    (std::mem::take(&mut o.0), std::mem::take(&mut o.1))
}
