//! The printable form of a database URL, rendered from the parsed URL by
//! allow-list: only keys known to be safe show their values; the password,
//! secret keys and unknown keys print as `****`.
//!
//! Rendering from the parsed form (rather than masking the raw string) means a
//! password in an unexpected place (`?password=`, a mis-split userinfo that put
//! part of it in the host or port) is still never printed.

use super::decode::encode;
use super::keywords;
use super::libpq::Conninfo;
use crate::secret::MASK;

/// Text that cannot hold a stray piece of a mis-split password.
fn plain(s: &str) -> bool {
    s.bytes()
        .all(|b| b.is_ascii_alphanumeric() || b"._-:/ ".contains(&b))
}

fn host(h: &str) -> String {
    if !plain(h) {
        MASK.to_string()
    } else if h.contains(':') {
        format!("[{h}]")
    } else {
        encode(h)
    }
}

/// `postgresql://user:****@host:port/db?sslmode=verify-full&x=****`.
pub fn render(ci: &Conninfo) -> String {
    let mut out = format!("{}://", ci.scheme);
    if ci.user.is_some() || ci.password.is_some() {
        out.push_str(&ci.user.as_deref().map(encode).unwrap_or_default());
        if ci.password.is_some() {
            out.push(':');
            out.push_str(MASK);
        }
        out.push('@');
    }
    let hosts: Vec<String> = (0..ci.hosts.len().max(ci.ports.len()))
        .map(|i| {
            let h = ci.hosts.get(i).map(|h| host(h)).unwrap_or_default();
            match ci.ports.get(i).map(String::as_str) {
                Some(p) if !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()) => {
                    format!("{h}:{p}")
                }
                Some("") | None => h,
                Some(_) => format!("{h}:{MASK}"),
            }
        })
        .collect();
    out.push_str(&hosts.join(","));
    if let Some(db) = &ci.dbname {
        out.push('/');
        out.push_str(&if plain(db) {
            encode(db)
        } else {
            MASK.to_string()
        });
    }
    let mut query: Vec<String> = Vec::new();
    for (k, v) in &ci.params {
        let key = if plain(k) { k.as_str() } else { MASK };
        // `/` is fine in a query value; keep paths readable.
        let value = if keywords::is_printable(k, v) && plain(v) {
            encode(v).replace("%2F", "/")
        } else {
            MASK.to_string()
        };
        query.push(format!("{key}={value}"));
    }
    query.extend(ci.secret_params.iter().map(|(k, _)| format!("{k}={MASK}")));
    if !query.is_empty() {
        out.push('?');
        out.push_str(&query.join("&"));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::libpq::read;

    fn r(raw: &str) -> String {
        render(&read(raw).and_then(Result::ok).expect("parses"))
    }

    #[test]
    fn renders_by_allow_list() {
        assert_eq!(
            r("postgresql://uaol:s3cr%40t@db.example.com:26257/uaol?sslmode=verify-full&application_name=api"),
            "postgresql://uaol:****@db.example.com:26257/uaol?sslmode=verify-full&application_name=api"
        );
        assert_eq!(
            r("postgres://h/db?password=hunter22&sslpassword=k3y&weird=v4lue"),
            "postgres://:****@h/db?weird=****&sslpassword=****"
        );
        assert_eq!(r("postgres://[::1]:5,h2/d"), "postgres://[::1]:5,h2/d");
        // A mis-split password (first `@`) lands in the host: masked, not shown.
        assert_eq!(
            r("postgresql://u:p@ss@host:1/db"),
            "postgresql://u:****@****:1/db"
        );
        // `/` in the password: libpq reads host `u`, port = start of the password.
        assert!(!r("postgresql://u:pa55/word@host/db").contains("pa55"));
    }
}
