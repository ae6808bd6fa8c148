//! The supervision engine: spawn, watch, restart and stop services per the Plan.
//!
//! Layout (pure at the bottom, I/O on top):
//! - [`state`]: the lifecycle enum and the pure transition function;
//! - [`restart`]: backoff delay, jitter, restart window (pure);
//! - [`graph`]: selection, dependency conditions, stop order (pure);
//! - [`spawn`], [`reaper`], [`ready`], [`logs`], [`sink`], [`signals`]: mechanisms;
//! - [`engine`]: the synchronous owner of all state; [`runtime`]: the one
//!   `select!` loop around it; [`control`]: requests and health for `run` and
//!   the control socket.

pub mod adopted;
pub mod control;
pub mod engine;
pub mod graph;
pub mod logs;
pub mod ready;
pub mod reaper;
mod report;
pub mod restart;
pub mod runtime;
pub mod signals;
pub mod sink;
pub mod spawn;
pub mod state;
pub mod trace;

pub use control::{Handle, Health, Request, Snapshot};
pub use runtime::{run_blocking, Options, Supervisor};

#[cfg(test)]
mod testkit;
#[cfg(test)]
mod tests;
