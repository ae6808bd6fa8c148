//! SIGINT/SIGTERM (and SIGHUP: the terminal went away) as a typed stream with
//! escalation: the first asks for a graceful stop, the second (of any) kills
//! every group at once. Without a controlling terminal (a service manager, a
//! container, `nohup`) SIGHUP means "reload" instead, as daemons have it;
//! on a terminal a hangup still stops everything, so closing the terminal
//! never leaves services running. Without a handler, SIGHUP would kill the supervisor
//! outright and its services would die by PDEATHSIG, without their stop signal. Tests and
//! `run` may use no OS signals at all (`None` in the runtime options).

use std::io;

use tokio::signal::unix::{signal, Signal, SignalKind};

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

/// The OS signal source.
pub(crate) struct Signals {
    int: Signal,
    term: Signal,
    hup: Signal,
    hup_reloads: bool,
    count: u32,
}

impl Signals {
    /// Listen for SIGINT, SIGTERM and SIGHUP (must be called inside the runtime).
    pub(crate) fn os() -> io::Result<Signals> {
        Ok(Signals {
            int: signal(SignalKind::interrupt())?,
            term: signal(SignalKind::terminate())?,
            hup: signal(SignalKind::hangup())?,
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
