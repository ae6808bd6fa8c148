//! `up --watch`, the part that acts: file changes (from `watch::inotify`,
//! classified by `watch::targets`, debounced by `watch::debounce`) become the
//! same requests a client sends — a change to supervisor.toml or an env file
//! runs [`reload`] exactly as `reload` does (the same function), a change
//! under a service's `watch` paths sends the engine a ticketed `restart`
//! (the services one burst restarts: one joint restart, as a reload's).
//! Nothing here touches the engine's state. After a reload the watcher
//! follows the newest Plan (new `watch` paths, new env files), whichever
//! reload loaded it (its own, `reload`, SIGHUP).
//!
//! Idle cost: one inotify descriptor in the runtime's epoll; a timer exists
//! only while a change is waiting out its quiet period.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::SystemTime;

use tokio::time::{sleep_until, Instant};

use super::act::act;
use super::context::Context;
use super::reload::{reload, restart_together};
use super::reloader::Reloader;
use crate::supervisor::commands::{Refusal, Verb};
use crate::supervisor::events::{self, Published};
use crate::supervisor::state::StateKind;
use crate::watch::debounce::{Debounce, Trigger};
use crate::watch::inotify::Watcher;
use crate::watch::targets::Targets;

/// The first changed path of a trigger's burst, and every path it changed.
type Seen = BTreeMap<Trigger, (PathBuf, BTreeSet<PathBuf>)>;

/// Watch until the runtime ends (pending forever when it cannot watch).
pub(crate) async fn run(ctx: Arc<Context>) {
    let Some(r) = ctx.reloader.clone() else {
        return std::future::pending().await;
    };
    let mut targets = targets(&r);
    let Some(mut watcher) = start(&targets) else {
        return std::future::pending().await;
    };
    let mut debounce = Debounce::default();
    let mut seen = Seen::new();
    let mut plans = r.follow();
    loop {
        let due = debounce.due();
        tokio::select! {
            got = watcher.next(&targets) => match got {
                Ok(paths) => note(&targets, &paths, &mut debounce, &mut seen, &mut watcher),
                Err(e) => {
                    tracing::error!("watch: cannot read file notifications: {e}; no longer watching");
                    return std::future::pending().await;
                }
            },
            () = sleep_until(due.map(Instant::from_std).unwrap_or_else(Instant::now)), if due.is_some() => {
                let fired = debounce.take(std::time::Instant::now());
                act_on(&ctx, &r, fired, &mut seen).await;
            }
            // A reload (ours, `reload`, SIGHUP) loaded a Plan: follow it.
            Ok(()) = plans.changed() => {
                let next = self::targets(&r);
                if next != targets {
                    if let Some(w) = start(&next) {
                        watcher = w;
                    }
                    targets = next;
                }
            }
        }
    }
}

fn targets(r: &Reloader) -> Targets {
    let plan = r.latest();
    let services = r.selected(&plan).unwrap_or_default();
    Targets::new(&plan, &services)
}

fn start(t: &Targets) -> Option<Watcher> {
    match Watcher::new(t) {
        Ok(w) => {
            let services = t.services().join(", ");
            let restarting = if services.is_empty() {
                String::new()
            } else {
                format!("; restarting on changes: {services}")
            };
            tracing::info!(
                "watch: {} directories watched (config and env files reload{restarting})",
                w.len()
            );
            Some(w)
        }
        Err(e) => {
            tracing::error!("watch: {e}; not watching");
            None
        }
    }
}

/// Classify and debounce what changed.
fn note(t: &Targets, paths: &[PathBuf], d: &mut Debounce, seen: &mut Seen, w: &mut Watcher) {
    let now = std::time::Instant::now();
    if std::mem::take(&mut w.overflowed) {
        tracing::warn!("watch: the kernel dropped file notifications (queue overflow): reloading");
        d.hit(Trigger::Reload, now);
    }
    for p in paths {
        for trig in t.classify(p) {
            d.hit(trig.clone(), now);
            let entry = seen
                .entry(trig)
                .or_insert_with(|| (p.clone(), BTreeSet::new()));
            entry.1.insert(p.clone());
        }
    }
}

/// Do what is due: the reload first, then the restarts — several of them
/// as one command, so what waits for two of them restarts once.
async fn act_on(ctx: &Context, r: &Reloader, fired: Vec<Trigger>, seen: &mut Seen) {
    let mut restarts = Vec::new();
    for trig in fired {
        let why = seen.remove(&trig).map_or_else(String::new, |(p, all)| {
            changed(&r.latest().base_dir, &p, all.len())
        });
        match trig {
            Trigger::Reload => {
                announce(ctx, format!("watch: {why}: reloading"));
                // Logged (applied or refused) by the reload itself, as for `reload`.
                let _ = reload(ctx, false).await;
                crate::supervisor::shed::phase_over();
            }
            Trigger::Restart(name) => {
                if due(ctx, &name, &why).await {
                    restarts.push(name);
                }
            }
        }
    }
    match &restarts[..] {
        [] => {}
        [one] => restart(ctx, one).await,
        _ => together(ctx, restarts).await,
    }
}

/// Whether to restart `name`: a service stopped by hand stays stopped.
async fn due(ctx: &Context, name: &str, why: &str) -> bool {
    let stopped = ctx.snapshot().await.ok().is_some_and(|s| {
        s.services
            .iter()
            .any(|x| x.name == name && x.state == StateKind::Stopped)
    });
    if stopped {
        announce(
            ctx,
            format!("watch: {why}: `{name}` was stopped by hand, not restarting it"),
        );
        return false;
    }
    announce(ctx, format!("watch: {why}: restarting `{name}`"));
    true
}

/// Several services (every copy of a replicated one) as one restart.
async fn together(ctx: &Context, names: Vec<String>) {
    let answers = restart_together(ctx, ctx.expand_all(names))
        .await
        .unwrap_or_default();
    for a in answers {
        match a {
            Ok(s) => tracing::info!("watch: {}", s.message),
            Err(Refusal::Failed(s)) => tracing::error!("watch: restarting failed: {}", s.message),
            Err(Refusal::Unknown(why) | Refusal::Conflict(why)) => {
                tracing::error!("watch: restarting failed: {why}");
            }
        }
    }
}

/// `restart NAME`, as a client would.
async fn restart(ctx: &Context, name: &str) {
    let answer = act(ctx, Verb::Restart, name).await.unwrap_or_else(|e| e);
    let text = answer
        .action
        .map(|a| a.message)
        .or(answer.error)
        .unwrap_or_default();
    if answer.ok {
        tracing::info!("watch: {text}");
    } else {
        tracing::error!("watch: restarting `{name}` failed: {text}");
    }
}

/// `src/app.js changed` or `src/app.js and 3 more files changed`, relative
/// to the config directory when under it (pure).
pub(crate) fn changed(base: &Path, p: &Path, files: usize) -> String {
    let shown = p.strip_prefix(base).unwrap_or(p).display();
    match files {
        0 | 1 => format!("{shown} changed"),
        2 => format!("{shown} and 1 more file changed"),
        n => format!("{shown} and {} more files changed", n - 1),
    }
}

/// Into `up`'s log and the event stream.
fn announce(ctx: &Context, message: String) {
    tracing::info!("{message}");
    events::publish(&ctx.events, || Published::Notice {
        at: SystemTime::now(),
        message,
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_burst_is_named_by_its_first_file() {
        let base = Path::new("/app");
        assert_eq!(
            changed(base, Path::new("/app/src/a.js"), 1),
            "src/a.js changed"
        );
        assert_eq!(
            changed(base, Path::new("/app/src/a.js"), 2),
            "src/a.js and 1 more file changed"
        );
        assert_eq!(
            changed(base, Path::new("/elsewhere/b.js"), 4),
            "/elsewhere/b.js and 3 more files changed"
        );
    }
}
