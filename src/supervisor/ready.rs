//! Readiness checks: `tcp` (connect), `http` (GET, 2xx; a minimal HTTP/1.0
//! client over a tokio `TcpStream`, no HTTP crate), `exec` (exit 0, with the
//! service's env and cwd, spawned through the one reaper) and `log` (a regex on
//! the service's lines, matched in the relay; here only its timeout runs).
//!
//! A check is a one-shot gate per run, not a liveness probe: it runs from spawn
//! until it passes or `timeout` elapses, trying every `interval`, then stops
//! (process-compose#488: users could not tell). It is restarted for each new
//! run, so dependents that wait on `ready` wait again after a restart.

use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::{sleep, timeout, Instant};

use super::reaper::Reaper;
use super::spawn;
use super::state::Exit;
use crate::plan::{ReadyCheck, ReadyKind, ServicePlan};

/// Run `check` until it passes (true) or times out (false).
pub(crate) async fn wait(check: ReadyCheck, svc: Arc<ServicePlan>, reaper: Arc<Reaper>) -> bool {
    let deadline = Instant::now() + check.timeout;
    loop {
        let remaining = deadline.saturating_duration_since(Instant::now());
        if remaining.is_zero() {
            return false;
        }
        let ok = match &check.kind {
            ReadyKind::Tcp(addr) => bounded(remaining, tcp(addr)).await,
            ReadyKind::Http(url) => bounded(remaining, http(url)).await,
            ReadyKind::Exec(argv) => exec(argv, &svc, &reaper, remaining).await,
            ReadyKind::Log(_) => {
                // Matched by the relay; this task only enforces the timeout.
                sleep(remaining).await;
                return false;
            }
        };
        if ok {
            return true;
        }
        let pause = check
            .interval
            .min(deadline.saturating_duration_since(Instant::now()));
        sleep(pause).await;
    }
}

async fn bounded(limit: Duration, f: impl std::future::Future<Output = bool>) -> bool {
    timeout(limit, f).await.unwrap_or(false)
}

async fn tcp(addr: &str) -> bool {
    TcpStream::connect(addr).await.is_ok()
}

/// `http://host[:port][/path]` → (host:port, host, path).
pub(crate) fn parse_http(url: &str) -> Option<(String, String, String)> {
    let rest = url.strip_prefix("http://")?;
    let (authority, path) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, "/"),
    };
    if authority.is_empty() {
        return None;
    }
    let has_port = authority
        .rsplit_once(':')
        .is_some_and(|(_, p)| p.parse::<u16>().is_ok());
    let addr = if has_port {
        authority.to_owned()
    } else {
        format!("{authority}:80")
    };
    Some((addr, authority.to_owned(), path.to_owned()))
}

async fn http(url: &str) -> bool {
    let Some((addr, host, path)) = parse_http(url) else {
        return false;
    };
    let Ok(mut s) = TcpStream::connect(&addr).await else {
        return false;
    };
    let req = format!(
        "GET {path} HTTP/1.0\r\nHost: {host}\r\nUser-Agent: uaol-supervisor\r\nConnection: close\r\n\r\n"
    );
    if s.write_all(req.as_bytes()).await.is_err() {
        return false;
    }
    let mut buf = Vec::with_capacity(64);
    let mut chunk = [0u8; 256];
    while !buf.contains(&b'\n') && buf.len() < 1024 {
        match s.read(&mut chunk).await {
            Ok(0) | Err(_) => break,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
        }
    }
    status_is_2xx(&buf)
}

/// Whether an HTTP status line says 2xx.
pub(crate) fn status_is_2xx(head: &[u8]) -> bool {
    let line = String::from_utf8_lossy(head);
    let mut parts = line.split_whitespace();
    let proto_ok = parts.next().is_some_and(|p| p.starts_with("HTTP/"));
    let code = parts.next().and_then(|c| c.parse::<u16>().ok());
    proto_ok && code.is_some_and(|c| (200..300).contains(&c))
}

async fn exec(argv: &[String], svc: &ServicePlan, reaper: &Reaper, limit: Duration) -> bool {
    let child = match spawn::readiness_exec(reaper, argv, svc) {
        Ok(c) => c,
        Err(e) => {
            tracing::warn!(service = %svc.name, "readiness exec: {e}");
            return false;
        }
    };
    // Killed if this check is cancelled (the service exited or is stopping)
    // or times out, so no check's process outlives its check.
    let guard = KillOnDrop(child.pid);
    let ok = match timeout(limit, child.exit).await {
        Ok(Ok(status)) => status == Exit::Code(0),
        Ok(Err(_)) | Err(_) => false,
    };
    std::mem::forget(guard);
    if !ok {
        spawn::signal_group(child.pid, nix::sys::signal::Signal::SIGKILL);
    }
    ok
}

/// SIGKILLs a readiness check's process group when dropped.
struct KillOnDrop(i32);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        spawn::signal_group(self.0, nix::sys::signal::Signal::SIGKILL);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_http_urls() {
        let p = |u| parse_http(u);
        assert_eq!(
            p("http://127.0.0.1:8080/health"),
            Some((
                "127.0.0.1:8080".into(),
                "127.0.0.1:8080".into(),
                "/health".into()
            ))
        );
        assert_eq!(
            p("http://localhost"),
            Some(("localhost:80".into(), "localhost".into(), "/".into()))
        );
        assert_eq!(p("https://x"), None);
        assert_eq!(p("http:///x"), None);
    }

    #[test]
    fn status_lines() {
        assert!(status_is_2xx(b"HTTP/1.1 204 No Content\r\n"));
        assert!(status_is_2xx(b"HTTP/1.0 200 OK\r\n"));
        assert!(!status_is_2xx(b"HTTP/1.1 503 Unavailable\r\n"));
        assert!(!status_is_2xx(b"SSH-2.0-OpenSSH\r\n"));
        assert!(!status_is_2xx(b""));
    }
}
