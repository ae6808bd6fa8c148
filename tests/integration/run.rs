//! Integration tests for `run -- CMD`: every path ends with CMD's code (or the
//! documented one) and nothing left running.

use std::time::{Duration, Instant};

use crate::upkit::{alive, eventually, project, Up};

const LIMIT: Duration = Duration::from_secs(30);

const STACK: &str = r#"
[env]
GREETING = "hello"

[services.db]
command = ["sh", "-c", "sleep 0.2; echo listening; exec sleep 1000"]
ready = { log = "listening", interval = "50ms", timeout = "10s" }

[services.migrate]
command = ["sh", "-c", "echo migrated"]
oneshot = true
depends_on = { db = "ready" }
"#;

/// `started (pid N)` pids in the output.
fn pids(out: &str) -> Vec<i32> {
    out.match_indices("started (pid ")
        .filter_map(|(i, m)| {
            let rest = &out[i + m.len()..];
            rest[..rest.find(')')?].parse().ok()
        })
        .collect()
}

fn assert_all_gone(out: &str) {
    for p in pids(out) {
        assert!(
            eventually(Duration::from_secs(3), || !alive(p)),
            "pid {p} left running:\n{out}"
        );
    }
}

#[test]
fn cmd_success_after_oneshot_completed_with_the_global_env() {
    let f = project(STACK);
    let mut c = f.cmd(&[
        "run",
        "--",
        "sh",
        "-c",
        "echo \"cmd: $GREETING ${NOT_INHERITED:-unset}\"",
    ]);
    c.env("NOT_INHERITED", "leak");
    let out = crate::support::run_bounded(&mut c, LIMIT);
    assert_eq!(out.code(), Some(0), "{}", out.all());
    let s = out.all();
    assert!(s.contains("cmd: hello unset"), "{s}");
    let pos = |x: &str| s.find(x).unwrap_or_else(|| panic!("missing {x}:\n{s}"));
    assert!(pos("migrate: completed") < pos("cmd: hello"), "{s}");
    assert_all_gone(&s);
}

#[test]
fn cmd_failure_code_is_passed_through() {
    let f = project(STACK);
    let out = f.run(&["run", "--", "sh", "-c", "exit 3"], LIMIT);
    assert_eq!(out.code(), Some(3), "{}", out.all());
    assert_all_gone(&out.all());
}

#[test]
fn cmd_killed_by_signal_gives_128_plus_n() {
    let f = project(STACK);
    let out = f.run(&["run", "--", "sh", "-c", "kill -9 $$"], LIMIT);
    assert_eq!(out.code(), Some(137), "{}", out.all());
    assert_all_gone(&out.all());
}

#[test]
fn cmd_not_found_is_127() {
    let f = project(STACK);
    let out = f.run(&["run", "--", "no-such-command-xyz"], LIMIT);
    assert_eq!(out.code(), Some(127), "{}", out.all());
    assert!(
        out.stderr
            .contains("program `no-such-command-xyz` not found"),
        "{}",
        out.stderr
    );
    assert_all_gone(&out.all());
}

#[test]
fn service_crashing_mid_run_stops_cmd_and_fails() {
    let f = project(
        r#"
[services.flaky]
command = ["sh", "-c", "sleep 0.5; echo dying >&2; exit 1"]
restart = "never"
"#,
    );
    let t = Instant::now();
    let out = f.run(&["run", "--", "sleep", "30"], LIMIT);
    assert_eq!(out.code(), Some(8), "{}", out.all());
    assert!(t.elapsed() < Duration::from_secs(10), "{:?}", t.elapsed());
    assert!(
        out.stderr
            .contains("a service failed while CMD was running: flaky"),
        "{}",
        out.all()
    );
    assert_all_gone(&out.all());
}

#[test]
fn readiness_timeout_names_the_service_and_its_last_lines() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let f = project(&format!(
        r#"
[services.slow]
command = ["sh", "-c", "echo booting; echo still booting; exec sleep 1000"]
ready = {{ tcp = "127.0.0.1:{port}", interval = "100ms", timeout = "30s" }}
[services.fine]
command = ["sleep", "1000"]
"#
    ));
    let out = f.run(&["run", "--timeout", "1s", "--", "true"], LIMIT);
    assert_eq!(out.code(), Some(9), "{}", out.all());
    assert!(
        out.stderr.contains("not ready after 1s: slow (running)"),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr
            .contains("--- last output of slow ---\nbooting\nstill booting"),
        "{}",
        out.stderr
    );
    assert!(
        !out.stderr.contains("last output of fine"),
        "{}",
        out.stderr
    );
    assert_all_gone(&out.all());
}

#[test]
fn ctrl_c_stops_cmd_and_everything() {
    let f = project(STACK);
    let mut run = Up::start(
        &f,
        &["run", "--", "sh", "-c", "echo cmd-running; exec sleep 30"],
    );
    assert!(run.wait_for("cmd-running", LIMIT), "{}", run.output());
    // A terminal's Ctrl-C goes to the whole foreground process group.
    crate::support::kill_group_with(run.pid(), libc::SIGINT);
    let st = run.wait(LIMIT);
    assert_eq!(st.code(), Some(130), "{}", run.output());
    assert_all_gone(&run.output());
}

#[test]
fn sigterm_is_forwarded_to_cmd() {
    let f = project(STACK);
    let mut run = Up::start(
        &f,
        &[
            "run",
            "--",
            "sh",
            "-c",
            "trap 'echo got-term; exit 42' TERM; echo cmd-running; sleep 30 & wait",
        ],
    );
    assert!(run.wait_for("cmd-running", LIMIT), "{}", run.output());
    run.signal(libc::SIGTERM);
    let st = run.wait(LIMIT);
    assert_eq!(st.code(), Some(42), "{}", run.output());
    assert!(run.output().contains("got-term"), "{}", run.output());
    assert_all_gone(&run.output());
}

#[test]
fn timeout_while_the_gate_probes_names_the_gate_and_its_last_failure() {
    let port = crate::pg::free_port(); // nothing listens there
    let f = project(&format!(
        r#"
[database]
url = "postgresql://u:secretpw@127.0.0.1:{port}/db?sslmode=disable"
wait = "30s"

[services.app]
command = ["sh", "-c", "echo app up; exec sleep 1000"]
"#
    ));
    let out = f.run(&["run", "--timeout", "2s", "--", "true"], LIMIT);
    let all = out.all();
    assert_eq!(out.code(), Some(9), "{all}");
    assert!(
        all.contains(&format!("database gate: probing 127.0.0.1:{port}")),
        "{all}"
    );
    assert!(
        out.stderr.contains(&format!(
            "not ready after 2s: app (pending): waiting for the database gate at 127.0.0.1:{port} (last attempt: refused (tcp))"
        )),
        "{all}"
    );
    assert!(
        !all.contains("app: started") && !all.contains("secretpw"),
        "{all}"
    );
}

#[test]
fn timeout_names_the_dependency_a_pending_service_waits_for() {
    let port = crate::pg::free_port();
    let f = project(&format!(
        r#"
[services.api]
command = ["sh", "-c", "echo api booting; exec sleep 1000"]
ready = {{ tcp = "127.0.0.1:{port}", interval = "100ms", timeout = "30s" }}
[services.web]
command = ["sleep", "1000"]
depends_on = {{ api = "ready" }}
"#
    ));
    let out = f.run(&["run", "--timeout", "1s", "--", "true"], LIMIT);
    assert_eq!(out.code(), Some(9), "{}", out.all());
    let want = format!(
        "not ready after 1s: api (running): waiting for its readiness check (tcp 127.0.0.1:{port}); \
         web (pending): waiting for `api` to be ready (now running)"
    );
    assert!(out.stderr.contains(&want), "{}", out.stderr);
    assert!(!out.stderr.contains("last output of web"), "{}", out.stderr);
    assert_all_gone(&out.all());
}

/// The last output lines `run` shows on a readiness timeout are service
/// output too: controls are shown as escapes there as well.
#[test]
fn timeout_report_shows_controls_in_last_lines_as_escapes() {
    let port = crate::pg::free_port();
    let f = project(&format!(
        r#"
[services.slow]
command = ["./slow.sh"]
ready = {{ tcp = "127.0.0.1:{port}", interval = "100ms", timeout = "30s" }}
"#
    ));
    f.script(
        "slow.sh",
        r"printf 'x\rsupervisor * forged\n\033[2Kgone\n'; exec sleep 1000",
    );
    let out = f.run(&["run", "--timeout", "1s", "--", "true"], LIMIT);
    assert_eq!(out.code(), Some(9), "{}", out.all());
    assert!(
        out.stderr
            .contains("--- last output of slow ---\nx\\rsupervisor * forged\n\\x1b[2Kgone\n"),
        "{:?}",
        out.stderr
    );
    assert!(
        !out.all().contains('\r') && !out.all().contains('\x1b'),
        "{:?}",
        out.all()
    );
    assert_all_gone(&out.all());
}
