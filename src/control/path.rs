//! Where the control socket lives. `up` and the client commands compute it
//! the same way from the config file, so they meet without being told:
//! `[supervisor] control_socket` when set, else
//! `$XDG_RUNTIME_DIR/uaol-supervisor-<hash>.sock` (hash of the canonical
//! config path, so two projects never collide), else `.uaol-supervisor.sock`
//! next to the config file.

use std::ffi::OsStr;
use std::path::{Path, PathBuf};

/// File name of the fallback socket next to the config.
pub(crate) const LOCAL_NAME: &str = ".uaol-supervisor.sock";
/// Longest path a Unix socket address can hold (`sun_path` is 108 bytes with the NUL).
pub(crate) const MAX_PATH: usize = 107;

/// 12 hex digits of FNV-1a 64 over `bytes`: stable across builds and platforms.
pub(crate) fn short_hash(bytes: &[u8]) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in bytes {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    format!("{:012x}", h >> 16)
}

/// A usable `$XDG_RUNTIME_DIR`: set, absolute, a directory.
pub(crate) fn runtime_dir(value: Option<&OsStr>) -> Option<PathBuf> {
    let dir = PathBuf::from(value.filter(|v| !v.is_empty())?);
    (dir.is_absolute() && dir.is_dir()).then_some(dir)
}

/// The default candidates for a canonical config path, preferred first:
/// under the runtime directory (when usable), then next to the config.
pub(crate) fn defaults(canonical_config: &Path, runtime: Option<&Path>) -> Vec<PathBuf> {
    use std::os::unix::ffi::OsStrExt;
    let mut out = Vec::new();
    if let Some(dir) = runtime {
        let hash = short_hash(canonical_config.as_os_str().as_bytes());
        out.push(dir.join(format!("uaol-supervisor-{hash}.sock")));
    }
    let base = canonical_config.parent().unwrap_or(Path::new("/"));
    out.push(base.join(LOCAL_NAME));
    out
}

/// Why no socket path could be chosen.
#[derive(Debug, thiserror::Error)]
pub(crate) enum PathError {
    /// The config file (whose place names the socket) cannot be found.
    #[error("cannot find {}: {err}", config.display())]
    NoConfig {
        /// The config path.
        config: PathBuf,
        /// Why.
        err: std::io::Error,
    },
    /// A client without a config to go by.
    #[error("{0}\n  (run from the project directory, pass -c PATH, or --socket PATH)")]
    ClientNoConfig(Box<PathError>),
    /// The config cannot be read.
    #[error("{0}")]
    Unreadable(crate::diag::Problem),
    /// `[supervisor] control_socket` is not a string, or the file not TOML.
    #[error("{}: {why}", config.display())]
    Setting {
        /// The config path.
        config: PathBuf,
        /// What is wrong with it.
        why: SettingError,
    },
    /// Longer than `sun_path` holds.
    #[error("control socket path is {len} bytes, longer than the {MAX_PATH} a Unix socket allows: {}\n  (set a shorter [supervisor] control_socket)", path.display())]
    TooLong {
        /// The path.
        path: PathBuf,
        /// Its length in bytes.
        len: usize,
    },
}

/// What is wrong with `[supervisor] control_socket` as read by a client.
#[derive(Debug, thiserror::Error)]
pub(crate) enum SettingError {
    /// The file is not TOML.
    #[error("{0}")]
    Toml(#[from] toml::de::Error),
    /// The value is not a string.
    #[error("supervisor.control_socket: expected a string")]
    NotAString,
}

/// The canonical form of the config path (it must exist).
pub(crate) fn canonical(config: &Path) -> Result<PathBuf, PathError> {
    std::fs::canonicalize(config).map_err(|err| PathError::NoConfig {
        config: config.to_path_buf(),
        err,
    })
}

/// Where `up` listens: `configured` (already absolute), else the first default.
pub(crate) fn for_up(configured: Option<&Path>, config: &Path) -> Result<PathBuf, PathError> {
    let path = match configured {
        Some(p) => p.to_path_buf(),
        None => {
            let runtime = runtime_dir(std::env::var_os("XDG_RUNTIME_DIR").as_deref());
            let mut c = defaults(&canonical(config)?, runtime.as_deref());
            c.remove(0)
        }
    };
    check_len(&path)?;
    Ok(path)
}

/// `[supervisor] control_socket` read straight from the config text (the
/// client does not build the whole Plan: its environment may lack the
/// variables the services need), resolved against the config's directory.
pub(crate) fn configured(text: &str, dir: &Path) -> Result<Option<PathBuf>, SettingError> {
    let table: toml::Table = text.parse()?;
    let value = table
        .get("supervisor")
        .and_then(|s| s.get("control_socket"));
    match value {
        None => Ok(None),
        Some(toml::Value::String(s)) => Ok(Some(dir.join(s))),
        Some(_) => Err(SettingError::NotAString),
    }
}

/// The sockets a client should try, preferred first.
pub(crate) fn for_client(
    explicit: Option<&Path>,
    config: &Path,
) -> Result<Vec<PathBuf>, PathError> {
    if let Some(p) = explicit {
        return Ok(vec![p.to_path_buf()]);
    }
    let canon = canonical(config).map_err(|e| PathError::ClientNoConfig(Box::new(e)))?;
    let dir = canon.parent().unwrap_or(Path::new("/"));
    let text = crate::diag::read::read_text(&canon).map_err(PathError::Unreadable)?;
    // A file that does not parse (an edit in progress, a `reload` about to
    // be refused for it) still names the default sockets: the running `up`
    // reports the problem itself.
    let set = match text.parse::<toml::Table>() {
        Ok(_) => configured(&text, dir).map_err(|why| PathError::Setting {
            config: canon.clone(),
            why,
        })?,
        Err(_) => None,
    };
    Ok(match set {
        Some(p) => vec![p],
        None => {
            let runtime = runtime_dir(std::env::var_os("XDG_RUNTIME_DIR").as_deref());
            defaults(&canon, runtime.as_deref())
        }
    })
}

/// A Unix socket path must fit in `sun_path`.
pub(crate) fn check_len(path: &Path) -> Result<(), PathError> {
    use std::os::unix::ffi::OsStrExt;
    let len = path.as_os_str().as_bytes().len();
    if len > MAX_PATH {
        return Err(PathError::TooLong {
            path: path.to_path_buf(),
            len,
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hash_is_stable_and_short() {
        assert_eq!(short_hash(b"/srv/app/supervisor.toml").len(), 12);
        assert_eq!(
            short_hash(b"/srv/app/supervisor.toml"),
            short_hash(b"/srv/app/supervisor.toml")
        );
        assert_ne!(
            short_hash(b"/a/supervisor.toml"),
            short_hash(b"/b/supervisor.toml")
        );
        // FNV-1a 64 of "" is the offset basis.
        assert_eq!(
            short_hash(b""),
            format!("{:012x}", 0xcbf2_9ce4_8422_2325_u64 >> 16)
        );
    }

    #[test]
    fn defaults_prefer_the_runtime_dir() {
        let c = Path::new("/srv/app/supervisor.toml");
        let d = defaults(c, Some(Path::new("/run/user/1000")));
        assert_eq!(d.len(), 2);
        assert!(d[0].starts_with("/run/user/1000"));
        assert!(d[0].to_string_lossy().ends_with(".sock"));
        assert_eq!(d[1], Path::new("/srv/app/.uaol-supervisor.sock"));
        assert_eq!(
            defaults(c, None),
            vec![PathBuf::from("/srv/app/.uaol-supervisor.sock")]
        );
    }

    #[test]
    fn runtime_dir_must_be_an_absolute_directory() {
        assert_eq!(runtime_dir(None), None);
        assert_eq!(runtime_dir(Some(OsStr::new(""))), None);
        assert_eq!(runtime_dir(Some(OsStr::new("relative"))), None);
        assert_eq!(runtime_dir(Some(OsStr::new("/nonexistent/xyz"))), None);
        assert_eq!(runtime_dir(Some(OsStr::new("/"))), Some(PathBuf::from("/")));
    }

    #[test]
    fn configured_socket_is_relative_to_the_config() {
        let dir = Path::new("/srv/app");
        let t = "[supervisor]\ncontrol_socket = \"run/uaol.sock\"\n";
        assert_eq!(
            configured(t, dir).ok(),
            Some(Some(PathBuf::from("/srv/app/run/uaol.sock")))
        );
        let abs = "[supervisor]\ncontrol_socket = \"/tmp/x.sock\"\n";
        assert_eq!(
            configured(abs, dir).ok(),
            Some(Some(PathBuf::from("/tmp/x.sock")))
        );
        let none = configured("[services.a]\ncommand = \"x\"\n", dir);
        assert_eq!(none.ok(), Some(None));
        assert!(matches!(
            configured("[supervisor]\ncontrol_socket = 3\n", dir),
            Err(SettingError::NotAString)
        ));
    }

    #[test]
    fn long_paths_are_refused() {
        assert!(check_len(Path::new("/tmp/ok.sock")).is_ok());
        let long = format!("/{}", "x".repeat(200));
        let e = check_len(Path::new(&long)).unwrap_err();
        assert!(e.to_string().contains("longer than"), "{e}");
    }
}
