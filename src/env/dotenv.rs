//! The dotenv reader: dotenvy 0.15's syntax (comments, `export` prefix, single
//! and double quotes, escapes, multi-line quoted values, `$VAR`/`${VAR}`
//! expansion), hand-written so every entry keeps its line number and the
//! facts the migration lint needs. Tests use dotenvy itself as the oracle.
//!
//! Expansion looks a name up as dotenvy does: the OS environment first, then
//! (our addition, equivalent to dotenvy loading files in turn) the earlier env
//! files, then earlier lines of this file; an unknown name expands to "".

use std::collections::HashMap;

use super::lines::logical_lines;
use crate::secret::{classify, Spans};

/// One `KEY=value` entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// The name.
    pub key: String,
    /// The value, unquoted, unescaped and expanded.
    pub value: String,
    /// 1-based line the entry starts on.
    pub line: usize,
    /// An unquoted `#` was in the value, or an inline ` #` comment followed it.
    pub unquoted_hash: bool,
    /// A `$` expansion happened.
    pub expanded: bool,
    /// What expansion brought in from secret variables (taint).
    pub secret: Spans,
}

/// A syntax error: the line it is on, and why (never the value itself).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyntaxError {
    /// 1-based line.
    pub line: usize,
    /// What is wrong.
    pub why: LineError,
}

/// What is wrong with a line of an env file. Never holds a value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LineError {
    /// A quote opened on this line is never closed, to the end of the file.
    #[error("unterminated quoted value (a quote opened here is never closed)")]
    UnterminatedValue,
    /// A name without `=`.
    #[error("expected `=` after `{0}`")]
    ExpectedEquals(String),
    /// Not a name where one should be.
    #[error("expected a variable name (letters, digits, `_` or `.`, not starting with a digit)")]
    ExpectedName,
    /// An unquoted value with a space in it (1-based column in the value).
    #[error("unexpected character after whitespace at value column {0} (quote a value that contains spaces)")]
    AfterWhitespace(usize),
    /// `\` before a character that has no escape.
    #[error("unknown escape `\\{escape}` at value column {col}")]
    UnknownEscape {
        /// The character after the backslash.
        escape: char,
        /// 1-based column in the value.
        col: usize,
    },
    /// `${` without its `}`.
    #[error("unterminated `${{` (missing `}}`)")]
    UnterminatedBrace,
    /// A quote inside the value never closed.
    #[error("unterminated quote")]
    UnterminatedQuote,
}

/// Parse a whole file. `outer` resolves `$NAME` before this file's own lines.
pub fn parse(
    text: &str,
    outer: &dyn Fn(&str) -> Option<String>,
) -> Result<Vec<Entry>, SyntaxError> {
    let lines = logical_lines(text).map_err(|line| SyntaxError {
        line,
        why: LineError::UnterminatedValue,
    })?;
    let mut local: HashMap<String, (String, Spans)> = HashMap::new();
    let mut out = Vec::new();
    for (line, text, comment_cut) in lines {
        let lookup = |name: &str| {
            let from_outer = |v: String| {
                let s = classify(name, &v, &Spans::default());
                (v, s)
            };
            outer(name)
                .map(from_outer)
                .or_else(|| local.get(name).cloned())
        };
        match parse_line(&text, &lookup) {
            Ok(None) => {}
            Ok(Some((key, mut value))) => {
                // `KEY=value # note`: npm dotenv before 15.0 keeps ` # note`.
                value.unquoted_hash |= comment_cut && !text.contains(['"', '\'']);
                let secret = classify(&key, &value.value, &value.secret);
                local.insert(key.clone(), (value.value.clone(), secret.clone()));
                out.push(Entry {
                    key,
                    value: value.value,
                    line,
                    unquoted_hash: value.unquoted_hash,
                    expanded: value.expanded,
                    secret,
                });
            }
            Err(why) => return Err(SyntaxError { line, why }),
        }
    }
    Ok(out)
}

#[derive(Default)]
struct Value {
    value: String,
    unquoted_hash: bool,
    expanded: bool,
    secret: Spans,
}

type Lookup<'a> = &'a dyn Fn(&str) -> Option<(String, Spans)>;

fn parse_line(line: &str, lookup: Lookup) -> Result<Option<(String, Value)>, LineError> {
    let mut rest = line.trim_end().trim_start();
    if rest.is_empty() || rest.starts_with('#') {
        return Ok(None);
    }
    let mut key = take_key(&mut rest)?;
    rest = rest.trim_start();
    if key == "export" && !rest.starts_with('=') {
        key = take_key(&mut rest)?;
        rest = rest.trim_start();
    }
    rest = rest
        .strip_prefix('=')
        .ok_or_else(|| LineError::ExpectedEquals(key.clone()))?
        .trim_start();
    if rest.is_empty() || rest.starts_with('#') {
        let unquoted_hash = false;
        return Ok(Some((
            key,
            Value {
                unquoted_hash,
                ..Value::default()
            },
        )));
    }
    let value = parse_value(rest, lookup)?;
    Ok(Some((key, value)))
}

fn take_key(rest: &mut &str) -> Result<String, LineError> {
    if !rest.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_') {
        return Err(LineError::ExpectedName);
    }
    let end = rest
        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == '.'))
        .unwrap_or(rest.len());
    let key = rest[..end].to_string();
    *rest = &rest[end..];
    Ok(key)
}

#[derive(PartialEq, Eq, Clone, Copy)]
enum Subst {
    None,
    Block,
    Braced,
}

/// dotenvy's `parse_value`, state for state.
fn parse_value(input: &str, lookup: Lookup) -> Result<Value, LineError> {
    let (mut strong, mut weak, mut escaped, mut expecting_end) = (false, false, false, false);
    let mut out = String::new();
    let mut mode = Subst::None;
    let mut name = String::new();
    let mut v = Value::default();
    for (index, c) in input.chars().enumerate() {
        let col = index + 1;
        if expecting_end {
            match c {
                ' ' | '\t' => continue,
                '#' => {
                    v.unquoted_hash = true;
                    break;
                }
                _ => return Err(LineError::AfterWhitespace(col)),
            }
        } else if escaped {
            match c {
                '\\' | '\'' | '"' | '$' | ' ' => out.push(c),
                'n' => out.push('\n'),
                _ => return Err(LineError::UnknownEscape { escape: c, col }),
            }
            escaped = false;
        } else if strong {
            if c == '\'' {
                strong = false;
            } else {
                out.push(c);
            }
        } else if mode != Subst::None {
            if c.is_alphanumeric() {
                name.push(c);
            } else if mode == Subst::Block && c == '{' && name.is_empty() {
                mode = Subst::Braced;
            } else if mode == Subst::Block {
                substitute(&mut name, lookup, &mut out, &mut v.secret);
                if c == '$' {
                    mode = Subst::Block;
                } else {
                    mode = Subst::None;
                    out.push(c);
                }
            } else if c == '}' {
                mode = Subst::None;
                substitute(&mut name, lookup, &mut out, &mut v.secret);
            } else {
                name.push(c);
            }
        } else if c == '$' {
            mode = Subst::Block;
            v.expanded = true;
        } else if weak {
            match c {
                '"' => weak = false,
                '\\' => escaped = true,
                _ => out.push(c),
            }
        } else {
            match c {
                '\'' => strong = true,
                '"' => weak = true,
                '\\' => escaped = true,
                ' ' | '\t' => expecting_end = true,
                '#' => {
                    v.unquoted_hash = true;
                    out.push(c);
                }
                _ => out.push(c),
            }
        }
    }
    if mode == Subst::Braced {
        return Err(LineError::UnterminatedBrace);
    }
    if strong || weak {
        return Err(LineError::UnterminatedQuote);
    }
    substitute(&mut name, lookup, &mut out, &mut v.secret);
    v.value = out;
    Ok(v)
}

fn substitute(name: &mut String, lookup: Lookup, out: &mut String, secret: &mut Spans) {
    let n = std::mem::take(name);
    if let Some((value, spans)) = lookup(&n) {
        secret.extend_shifted(&spans, out.len(), Some(&n));
        out.push_str(&value);
    }
}
