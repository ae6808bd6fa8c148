//! Lints on the parsed URL: parameters libpq would refuse, ports, the two
//! readings disagreeing, loopback hosts, and what node-postgres cannot do.
//!
//! Values are never quoted except where they cannot be secret (keys that look
//! like identifiers); a mis-encoded password can land in the "port" or the
//! "host", so those are described, not shown.

use super::libpq::Conninfo;
use super::lint_text::err;
use super::nodepg::{NodeConfig, NodeError};
use super::view::{ConnectPlan, SOCKET_DIR};
use super::{keywords, Client, UrlError, UrlKind, DEFAULT_PORT};

fn identifier(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 40
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

fn distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1];
        for (j, cb) in b.iter().enumerate() {
            cur.push(
                (prev[j] + usize::from(ca != *cb))
                    .min(prev[j + 1] + 1)
                    .min(cur[j] + 1),
            );
        }
        prev = cur;
    }
    prev[b.len()]
}

fn suggest(key: &str) -> String {
    let best = keywords::KEYWORDS.iter().min_by_key(|k| distance(key, k));
    match best.filter(|k| distance(key, k) <= 2) {
        Some(k) => format!("; did you mean \"{k}\"?"),
        None => String::new(),
    }
}

/// A password-like value inside `options`: the server splits `options` at
/// whitespace and echoes a piece it rejects in its error, so a secret there
/// leaks in pieces no redactor can know in advance.
pub(super) fn options_secret(ci: &Conninfo) -> Option<String> {
    let options = ci.param("options")?;
    let holds_password = super::redact::holds_password(ci, options);
    let secret_setting = options.split_whitespace().any(|word| {
        let setting = word.trim_start_matches('-').trim_start_matches('c');
        setting
            .split_once('=')
            .is_some_and(|(k, v)| !v.is_empty() && crate::secret::looks_secret(k))
    });
    (holds_password || secret_setting).then(|| {
        "`options` holds what looks like a password: the server splits options at spaces and echoes a piece it rejects in its error messages. Keep secrets in the password field, never in options".to_string()
    })
}

/// Unknown query keys: an error for libpq (it refuses the URL), a warning for node-pg.
pub(super) fn unknown_params(ci: &Conninfo, client: Client) -> (Vec<UrlError>, Vec<String>) {
    let (mut errors, mut warnings) = (Vec::new(), Vec::new());
    for key in &ci.unknown {
        let shown = if identifier(key) {
            format!("\"{key}\"")
        } else {
            "a query parameter".into()
        };
        match (client, key.as_str()) {
            (Client::Libpq, "uselibpqcompat") => errors.push(err(UrlKind::UnknownParameter, "uselibpqcompat is a node-postgres option; libpq (psql) refuses the URL with it. Remove it, or set [database] client = \"node-pg\"")),
            (Client::Libpq, _) => errors.push(err(UrlKind::UnknownParameter, format!("libpq refuses the URL: {shown} is not a connection parameter{}", suggest(key)))),
            (Client::NodePg, "uselibpqcompat") => {}
            (Client::NodePg, _) => warnings.push(format!("node-postgres ignores {shown}, and psql and other libpq tools refuse a URL with it{}", suggest(key))),
        }
    }
    (errors, warnings)
}

/// Parameter values libpq would refuse, sslmode for both clients, and ports.
pub(super) fn values(ci: &Conninfo, client: Client) -> Vec<UrlError> {
    let mut out = Vec::new();
    for (key, value) in &ci.params {
        if key == "sslmode" {
            let ok = keywords::SSLMODES.contains(&value.as_str())
                || (client == Client::NodePg && value == "no-verify");
            if !ok {
                out.push(err(
                    UrlKind::BadSslmode,
                    format!(
                        "unknown sslmode; use one of {} (verify-full for a remote database)",
                        keywords::SSLMODES.join(", ")
                    ),
                ));
            }
        } else if client == Client::Libpq && keywords::is_known(key) {
            if let Some(why) = keywords::check_value(key, value) {
                out.push(err(
                    UrlKind::BadParameterValue,
                    format!("the value of {key} {why}"),
                ));
            }
        }
    }
    let strong = matches!(
        ci.param("sslmode"),
        Some("require" | "verify-ca" | "verify-full")
    );
    if client == Client::Libpq && ci.param("sslnegotiation") == Some("direct") && !strong {
        out.push(err(UrlKind::BadParameterValue, "libpq refuses sslnegotiation=direct with a weak sslmode: use sslmode=require or stronger"));
    }
    let weak = matches!(ci.param("sslmode"), Some(m) if m != "verify-full");
    if client == Client::Libpq && ci.param("sslrootcert") == Some("system") && weak {
        out.push(err(UrlKind::BadParameterValue, "libpq refuses a weak sslmode with sslrootcert=system: use sslmode=verify-full (or leave sslmode out)"));
    }
    for port in ci.ports.iter().filter(|p| !p.is_empty()) {
        match port.parse::<u32>() {
            Err(_) => out.push(err(UrlKind::BadPort, "the port is not a number (if the password contains `/`, percent-encode it as %2F: psql reads what follows the first `:` of the host part as the port)")),
            Ok(p) if p == 0 || p > 65535 => out.push(err(UrlKind::BadPort, "the port is out of range (1–65535)")),
            Ok(_) => {}
        }
    }
    let n_hosts = ci.hosts.len().max(1);
    if ci.ports.len() > 1 && ci.ports.len() != n_hosts {
        out.push(err(
            UrlKind::PortCountMismatch,
            format!(
                "{} ports for {n_hosts} hosts: give one port, or one per host",
                ci.ports.len()
            ),
        ));
    }
    out
}

/// The two readings disagree on a field that decides where and as whom the
/// services connect (only when the services use node-postgres).
pub(super) fn compare(ci: &Conninfo, node: &Result<NodeConfig, NodeError>) -> Vec<UrlError> {
    let ambiguous = |field: &str, cause: &str| {
        err(
            UrlKind::Ambiguous,
            format!(
                "libpq and node-postgres read the {field} of the database URL differently: {cause}"
            ),
        )
    };
    let n = match node {
        Err(NodeError::InvalidUrl) if ci.hosts.len() > 1 => return vec![err(UrlKind::NodePgMultiHost, "node-postgres does not support several hosts (new URL() throws Invalid URL); give one host, or put a load balancer in front")],
        Err(NodeError::InvalidUrl) => return vec![err(UrlKind::NodePgInvalidUrl, "node-postgres cannot parse the database URL (new URL() throws Invalid URL); look for unencoded reserved characters or a non-numeric port")],
        Err(NodeError::UriError(what)) => return vec![err(UrlKind::NodePgInvalidUrl, format!("node-postgres cannot decode the {what} (decodeURIComponent throws URIError); check its percent-encoding"))],
        Ok(n) => n,
    };
    let mut out = Vec::new();
    if ci.user != n.user {
        out.push(ambiguous(
            "user name",
            "check the percent-encoding of reserved characters in it",
        ));
    }
    if ci.password.as_ref().map(|p| p.expose()) != n.password.as_ref().map(|p| p.expose()) {
        out.push(ambiguous(
            "password",
            "check the percent-encoding of reserved characters (@ : / ? # %) in it",
        ));
    }
    match (ci.hosts.as_slice(), n.host.as_deref()) {
        ([], None) => out.push(ambiguous("host", "an empty host means a Unix socket to libpq but localhost TCP to node-postgres; name the host")),
        ([h], Some(nh)) if h == nh => {}
        _ => out.push(ambiguous("host", "check for an unencoded `@` in the password or a query `host=`")),
    }
    let port = |p: Option<&str>| p.map_or(Some(u32::from(DEFAULT_PORT)), |p| p.parse::<u32>().ok());
    let lp = ci
        .ports
        .first()
        .map(String::as_str)
        .filter(|p| !p.is_empty());
    if port(lp) != port(n.port.as_deref()) {
        out.push(ambiguous(
            "port",
            "check the percent-encoding of the password",
        ));
    }
    if ci.dbname != n.database {
        out.push(ambiguous("database name", "check its percent-encoding (node-postgres uses decodeURI, which keeps %2F, %3F, %23, %40 encoded)"));
    }
    out
}

fn is_loopback(host: &str) -> bool {
    let h = host.trim_start_matches('[').trim_end_matches(']');
    h.is_empty()
        || h.starts_with('/')
        || h.starts_with('@')
        || h.eq_ignore_ascii_case("localhost")
        || h.to_ascii_lowercase().ends_with(".localhost")
        || h.parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback() || ip.is_unspecified())
}

/// A loopback host (or Unix socket) when `allow_localhost = false`.
pub(super) fn localhost(plan: &ConnectPlan) -> Option<UrlError> {
    let hit = plan
        .endpoints
        .iter()
        .any(|e| is_loopback(&e.host) || e.hostaddr.as_deref().is_some_and(is_loopback));
    hit.then(|| {
        let what = if plan.endpoints.iter().any(|e| e.host == SOCKET_DIR) { "a local Unix socket (empty host)" } else { "a loopback host" };
        err(UrlKind::LocalhostNotAllowed, format!("the database URL points at {what}, but [database] allow_localhost = false: this is the classic fallback that produced ECONNREFUSED. Set the real remote host"))
    })
}

/// node-postgres copies `target_session_attrs` into its config and never
/// acts on it (pg has one host and no role check): say so rather than let the
/// URL promise a read-write or standby session it will not get.
pub(super) fn target_session_attrs(ci: &Conninfo, client: Client) -> Option<String> {
    let value = ci.param("target_session_attrs")?;
    let shown = keywords::check_value("target_session_attrs", value)
        .is_none()
        .then_some(value)?;
    (client == Client::NodePg && shown != "any").then(|| {
        format!(
            "node-postgres ignores target_session_attrs={shown}: it connects to its one host whatever that server's role, and the probe does the same (libpq and psql would refuse a server of the wrong kind)"
        )
    })
}
