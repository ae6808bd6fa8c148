//! `restart`, `stop`, `start`, `logs`: one request to a running `up` over its
//! control socket, and the shared plumbing `status` uses too (finding the
//! socket from the config, mapping failures to exit codes).

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use crate::cli::{Cli, ServiceArg};
use crate::cmd::common;
use crate::control::client::{self, ClientError};
use crate::control::path;
use crate::control::protocol::{ErrorKind, Request, Response};
use crate::exit;

/// Longest wait for an action's answer (the server bounds its own wait by
/// the service's stop_timeout; this only guards against a hung supervisor).
const ACTION_TIMEOUT: Duration = Duration::from_secs(600);
/// Longest wait for `status` / `logs`.
pub(crate) const QUICK_TIMEOUT: Duration = Duration::from_secs(30);

/// The socket paths to try for this config (or `--socket`).
pub(crate) fn candidates(cli: &Cli, socket: Option<&Path>) -> Result<Vec<PathBuf>, u8> {
    path::for_client(socket, &common::config_path(cli)).map_err(|e| {
        eprintln!("error: {e}");
        exit::CONFIG
    })
}

/// Send a streaming `req`; each item goes to `on_item` (false: stop).
/// Transport failures and a refusal are printed and become the exit code.
pub(crate) fn stream(
    cli: &Cli,
    socket: Option<&Path>,
    req: &Request,
    on_item: impl FnMut(crate::control::protocol::Item) -> bool,
) -> Result<(), u8> {
    let candidates = candidates(cli, socket)?;
    match client::stream(&candidates, req, on_item) {
        Ok(client::StreamEnd::Done) => Ok(()),
        Ok(client::StreamEnd::Refused(r)) => {
            eprintln!("error: {}", r.error.as_deref().unwrap_or("request failed"));
            Err(kind_code(r.kind))
        }
        Err(e) => {
            eprintln!("error: {e}");
            Err(transport_code(&e))
        }
    }
}

fn transport_code(e: &ClientError) -> u8 {
    match e {
        ClientError::NoSupervisor(_) | ClientError::Connect(..) | ClientError::Untrusted(..) => {
            exit::NO_SUPERVISOR
        }
        ClientError::Exchange(..) => exit::INTERNAL,
    }
}

/// Send `req` to the `up` of this config (or `--socket`). Transport and
/// server-side failures are printed and become the exit code.
pub(crate) fn call(
    cli: &Cli,
    socket: Option<&Path>,
    req: &Request,
    timeout: Duration,
) -> Result<Response, u8> {
    let candidates = candidates(cli, socket)?;
    let r = client::call(&candidates, req, timeout).map_err(|e| {
        eprintln!("error: {e}");
        transport_code(&e)
    })?;
    if r.ok {
        return Ok(r);
    }
    eprintln!("error: {}", r.error.as_deref().unwrap_or("request failed"));
    Err(r.exit_code.unwrap_or_else(|| kind_code(r.kind)))
}

/// The exit code of a failed response.
pub(crate) fn kind_code(kind: Option<ErrorKind>) -> u8 {
    match kind {
        Some(ErrorKind::Denied | ErrorKind::Unavailable) => exit::NO_SUPERVISOR,
        Some(ErrorKind::UnknownService | ErrorKind::Conflict) => exit::USAGE,
        Some(ErrorKind::Failed) => exit::SERVICE_FAILED,
        Some(ErrorKind::Invalid) => exit::CONFIG,
        Some(ErrorKind::BadRequest) | None => exit::INTERNAL,
    }
}

/// Write to stdout; a closed pipe (`| head`) is not an error worth a panic.
pub(crate) fn print_out(text: &str) {
    let mut out = std::io::stdout().lock();
    let _ = out.write_all(text.as_bytes()).and_then(|()| out.flush());
}

/// Which action.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Action {
    /// `start`.
    Start,
    /// `stop`.
    Stop,
    /// `restart`.
    Restart,
}

/// Run `start` / `stop` / `restart`.
pub(crate) fn action(cli: &Cli, args: &ServiceArg, what: Action) -> ExitCode {
    let service = args.service.clone();
    let req = match what {
        Action::Start => Request::Start { service },
        Action::Stop => Request::Stop { service },
        Action::Restart => Request::Restart { service },
    };
    match call(cli, args.socket.as_deref(), &req, ACTION_TIMEOUT) {
        Ok(r) => {
            match (r.actions, r.action) {
                (Some(all), _) => all
                    .iter()
                    .for_each(|a| print_out(&format!("{}\n", a.message))),
                (None, Some(a)) => print_out(&format!("{}\n", a.message)),
                (None, None) => {}
            }
            exit::code(exit::OK)
        }
        Err(code) => exit::code(code),
    }
}
