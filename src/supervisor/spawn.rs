//! Spawning a service (or a readiness `exec` probe): mechanism only, no policy.
//!
//! Each child gets: exactly the Plan's environment (`env_clear` + the resolved
//! pairs — nothing inherited), its `cwd`, stdin from /dev/null, stdout/stderr
//! piped (or /dev/null for probes), its own process group (so a stop signal
//! reaches `npm → node` trees), an empty signal mask and default dispositions
//! (tokio's signal handling must not leak into services), and on Linux
//! `PR_SET_PDEATHSIG(SIGKILL)`, so a SIGKILLed supervisor leaves no orphans.
//! PDEATHSIG fires when the *thread* that forked exits: the runtime is a
//! current-thread tokio runtime on the caller's thread, so that thread lives
//! as long as the supervisor does.
//!
//! Children are registered with the process-wide [`Reaper`]; nobody else waits.

use std::io;
use std::os::fd::OwnedFd;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};

use nix::errno::Errno;
use nix::sys::signal::{killpg, Signal};
use nix::unistd::Pid;
use tokio::sync::oneshot;

use super::reaper::Reaper;
use super::state::Exit;
use crate::plan::ServicePlan;

/// A spawned child.
#[derive(Debug)]
pub struct Child {
    /// Its pid, which is also its process group id.
    pub pid: i32,
    /// Read end of its stdout pipe (services only).
    pub stdout: Option<OwnedFd>,
    /// Read end of its stderr pipe (services only).
    pub stderr: Option<OwnedFd>,
    /// Resolves when the reaper has reaped it.
    pub exit: oneshot::Receiver<Exit>,
}

/// Spawn the service with piped output.
pub fn service(reaper: &Reaper, s: &ServicePlan) -> Result<Child, String> {
    let mut cmd = Command::new(&s.program);
    if let Some(arg0) = s.argv.first() {
        cmd.arg0(arg0);
    }
    cmd.args(s.argv.iter().skip(1));
    spawn(reaper, cmd, s, true)
}

/// Spawn a readiness probe `argv` with the service's env and cwd, output discarded.
pub fn probe(reaper: &Reaper, argv: &[String], s: &ServicePlan) -> Result<Child, String> {
    let Some(program) = argv.first() else {
        return Err("empty exec readiness command".into());
    };
    let mut cmd = Command::new(program);
    cmd.args(&argv[1..]);
    spawn(reaper, cmd, s, false)
}

fn spawn(reaper: &Reaper, mut cmd: Command, s: &ServicePlan, piped: bool) -> Result<Child, String> {
    check_cwd(&s.cwd)?;
    let out = || if piped { Stdio::piped() } else { Stdio::null() };
    cmd.env_clear()
        .envs(s.env.pairs())
        .current_dir(&s.cwd)
        .stdin(Stdio::null())
        .stdout(out())
        .stderr(out())
        .process_group(0);
    let report = super::child_setup::install(&mut cmd, &s.exec);
    finish(reaper, cmd).map_err(|e| report.explain(e))
}

/// `run -- CMD`: exactly `env`, in our own process group and with our stdio
/// (so the terminal's Ctrl-C reaches it directly), reaped by the one reaper.
pub fn foreground(
    reaper: &Reaper,
    argv: &[std::ffi::OsString],
    env: &crate::plan::Env,
) -> Result<Child, String> {
    let Some(program) = argv.first() else {
        return Err("no command given".into());
    };
    let mut cmd = Command::new(program);
    cmd.args(&argv[1..])
        .env_clear()
        .envs(env.pairs())
        .stdin(Stdio::inherit());
    finish(reaper, cmd)
}

fn finish(reaper: &Reaper, mut cmd: Command) -> Result<Child, String> {
    let parent = std::process::id() as libc::pid_t;
    let nofile = CHILD_NOFILE.load(Ordering::Relaxed);
    // SAFETY: the closure runs in the forked child before exec and calls only
    // async-signal-safe functions (sigprocmask, signal, prctl, getppid); it
    // allocates nothing and touches no lock.
    unsafe {
        cmd.pre_exec(move || child_setup(parent, nofile));
    }
    let program = cmd.get_program().to_string_lossy().into_owned();
    let (mut child, exit) = reaper.spawn(&mut cmd).map_err(|e| describe(&program, &e))?;
    Ok(Child {
        pid: child.id() as i32,
        stdout: child.stdout.take().map(OwnedFd::from),
        stderr: child.stderr.take().map(OwnedFd::from),
        exit,
    })
}

/// In the child, between fork and exec.
fn child_setup(parent: libc::pid_t, nofile: u64) -> io::Result<()> {
    // SAFETY: all calls are async-signal-safe and take no Rust-managed memory
    // except the locals `set` and `lim`, which live on this stack frame.
    unsafe {
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut set);
        libc::sigprocmask(libc::SIG_SETMASK, &set, std::ptr::null_mut());
        for sig in [
            libc::SIGPIPE,
            libc::SIGINT,
            libc::SIGTERM,
            libc::SIGHUP,
            libc::SIGQUIT,
        ] {
            libc::signal(sig, libc::SIG_DFL);
        }
        if nofile != 0 && !super::child_setup::nofile_set() {
            let mut lim: libc::rlimit = std::mem::zeroed();
            if libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) == 0 {
                lim.rlim_cur = nofile as libc::rlim_t;
                libc::setrlimit(libc::RLIMIT_NOFILE, &lim);
            }
        }
        #[cfg(target_os = "linux")]
        {
            if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL, 0, 0, 0) != 0 {
                return Err(io::Error::last_os_error());
            }
            // The parent may have died before prctl took effect.
            if libc::getppid() != parent {
                return Err(io::Error::from_raw_os_error(libc::ESRCH));
            }
        }
        #[cfg(not(target_os = "linux"))]
        let _ = parent;
    }
    Ok(())
}

fn check_cwd(cwd: &Path) -> Result<(), String> {
    match std::fs::metadata(cwd) {
        Ok(m) if m.is_dir() => Ok(()),
        Ok(_) => Err(format!(
            "working directory {} is not a directory",
            cwd.display()
        )),
        Err(e) => Err(format!("working directory {}: {e}", cwd.display())),
    }
}

fn describe(program: &str, e: &io::Error) -> String {
    match e.kind() {
        io::ErrorKind::NotFound => format!("program `{program}` not found"),
        io::ErrorKind::PermissionDenied => {
            format!("permission denied executing `{program}` (is it executable?)")
        }
        _ => format!("cannot execute `{program}`: {e}"),
    }
}

/// The soft fd limit children get back (0 = unchanged).
static CHILD_NOFILE: AtomicU64 = AtomicU64::new(0);

/// Raise our soft fd limit to the hard limit (two pipes per service: 1000
/// services need more than the usual 1024), remembering the original soft
/// limit so children get it back (like systemd: programs using `select()`
/// break with large limits).
pub fn raise_fd_limit() {
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
pub fn signal_group(pgid: i32, sig: Signal) {
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
pub fn group_alive(pgid: i32) -> bool {
    !matches!(killpg(Pid::from_raw(pgid), None), Err(Errno::ESRCH))
}
