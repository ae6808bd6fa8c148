//! The supervision engine: spawn, watch, restart and stop services per the Plan.
//!
//! Layout (pure at the bottom, I/O on top):
//! - [`lifecycle`] + [`state`]: the lifecycle as data and the pure transition
//!   function (table-tested in `state_tests.rs`);
//! - [`restart`]: backoff delay, jitter, restart window (pure);
//! - [`graph`]: selection, dependency conditions, stop order (pure);
//! - [`format`](mod@format): how lines look; control characters are made visible by
//!   [`crate::diag::visible`] (pure);
//! - [`contain`] (+ `contain_sys`, `contain_init`): the PID namespace that
//!   nothing outlives, chosen once before the supervisor starts;
//! - [`spawn`], [`reaper`], [`ready`], [`logs`], [`sink`], [`rotate`],
//!   [`signals`], [`trace`]: the mechanisms; [`child_setup`]: a service's
//!   user, limits, umask and nice, applied between fork and exec;
//! - [`usage`]: a process group's RSS (the one reader, `statm`) and CPU, for
//!   `max_memory` (`memory`) and `status`;
//! - [`engine`] (+ `launch`, `schedule`, `memory`, [`waiting`]): the synchronous owner of all state;
//!   [`runtime`]: the one `select!` loop around it; [`commands`] (+ `requests`,
//!   `tickets`, `restart_plan`, `swap`): requests, reloads, commands answered once settled, and
//!   health for `run` and the control socket; [`events`]: what the engine publishes;
//!   [`shed`]: giving back the pages of a phase that is over (start-up, a reload).

pub(crate) mod adopted;
pub(crate) mod child_setup;
pub(crate) mod chunk;
pub(crate) mod commands;
pub(crate) mod contain;
#[cfg(target_os = "linux")]
mod contain_init;
mod contain_refusal;
#[cfg(not(target_os = "linux"))]
#[path = "contain_none.rs"]
mod contain_sys;
#[cfg(target_os = "linux")]
mod contain_sys;
mod contain_thread;
mod emit;
pub(crate) mod engine;
pub(crate) mod events;
mod exec_path;
mod forkexec;
pub(crate) mod format;
pub(crate) mod graph;
pub(crate) mod heap;
mod launch;
pub(crate) mod lifecycle;
pub(crate) mod logs;
mod memory;
pub(crate) mod ready;
pub(crate) mod reaper;
mod report;
mod requests;
pub(crate) mod restart;
mod restart_plan;
pub(crate) mod rotate;
pub(crate) mod runtime;
mod schedule;
pub(crate) mod shed;
pub(crate) mod signals;
pub(crate) mod sink;
pub(crate) mod spawn;
mod spawn_error;
pub(crate) mod state;
mod swap;
pub(crate) mod tail;
mod ticket_words;
mod tickets;
pub(crate) mod trace;
pub(crate) mod usage;
mod vfork;
pub(crate) mod waiting;

pub(crate) use commands::{EngineRequest, Handle};
pub(crate) use runtime::{Options, Supervisor};

#[cfg(test)]
pub(crate) mod testkit;
#[cfg(test)]
mod tests;
