//! Layering with provenance: each `set` records where the value came from and
//! its secret parts ([`classify`]: name, taint, URL password), and pushes what
//! it replaced onto `shadowed` (highest first, value kept, so `env --explain`
//! can show what was overridden). The six layers of docs/environment.md "Precedence" are applied by
//! the caller, lowest first; this module only knows how to stack them, how
//! `inherit` globs match, and the OS-vs-file warning.

use std::collections::BTreeMap;
use std::ops::Range;
use std::path::PathBuf;

use super::dotenv::Entry;
use super::{Env, EnvVar, Shadowed, Source};
use crate::diag::Problem;
use crate::secret::{classify, Spans};

/// The default `inherit` list.
pub const DEFAULT_INHERIT: &[&str] = &["PATH", "HOME", "USER", "LANG", "LC_*", "TZ", "TMPDIR"];

/// A dotenv file that was read: its path as shown to users, and its entries.
#[derive(Debug, Clone)]
pub struct EnvFile {
    /// Path as resolved (absolute or relative to the config directory).
    pub path: PathBuf,
    /// Entries in file order (duplicates kept: the later line wins).
    pub entries: Vec<Entry>,
}

/// An environment under construction.
#[derive(Debug, Clone, Default)]
pub struct Layers {
    vars: BTreeMap<String, EnvVar>,
}

impl Layers {
    /// Layer 1: the OS variables whose names match an `inherit` pattern.
    pub fn inherit(os: &BTreeMap<String, String>, patterns: &[String]) -> Self {
        let mut l = Layers::default();
        for (k, v) in os {
            if inherited(k, patterns) {
                l.set(k, v.clone(), Source::Os, &Spans::default());
            }
        }
        l
    }

    /// Set `name`, shadowing any earlier value; `taint` = the secret parts
    /// interpolation brought in.
    pub fn set(&mut self, name: &str, value: String, source: Source, taint: &Spans) {
        let shadowed = match self.vars.remove(name) {
            Some(old) => {
                let top = Shadowed {
                    source: old.source,
                    value: old.value,
                    secret: old.secret,
                };
                std::iter::once(top).chain(old.shadowed).collect()
            }
            None => Vec::new(),
        };
        let var = EnvVar {
            secret: classify(name, &value, taint),
            value,
            source,
            shadowed,
        };
        self.vars.insert(name.to_string(), var);
    }

    /// Apply every entry of an env file (global when `service` is false).
    pub fn add_file(&mut self, file: &EnvFile, service: bool) {
        for e in &file.entries {
            let path = file.path.clone();
            let source = if service {
                Source::ServiceEnvFile { path, line: e.line }
            } else {
                Source::EnvFile { path, line: e.line }
            };
            self.set(&e.key, e.value.clone(), source, &e.secret);
        }
    }

    /// The current value of `name`.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.vars.get(name).map(|v| v.value.as_str())
    }

    /// Finish: add the parts `known` finds (the database password where it
    /// was pasted, not interpolated) to every value's secret parts; for each
    /// variable whose value comes from an env file while the OS environment
    /// also sets it, record the OS value as shadowed and return a warning.
    pub fn finish(
        mut self,
        os: &BTreeMap<String, String>,
        known: &dyn Fn(&str) -> Vec<Range<usize>>,
    ) -> (Env, Vec<Problem>) {
        let mut warnings = Vec::new();
        for (name, var) in self.vars.iter_mut() {
            add_known(&mut var.secret, &var.value, known);
            for sh in &mut var.shadowed {
                add_known(&mut sh.secret, &sh.value, known);
            }
            let from_file = matches!(
                var.source,
                Source::EnvFile { .. } | Source::ServiceEnvFile { .. }
            );
            let Some(os_value) = os.get(name).filter(|_| from_file) else {
                continue;
            };
            let inherited = var.shadowed.iter().any(|s| s.source == Source::Os);
            if !inherited {
                let mut secret = classify(name, os_value, &Spans::default());
                add_known(&mut secret, os_value, known);
                var.shadowed.push(Shadowed {
                    source: Source::Os,
                    value: os_value.clone(),
                    secret,
                });
            }
            warnings.push(os_file_warning(name, &var.source, inherited));
        }
        let vars = self.vars.into_iter().collect();
        (Env { vars }, warnings)
    }
}

fn add_known(secret: &mut Spans, value: &str, known: &dyn Fn(&str) -> Vec<Range<usize>>) {
    for r in known(value) {
        secret.push(r, None);
    }
}

fn os_file_warning(name: &str, source: &Source, inherited: bool) -> Problem {
    let why = if inherited {
        "env files take precedence over inherited OS variables"
    } else {
        "it is not in `inherit`; OS values come in only through `inherit` or `${NAME}` in supervisor.toml"
    };
    Problem {
        location: source.to_string(),
        message: format!(
            "`{name}` is set in the OS environment and in this env file; services get the file's value ({why})"
        ),
    }
}

/// Whether `name` matches one of the `inherit` glob patterns.
pub(crate) fn inherited(name: &str, patterns: &[String]) -> bool {
    patterns.iter().any(|p| glob(p.as_bytes(), name.as_bytes()))
}

/// `*` (any run) and `?` (one byte) glob, case-sensitive.
pub(crate) fn glob(pat: &[u8], s: &[u8]) -> bool {
    let (mut p, mut i) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while i < s.len() {
        if p < pat.len() && (pat[p] == b'?' || pat[p] == s[i]) {
            p += 1;
            i += 1;
        } else if p < pat.len() && pat[p] == b'*' {
            star = Some((p, i));
            p += 1;
        } else if let Some((sp, si)) = star {
            p = sp + 1;
            i = si + 1;
            star = Some((sp, si + 1));
        } else {
            return false;
        }
    }
    pat[p..].iter().all(|c| *c == b'*')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs() {
        for (p, s, want) in [
            ("PATH", "PATH", true),
            ("PATH", "PATHX", false),
            ("LC_*", "LC_ALL", true),
            ("LC_*", "LC_", true),
            ("LC_*", "LANG", false),
            ("*", "ANY", true),
            ("A?C", "ABC", true),
            ("A?C", "AC", false),
            ("*_URL", "DATABASE_URL", true),
            ("path", "PATH", false),
        ] {
            assert_eq!(glob(p.as_bytes(), s.as_bytes()), want, "{p} {s}");
        }
    }
}
