//! `up` gives back its start-up's pages once the start has settled
//! (src/supervisor/shed.rs): the binary's resident file pages shrink, and a
//! crash is still restarted and `status` still answered after — the pages
//! it needs come back from the page cache.
//!
//! No timing: a service whose readiness check waits for a file the test
//! creates holds the start open; the pages are counted while it does, and
//! again once `status` shows it ready. The engine sheds in the wake-up that
//! settled the start, so a `status` answered after it (a later wake-up) comes
//! after the shed.

use crate::control::{expect_code, service, Up, CMD};
use crate::support::{bin, Fixture};

/// The resident KiB of `pid`'s mappings of our binary (`Rss` in smaps).
fn binary_rss(pid: u32) -> u64 {
    let smaps = std::fs::read_to_string(format!("/proc/{pid}/smaps")).expect("smaps");
    let binary = bin().canonicalize().expect("binary path");
    let binary = binary.to_string_lossy();
    let mut ours = false;
    let mut kib = 0;
    for line in smaps.lines() {
        let mut f = line.split_whitespace();
        let first = f.next().unwrap_or_default();
        if !first.ends_with(':') {
            ours = line.ends_with(binary.as_ref());
        } else if ours && first == "Rss:" {
            kib += f.next().and_then(|v| v.parse::<u64>().ok()).unwrap_or(0);
        }
    }
    kib
}

#[test]
fn up_gives_back_its_start_up_pages_and_still_restarts_and_answers() {
    let fx = Fixture::new();
    let go = fx.path().join("go");
    fx.write(
        "supervisor.toml",
        &format!(
            "[services.gate]\ncommand = [\"sleep\", \"600\"]\n\
             ready = {{ exec = [\"test\", \"-e\", {go:?}], interval = \"50ms\", timeout = \"120s\" }}\n\n\
             [services.crash]\ncommand = [\"sleep\", \"600\"]\nrestart = \"always\"\n\
             backoff = {{ initial = \"0s\" }}\n"
        ),
    );
    let mut up = Up::start(&fx);
    // The start is not over: `gate` waits for its check.
    up.wait_for(&fx, "crash up, gate running", |v| {
        service(v, "crash")["ready"] == true && service(v, "gate")["state"] == "running"
    });
    let before = binary_rss(up.pid());
    assert!(before > 0, "no resident page of {:?}?", bin());
    std::fs::write(&go, "").expect("go");
    let v = up.wait_for(&fx, "gate ready", |v| service(v, "gate")["ready"] == true);
    let after = binary_rss(up.pid());
    assert!(
        after < before,
        "the binary's resident pages did not shrink once the start settled: \
         {before} KiB → {after} KiB"
    );
    // After the shed: a crash is restarted, status answers.
    let old = service(&v, "crash")["pid"].as_i64().expect("crash pid");
    // SAFETY: kill(2) on the pid `up` reported for its service.
    unsafe { libc::kill(old as i32, libc::SIGKILL) };
    up.wait_for(&fx, "crash restarted", |v| {
        let s = service(v, "crash");
        s["ready"] == true && s["pid"].as_i64().is_some_and(|p| p != old)
    });
    let o = fx.run(&["status"], CMD);
    expect_code(&o, 0);
    assert!(
        o.stdout.contains("crash") && o.stdout.contains("gate"),
        "{o:?}"
    );
    assert_eq!(up.stop().and_then(|s| s.code()), Some(0), "{}", up.output());
}
