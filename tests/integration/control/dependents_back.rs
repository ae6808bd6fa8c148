//! What a dependency's end kept from starting comes back with it: `api`
//! never started because `db` failed at start (`failed`, `not started:
//! dependency `db` (ready) failed: …`); once a `restart db` or `start db`
//! brings `db` back, `api` goes back to `pending` (waiting for `db` to be
//! ready) and starts once it is — transitively — while a dependent the user
//! stopped stays stopped. Every service appends its name to `order` when
//! it starts.

use std::time::Duration;

use super::live::Follower;
use super::{expect_code, order, service, Up, CMD};
use crate::support::Fixture;

/// `a ← b ← c` (ready), `d` also waits for `a`; `side` keeps `up` busy.
/// `a` fails at start while `broken` exists: it runs (not ready) until
/// `fail` exists, then exits 1, and `restart = "never"` gives up.
const CHAIN: &str = r#"
[services.a]
command = ["./a.sh"]
ready = { log = "^up$" }
restart = "never"

[services.b]
command = ["sh", "-c", "echo b >> order; echo up; exec sleep 100"]
depends_on = ["a"]
ready = { log = "^up$" }

[services.c]
command = ["sh", "-c", "echo c >> order; echo up; exec sleep 100"]
depends_on = ["b"]
ready = { log = "^up$" }

[services.d]
command = ["sh", "-c", "echo d >> order; echo up; exec sleep 100"]
depends_on = ["a"]
ready = { log = "^up$" }

[services.side]
command = ["sleep", "100"]
"#;

const A: &str = "if [ -e broken ]; then\n  while [ ! -e fail ]; do sleep 0.05; done\n  exit 1\nfi\necho a >> order\necho up\nexec sleep 100";

/// `up` over [`CHAIN`] with `a` failed at start, `d` stopped by the user
/// before that, `b` and `c` failed because of `a`.
fn a_failed_at_start(fx: &Fixture) -> Up {
    fx.script("a.sh", A);
    fx.write("broken", "");
    fx.write("supervisor.toml", CHAIN);
    let mut up = Up::start(fx);
    up.wait_for(fx, "a running, d pending", |v| {
        service(v, "a")["state"] == "running" && service(v, "d")["state"] == "pending"
    });
    expect_code(&fx.run(&["stop", "d"], CMD), 0);
    fx.write("fail", "");
    let v = up.wait_for(fx, "b and c failed", |v| {
        service(v, "c")["state"] == "failed"
    });
    assert_eq!(service(&v, "a")["state"], "failed", "{v:?}");
    assert_eq!(service(&v, "b")["state"], "failed", "{v:?}");
    assert_eq!(service(&v, "d")["state"], "stopped", "{v:?}");
    let detail = service(&v, "b")["detail"].as_str().unwrap_or_default();
    assert!(
        detail.contains("not started: dependency `a` (ready) failed"),
        "{v:?}"
    );
    up
}

#[test]
fn a_restart_brings_back_what_its_failure_kept_from_starting() {
    let fx = Fixture::new();
    let mut up = a_failed_at_start(&fx);
    let mut ev = Follower::start(fx.cmd(&["events", "--json"]));
    std::thread::sleep(Duration::from_millis(300));
    std::fs::remove_file(fx.path().join("broken")).expect("fix a");

    let o = fx.run(&["restart", "a"], CMD);
    expect_code(&o, 0);
    assert!(
        o.stdout
            .contains("then restarted its dependents: `b` (ready), `c` (ready)"),
        "{o:?}"
    );
    let v = up.wait_for(&fx, "status", |_| true);
    for name in ["a", "b", "c"] {
        assert_eq!(service(&v, name)["state"], "ready", "{name}: {v:?}");
    }
    assert_eq!(order(&fx), ["a", "b", "c"], "{}", up.output());
    // The user's `stop d` holds.
    std::thread::sleep(Duration::from_millis(300));
    let v = up.wait_for(&fx, "status", |_| true);
    assert_eq!(service(&v, "d")["state"], "stopped", "{v:?}");
    assert_eq!(order(&fx), ["a", "b", "c"], "{}", up.output());

    // `events`: b failed → pending (waiting for a), then started after a.
    let c_ready = |l: &str| l.contains(r#""service":"c""#) && l.contains(r#""to":"ready""#);
    assert!(ev.until(Duration::from_secs(10), c_ready), "{:?}", ev.seen);
    let seen = ev.seen.join("\n");
    let at = |needle: &str| {
        seen.find(needle)
            .unwrap_or_else(|| panic!("no {needle} in\n{seen}"))
    };
    let back = at(r#""service":"b","from":"failed","to":"pending""#);
    let line = seen[back..].lines().next().unwrap_or_default();
    assert!(line.contains("waiting for `a` to be ready"), "{seen}");
    at(r#""service":"c","from":"failed","to":"pending""#);
    let a_ready = at(r#""service":"a","from":"running","to":"ready""#);
    let b_start = at(r#""service":"b","from":"pending","to":"starting""#);
    let c_start = at(r#""service":"c","from":"pending","to":"starting""#);
    assert!(
        back < a_ready && a_ready < b_start && b_start < c_start,
        "{seen}"
    );
    assert!(!seen.contains(r#""service":"d""#), "{seen}");
}

/// A restart that fails again leaves them waiting (not failed with it);
/// a later `start a` that works brings them up.
#[test]
fn after_a_failed_restart_they_wait_and_a_start_brings_them_up() {
    let fx = Fixture::new();
    let mut up = a_failed_at_start(&fx);

    let o = fx.run(&["restart", "a"], CMD);
    expect_code(&o, 8);
    assert!(o.stderr.contains("a: exit code 1"), "{o:?}");
    assert!(
        o.stderr
            .contains("what waits for it starts once it is ready: `b`, `c`"),
        "{o:?}"
    );
    let v = up.wait_for(&fx, "status", |_| true);
    assert_eq!(service(&v, "a")["state"], "failed", "{v:?}");
    for name in ["b", "c"] {
        assert_eq!(service(&v, name)["state"], "pending", "{name}: {v:?}");
    }
    let detail = service(&v, "b")["detail"].as_str().unwrap_or_default();
    assert!(
        detail.contains("waiting for `a` to be ready (now failed)"),
        "{v:?}"
    );
    assert_eq!(service(&v, "d")["state"], "stopped", "{v:?}");

    std::fs::remove_file(fx.path().join("broken")).expect("fix a");
    let o = fx.run(&["start", "a"], CMD);
    expect_code(&o, 0);
    let v = up.wait_for(&fx, "c ready", |v| service(v, "c")["state"] == "ready");
    assert_eq!(service(&v, "b")["state"], "ready", "{v:?}");
    assert_eq!(order(&fx), ["a", "b", "c"], "{}", up.output());
    std::thread::sleep(Duration::from_millis(300));
    let v = up.wait_for(&fx, "status", |_| true);
    assert_eq!(service(&v, "d")["state"], "stopped", "{v:?}");
}

/// `up api side`: `db` (selected as api's dependency) gives up after its
/// `max_restarts`; `api` fails with it; `other` (not selected) is not
/// there. `start db`, once fixed, brings `api` up too.
#[test]
fn with_a_selection_a_start_after_a_crash_loop_brings_the_dependent_up() {
    let fx = Fixture::new();
    fx.script(
        "db.sh",
        "if [ -e broken ]; then exit 1; fi\necho db >> order\necho up\nexec sleep 100",
    );
    fx.write("broken", "");
    fx.write(
        "supervisor.toml",
        r#"
[services.db]
command = ["./db.sh"]
ready = { log = "^up$" }
backoff = { initial = "50ms", max = "50ms" }
max_restarts = 2

[services.api]
command = ["sh", "-c", "echo api >> order; exec sleep 100"]
depends_on = ["db"]

[services.other]
command = ["sh", "-c", "echo other >> order; exec sleep 100"]
depends_on = ["db"]

[services.side]
command = ["sleep", "100"]
"#,
    );
    let mut up = Up::start_args(&fx, &["api", "side"]);
    let v = up.wait_for(&fx, "api failed", |v| {
        v.iter()
            .any(|s| s["name"] == "api" && s["state"] == "failed")
    });
    let names: Vec<&str> = v.iter().filter_map(|s| s["name"].as_str()).collect();
    assert_eq!(names, ["db", "api", "side"], "{v:?}");
    let detail = service(&v, "db")["detail"].as_str().unwrap_or_default();
    assert!(detail.contains("crash loop"), "{v:?}");

    std::fs::remove_file(fx.path().join("broken")).expect("fix db");
    let o = fx.run(&["start", "db"], CMD);
    expect_code(&o, 0);
    let v = up.wait_for(&fx, "api ready", |v| service(v, "api")["state"] == "ready");
    assert_eq!(service(&v, "db")["state"], "ready", "{v:?}");
    assert_eq!(order(&fx), ["db", "api"], "{}", up.output());
}

/// `api` waits for `db` and `cache`, both failed: bringing back `db` alone
/// does not make `api` wait again (it still cannot start), and the
/// `restart db` that worked succeeds without it.
#[test]
fn one_that_also_waits_for_another_failed_dependency_stays_failed() {
    let fx = Fixture::new();
    fx.script(
        "db.sh",
        "if [ -e broken ]; then exit 1; fi\necho db >> order\necho up\nexec sleep 100",
    );
    fx.write("broken", "");
    fx.write(
        "supervisor.toml",
        r#"
[services.db]
command = ["./db.sh"]
ready = { log = "^up$" }
restart = "never"

[services.cache]
command = ["sh", "-c", "sleep 0.3; exit 1"]
ready = { log = "^up$" }
restart = "never"

[services.api]
command = ["sh", "-c", "echo api >> order; exec sleep 100"]
depends_on = ["db", "cache"]

[services.side]
command = ["sleep", "100"]
"#,
    );
    let mut up = Up::start(&fx);
    up.wait_for(&fx, "api and cache failed", |v| {
        service(v, "api")["state"] == "failed" && service(v, "cache")["state"] == "failed"
    });
    std::fs::remove_file(fx.path().join("broken")).expect("fix db");
    let o = fx.run(&["restart", "db"], CMD);
    expect_code(&o, 0);
    assert!(!o.stdout.contains("api"), "{o:?}");
    std::thread::sleep(Duration::from_millis(300));
    let v = up.wait_for(&fx, "status", |_| true);
    assert_eq!(service(&v, "db")["state"], "ready", "{v:?}");
    assert_eq!(service(&v, "api")["state"], "failed", "{v:?}");
    let detail = service(&v, "api")["detail"].as_str().unwrap_or_default();
    assert!(detail.starts_with("not started: dependency"), "{v:?}");
    assert_eq!(order(&fx), ["db"], "{}", up.output());
}

/// `stop web` while `web` is `failed` because of `db` makes it `stopped`
/// (it would otherwise come back with `db`), and it stays stopped when a
/// `restart db` brings `api` back.
#[test]
fn a_stop_keeps_one_kept_from_starting_down() {
    let fx = Fixture::new();
    fx.script(
        "db.sh",
        "if [ -e broken ]; then exit 1; fi\necho db >> order\necho up\nexec sleep 100",
    );
    fx.write("broken", "");
    fx.write(
        "supervisor.toml",
        r#"
[services.db]
command = ["./db.sh"]
ready = { log = "^up$" }
restart = "never"

[services.api]
command = ["sh", "-c", "echo api >> order; exec sleep 100"]
depends_on = ["db"]

[services.web]
command = ["sh", "-c", "echo web >> order; exec sleep 100"]
depends_on = ["db"]

[services.side]
command = ["sleep", "100"]
"#,
    );
    let mut up = Up::start(&fx);
    up.wait_for(&fx, "api and web failed", |v| {
        service(v, "api")["state"] == "failed" && service(v, "web")["state"] == "failed"
    });
    let o = fx.run(&["stop", "web"], CMD);
    expect_code(&o, 0);
    assert!(o.stdout.contains("stopped `web`"), "{o:?}");
    let o = fx.run(&["stop", "db"], CMD);
    expect_code(&o, 0);
    assert!(o.stdout.contains("already failed"), "{o:?}");

    std::fs::remove_file(fx.path().join("broken")).expect("fix db");
    let o = fx.run(&["restart", "db"], CMD);
    expect_code(&o, 0);
    assert!(
        o.stdout
            .contains("then restarted its dependents: `api` (ready)"),
        "{o:?}"
    );
    std::thread::sleep(Duration::from_millis(300));
    let v = up.wait_for(&fx, "status", |_| true);
    assert_eq!(service(&v, "api")["state"], "ready", "{v:?}");
    assert_eq!(service(&v, "web")["state"], "stopped", "{v:?}");
    assert_eq!(order(&fx), ["db", "api"], "{}", up.output());
}
