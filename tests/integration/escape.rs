//! Processes that leave their service's process group (a `setsid` daemon)
//! are re-parented to `up`, a child subreaper; they must not outlive `up`.
//! Found by the chaos soak (scripts/soak.sh, `daemon` services).

use std::time::Duration;

use crate::support::Fixture;
use crate::upkit::{alive, eventually, Up};

/// Live processes whose environment holds `mark`.
fn marked(mark: &str) -> Vec<i32> {
    let needle = format!("ESCAPE_MARK={mark}");
    std::fs::read_dir("/proc")
        .unwrap()
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<i32>().ok())
        .filter(|pid| {
            std::fs::read(format!("/proc/{pid}/environ"))
                .is_ok_and(|env| env.split(|&b| b == 0).any(|v| v == needle.as_bytes()))
        })
        .filter(|&pid| alive(pid))
        .collect()
}

/// In a PID namespace of ours (the default where allowed) the daemons are
/// adopted by the namespace init; with `contain = "none"` by `up` itself.
#[test]
fn setsid_daemons_do_not_outlive_up() {
    daemons_do_not_outlive_up("auto");
}

#[test]
fn setsid_daemons_do_not_outlive_up_without_containment() {
    daemons_do_not_outlive_up("none");
}

fn daemons_do_not_outlive_up(contain: &str) {
    let f = Fixture::new();
    let mark = format!("{}-{}", std::process::id(), f.path().display());
    f.write(
        "supervisor.toml",
        &format!(
            r#"
[supervisor]
contain = "{contain}"

[services.d]
command = ["sh", "-c", "setsid -f sleep 1000; setsid -f sh -c 'trap \"\" TERM; sleep 1000'; echo forked; exec sleep 1000"]
env = {{ ESCAPE_MARK = "{mark}" }}
"#
        ),
    );
    let mut up = Up::start(&f, &["up"]);
    assert!(
        up.wait_for("forked", Duration::from_secs(30)),
        "{}",
        up.output()
    );
    // The leader, and two daemons in sessions of their own (one ignores SIGTERM).
    assert!(eventually(Duration::from_secs(10), || marked(&mark).len() >= 4));
    let daemons = marked(&mark);
    up.signal(libc::SIGTERM);
    let st = up.wait(Duration::from_secs(30));
    let gone = eventually(Duration::from_secs(5), || marked(&mark).is_empty());
    let left = marked(&mark);
    for &pid in &left {
        // SAFETY: kill(2) on a process this test started (its environment holds the mark).
        unsafe {
            libc::kill(pid, libc::SIGKILL);
        }
    }
    assert!(
        gone,
        "left after up ended: {left:?} (of {daemons:?})\n{}",
        up.output()
    );
    assert_eq!(st.code(), Some(0), "{}", up.output());
}
