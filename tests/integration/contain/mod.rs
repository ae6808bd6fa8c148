//! Containment (docs/supervision.md "Containment": nothing outlives `up`): a SIGKILLed `up`
//! or `run` takes every descendant with it — `sh -c 'a & b'` children, node
//! under sh, a double-forked `setsid` daemon — as root (a PID namespace) and
//! as an unprivileged user (a user namespace first); orphans inside are
//! reaped; graceful stop is unchanged; where the kernel refuses namespaces
//! `auto` falls back and says why. Also: services get fds 0, 1, 2 only.
//!
//! CI runs as root, so both users are exercised there (`nobody` through
//! setpriv). Run as a normal user, `As::Nobody` is that user itself, the
//! root tests are missing prerequisites (support::prerequisite), and the PID
//! namespace refusal uses `unshare -r`.

mod kit;

use std::os::unix::process::CommandExt;
use std::time::Duration;

use kit::{As, *};

use crate::support::{prerequisite, run_bounded};
use crate::upkit::{eventually, project, Up};

const LIMIT: Duration = Duration::from_secs(30);

/// The services of the issue: background children of sh, node under sh, and
/// a double-forked daemon in a session of its own.
const TREE: &str = r#"
[services.a]
command = ["sh", "-c", "sleep 402 & sleep 403 & wait"]

[services.b]
command = ["sh", "-c", "node -e 'setTimeout(()=>{}, 404000)'; echo ended"]

[services.c]
command = ["sh", "-c", "(setsid sh -c 'sleep 406 & exit' &); echo daemonized; exec sleep 407"]
"#;

const NEEDLES: &[&str] = &[
    "sleep 402",
    "sleep 403",
    "node -e",
    "sleep 406",
    "sleep 407",
];

fn kill9_up_leaves_nothing(who: As) {
    let f = project(TREE);
    let mut up = Up::spawn(cmd(&f, who, &["up"]));
    assert!(up.wait_for("daemonized", LIMIT), "{}", up.output());
    assert!(up.wait_for("containment: pidns", LIMIT), "{}", up.output());
    let procs = wait_tree(up.pid(), NEEDLES, LIMIT);
    let status = run_bounded(&mut cmd(&f, who, &["status"]), LIMIT);
    assert!(status.stdout.contains("containment: pidns"), "{status:?}");
    // RSS and process counts come from /proc with the pids `up` sees.
    let json = run_bounded(&mut cmd(&f, who, &["status", "--json"]), LIMIT);
    let v: serde_json::Value = serde_json::from_str(&json.stdout).unwrap();
    let a = &v.as_array().unwrap()[0];
    assert_eq!(a["name"], "a", "{v}");
    assert_eq!(a["processes"], 3, "sh and its two sleeps: {v}");
    assert!(a["rss_bytes"].as_u64().unwrap_or(0) > 0, "{v}");
    let (took, left) = kill9_and_time(&up, &procs);
    assert!(
        left.is_empty() && took < Duration::from_secs(1),
        "after kill -9 of up, {left:?} were alive for {took:?}\n{}",
        up.output()
    );
    let _ = up.wait(LIMIT);
}

#[test]
fn kill9_of_up_as_root_leaves_no_descendant() {
    if prerequisite(
        is_root(),
        "kill9_of_up_as_root_leaves_no_descendant needs root",
    ) {
        kill9_up_leaves_nothing(As::Me);
    }
}

#[test]
fn kill9_of_up_as_nobody_leaves_no_descendant() {
    kill9_up_leaves_nothing(As::Nobody);
}

fn kill9_run_leaves_nothing(who: As) {
    let f = project(TREE);
    let mut run = Up::spawn(cmd(
        &f,
        who,
        &[
            "run",
            "--",
            "sh",
            "-c",
            "sleep 408 & echo cmd-running; wait",
        ],
    ));
    assert!(run.wait_for("cmd-running", LIMIT), "{}", run.output());
    let mut needles = NEEDLES.to_vec();
    needles.push("sleep 408");
    let procs = wait_tree(run.pid(), &needles, LIMIT);
    let (took, left) = kill9_and_time(&run, &procs);
    assert!(
        left.is_empty() && took < Duration::from_secs(1),
        "after kill -9 of run, {left:?} were alive for {took:?}\n{}",
        run.output()
    );
    let _ = run.wait(LIMIT);
}

#[test]
fn kill9_of_run_as_root_leaves_no_descendant() {
    if prerequisite(
        is_root(),
        "kill9_of_run_as_root_leaves_no_descendant needs root",
    ) {
        kill9_run_leaves_nothing(As::Me);
    }
}

#[test]
fn kill9_of_run_as_nobody_leaves_no_descendant() {
    kill9_run_leaves_nothing(As::Nobody);
}

/// Orphans inside the namespace re-parent to our init, which reaps them.
#[test]
fn orphans_inside_the_namespace_are_reaped() {
    let f = project(
        r#"
[services.o]
command = ["sh", "-c", "(sleep 1.5 &); echo spawned; exec sleep 1000"]
"#,
    );
    let mut up = Up::spawn(cmd(&f, As::Me, &["up"]));
    assert!(up.wait_for("spawned", LIMIT), "{}", up.output());
    let tree = wait_tree(up.pid(), &["__pidns-init", "sleep 1.5"], LIMIT);
    let init = tree
        .iter()
        .find(|(_, c)| c.contains("__pidns-init"))
        .map(|&(p, _)| p)
        .unwrap();
    let orphan = tree
        .iter()
        .find(|(_, c)| c.contains("sleep 1.5"))
        .map(|&(p, _)| p)
        .unwrap();
    // Its subshell parent exits at once: then it belongs to the init.
    let ppid = || {
        std::fs::read_to_string(format!("/proc/{orphan}/stat"))
            .ok()
            .and_then(|s| {
                s.rsplit(") ")
                    .next()?
                    .split_whitespace()
                    .nth(1)?
                    .parse()
                    .ok()
            })
    };
    assert!(
        eventually(Duration::from_secs(5), || ppid() == Some(init)),
        "the orphan's parent is {:?}, not the namespace init {init}",
        ppid()
    );
    // Gone entirely (reaped), not a zombie, soon after it ends.
    let reaped = eventually(Duration::from_secs(5), || {
        !std::path::Path::new(&format!("/proc/{orphan}")).exists()
    });
    assert!(reaped, "zombies of the init: {:?}", zombies_of(init));
    up.signal(libc::SIGTERM);
    assert_eq!(up.wait(LIMIT).code(), Some(0), "{}", up.output());
}

/// A graceful stop still sends `stop_signal` to each service's whole group
/// first and waits up to `stop_timeout` (here the service takes 1 s).
#[test]
fn graceful_stop_signals_the_group_and_waits() {
    let f = project(
        r#"
[services.g]
command = ["sh", "-c", "sh -c 'trap \"echo child got USR1; exit 0\" USR1; while :; do sleep 0.05; done' & trap 'echo got USR1; sleep 1; echo bye; exit 0' USR1; echo armed; wait"]
stop_signal = "USR1"
stop_timeout = "10s"
"#,
    );
    let mut up = Up::spawn(cmd(&f, As::Me, &["up"]));
    assert!(up.wait_for("armed", LIMIT), "{}", up.output());
    assert!(up.wait_for("containment: pidns", LIMIT), "{}", up.output());
    std::thread::sleep(Duration::from_millis(200));
    let t0 = std::time::Instant::now();
    up.signal(libc::SIGTERM);
    let st = up.wait(LIMIT);
    let out = up.output();
    assert_eq!(st.code(), Some(0), "{out}");
    assert!(
        out.contains("g: stopping: SIGUSR1 to process group"),
        "{out}"
    );
    assert!(out.contains("child got USR1"), "{out}");
    assert!(out.contains("bye"), "{out}");
    assert!(t0.elapsed() >= Duration::from_millis(900), "{out}");
    assert!(!out.contains("sent SIGKILL"), "{out}");
}

/// Where the kernel refuses namespaces, `auto` falls back, runs, and says
/// why in `up`'s log and in `check`; `pidns` refuses to start.
fn refused(who: As, why: &str) {
    if !is_root() && who == As::Me {
        // Mapping every id needs root; `unshare -r` gives the same "root in
        // a user namespace" case to a normal user.
        return refused_as_user();
    }
    if !prerequisite(
        is_root(),
        "refused namespaces as nobody needs root (to map ids)",
    ) {
        return;
    }
    let f =
        project("[services.s]\ncommand = [\"sh\", \"-c\", \"echo serving; exec sleep 1000\"]\n");
    let mut base = argv(&f, who);
    base.push("up".into());
    let mut up = Up::spawn(in_refusing_userns(&f, &base));
    map_and_go(&f, up.pid());
    assert!(up.wait_for("serving", LIMIT), "{}", up.output());
    let line = format!("containment: fallback to PDEATHSIG + subreaper, because {why}");
    assert!(up.wait_for(&line, LIMIT), "{}", up.output());
    up.signal(libc::SIGTERM);
    assert_eq!(up.wait(LIMIT).code(), Some(0), "{}", up.output());

    for (args, code, expect) in [
        (vec!["check", "--no-probe"], 0, line.clone()),
        (
            vec!["up"],
            3,
            format!("error: contain = \"pidns\", but {why}"),
        ),
    ] {
        let g = project(if code == 0 {
            "[services.s]\ncommand = [\"true\"]\n"
        } else {
            "[supervisor]\ncontain = \"pidns\"\n[services.s]\ncommand = [\"true\"]\n"
        });
        let mut base = argv(&g, who);
        base.extend(args.iter().map(|a| a.to_string()));
        let mut c = in_refusing_userns(&g, &base);
        let child = spawn_mapped(&g, &mut c);
        assert_eq!(child.code(), Some(code), "{child:?}");
        assert!(child.all().contains(&expect), "{child:?}");
    }
}

/// Run `c` (from [`in_refusing_userns`]) to its end, mapping ids on the way.
fn spawn_mapped(
    f: &crate::support::Fixture,
    c: &mut std::process::Command,
) -> crate::support::Output {
    let up = Up::spawn(std::mem::replace(c, std::process::Command::new("true")));
    map_and_go(f, up.pid());
    let mut up = up;
    let st = up.wait(LIMIT);
    std::thread::sleep(Duration::from_millis(100));
    let out = up.output();
    crate::support::Output {
        status: st,
        stdout: out,
        stderr: String::new(),
        timed_out: false,
    }
}

/// Not root: a user namespace where we are root (`unshare -r`) and the PID
/// namespace limit is 0.
fn refused_as_user() {
    let f = project("[services.s]\ncommand = [\"true\"]\n");
    let mut c = std::process::Command::new("unshare");
    c.args([
        "-r",
        "sh",
        "-c",
        "echo 0 > /proc/sys/user/max_pid_namespaces && exec \"$@\"",
        "sh",
    ])
    .arg(crate::support::bin())
    .args(["check", "--no-probe"])
    .current_dir(f.path());
    let o = run_bounded(&mut c, LIMIT);
    assert!(
        o.stdout.contains(
            "fallback to PDEATHSIG + subreaper, because the PID namespace limit is reached"
        ),
        "{o:?}"
    );
}

#[test]
fn refused_pid_namespace_falls_back_and_says_why_as_root() {
    refused(
        As::Me,
        "the PID namespace limit is reached (/proc/sys/user/max_pid_namespaces)",
    );
}

#[test]
fn refused_user_namespace_falls_back_and_says_why_as_nobody() {
    refused(
        As::Nobody,
        "the user namespace limit is reached (/proc/sys/user/max_user_namespaces)",
    );
}

/// `up 7>/tmp/x`: the caller's inheritable fd 7 reaches `up` but no service.
#[test]
fn services_get_only_stdin_stdout_stderr() {
    let f = project("[services.s]\ncommand = [\"sh\", \"-c\", \"echo up; exec sleep 1000\"]\n");
    let file = std::fs::File::create(f.path().join("x")).unwrap();
    let mut c = cmd(&f, As::Me, &["up"]);
    let raw = std::os::fd::AsRawFd::as_raw_fd(&file);
    // SAFETY: dup2 in the child before exec; async-signal-safe, no allocation.
    unsafe {
        c.pre_exec(move || {
            if libc::dup2(raw, 7) < 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let mut up = Up::spawn(c);
    assert!(up.wait_for("| up", LIMIT), "{}", up.output());
    let fds = |pid: i32| -> Vec<String> {
        let mut v: Vec<String> = std::fs::read_dir(format!("/proc/{pid}/fd"))
            .unwrap()
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect();
        v.sort();
        v
    };
    assert!(
        fds(up.pid()).contains(&"7".to_owned()),
        "up did not inherit fd 7"
    );
    let pids = up.service_pids();
    assert_eq!(pids.len(), 1, "{}", up.output());
    assert_eq!(fds(pids[0]), ["0", "1", "2"], "{}", up.output());
    up.signal(libc::SIGTERM);
    assert_eq!(up.wait(LIMIT).code(), Some(0), "{}", up.output());
}

/// As PID 1 of a namespace (a container), `up` creates nothing more: the
/// kernel already kills the namespace with it. Root only (`unshare --pid`).
#[test]
fn as_pid1_up_is_already_contained() {
    if !prerequisite(is_root(), "as_pid1_up_is_already_contained needs root") {
        return;
    }
    let f = project(TREE);
    let mut un = std::process::Command::new("unshare");
    un.args(["--pid", "--fork", "--mount-proc"])
        .arg(crate::support::bin())
        .arg("up")
        .current_dir(f.path())
        .env_clear()
        .env("PATH", "/usr/local/bin:/usr/bin:/bin")
        .env("HOME", f.path())
        .env("NO_COLOR", "1");
    let mut wrapper = Up::spawn(un);
    let line = "containment: pidns: up is PID 1 of its namespace";
    assert!(wrapper.wait_for(line, LIMIT), "{}", wrapper.output());
    let procs = wait_tree(wrapper.pid(), NEEDLES, LIMIT);
    assert!(
        !procs.iter().any(|(_, c)| c.contains("__pidns-init")),
        "{procs:?}"
    );
    // `up` is the wrapper's only child.
    let up = procs
        .iter()
        .find(|(_, c)| c.ends_with(" up"))
        .map(|&(p, _)| p)
        .unwrap();
    let t0 = std::time::Instant::now();
    // SAFETY: kill(2) on the supervisor this test started.
    unsafe {
        libc::kill(up, libc::SIGKILL);
    }
    let left = |p: &[(i32, String)]| -> Vec<(i32, String)> {
        p.iter().filter(|(pid, _)| running(*pid)).cloned().collect()
    };
    assert!(
        eventually(Duration::from_secs(1), || left(&procs).is_empty()),
        "after kill -9 of up as PID 1, {:?} were alive after {:?}",
        left(&procs),
        t0.elapsed()
    );
    let _ = wrapper.wait(LIMIT);
}

/// Someone SIGKILLs the namespace init from outside: the kernel kills the
/// services with it; `up` says so, a restart fails with a clear reason
/// (forks into a dead namespace fail), and `up` ends as failed.
#[test]
fn a_killed_namespace_init_is_reported() {
    let f = project("[services.s]\ncommand = [\"sleep\", \"1000\"]\nrestart = \"always\"\n");
    let mut up = Up::spawn(cmd(&f, As::Me, &["up"]));
    assert!(up.wait_for("containment: pidns", LIMIT), "{}", up.output());
    let tree = wait_tree(up.pid(), &["__pidns-init", "sleep 1000"], LIMIT);
    let init = tree
        .iter()
        .find(|(_, c)| c.contains("__pidns-init"))
        .map(|&(p, _)| p)
        .unwrap();
    // SAFETY: kill(2) on the namespace init of the supervisor this test started.
    unsafe {
        libc::kill(init, libc::SIGKILL);
    }
    let st = up.wait(LIMIT);
    let out = up.output();
    assert!(
        out.contains("ERROR: the PID namespace init exited"),
        "{out}"
    );
    assert!(
        out.contains("the PID namespace is gone (its init was killed)"),
        "{out}"
    );
    assert_eq!(st.code(), Some(8), "{out}");
}
