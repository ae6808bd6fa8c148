//! Integration tests for `up`: the real binary on temp-dir supervisor.toml files
//! with tiny `sh` services. Engine details (backoff timings, readiness kinds,
//! stop escalation, floods) are covered through the library API in
//! `src/supervisor/tests/`; here: the user-visible whole.

use std::time::{Duration, Instant};

use crate::upkit::{alive, eventually, project, Up};

const LIMIT: Duration = Duration::from_secs(20);

const STACK: &str = r#"
[supervisor]
stop_timeout = "3s"

[services.db]
command = ["sh", "-c", "sleep 0.2; echo 'listening on 5432'; exec sleep 1000"]
ready = { log = "listening on \\d+", interval = "50ms", timeout = "10s" }

[services.migrate]
command = ["sh", "-c", "echo migrating; echo careful >&2"]
oneshot = true
depends_on = { db = "ready" }

[services.api]
command = ["sh", "-c", "echo api up; exec sleep 1000"]
depends_on = { migrate = "completed" }
"#;

#[test]
fn up_starts_in_order_prefixes_output_and_stops_cleanly_on_sigint() {
    let f = project(STACK);
    let mut up = Up::start(&f, &["up"]);
    assert!(up.wait_for("api        | api up", LIMIT), "{}", up.output());
    up.signal(libc::SIGINT);
    let st = up.wait(LIMIT);
    let out = up.output();
    assert_eq!(st.code(), Some(0), "{out}");
    let pos = |s: &str| {
        out.find(s)
            .unwrap_or_else(|| panic!("missing `{s}` in:\n{out}"))
    };
    assert!(pos("db         | listening on 5432") < pos("migrate    | migrating"));
    assert!(pos("migrate: completed (exit code 0)") < pos("api        | api up"));
    assert!(out.contains("migrate    ! careful"), "{out}");
    // Reverse order: api is gone before db is asked to stop.
    assert!(pos("api: stopped") < pos("db: stopping"), "{out}");
    for p in up.service_pids() {
        assert!(!alive(p), "service pid {p} survived");
    }
}

#[test]
fn up_named_service_starts_only_it_and_its_dependencies() {
    let f = project(&format!(
        "{STACK}\n[services.other]\ncommand = [\"sh\", \"-c\", \"echo other; exec sleep 1000\"]\n"
    ));
    let mut up = Up::start(&f, &["up", "migrate"]);
    assert!(up.wait_for("migrate: completed", LIMIT), "{}", up.output());
    up.signal(libc::SIGTERM);
    assert_eq!(up.wait(LIMIT).code(), Some(0));
    let out = up.output();
    assert!(out.contains("db: ready"), "{out}");
    assert!(!out.contains("other"), "{out}");
    assert!(!out.contains("api up"), "{out}");
}

#[test]
fn up_unknown_service_is_a_usage_error() {
    let f = project(STACK);
    let out = f.run(&["up", "nope"], LIMIT);
    assert_eq!(out.code(), Some(64), "{}", out.all());
    assert!(
        out.stderr.contains("unknown service `nope`"),
        "{}",
        out.stderr
    );
}

#[test]
fn up_ends_by_itself_when_every_service_ended_and_reports_failure() {
    let f = project(
        r#"
[services.ok]
command = ["sh", "-c", "echo fine"]
oneshot = true
[services.bad]
command = ["sh", "-c", "exit 4"]
restart = "never"
"#,
    );
    let out = f.run(&["up"], LIMIT);
    assert_eq!(out.code(), Some(8), "{}", out.all());
    assert!(
        out.stdout
            .contains("bad: FAILED: exit code 4, not restarting"),
        "{}",
        out.all()
    );
    assert!(out.stdout.contains("ok         | fine"), "{}", out.all());
}

/// Supervisor events go through our own `tracing` subscriber: `RUST_LOG`
/// filters them by level (the default `info` shows starts, `error` only
/// failures).
#[test]
fn rust_log_filters_supervisor_events() {
    let f = project(
        r#"
[services.bad]
command = ["sh", "-c", "echo hello; exit 4"]
restart = "never"
"#,
    );
    let run = |log: Option<&str>| {
        let mut cmd = f.cmd(&["up"]);
        if let Some(log) = log {
            cmd.env("RUST_LOG", log);
        }
        crate::support::run_bounded(&mut cmd, LIMIT)
    };
    let quiet = run(Some("error"));
    assert!(
        quiet.stdout.contains("bad: FAILED: exit code 4"),
        "{}",
        quiet.all()
    );
    assert!(
        quiet.stdout.contains("bad        | hello"),
        "{}",
        quiet.all()
    );
    assert!(!quiet.stdout.contains("bad: started"), "{}", quiet.all());
    let default = run(None);
    assert!(default.stdout.contains("bad: started"), "{}", default.all());
}

#[test]
fn second_signal_kills_at_once() {
    let f = project(
        r#"
[services.stubborn]
command = ["sh", "-c", "trap '' TERM INT; echo trapped; sleep 1000 & wait"]
stop_timeout = "60s"
"#,
    );
    let mut up = Up::start(&f, &["up"]);
    assert!(
        up.wait_for("stubborn   | trapped", LIMIT),
        "{}",
        up.output()
    );
    up.signal(libc::SIGTERM);
    assert!(up.wait_for("SIGKILL after 60s", LIMIT), "{}", up.output());
    let t = Instant::now();
    up.signal(libc::SIGINT);
    let st = up.wait(LIMIT);
    assert!(t.elapsed() < Duration::from_secs(5), "{:?}", t.elapsed());
    assert_eq!(st.code(), Some(0), "{}", up.output());
    assert!(
        up.output().contains("killing every process group now"),
        "{}",
        up.output()
    );
}

#[test]
fn supervisor_sigkilled_leaves_no_direct_children() {
    let f = project(
        r#"
[services.a]
command = ["sleep", "1000"]
[services.b]
command = ["sh", "-c", "exec sleep 1000"]
"#,
    );
    let up = Up::start(&f, &["up"]);
    assert!(
        eventually(LIMIT, || up.service_pids().len() == 2),
        "{}",
        up.output()
    );
    let pids = up.service_pids();
    up.signal(libc::SIGKILL);
    for p in pids {
        assert!(
            eventually(Duration::from_secs(5), || !alive(p)),
            "child {p} outlived the supervisor"
        );
    }
}

#[test]
fn json_logs_parse() {
    let f = project(STACK);
    let mut up = Up::start(&f, &["--log-format", "json", "up"]);
    assert!(up.wait_for("\"line\":\"api up\"", LIMIT), "{}", up.output());
    up.signal(libc::SIGINT);
    assert_eq!(up.wait(LIMIT).code(), Some(0));
    let mut streams = std::collections::BTreeSet::new();
    for line in up.output().lines() {
        let v: serde_json::Value =
            serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line}"));
        for k in ["ts", "service", "stream", "line"] {
            assert!(v.get(k).is_some(), "{k} missing in {line}");
        }
        streams.insert(v["stream"].as_str().unwrap().to_owned());
    }
    assert_eq!(
        streams.into_iter().collect::<Vec<_>>(),
        vec!["event", "stderr", "stdout"]
    );
}

/// Zombies whose parent is `ppid`.
fn zombies_of(ppid: i32) -> Vec<i32> {
    let mut z = vec![];
    for e in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(pid) = e.file_name().to_string_lossy().parse::<i32>() else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
            continue;
        };
        let mut rest = stat.rsplit(") ").next().unwrap_or("").split_whitespace();
        let (state, parent) = (rest.next(), rest.next().and_then(|p| p.parse::<i32>().ok()));
        if state == Some("Z") && parent == Some(ppid) {
            z.push(pid);
        }
    }
    z
}

const ORPHANS: &str = r#"
[services.orphaner]
command = ["sh", "-c", "for i in 1 2 3; do (sleep 0.2 &); done; echo spawned; exec sleep 1000"]
"#;

#[test]
fn orphans_are_reaped_as_subreaper() {
    // Without a PID namespace of ours (there the namespace init reaps them:
    // contain::orphans_inside_the_namespace_are_reaped).
    let f = project(&format!("[supervisor]\ncontain = \"none\"\n{ORPHANS}"));
    let mut up = Up::start(&f, &["up", "--init"]);
    assert!(
        up.wait_for("orphaner   | spawned", LIMIT),
        "{}",
        up.output()
    );
    std::thread::sleep(Duration::from_millis(600));
    assert!(
        zombies_of(up.pid()).is_empty(),
        "zombies: {:?}",
        zombies_of(up.pid())
    );
    up.signal(libc::SIGTERM);
    assert_eq!(up.wait(LIMIT).code(), Some(0));
}

#[test]
fn orphans_are_reaped_as_pid1() {
    let probe = std::process::Command::new("unshare")
        .args(["--pid", "--fork", "--mount-proc", "true"])
        .output();
    if !crate::support::prerequisite(
        probe.is_ok_and(|o| o.status.success()),
        "orphans_are_reaped_as_pid1 needs `unshare --pid --fork --mount-proc` (root)",
    ) {
        return;
    }
    let f = project(ORPHANS);
    let cmd = f.cmd(&[]);
    let mut un = std::process::Command::new("unshare");
    un.args(["--pid", "--fork", "--mount-proc", "--kill-child"])
        .arg(crate::support::bin())
        .arg("up")
        .current_dir(f.path())
        .env_clear()
        .envs(
            cmd.get_envs()
                .filter_map(|(k, v)| Some((k.to_owned(), v?.to_owned()))),
        );
    let mut up = Up::spawn(un);
    assert!(
        up.wait_for("orphaner   | spawned", LIMIT),
        "{}",
        up.output()
    );
    // The supervisor is PID 1 inside: the `unshare` process's only child.
    let sup = eventually(LIMIT, || children_of(up.pid()).len() == 1)
        .then(|| children_of(up.pid())[0])
        .expect("supervisor pid");
    std::thread::sleep(Duration::from_millis(600));
    assert!(
        zombies_of(sup).is_empty(),
        "zombies under PID 1: {:?}",
        zombies_of(sup)
    );
    up.signal(libc::SIGTERM); // unshare forwards it to its child
                              // SAFETY: kill(2) on a pid we just read from /proc; worst case ESRCH.
    unsafe { libc::kill(sup, libc::SIGTERM) };
    let st = up.wait(LIMIT);
    assert_eq!(st.code(), Some(0), "{}", up.output());
}

fn children_of(ppid: i32) -> Vec<i32> {
    let path = format!("/proc/{ppid}/task/{ppid}/children");
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .split_whitespace()
        .filter_map(|p| p.parse().ok())
        .collect()
}

#[test]
fn log_file_keeps_a_rotated_copy() {
    let f = project(
        r#"
[services.chatty]
command = ["sh", "-c", "i=0; while [ $i -lt 100 ]; do echo \"line $i padded to some length\"; i=$((i+1)); done"]
oneshot = true
log_file = { path = "logs/chatty.log", max_size = "1KiB", keep = 2 }
"#,
    );
    let out = f.run(&["up"], LIMIT);
    assert_eq!(out.code(), Some(0), "{}", out.all());
    let read = |p: &str| std::fs::read_to_string(f.path().join(p)).unwrap_or_default();
    let (cur, one, two) = (
        read("logs/chatty.log"),
        read("logs/chatty.log.1"),
        read("logs/chatty.log.2"),
    );
    assert!(cur.ends_with("line 99 padded to some length\n"), "{cur}");
    for file in [&cur, &one, &two] {
        assert!(!file.is_empty() && file.len() <= 1024, "{}", file.len());
    }
    assert!(!f.path().join("logs/chatty.log.3").exists());
    // The rotated files hold consecutive, older lines.
    let first = |s: &str| s.lines().next().unwrap_or_default().to_owned();
    let last = |s: &str| s.lines().last().unwrap_or_default().to_owned();
    let n = |l: String| {
        l.split(' ')
            .nth(1)
            .and_then(|x| x.parse::<u32>().ok())
            .unwrap()
    };
    assert_eq!(n(last(&two)) + 1, n(first(&one)));
    assert_eq!(n(last(&one)) + 1, n(first(&cur)));
}

#[test]
fn services_get_exactly_their_plan_environment() {
    let f = project(
        r#"
[env]
FROM_TOML = "yes"

[services.printenv]
command = ["env"]
oneshot = true
env = { OWN = "1" }
"#,
    );
    let mut c = f.cmd(&["up"]);
    c.env("NOT_INHERITED_SECRET", "leak-me");
    let out = crate::support::run_bounded(&mut c, LIMIT);
    assert_eq!(out.code(), Some(0), "{}", out.all());
    let vars: Vec<&str> = out
        .stdout
        .lines()
        .filter_map(|l| l.strip_prefix("printenv   | "))
        .collect();
    assert!(
        vars.contains(&"FROM_TOML=yes") && vars.contains(&"OWN=1"),
        "{vars:?}"
    );
    assert!(!out.stdout.contains("leak-me"), "{}", out.stdout);
    assert!(!vars.iter().any(|v| v.starts_with("NO_COLOR=")), "{vars:?}");
}

#[test]
fn colour_on_a_terminal_unless_no_color() {
    let f = project("[services.hi]\ncommand = [\"echo\", \"hi\"]\noneshot = true\n");
    let bin = crate::support::bin().display().to_string();
    // `script` gives the supervisor a pseudo-terminal as stdout.
    let run = |no_color: bool| {
        let mut c = std::process::Command::new("script");
        c.args(["-qec", &format!("{bin} up"), "/dev/null"])
            .current_dir(f.path())
            .env_clear();
        c.env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("TERM", "xterm");
        if no_color {
            c.env("NO_COLOR", "1");
        }
        crate::support::run_bounded(&mut c, LIMIT)
    };
    let coloured = run(false);
    assert!(
        coloured.stdout.contains("\x1b[36mhi"),
        "{:?}",
        coloured.stdout
    );
    let plain = run(true);
    assert!(
        plain.stdout.contains("hi         | hi"),
        "{:?}",
        plain.stdout
    );
    assert!(!plain.stdout.contains("\x1b["), "{:?}", plain.stdout);
}

#[test]
fn sighup_on_a_terminal_stops_gracefully() {
    let f = project(
        r#"
[services.polite]
command = ["sh", "-c", "trap 'echo got-term; exit 0' TERM; echo waiting; sleep 1000 & wait"]
"#,
    );
    // On a terminal a hangup stops everything (without one it reloads:
    // control::reload::sighup_without_a_terminal_reloads).
    let mut up = Up::start_on_terminal(&f, &["up"]);
    assert!(
        up.wait_for("polite     | waiting", LIMIT),
        "{}",
        up.output()
    );
    up.signal(libc::SIGHUP);
    assert_eq!(up.wait(LIMIT).code(), Some(0), "{}", up.output());
    assert!(
        up.output().contains("polite     | got-term"),
        "{}",
        up.output()
    );
}

/// While the database gate probes, `up` says what it is waiting for.
#[test]
fn up_names_the_database_gate_it_waits_for() {
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
    let mut up = Up::start(&f, &["up"]);
    let line = format!("database gate: probing 127.0.0.1:{port} (for up to 30s)");
    assert!(
        up.wait_for(&line, Duration::from_secs(20)),
        "{}",
        up.output()
    );
    up.signal(libc::SIGTERM);
    let st = up.wait(Duration::from_secs(20));
    assert_eq!(st.code(), Some(0), "{}", up.output());
    assert!(!up.output().contains("app: started"), "{}", up.output());
}
