//! The control socket: how `status`, `restart`, `stop`, `start`, `reload` and `logs`
//! talk to a running `up`.
//!
//! `up` binds a Unix socket (mode 0600) next to the runtime and answers one
//! JSON request line with one JSON response line per connection, after
//! checking the peer's uid (`SO_PEERCRED`: same uid or root). The client
//! commands find the socket the same way `up` chose it (config → path), so
//! `uaol-supervisor status` from the project directory just works.
//!
//! Layout: [`protocol`] (the wire types, pure), [`path`] (where the socket
//! is), [`bind`] (stale/live socket handling, permissions, removal on exit),
//! [`server`] (accept loop, peer check), [`context`] (what every handler
//! shares: the supervisor's handle, the Plan's names and secrets),
//! [`serve`] (one request against the supervisor's handle; process-group
//! RSS/CPU from `supervisor::usage`),
//! [`act`] (start/stop/restart: a command with a ticket to the engine, which
//! plans the cascade from its one dependency graph and answers once settled),
//! [`reload`] (read the configuration again, diff, probe, swap, apply; what
//! it needs from `up`'s start is a [`reloader::Reloader`]),
//! [`display`] (what a client shows is made inert), [`client`] (one request
//! from a command).

pub(crate) mod act;
pub(crate) mod bind;
pub(crate) mod client;
pub(crate) mod context;
pub(crate) mod display;
pub(crate) mod inbox;
pub(crate) mod path;
pub(crate) mod protocol;
pub(crate) mod reload;
pub(crate) mod reloader;
pub(crate) mod serve;
pub(crate) mod server;
pub(crate) mod stream;
pub(crate) mod watch;

use crate::plan::Plan;

/// Why `up` has no control socket.
#[derive(Debug, thiserror::Error)]
pub(crate) enum ListenError {
    /// No path for it.
    #[error(transparent)]
    Path(#[from] path::PathError),
    /// The path cannot be claimed.
    #[error(transparent)]
    Bind(#[from] bind::BindError),
}

/// What [`listen`] got.
#[derive(Debug)]
pub(crate) enum Listening {
    /// The socket, claimed.
    On(bind::Bound),
    /// The default place cannot hold a socket (read-only, or too long a path,
    /// as in a container with the config mounted read-only): `up` runs
    /// without one — supervising matters more — and warns with this.
    Without(ListenError),
}

/// For `up`: claim the control socket of `plan`. A configured path that
/// fails, or a live `up` on it, is an error.
pub(crate) fn listen(plan: &Plan) -> Result<Listening, ListenError> {
    let configured = plan.settings.control_socket.as_deref();
    let claimed = path::for_up(configured, &plan.config_path)
        .map_err(ListenError::from)
        .and_then(|p| Ok(bind::bind(&p)?));
    match claimed {
        Ok(b) => Ok(Listening::On(b)),
        Err(e) if configured.is_none() && tolerable(&e) => Ok(Listening::Without(e)),
        Err(e) => Err(e),
    }
}

/// At the default place: no path, or a place that cannot hold a socket.
fn tolerable(e: &ListenError) -> bool {
    match e {
        ListenError::Path(_) => true,
        ListenError::Bind(b) => unwritable(b),
    }
}

/// The place cannot hold our socket at all (read-only, no permission).
pub(crate) fn unwritable(e: &bind::BindError) -> bool {
    match e {
        bind::BindError::Io(_, io) => matches!(
            io.raw_os_error(),
            Some(libc::EROFS | libc::EACCES | libc::EPERM)
        ),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::bind::BindError;
    use super::*;
    use std::io::Error;
    use std::path::PathBuf;

    #[test]
    fn only_an_unwritable_place_is_tolerated() {
        let p = PathBuf::from("/x");
        let io = |n| BindError::Io(p.clone(), Error::from_raw_os_error(n));
        assert!(unwritable(&io(libc::EROFS)));
        assert!(unwritable(&io(libc::EACCES)));
        assert!(!unwritable(&io(libc::ENOSPC)));
        assert!(!unwritable(&BindError::InUse(p.clone())));
        assert!(!unwritable(&BindError::NotSocket(p.clone())));
    }

    #[test]
    fn at_the_default_place_no_path_is_tolerated_but_a_live_up_is_not() {
        let p = PathBuf::from("/x");
        let long = path::PathError::TooLong {
            path: p.clone(),
            len: 200,
        };
        assert!(tolerable(&ListenError::Path(long)));
        assert!(!tolerable(&ListenError::Bind(BindError::InUse(p))));
    }
}
