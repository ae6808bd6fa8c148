//! The URL as libpq reads it: a port of `conninfo_uri_parse_options`,
//! `conninfo_uri_parse_params` and `conninfo_uri_decode` (fe-connect.c).
//!
//! Hand-written because no crate reads URIs the way libpq does (first `@`
//! before any `/` ends the userinfo, comma host lists, brackets stripped from
//! IPv6, strict `%XX`, query keys overriding the hierarchy). libpq's own errors
//! echo the URI; ours name the component and never carry input text.

use super::decode::{self, DecodeError};
use super::{keywords, UrlKind};
use crate::secret::Secret;

/// libpq's reading of a URI.
#[derive(Clone, Default)]
pub struct Conninfo {
    /// `postgresql` or `postgres`.
    pub(crate) scheme: &'static str,
    /// Decoded user name, when given and non-empty.
    pub(crate) user: Option<String>,
    /// Decoded password, when given and non-empty.
    pub password: Option<Secret>,
    /// Host list (decoded; an empty entry means the default: a Unix socket).
    pub(crate) hosts: Vec<String>,
    /// Port list (decoded; empty entries mean 5432).
    pub(crate) ports: Vec<String>,
    /// Database name, when given and non-empty.
    pub(crate) dbname: Option<String>,
    /// Other query parameters, decoded, in order (later duplicates replace).
    pub(crate) params: Vec<(String, String)>,
    /// Secret-bearing query parameters other than `password`.
    pub(crate) secret_params: Vec<(String, Secret)>,
    /// Query keys libpq does not know (it refuses the URI).
    pub(crate) unknown: Vec<String>,
}

impl Conninfo {
    /// A query parameter's value.
    pub(crate) fn param(&self, key: &str) -> Option<&str> {
        self.params
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }
    fn set_param(&mut self, key: String, value: String) {
        self.params.retain(|(k, _)| *k != key);
        self.params.push((key, value));
    }
}

/// Why libpq cannot read the URI: `(kind, message)`, no input echoed.
pub type ReadError = (UrlKind, String);

fn decode_err(component: &str, e: DecodeError) -> ReadError {
    match e {
        DecodeError::BadEscape => (
            UrlKind::BadPercentEncoding,
            format!("the {component} contains a `%` that is not followed by two hex digits; libpq refuses it (write a literal % as %25)"),
        ),
        DecodeError::Nul => (UrlKind::BadPercentEncoding, format!("the {component} contains %00, which libpq forbids")),
        DecodeError::NotUtf8 => (UrlKind::BadPercentEncoding, format!("the {component} does not decode to UTF-8 text")),
    }
}

fn dec(component: &str, s: &str) -> Result<String, ReadError> {
    decode::libpq(s).map_err(|e| decode_err(component, e))
}

/// The scheme prefix, if the string is a libpq URI at all.
pub fn scheme_of(raw: &str) -> Option<(&'static str, &str)> {
    [("postgresql", "postgresql://"), ("postgres", "postgres://")]
        .into_iter()
        .find_map(|(name, prefix)| raw.strip_prefix(prefix).map(|rest| (name, rest)))
}

/// Read `raw` as libpq does. `None` when it is not a `postgres[ql]://` URI.
pub fn read(raw: &str) -> Option<Result<Conninfo, ReadError>> {
    let (scheme, rest) = scheme_of(raw)?;
    Some(read_rest(scheme, rest))
}

fn read_rest(scheme: &'static str, rest: &str) -> Result<Conninfo, ReadError> {
    let mut ci = Conninfo {
        scheme,
        ..Conninfo::default()
    };
    let mut p = rest;
    // Userinfo only when an `@` comes before any `/`.
    let stop = p.find(['@', '/']);
    if let Some(at) = stop.filter(|&i| p.as_bytes()[i] == b'@') {
        let userinfo = &p[..at];
        let (user, password) = match userinfo.split_once(':') {
            Some((u, pw)) => (u, Some(pw)),
            None => (userinfo, None),
        };
        ci.user = Some(dec("user name", user)?).filter(|u| !u.is_empty());
        if let Some(pw) = password {
            let pw = dec("password", pw)?;
            ci.password = (!pw.is_empty()).then(|| Secret::new(pw));
        }
        p = &p[at + 1..];
    }
    let (hosts, ports, after) = read_hosts(p)?;
    ci.hosts = hosts;
    ci.ports = ports;
    let mut p = after;
    if let Some(path) = p.strip_prefix('/') {
        let end = path.find('?').unwrap_or(path.len());
        let db = dec("database name", &path[..end])?;
        ci.dbname = (!db.is_empty()).then_some(db);
        p = &path[end..];
    }
    if let Some(query) = p.strip_prefix('?') {
        read_params(&mut ci, query)?;
    }
    Ok(ci)
}

type Hosts<'a> = (Vec<String>, Vec<String>, &'a str);

fn read_hosts(mut p: &str) -> Result<Hosts<'_>, ReadError> {
    let (mut hosts, mut ports, mut any_port) = (Vec::new(), Vec::new(), false);
    loop {
        let host;
        if let Some(inner) = p.strip_prefix('[') {
            let end = inner
                .find(']')
                .ok_or_else(|| ipv6_err("has no closing `]`"))?;
            if end == 0 {
                return Err(ipv6_err("is empty (`[]`)"));
            }
            host = inner[..end].to_string();
            p = &inner[end + 1..];
            if !p.is_empty() && !p.starts_with([':', '/', '?', ',']) {
                return Err(ipv6_err(
                    "is followed by an unexpected character (expected `:` or `/`)",
                ));
            }
        } else {
            let end = p.find([':', '/', '?', ',']).unwrap_or(p.len());
            host = dec("host", &p[..end])?;
            p = &p[end..];
        }
        hosts.push(host);
        let mut port = String::new();
        if let Some(rest) = p.strip_prefix(':') {
            let end = rest.find(['/', '?', ',']).unwrap_or(rest.len());
            port = dec("port", &rest[..end])?;
            any_port = true;
            p = &rest[end..];
        }
        ports.push(port);
        match p.strip_prefix(',') {
            Some(rest) => p = rest,
            None => break,
        }
    }
    if !any_port {
        ports.clear();
    }
    if hosts.len() == 1 && hosts[0].is_empty() {
        hosts.clear();
    }
    Ok((hosts, ports, p))
}

fn ipv6_err(what: &str) -> ReadError {
    (
        UrlKind::BadIpv6,
        format!("the IPv6 host address in brackets {what}"),
    )
}

fn read_params(ci: &mut Conninfo, query: &str) -> Result<(), ReadError> {
    for pair in query.split('&') {
        if query.is_empty() {
            break;
        }
        let Some((key, value)) = pair.split_once('=') else {
            return Err((
                UrlKind::BadQuery,
                "a query parameter has no `=` (write key=value pairs separated by &)".into(),
            ));
        };
        if value.contains('=') {
            return Err((
                UrlKind::BadQuery,
                "a query parameter has a second `=`; percent-encode it in the value as %3D".into(),
            ));
        }
        let key = dec("query parameter name", key)?;
        let mut value = dec("query parameter value", value)?;
        let mut key = key;
        if key == "ssl" && value == "true" {
            (key, value) = ("sslmode".into(), "require".into());
        }
        store(ci, key, value);
    }
    Ok(())
}

fn store(ci: &mut Conninfo, key: String, value: String) {
    let list = |v: &str| v.split(',').map(str::to_string).collect::<Vec<_>>();
    match key.as_str() {
        "user" => ci.user = Some(value).filter(|v| !v.is_empty()),
        "password" => ci.password = Some(Secret::new(value)).filter(|v| !v.is_empty()),
        "dbname" => ci.dbname = Some(value).filter(|v| !v.is_empty()),
        "host" => ci.hosts = list(&value),
        "port" => ci.ports = list(&value),
        "sslpassword" | "oauth_client_secret" | "scram_client_key" | "scram_server_key" => {
            ci.secret_params.retain(|(k, _)| *k != key);
            ci.secret_params.push((key, Secret::new(value)));
        }
        _ => {
            if !keywords::is_known(&key) && !ci.unknown.contains(&key) {
                ci.unknown.push(key.clone());
            }
            ci.set_param(key, value);
        }
    }
}

#[cfg(test)]
#[path = "libpq_tests.rs"]
mod tests;
