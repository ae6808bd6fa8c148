//! Issue 12 item 9: the self-signed development certificate. Each case runs
//! the probe and the real clients it stands for — `psql` (libpq/OpenSSL) and
//! Node's TLS (what node-postgres uses, after the same SSLRequest) — and
//! asserts that they agree: the gate must open exactly when the services
//! would connect.

use std::process::Command;
use std::time::Duration;

use super::{cli, url};
use crate::pg;
use crate::support::{run_bounded, Fixture};

/// What psql says about `host`/`sslmode`/`root` (true = connected).
fn psql(host: &str, port: u16, sslmode: &str, root: &str) -> bool {
    let f = Fixture::new();
    let conninfo = format!(
        "host={host} port={port} user={} dbname={} sslmode={sslmode} sslrootcert={root}",
        pg::USER,
        pg::DB
    );
    let mut cmd = Command::new("psql");
    cmd.args([&conninfo, "-Atc", "select 1"])
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("HOME", f.path())
        .env("PGPASSWORD", pg::PASSWORD)
        .env("PGCONNECT_TIMEOUT", "5");
    let out = run_bounded(&mut cmd, Duration::from_secs(20));
    out.code() == Some(0)
}

/// Node's TLS verdict after an SSLRequest, as node-postgres connects
/// (servername only for a host name, `ca` from sslrootcert).
const NODE: &str = r#"
const net = require('net'), tls = require('tls'), fs = require('fs');
const [host, port, ca] = process.argv.slice(1);
const s = net.connect(+port, host, () => s.write(Buffer.from([0, 0, 0, 8, 4, 210, 22, 47])));
s.on('error', e => { console.log('net', e.code); process.exit(2); });
s.once('data', b => {
  if (b[0] !== 83) { console.log('no ssl'); process.exit(3); }
  const o = { socket: s, ca: fs.readFileSync(ca) };
  if (!net.isIP(host)) o.servername = host;
  const t = tls.connect(o, () => { console.log('ok'); process.exit(0); });
  t.on('error', e => { console.log('tls', e.code); process.exit(1); });
});
"#;

fn node(host: &str, port: u16, root: &str) -> bool {
    let mut cmd = Command::new("node");
    cmd.args(["-e", NODE, host, &port.to_string(), root]);
    let out = run_bounded(&mut cmd, Duration::from_secs(20));
    assert!(
        matches!(out.code(), Some(0 | 1)),
        "node script: {}",
        out.all()
    );
    out.code() == Some(0)
}

/// Probe with `client`; returns (exit code, output).
fn probe(host: &str, port: u16, sslmode: &str, root: &str, client: &str) -> (i32, String) {
    let raw = url(
        &format!("{host}:{port}"),
        &format!("sslmode={sslmode}&sslrootcert={root}"),
    );
    let out = cli(&raw, "0s", &["--client", client]);
    (out.code().unwrap_or(-1), out.all())
}

/// Probe, psql and Node on one case; `class` is the probe's failure class
/// (libpq reading) when psql refuses (None: it connects). Under verify-full,
/// Node's verdict is compared with the probe's node-pg reading too.
fn case(host: &str, port: u16, sslmode: &str, root: &str, class: Option<&str>) {
    let ok = class.is_none();
    assert_eq!(
        psql(host, port, sslmode, root),
        ok,
        "psql, {host} {sslmode} {root}"
    );
    let (code, out) = probe(host, port, sslmode, root, "libpq");
    assert_eq!(code == 0, ok, "probe (libpq), {host} {sslmode}:\n{out}");
    if sslmode == "verify-full" {
        let node_ok = node(host, port, root);
        let (node_code, node_out) = probe(host, port, sslmode, root, "node-pg");
        assert_eq!(
            node_code == 0,
            node_ok,
            "probe (node-pg) vs Node, {host}:\n{node_out}"
        );
        no_debug(&node_out);
    }
    if ok {
        assert!(
            out.contains("self-signed certificate trusted as it is"),
            "{out}"
        );
    }
    if let Some(class) = class {
        assert_eq!(code, 4, "{out}");
        assert!(
            out.contains(&format!("error   {class} in phase tls")),
            "{class}:\n{out}"
        );
    }
    no_debug(&out);
}

/// Never a Rust Debug string (`Other(OtherError(CaUsedAsEndEntity))`).
fn no_debug(out: &str) {
    for word in ["Other(", "Error(", "CaUsedAsEndEntity", "{ "] {
        assert!(!out.contains(word), "{word:?} in:\n{out}");
    }
}

#[test]
fn self_signed_certificate_as_its_own_root() {
    let port = pg::self_signed_server();
    let root = pg::env().self_signed.display().to_string();
    // CA:TRUE, CN=localhost, no SAN: libpq and Node both accept it by its CN.
    case("localhost", port, "verify-full", &root, None);
    case("localhost", port, "verify-ca", &root, None);
    // The host name is still checked: an IP address is not the CN (libpq).
    // node-postgres lets Node check "localhost" for an IP host: it connects.
    case(
        "127.0.0.1",
        port,
        "verify-full",
        &root,
        Some("tls_hostname_mismatch"),
    );
    assert!(node("127.0.0.1", port, &root));
    case("127.0.0.1", port, "verify-ca", &root, None);
}

#[test]
fn self_signed_certificate_not_in_the_trust_store() {
    let port = pg::self_signed_server();
    let other = pg::env().ca.display().to_string();
    case(
        "localhost",
        port,
        "verify-full",
        &other,
        Some("tls_bad_certificate"),
    );
    let (_, out) = probe("localhost", port, "verify-full", &other, "libpq");
    assert!(
        out.contains("CA certificate (basicConstraints CA:TRUE)") && out.contains("sslrootcert"),
        "{out}"
    );
}

#[test]
fn ca_certificate_without_a_tls_key_usage_is_refused_as_openssl_does() {
    let port = pg::ca_leaf_server();
    let root = pg::env().ca_leaf.display().to_string();
    case(
        "localhost",
        port,
        "verify-full",
        &root,
        Some("tls_bad_certificate"),
    );
    let (_, out) = probe("localhost", port, "verify-full", &root, "libpq");
    assert!(out.contains("not meant for a TLS server"), "{out}");
}
