//! Lints on the text of the URL, before and beside parsing: empty, scheme,
//! the known fallback, template placeholders, unencoded reserved characters.
//!
//! These catch the mistakes that parse "successfully" into something wrong
//! (a placeholder host, a password split at the wrong `@`), so they run first
//! and their messages say what to change without ever quoting the password.

use std::sync::OnceLock;

use regex_lite::Regex;

use super::libpq::Conninfo;
use super::{UrlError, UrlKind, DEFAULT_PORT};

pub(crate) fn err(kind: UrlKind, message: impl Into<String>) -> UrlError {
    UrlError {
        kind,
        message: message.into(),
    }
}

/// Empty / whitespace / surrounding whitespace.
pub(super) fn blank(raw: &str) -> Option<UrlError> {
    if raw.is_empty() {
        return Some(err(UrlKind::Empty, "the database URL is empty; node-postgres ignores an empty connection string and silently connects to localhost:5432. Set DATABASE_URL to the real URL"));
    }
    if raw.trim().is_empty() {
        return Some(err(
            UrlKind::Whitespace,
            "the database URL contains only whitespace; set DATABASE_URL to the real URL",
        ));
    }
    (raw.trim() != raw).then(|| err(UrlKind::Whitespace, "the database URL has leading or trailing whitespace, which libpq does not accept; remove it (check quoting in .env)"))
}

/// Wrong scheme, with a hint per common case.
pub(super) fn scheme(raw: &str) -> UrlError {
    let lower = raw.to_ascii_lowercase();
    let hint = if lower.starts_with("jdbc:") {
        "a JDBC URL; drop the `jdbc:` prefix and move user/password into postgresql://user:password@host:port/db"
    } else if lower.starts_with("cockroachdb://") {
        "a `cockroachdb://` URL, which only some ORMs understand; libpq and node-postgres need postgresql:// (CockroachDB speaks the PostgreSQL protocol)"
    } else if lower.starts_with("http://") || lower.starts_with("https://") {
        "an HTTP URL (a console or API address?); use the SQL connection string from your provider's connect dialog"
    } else if lower.starts_with("mysql://") || lower.starts_with("mariadb://") {
        "a MySQL URL; this supervisor checks PostgreSQL-protocol databases (node-postgres would not reject it and fail later)"
    } else if lower.starts_with("postgre://")
        || lower.starts_with("pg://")
        || lower.starts_with("psql://")
    {
        "a misspelt scheme"
    } else if !raw.contains("://") {
        "not a URL (a key=value connection string is not supported here)"
    } else {
        "an unknown scheme"
    };
    err(
        UrlKind::BadScheme,
        format!("the database URL must start with postgresql:// or postgres://; this is {hint}"),
    )
}

/// The hard-coded development fallback from the services' code.
pub(super) fn known_fallback(ci: &Conninfo) -> Option<UrlError> {
    let pw = ci.password.as_ref().map(|p| p.expose());
    let hit = ci.user.as_deref() == Some("user")
        && pw == Some("password")
        && ci.hosts.len() == 1
        && ["localhost", "127.0.0.1", "::1"]
            .iter()
            .any(|h| ci.hosts[0].eq_ignore_ascii_case(h))
        && ci
            .ports
            .iter()
            .all(|p| p.is_empty() || *p == DEFAULT_PORT.to_string())
        && ci.dbname.as_deref() == Some("uaol");
    hit.then(|| err(UrlKind::KnownFallback, "the database URL is the hard-coded development fallback (postgresql://user:password@localhost:5432/uaol): the real value was not loaded. Check the env_files paths, quoting, and duplicate DATABASE_URL lines"))
}

/// Compiled once: `validate` runs per `check`, and per input under the fuzzer.
fn placeholder_patterns() -> &'static [Regex] {
    static PATS: OnceLock<Vec<Regex>> = OnceLock::new();
    PATS.get_or_init(|| compile(&[
        r"\[[A-Za-z_ -]+\]",
        r"<[A-Za-z_ -]+>",
        r"\{[A-Za-z_-]+\}",
        r"\$\{?[A-Za-z_][A-Za-z0-9_]*\}?",
        r"(?i)your[_-]?(password|passwd|user|username|host|hostname|database|db|cluster|routing)",
        r"(?i)^(changeme|change_me|x{4,}|password_here|placeholder)$",
    ]))
}

fn compile(patterns: &[&str]) -> Vec<Regex> {
    patterns.iter().filter_map(|p| Regex::new(p).ok()).collect()
}

/// Anchored: a real password may well contain `$x` or `<`.
fn password_patterns() -> &'static [Regex] {
    static PATS: OnceLock<Vec<Regex>> = OnceLock::new();
    PATS.get_or_init(|| {
        compile(&[
            r"^\[[A-Za-z_ -]+\]$",
            r"^<[A-Za-z_ -]+>$",
            r"^\{[A-Za-z_-]+\}$",
            r"^\$\{?[A-Z_][A-Z0-9_]*\}?$",
            r"(?i)^your[_-]?(password|passwd|pass|pw)$",
            r"(?i)^(changeme|change_me|x{4,}|password_here|placeholder)$",
        ])
    })
}

/// Template placeholders, per component; the password's is never quoted.
pub(super) fn placeholders(raw: &str, ci: Option<&Conninfo>) -> Vec<UrlError> {
    let pats = placeholder_patterns();
    let found = |s: &str| {
        pats.iter()
            .find_map(|p| p.find(s).map(|m| m.as_str().to_string()))
    };
    let fix = "copy the real value from your provider's connect dialog";
    // A component may hold a piece of a mis-split password (`u:p@$secret@h`
    // reads host `$secret@h`): never quote a match found in the password.
    let raw_pw = raw_userinfo(raw).and_then(|(_, pw)| pw).unwrap_or_default();
    let decoded_pw = super::decode::libpq(raw_pw).unwrap_or_default();
    let quote = |m: String| {
        if raw_pw.contains(m.as_str()) || decoded_pw.contains(m.as_str()) {
            "text that is part of the password".to_string()
        } else {
            format!("{m:?}")
        }
    };
    let mut out = Vec::new();
    if let Some(ci) = ci {
        let mut parts: Vec<(&str, String)> = vec![];
        parts.extend(ci.user.iter().map(|u| ("user name", u.clone())));
        // libpq reads `[host]` as an IPv6 literal `host`: keep the brackets
        // when what is inside cannot be an address.
        parts.extend(ci.hosts.iter().map(|h| {
            let bracketed = format!("[{h}]");
            let literal = !h.contains(':') && raw.contains(&bracketed);
            ("host", if literal { bracketed } else { h.clone() })
        }));
        parts.extend(ci.dbname.iter().map(|d| ("database name", d.clone())));
        // `~`/`$HOME` in sslrootcert has its own lint (`sslrootcert_unexpanded`).
        let root = ci
            .param("sslrootcert")
            .filter(|v| !v.starts_with('~') && !v.contains('$'));
        parts.extend(root.map(|v| ("sslrootcert", v.to_string())));
        parts.extend(ci.param("options").map(|v| ("options", v.to_string())));
        for (what, value) in parts {
            if let Some(m) = found(&value) {
                out.push(err(
                    UrlKind::Placeholder,
                    format!(
                        "the {what} still holds a template placeholder ({}); {fix}",
                        quote(m)
                    ),
                ));
            }
        }
        let strict = password_patterns();
        if ci
            .password
            .as_ref()
            .is_some_and(|p| strict.iter().any(|r| r.is_match(p.expose())))
        {
            out.push(err(UrlKind::Placeholder, format!("the password still holds a template placeholder (like \"<password>\" or YOUR_PASSWORD); {fix}")));
        }
    }
    // A URL libpq cannot read: look at the whole text, with the password cut
    // out so that it cannot be mistaken for a placeholder.
    let without_password = match raw_userinfo(raw) {
        Some((_, Some(pw))) if !pw.is_empty() => raw.replacen(pw, "", 1),
        _ => raw.to_string(),
    };
    if ci.is_none() && found(&without_password).is_some() {
        out.push(err(UrlKind::Placeholder, format!("the database URL still holds a template placeholder (like \"[host]\" or \"<password>\"); {fix}")));
    }
    out
}

/// The raw userinfo as a WHATWG reader would cut it: up to the last `@` that
/// is not inside the query. `None` when there is no userinfo.
pub(super) fn raw_userinfo(raw: &str) -> Option<(&str, Option<&str>)> {
    let rest = raw.split_once("://")?.1;
    // An `@` inside a query value (`?options=a@b`) is not the userinfo end.
    let in_query = |i: usize| {
        rest[..i]
            .rfind('?')
            .is_some_and(|q| rest[q..i].contains('='))
    };
    let at = rest
        .char_indices()
        .filter(|&(_, c)| c == '@')
        .map(|(i, _)| i)
        .rfind(|&i| !in_query(i))?;
    let userinfo = &rest[..at];
    Some(match userinfo.split_once(':') {
        Some((u, p)) => (u, Some(p)),
        None => (userinfo, None),
    })
}

fn bad_percent(s: &str) -> bool {
    let b = s.as_bytes();
    (0..b.len()).any(|i| {
        b[i] == b'%'
            && !(b.get(i + 1).is_some_and(u8::is_ascii_hexdigit)
                && b.get(i + 2).is_some_and(u8::is_ascii_hexdigit))
    })
}

/// Reserved characters left unencoded in the user name or password: names the
/// character class and the fix, never the position or the value.
pub(super) fn reserved(raw: &str) -> (Vec<UrlError>, Vec<String>) {
    let (mut errors, mut warnings) = (Vec::new(), Vec::new());
    let Some((user, password)) = raw_userinfo(raw) else {
        return (errors, warnings);
    };
    for (what, text) in [("user name", Some(user)), ("password", password)] {
        let Some(text) = text else { continue };
        let mut found = Vec::new();
        let classes: [(char, &str, &str); 4] = [
            ('@', "%40", "psql splits at the first @, node-postgres at the last"),
            ('/', "%2F", "psql then sees no user at all and reads the rest as host and port; node-postgres throws Invalid URL"),
            ('?', "%3F", "node-postgres throws Invalid URL"),
            ('#', "%23", "node-postgres cuts the URL there and throws Invalid URL; npm dotenv also cuts an unquoted value at #"),
        ];
        for (c, enc, why) in classes {
            if text.contains(c) {
                found.push(format!(
                    "an unencoded `{c}` ({why}); percent-encode it as {enc}"
                ));
            }
        }
        if bad_percent(text) {
            found.push("a `%` not followed by two hex digits (psql refuses it, node-postgres keeps it literally); percent-encode it as %25".into());
        }
        if !found.is_empty() {
            errors.push(err(
                UrlKind::UnencodedReserved,
                format!(
                    "the {what} in the database URL contains {}",
                    found.join(", and ")
                ),
            ));
        }
        if what == "password" && text.contains(':') {
            warnings.push("the password contains an unencoded `:`; libpq and node-postgres read it correctly, but other tools may not: percent-encode it as %3A".into());
        }
    }
    (errors, warnings)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reserved_classes_are_named_without_values() {
        for (raw, class) in [
            ("postgresql://u:p@ss@host/db", "`@`"),
            ("postgresql://u:p/ss@host/db", "`/`"),
            ("postgresql://u:p?ss@host/db", "`?`"),
            ("postgresql://u:p#ss@host/db", "`#`"),
            ("postgresql://u:p%zz@host/db", "`%`"),
        ] {
            let (e, _) = reserved(raw);
            assert_eq!(e.len(), 1, "{raw}");
            assert!(e[0].message.contains(class), "{raw}: {}", e[0].message);
            assert!(e[0].message.contains("password"));
            assert!(
                !e[0].message.contains("p@ss") && !e[0].message.contains("ss@"),
                "{}",
                e[0].message
            );
        }
        assert!(reserved("postgresql://u:p%40ss@host/db?options=a@b")
            .0
            .is_empty());
        assert_eq!(reserved("postgresql://u:a:b@host/db").1.len(), 1);
    }

    #[test]
    fn placeholders_and_schemes() {
        assert_eq!(
            placeholders("postgresql://[user]:<password>@[host]/db", None).len(),
            1
        );
        assert_eq!(scheme("jdbc:postgresql://h/db").kind, UrlKind::BadScheme);
        assert!(scheme("cockroachdb://h/db")
            .message
            .contains("postgresql://"));
        assert!(blank("").is_some() && blank("  ").is_some() && blank(" postgres://h").is_some());
    }

    /// A mis-split password (`@` then `$name`) put `$secret` in the host; the
    /// placeholder lint quoted it. Found by reading `validate`'s findings.
    #[test]
    fn a_placeholder_inside_the_password_is_never_quoted() {
        for raw in [
            "postgresql://u:p@$Kq3secret@host/db",
            "postgresql://u:p@${Kq3secret}x@host/db",
        ] {
            let ci = crate::db::libpq::read(raw).and_then(Result::ok);
            let found = placeholders(raw, ci.as_ref());
            assert!(!found.is_empty(), "{raw}");
            assert!(
                found.iter().all(|e| !e.message.contains("Kq3")),
                "{found:?}"
            );
        }
        // A real placeholder elsewhere is still quoted.
        let raw = "postgresql://app:pw@db.example.com/<database>";
        let ci = crate::db::libpq::read(raw).and_then(Result::ok);
        assert!(placeholders(raw, ci.as_ref())[0]
            .message
            .contains("\"<database>\""));
    }
}
