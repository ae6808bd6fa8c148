//! `max_memory` with the real binary: a service whose group grows past its
//! limit (the memory sits in a CHILD of `sh`, so only whole-group RSS sees
//! it) is restarted with the reason in the output and in `status`; the same
//! load without a limit is left alone; one that always blows its limit ends
//! `failed` and `up` exits on its own. Every `up` is bounded and cleaned up
//! (see `control::Up` and `run_bounded`).

use std::time::Duration;

use crate::control::{expect_code, service, Up, CMD};
use crate::support::Fixture;

/// ~76 MiB held by a subshell (a child of the service's `sh`), then idle.
const LOAD: &str = r#"( x=$(head -c 80000000 /dev/zero | tr '\0' a); echo loaded; sleep 100; echo $${#x} ); echo done"#;

fn service_toml(name: &str, extra: &str) -> String {
    format!(
        "[services.{name}]\ncommand = [\"sh\", \"-c\", {LOAD:?}]\nstop_timeout = \"3s\"\n{extra}\n"
    )
}

#[test]
fn over_the_limit_restarts_with_the_reason_and_no_limit_is_left_alone() {
    let fx = Fixture::new();
    let cfg = service_toml(
        "hog",
        "max_memory = \"50MiB\"\nbackoff = { initial = \"5s\" }",
    ) + &service_toml("free", "");
    fx.write("supervisor.toml", &cfg);
    let mut up = Up::start(&fx);
    let v = up.wait_ready(&fx);
    let free_pid = service(&v, "free")["pid"].as_i64().unwrap();
    let v = up.wait_for(&fx, "hog restarted for memory", |v| {
        service(v, "hog")["restarts"].as_u64() >= Some(1)
    });
    let hog = service(&v, "hog");
    let reason = hog["last_exit"]["reason"].as_str().unwrap_or_default();
    assert!(
        reason.contains("(RSS ") && reason.contains("exceeds max_memory 50 MiB"),
        "{hog}"
    );
    let log = up.output();
    assert!(
        log.contains("hog: RSS ") && log.contains("exceeds max_memory 50 MiB; restarting"),
        "{log}"
    );
    // The unlimited twin carries the same load, untouched.
    let free = service(&v, "free");
    assert_eq!(free["pid"].as_i64(), Some(free_pid), "{free}");
    assert_eq!(free["restarts"], 0, "{free}");
    assert!(free["rss_bytes"].as_u64() > Some(50 << 20), "{free}");
    assert!(!log.contains("free: RSS"), "{log}");
    // The human table shows the reason too.
    let o = fx.run(&["status"], CMD);
    expect_code(&o, 0);
    assert!(o.stdout.contains("exceeds max_memory 50 MiB"), "{o:?}");
    assert_eq!(up.stop().and_then(|s| s.code()), Some(0), "{}", up.output());
}

#[test]
fn always_over_the_limit_ends_failed_and_up_exits() {
    let fx = Fixture::new();
    let cfg = service_toml(
        "hog",
        "max_memory = \"50MiB\"\nmax_restarts = 1\nbackoff = { initial = \"0s\" }",
    );
    fx.write("supervisor.toml", &cfg);
    let o = fx.run(&["up"], Duration::from_secs(40));
    expect_code(&o, 8);
    let all = o.all();
    assert!(all.contains("hog: FAILED: crash loop: 1 restarts"), "{all}");
    assert!(all.contains("(last: RSS "), "{all}");
    assert!(all.contains("exceeds max_memory 50 MiB)"), "{all}");
}
