//! Spawning a service (or a readiness `exec` check): mechanism only, no policy.
//!
//! Each child gets: exactly the Plan's environment (the resolved pairs as its
//! whole `envp` — nothing inherited), its `cwd`, stdin from /dev/null, stdout/stderr
//! piped (or /dev/null for readiness checks), its own process group (so a stop signal
//! reaches `npm → node` trees), an empty signal mask and default dispositions
//! (the supervisor's signal handlers must not leak into services), and on Linux
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
//! The clone and the child's steps are in `forkexec.rs`; this file builds
//! what it needs from the Plan and names failures. The spawn returns once
//! the child has exec'd or failed ([`Child::exec`]): a child that shares our
//! memory until then (`vfork.rs`) costs a few system calls, where a fork
//! copied the whole supervisor — so a restart waits for no copy and 200
//! spawns at start cost little more than the services' own execs. A
//! service's failed exec still reaches the loop as an event once the child
//! is reaped (`launch.rs`); readiness checks and `run -- CMD` return it as
//! their error.

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
    /// Whether its exec succeeded; when not, the error naming the failed
    /// step (the child exits 127 and is reaped as usual).
    pub exec: Result<(), SpawnError>,
}

/// Spawn the service with piped output; a failed exec is in [`Child::exec`].
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
    std::mem::replace(&mut child.exec, Ok(()))?;
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
    std::mem::replace(&mut child.exec, Ok(()))?;
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

/// Clone where `contain` says (the spawner thread inside a namespace),
/// under the reaper's lock; returns once the child exec'd or failed.
fn start(reaper: &Reaper, mut spec: Spec, x: &ExecContext) -> Result<Child, SpawnError> {
    spec.hook = super::child_setup::prepare(x);
    // The spec comes back with the result: the words for a failure are
    // built from it only when there is one.
    let fork = move || match contain_thread::run(move || (forkexec::fork_exec(&spec), spec)) {
        Some((Ok(f), spec)) => Ok((f, spec)),
        Some((Err(e), spec)) => Err((e, Some(Box::new(spec)))),
        None => Err((io::Error::other("the spawner thread is gone"), None)),
    };
    let ((f, spec), exit) = reaper
        .register(fork, |(f, _): &(Forked, Spec)| f.pid)
        .map_err(|(e, spec)| match spec {
            Some(s) => SpawnError::starting(&program_of(&s), cwd_of(&s).as_deref(), e),
            None => SpawnError::starting("?", None, e),
        })?;
    let exec = f.exec.map_err(|failure| {
        let why = Why {
            program: program_of(&spec),
            cwd: cwd_of(&spec),
            exec: x,
        };
        why.explain(failure)
    });
    Ok(Child {
        pid: f.pid,
        stdout: f.stdout,
        stderr: f.stderr,
        exit,
        exec,
    })
}

fn program_of(spec: &Spec) -> String {
    spec.program.to_string_lossy().into_owned()
}

fn cwd_of(spec: &Spec) -> Option<PathBuf> {
    spec.cwd
        .as_ref()
        .map(|c| PathBuf::from(OsStr::from_bytes(c.as_bytes())))
}

/// What names a failure: the program, its cwd, its exec context.
struct Why<'a> {
    program: String,
    cwd: Option<PathBuf>,
    exec: &'a ExecContext,
}

impl Why<'_> {
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
            n => match super::child_setup::step_name(self.exec, n) {
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
