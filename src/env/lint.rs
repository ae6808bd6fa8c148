//! The `.env` migration lint: places where npm `dotenv` (what the services
//! used to read the file with) would read a value differently from us. Only
//! warnings; messages name the key and line, never the value.

use std::collections::BTreeMap;

use super::layers::EnvFile;
use crate::diag::Problem;

/// Warnings for one env file.
pub(crate) fn lint(file: &EnvFile) -> Vec<Problem> {
    let mut out = Vec::new();
    let mut seen: BTreeMap<&str, usize> = BTreeMap::new();
    let at = |line: usize| format!("{}:{line}", file.path.display());
    for e in &file.entries {
        if e.unquoted_hash {
            out.push(Problem {
                location: at(e.line),
                message: format!(
                    "`{}`: unquoted value with `#`; npm dotenv reads it differently (before 15.0 ` #…` is part of the value, since 15.0 any `#` starts a comment) — quote the value",
                    e.key
                ),
            });
        }
        if e.expanded {
            out.push(Problem {
                location: at(e.line),
                message: format!(
                    "`{}`: `$` is expanded here (as dotenvy does) but npm dotenv keeps it literally — write `\\$` or single-quote the value for a literal `$`",
                    e.key
                ),
            });
        }
        if let Some(first) = seen.insert(&e.key, e.line) {
            out.push(Problem {
                location: at(e.line),
                message: format!(
                    "`{}` is set again (first on line {first}); this line wins here, but npm dotenv and dotenvy's `dotenv()` keep the first — remove one",
                    e.key
                ),
            });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::env::dotenv::parse;

    #[test]
    fn lint_table() {
        let cases: &[(&str, &[&str])] = &[
            ("A=plain\nB='quoted # fine'\nC=\"also # fine\"\n", &[]),
            ("A=x#y\n", &["f.env:1: `A`: unquoted value with `#`"]),
            ("A=x # note\n", &["f.env:1: `A`: unquoted value with `#`"]),
            ("A=1\nB=$A\n", &["f.env:2: `B`: `$` is expanded here"]),
            ("A=1\nB=\"${A}\"\n", &["f.env:2: `B`: `$` is expanded here"]),
            ("A='$A'\nB=\\$x\n", &[]),
            (
                "A=1\nB=2\nA=3\n",
                &["f.env:3: `A` is set again (first on line 1)"],
            ),
        ];
        for (text, want) in cases {
            let file = EnvFile {
                path: "f.env".into(),
                entries: parse(text, &|_| None).expect(text),
            };
            let got: Vec<String> = lint(&file).iter().map(ToString::to_string).collect();
            assert_eq!(got.len(), want.len(), "{text:?}: {got:?}");
            for (g, w) in got.iter().zip(want.iter()) {
                assert!(g.starts_with(w), "{text:?}: {g}");
            }
        }
    }
}
