//! Command-line surface (clap derive). Parsing only, no behaviour: the doc
//! comments below are the `--help` text.

use std::ffi::OsString;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::builder::PossibleValue;
use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::db::Client;
use crate::exit;
use crate::plan::LogFormat;

/// A small process supervisor that resolves every service's environment once,
/// validates and probes the database, then starts, watches and stops the services.
///
/// Config: -c PATH, else $UAOL_SUPERVISOR_CONFIG, else ./supervisor.toml.
#[derive(Debug, Parser)]
#[command(name = "uaol-supervisor", version, propagate_version = true)]
pub(crate) struct Cli {
    /// Path to supervisor.toml.
    #[arg(short = 'c', long = "config", global = true, value_name = "PATH")]
    pub config: Option<PathBuf>,

    /// Output format of log lines and events.
    #[arg(long, global = true, value_enum, value_name = "FORMAT")]
    pub log_format: Option<LogFormat>,

    #[command(subcommand)]
    pub command: Command,
}

/// `--log-format` takes the Plan's [`LogFormat`] itself (one type for the
/// flag and `[supervisor] log_format`); its names and `--help` text are here.
impl ValueEnum for LogFormat {
    fn value_variants<'a>() -> &'a [Self] {
        &[LogFormat::Pretty, LogFormat::Json]
    }

    fn to_possible_value(&self) -> Option<PossibleValue> {
        Some(match self {
            LogFormat::Pretty => PossibleValue::new("pretty").help(
                "`name | line`, aligned, coloured on a terminal; control characters in \
                 a service's output shown as escapes (`\\r`, `\\x1b`)",
            ),
            LogFormat::Json => PossibleValue::new("json")
                .help("One JSON object per line: ts, service, stream, line"),
        })
    }
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Build the Plan, probe the database, start the services (the named ones and
    /// their dependencies, or all) and supervise them in the foreground until
    /// signalled, or until every service has ended on its own.
    Up(UpArgs),
    /// Validate the configuration and probe the database; print a report.
    /// Also refuses what this process could not apply when starting the
    /// services (switch to a service's `user`, raise a limit, a negative `nice`).
    Check(CheckArgs),
    /// Print the exact environment a service will get.
    Env(EnvArgs),
    /// Only the database probe: DNS → TCP → TLS → auth → query, each phase timed.
    Probe(ProbeArgs),
    /// CI harness: start the services, wait until ready, run CMD with the same
    /// environment, stop everything, exit with CMD's code. Before CMD: the
    /// probe's code (1–7, as `check`) when the database gate fails, 8 when a
    /// service failed, 9 when not ready within --timeout (naming what each
    /// service waits for).
    Run(RunArgs),
    /// Show the state of every service of a running `up`.
    Status(StatusArgs),
    /// Restart a service of a running `up` (and the dependents that wait on it);
    /// a replicated service's name (`worker`) restarts each copy in turn, `worker.2` one.
    Restart(ServiceArg),
    /// Stop a service of a running `up`.
    Stop(ServiceArg),
    /// Start a stopped service of a running `up`.
    Start(ServiceArg),
    /// Print the last output lines of services of a running `up` (all when none
    /// is named), merged in order and prefixed like `up`'s own output; `-f`
    /// follows new lines until Ctrl-C.
    Logs(LogsArgs),
    /// Stream the state transitions and supervisor events of a running `up`,
    /// one line each, until Ctrl-C.
    Events(EventsArgs),
    /// Read supervisor.toml and the env files of a running `up` again, show
    /// what changed per service and apply it: changed services restart (with
    /// what waits for them to be ready), removed ones stop, added ones start,
    /// the rest keep running. Any problem: nothing is touched (exit 3).
    /// Applied, but a service it (re)started did not come up: exit 8, as
    /// `restart`.
    Reload(ReloadArgs),
    /// Export the Plan as systemd units or Kubernetes manifests.
    Export(ExportArgs),
}

/// `up`
#[derive(Debug, Args)]
pub(crate) struct UpArgs {
    /// Services to start (with their dependencies); all when empty.
    pub services: Vec<String>,
    /// Act as an init process: become a child subreaper and reap orphans
    /// (automatic when running as PID 1).
    #[arg(long)]
    pub init: bool,
    /// Skip the database probe gate (validation still runs).
    #[arg(long)]
    pub no_probe: bool,
    /// Development: reload when supervisor.toml or an env file changes, and
    /// restart a service when a file under its `watch` paths changes (minus
    /// `.git`, `node_modules`, editor swap files and `watch_ignore`).
    /// Debounced: changes within 150 ms of each other are one. Kernel
    /// notifications (inotify), no polling. See docs/reload.md, "Watch".
    #[arg(long)]
    pub watch: bool,
}

/// `check`
#[derive(Debug, Args)]
pub(crate) struct CheckArgs {
    /// Validate only; do not connect to the database.
    #[arg(long)]
    pub no_probe: bool,
    /// Machine-readable report.
    #[arg(long)]
    pub json: bool,
}

/// `env`
#[derive(Debug, Args)]
pub(crate) struct EnvArgs {
    /// The service whose environment to print.
    pub service: String,
    /// Show where each value came from and what it shadowed (with the
    /// shadowed value, masked like any other).
    #[arg(long)]
    pub explain: bool,
    /// Print secret values instead of masking them. Without it only the
    /// secret bytes print as `****`: a URL keeps all but its password.
    #[arg(long)]
    pub show_secrets: bool,
    /// Output format.
    #[arg(long, value_enum, default_value = "dotenv")]
    pub format: EnvFormat,
}

/// `env --format`
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum EnvFormat {
    /// `NAME="value"` lines, re-readable as a .env file.
    Dotenv,
    /// A JSON object.
    Json,
}

/// `probe`
#[derive(Debug, Args)]
pub(crate) struct ProbeArgs {
    /// Probe this URL instead of the configured one. Prefer the config: a URL on
    /// the command line is visible to other users in `ps`.
    #[arg(long, value_name = "URL")]
    pub url: Option<String>,
    /// Read the URL from this environment variable instead (keeps it out of
    /// argv; what exported systemd units and Kubernetes initContainers use).
    #[arg(long, value_name = "NAME", conflicts_with = "url")]
    pub url_env: Option<String>,
    /// With --url/--url-env: whose reading of the URL and TLS rules to follow.
    #[arg(long, value_enum, value_name = "CLIENT")]
    pub client: Option<Client>,
    /// Keep retrying transient failures up to this long (e.g. "30s"): an
    /// overall deadline, the last attempt is cut there.
    #[arg(long, value_name = "DURATION")]
    pub wait: Option<String>,
    /// Machine-readable report.
    #[arg(long)]
    pub json: bool,
}

/// `probe --client` takes `[database] client`'s type, [`Client`], by the
/// same names.
impl ValueEnum for Client {
    fn value_variants<'a>() -> &'a [Self] {
        &[Client::Libpq, Client::NodePg]
    }

    fn to_possible_value(&self) -> Option<PossibleValue> {
        let help = match self {
            Client::Libpq => "libpq (psql and most drivers)",
            Client::NodePg => "node-postgres (pg-connection-string 2.x)",
        };
        Some(PossibleValue::new(self.as_str()).help(help))
    }
}

/// `run`
#[derive(Debug, Args)]
pub(crate) struct RunArgs {
    /// Start only these services (and their dependencies), comma-separated.
    #[arg(long, value_delimiter = ',', value_name = "A,B")]
    pub services: Vec<String>,
    /// How long to wait for every service to be ready (e.g. "60s").
    #[arg(long, value_name = "DURATION", default_value = "60s")]
    pub timeout: String,
    /// Skip the database probe gate.
    #[arg(long)]
    pub no_probe: bool,
    /// The command to run once everything is ready.
    #[arg(last = true, required = true, value_name = "CMD")]
    pub cmd: Vec<OsString>,
}

/// `status`
#[derive(Debug, Args)]
pub(crate) struct StatusArgs {
    /// Machine-readable output.
    #[arg(long)]
    pub json: bool,
    /// Exit 0 only if every service is ready or completed and none failed
    /// (usable as a container HEALTHCHECK).
    #[arg(long)]
    pub check: bool,
    /// Redraw the table on every change (a terminal: in place, `q` or Ctrl-C
    /// ends; otherwise a new table per change). No polling.
    #[arg(long, conflicts_with = "check")]
    pub watch: bool,
    /// Control socket path (default: from the config).
    #[arg(long, value_name = "PATH")]
    pub socket: Option<PathBuf>,
}

/// A single service argument for control commands.
#[derive(Debug, Args)]
pub(crate) struct ServiceArg {
    /// The service (`worker` = every copy of a replicated service, `worker.2` = one).
    pub service: String,
    /// Control socket path (default: from the config).
    #[arg(long, value_name = "PATH")]
    pub socket: Option<PathBuf>,
}

/// `reload`
#[derive(Debug, Args)]
pub(crate) struct ReloadArgs {
    /// Show what would change; change nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// The answer as JSON.
    #[arg(long)]
    pub json: bool,
    /// Control socket path (default: from the config).
    #[arg(long, value_name = "PATH")]
    pub socket: Option<PathBuf>,
}

/// `logs`
#[derive(Debug, Args)]
pub(crate) struct LogsArgs {
    /// The services (default: all).
    pub services: Vec<String>,
    /// Number of lines of history (in all).
    #[arg(short = 'n', long, default_value_t = 100)]
    pub lines: usize,
    /// Follow: keep printing new lines until Ctrl-C.
    #[arg(short = 'f', long)]
    pub follow: bool,
    /// One JSON object per line (`ts`, `service`, `stream`, `line`).
    #[arg(long)]
    pub json: bool,
    /// Control socket path (default: from the config).
    #[arg(long, value_name = "PATH")]
    pub socket: Option<PathBuf>,
}

/// `events`
#[derive(Debug, Args)]
pub(crate) struct EventsArgs {
    /// One JSON object per line, as sent by `up`.
    #[arg(long)]
    pub json: bool,
    /// Control socket path (default: from the config).
    #[arg(long, value_name = "PATH")]
    pub socket: Option<PathBuf>,
}

/// `export`
#[derive(Debug, Args)]
pub(crate) struct ExportArgs {
    /// Target.
    #[arg(value_enum)]
    pub target: ExportTarget,
    /// Output directory.
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
    /// Unit name prefix (systemd).
    #[arg(long, value_name = "NAME")]
    pub prefix: Option<String>,
    /// Path of the uaol-supervisor binary used by ExecStartPre (systemd).
    #[arg(long, value_name = "PATH")]
    pub binary: Option<PathBuf>,
    /// Container image (kubernetes).
    #[arg(long, value_name = "IMAGE")]
    pub image: Option<String>,
    /// Namespace (kubernetes).
    #[arg(long, value_name = "NS")]
    pub namespace: Option<String>,
}

/// `export` targets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum ExportTarget {
    /// systemd units + a target.
    Systemd,
    /// Kubernetes manifests.
    Kubernetes,
}

/// Parse arguments; usage errors exit with [`exit::USAGE`], `--help`/`--version` with 0.
pub(crate) fn parse<I: IntoIterator<Item = OsString>>(args: I) -> Result<Cli, ExitCode> {
    Cli::try_parse_from(args).map_err(|e| {
        let _ = e.print();
        if e.use_stderr() {
            exit::code(exit::USAGE)
        } else {
            exit::code(exit::OK)
        }
    })
}
