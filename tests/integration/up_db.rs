//! `up` with the database gate, against a real PostgreSQL that `up` itself
//! supervises (`uses_database = false`): the gate waits for it, and the
//! `uses_database` service starts only once the probe has passed.

use std::os::unix::fs::MetadataExt;
use std::process::Command;
use std::time::Duration;

use crate::pg;
use crate::support::Fixture;
use crate::upkit::Up;

const LIMIT: Duration = Duration::from_secs(60);

/// A fresh data directory (copy of the shared template) with a plaintext
/// SCRAM hba file; returns (data dir, uid, gid) of the server user.
fn data_dir(port: u16) -> (std::path::PathBuf, u32, u32) {
    let e = pg::env();
    let data = e.root.join(format!("data-up-{port}"));
    let st = Command::new("cp")
        .arg("-a")
        .arg(e.root.join("template"))
        .arg(&data)
        .status()
        .unwrap();
    assert!(st.success());
    let meta = std::fs::metadata(&data).unwrap();
    let hba = data.join("up_hba.conf");
    std::fs::write(
        &hba,
        "local all all trust\nhost all all 127.0.0.1/32 scram-sha-256\n",
    )
    .unwrap();
    std::os::unix::fs::chown(&hba, Some(meta.uid()), Some(meta.gid())).unwrap();
    (data, meta.uid(), meta.gid())
}

#[test]
fn gate_waits_for_a_supervised_database() {
    let port = pg::free_port();
    let (data, uid, gid) = data_dir(port);
    let postgres = pg::env().bin.join("postgres");
    let d = data.display();
    let mut argv: Vec<String> = vec![];
    if nix::unistd::geteuid().is_root() {
        argv.extend(
            [
                "setpriv",
                &format!("--reuid={uid}"),
                &format!("--regid={gid}"),
                "--clear-groups",
                "--",
            ]
            .map(String::from),
        );
    }
    argv.push(postgres.display().to_string());
    for a in [
        "-D",
        &d.to_string(),
        "-p",
        &port.to_string(),
        "-c",
        "listen_addresses=127.0.0.1",
    ] {
        argv.push(a.to_owned());
    }
    for c in [
        format!("unix_socket_directories={d}"),
        format!("hba_file={d}/up_hba.conf"),
        "fsync=off".into(),
    ] {
        argv.extend(["-c".to_owned(), c]);
    }
    let command = serde_json::to_string(&argv).unwrap();
    let f = Fixture::new();
    f.write(
        "supervisor.toml",
        &format!(
            r#"
[database]
url = "postgresql://{user}:{pw}@127.0.0.1:{port}/{db}?sslmode=disable"
wait = "30s"

[services.postgres]
command = {command}
uses_database = false
env = {{ LC_ALL = "C" }}
stop_signal = "SIGINT"

[services.app]
command = ["sh", "-c", "test -n \"$DATABASE_URL\" && echo has-url; exec sleep 1000"]
"#,
            user = pg::USER,
            pw = pg::encoded(),
            db = pg::DB,
        ),
    );
    let mut up = Up::start(&f, &["up"]);
    assert!(
        up.wait_for("app        | has-url", LIMIT),
        "{}",
        up.output()
    );
    up.signal(libc::SIGTERM);
    let st = up.wait(LIMIT);
    let out = up.output();
    assert_eq!(st.code(), Some(0), "{out}");
    let pos = |s: &str| {
        out.find(s)
            .unwrap_or_else(|| panic!("missing `{s}` in:\n{out}"))
    };
    assert!(
        pos("postgres: started") < pos("database gate open"),
        "{out}"
    );
    assert!(pos("database gate open") < pos("app: started"), "{out}");
    assert!(pos("app: stopped") < pos("postgres: stopping"), "{out}");
    assert!(
        !out.contains(pg::PASSWORD) && !out.contains(&pg::encoded()),
        "password leaked:\n{out}"
    );
    let _ = std::fs::remove_dir_all(&data);
}

#[test]
fn gate_failure_stops_everything_with_the_probe_code() {
    let port = pg::free_port(); // nothing listens there
    let f = Fixture::new();
    f.write(
        "supervisor.toml",
        &format!(
            r#"
[database]
url = "postgresql://u:secretpw@127.0.0.1:{port}/db?sslmode=disable"
wait = "1s"
probe_timeout = "500ms"

[services.side]
command = ["sh", "-c", "echo side up; exec sleep 1000"]
uses_database = false

[services.app]
command = ["sh", "-c", "echo app up; exec sleep 1000"]
"#
        ),
    );
    let mut up = Up::start(&f, &["up"]);
    let st = up.wait(LIMIT);
    let out = up.output();
    assert_eq!(st.code(), Some(2), "{out}");
    assert!(out.contains("database gate failed"), "{out}");
    assert!(out.contains("side: stopped"), "{out}");
    assert!(!out.contains("app up"), "{out}");
    assert!(!out.contains("secretpw"), "{out}");
}
