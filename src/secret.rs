//! Secrets that cannot be printed by accident.
//!
//! [`Secret`] has no `Display`, and its `Debug` prints `****`; the only way to
//! the value is [`Secret::expose`], which is greppable. [`looks_secret`] is the
//! one rule for which variable *names* are masked, and [`Redactor`] scrubs known
//! secret strings (the database password and its encoded forms) out of any text
//! as a last line of defence.

use std::borrow::Cow;
use std::fmt;

/// What every masked value prints as.
pub const MASK: &str = "****";

/// A secret string. No `Display`; `Debug` is masked.
#[derive(Clone, PartialEq, Eq, Default)]
pub struct Secret(String);

impl Secret {
    /// Wrap a value.
    pub fn new(value: impl Into<String>) -> Self {
        Secret(value.into())
    }
    /// The value itself. Call only where it must leave the process (child env,
    /// the wire, a 0600 file, `--show-secrets`).
    pub fn expose(&self) -> &str {
        &self.0
    }
    /// Whether the value is empty.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(MASK)
    }
}

/// Whether a variable name looks secret: contains PASSWORD, SECRET, TOKEN or KEY
/// (case-insensitive), or is a connection URL that may hold a password.
pub fn looks_secret(name: &str) -> bool {
    let upper = name.to_ascii_uppercase();
    ["PASSWORD", "PASSWD", "SECRET", "TOKEN", "KEY", "CREDENTIAL"]
        .iter()
        .any(|needle| upper.contains(needle))
}

/// Replaces every occurrence of known secret strings with [`MASK`].
#[derive(Clone, Default)]
pub struct Redactor {
    needles: Vec<String>,
}

impl fmt::Debug for Redactor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Redactor({} needles)", self.needles.len())
    }
}

impl Redactor {
    /// A redactor for `secret` and the forms it is commonly written in
    /// (percent-encoded as in a URL, and form-encoded with `+` for space).
    pub fn for_secret(secret: &str) -> Self {
        let mut r = Redactor::default();
        r.add(secret);
        r
    }

    /// Add a secret (and its encoded forms). Very short secrets (< 4 bytes) are
    /// ignored: masking them would destroy ordinary text.
    pub fn add(&mut self, secret: &str) {
        if secret.len() < 4 {
            return;
        }
        for form in [
            secret.to_string(),
            percent_encode(secret, false),
            percent_encode(secret, true),
        ] {
            if !self.needles.contains(&form) {
                self.needles.push(form);
            }
        }
        // Longest first so an encoded form is not half-replaced by a shorter one.
        self.needles.sort_by_key(|n| std::cmp::Reverse(n.len()));
    }

    /// Whether there is nothing to redact.
    pub fn is_empty(&self) -> bool {
        self.needles.is_empty()
    }

    /// Whether `text` contains any of the secrets.
    pub fn contains_secret(&self, text: &str) -> bool {
        self.needles.iter().any(|n| text.contains(n.as_str()))
    }

    /// `text` with every secret replaced by [`MASK`].
    pub fn redact<'a>(&self, text: &'a str) -> Cow<'a, str> {
        if !self.contains_secret(text) {
            return Cow::Borrowed(text);
        }
        let mut out = text.to_string();
        for n in &self.needles {
            out = out.replace(n.as_str(), MASK);
        }
        Cow::Owned(out)
    }
}

/// Percent-encode everything but RFC 3986 unreserved characters; with
/// `plus_space`, a space becomes `+` (form encoding).
pub fn percent_encode(s: &str, plus_space: bool) -> String {
    let mut out = String::with_capacity(s.len() * 3);
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                out.push(b as char)
            }
            b' ' if plus_space => out.push('+'),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_debug_is_masked() {
        let s = Secret::new("hunter2-p@ss");
        assert_eq!(format!("{s:?}"), MASK);
        assert_eq!(s.expose(), "hunter2-p@ss");
    }

    #[test]
    fn names_that_look_secret() {
        for (name, want) in [
            ("DB_PASSWORD", true),
            ("api_key", true),
            ("GITHUB_TOKEN", true),
            ("CLIENT_SECRET", true),
            ("PORT", false),
            ("NODE_ENV", false),
        ] {
            assert_eq!(looks_secret(name), want, "{name}");
        }
    }

    #[test]
    fn redactor_masks_plain_and_encoded_forms() {
        let r = Redactor::for_secret("p@ss w/rd#1");
        assert_eq!(r.redact("x p@ss w/rd#1 y"), "x **** y");
        assert_eq!(r.redact("u:p%40ss%20w%2Frd%231@h"), "u:****@h");
        assert_eq!(r.redact("u:p%40ss+w%2Frd%231@h"), "u:****@h");
        assert_eq!(r.redact("nothing here"), "nothing here");
    }
}
