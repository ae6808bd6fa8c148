//! The sweep's long-running paths: `up` (both log formats, the gate, a
//! `log_file`), the control socket while it runs, `up` with a failing gate,
//! and `run` (including its not-ready report).

use std::time::Duration;

use super::{assert_clean, project, run, server, url, LIMIT, ROLE};
use crate::pg;
use crate::support::Fixture;
use crate::upkit::Up;

/// Services that print their environment, their URL and the decoded password;
/// one crash-loops. `up` must show their lines, masked.
const LEAKY: &str = r#"
[services.printenv]
command = ["sh", "-c", "env; echo \"url=$DATABASE_URL\" >&2; exit 1"]
env = { DB_PASSWORD = "Zq9@c:n/a#r y%", API_TOKEN = "tok-Kq7-not-the-db" }
restart = "on-failure"
max_restarts = 1
backoff = { initial = "50ms", max = "100ms" }

[services.printurl]
command = ["sh", "-c", "echo \"connecting to $DATABASE_URL\"; printf 'pw=%s\\n' \"$DB_PASSWORD\"; printf 'no newline %s' \"$DATABASE_URL\"; exec sleep 1000"]
env = { DB_PASSWORD = "Zq9@c:n/a#r y%" }
log_file = { path = "logs/printurl.log" }
"#;

#[test]
fn up_output_and_gate_never_print_it() {
    for format in ["pretty", "json"] {
        let f = project(&url(server(), ROLE, pg::DB, ""), "", LEAKY);
        let toml = f.path().join("supervisor.toml");
        let text = std::fs::read_to_string(&toml).unwrap();
        let text = text.replacen(
            "[supervisor]\n",
            "[supervisor]\ncontrol_socket = \"ctl.sock\"\n",
            1,
        );
        std::fs::write(&toml, text).unwrap();
        let mut up = Up::start(&f, &["--log-format", format, "up"]);
        let seen = up.wait_for("pw=", LIMIT) && up.wait_for("FAILED", LIMIT);
        if format == "pretty" {
            control_never_prints_it(&f);
        }
        up.signal(libc::SIGTERM);
        let st = up.wait(LIMIT);
        let out = up.output();
        assert!(seen, "{out}");
        assert_eq!(st.code(), Some(8), "{out}");
        assert_clean(&format!("up --log-format {format}"), &out);
        let log = std::fs::read_to_string(f.path().join("logs/printurl.log")).unwrap();
        assert_clean("log_file", &log);
        assert!(log.contains("pw=****"), "{log}");
        // The lines were printed, with the secret masked, names intact.
        for needle in [
            "database gate open",
            // A URL keeps everything but its password (docs/environment.md).
            "DATABASE_URL=postgresql://canary:****@localhost:",
            "DB_PASSWORD=****",
            "pw=****",
            "no newline postgresql://canary:****@localhost:",
        ] {
            assert!(out.contains(needle), "{format}: missing {needle:?}:\n{out}");
        }
    }
}

#[test]
fn up_gate_failure_never_prints_it() {
    let f = project(&url(server(), pg::USER, pg::DB, ""), "", "");
    let out = run(&f, &["up"]);
    assert_eq!(out.code(), Some(5), "{}", out.all());
    assert!(out.all().contains("database gate failed"), "{}", out.all());
}

#[test]
fn run_never_prints_it() {
    let services = r#"
[services.printurl]
command = ["sh", "-c", "echo \"connecting to $DATABASE_URL\"; echo listening; exec sleep 1000"]
ready = { log = "listening", interval = "50ms", timeout = "20s" }

[services.lagger]
command = ["sh", "-c", "echo \"still waiting on $DATABASE_URL\"; exec sleep 1000"]
ready = { log = "never", interval = "50ms", timeout = "30s" }
"#;
    let f = project(&url(server(), ROLE, pg::DB, ""), "", services);
    let out = run(&f, &["run", "--services", "printurl", "--", "true"]);
    assert_eq!(out.code(), Some(0), "{}", out.all());
    // Not ready in time: `run` names the laggard with its last lines, masked.
    let out = run(&f, &["run", "--timeout", "5s", "--", "true"]);
    assert_eq!(out.code(), Some(9), "{}", out.all());
    assert!(
        out.all()
            .contains("still waiting on postgresql://canary:****@localhost:"),
        "{}",
        out.all()
    );
}

/// `status`, `logs`, `restart` and the raw socket, while `LEAKY` runs.
fn control_never_prints_it(f: &Fixture) {
    for args in [
        &["status"][..],
        &["status", "--json"],
        &["logs", "printenv", "-n", "100"],
        &["logs", "printurl", "-n", "100"],
    ] {
        let out = run(f, args);
        assert_eq!(out.code(), Some(0), "{args:?}:\n{}", out.all());
    }
    let out = run(f, &["logs", "printurl", "-n", "100"]);
    assert!(out.stdout.contains("pw=****"), "{}", out.all());
    let out = run(f, &["restart", "printurl"]);
    assert_eq!(out.code(), Some(0), "{}", out.all());
    let sock = f.path().join("ctl.sock");
    for req in [
        r#"{"cmd":"status"}"#,
        r#"{"cmd":"logs","service":"printenv","lines":200}"#,
        r#"{"cmd":"logs","service":"printurl","lines":200}"#,
        r#"{"cmd":"nonsense"}"#,
    ] {
        use std::io::{Read, Write};
        let mut s = std::os::unix::net::UnixStream::connect(&sock).expect("connect");
        s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
        s.write_all(format!("{req}\n").as_bytes()).unwrap();
        let mut answer = String::new();
        s.read_to_string(&mut answer).unwrap();
        assert!(!answer.is_empty(), "{req}: no answer");
        assert_clean(req, &answer);
    }
}
