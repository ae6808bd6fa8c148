//! The async shell: ONE `select!` over everything that can wake the supervisor
//! — task reports (exits, readiness), the next timer, SIGINT/SIGTERM, control
//! requests, the database gate, and reaper ticks while a process group is
//! being waited for. Each wake-up is handed to the synchronous [`Engine`].
//! With nothing happening, every branch is parked: no polling, no CPU.
//!
//! Run it on a current-thread runtime on the thread that lives as long as the
//! supervisor (see `spawn.rs` on `PR_SET_PDEATHSIG`): [`current_thread`] builds it.

use std::io::Write;
use std::sync::Arc;

use tokio::sync::{mpsc, watch};
use tokio::time::sleep_until;

use super::adopted;
use super::commands::{EngineRequest, Handle, Health};
use super::emit;
use super::engine::{Engine, StopCause};
use super::events::{self, Bus};
use super::graph;
use super::reaper;
use super::requests::{on_request, publish};
use super::shed;
use super::signals::{Shutdown, Signals};
use super::sink::{Sink, Style};
use super::spawn;
use crate::db::{self, GateFailure};
use crate::exit;
use crate::plan::{LogFormat, Plan};

/// How to run.
pub(crate) struct Options {
    /// Services to run (with their dependencies); all when empty.
    pub services: Vec<String>,
    /// Act as init (also automatic as PID 1): reap orphans, sweep at the end.
    pub init: bool,
    /// Run the database gate before `uses_database` services.
    pub probe: bool,
    /// Output format.
    pub format: LogFormat,
    /// ANSI colours.
    pub colour: bool,
    /// Where output goes (stdout for `up`).
    pub out: Box<dyn Write + Send>,
    /// Listen to SIGINT/SIGTERM.
    pub os_signals: bool,
}

/// Why a supervisor cannot be prepared.
#[derive(Debug, thiserror::Error)]
pub(crate) enum StartError {
    /// A service asked for on the command line is not in the Plan.
    #[error(transparent)]
    UnknownService(#[from] graph::UnknownService),
    /// The process-wide reaper did not start.
    #[error(transparent)]
    Reaper(#[from] reaper::ReaperError),
}

/// The tokio runtime did not start.
#[derive(Debug, thiserror::Error)]
#[error("cannot start the runtime: {0}")]
pub(crate) struct NoRuntime(#[from] std::io::Error);

/// The one runtime builder: current-thread, with I/O and timers, run on the
/// calling thread (see the module docs on why that thread matters).
pub(crate) fn current_thread() -> Result<tokio::runtime::Runtime, NoRuntime> {
    Ok(tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?)
}

/// A supervisor ready to run.
pub(crate) struct Supervisor {
    plan: Arc<Plan>,
    reaper: Arc<reaper::Reaper>,
    opts: Options,
    selected: Vec<usize>,
    control: mpsc::Receiver<EngineRequest>,
    health: watch::Sender<Health>,
    bus: Bus,
    hangup: Option<mpsc::UnboundedSender<()>>,
}

impl Supervisor {
    /// SIGHUP (with OS signals) sends here instead of stopping everything:
    /// `up` without a controlling terminal reloads on it.
    pub(crate) fn on_hangup(&mut self, tx: mpsc::UnboundedSender<()>) {
        self.hangup = Some(tx);
    }

    /// Prepare; fails on an unknown service name, or without a reaper.
    pub(crate) fn new(plan: Arc<Plan>, opts: Options) -> Result<(Handle, Supervisor), StartError> {
        let selected = graph::select(&plan.services, &opts.services)?;
        let reaper = reaper::global()?;
        let (ctx, control) = mpsc::channel(16);
        let (health, hrx) = watch::channel(Health::default());
        let bus = events::bus();
        let names = selected.iter().map(|&i| plan.services[i].name.clone());
        let handle = Handle {
            control: ctx,
            health: hrx,
            events: bus.clone(),
            names: Arc::new(names.collect()),
        };
        Ok((
            handle,
            Supervisor {
                plan,
                reaper,
                opts,
                selected,
                control,
                health,
                bus,
                hangup: None,
            },
        ))
    }

    /// Supervise until everything has stopped; returns the exit code.
    pub(crate) async fn run(self) -> u8 {
        let Supervisor {
            plan,
            reaper,
            opts,
            selected,
            mut control,
            health,
            bus,
            hangup,
        } = self;
        tokio::spawn(super::contain::watch());
        let init = opts.init || std::process::id() == 1;
        spawn::raise_fd_limit();
        if let Err(e) = reaper::become_subreaper() {
            if init {
                tracing::warn!("cannot become a child subreaper: {e}");
            }
        }
        let services: Vec<_> = selected
            .iter()
            .map(|&i| Arc::new(plan.services[i].clone()))
            .collect();
        let names: Vec<String> = services.iter().map(|s| s.name.clone()).collect();
        let files = services.iter().map(|s| s.log_file.clone()).collect();
        let sink = Sink::start(
            Style::new(opts.format, opts.colour, &names),
            names,
            files,
            opts.out,
        );
        let (itx, mut irx) = mpsc::unbounded_channel();
        let mut engine = Engine::new(services, itx, sink.tx.clone(), Arc::clone(&reaper));
        engine.redact = Arc::new(plan.redactor());
        engine.attach(bus);
        let mut signals = if opts.os_signals {
            Signals::os()
                .ok()
                .map(|s| s.hangup_reloads(hangup.is_some()))
        } else {
            None
        };
        let db = plan
            .database
            .clone()
            .filter(|_| opts.probe && engine.units.iter().any(|u| u.plan.uses_database));
        engine.gate_open = db.is_none();
        let progress = engine.watch_gate(db.as_ref());
        let gate = async move {
            match db {
                Some(d) => db::gate_with(&d, progress).await,
                None => std::future::pending().await,
            }
        };
        tokio::pin!(gate);
        let mut gate_done = engine.gate_open;
        let mut ticks = reaper.ticks();
        let mut control_open = true;
        // Give back the start-up's pages once the start has settled (`shed.rs`).
        let mut starting = shed::enabled();
        // Each wake-up's events are held and written after it (`emit.rs`):
        // the lines of a restart after its spawn, a start's as one record.
        emit::hold();
        engine.settle();
        publish(&engine, &health, false);
        emit::release();
        while !engine.finished() {
            let next = engine.next_timer();
            let awaiting = !engine.awaiting.is_empty();
            // Every branch holds the events of its wake-up (not across the
            // wait: other tasks' events go out when they happen).
            tokio::select! {
                Some(m) = irx.recv() => {
                    emit::hold();
                    engine.on_inbound(m)
                }
                _ = due(next), if next.is_some() => {
                    emit::hold();
                    engine.fire_timers()
                }
                s = recv_signal(&mut signals) => {
                    emit::hold();
                    match s {
                        Shutdown::Once => engine.begin_stop(StopCause::Requested),
                        Shutdown::Twice => engine.kill_all(),
                        Shutdown::Reload => {
                            tracing::info!("SIGHUP: reloading the configuration");
                            if let Some(tx) = &hangup {
                                let _ = tx.send(());
                            }
                        }
                    }
                }
                r = control.recv(), if control_open => {
                    emit::hold();
                    match r {
                        Some(req) => on_request(&mut engine, req),
                        None => control_open = false,
                    }
                }
                r = &mut gate, if !gate_done => {
                    emit::hold();
                    gate_done = true;
                    on_gate(&mut engine, r);
                }
                _ = ticks.changed(), if awaiting => {
                    emit::hold();
                    engine.check_groups()
                }
            }
            if !engine.announce.is_empty() {
                emit::release();
                for rec in std::mem::take(&mut engine.announce) {
                    let _ = sink.tx.send(rec).await;
                }
                emit::hold();
            }
            engine.settle();
            publish(&engine, &health, false);
            emit::release();
            if starting && shed::start_over(&engine) {
                starting = false;
                shed::phase_over();
            }
        }
        engine.close_commands("`up` is exiting: nothing is left to supervise");
        publish(&engine, &health, false);
        let code = exit_code(&engine);
        let relays = std::mem::take(&mut engine.relays);
        let (final_health, last) = (health, engine);
        // The engine holds a sender of the sink: drop it so the sink can drain and end.
        drop(last);
        drop(irx);
        // Escaped daemons first: they may hold a service's pipe open.
        if !(init && std::process::id() == 1) {
            adopted::sweep(&reaper, std::time::Duration::from_secs(2)).await;
        }
        finish(relays, sink).await;
        if init && std::process::id() == 1 {
            sweep(&reaper).await;
        }
        final_health.send_modify(|h| h.done = true);
        code
    }
}

/// Resolves when `at` has come: at once if it already has (a zero backoff,
/// a restart), without the trip through tokio's timer wheel, which rounds
/// every deadline up to its next millisecond tick.
async fn due(at: Option<std::time::Instant>) {
    match at {
        Some(at) if at > std::time::Instant::now() => sleep_until(at.into()).await,
        _ => {}
    }
}

/// The supervisor's exit code: the one mapping `up` and `run` share (`run`
/// uses it when CMD never ran because of a failure). A failed database gate
/// gives the probe's class (1–7, the same code `check` and `probe` give for
/// that failure), a failed service SERVICE_FAILED, a clean stop OK.
fn exit_code(engine: &Engine) -> u8 {
    match (&engine.stopping, &engine.failed) {
        (Some(StopCause::Gate(code)), _) => *code,
        (_, Some(_)) => exit::SERVICE_FAILED,
        _ => exit::OK,
    }
}

async fn recv_signal(s: &mut Option<Signals>) -> Shutdown {
    match s {
        Some(s) => s.recv().await,
        None => std::future::pending().await,
    }
}

fn on_gate(engine: &mut Engine, r: Result<(), GateFailure>) {
    match r {
        Ok(()) => {
            tracing::info!("database gate open");
            engine.notice("database gate open".into());
            engine.gate_open = true;
            engine.gate_wait = None;
        }
        Err(f) => {
            tracing::error!("database gate failed: {}", f.message);
            engine.notice(format!("database gate failed: {}", f.message));
            engine
                .failed
                .get_or_insert(format!("database: {}", f.message));
            engine.begin_stop(StopCause::Gate(f.exit_code));
        }
    }
}

/// Flush the last output: let relays drain (bounded), then close the sink.
async fn finish(relays: Vec<tokio::task::JoinHandle<()>>, sink: Sink) {
    let grace = tokio::time::Instant::now() + std::time::Duration::from_millis(500);
    for h in relays {
        let mut h = h;
        if tokio::time::timeout_at(grace, &mut h).await.is_err() {
            // A process outside the group still holds the pipe open.
            h.abort();
            let _ = h.await;
        }
    }
    sink.finish();
}

/// As PID 1: after the services, stop every process left in the namespace.
async fn sweep(reaper: &reaper::Reaper) {
    use nix::sys::signal::{kill, Signal};
    use nix::unistd::Pid;
    let all = Pid::from_raw(-1);
    if kill(all, None).is_err() {
        return;
    }
    tracing::info!("PID 1: sending SIGTERM to remaining processes");
    let _ = kill(all, Signal::SIGTERM);
    let mut ticks = reaper.ticks();
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(2);
    while kill(all, None).is_ok() {
        if tokio::time::timeout_at(deadline, ticks.changed())
            .await
            .is_err()
        {
            tracing::warn!("PID 1: sending SIGKILL to remaining processes");
            let _ = kill(all, Signal::SIGKILL);
            break;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A deadline that has come resolves without the timer driver: on a
    /// runtime without one, `sleep_until` would panic.
    #[test]
    fn a_due_timer_needs_no_trip_through_the_timer_wheel() {
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .expect("runtime");
        rt.block_on(due(Some(std::time::Instant::now())));
        rt.block_on(due(None));
    }
}
