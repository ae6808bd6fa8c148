//! Start order, conditions, oneshot gating, readiness kinds, spawn errors.

use std::net::TcpListener;
use std::time::Duration;

use super::{lines, LIMIT};
use crate::plan::{Condition, LogFormat, ReadyCheck, ReadyKind, RestartPolicy};
use crate::supervisor::testkit::*;

fn ready(kind: ReadyKind) -> Option<ReadyCheck> {
    Some(ReadyCheck {
        kind,
        interval: Duration::from_millis(50),
        timeout: Duration::from_secs(10),
    })
}

#[test]
fn start_order_follows_each_condition() {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("order");
    let f = f.display();
    let mut db = sh(
        "db",
        &format!("sleep 0.3; echo db-ready >> {f}; echo 'listening on 5432'; exec sleep 1000"),
    );
    db.ready = ready(ReadyKind::Log(r"listening on \d+".into()));
    let mut migrate = dep(
        sh("migrate", &format!("echo migrate >> {f}")),
        "db",
        Condition::Ready,
    );
    migrate.oneshot = true;
    // `api` becomes ready 0.5 s after it starts; `side` waits only for `started`.
    let mut api = dep(
        sh(
            "api",
            &format!("echo api >> {f}; sleep 0.5; echo api-ready >> {f}; echo up; exec sleep 1000"),
        ),
        "migrate",
        Condition::Completed,
    );
    api.ready = ready(ReadyKind::Log("^up$".into()));
    let side = dep(
        sh("side", &format!("echo side >> {f}; exec sleep 1000")),
        "api",
        Condition::Started,
    );
    let free = sh("free", &format!("echo free >> {f}; exec sleep 1000"));
    let (run, snap) = run(
        vec![db, migrate, api, side, free],
        LogFormat::Pretty,
        LIMIT,
        |h| async move {
            let s = until_ready(&h, LIMIT).await;
            tokio::time::sleep(Duration::from_millis(300)).await; // let `side` write its line
            shutdown(&h).await;
            s
        },
    );
    assert_eq!(run.code, 0, "{}", run.out);
    let got = lines(dir.path().join("order").as_path());
    // `free` has no dependencies: it starts at once, concurrently with `db`.
    // `api` and `side` race to write (side starts once api is spawned), and
    // both come before api is ready.
    let mut got = got;
    got[3..5].sort();
    assert_eq!(
        got,
        vec!["free", "db-ready", "migrate", "api", "side", "api-ready"],
        "{}",
        run.out
    );
    assert_eq!(state_of(&snap, "migrate"), "completed");
    assert_eq!(state_of(&snap, "side"), "ready");
}

#[test]
fn failed_oneshot_blocks_dependents() {
    let mut migrate = sh("migrate", "echo boom >&2; exit 3");
    migrate.oneshot = true;
    migrate.restart = RestartPolicy::Never;
    let api = dep(
        sh("api", "exec sleep 1000"),
        "migrate",
        Condition::Completed,
    );
    let keep = sh("keep", "exec sleep 1000");
    let (run, snap) = super::run_until_failed(vec![migrate, api, keep]);
    assert_eq!(run.code, crate::exit::SERVICE_FAILED);
    assert_eq!(state_of(&snap, "migrate"), "failed");
    assert_eq!(state_of(&snap, "api"), "failed");
    let api = snap.services.iter().find(|s| s.name == "api").unwrap();
    let why = api.detail.clone().unwrap();
    assert!(
        why.contains("dependency `migrate` (completed) failed: exit code 3"),
        "{why}"
    );
    assert!(run.out.contains("migrate    ! boom"), "{}", run.out);
}

#[test]
fn readiness_tcp_http_exec() {
    let dir = tempfile::tempdir().unwrap();
    let port = |_| {
        TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port()
    };
    let (p1, p2): (u16, u16) = (port(0), port(1));
    let server = |port: u16, delay: &str| {
        format!(
            "sleep {delay}; exec perl -MIO::Socket::INET -e '$s=IO::Socket::INET->new(LocalAddr=>\"127.0.0.1:{port}\",Listen=>5,ReuseAddr=>1) or die $!; while($c=$s->accept){{<$c>; print $c \"HTTP/1.0 204 No Content\\r\\n\\r\\n\"; close $c}}'"
        )
    };
    let mut tcp = sh("tcp", &server(p1, "0.2"));
    tcp.ready = ready(ReadyKind::Tcp(format!("127.0.0.1:{p1}")));
    let mut http = sh("http", &server(p2, "0.2"));
    http.ready = ready(ReadyKind::Http(format!("http://127.0.0.1:{p2}/health")));
    let flag = dir.path().join("flag");
    let mut exec = sh(
        "exec",
        &format!("sleep 0.3; touch {}; exec sleep 1000", flag.display()),
    );
    exec.ready = ready(ReadyKind::Exec(vec![
        "sh".into(),
        "-c".into(),
        format!("test -f {}", flag.display()),
    ]));
    let after = |n: &str| {
        dep(
            sh(&format!("after-{n}"), "exec sleep 1000"),
            n,
            Condition::Ready,
        )
    };
    let services = vec![tcp, http, exec, after("tcp"), after("http"), after("exec")];
    let (run, snap) = run(services, LogFormat::Pretty, LIMIT, |h| async move {
        let s = until_ready(&h, LIMIT).await;
        shutdown(&h).await;
        s
    });
    assert_eq!(run.code, 0, "{}", run.out);
    for s in &snap.services {
        assert_eq!(s.state.as_str(), "ready", "{s:?}");
    }
}

#[test]
fn readiness_timeout_restarts_the_service() {
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut s = sh("never-ready", "exec sleep 1000");
    s.ready = Some(ReadyCheck {
        kind: ReadyKind::Tcp(format!("127.0.0.1:{port}")),
        interval: Duration::from_millis(50),
        timeout: Duration::from_millis(300),
    });
    let (run, snap) = run(
        vec![s, sh("keep", "exec sleep 1000")],
        LogFormat::Pretty,
        LIMIT,
        |h| async move {
            tokio::time::sleep(Duration::from_millis(1500)).await;
            let s = status(&h).await;
            shutdown(&h).await;
            s
        },
    );
    assert_eq!(run.code, 0);
    let svc = &snap.services[0];
    assert!(svc.restarts >= 2, "{svc:?}");
    assert_ne!(svc.state.as_str(), "ready");
}

#[test]
fn spawn_errors_fail_the_service_only() {
    let mut missing = sh("missing", "");
    missing.program = "/nonexistent/bin/thing".into();
    missing.argv = vec!["thing".into()];
    let mut badcwd = sh("badcwd", "exec sleep 1000");
    badcwd.cwd = "/nonexistent-dir".into();
    let dir = tempfile::tempdir().unwrap();
    let noexec = dir.path().join("noexec.sh");
    std::fs::write(&noexec, "#!/bin/sh\n").unwrap();
    let mut denied = sh("denied", "");
    denied.program = noexec.clone();
    denied.argv = vec![noexec.display().to_string()];
    let (run, snap) = run(
        vec![missing, badcwd, denied, sh("keep", "exec sleep 1000")],
        LogFormat::Pretty,
        LIMIT,
        |h| async move {
            let mut hr = h.health.clone();
            let _ = hr.wait_for(|x| x.failed.is_some()).await;
            tokio::time::sleep(Duration::from_millis(100)).await;
            let s = status(&h).await;
            shutdown(&h).await;
            s
        },
    );
    assert_eq!(run.code, crate::exit::SERVICE_FAILED);
    let detail = |n: &str| {
        snap.services
            .iter()
            .find(|s| s.name == n)
            .unwrap()
            .detail
            .clone()
            .unwrap_or_default()
    };
    assert!(
        detail("missing").contains("program `/nonexistent/bin/thing` not found"),
        "{}",
        detail("missing")
    );
    assert!(
        detail("badcwd").contains("working directory /nonexistent-dir"),
        "{}",
        detail("badcwd")
    );
    assert!(
        detail("denied").contains("permission denied"),
        "{}",
        detail("denied")
    );
    assert_eq!(state_of(&snap, "keep"), "ready");
}
