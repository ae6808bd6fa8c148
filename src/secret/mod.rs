//! Secrets that cannot be printed by accident.
//!
//! [`Secret`] has no `Display`, and its `Debug` prints `****`; the only way to
//! the value is [`Secret::expose`], which is greppable. What is secret is
//! decided per value, in one place (`classify`: the name rule
//! `looks_secret`, taint through interpolation, URL passwords), and a value
//! is printed in one way (`Spans::display`: only the secret bytes masked).
//! [`Redactor`] scrubs the known secrets, in every common encoding, out of
//! free text (child output, server errors) as the last line of defence.

mod encode;
mod name;
mod redactor;
mod spans;

use std::fmt;

pub use encode::percent_encode;
pub(crate) use name::looks_secret;
pub(crate) use redactor::too_short;
pub use redactor::Redactor;
pub use spans::Spans;
pub(crate) use spans::{classify, url_secrets};

/// What every masked value prints as.
pub(crate) const MASK: &str = "****";

/// A secret string. No `Display`; `Debug` is masked.
#[derive(Clone, PartialEq, Eq, Default)]
pub struct Secret(String);

impl Secret {
    /// Wrap a value.
    pub(crate) fn new(value: impl Into<String>) -> Self {
        Secret(value.into())
    }
    /// The value itself. Call only where it must leave the process (child env,
    /// the wire, a 0600 file, `--show-secrets`).
    pub fn expose(&self) -> &str {
        &self.0
    }
    /// Whether the value is empty.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(MASK)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_debug_is_masked() {
        let s = Secret::new("hunter2-p@ss");
        assert_eq!(format!("{s:?}"), MASK);
        assert_eq!(s.expose(), "hunter2-p@ss");
    }
}
