//! The supervision engine: spawn, watch, restart and stop services per the Plan.
//!
//! Layout (pure at the bottom, I/O on top):
//! - [`state`]: the lifecycle enum and the pure transition function;
//! - [`restart`]: backoff delay, jitter, restart window (pure);
//! - `graph`: selection, dependency conditions, stop order (pure);
//! - `spawn`, `reaper`, `ready`, `logs`, `sink`, `signals`: the I/O mechanisms;
//! - `runtime`: the one event loop that owns all state and executes actions.

pub mod restart;
pub mod state;
