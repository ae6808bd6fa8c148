//! `reload` (and SIGHUP without a terminal): read supervisor.toml and the env
//! files again under exactly the rules of a start — the OS environment is the
//! one `up` captured when it started, never re-read — build a new Plan, and
//! apply the difference through the engine's own commands.
//!
//! Order, so that nothing is half-applied: load (any problem: refuse), diff,
//! probe a changed database URL (failure: refuse), then swap the plans in the
//! engine (it refuses an order it cannot apply), then stop the removed
//! services, start the added ones and restart the changed ones (together, as
//! one command: one plan of stops and starts), each a ticketed command
//! answered once settled. One reload at a time.

use std::sync::Arc;
use std::time::SystemTime;

use tokio::sync::oneshot;

use super::act::result;
use super::context::{gone, Context};
use super::protocol::{ErrorKind, ReloadResult, Response};
use super::reloader::Reloader;
use crate::plan::diff::{diff, Kind, PlanDiff};
use crate::plan::{Plan, ServicePlan};
use crate::secret::Redactor;
use crate::supervisor::commands::{EngineRequest, Refusal, Settled, Swap, Swapped, Verb};
use crate::supervisor::events::{self, Published};
use crate::supervisor::graph;

/// Reload now; the answer for the caller (already logged by `up`).
pub(crate) async fn reload(ctx: &Context, dry_run: bool) -> Response {
    let Some(r) = &ctx.reloader else {
        return Response::error(ErrorKind::BadRequest, "this supervisor cannot reload");
    };
    let _one = r.busy.lock().await;
    let answer = run(ctx, r, dry_run).await;
    log(ctx, &answer, dry_run);
    answer.unwrap_or_else(|e| e)
}

async fn run(ctx: &Context, r: &Reloader, dry_run: bool) -> Result<Response, Response> {
    let old = r.current();
    let new = r
        .load()
        .map_err(|p| refused(p.to_string(), p.exit_code()))?;
    let bad = |e: graph::UnknownService| refused(format!("{e}\n"), crate::exit::CONFIG);
    let (os, ns) = (
        r.selected(&old).map_err(bad)?,
        r.selected(&new).map_err(bad)?,
    );
    let d = diff(&old, &os, &new, &ns);
    let warnings = new.warnings.iter().map(ToString::to_string).collect();
    let generation = ctx.snapshot().await?.generation;
    let mut out = ReloadResult {
        dry_run,
        generation,
        diff: d,
        actions: Vec::new(),
        warnings,
        problems: Vec::new(),
    };
    if dry_run {
        return Ok(ok(out));
    }
    if out.diff.is_empty() {
        r.latest.send_replace(Arc::new(new));
        return Ok(ok(out));
    }
    probe(r, &out.diff, &new, &ns).await?;
    let new = Arc::new(new);
    let redactor = both(&old, &new);
    let swapped = swap(ctx, &new, &out.diff, redactor.clone()).await?;
    *r.current.lock().unwrap_or_else(|p| p.into_inner()) = Arc::clone(&new);
    r.latest.send_replace(Arc::clone(&new));
    ctx.adopt(&new, redactor, swapped.names);
    out.generation = generation + 1;
    let mut answers = Vec::new();
    for name in out.diff.named(Kind::Removed) {
        answers.push(command(ctx, Verb::Stop, name).await?);
    }
    // Added before changed: a changed service may now depend on an added
    // one (a scaled-up `replicas`), and its restart waits for it.
    for name in out.diff.named(Kind::Added) {
        answers.push(command(ctx, Verb::Start, name).await?);
    }
    answers.extend(restart_together(ctx, swapped.restart).await?);
    let failed = unsettled(&answers, out.generation);
    out.actions.extend(answers.into_iter().map(result));
    Ok(match failed {
        None => ok(out),
        Some(f) => Response {
            reload: Some(Box::new(out)),
            ..f
        },
    })
}

/// The reload was applied, but a service it started or restarted did not
/// come up (or a command was refused): the failure, with the exit code of
/// a failed `restart` (8; a refusal's, 64), so `reload && deploy` stops.
fn unsettled(answers: &[Result<Settled, Refusal>], generation: u64) -> Option<Response> {
    let failed: Vec<&str> = answers
        .iter()
        .filter_map(|a| match a {
            Err(Refusal::Failed(s)) => Some(s.message.as_str()),
            _ => None,
        })
        .collect();
    let head = format!("reload applied (plan generation {generation}), but");
    let (kind, code, text) = match failed.as_slice() {
        [] => {
            let why = answers.iter().find_map(|a| match a {
                Err(Refusal::Unknown(w) | Refusal::Conflict(w)) => Some(w),
                _ => None,
            })?;
            (
                ErrorKind::Conflict,
                crate::exit::USAGE,
                format!("{head} {why}"),
            )
        }
        [one] => (
            ErrorKind::Failed,
            crate::exit::SERVICE_FAILED,
            format!("{head} a service did not come up: {one}"),
        ),
        many => (
            ErrorKind::Failed,
            crate::exit::SERVICE_FAILED,
            format!(
                "{head} {} services did not come up:\n  {}",
                many.len(),
                many.join("\n  ")
            ),
        ),
    };
    Some(Response {
        exit_code: Some(code),
        ..Response::error(kind, text)
    })
}

/// A changed database URL must pass the probe before any service gets it.
async fn probe(
    r: &Reloader,
    d: &PlanDiff,
    new: &Plan,
    ns: &[&ServicePlan],
) -> Result<(), Response> {
    let Some(db) = new.database.as_ref().filter(|_| d.database.is_some()) else {
        return Ok(());
    };
    if !r.probe || !ns.iter().any(|s| s.uses_database) {
        return Ok(());
    }
    crate::db::gate(db).await.map_err(|f| {
        let why = format!("the new database URL failed the probe: {}\n", f.message);
        refused(why, f.exit_code)
    })
}

async fn swap(
    ctx: &Context,
    new: &Arc<Plan>,
    d: &PlanDiff,
    redactor: Redactor,
) -> Result<Swapped, Response> {
    let (tx, rx) = oneshot::channel();
    let s = Swap {
        plan: Arc::clone(new),
        changed: d.named(Kind::Changed),
        removed: d.named(Kind::Removed),
        added: d.named(Kind::Added),
        redactor,
    };
    ctx.control
        .send(EngineRequest::Swap(Box::new(s), tx))
        .await
        .map_err(|_| gone())?;
    let got = rx.await.map_err(|_| gone())?;
    got.map_err(|why| refused(format!("{why}\n"), crate::exit::CONFIG))
}

/// The old Plan's secrets stay masked too (a stopping service may print them).
fn both(old: &Plan, new: &Plan) -> Redactor {
    let mut r = new.redactor();
    r.extend(&old.redactor());
    r
}

async fn command(
    ctx: &Context,
    verb: Verb,
    name: String,
) -> Result<Result<Settled, Refusal>, Response> {
    let (ticket, answer) = oneshot::channel();
    let req = EngineRequest::Command {
        verb,
        service: name,
        ticket,
    };
    ctx.control.send(req).await.map_err(|_| gone())?;
    answer.await.map_err(|_| gone())
}

/// Restart `names` as one command (a reload's changed services, the services
/// one burst of `up --watch` restarts): what waits for several of them
/// restarts once, after all of them. One answer per service restarted first.
pub(crate) async fn restart_together(
    ctx: &Context,
    names: Vec<String>,
) -> Result<Vec<Result<Settled, Refusal>>, Response> {
    if names.is_empty() {
        return Ok(Vec::new());
    }
    let (tickets, answers) = oneshot::channel();
    let req = EngineRequest::Restarts {
        services: names,
        tickets,
    };
    ctx.control.send(req).await.map_err(|_| gone())?;
    answers.await.map_err(|_| gone())
}

fn ok(r: ReloadResult) -> Response {
    Response {
        ok: true,
        reload: Some(Box::new(r)),
        ..Response::default()
    }
}

fn refused(why: String, code: u8) -> Response {
    Response {
        exit_code: Some(code),
        reload: Some(Box::new(ReloadResult {
            problems: why.lines().map(str::to_owned).collect(),
            ..ReloadResult::default()
        })),
        ..Response::error(ErrorKind::Invalid, "reload refused, nothing changed")
    }
}

/// Into `up`'s log and the event stream.
fn log(ctx: &Context, answer: &Result<Response, Response>, dry_run: bool) {
    let message = match answer {
        Ok(_) if dry_run => return,
        Ok(r) => {
            let Some(res) = &r.reload else { return };
            let text = crate::plan::diff_render::human(&res.diff);
            // One log line per diff line: a `\n` inside one event is shown
            // as an escape by the log sink (an event is one line).
            tracing::info!("reload applied (plan generation {}):", res.generation);
            for line in text.trim_end().lines() {
                tracing::info!("  {line}");
            }
            match &r.error {
                // Applied, but a service did not come up.
                Some(e) => {
                    e.lines().for_each(|l| tracing::warn!("{l}"));
                    e.replace("\n ", "")
                }
                None => format!("reload applied: plan generation {}", res.generation),
            }
        }
        Err(e) => {
            let head = e.error.as_deref().unwrap_or("reload refused");
            let lines = e.reload.as_ref().map_or(&[][..], |r| &r.problems[..]);
            tracing::error!("{head}:");
            for line in lines {
                tracing::error!("  {line}");
            }
            format!("{head}: {}", lines.join(" "))
        }
    };
    events::publish(&ctx.events, || Published::Notice {
        at: SystemTime::now(),
        message,
    });
}
