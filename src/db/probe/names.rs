//! Host name checks as the two clients do them (verify-full), for the cases
//! webpki decides differently: both fall back to the subject CN.
//!
//! - libpq (`pgtls_verify_peer_name_matches_certificate_guts`, PostgreSQL 14+):
//!   every SAN is tried (dNSName by string, iPAddress by bytes); the CN is
//!   tried only when no SAN has the host's own type (dNSName for a name,
//!   iPAddress for an address). A wildcard is `*.` + suffix and stands for one
//!   non-empty label.
//! - Node (`tls.checkServerIdentity`, Node 20): a name matches the dNSName
//!   SANs when there are any, else the CNs; a wildcard may sit anywhere in the
//!   first label (`f*o.example.com`), never in `*.tld`, and not in a Punycode
//!   label. node-postgres connects to an IP address without telling Node the
//!   host, so Node checks the certificate against `localhost` then.

use std::net::IpAddr;

use super::x509::Cert;
use crate::db::Client;

/// Whether `host` is a name `client` accepts for `cert`.
pub(super) fn matches(client: Client, cert: &Cert, host: &str) -> bool {
    match client {
        Client::Libpq => libpq(cert, host),
        Client::NodePg => node(cert, host),
    }
}

fn ip_bytes(host: &str) -> Option<Vec<u8>> {
    match host.parse::<IpAddr>().ok()? {
        IpAddr::V4(a) => Some(a.octets().to_vec()),
        IpAddr::V6(a) => Some(a.octets().to_vec()),
    }
}

fn libpq(cert: &Cert, host: &str) -> bool {
    let ip = ip_bytes(host);
    let san_dns = cert.dns.iter().any(|n| libpq_name(n, host));
    let san_ip = ip.as_ref().is_some_and(|b| cert.ips.contains(b));
    if san_dns || san_ip {
        return true;
    }
    let own_type = if ip.is_some() {
        !cert.ips.is_empty()
    } else {
        !cert.dns.is_empty()
    };
    !own_type && cert.cns.first().is_some_and(|cn| libpq_name(cn, host))
}

/// `pq_verify_peer_name_matches_certificate_name`: no embedded NUL, equal
/// ignoring ASCII case, or `wildcard_certificate_match`.
fn libpq_name(name: &[u8], host: &str) -> bool {
    if name.contains(&0) {
        return false;
    }
    let Ok(name) = std::str::from_utf8(name) else {
        return false;
    };
    if name.eq_ignore_ascii_case(host) {
        return true;
    }
    let Some(suffix) = name.strip_prefix('*').filter(|s| s.starts_with('.')) else {
        return false;
    };
    if name.len() < 3 || name.len() > host.len() {
        return false;
    }
    let cut = host.len() - suffix.len();
    host.is_char_boundary(cut)
        && host[cut..].eq_ignore_ascii_case(suffix)
        && !host[..cut].contains('.')
}

fn node(cert: &Cert, host: &str) -> bool {
    let host = host.strip_suffix('.').unwrap_or(host);
    if ip_bytes(host).is_some() {
        // pg hands tls.connect the socket with no `host` and, for an IP, no
        // `servername`; the socket of an IP connection has no `_host`, so
        // Node falls back to checking "localhost" (seen with Node 20).
        return node(cert, "localhost");
    }
    let pick = |list: &Vec<Vec<u8>>| list.iter().any(|p| node_name(p, host));
    if !cert.dns.is_empty() {
        pick(&cert.dns)
    } else {
        pick(&cert.cns)
    }
}

/// Node's `check(hostParts, pattern, true)`.
fn node_name(pattern: &[u8], host: &str) -> bool {
    let Ok(pattern) = std::str::from_utf8(pattern) else {
        return false;
    };
    let pattern = pattern.strip_suffix('.').unwrap_or(pattern);
    let lower = |s: &str| s.to_ascii_lowercase();
    let (h, p) = (lower(host), lower(pattern));
    let hp: Vec<&str> = h.split('.').collect();
    let pp: Vec<&str> = p.split('.').collect();
    if hp.len() != pp.len()
        || pp.contains(&"")
        || p.chars().any(|c| !('\u{21}'..='\u{7f}').contains(&c))
    {
        return false;
    }
    if hp[1..] != pp[1..] {
        return false;
    }
    let (hs, ps) = (hp[0], pp[0]);
    let parts: Vec<&str> = ps.splitn(3, '*').collect();
    if parts.len() == 1 || ps.contains("xn--") {
        return hs == ps;
    }
    if parts.len() > 2 || pp.len() <= 2 {
        return false;
    }
    let (prefix, suffix) = (parts[0], parts[1]);
    prefix.len() + suffix.len() <= hs.len() && hs.starts_with(prefix) && hs.ends_with(suffix)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cert(cns: &[&str], dns: &[&str], ips: &[&str]) -> Cert {
        Cert {
            cns: cns.iter().map(|s| s.as_bytes().to_vec()).collect(),
            dns: dns.iter().map(|s| s.as_bytes().to_vec()).collect(),
            ips: ips.iter().filter_map(|s| ip_bytes(s)).collect(),
            ..Cert::default()
        }
    }

    #[test]
    fn cn_fallback_only_without_a_san_of_the_hosts_type() {
        let cn_only = cert(&["db.example.com"], &[], &[]);
        for c in [Client::Libpq, Client::NodePg] {
            assert!(matches(c, &cn_only, "db.example.com"));
            assert!(matches(c, &cn_only, "DB.Example.com"));
            assert!(!matches(c, &cn_only, "other.example.com"));
        }
        let with_san = cert(&["db.example.com"], &["other.example.com"], &[]);
        assert!(!matches(Client::Libpq, &with_san, "db.example.com"));
        assert!(!matches(Client::NodePg, &with_san, "db.example.com"));
        // An IP host: libpq still reads the CN when there is no iPAddress SAN;
        // node-postgres makes Node check "localhost" instead.
        let ip_cn = cert(&["127.0.0.1"], &["db.example.com"], &[]);
        assert!(matches(Client::Libpq, &ip_cn, "127.0.0.1"));
        assert!(!matches(Client::NodePg, &ip_cn, "127.0.0.1"));
        let ip_san = cert(&[], &[], &["127.0.0.1"]);
        assert!(matches(Client::Libpq, &ip_san, "127.0.0.1"));
        assert!(!matches(Client::NodePg, &ip_san, "127.0.0.1"));
        let local = cert(&[], &["localhost"], &[]);
        assert!(!matches(Client::Libpq, &local, "127.0.0.1"));
        assert!(matches(Client::NodePg, &local, "127.0.0.1"));
    }

    #[test]
    fn wildcards() {
        let w = cert(&[], &["*.example.com"], &[]);
        for c in [Client::Libpq, Client::NodePg] {
            assert!(matches(c, &w, "db.example.com"));
            assert!(!matches(c, &w, "a.db.example.com"));
            assert!(!matches(c, &w, "example.com"));
        }
        let partial = cert(&[], &["db*.example.com"], &[]);
        assert!(matches(Client::NodePg, &partial, "db1.example.com"));
        assert!(!matches(Client::Libpq, &partial, "db1.example.com"));
        let tld = cert(&[], &["*.com"], &[]);
        assert!(matches(Client::Libpq, &tld, "example.com"));
        assert!(!matches(Client::NodePg, &tld, "example.com"));
        let nul = cert(&["db.example.com\0.evil"], &[], &[]);
        assert!(!matches(Client::Libpq, &nul, "db.example.com"));
    }
}
