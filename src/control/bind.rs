//! Claiming the socket path for `up`: refuse when another live `up` answers
//! on it, remove a stale one (connect refused), bind with a 0177 umask and
//! chmod 0600 so no other user can even connect, and remove the file again on
//! exit — but only if it is still ours (same inode).

use std::io::ErrorKind;
use std::os::unix::fs::{FileTypeExt, MetadataExt, PermissionsExt};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};

use nix::sys::stat::{umask, Mode};

/// Why the socket could not be claimed.
#[derive(Debug, thiserror::Error)]
pub enum BindError {
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
pub struct Bound {
    /// The listener (blocking mode; the server makes it non-blocking).
    pub listener: Option<UnixListener>,
    path: PathBuf,
    ino: (u64, u64),
}

impl Bound {
    /// Where it listens.
    pub fn path(&self) -> &Path {
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
pub fn bind(path: &Path) -> Result<Bound, BindError> {
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
    // The umask makes the socket 0600 from its creation (bind creates and
    // listen follows at once); the chmod states it explicitly.
    let old = umask(Mode::from_bits_truncate(0o177));
    let listener = UnixListener::bind(path);
    umask(old);
    let listener = listener.map_err(|e| match e.kind() {
        ErrorKind::AddrInUse => BindError::InUse(path.into()),
        _ => io(e),
    })?;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)).map_err(io)?;
    let m = std::fs::symlink_metadata(path).map_err(io)?;
    Ok(Bound {
        listener: Some(listener),
        path: path.to_path_buf(),
        ino: (m.dev(), m.ino()),
    })
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
