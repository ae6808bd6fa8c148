//! The control socket: how `status`, `restart`, `stop`, `start` and `logs`
//! talk to a running `up`.
//!
//! `up` binds a Unix socket (mode 0600) next to the runtime and answers one
//! JSON request line with one JSON response line per connection, after
//! checking the peer's uid (`SO_PEERCRED`: same uid or root). The client
//! commands find the socket the same way `up` chose it (config → path), so
//! `uaol-supervisor status` from the project directory just works.
//!
//! Layout: [`protocol`] (the wire types, pure), [`path`] (where the socket
//! is), [`usage`] (process-group RSS/CPU with sysinfo), [`bind`] (stale/live
//! socket handling, permissions, removal on exit), [`server`] (accept loop,
//! peer check), [`serve`] (one request against the supervisor's handle),
//! [`act`] (start/stop/restart with their dependencies), [`deps`] (which
//! ones, pure), [`settle`] (one action on one service and waiting for the
//! result), [`client`] (one request from a command).

pub mod act;
pub mod bind;
pub mod client;
pub mod deps;
pub mod path;
pub mod protocol;
pub mod serve;
pub mod server;
pub mod settle;
pub mod usage;

use crate::exit;
use crate::plan::Plan;

/// For `up`: claim the control socket of `plan`, or say why not (printed)
/// and return the exit code.
pub fn listen(plan: &Plan) -> Result<bind::Bound, u8> {
    let configured = plan.settings.control_socket.as_deref();
    let path = path::for_up(configured, &plan.config_path).map_err(|e| {
        eprintln!("error: {e}");
        exit::CONFIG
    })?;
    match bind::bind(&path) {
        Ok(b) => Ok(b),
        Err(e) => {
            eprintln!("error: {e}");
            Err(match e {
                bind::BindError::InUse(_) => exit::ALREADY_RUNNING,
                bind::BindError::NotSocket(_) => exit::CONFIG,
                bind::BindError::Io(..) => exit::IO,
            })
        }
    }
}
