//! The URL as node-postgres reads it: pg-connection-string 2.x on top of the
//! WHATWG URL parser (for a non-special scheme such as `postgres:`).
//!
//! Emulated rather than delegated to the `url` crate so the crate stays small
//! and so the few steps pg-connection-string adds are explicit: the `encodeURI`
//! pre-pass, the `@/` → `@___DUMMY___/` retry, `decodeURIComponent` on user and
//! password, brackets kept on IPv6 hosts, query parameters copied verbatim and
//! overriding the URL parts. Errors name a reason, never the input. Matches
//! pg-connection-string 2.14.1 (cross-checked by an opt-in test against it).

use super::decode;
use crate::secret::Secret;

/// What pg-connection-string returns (the fields we compare and use).
#[derive(Clone, Default)]
pub struct NodeConfig {
    /// `user` (None when empty: pg then uses `PGUSER` or `$USER`).
    pub(crate) user: Option<String>,
    /// `password` (None when empty).
    pub password: Option<Secret>,
    /// `host` as pg passes it to `net.connect` (IPv6 brackets kept); None = localhost.
    pub(crate) host: Option<String>,
    /// `port` string; None = 5432.
    pub(crate) port: Option<String>,
    /// `database` (None: pg uses the user name).
    pub(crate) database: Option<String>,
    /// Query parameters, form-decoded, last duplicate wins.
    pub(crate) params: Vec<(String, String)>,
}

impl NodeConfig {
    /// A query parameter's value.
    pub(crate) fn param(&self, key: &str) -> Option<&str> {
        self.params
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }
}

/// Why node-postgres would throw.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NodeError {
    /// `new URL` fails: `TypeError: Invalid URL`.
    InvalidUrl,
    /// `decodeURIComponent`/`decodeURI` throws `URIError` on this component.
    UriError(&'static str),
}

/// Parsed WHATWG pieces (before pg-connection-string's mapping).
#[derive(Default)]
struct Parts {
    username: String,
    password: String,
    hostname: String,
    port: String,
    pathname: String,
    query: String,
}

const FORBIDDEN_HOST: &[char] = &[
    '\0', '\t', '\n', '\r', ' ', '#', '/', ':', '<', '>', '?', '@', '[', '\\', ']', '^', '|',
];

/// Read `raw` as pg-connection-string 2.x does.
pub fn read(raw: &str) -> Result<NodeConfig, NodeError> {
    if let Some(rest) = raw.strip_prefix('/') {
        let mut it = format!("/{rest}")
            .split(' ')
            .map(str::to_string)
            .collect::<Vec<_>>()
            .into_iter();
        return Ok(NodeConfig {
            host: it.next(),
            database: it.next(),
            ..NodeConfig::default()
        });
    }
    let needs_encoding = raw.contains(' ') || has_bad_escape(raw);
    let s = if needs_encoding {
        decode::encode_uri_pg(raw)
    } else {
        raw.to_string()
    };
    let (parts, dummy) = match whatwg(&s) {
        Some(p) => (p, false),
        None => (
            whatwg(&s.replacen("@/", "@___DUMMY___/", 1)).ok_or(NodeError::InvalidUrl)?,
            true,
        ),
    };
    map(parts, dummy)
}

/// pg's test `/ |%[^a-f0-9]|%[a-f0-9][^a-f0-9]/i` (a `%` at the very end does not match).
fn has_bad_escape(s: &str) -> bool {
    let b = s.as_bytes();
    (0..b.len()).any(|i| {
        b[i] == b'%'
            && match (b.get(i + 1), b.get(i + 2)) {
                (Some(x), _) if !x.is_ascii_hexdigit() => true,
                (Some(_), Some(y)) => !y.is_ascii_hexdigit(),
                _ => false,
            }
    })
}

fn map(p: Parts, dummy: bool) -> Result<NodeConfig, NodeError> {
    let mut cfg = NodeConfig::default();
    for pair in p.query.split('&').filter(|s| !s.is_empty()) {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        let (k, v) = (decode::form(k), decode::form(v));
        cfg.params.retain(|(key, _)| *key != k);
        cfg.params.push((k, v));
    }
    let take = |cfg: &mut NodeConfig, key: &str| {
        let v = cfg.param(key).map(str::to_string);
        cfg.params.retain(|(k, _)| k != key);
        v.filter(|v| !v.is_empty())
    };
    let (q_user, q_pw, q_host, q_port) = (
        take(&mut cfg, "user"),
        take(&mut cfg, "password"),
        take(&mut cfg, "host"),
        take(&mut cfg, "port"),
    );
    let component = |s: &str, name| decode::uri_component(s).map_err(|_| NodeError::UriError(name));
    cfg.user = q_user
        .or(Some(component(&p.username, "user name")?))
        .filter(|v| !v.is_empty());
    cfg.password = q_pw
        .or(Some(component(&p.password, "password")?))
        .filter(|v| !v.is_empty())
        .map(Secret::new);
    let hostname = if dummy { String::new() } else { p.hostname };
    // 2.14.1 strips IPv6 brackets (older 2.x kept them: ENOTFOUND [::1]).
    let hostname = match hostname.strip_prefix('[').and_then(|h| h.strip_suffix(']')) {
        Some(inner) if !inner.is_empty() => inner.to_string(),
        _ => hostname,
    };
    cfg.host = q_host
        .or(Some(component(&hostname, "host")?))
        .filter(|v| !v.is_empty());
    cfg.port = q_port.or(Some(p.port)).filter(|v| !v.is_empty());
    let path = p.pathname.strip_prefix('/').unwrap_or(&p.pathname);
    if !path.is_empty() {
        cfg.database = Some(decode::uri(path).map_err(|_| NodeError::UriError("database name"))?);
    }
    Ok(cfg)
}

/// The subset of the WHATWG URL parser pg's inputs exercise. `None` = failure.
fn whatwg(input: &str) -> Option<Parts> {
    let trimmed = input.trim_matches(|c: char| c <= ' ');
    let s: String = trimmed
        .chars()
        .filter(|c| !matches!(c, '\t' | '\n' | '\r'))
        .collect();
    let rest = match scheme_end(&s) {
        Some(i) => &s[i + 1..],
        // Relative to the base `postgres://base`.
        None if s.starts_with("//") => s.as_str(),
        None => return Some(relative(&s)),
    };
    let Some(after) = rest.strip_prefix("//") else {
        // Opaque path (`jdbc:postgresql://…` is scheme `jdbc`): no host.
        return Some(Parts {
            pathname: rest.split(['?', '#']).next().unwrap_or("").to_string(),
            ..Parts::default()
        });
    };
    let end = after.find(['/', '?', '#']).unwrap_or(after.len());
    let mut parts = authority(&after[..end])?;
    path_and_query(&after[end..], &mut parts);
    Some(parts)
}

fn scheme_end(s: &str) -> Option<usize> {
    let colon = s.find(':')?;
    let scheme = &s[..colon];
    let ok = scheme.starts_with(|c: char| c.is_ascii_alphabetic())
        && scheme
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'));
    ok.then_some(colon)
}

fn relative(s: &str) -> Parts {
    let mut parts = Parts {
        hostname: "base".into(),
        ..Parts::default()
    };
    let path = if s.starts_with(['/', '?', '#']) || s.is_empty() {
        s.to_string()
    } else {
        format!("/{s}")
    };
    path_and_query(&path, &mut parts);
    parts
}

fn path_and_query(s: &str, parts: &mut Parts) {
    let s = s.split('#').next().unwrap_or("");
    let (path, query) = s.split_once('?').unwrap_or((s, ""));
    parts.pathname = path.to_string();
    parts.query = query.to_string();
}

fn authority(auth: &str) -> Option<Parts> {
    let mut parts = Parts::default();
    let hostport = match auth.rfind('@') {
        Some(at) => {
            let (user, pw) = auth[..at].split_once(':').unwrap_or((&auth[..at], ""));
            (parts.username, parts.password) = (user.to_string(), pw.to_string());
            let hp = &auth[at + 1..];
            if hp.is_empty() {
                return None;
            }
            hp
        }
        None => auth,
    };
    let (host, port) = if let Some(inner) = hostport.strip_prefix('[') {
        let close = inner.find(']')?;
        let addr = &inner[..close];
        addr.parse::<std::net::Ipv6Addr>().ok()?;
        let tail = &inner[close + 1..];
        let port = if tail.is_empty() {
            ""
        } else {
            tail.strip_prefix(':')?
        };
        (format!("[{}]", addr.to_ascii_lowercase()), port)
    } else {
        let (h, p) = hostport.split_once(':').unwrap_or((hostport, ""));
        if h.contains(FORBIDDEN_HOST) || (h.is_empty() && hostport.contains(':')) {
            return None;
        }
        (h.to_string(), p)
    };
    if !port.is_empty() {
        if !port.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        let digits = port.trim_start_matches('0');
        let n: u32 = if digits.len() > 5 {
            u32::MAX
        } else {
            digits.parse().unwrap_or(0)
        };
        if n > 65535 {
            return None;
        }
        parts.port = n.to_string();
    }
    parts.hostname = host;
    Some(parts)
}

#[cfg(test)]
#[path = "nodepg_tests.rs"]
mod tests;
