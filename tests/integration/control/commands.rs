//! `status` (JSON shape, group RSS, --check both ways, the human table),
//! `restart` / `stop` / `start`, `logs`, and no running `up`.

use super::{expect_code, service, Up, CMD};
use crate::support::Fixture;

const GROUP: &str = r#"
[services.web]
command = ["sh", "-c", "echo web up; sleep 100 & sleep 100 & wait"]
"#;

/// RSS of one process alone (bytes), from /proc.
fn leader_rss(pid: i64) -> u64 {
    let statm = std::fs::read_to_string(format!("/proc/{pid}/statm")).unwrap();
    let pages: u64 = statm.split_whitespace().nth(1).unwrap().parse().unwrap();
    // SAFETY: sysconf has no memory effects.
    pages * unsafe { libc::sysconf(libc::_SC_PAGESIZE) } as u64
}

#[test]
fn status_json_counts_the_whole_process_group() {
    let fx = Fixture::new();
    fx.write("supervisor.toml", GROUP);
    let mut up = Up::start(&fx);
    let v = up.wait_for(&fx, "three processes", |v| {
        v.iter().all(|s| s["processes"].as_u64() == Some(3))
    });
    let web = service(&v, "web");
    for key in [
        "name",
        "state",
        "pid",
        "started_at",
        "uptime_secs",
        "restarts",
        "last_exit",
        "ready",
        "detail",
        "rss_bytes",
        "cpu_percent",
        "processes",
    ] {
        assert!(web.get(key).is_some(), "missing {key}: {web}");
    }
    assert_eq!(web["state"], "ready");
    assert_eq!(web["restarts"], 0);
    assert!(web["cpu_percent"].as_f64().unwrap() >= 0.0);
    let pid = web["pid"].as_i64().unwrap();
    let group = web["rss_bytes"].as_u64().unwrap();
    let alone = leader_rss(pid);
    eprintln!("web: group RSS {group} B over 3 processes, leader alone {alone} B");
    assert!(group > alone, "group {group} <= leader {alone}");
    let o = fx.run(&["status", "--check"], CMD);
    expect_code(&o, 0);
    assert!(o.stdout.starts_with("SERVICE"), "{o:?}");
}

#[test]
fn status_check_fails_while_a_service_is_not_ready() {
    let fx = Fixture::new();
    fx.write(
        "supervisor.toml",
        r#"
[services.web]
command = ["sleep", "100"]

[services.slow]
command = ["sleep", "100"]
ready = { log = "never printed", timeout = "1h" }
"#,
    );
    let mut up = Up::start(&fx);
    up.wait_for(&fx, "slow running", |v| {
        service(v, "slow")["state"] == "running"
    });
    let o = fx.run(&["status", "--check"], CMD);
    expect_code(&o, 11);
    assert!(o.stderr.contains("unhealthy: slow is running"), "{o:?}");
    let o = fx.run(&["status", "--check", "--json"], CMD);
    expect_code(&o, 11);
    assert!(
        serde_json::from_str::<serde_json::Value>(&o.stdout).is_ok(),
        "{o:?}"
    );
}

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

#[test]
fn stopping_the_last_service_ends_up_cleanly() {
    let fx = Fixture::new();
    fx.write(
        "supervisor.toml",
        "[services.only]\ncommand = [\"sleep\", \"100\"]\n",
    );
    let mut up = Up::start(&fx);
    up.wait_ready(&fx);
    let o = fx.run(&["stop", "only"], CMD);
    expect_code(&o, 0);
    assert!(o.stdout.contains("stopped `only`"), "{o:?}");
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
        if o.stderr.contains("token=") || std::time::Instant::now() > deadline {
            break o;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    };
    expect_code(&o, 0);
    assert_eq!(o.stdout, "line 4\nline 5\n");
    assert_eq!(o.stderr, "token=****\n");
    let all = fx.run(&["status", "--json"], CMD).all() + &o.all();
    assert!(!all.contains("s3cr3t"), "{all}");
    let o = fx.run(&["logs", "tallk"], CMD);
    expect_code(&o, 64);
    assert!(o.stderr.contains("did you mean `talk`"), "{o:?}");
}

#[test]
fn without_a_running_up_commands_exit_no_supervisor() {
    let fx = Fixture::new();
    fx.write("supervisor.toml", GROUP);
    for args in [
        &["status"][..],
        &["status", "--check"],
        &["restart", "web"],
        &["logs", "web"],
    ] {
        let o = fx.run(args, CMD);
        expect_code(&o, 10);
        assert!(
            o.stderr.contains("no running `up` found"),
            "{args:?}: {o:?}"
        );
    }
}

/// The table with what changes between runs (pids, times, sizes) replaced,
/// re-aligned the way `status` aligns it.
fn redact(table: &str) -> String {
    let mut rows: Vec<Vec<String>> = Vec::new();
    let mut tail = String::new();
    for l in table.lines() {
        let cells: Vec<&str> = l
            .split("  ")
            .map(str::trim)
            .filter(|c| !c.is_empty())
            .collect();
        if cells.len() != 9 {
            tail.push_str(l);
            tail.push('\n');
            continue;
        }
        let head = cells[0] == "SERVICE";
        let t = |c: &str, r: &str| {
            if head || c == "-" {
                c.to_owned()
            } else {
                r.to_owned()
            }
        };
        let exit = match cells[5].split_once(" (") {
            Some((why, _)) => format!("{why} (<t> ago)"),
            None => cells[5].to_owned(),
        };
        rows.push(vec![
            cells[0].to_owned(),
            cells[1].to_owned(),
            t(cells[2], "<pid>"),
            t(cells[3], "<t>"),
            cells[4].to_owned(),
            exit,
            cells[6].to_owned(),
            t(cells[7], "<rss>"),
            t(cells[8], "<cpu>"),
        ]);
    }
    let widths: Vec<usize> = (0..9)
        .map(|c| rows.iter().map(|r| r[c].len()).max().unwrap_or(0))
        .collect();
    let mut out = String::new();
    for r in rows {
        let cells: Vec<String> = r
            .iter()
            .zip(&widths)
            .map(|(c, w)| format!("{c:<w$}"))
            .collect();
        out.push_str(cells.join("  ").trim_end());
        out.push('\n');
    }
    out + &tail
}

#[test]
fn status_table() {
    let fx = Fixture::new();
    fx.write(
        "supervisor.toml",
        r#"
[services.migrate]
command = ["sh", "-c", "echo migrated"]
oneshot = true

[services.web]
command = ["sleep", "100"]
depends_on = ["migrate"]

[services.crash]
command = ["sh", "-c", "exit 3"]
restart = "never"
"#,
    );
    let mut up = Up::start(&fx);
    up.wait_for(&fx, "settled", |v| {
        service(v, "web")["state"] == "ready" && service(v, "crash")["last_exit"].is_object()
    });
    let o = fx.run(&["status"], CMD);
    expect_code(&o, 0);
    insta::assert_snapshot!(redact(&o.stdout));
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
