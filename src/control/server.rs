//! The server inside `up`: accept connections on the bound socket, refuse
//! peers whose uid (`SO_PEERCRED`) is neither ours nor root, read one request
//! line, answer one response line. It runs in the same current-thread runtime
//! as the supervisor, as one more future beside it: when the supervisor ends,
//! the server is dropped and the socket file removed.
//!
//! Every connection is its own task from the moment it is accepted: a client
//! that connects and sends nothing holds only its own task (and at most
//! [`MAX_REQUEST`] bytes of buffer) until [`READ_TIMEOUT`], never a slot
//! another client waits for. The only global bound is [`MAX_CONNECTIONS`]
//! open at once (each costs a file descriptor); beyond it a connection is
//! answered at once with `kind = unavailable` and closed — a fast refusal,
//! not a wait.

use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncReadExt, BufReader};
use tokio::net::{UnixListener, UnixStream};
use tokio::sync::mpsc::UnboundedReceiver;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use super::bind::Bound;
use super::context::Context;
use super::protocol::{ErrorKind, Request, Response, MAX_REQUEST};
use super::serve::answer;
use super::stream::write_line;
use crate::exit;
use crate::supervisor::runtime::{self, NoRuntime};
use crate::supervisor::{shed, Supervisor};

/// At most this many connections are open at once; one more is refused at once.
pub(crate) const MAX_CONNECTIONS: usize = 256;
/// A client must send its request line within this (a local client that has
/// a request sends it at once).
pub(crate) const READ_TIMEOUT: Duration = Duration::from_secs(2);
/// How long answers in flight may take to be written once the runtime ended.
const DRAIN: Duration = Duration::from_secs(2);

/// Whether a peer uid may talk to us: the same user, or root.
pub(crate) fn allowed(peer: u32, me: u32) -> bool {
    peer == me || peer == 0
}

/// Run the supervisor and the control server (when `bound`) on one
/// current-thread runtime on this thread (the children's parent-death signal
/// follows it), reloading on every message of `hangups` (SIGHUP without a
/// controlling terminal; see `reload.rs`) and, with `ctx.watch`, on file
/// changes (see `watch.rs`); returns the supervisor's exit code. The socket is
/// removed at the end.
pub(crate) fn run_reloading(
    sup: Supervisor,
    mut bound: Option<Bound>,
    ctx: Context,
    hangups: Option<UnboundedReceiver<()>>,
) -> Result<u8, NoRuntime> {
    let rt = runtime::current_thread()?;
    let std = bound.as_mut().and_then(|b| b.listener.take());
    let path = bound.as_ref().map(|b| b.path().display().to_string());
    let code = rt.block_on(async move {
        let listener = std.map(|l| {
            l.set_nonblocking(true)?;
            UnixListener::from_std(l)
        });
        let listener = match listener {
            Some(Ok(l)) => Some(l),
            Some(Err(e)) => {
                tracing::error!("control socket unusable: {e}");
                None
            }
            None => None,
        };
        let slots = Arc::new(Semaphore::new(MAX_CONNECTIONS));
        let ctx = Arc::new(ctx);
        // Biased: the supervisor's first poll starts its output sink, so the
        // server's first event goes out in the configured format.
        let code = tokio::select! {
            biased;
            code = sup.run() => code,
            () = serve(listener, path, Arc::clone(&ctx), Arc::clone(&slots)) => exit::INTERNAL,
            () = on_hangups(hangups, Arc::clone(&ctx)) => exit::INTERNAL,
            () = watching(Arc::clone(&ctx)) => exit::INTERNAL,
        };
        // Requests in flight now fail fast (the runtime is gone): let their
        // answers be written before the runtime drops them.
        let all = MAX_CONNECTIONS as u32;
        let _ = tokio::time::timeout(DRAIN, slots.acquire_many(all)).await;
        code
    });
    drop(rt);
    drop(bound);
    Ok(code)
}

/// Reload on each hangup, one at a time (pending forever without any).
async fn on_hangups(hangups: Option<UnboundedReceiver<()>>, ctx: Arc<Context>) {
    let Some(mut rx) = hangups else {
        return std::future::pending().await;
    };
    while rx.recv().await.is_some() {
        // The answer is logged by the reload itself.
        let _ = super::reload::reload(&ctx, false).await;
        // Settled and logged: its parsing and planning are over.
        shed::phase_over();
    }
    std::future::pending().await
}

/// `up --watch` (pending forever without it).
async fn watching(ctx: Arc<Context>) {
    if ctx.watch {
        super::watch::run(ctx).await
    }
    std::future::pending().await
}

/// Accept forever (pending forever without a listener).
async fn serve(
    listener: Option<UnixListener>,
    path: Option<String>,
    ctx: Arc<Context>,
    slots: Arc<Semaphore>,
) {
    let Some(listener) = listener else {
        return std::future::pending().await;
    };
    tracing::info!("control socket {}", path.unwrap_or_default());
    let me = nix::unistd::geteuid().as_raw();
    loop {
        match listener.accept().await {
            Ok((stream, _)) => {
                let ctx = Arc::clone(&ctx);
                let permit = Arc::clone(&slots).try_acquire_owned();
                tokio::spawn(async move {
                    match permit {
                        Ok(permit) => connection(stream, ctx, me, permit).await,
                        Err(_) => refuse_busy(stream).await,
                    }
                });
            }
            Err(e) => {
                // EMFILE and friends: back off instead of spinning.
                tracing::warn!("control socket: accept failed: {e}");
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    }
}

/// Over [`MAX_CONNECTIONS`]: say so and close, without reading.
async fn refuse_busy(stream: UnixStream) {
    let r = Response::error(
        ErrorKind::Unavailable,
        format!("too many control connections open (limit {MAX_CONNECTIONS}); try again"),
    );
    write_line(stream, &r).await;
}

/// One connection; `permit` is held until it is over (streams: until their
/// thread ends).
async fn connection(
    mut stream: UnixStream,
    ctx: Arc<Context>,
    me: u32,
    permit: OwnedSemaphorePermit,
) {
    let peer = stream.peer_cred().map(|c| c.uid());
    let mut reload = false;
    let response = match peer {
        Ok(uid) if allowed(uid, me) => match read_request(&mut stream).await {
            Ok(req) if req.streams() => return super::stream::spawn(stream, ctx, req, permit),
            Ok(req) => {
                reload = matches!(req, Request::Reload { .. });
                answer(&ctx, req).await
            }
            Err(r) => r,
        },
        Ok(uid) => {
            tracing::warn!("control socket: refused a connection from uid {uid}");
            Response::error(
                ErrorKind::Denied,
                format!(
                    "permission denied: uid {uid} is not the supervisor's user (uid {me}) or root"
                ),
            )
        }
        Err(e) => Response::error(ErrorKind::Denied, format!("cannot check the peer: {e}")),
    };
    write_line(stream, &response).await;
    drop(permit);
    if reload {
        // Settled and answered: its parsing, planning and answer are over.
        shed::phase_over();
    }
}

/// Read and parse the one request line (bounded in size and time).
async fn read_request(stream: &mut UnixStream) -> Result<Request, Response> {
    let mut reader = BufReader::new(stream).take(MAX_REQUEST);
    let mut line = String::new();
    let read = tokio::time::timeout(READ_TIMEOUT, reader.read_line(&mut line)).await;
    match read {
        Err(_) => {
            let secs = READ_TIMEOUT.as_secs();
            let msg = format!("no request line within {secs} s");
            return Err(Response::error(ErrorKind::BadRequest, msg));
        }
        Ok(Err(e)) => {
            let msg = format!("cannot read: {e}");
            return Err(Response::error(ErrorKind::BadRequest, msg));
        }
        Ok(Ok(_)) if !line.ends_with('\n') => {
            return Err(Response::error(
                ErrorKind::BadRequest,
                "the request must be one line ending in \\n",
            ));
        }
        Ok(Ok(_)) => {}
    }
    serde_json::from_str::<Request>(&line)
        .map_err(|e| Response::error(ErrorKind::BadRequest, format!("bad request: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_uid_or_root_only() {
        assert!(allowed(1000, 1000));
        assert!(allowed(0, 1000));
        assert!(allowed(0, 0));
        assert!(!allowed(1001, 1000));
        assert!(!allowed(65534, 0));
    }
}
