//! `${VAR}` interpolation in supervisor.toml values (after parsing, on typed
//! fields — never on raw TOML text). Docker compose's rules:
//! `${VAR}` (undefined = error, never ""), `${VAR:-default}` (unset or empty),
//! `${VAR-default}` (unset), `${VAR:?message}` / `${VAR?message}` (error),
//! `$$` = a literal `$`. A `$` followed by anything else is kept as written,
//! so `$PORT` in a `shell = true` command is left for the shell.

use std::fmt;
use std::ops::Range;

use super::Source;
use crate::secret::Spans;

/// A variable as a lookup found it: its value, which parts of it are
/// secret, and where it came from. `Debug` masks the secret parts.
#[derive(Clone, PartialEq, Eq)]
pub(crate) struct Looked {
    /// The value.
    pub value: String,
    /// Its secret parts.
    pub secret: Spans,
    /// Where the value was found (the OS environment, an env file line).
    pub origin: Source,
}

/// One `${NAME}` that contributed to a value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Ref {
    /// The name.
    pub name: String,
    /// Where its value was found.
    pub origin: Source,
    /// Where its value landed in the result.
    pub range: Range<usize>,
}

/// An interpolated value with what interpolation brought in: the secret
/// parts (taint) and every reference. `Debug` masks the secret parts.
#[derive(Clone, Default, PartialEq, Eq)]
pub(crate) struct Traced {
    /// The value.
    pub value: String,
    /// Secret parts that came from secret variables.
    pub secret: Spans,
    /// The `${NAME}` references, in order.
    pub refs: Vec<Ref>,
}

impl fmt::Debug for Looked {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Looked")
            .field("value", &self.secret.display(&self.value))
            .field("origin", &self.origin)
            .finish()
    }
}

impl fmt::Debug for Traced {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Traced")
            .field("value", &self.secret.display(&self.value))
            .field("refs", &self.refs)
            .finish()
    }
}

impl Traced {
    fn push_str(&mut self, s: &str) {
        self.value.push_str(s);
    }
    fn append(&mut self, other: Traced) {
        let by = self.value.len();
        self.secret.extend_shifted(&other.secret, by, None);
        self.refs.extend(other.refs.into_iter().map(|r| Ref {
            range: r.range.start + by..r.range.end + by,
            ..r
        }));
        self.value.push_str(&other.value);
    }
}

/// Why a `${…}` cannot be expanded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum InterpError {
    /// `${` without its `}`.
    #[error("unterminated `${{` (missing `}}`; write `$$` for a literal `$`)")]
    Unterminated,
    /// `${…}` whose name is not one (the whole body kept).
    #[error(
        "invalid variable name in `${{{0}}}` (letters, digits and `_`, not starting with a digit)"
    )]
    BadName(String),
    /// `${NAME:?}` with `NAME` unset (or empty).
    #[error("`{0}` is not set")]
    Unset(String),
    /// `${NAME:?message}` with `NAME` unset (or empty).
    #[error("`{name}` is not set: {message}")]
    UnsetBecause {
        /// The variable.
        name: String,
        /// The message, interpolated.
        message: String,
    },
    /// An operator other than `-` and `?` (the whole body kept).
    #[error(
        "unsupported expression `${{{0}}}` (use ${{VAR}}, ${{VAR:-default}} or ${{VAR:?message}})"
    )]
    Unsupported(String),
    /// `${NAME}` with `NAME` unset and no default.
    #[error("undefined variable `{0}` (set it in the OS environment or an env file, or write `${{{0}:-default}}`)")]
    Undefined(String),
}

/// A lookup that knows secrecy and origin.
pub(crate) type TracedLookup<'a> = &'a dyn Fn(&str) -> Option<Looked>;

/// Interpolate `s`, keeping track of what each `${NAME}` brought in.
pub(crate) fn interpolate_traced(s: &str, lookup: TracedLookup) -> Result<Traced, InterpError> {
    let mut out = Traced::default();
    let mut rest = s;
    while let Some(i) = rest.find('$') {
        out.push_str(&rest[..i]);
        let after = &rest[i + 1..];
        if let Some(tail) = after.strip_prefix('$') {
            out.push_str("$");
            rest = tail;
        } else if let Some(body_start) = after.strip_prefix('{') {
            let end = closing_brace(body_start).ok_or(InterpError::Unterminated)?;
            out.append(expand(&body_start[..end], lookup)?);
            rest = &body_start[end + 1..];
        } else {
            out.push_str("$");
            rest = after;
        }
    }
    out.push_str(rest);
    Ok(out)
}

/// Index of the `}` closing a `${`, allowing nested `${…}` in defaults.
fn closing_brace(s: &str) -> Option<usize> {
    let mut depth = 0usize;
    for (i, c) in s.char_indices() {
        match c {
            '{' => depth += 1,
            '}' if depth == 0 => return Some(i),
            '}' => depth -= 1,
            _ => {}
        }
    }
    None
}

/// The value of `name` as a traced piece: its secret parts now come from `name`.
fn found(name: &str, l: Looked) -> Traced {
    let mut secret = Spans::default();
    secret.extend_shifted(&l.secret, 0, Some(name));
    Traced {
        refs: vec![Ref {
            name: name.to_string(),
            origin: l.origin,
            range: 0..l.value.len(),
        }],
        value: l.value,
        secret,
    }
}

fn expand(body: &str, lookup: TracedLookup) -> Result<Traced, InterpError> {
    let name_end = body
        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .unwrap_or(body.len());
    let (name, op) = body.split_at(name_end);
    if name.is_empty() || name.starts_with(|c: char| c.is_ascii_digit()) {
        return Err(InterpError::BadName(body.into()));
    }
    let value = lookup(name);
    let empty_counts = op.starts_with(':');
    let op = op.strip_prefix(':').unwrap_or(op);
    let missing = match &value {
        None => true,
        Some(v) => empty_counts && v.value.is_empty(),
    };
    if let Some(default) = op.strip_prefix('-') {
        return match value {
            Some(v) if !missing => Ok(found(name, v)),
            _ => interpolate_traced(default, lookup),
        };
    }
    if let Some(message) = op.strip_prefix('?') {
        return match value {
            Some(v) if !missing => Ok(found(name, v)),
            _ if message.is_empty() => Err(InterpError::Unset(name.into())),
            _ => Err(InterpError::UnsetBecause {
                name: name.into(),
                message: interpolate_traced(message, lookup)?.value,
            }),
        };
    }
    if !op.is_empty() || empty_counts {
        return Err(InterpError::Unsupported(body.into()));
    }
    value
        .map(|v| found(name, v))
        .ok_or_else(|| InterpError::Undefined(name.into()))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Interpolate `s`, looking names up with `lookup`.
    fn interpolate(
        s: &str,
        lookup: &dyn Fn(&str) -> Option<String>,
    ) -> Result<String, InterpError> {
        let traced = |n: &str| {
            lookup(n).map(|value| Looked {
                value,
                secret: Spans::default(),
                origin: Source::Os,
            })
        };
        interpolate_traced(s, &traced).map(|t| t.value)
    }

    fn lookup(name: &str) -> Option<String> {
        match name {
            "A" => Some("alpha".into()),
            "EMPTY" => Some(String::new()),
            "B_2" => Some("b".into()),
            _ => None,
        }
    }

    #[test]
    fn table() {
        let ok = [
            ("plain", "plain"),
            ("${A}", "alpha"),
            ("x${A}y${B_2}z", "xalphaybz"),
            ("$$", "$"),
            ("$${A}", "${A}"),
            ("cost: $5", "cost: $5"),
            ("echo $PORT", "echo $PORT"),
            ("${MISSING:-dflt}", "dflt"),
            ("${EMPTY:-dflt}", "dflt"),
            ("${EMPTY-dflt}", ""),
            ("${A:-dflt}", "alpha"),
            ("${MISSING:-${A}}", "alpha"),
            ("${A:?need A}", "alpha"),
            ("${MISSING:-}", ""),
            ("trailing $", "trailing $"),
        ];
        for (input, want) in ok {
            assert_eq!(interpolate(input, &lookup).as_deref(), Ok(want), "{input}");
        }
        let bad = [
            ("${MISSING}", "undefined variable `MISSING`"),
            (
                "${MISSING:?set it please}",
                "`MISSING` is not set: set it please",
            ),
            ("${EMPTY:?}", "`EMPTY` is not set"),
            ("${A", "unterminated"),
            ("${}", "invalid variable name"),
            ("${1X}", "invalid variable name"),
            ("${A:+x}", "unsupported expression"),
            (
                "${MISSING:-${ALSO_MISSING}}",
                "undefined variable `ALSO_MISSING`",
            ),
        ];
        for (input, needle) in bad {
            let err = interpolate(input, &lookup).expect_err(input);
            assert!(err.to_string().contains(needle), "{input}: {err}");
        }
    }

    #[test]
    fn taint_follows_interpolation() {
        let lookup = |n: &str| {
            let (value, secret) = match n {
                "REDIS_PASSWORD" => ("pw-123", Spans::whole(6)),
                "HOST" => ("cache", Spans::default()),
                _ => return None,
            };
            Some(Looked {
                value: value.into(),
                secret,
                origin: Source::Os,
            })
        };
        let t = interpolate_traced(
            "redis://:${REDIS_PASSWORD}@${HOST}:6379/${NONE:-${HOST}}",
            &lookup,
        )
        .expect("ok");
        assert_eq!(t.value, "redis://:pw-123@cache:6379/cache");
        assert_eq!(t.secret.display(&t.value), "redis://:****@cache:6379/cache");
        let names: Vec<(&str, &str)> = t
            .refs
            .iter()
            .map(|r| (r.name.as_str(), &t.value[r.range.clone()]))
            .collect();
        assert_eq!(
            names,
            [
                ("REDIS_PASSWORD", "pw-123"),
                ("HOST", "cache"),
                ("HOST", "cache")
            ]
        );
        assert_eq!(t.secret.parts()[0].from.as_deref(), Some("REDIS_PASSWORD"));
    }
}
