//! # uaol-supervisor
//!
//! A small process supervisor that resolves every service's environment **once**,
//! validates and probes the database, and only then spawns the services with a
//! cleared, explicit environment.
//!
//! ## Theory of operation
//!
//! ```text
//! supervisor.toml ─► diag::read_text, config::parse  ─► RawConfig ──┐
//! .env file(s) ────► env::read_env_file (line numbers, lint) ────────┤
//! OS environment ──► cmd::common::os_env (captured once) ─────────────┤
//!                                                                     ▼
//! plan::load ─► plan::build: env::Layers (six layers, with provenance),
//!               db::validate (parse, lint, redact), each service, the graph
//!            ─► plan::Plan (immutable) — or plan::Problems, all at once (exit 3)
//! Plan ─► views: cmd::check, cmd::env
//!      ─► executors: supervisor::Supervisor (up, run), export (systemd, kubernetes)
//! supervisor: one select! loop (runtime) around the engine (owns all state);
//!             db gate (db::gate_with: DNS→TCP→TLS→auth→query) before
//!             `uses_database` services; control: the socket, commands with
//!             tickets, streams from the events broadcast
//! ```
//!
//! Every command returns `Result<u8, error::Error>` to `cmd::finish`, the one
//! place that prints an error and picks its exit code (`exit`'s table).
//!
//! Raw input is parsed close to the file (`config`), turned into a validated,
//! immutable [`plan::Plan`] in one place (`plan::build`), and every command is a
//! view of, or an executor for, that Plan. Pure logic (parsing, resolution, the
//! service state machine) is kept apart from I/O; one event loop owns all
//! runtime state. The longer tour, with the state table and how to add a
//! config key, a command or a readiness kind: docs/design.md.

pub(crate) mod cli;
pub(crate) mod cmd;
pub(crate) mod config;
pub(crate) mod control;
pub mod db;
pub(crate) mod diag;
pub mod env;
pub(crate) mod error;
pub(crate) mod exit;
pub(crate) mod export;
pub mod plan;
pub mod secret;
pub(crate) mod supervisor;
pub(crate) mod watch;

use std::ffi::OsString;
use std::process::ExitCode;

/// Parse the command line and run the command. Never panics on bad input.
pub fn run<I: IntoIterator<Item = OsString>>(args: I) -> ExitCode {
    let args: Vec<OsString> = args.into_iter().collect();
    supervisor::heap::tune(&args);
    // Our own PID namespace init (`contain`), before anything else.
    if let Some(outcome) = supervisor::contain::init_entry(&args) {
        return cmd::finish(outcome.map_err(error::Error::from));
    }
    let cli = match cli::parse(args) {
        Ok(cli) => cli,
        Err(code) => return code,
    };
    cmd::dispatch(cli)
}
