//! Integration tests for `check`: the real binary on temp projects — the
//! report, `--json`, and every class of configuration error with its message,
//! its location and exit code 3.

use std::time::Duration;

use crate::support::{Fixture, Output};

const T: Duration = Duration::from_secs(20);

fn check(f: &Fixture) -> Output {
    f.run(&["check", "--no-probe"], T)
}

#[test]
fn a_valid_config_reports_ok_with_the_start_order() {
    let f = Fixture::new();
    f.write(
        "supervisor.toml",
        "[services.web]\ncommand = \"sh -c 'sleep 1'\"\ndepends_on = [\"api\"]\n\n[services.api]\ncommand = [\"sh\", \"-c\", \"true\"]\n",
    );
    let out = check(&f);
    assert_eq!(out.code(), Some(0), "{out:?}");
    assert!(
        out.stdout
            .contains("config OK: supervisor.toml (2 services)"),
        "{}",
        out.stdout
    );
    let api = out.stdout.find("1. api").expect("api first");
    let web = out.stdout.find("2. web").expect("web second");
    assert!(api < web);
    assert!(out.stdout.contains("after api (ready)"), "{}", out.stdout);
}

#[test]
fn config_path_from_flag_and_from_env() {
    let f = Fixture::new();
    f.write("conf/x.toml", "[services.a]\ncommand = \"true\"\n");
    let out = f.run(&["-c", "conf/x.toml", "check", "--no-probe"], T);
    assert_eq!(out.code(), Some(0), "{out:?}");
    let mut cmd = f.cmd(&["check", "--no-probe"]);
    cmd.env("UAOL_SUPERVISOR_CONFIG", "conf/x.toml");
    let out = crate::support::run_bounded(&mut cmd, T);
    assert_eq!(out.code(), Some(0), "{out:?}");
    let out = check(&f);
    assert_eq!(out.code(), Some(3), "{out:?}");
    assert!(
        out.stderr
            .contains("supervisor.toml: cannot read file: no such file"),
        "{}",
        out.stderr
    );
}
