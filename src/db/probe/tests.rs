//! Protocol details the integration tests cannot reach with a stock
//! PostgreSQL: server-error classification (CockroachDB proxy messages,
//! 57P03/53300), message framing against non-PostgreSQL peers.

use super::failure::startup;
use super::wire::{self, ServerError};
use crate::exit;

fn se(code: &str, message: &str) -> ServerError {
    ServerError {
        code: code.into(),
        message: message.into(),
        hint: None,
    }
}

#[test]
fn startup_errors_are_classified() {
    for (code, msg, encrypted, class, exit_code, transient) in [
        (
            "28P01",
            "password authentication failed for user \"u\"",
            true,
            "auth_failed",
            exit::DB_AUTH,
            false,
        ),
        (
            "28000",
            "no pg_hba.conf entry for host \"1.2.3.4\", user \"u\", database \"d\", no encryption",
            false,
            "tls_required",
            exit::DB_TLS,
            false,
        ),
        (
            "28000",
            "no pg_hba.conf entry for host \"1.2.3.4\", user \"u\", database \"d\", SSL encryption",
            true,
            "auth_rejected",
            exit::DB_AUTH,
            false,
        ),
        (
            "08004",
            "server requires encryption",
            false,
            "tls_required",
            exit::DB_TLS,
            false,
        ),
        (
            "3D000",
            "database \"x\" does not exist",
            true,
            "db_missing",
            exit::DB_MISSING,
            false,
        ),
        (
            "57P03",
            "the database system is starting up",
            true,
            "starting_up",
            exit::DB_REJECTING,
            true,
        ),
        (
            "53300",
            "sorry, too many clients already",
            true,
            "too_many_connections",
            exit::DB_REJECTING,
            true,
        ),
        (
            "08004",
            "codeParamsRoutingFailed: missing cluster identifier",
            true,
            "crdb_routing",
            exit::DB_MISSING,
            false,
        ),
        (
            "08004",
            "codeParamsRoutingFailed: cluster lazy-roach-3 not found",
            true,
            "crdb_cluster_not_found",
            exit::DB_MISSING,
            false,
        ),
        (
            "08004",
            "codeProxyRefusedConnection: connection refused",
            true,
            "proxy_refused",
            exit::DB_REJECTING,
            false,
        ),
        (
            "08004",
            "codeProxyRefusedConnection: connection attempt throttled",
            true,
            "auth_throttled",
            exit::DB_AUTH,
            false,
        ),
        (
            "XX000",
            "something else",
            true,
            "rejected",
            exit::DB_REJECTING,
            false,
        ),
    ] {
        let f = startup(&se(code, msg), "u", "d", encrypted);
        assert_eq!(
            (f.class.as_str(), f.exit_code, f.transient),
            (class, exit_code, transient),
            "{code} {msg}"
        );
    }
}

#[tokio::test(flavor = "current_thread")]
async fn framing_rejects_other_protocols() {
    let mut http: &[u8] = b"HTTP/1.1 400 Bad Request\r\n\r\n";
    let mut io = tokio::io::join(&mut http, tokio::io::sink());
    let e = wire::recv(&mut io).await.err().expect("not postgres");
    assert_eq!(e.kind(), std::io::ErrorKind::InvalidData);
    let mut short: &[u8] = b"Z\0\0\0\x05";
    let mut io = tokio::io::join(&mut short, tokio::io::sink());
    assert_eq!(
        wire::recv(&mut io).await.err().map(|e| e.kind()),
        Some(std::io::ErrorKind::UnexpectedEof)
    );
}

#[test]
fn error_and_row_bodies() {
    let e = wire::server_error(b"SFATAL\0C28P01\0Mbad password\0Htry again\0\0");
    assert_eq!(
        (e.code.as_str(), e.message.as_str(), e.hint.as_deref()),
        ("28P01", "bad password", Some("try again"))
    );
    let row = wire::data_row(b"\0\x02\0\0\0\x03abc\xff\xff\xff\xff");
    assert_eq!(row, vec![Some("abc".to_string()), None]);
}

#[test]
fn loopback_resolution() {
    use super::attempt::all_loopback;
    let a = |s: &str| s.parse::<std::net::SocketAddr>().expect("addr");
    assert!(all_loopback(&[a("127.0.1.1:5432"), a("[::1]:5432")]));
    assert!(!all_loopback(&[a("127.0.0.1:5432"), a("10.0.0.5:5432")]));
    assert!(!all_loopback(&[]));
}

#[test]
fn every_failure_class_is_in_the_docs_failure_table() {
    let doc = include_str!("../../../docs/database.md");
    let section = &doc[doc.find("### Failures").expect("Failures section")..];
    let table: Vec<&str> = section
        .lines()
        .skip_while(|l| !l.starts_with('|'))
        .take_while(|l| l.starts_with('|'))
        .collect();
    assert!(table.len() > 2, "no table under ### Failures");
    for c in super::failure::Class::ALL {
        assert!(
            table.iter().any(|row| row.contains(&format!("`{c}`"))),
            "docs/database.md's failure table lacks `{c}`"
        );
    }
}
