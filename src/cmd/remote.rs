//! The client side of the control socket: `restart`, `stop`, `start` (one
//! request to a running `up`), and the plumbing `status`, `logs`, `events`
//! and `reload` share — finding the socket from the config, turning a
//! transport failure or a refusal into an [`Error`].

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Duration;

use super::Outcome;
use crate::cli::{Cli, ServiceArg};
use crate::cmd::common;
use crate::control::client;
use crate::control::path;
use crate::control::protocol::{ErrorKind, Request, Response};
use crate::error::Error;
use crate::exit;
use crate::supervisor::commands::Verb;

/// Longest wait for an action's answer (the server bounds its own wait by
/// the service's stop_timeout; this only guards against a hung supervisor).
const ACTION_TIMEOUT: Duration = Duration::from_secs(600);
/// Longest wait for `status` / `logs`.
pub(crate) const QUICK_TIMEOUT: Duration = Duration::from_secs(30);

/// The socket paths to try for this config (or `--socket`).
pub(crate) fn candidates(cli: &Cli, socket: Option<&Path>) -> Result<Vec<PathBuf>, Error> {
    Ok(path::for_client(socket, &common::config_path(cli))?)
}

/// Send a streaming `req`; each item goes to `on_item` (false: stop).
pub(crate) fn stream(
    cli: &Cli,
    socket: Option<&Path>,
    req: &Request,
    mut on_item: impl client::Items,
) -> Outcome {
    let candidates = candidates(cli, socket)?;
    match client::stream(&candidates, req, &mut on_item)? {
        client::StreamEnd::Done => Ok(exit::OK),
        // A refused stream goes by its kind alone.
        client::StreamEnd::Refused(r) => Err(Error::Refused {
            message: message(&r),
            code: kind_code(r.kind),
        }),
    }
}

/// Send `req` to the `up` of this config (or `--socket`); a refusal is an error.
pub(crate) fn call(
    cli: &Cli,
    socket: Option<&Path>,
    req: &Request,
    timeout: Duration,
) -> Result<Response, Error> {
    let candidates = candidates(cli, socket)?;
    let r = client::call(&candidates, req, timeout)?;
    if r.ok {
        return Ok(r);
    }
    Err(refused(&r))
}

/// A failed response as an error: its message, its code.
fn refused(r: &Response) -> Error {
    Error::Refused {
        message: message(r),
        code: answer_code(r),
    }
}

fn message(r: &Response) -> String {
    r.error.as_deref().unwrap_or("request failed").to_owned()
}

/// The exit code of a response: OK, or the code of its failure.
pub(crate) fn answer_code(r: &Response) -> u8 {
    if r.ok {
        return exit::OK;
    }
    r.exit_code.unwrap_or_else(|| kind_code(r.kind))
}

/// The exit code of a failed response's kind.
fn kind_code(kind: Option<ErrorKind>) -> u8 {
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

/// Run `start` / `stop` / `restart`.
pub(crate) fn verb(cli: &Cli, args: &ServiceArg, verb: Verb) -> Outcome {
    let service = args.service.clone();
    let req = match verb {
        Verb::Start => Request::Start { service },
        Verb::Stop => Request::Stop { service },
        Verb::Restart => Request::Restart { service },
    };
    let r = call(cli, args.socket.as_deref(), &req, ACTION_TIMEOUT)?;
    match (r.actions, r.action) {
        (Some(all), _) => all
            .iter()
            .for_each(|a| print_out(&format!("{}\n", a.message))),
        (None, Some(a)) => print_out(&format!("{}\n", a.message)),
        (None, None) => {}
    }
    Ok(exit::OK)
}
