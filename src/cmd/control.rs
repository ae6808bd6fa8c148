//! `restart`, `stop`, `start`, `logs`: one request to a running `up` over its
//! control socket, and the shared plumbing `status` uses too (finding the
//! socket from the config, mapping failures to exit codes).

use std::io::Write;
use std::path::Path;
use std::process::ExitCode;
use std::time::Duration;

use crate::cli::{Cli, LogsArgs, ServiceArg};
use crate::cmd::common;
use crate::control::client::{self, ClientError};
use crate::control::path;
use crate::control::protocol::{ErrorKind, Request, Response};
use crate::exit;

/// Longest wait for an action's answer (the server bounds its own wait by
/// the service's stop_timeout; this only guards against a hung supervisor).
const ACTION_TIMEOUT: Duration = Duration::from_secs(600);
/// Longest wait for `status` / `logs`.
pub const QUICK_TIMEOUT: Duration = Duration::from_secs(30);

/// Send `req` to the `up` of this config (or `--socket`). Transport and
/// server-side failures are printed and become the exit code.
pub fn call(
    cli: &Cli,
    socket: Option<&Path>,
    req: &Request,
    timeout: Duration,
) -> Result<Response, u8> {
    let candidates = path::for_client(socket, &common::config_path(cli)).map_err(|e| {
        eprintln!("error: {e}");
        exit::CONFIG
    })?;
    let r = client::call(&candidates, req, timeout).map_err(|e| {
        eprintln!("error: {e}");
        match e {
            ClientError::NoSupervisor(_)
            | ClientError::Connect(..)
            | ClientError::Untrusted(..) => exit::NO_SUPERVISOR,
            ClientError::Exchange(..) => exit::INTERNAL,
        }
    })?;
    if r.ok {
        return Ok(r);
    }
    eprintln!("error: {}", r.error.as_deref().unwrap_or("request failed"));
    Err(kind_code(r.kind))
}

/// The exit code of a failed response.
pub fn kind_code(kind: Option<ErrorKind>) -> u8 {
    match kind {
        Some(ErrorKind::Denied | ErrorKind::Unavailable) => exit::NO_SUPERVISOR,
        Some(ErrorKind::UnknownService | ErrorKind::Conflict) => exit::USAGE,
        Some(ErrorKind::Failed) => exit::SERVICE_FAILED,
        Some(ErrorKind::BadRequest) | None => exit::INTERNAL,
    }
}

/// Write to stdout; a closed pipe (`| head`) is not an error worth a panic.
pub fn print_out(text: &str) {
    let mut out = std::io::stdout().lock();
    let _ = out.write_all(text.as_bytes()).and_then(|()| out.flush());
}

/// Which action.
#[derive(Debug, Clone, Copy)]
pub enum Action {
    /// `start`.
    Start,
    /// `stop`.
    Stop,
    /// `restart`.
    Restart,
}

/// Run `start` / `stop` / `restart`.
pub fn action(cli: &Cli, args: &ServiceArg, what: Action) -> ExitCode {
    let service = args.service.clone();
    let req = match what {
        Action::Start => Request::Start { service },
        Action::Stop => Request::Stop { service },
        Action::Restart => Request::Restart { service },
    };
    match call(cli, args.socket.as_deref(), &req, ACTION_TIMEOUT) {
        Ok(r) => {
            if let Some(a) = r.action {
                print_out(&format!("{}\n", a.message));
            }
            exit::code(exit::OK)
        }
        Err(code) => exit::code(code),
    }
}

/// Run `logs SERVICE [-n N]`: stdout lines to stdout, stderr lines to stderr.
pub fn logs(cli: &Cli, args: &LogsArgs) -> ExitCode {
    let req = Request::Logs {
        service: args.service.clone(),
        lines: args.lines,
    };
    let r = match call(cli, args.socket.as_deref(), &req, QUICK_TIMEOUT) {
        Ok(r) => r,
        Err(code) => return exit::code(code),
    };
    let (mut out, mut err) = (std::io::stdout().lock(), std::io::stderr().lock());
    for l in r.lines.unwrap_or_default() {
        let w: &mut dyn Write = if l.stream == "stderr" {
            &mut err
        } else {
            &mut out
        };
        if writeln!(w, "{}", l.line).and_then(|()| w.flush()).is_err() {
            // A closed pipe (`| head`): stop quietly.
            return exit::code(exit::OK);
        }
    }
    exit::code(exit::OK)
}
