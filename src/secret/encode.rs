//! The forms a secret takes when a service writes it out: percent-encoded as
//! RFC 3986 (every byte but the unreserved ones), as JavaScript's
//! `encodeURIComponent`, `encodeURI` and `escape()`, and form-encoded (`+`
//! for space) — each with upper- and lower-case hex, as both are common.

/// Bytes each encoder leaves as they are (besides ASCII letters and digits).
const RFC3986: &[u8] = b"-._~";
const URI_COMPONENT: &[u8] = b"-_.!~*'()";
const URI: &[u8] = b"-_.!~*'();,/?:@&=+$#";
const ESCAPE: &[u8] = b"@*_+-./";
const FORM: &[u8] = b"*-._";

/// Percent-encode everything but RFC 3986 unreserved characters; with
/// `plus_space`, a space becomes `+` (form encoding).
pub fn percent_encode(s: &str, plus_space: bool) -> String {
    encode(s, RFC3986, plus_space, false)
}

fn encode(s: &str, keep: &[u8], plus_space: bool, lower: bool) -> String {
    let mut out = String::with_capacity(s.len() * 3);
    for b in s.bytes() {
        match b {
            b if b.is_ascii_alphanumeric() || keep.contains(&b) => out.push(b as char),
            b' ' if plus_space => out.push('+'),
            _ => out.push_str(&hex(u32::from(b), 2, lower)),
        }
    }
    out
}

fn hex(v: u32, width: usize, lower: bool) -> String {
    if lower {
        format!("%{v:0width$x}")
    } else {
        format!("%{v:0width$X}")
    }
}

/// JavaScript's `escape()`: Latin-1 code points as `%XX`, others as `%uXXXX`
/// per UTF-16 unit.
fn js_escape(s: &str, lower: bool) -> String {
    let mut out = String::with_capacity(s.len() * 3);
    for c in s.chars() {
        let v = u32::from(c);
        if c.is_ascii_alphanumeric() || (c.is_ascii() && ESCAPE.contains(&(v as u8))) {
            out.push(c);
        } else if v < 0x100 {
            out.push_str(&hex(v, 2, lower));
        } else {
            let mut units = [0u16; 2];
            for u in c.encode_utf16(&mut units) {
                out.push_str(&hex(u32::from(*u), 4, lower).replacen('%', "%u", 1));
            }
        }
    }
    out
}

/// Every distinct form of `secret`, the raw one first.
pub(super) fn forms(secret: &str) -> Vec<String> {
    let mut all = vec![secret.to_string()];
    for lower in [false, true] {
        all.extend([
            encode(secret, RFC3986, false, lower),
            encode(secret, RFC3986, true, lower),
            encode(secret, URI_COMPONENT, false, lower),
            encode(secret, URI, false, lower),
            encode(secret, FORM, true, lower),
            js_escape(secret, lower),
        ]);
    }
    let mut out: Vec<String> = Vec::with_capacity(all.len());
    for f in all {
        if !out.contains(&f) {
            out.push(f);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The oracle: what node's own functions print for the same input
    /// (`node -e 'console.log(encodeURIComponent(s))'`, recorded here).
    #[test]
    fn forms_match_what_services_print() {
        let f = forms("p@ss w/rd#1:é€");
        for want in [
            "p@ss w/rd#1:é€",
            "p%40ss%20w%2Frd%231%3A%C3%A9%E2%82%AC",
            "p%40ss%20w%2frd%231%3a%c3%a9%e2%82%ac",
            "p%40ss+w%2Frd%231%3A%C3%A9%E2%82%AC",
            "p@ss%20w/rd#1:%C3%A9%E2%82%AC",
            "p@ss%20w/rd%231%3A%E9%u20AC",
            "p@ss%20w/rd%231%3a%e9%u20ac",
        ] {
            assert!(f.contains(&want.to_string()), "{want} not in {f:?}");
        }
        assert_eq!(forms("plain"), vec!["plain".to_string()]);
    }
}
