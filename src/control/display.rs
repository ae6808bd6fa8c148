//! What the client shows from the socket is made inert first: whoever
//! listens there may send terminal escapes, `\r` or backspaces to forge or
//! hide lines. Every string of a response passes [`visible`] once, right
//! after parsing (client side), so no output path can forget it; the escape
//! rule is `up`'s own (`supervisor/visible.rs`).

use std::borrow::Cow;

use super::protocol::{ActionResult, Item, LastExit, LogLine, ReloadResult, Response, ServiceView};
use crate::diag::visible::escape_str;

/// `text` with every control character except tab written as a visible
/// escape — the same rule, and code, as `up`'s pretty output
/// ([`crate::diag::visible`]).
pub(crate) fn visible(text: &str) -> Cow<'_, str> {
    escape_str(text)
}

fn fix(s: &mut String) {
    if let Cow::Owned(v) = visible(s) {
        *s = v;
    }
}

fn fix_opt(s: &mut Option<String>) {
    if let Some(s) = s {
        fix(s);
    }
}

/// Make every string of `r` visible (see [`visible`]).
pub(crate) fn sanitize(r: &mut Response) {
    fix_opt(&mut r.error);
    for s in r.services.iter_mut().flatten() {
        service(s);
    }
    for l in r.lines.iter_mut().flatten() {
        line(l);
    }
    if let Some(a) = r.action.as_deref_mut() {
        action(a);
    }
    r.actions.iter_mut().flatten().for_each(action);
    for n in r.names.iter_mut().flat_map(|b| b.iter_mut()) {
        fix(n);
    }
    if let Some(x) = r.reload.as_deref_mut() {
        reload(x);
    }
}

fn reload(r: &mut ReloadResult) {
    r.warnings.iter_mut().for_each(fix);
    r.problems.iter_mut().for_each(fix);
    r.actions.iter_mut().for_each(action);
    let d = &mut r.diff;
    let changes = d.database.iter_mut().chain(d.needs_restart.iter_mut());
    let changes = changes.chain(d.services.iter_mut().flat_map(|s| s.settings.iter_mut()));
    for c in changes {
        fix(&mut c.setting);
        fix(&mut c.old);
        fix(&mut c.new);
    }
    for s in &mut d.services {
        fix(&mut s.name);
        for v in &mut s.env {
            fix(&mut v.name);
            for shown in v.old.iter_mut().chain(v.new.iter_mut()) {
                fix(&mut shown.value);
                fix(&mut shown.source);
            }
        }
    }
}

/// Make every string of a streamed item visible.
pub(crate) fn item(i: &mut Item) {
    match i {
        Item::Line {
            ts,
            service,
            stream,
            line,
        } => {
            fix_opt(ts);
            fix(service);
            fix(stream);
            fix(line);
        }
        Item::Transition {
            ts,
            service,
            reason,
            ..
        } => {
            fix(ts);
            fix(service);
            fix_opt(reason);
        }
        Item::Supervisor { ts, message } => {
            fix(ts);
            fix(message);
        }
        Item::Lagged { .. } => {}
        Item::Services { names } => names.iter_mut().for_each(fix),
        Item::Status { services } => services.iter_mut().for_each(service),
    }
}

fn service(s: &mut ServiceView) {
    fix(&mut s.name);
    fix_opt(&mut s.detail);
    if let Some(LastExit { reason, .. }) = &mut s.last_exit {
        fix(reason);
    }
}

/// One log line.
pub(crate) fn line(l: &mut LogLine) {
    fix(&mut l.service);
    fix(&mut l.stream);
    fix(&mut l.line);
}

fn action(a: &mut ActionResult) {
    fix(&mut a.service);
    fix(&mut a.message);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn controls_become_visible_and_tab_stays() {
        assert_eq!(visible("plain\ttext é"), "plain\ttext é");
        assert_eq!(visible("\x1b[2J\rsupervisor *"), "\\x1b[2J\\rsupervisor *");
        assert!(!visible("a\u{9b}31m\x7f").chars().any(char::is_control));
        assert!(matches!(visible("ok"), Cow::Borrowed(_)));
    }

    #[test]
    fn every_string_of_a_response_is_fixed() {
        let mut r: Response = serde_json::from_str(
            r#"{"ok":false,"error":"e\u001b]0;x\u0007","kind":"failed",
            "action":{"service":"a\r","state":"failed","pid":null,"message":"m\u001b[1A"}}"#,
        )
        .unwrap();
        sanitize(&mut r);
        let all = [
            r.error.unwrap_or_default(),
            r.action
                .as_ref()
                .map(|a| a.service.clone())
                .unwrap_or_default(),
            r.action.map(|a| a.message).unwrap_or_default(),
        ];
        for s in all {
            assert!(!s.chars().any(|c| c != '\t' && c.is_control()), "{s:?}");
        }
    }
}
