//! The validated, immutable Plan: the only input to every executor (`up`, `run`,
//! `export`) and view (`check`, `env`). Built once by [`load`] from the raw
//! config and the resolved environments; never re-read from the OS afterwards.
//!
//! - [`load`] → `build` (global tables, env files, database) → `service`
//!   (one service: env layers, argv, options) → `deps` (conditions, cycles,
//!   start order via `graph`);
//! - [`Problems`]: every problem of one pass, one report, exit code 3.

mod build;
pub mod command;
mod ctx;
mod deps;
pub mod graph;
mod load;
mod options;
mod pgvars;
mod problems;
mod scrub;
mod service;
mod types;

pub use load::{load, load_text};
pub use problems::{Locator, Problem, Problems};
pub use types::*;
#[cfg(test)]
mod tests;
