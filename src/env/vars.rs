//! A resolved environment with provenance: each variable's value, its secret
//! parts, where it came from ([`Source`]) and what it overrode. The env layers
//! build it; the Plan holds one per service; `Debug` never shows a secret.

use std::fmt;
use std::path::PathBuf;

use super::varmap::VarMap;
use crate::secret::Spans;

/// An environment with provenance: name → value + where it came from.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Env {
    /// Sorted by name.
    pub vars: VarMap,
}

impl Env {
    /// The value of `name`.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.vars.get(name).map(|v| v.value.as_str())
    }
    /// `(name, value)` pairs, exactly what the child gets.
    pub fn pairs(&self) -> impl Iterator<Item = (&str, &str)> {
        self.vars
            .iter()
            .map(|(k, v)| (k.as_str(), v.value.as_str()))
    }
    /// Number of variables.
    pub fn len(&self) -> usize {
        self.vars.len()
    }
    /// Whether empty.
    pub fn is_empty(&self) -> bool {
        self.vars.is_empty()
    }
}

impl fmt::Debug for Env {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map().entries(self.vars.iter()).finish()
    }
}

/// One resolved variable.
#[derive(Clone, PartialEq, Eq)]
pub struct EnvVar {
    /// The value the child gets. Print it only through [`EnvVar::display_value`].
    pub value: String,
    /// Its secret parts (`crate::secret::classify`): masked in every output
    /// unless `--show-secrets`, kept out of every 0644 exported file.
    pub secret: Spans,
    /// Where the value came from.
    pub source: Source,
    /// Lower-precedence values it overrode, highest first.
    pub shadowed: Vec<Shadowed>,
}

impl EnvVar {
    /// Whether any part of the value is secret.
    pub fn is_secret(&self) -> bool {
        self.secret.is_secret()
    }
    /// The value with its secret parts masked, unless `show_secrets`.
    pub fn display_value(&self, show_secrets: bool) -> String {
        shown(&self.value, &self.secret, show_secrets)
    }
}

fn shown(value: &str, secret: &Spans, show_secrets: bool) -> String {
    if show_secrets {
        value.to_string()
    } else {
        secret.display(value)
    }
}

impl fmt::Debug for EnvVar {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EnvVar")
            .field("value", &self.display_value(false))
            .field("source", &self.source)
            .finish()
    }
}

/// A value that a higher layer overrode.
#[derive(Clone, PartialEq, Eq)]
pub struct Shadowed {
    /// Where it came from.
    pub source: Source,
    /// The value.
    pub value: String,
    /// Its secret parts.
    pub secret: Spans,
}

impl Shadowed {
    /// The value with its secret parts masked, unless `show_secrets`.
    pub fn display_value(&self, show_secrets: bool) -> String {
        shown(&self.value, &self.secret, show_secrets)
    }
}

impl fmt::Debug for Shadowed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} = {:?}", self.source, self.display_value(false))
    }
}

/// Where a variable's value came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// The supervisor's own environment, via `inherit`.
    Os,
    /// A `[supervisor] env_files` file, at a line.
    EnvFile {
        /// The file.
        path: PathBuf,
        /// 1-based line.
        line: usize,
    },
    /// `[env]` in supervisor.toml.
    GlobalEnv {
        /// 1-based line in supervisor.toml.
        line: usize,
    },
    /// The service's `env_file`.
    ServiceEnvFile {
        /// The file.
        path: PathBuf,
        /// 1-based line.
        line: usize,
    },
    /// The service's `env` table.
    ServiceEnv {
        /// The service.
        service: String,
        /// 1-based line in supervisor.toml.
        line: usize,
    },
    /// The validated `[database] url`, exported under an `export_as` name.
    Database {
        /// The `${NAME}`s in `url` and where each value was found.
        via: Vec<(String, Box<Source>)>,
    },
    /// The service's `user` (`HOME`, `USER`, `LOGNAME`): above the inherited
    /// OS values, below everything the files and supervisor.toml set.
    User {
        /// The login name (or the uid, without a passwd entry).
        name: String,
        /// Whether the values come from a passwd entry.
        passwd: bool,
    },
    /// `REPLICA` / `REPLICA_PORT` of one copy of a replicated service: above
    /// every other layer (the supervisor sets them per copy).
    Replica {
        /// The service name as written.
        group: String,
        /// 1-based.
        index: u32,
        /// `replica_port_base`, for `REPLICA_PORT`.
        port_base: Option<u16>,
    },
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Source::Os => write!(f, "os"),
            Source::EnvFile { path, line } | Source::ServiceEnvFile { path, line } => {
                write!(f, "{}:{line}", path.display())
            }
            Source::GlobalEnv { line } => write!(f, "supervisor.toml:{line} [env]"),
            Source::ServiceEnv { service, line } => {
                write!(f, "supervisor.toml:{line} [services.{service}.env]")
            }
            Source::Database { via } => {
                write!(f, "database.url")?;
                for (name, origin) in via {
                    let at = match origin.as_ref() {
                        Source::Os => "OS environment".to_string(),
                        other => other.to_string(),
                    };
                    write!(f, " ← ${{{name}}} ({at})")?;
                }
                Ok(())
            }
            Source::User { name, passwd: true } => write!(f, "user {name} (passwd)"),
            Source::User {
                name,
                passwd: false,
            } => write!(f, "user {name} (no passwd entry)"),
            Source::Replica {
                group,
                index,
                port_base: None,
            } => {
                write!(f, "replica {index} of `{group}`")
            }
            Source::Replica {
                group,
                index,
                port_base: Some(base),
            } => write!(
                f,
                "replica {index} of `{group}` (replica_port_base {base} + {index} - 1)"
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn env_debug_masks_secret_values() {
        let mut env = Env::default();
        env.vars.insert(
            "DB_PASSWORD".into(),
            EnvVar {
                value: "s3cr3t-value".into(),
                secret: Spans::whole(12),
                source: Source::Os,
                shadowed: vec![],
            },
        );
        let dbg = format!("{env:?}");
        assert!(!dbg.contains("s3cr3t-value"), "{dbg}");
        assert!(dbg.contains(crate::secret::MASK));
    }
}
