//! Answer one protocol request against the running supervisor's handle.
//! Everything that leaves here is masked by the Plan's redactor (database
//! password in any encoding, values of secret-looking variables); environment
//! values are never served at all.

use std::collections::HashMap;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use tokio::sync::{mpsc, oneshot, watch};

use super::act::act;
use super::protocol::{ErrorKind, LastExit, LogLine, Request, Response, ServiceView};
use super::settle::Verb;
use super::usage::{self, Usage};
use crate::config::suggest::did_you_mean;
use crate::plan::Plan;
use crate::secret::Redactor;
use crate::supervisor::control::{Handle, Health, Request as Sup, ServiceStatus, Snapshot};

/// What a request handler needs: the supervisor's control channel and a few
/// facts from the Plan.
pub struct Context {
    /// Requests to the runtime.
    pub control: mpsc::Sender<Sup>,
    /// The aggregate health (its last value says why the runtime ended).
    pub health: watch::Receiver<Health>,
    /// Masks secrets in anything served.
    pub redactor: Redactor,
    /// Per service: (stop_timeout, has a readiness check).
    pub services: HashMap<String, (Duration, bool)>,
    /// How long `status` samples CPU.
    pub window: Duration,
    /// The dependency graph, for actions.
    pub deps: super::deps::Deps,
}

impl Context {
    /// From the Plan and the runtime's handle.
    pub fn new(plan: &Plan, handle: &Handle) -> Context {
        let redactor = plan.redactor();
        let services = plan
            .services
            .iter()
            .map(|s| (s.name.clone(), (s.stop_timeout, s.ready.is_some())))
            .collect();
        Context {
            control: handle.control.clone(),
            health: handle.health.clone(),
            redactor,
            services,
            window: usage::WINDOW,
            deps: super::deps::Deps::new(plan),
        }
    }

    fn unknown(&self, name: &str) -> Option<Response> {
        if self.services.contains_key(name) {
            return None;
        }
        let hint = did_you_mean(name, self.services.keys().map(String::as_str));
        Some(Response::error(
            ErrorKind::UnknownService,
            format!("no service `{name}`{hint}"),
        ))
    }

    /// The runtime's snapshot.
    pub async fn snapshot(&self) -> Result<Snapshot, Response> {
        let (tx, rx) = oneshot::channel();
        self.control
            .send(Sup::Status(tx))
            .await
            .map_err(|_| gone())?;
        rx.await.map_err(|_| gone())
    }
}

/// The supervisor stopped answering (it is shutting down).
pub fn gone() -> Response {
    Response::error(ErrorKind::Unavailable, "the supervisor is shutting down")
}

/// Answer `req`.
pub async fn answer(ctx: &Context, req: Request) -> Response {
    let r = match req {
        Request::Status => status(ctx).await,
        Request::Logs { service, lines } => logs(ctx, &service, lines).await,
        Request::Start { service } => act(ctx, Verb::Start, &service).await,
        Request::Stop { service } => act(ctx, Verb::Stop, &service).await,
        Request::Restart { service } => act(ctx, Verb::Restart, &service).await,
    };
    r.unwrap_or_else(|e| e)
}

/// Check the name, for the action module.
pub fn known(ctx: &Context, name: &str) -> Result<(), Response> {
    ctx.unknown(name).map_or(Ok(()), Err)
}

async fn status(ctx: &Context) -> Result<Response, Response> {
    let snap = ctx.snapshot().await?;
    let groups: Vec<i32> = snap.services.iter().filter_map(|s| s.pid).collect();
    let usage = usage::measure(&groups, ctx.window).await;
    let now = SystemTime::now();
    let services = snap
        .services
        .iter()
        .map(|s| view(s, s.pid.and_then(|p| usage.get(&p)), now, &ctx.redactor))
        .collect();
    Ok(Response {
        ok: true,
        services: Some(services),
        containment: crate::supervisor::contain::summary(),
        ..Response::default()
    })
}

async fn logs(ctx: &Context, name: &str, lines: usize) -> Result<Response, Response> {
    known(ctx, name)?;
    let (reply, rx) = oneshot::channel();
    let req = Sup::Logs {
        service: name.to_owned(),
        lines,
        reply,
    };
    ctx.control.send(req).await.map_err(|_| gone())?;
    let got = rx
        .await
        .map_err(|_| gone())?
        .map_err(|e| Response::error(ErrorKind::UnknownService, e))?;
    let lines = got
        .into_iter()
        .map(|(stream, line)| LogLine {
            stream: stream.as_str().to_owned(),
            line: ctx.redactor.redact(&line).into_owned(),
        })
        .collect();
    Ok(Response {
        ok: true,
        lines: Some(lines),
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
pub fn view(s: &ServiceStatus, u: Option<&Usage>, now: SystemTime, r: &Redactor) -> ServiceView {
    ServiceView {
        name: s.name.clone(),
        state: s.state.to_owned(),
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

    #[test]
    fn view_computes_ages_and_masks_details() {
        let now = UNIX_EPOCH + Duration::from_secs(1_000);
        let s = ServiceStatus {
            name: "api".into(),
            state: "failed",
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
            state: "running",
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
