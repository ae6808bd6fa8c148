//! `events [--json]`: stream the state transitions and supervisor events of a
//! running `up`, one line each, as they happen, until Ctrl-C (or `up` ends):
//! `12:03:04.512 auth-service running → ready (pid 5325, 202ms)`. Times are
//! UTC, as in `up`'s JSON output.

use std::io::Write;

use super::Outcome;
use crate::cli::{Cli, EventsArgs};
use crate::cmd::remote::stream;
use crate::control::protocol::{Item, Request};

/// Run `events`.
pub(crate) fn run(cli: &Cli, args: &EventsArgs) -> Outcome {
    let mut out = std::io::stdout().lock();
    stream(cli, args.socket.as_deref(), &Request::Events, |item| {
        let text = if args.json {
            serde_json::to_string(&item).unwrap_or_default()
        } else {
            match line(&item) {
                Some(l) => l,
                None => return true,
            }
        };
        // A closed pipe (`| head`): stop quietly.
        writeln!(out, "{text}").and_then(|()| out.flush()).is_ok()
    })
}

/// `12:03:04.512` from an RFC 3339 time.
pub(crate) fn clock(ts: &str) -> &str {
    ts.get(11..23).unwrap_or(ts)
}

/// `1.2s`, `202ms`.
fn took(ms: u64) -> String {
    if ms < 1000 {
        format!("{ms}ms")
    } else {
        format!("{:.1}s", ms as f64 / 1000.0)
    }
}

/// One item as a line (pure); `None` for items that are not events.
pub(crate) fn line(item: &Item) -> Option<String> {
    Some(match item {
        Item::Transition {
            ts,
            service,
            from,
            to,
            pid,
            after_ms,
            reason,
        } => {
            let pid = pid.map(|p| format!("pid {p}, ")).unwrap_or_default();
            let why = reason
                .as_deref()
                .map(|r| format!(": {r}"))
                .unwrap_or_default();
            let after = took(*after_ms);
            format!("{} {service} {from} → {to} ({pid}{after}){why}", clock(ts))
        }
        Item::Supervisor { ts, message } => format!("{} supervisor {message}", clock(ts)),
        Item::Lagged { dropped } => format!("lagged: {dropped} events dropped"),
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::supervisor::state::StateKind;

    #[test]
    fn lines_read_like_the_issue() {
        let t = Item::Transition {
            ts: "2026-12-05T12:03:04.512Z".into(),
            service: "auth-service".into(),
            from: StateKind::Running,
            to: StateKind::Ready,
            pid: Some(5325),
            after_ms: 202,
            reason: None,
        };
        assert_eq!(
            line(&t).unwrap(),
            "12:03:04.512 auth-service running → ready (pid 5325, 202ms)"
        );
        let l = Item::Lagged { dropped: 7 };
        assert_eq!(line(&l).unwrap(), "lagged: 7 events dropped");
    }
}
