//! `probe` against a real PostgreSQL (see `pg.rs`): each case asserts the
//! failing phase, the message and the exit code, and every output is swept
//! for the password in all its forms. node-postgres readings are exercised
//! through the library (the CLI's `--url` uses the default libpq client).

use std::time::{Duration, Instant};

use uaol_supervisor::db::{self, probe, Client, DbSettings};

use crate::pg;
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

/// Run `probe --url URL --wait WAIT [extra]`; sweep the output.
fn cli(url: &str, wait: &str, extra: &[&str]) -> Output {
    let mut args = vec!["probe", "--url", url, "--wait", wait];
    args.extend(extra);
    let out = Fixture::new().run(&args, Duration::from_secs(40));
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

#[test]
fn verify_full_ok_with_timings_and_expiry_warning() {
    let port = pg::tls_server();
    let out = cli(
        &url(
            &format!("localhost:{port}"),
            &format!("sslmode=verify-full&sslrootcert={}", ca()),
        ),
        "0s",
        &[],
    );
    expect(&out, 0, "", "chain and host name verified");
    for needle in [
        "dns ",
        "tcp ",
        "tls ",
        "auth ",
        "query ",
        "SCRAM-SHA-256",
        "server  PostgreSQL",
        "expires in",
        "database usable",
    ] {
        assert!(out.stdout.contains(needle), "{needle:?} in\n{}", out.stdout);
    }
    assert!(
        out.stdout.contains(&format!(
            "postgresql://{}:****@localhost:{port}/{}",
            pg::USER,
            pg::DB
        )),
        "{}",
        out.stdout
    );
}

#[test]
fn json_report_has_phases() {
    let port = pg::tls_server();
    let out = cli(
        &url(
            &format!("localhost:{port}"),
            &format!("sslmode=verify-full&sslrootcert={}", ca()),
        ),
        "0s",
        &["--json"],
    );
    let v: serde_json::Value = serde_json::from_str(out.stdout.trim()).expect("json");
    assert_eq!(v["ok"], true, "{v}");
    let phases: Vec<&str> = v["phases"]
        .as_array()
        .expect("phases")
        .iter()
        .filter_map(|p| p["phase"].as_str())
        .collect();
    assert!(phases.ends_with(&["tls", "auth", "query"]), "{phases:?}");
    assert_eq!(v["server"]["product"], "PostgreSQL");
    assert_eq!(v["server"]["auth"], "SCRAM-SHA-256");
}

#[test]
fn libpq_require_encrypts_without_verifying() {
    let port = pg::tls_server();
    let out = cli(
        &url(&format!("localhost:{port}"), "sslmode=require"),
        "0s",
        &[],
    );
    expect(&out, 0, "", "encrypted, certificate not verified");
}

#[test]
fn node_pg_require_verifies_like_node_postgres() {
    let port = pg::tls_server();
    let (code, text) = lib(
        &url(&format!("localhost:{port}"), "sslmode=require"),
        Client::NodePg,
    );
    assert_eq!(code, 4, "{text}");
    assert!(
        text.contains("tls_untrusted") && text.contains("not signed by a trusted CA"),
        "{text}"
    );
    assert!(text.contains("Mozilla"), "{text}");
    let (code, text) = lib(
        &url(
            &format!("localhost:{port}"),
            &format!("sslmode=require&sslrootcert={}", ca()),
        ),
        Client::NodePg,
    );
    assert_eq!(code, 0, "{text}");
    assert!(text.contains("chain and host name verified"), "{text}");
}

#[test]
fn wrong_ca_is_untrusted() {
    let port = pg::tls_server();
    let other = pg::env().other_ca.display().to_string();
    let out = cli(
        &url(
            &format!("localhost:{port}"),
            &format!("sslmode=verify-full&sslrootcert={other}"),
        ),
        "5s",
        &[],
    );
    expect(&out, 4, "tls", "not signed by a trusted CA");
    assert!(
        !out.stderr.contains("waiting for the database"),
        "TLS trust is permanent: no retry\n{}",
        out.all()
    );
}

#[test]
fn host_name_mismatch_by_ip() {
    let port = pg::tls_server();
    let out = cli(
        &url(
            &format!("127.0.0.1:{port}"),
            &format!("sslmode=verify-full&sslrootcert={}", ca()),
        ),
        "0s",
        &[],
    );
    expect(&out, 4, "tls", "host name mismatch");
    // verify-ca accepts the same connection: chain only.
    let out = cli(
        &url(
            &format!("127.0.0.1:{port}"),
            &format!("sslmode=verify-ca&sslrootcert={}", ca()),
        ),
        "0s",
        &[],
    );
    expect(&out, 0, "", "chain verified");
}

#[test]
fn server_without_ssl() {
    let port = pg::plain_server();
    let out = cli(
        &url(&format!("localhost:{port}"), "sslmode=require"),
        "0s",
        &[],
    );
    expect(&out, 4, "tls", "does not accept TLS");
    // prefer falls back to plaintext, as libpq does.
    let out = cli(
        &url(&format!("localhost:{port}"), "sslmode=prefer"),
        "0s",
        &[],
    );
    expect(&out, 0, "", "plaintext");
}

#[test]
fn plaintext_against_tls_only_server() {
    let port = pg::tls_server();
    let out = cli(
        &url(&format!("localhost:{port}"), "sslmode=disable"),
        "0s",
        &[],
    );
    expect(&out, 4, "auth", "server requires TLS");
}

#[test]
fn wrong_password() {
    let port = pg::tls_server();
    let raw = format!(
        "postgresql://{}:not-the-password@localhost:{port}/{}?sslmode=require",
        pg::USER,
        pg::DB
    );
    let out = cli(&raw, "5s", &[]);
    expect(&out, 5, "auth", "authentication failed for user \"app\"");
    assert!(
        out.stdout.contains("1 attempt"),
        "auth failures are not retried\n{}",
        out.all()
    );
}

#[test]
fn database_does_not_exist() {
    let port = pg::tls_server();
    let raw = format!(
        "postgresql://{}:{}@localhost:{port}/nosuchdb?sslmode=require",
        pg::USER,
        pg::encoded()
    );
    let out = cli(&raw, "0s", &[]);
    expect(&out, 6, "auth", "database \"nosuchdb\" does not exist");
}

#[test]
fn nothing_listening_is_retried_then_refused() {
    let port = pg::free_port();
    let t = Instant::now();
    let out = cli(
        &url(&format!("127.0.0.1:{port}"), "sslmode=require"),
        "1s",
        &[],
    );
    expect(&out, 2, "tcp", "connection refused");
    assert!(
        out.stderr.contains("waiting for the database: attempt 2"),
        "{}",
        out.all()
    );
    assert!(t.elapsed() < Duration::from_secs(10));
}

#[test]
fn silent_listener_times_out() {
    let port = pg::black_hole();
    let t = Instant::now();
    let out = cli(
        &url(
            &format!("127.0.0.1:{port}"),
            "sslmode=require&connect_timeout=2",
        ),
        "0s",
        &[],
    );
    expect(&out, 2, "tls", "no answer from 127.0.0.1");
    assert!(t.elapsed() < Duration::from_secs(8), "{:?}", t.elapsed());
}

#[test]
fn multi_host_first_dead() {
    let (dead, port) = (pg::free_port(), pg::tls_server());
    let raw = url(
        &format!("localhost:{dead},localhost:{port}"),
        &format!("sslmode=verify-full&sslrootcert={}", ca()),
    );
    let out = cli(&raw, "0s", &[]);
    expect(&out, 0, "", "database usable");
    assert!(out.stdout.contains("connection refused"), "{}", out.stdout);
}

#[test]
fn database_down_at_start_then_up_within_wait() {
    pg::env();
    let port = pg::free_port();
    let raw = url(
        &format!("localhost:{port}"),
        &format!("sslmode=verify-full&sslrootcert={}", ca()),
    );
    let waiter = std::thread::spawn(move || cli(&raw, "30s", &[]));
    std::thread::sleep(Duration::from_millis(800));
    let _cluster = pg::start(port, true);
    let out = waiter.join().expect("probe thread");
    expect(&out, 0, "", "database usable");
    assert!(
        out.stderr.contains("waiting for the database: attempt"),
        "{}",
        out.all()
    );
    assert!(!out.stdout.contains("(1 attempt)"), "{}", out.stdout);
}

#[test]
fn invalid_url_makes_no_attempt() {
    let out = cli(
        &format!(
            "postgresql://{}:{}@localhost:1/{}",
            pg::USER,
            pg::PASSWORD,
            pg::DB
        ),
        "0s",
        &[],
    );
    assert_eq!(out.code(), Some(3), "{}", out.all());
    assert!(
        out.stderr.contains("unencoded_reserved") && out.stderr.contains("no connection attempted"),
        "{}",
        out.all()
    );
}
