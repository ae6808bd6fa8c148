//! One `start` / `stop` / `restart` of one service: send the request, then
//! wait (bounded, and only while this request is being served) until the
//! service settles, and report where it ended up.

use std::time::Duration;

use tokio::sync::oneshot;
use tokio::time::{sleep, Instant};

use super::protocol::{ActionResult, ErrorKind, Response};
use super::serve::{gone, Context};
use crate::supervisor::control::{Request as Sup, ServiceStatus};

/// Which action.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verb {
    /// `start`.
    Start,
    /// `stop`.
    Stop,
    /// `restart`.
    Restart,
}

/// How often the settling state is looked at while a request waits.
const STEP: Duration = Duration::from_millis(50);
/// Waiting bound beyond the service's `stop_timeout`.
const SLACK: Duration = Duration::from_secs(15);

/// Nothing more will happen without an outside request.
pub fn terminal(state: &str) -> bool {
    matches!(state, "exited" | "completed" | "failed" | "stopped")
}

/// Whether `now` is where `verb` was heading, given the pid `before` (pure).
/// A service with a readiness check settles when ready, not merely running.
pub fn settled(verb: Verb, before: Option<i32>, now: &ServiceStatus, has_ready: bool) -> bool {
    let new_run = now.pid.is_none() || now.pid != before || verb == Verb::Start;
    match (verb, now.state) {
        (Verb::Stop, s) => terminal(s),
        (_, "pending" | "starting" | "stopping") => false,
        (_, "running") => new_run && !has_ready,
        (_, "ready") => new_run,
        _ => true,
    }
}

/// A service in a snapshot.
pub fn find<'a>(services: &'a [ServiceStatus], name: &str) -> Option<&'a ServiceStatus> {
    services.iter().find(|s| s.name == name)
}

/// Send `verb` for `before.name` and wait until it settles (or the wait
/// runs out, or the runtime ends).
pub async fn one(ctx: &Context, verb: Verb, before: &ServiceStatus) -> Response {
    let name = before.name.as_str();
    let (tx, rx) = oneshot::channel();
    let req = match verb {
        Verb::Start => Sup::Start(name.to_owned(), tx),
        Verb::Stop => Sup::Stop(name.to_owned(), tx),
        Verb::Restart => Sup::Restart(name.to_owned(), tx),
    };
    if ctx.control.send(req).await.is_err() {
        return gone();
    }
    match rx.await {
        Err(_) => return gone(),
        Ok(Err(e)) => return Response::error(ErrorKind::Conflict, e),
        Ok(Ok(())) => {}
    }
    let (stop_timeout, has_ready) = ctx.services.get(name).copied().unwrap_or_default();
    let deadline = Instant::now() + stop_timeout + SLACK;
    let mut last = before.clone();
    loop {
        let Ok(snap) = ctx.snapshot().await else {
            return ended(ctx, verb, &last);
        };
        let now = find(&snap.services, name).cloned().unwrap_or(last);
        if settled(verb, before.pid, &now, has_ready) {
            return report(verb, &now, has_ready, false);
        }
        if Instant::now() >= deadline {
            return report(verb, &now, has_ready, true);
        }
        last = now;
        sleep(STEP).await;
    }
}

/// The runtime ended while we waited: every service is terminal, so `up`
/// had nothing left to supervise. Its final health says whether one failed.
fn ended(ctx: &Context, verb: Verb, last: &ServiceStatus) -> Response {
    let failed = ctx.health.borrow().failed.clone();
    let tail = "nothing is left to supervise, so `up` is exiting";
    match failed {
        Some(why) => done(last, format!("{why}; {tail}"), Some(ErrorKind::Failed)),
        None => done(
            last,
            format!("{} `{}`; {tail}", past(verb), last.name),
            None,
        ),
    }
}

fn past(verb: Verb) -> &'static str {
    match verb {
        Verb::Start => "started",
        Verb::Stop => "stopped",
        Verb::Restart => "restarted",
    }
}

fn report(verb: Verb, s: &ServiceStatus, has_ready: bool, timed_out: bool) -> Response {
    let name = &s.name;
    let pid = s.pid.map(|p| format!(" (pid {p})")).unwrap_or_default();
    let past = past(verb);
    let crashed = verb != Verb::Stop && matches!(s.state, "failed" | "backoff" | "exited");
    if crashed {
        let why = s
            .detail
            .clone()
            .or_else(|| s.last_exit.as_ref().map(|(r, _)| r.clone()))
            .unwrap_or_default();
        let msg = format!("`{name}` {past} but is now {}: {why}", s.state);
        return done(s, msg, Some(ErrorKind::Failed));
    }
    let msg = match (timed_out, s.state) {
        (true, "running") if has_ready => format!("{past} `{name}`: running{pid}, not ready yet"),
        (true, st) => format!("`{name}` is still {st}{pid} (gave up waiting)"),
        (false, "stopped") => format!("stopped `{name}`"),
        (false, st) => format!("{past} `{name}`: {st}{pid}"),
    };
    done(s, msg, None)
}

/// A response carrying an action result.
pub fn done(s: &ServiceStatus, message: String, fail: Option<ErrorKind>) -> Response {
    Response {
        ok: fail.is_none(),
        error: fail.map(|_| message.clone()),
        kind: fail,
        action: Some(Box::new(ActionResult {
            service: s.name.clone(),
            state: s.state.to_owned(),
            pid: s.pid,
            message,
        })),
        ..Response::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn st(state: &'static str, pid: Option<i32>) -> ServiceStatus {
        ServiceStatus {
            name: "api".into(),
            state,
            pid,
            since: None,
            restarts: 0,
            last_exit: None,
            ready: state == "ready",
            detail: None,
        }
    }

    #[test]
    fn restart_waits_for_a_new_pid() {
        assert!(!settled(
            Verb::Restart,
            Some(1),
            &st("stopping", Some(1)),
            false
        ));
        assert!(!settled(
            Verb::Restart,
            Some(1),
            &st("ready", Some(1)),
            false
        ));
        assert!(settled(
            Verb::Restart,
            Some(1),
            &st("running", Some(2)),
            false
        ));
        assert!(!settled(
            Verb::Restart,
            Some(1),
            &st("running", Some(2)),
            true
        ));
        assert!(settled(Verb::Restart, Some(1), &st("ready", Some(2)), true));
        assert!(settled(Verb::Restart, Some(1), &st("backoff", None), false));
    }

    #[test]
    fn stop_waits_for_a_terminal_state() {
        assert!(!settled(
            Verb::Stop,
            Some(1),
            &st("stopping", Some(1)),
            false
        ));
        assert!(settled(Verb::Stop, Some(1), &st("stopped", None), false));
        assert!(settled(Verb::Start, None, &st("running", Some(3)), false));
        assert!(!settled(Verb::Start, None, &st("pending", None), false));
    }

    #[test]
    fn a_crash_after_restart_is_a_failure() {
        let mut s = st("backoff", None);
        s.last_exit = Some(("exit code 3".into(), std::time::SystemTime::now()));
        let r = report(Verb::Restart, &s, false, false);
        assert!(!r.ok);
        assert_eq!(r.kind, Some(ErrorKind::Failed));
        assert!(r.error.unwrap().contains("exit code 3"));
        let r = report(Verb::Stop, &st("stopped", None), false, false);
        assert!(r.ok);
        assert_eq!(r.action.unwrap().message, "stopped `api`");
    }
}
