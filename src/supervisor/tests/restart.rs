//! Restarts: backoff timing, crash loop → failed while others run, critical.

use std::time::Duration;

use super::{lines, LIMIT};
use crate::plan::{Backoff, LogFormat, RestartPolicy};
use crate::supervisor::events::Published;
use crate::supervisor::lifecycle::StateKind;
use crate::supervisor::testkit::*;
use tokio::sync::broadcast::error::RecvError;

#[test]
fn backoff_grows_then_crash_loop_fails_while_others_keep_running() {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("starts");
    let mut crash = sh("crash", &format!("date +%s.%N >> {}; exit 1", f.display()));
    crash.backoff = Backoff {
        initial: Duration::from_millis(200),
        max: Duration::from_millis(800),
        factor: 2.0,
        reset_after: Duration::from_secs(60),
    };
    crash.max_restarts = 4;
    let (run, snap) = super::run_until_failed(vec![crash, sh("keep", "exec sleep 1000")]);
    assert_eq!(run.code, crate::exit::SERVICE_FAILED);
    assert_eq!(state_of(&snap, "crash"), "failed");
    assert_eq!(state_of(&snap, "keep"), "ready");
    let detail = snap.services[0].detail.clone().unwrap();
    assert!(detail.contains("crash loop: 4 restarts"), "{detail}");
    let t: Vec<f64> = lines(&f).iter().map(|l| l.parse().unwrap()).collect();
    assert_eq!(t.len(), 5, "1 start + 4 restarts: {t:?}");
    let gaps: Vec<f64> = t.windows(2).map(|w| w[1] - w[0]).collect();
    // Expected 200, 400, 800, 800 ms, each ±20 % jitter, plus spawn time.
    for (gap, want) in gaps.iter().zip([0.2, 0.4, 0.8, 0.8]) {
        assert!(
            *gap >= want * 0.8 - 0.02 && *gap <= want * 1.2 + 0.35,
            "gaps {gaps:?}"
        );
    }
}

#[test]
fn zero_backoff_restarts_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("starts");
    let mut s = sh(
        "quick",
        &format!("echo x >> {}; exec sleep 1000", f.display()),
    );
    s.restart = RestartPolicy::Always;
    s.backoff.initial = Duration::ZERO;
    let starts = f.clone();
    let (run, (before, after)) = run(vec![s], LogFormat::Pretty, LIMIT, |h| async move {
        let s = until_ready(&h, LIMIT).await;
        let pid = s.services[0].pid.unwrap();
        written(&starts, 1).await;
        let mut events = h.events.subscribe();
        nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(pid),
            nix::sys::signal::Signal::SIGKILL,
        )
        .unwrap();
        // Event-driven, not timed: the replacement's transition to ready.
        loop {
            match events.recv().await {
                Ok(p) => match &*p {
                    Published::Transition(t)
                        if t.to == StateKind::Ready && t.pid.is_some_and(|p| p != pid) =>
                    {
                        break
                    }
                    _ => {}
                },
                Err(RecvError::Lagged(_)) => {}
                Err(RecvError::Closed) => panic!("bus closed before the restart"),
            }
        }
        written(&starts, 2).await;
        let s2 = status(&h).await;
        shutdown(&h).await;
        (pid, s2)
    });
    assert_eq!(run.code, 0);
    assert_ne!(Some(before), after.services[0].pid);
    assert_eq!(after.services[0].restarts, 1);
    assert_eq!(
        after.services[0].last_exit.as_ref().unwrap().0,
        "killed by SIGKILL"
    );
    assert_eq!(lines(&f).len(), 2);
}

/// Wait (bounded) until the child has appended its `n`th line to `f`.
async fn written(f: &std::path::Path, n: usize) {
    let deadline = tokio::time::Instant::now() + LIMIT;
    while lines(f).len() < n {
        assert!(
            tokio::time::Instant::now() < deadline,
            "line {n} never written"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

#[test]
fn critical_failure_stops_everything() {
    let mut c = sh("critical", "sleep 0.3; exit 2");
    c.critical = true;
    c.restart = RestartPolicy::Never;
    let started = std::time::Instant::now();
    let (run, ()) = run(
        vec![c, sh("other", "exec sleep 1000")],
        LogFormat::Pretty,
        LIMIT,
        |_| async {},
    );
    assert_eq!(run.code, crate::exit::SERVICE_FAILED);
    assert!(started.elapsed() < Duration::from_secs(5));
}

#[test]
fn all_services_ending_ends_the_supervisor() {
    let mut once = sh("once", "echo done");
    once.oneshot = true;
    let (run, ()) = run(vec![once], LogFormat::Pretty, LIMIT, |_| async {});
    assert_eq!(run.code, 0);
    assert!(run.out.contains("once       | done"), "{}", run.out);
}

#[test]
fn a_dependent_restart_waits_until_its_dependency_is_ready_again() {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("events").display().to_string();
    let mut db = sh(
        "db",
        &format!("sleep 0.6; echo \"db-ready $(date +%s.%N)\" >> {f}; echo ready; exec sleep 1000"),
    );
    db.ready = Some(crate::plan::ReadyCheck {
        kind: crate::plan::ReadyKind::Log("^ready$".into()),
        interval: Duration::from_millis(50),
        timeout: Duration::from_secs(10),
    });
    db.restart = RestartPolicy::Always;
    db.backoff.initial = Duration::ZERO;
    // `api` crashes every 0.2 s and restarts after 50 ms.
    let mut api = dep(
        sh(
            "api",
            &format!("echo \"api $(date +%s.%N)\" >> {f}; sleep 0.2; exit 1"),
        ),
        "db",
        crate::plan::Condition::Ready,
    );
    api.max_restarts = 0;
    let (run, killed_at) = run(vec![db, api], LogFormat::Pretty, LIMIT, |h| async move {
        let s = until_ready(&h, LIMIT).await;
        tokio::time::sleep(Duration::from_millis(500)).await;
        let pid = s.services[0].pid.unwrap();
        let t = std::time::SystemTime::now();
        nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(pid),
            nix::sys::signal::Signal::SIGKILL,
        )
        .unwrap();
        tokio::time::sleep(Duration::from_millis(1500)).await;
        shutdown(&h).await;
        t.duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs_f64()
    });
    assert_eq!(run.code, 0);
    let events: Vec<(String, f64)> = lines(std::path::Path::new(&f))
        .iter()
        .map(|l| {
            let (k, t) = l.split_once(' ').unwrap();
            (k.to_owned(), t.parse().unwrap())
        })
        .collect();
    let ready_again = events
        .iter()
        .find(|(k, t)| k == "db-ready" && *t > killed_at)
        .map(|e| e.1)
        .expect("db ready again");
    // An api run may have started just before the kill (< 0.25 s earlier it
    // was already running); none may start while db is not ready.
    let during: Vec<f64> = events
        .iter()
        .filter(|(k, t)| k == "api" && *t > killed_at + 0.05 && *t < ready_again)
        .map(|e| e.1)
        .collect();
    assert!(
        during.is_empty(),
        "api started while db was restarting: {during:?} (killed {killed_at}, ready {ready_again})"
    );
    assert!(
        events.iter().any(|(k, t)| k == "api" && *t > ready_again),
        "{events:?}"
    );
}
