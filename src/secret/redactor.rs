//! Free-text redaction: every known secret, in every form a service commonly
//! writes it ([`super::encode::forms`]), replaced by [`MASK`] in child output,
//! server errors, messages — the last line of defence.
//!
//! What free text cannot do reliably, it does not pretend to (docs/environment.md
//! "Secrets"):
//! - a secret under [`MIN_FREE_TEXT`] bytes, or one that reads like a setting
//!   (`true`, `enabled`), is not searched for — masking it would mangle
//!   ordinary text; `check` warns about it instead ([`too_short`]);
//! - a secret made of letters only or digits only (`postgres`, `12345678`)
//!   is masked only as a whole word, so password `postgres` leaves
//!   "postgresql rocks" alone; secrets of mixed characters are masked anywhere.

use std::borrow::Cow;
use std::fmt;
use std::ops::Range;

use super::encode::forms;
use super::MASK;

/// Shortest secret searched for in free text.
pub(crate) const MIN_FREE_TEXT: usize = 6;

/// Values that are settings, not secrets, whatever the variable is called.
const SETTINGS: &[&str] = &[
    "true",
    "false",
    "yes",
    "no",
    "on",
    "off",
    "enabled",
    "disabled",
    "enable",
    "disable",
    "null",
    "none",
    "undefined",
    "default",
];

/// Why `value` cannot be redacted reliably from free text, if it cannot.
pub(crate) fn too_short(value: &str) -> Option<&'static str> {
    if SETTINGS.contains(&value.to_ascii_lowercase().as_str()) {
        Some("it reads like a setting, not a secret")
    } else if value.len() < MIN_FREE_TEXT {
        Some("it is shorter than 6 bytes")
    } else {
        None
    }
}

/// One secret's forms, found through an anchor: the longest run of bytes no
/// encoder changes (letters, digits, `-._`), which every form holds
/// verbatim. One substring search per secret instead of one per form keeps
/// the relay of service output fast.
#[derive(Clone, PartialEq, Eq)]
struct Group {
    /// Empty when the secret has no such byte: each form is searched for.
    anchor: String,
    /// Each form, with the offsets of `anchor` in it.
    forms: Vec<(String, Vec<usize>)>,
    /// Match only where no letter, digit or `_` touches either end.
    whole_word: bool,
}

impl Group {
    fn new(secret: &str) -> Group {
        let anchor = longest_plain_run(secret).to_string();
        let forms = forms(secret)
            .into_iter()
            .map(|f| {
                let offs = if anchor.is_empty() {
                    Vec::new()
                } else {
                    overlapping(&f, &anchor).collect()
                };
                (f, offs)
            })
            .collect();
        let whole_word = secret.bytes().all(|b| b.is_ascii_alphabetic())
            || secret.bytes().all(|b| b.is_ascii_digit());
        Group {
            anchor,
            forms,
            whole_word,
        }
    }

    /// Every match in `text`, unmerged; stops after the first with `first`.
    fn hits(&self, text: &str, first: bool, out: &mut Vec<Range<usize>>) {
        let ok = |r: &Range<usize>| !self.whole_word || at_word_edges(text, r);
        if self.anchor.is_empty() {
            for (form, _) in &self.forms {
                let found = text.match_indices(form.as_str());
                out.extend(found.map(|(i, m)| i..i + m.len()).filter(ok));
            }
            return;
        }
        for i in overlapping(text, &self.anchor) {
            for (form, offs) in &self.forms {
                for start in offs.iter().filter_map(|o| i.checked_sub(*o)) {
                    let r = start..start + form.len();
                    if text.get(r.clone()) == Some(form.as_str()) && ok(&r) {
                        out.push(r);
                    }
                }
            }
            if first && !out.is_empty() {
                return;
            }
        }
    }
}

/// The longest run of letters, digits, `-`, `.` and `_` in `s`.
fn longest_plain_run(s: &str) -> &str {
    let plain = |b: u8| b.is_ascii_alphanumeric() || b"-._".contains(&b);
    let mut best = 0..0;
    let mut start = None;
    for (i, b) in s.bytes().chain([b' ']).enumerate() {
        match (plain(b) && i < s.len(), start) {
            (true, None) => start = Some(i),
            (false, Some(st)) => {
                if i - st > best.len() {
                    best = st..i;
                }
                start = None;
            }
            _ => {}
        }
    }
    &s[best]
}

/// Start of every occurrence of the ASCII `needle` in `hay`, overlapping ones too.
fn overlapping<'a>(hay: &'a str, needle: &'a str) -> impl Iterator<Item = usize> + 'a {
    let mut from = 0;
    std::iter::from_fn(move || {
        let at = from + hay.get(from..)?.find(needle)?;
        from = at + 1;
        Some(at)
    })
}

/// Replaces every occurrence of known secret strings with `MASK`.
#[derive(Clone, Default)]
pub struct Redactor {
    groups: Vec<Group>,
}

impl fmt::Debug for Redactor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Redactor({} secrets)", self.groups.len())
    }
}

impl Redactor {
    /// A redactor for `secret` and its encoded forms.
    #[cfg(test)]
    pub(crate) fn for_secret(secret: &str) -> Self {
        let mut r = Redactor::default();
        r.add(secret);
        r
    }

    /// Add a secret and its encoded forms; ignored when [`too_short`].
    pub(crate) fn add(&mut self, secret: &str) {
        if too_short(secret).is_some() {
            return;
        }
        let g = Group::new(secret);
        if !self.groups.contains(&g) {
            self.groups.push(g);
        }
    }

    /// Add a secret part of a value as written, and percent-decoded when
    /// that differs (`p%40ss` in a URL is `p@ss` once a service decodes it).
    pub(crate) fn add_part(&mut self, part: &str) {
        self.add(part);
        if let Some(decoded) = percent_decode(part).filter(|d| d != part) {
            self.add(&decoded);
        }
    }

    /// Add the pieces of `secret` between whitespace too: a server that
    /// splits a value at spaces (`options`) echoes one piece in its error.
    pub(crate) fn add_with_fragments(&mut self, secret: &str) {
        self.add(secret);
        for piece in secret.split_whitespace().filter(|p| *p != secret) {
            self.add(piece);
        }
    }

    /// Everything `other` masks.
    pub(crate) fn extend(&mut self, other: &Redactor) {
        for g in &other.groups {
            if !self.groups.contains(g) {
                self.groups.push(g.clone());
            }
        }
    }

    /// Whether there is nothing to redact.
    pub(crate) fn is_empty(&self) -> bool {
        self.groups.is_empty()
    }

    /// Whether `text` contains any of the secrets.
    pub(crate) fn contains_secret(&self, text: &str) -> bool {
        let mut hits = Vec::new();
        self.groups.iter().any(|g| {
            g.hits(text, true, &mut hits);
            !hits.is_empty()
        })
    }

    /// Where the secrets are in `text`: sorted, merged byte ranges.
    pub(crate) fn find(&self, text: &str) -> Vec<Range<usize>> {
        let mut hits: Vec<Range<usize>> = Vec::new();
        for g in &self.groups {
            g.hits(text, false, &mut hits);
        }
        merge(hits)
    }

    /// `text` with every secret replaced by [`MASK`].
    pub(crate) fn redact<'a>(&self, text: &'a str) -> Cow<'a, str> {
        let hits = self.find(text);
        if hits.is_empty() {
            return Cow::Borrowed(text);
        }
        Cow::Owned(mask_ranges(text, &hits))
    }
}

/// `%XX` sequences decoded; `None` when they do not decode to UTF-8.
fn percent_decode(s: &str) -> Option<String> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let hex = (b[i] == b'%')
            .then(|| s.get(i + 1..i + 3))
            .flatten()
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        match hex {
            Some(v) => {
                out.push(v);
                i += 3;
            }
            None => {
                out.push(b[i]);
                i += 1;
            }
        }
    }
    String::from_utf8(out).ok()
}

fn at_word_edges(text: &str, r: &Range<usize>) -> bool {
    let word = |b: Option<&u8>| b.is_some_and(|b| b.is_ascii_alphanumeric() || *b == b'_');
    let bytes = text.as_bytes();
    !word(r.start.checked_sub(1).and_then(|i| bytes.get(i))) && !word(bytes.get(r.end))
}

/// Sort and merge overlapping or touching ranges.
pub(super) fn merge(mut ranges: Vec<Range<usize>>) -> Vec<Range<usize>> {
    ranges.sort_by_key(|r| (r.start, r.end));
    let mut out: Vec<Range<usize>> = Vec::with_capacity(ranges.len());
    for r in ranges {
        match out.last_mut() {
            Some(last) if r.start <= last.end => last.end = last.end.max(r.end),
            _ => out.push(r),
        }
    }
    out
}

/// `text` with each of the sorted, merged `ranges` replaced by [`MASK`].
/// Fails closed: a range that does not fit `text` masks all of it.
pub(super) fn mask_ranges(text: &str, ranges: &[Range<usize>]) -> String {
    if ranges.iter().any(|r| text.get(r.clone()).is_none()) {
        return MASK.to_string();
    }
    let mut out = String::with_capacity(text.len());
    let mut at = 0;
    for r in ranges {
        out.push_str(&text[at..r.start]);
        out.push_str(MASK);
        at = r.end;
    }
    out.push_str(&text[at..]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks_plain_and_every_encoded_form() {
        let r = Redactor::for_secret("p@ss w/rd#1");
        for text in [
            "x p@ss w/rd#1 y",
            "u:p%40ss%20w%2Frd%231@h",
            "u:p%40ss+w%2Frd%231@h",
            "u:p%40ss%20w%2frd%231@h",
            "encodeURI p@ss%20w/rd#1 y",
            "escape p@ss%20w/rd%231 y",
        ] {
            let out = r.redact(text);
            assert!(!out.contains("rd"), "{text} -> {out}");
            assert!(out.contains(MASK), "{text} -> {out}");
        }
        assert_eq!(r.redact("nothing here"), "nothing here");
    }

    #[test]
    fn short_and_setting_like_values_are_not_searched() {
        for v in ["true", "abc", "12345", "Enabled"] {
            assert!(too_short(v).is_some(), "{v}");
            assert!(Redactor::for_secret(v).is_empty(), "{v}");
        }
        assert!(too_short("hunter2").is_none());
    }

    #[test]
    fn a_word_like_secret_is_masked_only_as_a_whole_word() {
        let r = Redactor::for_secret("postgres");
        assert_eq!(r.redact("postgresql rocks"), "postgresql rocks");
        assert_eq!(r.redact("pw=postgres, ok"), "pw=****, ok");
        assert_eq!(r.redact("postgres"), "****");
        let r = Redactor::for_secret("12345678");
        assert_eq!(r.redact("id 9123456789"), "id 9123456789");
        assert_eq!(r.redact("pin:12345678."), "pin:****.");
        // Mixed characters cannot be an ordinary word: masked anywhere.
        let r = Redactor::for_secret("hunter22");
        assert_eq!(r.redact("xhunter22x"), "x****x");
    }

    #[test]
    fn fragments_split_at_whitespace() {
        let mut r = Redactor::default();
        r.add_with_fragments("Xy7 p@ss:w/rd#1");
        assert_eq!(
            r.redact("invalid command-line argument for server process: p@ss:w/rd#1"),
            "invalid command-line argument for server process: ****"
        );
        // The short piece is below the free-text minimum.
        assert_eq!(r.redact("Xy7"), "Xy7");
    }

    #[test]
    fn a_part_is_also_masked_decoded() {
        let mut r = Redactor::default();
        r.add_part("s3cr%40t-pw");
        assert_eq!(r.redact("pw s3cr@t-pw"), "pw ****");
        assert_eq!(r.redact("pw s3cr%40t-pw"), "pw ****");
    }

    #[test]
    fn anchors_find_every_form() {
        assert_eq!(longest_plain_run("@dmin-pw#1"), "dmin-pw");
        assert_eq!(longest_plain_run("@#%"), "");
        // The anchor overlaps itself in the text.
        let r = Redactor::for_secret("aaa@bbb");
        assert_eq!(r.redact("xaaaa@bbb"), "xa****");
        assert_eq!(r.redact("aaaa%40bbb"), "a****");
        // No anchor at all: each form is searched for.
        let r = Redactor::for_secret("@#%&!*()");
        assert_eq!(r.redact("<@#%&!*()>"), "<****>");
        assert_eq!(r.redact("<%40%23%25%26%21%2A%28%29>"), "<****>");
        assert!(r.contains_secret("%40%23%25%26!*()"));
    }

    #[test]
    fn a_range_that_does_not_fit_masks_everything() {
        assert_eq!(mask_ranges("é-secret", &[1..3, 5..6]), MASK);
        assert_eq!(mask_ranges("short", &[0..1, 2..40]), MASK);
    }

    #[test]
    fn overlapping_forms_merge() {
        let mut r = Redactor::for_secret("abcdef12");
        r.add("ef12ghij");
        assert_eq!(r.redact("<abcdef12ghij>"), "<****>");
    }
}
