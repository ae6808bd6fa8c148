//! `status`: JSON shape, whole-group RSS, `--check` both ways, the human
//! table (snapshot), and no running `up`.

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
    // Exact, not a race: the snapshot is taken before the 200 ms usage
    // window, but a service without a readiness check is `ready` in the same
    // step as `running` (the spawn returns once the exec succeeded). Until
    // the clone(CLONE_VFORK) spawn, the exec's outcome came later, from a
    // task, and 1 run in ~50 saw `running` here.
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
        if let Some(gen) = l.strip_prefix("plan generation ") {
            let n = gen.split(',').next().unwrap_or_default();
            tail.push_str(&format!("plan generation {n}, loaded [age] ago\n"));
            continue;
        }
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
[supervisor]
contain = "none"

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
