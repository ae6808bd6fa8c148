//! The `.env` migration lint: places where npm `dotenv` (what the services
//! used to read the file with) would read a value differently from us. Only
//! warnings; messages name the key and line, never the value.

use std::collections::BTreeMap;

use super::layers::EnvFile;
use crate::plan::Warning;

/// Warnings for one env file.
pub fn lint(file: &EnvFile) -> Vec<Warning> {
    let mut out = Vec::new();
    let mut seen: BTreeMap<&str, usize> = BTreeMap::new();
    let at = |line: usize| format!("{}:{line}", file.path.display());
    for e in &file.entries {
        if e.unquoted_hash {
            out.push(Warning {
                location: at(e.line),
                message: format!(
                    "`{}`: unquoted value with `#`; npm dotenv reads it differently (before 15.0 ` #…` is part of the value, since 15.0 any `#` starts a comment) — quote the value",
                    e.key
                ),
            });
        }
        if e.expanded {
            out.push(Warning {
                location: at(e.line),
                message: format!(
                    "`{}`: `$` is expanded here (as dotenvy does) but npm dotenv keeps it literally — write `\\$` or single-quote the value for a literal `$`",
                    e.key
                ),
            });
        }
        if let Some(first) = seen.insert(&e.key, e.line) {
            out.push(Warning {
                location: at(e.line),
                message: format!(
                    "`{}` is set again (first on line {first}); this line wins here, but npm dotenv and dotenvy's `dotenv()` keep the first — remove one",
                    e.key
                ),
            });
        }
    }
    out
}
