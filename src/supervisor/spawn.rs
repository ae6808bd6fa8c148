//! Spawning a service (or a readiness `exec` probe): mechanism only, no policy.
//!
//! Each child gets: exactly the Plan's environment (`env_clear` + the resolved
//! pairs — nothing inherited), its `cwd`, stdin from /dev/null, stdout/stderr
//! piped (or /dev/null for probes), its own process group (so a stop signal
//! reaches `npm → node` trees), an empty signal mask and default dispositions
//! (tokio's signal handling must not leak into services), and on Linux
//! `PR_SET_PDEATHSIG(SIGKILL)`, so a SIGKILLed supervisor takes its services
//! with it (and `contain.rs` their descendants). PDEATHSIG fires when the
//! *thread* that forked exits: the runtime is a current-thread tokio runtime
//! on the caller's thread, and inside a PID namespace of ours the forking is
//! done by the spawner thread (`contain_thread.rs`); both live as long as
//! the supervisor does.
//!
//! Services and probes get descriptors 0, 1 and 2 only: whatever else the
//! caller left open without close-on-exec (`up 7>/tmp/x`) is marked
//! close-on-exec in the child. `run -- CMD` keeps them, like any wrapper.
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

use super::contain;
use super::contain_sys;
use super::contain_thread;
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
    finish(reaper, cmd, true).map_err(|e| report.explain(e))
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
    finish(reaper, cmd, false)
}

/// What the child does between fork and exec, decided in the parent.
#[derive(Clone, Copy)]
struct Setup {
    /// The parent pid the child must see (see `contain::expected_parent`).
    parent: libc::pid_t,
    /// The soft fd limit to restore (0 = unchanged).
    nofile: u64,
    /// Mark descriptors from 3 up close-on-exec; the highest one to mark when
    /// `close_range` cannot.
    close_from_3: Option<i32>,
}

fn finish(reaper: &Reaper, mut cmd: Command, only_stdio: bool) -> Result<Child, String> {
    let setup = Setup {
        parent: contain::expected_parent(std::process::id() as libc::pid_t),
        nofile: CHILD_NOFILE.load(Ordering::Relaxed),
        close_from_3: only_stdio.then(highest_fd),
    };
    // SAFETY: the closure runs in the forked child before exec and calls only
    // async-signal-safe functions (sigprocmask, signal, setrlimit, prctl,
    // getppid, close_range/fcntl); it allocates nothing and touches no lock.
    unsafe {
        cmd.pre_exec(move || child_setup(setup));
    }
    let program = cmd.get_program().to_string_lossy().into_owned();
    let cwd = cmd.get_current_dir().map(Path::to_path_buf);
    // Forked where `contain` says (the spawner thread inside a namespace).
    let fork = move || {
        contain_thread::run(move || cmd.spawn())
            .unwrap_or_else(|| Err(io::Error::other("the spawner thread is gone")))
    };
    let (mut child, exit) = reaper
        .register(fork, |c| c.id() as i32)
        .map_err(|e| describe(&program, cwd.as_deref(), &e))?;
    Ok(Child {
        pid: child.id() as i32,
        stdout: child.stdout.take().map(OwnedFd::from),
        stderr: child.stderr.take().map(OwnedFd::from),
        exit,
    })
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

/// In the child, between fork and exec.
fn child_setup(s: Setup) -> io::Result<()> {
    let Setup {
        parent,
        nofile,
        close_from_3,
    } = s;
    if let Some(max) = close_from_3 {
        contain_sys::mark_cloexec_from_3(max);
    }
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
            // The parent may have died before prctl took effect (inside our
            // PID namespace the parent is outside it: getppid() is 0).
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

fn describe(program: &str, cwd: Option<&Path>, e: &io::Error) -> String {
    match e.kind() {
        // A script whose `#!` interpreter is missing fails with ENOENT too.
        io::ErrorKind::NotFound => crate::plan::explain_not_found(program, cwd),
        io::ErrorKind::PermissionDenied => {
            format!("permission denied executing `{program}` (is it executable?)")
        }
        _ if contain::lost() => format!(
            "cannot start `{program}`: the PID namespace is gone (its init was killed): {e}"
        ),
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
