//! `run [--services A,B] [--timeout DUR] -- CMD...`: the CI harness. Start the
//! services (and the database gate), wait until all are ready — a oneshot
//! must have *completed*, which is normal, not a failure — then run CMD with
//! the resolved global environment, stop everything in order, and exit with
//! CMD's code (128+N when killed by signal N).
//!
//! CMD stays in our process group with our stdio, so a terminal's Ctrl-C
//! reaches it directly (we do not send it a second SIGINT, as `just` does
//! not); SIGTERM to us is forwarded. If a service fails while CMD runs, CMD
//! gets SIGTERM, everything stops, and the exit code is SERVICE_FAILED. If
//! something fails before CMD, the code is the supervisor's own — the one
//! `up` exits with: the probe's class (1–7, as `check`) for the database
//! gate, else SERVICE_FAILED. On a readiness timeout the services not ready
//! are named with what each waits for (the gate's host:port and last failure,
//! a dependency, a readiness check) and their last lines (escaped).

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
use crate::diag::visible;
use crate::env::Env;
use crate::exit;
use crate::supervisor::state::StateKind;
use crate::supervisor::{self, reaper, spawn, trace, Handle, Options, Request, Supervisor};

/// Run `run`.
pub(crate) fn run(cli: &Cli, args: &RunArgs) -> ExitCode {
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
        return finish(&h, sup, Some(exit::INTERNAL)).await;
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
        // Our lines about the start come before CMD's output on the shared stdout.
        Wait::Ready => supervisor::sink::barrier(Duration::from_secs(1)).await,
        Wait::Failed(why) => {
            eprintln!("error: CMD not run: {}", visible::escape_str(&why));
            // The supervisor's own code, as `up` exits: the gate's probe class
            // (1–7, as `check` and `probe` report it) or SERVICE_FAILED.
            return finish(&h, sup, None).await;
        }
        Wait::TimedOut => {
            report_not_ready(&h, timeout).await;
            return finish(&h, sup, Some(exit::NOT_READY)).await;
        }
        Wait::Signal(n) => return finish(&h, sup, Some(128 + n as u8)).await,
    }
    let code = run_cmd(&h, &env, &cmd, &mut int, &mut term).await;
    let code = finish(&h, sup, Some(code)).await;
    after_cmd(&h, code)
}

/// CMD has ended and everything has stopped: a service that failed at any
/// point — also one whose failure arrived during the final stop (it exited 1
/// while being stopped) — makes the run fail, whatever CMD returned. Decided
/// from the engine's failure record once the supervisor has ended, not from
/// which message happened to arrive first.
fn after_cmd(h: &Handle, code: u8) -> u8 {
    let failed = h.health.borrow().failed.clone();
    match failed {
        Some(why) if code != exit::SERVICE_FAILED => {
            eprintln!("error: a service failed: {}", visible::escape_str(&why));
            exit::SERVICE_FAILED
        }
        _ => code,
    }
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
                let why = visible::escape_str(&why);
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
        .filter(|s| !s.ready && s.state != StateKind::Exited)
        .collect();
    let names: Vec<String> = waiting
        .iter()
        .map(|s| match snap.waiting.get(&s.name) {
            Some(what) => format!("{} ({}): waiting for {what}", s.name, s.state),
            None => format!("{} ({})", s.name, s.state),
        })
        .collect();
    eprintln!("error: not ready after {timeout:?}: {}", names.join("; "));
    for s in waiting {
        let (tx, rx) = oneshot::channel();
        let req = Request::Logs {
            services: vec![s.name.clone()],
            lines: 20,
            reply: tx,
        };
        if h.control.send(req).await.is_err() {
            return;
        }
        let lines = rx.await.ok().and_then(Result::ok).unwrap_or_default();
        if !lines.is_empty() {
            eprintln!("--- last output of {} ---", s.name);
            for l in lines {
                eprintln!("{}", visible::escape_str(&l.line));
            }
        }
    }
}

/// Stop everything, wait for the supervisor, and pick the exit code: `code`,
/// or with `None` the supervisor's own (the mapping `up` exits with).
async fn finish(h: &Handle, sup: tokio::task::JoinHandle<u8>, code: Option<u8>) -> u8 {
    let _ = h.control.send(Request::Shutdown).await;
    match sup.await {
        Ok(own) => code.unwrap_or(if own == exit::OK {
            exit::SERVICE_FAILED
        } else {
            own
        }),
        Err(_) => exit::INTERNAL,
    }
}
