//! Output relay: prefixes, stderr marks, long lines, JSON, floods.

use std::io::Write;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::LIMIT;
use crate::plan::{LogFormat, RestartPolicy};
use crate::supervisor::chunk::{CUT, MAX_LINE};
use crate::supervisor::runtime::{Options, Supervisor};
use crate::supervisor::testkit::*;

fn oneshot(name: &str, script: &str) -> crate::plan::ServicePlan {
    let mut s = sh(name, script);
    s.oneshot = true;
    s.restart = RestartPolicy::Never;
    s
}

#[test]
fn prefixes_aligned_stderr_marked_partial_and_long_lines() {
    let long = MAX_LINE + 100;
    let a = oneshot("a", "echo hello; echo oops >&2; printf 'no newline'");
    let b = oneshot(
        "longer-name",
        &format!("head -c {long} /dev/zero | tr '\\0' x; echo; echo after"),
    );
    let (run, ()) = run(vec![a, b], LogFormat::Pretty, LIMIT, |_| async {});
    assert_eq!(run.code, 0);
    let out = run.out;
    assert!(out.contains("a           | hello\n"), "{out}");
    assert!(out.contains("a           ! oops\n"), "{out}");
    assert!(out.contains("a           | no newline\n"), "{out}");
    assert!(out.contains("longer-name | after\n"), "{out}");
    let pieces: Vec<&str> = out
        .lines()
        .filter(|l| l.starts_with("longer-name | x"))
        .collect();
    assert_eq!(pieces.len(), 2);
    assert!(pieces[0].ends_with(CUT));
    assert_eq!(pieces[1], format!("longer-name | {}", "x".repeat(100)));
}

#[test]
fn json_lines_parse() {
    let a = oneshot("api", "echo 'he said \"hi\"'; echo err >&2");
    let (run, ()) = run(vec![a], LogFormat::Json, LIMIT, |_| async {});
    let v: Vec<serde_json::Value> = run
        .out
        .lines()
        .map(|l| serde_json::from_str(l).expect(l))
        .collect();
    assert_eq!(v.len(), 2, "{}", run.out);
    let by_stream = |s: &str| v.iter().find(|x| x["stream"] == s).unwrap().clone();
    assert_eq!(by_stream("stdout")["line"], "he said \"hi\"");
    assert_eq!(by_stream("stderr")["line"], "err");
    assert_eq!(by_stream("stdout")["service"], "api");
    assert!(by_stream("stdout")["ts"].as_str().unwrap().ends_with('Z'));
}

/// Counts bytes and the quiet service's lines without keeping the flood.
#[derive(Clone, Default)]
struct Counter {
    bytes: Arc<AtomicU64>,
    quiet: Arc<AtomicU64>,
}

impl Write for Counter {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        self.bytes.fetch_add(b.len() as u64, Ordering::Relaxed);
        let n = b.windows(6).filter(|w| w == b"| tick").count();
        self.quiet.fetch_add(n as u64, Ordering::Relaxed);
        Ok(b.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[test]
fn a_100mb_flood_is_relayed_and_does_not_starve_others() {
    let flood = oneshot("flood", "yes 'flooding flooding flooding flooding flooding flooding 0123456789' | head -c 100000000");
    let quiet = sh("quiet", "while :; do echo tick; sleep 0.05; done");
    let c = Counter::default();
    let opts = Options {
        services: vec![],
        init: false,
        probe: false,
        format: LogFormat::Pretty,
        colour: false,
        out: Box::new(c.clone()),
        os_signals: false,
    };
    let (h, sup) = Supervisor::new(plan(vec![flood, quiet]), opts).unwrap();
    let rt = crate::supervisor::runtime::current_thread().unwrap();
    let t = Instant::now();
    let code = rt.block_on(async {
        tokio::time::timeout(LIMIT, async {
            let sup = tokio::spawn(sup.run());
            let mut hr = h.health.clone();
            // The flood is done when its oneshot completed.
            let _ = hr.wait_for(|x| x.all_ready).await;
            let elapsed = t.elapsed();
            shutdown(&h).await;
            (sup.await.unwrap(), elapsed)
        })
        .await
        .expect("hard timeout")
    });
    let (code, elapsed) = code;
    assert_eq!(code, 0);
    let bytes = c.bytes.load(Ordering::Relaxed);
    // 100 MB of input, plus an 11-byte prefix per 70-byte line.
    assert!(bytes > 100_000_000, "{bytes}");
    let ticks = c.quiet.load(Ordering::Relaxed);
    let expected = elapsed.as_secs_f64() / 0.05;
    assert!(
        ticks as f64 >= expected * 0.5,
        "quiet got {ticks} lines in {elapsed:?} (expected ~{expected:.0})"
    );
    eprintln!(
        "flood: {:.0} MB/s",
        bytes as f64 / 1e6 / elapsed.as_secs_f64().max(1e-3)
    );
    assert!(elapsed < Duration::from_secs(20), "{elapsed:?}");
}
