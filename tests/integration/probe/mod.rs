//! `probe` against a real PostgreSQL (see `pg/`): each case asserts the
//! failing phase, the message and the exit code, and every output is swept
//! for the password in all its forms. node-postgres readings are exercised
//! through supervisor.toml (`client = "node-pg"`) and through the library.

use std::time::Duration;

use uaol_supervisor::db::{self, probe, Client, DbSettings};

use crate::pg;

mod auth;
mod network;
mod selfsigned;
mod target;
mod tls;
use crate::support::{Fixture, Output};

fn url(host_port: &str, query: &str) -> String {
    format!(
        "postgresql://{}:{}@{host_port}/{}?{query}",
        pg::USER,
        pg::encoded(),
        pg::DB
    )
}

fn ca() -> String {
    pg::env().ca.display().to_string()
}

fn assert_no_leak(text: &str) {
    for form in pg::forms() {
        assert!(
            !text.contains(&form),
            "password form {form:?} leaked in:\n{text}"
        );
    }
}

/// Run `probe --url-env DATABASE_URL --wait WAIT [extra]` (the URL stays out
/// of argv); sweep the output.
fn cli(url: &str, wait: &str, extra: &[&str]) -> Output {
    let mut args = vec!["probe", "--url-env", "DATABASE_URL", "--wait", wait];
    args.extend(extra);
    let f = Fixture::new();
    let mut cmd = f.cmd(&args);
    cmd.env("DATABASE_URL", url);
    let out = crate::support::run_bounded(&mut cmd, Duration::from_secs(40));
    assert!(!out.timed_out, "probe hung:\n{}", out.all());
    assert_no_leak(&out.all());
    out
}

fn expect(out: &Output, code: i32, phase: &str, needle: &str) {
    let all = out.all();
    assert_eq!(out.code(), Some(code), "exit code; output:\n{all}");
    assert!(
        all.contains(&format!("in phase {phase}")) || code == 0,
        "phase {phase}:\n{all}"
    );
    assert!(all.contains(needle), "missing {needle:?} in:\n{all}");
}

/// Probe through the library with `client`; returns (exit code, all text).
fn lib(raw: &str, client: Client) -> (u8, String) {
    let settings = DbSettings {
        client,
        wait: Duration::ZERO,
        ..DbSettings::default()
    };
    let v = db::validate(raw, &settings);
    assert!(v.errors.is_empty(), "{:?}", v.errors);
    let url = v.url.expect("url");
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("rt");
    let report = rt.block_on(probe::run(&url, &settings, probe::Progress::quiet()));
    let text = format!(
        "{}{}{:?}{:?}",
        probe::render::human(&report, &url),
        probe::render::json(&report, &url),
        report,
        v.warnings
    );
    assert_no_leak(&text);
    (report.exit_code(), text)
}

/// `probe` without `--url`: the Plan's `[database]`, here with `client = "node-pg"`.
fn via_config(query: &str) -> Output {
    let port = pg::tls_server();
    let f = Fixture::new();
    f.write(
        ".env",
        &format!(
            "DATABASE_URL={}\n",
            url(&format!("localhost:{port}"), query)
        ),
    );
    f.write("supervisor.toml", "[supervisor]\nenv_files = [\".env\"]\n\n[database]\nurl = \"${DATABASE_URL}\"\nclient = \"node-pg\"\nwait = \"0s\"\n\n[services.api]\ncommand = [\"true\"]\n");
    let out = f.run(&["probe"], Duration::from_secs(40));
    assert_no_leak(&out.all());
    out
}

#[test]
fn node_pg_client_from_config() {
    let out = via_config("sslmode=require");
    expect(&out, 4, "tls", "not signed by a trusted CA");
    assert!(
        out.stderr.contains("treats sslmode=require as verify-full"),
        "{}",
        out.all()
    );
    let out = via_config(&format!("sslmode=require&sslrootcert={}", ca()));
    expect(&out, 0, "", "chain and host name verified");
}
