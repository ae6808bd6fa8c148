//! `reload` and SIGHUP against a real `up`: only what changed restarts (the
//! rest keep their PIDs), added services start and removed ones stop, an
//! invalid edit or a database URL that fails the probe touches nothing, and
//! a dry run changes nothing. The environment a service really got is read
//! from `/proc/PID/environ`, not from what we print.

use std::time::Duration;

use serde_json::Value;

use super::live::Follower;
use super::{environ, expect_code, pids, service, Up, CMD};
use crate::pg;
use crate::support::Fixture;

const THREE: &str = r#"
[supervisor]
env_files = [".env"]

[services.a]
command = ["sh", "-c", "echo a says $GREETING; exec sleep 100"]
env_file = "a.env"

[services.b]
command = ["sleep", "100"]
depends_on = { a = "ready" }

[services.c]
command = ["sleep", "100"]
"#;

fn three() -> (Fixture, Up) {
    let fx = Fixture::new();
    fx.write("supervisor.toml", THREE);
    fx.write(".env", "SHARED=1\n");
    fx.write("a.env", "GREETING=hello\n");
    let up = Up::start(&fx);
    (fx, up)
}

#[test]
fn a_changed_variable_restarts_only_who_receives_it_and_who_waits_for_it() {
    let (fx, mut up) = three();
    let before = pids(&up.wait_ready(&fx));
    fx.write("a.env", "# a comment moves the line\nGREETING=bonjour\n");
    let o = fx.run(&["reload"], CMD);
    expect_code(&o, 0);
    assert!(o.stdout.contains("changed    a\n"), "{o:?}");
    assert!(
        o.stdout
            .contains("~ GREETING = hello → bonjour   (a.env:1 → a.env:2)"),
        "{o:?}"
    );
    assert!(o.stdout.contains("unchanged  b, c (keep running)"), "{o:?}");
    assert!(
        o.stdout.contains("then restarted its dependents: `b`"),
        "{o:?}"
    );
    let after = pids(&up.wait_ready(&fx));
    assert_ne!(after["a"], before["a"]);
    assert_ne!(after["b"], before["b"], "b waits for a to be ready");
    assert_eq!(after["c"], before["c"], "c receives nothing that changed");
    assert_eq!(environ(after["a"], "GREETING").as_deref(), Some("bonjour"));
    let st = fx.run(&["status"], CMD);
    assert!(st.stdout.contains("plan generation 2, loaded"), "{st:?}");
}

#[test]
fn added_services_start_removed_ones_stop_and_a_dry_run_changes_nothing() {
    let (fx, mut up) = three();
    let before = pids(&up.wait_ready(&fx));
    let edited = THREE.replace(
        "[services.c]\ncommand = [\"sleep\", \"100\"]\n",
        "[services.n]\ncommand = [\"sleep\", \"100\"]\ndepends_on = [\"a\"]\n",
    );
    fx.write("supervisor.toml", &edited);

    let o = fx.run(&["reload", "--dry-run"], CMD);
    expect_code(&o, 0);
    assert_eq!(
        o.stdout,
        "added      n\nremoved    c\nunchanged  a, b (keep running)\ndry run: nothing was changed\n"
    );
    let v = up.wait_ready(&fx);
    assert_eq!(pids(&v), before, "a dry run touches nothing");

    let o = fx.run(&["reload", "--json"], CMD);
    expect_code(&o, 0);
    let r: Value = serde_json::from_str(&o.stdout).expect("json");
    let kinds: Vec<(&str, &str)> = r["reload"]["diff"]["services"]
        .as_array()
        .expect("services")
        .iter()
        .map(|s| (s["name"].as_str().unwrap(), s["kind"].as_str().unwrap()))
        .collect();
    assert_eq!(
        kinds,
        [
            ("a", "unchanged"),
            ("b", "unchanged"),
            ("n", "added"),
            ("c", "removed")
        ]
    );
    assert_eq!(r["reload"]["generation"], 2);
    let v = up.wait_ready(&fx);
    let after = pids(&v);
    assert_eq!(after["a"], before["a"]);
    assert_eq!(after["b"], before["b"]);
    assert!(v.iter().all(|s| s["name"] != "c"), "{v:?}");
    assert!(!std::path::Path::new(&format!("/proc/{}", before["c"])).exists());
    assert_eq!(service(&v, "n")["state"], "ready");
    // The added service's output is prefixed with its name like the others.
    up.wait_for(&fx, "n's output", |_| {
        up_log_has(&fx, "supervisor * n: started")
    });
}

fn up_log_has(fx: &Fixture, needle: &str) -> bool {
    std::fs::read_to_string(fx.path().join("up.log")).is_ok_and(|l| l.contains(needle))
}

#[test]
fn an_invalid_edit_touches_nothing_and_exits_like_check() {
    let (fx, mut up) = three();
    let before = pids(&up.wait_ready(&fx));
    let mut events = Follower::start(fx.cmd(&["events", "--json"]));
    std::thread::sleep(Duration::from_millis(300));
    for (bad, said) in [
        (format!("{THREE}\nbad = [\n"), "unclosed array"),
        (
            THREE.replace("depends_on = { a = \"ready\" }", "depends_on = [\"nope\"]"),
            "nope",
        ),
    ] {
        fx.write("supervisor.toml", &bad);
        let o = fx.run(&["reload"], CMD);
        expect_code(&o, 3);
        assert!(
            o.stderr
                .starts_with("error: reload refused, nothing changed\n"),
            "{o:?}"
        );
        assert!(
            o.stderr.contains("supervisor.toml:") && o.stderr.contains(said),
            "{o:?}"
        );
        assert!(o.stdout.is_empty(), "{o:?}");
    }
    let v = up.wait_ready(&fx);
    assert_eq!(pids(&v), before);
    let refused = |l: &str| l.contains(r#""type":"supervisor""#) && l.contains("reload refused");
    assert!(
        events.until(Duration::from_secs(10), refused),
        "{:?}",
        events.seen
    );
    assert!(
        up_log_has(&fx, "reload refused, nothing changed"),
        "{}",
        up.output()
    );
    let st = fx.run(&["status"], CMD);
    assert!(st.stdout.contains("plan generation 1, loaded"), "{st:?}");
    // Fixed again: it applies.
    fx.write("supervisor.toml", THREE);
    fx.write("a.env", "GREETING=hi\n");
    expect_code(&fx.run(&["reload"], CMD), 0);
    let applied = |l: &str| l.contains("reload applied: plan generation 2");
    assert!(
        events.until(Duration::from_secs(10), applied),
        "{:?}",
        events.seen
    );
}

#[test]
fn sighup_without_a_terminal_reloads() {
    let fx = Fixture::new();
    fx.write("supervisor.toml", THREE);
    fx.write(".env", "SHARED=1\n");
    fx.write("a.env", "GREETING=hello\n");
    let mut up = Up::start_detached(&fx);
    let before = pids(&up.wait_ready(&fx));
    fx.write("a.env", "GREETING=hangup\n");
    // SAFETY: kill(2) on our own child's pid.
    unsafe { libc::kill(up.pid() as i32, libc::SIGHUP) };
    let v = up.wait_for(&fx, "a restarted", |v| {
        pids(v).get("a").is_some_and(|p| *p != before["a"]) && v.iter().all(|s| s["ready"] == true)
    });
    let after = pids(&v);
    assert_eq!(after["c"], before["c"]);
    assert_eq!(environ(after["a"], "GREETING").as_deref(), Some("hangup"));
    assert!(
        up_log_has(&fx, "reload applied (plan generation 2)"),
        "{}",
        up.output()
    );
    // The diff is logged one line per line, not as one line with `\n`s.
    let log = std::fs::read_to_string(fx.path().join("up.log")).unwrap_or_default();
    assert!(!log.contains("\\n"), "{log}");
    assert!(
        log.lines()
            .any(|l| l.contains("GREETING") && !l.contains("reload applied")),
        "{log}"
    );
}

/// The URL written in supervisor.toml itself: only `uses_database` services
/// receive it (a URL in `.env` goes to every service, like any variable).
fn db_project(fx: &Fixture, url: &str) {
    fx.write(
        "supervisor.toml",
        &(format!("[database]\nurl = \"{url}\"\n")
            + r#"wait = "2s"

[services.app]
command = ["sleep", "100"]

[services.side]
command = ["sleep", "100"]
uses_database = false
"#),
    );
}

#[test]
fn a_database_url_is_probed_before_any_service_gets_it() {
    let port = pg::tls_server();
    let url = |host: &str, pw: &str| {
        format!(
            "postgresql://{}:{pw}@{host}:{port}/{}?sslmode=require",
            pg::USER,
            pg::DB
        )
    };
    let good = url("localhost", &pg::encoded());
    let fx = Fixture::new();
    db_project(&fx, &good);
    let mut up = Up::start(&fx);
    let before = pids(&up.wait_ready(&fx));
    assert_eq!(
        environ(before["app"], "DATABASE_URL").as_deref(),
        Some(good.as_str())
    );

    db_project(&fx, &url("127.0.0.1", "wrong-password-1"));
    let o = fx.run(&["reload"], CMD);
    expect_code(&o, 5);
    assert!(
        o.stderr.contains("the new database URL failed the probe"),
        "{o:?}"
    );
    assert!(!o.stderr.contains("wrong-password-1"), "{o:?}");
    let v = up.wait_ready(&fx);
    assert_eq!(pids(&v), before, "refused: nothing restarted");
    assert_eq!(
        environ(before["app"], "DATABASE_URL").as_deref(),
        Some(good.as_str())
    );

    let moved = url("127.0.0.1", &pg::encoded());
    db_project(&fx, &moved);
    let o = fx.run(&["reload"], CMD);
    expect_code(&o, 0);
    assert!(o.stdout.contains(&format!("@localhost:{port}/")), "{o:?}");
    assert!(o.stdout.contains(&format!("@127.0.0.1:{port}/")), "{o:?}");
    for form in pg::forms() {
        assert!(!o.stdout.contains(&form), "password leaked: {o:?}");
        assert!(!up.output().contains(&form), "password leaked in up's log");
    }
    let after = pids(&up.wait_ready(&fx));
    assert_ne!(after["app"], before["app"]);
    assert_eq!(
        after["side"], before["side"],
        "side does not use the database"
    );
    assert_eq!(
        environ(after["app"], "DATABASE_URL").as_deref(),
        Some(moved.as_str())
    );
}

#[test]
fn a_longer_name_added_by_a_reload_re_aligns_the_log_prefixes() {
    let fx = Fixture::new();
    let ticker = r#"command = ["sh", "-c", "while :; do echo tick; sleep 0.1; done"]"#;
    fx.write("supervisor.toml", &format!("[services.a]\n{ticker}\n"));
    let mut up = Up::start(&fx);
    up.wait_ready(&fx);
    assert!(up.wait_for_log("a          | tick\n"), "{}", up.output());
    let long = "a_much_longer_name";
    fx.write(
        "supervisor.toml",
        &format!("[services.a]\n{ticker}\n\n[services.{long}]\n{ticker}\n"),
    );
    expect_code(&fx.run(&["reload"], CMD), 0);
    // Every prefix is now as wide as the longest name: the old service's,
    // the new one's and the supervisor's own events.
    let pad = |n: &str| format!("{n:<18} ");
    for needle in [
        format!("\n{}| tick\n", pad("a")),
        format!("\n{}| tick\n", pad(long)),
        format!("\n{}* {long}: started", pad("supervisor")),
    ] {
        assert!(up.wait_for_log(&needle), "{needle:?} in\n{}", up.output());
    }
}

/// A `logs -f` started before the reload re-aligns too: it follows the
/// added service (no names: every service, also those added later), and
/// every prefix becomes as wide as the longest name; one that follows `a`
/// only re-aligns `a`'s lines the same way.
#[test]
fn a_logs_follower_follows_added_services_and_re_aligns() {
    let fx = Fixture::new();
    let ticker = r#"command = ["sh", "-c", "while :; do echo tick; sleep 0.1; done"]"#;
    fx.write("supervisor.toml", &format!("[services.a]\n{ticker}\n"));
    let mut up = Up::start(&fx);
    up.wait_ready(&fx);
    let mut all = Follower::start(fx.cmd(&["logs", "-f", "-n", "1"]));
    let mut only_a = Follower::start(fx.cmd(&["logs", "-f", "a", "-n", "1"]));
    let narrow = |l: &str| l == "a          | tick";
    assert!(all.until(Duration::from_secs(10), narrow), "{:?}", all.seen);
    assert!(
        only_a.until(Duration::from_secs(10), narrow),
        "{:?}",
        only_a.seen
    );
    let long = "a_much_longer_name";
    fx.write(
        "supervisor.toml",
        &format!("[services.a]\n{ticker}\n\n[services.{long}]\n{ticker}\n"),
    );
    expect_code(&fx.run(&["reload"], CMD), 0);
    let pad = |n: &str| format!("{n:<18} | tick");
    let (wide_a, wide_long) = (pad("a"), pad(long));
    let t = Duration::from_secs(10);
    assert!(all.until(t, |l| l == wide_long), "{:?}", all.seen);
    assert!(all.until(t, |l| l == wide_a), "{:?}", all.seen);
    assert!(only_a.until(t, |l| l == wide_a), "{:?}", only_a.seen);
    // Once wide, never narrow again.
    let first = all.seen.iter().position(|l| *l == wide_long).unwrap_or(0);
    assert!(
        !all.seen[first..].iter().any(|l| narrow(l)),
        "{:?}",
        all.seen
    );
    assert!(
        !only_a.seen.iter().any(|l| l.contains(long)),
        "{:?}",
        only_a.seen
    );
}
