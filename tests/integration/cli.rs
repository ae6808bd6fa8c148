//! Integration tests for the command-line surface itself.

use std::time::Duration;

use crate::support::Fixture;

#[test]
fn help_exits_zero_and_lists_commands() {
    let f = Fixture::new();
    let out = f.run(&["--help"], Duration::from_secs(10));
    assert_eq!(out.code(), Some(0), "{out:?}");
    for cmd in ["up", "check", "env", "probe", "run", "status", "export"] {
        assert!(out.stdout.contains(cmd), "help lacks {cmd}: {}", out.stdout);
    }
}

#[test]
fn usage_error_exits_64() {
    let f = Fixture::new();
    let out = f.run(&["frobnicate"], Duration::from_secs(10));
    assert_eq!(out.code(), Some(64), "{out:?}");
    assert!(out.stderr.contains("frobnicate"), "{}", out.stderr);
}
