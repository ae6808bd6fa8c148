//! Words for what happened: one `tracing` event per meaningful transition, with
//! the restart reason, exit status or signal, and backoff delay — loud (`error`)
//! when a service gives up.

use std::time::Instant;

use super::engine::{StopCause, Unit};
use super::state::{After, State};
use crate::plan::RestartPolicy;

/// Log the transition of `u` from `before` to its current state.
pub(super) fn transition(u: &Unit, before: &State) {
    let name = u.plan.name.as_str();
    let now = &u.svc.state;
    if std::mem::discriminant(before) == std::mem::discriminant(now) {
        if let (
            State::Stopping { killed: false, .. },
            State::Stopping {
                killed: true, pid, ..
            },
        ) = (before, now)
        {
            let t = u.plan.stop_timeout;
            tracing::warn!(
                service = name,
                "sent SIGKILL to process group {pid} (stop timeout {t:?} or kill request)"
            );
        }
        return;
    }
    let exit = u
        .last_exit
        .map(|(e, _)| e.to_string())
        .unwrap_or_else(|| "no exit status".into());
    match now {
        State::Pending | State::Starting => {}
        State::Running { pid, .. } if u.policy.has_ready => {
            tracing::info!(
                service = name,
                pid,
                "started (pid {pid}); waiting for readiness"
            );
        }
        // Without a readiness check the run is ready as soon as it exec'd,
        // which the spawn already knows: one line, at `Ready`.
        State::Running { .. } => {}
        State::Ready { pid, since, .. } => match before {
            State::Running { .. } if u.policy.has_ready => {
                let after = Instant::now().saturating_duration_since(*since);
                tracing::info!(service = name, pid, "ready after {after:.1?}");
            }
            _ => tracing::info!(service = name, pid, "started (pid {pid})"),
        },
        State::Stopping { pid, then, .. } => {
            let sig = u.plan.stop_signal.as_str();
            let t = u.plan.stop_timeout;
            let why = match then {
                After::Stop => "stopping".into(),
                After::Respawn => "restarting on request".into(),
                After::Retry(o) if u.plan.restart == RestartPolicy::Never => {
                    format!("{o}; stopping")
                }
                After::Retry(o) => format!("{o}; restarting"),
                After::Fail(o) => format!("{o}; stopping"),
            };
            if matches!(then, After::Retry(_)) {
                tracing::warn!(
                    service = name,
                    "{why}: {sig} to process group {pid}, SIGKILL after {t:?}"
                );
            } else {
                tracing::info!(
                    service = name,
                    "{why}: {sig} to process group {pid}, SIGKILL after {t:?}"
                );
            }
        }
        State::Backoff { .. } => {
            let words = backoff(&u.svc.state).unwrap_or_default();
            tracing::warn!(service = name, "{words}");
        }
        State::Exited { status } => {
            tracing::info!(
                service = name,
                "exited ({status}); not restarted (restart = \"{}\")",
                u.plan.restart.as_str()
            );
        }
        State::Completed => tracing::info!(service = name, "completed ({exit})"),
        State::Failed { reason } => tracing::error!(service = name, "FAILED: {reason}"),
        State::Stopped => match before {
            State::Stopping { .. } => tracing::info!(service = name, "stopped ({exit})"),
            _ => tracing::debug!(service = name, "stopped before it started"),
        },
    }
}

/// `exit code 1; restarting in 1.2s (attempt 3)`, for a backoff state.
fn backoff(state: &State) -> Option<String> {
    let State::Backoff {
        until,
        last,
        attempt,
    } = state
    else {
        return None;
    };
    let delay = until.saturating_duration_since(Instant::now());
    Some(format!(
        "{last}; restarting in {delay:.1?} (attempt {attempt})"
    ))
}

/// Why `u` went from `before` to its state, for the event stream: the exit,
/// the failure, the backoff, what a stop is for.
pub(super) fn reason(u: &Unit, before: &State) -> Option<String> {
    let exit = u.last_exit.map(|(e, _)| e.to_string());
    match &u.svc.state {
        State::Failed { reason } => Some(reason.to_string()),
        s @ State::Backoff { .. } => backoff(s),
        State::Exited { status } => Some(status.to_string()),
        State::Completed => exit,
        State::Stopped if matches!(before, State::Stopping { .. }) => exit,
        State::Stopping { then, .. } => Some(match then {
            After::Stop => "stop requested".into(),
            After::Respawn => "restart requested".into(),
            After::Retry(o) | After::Fail(o) => o.to_string(),
        }),
        _ => None,
    }
}

/// Describe why everything is stopping.
pub(super) fn cause(c: &StopCause) -> String {
    match c {
        StopCause::Requested => "stop requested".into(),
        StopCause::Critical(s) => format!("critical service `{s}` failed"),
        StopCause::Gate(code) => format!("database gate failed, exit code {code}"),
    }
}
