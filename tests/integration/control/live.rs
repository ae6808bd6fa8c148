//! The live control plane (issue 13): `events`, `logs -f` and
//! `status --watch` against a real `up`, driven by the real client binary
//! (or a raw socket where the client's pace matters). Every background
//! client is killed when the test ends.

use std::io::{BufRead, BufReader, Write};
use std::os::unix::net::UnixStream;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use super::{expect_code, service, Up, CMD};
use crate::support::Fixture;

/// A client command running in the background, its stdout read line by line.
pub(super) struct Follower {
    child: Child,
    lines: mpsc::Receiver<String>,
    /// Everything read so far.
    pub seen: Vec<String>,
}

impl Follower {
    pub(super) fn start(mut c: Command) -> Follower {
        c.stdin(Stdio::null());
        Follower::start_keep_stdin(c)
    }

    /// Like [`Follower::start`], with the stdin the command already has.
    pub(super) fn start_keep_stdin(mut c: Command) -> Follower {
        c.stdout(Stdio::piped()).stderr(Stdio::null());
        let mut child = c.spawn().expect("spawn client");
        let out = child.stdout.take().unwrap();
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for l in BufReader::new(out).lines().map_while(Result::ok) {
                if tx.send(l).is_err() {
                    return;
                }
            }
        });
        Follower {
            child,
            lines,
            seen: Vec::new(),
        }
    }

    /// Write to its stdin.
    pub(super) fn send(&mut self, bytes: &[u8]) {
        let input = self.child.stdin.as_mut().expect("stdin");
        input.write_all(bytes).unwrap();
        input.flush().unwrap();
    }

    /// Wait for it to exit (bounded).
    pub(super) fn wait(&mut self, limit: Duration) -> Option<std::process::ExitStatus> {
        let end = Instant::now() + limit;
        while Instant::now() < end {
            if let Ok(Some(st)) = self.child.try_wait() {
                return Some(st);
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        None
    }

    /// Read until a line satisfies `want` (true) or `limit` passes (false).
    pub(super) fn until(&mut self, limit: Duration, want: impl Fn(&str) -> bool) -> bool {
        let end = Instant::now() + limit;
        loop {
            let left = end.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(l) => {
                    let hit = want(&l);
                    self.seen.push(l);
                    if hit {
                        return true;
                    }
                }
                Err(_) => return false,
            }
        }
    }
}

impl Drop for Follower {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

const FLAP: &str = r#"
[services.flap]
command = ["sh", "-c", "sleep 0.1; echo flap ok $$; exec sleep 100"]
ready = { log = "flap ok", interval = "50ms" }
backoff = { initial = "100ms" }
"#;

/// A crash shows as ready → backoff → starting → running → ready, with
/// the old and the new pid, in order, as it happens.
#[test]
fn events_show_crash_backoff_running_ready_with_pids() {
    let fx = Fixture::new();
    fx.write("supervisor.toml", FLAP);
    let mut up = Up::start(&fx);
    let v = up.wait_ready(&fx);
    let old = service(&v, "flap")["pid"].as_i64().unwrap();
    let mut ev = Follower::start(fx.cmd(&["events", "--json"]));
    std::thread::sleep(Duration::from_millis(300));
    // SAFETY: kill(2) of the service we started; no memory is involved.
    unsafe { libc::kill(old as i32, libc::SIGKILL) };
    let ready_again = |l: &str| l.contains(r#""from":"running","to":"ready""#);
    assert!(
        ev.until(Duration::from_secs(10), ready_again),
        "{:?}",
        ev.seen
    );
    let items: Vec<serde_json::Value> = ev
        .seen
        .iter()
        .map(|l| serde_json::from_str(l).unwrap())
        .filter(|v: &serde_json::Value| v["type"] == "transition")
        .collect();
    let steps: Vec<(String, String)> = items
        .iter()
        .map(|v| (v["from"].to_string(), v["to"].to_string()))
        .collect();
    let want = [
        ("ready", "backoff"),
        ("backoff", "starting"),
        ("starting", "running"),
        ("running", "ready"),
    ];
    let want: Vec<(String, String)> = want
        .iter()
        .map(|(a, b)| (format!("\"{a}\""), format!("\"{b}\"")))
        .collect();
    assert_eq!(steps, want, "{:?}", ev.seen);
    assert_eq!(items[0]["pid"].as_i64(), Some(old));
    assert!(
        items[0]["reason"]
            .as_str()
            .unwrap()
            .contains("killed by SIGKILL"),
        "{:?}",
        items[0]
    );
    let new = items[3]["pid"].as_i64().unwrap();
    assert_ne!(new, old);
    assert_eq!(items[2]["pid"].as_i64(), Some(new));
    // The pretty form, as documented.
    let o = fx.run(&["status", "--json"], CMD);
    expect_code(&o, 0);
    up.remember(&[serde_json::json!({ "pid": new })]);
}

/// `logs -f api` keeps following across a restart: the new process's lines
/// appear, prefixed like `up`'s own output.
#[test]
fn follow_across_a_restart_of_the_followed_service() {
    let fx = Fixture::new();
    fx.write(
        "supervisor.toml",
        r#"
[services.api]
command = ["./api.sh"]
env = { API_TOKEN = "s3cr3t-value-xyz" }

[services.other]
command = ["sh", "-c", "echo other says hi; exec sleep 100"]
"#,
    );
    // Each run says which it is (pids differ inside a PID namespace).
    fx.script(
        "api.sh",
        "n=$(( $(cat runs 2>/dev/null || echo 0) + 1 )); echo $n > runs\n\
         echo hello from run $n; echo token=$API_TOKEN; exec sleep 100",
    );
    let mut up = Up::start(&fx);
    up.wait_ready(&fx);
    let mut f = Follower::start(fx.cmd(&["logs", "-f", "api"]));
    let first = format!("{:<10} | hello from run 1", "api");
    assert!(
        f.until(Duration::from_secs(10), |l| l.starts_with(&first)),
        "{:?}",
        f.seen
    );
    let o = fx.run(&["restart", "api"], CMD);
    expect_code(&o, 0);
    up.wait_ready(&fx);
    let second = format!("{:<10} | hello from run 2", "api");
    assert!(
        f.until(Duration::from_secs(10), |l| l == second),
        "{:?}",
        f.seen
    );
    assert!(!f.seen.iter().any(|l| l.contains("other")), "{:?}", f.seen);
    // Secrets are masked in followed lines, live and from history.
    let masked = format!("{:<10} | token=****", "api");
    assert!(
        f.until(Duration::from_secs(5), |l| l == masked),
        "{:?}",
        f.seen
    );
    assert!(!f.seen.iter().any(|l| l.contains("s3cr3t")), "{:?}", f.seen);
    // `logs` without -f: all services, merged, same prefixes.
    let o = fx.run(&["logs"], CMD);
    expect_code(&o, 0);
    assert!(
        o.stdout
            .contains(&format!("{:<10} | other says hi", "other")),
        "{o:?}"
    );
    assert!(o.stdout.contains(&second), "{o:?}");
    assert!(!o.stdout.contains("s3cr3t"), "{o:?}");
}

/// One service floods while a raw client follows everything and reads
/// slowly: `up` does not stall (status answers, the quiet service's lines
/// keep coming), and the slow client is told it lost lines (the flood is
/// tens of MB: more than the 16 MiB a stream holds back for its client).
#[test]
fn follow_while_one_floods_marks_lag_and_never_stalls() {
    let fx = Fixture::new();
    fx.write(
        "supervisor.toml",
        r#"
[services.flood]
command = ["sh", "-c", "p=$(printf '%0200d' 0); i=0; while [ $i -lt 300000 ]; do echo flood line $i $p; i=$((i+1)); done; exec sleep 100"]

[services.quiet]
command = ["sh", "-c", "while :; do echo quiet tick; sleep 0.1; done"]
"#,
    );
    let mut up = Up::start(&fx);
    up.wait_ready(&fx);
    let sock = fx.path().join(".uaol-supervisor.sock");
    let mut slow = UnixStream::connect(&sock).unwrap();
    slow.write_all(b"{\"cmd\":\"logs\",\"follow\":true,\"lines\":0}\n")
        .unwrap();
    // Do not read for a while: the socket buffer fills, the stream lags.
    std::thread::sleep(Duration::from_secs(2));
    let t = Instant::now();
    let o = fx.run(&["status"], CMD);
    expect_code(&o, 0);
    assert!(t.elapsed() < Duration::from_secs(2), "{:?}", t.elapsed());
    let quiet_before = up.output().matches("quiet tick").count();
    std::thread::sleep(Duration::from_millis(500));
    let quiet_after = up.output().matches("quiet tick").count();
    assert!(quiet_after > quiet_before, "{quiet_before} → {quiet_after}");
    // Now read: somewhere in the stream is the lag marker.
    slow.set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let mut reader = BufReader::new(slow);
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut line = String::new();
    let mut lagged = None;
    while Instant::now() < deadline {
        line.clear();
        if reader.read_line(&mut line).unwrap_or(0) == 0 {
            break;
        }
        if line.contains(r#""type":"lagged""#) {
            lagged = Some(line.clone());
            break;
        }
    }
    let lagged = lagged.expect("no lag marker in the stream");
    let v: serde_json::Value = serde_json::from_str(&lagged).unwrap();
    assert!(v["dropped"].as_u64().unwrap() > 0, "{lagged}");
    // `up` stops promptly with the follower still attached, and its stream ends.
    let t = Instant::now();
    let st = up.stop();
    assert_eq!(st.and_then(|s| s.code()), Some(0), "{}", up.output());
    assert!(t.elapsed() < Duration::from_secs(5), "{:?}", t.elapsed());
    drop(reader);
}

/// `status --watch` in a real pseudo-terminal (under `script`): the table is
/// drawn, redrawn in place when a service changes state, and `q` ends it.
#[test]
fn status_watch_redraws_on_change_in_a_terminal() {
    let fx = Fixture::new();
    fx.write(
        "supervisor.toml",
        r#"
[services.alpha]
command = ["sleep", "100"]

[services.beta]
command = ["sleep", "100"]
"#,
    );
    let mut up = Up::start(&fx);
    up.wait_ready(&fx);
    let bin = crate::support::bin();
    let cmd = format!("{} status --watch", bin.display());
    let mut c = Command::new("script");
    c.args(["-qfec", &cmd, "/dev/null"])
        .current_dir(fx.path())
        .env("TERM", "xterm")
        .stdin(Stdio::piped());
    let mut w = Follower::start_keep_stdin(c);
    let clear = "\x1b[H\x1b[2J";
    let drawn = |l: &str| l.contains("beta") && l.contains("ready");
    assert!(w.until(Duration::from_secs(10), drawn), "{:?}", w.seen);
    let o = fx.run(&["stop", "beta"], CMD);
    expect_code(&o, 0);
    let redrawn = |l: &str| l.contains("beta") && l.contains("stopped");
    assert!(w.until(Duration::from_secs(10), redrawn), "{:?}", w.seen);
    let all = w.seen.join("\n");
    assert!(all.matches(clear).count() >= 2, "{all:?}");
    // `q` on the terminal ends it, with exit 0.
    w.send(b"q");
    let st = w.wait(Duration::from_secs(5));
    assert_eq!(st.and_then(|s| s.code()), Some(0), "{:?}", w.seen);
}

/// Wake-ups of every thread of `pid` so far (voluntary + involuntary).
fn wakeups(pid: u32) -> u64 {
    let mut n = 0;
    for t in std::fs::read_dir(format!("/proc/{pid}/task"))
        .unwrap()
        .flatten()
    {
        let status = std::fs::read_to_string(t.path().join("status")).unwrap_or_default();
        n += status
            .lines()
            .filter(|l| l.contains("ctxt_switches"))
            .filter_map(|l| l.split_whitespace().nth(1)?.parse::<u64>().ok())
            .sum::<u64>();
    }
    n
}

/// Three followers attached (`logs -f`, `events`, a raw `status` watch) and
/// nothing happening: `up` does not wake up at all — no timer, no polling.
#[test]
fn idle_with_followers_attached_never_wakes_up() {
    let fx = Fixture::new();
    fx.write(
        "supervisor.toml",
        "[services.idle]\ncommand = [\"sleep\", \"100\"]\n",
    );
    let mut up = Up::start(&fx);
    up.wait_ready(&fx);
    let mut logs = Follower::start(fx.cmd(&["logs", "-f"]));
    let mut events = Follower::start(fx.cmd(&["events", "--json"]));
    let sock = fx.path().join(".uaol-supervisor.sock");
    let mut watch = UnixStream::connect(&sock).unwrap();
    watch
        .write_all(b"{\"cmd\":\"status\",\"watch\":true}\n")
        .unwrap();
    let mut first = String::new();
    BufReader::new(&watch).read_line(&mut first).unwrap();
    assert!(first.contains(r#""type":"status""#), "{first}");
    // Let everything settle (the status answer's CPU sampling, the clients' start).
    std::thread::sleep(Duration::from_millis(500));
    let pid = up.pid();
    let before = wakeups(pid);
    std::thread::sleep(Duration::from_secs(2));
    let after = wakeups(pid);
    assert_eq!(
        after - before,
        0,
        "up woke up {} times while idle",
        after - before
    );
    assert!(!logs.until(Duration::from_millis(10), |_| true) || logs.seen.len() < 3);
    assert!(!events.until(Duration::from_millis(10), |_| true));
}

/// `up`'s peak resident memory (kB).
fn peak_rss_kb(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))
        .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        .unwrap_or(0)
}

/// A follower that never reads while a service floods 200 MB: `up` holds
/// a bounded backlog for it (16 MiB of output, docs/control.md), not
/// everything the broadcast could keep (4096 batches of up to 256 KiB); the
/// follower is told what it lost and still gets the lines after the flood.
#[test]
fn a_stuck_follower_holds_a_bounded_backlog() {
    let fx = Fixture::new();
    fx.write(
        "supervisor.toml",
        r#"
[services.flood]
command = ["sh", "-c", "while [ ! -e go ]; do sleep 0.05; done; yes 'flood line of fifty bytes, give or take a few..' | head -c 200000000; touch done; echo after the flood; exec sleep 100"]
"#,
    );
    let mut up = Up::start(&fx);
    up.wait_ready(&fx);
    let sock = fx.path().join(".uaol-supervisor.sock");
    let stuck = UnixStream::connect(&sock).unwrap();
    (&stuck)
        .write_all(b"{\"cmd\":\"logs\",\"follow\":true,\"lines\":0}\n")
        .unwrap();
    stuck
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let mut reader = BufReader::new(stuck);
    let mut line = String::new();
    reader.read_line(&mut line).unwrap();
    assert!(line.contains(r#""type":"services""#), "{line}");
    // Attached: let the flood go, and do not read until it is over.
    fx.write("go", "");
    let deadline = Instant::now() + Duration::from_secs(60);
    while !fx.path().join("done").exists() {
        assert!(Instant::now() < deadline, "the flood never ended");
        std::thread::sleep(Duration::from_millis(50));
    }
    std::thread::sleep(Duration::from_millis(500));
    let peak = peak_rss_kb(up.pid());
    assert!(peak > 0, "no VmHWM for {}", up.pid());
    assert!(
        peak < 80 * 1024,
        "up held {} MiB for a stuck follower",
        peak / 1024
    );
    // Now read: a lag marker, then the line written after the flood.
    let (mut lagged, mut after) = (0, false);
    while !after {
        line.clear();
        if reader.read_line(&mut line).unwrap_or(0) == 0 {
            break;
        }
        if line.contains(r#""type":"lagged""#) {
            let v: serde_json::Value = serde_json::from_str(&line).unwrap();
            lagged += v["dropped"].as_u64().unwrap_or(0);
        }
        after = line.contains("after the flood");
    }
    assert!(lagged > 0, "no lag marker");
    assert!(after, "the line after the flood never came");
}

/// (thread name, nice value) of every thread of `pid`.
fn thread_nice(pid: u32) -> Vec<(String, i64)> {
    let mut out = Vec::new();
    for t in std::fs::read_dir(format!("/proc/{pid}/task"))
        .unwrap()
        .flatten()
    {
        let stat = std::fs::read_to_string(t.path().join("stat")).unwrap_or_default();
        let (Some(open), Some(close)) = (stat.find('('), stat.rfind(')')) else {
            continue;
        };
        // After the name: state is field 3, nice field 19.
        let nice = stat[close + 2..].split_whitespace().nth(16);
        if let Some(nice) = nice.and_then(|n| n.parse().ok()) {
            out.push((stat[open + 1..close].to_owned(), nice));
        }
    }
    out
}

/// A follower's thread yields the CPU to the relays and the engine (nice
/// +10); `up`'s own threads keep their priority.
#[test]
fn a_follower_thread_runs_at_a_lower_priority() {
    let fx = Fixture::new();
    fx.write(
        "supervisor.toml",
        "[services.talk]\ncommand = [\"sh\", \"-c\", \"echo hi; exec sleep 100\"]\n",
    );
    let mut up = Up::start(&fx);
    up.wait_ready(&fx);
    let mut f = Follower::start(fx.cmd(&["logs", "-f"]));
    assert!(
        f.until(Duration::from_secs(10), |l| l.contains("hi")),
        "{:?}",
        f.seen
    );
    let threads = thread_nice(up.pid());
    let stream: Vec<_> = threads
        .iter()
        .filter(|(n, _)| n == "control-stream")
        .collect();
    assert_eq!(stream.len(), 1, "{threads:?}");
    assert_eq!(stream[0].1, 10, "{threads:?}");
    let base = threads
        .iter()
        .find(|(n, _)| n != "control-stream")
        .map(|t| t.1);
    assert_eq!(base, Some(0), "{threads:?}");
}
