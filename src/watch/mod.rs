//! `up --watch`: kernel file notifications (inotify) turned into reloads and
//! restarts. Pure parts — which paths mean what ([`targets`]), ignore globs
//! ([`ignore`]), the debounce ([`debounce`]) — apart from the one I/O part,
//! [`inotify`]. The loop that acts (through `reload` and the engine's
//! `restart` command, like a client would) is `control::watch`.
//!
//! Why inotify through `nix` and tokio's `AsyncFd` rather than the `notify`
//! crate: `nix` is already a dependency (one more feature flag, no new crate
//! tree), and `notify` runs its own background thread per watcher, while an
//! inotify descriptor is one more fd in the current-thread runtime's epoll —
//! nothing runs, nothing wakes, while nothing changes.

pub(crate) mod debounce;
pub(crate) mod ignore;
pub(crate) mod inotify;
pub(crate) mod targets;
