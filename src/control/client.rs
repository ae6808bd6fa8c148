//! The client side: connect to the first socket that answers, send one
//! request line, read one response line. Blocking std I/O: the commands are
//! one-shot and need no runtime.

use std::io::{BufRead, BufReader, ErrorKind, Write};
use std::os::unix::net::UnixStream;
use std::path::PathBuf;
use std::time::Duration;

use super::protocol::{Request, Response};

/// Why there was no answer.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// No `up` listens on any of the paths.
    #[error("no running `up` found (no control socket at {0})")]
    NoSupervisor(String),
    /// The socket exists but we may not connect (another user's `up`).
    #[error("cannot connect to {0}: {1}")]
    Connect(PathBuf, std::io::Error),
    /// Connected, but the exchange failed.
    #[error("control socket {0}: {1}")]
    Exchange(PathBuf, String),
}

/// Connect to the first of `candidates` with a listener.
pub fn connect(candidates: &[PathBuf]) -> Result<(UnixStream, PathBuf), ClientError> {
    for p in candidates {
        match UnixStream::connect(p) {
            Ok(s) => return Ok((s, p.clone())),
            Err(e) if matches!(e.kind(), ErrorKind::NotFound | ErrorKind::ConnectionRefused) => {}
            Err(e) => return Err(ClientError::Connect(p.clone(), e)),
        }
    }
    let tried: Vec<String> = candidates.iter().map(|p| p.display().to_string()).collect();
    Err(ClientError::NoSupervisor(tried.join(" or ")))
}

/// Send `req`, wait at most `timeout` for the answer.
pub fn call(
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
    serde_json::from_str(&answer).map_err(|e| fail(format!("unreadable answer: {e}")))
}
