//! `up --watch` against real processes and real file writes: a burst under a
//! service's `watch` path is one restart of that service only; ignored paths
//! restart nothing; an env file edit (also by rename, as editors save) is the
//! reload; a broken edit to supervisor.toml is reported and touches nothing;
//! after a reload the watcher follows the new `watch` paths; and with nothing
//! changing, `up` uses no CPU at all. Every wait is bounded.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use super::{pids, Up};
use crate::support::Fixture;

const WATCHED: &str = r#"
[supervisor]
env_files = [".env"]

[services.api]
command = ["sh", "-c", "echo api says $GREETING; exec sleep 100"]
env_file = "api.env"
watch = ["src", "package.json"]
watch_ignore = ["*.log"]

[services.worker]
command = ["sleep", "100"]
"#;

fn watched() -> (Fixture, Up) {
    let fx = Fixture::new();
    fx.write("supervisor.toml", WATCHED);
    fx.write(".env", "SHARED=1\n");
    fx.write("api.env", "GREETING=hello\n");
    fx.write("package.json", "{}\n");
    fx.write("src/app.js", "// v0\n");
    let up = Up::start_args(&fx, &["--watch"]);
    (fx, up)
}

/// Ready, and the watcher has announced itself.
fn settled(fx: &Fixture, up: &mut Up) -> BTreeMap<String, i64> {
    let v = up.wait_ready(fx);
    assert!(up.wait_for_log("directories watched"), "{}", up.output());
    pids(&v)
}

/// Wait until `name` runs under a pid other than `old`, ready; its new pid.
fn restarted(fx: &Fixture, up: &mut Up, name: &str, old: i64) -> i64 {
    let v = up.wait_for(fx, &format!("{name} restarted"), |v| {
        v.iter().any(|s| {
            s["name"] == name && s["pid"].as_i64().is_some_and(|p| p != old) && s["ready"] == true
        })
    });
    pids(&v)[name]
}

fn count(up: &Up, needle: &str) -> usize {
    up.output().matches(needle).count()
}

#[test]
fn fifty_writes_in_100_ms_restart_the_watching_service_once() {
    let (fx, mut up) = watched();
    let before = settled(&fx, &mut up);
    let start = Instant::now();
    for i in 0..50 {
        fx.write("src/app.js", &format!("// v{i}\n"));
        std::thread::sleep(Duration::from_millis(2));
    }
    assert!(
        start.elapsed() < Duration::from_millis(300),
        "the burst took {:?}",
        start.elapsed()
    );
    let new = restarted(&fx, &mut up, "api", before["api"]);
    // Longer than the quiet period and the longest debounce wait.
    std::thread::sleep(Duration::from_millis(2500));
    let after = pids(&up.wait_ready(&fx));
    assert_eq!(after["api"], new, "exactly one restart:\n{}", up.output());
    assert_eq!(
        after["worker"], before["worker"],
        "worker does not watch src"
    );
    assert_eq!(count(&up, "restarting `api`"), 1, "{}", up.output());
    assert_eq!(count(&up, "api: started (pid"), 2, "{}", up.output());
    assert!(
        up.output()
            .contains("watch: src/app.js changed: restarting `api`"),
        "{}",
        up.output()
    );

    // A single watched file (package.json) counts too.
    fx.write("package.json", "{\"v\":1}\n");
    restarted(&fx, &mut up, "api", new);
}

#[test]
fn ignored_paths_restart_nothing_and_new_directories_are_watched() {
    let (fx, mut up) = watched();
    let before = settled(&fx, &mut up);
    for i in 0..10 {
        let v = format!("{i}\n");
        fx.write("src/node_modules/dep/index.js", &v);
        fx.write("src/.git/index", &v);
        fx.write("src/.app.js.swp", &v);
        fx.write("src/app.js~", &v);
        fx.write("src/4913", &v);
        fx.write("src/debug.log", &v);
        fx.write("README.md", &v);
    }
    std::thread::sleep(Duration::from_millis(1500));
    assert_eq!(pids(&up.wait_ready(&fx)), before, "{}", up.output());
    assert_eq!(count(&up, "restarting `api`"), 0, "{}", up.output());

    // The watcher was alive all along: a real change restarts. A directory
    // created later is watched too.
    std::fs::create_dir(fx.path().join("src/feature")).expect("mkdir");
    let first = restarted(&fx, &mut up, "api", before["api"]);
    std::thread::sleep(Duration::from_millis(500));
    fx.write("src/feature/new.js", "// new\n");
    restarted(&fx, &mut up, "api", first);
}

#[test]
fn an_env_file_edit_is_the_reload_even_when_the_editor_renames() {
    let (fx, mut up) = watched();
    let before = settled(&fx, &mut up);
    // Saved as editors do: a new file renamed over the old one.
    fx.write("api.env.tmp", "GREETING=bonjour\n");
    std::fs::rename(fx.path().join("api.env.tmp"), fx.path().join("api.env")).expect("rename");
    let api = restarted(&fx, &mut up, "api", before["api"]);
    assert!(
        up.wait_for_log("reload applied (plan generation 2)"),
        "{}",
        up.output()
    );
    assert!(
        up.output().contains("watch: api.env changed: reloading"),
        "{}",
        up.output()
    );
    assert!(up.output().contains("api says bonjour"), "{}", up.output());
    let v = up.wait_ready(&fx);
    assert_eq!(
        pids(&v)["worker"],
        before["worker"],
        "worker does not receive GREETING"
    );

    // And the renamed file is still watched: a second edit, in place.
    fx.write("api.env", "GREETING=hallo\n");
    restarted(&fx, &mut up, "api", api);
    assert!(up.wait_for_log("api says hallo"), "{}", up.output());
}

#[test]
fn a_broken_config_edit_is_reported_and_touches_nothing() {
    let (fx, mut up) = watched();
    let before = settled(&fx, &mut up);
    fx.write(
        "supervisor.toml",
        &WATCHED.replace("watch = [\"src\"", "watch = [\"src\"]]"),
    );
    assert!(
        up.wait_for_log("reload refused, nothing changed"),
        "{}",
        up.output()
    );
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(pids(&up.wait_ready(&fx)), before, "{}", up.output());
    let st = fx.run(&["status"], super::CMD);
    assert!(st.stdout.contains("plan generation 1"), "{st:?}");

    // Fixed, and moved to watch `lib` instead of `src`: the watcher follows.
    fx.write("lib/x.js", "// x\n");
    fx.write(
        "supervisor.toml",
        &WATCHED.replace("watch = [\"src\"", "watch = [\"lib\""),
    );
    assert!(
        super::super::upkit::eventually(Duration::from_secs(20), || count(
            &up,
            "directories watched"
        ) == 2),
        "{}",
        up.output()
    );
    fx.write("src/app.js", "// not watched any more\n");
    std::thread::sleep(Duration::from_millis(800));
    assert_eq!(
        pids(&up.wait_ready(&fx))["api"],
        before["api"],
        "{}",
        up.output()
    );
    fx.write("lib/x.js", "// watched now\n");
    restarted(&fx, &mut up, "api", before["api"]);
}

/// utime + stime of a process, in clock ticks.
fn cpu_ticks(pid: u32) -> u64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).expect("stat");
    let after = stat.rsplit(") ").next().expect("comm");
    let f: Vec<&str> = after.split(' ').collect();
    // Fields 14 and 15 of stat(5), counted from `state` (field 3).
    f[11].parse::<u64>().expect("utime") + f[12].parse::<u64>().expect("stime")
}

#[test]
fn watching_with_nothing_changing_uses_no_cpu() {
    let (fx, mut up) = watched();
    settled(&fx, &mut up);
    // Let the status requests above finish being answered.
    std::thread::sleep(Duration::from_millis(500));
    let t0 = cpu_ticks(up.pid());
    std::thread::sleep(Duration::from_secs(5));
    let t1 = cpu_ticks(up.pid());
    assert_eq!(
        t1,
        t0,
        "`up --watch` used {} ticks in 5 s of nothing",
        t1 - t0
    );
}

/// The inotify watch limit, lowered to 4 in a user namespace of the test's
/// own (the system's limit is untouched): `up` says so, with the way out, and
/// goes on watching what it has.
#[test]
fn the_inotify_watch_limit_is_reported_and_up_goes_on() {
    let probe = std::process::Command::new("unshare")
        .args([
            "-Ur",
            "sh",
            "-c",
            "echo 4 > /proc/sys/user/max_inotify_watches",
        ])
        .output();
    if !crate::support::prerequisite(
        probe.is_ok_and(|o| o.status.success()),
        "the watch limit test needs `unshare -Ur` and a writable /proc/sys/user/max_inotify_watches",
    ) {
        return;
    }
    let fx = Fixture::new();
    // No PID namespace: the pids `up` prints are this system's, so the
    // harness's cleanup kills the right processes.
    let toml = WATCHED.replace("[supervisor]\n", "[supervisor]\ncontain = \"none\"\n");
    fx.write("supervisor.toml", &toml);
    fx.write(".env", "SHARED=1\n");
    fx.write("api.env", "GREETING=hello\n");
    fx.write("package.json", "{}\n");
    fx.write("src/app.js", "// v0\n");
    for i in 0..10 {
        fx.write(&format!("src/d{i}/x.js"), "// x\n");
    }
    let bin = crate::support::bin();
    let script = format!(
        "echo 4 > /proc/sys/user/max_inotify_watches && exec '{}' up --watch",
        bin.display()
    );
    // The fixture's environment (not its arguments).
    let c = fx.cmd(&[]);
    let mut un = std::process::Command::new("unshare");
    un.args(["-Ur", "--kill-child", "sh", "-c", &script])
        .current_dir(fx.path())
        .env_clear()
        .envs(
            c.get_envs()
                .filter_map(|(k, v)| Some((k.to_owned(), v?.to_owned()))),
        );
    let up = crate::upkit::Up::spawn(un);
    let limit = Duration::from_secs(20);
    assert!(
        up.wait_for("the inotify watch limit is reached (user.max_inotify_watches = 4 in this user namespace", limit),
        "{}",
        up.output()
    );
    assert!(
        up.wait_for("watch: 4 directories watched", limit),
        "{}",
        up.output()
    );
    // Still watching what it has: src itself is among the first watched.
    std::thread::sleep(Duration::from_millis(300));
    fx.write("src/app.js", "// v1\n");
    assert!(
        up.wait_for("watch: src/app.js changed: restarting `api`", limit),
        "{}",
        up.output()
    );
    assert!(
        up.wait_for("watch: restarted `api`: ready", limit),
        "{}",
        up.output()
    );
}
