//! Issue 12 item 10: `target_session_attrs` against a real primary and a real
//! hot standby (`pg_basebackup -R`), each case cross-checked with psql: the
//! probe must connect where psql connects, to the same server, and fail where
//! psql fails. node-postgres ignores the keyword, and the probe says so.

use std::process::Command;
use std::time::Duration;

use uaol_supervisor::db::Client;

use super::{ca, cli, lib, url};
use crate::pg;
use crate::support::{run_bounded, Fixture};

/// The port psql ends up on for `hosts` ("localhost:P,localhost:S") and
/// `attrs`, or None when psql fails.
fn psql_port(ports: &[u16], attrs: &str) -> Option<u16> {
    let f = Fixture::new();
    let hosts = vec!["localhost"; ports.len()].join(",");
    let ports: Vec<String> = ports.iter().map(u16::to_string).collect();
    let conninfo = format!(
        "host={hosts} port={} user={} dbname={} sslmode=verify-full sslrootcert={} target_session_attrs={attrs}",
        ports.join(","),
        pg::USER,
        pg::DB,
        ca()
    );
    let mut cmd = Command::new("psql");
    cmd.args([&conninfo, "-Atc", "select inet_server_port()"])
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("HOME", f.path())
        .env("PGPASSWORD", pg::PASSWORD)
        .env("PGCONNECT_TIMEOUT", "5");
    let out = run_bounded(&mut cmd, Duration::from_secs(20));
    (out.code() == Some(0)).then(|| out.stdout.trim().parse().expect("a port"))
}

/// The probe's verdict: the port of the server it settled on, or its failure
/// class; plus the full output.
fn probe_port(ports: &[u16], attrs: &str) -> (Result<u16, String>, String) {
    let hosts: Vec<String> = ports.iter().map(|p| format!("localhost:{p}")).collect();
    let raw = url(
        &hosts.join(","),
        &format!(
            "sslmode=verify-full&sslrootcert={}&target_session_attrs={attrs}",
            ca()
        ),
    );
    let out = cli(&raw, "0s", &["--json"]);
    let v: serde_json::Value = serde_json::from_str(out.stdout.trim()).expect("json");
    let r = if v["ok"] == true {
        let addr = v["server"]["address"].as_str().expect("address");
        Ok(addr
            .rsplit(':')
            .next()
            .and_then(|p| p.parse().ok())
            .expect("port"))
    } else {
        Err(v["error"]["class"].as_str().unwrap_or_default().to_string())
    };
    (r, out.all())
}

/// One case: psql and the probe agree; `expect` is the port both end on.
fn case(ports: &[u16], attrs: &str, expect: Option<u16>) {
    assert_eq!(psql_port(ports, attrs), expect, "psql, {ports:?} {attrs}");
    let (got, out) = probe_port(ports, attrs);
    match expect {
        Some(p) => assert_eq!(got, Ok(p), "probe, {ports:?} {attrs}:\n{out}"),
        None => {
            assert_eq!(
                got,
                Err("session_attrs".into()),
                "probe, {ports:?} {attrs}:\n{out}"
            );
            assert!(out.contains("\"exit_code\":1"), "{out}");
        }
    }
}

#[test]
fn target_session_attrs_against_a_primary_and_a_hot_standby() {
    let primary = pg::start(pg::free_port(), true);
    let standby = pg::start_standby(&primary);
    let (p, s) = (primary.port, standby.port);
    // The attacker's case: read-only against the primary alone.
    case(&[p], "read-only", None);
    case(&[p], "standby", None);
    case(&[p], "read-write", Some(p));
    case(&[p], "primary", Some(p));
    case(&[p], "any", Some(p));
    case(&[s], "read-only", Some(s));
    case(&[s], "standby", Some(s));
    case(&[s], "read-write", None);
    case(&[s], "primary", None);
    // Several hosts: the first of the wanted kind.
    case(&[s, p], "read-write", Some(p));
    case(&[s, p], "primary", Some(p));
    case(&[p, s], "read-only", Some(s));
    case(&[p, s], "standby", Some(s));
    case(&[s, p], "any", Some(s));
    // prefer-standby: a standby if there is one, else a second pass as `any`.
    case(&[p, s], "prefer-standby", Some(s));
    case(&[p], "prefer-standby", Some(p));
}

#[test]
fn target_phase_names_the_server_kind() {
    let port = pg::tls_server();
    let raw = url(
        &format!("localhost:{port}"),
        &format!(
            "sslmode=verify-full&sslrootcert={}&target_session_attrs=read-only",
            ca()
        ),
    );
    let out = cli(&raw, "0s", &[]);
    super::expect(
        &out,
        1,
        "target",
        "is read-write (default_transaction_read_only=off, in_hot_standby=off)",
    );
    assert!(
        out.stdout.contains("\"session is not read-only\""),
        "{}",
        out.stdout
    );
}

#[test]
fn default_transaction_read_only_server_is_read_only_not_standby() {
    let c = pg::start_with(
        pg::free_port(),
        Some("server"),
        &["default_transaction_read_only=on"],
    );
    case(&[c.port], "read-write", None);
    case(&[c.port], "read-only", Some(c.port));
    case(&[c.port], "primary", Some(c.port));
}

#[test]
fn node_pg_ignores_target_session_attrs_and_says_so() {
    let port = pg::tls_server();
    let raw = url(
        &format!("localhost:{port}"),
        &format!(
            "sslmode=verify-full&sslrootcert={}&target_session_attrs=read-only",
            ca()
        ),
    );
    let (code, text) = lib(&raw, Client::NodePg);
    assert_eq!(code, 0, "{text}");
    assert!(
        text.contains("node-postgres ignores target_session_attrs=read-only"),
        "{text}"
    );
    let (code, text) = lib(&raw, Client::Libpq);
    assert_eq!(code, 1, "{text}");
}
