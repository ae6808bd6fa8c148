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
use std::sync::Arc;
use std::time::Duration;

use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;
use tokio::sync::oneshot;

use super::{common, Outcome};
use crate::cli::{Cli, RunArgs};
use crate::config::units::parse_duration;
use crate::env::Env;
use crate::error::Error;
use crate::exit;
use crate::supervisor::reaper::{self, Reaper};
use crate::supervisor::signals::OsSignal;
use crate::supervisor::state::StateKind;
use crate::supervisor::{self, runtime, spawn, trace, EngineRequest, Handle, Options, Supervisor};

/// Run `run`.
pub(crate) fn run(cli: &Cli, args: &RunArgs) -> Outcome {
    let timeout = parse_duration(&args.timeout).map_err(|message| Error::Flag {
        flag: "timeout",
        message,
    })?;
    let plan = common::load_runnable_plan(cli)?;
    // First, while this process has one thread (see `contain`).
    supervisor::contain::enter(plan.settings.contain).map_err(Error::Contain)?;
    trace::init();
    let env = plan.global_env.clone();
    let opts = Options {
        services: args.services.clone(),
        init: false,
        probe: !args.no_probe,
        format: plan.settings.log_format,
        colour: common::colour(),
        out: Box::new(std::io::stdout()),
        os_signals: false,
    };
    crate::supervisor::adopted::own_all_children();
    let (handle, sup) = Supervisor::new(Arc::new(plan), opts)?;
    let reaper = reaper::global()?;
    let rt = runtime::current_thread()?;
    let cmd = Cmd {
        argv: args.cmd.clone(),
        env,
        reaper,
    };
    rt.block_on(harness(handle, sup, cmd, timeout))
}

/// CMD, and what it needs to start.
struct Cmd {
    argv: Vec<OsString>,
    env: Env,
    reaper: Arc<Reaper>,
}

/// What ended the wait for readiness.
enum Wait {
    Ready,
    Failed(String),
    TimedOut,
    Signal(i32),
}

async fn harness(h: Handle, sup: Supervisor, cmd: Cmd, timeout: Duration) -> Outcome {
    let sup = tokio::spawn(sup.run());
    let (Ok(mut int), Ok(mut term)) = (OsSignal::new(libc::SIGINT), OsSignal::new(libc::SIGTERM))
    else {
        finish(&h, sup, Some(exit::INTERNAL)).await;
        return Err(Error::Signals);
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
            // The supervisor's own code, as `up` exits: the gate's probe class
            // (1–7, as `check` and `probe` report it) or SERVICE_FAILED.
            let code = finish(&h, sup, None).await;
            return Err(Error::CmdNotRun { why, code });
        }
        Wait::TimedOut => {
            let (waiting, tails) = not_ready(&h).await;
            finish(&h, sup, Some(exit::NOT_READY)).await;
            return Err(Error::NotReady {
                timeout,
                waiting,
                tails,
            });
        }
        Wait::Signal(n) => return Ok(finish(&h, sup, Some(128 + n as u8)).await),
    }
    let ran = run_cmd(&h, &cmd, &mut int, &mut term).await;
    let code = finish(&h, sup, Some(*ran.as_ref().unwrap_or(&exit::INTERNAL))).await;
    after_cmd(&h, ran.map(|_| code))
}

/// CMD has ended and everything has stopped: a service that failed at any
/// point — also one whose failure arrived during the final stop (it exited 1
/// while being stopped) — makes the run fail, whatever CMD returned. Decided
/// from the engine's failure record once the supervisor has ended, not from
/// which message happened to arrive first.
fn after_cmd(h: &Handle, ran: Outcome) -> Outcome {
    let failed = h.health.borrow().failed.clone();
    match (ran, failed) {
        (Ok(code), Some(why)) if code != exit::SERVICE_FAILED => Err(Error::ServiceFailed(why)),
        (ran, _) => ran,
    }
}

/// Run CMD to its end: its code, or the error it ended with (a service
/// failed meanwhile, so it was stopped).
async fn run_cmd(h: &Handle, cmd: &Cmd, int: &mut OsSignal, term: &mut OsSignal) -> Outcome {
    let child =
        spawn::foreground(&cmd.reaper, &cmd.argv, &cmd.env).map_err(Error::CmdNotStarted)?;
    let pid = Pid::from_raw(child.pid);
    let mut exit_rx = child.exit;
    let mut health = h.health.clone();
    let mut failed = None;
    loop {
        tokio::select! {
            r = &mut exit_rx => {
                let code = match r {
                    Ok(supervisor::state::Exit::Code(c)) => c.clamp(0, 255) as u8,
                    Ok(supervisor::state::Exit::Signal(s)) => 128u8.saturating_add(s as u8),
                    Err(_) => exit::INTERNAL,
                };
                return failed.map_or(Ok(code), |why| Err(Error::FailedDuringCmd(why)));
            }
            _ = term.recv() => { let _ = kill(pid, Signal::SIGTERM); }
            // The terminal delivered SIGINT to CMD already (same process group).
            _ = int.recv() => {}
            r = health.wait_for(|x| x.failed.is_some()), if failed.is_none() => {
                let why = r.map(|x| x.failed.clone().unwrap_or_default()).unwrap_or_default();
                failed = Some(why);
                let _ = kill(pid, Signal::SIGTERM);
            }
        }
    }
}

/// The services that are not ready, each with what it waits for, and
/// their last output lines.
async fn not_ready(h: &Handle) -> (Vec<String>, Vec<(String, Vec<String>)>) {
    let (tx, rx) = oneshot::channel();
    if h.control.send(EngineRequest::Status(tx)).await.is_err() {
        return Default::default();
    }
    let Ok(snap) = rx.await else {
        return Default::default();
    };
    let waiting: Vec<_> = snap
        .services
        .iter()
        .filter(|s| !s.ready && s.state != StateKind::Exited)
        .collect();
    let names = waiting
        .iter()
        .map(|s| match snap.waiting.get(&s.name) {
            Some(what) => format!("{} ({}): waiting for {what}", s.name, s.state),
            None => format!("{} ({})", s.name, s.state),
        })
        .collect();
    let mut tails = Vec::new();
    for s in waiting {
        let (tx, rx) = oneshot::channel();
        let req = EngineRequest::Logs {
            services: vec![s.name.clone()],
            lines: 20,
            reply: tx,
        };
        if h.control.send(req).await.is_err() {
            break;
        }
        let lines = rx.await.ok().and_then(Result::ok).unwrap_or_default();
        tails.push((s.name.clone(), lines.into_iter().map(|l| l.line).collect()));
    }
    (names, tails)
}

/// Stop everything, wait for the supervisor, and pick the exit code: `code`,
/// or with `None` the supervisor's own (the mapping `up` exits with).
async fn finish(h: &Handle, sup: tokio::task::JoinHandle<u8>, code: Option<u8>) -> u8 {
    let _ = h.control.send(EngineRequest::Shutdown).await;
    match sup.await {
        Ok(own) => code.unwrap_or(if own == exit::OK {
            exit::SERVICE_FAILED
        } else {
            own
        }),
        Err(_) => exit::INTERNAL,
    }
}
