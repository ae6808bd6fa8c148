//! The spawn path: what a child gets (group, mask, dispositions, env, fds),
//! how its program is found (the service's `PATH`, `/bin/sh` for a script
//! without `#!`), and an exec that fails (`forkexec.rs`): known when the
//! spawn returns, the child reaped, the service failed with the named cause.

use std::os::fd::AsRawFd;
use std::os::unix::fs::PermissionsExt;
use std::time::{Duration, Instant};

use super::LIMIT;
use crate::plan::{LogFormat, RestartPolicy};
use crate::supervisor::reaper;
use crate::supervisor::spawn;
use crate::supervisor::state::Exit;
use crate::supervisor::testkit::*;

/// A file that is not executable (exec fails with EACCES, even for root).
fn not_executable(dir: &std::path::Path) -> std::path::PathBuf {
    let p = dir.join("run.sh");
    std::fs::write(&p, "#!/bin/sh\nexec sleep 1000\n").unwrap();
    std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o644)).unwrap();
    p
}

fn rt() -> tokio::runtime::Runtime {
    crate::supervisor::runtime::current_thread().unwrap()
}

#[test]
fn a_failed_exec_is_known_when_the_spawn_returns_and_the_child_is_reaped() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = sh("bad", "");
    s.program = not_executable(dir.path());
    s.argv = vec![s.program.display().to_string()];
    let reaper = reaper::global().unwrap();
    let (pid, result, exit) = rt().block_on(async {
        tokio::time::timeout(LIMIT, async {
            let child = spawn::service(&reaper, &s).expect("the clone itself succeeds");
            (child.pid, child.exec, child.exit.await)
        })
        .await
        .expect("hard timeout")
    });
    let err = result.expect_err("exec of a 0644 file fails");
    assert_eq!(
        err.to_string(),
        format!(
            "permission denied executing `{}` (is it executable?)",
            s.program.display()
        )
    );
    assert_eq!(exit.ok(), Some(Exit::Code(127)));
    // Reaped, not a zombie: the pid is gone.
    assert!(!std::path::Path::new(&format!("/proc/{pid}")).exists());
}

/// Spawn `s`, wait for it to exit; its exec's outcome and its exit.
fn spawn_and_wait(s: &crate::plan::ServicePlan) -> (Result<(), String>, Option<Exit>) {
    let reaper = reaper::global().unwrap();
    rt().block_on(async {
        tokio::time::timeout(LIMIT, async {
            let child = spawn::service(&reaper, s).expect("the clone itself succeeds");
            (child.exec.map_err(|e| e.to_string()), child.exit.await.ok())
        })
        .await
        .expect("hard timeout")
    })
}

/// glibc's `execvp` rules, in the child: a bare name is looked up in the
/// service's `PATH`; a directory where it is not executable is passed
/// over (EACCES, remembered) for a later one where it is; a file without
/// `#!` runs under `/bin/sh`; and EACCES is the error when no entry works.
#[test]
fn the_program_is_found_like_execvp_in_the_services_path() {
    let dir = tempfile::tempdir().unwrap();
    let (denied, ok) = (dir.path().join("denied"), dir.path().join("ok"));
    std::fs::create_dir_all(&denied).unwrap();
    std::fs::create_dir_all(&ok).unwrap();
    let out = dir.path().join("out");
    // Not executable in the first directory.
    let first = denied.join("job");
    std::fs::write(&first, "#!/bin/sh\necho wrong > \"$1\"\n").unwrap();
    std::fs::set_permissions(&first, std::fs::Permissions::from_mode(0o644)).unwrap();
    // Executable in the second, and without `#!`: the kernel says ENOEXEC.
    let second = ok.join("job");
    std::fs::write(&second, "echo \"sh $0\" > \"$1\"\nexit 3\n").unwrap();
    std::fs::set_permissions(&second, std::fs::Permissions::from_mode(0o755)).unwrap();
    let path = format!("{}:{}:/usr/bin:/bin", denied.display(), ok.display());
    let mut s = sh("job", "");
    s.env.vars.get_mut("PATH").unwrap().value = path.clone();
    s.program = "job".into();
    s.argv = vec!["job".into(), out.display().to_string()];
    let (exec, exit) = spawn_and_wait(&s);
    assert_eq!(exec, Ok(()));
    assert_eq!(exit, Some(Exit::Code(3)), "the script ran, under /bin/sh");
    let said = std::fs::read_to_string(&out).unwrap();
    assert_eq!(said.trim(), format!("sh {}", second.display()));
    // Only the non-executable one on PATH: EACCES, not ENOENT.
    s.env.vars.get_mut("PATH").unwrap().value = denied.display().to_string();
    let (exec, exit) = spawn_and_wait(&s);
    let err = exec.expect_err("only a 0644 file");
    assert!(err.contains("permission denied"), "{err}");
    assert_eq!(exit, Some(Exit::Code(127)));
    // Nowhere: not found.
    s.env.vars.get_mut("PATH").unwrap().value = dir.path().display().to_string();
    let err = spawn_and_wait(&s).0.expect_err("no job there");
    assert!(
        !err.contains("permission denied") && err.contains("job"),
        "{err}"
    );
}

#[test]
fn an_exec_failure_fails_the_service_with_the_cause_while_others_run() {
    let dir = tempfile::tempdir().unwrap();
    let mut bad = sh("bad", "");
    bad.program = not_executable(dir.path());
    bad.argv = vec![bad.program.display().to_string()];
    bad.restart = RestartPolicy::Always;
    let (run, snap) = super::run_until_failed(vec![bad, sh("keep", "exec sleep 1000")]);
    assert_eq!(run.code, crate::exit::SERVICE_FAILED);
    assert_eq!(state_of(&snap, "bad"), "failed");
    assert_eq!(snap.services[0].restarts, 0, "a failed exec is not retried");
    let detail = snap.services[0].detail.clone().unwrap_or_default();
    assert!(
        detail.contains("could not start: permission denied executing `")
            && detail.contains("(is it executable?)"),
        "{detail}"
    );
    // The other one runs on (ready once its own exec is reported).
    assert!(
        ["running", "ready"].contains(&state_of(&snap, "keep")),
        "{}",
        state_of(&snap, "keep")
    );
}

/// What the child sees once it exec'd: its own process group, an empty
/// signal mask, default dispositions (Rust ignores SIGPIPE), exactly the plan's
/// environment, and descriptors 0–2 only (here one is left inheritable).
#[test]
fn a_service_gets_its_group_an_empty_mask_its_env_and_three_descriptors() {
    // An inheritable descriptor in this process: it must not reach the child.
    let leak = std::fs::File::open("/dev/null").unwrap();
    // SAFETY: dup of a descriptor we own; the copy is closed below.
    let fd = unsafe { libc::dup(leak.as_raw_fd()) };
    assert!(fd > 2);
    // A bare name: looked up in the child's PATH (the plan's), as with std.
    let mut s = sh("probe", "");
    s.program = "sleep".into();
    s.argv = vec!["sleep".into(), "1000".into()];
    let reaper = reaper::global().unwrap();
    let mask = || {
        // SAFETY: reads this thread's mask into a local set.
        unsafe {
            let mut m: libc::sigset_t = std::mem::zeroed();
            libc::pthread_sigmask(libc::SIG_SETMASK, std::ptr::null(), &mut m);
            (1..32)
                .filter(|&s| libc::sigismember(&m, s) == 1)
                .collect::<Vec<_>>()
        }
    };
    let before = mask();
    let pid = rt().block_on(async {
        let child = spawn::service(&reaper, &s).unwrap();
        child.exec.unwrap();
        child.pid
    });
    // The clone runs with every signal blocked; ours is back as it was.
    assert_eq!(mask(), before, "the spawning thread's signal mask");
    let deadline = Instant::now() + LIMIT;
    // Wait until `sleep` sleeps: right after the exec the dynamic loader
    // still holds its own descriptor 3 (ld.so.cache, libc.so) for a moment.
    let wchan = || std::fs::read_to_string(format!("/proc/{pid}/wchan")).unwrap_or_default();
    while !wchan().contains("nanosleep") && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(10));
    }
    assert!(wchan().contains("nanosleep"), "sleep never slept");
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let environ = std::fs::read(format!("/proc/{pid}/environ")).unwrap();
    let mut fds: Vec<String> = std::fs::read_dir(format!("/proc/{pid}/fd"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    fds.sort();
    crate::supervisor::spawn::signal_group(pid, nix::sys::signal::Signal::SIGKILL);
    // SAFETY: closing the copy made above.
    unsafe { libc::close(fd) };
    let pgrp: i32 = stat
        .rsplit(')')
        .next()
        .unwrap()
        .split_whitespace()
        .nth(2)
        .unwrap()
        .parse()
        .unwrap();
    assert_eq!(pgrp, pid, "its own process group");
    let field = |k: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(k))
            .unwrap_or_default()
            .trim()
            .to_owned()
    };
    assert_eq!(field("SigBlk:"), "0000000000000000", "{status}");
    // Rust ignores SIGPIPE in this process; none of these may stay ignored.
    let ignored = u64::from_str_radix(&field("SigIgn:"), 16).unwrap();
    for sig in [
        libc::SIGPIPE,
        libc::SIGINT,
        libc::SIGTERM,
        libc::SIGHUP,
        libc::SIGQUIT,
    ] {
        assert_eq!(
            ignored & (1 << (sig - 1)),
            0,
            "signal {sig} ignored: {status}"
        );
    }
    assert_eq!(environ, b"PATH=/usr/local/bin:/usr/bin:/bin\0");
    assert_eq!(fds, ["0", "1", "2"]);
}

/// A dependency without a readiness check is `ready` once its exec has
/// succeeded, not once it was forked: a dependent never starts before a
/// program that could not exec (repeated: the exec's report races the loop).
#[test]
fn a_dependent_never_starts_before_a_failed_exec() {
    let dir = tempfile::tempdir().unwrap();
    let marker = dir.path().join("api-started");
    for round in 0..50 {
        let mut bad = sh("db", "");
        bad.program = not_executable(dir.path());
        bad.argv = vec![bad.program.display().to_string()];
        bad.restart = RestartPolicy::Never;
        let api = dep(
            sh(
                "api",
                &format!("echo {round} >> {}; exec sleep 1000", marker.display()),
            ),
            "db",
            crate::plan::Condition::Ready,
        );
        // With db failed, api can never start: the run ends on its own.
        let (run, failed) = run(vec![bad, api], LogFormat::Pretty, LIMIT, |h| async move {
            let mut hr = h.health.clone();
            let failed = hr
                .wait_for(|x| x.failed.is_some())
                .await
                .map(|x| x.failed.clone());
            shutdown(&h).await;
            failed.ok().flatten()
        });
        assert_eq!(run.code, crate::exit::SERVICE_FAILED);
        assert!(format!("{failed:?}").contains("db"), "{failed:?}");
        assert!(
            !marker.exists(),
            "round {round}: api started before db's exec failed"
        );
    }
}
