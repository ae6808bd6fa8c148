//! The output sink: ONE writer thread owns stdout (and the `log_file`s), so a
//! slow terminal or pipe never blocks the event loop. Relays send batches of
//! lines over a bounded channel (see `logs.rs` for backpressure); supervisor
//! events from `tracing` go through the same channel, so both appear in one
//! ordered stream: `name | line` (stderr: `name ! line`), names aligned, a
//! colour per service on a terminal, or one JSON object per line.
//!
//! A `tracing` event is never dropped: if the channel is full (stdout is slower
//! than the children) or no sink is running, the event is written directly.

use std::fmt::Write as _;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::PathBuf;
use std::sync::Mutex;
use std::thread::JoinHandle;
use std::time::{SystemTime, UNIX_EPOCH};

use tokio::sync::mpsc;

use super::logs::Stream;
use crate::plan::{LogFile, LogFormat};

/// What the writer thread receives.
#[derive(Debug)]
pub enum Record {
    /// Lines from one service stream.
    Lines {
        /// Service index.
        svc: usize,
        /// Stream.
        stream: Stream,
        /// The lines (no newline).
        lines: Vec<String>,
        /// When they were read.
        ts: SystemTime,
    },
    /// A formatted supervisor event (one or more complete lines).
    Event(String),
}

/// How lines look.
#[derive(Debug, Clone)]
pub struct Style {
    /// Pretty or JSON.
    pub format: LogFormat,
    /// ANSI colours.
    pub colour: bool,
    /// Name column width.
    pub width: usize,
}

/// The name shown for the supervisor's own events.
pub const SELF_NAME: &str = "supervisor";

const PALETTE: [&str; 10] = ["36", "33", "32", "35", "34", "96", "93", "92", "95", "94"];

impl Style {
    /// A style for these service names.
    pub fn new(format: LogFormat, colour: bool, names: &[String]) -> Style {
        let width = names.iter().map(|n| n.chars().count()).max().unwrap_or(0);
        Style {
            format,
            colour,
            width: width.max(SELF_NAME.len()),
        }
    }

    /// One service line.
    pub fn line(
        &self,
        svc: usize,
        name: &str,
        stream: Stream,
        line: &str,
        ts: SystemTime,
    ) -> String {
        if self.format == LogFormat::Json {
            let v = serde_json::json!({
                "ts": rfc3339(ts), "service": name, "stream": stream.as_str(), "line": line,
            });
            return v.to_string();
        }
        let mark = if stream == Stream::Stderr { "!" } else { "|" };
        let w = self.width;
        if self.colour {
            let c = PALETTE[svc % PALETTE.len()];
            let m = if stream == Stream::Stderr {
                "\x1b[31m!\x1b[0m"
            } else {
                mark
            };
            format!("\x1b[{c}m{name:<w$}\x1b[0m {m} {line}")
        } else {
            format!("{name:<w$} {mark} {line}")
        }
    }

    /// One supervisor event.
    pub fn event(
        &self,
        level: &str,
        service: Option<&str>,
        message: &str,
        fields: &[(String, String)],
    ) -> String {
        if self.format == LogFormat::Json {
            let mut m = serde_json::Map::new();
            m.insert("ts".into(), rfc3339(SystemTime::now()).into());
            m.insert("service".into(), service.unwrap_or(SELF_NAME).into());
            m.insert("stream".into(), "event".into());
            m.insert("level".into(), level.to_ascii_lowercase().into());
            m.insert("line".into(), message.into());
            for (k, v) in fields {
                m.insert(k.clone(), v.clone().into());
            }
            return serde_json::Value::Object(m).to_string();
        }
        let w = self.width;
        let mut s = String::new();
        let mut lvl = match level {
            "INFO" => String::new(),
            l => format!("{l}: "),
        };
        if let Some(svc) = service {
            let _ = write!(lvl, "{svc}: ");
        }
        if self.colour {
            let _ = write!(s, "\x1b[1m{SELF_NAME:<w$}\x1b[0m * {lvl}{message}");
        } else {
            let _ = write!(s, "{SELF_NAME:<w$} * {lvl}{message}");
        }
        // Messages are self-contained; structured fields are for JSON.
        s
    }
}

/// The style events use; set while a sink runs.
static STYLE: Mutex<Option<(Style, mpsc::Sender<Record>)>> = Mutex::new(None);

/// Format and emit a supervisor event (called by the tracing layer).
pub fn emit_event(level: &str, service: Option<&str>, message: &str, fields: &[(String, String)]) {
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
    let direct = match tx {
        Some(tx) => match tx.try_send(Record::Event(text)) {
            Ok(()) => return,
            Err(mpsc::error::TrySendError::Full(Record::Event(t)))
            | Err(mpsc::error::TrySendError::Closed(Record::Event(t))) => t,
            Err(_) => return,
        },
        None => text,
    };
    let mut out = io::stdout().lock();
    let _ = writeln!(out, "{direct}");
    let _ = out.flush();
}

/// The running sink: a channel and the writer thread.
pub struct Sink {
    /// Where relays send.
    pub tx: mpsc::Sender<Record>,
    thread: Option<JoinHandle<()>>,
}

impl Sink {
    /// Start the writer thread over `out`. `names[i]` and `files[i]` are service i's.
    pub fn start(
        style: Style,
        names: Vec<String>,
        files: Vec<Option<LogFile>>,
        out: Box<dyn Write + Send>,
    ) -> Sink {
        let (tx, rx) = mpsc::channel(64);
        *STYLE.lock().unwrap_or_else(|p| p.into_inner()) = Some((style.clone(), tx.clone()));
        let files = files.into_iter().map(|f| f.map(Rotating::new)).collect();
        let w = Writer {
            style,
            names,
            files,
            out: io::BufWriter::with_capacity(64 * 1024, out),
        };
        let thread = std::thread::Builder::new()
            .name("log-sink".into())
            .spawn(move || w.run(rx))
            .ok();
        Sink { tx, thread }
    }

    /// Close the channel and wait until everything is written.
    pub fn finish(mut self) {
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
    files: Vec<Option<Rotating>>,
    out: io::BufWriter<Box<dyn Write + Send>>,
}

impl Writer {
    fn run(mut self, mut rx: mpsc::Receiver<Record>) {
        while let Some(rec) = rx.blocking_recv() {
            self.write(rec);
            while let Ok(rec) = rx.try_recv() {
                self.write(rec);
            }
            let _ = self.out.flush();
        }
        let _ = self.out.flush();
    }

    fn write(&mut self, rec: Record) {
        match rec {
            Record::Event(text) => {
                let _ = writeln!(self.out, "{text}");
            }
            Record::Lines {
                svc,
                stream,
                lines,
                ts,
            } => {
                let name = self.names.get(svc).map(String::as_str).unwrap_or("?");
                if self.style.format == LogFormat::Pretty {
                    // The hot path: the prefix is formatted once per batch.
                    let prefix = self.style.line(svc, name, stream, "", ts);
                    for l in &lines {
                        let _ = self.out.write_all(prefix.as_bytes());
                        let _ = self.out.write_all(l.as_bytes());
                        let _ = self.out.write_all(b"\n");
                    }
                } else {
                    for l in &lines {
                        let _ = writeln!(self.out, "{}", self.style.line(svc, name, stream, l, ts));
                    }
                }
                if let Some(Some(f)) = self.files.get_mut(svc) {
                    f.write_lines(&lines);
                }
            }
        }
    }
}

/// A `log_file` with size rotation: `path` → `path.1` → … → `path.keep`.
struct Rotating {
    cfg: LogFile,
    file: Option<File>,
    size: u64,
    failed: bool,
}

impl Rotating {
    fn new(cfg: LogFile) -> Rotating {
        Rotating {
            cfg,
            file: None,
            size: 0,
            failed: false,
        }
    }

    fn write_lines(&mut self, lines: &[String]) {
        for l in lines {
            let len = l.len() as u64 + 1;
            if self.size > 0 && self.size + len > self.cfg.max_size {
                self.rotate();
            }
            if let Err(e) = self.append(l) {
                if !self.failed {
                    self.failed = true;
                    let p = self.cfg.path.display();
                    emit_event(
                        "WARN",
                        None,
                        &format!("cannot write log file {p}: {e}"),
                        &[],
                    );
                }
                return;
            }
            self.size += len;
        }
    }

    fn append(&mut self, line: &str) -> io::Result<()> {
        if self.file.is_none() {
            if let Some(dir) = self.cfg.path.parent() {
                fs::create_dir_all(dir)?;
            }
            let f = OpenOptions::new()
                .create(true)
                .append(true)
                .open(&self.cfg.path)?;
            self.size = f.metadata()?.len();
            self.file = Some(f);
        }
        match &mut self.file {
            Some(f) => writeln!(f, "{line}"),
            None => Ok(()),
        }
    }

    fn rotate(&mut self) {
        self.file = None;
        self.size = 0;
        let p = &self.cfg.path;
        let nth = |n: u32| -> PathBuf { PathBuf::from(format!("{}.{n}", p.display())) };
        if self.cfg.keep == 0 {
            let _ = fs::remove_file(p);
            return;
        }
        for n in (1..self.cfg.keep).rev() {
            let _ = fs::rename(nth(n), nth(n + 1));
        }
        let _ = fs::rename(p, nth(1));
    }
}

/// RFC 3339 UTC with milliseconds, e.g. `2026-11-27T08:22:13.123Z`.
pub fn rfc3339(t: SystemTime) -> String {
    let d = t.duration_since(UNIX_EPOCH).unwrap_or_default();
    let secs = d.as_secs();
    let (days, rem) = (secs / 86_400, secs % 86_400);
    // Howard Hinnant's civil_from_days.
    let z = days as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    let (h, m, s) = (rem / 3600, rem % 3600 / 60, rem % 60);
    format!(
        "{year:04}-{month:02}-{day:02}T{h:02}:{m:02}:{s:02}.{:03}Z",
        d.subsec_millis()
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn rfc3339_known_instants() {
        assert_eq!(rfc3339(UNIX_EPOCH), "1970-01-01T00:00:00.000Z");
        let t = UNIX_EPOCH + Duration::from_millis(1_709_251_199_250); // 2024-02-29T23:59:59.250Z
        assert_eq!(rfc3339(t), "2024-02-29T23:59:59.250Z");
    }

    #[test]
    fn pretty_lines_are_aligned_and_stderr_marked() {
        let s = Style::new(
            LogFormat::Pretty,
            false,
            &["api".into(), "worker-long-name".into()],
        );
        let t = UNIX_EPOCH;
        assert_eq!(
            s.line(0, "api", Stream::Stdout, "hi", t),
            format!("{:<16} | hi", "api")
        );
        assert_eq!(
            s.line(0, "api", Stream::Stderr, "oops", t),
            format!("{:<16} ! oops", "api")
        );
        let c = Style {
            colour: true,
            ..s.clone()
        };
        assert!(c
            .line(1, "api", Stream::Stdout, "x", t)
            .starts_with("\x1b[33m"));
    }

    #[test]
    fn json_lines_parse() {
        let s = Style::new(LogFormat::Json, false, &["api".into()]);
        let l = s.line(0, "api", Stream::Stderr, "a \"quoted\" line", UNIX_EPOCH);
        let v: serde_json::Value = serde_json::from_str(&l).expect("json");
        assert_eq!(v["service"], "api");
        assert_eq!(v["stream"], "stderr");
        assert_eq!(v["line"], "a \"quoted\" line");
        assert_eq!(v["ts"], "1970-01-01T00:00:00.000Z");
        let e = s.event(
            "WARN",
            Some("api"),
            "restarting",
            &[("delay".into(), "250ms".into())],
        );
        let v: serde_json::Value = serde_json::from_str(&e).expect("json");
        assert_eq!(
            (v["stream"].as_str(), v["level"].as_str()),
            (Some("event"), Some("warn"))
        );
    }

    #[test]
    fn rotation_keeps_n_files() {
        let dir = tempfile::tempdir().expect("tmp");
        let path = dir.path().join("logs/a.log");
        let mut r = Rotating::new(LogFile {
            path: path.clone(),
            max_size: 10,
            keep: 2,
        });
        for i in 0..5 {
            r.write_lines(&[format!("line-{i}xx")]); // 10 bytes with newline
        }
        let read = |p: &std::path::Path| fs::read_to_string(p).unwrap_or_default();
        assert_eq!(read(&path), "line-4xx\n");
        assert_eq!(read(&path.with_extension("log.1")), "line-3xx\n");
        assert_eq!(read(&path.with_extension("log.2")), "line-2xx\n");
        assert!(!path.with_extension("log.3").exists());
    }
}
