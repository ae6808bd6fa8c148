//! Configuration problems, all collected into one report (Horust's
//! `ValidationErrors`): each names where (`file:line:col`, or `services.x.key`)
//! and what. `Display` is a bulleted list; every problem maps to exit code 3.

use std::fmt;
use std::ops::Range;
use std::path::{Path, PathBuf};

use crate::exit;

/// One problem.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// `file:line:col`, `file:line`, or `services.x.key` when no position is known.
    pub location: String,
    /// What is wrong, and how to fix it. Never contains a secret value.
    pub message: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.location.is_empty() {
            write!(f, "{}", self.message)
        } else {
            write!(f, "{}: {}", self.location, self.message)
        }
    }
}

/// Every problem found in one pass.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Problems(pub Vec<Problem>);

impl Problems {
    /// Add a problem.
    /// Messages are capped at [`MAX_MESSAGE`] characters (a huge value must
    /// not turn into a huge report). The same problem at the same place is
    /// kept once (the copies of a replicated service share their lines).
    pub fn push(&mut self, location: impl Into<String>, message: impl Into<String>) {
        let p = Problem {
            location: cap(location.into()),
            message: cap(message.into()),
        };
        if !self.0.contains(&p) {
            self.0.push(p);
        }
    }
    /// Whether none were found.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
    /// How many.
    pub fn len(&self) -> usize {
        self.0.len()
    }
    /// The exit code for this report ([`exit::CONFIG`]: nothing was attempted).
    pub fn exit_code(&self) -> u8 {
        exit::CONFIG
    }
    /// `Ok(v)` when empty, else `Err(self)`.
    pub fn into_result<T>(self, v: T) -> Result<T, Problems> {
        if self.is_empty() {
            Ok(v)
        } else {
            Err(self)
        }
    }
}

/// The longest location or message a report shows, in characters.
pub(super) const MAX_MESSAGE: usize = 600;

fn cap(s: String) -> String {
    if s.chars().count() <= MAX_MESSAGE {
        return s;
    }
    let mut out: String = s.chars().take(MAX_MESSAGE).collect();
    out.push_str("… (truncated)");
    out
}

impl fmt::Display for Problems {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let n = self.0.len();
        let s = if n == 1 { "" } else { "s" };
        writeln!(f, "invalid configuration ({n} problem{s}):")?;
        for p in &self.0 {
            writeln!(f, "  - {p}")?;
        }
        Ok(())
    }
}

impl std::error::Error for Problems {}

/// Turns byte offsets in a file's text into `file:line:col` (1-based; columns
/// count characters).
#[derive(Debug, Clone)]
pub struct Locator {
    path: PathBuf,
    line_starts: Vec<usize>,
    text: String,
}

impl Locator {
    /// A locator for `text`, read from `path`.
    pub fn new(path: &Path, text: &str) -> Self {
        let mut line_starts = vec![0];
        line_starts.extend(text.match_indices('\n').map(|(i, _)| i + 1));
        Locator {
            path: path.to_path_buf(),
            line_starts,
            text: text.to_string(),
        }
    }
    /// The file.
    pub fn path(&self) -> &Path {
        &self.path
    }
    /// 1-based (line, column) of byte `offset`.
    pub fn line_col(&self, offset: usize) -> (usize, usize) {
        let offset = offset.min(self.text.len());
        let line = self.line_starts.partition_point(|&s| s <= offset);
        let start = self.line_starts[line - 1];
        let col = self
            .text
            .get(start..offset)
            .map_or(offset - start, |s| s.chars().count())
            + 1;
        (line, col)
    }
    /// 1-based line of byte `offset`.
    pub fn line(&self, offset: usize) -> usize {
        self.line_col(offset).0
    }
    /// `file:line:col` for the start of `span`.
    pub fn at(&self, span: &Range<usize>) -> String {
        let (line, col) = self.line_col(span.start);
        format!("{}:{line}:{col}", self.path.display())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_and_column() {
        let loc = Locator::new(Path::new("s.toml"), "ab\ncdé\n\nx");
        for (offset, want) in [
            (0, (1, 1)),
            (1, (1, 2)),
            (3, (2, 1)),
            (5, (2, 3)),
            (7, (2, 4)),
            (8, (3, 1)),
            (9, (4, 1)),
        ] {
            assert_eq!(loc.line_col(offset), want, "{offset}");
        }
        assert_eq!(loc.at(&(3..4)), "s.toml:2:1");
    }

    #[test]
    fn report_is_a_bulleted_list() {
        let mut p = Problems::default();
        p.push("a.toml:1:1", "first");
        p.push("", "second");
        assert_eq!(
            p.to_string(),
            "invalid configuration (2 problems):\n  - a.toml:1:1: first\n  - second\n"
        );
        assert_eq!(p.exit_code(), 3);
    }
}
