//! The client side: connect to the first socket that answers, check WHO
//! answers, send one request line, read one response line. Blocking std I/O:
//! the commands are one-shot and need no runtime.
//!
//! Trust goes both ways: the server checks our uid, and we check the
//! server's (`SO_PEERCRED` on the connected socket) — it must be our own uid
//! or root, the same rule the server applies. Anyone else could have bound
//! the path first (a world-writable directory, a stale path reused) and
//! would be believed; such a server is refused before a byte is sent, and
//! everything shown from a server passes [`super::display::sanitize`].

use std::io::{BufRead, BufReader, ErrorKind, Write};
use std::os::unix::net::UnixStream;
use std::path::PathBuf;
use std::time::Duration;

use super::protocol::{Item, Request, Response};

/// Why there was no answer.
#[derive(Debug, thiserror::Error)]
pub(crate) enum ClientError {
    /// No `up` listens on any of the paths.
    #[error("no running `up` found (no control socket at {0})")]
    NoSupervisor(String),
    /// The socket exists but we may not connect (another user's `up`).
    #[error("cannot connect to {0}: {1}")]
    Connect(PathBuf, std::io::Error),
    /// The listener is not run by us or root.
    #[error("refusing the control socket {0}: it is served by uid {1}, not by you (uid {2}) or root — another user's process may have taken the path")]
    Untrusted(PathBuf, u32, u32),
    /// Connected, but the exchange failed.
    #[error("control socket {0}: {1}")]
    Exchange(PathBuf, String),
}

/// Connect to the first of `candidates` with a listener we trust.
pub(crate) fn connect(candidates: &[PathBuf]) -> Result<(UnixStream, PathBuf), ClientError> {
    for p in candidates {
        match UnixStream::connect(p) {
            Ok(s) => {
                trusted(&s, p)?;
                return Ok((s, p.clone()));
            }
            Err(e) if matches!(e.kind(), ErrorKind::NotFound | ErrorKind::ConnectionRefused) => {}
            Err(e) => return Err(ClientError::Connect(p.clone(), e)),
        }
    }
    let tried: Vec<String> = candidates.iter().map(|p| p.display().to_string()).collect();
    Err(ClientError::NoSupervisor(tried.join(" or ")))
}

/// Whether a server uid may be believed: ours, or root (pure).
pub(crate) fn trusted_uid(server: u32, me: u32) -> bool {
    server == me || server == 0
}

/// The server at `path` must run as our uid or root.
fn trusted(s: &UnixStream, path: &std::path::Path) -> Result<(), ClientError> {
    use nix::sys::socket::{getsockopt, sockopt::PeerCredentials};
    let me = nix::unistd::geteuid().as_raw();
    let cred = getsockopt(s, PeerCredentials).map_err(|e| {
        ClientError::Exchange(path.to_owned(), format!("cannot check the server: {e}"))
    })?;
    let uid = cred.uid();
    if trusted_uid(uid, me) {
        Ok(())
    } else {
        Err(ClientError::Untrusted(path.to_owned(), uid, me))
    }
}

/// How a stream ended.
#[derive(Debug)]
pub(crate) enum StreamEnd {
    /// The server closed it (`up` ended) or `on_item` said stop.
    Done,
    /// The server answered with an error instead.
    Refused(Response),
}

/// Send a streaming `req` and hand each item to `on_item` (false: stop)
/// until the server closes. No read timeout: a quiet stream is normal.
pub(crate) fn stream(
    candidates: &[PathBuf],
    req: &Request,
    mut on_item: impl FnMut(Item) -> bool,
) -> Result<StreamEnd, ClientError> {
    let (mut stream, path) = connect(candidates)?;
    let fail = |e: String| ClientError::Exchange(path.clone(), e);
    let mut line = serde_json::to_string(req).map_err(|e| fail(e.to_string()))?;
    line.push('\n');
    stream
        .write_all(line.as_bytes())
        .map_err(|e| fail(e.to_string()))?;
    let mut reader = BufReader::new(&stream);
    let mut text = String::new();
    loop {
        text.clear();
        if reader
            .read_line(&mut text)
            .map_err(|e| fail(e.to_string()))?
            == 0
        {
            return Ok(StreamEnd::Done);
        }
        if let Ok(mut item) = serde_json::from_str::<Item>(&text) {
            super::display::item(&mut item);
            if !on_item(item) {
                return Ok(StreamEnd::Done);
            }
            continue;
        }
        let mut r: Response =
            serde_json::from_str(&text).map_err(|e| fail(format!("unreadable answer: {e}")))?;
        super::display::sanitize(&mut r);
        return Ok(StreamEnd::Refused(r));
    }
}

/// Send `req`, wait at most `timeout` for the answer.
pub(crate) fn call(
    candidates: &[PathBuf],
    req: &Request,
    timeout: Duration,
) -> Result<Response, ClientError> {
    let (mut stream, path) = connect(candidates)?;
    let fail = |e: String| ClientError::Exchange(path.clone(), e);
    let mut line = serde_json::to_string(req).map_err(|e| fail(e.to_string()))?;
    line.push('\n');
    stream
        .set_read_timeout(Some(timeout))
        .map_err(|e| fail(e.to_string()))?;
    // A refused peer is answered (and closed on) before it has written:
    // read the answer even when the write failed.
    let wrote = stream.write_all(line.as_bytes());
    let mut answer = String::new();
    let read = BufReader::new(&stream).read_line(&mut answer);
    if answer.is_empty() {
        let why = match (wrote, read) {
            (Err(e), _) | (Ok(()), Err(e)) => e.to_string(),
            (Ok(()), Ok(_)) => "closed without an answer".into(),
        };
        return Err(fail(why));
    }
    let mut r: Response =
        serde_json::from_str(&answer).map_err(|e| fail(format!("unreadable answer: {e}")))?;
    super::display::sanitize(&mut r);
    Ok(r)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_our_uid_or_root_is_believed() {
        assert!(trusted_uid(1000, 1000));
        assert!(trusted_uid(0, 1000));
        assert!(!trusted_uid(65534, 1000));
        assert!(!trusted_uid(1000, 0));
    }
}
