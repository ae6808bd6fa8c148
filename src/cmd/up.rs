//! `up`: load the Plan, then supervise in the foreground until SIGINT/SIGTERM.
//! Exit 0 after a clean stop, `SERVICE_FAILED` when a service failed, the
//! gate's code when the database gate failed, `USAGE` for an unknown service,
//! `ALREADY_RUNNING` when another `up` owns the control socket.

use std::sync::Arc;

use super::{common, warn, Outcome};
use crate::cli::{Cli, UpArgs};
use crate::control::reloader::Reloader;
use crate::control::{self, Listening};
use crate::error::Error;
use crate::supervisor::signals::Signals;
use crate::supervisor::{contain, shed, trace, Options, Supervisor};

/// Run `up`.
pub(crate) fn run(cli: &Cli, args: &UpArgs) -> Outcome {
    // Captured once: a reload reads the files again, never the OS environment.
    let os_env = common::os_env();
    let plan = common::runnable(common::load_plan_with(cli, &os_env)?)?;
    // First, while this process has one thread (see `contain`).
    contain::enter(plan.settings.contain).map_err(Error::Contain)?;
    trace::init();
    // A long-lived process: give back the pages of start-up and reloads.
    shed::enable();
    crate::supervisor::adopted::own_all_children();
    let opts = Options {
        services: args.services.clone(),
        init: args.init,
        probe: !args.no_probe,
        format: plan.settings.log_format,
        colour: common::colour(),
        out: Box::new(std::io::stdout()),
        os_signals: true,
    };
    let plan = Arc::new(plan);
    let (handle, mut sup) = Supervisor::new(Arc::clone(&plan), opts)?;
    let bound = match control::listen(&plan)? {
        Listening::On(b) => Some(b),
        Listening::Without(e) => {
            warn(format_args!(
                "no control socket ({e}); set [supervisor] control_socket to a writable path"
            ));
            None
        }
    };
    let mut ctx = control::context::Context::new(&plan, &handle);
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
    Ok(control::server::run_reloading(sup, bound, ctx, hangups)?)
}
