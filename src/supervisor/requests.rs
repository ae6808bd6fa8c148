//! Answering the control channel (`status`, `logs`, `start`/`stop`/`restart`,
//! shutdown) and publishing the aggregate [`Health`] that `run -- CMD` waits
//! on. Synchronous: called from the runtime loop with the engine in hand.

use tokio::sync::watch;

use super::control::{Health, Reply, Request, ServiceStatus, Snapshot};
use super::engine::{Engine, StopCause};
use super::state::{Event, State};

/// Publish [`Health`] when it changed. A oneshot counts as ready only once it
/// has completed (a migration must have run).
pub fn publish(engine: &Engine, health: &watch::Sender<Health>, done: bool) {
    // A oneshot counts once it has completed (a migration must have run).
    let all_ready = engine.units.iter().all(|u| match u.svc.state {
        State::Ready { .. } => !u.plan.oneshot,
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

pub fn on_request(engine: &mut Engine, req: Request) {
    match req {
        Request::Status(reply) => drop(reply.send(snapshot(engine))),
        Request::Logs {
            service,
            lines,
            reply,
        } => {
            let r = find(engine, &service).map(|i| {
                let tail = engine.units[i]
                    .tail
                    .lock()
                    .unwrap_or_else(|p| p.into_inner());
                tail.last(lines)
            });
            let _ = reply.send(r);
        }
        Request::Start(name, reply) => control(engine, &name, reply, |st| {
            st.is_terminal()
                .then_some(Event::Start)
                .ok_or("is not stopped")
        }),
        Request::Stop(name, reply) => control(engine, &name, reply, |st| {
            (!st.is_terminal())
                .then_some(Event::Stop)
                .ok_or("is not running")
        }),
        Request::Restart(name, reply) => control(engine, &name, reply, |st| match st {
            st if st.is_terminal() => Ok(Event::Start),
            State::Running { .. } | State::Ready { .. } | State::Backoff { .. } => {
                Ok(Event::Restart)
            }
            _ => Err("is starting or stopping; try again"),
        }),
        Request::Shutdown => engine.begin_stop(StopCause::Requested),
    }
}

fn control(
    engine: &mut Engine,
    name: &str,
    reply: Reply,
    event: impl FnOnce(&State) -> Result<Event, &'static str>,
) {
    let r = find(engine, name).and_then(|i| {
        if engine.stopping.is_some() {
            return Err("the supervisor is stopping".to_owned());
        }
        let e = event(&engine.units[i].svc.state).map_err(|w| format!("`{name}` {w}"))?;
        engine.feed(i, e);
        Ok(())
    });
    let _ = reply.send(r);
}

fn find(engine: &Engine, name: &str) -> Result<usize, String> {
    engine
        .units
        .iter()
        .position(|u| u.plan.name == name)
        .ok_or_else(|| format!("no service `{name}`"))
}

fn snapshot(engine: &Engine) -> Snapshot {
    let services = engine
        .units
        .iter()
        .map(|u| ServiceStatus {
            name: u.plan.name.clone(),
            state: u.svc.state.name(),
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
                _ => None,
            },
        })
        .collect();
    let waiting = (0..engine.units.len())
        .filter_map(|i| Some((engine.units[i].plan.name.clone(), engine.waiting_for(i)?)))
        .collect();
    Snapshot { services, waiting }
}
