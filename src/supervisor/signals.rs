//! SIGINT/SIGTERM (and SIGHUP: the terminal went away) as a typed stream with
//! escalation: the first asks for a graceful stop, the second (of any) kills
//! every group at once. Without a controlling terminal (a service manager, a
//! container, `nohup`) SIGHUP means "reload" instead, as daemons have it;
//! on a terminal a hangup still stops everything, so closing the terminal
//! never leaves services running. Without a handler, SIGHUP would kill the supervisor
//! outright and its services would die by PDEATHSIG, without their stop signal. Tests and
//! `run` may use no OS signals at all (`None` in the runtime options).
//!
//! Each signal is read from a socket pair that signal-hook's handler writes
//! a byte to ([`OsSignal`]), as the reaper does for SIGCHLD, not through
//! `tokio::signal`: tokio's signal driver, made with every runtime when the
//! feature is on, sets up a channel for each of the 65 signal numbers
//! (22 KiB of every `up`'s heap) for the three we listen to.

use std::io;
use std::os::unix::net::UnixStream as StdStream;

use signal_hook::SigId;
use tokio::net::UnixStream;

/// How many stop requests have arrived.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Shutdown {
    /// Stop gracefully, in reverse dependency order.
    Once,
    /// Kill everything now.
    Twice,
    /// SIGHUP without a controlling terminal: read the configuration again.
    Reload,
}

/// Deliveries of one OS signal, awaited on the runtime.
pub(crate) struct OsSignal {
    rx: UnixStream,
    id: SigId,
}

impl OsSignal {
    /// Catch `signo` from now on (must be called inside the runtime).
    pub(crate) fn new(signo: libc::c_int) -> io::Result<OsSignal> {
        let (rx, tx) = StdStream::pair()?;
        rx.set_nonblocking(true)?;
        tx.set_nonblocking(true)?;
        let id = signal_hook::low_level::pipe::register(signo, tx)?;
        Ok(OsSignal {
            rx: UnixStream::from_std(rx)?,
            id,
        })
    }

    /// The next delivery (each one once; `None` if the pipe broke).
    pub(crate) async fn recv(&mut self) -> Option<()> {
        loop {
            self.rx.readable().await.ok()?;
            match self.rx.try_read(&mut [0u8; 1]) {
                Ok(1..) => return Some(()),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => continue,
                _ => return None,
            }
        }
    }
}

impl Drop for OsSignal {
    /// The handler stays (the signal is then caught and dropped, as with
    /// tokio's); only our write end goes.
    fn drop(&mut self) {
        signal_hook::low_level::unregister(self.id);
    }
}

/// The OS signal source.
pub(crate) struct Signals {
    int: OsSignal,
    term: OsSignal,
    hup: OsSignal,
    hup_reloads: bool,
    count: u32,
}

impl Signals {
    /// Listen for SIGINT, SIGTERM and SIGHUP (must be called inside the runtime).
    pub(crate) fn os() -> io::Result<Signals> {
        Ok(Signals {
            int: OsSignal::new(libc::SIGINT)?,
            term: OsSignal::new(libc::SIGTERM)?,
            hup: OsSignal::new(libc::SIGHUP)?,
            hup_reloads: false,
            count: 0,
        })
    }

    /// SIGHUP asks for a reload rather than a stop.
    pub(crate) fn hangup_reloads(mut self, yes: bool) -> Signals {
        self.hup_reloads = yes;
        self
    }

    /// Whether this process has a controlling terminal (`/dev/tty` opens).
    pub(crate) fn has_terminal() -> bool {
        std::fs::File::open("/dev/tty").is_ok()
    }

    /// The next stop request.
    pub(crate) async fn recv(&mut self) -> Shutdown {
        tokio::select! {
            _ = self.int.recv() => {}
            _ = self.term.recv() => {}
            _ = self.hup.recv() => if self.hup_reloads {
                return Shutdown::Reload;
            },
        }
        self.count += 1;
        if self.count == 1 {
            Shutdown::Once
        } else {
            Shutdown::Twice
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::OsSignal;

    /// SIGUSR2: nothing else in the test process uses it.
    #[tokio::test]
    async fn each_delivery_is_received_once() {
        let mut sig = OsSignal::new(libc::SIGUSR2).expect("register");
        let wait = Duration::from_secs(5);
        for _ in 0..2 {
            // SAFETY: raising a signal whose handler signal-hook installed.
            assert_eq!(unsafe { libc::raise(libc::SIGUSR2) }, 0);
        }
        for _ in 0..2 {
            let got = tokio::time::timeout(wait, sig.recv()).await;
            assert_eq!(got.ok(), Some(Some(())));
        }
        let extra = tokio::time::timeout(Duration::from_millis(100), sig.recv()).await;
        assert!(extra.is_err(), "two deliveries, two wake-ups");
    }
}
