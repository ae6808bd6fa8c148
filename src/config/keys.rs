//! Every unknown key of a document at once. Serde stops at the first error;
//! a user with three typos should not need three runs. This walks the parsed
//! TOML (with spans) against the key lists below — kept equal to the serde
//! types by a test that reads serde's own "expected one of" lists.

use toml::de::{DeTable, DeValue};
use toml::Spanned;

use crate::diag::suggest;
use crate::diag::{Locator, Problem};

/// Top-level tables.
pub(crate) const ROOT: &[&str] = &["supervisor", "env", "database", "services"];
/// `[supervisor]`.
pub(crate) const SUPERVISOR: &[&str] = &[
    "env_files",
    "inherit",
    "stop_timeout",
    "log_format",
    "control_socket",
    "contain",
];
/// `[database]`.
pub(crate) const DATABASE: &[&str] = &[
    "url",
    "export_as",
    "expect",
    "client",
    "allow_localhost",
    "require_tls",
    "probe",
    "probe_timeout",
    "wait",
];
/// `[services.NAME]`.
pub(crate) const SERVICE: &[&str] = &[
    "command",
    "shell",
    "cwd",
    "env",
    "env_file",
    "depends_on",
    "uses_database",
    "restart",
    "backoff",
    "max_restarts",
    "restart_window",
    "ready",
    "stop_signal",
    "stop_timeout",
    "oneshot",
    "max_memory",
    "critical",
    "log_file",
    "user",
    "group",
    "limits",
    "umask",
    "nice",
    "replicas",
    "replica_port_base",
    "watch",
    "watch_ignore",
];
/// `backoff = { … }`.
pub(crate) const BACKOFF: &[&str] = &["initial", "max", "factor", "reset_after"];
/// `ready = { … }`.
pub(crate) const READY: &[&str] = &["http", "tcp", "exec", "log", "interval", "timeout"];
/// `log_file = { … }`.
pub(crate) const LOG_FILE: &[&str] = &["path", "max_size", "keep"];

/// Unknown keys in `text`, or nothing when it does not parse (the serde pass
/// then reports the syntax error).
pub(crate) fn unknown(loc: &Locator, text: &str) -> Vec<Problem> {
    let Ok(doc) = DeTable::parse(text) else {
        return Vec::new();
    };
    let mut out: Vec<(usize, Problem)> = Vec::new();
    let root = doc.get_ref();
    check(loc, root, "", ROOT, &mut out);
    if let Some(t) = table(root, "supervisor") {
        check(loc, t, "supervisor", SUPERVISOR, &mut out);
    }
    if let Some(t) = table(root, "database") {
        check(loc, t, "database", DATABASE, &mut out);
    }
    for (name, svc) in table(root, "services").into_iter().flatten() {
        let Some(svc) = svc.get_ref().as_table() else {
            continue;
        };
        let path = format!("services.{}", name.get_ref());
        check(loc, svc, &path, SERVICE, &mut out);
        for (key, keys) in [
            ("backoff", BACKOFF),
            ("ready", READY),
            ("log_file", LOG_FILE),
        ] {
            if let Some(t) = table(svc, key) {
                check(loc, t, &format!("{path}.{key}"), keys, &mut out);
            }
        }
    }
    out.sort_by_key(|(start, _)| *start);
    out.into_iter().map(|(_, p)| p).collect()
}

/// The dotted key path whose value contains byte `offset` (e.g.
/// `services.api.depends_on`), to name the key in serde's type errors.
pub(crate) fn path_at(text: &str, offset: usize) -> Option<String> {
    let doc = DeTable::parse(text).ok()?;
    let mut path = Vec::new();
    find(doc.get_ref(), offset, &mut path).then(|| path.join("."))
}

/// Push onto `path` the keys down to the value holding `offset`. A table
/// written as a `[header]` has a span that does not cover its contents, so
/// tables are searched by their entries.
fn find(t: &DeTable, offset: usize, path: &mut Vec<String>) -> bool {
    for (k, v) in t.iter() {
        path.push(k.get_ref().to_string());
        let inside = match v.get_ref().as_table() {
            Some(inner) => find(inner, offset, path) || v.span().contains(&offset),
            None => v.span().contains(&offset),
        };
        if inside {
            return true;
        }
        path.pop();
    }
    false
}

fn table<'a, 'i>(t: &'a DeTable<'i>, key: &str) -> Option<&'a DeTable<'i>> {
    t.get(key)
        .and_then(|v: &Spanned<DeValue>| v.get_ref().as_table())
}

fn check(loc: &Locator, t: &DeTable, path: &str, valid: &[&str], out: &mut Vec<(usize, Problem)>) {
    for key in t.keys() {
        let k = key.get_ref();
        if valid.contains(&k.as_ref()) {
            continue;
        }
        let hint = suggest::did_you_mean(k, valid.iter().copied());
        let list = valid
            .iter()
            .map(|v| format!("`{v}`"))
            .collect::<Vec<_>>()
            .join(", ");
        let shown: String = k.chars().take(60).collect();
        let at = if path.is_empty() {
            String::new()
        } else {
            format!(" in [{path}]")
        };
        let problem = Problem {
            location: loc.at(&key.span()),
            message: format!("unknown key `{shown}`{at}{hint}; expected one of {list}"),
        };
        out.push((key.span().start, problem));
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use serde::de::DeserializeOwned;

    use super::*;
    use crate::config::raw::*;

    /// serde's own list of fields for `T`, read from its unknown-field error.
    fn serde_fields<T: DeserializeOwned + std::fmt::Debug>(prefix: &str) -> Vec<String> {
        let text = format!("{prefix}zz_not_a_key = 1\n");
        let err = toml::from_str::<T>(&text)
            .expect_err("unknown key")
            .message()
            .to_string();
        err.split('`')
            .skip(3)
            .step_by(2)
            .map(String::from)
            .collect()
    }

    #[test]
    fn key_lists_match_the_serde_types() {
        let cases: [(&[&str], Vec<String>); 7] = [
            (ROOT, serde_fields::<RawConfig>("")),
            (SUPERVISOR, serde_fields::<RawSupervisor>("")),
            (DATABASE, serde_fields::<RawDatabase>("")),
            (SERVICE, serde_fields::<RawService>("")),
            (BACKOFF, serde_fields::<RawBackoff>("")),
            (READY, serde_fields::<RawReady>("")),
            (LOG_FILE, serde_fields::<RawLogFile>("")),
        ];
        for (ours, serde) in cases {
            assert_eq!(ours, serde.as_slice());
        }
    }

    #[test]
    fn key_path_at_an_offset() {
        let text = "top = 1\n[services.a]\ncommand = [\"sh\", 5]\nready = { tcp = 5 }\n[services.a.backoff]\nfactor = \"x\"\n";
        for (needle, want) in [
            ("1\n", Some("top")),
            ("5]", Some("services.a.command")),
            ("5 }", Some("services.a.ready.tcp")),
            ("\"x\"", Some("services.a.backoff.factor")),
            ("[services.a]", Some("services.a")),
        ] {
            let offset = text.find(needle).expect(needle);
            assert_eq!(path_at(text, offset).as_deref(), want, "{needle}");
        }
    }

    #[test]
    fn all_unknown_keys_at_once() {
        let text = "[supervisor]\nenv_file = []\n[database]\nurll = \"x\"\n[env]\nANY_NAME = 1\n[services.a]\ncomand = \"x\"\nready = { tcp = \"h:1\", intervall = \"1s\" }\nenv = { WHATEVER = 1 }\n[services.a.backoff]\nfactr = 2\n";
        let loc = Locator::new(Path::new("s.toml"), text);
        let got: Vec<String> = unknown(&loc, text)
            .iter()
            .map(ToString::to_string)
            .collect();
        let want = [
            "s.toml:2:1: unknown key `env_file` in [supervisor] (did you mean `env_files`?)",
            "s.toml:4:1: unknown key `urll` in [database] (did you mean `url`?)",
            "s.toml:8:1: unknown key `comand` in [services.a] (did you mean `command`?)",
            "s.toml:12:1: unknown key `factr` in [services.a.backoff] (did you mean `factor`?)",
            "s.toml:9:24: unknown key `intervall` in [services.a.ready] (did you mean `interval`?)",
        ];
        assert_eq!(got.len(), want.len(), "{got:#?}");
        for w in want {
            assert!(got.iter().any(|g| g.starts_with(w)), "no {w} in {got:#?}");
        }
    }
}
