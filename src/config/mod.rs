//! Raw configuration: `supervisor.toml` parsed close to the file (serde, strict,
//! every error with file:line:col). No system access: the text is read by
//! [`crate::diag::read`].
//!
//! - [`raw`]: the serde types (`deny_unknown_fields`, spans kept);
//! - [`units`]: durations, sizes, signals;
//! - [`keys`]: every unknown key at once (serde stops at the first).

mod de;
pub(crate) mod keys;
pub(crate) mod raw;
pub(crate) mod units;

use crate::diag::suggest;
use crate::diag::{Locator, Problem};
pub(crate) use raw::RawConfig;

/// Parse supervisor.toml text. The error names file:line:col and, for an
/// unknown key or value, the nearest valid one.
pub(crate) fn parse(loc: &Locator, text: &str) -> Result<RawConfig, Vec<Problem>> {
    let unknown = keys::unknown(loc, text);
    if !unknown.is_empty() {
        return Err(unknown);
    }
    parse_serde(loc, text).map_err(|p| vec![p])
}

fn parse_serde(loc: &Locator, text: &str) -> Result<RawConfig, Problem> {
    toml::from_str(text).map_err(|e| {
        let location = match e.span() {
            Some(span) => loc.at(&span),
            None => loc.path().display().to_string(),
        };
        let snippet = e.span().and_then(|sp| text.get(sp)).unwrap_or_default();
        let message = rewrite_message(e.message(), snippet);
        let key = e.span().and_then(|sp| keys::path_at(text, sp.start));
        Problem {
            location,
            message: match key {
                Some(k)
                    if !message.starts_with("unknown key") && !message.starts_with("duplicate") =>
                {
                    format!("{k}: {message}")
                }
                _ => message,
            },
        }
    })
}

/// Turn serde's "unknown field `x`, expected one of `a`, `b`" into
/// "unknown key `x` (did you mean `a`?); valid keys: …".
fn rewrite_message(msg: &str, snippet: &str) -> String {
    let msg = msg.trim_end();
    if msg == "duplicate key" {
        let key: String = snippet.trim().chars().take(60).collect();
        return format!("duplicate key `{key}` (a key or table may be defined only once)");
    }
    if let Some(field) = msg.strip_prefix("missing field ") {
        return format!("missing key {field}");
    }
    if let Some((head, _)) = msg.split_once(", expected struct Raw") {
        return format!("{head}, expected a table");
    }
    if let Some(head) = msg.strip_suffix(", expected a sequence") {
        return format!("{head}, expected an array");
    }
    if let Some(head) = msg.strip_suffix(", expected u32") {
        return format!("{head}, expected a non-negative integer");
    }
    if let Some(head) = msg.strip_suffix(", expected a map") {
        return format!("{head}, expected a table");
    }
    let (what, rest) = if let Some(r) = msg.strip_prefix("unknown field `") {
        ("key", r)
    } else if let Some(r) = msg.strip_prefix("unknown variant `") {
        ("value", r)
    } else {
        return msg.to_string();
    };
    let Some((name, expected)) = rest.split_once('`') else {
        return msg.to_string();
    };
    let valid: Vec<&str> = expected.split('`').skip(1).step_by(2).collect();
    let hint = suggest::did_you_mean(name, valid.iter().copied());
    if valid.is_empty() {
        format!("unknown {what} `{name}`")
    } else {
        let list = valid
            .iter()
            .map(|v| format!("`{v}`"))
            .collect::<Vec<_>>()
            .join(", ");
        format!("unknown {what} `{name}`{hint}; expected one of {list}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    fn parse_str(text: &str) -> Result<RawConfig, Problem> {
        parse(&Locator::new(Path::new("s.toml"), text), text).map_err(|mut v| v.remove(0))
    }

    #[test]
    fn unknown_keys_suggest_the_nearest() {
        for (text, loc, needle) in [
            (
                "[services.a]\ncomand = \"x\"\n",
                "s.toml:2:1",
                "unknown key `comand` in [services.a] (did you mean `command`?)",
            ),
            (
                "[servics.a]\n",
                "s.toml:1:2",
                "unknown key `servics` (did you mean `services`?)",
            ),
            (
                "[supervisor]\nenv_file = []\n",
                "s.toml:2:1",
                "(did you mean `env_files`?)",
            ),
            (
                "[database]\nurll = \"x\"\n",
                "s.toml:2:1",
                "(did you mean `url`?)",
            ),
            (
                "[services.a.backoff]\nfactr = 2.0\n",
                "s.toml:2:1",
                "(did you mean `factor`?)",
            ),
            (
                "[services.a]\nzzzzzz = 1\n",
                "s.toml:2:1",
                "unknown key `zzzzzz` in [services.a]; expected one of",
            ),
        ] {
            let p = parse_str(text).expect_err(text);
            assert_eq!(p.location, loc, "{text}: {p}");
            assert!(p.message.contains(needle), "{text}: {p}");
        }
    }

    #[test]
    fn wrong_types_and_syntax_name_the_place() {
        for (text, loc, needle) in [
            (
                "[services.a]\ncommand = 5\n",
                "s.toml:2:11",
                "a string or an array of strings",
            ),
            (
                "[services.a]\noneshot = \"yes\"\n",
                "s.toml:2:11",
                "expected a boolean",
            ),
            (
                "[services.a]\nmax_restarts = -1\n",
                "s.toml:2:16",
                "a non-negative integer",
            ),
            (
                "[services.a]\n[services.a]\n",
                "s.toml:2:",
                "duplicate key `a`",
            ),
            ("[services]\na = 5\n", "s.toml:2:5", "expected a table"),
            ("services = 3\n", "s.toml:1:12", "expected a table"),
            (
                "[services.a.log_file]\nkeep = 1\n",
                "s.toml:1:",
                "missing key `path`",
            ),
            (
                "[env]\nA = [1]\n",
                "s.toml:2:5",
                "a string, number or boolean",
            ),
            (
                "[services.a\n",
                "s.toml:1:12",
                "unclosed table, expected `]`",
            ),
        ] {
            let p = parse_str(text).expect_err(text);
            assert!(p.location.starts_with(loc), "{text}: {p}");
            assert!(p.message.contains(needle), "{text}: {p}");
        }
    }

    #[test]
    fn the_configuration_reference_parses_and_documents_every_key() {
        let doc = include_str!("../../docs/configuration.md");
        let start = doc.find("```toml\n").expect("toml block") + "```toml\n".len();
        let block = &doc[start..start + doc[start..].find("```").expect("end of block")];
        let raw = parse_str(block);
        assert!(raw.is_ok(), "{raw:?}");
        // The one example block shows every key a table accepts.
        let set: Vec<&str> = block
            .lines()
            .filter_map(|l| l.split_once(" = ").map(|(k, _)| k.trim()))
            .collect();
        for key in [keys::SUPERVISOR, keys::DATABASE, keys::SERVICE].concat() {
            assert!(set.contains(&key), "docs/configuration.md lacks `{key}`");
        }
    }

    #[test]
    fn full_example_parses() {
        let raw = parse_str(include_str!("../../tests/corpus/config/example.toml"));
        assert!(raw.is_ok(), "{raw:?}");
    }
}
