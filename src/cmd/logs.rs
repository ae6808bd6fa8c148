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
        return stream(cli, args.socket.as_deref(), &req, |item| p.item(item));
    }
    let r = call(cli, args.socket.as_deref(), &req, QUICK_TIMEOUT)?;
    p.names(r.names.map(Vec::from).unwrap_or_default());
    for l in r.lines.unwrap_or_default() {
        if !p.line(None, &l.service, &l.stream, &l.line) {
            break;
        }
    }
    Ok(crate::exit::OK)
}

struct Printer {
    style: Style,
    names: Vec<String>,
    out: std::io::StdoutLock<'static>,
}

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
            out: std::io::stdout().lock(),
        }
    }

    /// Every supervised service, in `up`'s order: same widths and colours.
    fn names(&mut self, names: Vec<String>) {
        self.style = Style::new(self.style.format, self.style.colour, &names);
        self.names = names;
    }

    /// False when stdout is closed (`| head`): stop quietly.
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
                self.write(&text)
            }
            _ => true,
        }
    }

    fn line(&mut self, ts: Option<&str>, service: &str, stream: &str, line: &str) -> bool {
        let svc = self.names.iter().position(|n| n == service).unwrap_or(0);
        let stream = if stream == "stderr" {
            Stream::Stderr
        } else {
            Stream::Stdout
        };
        let mut text = self.style.line(svc, service, stream, line, UNIX_EPOCH);
        if self.style.format == LogFormat::Json {
            // `up`'s own reading time, or none for history lines.
            let mut v = serde_json::json!({
                "service": service, "stream": stream.as_str(), "line": line,
            });
            if let Some(ts) = ts {
                v["ts"] = ts.into();
            }
            text = v.to_string();
        }
        self.write(&text)
    }

    fn write(&mut self, text: &str) -> bool {
        writeln!(self.out, "{text}")
            .and_then(|()| self.out.flush())
            .is_ok()
    }
}
