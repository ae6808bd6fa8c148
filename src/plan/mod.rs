//! The validated, immutable Plan: the only input to every executor (`up`, `run`,
//! `export`) and view (`check`, `env`). Built once by [`load`](fn@load) from the raw
//! config and the resolved environments; never re-read from the OS afterwards.
//!
//! - [`load`](fn@load): file → text → `config::parse` → `build`;
//! - `build`: `[supervisor]`, env files, `[env]`, `[database]` (via
//!   `db::validate`), then each service and the graph;
//! - `service`: one service's six env layers, with `program` (argv, PATH
//!   resolution, cwd) and `options` (backoff, ready, signals, sizes, log file);
//! - `run_as` (+ `run_as_access`), `limits`: the exec context — `user` /
//!   `group` resolved to ids, `limits`, `umask`, `nice` ([`ExecContext`]);
//!   `privilege`: whether this process may apply it (asked by check/up/run);
//! - `replicas`: `replicas = N` expanded into `NAME.1` … `NAME.N` here,
//!   each with `REPLICA` / `REPLICA_PORT`;
//! - `deps` + `graph`: conditions, cycles named, start order;
//! - `ctx` (`BuildCtx`): where problems and warnings are
//!   collected, typed readers; `global`: what every service of one build
//!   shares (filled by `build`, read by `service`);
//! - `command`: shell-like splitting and PATH lookup (pure);
//! - `diff` (+ `diff_render`): what a reload would change, pure;
//! - `names`: service names as unit, object and file names (one mapping);
//! - [`Problems`]: every problem of one pass, one report, exit code 3.

mod build;
pub(crate) mod command;
mod ctx;
mod deps;
pub(crate) mod diff;
pub(crate) mod diff_render;
mod exec;
mod exec_types;
mod global;
pub(crate) mod graph;
mod interpreter;
mod limits;
mod load;
pub(crate) mod names;
mod options;
pub(crate) mod privilege;
mod problems;
mod program;
pub(crate) mod replicas;
mod run_as;
mod run_as_access;
mod scrub;
mod service;
mod types;
mod watch;
pub use watch::DEFAULT_IGNORE as DEFAULT_WATCH_IGNORE;

pub use crate::diag::Problem;
pub use exec_types::*;
pub use interpreter::explain_not_found;
pub use load::{load, load_text};
pub use problems::Problems;
pub use types::*;

#[cfg(test)]
mod diff_tests;
#[cfg(test)]
mod exec_tests;
#[cfg(test)]
mod tests;
