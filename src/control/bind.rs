//! Claiming the socket path for `up`: refuse when another live `up` answers
//! on it, remove a stale one (connect refused), bind in a private 0700
//! directory beside it, chmod 0600 there and only then link it into place,
//! so no other user can ever connect, and remove the file again on exit — but
//! only if it is still ours (same inode). No umask change: the umask is
//! process-wide, and a thread forking meanwhile (a service, a test) would
//! inherit 0177.

use std::io::ErrorKind;
use std::os::unix::fs::{FileTypeExt, MetadataExt, PermissionsExt};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};

/// Why the socket could not be claimed.
#[derive(Debug, thiserror::Error)]
pub(crate) enum BindError {
    /// Another `up` answers on it.
    #[error("another `up` is already running with control socket {0} (stop it first, or set [supervisor] control_socket)")]
    InUse(PathBuf),
    /// The path exists and is not a socket: we never delete a user's file.
    #[error("{0} exists and is not a socket; refusing to replace it")]
    NotSocket(PathBuf),
    /// Anything else.
    #[error("cannot listen on {0}: {1}")]
    Io(PathBuf, std::io::Error),
}

/// A bound listener; dropping it removes the socket file.
#[derive(Debug)]
pub(crate) struct Bound {
    /// The listener (blocking mode; the server makes it non-blocking).
    pub listener: Option<UnixListener>,
    path: PathBuf,
    ino: (u64, u64),
}

impl Bound {
    /// Where it listens.
    pub(crate) fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for Bound {
    fn drop(&mut self) {
        drop(self.listener.take());
        // Only our own socket: a new `up` may have replaced a file we lost.
        if let Ok(m) = std::fs::symlink_metadata(&self.path) {
            if (m.dev(), m.ino()) == self.ino {
                let _ = std::fs::remove_file(&self.path);
            }
        }
    }
}

/// Claim `path`. A stale socket (nobody listening) is removed first.
pub(crate) fn bind(path: &Path) -> Result<Bound, BindError> {
    let io = |e| BindError::Io(path.to_path_buf(), e);
    match std::fs::symlink_metadata(path) {
        Ok(m) if !m.file_type().is_socket() => return Err(BindError::NotSocket(path.into())),
        Ok(_) => match UnixStream::connect(path) {
            Ok(_) => return Err(BindError::InUse(path.into())),
            Err(e) if e.kind() == ErrorKind::ConnectionRefused => {
                tracing::info!("removing stale control socket {}", path.display());
                std::fs::remove_file(path).map_err(io)?;
            }
            Err(e) => return Err(io(e)),
        },
        Err(e) if e.kind() == ErrorKind::NotFound => {}
        Err(e) => return Err(io(e)),
    }
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(io)?;
    }
    let listener = bind_private(path).map_err(|e| match e.kind() {
        ErrorKind::AlreadyExists | ErrorKind::AddrInUse => BindError::InUse(path.into()),
        _ => io(e),
    })?;
    let m = std::fs::symlink_metadata(path).map_err(io)?;
    Ok(Bound {
        listener: Some(listener),
        path: path.to_path_buf(),
        ino: (m.dev(), m.ino()),
    })
}

/// Bind `path` as a socket that is 0600 before anyone can reach it: bound in
/// a fresh 0700 directory beside `path`, chmod-ed there, then hard-linked to
/// `path` (which fails when `path` exists: another `up` won the race).
fn bind_private(path: &Path) -> std::io::Result<UnixListener> {
    use std::os::unix::fs::DirBuilderExt;
    let dir = path.parent().filter(|d| !d.as_os_str().is_empty());
    let dir = dir.unwrap_or(Path::new("."));
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned());
    let tmp = dir.join(format!(
        ".{}.{}.tmp",
        name.unwrap_or_else(|| "control".into()),
        std::process::id()
    ));
    std::fs::DirBuilder::new().mode(0o700).create(&tmp)?;
    let inner = tmp.join("s");
    let result = UnixListener::bind(&inner).and_then(|l| {
        std::fs::set_permissions(&inner, std::fs::Permissions::from_mode(0o600))?;
        std::fs::hard_link(&inner, path)?;
        Ok(l)
    });
    let _ = std::fs::remove_file(&inner);
    let _ = std::fs::remove_dir(&tmp);
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn live_refuses_stale_recovers_and_drop_removes() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("s.sock");
        let b = bind(&p).unwrap();
        let mode = std::fs::metadata(&p).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        assert!(matches!(bind(&p), Err(BindError::InUse(_))));
        // A stale socket: bound by a listener that is gone, file left behind.
        drop(UnixListener::bind(dir.path().join("stale.sock")).unwrap());
        let stale = dir.path().join("stale.sock");
        assert!(stale.exists());
        let b2 = bind(&stale).unwrap();
        drop(b);
        assert!(!p.exists());
        drop(b2);
        assert!(!stale.exists());
    }

    #[test]
    fn never_replaces_a_regular_file() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("file");
        std::fs::write(&p, "keep").unwrap();
        assert!(matches!(bind(&p), Err(BindError::NotSocket(_))));
        assert_eq!(std::fs::read_to_string(&p).unwrap(), "keep");
    }

    #[test]
    fn creates_the_parent_directory() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("run/sub/s.sock");
        let b = bind(&p).unwrap();
        assert!(p.exists());
        drop(b);
    }
}
