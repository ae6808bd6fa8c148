//! Containment: nothing outlives `up` (docs/supervision.md "Containment").
//!
//! `PR_SET_PDEATHSIG` (spawn.rs) reaches only a service's direct child: when
//! `up` is SIGKILLed, an `sh -c 'a & b'` or `npm → node` tree survives it. So
//! with `contain = "pidns"` (and `auto`, where the kernel allows) the services
//! run in a PID namespace whose init is ours (`contain_init.rs`) and dies with
//! `up`; when a namespace's init dies the kernel SIGKILLs everything in it —
//! grandchildren and `setsid` daemons included.
//!
//! The strategy is chosen once, by [`enter`], before the supervisor starts a
//! thread (a user namespace demands a single-threaded process), and the rest
//! of the supervisor does not care which one is in force: one thread of `up`
//! joins the new namespace *for its children only* (`setns`) and does all the
//! forking (`contain_thread.rs`), so services are still forked by `up`, are
//! still its children with the pids `fork` returned (as seen from `up`'s
//! namespace — the ones `status`, `kill` and /proc use), and are still
//! reaped by the one reaper. What differs is only where orphans go: to
//! the namespace init rather than to `up` the subreaper; the init reaps them
//! and wakes the reaper (`adopted.rs` looks at both).
//!
//! - as root: `clone(CLONE_NEWPID)`;
//! - as another user: first a user namespace mapping only our uid and gid to
//!   themselves (so services see their usual ids), where the kernel allows
//!   unprivileged user namespaces;
//! - already PID 1 (a container): nothing to do, the kernel already kills the
//!   namespace with us;
//! - `auto`, refused: PDEATHSIG + subreaper, and the refusal is reported.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, OnceLock};

use tokio::sync::oneshot;

pub(crate) use super::contain_refusal::NamespaceRefusal;
use super::contain_sys as sys;
use super::contain_thread;
use super::reaper;
use super::state::Exit;
use crate::plan::Contain;

#[cfg(target_os = "linux")]
pub(crate) use super::contain_init::{entry as init_entry, InternalArgument};

/// No namespace init outside Linux: never given.
#[cfg(not(target_os = "linux"))]
#[derive(Debug, thiserror::Error)]
#[error("no namespace init outside Linux")]
pub(crate) enum InternalArgument {}

/// No namespace init outside Linux: never our hidden mode.
#[cfg(not(target_os = "linux"))]
pub fn init_entry(_args: &[std::ffi::OsString]) -> Option<Result<u8, InternalArgument>> {
    None
}

/// The containment in force.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Mode {
    /// The services run in a PID namespace of their own.
    Pidns {
        /// Inside a user namespace (`up` is not root).
        userns: bool,
    },
    /// `up` is PID 1 of its namespace: everything in it dies with `up`.
    Pid1,
    /// PDEATHSIG + subreaper because the kernel refused a namespace: why.
    Fallback(String),
    /// PDEATHSIG + subreaper, as configured (`contain = "none"`).
    Off,
}

impl Mode {
    /// Whether a SIGKILLed `up` takes every descendant with it.
    #[cfg(test)]
    pub(crate) fn contained(&self) -> bool {
        matches!(self, Mode::Pidns { .. } | Mode::Pid1)
    }

    /// One line for `check` and `status`.
    pub(crate) fn describe(&self) -> String {
        const LEAK: &str =
            "a SIGKILLed up kills its services, but their own children can survive it";
        match self {
            Mode::Pidns { userns: false } => "pidns: the services run in a PID namespace of their own; nothing in it outlives up".into(),
            Mode::Pidns { userns: true } => "pidns (in a user namespace mapping your uid and gid): the services run in a PID namespace of their own; nothing in it outlives up".into(),
            Mode::Pid1 => "pidns: up is PID 1 of its namespace; nothing in it outlives up".into(),
            Mode::Fallback(why) => format!("fallback to PDEATHSIG + subreaper, because {why}: {LEAK}"),
            Mode::Off => format!("none (contain = \"none\"): PDEATHSIG + subreaper: {LEAK}"),
        }
    }

    /// Short name for JSON: `pidns`, `fallback`, `none`.
    pub(crate) fn name(&self) -> &'static str {
        match self {
            Mode::Pidns { .. } | Mode::Pid1 => "pidns",
            Mode::Fallback(_) => "fallback",
            Mode::Off => "none",
        }
    }
}

/// The containment of this process, once entered.
struct Active {
    mode: Mode,
    /// The namespace init's pid (as we see it), in `Pidns` mode.
    init: Option<i32>,
    /// Resolves when the init dies (which kills the namespace).
    exit: Mutex<Option<oneshot::Receiver<Exit>>>,
}

static ACTIVE: OnceLock<Active> = OnceLock::new();
static LOST: AtomicBool = AtomicBool::new(false);

/// `contain = "pidns"`, and the kernel refused it.
#[derive(Debug, Clone, thiserror::Error)]
#[error("contain = \"pidns\", but {0}")]
pub(crate) struct PidnsRefused(pub(crate) NamespaceRefusal);

/// Choose and set up the containment for this process. Call once, on the
/// thread that will spawn the services, before any other thread exists.
/// `Err` only for `contain = "pidns"` when the kernel refuses.
pub(crate) fn enter(setting: Contain) -> Result<Mode, PidnsRefused> {
    if let Some(a) = ACTIVE.get() {
        return Ok(a.mode.clone());
    }
    let (mode, init, exit) = match setting {
        Contain::None => (Mode::Off, None, None),
        _ if std::process::id() == 1 => (Mode::Pid1, None, None),
        _ => match new_namespace() {
            Ok((userns, pid, exit)) => (Mode::Pidns { userns }, Some(pid), Some(exit)),
            Err(why) if setting == Contain::Auto => (Mode::Fallback(why.0), None, None),
            Err(why) => return Err(PidnsRefused(why)),
        },
    };
    let _ = ACTIVE.set(Active {
        mode: mode.clone(),
        init,
        exit: Mutex::new(exit),
    });
    Ok(mode)
}

/// What [`enter`] would choose, without changing this process (for `check`).
pub(crate) fn trial(setting: Contain) -> Result<Mode, PidnsRefused> {
    let mode = match setting {
        Contain::None => Mode::Off,
        _ if std::process::id() == 1 => Mode::Pid1,
        _ => match sys::trial(!is_root()) {
            Ok(()) => Mode::Pidns { userns: !is_root() },
            Err(why) if setting == Contain::Auto => Mode::Fallback(why.0),
            Err(why) => return Err(PidnsRefused(why)),
        },
    };
    Ok(mode)
}

fn is_root() -> bool {
    nix::unistd::geteuid().is_root()
}

fn new_namespace() -> Result<(bool, i32, oneshot::Receiver<Exit>), NamespaceRefusal> {
    let userns = !is_root();
    if userns {
        // A user namespace cannot be left again: enter it only once a forked
        // child has shown that a PID namespace inside it works (AppArmor's
        // restriction, for one, allows the user namespace but not that).
        sys::trial(true)?;
        sys::new_userns()?;
    }
    let reaper = reaper::global().map_err(|e| e.to_string())?;
    let waker = reaper
        .waker()
        .map_err(|e| format!("cannot share the reaper's wake socket: {e}"))?;
    // On the thread that will fork the services: the init's parent-death
    // signal follows it, and it is the one that joins the namespace.
    let (pid, exit) = contain_thread::start(move || {
        let (pid, exit) = reaper.register(|| sys::spawn_init(&waker, userns), |&p| p)?;
        if let Err(e) = sys::join(pid) {
            let _ =
                nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), nix::sys::signal::SIGKILL);
            return Err(e);
        }
        Ok((pid, exit))
    })?;
    Ok((userns, pid, exit))
}

/// The mode entered by this process, if any.
pub(crate) fn current() -> Option<&'static Mode> {
    ACTIVE.get().map(|a| &a.mode)
}

/// The `containment:` line of `status`: the mode entered, and whether its
/// namespace has since been lost.
pub(crate) fn summary() -> Option<String> {
    let mode = current()?.describe();
    Some(if lost() {
        format!("{mode} — LOST: its init was killed, and every contained process with it")
    } else {
        mode
    })
}

/// The namespace init's pid, when services run in a namespace of ours.
pub(crate) fn init_pid() -> Option<i32> {
    ACTIVE.get().and_then(|a| a.init)
}

/// The parent pid a freshly forked child must see: 0 inside a namespace of
/// ours (the parent is outside it), else `own`. Anything else means the
/// supervisor died before the child's parent-death signal was armed.
pub(crate) fn expected_parent(own: libc::pid_t) -> libc::pid_t {
    if init_pid().is_some() {
        0
    } else {
        own
    }
}

/// Whether the namespace init died (every later fork fails with ENOMEM).
pub(crate) fn lost() -> bool {
    LOST.load(Ordering::Relaxed)
}

/// Wait for the namespace init's death, if there is one, and say loudly what
/// it means. Run it as a task beside the supervisor.
pub(crate) async fn watch() {
    match current() {
        Some(m @ Mode::Fallback(_)) => tracing::warn!("containment: {}", m.describe()),
        Some(m) => tracing::info!("containment: {}", m.describe()),
        None => {}
    }
    let rx = ACTIVE
        .get()
        .and_then(|a| a.exit.lock().unwrap_or_else(|p| p.into_inner()).take());
    let Some(rx) = rx else { return };
    if let Ok(exit) = rx.await {
        LOST.store(true, Ordering::Relaxed);
        tracing::error!(
            "the PID namespace init exited ({exit}): the kernel killed every contained process; services cannot be started again"
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn describe_says_the_mode_and_why() {
        assert!(Mode::Pidns { userns: false }
            .describe()
            .starts_with("pidns:"));
        assert!(Mode::Pidns { userns: true }
            .describe()
            .contains("user namespace"));
        let f = Mode::Fallback("the PID namespace limit is reached".into());
        assert!(f.describe().starts_with("fallback"), "{}", f.describe());
        assert!(f.describe().contains("limit is reached"));
        assert_eq!(f.name(), "fallback");
        assert!(Mode::Off.describe().starts_with("none"));
        assert!(Mode::Pid1.contained() && !Mode::Off.contained());
    }
}
