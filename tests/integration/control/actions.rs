//! `restart` / `stop` / `start` (results, idempotence, crashes, dependencies,
//! the last service) and `logs` (tail, masking).

use super::{expect_code, service, Up, CMD};
use crate::support::Fixture;

#[test]
fn stop_start_restart_report_the_result() {
    let fx = Fixture::new();
    fx.write(
        "supervisor.toml",
        r#"
[services.worker]
command = ["sleep", "100"]
stop_timeout = "5s"

[services.other]
command = ["sleep", "100"]
"#,
    );
    let mut up = Up::start(&fx);
    let v = up.wait_ready(&fx);
    let pid1 = service(&v, "worker")["pid"].as_i64().unwrap();

    let o = fx.run(&["stop", "worker"], CMD);
    expect_code(&o, 0);
    assert_eq!(o.stdout, "stopped `worker`\n");
    let o = fx.run(&["stop", "worker"], CMD);
    expect_code(&o, 0);
    assert_eq!(o.stdout, "`worker` is already stopped\n");

    let o = fx.run(&["start", "worker"], CMD);
    expect_code(&o, 0);
    assert!(
        o.stdout.starts_with("started `worker`: ready (pid "),
        "{o:?}"
    );
    let v = up.wait_ready(&fx);
    let pid2 = service(&v, "worker")["pid"].as_i64().unwrap();
    assert_ne!(pid1, pid2);

    let o = fx.run(&["restart", "worker"], CMD);
    expect_code(&o, 0);
    assert!(
        o.stdout.starts_with("restarted `worker`: ready (pid "),
        "{o:?}"
    );
    let v = up.wait_ready(&fx);
    assert_ne!(service(&v, "worker")["pid"].as_i64().unwrap(), pid2);
    // The old process group is gone.
    assert!(!std::path::Path::new(&format!("/proc/{pid2}")).exists());

    let o = fx.run(&["restart", "wroker"], CMD);
    expect_code(&o, 64);
    assert!(
        o.stderr
            .contains("no service `wroker` (did you mean `worker`?)"),
        "{o:?}"
    );
}

#[test]
fn a_restart_into_a_crash_is_reported_as_failed() {
    let fx = Fixture::new();
    fx.script(
        "flaky.sh",
        "if [ -e crashed ]; then exit 3; fi\ntouch crashed\nexec sleep 100",
    );
    fx.write(
        "supervisor.toml",
        "[services.flaky]\ncommand = [\"./flaky.sh\"]\nrestart = \"never\"\n",
    );
    let mut up = Up::start(&fx);
    up.wait_ready(&fx);
    let o = fx.run(&["restart", "flaky"], CMD);
    expect_code(&o, 8);
    assert!(o.stderr.contains("flaky: exit code 3"), "{o:?}");
    // It was the only service: `up` has nothing left and ends, failed.
    assert!(o.stderr.contains("`up` is exiting"), "{o:?}");
    assert_eq!(up.stop().and_then(|s| s.code()), Some(8), "{}", up.output());
}

/// Ready (its log line came), then dead while its dependent was being
/// started: the restart did not bring it up, so it is not a success.
#[test]
fn a_restart_that_dies_right_after_ready_is_reported_as_failed() {
    let fx = Fixture::new();
    fx.script(
        "x.sh",
        "echo up\nif [ -e armed ]; then sleep 0.05; exit 3; fi\nexec sleep 100",
    );
    fx.write(
        "supervisor.toml",
        r#"
[services.x]
command = ["./x.sh"]
ready = { log = "^up$" }
backoff = { initial = "5s" }

[services.c]
command = ["sleep", "100"]
depends_on = ["x"]
"#,
    );
    let mut up = Up::start(&fx);
    up.wait_ready(&fx);
    fx.write("armed", "");
    let o = fx.run(&["restart", "x"], CMD);
    expect_code(&o, 8);
    assert!(o.stderr.contains("x: exit code 3"), "{o:?}");
}

#[test]
fn stopping_the_last_service_keeps_up_running_until_a_signal() {
    let fx = Fixture::new();
    fx.write(
        "supervisor.toml",
        "[services.only]\ncommand = [\"sleep\", \"100\"]\n",
    );
    let mut up = Up::start(&fx);
    up.wait_ready(&fx);
    let o = fx.run(&["stop", "only"], CMD);
    expect_code(&o, 0);
    assert_eq!(o.stdout, "stopped `only`\n", "{o:?}");
    // The user stopped it: `up` stays, waiting for requests.
    std::thread::sleep(std::time::Duration::from_millis(500));
    let v = up.wait_for(&fx, "only stopped", |v| {
        service(v, "only")["state"] == "stopped"
    });
    assert_eq!(service(&v, "only")["pid"], serde_json::Value::Null);
    let o = fx.run(&["start", "only"], CMD);
    expect_code(&o, 0);
    assert!(o.stdout.starts_with("started `only`: ready"), "{o:?}");
    up.wait_ready(&fx);
    assert_eq!(up.stop().and_then(|s| s.code()), Some(0), "{}", up.output());
    assert!(!fx.path().join(".uaol-supervisor.sock").exists());
}

#[test]
fn logs_tail_with_secrets_masked() {
    let fx = Fixture::new();
    fx.write(
        "supervisor.toml",
        r#"
[services.talk]
command = ["sh", "-c", "for i in 1 2 3 4 5; do echo line $i; done; echo token=$API_TOKEN >&2; exec sleep 100"]
env = { API_TOKEN = "s3cr3t-value-xyz" }
"#,
    );
    let mut up = Up::start(&fx);
    up.wait_ready(&fx);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    let o = loop {
        let o = fx.run(&["logs", "talk", "-n", "3"], CMD);
        if o.stdout.contains("token=") || std::time::Instant::now() > deadline {
            break o;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    };
    expect_code(&o, 0);
    // Prefixed like `up`'s output: stderr lines marked `!`, in order.
    assert_eq!(
        o.stdout,
        "talk       | line 4\ntalk       | line 5\ntalk       ! token=****\n"
    );
    let all = fx.run(&["status", "--json"], CMD).all() + &o.all();
    assert!(!all.contains("s3cr3t"), "{all}");
    let o = fx.run(&["logs", "tallk"], CMD);
    expect_code(&o, 64);
    assert!(o.stderr.contains("did you mean `talk`"), "{o:?}");
}

#[test]
fn restart_cascades_to_ready_dependents_and_start_brings_dependencies() {
    let fx = Fixture::new();
    fx.write(
        "supervisor.toml",
        r#"
[services.db]
command = ["sh", "-c", "echo db ready; exec sleep 100"]
ready = { log = "db ready" }

[services.api]
command = ["sleep", "100"]
depends_on = ["db"]

[services.side]
command = ["sleep", "100"]
depends_on = { db = "started" }
"#,
    );
    let mut up = Up::start(&fx);
    let v = up.wait_ready(&fx);
    let pid = |v: &[serde_json::Value], n: &str| service(v, n)["pid"].as_i64().unwrap();
    let o = fx.run(&["restart", "db"], CMD);
    expect_code(&o, 0);
    assert!(
        o.stdout
            .contains("then restarted its dependents: `api` (ready)"),
        "{o:?}"
    );
    let w = up.wait_ready(&fx);
    assert_ne!(
        pid(&v, "api"),
        pid(&w, "api"),
        "api waits on ready: restarted"
    );
    assert_eq!(
        pid(&v, "side"),
        pid(&w, "side"),
        "side waits on started: untouched"
    );

    expect_code(&fx.run(&["stop", "api"], CMD), 0);
    expect_code(&fx.run(&["stop", "db"], CMD), 0);
    let o = fx.run(&["start", "api"], CMD);
    expect_code(&o, 0);
    assert!(o.stdout.contains("first started: `db` (ready)"), "{o:?}");
    up.wait_ready(&fx);
}
