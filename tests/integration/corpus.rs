//! The bad-input corpus, in one test: every case under `tests/corpus/` through
//! the real binary — the supervisor.toml / .env cases of `config/bad/CASES`
//! (their harness is `badinput.rs`) and the database URL cases of
//! `url/CASES`. Each must exit with its code, name the place, give its error
//! kind and message, never panic or hang, and (URL cases) never show the
//! password in any form.

use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::support::{run_bounded, Fixture, Output};

const T: Duration = Duration::from_secs(20);

fn url_corpus() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/corpus/url")
}

/// One line of `url/CASES`.
struct Case<'a> {
    file: &'a str,
    code: i32,
    location: &'a str,
    message: &'a str,
    password: Option<&'a str>,
}

fn parse(line: &str) -> Case<'_> {
    let cols: Vec<&str> = line.split(" | ").map(str::trim).collect();
    let [file, code, location, message, password] = cols[..] else {
        panic!("bad url/CASES line: {line}")
    };
    Case {
        file,
        code: code.parse().expect("exit code"),
        location,
        message,
        password: (password != "-").then_some(password),
    }
}

/// The password, its percent-decoded and percent-encoded forms, and every
/// piece of 4+ characters between URL delimiters (a mis-split password shows
/// up in pieces).
fn forms(pw: &str) -> Vec<String> {
    let mut out = vec![pw.to_string()];
    out.push(uaol_supervisor::secret::percent_encode(pw, false));
    out.push(uaol_supervisor::secret::percent_encode(pw, true));
    out.extend(
        pw.split(['@', '#', '/', '?', ':', ',', '%', '&'])
            .filter(|p| p.len() >= 4)
            .map(str::to_string),
    );
    out
}

fn run_url_case(case: &Case) -> Output {
    let text = std::fs::read_to_string(url_corpus().join(case.file))
        .unwrap_or_else(|e| panic!("{}: {e}", case.file));
    let (url, extra) = text.split_once('\n').unwrap_or((&text, ""));
    let f = Fixture::new();
    f.write(
        "supervisor.toml",
        &format!("[database]\nurl = \"${{DATABASE_URL}}\"\n{extra}"),
    );
    f.write("not-pem.crt", "this is not a certificate\n");
    let mut cmd = f.cmd(&["check", "--no-probe"]);
    cmd.env("PATH", "/usr/bin:/bin").env("DATABASE_URL", url);
    run_bounded(&mut cmd, T)
}

fn check_url_case(case: &Case, out: &Output) {
    let name = case.file;
    let all = out.all();
    assert!(!out.timed_out, "{name}: timed out");
    assert!(!all.contains("panicked"), "{name}: panicked:\n{all}");
    assert_eq!(out.code(), Some(case.code), "{name}:\n{all}");
    let line = all
        .lines()
        .find(|l| l.contains(case.message))
        .unwrap_or_else(|| panic!("{name}: no `{}` in:\n{all}", case.message));
    assert!(
        line.contains(case.location),
        "{name}: the message does not name `{}`: {line}",
        case.location
    );
    for form in case.password.map(forms).unwrap_or_default() {
        assert!(!all.contains(&form), "{name}: `{form}` printed:\n{all}");
    }
}

fn every_url_case_fails_cleanly_naming_the_place() -> usize {
    let cases = std::fs::read_to_string(url_corpus().join("CASES")).expect("url/CASES");
    let mut n = 0;
    for line in cases
        .lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
    {
        let case = parse(line);
        check_url_case(&case, &run_url_case(&case));
        n += 1;
    }
    assert!(n >= 20, "only {n} URL cases");
    n
}

#[test]
fn every_corpus_case_fails_cleanly_naming_the_place() {
    let config = crate::badinput::every_config_case_fails_cleanly_naming_the_place();
    let url = every_url_case_fails_cleanly_naming_the_place();
    eprintln!("corpus: {config} config/.env cases, {url} URL cases");
    assert!(config + url >= 60, "only {} corpus cases", config + url);
}

#[test]
fn every_url_file_is_listed() {
    let cases = std::fs::read_to_string(url_corpus().join("CASES")).expect("url/CASES");
    for entry in std::fs::read_dir(url_corpus()).expect("url corpus dir") {
        let name = entry.expect("entry").file_name();
        let name = name.to_str().expect("utf-8 name");
        if name != "CASES" {
            assert!(
                cases.contains(&format!("\n{name} |")),
                "{name} not in url/CASES"
            );
        }
    }
}

/// The checks themselves can fail: a case whose password is printed.
#[test]
fn the_password_check_catches_a_leak() {
    let case = parse("x.url | 3 | supervisor.toml:2:7 | bad_port | p@ssKq3-x,");
    let leaked = std::panic::catch_unwind(|| {
        let out = Output {
            status: std::os::unix::process::ExitStatusExt::from_raw(3 << 8),
            stdout: String::new(),
            stderr: "supervisor.toml:2:7: bad_port: host ssKq3-x\n".into(),
            timed_out: false,
        };
        check_url_case(&case, &out);
    });
    assert!(leaked.is_err());
}
