//! Answering the control channel (`status`, `logs`, `start`/`stop`/`restart`,
//! shutdown) and publishing the aggregate [`Health`] that `run -- CMD` waits
//! on. Synchronous: called from the runtime loop with the engine in hand.

use std::time::Instant;

use tokio::sync::watch;

use super::commands::{EngineRequest, Health, HistLine, NoService, ServiceStatus, Snapshot};
use super::engine::{Engine, StopCause, SETTLE_UP};
use super::state::State;

/// Publish [`Health`] when it changed. A oneshot counts as ready only once it
/// has completed (a migration must have run).
pub(super) fn publish(engine: &Engine, health: &watch::Sender<Health>, done: bool) {
    // A oneshot counts once it has completed (a migration must have run);
    // a service without a readiness check once it has stayed up SETTLE_UP.
    let now = Instant::now();
    let all_ready = engine.units.iter().all(|u| match u.svc.state {
        State::Ready { ready_at, .. } => {
            !u.plan.oneshot && (u.policy.has_ready || now >= ready_at + SETTLE_UP)
        }
        State::Completed | State::Exited { .. } => true,
        _ => false,
    });
    let h = Health {
        all_ready: all_ready && engine.failed.is_none(),
        failed: engine.failed.clone(),
        stopping: engine.stopping.is_some(),
        done,
    };
    health.send_if_modified(|old| {
        let changed = *old != h;
        *old = h;
        changed
    });
}

pub(super) fn on_request(engine: &mut Engine, req: EngineRequest) {
    match req {
        EngineRequest::Status(reply) => drop(reply.send(snapshot(engine))),
        EngineRequest::Logs {
            services,
            lines,
            reply,
        } => drop(reply.send(history(engine, &services, lines))),
        EngineRequest::Command {
            verb,
            service,
            ticket,
        } => engine.submit(verb, &service, ticket),
        EngineRequest::Restarts { services, tickets } => engine.submit_restarts(&services, tickets),
        EngineRequest::Shutdown => engine.begin_stop(StopCause::Requested),
        EngineRequest::Swap(s, reply) => drop(reply.send(engine.swap(*s))),
    }
}

/// The last `lines` lines of `names` (all when empty), merged by order read.
fn history(engine: &Engine, names: &[String], lines: usize) -> Result<Vec<HistLine>, NoService> {
    let which: Vec<usize> = if names.is_empty() {
        (0..engine.units.len()).collect()
    } else {
        names
            .iter()
            .map(|n| find(engine, n))
            .collect::<Result<_, _>>()?
    };
    let mut all = Vec::new();
    for svc in which {
        let tail = engine.units[svc]
            .tail
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        all.extend(
            tail.last_seq(lines)
                .into_iter()
                .map(|(seq, stream, line)| HistLine {
                    seq,
                    svc,
                    stream,
                    line,
                }),
        );
    }
    // Stable: lines of one batch keep their order.
    all.sort_by_key(|l| l.seq);
    let skip = all.len().saturating_sub(lines);
    Ok(all.split_off(skip))
}

fn find(engine: &Engine, name: &str) -> Result<usize, NoService> {
    engine
        .unit_named(name)
        .ok_or_else(|| NoService(name.to_owned()))
}

fn snapshot(engine: &Engine) -> Snapshot {
    let services = (engine.units.iter().enumerate())
        .filter(|(_, u)| !u.retired)
        .map(|(i, u)| ServiceStatus {
            name: u.plan.name.clone(),
            state: u.svc.state.kind(),
            pid: u.svc.state.pid(),
            since: u.svc.state.pid().and(u.since),
            restarts: u.svc.restarts,
            last_exit: u.last_exit.map(|(e, t)| match &u.exit_note {
                Some(why) => (format!("{e} ({why})"), t),
                None => (e.to_string(), t),
            }),
            ready: matches!(u.svc.state, State::Ready { .. } | State::Completed),
            detail: match &u.svc.state {
                State::Failed { reason } => Some(reason.to_string()),
                _ => engine.held_reason(i),
            },
        })
        .collect();
    let waiting = (0..engine.units.len())
        .filter(|&i| !engine.units[i].retired)
        .filter_map(|i| Some((engine.units[i].plan.name.clone(), engine.waiting_for(i)?)))
        .collect();
    Snapshot {
        services,
        waiting,
        generation: engine.generation,
        loaded: engine.loaded,
    }
}
