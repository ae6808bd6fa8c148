//! `start`, `stop`, `restart` as the user asked for them, honouring
//! dependencies: `restart X` stops the services that wait for X to be ready
//! (reverse start order), restarts X, then starts them again in order;
//! `start X` first starts X's stopped dependencies. Idempotent like
//! `systemctl`: stopping a stopped service or starting a running one
//! succeeds and says so.

use super::protocol::{ErrorKind, Response};
use super::serve::{known, Context};
use super::settle::{done, find, one, terminal, Verb};
use crate::supervisor::control::ServiceStatus;

/// Perform `verb` on `name` and report.
pub async fn act(ctx: &Context, verb: Verb, name: &str) -> Result<Response, Response> {
    known(ctx, name)?;
    let snap = ctx.snapshot().await?;
    let before = find(&snap.services, name).cloned().ok_or_else(|| {
        Response::error(
            ErrorKind::UnknownService,
            format!("`{name}` is not supervised by this `up` (not selected)"),
        )
    })?;
    let noop = match verb {
        Verb::Stop => terminal(before.state),
        Verb::Start => !terminal(before.state),
        Verb::Restart => false,
    };
    if noop {
        let what = format!("`{name}` is already {}", before.state);
        return Ok(done(&before, what, None));
    }
    let pick = |names: Vec<&str>, keep: fn(&str) -> bool| -> Vec<ServiceStatus> {
        names
            .into_iter()
            .filter_map(|n| find(&snap.services, n))
            .filter(|s| keep(s.state))
            .cloned()
            .collect()
    };
    Ok(match verb {
        Verb::Stop => one(ctx, verb, &before).await,
        Verb::Start => {
            let stopped = |s: &str| matches!(s, "stopped" | "exited" | "failed");
            let first = pick(ctx.deps.dependencies(name), stopped);
            match chain(ctx, Verb::Start, &first).await {
                Ok(started) => note(one(ctx, verb, &before).await, "first started", &started),
                Err(r) => r,
            }
        }
        Verb::Restart => {
            let running = |s: &str| !terminal(s);
            let dependents = pick(ctx.deps.ready_dependents(name), running);
            let mut reverse = dependents.clone();
            reverse.reverse();
            if let Err(r) = chain(ctx, Verb::Stop, &reverse).await {
                return Ok(r);
            }
            let r = one(ctx, verb, &before).await;
            if !r.ok {
                return Ok(r);
            }
            match chain(ctx, Verb::Start, &dependents).await {
                Ok(again) => note(r, "then restarted its dependents", &again),
                Err(e) => e,
            }
        }
    })
}

/// `verb` on each service in turn; stops at the first failure, naming it.
async fn chain(
    ctx: &Context,
    verb: Verb,
    services: &[ServiceStatus],
) -> Result<Vec<String>, Response> {
    let mut done = Vec::new();
    for s in services {
        let r = one(ctx, verb, s).await;
        let state = r.action.as_ref().map_or("?", |a| a.state.as_str());
        if !r.ok {
            return Err(r);
        }
        done.push(format!("`{}` ({state})", s.name));
    }
    Ok(done)
}

/// Append "…: a (ready), b (running)" to a successful response's message.
fn note(mut r: Response, what: &str, names: &[String]) -> Response {
    if let (true, Some(a)) = (!names.is_empty(), r.action.as_mut()) {
        a.message = format!("{}; {what}: {}", a.message, names.join(", "));
    }
    r
}
