//! Configuration problems ([`Problem`]), all collected into one report (Horust's
//! `ValidationErrors`): each names where (`file:line:col`, or `services.x.key`)
//! and what. `Display` is a bulleted list; every problem maps to exit code 3.

use std::fmt;

use crate::diag::Problem;
use crate::exit;

/// Every problem found in one pass.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Problems(pub Vec<Problem>);

impl Problems {
    /// Add a problem.
    /// Messages are capped at `MAX_MESSAGE` characters (a huge value must
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
    /// The exit code for this report (`exit::CONFIG`: nothing was attempted).
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

#[cfg(test)]
mod tests {
    use super::*;

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
