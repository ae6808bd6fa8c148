//! The supervision engine: spawn, watch, restart and stop services per the Plan.
//!
//! Layout (pure at the bottom, I/O on top):
//! - [`lifecycle`] + [`state`]: the lifecycle as data and the pure transition
//!   function (table-tested in `state_tests.rs`);
//! - [`restart`]: backoff delay, jitter, restart window (pure);
//! - [`graph`]: selection, dependency conditions, stop order (pure);
//! - [`format`] + [`visible`] (+ `scan`): how lines look, control characters made
//!   visible (pure);
//! - [`contain`] (+ `contain_sys`, `contain_init`): the PID namespace that
//!   nothing outlives, chosen once before the supervisor starts;
//! - [`spawn`], [`reaper`], [`ready`], [`logs`], [`sink`], [`rotate`],
//!   [`signals`], [`trace`]: the mechanisms; [`child_setup`]: a service's
//!   user, limits, umask and nice, applied between fork and exec;
//! - [`engine`] (+ `launch`, `schedule`, `memory`, [`waiting`]): the synchronous owner of all state;
//!   [`runtime`]: the one `select!` loop around it; [`control`] (+ `requests`,
//!   `tickets`, `swap`): requests, reloads, commands answered once settled, and
//!   health for `run` and the control socket; [`events`]: what the engine publishes.

pub mod adopted;
pub mod child_setup;
pub mod chunk;
pub mod contain;
#[cfg(target_os = "linux")]
mod contain_init;
#[cfg(not(target_os = "linux"))]
#[path = "contain_none.rs"]
mod contain_sys;
#[cfg(target_os = "linux")]
mod contain_sys;
mod contain_thread;
pub mod control;
pub mod engine;
pub mod events;
mod forkexec;
pub mod format;
pub mod graph;
mod launch;
pub mod lifecycle;
pub mod logs;
mod memory;
pub mod ready;
pub mod reaper;
mod report;
mod requests;
pub mod restart;
pub mod rotate;
pub mod runtime;
mod scan;
mod schedule;
pub mod signals;
pub mod sink;
pub mod spawn;
pub mod state;
mod swap;
pub mod tail;
mod ticket_words;
mod tickets;
pub mod trace;
pub mod visible;
pub mod waiting;

pub use control::{Handle, Health, Request, Snapshot};
pub use runtime::{run_blocking, Options, Supervisor};

#[cfg(test)]
pub(crate) mod testkit;
#[cfg(test)]
mod tests;
