//! Environment resolution with provenance: the six layers of docs/environment.md, `${VAR}`
//! interpolation, the dotenv reader with line numbers and the migration lint.
//! Never calls `std::env::set_var`, never reads the process environment: the
//! OS environment is captured once by the command and passed in.
//!
//! - [`dotenv`] / `lines`: dotenvy's syntax, with line numbers;
//! - `interp`: `${VAR}` / `${VAR:-d}` / `${VAR:?msg}` / `$$` for supervisor.toml,
//!   keeping what each `${NAME}` brought in and from where (taint, provenance);
//! - `layers`: stacking with provenance (shadowed values kept), each value's
//!   secret parts (`crate::secret::classify`), `inherit` globs, the OS-vs-file warning;
//! - `lint`: values npm `dotenv` would read differently;
//! - [`Env`] (`vars.rs`): the result, each value with its [`Source`].

pub mod dotenv;
pub(crate) mod interp;
pub(crate) mod layers;
mod lines;
pub(crate) mod lint;
mod varmap;
mod vars;

use std::path::Path;

pub use layers::{EnvFile, Layers, DEFAULT_INHERIT};
pub use varmap::VarMap;
pub use vars::{Env, EnvVar, Shadowed, Source};

use crate::diag::read::{io_reason, read_text};
use crate::diag::Problem;

/// Read and parse the env file at `path`. `outer` resolves `$NAME` before the
/// file's own earlier lines (OS first, then earlier files).
pub fn read_env_file(
    path: &Path,
    outer: &dyn Fn(&str) -> Option<String>,
) -> Result<EnvFile, Problem> {
    if let Err(e) = std::fs::metadata(path) {
        return Err(Problem {
            location: path.display().to_string(),
            message: format!("cannot read env file: {}", io_reason(&e)),
        });
    }
    let text = read_text(path)?;
    let entries = dotenv::parse(&text, outer).map_err(|e| Problem {
        location: format!("{}:{}", path.display(), e.line),
        message: e.why.to_string(),
    })?;
    if let Some(e) = entries.iter().find(|e| e.value.contains('\0')) {
        return Err(Problem {
            location: format!("{}:{}", path.display(), e.line),
            message: format!(
                "the value of `{}` contains a NUL byte, which no process environment can hold",
                e.key
            ),
        });
    }
    Ok(EnvFile {
        path: path.to_path_buf(),
        entries,
    })
}

#[cfg(test)]
mod tests;
