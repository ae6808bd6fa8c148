//! `logs [SERVICE...] [-n N] [-f] [--json]`: the last N lines of the named
//! services (all when none), merged in the order they were read and printed
//! exactly like `up` prints them (`name | line`, stderr `name ! line`, names
//! aligned, a colour per service on a terminal; `--json` like `up
//! --log-format json`). `-f` keeps following — across restarts of the
//! services — until Ctrl-C; a client that reads too slowly is told how many
//! lines it lost (`lagged: N events dropped`) and never slows `up` down.

use std::io::Write;
use std::time::UNIX_EPOCH;

use super::{common, Outcome};
use crate::cli::{Cli, LogsArgs};
use crate::cmd::remote::{call, stream, QUICK_TIMEOUT};
use crate::control::client::{Items, LineRef};
use crate::control::protocol::{Item, Request};
use crate::plan::LogFormat;
use crate::supervisor::format::Style;
use crate::supervisor::logs::Stream;

/// Run `logs`.
pub(crate) fn run(cli: &Cli, args: &LogsArgs) -> Outcome {
    let req = Request::Logs {
        service: None,
        services: args.services.clone(),
        lines: args.lines,
        follow: args.follow,
    };
    // `--log-format json` too; never the config's (`logs` reads no config).
    let json = args.json || common::log_format(cli, LogFormat::Pretty) == LogFormat::Json;
    let mut p = Printer::new(json);
    if args.follow {
        return stream(cli, args.socket.as_deref(), &req, p);
    }
    let r = call(cli, args.socket.as_deref(), &req, QUICK_TIMEOUT)?;
    p.names(r.names.map(Vec::from).unwrap_or_default());
    for l in r.lines.unwrap_or_default() {
        if !p.line(None, &l.service, &l.stream, &l.line) {
            break;
        }
    }
    p.flush();
    Ok(crate::exit::OK)
}

/// Formats items like `up` and holds the output back until the stream has
/// nothing more to read (or [`HOLD`] bytes are waiting): one write per
/// burst, not one per line — a follower of a flooding service would
/// otherwise spend a system call per line and compete with `up` for CPU.
struct Printer {
    style: Style,
    names: Vec<String>,
    /// Per service, the pretty prefix of its stdout and stderr lines (as `up`'s).
    prefixes: Vec<[Vec<u8>; 2]>,
    /// The service of the last line (most lines come in runs of one service).
    last: usize,
    /// Formatted, not yet written.
    buf: Vec<u8>,
    /// Output held back at most (bytes) before it is written: [`HOLD`],
    /// [`FLOOD_HOLD`] once a flood is followed.
    hold: usize,
}

/// Output held back at most (bytes) before it is written.
const HOLD: usize = 64 * 1024;
/// The same, once a burst filled [`HOLD`] (a flood is being followed): like
/// `up`'s own writer, the client then widens its stdout pipe (when it is
/// one) and writes four times as much per call, so it and whoever reads it
/// wake each other less often.
const FLOOD_HOLD: usize = 256 * 1024;

impl Printer {
    fn new(json: bool) -> Printer {
        let colour = common::colour();
        let format = if json {
            LogFormat::Json
        } else {
            LogFormat::Pretty
        };
        Printer {
            style: Style::new(format, colour, &[]),
            names: Vec::new(),
            prefixes: Vec::new(),
            last: 0,
            buf: Vec::with_capacity(HOLD + HOLD / 4),
            hold: HOLD,
        }
    }

    /// Every supervised service, in `up`'s order: same widths and colours.
    fn names(&mut self, names: Vec<String>) {
        self.style = Style::new(self.style.format, self.style.colour, &names);
        self.prefixes = (0..names.len())
            .map(|i| [Stream::Stdout, Stream::Stderr].map(|s| self.style.prefix(i, &names[i], s)))
            .collect();
        self.names = names;
    }

    /// The index of `service` in `up`'s order, if known.
    fn index(&mut self, service: &str) -> Option<usize> {
        if self.names.get(self.last).is_some_and(|n| n == service) {
            return Some(self.last);
        }
        let i = self.names.iter().position(|n| n == service)?;
        self.last = i;
        Some(i)
    }

    /// False when stdout is closed (`| head`): stop quietly.
    fn line(&mut self, ts: Option<&str>, service: &str, stream: &str, line: &str) -> bool {
        let stream = if stream == "stderr" {
            Stream::Stderr
        } else {
            Stream::Stdout
        };
        let svc = self.index(service);
        if self.style.format == LogFormat::Json {
            // `up`'s own reading time, or none for history lines.
            let mut v = serde_json::json!({
                "service": service, "stream": stream.as_str(), "line": line,
            });
            if let Some(ts) = ts {
                v["ts"] = ts.into();
            }
            return self.push(&v.to_string());
        }
        match svc.and_then(|i| self.prefixes.get(i)) {
            Some(p) => {
                self.buf
                    .extend_from_slice(&p[usize::from(stream == Stream::Stderr)]);
                self.buf.extend_from_slice(line.as_bytes());
                self.buf.push(b'\n');
                self.hold()
            }
            None => {
                let text = self
                    .style
                    .line(svc.unwrap_or(0), service, stream, line, UNIX_EPOCH);
                self.push(&text)
            }
        }
    }

    /// Queue one line of text.
    fn push(&mut self, text: &str) -> bool {
        self.buf.extend_from_slice(text.as_bytes());
        self.buf.push(b'\n');
        self.hold()
    }

    /// Write when enough is waiting.
    fn hold(&mut self) -> bool {
        if self.buf.len() < self.hold {
            return true;
        }
        if self.hold < FLOOD_HOLD {
            self.hold = FLOOD_HOLD;
            crate::supervisor::sink::widen_stdout();
            return true;
        }
        self.flush()
    }

    /// Write what is waiting.
    fn flush(&mut self) -> bool {
        if self.buf.is_empty() {
            return true;
        }
        let mut out = std::io::stdout().lock();
        let ok = out.write_all(&self.buf).and_then(|()| out.flush()).is_ok();
        self.buf.clear();
        ok
    }
}

impl Items for Printer {
    fn item(&mut self, item: Item) -> bool {
        match item {
            Item::Services { names } => {
                self.names(names);
                true
            }
            Item::Line {
                ts,
                service,
                stream,
                line,
            } => self.line(ts.as_deref(), &service, &stream, &line),
            Item::Lagged { dropped } => {
                let msg = format!("lagged: {dropped} events dropped (this client read too slowly)");
                let text = self.style.event("WARN", None, &msg, &[]);
                self.push(&text)
            }
            _ => true,
        }
    }

    fn line(&mut self, l: LineRef<'_>) -> bool {
        Printer::line(self, l.ts, &l.service, &l.stream, &l.line)
    }

    fn idle(&mut self) -> bool {
        self.flush()
    }
}
