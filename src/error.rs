//! The errors a command ends with, as types. Every `cmd::*` returns
//! `Result<u8, Error>` (`Ok`: the command ran, with this code from the
//! table in [`crate::exit`] — a probe's class, CMD's own code); `cmd::dispatch`
//! is the one place that prints an [`Error`] (`error: …`, a hint where there
//! is one) and exits with [`Error::exit_code`] — as nextest's
//! `ExpectedError::process_exit_code` and just's `Error::code()` do.
//!
//! The layers below have their own small error types (`SpawnError`,
//! `PathError`, `ClientError`, …); this enum only gathers them and gives each
//! its code, so that the code for a failure is decided in one table.

use std::fmt::Write as _;
use std::path::PathBuf;
use std::time::Duration;

use crate::config::units::UnitError;
use crate::control::bind::BindError;
use crate::control::client::ClientError;
use crate::control::path::PathError;
use crate::control::ListenError;
use crate::db::{GateFailure, UrlError};
use crate::diag::visible::escape_str;
use crate::exit;
use crate::plan::Problems;
use crate::supervisor::contain::{InternalArgument, PidnsRefused};
use crate::supervisor::reaper::ReaperError;
use crate::supervisor::runtime::{NoRuntime, StartError};
use crate::supervisor::spawn::SpawnError;

/// Why a command failed; each variant has one exit code.
#[derive(Debug, thiserror::Error)]
pub(crate) enum Error {
    /// The configuration has problems (all of them, one per line).
    #[error("{0}")]
    Config(Problems),
    /// A command-line value that does not parse (`--timeout`, `--wait`).
    #[error("--{flag}: {message}")]
    Flag {
        /// The flag, without dashes.
        flag: &'static str,
        /// Why.
        message: UnitError,
    },
    /// `up` / `run` cannot prepare the supervisor.
    #[error(transparent)]
    Start(#[from] StartError),
    /// `up` / `run`: `contain = "pidns"` and the kernel refused.
    #[error("{0} (set [supervisor] contain = \"auto\" or \"none\" to run without)")]
    Contain(PidnsRefused),
    /// `check`: the same refusal, found by a trial.
    #[error(transparent)]
    ContainTrial(PidnsRefused),
    /// The tokio runtime did not start.
    #[error(transparent)]
    Runtime(#[from] NoRuntime),
    /// The reaper did not start.
    #[error(transparent)]
    Reaper(#[from] ReaperError),
    /// No control socket path for a client.
    #[error(transparent)]
    SocketPath(#[from] PathError),
    /// `up` cannot claim its control socket.
    #[error(transparent)]
    Listen(#[from] ListenError),
    /// A client cannot talk to `up`.
    #[error(transparent)]
    Client(#[from] ClientError),
    /// `reload` cannot talk to `up` (any transport failure: no supervisor).
    #[error(transparent)]
    ReloadClient(ClientError),
    /// A running `up` refused the request.
    #[error("{message}")]
    Refused {
        /// What it said.
        message: String,
        /// The code it gave, or the one for its kind of refusal.
        code: u8,
    },
    /// `reload` refused or failed: what `up` said, then its problems.
    #[error("{}", reload_text(.error, .problems))]
    Reload {
        /// The error line, if any.
        error: Option<String>,
        /// The problem lines.
        problems: Vec<String>,
        /// The code `up` gave.
        code: u8,
    },
    /// `check`: the database probe failed.
    #[error("database probe failed: {}", .0.message)]
    Probe(GateFailure),
    /// `probe` without a URL to probe.
    #[error("the configuration has no [database] section; add one, or pass --url-env NAME")]
    NoDatabase,
    /// `probe --url-env NAME` with NAME unset.
    #[error("--url-env {0}: the variable is not set (or not UTF-8) in this environment")]
    UrlEnvUnset(String),
    /// `probe --url`: the URL is invalid (every error, then the warnings).
    #[error("{}", invalid_url_text(.errors, .warnings))]
    InvalidUrl {
        /// What is wrong.
        errors: Vec<UrlError>,
        /// What is odd.
        warnings: Vec<String>,
    },
    /// `env` of a replicated service: name one copy.
    #[error("`{service}` has {} replicas, each with its own environment (REPLICA, REPLICA_PORT); name one: {}", copies.len(), copies.join(", "))]
    Replicas {
        /// The name given.
        service: String,
        /// The copies' names.
        copies: Vec<String>,
    },
    /// `env` of a service the Plan does not have.
    #[error("unknown service `{service}`{hint}; services: {}", known.join(", "))]
    UnknownService {
        /// The name given.
        service: String,
        /// ` (did you mean …?)`, or empty.
        hint: String,
        /// Every service.
        known: Vec<String>,
    },
    /// `export --prefix` that is no unit/object name.
    #[error(
        "--prefix {0:?} is not a valid unit/object name: use lowercase letters, digits and '-'"
    )]
    ExportPrefix(String),
    /// `export systemd` without `--binary` and no path of our own.
    #[error("cannot find this binary's path ({0}); pass --binary PATH")]
    ExportBinary(std::io::Error),
    /// `export kubernetes` without `--image`.
    #[error("export kubernetes needs --image IMAGE (the container image holding your services and uaol-supervisor)")]
    ExportImage,
    /// `export`: the files cannot be written.
    #[error("failed to write into {}: {err} (hint: check the directory exists or can be created, and is writable)", dir.display())]
    Write {
        /// The output directory.
        dir: PathBuf,
        /// Why.
        err: std::io::Error,
    },
    /// A JSON rendering failed (a bug).
    #[error(transparent)]
    Json(#[from] serde_json::Error),
    /// `run`: no SIGINT/SIGTERM handlers.
    #[error("cannot install signal handlers")]
    Signals,
    /// `run`: CMD could not be started.
    #[error(transparent)]
    CmdNotStarted(SpawnError),
    /// `run`: something failed before CMD; the supervisor's own code.
    #[error("CMD not run: {}", escape_str(.why))]
    CmdNotRun {
        /// What failed.
        why: String,
        /// The supervisor's exit code.
        code: u8,
    },
    /// `run`: not every service became ready in time.
    #[error("{}", not_ready_text(*.timeout, .waiting, .tails))]
    NotReady {
        /// The `--timeout`.
        timeout: Duration,
        /// Each service not ready, and what it waits for.
        waiting: Vec<String>,
        /// The last output lines of each (service, lines), raw.
        tails: Vec<(String, Vec<String>)>,
    },
    /// `run`: a service failed (by the end, whatever CMD returned).
    #[error("a service failed: {}", escape_str(.0))]
    ServiceFailed(String),
    /// `run`: a service failed while CMD ran, so CMD was stopped.
    #[error("a service failed while CMD was running: {}; stopping CMD", escape_str(.0))]
    FailedDuringCmd(String),
    /// `status --check`: not every service is ready.
    #[error("{}", .0.join("; "))]
    Unhealthy(Vec<String>),
    /// The namespace init's argument, given by hand.
    #[error(transparent)]
    InternalArgument(#[from] InternalArgument),
}

impl Error {
    /// The exit code, from the one table in [`crate::exit`].
    pub(crate) fn exit_code(&self) -> u8 {
        match self {
            Error::Config(p) => p.exit_code(),
            Error::Flag { .. } | Error::InternalArgument(_) => exit::USAGE,
            Error::ExportPrefix(_) | Error::ExportBinary(_) | Error::ExportImage => exit::USAGE,
            Error::Start(StartError::UnknownService(_)) => exit::USAGE,
            Error::Start(StartError::Reaper(_)) | Error::Reaper(_) => exit::INTERNAL,
            Error::Contain(_) | Error::ContainTrial(_) | Error::SocketPath(_) => exit::CONFIG,
            Error::NoDatabase | Error::UrlEnvUnset(_) | Error::InvalidUrl { .. } => exit::CONFIG,
            Error::Replicas { .. } | Error::UnknownService { .. } => exit::CONFIG,
            Error::Runtime(_) | Error::Json(_) | Error::Signals => exit::INTERNAL,
            Error::Listen(e) => listen_code(e),
            Error::Client(e) => client_code(e),
            Error::ReloadClient(_) => exit::NO_SUPERVISOR,
            Error::Refused { code, .. } | Error::Reload { code, .. } => *code,
            Error::CmdNotRun { code, .. } => *code,
            Error::Probe(f) => f.exit_code,
            Error::Write { .. } => exit::IO,
            Error::CmdNotStarted(_) => exit::CMD_NOT_RUN,
            Error::NotReady { .. } => exit::NOT_READY,
            Error::ServiceFailed(_) | Error::FailedDuringCmd(_) => exit::SERVICE_FAILED,
            Error::Unhealthy(_) => exit::UNHEALTHY,
        }
    }

    /// Everything printed to stderr for it: `error: …` and any hint, or the
    /// variant's own lines where it is a report rather than one error.
    pub(crate) fn report(&self) -> String {
        match self {
            // Its Display ends with a newline.
            Error::Config(_) => format!("error: {self}"),
            Error::Unhealthy(_) => format!("unhealthy: {self}\n"),
            Error::Reload { .. } | Error::InvalidUrl { .. } | Error::NotReady { .. } => {
                self.to_string()
            }
            _ => format!("error: {self}\n"),
        }
    }
}

fn listen_code(e: &ListenError) -> u8 {
    match e {
        ListenError::Path(_) => exit::CONFIG,
        ListenError::Bind(BindError::InUse(_)) => exit::ALREADY_RUNNING,
        ListenError::Bind(BindError::NotSocket(_)) => exit::CONFIG,
        ListenError::Bind(BindError::Io(..)) => exit::IO,
    }
}

fn client_code(e: &ClientError) -> u8 {
    match e {
        ClientError::NoSupervisor(_) | ClientError::Connect(..) | ClientError::Untrusted(..) => {
            exit::NO_SUPERVISOR
        }
        ClientError::Exchange(..) => exit::INTERNAL,
    }
}

fn reload_text(error: &Option<String>, problems: &[String]) -> String {
    let mut out = String::new();
    if let Some(e) = error {
        let _ = writeln!(out, "error: {e}");
    }
    problems.iter().for_each(|p| {
        let _ = writeln!(out, "{p}");
    });
    out
}

fn invalid_url_text(errors: &[UrlError], warnings: &[String]) -> String {
    let mut out = String::new();
    for e in errors {
        let _ = writeln!(out, "error: [{}] {}", e.kind, e.message);
    }
    for w in warnings {
        let _ = writeln!(out, "warning: {w}");
    }
    let _ = writeln!(
        out,
        "no connection attempted: the database URL is invalid (exit {})",
        exit::CONFIG
    );
    out
}

fn not_ready_text(
    timeout: Duration,
    waiting: &[String],
    tails: &[(String, Vec<String>)],
) -> String {
    let mut out = format!(
        "error: not ready after {timeout:?}: {}\n",
        waiting.join("; ")
    );
    for (name, lines) in tails.iter().filter(|(_, l)| !l.is_empty()) {
        let _ = writeln!(out, "--- last output of {name} ---");
        for l in lines {
            let _ = writeln!(out, "{}", escape_str(l));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_come_from_the_one_table() {
        assert_eq!(Error::Signals.exit_code(), exit::INTERNAL);
        assert_eq!(Error::NoDatabase.exit_code(), exit::CONFIG);
        assert_eq!(Error::Unhealthy(vec![]).exit_code(), exit::UNHEALTHY);
        let e = Error::Flag {
            flag: "timeout",
            message: UnitError::Duration("x".into()),
        };
        assert_eq!(
            (e.exit_code(), e.report().as_str()),
            (
                exit::USAGE,
                "error: --timeout: invalid duration `x` (expected e.g. \"250ms\", \"10s\", \"5m\")\n"
            )
        );
    }

    #[test]
    fn reports_keep_their_own_shape() {
        let u = Error::Unhealthy(vec!["a is starting".into(), "b is failed".into()]);
        assert_eq!(u.report(), "unhealthy: a is starting; b is failed\n");
        let n = Error::NotReady {
            timeout: Duration::from_secs(1),
            waiting: vec!["slow (running)".into()],
            tails: vec![
                ("slow".into(), vec!["a\x1b".into()]),
                ("quiet".into(), vec![]),
            ],
        };
        assert_eq!(
            n.report(),
            "error: not ready after 1s: slow (running)\n--- last output of slow ---\na\\x1b\n"
        );
    }
}
