//! Answer one protocol request against the running supervisor's handle.
//! Everything that leaves here is masked by the Plan's redactor (database
//! password in any encoding, values of secret-looking variables); environment
//! values are never served at all.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use tokio::sync::{mpsc, oneshot, watch};

use super::act::act;
use super::protocol::{ErrorKind, LastExit, LogLine, PlanInfo, Request, Response, ServiceView};
use super::reload::{reload, Reloader};
use super::usage::{self, Usage};
use crate::diag::suggest::did_you_mean;
use crate::plan::Plan;
use crate::secret::Redactor;
use crate::supervisor::control::{
    Handle, Health, HistLine, Request as Sup, ServiceStatus, Snapshot, Verb,
};
use crate::supervisor::events::Bus;

/// What a request handler needs: the supervisor's control channel and a few
/// facts from the Plan.
pub(crate) struct Context {
    /// Requests to the runtime.
    pub control: mpsc::Sender<Sup>,
    /// The aggregate health (its last value says why the runtime ended).
    pub health: watch::Receiver<Health>,
    /// Masks secrets in anything served (replaced by a reload).
    redactor: Mutex<Redactor>,
    /// Every service name of the Plan (for "did you mean"; replaced by a reload).
    services: Mutex<Vec<String>>,
    /// Replicated services: group name → its copies, in start order.
    groups: Mutex<BTreeMap<String, Vec<String>>>,
    /// How long `status` samples CPU.
    pub window: Duration,
    /// Published transitions, notices and output (subscribe per stream).
    pub events: Bus,
    /// The supervised services, by the engine's index (grows on a reload).
    names: Mutex<Arc<Vec<String>>>,
    /// Reads the configuration again (`reload`, SIGHUP); `None`: cannot.
    pub reloader: Option<Arc<Reloader>>,
    /// `up --watch`: reload and restart on file changes (`watch.rs`).
    pub watch: bool,
}

impl Context {
    /// From the Plan and the runtime's handle.
    pub(crate) fn new(plan: &Plan, handle: &Handle) -> Context {
        let redactor = plan.redactor();
        let services = plan.services.iter().map(|s| s.name.clone()).collect();
        Context {
            control: handle.control.clone(),
            health: handle.health.clone(),
            redactor: Mutex::new(redactor),
            services: Mutex::new(services),
            groups: Mutex::new(groups(plan)),
            window: usage::WINDOW,
            events: handle.events.clone(),
            names: Mutex::new(Arc::clone(&handle.names)),
            reloader: None,
            watch: false,
        }
    }

    /// The supervised services by engine index.
    pub(crate) fn names(&self) -> Arc<Vec<String>> {
        Arc::clone(&self.names.lock().unwrap_or_else(|p| p.into_inner()))
    }

    /// The masker in force.
    pub(crate) fn redactor(&self) -> Redactor {
        self.redactor
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// A reloaded Plan is in force: its names and secrets from now on (the
    /// old secrets stay masked too).
    pub(crate) fn adopt(&self, plan: &Plan, redactor: Redactor, names: Vec<String>) {
        *self.redactor.lock().unwrap_or_else(|p| p.into_inner()) = redactor;
        *self.names.lock().unwrap_or_else(|p| p.into_inner()) = Arc::new(names);
        *self.services.lock().unwrap_or_else(|p| p.into_inner()) =
            plan.services.iter().map(|s| s.name.clone()).collect();
        *self.groups.lock().unwrap_or_else(|p| p.into_inner()) = groups(plan);
    }

    /// The services `name` stands for: itself, or each copy of a replicated
    /// service (`worker` → `worker.1`, `worker.2`, …); an unknown name as is.
    pub(crate) fn expand(&self, name: &str) -> Vec<String> {
        let groups = self.groups.lock().unwrap_or_else(|p| p.into_inner());
        match groups.get(name) {
            Some(copies) => copies.clone(),
            None => vec![name.to_owned()],
        }
    }

    /// [`Context::expand`] over a list.
    pub(crate) fn expand_all(&self, names: Vec<String>) -> Vec<String> {
        names.iter().flat_map(|n| self.expand(n)).collect()
    }

    fn unknown(&self, name: &str) -> Option<Response> {
        let services = self.services.lock().unwrap_or_else(|p| p.into_inner());
        let groups = self.groups.lock().unwrap_or_else(|p| p.into_inner());
        if services.iter().any(|s| s == name) || groups.contains_key(name) {
            return None;
        }
        let all = services.iter().chain(groups.keys());
        let hint = did_you_mean(name, all.map(String::as_str));
        Some(Response::error(
            ErrorKind::UnknownService,
            format!("no service `{name}`{hint}"),
        ))
    }

    /// The runtime's snapshot.
    pub(crate) async fn snapshot(&self) -> Result<Snapshot, Response> {
        let (tx, rx) = oneshot::channel();
        self.control
            .send(Sup::Status(tx))
            .await
            .map_err(|_| gone())?;
        rx.await.map_err(|_| gone())
    }
}

/// Replicated services of `plan`: group → copies.
fn groups(plan: &Plan) -> BTreeMap<String, Vec<String>> {
    let mut out: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for s in &plan.services {
        if let Some(r) = &s.replica {
            out.entry(r.group.clone()).or_default().push(s.name.clone());
        }
    }
    out
}

/// The supervisor stopped answering (it is shutting down).
pub(crate) fn gone() -> Response {
    Response::error(ErrorKind::Unavailable, "the supervisor is shutting down")
}

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

/// Check the name, for the action module.
// A Response is built once per request: its size does not matter here.
#[allow(clippy::result_large_err)]
pub(crate) fn known(ctx: &Context, name: &str) -> Result<(), Response> {
    ctx.unknown(name).map_or(Ok(()), Err)
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
    let req = Sup::Logs {
        services: names.to_vec(),
        lines,
        reply,
    };
    ctx.control.send(req).await.map_err(|_| gone())?;
    rx.await
        .map_err(|_| gone())?
        .map_err(|e| Response::error(ErrorKind::UnknownService, e))
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
