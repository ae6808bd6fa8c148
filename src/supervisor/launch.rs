//! Launching a run of a service: spawn it (through the one reaper), wire its
//! stdout/stderr relays (with the `log` readiness regex), forward its exit to
//! the loop, and start its readiness check. Another `impl Engine` block.
//!
//! The spawn returns once the child has exec'd or failed (`forkexec.rs`,
//! without copying the supervisor). A run without a readiness check is ready
//! at once when its exec succeeded; a failed exec reaches the loop from the
//! task that forwards the exit — as [`Inbound::ExecFailed`] after the child
//! is reaped, so no report can overtake another for the same run.

use std::sync::Arc;
use std::time::SystemTime;

use regex_lite::Regex;

use super::engine::{Engine, Inbound};
use super::logs::{self, Relay, Stream};
use super::ready;
use super::spawn;
use super::state::Event;
use crate::plan::ReadyKind;

/// How long an exit report waits for the service's last output lines.
const LAST_LINES_GRACE: std::time::Duration = std::time::Duration::from_millis(100);

impl Engine {
    pub(super) fn spawn(&mut self, i: usize) {
        let plan = Arc::clone(&self.units[i].plan);
        let child = match spawn::service(&self.reaper, &plan) {
            Ok(c) => c,
            Err(e) => return self.feed(i, Event::SpawnFailed(e.to_string())),
        };
        let pid = child.pid;
        let log_re = match plan.ready.as_ref().map(|r| &r.kind) {
            Some(ReadyKind::Log(re)) => Regex::new(re).ok(),
            _ => None,
        };
        let mut drained = Vec::new();
        for (fd, stream) in [
            (child.stdout, Stream::Stdout),
            (child.stderr, Stream::Stderr),
        ] {
            let Some(fd) = fd else { continue };
            let (done, rx) = tokio::sync::oneshot::channel();
            drained.push(rx);
            let ready = log_re.clone().map(|re| {
                let tx = self.inbound.clone();
                let notify: Box<dyn FnOnce() + Send> = Box::new(move || {
                    drop(tx.send(Inbound::Ready {
                        svc: i,
                        pid,
                        ok: true,
                    }))
                });
                (re, notify)
            });
            let tail = Arc::clone(&self.units[i].tail);
            let r = Relay {
                svc: i,
                stream,
                sink: self.sink.clone(),
                tail,
                ready,
                _done: Some(done),
                redact: Arc::clone(&self.redact),
            };
            self.relays.retain(|h| !h.is_finished());
            self.relays.push(tokio::spawn(logs::relay(fd, r)));
        }
        let tx = self.inbound.clone();
        let failed = child.exec.err();
        // Without a readiness check, a run is ready once its exec succeeded
        // (see `state.rs`, `spawned`).
        let ready_now = failed.is_none() && plan.ready.is_none();
        let exit = child.exit;
        tokio::spawn(async move {
            if let Ok(status) = exit.await {
                if let Some(error) = failed {
                    let _ = tx.send(Inbound::ExecFailed {
                        svc: i,
                        pid,
                        status,
                        error,
                    });
                    return;
                }
                // Let the relays reach EOF first (bounded: a process outside
                // the group may keep the pipe open), so the last lines are
                // printed before the exit is reported.
                let _ = tokio::time::timeout(LAST_LINES_GRACE, async {
                    for rx in drained {
                        let _ = rx.await;
                    }
                })
                .await;
                let _ = tx.send(Inbound::Exited {
                    svc: i,
                    pid,
                    status,
                });
            }
        });
        let u = &mut self.units[i];
        u.started = true;
        u.since = Some(SystemTime::now());
        self.feed(i, Event::Spawned { pid });
        if ready_now {
            self.feed(i, Event::ReadyOk { pid });
        }
    }

    pub(super) fn check_ready(&mut self, i: usize, pid: i32) {
        let plan = Arc::clone(&self.units[i].plan);
        let Some(check) = plan.ready.clone() else {
            return;
        };
        let (tx, reaper) = (self.inbound.clone(), Arc::clone(&self.reaper));
        let h = tokio::spawn(async move {
            let ok = ready::wait(check, plan, reaper).await;
            let _ = tx.send(Inbound::Ready { svc: i, pid, ok });
        });
        self.units[i].ready_task = Some(h.abort_handle());
    }
}
