//! One file per subcommand; each is a short function from its arguments to an
//! exit code. `dispatch` is the only place that knows them all.

use std::process::ExitCode;

pub mod check;
pub mod common;
pub mod env;
pub mod export;
pub mod probe;
pub mod run;
pub mod up;

use crate::cli::{Cli, Command};
use crate::exit;

/// Run the parsed command.
pub fn dispatch(cli: Cli) -> ExitCode {
    match &cli.command {
        Command::Up(args) => up::run(&cli, args),
        Command::Check(args) => check::run(&cli, args),
        Command::Env(args) => env::run(&cli, args),
        Command::Probe(args) => probe::run(&cli, args),
        Command::Run(args) => run::run(&cli, args),
        Command::Status(_) => not_yet("status"),
        Command::Restart(_) => not_yet("restart"),
        Command::Stop(_) => not_yet("stop"),
        Command::Start(_) => not_yet("start"),
        Command::Logs(_) => not_yet("logs"),
        Command::Export(args) => export::run(&cli, args),
    }
}

fn not_yet(name: &str) -> ExitCode {
    eprintln!("error: `{name}` is not implemented yet");
    exit::code(exit::INTERNAL)
}
