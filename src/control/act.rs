//! `start` / `stop` / `restart` over the socket: a thin adapter. The name is
//! checked (with a "did you mean"), the command goes to the engine with a
//! ticket, and the engine's answer — given once the command has settled,
//! cascade included — becomes the response. No waiting or inferring here.

use tokio::sync::oneshot;

use super::context::{gone, known, Context};
use super::protocol::{ActionResult, ErrorKind, Response};
use crate::supervisor::commands::{EngineRequest, Refusal, Settled, Verb};

/// Perform `verb` on `name` and report. A replicated service's name acts on
/// each copy in turn, each settled before the next (a rolling restart); `stop`
/// goes in reverse order. The first refusal or failure ends the round.
pub(crate) async fn act(ctx: &Context, verb: Verb, name: &str) -> Result<Response, Response> {
    known(ctx, name)?;
    let mut copies = ctx.expand(name);
    if copies.len() == 1 {
        return one(ctx, verb, name).await;
    }
    if matches!(verb, Verb::Stop) {
        copies.reverse();
    }
    let mut done: Vec<ActionResult> = Vec::new();
    let mut last = Response::default();
    for copy in &copies {
        last = one(ctx, verb, copy).await?;
        done.extend(last.action.as_deref().cloned());
        if !last.ok {
            break;
        }
    }
    last.actions = Some(done);
    Ok(last)
}

async fn one(ctx: &Context, verb: Verb, name: &str) -> Result<Response, Response> {
    let (ticket, answer) = oneshot::channel();
    let req = EngineRequest::Command {
        verb,
        service: name.to_owned(),
        ticket,
    };
    ctx.control.send(req).await.map_err(|_| gone())?;
    Ok(match answer.await.map_err(|_| gone())? {
        Ok(s) => done(s, None),
        Err(Refusal::Failed(s)) => done(s, Some(ErrorKind::Failed)),
        Err(Refusal::Unknown(why)) => Response::error(ErrorKind::UnknownService, why),
        Err(Refusal::Conflict(why)) => Response::error(ErrorKind::Conflict, why),
    })
}

/// Where a command left its service, for a reload's list (a refusal too).
pub(crate) fn result(a: Result<Settled, Refusal>) -> ActionResult {
    match a {
        Ok(s) | Err(Refusal::Failed(s)) => ActionResult {
            service: s.service,
            state: s.state,
            pid: s.pid,
            message: s.message,
        },
        Err(Refusal::Unknown(why) | Refusal::Conflict(why)) => ActionResult {
            service: String::new(),
            state: crate::supervisor::state::StateKind::Stopped,
            pid: None,
            message: why,
        },
    }
}

/// A response carrying an action result (masked: a failure reason may quote
/// a service's words).
fn done(s: Settled, fail: Option<ErrorKind>) -> Response {
    Response {
        ok: fail.is_none(),
        error: fail.map(|_| s.message.clone()),
        kind: fail,
        action: Some(Box::new(ActionResult {
            service: s.service,
            state: s.state,
            pid: s.pid,
            message: s.message,
        })),
        ..Response::default()
    }
}
