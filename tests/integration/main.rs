//! One integration-test binary: real processes, temp dirs, hard timeouts.
//! One file per subcommand; shared fixtures in `support`.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod pg;
mod support;

mod badinput;
mod check;
mod cli;
mod contain;
mod control;
mod corpus;
mod credentials;
mod docs;
mod env;
mod escape;
mod export;
mod export_replicas;
mod hostile_output;
mod limits;
mod memory;
mod prestart;
mod probe;
mod replicas;
mod run;
mod secrets;
mod up;
mod up_db;
mod upkit;
