//! `replicas` seen by `check` and `env`: the copies in the start order with
//! their own readiness address, a dependency on the group waiting for every
//! copy, `REPLICA`/`REPLICA_PORT` explained, and the config errors (count out
//! of range, a port range past 65535, a port base without `replicas`, a
//! written name that collides with a copy's) each naming what is wrong.

use std::time::Duration;

use crate::support::{Fixture, Output};

const T: Duration = Duration::from_secs(20);

fn project(toml: &str) -> Fixture {
    let f = Fixture::new();
    f.write("supervisor.toml", toml);
    f
}

fn check(f: &Fixture) -> Output {
    f.run(&["check", "--no-probe"], T)
}

const WORKERS: &str = r#"
[services.worker]
command = ["sleep", "${REPLICA}0"]
replicas = 3
replica_port_base = 3100
env = { PORT = "${REPLICA_PORT}" }
ready = { tcp = "127.0.0.1:${REPLICA_PORT}" }

[services.api]
command = ["sleep", "100"]
depends_on = ["worker"]
"#;

#[test]
fn check_lists_each_copy_with_its_own_readiness_address() {
    let f = project(WORKERS);
    let o = check(&f);
    assert_eq!(o.code(), Some(0), "{o:?}");
    for i in 1..=3 {
        let line = o
            .stdout
            .lines()
            .find(|l| l.contains(&format!(" worker.{i} ")))
            .unwrap_or_else(|| panic!("no worker.{i}: {o:?}"));
        assert!(line.contains(&format!("$ sleep {i}0")), "{line}");
        assert!(
            line.contains(&format!("ready: tcp 127.0.0.1:{}", 3099 + i)),
            "{line}"
        );
    }
    assert!(
        o.stdout
            .contains("after worker.1 (ready), worker.2 (ready), worker.3 (ready)"),
        "{o:?}"
    );
    assert!(o.stdout.contains("(4 services)"), "{o:?}");
}

#[test]
fn env_explains_where_replica_and_its_port_come_from() {
    let f = project(WORKERS);
    let o = f.run(&["env", "--explain", "worker.2"], T);
    assert_eq!(o.code(), Some(0), "{o:?}");
    assert!(
        o.stdout.contains(
            "REPLICA_PORT=\"3101\"  # from replica 2 of `worker` (replica_port_base 3100 + 2 - 1)"
        ),
        "{o:?}"
    );
    assert!(
        o.stdout
            .contains("REPLICA=\"2\"  # from replica 2 of `worker`"),
        "{o:?}"
    );
    assert!(o.stdout.contains("PORT=\"3101\""), "{o:?}");
    let o = f.run(&["env", "worker"], T);
    assert_eq!(o.code(), Some(3), "{o:?}");
    assert!(o.stderr.contains("`worker` has 3 replicas"), "{o:?}");
    assert!(o.stderr.contains("worker.1, worker.2, worker.3"), "{o:?}");
}

#[test]
fn bad_replica_settings_are_config_errors_naming_the_reason() {
    for (toml, want) in [
        ("replicas = 0", "replicas: must be between 1 and 64 (got 0)"),
        (
            "replicas = 65",
            "replicas: must be between 1 and 64 (got 65)",
        ),
        (
            "replicas = 3\nreplica_port_base = 65534",
            "65534: the ports 65534..=65536 must lie within 1..=65535",
        ),
        (
            "replica_port_base = 3100",
            "replica_port_base: set only with `replicas`",
        ),
    ] {
        let f = project(&format!("[services.w]\ncommand = [\"true\"]\n{toml}\n"));
        let o = check(&f);
        assert_eq!(o.code(), Some(3), "{toml}: {o:?}");
        assert!(o.stderr.contains(want), "{toml}: {o:?}");
    }
}

#[test]
fn a_written_name_that_a_copy_would_take_is_refused_naming_both() {
    let f = project(
        "[services.worker]\ncommand = [\"true\"]\nreplicas = 2\n\n[services.\"worker.7\"]\ncommand = [\"true\"]\n",
    );
    let o = check(&f);
    assert_eq!(o.code(), Some(3), "{o:?}");
    assert!(o.stderr.contains("services.worker.7:"), "{o:?}");
    assert!(
        o.stderr.contains("collides with the copies of `worker`"),
        "{o:?}"
    );
    // Without `replicas` on `worker`, the same names are fine.
    let f = project(
        "[services.worker]\ncommand = [\"true\"]\n\n[services.\"worker.7\"]\ncommand = [\"true\"]\n",
    );
    assert_eq!(check(&f).code(), Some(0));
}
