//! A service's output is data, not terminal commands: `\r`, ANSI escapes,
//! C1 controls and a `supervisor * …` line forged after a `\r` reach the
//! terminal as visible escapes in pretty mode, as escaped JSON strings in
//! JSON mode, and as the raw bytes in the `log_file` copy (files are for
//! tools). Real `sh`/`printf` children, hard timeouts.

use std::time::Duration;

use crate::upkit::project;

const LIMIT: Duration = Duration::from_secs(30);

/// printf formats (dash's printf: octal escapes) and what each line is.
const LINES: [(&str, &str); 6] = [
    (r"progress 50%%\rdone\n", "progress 50%\rdone"),
    (r"\033[2K\033[1Aerased\n", "\x1b[2K\x1b[1Aerased"),
    (
        r"x\rsupervisor * forged: stopping all services\n",
        "x\rsupervisor * forged: stopping all services",
    ),
    (
        r"c1 \302\2332J nel \302\205 end\n",
        "c1 \u{9b}2J nel \u{85} end",
    ),
    (
        r"bell\007 del\177 bs\010 tab\there\n",
        "bell\x07 del\x7f bs\x08 tab\there",
    ),
    (r"title \033]0;owned\007 ok\n", "title \x1b]0;owned\x07 ok"),
];

/// A project whose one service prints [`LINES`] (and a stderr line) via a script.
fn hostile(extra: &str) -> crate::support::Fixture {
    let fmt: String = LINES.iter().map(|(f, _)| *f).collect();
    let f = project(&format!(
        "[services.hostile]\ncommand = [\"./hostile.sh\"]\noneshot = true\n{extra}\n"
    ));
    f.script(
        "hostile.sh",
        &format!("printf '{fmt}'\nprintf 'on stderr\\033[31m red\\r\\n' >&2"),
    );
    f
}

/// Bytes a terminal would act on: C0 controls but tab and newline, DEL, C1.
fn controls(s: &str) -> Vec<char> {
    s.chars()
        .filter(|&c| c.is_control() && c != '\n' && c != '\t')
        .collect()
}

#[test]
fn pretty_output_shows_controls_as_escapes_and_cannot_forge_lines() {
    let f = hostile("");
    let out = f.run(&["up"], LIMIT);
    assert_eq!(out.code(), Some(0), "{}", out.all());
    let s = &out.stdout;
    assert_eq!(controls(s), Vec::<char>::new(), "raw controls in:\n{s:?}");
    for line in s.lines() {
        assert!(
            line.starts_with("hostile    | ")
                || line.starts_with("hostile    ! ")
                || line.starts_with("supervisor * "),
            "line with a foreign start: {line:?}"
        );
        assert!(
            !line.contains("* forged") || line.starts_with("hostile"),
            "{s}"
        );
    }
    for want in [
        r"hostile    | progress 50%\rdone",
        r"hostile    | \x1b[2K\x1b[1Aerased",
        r"hostile    | x\rsupervisor * forged: stopping all services",
        r"hostile    | c1 \u009b2J nel \u0085 end",
        "hostile    | bell\\x07 del\\x7f bs\\x08 tab\there",
        r"hostile    | title \x1b]0;owned\x07 ok",
        r"hostile    ! on stderr\x1b[31m red",
    ] {
        assert!(s.contains(want), "missing {want:?} in:\n{s}");
    }
}

#[test]
fn json_output_escapes_controls_and_keeps_the_text() {
    let f = hostile("");
    let out = f.run(&["--log-format", "json", "up"], LIMIT);
    assert_eq!(out.code(), Some(0), "{}", out.all());
    assert_eq!(
        controls(&out.stdout),
        Vec::<char>::new(),
        "{:?}",
        out.stdout
    );
    let lines: Vec<String> = out
        .stdout
        .lines()
        .map(|l| {
            serde_json::from_str::<serde_json::Value>(l).unwrap_or_else(|e| panic!("{e}: {l}"))
        })
        .filter(|v| v["service"] == "hostile")
        .map(|v| v["line"].as_str().unwrap_or_default().to_owned())
        .collect();
    for (_, text) in LINES {
        assert!(lines.iter().any(|l| l == text), "{text:?} not in {lines:?}");
    }
}

#[test]
fn log_file_keeps_the_raw_bytes() {
    let f = hostile(r#"log_file = { path = "hostile.log" }"#);
    let out = f.run(&["up"], LIMIT);
    assert_eq!(out.code(), Some(0), "{}", out.all());
    let file = std::fs::read(f.path().join("hostile.log")).expect("log file");
    let file = String::from_utf8_lossy(&file);
    for (_, text) in LINES {
        assert!(file.contains(text), "{text:?} not raw in {file:?}");
    }
}
