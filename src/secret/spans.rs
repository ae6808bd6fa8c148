//! Secrecy per value: which bytes of a value are secret, and where they came
//! from. This is the one place that decides it ([`classify`]) and the one
//! place that prints a value ([`Spans::display`]):
//!
//! - a variable whose name is secret ([`super::looks_secret`]): all of it;
//! - what `${NAME}` brought in from a secret (taint, kept as spans through
//!   interpolation, dotenv expansion and command splitting);
//! - the userinfo password of any URL-shaped value, and URL query values
//!   whose key is secret (`?password=`, `&access_token=`).
//!
//! Displaying masks exactly the secret bytes, so a URL keeps its host, port
//! and database (`postgresql://uaol:****@db:26257/uaol`), and a value built
//! from a secret shows what is not (`redis://:****@cache:6379/0`).

use std::ops::Range;

use super::redactor::{mask_ranges, merge};
use super::{looks_secret, MASK};

/// One secret part of a value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Span {
    /// Byte range in the value.
    pub(crate) range: Range<usize>,
    /// The variable whose value this is, when it came in through `${NAME}`.
    pub(crate) from: Option<String>,
}

/// The secret parts of one value; empty = not secret. Holds ranges and
/// names, never text, so it can be printed and compared freely.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Spans(Vec<Span>);

impl Spans {
    /// All of a value of `len` bytes (an empty secret value is still secret).
    pub(crate) fn whole(len: usize) -> Spans {
        Spans(vec![Span {
            range: 0..len,
            from: None,
        }])
    }
    /// Whether any part is secret.
    pub(crate) fn is_secret(&self) -> bool {
        !self.0.is_empty()
    }
    /// Whether the secret parts cover all of a value of `len` bytes.
    #[cfg(test)]
    pub(crate) fn covers(&self, len: usize) -> bool {
        let merged = self.ranges();
        merged.len() == 1 && merged[0].start == 0 && merged[0].end >= len
    }
    /// The parts.
    pub(crate) fn parts(&self) -> &[Span] {
        &self.0
    }
    /// Add a part (empty ranges are kept only for an empty value).
    pub(crate) fn push(&mut self, range: Range<usize>, from: Option<String>) {
        self.0.push(Span { range, from });
    }
    /// Add every part of `other`, moved right by `by` bytes; parts without a
    /// source get `from`.
    pub(crate) fn extend_shifted(&mut self, other: &Spans, by: usize, from: Option<&str>) {
        for s in &other.0 {
            let from = s.from.clone().or_else(|| from.map(str::to_string));
            self.push(s.range.start + by..s.range.end + by, from);
        }
    }
    /// Sorted, merged byte ranges.
    pub(crate) fn ranges(&self) -> Vec<Range<usize>> {
        merge(self.0.iter().map(|s| s.range.clone()).collect())
    }
    /// `value` as it may be printed: each secret part replaced by `****`.
    pub(crate) fn display(&self, value: &str) -> String {
        if self.is_secret() && value.is_empty() {
            return MASK.to_string();
        }
        mask_ranges(value, &self.ranges())
    }
    /// The secret texts of `value` (what free text must be scrubbed of).
    pub(crate) fn texts<'a>(&self, value: &'a str) -> Vec<&'a str> {
        self.ranges()
            .into_iter()
            .filter_map(|r| value.get(r))
            .collect()
    }
}

/// The secret parts of `value`, held by a variable called `name`, given what
/// interpolation brought in (`tainted`).
pub(crate) fn classify(name: &str, value: &str, tainted: &Spans) -> Spans {
    if looks_secret(name) {
        return Spans::whole(value.len());
    }
    let mut s = tainted.clone();
    for r in url_secrets(value) {
        s.push(r, None);
    }
    s
}

/// The secret parts of a URL-shaped `value`: the userinfo password (up to
/// the *last* `@`, so a mis-split password is covered whole) and the values
/// of query keys whose name is secret.
pub(crate) fn url_secrets(value: &str) -> Vec<Range<usize>> {
    let mut out = Vec::new();
    let Some(scheme_end) = value.find("://") else {
        return out;
    };
    if !value[..scheme_end]
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b"+-.".contains(&b))
        || scheme_end == 0
    {
        return out;
    }
    let rest_at = scheme_end + 3;
    let rest = &value[rest_at..];
    if let Some(at) = rest.rfind('@') {
        if let Some(colon) = rest[..at].find(':') {
            out.push(rest_at + colon + 1..rest_at + at);
        }
    }
    if let Some(q) = value.find('?') {
        let mut at = q + 1;
        for pair in value[q + 1..].split('&') {
            if let Some((k, v)) = pair.split_once('=') {
                let key = k.split('#').next().unwrap_or(k);
                if looks_secret(key) && !v.is_empty() {
                    let start = at + k.len() + 1;
                    let end = start + v.find('#').unwrap_or(v.len());
                    out.push(start..end);
                }
            }
            at += pair.len() + 1;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shown(name: &str, value: &str) -> String {
        classify(name, value, &Spans::default()).display(value)
    }

    #[test]
    fn urls_keep_everything_but_their_secrets() {
        assert_eq!(
            shown(
                "DATABASE_URL",
                "postgresql://uaol:s3cr%40t@db.internal:26257/uaol?sslmode=verify-full"
            ),
            "postgresql://uaol:****@db.internal:26257/uaol?sslmode=verify-full"
        );
        assert_eq!(
            shown("REDIS_URL", "redis://:p@ss@cache:6379/0"),
            "redis://:****@cache:6379/0"
        );
        assert_eq!(
            shown(
                "X",
                "postgres://h/db?sslmode=require&password=hunter22&access_token=t0k"
            ),
            "postgres://h/db?sslmode=require&password=****&access_token=****"
        );
        assert_eq!(shown("U", "postgres://u@h/db"), "postgres://u@h/db");
        assert_eq!(
            shown("U", "https://host/users/@me"),
            "https://host/users/@me"
        );
        assert_eq!(shown("U", "not a url: a:b@c"), "not a url: a:b@c");
    }

    #[test]
    fn a_secret_name_masks_the_whole_value() {
        assert_eq!(shown("API_TOKEN", "abc"), "****");
        assert_eq!(shown("API_TOKEN", ""), "****");
        assert_eq!(shown("SECRET_URL", "https://u:pw@h/x"), "****");
        assert_eq!(shown("AUTH_URL", "https://u:pw@h/x"), "https://u:****@h/x");
        assert_eq!(shown("MONKEY", "banana"), "banana");
    }

    #[test]
    fn taint_masks_what_came_from_a_secret() {
        let mut t = Spans::default();
        t.push(6..12, Some("API_TOKEN".into()));
        let v = "token=abc123 rest";
        let s = classify("HEADER", v, &t);
        assert_eq!(s.display(v), "token=**** rest");
        assert_eq!(s.texts(v), vec!["abc123"]);
        assert!(!s.covers(v.len()));
        assert!(Spans::whole(3).covers(3));
    }

    /// No input makes classification, display or free-text redaction panic,
    /// and a displayed value never holds a whole secret part (a cheap
    /// stand-in for the fuzzers, over the characters URLs are made of).
    #[test]
    fn random_values_never_panic_or_leak() {
        let alphabet: Vec<char> = "ab9:/@?&=#% -_.+éx€PASSWORD_tokenKEY".chars().collect();
        let mut seed = 0x9E37_79B9_7F4A_7C15u64;
        let mut next = move || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        for _ in 0..20_000 {
            let len = (next() % 24) as usize;
            let v: String = (0..len)
                .map(|_| alphabet[(next() % alphabet.len() as u64) as usize])
                .collect();
            let name = if next() % 2 == 0 { "X_URL" } else { "API_KEY" };
            let spans = classify(name, &v, &Spans::default());
            let shown = spans.display(&v);
            for t in spans.texts(&v) {
                if t.len() >= 3 && !MASK.contains(t) {
                    assert!(!shown.contains(t), "{v:?} -> {shown:?}");
                }
            }
            let mut r = crate::secret::Redactor::default();
            r.add_part(&v);
            r.add_with_fragments(&v);
            let _ = r.redact(&format!("{v} {v}"));
            if let Ok(words) = crate::plan::command::split_traced(&v) {
                for w in words {
                    assert!(!w.spans(&spans).display(&w.text).is_empty() || w.text.is_empty());
                }
            }
        }
    }
}
