//! Test support for the engine through the library API: build ServicePlans
//! directly, run a real supervisor on a current-thread runtime on the test's
//! own thread (so PR_SET_PDEATHSIG ties the children to the test), capture its
//! output, and drive it through the control handle — all under a hard timeout.
#![allow(clippy::unwrap_used, clippy::expect_used, dead_code)]

use std::future::Future;
use std::io::Write;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use nix::sys::signal::Signal;

use super::commands::{EngineRequest, Handle, Snapshot};
use super::runtime::{Options, Supervisor};
use crate::env::{Env, EnvVar, Source};
use crate::plan::*;

/// A service running `sh -c script` in `/tmp` with only PATH set.
pub(crate) fn sh(name: &str, script: &str) -> ServicePlan {
    let mut env = Env::default();
    env.vars.insert(
        "PATH".into(),
        EnvVar {
            value: "/usr/local/bin:/usr/bin:/bin".into(),
            secret: Default::default(),
            source: Source::Os,
            shadowed: vec![],
        },
    );
    ServicePlan {
        name: name.into(),
        argv: vec!["sh".into(), "-c".into(), script.into()],
        argv_secret: Vec::new(),
        program: PathBuf::from("/bin/sh"),
        cwd: std::env::temp_dir(),
        env,
        depends_on: vec![],
        uses_database: false,
        restart: RestartPolicy::OnFailure,
        backoff: Backoff {
            initial: Duration::from_millis(50),
            max: Duration::from_secs(1),
            factor: 2.0,
            reset_after: Duration::from_secs(60),
        },
        max_restarts: 10,
        restart_window: Duration::from_secs(60),
        ready: None,
        stop_signal: Signal::SIGTERM,
        stop_timeout: Duration::from_secs(5),
        oneshot: false,
        max_memory: None,
        critical: false,
        log_file: None,
        exec: Default::default(),
        replica: None,
        watch: None,
    }
}

/// Add a dependency.
pub(crate) fn dep(mut s: ServicePlan, name: &str, condition: Condition) -> ServicePlan {
    s.depends_on.push(Dependency {
        name: name.into(),
        condition,
    });
    s
}

/// A Plan over these services.
pub(crate) fn plan(services: Vec<ServicePlan>) -> Arc<Plan> {
    Arc::new(Plan {
        config_path: PathBuf::from("/tmp/supervisor.toml"),
        base_dir: PathBuf::from("/tmp"),
        settings: Settings {
            log_format: LogFormat::Pretty,
            stop_timeout: Duration::from_secs(10),
            control_socket: None,
            contain: crate::plan::Contain::None,
        },
        database: None,
        services,
        global_env: Env::default(),
        warnings: vec![],
        inputs: vec![],
    })
}

/// Captured output.
#[derive(Clone, Default)]
pub(crate) struct Capture(pub Arc<Mutex<Vec<u8>>>);

impl Write for Capture {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(b);
        Ok(b.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Capture {
    /// Everything written so far.
    pub(crate) fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
    }
}

/// What a run produced.
pub(crate) struct Run {
    /// Exit code.
    pub code: u8,
    /// Captured output (service lines; supervisor events go through tracing).
    pub out: String,
}

/// Run `services` with `driver` acting on the handle; the whole thing must
/// finish within `limit`. The driver's return value is passed back.
pub(crate) fn run<T, F, Fut>(
    services: Vec<ServicePlan>,
    format: LogFormat,
    limit: Duration,
    driver: F,
) -> (Run, T)
where
    F: FnOnce(Handle) -> Fut,
    Fut: Future<Output = T>,
{
    let cap = Capture::default();
    let opts = Options {
        services: vec![],
        init: false,
        probe: false,
        format,
        colour: false,
        out: Box::new(cap.clone()),
        os_signals: false,
    };
    let (handle, sup) = Supervisor::new(plan(services), opts).expect("supervisor");
    let rt = super::runtime::current_thread().unwrap();
    let (code, t) = rt.block_on(async {
        tokio::time::timeout(limit, async {
            let sup = sup.run();
            tokio::pin!(sup);
            let d = driver(handle);
            tokio::pin!(d);
            // Drive both; the supervisor must outlive the driver.
            let mut t = None;
            loop {
                tokio::select! {
                    code = &mut sup => return (code, match t { Some(t) => t, None => d.await }),
                    v = &mut d, if t.is_none() => t = Some(v),
                }
            }
        })
        .await
        .expect("hard timeout: the supervisor did not finish in time")
    });
    (
        Run {
            code,
            out: cap.text(),
        },
        t,
    )
}

/// Wait until every service is ready (or `limit`), then return a snapshot.
pub(crate) async fn until_ready(h: &Handle, limit: Duration) -> Snapshot {
    let mut hr = h.health.clone();
    let _ = tokio::time::timeout(limit, hr.wait_for(|x| x.all_ready)).await;
    status(h).await
}

/// A status snapshot.
pub(crate) async fn status(h: &Handle) -> Snapshot {
    let (tx, rx) = tokio::sync::oneshot::channel();
    h.control.send(EngineRequest::Status(tx)).await.unwrap();
    rx.await.unwrap()
}

/// Ask for a shutdown.
pub(crate) async fn shutdown(h: &Handle) {
    let _ = h.control.send(EngineRequest::Shutdown).await;
}

/// State name of `svc`.
pub(crate) fn state_of(s: &Snapshot, svc: &str) -> &'static str {
    s.services
        .iter()
        .find(|x| x.name == svc)
        .map(|x| x.state.as_str())
        .unwrap_or("?")
}

/// Whether a pid (or a group when negative) still exists.
pub(crate) fn alive(pid: i32) -> bool {
    nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), None).is_ok()
}
