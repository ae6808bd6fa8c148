//! The one exit-code table. Codes 0–3 keep `pg_isready`'s meanings, 4–7 extend
//! them for the database probe; `check`, `up` and `run` use the same numbers for
//! the same failures before any service starts. Documented in docs/exit-codes.md.

use std::process::ExitCode;

/// Success: config valid, database usable (logged in and queried), clean stop.
pub(crate) const OK: u8 = 0;
/// The database server is up but rejecting connections for now (57P03, 53300, proxy refusal).
pub(crate) const DB_REJECTING: u8 = 1;
/// No usable response from the database (DNS, refused, timeout, not the PG protocol).
pub(crate) const DB_NO_RESPONSE: u8 = 2;
/// No attempt made: the configuration (supervisor.toml, env files, DATABASE_URL) is invalid.
pub(crate) const CONFIG: u8 = 3;
/// TLS configuration or trust failure.
pub(crate) const DB_TLS: u8 = 4;
/// Database authentication failure.
pub(crate) const DB_AUTH: u8 = 5;
/// Database (or CockroachDB cluster routing) missing.
pub(crate) const DB_MISSING: u8 = 6;
/// Connected and authenticated, but the check query failed.
pub(crate) const DB_QUERY: u8 = 7;
/// A supervised service ended `failed` (crash loop, spawn error, critical service).
pub(crate) const SERVICE_FAILED: u8 = 8;
/// `run`: the services did not all become ready within the timeout.
pub(crate) const NOT_READY: u8 = 9;
/// Control commands: no running `up` to talk to, or the socket refused us.
pub(crate) const NO_SUPERVISOR: u8 = 10;
/// `status --check`: some service is not ready, or has failed.
pub(crate) const UNHEALTHY: u8 = 11;
/// `up`: another live `up` already owns the control socket.
pub(crate) const ALREADY_RUNNING: u8 = 12;
/// Command-line usage error (BSD `EX_USAGE`).
pub(crate) const USAGE: u8 = 64;
/// An I/O error the supervisor could not recover from (e.g. cannot write `--out`).
pub(crate) const IO: u8 = 74;
/// Internal error: a bug; please report it.
pub(crate) const INTERNAL: u8 = 70;
/// `run`: CMD could not be started (not found, not executable), as shells do.
pub(crate) const CMD_NOT_RUN: u8 = 127;

/// Convert a table code into a process exit code.
pub(crate) fn code(c: u8) -> ExitCode {
    ExitCode::from(c)
}
