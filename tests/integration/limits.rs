//! `limits`, `umask`, `nice` seen from inside the child: /proc/self/limits,
//! the `Umask:` line of /proc/self/status, field 19 of /proc/self/stat.

use std::os::unix::process::CommandExt;
use std::time::Duration;

use crate::support::prerequisite;
use crate::upkit::{eventually, project, service_line, Up};

const LIMIT: Duration = Duration::from_secs(30);

const REPORT: &str = "grep -E '^Max (open files|core file size)' /proc/self/limits | tr -s ' ' ' '; grep '^Umask:' /proc/self/status | tr -s '\\t' ' '; echo nice=$(cut -d' ' -f19 /proc/self/stat); echo done; exec sleep 1000";

fn is_root() -> bool {
    // SAFETY: geteuid cannot fail.
    unsafe { libc::geteuid() == 0 }
}

#[test]
fn limits_umask_and_nice_are_what_the_child_sees() {
    // A negative nice needs root (CI runs as root).
    if !prerequisite(is_root(), "a negative nice needs root") {
        return;
    }
    let r = REPORT.replace('"', "\\\"");
    let f = project(&format!(
        "[services.tuned]\ncommand = [\"sh\", \"-c\", \"{r}\"]\nlimits = {{ nofile = \"4000:10000\", core = 0 }}\numask = \"0027\"\nnice = 7\n\
         [services.eager]\ncommand = [\"sh\", \"-c\", \"{r}\"]\nnice = -3\n\
         [services.plain]\ncommand = [\"sh\", \"-c\", \"{r}\"]\n"
    ));
    // `up` starts with soft 1024 / hard 20000 open files: it raises its own
    // soft limit and gives services without `limits.nofile` the 1024 back.
    let mut cmd = f.cmd(&["up"]);
    // SAFETY: setrlimit is async-signal-safe; the struct is on the stack.
    unsafe {
        cmd.pre_exec(|| {
            let lim = libc::rlimit {
                rlim_cur: 1024,
                rlim_max: 20000,
            };
            libc::setrlimit(libc::RLIMIT_NOFILE, &lim);
            Ok(())
        });
    }
    let mut up = Up::spawn(cmd);
    assert!(
        eventually(LIMIT, || up.output().matches("| done").count() == 3),
        "{}",
        up.output()
    );
    let out = up.output();
    let line = |svc: &str, what: &str| service_line(&out, svc, what);
    assert_eq!(
        line("tuned", "open files"),
        "Max open files 4000 10000 files"
    );
    assert_eq!(line("tuned", "core file"), "Max core file size 0 0 bytes");
    assert_eq!(line("tuned", "Umask"), "Umask: 0027");
    assert_eq!(line("tuned", "nice="), "nice=7");
    assert_eq!(line("eager", "nice="), "nice=-3");
    // Without the keys: the supervisor's own (original) values.
    assert_eq!(
        line("plain", "open files"),
        "Max open files 1024 20000 files"
    );
    assert_eq!(line("plain", "nice="), "nice=0");
    up.signal(libc::SIGINT);
    assert_eq!(up.wait(LIMIT).code(), Some(0), "{}", up.output());
}

#[test]
fn a_limit_the_kernel_refuses_is_a_check_error_not_a_spawn_failure() {
    let nr_open: u64 = std::fs::read_to_string("/proc/sys/fs/nr_open")
        .expect("fs.nr_open")
        .trim()
        .parse()
        .expect("a number");
    let above = nr_open + 1;
    let f = project(&format!(
        "[services.s]\ncommand = [\"sleep\", \"1000\"]\nlimits = {{ nofile = {above} }}\n"
    ));
    for args in [&["check", "--no-probe"][..], &["up"]] {
        let out = f.run(args, LIMIT);
        assert_eq!(out.code(), Some(3), "{args:?}: {}", out.all());
        assert!(
            out.stderr.contains(&format!("supervisor.toml:3:21: services.s.limits.nofile: {above} is above the kernel's ceiling fs.nr_open = {nr_open}")),
            "{args:?}: {}",
            out.stderr
        );
        assert!(!out.all().contains("started (pid"), "{}", out.all());
    }
}
