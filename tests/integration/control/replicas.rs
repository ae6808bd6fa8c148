//! `replicas = N` against a real `up`: N processes with their own `REPLICA`
//! and `REPLICA_PORT` (read from `/proc/PID/environ`), each restarted on its
//! own after a SIGKILL, `restart worker.2` touching only that copy, the group
//! name acting on every copy (stop in reverse order), a shutdown stopping the
//! copies in reverse order, and a reload that scales down and up while the
//! other copies keep their PIDs.

use serde_json::Value;

use super::{environ, expect_code, pids, Up, CMD};
use crate::support::Fixture;

const WORKERS: &str = r#"
[services.worker]
command = ["sleep", "100"]
replicas = 3
replica_port_base = 3100
env = { PORT = "${REPLICA_PORT}" }
backoff = { initial = "50ms" }
stop_timeout = "5s"

[services.other]
command = ["sleep", "100"]
"#;

fn workers() -> (Fixture, Up) {
    let fx = Fixture::new();
    fx.write("supervisor.toml", WORKERS);
    let up = Up::start(&fx);
    (fx, up)
}

fn names(v: &[Value]) -> Vec<&str> {
    v.iter().filter_map(|s| s["name"].as_str()).collect()
}

#[test]
fn each_copy_gets_its_number_and_port_and_restarts_on_its_own() {
    let (fx, mut up) = workers();
    let v = up.wait_ready(&fx);
    assert_eq!(names(&v), ["worker.1", "worker.2", "worker.3", "other"]);
    let before = pids(&v);
    for i in 1..=3 {
        let pid = before[&format!("worker.{i}")];
        let port = (3099 + i).to_string();
        assert_eq!(environ(pid, "REPLICA"), Some(i.to_string()));
        assert_eq!(environ(pid, "REPLICA_PORT").as_deref(), Some(port.as_str()));
        assert_eq!(environ(pid, "PORT").as_deref(), Some(port.as_str()));
    }
    assert_eq!(environ(before["other"], "REPLICA"), None);

    // SIGKILL one copy: only it is restarted.
    crate::support::kill_group_with(before["worker.2"] as i32, libc::SIGKILL);
    let v = up.wait_for(&fx, "worker.2 back", |v| {
        let p = pids(v);
        v.iter().all(|s| s["ready"] == true) && p.get("worker.2") != Some(&before["worker.2"])
    });
    let after = pids(&v);
    assert_eq!(after["worker.1"], before["worker.1"]);
    assert_eq!(after["worker.3"], before["worker.3"]);
    let w2 = v
        .iter()
        .find(|s| s["name"] == "worker.2")
        .expect("worker.2");
    assert_eq!(w2["restarts"], 1, "{w2}");
    assert_eq!(environ(after["worker.2"], "REPLICA").as_deref(), Some("2"));

    // `restart worker.2`: that copy only.
    let o = fx.run(&["restart", "worker.2"], CMD);
    expect_code(&o, 0);
    assert!(o.stdout.starts_with("restarted `worker.2`: ready"), "{o:?}");
    let again = pids(&up.wait_ready(&fx));
    assert_ne!(again["worker.2"], after["worker.2"]);
    assert_eq!(again["worker.1"], after["worker.1"]);
    assert_eq!(again["worker.3"], after["worker.3"]);

    // `restart worker`: every copy, one after the other.
    let o = fx.run(&["restart", "worker"], CMD);
    expect_code(&o, 0);
    let lines: Vec<&str> = o.stdout.lines().collect();
    assert_eq!(lines.len(), 3, "{o:?}");
    for (i, l) in lines.iter().enumerate() {
        let want = format!("restarted `worker.{}`: ready", i + 1);
        assert!(l.starts_with(&want), "{o:?}");
    }
    let all = pids(&up.wait_ready(&fx));
    for w in ["worker.1", "worker.2", "worker.3"] {
        assert_ne!(all[w], again[w], "{w}");
    }
    assert_eq!(all["other"], before["other"]);

    // A typo still gets a suggestion (the group name counts).
    let o = fx.run(&["restart", "wroker"], CMD);
    expect_code(&o, 64);
    assert!(o.stderr.contains("did you mean `worker`?"), "{o:?}");
}

#[test]
fn stop_acts_on_every_copy_in_reverse_order_and_so_does_a_shutdown() {
    let (fx, mut up) = workers();
    up.wait_ready(&fx);
    let o = fx.run(&["stop", "worker"], CMD);
    expect_code(&o, 0);
    assert_eq!(
        o.stdout,
        "stopped `worker.3`\nstopped `worker.2`\nstopped `worker.1`\n"
    );
    let o = fx.run(&["start", "worker"], CMD);
    expect_code(&o, 0);
    assert_eq!(o.stdout.lines().count(), 3, "{o:?}");
    let v = up.wait_ready(&fx);
    assert_eq!(pids(&v).len(), 4, "{v:?}");
    // `logs worker` is every copy's output.
    let o = fx.run(&["logs", "worker"], CMD);
    expect_code(&o, 0);

    let status = up.stop().expect("stopped");
    assert!(status.success(), "{}", up.output());
    // The shutdown (after the last start) stops 3, then 2, then 1.
    let out = up.output();
    let after_start = out.rfind("worker.3: started").expect("started");
    let tail = &out[after_start..];
    let pos = |w: &str| {
        tail.find(&format!("{w}: stopping"))
            .unwrap_or_else(|| panic!("no shutdown stop of {w}:\n{out}"))
    };
    assert!(pos("worker.3") < pos("worker.2"), "{out}");
    assert!(pos("worker.2") < pos("worker.1"), "{out}");
}

#[test]
fn a_reload_scales_down_and_up_and_the_other_copies_keep_running() {
    let (fx, mut up) = workers();
    let before = pids(&up.wait_ready(&fx));
    fx.write(
        "supervisor.toml",
        &WORKERS.replace("replicas = 3", "replicas = 2"),
    );
    let o = fx.run(&["reload"], CMD);
    expect_code(&o, 0);
    assert!(o.stdout.contains("removed    worker.3"), "{o:?}");
    assert!(o.stdout.contains("stopped `worker.3`"), "{o:?}");
    let v = up.wait_ready(&fx);
    assert_eq!(names(&v), ["worker.1", "worker.2", "other"]);
    let down = pids(&v);
    assert_eq!(down["worker.1"], before["worker.1"]);
    assert_eq!(down["worker.2"], before["worker.2"]);
    assert!(!std::path::Path::new(&format!("/proc/{}", before["worker.3"])).exists());

    fx.write(
        "supervisor.toml",
        &WORKERS.replace("replicas = 3", "replicas = 4"),
    );
    let o = fx.run(&["reload"], CMD);
    expect_code(&o, 0);
    assert!(
        o.stdout
            .contains("added      worker.3\nadded      worker.4\n"),
        "{o:?}"
    );
    assert!(o.stdout.contains("started `worker.3`: ready"), "{o:?}");
    let v = up.wait_for(&fx, "4 copies", |v| {
        pids(v).len() == 5 && v.iter().all(|s| s["ready"] == true)
    });
    let up4 = pids(&v);
    assert_eq!(up4["worker.1"], before["worker.1"]);
    assert_eq!(up4["worker.2"], before["worker.2"]);
    assert_eq!(
        environ(up4["worker.4"], "REPLICA_PORT").as_deref(),
        Some("3103")
    );
}
