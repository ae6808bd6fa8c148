//! TLS cases: trust per client and sslmode, verify-ca/verify-full, servers
//! with and without TLS, plaintext against a TLS-only server.

use uaol_supervisor::db::Client;

use super::{ca, cli, expect, lib, url};
use crate::pg;

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
    // libpq's default channel_binding=prefer binds to the TLS session.
    assert_eq!(v["server"]["auth"], "SCRAM-SHA-256-PLUS");
}

#[test]
fn scram_channel_binding_per_client() {
    let port = pg::tls_server();
    let host = format!("localhost:{port}");
    let out = cli(
        &url(&host, "sslmode=require&channel_binding=require"),
        "0s",
        &[],
    );
    expect(&out, 0, "", "SCRAM-SHA-256-PLUS as");
    let out = cli(
        &url(&host, "sslmode=require&channel_binding=disable"),
        "0s",
        &[],
    );
    expect(&out, 0, "", "SCRAM-SHA-256 as");
    // node-postgres never binds from the URL.
    let (code, text) = lib(
        &url(&host, &format!("sslmode=verify-full&sslrootcert={}", ca())),
        Client::NodePg,
    );
    assert_eq!(code, 0, "{text}");
    assert!(
        text.contains("SCRAM-SHA-256 as") && !text.contains("PLUS"),
        "{text}"
    );
    // No TLS, no binding: libpq refuses to authenticate.
    let plain = pg::plain_server();
    let out = cli(
        &url(
            &format!("localhost:{plain}"),
            "sslmode=disable&channel_binding=require",
        ),
        "0s",
        &[],
    );
    expect(&out, 5, "auth", "channel_binding=require");
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
fn libpq_allow_retries_with_tls() {
    let port = pg::tls_server();
    let out = cli(
        &url(&format!("localhost:{port}"), "sslmode=allow"),
        "0s",
        &[],
    );
    expect(&out, 0, "", "encrypted, certificate not verified");
    assert!(
        out.stdout.contains("server requires TLS"),
        "the plaintext try is shown\n{}",
        out.stdout
    );
}

#[test]
fn node_pg_client_flag_and_plain_url_argument() {
    let port = pg::tls_server();
    let raw = url(&format!("localhost:{port}"), "sslmode=require");
    let out = crate::support::Fixture::new().run(
        &[
            "probe", "--url", &raw, "--client", "node-pg", "--wait", "0s",
        ],
        std::time::Duration::from_secs(40),
    );
    super::assert_no_leak(&out.all());
    expect(&out, 4, "tls", "not signed by a trusted CA");
}

#[test]
fn client_certificate_authentication() {
    let port = pg::tls_server();
    let root = &pg::env().root;
    let base = format!(
        "postgresql://certuser@localhost:{port}/{}?sslmode=verify-full&sslrootcert={}",
        pg::DB,
        ca()
    );
    let with_cert = format!(
        "{base}&sslcert={}&sslkey={}",
        root.join("client.crt").display(),
        root.join("client.key").display()
    );
    let out = cli(&with_cert, "0s", &[]);
    expect(&out, 0, "", "certificate as \"certuser\"");
    let out = cli(&base, "0s", &[]);
    expect(&out, 5, "auth", "certificate");
}
