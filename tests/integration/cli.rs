//! Integration tests for the command-line surface itself.

use std::collections::BTreeSet;
use std::time::Duration;

use crate::support::Fixture;

const T: Duration = Duration::from_secs(10);

/// The subcommands `--help` lists: the first word of each row of its
/// "Commands:" section (clap's own `help` left out).
fn help_commands(help: &str) -> BTreeSet<String> {
    help.lines()
        .skip_while(|l| l.trim() != "Commands:")
        .skip(1)
        .take_while(|l| l.starts_with("  "))
        .filter_map(|l| l.split_whitespace().next())
        .filter(|c| *c != "help")
        .map(str::to_owned)
        .collect()
}

/// The commands the README's command table names: the first word of every
/// `code` span in its first column (`status [--json] …`, `restart S`, …).
fn readme_commands() -> BTreeSet<String> {
    let readme = include_str!("../../README.md");
    let section = &readme[readme.find("## Commands").expect("README: ## Commands")..];
    section
        .lines()
        .skip_while(|l| !l.starts_with('|'))
        .take_while(|l| l.starts_with('|'))
        .skip(2)
        .flat_map(|row| {
            let first = row
                .trim_start_matches('|')
                .split(" | ")
                .next()
                .unwrap_or("");
            first
                .split('`')
                .skip(1)
                .step_by(2)
                .filter_map(|code| code.split_whitespace().next())
                .map(str::to_owned)
                .collect::<Vec<_>>()
        })
        .collect()
}

/// `--help` lists exactly the commands the README documents, and each of
/// them is a real subcommand: `CMD --help` exits 0 with its own usage line.
#[test]
fn help_lists_exactly_the_documented_commands_and_each_parses() {
    let f = Fixture::new();
    let out = f.run(&["--help"], T);
    assert_eq!(out.code(), Some(0), "{out:?}");
    let listed = help_commands(&out.stdout);
    let documented = readme_commands();
    assert!(listed.len() >= 13, "too few commands in --help: {listed:?}");
    assert_eq!(listed, documented, "--help vs the README's command table");
    for cmd in &listed {
        let out = f.run(&[cmd.as_str(), "--help"], T);
        assert_eq!(out.code(), Some(0), "{cmd} --help: {out:?}");
        let usage = format!("Usage: uaol-supervisor {cmd}");
        assert!(out.stdout.contains(&usage), "{cmd} --help: {}", out.stdout);
    }
}

#[test]
fn usage_error_exits_64() {
    let f = Fixture::new();
    let out = f.run(&["frobnicate"], T);
    assert_eq!(out.code(), Some(64), "{out:?}");
    assert!(
        out.stderr.contains("unrecognized subcommand 'frobnicate'"),
        "{}",
        out.stderr
    );
    assert!(out.stdout.is_empty(), "{}", out.stdout);
}
