//! What every request handler of the control socket shares: the
//! supervisor's handle and the facts of the Plan in force ([`Context`]), and
//! the two answers they all may give (the supervisor is gone, an unknown
//! name). Its own file so that the handlers (`serve`, `act`, `reload`,
//! `stream`, `watch`) depend on it, not on each other.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::{mpsc, oneshot, watch};

use super::protocol::{ErrorKind, Response};
use super::reloader::Reloader;
use crate::diag::suggest::did_you_mean;
use crate::plan::Plan;
use crate::secret::Redactor;
use crate::supervisor::commands::{EngineRequest, Handle, Health, Snapshot};
use crate::supervisor::events::Bus;
use crate::supervisor::usage;

/// What a request handler needs: the supervisor's control channel and a few
/// facts from the Plan.
pub(crate) struct Context {
    /// Requests to the runtime.
    pub control: mpsc::Sender<EngineRequest>,
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
            .send(EngineRequest::Status(tx))
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

/// Check the name, for the action module.
// A Response is built once per request: its size does not matter here.
#[allow(clippy::result_large_err)]
pub(crate) fn known(ctx: &Context, name: &str) -> Result<(), Response> {
    ctx.unknown(name).map_or(Ok(()), Err)
}
