//! Spawning a service (or a readiness `exec` check): mechanism only, no policy.
//!
//! Each child gets: exactly the Plan's environment (the resolved pairs as its
//! whole `envp` — nothing inherited), its `cwd`, stdin from /dev/null, stdout/stderr
//! piped (or /dev/null for readiness checks), its own process group (so a stop signal
//! reaches `npm → node` trees), an empty signal mask and default dispositions
//! (tokio's signal handling must not leak into services), and on Linux
//! `PR_SET_PDEATHSIG(SIGKILL)`, so a SIGKILLed supervisor takes its services
//! with it (and `contain.rs` their descendants). PDEATHSIG fires when the
//! *thread* that forked exits: the runtime is a current-thread tokio runtime
//! on the caller's thread, and inside a PID namespace of ours the forking is
//! done by the spawner thread (`contain_thread.rs`); both live as long as
//! the supervisor does.
//!
//! Services and readiness checks get descriptors 0, 1 and 2 only: whatever else the
//! caller left open without close-on-exec (`up 7>/tmp/x`) is marked
//! close-on-exec in the child. `run -- CMD` keeps them, like any wrapper.
//!
//! Children are registered with the process-wide [`Reaper`]; nobody else waits.
//!
//! The fork and the child's steps are in `forkexec.rs`; this file builds
//! what it needs from the Plan and names failures. A service's spawn returns
//! right after the fork: [`Child::exec`] says later whether the exec
//! succeeded (`launch.rs` awaits it off the loop), so a restart does not wait
//! for the child's exec and spawns at start overlap. Readiness checks and `run -- CMD`
//! wait for it before returning (their callers want the error at once).

use std::ffi::{CString, OsStr};
use std::io;
use std::os::fd::OwnedFd;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use nix::errno::Errno;
use nix::sys::signal::{killpg, Signal};
use nix::unistd::Pid;
use tokio::sync::oneshot;

use super::contain;
use super::contain_sys;
use super::contain_thread;
use super::forkexec::{self, Failure, Forked, Last, Spec, Stdio};
use super::reaper::Reaper;
use super::spawn_error::check_cwd;
pub(crate) use super::spawn_error::SpawnError;
use super::state::Exit;
use crate::plan::{ExecContext, ServicePlan};

/// A spawned child.
#[derive(Debug)]
pub(crate) struct Child {
    /// Its pid, which is also its process group id.
    pub pid: i32,
    /// Read end of its stdout pipe (services only).
    pub stdout: Option<OwnedFd>,
    /// Read end of its stderr pipe (services only).
    pub stderr: Option<OwnedFd>,
    /// Resolves when the reaper has reaped it.
    pub exit: oneshot::Receiver<Exit>,
    /// Whether its exec succeeded, still to be read (services only; checks
    /// and `run` wait for it in [`readiness_exec`] / [`foreground`]).
    pub exec: Option<Exec>,
}

/// The outcome of a child's exec, not yet known: [`Exec::result`].
#[derive(Debug)]
pub(crate) struct Exec {
    status: OwnedFd,
    why: Why,
}

/// What names a failure: the program, its cwd, its exec context.
#[derive(Debug)]
struct Why {
    program: String,
    cwd: Option<PathBuf>,
    exec: Option<Box<ExecContext>>,
}

impl Exec {
    /// Wait (asynchronously) for the exec: `Err` with the message naming the
    /// failed step. The child is reaped as usual (it exits 127).
    pub(crate) async fn result(self) -> Result<(), SpawnError> {
        let Exec { status, why } = self;
        let rx = match tokio::net::unix::pipe::Receiver::from_owned_fd(status) {
            Ok(rx) => rx,
            Err(_) => return Ok(()), // cannot tell; its exit will
        };
        let mut buf = [0u8; 8];
        let mut got = 0;
        while got < buf.len() {
            if rx.readable().await.is_err() {
                break;
            }
            match rx.try_read(&mut buf[got..]) {
                Ok(0) => break,
                Ok(n) => got += n,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                Err(_) => break,
            }
        }
        match Failure::decode(&buf[..got]) {
            Some(f) => Err(why.explain(f)),
            None => Ok(()),
        }
    }

    /// Wait for the exec, blocking.
    fn wait(self) -> Result<(), SpawnError> {
        forkexec::wait_blocking(&self.status).map_err(|f| self.why.explain(f))
    }
}

/// Spawn the service with piped output; its exec is checked later
/// ([`Child::exec`]), so this returns right after the fork.
pub(crate) fn service(reaper: &Reaper, s: &ServicePlan) -> Result<Child, SpawnError> {
    check_cwd(&s.cwd)?;
    let argv: Vec<&OsStr> = match s.argv.is_empty() {
        true => vec![s.program.as_os_str()],
        false => s.argv.iter().map(OsStr::new).collect(),
    };
    let spec = spec(&s.program, &argv, s.env.pairs(), Some(&s.cwd), Stdio::Piped)?;
    start(reaper, spec, &s.exec)
}

/// Spawn a readiness check's `argv` with the service's env and cwd, output
/// discarded; returns once it exec'd.
pub(crate) fn readiness_exec(
    reaper: &Reaper,
    argv: &[String],
    s: &ServicePlan,
) -> Result<Child, SpawnError> {
    let Some(program) = argv.first() else {
        return Err(SpawnError::EmptyCheck);
    };
    check_cwd(&s.cwd)?;
    let args: Vec<&OsStr> = argv.iter().map(OsStr::new).collect();
    let spec = spec(
        Path::new(program),
        &args,
        s.env.pairs(),
        Some(&s.cwd),
        Stdio::Null,
    )?;
    let mut child = start(reaper, spec, &s.exec)?;
    child.exec.take().map_or(Ok(()), Exec::wait)?;
    Ok(child)
}

/// `run -- CMD`: exactly `env`, in our own process group and with our stdio
/// (so the terminal's Ctrl-C reaches it directly) and our descriptors (like
/// any wrapper), reaped by the one reaper; returns once it exec'd.
pub(crate) fn foreground(
    reaper: &Reaper,
    argv: &[std::ffi::OsString],
    env: &crate::env::Env,
) -> Result<Child, SpawnError> {
    let Some(program) = argv.first() else {
        return Err(SpawnError::NoCommand);
    };
    let args: Vec<&OsStr> = argv.iter().map(|a| a.as_os_str()).collect();
    let mut spec = spec(Path::new(program), &args, env.pairs(), None, Stdio::Inherit)?;
    spec.pgroup = false;
    spec.last.close_from_3 = None;
    let mut child = start(reaper, spec, &ExecContext::default())?;
    child.exec.take().map_or(Ok(()), Exec::wait)?;
    Ok(child)
}

/// Everything the child needs, built before fork.
fn spec<'a>(
    program: &Path,
    argv: &[&OsStr],
    env: impl Iterator<Item = (&'a str, &'a str)>,
    cwd: Option<&Path>,
    stdio: Stdio,
) -> Result<Spec, SpawnError> {
    let nul = |what| SpawnError::Nul {
        program: program.to_path_buf(),
        what,
    };
    let c = |b: &[u8]| CString::new(b);
    let envp = env
        .map(|(k, v)| c(format!("{k}={v}").as_bytes()))
        .collect::<Result<_, _>>()
        .map_err(|_| nul("environment"))?;
    Ok(Spec {
        program: c(program.as_os_str().as_bytes()).map_err(|_| nul("program"))?,
        argv: argv
            .iter()
            .map(|a| c(a.as_bytes()))
            .collect::<Result<_, _>>()
            .map_err(|_| nul("command line"))?,
        envp,
        cwd: cwd
            .map(|d| c(d.as_os_str().as_bytes()))
            .transpose()
            .map_err(|_| nul("working directory"))?,
        stdio,
        pgroup: true,
        hook: None,
        last: Last {
            parent: contain::expected_parent(std::process::id() as libc::pid_t),
            nofile: CHILD_NOFILE.load(Ordering::Relaxed),
            close_from_3: Some(highest_fd()),
        },
    })
}

/// Fork where `contain` says (the spawner thread inside a namespace), under
/// the reaper's lock; the exec is still under way when this returns.
fn start(reaper: &Reaper, mut spec: Spec, x: &ExecContext) -> Result<Child, SpawnError> {
    spec.hook = super::child_setup::prepare(x);
    let why = Why {
        program: spec.program.to_string_lossy().into_owned(),
        cwd: spec
            .cwd
            .as_ref()
            .map(|c| PathBuf::from(OsStr::from_bytes(c.as_bytes()))),
        exec: spec.hook.is_some().then(|| Box::new(x.clone())),
    };
    let fork = move || {
        contain_thread::run(move || forkexec::fork_exec(&spec))
            .unwrap_or_else(|| Err(io::Error::other("the spawner thread is gone")))
    };
    let (forked, exit) = reaper
        .register(fork, |f: &Forked| f.pid)
        .map_err(|e| SpawnError::starting(&why.program, why.cwd.as_deref(), e))?;
    Ok(Child {
        pid: forked.pid,
        stdout: forked.stdout,
        stderr: forked.stderr,
        exit,
        exec: Some(Exec {
            status: forked.status,
            why,
        }),
    })
}

impl Why {
    /// The spawn error for a step that failed in the child.
    fn explain(&self, f: Failure) -> SpawnError {
        let e = io::Error::from_raw_os_error(f.errno);
        let cwd = || self.cwd.as_deref().unwrap_or(Path::new(".")).display();
        let step = match f.step {
            forkexec::STEP_EXEC | forkexec::STEP_PARENT => {
                return SpawnError::starting(&self.program, self.cwd.as_deref(), e)
            }
            forkexec::STEP_SETPGID => "setpgid".to_owned(),
            forkexec::STEP_STDIO => "dup2 of stdio".to_owned(),
            forkexec::STEP_CHDIR => format!("chdir({})", cwd()),
            forkexec::STEP_PDEATHSIG => "prctl(PR_SET_PDEATHSIG)".to_owned(),
            n => match self
                .exec
                .as_ref()
                .and_then(|x| super::child_setup::step_name(x, n))
            {
                Some(name) => name,
                None => return SpawnError::starting(&self.program, self.cwd.as_deref(), e),
            },
        };
        SpawnError::ChildStep { step, err: e }
    }
}

/// The highest descriptor to mark close-on-exec by hand where
/// `close_range(CLOSE_RANGE_CLOEXEC)` is missing (Linux < 5.11); 0 otherwise.
fn highest_fd() -> i32 {
    static WORKS: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    if *WORKS.get_or_init(contain_sys::close_range_cloexec_works) {
        return 0;
    }
    std::fs::read_dir("/proc/self/fd")
        .map(|d| {
            d.flatten()
                .filter_map(|e| e.file_name().to_str()?.parse().ok())
                .max()
                .unwrap_or(1024)
        })
        .unwrap_or(1024)
}

/// The soft fd limit children get back (0 = unchanged).
static CHILD_NOFILE: AtomicU64 = AtomicU64::new(0);

/// Raise our soft fd limit to the hard limit (two pipes per service: 1000
/// services need more than the usual 1024), remembering the original soft
/// limit so children get it back (like systemd: programs using `select()`
/// break with large limits).
pub(crate) fn raise_fd_limit() {
    // SAFETY: getrlimit/setrlimit write/read a local struct we own.
    unsafe {
        let mut lim: libc::rlimit = std::mem::zeroed();
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) != 0 || lim.rlim_cur >= lim.rlim_max {
            return;
        }
        let original = lim.rlim_cur;
        lim.rlim_cur = lim.rlim_max;
        if libc::setrlimit(libc::RLIMIT_NOFILE, &lim) == 0 {
            let _ = CHILD_NOFILE.compare_exchange(
                0,
                original as u64,
                Ordering::Relaxed,
                Ordering::Relaxed,
            );
        }
    }
}

/// Send `sig` to the process group `pgid`; a group that is already gone is fine.
pub(crate) fn signal_group(pgid: i32, sig: Signal) {
    match killpg(Pid::from_raw(pgid), sig) {
        Ok(()) | Err(Errno::ESRCH) => {}
        Err(e) => tracing::warn!(
            pgid,
            signal = sig.as_str(),
            "cannot signal process group: {e}"
        ),
    }
}

/// Whether any process (zombies included) is left in the group.
pub(crate) fn group_alive(pgid: i32) -> bool {
    !matches!(killpg(Pid::from_raw(pgid), None), Err(Errno::ESRCH))
}
