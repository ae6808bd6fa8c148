//! What the configured client will actually do with a URL: which endpoints it
//! connects to, as which user, and with which TLS policy and trust store.
//!
//! This is where libpq and node-postgres differ most (pg 8 treats `require` as
//! verify-full against the Mozilla roots, and no `sslmode` as plaintext; libpq
//! defaults to `prefer` and verifies only with a root certificate), so the
//! probe follows the [`ConnectPlan`] computed here, never its own idea.

use std::path::{Path, PathBuf};

use super::libpq::Conninfo;
use super::nodepg::NodeConfig;
use super::{Client, DEFAULT_PORT};

/// How much of the server certificate is checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Verify {
    /// Encrypt only.
    None,
    /// Chain to a trusted root (`verify-ca`).
    Ca,
    /// Chain and host name (`verify-full`).
    Full,
}

/// The TLS policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Tls {
    /// Plaintext only (`disable`, or node-postgres without sslmode).
    Disable,
    /// Plaintext first, TLS if the server insists (libpq `allow`).
    Allow,
    /// TLS if the server supports it, else plaintext (libpq `prefer`, the default).
    Prefer(Verify),
    /// TLS or fail.
    Require(Verify),
}

impl Tls {
    /// Whether the connection is guaranteed to be encrypted.
    pub(crate) fn mandatory(self) -> bool {
        matches!(self, Tls::Require(_))
    }
}

/// `channel_binding` (SCRAM-SHA-256-PLUS over TLS).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Binding {
    /// Never (node-postgres unless enabled in code; `disable`).
    Disable,
    /// When possible (libpq's default).
    Prefer,
    /// Or fail.
    Require,
}

/// libpq's `target_session_attrs`: which kind of server a host must be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Target {
    /// Any server (the default; node-postgres always).
    Any,
    /// Not read-only (`default_transaction_read_only` off and not a hot standby).
    ReadWrite,
    /// Read-only (either of those on).
    ReadOnly,
    /// Not in hot standby.
    Primary,
    /// In hot standby.
    Standby,
    /// A standby if any host is one, else any (a second pass over the hosts).
    PreferStandby,
}

impl Target {
    /// libpq's keyword value for this target.
    pub(crate) fn keyword(self) -> &'static str {
        match self {
            Target::Any => "any",
            Target::ReadWrite => "read-write",
            Target::ReadOnly => "read-only",
            Target::Primary => "primary",
            Target::Standby => "standby",
            Target::PreferStandby => "prefer-standby",
        }
    }

    /// Parse libpq's keyword (anything else was reported by the lints: `Any`).
    pub(crate) fn parse(value: Option<&str>) -> Target {
        match value {
            Some("read-write") => Target::ReadWrite,
            Some("read-only") => Target::ReadOnly,
            Some("primary") => Target::Primary,
            Some("standby") => Target::Standby,
            Some("prefer-standby") => Target::PreferStandby,
            _ => Target::Any,
        }
    }
}

/// Which roots verify the server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Trust {
    /// The Mozilla root set (webpki-roots; what Node bundles).
    Mozilla,
    /// `sslrootcert=system` (libpq ≥ 16): the system store; probed with the Mozilla set.
    System,
    /// Only the certificates in this file.
    File(PathBuf),
}

/// One host to try.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    /// Host name or IP (SNI and verify-full use it); a Unix socket directory when it starts with `/`.
    pub(crate) host: String,
    /// `hostaddr`: a numeric address that skips DNS.
    pub(crate) hostaddr: Option<String>,
    /// TCP port (also names the Unix socket file).
    pub port: u16,
}

/// Everything the probe needs, as the configured client would do it.
#[derive(Debug, Clone)]
pub struct ConnectPlan {
    /// Whose rules these are (host name matching differs in detail).
    pub(crate) client: Client,
    /// Hosts in order.
    pub endpoints: Vec<Endpoint>,
    /// User; `None` = the OS user, as both drivers default.
    pub(crate) user: Option<String>,
    /// Database; `None` = the user name.
    pub(crate) database: Option<String>,
    /// `options` (e.g. `--cluster=<routing-id>`), sent in the startup packet.
    pub(crate) options: Option<String>,
    /// TLS policy.
    pub(crate) tls: Tls,
    /// Trust store.
    pub(crate) trust: Trust,
    /// libpq `connect_timeout` (per host; values under 2 s count as 2 s, 0 = none).
    pub(crate) connect_timeout: Option<std::time::Duration>,
    /// `sslcert`/`sslkey`: the client certificate presented during TLS.
    pub(crate) client_cert: Option<(PathBuf, PathBuf)>,
    /// `channel_binding`.
    pub(crate) binding: Binding,
    /// `sslnegotiation=direct` (PostgreSQL 17+): TLS at once with ALPN
    /// `postgresql`, no SSLRequest.
    pub(crate) direct_tls: bool,
    /// `target_session_attrs` (libpq; node-postgres ignores it).
    pub(crate) target: Target,
    /// Human description, e.g. `verify-full (node-postgres reads sslmode=require as verify-full)`.
    pub(crate) tls_note: String,
}

/// Default Unix socket directory of Debian's libpq.
pub(crate) const SOCKET_DIR: &str = "/var/run/postgresql";

/// Resolve a certificate path as the URL gives it, relative to `base`.
pub(crate) fn resolve(base: &Path, value: &str) -> PathBuf {
    let p = Path::new(value);
    if p.is_absolute() {
        p.to_path_buf()
    } else {
        base.join(p)
    }
}

/// Both files given, or (libpq only, `home` set) both defaults present.
pub(super) fn client_cert(
    cert: Option<&str>,
    key: Option<&str>,
    base: &Path,
    home: Option<&Path>,
) -> Option<(PathBuf, PathBuf)> {
    match (cert, key, home) {
        (Some(c), Some(k), _) => Some((resolve(base, c), resolve(base, k))),
        (None, None, Some(h)) => {
            let (c, k) = (
                h.join(".postgresql/postgresql.crt"),
                h.join(".postgresql/postgresql.key"),
            );
            (c.is_file() && k.is_file()).then_some((c, k))
        }
        _ => None,
    }
}

/// A port as written; [`DEFAULT_PORT`] when empty or not a port.
pub(super) fn port_of(s: &str) -> u16 {
    s.parse().ok().filter(|p| *p > 0).unwrap_or(DEFAULT_PORT)
}

/// libpq's plan. Ports/hostaddrs that do not line up were reported by the lints;
/// here they fall back to defaults.
pub fn libpq_plan(ci: &Conninfo, base: &Path, home: Option<&Path>) -> ConnectPlan {
    let hosts = if ci.hosts.is_empty() {
        vec![String::new()]
    } else {
        ci.hosts.clone()
    };
    let addrs: Vec<&str> = ci
        .param("hostaddr")
        .map(|a| a.split(',').collect())
        .unwrap_or_default();
    let endpoints = hosts
        .iter()
        .enumerate()
        .map(|(i, h)| Endpoint {
            host: if h.is_empty() {
                SOCKET_DIR.to_string()
            } else {
                h.clone()
            },
            hostaddr: addrs
                .get(i)
                .or(addrs.first())
                .filter(|a| !a.is_empty())
                .map(|a| a.to_string()),
            port: port_of(
                ci.ports
                    .get(i)
                    .or(ci.ports.first())
                    .map(String::as_str)
                    .unwrap_or(""),
            ),
        })
        .collect();
    let default_root = home
        .map(|h| h.join(".postgresql/root.crt"))
        .filter(|p| p.is_file());
    let (trust, have_root) = match ci.param("sslrootcert") {
        Some("system") => (Trust::System, true),
        Some(v) => (Trust::File(resolve(base, v)), true),
        None => match default_root {
            Some(p) => (Trust::File(p), true),
            None => (Trust::Mozilla, false),
        },
    };
    let weak = if have_root { Verify::Ca } else { Verify::None };
    // libpq ≥ 16: sslrootcert=system makes verify-full the default.
    let default = if trust == Trust::System {
        "verify-full"
    } else {
        "prefer"
    };
    let mode = ci.param("sslmode").unwrap_or(default);
    let tls = match mode {
        "disable" => Tls::Disable,
        "allow" => Tls::Allow,
        "require" => Tls::Require(weak),
        "verify-ca" => Tls::Require(Verify::Ca),
        "verify-full" => Tls::Require(Verify::Full),
        _ => Tls::Prefer(weak),
    };
    let note = match (mode, have_root) {
        ("require" | "prefer", true) => {
            format!("{mode} (libpq verifies the chain because a root certificate is configured)")
        }
        _ => format!("{mode} (libpq)"),
    };
    ConnectPlan {
        client: Client::Libpq,
        endpoints,
        user: ci.user.clone(),
        database: ci.dbname.clone(),
        options: ci.param("options").map(str::to_string),
        tls,
        trust,
        connect_timeout: ci
            .param("connect_timeout")
            .and_then(|t| t.trim().parse::<u64>().ok())
            .filter(|t| *t > 0)
            .map(|t| std::time::Duration::from_secs(t.max(2))),
        client_cert: client_cert(ci.param("sslcert"), ci.param("sslkey"), base, home),
        binding: match ci.param("channel_binding") {
            Some("disable") => Binding::Disable,
            Some("require") => Binding::Require,
            _ => Binding::Prefer,
        },
        direct_tls: ci.param("sslnegotiation") == Some("direct"),
        target: Target::parse(ci.param("target_session_attrs")),
        tls_note: note,
    }
}

/// The plan for `client`.
pub fn plan_for(
    client: Client,
    ci: &Conninfo,
    node: Option<&NodeConfig>,
    base: &Path,
) -> ConnectPlan {
    match (client, node) {
        (Client::NodePg, Some(n)) => super::view_node::node_plan(n, base),
        _ => libpq_plan(ci, base, std::env::var_os("HOME").as_deref().map(Path::new)),
    }
}
