//! What a reload needs from `up`'s start — where the config is, the OS
//! environment as captured then, the CLI's overrides and selection — and the
//! Plan in force; `reload.rs` does the reloading.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use crate::plan::{self, LogFormat, Plan, ServicePlan};
use crate::supervisor::graph;

/// What a reload needs from `up`'s start: where the config is, the OS
/// environment as captured then, the CLI's overrides and selection.
pub(crate) struct Reloader {
    /// supervisor.toml.
    pub config: PathBuf,
    /// The OS environment `up` captured at start.
    pub os_env: BTreeMap<String, String>,
    /// `--log-format`, when given (it overrides the file, as at start).
    pub log_format: Option<LogFormat>,
    /// `up A B`: the services named (empty: all).
    pub selection: Vec<String>,
    /// `up` probes the database (not `--no-probe`).
    pub probe: bool,
    pub(super) current: Mutex<Arc<Plan>>,
    /// The newest Plan that loaded and was not refused: `current`, or a
    /// newer one whose differences touch no service (`watch` keys alone).
    /// Sent to `up --watch`, which follows it.
    pub(super) latest: tokio::sync::watch::Sender<Arc<Plan>>,
    pub(super) busy: tokio::sync::Mutex<()>,
}

impl Reloader {
    /// Over the Plan `up` started with.
    pub(crate) fn new(plan: Arc<Plan>, os_env: BTreeMap<String, String>) -> Reloader {
        Reloader {
            config: plan.config_path.clone(),
            os_env,
            log_format: None,
            selection: Vec::new(),
            probe: true,
            current: Mutex::new(Arc::clone(&plan)),
            latest: tokio::sync::watch::Sender::new(plan),
            busy: tokio::sync::Mutex::new(()),
        }
    }

    /// The Plan in force.
    pub(crate) fn current(&self) -> Arc<Plan> {
        Arc::clone(&self.current.lock().unwrap_or_else(|p| p.into_inner()))
    }

    /// The Plan `up --watch` follows (see `latest`).
    pub(crate) fn latest(&self) -> Arc<Plan> {
        Arc::clone(&self.latest.borrow())
    }

    /// Told each time a reload (any: `reload`, SIGHUP, a watched file) loads
    /// a Plan that is not refused.
    pub(crate) fn follow(&self) -> tokio::sync::watch::Receiver<Arc<Plan>> {
        self.latest.subscribe()
    }

    /// Exactly as `up` loaded it: the file, the captured OS environment,
    /// `--log-format`, and what this process may do (`plan::privilege`).
    pub(super) fn load(&self) -> Result<Plan, plan::Problems> {
        let mut p = plan::load(&self.config, &self.os_env)?;
        let denied = plan::privilege::problems(&p, &plan::privilege::Identity::current());
        if !denied.is_empty() {
            return Err(denied);
        }
        if let Some(f) = self.log_format {
            p.settings.log_format = f;
        }
        Ok(p)
    }

    /// The services `up` runs in `p` (`up A B`: those and their dependencies).
    pub(crate) fn selected<'a>(
        &self,
        p: &'a Plan,
    ) -> Result<Vec<&'a ServicePlan>, graph::UnknownService> {
        let idx = graph::select(&p.services, &self.selection)?;
        Ok(idx.into_iter().map(|i| &p.services[i]).collect())
    }
}
