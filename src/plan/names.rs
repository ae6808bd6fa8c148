//! Service names as other systems see them. A service name may hold `_`,
//! `.` and upper case; systemd unit names and Kubernetes object and file
//! names are made from its [`dns_label`] (RFC 1123: lower case, digits, `-`,
//! at most 63 characters). That mapping is not one-to-one — `a_b`, `a-b`,
//! `A-B` and `a.b` all become `a-b` — so two services whose labels agree
//! would overwrite each other's unit, manifest and env file. The Plan refuses
//! them ([`collisions`]), and the renderers in `export` use this same
//! function, so what is checked is what is written.

use std::collections::BTreeMap;

/// A name safe for systemd units and Kubernetes objects (RFC 1123 label):
/// lowercase ASCII letters, digits and `-`, at most 63 characters, never
/// starting or ending with `-`; `x` when nothing is left.
pub(crate) fn dns_label(name: &str) -> String {
    let mut out: String = name
        .chars()
        .map(|c| match c {
            'a'..='z' | '0'..='9' => c,
            'A'..='Z' => c.to_ascii_lowercase(),
            _ => '-',
        })
        .collect();
    out = out.trim_matches('-').to_string();
    out.truncate(63);
    while out.ends_with('-') {
        out.pop();
    }
    if out.is_empty() {
        out.push('x');
    }
    out
}

/// Pairs `(earlier, later, label)` of names (in the order given) whose
/// [`dns_label`] is the same; each later name is paired with the first one
/// that took its label.
pub(crate) fn collisions<'a>(
    names: impl IntoIterator<Item = &'a str>,
) -> Vec<(&'a str, &'a str, String)> {
    let mut first: BTreeMap<String, &str> = BTreeMap::new();
    let mut out = Vec::new();
    for name in names {
        let label = dns_label(name);
        match first.get(&label) {
            Some(&earlier) => out.push((earlier, name, label)),
            None => {
                first.insert(label, name);
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dns_labels() {
        for (input, want) in [
            ("auth-service", "auth-service"),
            ("Auth_Service", "auth-service"),
            ("a.b", "a-b"),
            ("__x__", "x"),
            ("---", "x"),
        ] {
            assert_eq!(dns_label(input), want, "{input}");
        }
        let long = "a".repeat(70);
        assert_eq!(dns_label(&long).len(), 63);
    }

    #[test]
    fn collisions_name_both() {
        let long = |c: &str| format!("{}{c}", "s".repeat(63));
        let (l1, l2) = (long("1"), long("2"));
        let names = ["a_b", "web", "a-b", "A-B", "_x", "x", &l1, &l2];
        let found = collisions(names);
        let want = [
            ("a_b", "a-b", "a-b"),
            ("a_b", "A-B", "a-b"),
            ("_x", "x", "x"),
        ];
        for (i, (a, b, l)) in want.iter().enumerate() {
            assert_eq!((found[i].0, found[i].1, found[i].2.as_str()), (*a, *b, *l));
        }
        assert_eq!(found[3].0, l1.as_str(), "truncation at 63 collides too");
        assert_eq!(found.len(), 4);
    }
}
