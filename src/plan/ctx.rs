//! The build context: where problems and warnings are collected, and the
//! small typed readers (durations, choices, paths) every table uses, so each
//! reports `file:line:col: key: what` the same way.

use std::collections::BTreeMap;
use std::fmt::Display;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::time::Duration;

use super::Problems;
use crate::config::raw::{EnvTable, Str};
use crate::config::units;
use crate::diag::suggest;
use crate::diag::{Locator, Problem};
use crate::env::interp::{interpolate_traced, Traced};

/// A `${VAR}` lookup that knows each value's secret parts and origin.
pub(super) type Lookup<'a> = crate::env::interp::TracedLookup<'a>;

/// Shared state of one `build`.
pub(crate) struct BuildCtx<'a> {
    /// Positions in supervisor.toml.
    pub(crate) loc: &'a Locator,
    /// The OS environment, captured once by the command.
    pub os: &'a BTreeMap<String, String>,
    /// The config file's directory, absolute.
    pub base: PathBuf,
    /// The config file's directory as the user wrote it (for messages).
    pub shown_base: PathBuf,
    /// Everything wrong so far.
    pub problems: Problems,
    /// Everything suspicious so far.
    pub warnings: Vec<Problem>,
    /// The env files read (or looked for), absolute: part of [`Plan::inputs`](super::Plan::inputs).
    pub inputs: Vec<PathBuf>,
}

impl BuildCtx<'_> {
    /// Record a problem at `span`, prefixed with the key path.
    pub(crate) fn err(&mut self, span: &Range<usize>, key: &str, msg: impl Display) {
        let location = self.loc.at(span);
        self.problems.push(location, format!("{key}: {msg}"));
    }

    /// Record a warning at `span`.
    pub(crate) fn warn(&mut self, span: &Range<usize>, key: &str, msg: impl Display) {
        self.warnings.push(Problem {
            location: self.loc.at(span),
            message: format!("{key}: {msg}"),
        });
    }

    /// 1-based line of `span` in supervisor.toml.
    pub(crate) fn line(&self, span: &Range<usize>) -> usize {
        self.loc.line(span.start)
    }

    /// A duration value, or `default` when absent (or invalid, after recording).
    pub(crate) fn duration(&mut self, v: &Option<Str>, key: &str, default: Duration) -> Duration {
        let Some(v) = v else { return default };
        units::parse_duration(v.get_ref()).unwrap_or_else(|e| {
            self.err(&v.span(), key, e);
            default
        })
    }

    /// One of `options`, with "did you mean" on a typo.
    pub(crate) fn choice<T: Copy>(
        &mut self,
        v: &Option<Str>,
        key: &str,
        options: &[(&str, T)],
        default: T,
    ) -> T {
        let Some(v) = v else { return default };
        if let Some((_, t)) = options.iter().find(|(name, _)| name == v.get_ref()) {
            return *t;
        }
        let names: Vec<&str> = options.iter().map(|(n, _)| *n).collect();
        let hint = suggest::did_you_mean(v.get_ref(), names.iter().copied());
        let list = names
            .iter()
            .map(|n| format!("`{n}`"))
            .collect::<Vec<_>>()
            .join(", ");
        self.err(
            &v.span(),
            key,
            format!(
                "unknown value `{}`{hint}; expected one of {list}",
                v.get_ref()
            ),
        );
        default
    }

    /// Interpolate a string value; `None` (after recording) on error.
    pub(crate) fn interp(&mut self, v: &Str, key: &str, lookup: Lookup) -> Option<String> {
        self.interp_traced(v, key, lookup).map(|t| t.value)
    }

    /// [`BuildCtx::interp`], keeping what each `${NAME}` brought in (taint).
    pub(crate) fn interp_traced(&mut self, v: &Str, key: &str, lookup: Lookup) -> Option<Traced> {
        match interpolate_traced(v.get_ref(), lookup) {
            Ok(s) => Some(s),
            Err(e) => {
                self.err(&v.span(), key, e);
                None
            }
        }
    }

    /// Resolve and interpolate an env table: `(name, value, line)` in name order.
    pub(crate) fn env_table(
        &mut self,
        table: &EnvTable,
        key: &str,
        lookup: Lookup,
    ) -> Vec<(String, Traced, usize)> {
        let mut out = Vec::new();
        for (name, value) in table {
            let k = format!("{key}.{}", name.get_ref());
            if let Err(why) = check_var_name(name.get_ref()) {
                self.err(&name.span(), &k, why);
                continue;
            }
            match interpolate_traced(&value.get_ref().0, lookup) {
                Ok(v) if v.value.contains('\0') => {
                    self.err(&value.span(), &k, "the value contains a NUL byte")
                }
                Ok(v) => out.push((name.get_ref().clone(), v, self.line(&name.span()))),
                Err(e) => self.err(&value.span(), &k, e),
            }
        }
        out
    }

    /// `rel` against the config directory, absolute.
    pub(crate) fn abs(&self, rel: impl AsRef<Path>) -> PathBuf {
        self.base.join(rel)
    }

    /// `rel` against the config directory as the user wrote it (for sources).
    pub(crate) fn shown(&self, rel: impl AsRef<Path>) -> PathBuf {
        self.shown_base.join(rel)
    }
}

/// Why a name cannot be an environment variable name for `execve`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub(super) enum VarNameError {
    /// `""`.
    #[error("empty variable name")]
    Empty,
    /// `=` would end the name early in `NAME=value`.
    #[error("a variable name cannot contain `=`")]
    Equals,
    /// A NUL byte would end the C string.
    #[error("a variable name cannot contain a NUL byte")]
    Nul,
}

/// Whether `name` can be an environment variable name for `execve`.
pub(super) fn check_var_name(name: &str) -> Result<(), VarNameError> {
    if name.is_empty() {
        Err(VarNameError::Empty)
    } else if name.contains('=') {
        Err(VarNameError::Equals)
    } else if name.contains('\0') {
        Err(VarNameError::Nul)
    } else {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn var_names_execve_cannot_take() {
        assert_eq!(check_var_name("DATABASE_URL"), Ok(()));
        for (name, want) in [
            ("", "empty variable name"),
            ("A=B", "a variable name cannot contain `=`"),
            ("A\0B", "a variable name cannot contain a NUL byte"),
        ] {
            let err = check_var_name(name).expect_err(name);
            assert_eq!(err.to_string(), want, "{name:?}");
        }
    }
}
