//! One file per subcommand; each is a short function from its arguments to an
//! exit code. `dispatch` is the only place that knows them all.

use std::process::ExitCode;

pub(crate) mod check;
pub(crate) mod common;
pub(crate) mod control;
pub(crate) mod env;
pub(crate) mod events;
pub(crate) mod export;
pub(crate) mod logs;
pub(crate) mod probe;
pub(crate) mod reload;
pub(crate) mod run;
pub(crate) mod status;
pub(crate) mod up;
pub(crate) mod watch;

use crate::cli::{Cli, Command};

/// Run the parsed command.
pub(crate) fn dispatch(cli: Cli) -> ExitCode {
    match &cli.command {
        Command::Up(args) => up::run(&cli, args),
        Command::Check(args) => check::run(&cli, args),
        Command::Env(args) => env::run(&cli, args),
        Command::Probe(args) => probe::run(&cli, args),
        Command::Run(args) => run::run(&cli, args),
        Command::Status(args) => status::run(&cli, args),
        Command::Restart(args) => control::action(&cli, args, control::Action::Restart),
        Command::Stop(args) => control::action(&cli, args, control::Action::Stop),
        Command::Start(args) => control::action(&cli, args, control::Action::Start),
        Command::Logs(args) => logs::run(&cli, args),
        Command::Events(args) => events::run(&cli, args),
        Command::Reload(args) => reload::run(&cli, args),
        Command::Export(args) => export::run(&cli, args),
    }
}
