//! After a failed `restart x`, what waits for `x` to be ready is not left
//! stopped for good: it goes back to `pending` (held back, `status` says
//! what for) and starts, in dependency order, once `x` is ready again —
//! here by its own restart policy. A dependent the user stopped stays
//! stopped. Every service appends its name to `order` when it starts.

use std::time::Duration;

use super::live::Follower;
use super::{expect_code, order, pids, service, Up, CMD};
use crate::support::Fixture;

const CHAIN: &str = r#"
[services.x]
command = ["./x.sh"]
ready = { log = "^up$" }
backoff = { initial = "2s", max = "2s" }

[services.c]
command = ["sh", "-c", "echo c >> order; echo up; exec sleep 100"]
depends_on = ["x"]
ready = { log = "^up$" }

[services.d]
command = ["sh", "-c", "echo d >> order; echo up; exec sleep 100"]
depends_on = ["c"]
ready = { log = "^up$" }

[services.e]
command = ["sh", "-c", "echo e >> order; echo up; exec sleep 100"]
depends_on = ["x"]
ready = { log = "^up$" }
"#;

#[test]
fn dependents_of_a_failed_restart_start_once_it_recovers_by_itself() {
    let fx = Fixture::new();
    // Crashes once when armed, then comes up again on its own.
    fx.script(
        "x.sh",
        "if [ -e armed ]; then rm armed; exit 3; fi\necho up\nexec sleep 100",
    );
    fx.write("supervisor.toml", CHAIN);
    let mut up = Up::start(&fx);
    let before = pids(&up.wait_ready(&fx));
    expect_code(&fx.run(&["stop", "e"], CMD), 0);
    let mut ev = Follower::start(fx.cmd(&["events", "--json"]));
    std::thread::sleep(Duration::from_millis(300));
    fx.write("armed", "");

    let o = fx.run(&["restart", "x"], CMD);
    expect_code(&o, 8);
    assert!(o.stderr.contains("x: exit code 3"), "{o:?}");
    assert!(
        o.stderr
            .contains("what waits for it starts once it is ready: `c`, `d`"),
        "{o:?}"
    );
    // Held back, and `status` says what for (x is in its 2 s backoff).
    let v = up.wait_for(&fx, "c pending", |v| service(v, "c")["state"] == "pending");
    let detail = service(&v, "c")["detail"].as_str().unwrap_or_default();
    assert!(detail.contains("waiting for `x` to be ready"), "{v:?}");
    assert_eq!(service(&v, "d")["state"], "pending", "{v:?}");
    assert_eq!(service(&v, "e")["state"], "stopped", "{v:?}");

    // x comes back by its restart policy; c, then d, start after it.
    let v = up.wait_for(&fx, "d ready again", |v| {
        service(v, "d")["state"] == "ready"
    });
    let after = pids(&v);
    assert_ne!(after["c"], before["c"], "{v:?}");
    assert_ne!(after["d"], before["d"], "{v:?}");
    assert_eq!(order(&fx)[3..], ["c", "d"], "{}", up.output());
    // The user's `stop e` holds.
    std::thread::sleep(Duration::from_millis(300));
    let v = up.wait_for(&fx, "status", |_| true);
    assert_eq!(service(&v, "e")["state"], "stopped", "{v:?}");

    // `events` showed it: c held back (with why), then started after x.
    let d_ready = |l: &str| l.contains(r#""service":"d""#) && l.contains(r#""to":"ready""#);
    assert!(ev.until(Duration::from_secs(10), d_ready), "{:?}", ev.seen);
    let seen = ev.seen.join("\n");
    let at = |needle: &str| {
        seen.find(needle)
            .unwrap_or_else(|| panic!("no {needle} in\n{seen}"))
    };
    let held = at(r#""service":"c","from":"stopped","to":"pending""#);
    let line = seen[held..].lines().next().unwrap_or_default();
    assert!(line.contains("waiting for `x` to be ready"), "{seen}");
    let x_ready = at(r#""service":"x","from":"running","to":"ready""#);
    let c_start = at(r#""service":"c","from":"pending","to":"starting""#);
    assert!(held < x_ready && x_ready < c_start, "{seen}");
}

/// `x` gives up for good (`restart = "never"`): what waits for it keeps
/// waiting (not `failed` with it) until a `start x` brings it back; a
/// held-back dependent the user then stops stays stopped.
#[test]
fn held_back_dependents_wait_for_a_start_and_respect_a_stop() {
    let fx = Fixture::new();
    fx.script(
        "x.sh",
        "if [ -e armed ]; then rm armed; exit 3; fi\necho up\nexec sleep 100",
    );
    let never = CHAIN.replace(
        "backoff = { initial = \"2s\", max = \"2s\" }",
        "restart = \"never\"",
    );
    fx.write("supervisor.toml", &never);
    let mut up = Up::start(&fx);
    let before = pids(&up.wait_ready(&fx));
    fx.write("armed", "");
    let o = fx.run(&["restart", "x"], CMD);
    expect_code(&o, 8);
    assert!(
        o.stderr
            .contains("what waits for it starts once it is ready: `c`, `d`, `e`"),
        "{o:?}"
    );
    let v = up.wait_for(&fx, "status", |_| true);
    assert_eq!(service(&v, "x")["state"], "failed", "{v:?}");
    for name in ["c", "d", "e"] {
        assert_eq!(service(&v, name)["state"], "pending", "{name}: {v:?}");
    }
    let detail = service(&v, "c")["detail"].as_str().unwrap_or_default();
    assert!(detail.contains("`x` to be ready (now failed)"), "{v:?}");

    expect_code(&fx.run(&["stop", "e"], CMD), 0);
    let o = fx.run(&["start", "x"], CMD);
    expect_code(&o, 0);
    let v = up.wait_for(&fx, "d ready again", |v| {
        service(v, "d")["state"] == "ready"
    });
    assert_ne!(pids(&v)["c"], before["c"], "{v:?}");
    assert_eq!(service(&v, "e")["state"], "stopped", "{v:?}");
    assert_eq!(order(&fx)[3..], ["c", "d"], "{}", up.output());
}
