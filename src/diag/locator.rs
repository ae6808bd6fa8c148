//! Where in a file: byte offsets (what `toml` and our own scanners give) as
//! `file:line:col` (1-based; columns count characters), the form every
//! problem location takes.

use std::ops::Range;
use std::path::{Path, PathBuf};

/// Turns byte offsets in a file's text into `file:line:col` (1-based; columns
/// count characters).
#[derive(Debug, Clone)]
pub(crate) struct Locator {
    path: PathBuf,
    line_starts: Vec<usize>,
    text: String,
}

impl Locator {
    /// A locator for `text`, read from `path`.
    pub(crate) fn new(path: &Path, text: &str) -> Self {
        let mut line_starts = vec![0];
        line_starts.extend(text.match_indices('\n').map(|(i, _)| i + 1));
        Locator {
            path: path.to_path_buf(),
            line_starts,
            text: text.to_string(),
        }
    }
    /// The file.
    pub(crate) fn path(&self) -> &Path {
        &self.path
    }
    /// 1-based (line, column) of byte `offset`.
    pub(crate) fn line_col(&self, offset: usize) -> (usize, usize) {
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
    pub(crate) fn line(&self, offset: usize) -> usize {
        self.line_col(offset).0
    }
    /// `file:line:col` for the start of `span`.
    pub(crate) fn at(&self, span: &Range<usize>) -> String {
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
}
