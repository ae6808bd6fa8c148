//! Percent-decoding and -encoding, in the three dialects the URL readers need.
//!
//! libpq is strict (`conninfo_uri_decode`: `%` needs two hex digits, `%00` is
//! forbidden, `+` stays `+`); JavaScript's `decodeURIComponent` throws on bad
//! escapes and invalid UTF-8; `decodeURI` leaves reserved characters encoded.
//! Errors carry no input: callers name the URL component instead.

/// Why a component could not be decoded. Deliberately holds no text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum DecodeError {
    /// `%` not followed by two hex digits.
    BadEscape,
    /// `%00`.
    Nul,
    /// The decoded bytes are not UTF-8.
    NotUtf8,
}

fn hex(b: u8) -> Option<u8> {
    (b as char).to_digit(16).map(|d| d as u8)
}

/// Decode `%XX` escapes; with `strict`, a bad escape is an error, otherwise it
/// is kept literally. `keep` lists characters whose escapes stay encoded.
fn decode_with(s: &str, strict: bool, keep: &[u8]) -> Result<String, DecodeError> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] != b'%' {
            out.push(b[i]);
            i += 1;
            continue;
        }
        match (
            b.get(i + 1).and_then(|c| hex(*c)),
            b.get(i + 2).and_then(|c| hex(*c)),
        ) {
            (Some(h), Some(l)) => {
                let v = h * 16 + l;
                if strict && v == 0 {
                    return Err(DecodeError::Nul);
                }
                if keep.contains(&v) {
                    out.extend_from_slice(&b[i..i + 3]);
                } else {
                    out.push(v);
                }
                i += 3;
            }
            _ if strict => return Err(DecodeError::BadEscape),
            _ => {
                out.push(b'%');
                i += 1;
            }
        }
    }
    String::from_utf8(out).map_err(|_| DecodeError::NotUtf8)
}

/// libpq's `conninfo_uri_decode`.
pub(super) fn libpq(s: &str) -> Result<String, DecodeError> {
    decode_with(s, true, &[])
}

/// JavaScript `decodeURIComponent` (throws on a bad escape).
pub(super) fn uri_component(s: &str) -> Result<String, DecodeError> {
    decode_with(s, true, &[]).or_else(|e| match e {
        DecodeError::Nul => Ok(s.replace("%00", "\0")),
        other => Err(other),
    })
}

/// JavaScript `decodeURI`: reserved characters stay encoded.
pub(super) fn uri(s: &str) -> Result<String, DecodeError> {
    decode_with(s, true, b";/?:@&=+$,#").or_else(|e| match e {
        DecodeError::Nul => Ok(s.replace("%00", "\0")),
        other => Err(other),
    })
}

/// `application/x-www-form-urlencoded` value decoding (URLSearchParams):
/// `+` is a space, bad escapes stay literal, invalid UTF-8 is replaced.
pub(super) fn form(s: &str) -> String {
    let spaced = s.replace('+', " ");
    decode_with(&spaced, false, &[]).unwrap_or(spaced)
}

/// Percent-encode for rendering a component back into a URL: keeps RFC 3986
/// unreserved characters, encodes everything else.
pub(super) fn encode(s: &str) -> String {
    crate::secret::percent_encode(s, false)
}

/// JavaScript `encodeURI`, then pg-connection-string's `%25(\d\d)` → `%$1` fix-up.
pub(super) fn encode_uri_pg(s: &str) -> String {
    const KEEP: &[u8] = b";,/?:@&=+$-_.!~*'()#";
    let mut out = String::with_capacity(s.len() * 3);
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || KEEP.contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    // `%25` followed by two decimal digits is turned back into `%`.
    let bytes = out.as_bytes();
    let mut fixed = String::with_capacity(out.len());
    let mut i = 0;
    while i < bytes.len() {
        let digits = |k: usize| bytes.get(k).is_some_and(u8::is_ascii_digit);
        if bytes[i..].starts_with(b"%25") && digits(i + 3) && digits(i + 4) {
            fixed.push('%');
            i += 3;
        } else {
            fixed.push(bytes[i] as char);
            i += 1;
        }
    }
    fixed
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn libpq_is_strict() {
        assert_eq!(libpq("%68ost").as_deref(), Ok("host"));
        assert_eq!(libpq("a+b").as_deref(), Ok("a+b"));
        assert_eq!(libpq("%zz"), Err(DecodeError::BadEscape));
        assert_eq!(libpq("%1"), Err(DecodeError::BadEscape));
        assert_eq!(libpq("%"), Err(DecodeError::BadEscape));
        assert_eq!(libpq("a%00b"), Err(DecodeError::Nul));
    }

    #[test]
    fn javascript_dialects() {
        assert_eq!(uri_component("p%40ss").as_deref(), Ok("p@ss"));
        assert_eq!(uri_component("p%zz"), Err(DecodeError::BadEscape));
        assert_eq!(uri("a%2Fb%20c").as_deref(), Ok("a%2Fb c"));
        assert_eq!(form("a+b%3D"), "a b=");
        assert_eq!(encode_uri_pg("p ss%zz%41"), "p%20ss%25zz%41");
        assert_eq!(encode_uri_pg("x%2541"), "x%2541");
    }
}
