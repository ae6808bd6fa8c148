//! The one I/O part of `up --watch`: an inotify descriptor in the runtime's
//! epoll through tokio's [`AsyncFd`]. Directories only (see `targets` on why
//! files are watched through their directory); a watched tree gains a watch
//! for every directory created or moved into it later. Each directory costs
//! one watch of the user's `fs.inotify.max_user_watches`; reaching it is
//! reported once, with the way out, and watching goes on with what it has.

use std::collections::HashMap;
use std::io;
use std::os::fd::{AsFd, AsRawFd, RawFd};
use std::path::{Path, PathBuf};

use nix::errno::Errno;
use nix::sys::inotify::{AddWatchFlags as F, InitFlags, Inotify, InotifyEvent, WatchDescriptor};
use tokio::io::unix::AsyncFd;
use tokio::io::Interest;

use super::targets::Targets;

/// What a directory watch reports: a file closed after writing, touched or
/// chmod-ed (`IN_ATTRIB`: `touch src/app.js` forces a restart), entries
/// created, removed or renamed (both ends), and the directory itself going
/// away. Not `IN_MODIFY`: a write is complete when its writer closes the
/// file, and a log a process keeps open must not wake the watcher per line.
fn mask() -> F {
    F::IN_CLOSE_WRITE
        | F::IN_ATTRIB
        | F::IN_CREATE
        | F::IN_DELETE
        | F::IN_MOVED_FROM
        | F::IN_MOVED_TO
        | F::IN_DELETE_SELF
        | F::IN_MOVE_SELF
        | F::IN_ONLYDIR
}

/// `AsyncFd` wants `AsRawFd`, which nix 0.32's `Inotify` lacks (it has `AsFd`).
struct Fd(Inotify);

impl AsRawFd for Fd {
    fn as_raw_fd(&self) -> RawFd {
        self.0.as_fd().as_raw_fd()
    }
}

/// Watches over the directories of one set of [`Targets`].
pub(crate) struct Watcher {
    fd: AsyncFd<Fd>,
    dirs: HashMap<WatchDescriptor, PathBuf>,
    limit_reported: bool,
    /// The kernel's queue overflowed: changes were lost (cleared by the reader).
    pub overflowed: bool,
}

impl Watcher {
    /// Watch everything `t` names that exists. Fails only when inotify
    /// itself is unavailable (e.g. `fs.inotify.max_user_instances` reached).
    pub(crate) fn new(t: &Targets) -> io::Result<Watcher> {
        let ino = Inotify::init(InitFlags::IN_NONBLOCK | InitFlags::IN_CLOEXEC).map_err(|e| {
            let hint = match e {
                Errno::EMFILE => " (fs.inotify.max_user_instances reached)",
                _ => "",
            };
            io::Error::other(format!("cannot start inotify: {e}{hint}"))
        })?;
        // SAFETY: `Fd` owns the inotify descriptor (an `OwnedFd` inside
        // `Inotify`), never closes or replaces it, and its `as_raw_fd` always
        // returns that one descriptor; the `AsyncFd` owns the `Fd`.
        let fd = unsafe { AsyncFd::register_with_interest(Fd(ino), Interest::READABLE) }
            .map_err(|e| io::Error::other(e.to_string()))?;
        let mut w = Watcher {
            fd,
            dirs: HashMap::new(),
            limit_reported: false,
            overflowed: false,
        };
        let (flat, roots) = t.dirs();
        for d in flat.iter().filter(|d| d.is_dir()) {
            w.add(d);
        }
        for r in roots.iter().filter(|r| r.is_dir()) {
            w.add_tree(r, t);
        }
        Ok(w)
    }

    /// How many directories are watched.
    pub(crate) fn len(&self) -> usize {
        self.dirs.len()
    }

    /// The paths changed since the last call (waits for at least one event).
    pub(crate) async fn next(&mut self, t: &Targets) -> io::Result<Vec<PathBuf>> {
        loop {
            let mut ready = self.fd.readable().await?;
            match ready.get_inner().0.read_events() {
                Ok(events) => {
                    drop(ready);
                    return Ok(self.paths(events, t));
                }
                Err(Errno::EAGAIN) => ready.clear_ready(),
                Err(e) => return Err(e.into()),
            }
        }
    }

    fn paths(&mut self, events: Vec<InotifyEvent>, t: &Targets) -> Vec<PathBuf> {
        let mut out = Vec::new();
        for e in events {
            if e.mask.contains(F::IN_Q_OVERFLOW) {
                self.overflowed = true;
                continue;
            }
            if e.mask.contains(F::IN_IGNORED) {
                self.dirs.remove(&e.wd);
                continue;
            }
            let Some(dir) = self.dirs.get(&e.wd) else {
                continue;
            };
            let is_dir = e.mask.contains(F::IN_ISDIR);
            if e.mask.contains(F::IN_CREATE) && !is_dir {
                // A new file counts when its writer closes it (IN_CLOSE_WRITE).
                continue;
            }
            let path = e.name.map_or_else(|| dir.clone(), |n| dir.join(n));
            let new_dir = is_dir && e.mask.intersects(F::IN_CREATE | F::IN_MOVED_TO);
            if new_dir && t.descend(&path) {
                self.add_tree(&path, t);
            }
            out.push(path);
        }
        out
    }

    /// `root` and every directory below it that `t` descends into.
    fn add_tree(&mut self, root: &Path, t: &Targets) {
        let mut stack = vec![root.to_path_buf()];
        while let Some(dir) = stack.pop() {
            if !self.add(&dir) {
                continue;
            }
            let Ok(entries) = std::fs::read_dir(&dir) else {
                continue;
            };
            for e in entries.flatten() {
                let sub = e.path();
                if e.file_type().is_ok_and(|f| f.is_dir()) && t.descend(&sub) {
                    stack.push(sub);
                }
            }
        }
    }

    /// Watch one directory; false when it could not be.
    fn add(&mut self, dir: &Path) -> bool {
        match self.fd.get_ref().0.add_watch(dir, mask()) {
            Ok(wd) => {
                self.dirs.insert(wd, dir.to_path_buf());
                true
            }
            Err(Errno::ENOSPC) => {
                if !self.limit_reported {
                    self.limit_reported = true;
                    tracing::error!("{}", limit_message(self.dirs.len(), dir));
                }
                false
            }
            // Gone meanwhile, or not a directory: nothing to watch.
            Err(Errno::ENOENT | Errno::ENOTDIR) => false,
            Err(e) => {
                tracing::warn!("watch: cannot watch {}: {e}", dir.display());
                false
            }
        }
    }
}

/// The inotify watch limit was reached (`ENOSPC`): what, and the way out.
pub(crate) fn limit_message(watched: usize, dir: &Path) -> String {
    let read = |p: &str| std::fs::read_to_string(p).ok()?.trim().parse::<u64>().ok();
    let global = read("/proc/sys/fs/inotify/max_user_watches");
    let userns = read("/proc/sys/user/max_inotify_watches");
    let limit = limit_text(global, userns);
    let raise = if limit.starts_with("user.") {
        "write a larger number to /proc/sys/user/max_inotify_watches (as the namespace's root)"
    } else {
        "sudo sysctl fs.inotify.max_user_watches=524288"
    };
    format!(
        "watch: the inotify watch limit is reached ({limit}, shared by all of this user's \
         programs; {watched} directories watched here): changes under {} and beyond will \
         not be seen. Add the big directories to `watch_ignore`, or raise the limit: {raise}",
        dir.display()
    )
}

/// Which limit binds: the system's, or a lower one of this user namespace (a
/// container's `user.max_inotify_watches`). Pure.
pub(crate) fn limit_text(global: Option<u64>, userns: Option<u64>) -> String {
    match (global, userns) {
        (g, Some(u)) if g.is_none_or(|g| u < g) => {
            format!("user.max_inotify_watches = {u} in this user namespace")
        }
        (Some(g), _) => format!("fs.inotify.max_user_watches = {g}"),
        (None, _) => "fs.inotify.max_user_watches".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_binding_limit_is_named() {
        assert_eq!(
            limit_text(Some(8192), Some(1 << 31)),
            "fs.inotify.max_user_watches = 8192"
        );
        assert_eq!(
            limit_text(Some(8192), Some(4)),
            "user.max_inotify_watches = 4 in this user namespace"
        );
        assert_eq!(limit_text(None, None), "fs.inotify.max_user_watches");
    }
}
