//! `up`: load the Plan, then supervise in the foreground until SIGINT/SIGTERM.
//! Exit 0 after a clean stop, `SERVICE_FAILED` when a service failed, the
//! gate's code when the database gate failed, `USAGE` for an unknown service,
//! `ALREADY_RUNNING` when another `up` owns the control socket.

use std::io::IsTerminal;
use std::process::ExitCode;
use std::sync::Arc;

use crate::cli::{Cli, LogFormat as CliLogFormat, UpArgs};
use crate::cmd::common;
use crate::control;
use crate::control::reload::Reloader;
use crate::exit;
use crate::plan::LogFormat;
use crate::supervisor::signals::Signals;
use crate::supervisor::{contain, trace, Options, Supervisor};

/// Run `up`.
pub(crate) fn run(cli: &Cli, args: &UpArgs) -> ExitCode {
    // Captured once: a reload reads the files again, never the OS environment.
    let os_env = common::os_env();
    let plan = match common::load_plan_with(cli, &os_env).and_then(common::runnable) {
        Ok(p) => p,
        Err(code) => return code,
    };
    // First, while this process has one thread (see `contain`).
    if let Err(code) = contain::enter_or_exit(plan.settings.contain) {
        return exit::code(code);
    }
    trace::init();
    crate::supervisor::adopted::own_all_children();
    let opts = Options {
        services: args.services.clone(),
        init: args.init,
        probe: !args.no_probe,
        format: log_format(cli, plan.settings.log_format),
        colour: colour(),
        out: Box::new(std::io::stdout()),
        os_signals: true,
    };
    let plan = Arc::new(plan);
    let (handle, mut sup) = match Supervisor::new(Arc::clone(&plan), opts) {
        Ok(x) => x,
        Err(e) => {
            eprintln!("error: {e}");
            return exit::code(exit::USAGE);
        }
    };
    let bound = match control::listen(&plan) {
        Ok(b) => b,
        Err(code) => return exit::code(code),
    };
    let mut ctx = control::serve::Context::new(&plan, &handle);
    let mut reloader = Reloader::new(Arc::clone(&plan), os_env);
    reloader.config = common::config_path(cli);
    reloader.log_format = cli.log_format.map(|_| plan.settings.log_format);
    reloader.selection = args.services.clone();
    reloader.probe = !args.no_probe;
    ctx.reloader = Some(Arc::new(reloader));
    ctx.watch = args.watch;
    // SIGHUP reloads only without a controlling terminal (see `signals.rs`).
    let hangups = (!Signals::has_terminal()).then(|| {
        let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
        sup.on_hangup(tx);
        rx
    });
    exit::code(control::server::run_reloading(sup, bound, ctx, hangups))
}

/// `--log-format` overrides `[supervisor] log_format`.
pub(crate) fn log_format(cli: &Cli, configured: LogFormat) -> LogFormat {
    match cli.log_format {
        Some(CliLogFormat::Pretty) => LogFormat::Pretty,
        Some(CliLogFormat::Json) => LogFormat::Json,
        None => configured,
    }
}

/// Colour only on a terminal, and never with `NO_COLOR` set (no-color.org).
fn colour() -> bool {
    std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
}
