//! Which variable *names* are secret: by word segments, not substrings, so
//! `MONKEY` is not a key and `DB_PASSPHRASE` is a passphrase.
//!
//! A name is split on `_`, `-`, `.` and at a lower-to-upper case change
//! (`apiKey` → `api`, `Key`). The short words KEY and PWD must be a whole
//! segment, and AUTH the last one (`X_AUTH`, `BASIC_AUTH` hold credentials;
//! `AUTH_SERVICE_URL` is a URL); the long words may also sit inside a
//! segment (`PGPASSWORD`, `GHTOKEN`, `PRIVATEKEY`): no ordinary word hides them.

/// Secret only as a whole segment.
const WHOLE: &[&str] = &["KEY", "PWD"];
/// Secret only as the last segment.
const LAST: &[&str] = &["AUTH"];
/// Secret anywhere in a segment.
const INSIDE: &[&str] = &[
    "PASSWORD",
    "PASSWD",
    "PASSPHRASE",
    "SECRET",
    "TOKEN",
    "APIKEY",
    "CREDENTIAL",
    "PRIVATE",
];

/// Whether a variable (or URL query key) called `name` holds a secret.
pub(crate) fn looks_secret(name: &str) -> bool {
    let segments = segments(name);
    let last = segments.last().map(|s| s.to_ascii_uppercase());
    last.is_some_and(|l| LAST.contains(&l.as_str()))
        || segments.iter().any(|s| {
            let s = s.to_ascii_uppercase();
            WHOLE.contains(&s.as_str()) || INSIDE.iter().any(|w| s.contains(w))
        })
}

/// `name` split on `_ - .` and lower→upper case changes.
fn segments(name: &str) -> Vec<&str> {
    let mut out = Vec::new();
    for part in name.split(['_', '-', '.']) {
        let mut start = 0;
        let b = part.as_bytes();
        for i in 1..b.len() {
            if b[i - 1].is_ascii_lowercase() && b[i].is_ascii_uppercase() {
                out.push(&part[start..i]);
                start = i;
            }
        }
        out.push(&part[start..]);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_by_word_segments() {
        for (name, want) in [
            ("DB_PASSWORD", true),
            ("PGPASSWORD", true),
            ("DB_PASSPHRASE", true),
            ("api_key", true),
            ("apiKey", true),
            ("STRIPE_APIKEY", true),
            ("GITHUB_TOKEN", true),
            ("CLIENT_SECRET", true),
            ("X_AUTH", true),
            ("x-auth", true),
            ("BASIC_AUTH", true),
            ("AUTH", true),
            ("proxyAuth", true),
            ("AUTH_SERVICE_URL", false),
            ("AUTH_MODE", false),
            ("MYSQL_PWD", true),
            ("PWD", true),
            ("GCP_CREDENTIALS", true),
            ("SSH_PRIVATE_KEY", true),
            ("FEATURE_KEY", true),
            ("a.b.key", true),
            ("MONKEY", false),
            ("KEYBOARD_LAYOUT", false),
            ("OLDPWD", false),
            ("AUTHOR", false),
            ("OAUTH_CLIENT_ID", false),
            ("PORT", false),
            ("NODE_ENV", false),
            ("DATABASE_URL", false),
        ] {
            assert_eq!(looks_secret(name), want, "{name}");
        }
    }
}
