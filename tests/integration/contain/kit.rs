//! Helpers for the containment tests: who runs `up` (root, or `nobody` via
//! setpriv), the process tree under a pid read from /proc, and a user
//! namespace where the kernel refuses new namespaces (a real refusal: the
//! per-namespace limits `max_pid_namespaces` / `max_user_namespaces` set to 0
//! by root inside it).

use std::collections::HashMap;
use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

use crate::support::{bin, Fixture};
use crate::upkit::Up;

/// Who runs the supervisor.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(super) enum As {
    /// This test's user (root in CI).
    Me,
    /// uid/gid 65534 through setpriv (when this test is root; otherwise the
    /// test's own non-root user already is the unprivileged case).
    Nobody,
}

pub(super) fn is_root() -> bool {
    nix::unistd::geteuid().is_root()
}

/// Make the fixture usable by `nobody` (it writes its control socket there)
/// and return a copy of the binary it can execute.
fn share(f: &Fixture) -> PathBuf {
    let exe = f.path().join("uaol-supervisor");
    // Copied by `install`, not by us: a write descriptor of ours, inherited
    // by another test's fork in flight, would make exec fail with ETXTBSY.
    let st = Command::new("install")
        .args(["-m", "755"])
        .arg(bin())
        .arg(&exe)
        .status()
        .unwrap();
    assert!(st.success());
    std::fs::set_permissions(f.path(), std::fs::Permissions::from_mode(0o777)).unwrap();
    exe
}

/// The argv prefix that runs the binary as `who`.
pub(super) fn argv(f: &Fixture, who: As) -> Vec<String> {
    if who == As::Nobody && is_root() {
        let exe = share(f);
        let mut v: Vec<String> = [
            "setpriv",
            "--reuid=65534",
            "--regid=65534",
            "--clear-groups",
        ]
        .map(String::from)
        .to_vec();
        v.push(exe.display().to_string());
        v
    } else {
        vec![bin().display().to_string()]
    }
}

/// A command for `who` running the binary with `args` in the fixture.
pub(super) fn cmd(f: &Fixture, who: As, args: &[&str]) -> Command {
    let a = argv(f, who);
    let mut c = Command::new(&a[0]);
    c.args(&a[1..])
        .args(args)
        .current_dir(f.path())
        .env_clear()
        .env("PATH", "/usr/local/bin:/usr/bin:/bin")
        .env("HOME", f.path())
        .env("NO_COLOR", "1");
    c
}

/// Every process on the machine: pid → (ppid, state, cmdline).
fn table() -> HashMap<i32, (i32, char, String)> {
    let mut t = HashMap::new();
    for e in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(pid) = e.file_name().to_string_lossy().parse::<i32>() else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
            continue;
        };
        let mut rest = stat.rsplit(") ").next().unwrap_or("").split_whitespace();
        let state = rest.next().and_then(|s| s.chars().next()).unwrap_or('?');
        let ppid = rest.next().and_then(|p| p.parse().ok()).unwrap_or(0);
        let cmdline = std::fs::read(format!("/proc/{pid}/cmdline"))
            .map(|b| String::from_utf8_lossy(&b).replace('\0', " "))
            .unwrap_or_default();
        t.insert(pid, (ppid, state, cmdline.trim_end().to_owned()));
    }
    t
}

/// The live (non-zombie) descendants of `root`: (pid, cmdline).
pub(super) fn descendants(root: i32) -> Vec<(i32, String)> {
    let t = table();
    let mut out = vec![];
    let mut todo = vec![root];
    while let Some(p) = todo.pop() {
        for (&c, (ppid, state, cmd)) in &t {
            if *ppid == p {
                todo.push(c);
                if *state != 'Z' {
                    out.push((c, cmd.clone()));
                }
            }
        }
    }
    out
}

/// Zombie children of `pid`.
pub(super) fn zombies_of(pid: i32) -> Vec<i32> {
    table()
        .into_iter()
        .filter(|(_, (ppid, state, _))| *ppid == pid && *state == 'Z')
        .map(|(p, _)| p)
        .collect()
}

/// Wait until every `needle` is the cmdline of some descendant of `root`.
pub(super) fn wait_tree(root: i32, needles: &[&str], limit: Duration) -> Vec<(i32, String)> {
    let end = Instant::now() + limit;
    loop {
        let d = descendants(root);
        if needles.iter().all(|n| d.iter().any(|(_, c)| c.contains(n))) {
            return d;
        }
        assert!(
            Instant::now() < end,
            "not all of {needles:?} appeared under {root}: {d:?}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Whether `pid` can still run or hold anything: not a zombie, and it still
/// has its memory (an exiting namespace init that has released memory and
/// files and only waits in the kernel for the machine's init to reap zombies
/// outside — `zap_pid_ns_processes` — is gone for every practical purpose).
pub(super) fn running(pid: i32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/status")).is_ok_and(|s| {
        let state = s
            .lines()
            .find_map(|l| l.strip_prefix("State:"))
            .map(str::trim)
            .unwrap_or("");
        !state.starts_with('Z') && !state.starts_with('X') && s.contains("VmRSS:")
    })
}

/// SIGKILL `up` (just that pid) and return how long until none of `procs`
/// is [`running`], bounded by 5 s; survivors are killed.
pub(super) fn kill9_and_time(up: &Up, procs: &[(i32, String)]) -> (Duration, Vec<(i32, String)>) {
    let t0 = Instant::now();
    up.signal(libc::SIGKILL);
    let left = |p: &[(i32, String)]| -> Vec<(i32, String)> {
        p.iter().filter(|(pid, _)| running(*pid)).cloned().collect()
    };
    while !left(procs).is_empty() && t0.elapsed() < Duration::from_secs(5) {
        std::thread::sleep(Duration::from_millis(5));
    }
    let took = t0.elapsed();
    let survivors = left(procs);
    for (pid, _) in &survivors {
        // SAFETY: kill(2) on a process this test's supervisor started.
        unsafe {
            libc::kill(*pid, libc::SIGKILL);
        }
    }
    (took, survivors)
}

/// Run `argv` (as root in it) inside a new user namespace mapping every id
/// to itself, where root first sets `max_pid_namespaces` and
/// `max_user_namespaces` to 0: the kernel then refuses both kinds. Root only.
pub(super) fn in_refusing_userns(f: &Fixture, argv: &[String]) -> Command {
    f.script(
        "outer.sh",
        "while [ ! -e \"$HOME/go\" ]; do sleep 0.02; done\n\
         # exec again now that root is mapped: full capabilities in the namespace\n\
         exec sh \"$HOME/inner.sh\" \"$@\"",
    );
    f.script(
        "inner.sh",
        "echo 0 > /proc/sys/user/max_pid_namespaces || exit 90\n\
         echo 0 > /proc/sys/user/max_user_namespaces || exit 91\n\
         exec \"$@\"",
    );
    let mut c = Command::new("unshare");
    c.arg("--user")
        .arg("sh")
        .arg(f.path().join("outer.sh"))
        .args(argv)
        .current_dir(f.path())
        .env_clear()
        .env("PATH", "/usr/local/bin:/usr/bin:/bin")
        .env("HOME", f.path())
        .env("NO_COLOR", "1");
    c
}

/// Map ids in the namespace `pid` created (once it has), then let it go on.
pub(super) fn map_and_go(f: &Fixture, pid: i32) {
    let ours = std::fs::read_link("/proc/self/ns/user").unwrap();
    let end = Instant::now() + Duration::from_secs(10);
    while std::fs::read_link(format!("/proc/{pid}/ns/user")).ok() == Some(ours.clone()) {
        assert!(Instant::now() < end, "unshare --user did not happen");
        std::thread::sleep(Duration::from_millis(5));
    }
    for m in ["uid_map", "gid_map"] {
        std::fs::write(format!("/proc/{pid}/{m}"), "0 0 4294967295").unwrap();
    }
    f.write("go", "");
}
