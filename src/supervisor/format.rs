//! How lines look: `name | line` (stderr `name ! line`), names aligned, a
//! colour per service on a terminal; or one JSON object per line (`ts`,
//! `service`, `stream`, `line`). Pure formatting, no I/O. Control
//! characters in what is shown are made visible (see `visible.rs`).

use std::fmt::Write as _;
use std::time::{SystemTime, UNIX_EPOCH};

use super::chunk::Stream;
use crate::diag::visible;
use crate::plan::LogFormat;

/// How lines look.
#[derive(Debug, Clone)]
pub(crate) struct Style {
    /// Pretty or JSON.
    pub format: LogFormat,
    /// ANSI colours.
    pub colour: bool,
    /// Name column width.
    pub width: usize,
}

/// The name shown for the supervisor's own events.
pub(crate) const SELF_NAME: &str = "supervisor";

const PALETTE: [&str; 10] = ["36", "33", "32", "35", "34", "96", "93", "92", "95", "94"];

impl Style {
    /// A style for these service names.
    pub(crate) fn new(format: LogFormat, colour: bool, names: &[String]) -> Style {
        let width = names.iter().map(|n| n.chars().count()).max().unwrap_or(0);
        Style {
            format,
            colour,
            width: width.max(SELF_NAME.len()),
        }
    }

    /// Make the name column fit `name` too; whether it grew. It never
    /// shrinks: lines already written keep their alignment with new ones.
    pub(crate) fn widen(&mut self, name: &str) -> bool {
        let width = name.chars().count();
        let grew = width > self.width;
        self.width = self.width.max(width);
        grew
    }

    /// One service line.
    pub(crate) fn line(
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
            return visible::json_safe(v.to_string());
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

    /// What precedes a pretty line: the padded (coloured) name and the
    /// stream mark, e.g. `api    | `. Computed once per service and stream.
    pub(crate) fn prefix(&self, svc: usize, name: &str, stream: Stream) -> Vec<u8> {
        let pretty = Style {
            format: LogFormat::Pretty,
            ..self.clone()
        };
        pretty.line(svc, name, stream, "", UNIX_EPOCH).into_bytes()
    }

    /// One supervisor event.
    pub(crate) fn event(
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
            return visible::json_safe(serde_json::Value::Object(m).to_string());
        }
        let w = self.width;
        let message = visible::escape_str(message);
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

/// RFC 3339 UTC with milliseconds, e.g. `2026-11-27T08:22:13.123Z`.
pub(crate) fn rfc3339(t: SystemTime) -> String {
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
        for (i, st, l) in [(0, Stream::Stdout, "hi"), (1, Stream::Stderr, "x")] {
            for style in [&s, &c] {
                let mut p = style.prefix(i, "api", st);
                p.extend_from_slice(l.as_bytes());
                assert_eq!(p, style.line(i, "api", st, l, t).into_bytes());
            }
        }
    }

    /// An event can quote outside text (a database server's error message):
    /// its controls are escaped too, so it stays one line.
    #[test]
    fn event_messages_cannot_carry_controls() {
        let s = Style::new(LogFormat::Pretty, true, &["api".into()]);
        let e = s.event("ERROR", None, "gate failed: x\x1b[2J\nsupervisor * ok", &[]);
        assert!(
            e.ends_with("gate failed: x\\x1b[2J\\nsupervisor * ok"),
            "{e:?}"
        );
        assert_eq!(
            e.matches('\x1b').count(),
            2,
            "only our own bold on/off: {e:?}"
        );
        let j = Style::new(LogFormat::Json, false, &[]).event("INFO", None, "a\u{9b}b", &[]);
        assert!(j.contains("a\\u009bb"), "{j}");
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
}
