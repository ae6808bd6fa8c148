//! Answer one protocol request against the running supervisor's handle.
//! Everything that leaves here is masked by the Plan's redactor (database
//! password in any encoding, values of secret-looking variables); environment
//! values are never served at all.

use std::time::{SystemTime, UNIX_EPOCH};

use tokio::sync::oneshot;

use super::act::act;
use super::context::{gone, known, Context};
use super::protocol::{ErrorKind, LastExit, LogLine, PlanInfo, Request, Response, ServiceView};
use super::reload::reload;
use crate::secret::Redactor;
use crate::supervisor::commands::{EngineRequest, HistLine, ServiceStatus, Verb};
use crate::supervisor::usage::{self, Usage};

/// Answer `req` (one response; streams are `stream.rs`).
pub(crate) async fn answer(ctx: &Context, req: Request) -> Response {
    let r = match req {
        Request::Status { .. } => status(ctx).await,
        Request::Logs {
            service,
            services,
            lines,
            ..
        } => logs(ctx, &ctx.expand_all(names(service, services)), lines).await,
        Request::Events => Err(Response::error(
            ErrorKind::BadRequest,
            "events is a stream (internal error)",
        )),
        Request::Start { service } => act(ctx, Verb::Start, &service).await,
        Request::Stop { service } => act(ctx, Verb::Stop, &service).await,
        Request::Restart { service } => act(ctx, Verb::Restart, &service).await,
        Request::Reload { dry_run } => Ok(reload(ctx, dry_run).await),
    };
    r.unwrap_or_else(|e| e)
}

/// `service` (the original form) and `services` together.
pub(crate) fn names(service: Option<String>, mut services: Vec<String>) -> Vec<String> {
    services.extend(service);
    services
}

/// Every service's view, with RSS/CPU sampled over the window.
pub(crate) async fn views(ctx: &Context) -> Result<Vec<ServiceView>, Response> {
    Ok(views_plan(ctx).await?.0)
}

/// [`views`] and the Plan in force (generation, when loaded).
pub(crate) async fn views_plan(ctx: &Context) -> Result<(Vec<ServiceView>, PlanInfo), Response> {
    let snap = ctx.snapshot().await?;
    let plan = PlanInfo {
        generation: snap.generation,
        loaded_at: unix(snap.loaded),
        age_secs: SystemTime::now()
            .duration_since(snap.loaded)
            .map_or(0, |d| d.as_secs()),
    };
    let groups: Vec<i32> = snap.services.iter().filter_map(|s| s.pid).collect();
    let usage = usage::measure(&groups, ctx.window).await;
    let now = SystemTime::now();
    let redactor = ctx.redactor();
    let views = snap
        .services
        .iter()
        .map(|s| view(s, s.pid.and_then(|p| usage.get(&p)), now, &redactor))
        .collect();
    Ok((views, plan))
}

async fn status(ctx: &Context) -> Result<Response, Response> {
    let (services, plan) = views_plan(ctx).await?;
    Ok(Response {
        ok: true,
        services: Some(services),
        plan: Some(Box::new(plan)),
        containment: crate::supervisor::contain::summary(),
        ..Response::default()
    })
}

/// The merged history of `names` (all when empty), names checked.
pub(crate) async fn history(
    ctx: &Context,
    names: &[String],
    lines: usize,
) -> Result<Vec<HistLine>, Response> {
    for n in names {
        known(ctx, n)?;
    }
    let (reply, rx) = oneshot::channel();
    let req = EngineRequest::Logs {
        services: names.to_vec(),
        lines,
        reply,
    };
    ctx.control.send(req).await.map_err(|_| gone())?;
    rx.await
        .map_err(|_| gone())?
        .map_err(|e| Response::error(ErrorKind::UnknownService, e.to_string()))
}

async fn logs(ctx: &Context, names: &[String], lines: usize) -> Result<Response, Response> {
    let got = history(ctx, names, lines).await?;
    let (all, redactor) = (ctx.names(), ctx.redactor());
    let lines = got
        .into_iter()
        .map(|l| LogLine {
            service: all.get(l.svc).cloned().unwrap_or_default(),
            stream: l.stream.as_str().to_owned(),
            line: redactor.redact(&l.line).into_owned(),
        })
        .collect();
    Ok(Response {
        ok: true,
        lines: Some(lines),
        names: Some(all.to_vec().into_boxed_slice()),
        ..Response::default()
    })
}

fn unix(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

fn age(t: SystemTime, now: SystemTime) -> u64 {
    now.duration_since(t).map_or(0, |d| d.as_secs())
}

/// A status entry as served (pure).
pub(crate) fn view(
    s: &ServiceStatus,
    u: Option<&Usage>,
    now: SystemTime,
    r: &Redactor,
) -> ServiceView {
    ServiceView {
        name: s.name.clone(),
        state: s.state,
        pid: s.pid,
        started_at: s.since.map(unix),
        uptime_secs: s.since.map(|t| age(t, now)),
        restarts: s.restarts,
        last_exit: s.last_exit.as_ref().map(|(reason, at)| LastExit {
            reason: r.redact(reason).into_owned(),
            at: unix(*at),
            ago_secs: age(*at, now),
        }),
        ready: s.ready,
        detail: s.detail.as_deref().map(|d| r.redact(d).into_owned()),
        rss_bytes: u.map(|u| u.rss_bytes),
        cpu_percent: u.map(|u| (u.cpu_percent * 10.0).round() / 10.0),
        processes: u.map(|u| u.processes),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::supervisor::state::StateKind;
    use std::time::Duration;

    #[test]
    fn view_computes_ages_and_masks_details() {
        let now = UNIX_EPOCH + Duration::from_secs(1_000);
        let s = ServiceStatus {
            name: "api".into(),
            state: StateKind::Failed,
            pid: None,
            since: None,
            restarts: 3,
            last_exit: Some(("exit code 1".into(), UNIX_EPOCH + Duration::from_secs(990))),
            ready: false,
            detail: Some("spawn failed: hunter22 rejected".into()),
        };
        let v = view(&s, None, now, &Redactor::for_secret("hunter22"));
        assert_eq!(
            v.last_exit.as_ref().map(|e| (e.at, e.ago_secs)),
            Some((990, 10))
        );
        assert_eq!(v.detail.as_deref(), Some("spawn failed: **** rejected"));
        assert_eq!(v.rss_bytes, None);
        let u = Usage {
            rss_bytes: 4096,
            cpu_percent: 12.345,
            processes: 2,
        };
        let running = ServiceStatus {
            state: StateKind::Running,
            pid: Some(42),
            since: Some(UNIX_EPOCH + Duration::from_secs(400)),
            ..s
        };
        let v = view(&running, Some(&u), now, &Redactor::default());
        assert_eq!((v.uptime_secs, v.started_at), (Some(600), Some(400)));
        assert_eq!(v.cpu_percent, Some(12.3));
        assert_eq!(v.processes, Some(2));
    }
}
