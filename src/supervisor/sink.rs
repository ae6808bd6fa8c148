//! The output sink: ONE writer thread owns stdout (and the `log_file`s), so a
//! slow terminal or pipe never blocks the event loop. Relays send batches of
//! lines over a bounded channel (see `logs.rs` for backpressure); supervisor
//! events from `tracing` go through the same channel, so both appear in one
//! ordered stream: `name | line` (stderr: `name ! line`), names aligned, a
//! colour per service on a terminal, or one JSON object per line.
//! How supervisor events enter the stream (and what the channel carries) is
//! in [`super::emit`], below this module: the `log_file` rotation, which
//! runs on the writer thread, reports its failures through it.

use std::io::{self, Write};
use std::thread::JoinHandle;

use tokio::sync::mpsc;

use super::chunk::{Chunk, Stream, FLOOD};
use super::emit;
use super::rotate::Rotating;
use crate::diag::visible;
use crate::plan::{LogFile, LogFormat};

pub(crate) use super::emit::{barrier, Record};
pub(crate) use super::format::Style;

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
        emit::install(style.clone(), tx.clone());
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
            widened: false,
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
        emit::uninstall();
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
    /// Whether stdout was widened (once, at the first flood).
    widened: bool,
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
        let (events, dropped) = emit::take_overflow();
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
                if !self.widened && chunk.bytes.len() >= FLOOD {
                    self.widened = true;
                    widen_stdout();
                }
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

    /// A service added by a reload (indices only grow). A name longer than
    /// any before widens the name column: every prefix is recomputed here,
    /// once, so the per-line path stays a copy of a precomputed prefix.
    fn add(&mut self, svc: usize, name: String, file: Option<LogFile>) {
        if svc != self.names.len() {
            return;
        }
        let grew = self.style.widen(&name);
        self.names.push(name);
        self.files.push(file.map(Rotating::new));
        if grew {
            self.prefixes.clear();
        }
        for i in self.prefixes.len()..self.names.len() {
            let p =
                [Stream::Stdout, Stream::Stderr].map(|s| self.style.prefix(i, &self.names[i], s));
            self.prefixes.push(p);
        }
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

/// A service floods: a wider stdout pipe (1 MiB, else 256 KiB) lets this
/// thread write a whole batch before it blocks, and whoever reads our
/// stdout read more per wake-up. Measured on a 200 MiB flood: the writer's
/// context switches fell from ~3 600 to ~200 (a 64 KiB pipe blocked it
/// about every 64 KiB). Best effort: not a pipe, or the kernel refuses
/// (`/proc/sys/fs/pipe-max-size`, the user's pipe quota) — nothing
/// changes. Always fd 1, where `up` and `run` send the sink's output
/// (a test writing elsewhere only widens its own stdout, if a pipe). A
/// `logs -f` client following a flood does the same (`cmd/logs.rs`).
pub(crate) fn widen_stdout() {
    #[cfg(target_os = "linux")]
    {
        use nix::fcntl::{fcntl, FcntlArg};
        let out = io::stdout();
        for size in [1 << 20, 256 << 10] {
            if fcntl(&out, FcntlArg::F_SETPIPE_SZ(size)).is_ok() {
                return;
            }
        }
    }
}
