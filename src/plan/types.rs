//! Plan data types. Pure data: no I/O, no validation (that is `plan::build`).
//! `Debug` never shows a secret: environment values are masked by
//! [`crate::env::EnvVar`].

use std::path::PathBuf;
use std::time::Duration;

use nix::sys::signal::Signal;

use super::ExecContext;
use crate::db::DatabasePlan;
use crate::diag::Problem;
use crate::env::Env;
use crate::secret::Spans;

/// The whole validated configuration.
#[derive(Debug, Clone)]
pub struct Plan {
    /// The supervisor.toml this Plan was built from.
    pub config_path: PathBuf,
    /// Its directory; relative paths in the file were resolved against it.
    pub base_dir: PathBuf,
    /// `[supervisor]` settings.
    pub settings: Settings,
    /// `[database]`, validated; `None` when not configured.
    pub database: Option<DatabasePlan>,
    /// Every service, in a valid start order (dependencies first).
    pub services: Vec<ServicePlan>,
    /// The environment a `run -- CMD` command gets: inherit + env_files + `[env]`
    /// + the database URL under `export_as`.
    pub global_env: Env,
    /// Non-fatal findings (migration lint, shadowed OS variables, PG* mismatch…).
    pub warnings: Vec<Problem>,
    /// Every file this Plan was read from (absolute): supervisor.toml and
    /// each env file, read or (`.env` by default) looked for. `up --watch`
    /// reloads when one of them changes.
    pub inputs: Vec<PathBuf>,
}

impl Plan {
    /// The service called `name`.
    pub fn service(&self, name: &str) -> Option<&ServicePlan> {
        self.services.iter().find(|s| s.name == name)
    }

    /// The copies of the replicated service `group` (`replicas = N`), in
    /// order; empty when `group` is not one.
    pub fn copies(&self, group: &str) -> Vec<&ServicePlan> {
        let of = |s: &&ServicePlan| s.replica.as_ref().is_some_and(|r| r.group == group);
        self.services.iter().filter(of).collect()
    }

    /// What `name` stands for in `start`/`stop`/`restart`/`logs`: the service
    /// itself, or every copy of a replicated service; empty when unknown.
    pub fn resolve(&self, name: &str) -> Vec<String> {
        if let Some(s) = self.service(name) {
            return vec![s.name.clone()];
        }
        self.copies(name).iter().map(|s| s.name.clone()).collect()
    }

    /// Everything output must be scrubbed of: the database password (every
    /// reading, encoded forms) and every secret part of every value and
    /// command argument the Plan holds — the same parts `env` masks. One set
    /// for service output, `logs`, `status` and the control socket alike.
    pub fn redactor(&self) -> crate::secret::Redactor {
        let mut r = self
            .database
            .as_ref()
            .map(|d| d.url.redactor())
            .unwrap_or_default();
        let envs = self
            .services
            .iter()
            .map(|s| &s.env)
            .chain([&self.global_env]);
        for v in envs.flat_map(|e| e.vars.values()) {
            for text in v.secret.texts(&v.value) {
                r.add_part(text);
            }
        }
        for s in &self.services {
            for (arg, spans) in s.argv.iter().zip(&s.argv_secret) {
                for text in spans.texts(arg) {
                    r.add_part(text);
                }
            }
        }
        r
    }
}

/// `[supervisor]`.
#[derive(Debug, Clone)]
pub struct Settings {
    /// `log_format` (the CLI's `--log-format` overrides it).
    pub log_format: LogFormat,
    /// Default `stop_timeout` for services.
    pub stop_timeout: Duration,
    /// `control_socket`: where `up` listens; `None` = the default location.
    pub control_socket: Option<PathBuf>,
    /// `contain`: how `up` and `run` make sure nothing outlives them.
    pub contain: Contain,
}

/// `[supervisor] contain`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Contain {
    /// A PID namespace where the kernel allows one, else PDEATHSIG + subreaper.
    Auto,
    /// A PID namespace, or refuse to start.
    Pidns,
    /// PDEATHSIG + subreaper only.
    None,
}

impl Contain {
    /// The config spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Contain::Auto => "auto",
            Contain::Pidns => "pidns",
            Contain::None => "none",
        }
    }
}

/// Log output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    /// `name | line`.
    Pretty,
    /// One JSON object per line.
    Json,
}

/// One service, fully resolved.
#[derive(Debug, Clone)]
pub struct ServicePlan {
    /// Unique name (`[services.NAME]`).
    pub name: String,
    /// argv; `argv[0]` as written. With `shell = true` this is `["/bin/sh", "-c", "..."]`.
    pub argv: Vec<String>,
    /// The secret parts of each argument (one entry per `argv` element, or
    /// empty = none secret): what `${NAME}` brought in from a secret. Exports
    /// reference those variables instead of writing the values.
    pub argv_secret: Vec<Spans>,
    /// `argv[0]` resolved against the service's own PATH (absolute).
    pub program: PathBuf,
    /// Working directory (absolute).
    pub cwd: PathBuf,
    /// Exactly the environment the child gets (the OS environment is cleared).
    pub env: Env,
    /// `depends_on`, with conditions.
    pub depends_on: Vec<Dependency>,
    /// Waits for the database gate and receives the `export_as` variables.
    pub uses_database: bool,
    /// `restart`.
    pub restart: RestartPolicy,
    /// `backoff`.
    pub backoff: Backoff,
    /// `max_restarts` within `restart_window`; then the service is `failed`.
    pub max_restarts: u32,
    /// `restart_window`.
    pub restart_window: Duration,
    /// `ready`; `None` = ready once started.
    pub ready: Option<ReadyCheck>,
    /// `stop_signal`, sent to the process group.
    pub stop_signal: Signal,
    /// `stop_timeout`, then SIGKILL to the group.
    pub stop_timeout: Duration,
    /// Runs to completion; dependents may wait for `completed`.
    pub oneshot: bool,
    /// `max_memory` in bytes (process-group RSS).
    pub max_memory: Option<u64>,
    /// When this service ends `failed`, stop everything and exit non-zero.
    pub critical: bool,
    /// `log_file`.
    pub log_file: Option<LogFile>,
    /// `user`, `group`, `limits`, `umask`, `nice`: applied in the child before exec.
    pub exec: ExecContext,
    /// Which copy of a replicated service (`replicas = N`) this is; `None`
    /// for a service without `replicas`.
    pub replica: Option<Replica>,
    /// `watch` / `watch_ignore` (only `up --watch` reads them); `None`: not watched.
    pub watch: Option<WatchPaths>,
}

/// One copy of a replicated service: `worker.2` is `{ group: "worker", index: 2, .. }`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Replica {
    /// The service name as written in `[services.NAME]`.
    pub group: String,
    /// 1-based; the `REPLICA` variable.
    pub index: u32,
    /// `replicas`.
    pub count: u32,
    /// `replica_port_base`: replica `i` gets `REPLICA_PORT = base + i - 1`.
    pub port_base: Option<u16>,
}

impl Replica {
    /// This replica's `REPLICA_PORT`, when a base is set.
    pub fn port(&self) -> Option<u16> {
        let base = u32::from(self.port_base?);
        u16::try_from(base + self.index - 1).ok()
    }
}

/// What `up --watch` restarts a service for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WatchPaths {
    /// Files and directories (absolute; directories are watched recursively).
    pub paths: Vec<PathBuf>,
    /// Globs of paths not to react to: the defaults, then `watch_ignore`.
    pub ignore: Vec<String>,
}

/// One `depends_on` entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dependency {
    /// The service depended on.
    pub name: String,
    /// What it must reach first.
    pub condition: Condition,
}

/// A dependency condition.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Condition {
    /// The dependency's process was spawned.
    Started,
    /// The dependency passed its readiness check (without one: its exec succeeded).
    Ready,
    /// The dependency (a oneshot) exited 0.
    Completed,
}

impl Condition {
    /// The config spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Condition::Started => "started",
            Condition::Ready => "ready",
            Condition::Completed => "completed",
        }
    }
}

/// `restart`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RestartPolicy {
    /// Restart whatever the exit status.
    Always,
    /// Restart on non-zero exit or death by signal.
    OnFailure,
    /// Never restart.
    Never,
}

impl RestartPolicy {
    /// The config spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            RestartPolicy::Always => "always",
            RestartPolicy::OnFailure => "on-failure",
            RestartPolicy::Never => "never",
        }
    }
}

/// `backoff`: delay before restart attempt n is `initial * factor^(n-1)`, capped
/// at `max`, with jitter; the attempt count resets after `reset_after` healthy.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Backoff {
    /// First delay.
    pub initial: Duration,
    /// Upper bound.
    pub max: Duration,
    /// Growth factor (>= 1.0).
    pub factor: f64,
    /// Healthy running time after which the attempt count resets.
    pub reset_after: Duration,
}

impl Default for Backoff {
    fn default() -> Self {
        Backoff {
            initial: Duration::from_millis(250),
            max: Duration::from_secs(30),
            factor: 2.0,
            reset_after: Duration::from_secs(60),
        }
    }
}

/// `ready`.
#[derive(Debug, Clone, PartialEq)]
pub struct ReadyCheck {
    /// What to check.
    pub kind: ReadyKind,
    /// Between attempts.
    pub interval: Duration,
    /// Give up after this long (the service is then not ready; see engine docs).
    pub timeout: Duration,
}

/// The kinds of readiness check.
#[derive(Debug, Clone, PartialEq)]
pub enum ReadyKind {
    /// TCP connect to `host:port`.
    Tcp(String),
    /// HTTP GET; ready on 2xx. `http://` only.
    Http(String),
    /// Run argv (with the service's env and cwd); ready on exit 0.
    Exec(Vec<String>),
    /// A regex matched against the service's output lines.
    Log(String),
}

/// `log_file`: a rotated copy of the service's output.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogFile {
    /// Absolute path.
    pub path: PathBuf,
    /// Rotate when the file reaches this many bytes.
    pub max_size: u64,
    /// Rotated files kept (`path.1` … `path.N`).
    pub keep: u32,
}
