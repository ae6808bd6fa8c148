//! `run [--services A,B] [--timeout DUR] -- CMD...`: the CI harness. Start the
//! services (and the database gate), wait until all are ready — a oneshot
//! must have *completed*, which is normal, not a failure — then run CMD with
//! the resolved global environment, stop everything in order, and exit with
//! CMD's code (128+N when killed by signal N).
//!
//! CMD stays in our process group with our stdio, so a terminal's Ctrl-C
//! reaches it directly (we do not send it a second SIGINT, as `just` does
//! not); SIGTERM to us is forwarded. If a service fails while CMD runs, CMD
//! gets SIGTERM, everything stops, and the exit code is SERVICE_FAILED. On a
//! readiness timeout the services not ready are named with their last lines.

use std::ffi::OsString;
use std::io::IsTerminal;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;
use tokio::signal::unix::{signal, SignalKind};
use tokio::sync::oneshot;

use crate::cli::{Cli, RunArgs};
use crate::cmd::{common, up};
use crate::config::units::parse_duration;
use crate::exit;
use crate::plan::Env;
use crate::supervisor::{self, reaper, spawn, trace, Handle, Options, Request, Supervisor};

/// Run `run`.
pub fn run(cli: &Cli, args: &RunArgs) -> ExitCode {
    let timeout = match parse_duration(&args.timeout) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("error: --timeout: {e}");
            return exit::code(exit::USAGE);
        }
    };
    let plan = match common::load_runnable_plan(cli) {
        Ok(p) => p,
        Err(code) => return code,
    };
    // First, while this process has one thread (see `contain`).
    if let Err(code) = supervisor::contain::enter_or_exit(plan.settings.contain) {
        return exit::code(code);
    }
    trace::init();
    let env = plan.global_env.clone();
    let opts = Options {
        services: args.services.clone(),
        init: false,
        probe: !args.no_probe,
        format: up::log_format(cli, plan.settings.log_format),
        colour: std::io::stdout().is_terminal()
            && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty()),
        out: Box::new(std::io::stdout()),
        os_signals: false,
    };
    crate::supervisor::adopted::own_all_children();
    let (handle, sup) = match Supervisor::new(Arc::new(plan), opts) {
        Ok(x) => x,
        Err(e) => {
            eprintln!("error: {e}");
            return exit::code(exit::USAGE);
        }
    };
    let rt = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the runtime: {e}");
            return exit::code(exit::INTERNAL);
        }
    };
    exit::code(rt.block_on(harness(handle, sup, env, args.cmd.clone(), timeout)))
}

/// What ended the wait for readiness.
enum Wait {
    Ready,
    Failed(String),
    TimedOut,
    Signal(i32),
}

async fn harness(
    h: Handle,
    sup: Supervisor,
    env: Env,
    cmd: Vec<OsString>,
    timeout: Duration,
) -> u8 {
    let sup = tokio::spawn(sup.run());
    let (Ok(mut int), Ok(mut term)) = (
        signal(SignalKind::interrupt()),
        signal(SignalKind::terminate()),
    ) else {
        eprintln!("error: cannot install signal handlers");
        return finish(&h, sup, exit::INTERNAL).await;
    };
    let mut health = h.health.clone();
    let waited = tokio::select! {
        r = tokio::time::timeout(timeout, health.wait_for(|x| x.all_ready || x.failed.is_some() || x.done)) => match r {
            Ok(Ok(x)) if x.failed.is_some() => Wait::Failed(x.failed.clone().unwrap_or_default()),
            Ok(Ok(x)) if x.all_ready => Wait::Ready,
            Ok(_) => Wait::Failed("the supervisor ended".into()),
            Err(_) => Wait::TimedOut,
        },
        _ = int.recv() => Wait::Signal(libc::SIGINT),
        _ = term.recv() => Wait::Signal(libc::SIGTERM),
    };
    match waited {
        Wait::Ready => {}
        Wait::Failed(why) => {
            eprintln!("error: a service failed before CMD could run: {why}");
            return finish(&h, sup, exit::SERVICE_FAILED).await;
        }
        Wait::TimedOut => {
            report_not_ready(&h, timeout).await;
            return finish(&h, sup, exit::NOT_READY).await;
        }
        Wait::Signal(n) => return finish(&h, sup, 128 + n as u8).await,
    }
    let code = run_cmd(&h, &env, &cmd, &mut int, &mut term).await;
    finish(&h, sup, code).await
}

/// Run CMD to its end; SERVICE_FAILED when a service failed meanwhile.
async fn run_cmd(
    h: &Handle,
    env: &Env,
    cmd: &[OsString],
    int: &mut tokio::signal::unix::Signal,
    term: &mut tokio::signal::unix::Signal,
) -> u8 {
    let reaper = match reaper::global() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: {e}");
            return exit::INTERNAL;
        }
    };
    let child = match spawn::foreground(&reaper, cmd, env) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("error: {e}");
            return exit::CMD_NOT_RUN;
        }
    };
    let pid = Pid::from_raw(child.pid);
    let mut exit_rx = child.exit;
    let mut health = h.health.clone();
    let mut service_failed = false;
    loop {
        tokio::select! {
            r = &mut exit_rx => {
                let code = match r {
                    Ok(supervisor::state::Exit::Code(c)) => c.clamp(0, 255) as u8,
                    Ok(supervisor::state::Exit::Signal(s)) => 128u8.saturating_add(s as u8),
                    Err(_) => exit::INTERNAL,
                };
                return if service_failed { exit::SERVICE_FAILED } else { code };
            }
            _ = term.recv() => { let _ = kill(pid, Signal::SIGTERM); }
            // The terminal delivered SIGINT to CMD already (same process group).
            _ = int.recv() => {}
            r = health.wait_for(|x| x.failed.is_some()), if !service_failed => {
                let why = r.map(|x| x.failed.clone().unwrap_or_default()).unwrap_or_default();
                eprintln!("error: a service failed while CMD was running: {why}; stopping CMD");
                service_failed = true;
                let _ = kill(pid, Signal::SIGTERM);
            }
        }
    }
}

/// Name the services that are not ready, with their last output lines.
async fn report_not_ready(h: &Handle, timeout: Duration) {
    let (tx, rx) = oneshot::channel();
    if h.control.send(Request::Status(tx)).await.is_err() {
        return;
    }
    let Ok(snap) = rx.await else { return };
    let waiting: Vec<_> = snap
        .services
        .iter()
        .filter(|s| !s.ready && s.state != "exited")
        .collect();
    let names: Vec<String> = waiting
        .iter()
        .map(|s| format!("{} ({})", s.name, s.state))
        .collect();
    eprintln!("error: not ready after {timeout:?}: {}", names.join(", "));
    for s in waiting {
        let (tx, rx) = oneshot::channel();
        let req = Request::Logs {
            service: s.name.clone(),
            lines: 20,
            reply: tx,
        };
        if h.control.send(req).await.is_err() {
            return;
        }
        if let Ok(Ok(lines)) = rx.await {
            eprintln!("--- last output of {} ---", s.name);
            for (_, l) in lines {
                eprintln!("{l}");
            }
        }
    }
}

/// Stop everything, wait for the supervisor, and pick the exit code.
async fn finish(h: &Handle, sup: tokio::task::JoinHandle<u8>, code: u8) -> u8 {
    let _ = h.control.send(Request::Shutdown).await;
    match sup.await {
        Ok(_) => code,
        Err(_) => exit::INTERNAL,
    }
}
