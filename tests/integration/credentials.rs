//! `user` / `group` as root (CI runs as root): the child really switches
//! (ids from its own /proc/self/status, a 0600 root file unreadable), gets the
//! documented HOME/USER/LOGNAME, and keeps the parent-death signal; a non-root
//! `check` / `up` asking to switch is refused up front, naming the reason.

use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::process::Command;
use std::time::Duration;

use crate::support::{prerequisite, run_bounded, Fixture};
use crate::upkit::{alive, eventually, project, service_line, Up};

const LIMIT: Duration = Duration::from_secs(30);

fn is_root() -> bool {
    // SAFETY: geteuid cannot fail.
    unsafe { libc::geteuid() == 0 }
}

/// `id OPTS nobody`, trimmed.
fn id_of_nobody(opt: &str) -> String {
    let out = Command::new("id")
        .args([opt, "nobody"])
        .output()
        .expect("id");
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// A project nobody can read (a temp dir may be 0700): only the file modes we set matter.
fn open_project(toml: &str) -> Fixture {
    let f = project(toml);
    std::fs::set_permissions(f.path(), std::fs::Permissions::from_mode(0o755)).expect("chmod");
    std::fs::set_permissions(
        f.path().join("supervisor.toml"),
        std::fs::Permissions::from_mode(0o644),
    )
    .expect("chmod");
    f
}

const REPORT: &str = "grep -E '^(Uid|Gid|Groups):' /proc/self/status | tr -s '\\t ' ' '; echo \"env HOME=$HOME USER=$USER LOGNAME=$LOGNAME\"; if cat secret.txt >/dev/null 2>&1; then echo read-ok; else echo read-denied; fi; echo done; exec sleep 1000";

#[test]
fn user_nobody_gets_nobodys_ids_home_and_no_access_to_a_root_file() {
    if !prerequisite(is_root(), "`user` switching needs root") {
        return;
    }
    let toml = format!(
        "[services.as-nobody]\ncommand = [\"sh\", \"-c\", \"{r}\"]\nuser = \"nobody\"\nlog_file = {{ path = \"logs/nobody.log\" }}\n\
         [services.as-root]\ncommand = [\"sh\", \"-c\", \"{r}\"]\n\
         [services.own-home]\ncommand = [\"sh\", \"-c\", \"{r}\"]\nuser = \"nobody\"\nenv = {{ HOME = \"/srv/app\" }}\n\
         [services.only-group]\ncommand = [\"sh\", \"-c\", \"{r}\"]\ngroup = \"daemon\"\n",
        r = REPORT.replace('"', "\\\"")
    );
    let f = open_project(&toml);
    let secret = f.write("secret.txt", "root only\n");
    std::fs::set_permissions(&secret, std::fs::Permissions::from_mode(0o600)).expect("chmod");
    let mut up = Up::start(&f, &["up"]);
    assert!(
        eventually(LIMIT, || up.output().matches("| done").count() == 4),
        "{}",
        up.output()
    );
    let out = up.output();
    let line = |svc: &str, what: &str| service_line(&out, svc, what);
    let (uid, gid) = (id_of_nobody("-u"), id_of_nobody("-g"));
    assert_eq!(
        line("as-nobody", "Uid:"),
        format!("Uid: {uid} {uid} {uid} {uid}")
    );
    assert_eq!(
        line("as-nobody", "Gid:"),
        format!("Gid: {gid} {gid} {gid} {gid}")
    );
    let mut want: Vec<String> = id_of_nobody("-G").split(' ').map(String::from).collect();
    let mut got: Vec<String> = line("as-nobody", "Groups:")
        .trim_start_matches("Groups:")
        .split_whitespace()
        .map(String::from)
        .collect();
    want.sort();
    got.sort();
    assert_eq!(got, want, "{out}");
    assert_eq!(line("as-nobody", "read-"), "read-denied");
    let home = Command::new("sh")
        .args(["-c", "getent passwd nobody | cut -d: -f6"])
        .output()
        .expect("getent");
    let home = String::from_utf8_lossy(&home.stdout).trim().to_string();
    assert_eq!(
        line("as-nobody", "env "),
        format!("env HOME={home} USER=nobody LOGNAME=nobody")
    );
    // The same script without `user` runs as root and reads the file: the
    // denial above is the switch, not the test setup.
    assert_eq!(line("as-root", "Uid:"), "Uid: 0 0 0 0");
    assert_eq!(line("as-root", "read-"), "read-ok");
    // The config's own HOME wins over the user's.
    assert!(
        line("own-home", "env ").starts_with("env HOME=/srv/app USER=nobody"),
        "{out}"
    );
    // Only `group`: the uid is kept, the group is daemon's alone.
    let daemon = Command::new("id")
        .args(["-g", "daemon"])
        .output()
        .expect("id");
    let g = String::from_utf8_lossy(&daemon.stdout).trim().to_string();
    assert_eq!(line("only-group", "Uid:"), "Uid: 0 0 0 0");
    assert_eq!(line("only-group", "Gid:"), format!("Gid: {g} {g} {g} {g}"));
    assert_eq!(line("only-group", "Groups:"), format!("Groups: {g}"));
    // Log files stay the supervisor's.
    let log = std::fs::metadata(f.path().join("logs/nobody.log")).expect("log file");
    assert_eq!(log.uid(), 0);
    up.signal(libc::SIGINT);
    assert_eq!(up.wait(LIMIT).code(), Some(0), "{}", up.output());
}

#[test]
fn env_explain_names_the_user_as_the_source() {
    let f = project("[services.s]\ncommand = \"true\"\nuser = \"nobody\"\n");
    let out = f.run(&["env", "s", "--explain"], LIMIT);
    assert_eq!(out.code(), Some(0), "{}", out.all());
    let s = &out.stdout;
    assert!(
        s.contains("USER=\"nobody\"  # from user nobody (passwd)\n"),
        "{s}"
    );
    // The fixture's HOME comes in through `inherit`; the user's replaces it.
    let home = s
        .lines()
        .find(|l| l.starts_with("HOME="))
        .unwrap_or_default();
    assert!(
        home.contains("# from user nobody (passwd); shadows os = /"),
        "{s}"
    );
}

#[test]
fn a_service_switched_to_nobody_still_dies_with_a_sigkilled_supervisor() {
    if !prerequisite(is_root(), "`user` switching needs root") {
        return;
    }
    // The kernel clears PR_SET_PDEATHSIG when the uid changes: it must be
    // armed after the switch.
    let f = open_project("[services.a]\ncommand = [\"sleep\", \"1000\"]\nuser = \"nobody\"\n");
    let up = Up::start(&f, &["up"]);
    assert!(
        eventually(LIMIT, || up.service_pids().len() == 1),
        "{}",
        up.output()
    );
    let pid = up.service_pids()[0];
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    assert!(
        status.contains(&format!("Uid:\t{}", id_of_nobody("-u"))),
        "{status}"
    );
    up.signal(libc::SIGKILL);
    assert!(
        eventually(Duration::from_secs(5), || !alive(pid)),
        "service {pid} (as nobody) outlived the supervisor"
    );
}

#[test]
fn a_non_root_check_or_up_with_user_is_refused_naming_the_reason() {
    if !prerequisite(
        is_root() && which("setpriv"),
        "running the binary as nobody needs root and setpriv",
    ) {
        return;
    }
    let f = open_project("[services.a]\ncommand = [\"sleep\", \"1000\"]\nuser = \"root\"\n");
    for args in [
        &["check", "--no-probe"][..],
        &["up"],
        &["run", "--", "true"],
    ] {
        let out = as_nobody(&f, args);
        assert_eq!(out.code(), Some(3), "{args:?}: {}", out.all());
        let uid = id_of_nobody("-u");
        assert!(
            out.stderr.contains(&format!("supervisor.toml:3:8: services.a.user: cannot run the service as user `root`: up runs as uid {uid} (not root), without CAP_SETUID")),
            "{args:?}: {}",
            out.stderr
        );
        assert!(!out.all().contains("started (pid"), "{}", out.all());
    }
}

#[test]
fn export_and_env_work_as_any_user() {
    if !prerequisite(
        is_root() && which("setpriv"),
        "running the binary as nobody needs root and setpriv",
    ) {
        return;
    }
    let f = open_project("[services.a]\ncommand = [\"sleep\", \"1000\"]\nuser = \"root\"\n");
    std::fs::set_permissions(f.path(), std::fs::Permissions::from_mode(0o777)).expect("chmod");
    let out = as_nobody(&f, &["export", "systemd", "--out", "units"]);
    assert_eq!(out.code(), Some(0), "{}", out.all());
    let unit = std::fs::read_to_string(f.path().join("units/uaol-a.service")).expect("unit");
    assert!(unit.contains("\nUser=root\n"), "{unit}");
    let out = as_nobody(&f, &["env", "a"]);
    assert_eq!(out.code(), Some(0), "{}", out.all());
    assert!(out.stdout.contains("USER=\"root\""), "{}", out.stdout);
}

/// Run the binary with `args` in `f` as nobody (setpriv), bounded.
fn as_nobody(f: &Fixture, args: &[&str]) -> crate::support::Output {
    let c = f.cmd(args);
    let mut cmd = Command::new("setpriv");
    let gid = format!("--regid={}", id_of_nobody("-g"));
    cmd.args(["--reuid=nobody", &gid, "--clear-groups", "--"])
        .arg(c.get_program())
        .args(c.get_args())
        .current_dir(f.path())
        .env_clear()
        .envs(c.get_envs().filter_map(|(k, v)| Some((k, v?))));
    run_bounded(&mut cmd, LIMIT)
}

#[test]
fn an_exec_readiness_check_runs_as_the_service_user() {
    if !prerequisite(is_root(), "`user` switching needs root") {
        return;
    }
    let uid = id_of_nobody("-u");
    let f = open_project(&format!(
        "[services.a]\ncommand = [\"sleep\", \"1000\"]\nuser = \"nobody\"\nready = {{ exec = [\"sh\", \"-c\", \"test $(id -u) = {uid}\"], interval = \"50ms\", timeout = \"5s\" }}\n"
    ));
    let out = f.run(&["run", "--", "true"], LIMIT);
    assert_eq!(out.code(), Some(0), "{}", out.all());
    assert!(out.all().contains("a: ready"), "{}", out.all());
}

fn which(tool: &str) -> bool {
    Command::new("sh")
        .args(["-c", &format!("command -v {tool}")])
        .output()
        .is_ok_and(|o| o.status.success())
}
