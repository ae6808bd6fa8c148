//! Why a child was not started, as a type: each variant is one way a spawn
//! fails, and its text is what a log line, `status` and `run` show.

use std::io;
use std::path::{Path, PathBuf};

use super::contain;

/// A spawn that failed, before or at the exec.
#[derive(Debug, thiserror::Error)]
pub(crate) enum SpawnError {
    /// The service's `cwd` exists but is no directory.
    #[error("working directory {} is not a directory", .0.display())]
    NotADirectory(PathBuf),
    /// The service's `cwd` cannot be looked at.
    #[error("working directory {}: {err}", path.display())]
    Cwd {
        /// The directory.
        path: PathBuf,
        /// What the kernel said.
        err: io::Error,
    },
    /// A NUL byte where the kernel wants a C string.
    #[error("cannot start `{}`: its {what} contains a NUL byte", program.display())]
    Nul {
        /// The program.
        program: PathBuf,
        /// Which part: program, command line, environment, working directory.
        what: &'static str,
    },
    /// An `exec` readiness check without a command.
    #[error("empty exec readiness command")]
    EmptyCheck,
    /// `run --` without CMD.
    #[error("no command given")]
    NoCommand,
    /// A step between fork and exec failed in the child.
    #[error("{step} failed in the child before exec: {err}")]
    ChildStep {
        /// The step, e.g. `setpgid`, `chdir(/srv)`.
        step: String,
        /// What the kernel said.
        err: io::Error,
    },
    /// No such program (or its `#!` interpreter is missing), explained.
    #[error("{0}")]
    NotFound(String),
    /// The program is not executable.
    #[error("permission denied executing `{0}` (is it executable?)")]
    PermissionDenied(String),
    /// The PID namespace's init died: nothing can start in it any more.
    #[error("cannot start `{program}`: the PID namespace is gone (its init was killed): {err}")]
    NamespaceGone {
        /// The program.
        program: String,
        /// What the fork said.
        err: io::Error,
    },
    /// Any other failure of the fork or the exec.
    #[error("cannot execute `{program}`: {err}")]
    Exec {
        /// The program.
        program: String,
        /// What the kernel said.
        err: io::Error,
    },
}

impl SpawnError {
    /// The failure of starting `program` (in `cwd`) with `err`.
    pub(crate) fn starting(program: &str, cwd: Option<&Path>, err: io::Error) -> SpawnError {
        let program = program.to_owned();
        match err.kind() {
            // A script whose `#!` interpreter is missing fails with ENOENT too.
            io::ErrorKind::NotFound => {
                SpawnError::NotFound(crate::plan::explain_not_found(&program, cwd))
            }
            io::ErrorKind::PermissionDenied => SpawnError::PermissionDenied(program),
            _ if contain::lost() => SpawnError::NamespaceGone { program, err },
            _ => SpawnError::Exec { program, err },
        }
    }
}

/// `cwd` must be a directory we can look at.
pub(crate) fn check_cwd(cwd: &Path) -> Result<(), SpawnError> {
    match std::fs::metadata(cwd) {
        Ok(m) if m.is_dir() => Ok(()),
        Ok(_) => Err(SpawnError::NotADirectory(cwd.to_path_buf())),
        Err(err) => Err(SpawnError::Cwd {
            path: cwd.to_path_buf(),
            err,
        }),
    }
}
