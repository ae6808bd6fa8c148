//! One plan of stops and starts per reload, against a real `up`: a service
//! that waits for two changed services is stopped once and started once
//! (after both), and a changed oneshot runs again even when it is a
//! dependent of another changed service. Every service appends a line to
//! `order` when it starts (before it says it is ready: its dependents start
//! after the line), so the file is the record of what really ran, in order.

use super::{expect_code, order, pids, Up, CMD};
use crate::support::Fixture;

/// Wait (bounded) until `order` has `n` lines.
fn wait_lines(fx: &Fixture, up: &Up, n: usize) -> Vec<String> {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    loop {
        let o = order(fx);
        if o.len() >= n || std::time::Instant::now() > deadline {
            assert_eq!(o.len(), n, "{o:?}\nup: {}", up.output());
            return o;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
}

const SHARED: &str = r#"
[services.a]
command = ["sh", "-c", "echo a $V >> order; echo up; exec sleep 100"]
env = { V = "1" }
ready = { log = "^up$" }

[services.b]
command = ["sh", "-c", "echo b $V >> order; echo up; exec sleep 100"]
env = { V = "1" }
ready = { log = "^up$" }

[services.c]
command = ["sh", "-c", "echo c >> order; echo up; exec sleep 100"]
depends_on = ["a", "b"]
ready = { log = "^up$" }
"#;

#[test]
fn a_dependent_of_two_changed_services_restarts_once_after_both() {
    let fx = Fixture::new();
    fx.write("supervisor.toml", SHARED);
    let mut up = Up::start(&fx);
    let before = pids(&up.wait_ready(&fx));
    wait_lines(&fx, &up, 3);
    fx.write("supervisor.toml", &SHARED.replace("\"1\"", "\"2\""));
    let o = fx.run(&["reload"], CMD);
    expect_code(&o, 0);
    // Answered once every restart has settled: all starts are in `order`.
    let lines = order(&fx);
    assert_eq!(lines.len(), 6, "{lines:?}\n{o:?}");
    let after = pids(&up.wait_ready(&fx));
    assert_ne!(after["c"], before["c"], "{o:?}");
    let mut new = lines[3..].to_vec();
    assert_eq!(new.pop().as_deref(), Some("c"), "{lines:?}");
    new.sort();
    assert_eq!(new, ["a 2", "b 2"], "{lines:?}");
    assert!(o.stdout.contains("restarted `a`: ready"), "{o:?}");
    assert!(o.stdout.contains("restarted `b`: ready"), "{o:?}");
    assert_eq!(o.stdout.matches("`c` (ready)").count(), 1, "{o:?}");
}

const MIGRATE: &str = r#"
[services.db]
command = ["sh", "-c", "echo db $V >> order; echo up; exec sleep 100"]
env = { V = "1" }
ready = { log = "^up$" }

[services.migrate]
command = ["sh", "-c", "echo migrate $M >> order"]
oneshot = true
depends_on = ["db"]
env = { M = "1" }

[services.api]
command = ["sh", "-c", "echo api >> order; echo up; exec sleep 100"]
depends_on = ["migrate"]
ready = { log = "^up$" }
"#;

#[test]
fn a_changed_oneshot_runs_again_also_after_its_changed_dependency() {
    let fx = Fixture::new();
    fx.write("supervisor.toml", MIGRATE);
    let mut up = Up::start(&fx);
    let before = pids(&up.wait_ready(&fx));
    assert_eq!(wait_lines(&fx, &up, 3), ["db 1", "migrate 1", "api"]);

    // db and migrate changed: db restarts, then the migration runs again.
    let both = MIGRATE.replace("\"1\"", "\"2\"");
    fx.write("supervisor.toml", &both);
    let o = fx.run(&["reload"], CMD);
    expect_code(&o, 0);
    assert_eq!(wait_lines(&fx, &up, 5)[3..], ["db 2", "migrate 2"], "{o:?}");
    assert!(o.stdout.contains("`migrate` (completed)"), "{o:?}");

    // Only the migration changed: it runs again, db keeps its process.
    fx.write("supervisor.toml", &both.replace("M = \"2\"", "M = \"3\""));
    let o = fx.run(&["reload"], CMD);
    expect_code(&o, 0);
    assert_eq!(wait_lines(&fx, &up, 6)[5], "migrate 3", "{o:?}");
    assert!(o.stdout.contains("restarted `migrate`: completed"), "{o:?}");
    let after = pids(&up.wait_ready(&fx));
    // What waited for the migration to complete keeps running.
    assert_eq!(after["api"], before["api"], "{o:?}");
}

#[test]
fn a_changed_service_that_fails_holds_back_only_what_waits_for_it() {
    let fx = Fixture::new();
    let d = "\n[services.d]\ncommand = [\"sh\", \"-c\", \"echo d >> order; echo up; exec sleep 100\"]\ndepends_on = [\"b\"]\nready = { log = \"^up$\" }\n";
    fx.write("supervisor.toml", &format!("{SHARED}{d}"));
    let mut up = Up::start(&fx);
    let before = pids(&up.wait_ready(&fx));
    wait_lines(&fx, &up, 4);
    let broken = SHARED
        .replace("\"1\"", "\"2\"")
        .replace("echo a $V >> order; echo up; exec sleep 100", "exit 3");
    fx.write("supervisor.toml", &format!("{broken}{d}"));
    let o = fx.run(&["reload"], CMD);
    // Applied, but `a` did not come up: a script running
    // `reload && deploy` must stop, as after a failed `restart`.
    expect_code(&o, 8);
    assert!(
        o.stderr.contains(
            "error: reload applied (plan generation 2), but a service did not come up: a: exit code 3"
        ),
        "{o:?}"
    );
    // Everything else it did is still answered.
    assert!(o.stdout.contains("a: exit code 3"), "{o:?}");
    assert!(o.stdout.contains("restarted `b`: ready"), "{o:?}");
    assert!(
        o.stdout.contains("what waits for `b`: `d` (ready)"),
        "{o:?}"
    );
    assert!(o.stdout.contains("plan generation 2"), "{o:?}");
    let v = up.wait_for(&fx, "d restarted", |v| {
        pids(v).get("d").is_some_and(|p| *p != before["d"])
    });
    // c waits for `a` to come back (held back, not failed, not lost).
    let c = super::service(&v, "c");
    assert_eq!(c["state"], "pending", "{v:?}");
    assert!(
        c["detail"]
            .as_str()
            .is_some_and(|d| d.contains("waiting for `a` to be ready")),
        "{v:?}"
    );
    let lines = order(&fx);
    assert_eq!(
        lines[4..].iter().filter(|l| *l == "d").count(),
        1,
        "{lines:?}"
    );
    assert!(!lines[4..].contains(&"c".to_owned()), "{lines:?}");

    // The fix, reloaded: `a` comes up and c, held back for it, with it.
    fx.write(
        "supervisor.toml",
        &format!("{}{d}", SHARED.replace("\"1\"", "\"3\"")),
    );
    let o = fx.run(&["reload"], CMD);
    expect_code(&o, 0);
    assert!(o.stdout.contains("`c` (ready)"), "{o:?}");
    let v = up.wait_ready(&fx);
    assert_ne!(pids(&v)["c"], before["c"], "{v:?}");
}

/// `up --watch`: one file under the `watch` paths of two services restarts
/// both together, and what waits for both restarts once, after them.
#[test]
fn a_file_two_services_watch_restarts_their_common_dependent_once() {
    let fx = Fixture::new();
    let watched = SHARED.replace(
        "env = { V = \"1\" }",
        "env = { V = \"1\" }\nwatch = [\"lib\"]",
    );
    fx.write("supervisor.toml", &watched);
    fx.write("lib/util.js", "// v0\n");
    let mut up = Up::start_args(&fx, &["--watch"]);
    let before = pids(&up.wait_ready(&fx));
    assert!(up.wait_for_log("directories watched"), "{}", up.output());
    wait_lines(&fx, &up, 3);
    fx.write("lib/util.js", "// v1\n");
    // Logged once the restart that took `c` along has settled.
    assert!(up.wait_for_log("`c` (ready)"), "{}", up.output());
    let lines = order(&fx);
    assert_eq!(lines.len(), 6, "{lines:?}\n{}", up.output());
    let v = up.wait_ready(&fx);
    assert_ne!(pids(&v)["a"], before["a"]);
    assert_ne!(pids(&v)["b"], before["b"]);
    assert_ne!(pids(&v)["c"], before["c"]);
    let mut new = lines[3..].to_vec();
    assert_eq!(new.pop().as_deref(), Some("c"), "{lines:?}");
    new.sort();
    assert_eq!(new, ["a 1", "b 1"], "{lines:?}\n{}", up.output());
}

const COPIES: &str = r#"
[services.web]
command = ["sh", "-c", "echo up $REPLICA >> order; trap 'echo down $REPLICA >> order; exit 0' TERM; echo ready; sleep 100 & wait"]
replicas = 3
env = { V = "1" }
ready = { log = "^ready$" }
"#;

/// A reload that changes every copy of a replicated service restarts them
/// one after the other (rolling), as `restart web` does: never two down.
#[test]
fn a_reload_restarts_the_copies_of_a_changed_service_one_at_a_time() {
    let fx = Fixture::new();
    fx.write("supervisor.toml", COPIES);
    let mut up = Up::start(&fx);
    up.wait_ready(&fx);
    wait_lines(&fx, &up, 3);
    fx.write("supervisor.toml", &COPIES.replace("\"1\"", "\"2\""));
    let o = fx.run(&["reload"], CMD);
    expect_code(&o, 0);
    let lines = wait_lines(&fx, &up, 9);
    let mut down = 0;
    for l in &lines[3..] {
        down += if l.starts_with("down") { 1 } else { -1 };
        assert!(down <= 1, "two copies down at once: {lines:?}");
    }
    for i in 1..=3 {
        assert!(
            o.stdout.contains(&format!("restarted `web.{i}`: ready")),
            "{o:?}"
        );
    }
}
