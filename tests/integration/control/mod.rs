//! Integration tests for the control socket: a real `up` in a temp dir with
//! tiny `sh` services, driven by the real client commands. Every `up` is
//! stopped (SIGTERM, then SIGKILL of its group) and every service group it
//! reported is SIGKILLed when the test ends, pass or fail.

mod actions;
mod dependents_back;
mod held;
mod live;
mod races;
mod reload;
mod reload_plan;
mod replicas;
mod security;
mod shed;
mod socket;
mod status;
mod trust;
mod watch;

use std::collections::BTreeMap;
use std::fs::File;
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::support::{kill_group, run_bounded, Fixture, Output};

/// Bound for one client command.
pub(crate) const CMD: Duration = Duration::from_secs(20);

/// A running `up` in the background.
pub(crate) struct Up {
    child: Option<Child>,
    /// Its stdout+stderr.
    pub log: PathBuf,
    groups: Vec<i32>,
    /// Global args the client needs to find this `up` (`-c PATH`).
    client: Vec<String>,
}

impl Up {
    /// Start `up` in the fixture (stdout and stderr to `up.log`).
    pub(crate) fn start(fx: &Fixture) -> Up {
        Up::start_with(fx, &[])
    }

    /// Start `up` with extra environment variables.
    pub(crate) fn start_with(fx: &Fixture, env: &[(&str, &str)]) -> Up {
        let mut c = fx.cmd(&["up"]);
        c.envs(env.iter().copied());
        Up::spawn(fx, c, Vec::new())
    }

    /// Start `up ARGS…` (e.g. `--watch`).
    pub(crate) fn start_args(fx: &Fixture, args: &[&str]) -> Up {
        let mut all = vec!["up"];
        all.extend(args);
        Up::spawn(fx, fx.cmd(&all), Vec::new())
    }

    /// Start `up` in the subdirectory `sub` (holding supervisor.toml); the
    /// client then finds it with `-c sub/supervisor.toml` from the fixture root.
    pub(crate) fn start_in(fx: &Fixture, sub: &str) -> Up {
        let mut c = fx.cmd(&["up"]);
        c.current_dir(fx.path().join(sub));
        let cfg = fx.path().join(sub).join("supervisor.toml");
        Up::spawn(fx, c, vec!["-c".into(), cfg.to_string_lossy().into_owned()])
    }

    /// Start `up` in a session of its own: no controlling terminal (as under
    /// a service manager, a container, `nohup`), whatever runs the tests.
    pub(crate) fn start_detached(fx: &Fixture) -> Up {
        let mut c = fx.cmd(&["up"]);
        // SAFETY: setsid(2) only, between fork and exec.
        unsafe {
            c.pre_exec(|| {
                nix::unistd::setsid()
                    .map(drop)
                    .map_err(std::io::Error::from)
            });
        }
        Up::spawn_as(fx, c, Vec::new(), false)
    }

    fn spawn(fx: &Fixture, c: Command, client: Vec<String>) -> Up {
        Up::spawn_as(fx, c, client, true)
    }

    /// `own_group`: a process group of its own (else the caller's pre_exec
    /// makes a session, which is a group too: its pid is the group id).
    fn spawn_as(fx: &Fixture, mut c: Command, client: Vec<String>, own_group: bool) -> Up {
        let log = fx.path().join("up.log");
        let f = File::create(&log).expect("log");
        c.stdin(Stdio::null())
            .stdout(f.try_clone().expect("dup"))
            .stderr(f);
        if own_group {
            c.process_group(0);
        }
        Up {
            child: Some(c.spawn().expect("spawn up")),
            log,
            groups: Vec::new(),
            client,
        }
    }

    /// `up`'s pid.
    pub(crate) fn pid(&self) -> u32 {
        self.child.as_ref().map_or(0, Child::id)
    }

    /// What `up` printed so far.
    pub(crate) fn output(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Wait (bounded) until `up`'s output contains `needle`.
    pub(crate) fn wait_for_log(&self, needle: &str) -> bool {
        let deadline = Instant::now() + Duration::from_secs(20);
        while Instant::now() < deadline {
            if self.output().contains(needle) {
                return true;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        false
    }

    /// Poll `status --json` until `done` holds for the services (bounded).
    pub(crate) fn wait_for(
        &mut self,
        fx: &Fixture,
        what: &str,
        done: impl Fn(&[Value]) -> bool,
    ) -> Vec<Value> {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let mut args: Vec<&str> = self.client.iter().map(String::as_str).collect();
            args.extend(["status", "--json"]);
            let o = fx.run(&args, CMD);
            if let Ok(Value::Array(v)) = serde_json::from_str::<Value>(&o.stdout) {
                self.remember(&v);
                if done(&v) {
                    return v;
                }
            }
            assert!(
                Instant::now() < deadline,
                "timed out waiting for {what}; last status: {o:?}\nup: {}",
                self.output()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Wait until every service is ready (or completed).
    pub(crate) fn wait_ready(&mut self, fx: &Fixture) -> Vec<Value> {
        self.wait_for(fx, "all ready", |v| v.iter().all(|s| s["ready"] == true))
    }

    /// Note the service groups to kill at the end.
    pub(crate) fn remember(&mut self, services: &[Value]) {
        for s in services {
            if let Some(p) = s["pid"].as_i64() {
                self.groups.push(p as i32);
            }
        }
    }

    /// SIGTERM `up` and wait for it (bounded); SIGKILL on overrun.
    pub(crate) fn stop(&mut self) -> Option<ExitStatus> {
        let mut child = self.child.take()?;
        let pid = child.id() as i32;
        // SAFETY: kill(2) on our own child's pid; no memory is touched.
        unsafe { libc::kill(pid, libc::SIGTERM) };
        let deadline = Instant::now() + Duration::from_secs(15);
        let status = loop {
            if let Some(st) = child.try_wait().expect("try_wait") {
                break st;
            }
            if Instant::now() >= deadline {
                kill_group(pid);
                break child.wait().expect("wait");
            }
            std::thread::sleep(Duration::from_millis(20));
        };
        kill_group(pid);
        Some(status)
    }
}

impl Drop for Up {
    fn drop(&mut self) {
        self.stop();
        for g in &self.groups {
            kill_group(*g);
        }
    }
}

/// A service entry by name.
pub(crate) fn service<'a>(v: &'a [Value], name: &str) -> &'a Value {
    v.iter()
        .find(|s| s["name"] == name)
        .unwrap_or_else(|| panic!("no {name} in {v:?}"))
}

/// Assert the exit code, showing the output otherwise.
pub(crate) fn expect_code(o: &Output, code: i32) {
    assert_eq!(o.code(), Some(code), "{o:?}");
}

/// Run a client command with extra environment variables.
pub(crate) fn run_env(fx: &Fixture, args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut c = fx.cmd(args);
    c.envs(env.iter().copied());
    run_bounded(&mut c, CMD)
}

/// Service name → pid, from `status --json`'s services.
pub(crate) fn pids(v: &[Value]) -> BTreeMap<String, i64> {
    v.iter()
        .filter_map(|s| Some((s["name"].as_str()?.to_owned(), s["pid"].as_i64()?)))
        .collect()
}

/// A variable of a running process, as the kernel holds it.
pub(crate) fn environ(pid: i64, name: &str) -> Option<String> {
    let raw = std::fs::read(format!("/proc/{pid}/environ")).ok()?;
    raw.split(|b| *b == 0)
        .filter_map(|kv| std::str::from_utf8(kv).ok())
        .find_map(|kv| kv.strip_prefix(&format!("{name}=")).map(str::to_owned))
}

/// The lines of the fixture's `order` file: the test services append their
/// name (one line per start), so the file records who started in which order.
pub(crate) fn order(fx: &Fixture) -> Vec<String> {
    std::fs::read_to_string(fx.path().join("order"))
        .unwrap_or_default()
        .lines()
        .map(str::to_owned)
        .collect()
}
