//! Stopping: reverse order, SIGKILL after the timeout, whole groups.

use std::time::{Duration, Instant};

use super::{lines, LIMIT};
use crate::plan::{Condition, LogFormat};
use crate::supervisor::testkit::*;

#[test]
fn stops_in_reverse_dependency_order() {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("stops").display().to_string();
    let svc = |n: &str| {
        sh(
            n,
            &format!("trap 'echo {n} >> {f}; kill $!; exit 0' TERM; sleep 1000 & wait"),
        )
    };
    let a = svc("a");
    let b = dep(svc("b"), "a", Condition::Started);
    let c = dep(svc("c"), "b", Condition::Started);
    let (run, ()) = run(vec![a, b, c], LogFormat::Pretty, LIMIT, |h| async move {
        until_ready(&h, LIMIT).await;
        tokio::time::sleep(Duration::from_millis(100)).await; // let the traps be installed
        shutdown(&h).await;
    });
    assert_eq!(run.code, 0);
    assert_eq!(
        lines(dir.path().join("stops").as_path()),
        vec!["c", "b", "a"]
    );
}

#[test]
fn ignored_sigterm_gets_sigkill_after_timeout_and_grandchildren_go_too() {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("pids");
    // The leader ignores SIGTERM; so does its grandchild.
    let mut stubborn = sh(
        "stubborn",
        &format!(
            "trap '' TERM; sleep 1000 & echo $! >> {}; wait",
            f.display()
        ),
    );
    stubborn.stop_timeout = Duration::from_millis(700);
    // The leader exits on SIGTERM at once, but leaves a grandchild that ignores it:
    // the group must still be waited for, then SIGKILLed.
    let leaky = sh(
        "leaky",
        &format!(
            "sh -c 'trap \"\" TERM; sleep 1000 & echo $! >> {}; wait' & wait",
            f.display()
        ),
    );
    let mut leaky = leaky;
    leaky.stop_timeout = Duration::from_millis(700);
    let (run, (elapsed, groups)) = run(
        vec![stubborn, leaky],
        LogFormat::Pretty,
        LIMIT,
        |h| async move {
            let s = until_ready(&h, LIMIT).await;
            tokio::time::sleep(Duration::from_millis(200)).await;
            let groups: Vec<i32> = s.services.iter().map(|s| s.pid.unwrap()).collect();
            let t = Instant::now();
            shutdown(&h).await;
            let mut hr = h.health.clone();
            let _ = hr.wait_for(|x| x.done).await;
            (t.elapsed(), groups)
        },
    );
    assert_eq!(run.code, 0, "{}", run.out);
    assert!(elapsed >= Duration::from_millis(650), "{elapsed:?}");
    assert!(elapsed < Duration::from_secs(5), "{elapsed:?}");
    for g in groups {
        assert!(!alive(-g), "group {g} still alive");
    }
    let pids = lines(&f);
    assert_eq!(pids.len(), 2);
    for p in pids {
        assert!(!alive(p.parse().unwrap()), "grandchild {p} still alive");
    }
}

#[test]
fn clean_stop_is_fast_and_waits_for_grandchildren() {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("pids");
    let s = sh(
        "tree",
        &format!(
            "sh -c 'sleep 1000 & echo $! >> {}; wait' & wait",
            f.display()
        ),
    );
    let (run, elapsed) = run(vec![s], LogFormat::Pretty, LIMIT, |h| async move {
        until_ready(&h, LIMIT).await;
        tokio::time::sleep(Duration::from_millis(200)).await;
        let t = Instant::now();
        shutdown(&h).await;
        let mut hr = h.health.clone();
        let _ = hr.wait_for(|x| x.done).await;
        t.elapsed()
    });
    assert_eq!(run.code, 0);
    assert!(elapsed < Duration::from_secs(2), "{elapsed:?}");
    for p in lines(&f) {
        assert!(!alive(p.parse().unwrap()), "grandchild {p} still alive");
    }
}

#[test]
fn a_user_stop_of_the_last_service_keeps_the_runtime_up() {
    use crate::supervisor::EngineRequest;
    let (run, states) = run(
        vec![sh("only", "exec sleep 1000")],
        LogFormat::Pretty,
        LIMIT,
        |h| async move {
            until_ready(&h, LIMIT).await;
            let (tx, rx) = tokio::sync::oneshot::channel();
            h.control
                .send(EngineRequest::Command {
                    verb: crate::supervisor::commands::Verb::Stop,
                    service: "only".into(),
                    ticket: tx,
                })
                .await
                .unwrap();
            rx.await.unwrap().unwrap();
            let mut hr = h.health.clone();
            let gone = hr.wait_for(|x| x.done);
            // Still answering, not done, long after the stop settled.
            let ended = tokio::time::timeout(Duration::from_millis(700), gone).await;
            assert!(ended.is_err(), "the runtime ended after a user stop");
            let stopped = state_of(&status(&h).await, "only");
            let (tx, rx) = tokio::sync::oneshot::channel();
            h.control
                .send(EngineRequest::Command {
                    verb: crate::supervisor::commands::Verb::Start,
                    service: "only".into(),
                    ticket: tx,
                })
                .await
                .unwrap();
            rx.await.unwrap().unwrap();
            let started = state_of(&until_ready(&h, LIMIT).await, "only");
            shutdown(&h).await;
            (stopped, started)
        },
    );
    assert_eq!(run.code, 0);
    assert_eq!(states, ("stopped", "ready"));
}
