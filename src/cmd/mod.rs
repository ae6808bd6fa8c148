//! One file per subcommand; each is a short function from its arguments to
//! `Result<u8, Error>` (`Ok`: the command's own exit code). `dispatch` is the
//! only place that knows them all, and [`finish`] the one place that prints
//! an error and turns it into the exit code (see `src/error.rs`); [`warn`] is
//! the one way to say `warning: …`.

use std::process::ExitCode;

pub(crate) mod check;
pub(crate) mod common;
pub(crate) mod env;
pub(crate) mod events;
pub(crate) mod export;
pub(crate) mod logs;
pub(crate) mod probe;
pub(crate) mod reload;
pub(crate) mod remote;
pub(crate) mod run;
pub(crate) mod status;
pub(crate) mod status_watch;
pub(crate) mod up;

use crate::cli::{Cli, Command};
use crate::error::Error;
use crate::exit;
use crate::supervisor::commands::Verb;

/// What every command returns: its exit code, or the error it ended with.
pub(crate) type Outcome = Result<u8, Error>;

/// Run the parsed command.
pub(crate) fn dispatch(cli: Cli) -> ExitCode {
    finish(match &cli.command {
        Command::Up(args) => up::run(&cli, args),
        Command::Check(args) => check::run(&cli, args),
        Command::Env(args) => env::run(&cli, args),
        Command::Probe(args) => probe::run(&cli, args),
        Command::Run(args) => run::run(&cli, args),
        Command::Status(args) => status::run(&cli, args),
        Command::Restart(args) => remote::verb(&cli, args, Verb::Restart),
        Command::Stop(args) => remote::verb(&cli, args, Verb::Stop),
        Command::Start(args) => remote::verb(&cli, args, Verb::Start),
        Command::Logs(args) => logs::run(&cli, args),
        Command::Events(args) => events::run(&cli, args),
        Command::Reload(args) => reload::run(&cli, args),
        Command::Export(args) => export::run(&cli, args),
    })
}

/// The one place an error is printed: its report on stderr, then its code.
pub(crate) fn finish(outcome: Outcome) -> ExitCode {
    match outcome {
        Ok(code) => exit::code(code),
        Err(e) => {
            eprint!("{}", e.report());
            exit::code(e.exit_code())
        }
    }
}

/// `warning: …` on stderr: what the user should know, not a failure.
pub(crate) fn warn(what: impl std::fmt::Display) {
    eprintln!("warning: {what}");
}
