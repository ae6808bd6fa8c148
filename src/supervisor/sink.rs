//! The output sink: ONE writer thread owns stdout (and the `log_file`s), so a
//! slow terminal or pipe never blocks the event loop. Relays send batches of
//! lines over a bounded channel (see `logs.rs` for backpressure); supervisor
//! events from `tracing` go through the same channel, so both appear in one
//! ordered stream: `name | line` (stderr: `name ! line`), names aligned, a
//! colour per service on a terminal, or one JSON object per line.
//!
//! Emitting a `tracing` event never blocks the event loop: if the channel is
//! full (stdout is slower than the children) the event is parked in a bounded
//! overflow queue (10 000 events) that the writer drains next; past that,
//! events are counted and the count is reported — never dropped silently.
//! With no sink running, events are written to stdout directly.

use std::collections::VecDeque;
use std::io::{self, Write};
use std::sync::Mutex;
use std::thread::JoinHandle;
use std::time::SystemTime;

use tokio::sync::mpsc;

use super::chunk::Chunk;
use super::logs::Stream;
use super::rotate::Rotating;
use crate::diag::visible;
use crate::plan::{LogFile, LogFormat};

pub(crate) use super::format::Style;

/// What the writer thread receives.
#[derive(Debug)]
pub(crate) enum Record {
    /// Lines from one service stream.
    Lines {
        /// Service index.
        svc: usize,
        /// Stream.
        stream: Stream,
        /// The lines (bytes, newline-terminated).
        chunk: Chunk,
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

/// The running sink: a channel and the writer thread.
pub(crate) struct Sink {
    /// Where relays send.
    pub tx: mpsc::Sender<Record>,
    thread: Option<JoinHandle<()>>,
}

impl Sink {
    /// Start the writer thread over `out`. `names[i]` and `files[i]` are service i's.
    pub(crate) fn start(
        style: Style,
        names: Vec<String>,
        files: Vec<Option<LogFile>>,
        out: Box<dyn Write + Send>,
    ) -> Sink {
        let (tx, rx) = mpsc::channel(64);
        *STYLE.lock().unwrap_or_else(|p| p.into_inner()) = Some((style.clone(), tx.clone()));
        let files = files.into_iter().map(|f| f.map(Rotating::new)).collect();
        let prefixes = (0..names.len())
            .map(|i| [Stream::Stdout, Stream::Stderr].map(|s| style.prefix(i, &names[i], s)))
            .collect();
        let w = Writer {
            style,
            names,
            prefixes,
            files,
            buf: Vec::new(),
            out: io::BufWriter::with_capacity(64 * 1024, out),
        };
        let thread = std::thread::Builder::new()
            .name("log-sink".into())
            .spawn(move || w.run(rx))
            .ok();
        Sink { tx, thread }
    }

    /// Close the channel and wait until everything is written.
    pub(crate) fn finish(mut self) {
        *STYLE.lock().unwrap_or_else(|p| p.into_inner()) = None;
        drop(self.tx);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

struct Writer {
    style: Style,
    names: Vec<String>,
    /// Per service, the pretty prefix of its stdout and stderr lines.
    prefixes: Vec<[Vec<u8>; 2]>,
    files: Vec<Option<Rotating>>,
    /// Reused for every batch: prefix + line, copied once, one write.
    buf: Vec<u8>,
    out: io::BufWriter<Box<dyn Write + Send>>,
}

impl Writer {
    fn run(mut self, mut rx: mpsc::Receiver<Record>) {
        while let Some(rec) = rx.blocking_recv() {
            self.write(rec);
            while let Ok(rec) = rx.try_recv() {
                self.write(rec);
            }
            self.drain_overflow();
            let _ = self.out.flush();
        }
        self.drain_overflow();
        let _ = self.out.flush();
    }

    fn drain_overflow(&mut self) {
        let (events, dropped) = {
            let mut o = OVERFLOW.lock().unwrap_or_else(|p| p.into_inner());
            (std::mem::take(&mut o.0), std::mem::take(&mut o.1))
        };
        for e in events {
            let _ = writeln!(self.out, "{e}");
        }
        if dropped > 0 {
            let msg = format!("{dropped} supervisor events were dropped: stdout is too slow");
            let _ = writeln!(self.out, "{}", self.style.event("WARN", None, &msg, &[]));
        }
    }

    fn write(&mut self, rec: Record) {
        match rec {
            Record::Event(text) => {
                let _ = writeln!(self.out, "{text}");
            }
            Record::Flush => {}
            Record::Service { svc, name, file } => self.add(svc, name, file),
            Record::Barrier(ack) => {
                self.drain_overflow();
                let _ = self.out.flush();
                let _ = ack.send(());
            }
            Record::Lines {
                svc,
                stream,
                chunk,
                ts,
            } => {
                if self.style.format == LogFormat::Pretty {
                    self.pretty(svc, stream, &chunk);
                } else {
                    let name = self.names.get(svc).map(String::as_str).unwrap_or("?");
                    for l in chunk.iter() {
                        let l = String::from_utf8_lossy(l);
                        let _ =
                            writeln!(self.out, "{}", self.style.line(svc, name, stream, &l, ts));
                    }
                }
                if let Some(Some(f)) = self.files.get_mut(svc) {
                    f.write_lines(&chunk.to_strings());
                }
            }
        }
    }

    /// A service added by a reload (indices only grow).
    fn add(&mut self, svc: usize, name: String, file: Option<LogFile>) {
        if svc != self.names.len() {
            return;
        }
        let p = [Stream::Stdout, Stream::Stderr].map(|s| self.style.prefix(svc, &name, s));
        self.prefixes.push(p);
        self.names.push(name);
        self.files.push(file.map(Rotating::new));
    }

    /// The hot path: the precomputed prefix and each line's bytes copied
    /// once into `buf` and written with one call. Control characters are
    /// shown as escapes ([`visible`]); a chunk without any is copied as is.
    fn pretty(&mut self, svc: usize, stream: Stream, chunk: &Chunk) {
        let prefix = match self.prefixes.get(svc) {
            Some(p) => &p[usize::from(stream == Stream::Stderr)],
            None => return,
        };
        self.buf.clear();
        self.buf
            .reserve(chunk.bytes.len() + chunk.lines * prefix.len());
        let plain = visible::is_plain(&chunk.bytes);
        let mut start = 0;
        for nl in memchr::memchr_iter(b'\n', &chunk.bytes) {
            self.buf.extend_from_slice(prefix);
            if plain {
                self.buf.extend_from_slice(&chunk.bytes[start..=nl]);
            } else {
                visible::escape_into(&chunk.bytes[start..nl], &mut self.buf);
                self.buf.push(b'\n');
            }
            start = nl + 1;
        }
        let _ = self.out.write_all(&self.buf);
    }
}
