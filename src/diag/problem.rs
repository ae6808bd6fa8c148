//! One finding: where and what. The same type for a problem (fatal: the plan
//! collects them into `plan::Problems`, exit code 3) and a warning (kept in
//! the Plan and printed): they differ in what is done with them, not in shape.

use std::fmt;

/// One finding, fatal or not.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// `file:line:col`, `file:line`, `services.x.key` or `database.url` when no
    /// position is known; empty when global.
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
