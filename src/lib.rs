//! # uaol-supervisor
//!
//! A small process supervisor that resolves every service's environment **once**,
//! validates and probes the database, and only then spawns the services with a
//! cleared, explicit environment.
//!
//! ## Theory of operation
//!
//! ```text
//! supervisor.toml ─┐
//! .env file(s) ────┼─► config::load ─► env::resolve (with provenance)
//! OS environment ──┘         │
//!                            ├─► plan::build: graph, paths, commands ─┐
//!                            └─► db::validate: parse, lint, redact    ┴─► Plan (immutable)
//! Plan ─► supervisor (start in dependency order, watch, restart, log, stop in reverse)
//!            └─ db gate: probe (DNS→TCP→TLS→auth→query) before `uses_database` services
//! ```
//!
//! Raw input is parsed close to the file (`config`), turned into a validated,
//! immutable [`plan::Plan`] in one place (`plan::build`), and every command is a
//! view of, or an executor for, that Plan. Pure logic (parsing, resolution, the
//! service state machine) is kept apart from I/O; one event loop owns all
//! runtime state.

pub mod cli;
pub mod cmd;
pub mod config;
pub mod control;
pub mod db;
pub mod env;
pub mod exit;
pub mod export;
pub mod plan;
pub mod secret;
pub mod supervisor;
pub mod watch;

use std::ffi::OsString;
use std::process::ExitCode;

/// Parse the command line and run the command. Never panics on bad input.
pub fn run<I: IntoIterator<Item = OsString>>(args: I) -> ExitCode {
    let args: Vec<OsString> = args.into_iter().collect();
    // Our own PID namespace init (`contain`), before anything else.
    if let Some(code) = supervisor::contain::init_entry(&args) {
        return code;
    }
    let cli = match cli::parse(args) {
        Ok(cli) => cli,
        Err(code) => return code,
    };
    cmd::dispatch(cli)
}
