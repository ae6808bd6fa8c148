//! The printable form of a database URL, rendered from the parsed URL by
//! allow-list: only keys known to be safe show their values; the password,
//! secret keys and unknown keys print as `****`.
//!
//! Rendering from the parsed form (rather than masking the raw string) means a
//! password in an unexpected place (`?password=`, a mis-split userinfo that put
//! part of it in the host or port) is still never printed.

use super::decode::{self, encode};
use super::keywords;
use super::libpq::Conninfo;
use crate::secret::MASK;

/// Text that cannot hold a stray piece of a mis-split password.
fn plain(s: &str) -> bool {
    s.bytes()
        .all(|b| b.is_ascii_alphanumeric() || b"._-:/ ".contains(&b))
}

fn host(h: &str, stray: &Stray) -> String {
    if !plain(h) || stray.holds(h) {
        MASK.to_string()
    } else if h.contains(':') {
        format!("[{h}]")
    } else {
        encode(h)
    }
}

/// The other readings of the password (as written up to the *last* `@`,
/// node-postgres's), when they differ from libpq's: libpq mis-split the URL
/// (an unencoded `@`, `/` or `?`). Any printed component that is a piece of
/// one (`u:p@ss1,@h` gave host `ss1`, `u:p/d?k1=v@h` key `k1`) or contains one
/// (`u?password=pw&@h` gave user `u?password=pw&`) is masked even when it
/// looks plain. Found by the `validate` fuzz target.
#[derive(Default)]
pub(super) struct Stray(Vec<String>);

impl Stray {
    /// `readings` of the password other than libpq's `libpq_pw` (raw ones are
    /// also taken decoded); those equal to it are dropped.
    pub(super) fn new(readings: &[Option<&str>], libpq_pw: Option<&str>) -> Stray {
        let mut all = Vec::new();
        for r in readings.iter().flatten() {
            let decoded = decode::libpq(r).ok();
            for s in [Some(r.to_string()), decoded].into_iter().flatten() {
                if !s.is_empty() && Some(s.as_str()) != libpq_pw && !all.contains(&s) {
                    all.push(s);
                }
            }
        }
        Stray(all)
    }
    /// `msg` with every quoted ("…" or `…`) text of 4+ bytes that is a piece
    /// of a reading masked: lints name components (a key, a placeholder).
    pub(super) fn scrub_quoted(&self, msg: &str) -> String {
        if self.0.is_empty() {
            return msg.to_string();
        }
        let mut out = String::with_capacity(msg.len());
        let mut rest = msg;
        while let Some(open) = rest.find(['"', '`']) {
            let q = &rest[open..open + 1];
            let Some(len) = rest[open + 1..].find(q) else {
                break;
            };
            let inner = &rest[open + 1..open + 1 + len];
            out.push_str(&rest[..=open]);
            out.push_str(if inner.len() >= 4 && self.holds(inner) {
                MASK
            } else {
                inner
            });
            out.push_str(q);
            rest = &rest[open + len + 2..];
        }
        out.push_str(rest);
        out
    }

    fn holds(&self, piece: &str) -> bool {
        !piece.is_empty()
            && self
                .0
                .iter()
                .any(|s| s.contains(piece) || (s.len() >= 4 && piece.contains(s.as_str())))
    }
}

/// Whether `v` holds the password, or a piece of it between whitespace of
/// 4 bytes or more (a server splitting `options` at spaces echoes one).
pub(super) fn holds_password(ci: &Conninfo, v: &str) -> bool {
    let Some(pw) = ci
        .password
        .as_ref()
        .map(|p| p.expose())
        .filter(|p| !p.is_empty())
    else {
        return false;
    };
    v.contains(pw)
        || pw
            .split_whitespace()
            .any(|piece| piece.len() >= 4 && v.contains(piece))
}

/// `postgresql://user:****@host:port/db?sslmode=verify-full&x=****`.
#[cfg(test)]
pub(super) fn render(ci: &Conninfo) -> String {
    render_with(ci, &Stray::default())
}

/// `render` (the test view), masking the pieces of a mis-split password too.
pub(super) fn render_with(ci: &Conninfo, stray: &Stray) -> String {
    let mut out = format!("{}://", ci.scheme);
    if ci.user.is_some() || ci.password.is_some() {
        let user = ci.user.as_deref().unwrap_or_default();
        out.push_str(&if stray.holds(user) {
            MASK.to_string()
        } else {
            encode(user)
        });
        if ci.password.is_some() {
            out.push(':');
            out.push_str(MASK);
        }
        out.push('@');
    }
    let hosts: Vec<String> = (0..ci.hosts.len().max(ci.ports.len()))
        .map(|i| {
            let h = ci.hosts.get(i).map(|h| host(h, stray)).unwrap_or_default();
            match ci.ports.get(i).map(String::as_str) {
                Some(p)
                    if !p.is_empty()
                        && p.bytes().all(|b| b.is_ascii_digit())
                        && !stray.holds(p) =>
                {
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
        out.push_str(&if plain(db) && !stray.holds(db) {
            encode(db)
        } else {
            MASK.to_string()
        });
    }
    let mut query: Vec<String> = Vec::new();
    for (k, v) in &ci.params {
        let key = if plain(k) && !stray.holds(k) {
            k.as_str()
        } else {
            MASK
        };
        // `/` is fine in a query value; keep paths readable.
        let printable = keywords::is_printable(k, v) && plain(v);
        let value = if printable && !stray.holds(v) && !holds_password(ci, v) {
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

    /// Found by the `validate` fuzz target: the comma made the tail of a
    /// mis-split password a plain-looking first host.
    #[test]
    fn a_mis_split_password_piece_is_masked_even_when_plain() {
        let raw = "postgresql://u:p@ssZx7Qv,@host:26258/db";
        let ci = read(raw).and_then(Result::ok).expect("parses");
        let stray = Stray::new(&[Some("p@ssZx7Qv,")], Some("p"));
        let shown = render_with(&ci, &stray);
        assert!(!shown.contains("Zx7Qv"), "{shown}");
        // Nothing mis-split: a host that happens to be inside the password shows.
        let ci = read("postgresql://u:xhostx@host/db")
            .and_then(Result::ok)
            .expect("parses");
        let shown = render_with(&ci, &Stray::new(&[Some("xhostx")], Some("xhostx")));
        assert_eq!(shown, "postgresql://u:****@host/db");
        // Found next: `/` then `?` in the password made a piece of it a query key.
        let raw = "postgresql://u:pZx7h/d#b?ss^=trueA&cnonect_timeoutZx7Qvostaddr=10.0.0-writQv?s@host/db";
        let ci = read(raw).and_then(Result::ok).expect("parses");
        let pw = raw["postgresql://u:".len()..raw.rfind('@').expect("@")].to_string();
        let shown = render_with(&ci, &Stray::new(&[Some(&pw)], None));
        assert!(!shown.contains("Zx7"), "{shown}");
        // And a user that holds node-postgres's reading of `?password=`.
        let raw = "postgresql://u?password=Zx7Qv&@:p5ql:st==a@B";
        let ci = read(raw).and_then(Result::ok).expect("parses");
        let shown = render_with(&ci, &Stray::new(&[Some("Zx7Qv")], None));
        assert!(!shown.contains("Zx7"), "{shown}");
    }

    #[test]
    fn options_holding_the_password_are_masked() {
        assert_eq!(
            r("postgresql://u:hunter22%20x@h/db?options=hunter22"),
            "postgresql://u:****@h/db?options=****"
        );
        assert_eq!(
            r("postgresql://u:hunter22@h/db?options=-c%20geqo"),
            "postgresql://u:****@h/db?options=-c%20geqo"
        );
    }

    #[test]
    fn quoted_pieces_of_a_mis_split_password_are_masked() {
        let stray = Stray::new(&[Some("s/db?a=1&keyZx7Qv=2")], None);
        assert_eq!(
            stray.scrub_quoted("\"keyZx7Qv\" is not a parameter; `@` and \"db\" stay"),
            "\"****\" is not a parameter; `@` and \"db\" stay"
        );
        assert_eq!(
            Stray::default().scrub_quoted("\"keyZx7Qv\""),
            "\"keyZx7Qv\""
        );
        assert_eq!(stray.scrub_quoted("odd \" quote"), "odd \" quote");
    }
}
