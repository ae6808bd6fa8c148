//! node-postgres's side of [`super::view`]: what pg 8 with pg-connection-string
//! 2.x does with a URL — one host (brackets stripped), port 5432 when absent,
//! and its own sslmode mapping (no sslmode = plaintext; `prefer`/`require`/
//! `verify-ca` = verify-full unless `uselibpqcompat=true`).

use std::path::Path;

use super::nodepg::NodeConfig;
use super::view::{
    client_cert, port_of, resolve, Binding, ConnectPlan, Endpoint, Tls, Trust, Verify,
};

/// node-postgres's plan (pg 8 / pg-connection-string 2.x).
pub(super) fn node_plan(n: &NodeConfig, base: &Path) -> ConnectPlan {
    let host = n.host.clone().unwrap_or_else(|| "localhost".into());
    let host = host
        .strip_prefix('[')
        .and_then(|h| h.strip_suffix(']'))
        .map(str::to_string)
        .unwrap_or(host);
    let trust = match n.param("sslrootcert") {
        Some(v) => Trust::File(resolve(base, v)),
        None => Trust::Mozilla,
    };
    let (tls, note) = node_tls(n);
    ConnectPlan {
        client: super::Client::NodePg,
        endpoints: vec![Endpoint {
            host,
            hostaddr: None,
            port: port_of(n.port.as_deref().unwrap_or("")),
        }],
        user: n.user.clone(),
        database: n.database.clone(),
        options: n.param("options").map(str::to_string),
        tls,
        trust,
        // pg's JS client ignores connect_timeout in the URL.
        connect_timeout: None,
        client_cert: client_cert(n.param("sslcert"), n.param("sslkey"), base, None),
        // pg binds only with `enableChannelBinding: true` in code, never from the URL.
        binding: Binding::Disable,
        direct_tls: n.param("sslnegotiation") == Some("direct"),
        // pg copies target_session_attrs into its config and never reads it.
        target: super::view::Target::Any,
        tls_note: note,
    }
}

fn node_tls(n: &NodeConfig) -> (Tls, String) {
    let compat = n.param("uselibpqcompat") == Some("true");
    let has_root = n.param("sslrootcert").is_some();
    let files = has_root || n.param("sslcert").is_some() || n.param("sslkey").is_some();
    let mode = n.param("sslmode");
    let full = Tls::Require(Verify::Full);
    match (mode, compat) {
        (Some("disable"), _) => (Tls::Disable, "disable (node-postgres)".into()),
        (Some("no-verify"), _) => (
            Tls::Require(Verify::None),
            "no-verify (node-postgres: encrypt only)".into(),
        ),
        (Some(m @ ("prefer" | "require")), true) if !(m == "require" && has_root) => (
            Tls::Require(Verify::None),
            format!("{m} (node-postgres, uselibpqcompat: encrypt only)"),
        ),
        (Some("require" | "verify-ca"), true) => (
            Tls::Require(Verify::Ca),
            "verify-ca (node-postgres, uselibpqcompat)".into(),
        ),
        (Some(m @ ("prefer" | "require" | "verify-ca")), false) => (
            full,
            format!("verify-full (node-postgres 8 reads sslmode={m} as verify-full)"),
        ),
        (Some(_), _) => (full, "verify-full (node-postgres)".into()),
        (None, _) if files => (
            full,
            "verify-full (node-postgres: an ssl* file turns TLS on)".into(),
        ),
        (None, _) if n.param("sslnegotiation") == Some("direct") => (
            full,
            "verify-full (node-postgres: sslnegotiation=direct turns TLS on)".into(),
        ),
        (None, _) => match n.param("ssl") {
            Some("true" | "1") => (full, "verify-full (node-postgres ssl=true)".into()),
            _ => (
                Tls::Disable,
                "none (node-postgres uses plaintext when the URL has no sslmode)".into(),
            ),
        },
    }
}
