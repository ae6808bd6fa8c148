//! Authentication and routing cases: SCRAM/md5/cleartext, wrong password,
//! missing database, Unix socket, the gate, and an invalid URL.

use std::time::Duration;

use uaol_supervisor::db::{self, DbSettings};

use super::{assert_no_leak, ca, cli, expect, url};
use crate::pg;

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

fn gate(raw: &str) -> Result<(), db::GateFailure> {
    let settings = DbSettings {
        wait: Duration::ZERO,
        ..DbSettings::default()
    };
    let url = db::validate(raw, &settings).url.expect("url");
    let plan = db::DatabasePlan {
        url,
        export_as: vec!["DATABASE_URL".into()],
        settings,
    };
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("rt");
    rt.block_on(db::gate(&plan))
}

#[test]
fn gate_opens_and_fails_with_exit_codes() {
    let port = pg::tls_server();
    assert!(gate(&url(
        &format!("localhost:{port}"),
        &format!("sslmode=verify-full&sslrootcert={}", ca())
    ))
    .is_ok());
    let raw = format!(
        "postgresql://{}:wrong-password@localhost:{port}/{}?sslmode=require",
        pg::USER,
        pg::DB
    );
    let f = gate(&raw).expect_err("wrong password");
    assert_eq!(f.exit_code, 5, "{}", f.message);
    assert!(f.message.contains("authentication failed"), "{}", f.message);
    assert_no_leak(&format!("{f:?}"));
}

fn as_user(user: &str, port: u16, query: &str) -> String {
    format!(
        "postgresql://{user}:{}@localhost:{port}/{}?{query}",
        pg::encoded(),
        pg::DB
    )
}

#[test]
fn md5_and_cleartext_over_tls() {
    let port = pg::tls_server();
    let out = cli(&as_user("legacy", port, "sslmode=require"), "0s", &[]);
    expect(&out, 0, "", "md5 as \"legacy\"");
    let out = cli(&as_user("clear", port, "sslmode=require"), "0s", &[]);
    expect(&out, 0, "", "password as \"clear\"");
}

#[test]
fn cleartext_password_never_sent_unencrypted() {
    let port = pg::plain_server();
    let out = cli(&as_user("clear", port, "sslmode=disable"), "0s", &[]);
    expect(&out, 4, "auth", "refuses to send it");
}

#[test]
fn unix_socket() {
    let port = pg::tls_server();
    let dir = pg::data_dir(port);
    let raw = format!(
        "postgresql:///{}?host={}&port={port}&user={}",
        pg::DB,
        dir.display(),
        pg::USER
    );
    let out = cli(&raw, "0s", &[]);
    expect(&out, 0, "", "Unix socket");
    assert!(out.stdout.contains("trust as"), "{}", out.stdout);
}

#[test]
fn expect_cockroachdb_against_postgres() {
    let port = pg::tls_server();
    let settings = DbSettings {
        expect: db::Expect::Cockroachdb,
        wait: Duration::ZERO,
        ..DbSettings::default()
    };
    let raw = url(&format!("localhost:{port}"), "sslmode=require");
    let u = db::validate(&raw, &settings).url.expect("url");
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("rt");
    let report = rt.block_on(db::probe::run(&u, &settings, db::probe::Progress::quiet()));
    let f = report.failure().expect("mismatch");
    assert_eq!(
        (f.class.as_str(), f.exit_code),
        ("unexpected_server", 7),
        "{f:?}"
    );
    assert!(f.message.contains("the server is PostgreSQL"), "{f:?}");
}
