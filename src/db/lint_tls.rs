//! Lints on the TLS side and on CockroachDB specifics, judged on the
//! [`ConnectPlan`] of the configured client (so "no sslmode" is plaintext for
//! node-postgres and `prefer` for libpq), plus the `sslrootcert` file checks.

use std::path::Path;

use regex_lite::Regex;

use super::lint_text::err;
use super::view::{resolve, ConnectPlan, Tls, Trust};
use super::{Client, DbSettings, UrlError, UrlKind};

/// Errors and warnings.
pub(super) type Findings = (Vec<UrlError>, Vec<String>);

/// `require_tls = true` but the client may connect in plaintext.
pub(super) fn require_tls(plan: &ConnectPlan, settings: &DbSettings) -> Option<UrlError> {
    (settings.require_tls && !plan.tls.mandatory()).then(|| {
        err(UrlKind::TlsNotRequired, format!("[database] require_tls = true, but with this URL the services may connect without TLS (sslmode: {}); add ?sslmode=verify-full", plan.tls_note))
    })
}

fn is_crdb_cloud(host: &str) -> bool {
    host.to_ascii_lowercase().ends_with(".cockroachlabs.cloud")
}

/// CockroachDB hosts: explicit port, TLS, routing identifier.
pub(super) fn cockroach(plan: &ConnectPlan, port_explicit: bool, client: Client) -> Findings {
    let (mut errors, mut warnings) = (Vec::new(), Vec::new());
    let cloud = plan.endpoints.iter().any(|e| is_crdb_cloud(&e.host));
    let crdb_port = port_explicit && plan.endpoints.iter().any(|e| e.port == 26257);
    if cloud && !port_explicit {
        errors.push(err(UrlKind::CockroachPortMissing, "the URL names a CockroachDB Cloud host without a port: libpq and node-postgres then use 5432, but CockroachDB listens on 26257. Add :26257 after the host"));
    }
    if cloud || crdb_port {
        let local = plan
            .endpoints
            .iter()
            .all(|e| e.host == "localhost" || e.host.starts_with("127.") || e.host == "::1");
        match plan.tls {
            Tls::Disable | Tls::Allow if !local => errors.push(err(UrlKind::CockroachTlsMissing, match client {
                Client::NodePg => "a CockroachDB host without TLS: node-postgres connects in plaintext when the URL has no sslmode, and the server answers \"server requires encryption\". Add ?sslmode=verify-full",
                Client::Libpq => "a CockroachDB host with TLS disabled: the server answers \"server requires encryption\". Use ?sslmode=verify-full",
            })),
            Tls::Disable | Tls::Allow | Tls::Prefer(_) => warnings.push("a CockroachDB host without sslmode=verify-full: add ?sslmode=verify-full so the connection is encrypted and verified".into()),
            Tls::Require(_) => {}
        }
    }
    if cloud && !has_routing(plan) {
        warnings.push("no CockroachDB routing identifier found (host, options=--cluster=…, or database prefix): a Basic/Standard (Serverless) cluster's proxy will answer \"missing cluster identifier\". Use the full host name from the Connect dialog".into());
    }
    (errors, warnings)
}

fn has_routing(plan: &ConnectPlan) -> bool {
    let opt = plan.options.as_deref().unwrap_or("");
    if Regex::new(r"(?:-c\s*|--)cluster=\S+").is_ok_and(|r| r.is_match(opt))
        || plan.database.as_deref().is_some_and(|d| d.contains('.'))
    {
        return true;
    }
    let label = plan
        .endpoints
        .iter()
        .find(|e| is_crdb_cloud(&e.host))
        .and_then(|e| e.host.split('.').next())
        .unwrap_or("");
    let routing =
        Regex::new(r"^[a-z0-9][a-z0-9-]{4,18}[a-z0-9]-[0-9]+$").is_ok_and(|r| r.is_match(label));
    // Advanced clusters (`name-3ab`, a hex short id) are addressed directly.
    let advanced = label.rsplit_once('-').is_some_and(|(_, id)| {
        id.len() >= 3
            && id.bytes().all(|b| b.is_ascii_hexdigit())
            && !id.bytes().all(|b| b.is_ascii_digit())
    });
    routing || advanced
}

/// `sslrootcert` (and `sslcert`/`sslkey`) files: present, readable, PEM.
pub(super) fn cert_files(
    params: &[(&str, Option<&str>)],
    base: &Path,
    client: Client,
) -> Vec<UrlError> {
    let mut out = Vec::new();
    for (key, value) in params {
        let Some(value) = value else { continue };
        if *key == "sslrootcert" && *value == "system" {
            if client == Client::NodePg {
                out.push(err(UrlKind::SslrootcertSystem, "sslrootcert=system is a libpq keyword; node-postgres opens a file called \"system\" and fails (ENOENT). Remove sslrootcert to use the Mozilla roots"));
            }
            continue;
        }
        if value.starts_with('~') || value.contains('$') {
            out.push(err(UrlKind::SslrootcertUnexpanded, format!("{key} starts with ~ or contains $: neither the drivers nor .env expand it. Write the absolute path")));
            continue;
        }
        let path = resolve(base, value);
        let shown = path.display();
        if !path.exists() {
            out.push(err(missing_kind(key), format!("{key} file {shown} does not exist (relative paths are resolved against the directory of supervisor.toml)")));
            continue;
        }
        use std::io::ErrorKind;
        let bytes = match crate::diag::read::read_bounded(&path, MAX_CERT_FILE) {
            Ok(b) => b,
            Err(e) if matches!(e.kind(), ErrorKind::Other | ErrorKind::InvalidInput) => {
                out.push(err(
                    UrlKind::SslrootcertUnreadable,
                    format!("{key} file {shown} is {e}"),
                ));
                continue;
            }
            Err(_) => {
                out.push(err(UrlKind::SslrootcertUnreadable, format!("{key} file {shown} is not readable by this user; the services need to read it too")));
                continue;
            }
        };
        if *key == "sslrootcert" && certificates(&bytes) == 0 {
            out.push(err(UrlKind::SslrootcertNotPem, format!("{key} file {shown} holds no PEM certificate (-----BEGIN CERTIFICATE-----); download the CA certificate in PEM form")));
        }
    }
    out
}

/// The largest certificate or key file read (a CA bundle is ~200 KiB).
pub(super) const MAX_CERT_FILE: u64 = 4 * 1024 * 1024;

fn missing_kind(key: &str) -> UrlKind {
    match key {
        "sslrootcert" => UrlKind::SslrootcertMissing,
        "sslcert" => UrlKind::SslcertMissing,
        _ => UrlKind::SslkeyMissing,
    }
}

/// Number of PEM certificates in `bytes`.
pub(super) fn certificates(bytes: &[u8]) -> usize {
    use rustls::pki_types::{pem::PemObject, CertificateDer};
    CertificateDer::pem_slice_iter(bytes)
        .filter(Result::is_ok)
        .count()
}

/// Client-specific TLS warnings.
pub(super) fn tls_warnings(
    plan: &ConnectPlan,
    client: Client,
    sslmode: Option<&str>,
    compat: bool,
) -> Vec<String> {
    let mut out = Vec::new();
    match client {
        Client::NodePg => {
            if let (Some(m @ ("prefer" | "require" | "verify-ca")), false) = (sslmode, compat) {
                out.push(format!("node-postgres 8 treats sslmode={m} as verify-full (chain and host name, Mozilla roots unless sslrootcert); pg 9 will switch to libpq semantics. Write sslmode=verify-full to keep today's behaviour"));
            }
        }
        Client::Libpq => {
            if matches!(sslmode, Some("verify-ca" | "verify-full")) && plan.trust == Trust::Mozilla
            {
                out.push("libpq (psql) needs a root certificate for verify-ca/verify-full: add sslrootcert=system (libpq ≥ 16) or sslrootcert=<file>, or place ~/.postgresql/root.crt in the services' HOME; the probe used the Mozilla roots".into());
            }
        }
    }
    out
}

/// `verify-ca` under `uselibpqcompat` needs a CA file (pg throws otherwise).
pub(super) fn node_verify_ca(
    client: Client,
    sslmode: Option<&str>,
    compat: bool,
    has_root: bool,
) -> Option<UrlError> {
    (client == Client::NodePg && compat && sslmode == Some("verify-ca") && !has_root)
        .then(|| err(UrlKind::NodePgVerifyCaWithoutRoot, "with uselibpqcompat=true, node-postgres refuses sslmode=verify-ca without sslrootcert; add sslrootcert=<CA file>"))
}

/// libpq refuses a private key readable by group/others ("private key file has
/// group or world access"): 0600, or 0640 when owned by root.
pub(super) fn key_permissions(key: Option<&str>, base: &Path, client: Client) -> Option<UrlError> {
    use std::os::unix::fs::MetadataExt;
    let path = resolve(base, key?);
    let meta = std::fs::metadata(&path).ok()?;
    let allowed = if meta.uid() == 0 { 0o027 } else { 0o077 };
    (client == Client::Libpq && meta.mode() & allowed != 0).then(|| {
        err(
            UrlKind::SslkeyPermissions,
            format!(
                "sslkey file {} is readable by group or others; libpq refuses it. chmod 600 it",
                path.display()
            ),
        )
    })
}
