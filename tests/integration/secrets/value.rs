//! The sweep's per-value paths (issue 12): secrecy decided per value — a
//! value or a command argument *built from* the canary is masked where the
//! canary went (taint), a URL prints with only its password masked — every
//! encoding a service commonly writes it in is masked in its output, a piece
//! of the password the server echoes back is masked, and exports put every
//! such value only in the 0600 EnvironmentFile / the Secret, referenced from
//! the unit and the Deployment.

use std::os::unix::fs::PermissionsExt;
use std::process::Command;

use super::{assert_clean, project, run, server, url, CANARY, ROLE};
use crate::pg;
use crate::support::Fixture;

/// The canary in an env file, and values and arguments built from it.
const TAINTED: &str = r#"
[env]
REDIS_URL = "redis://:${API_TOKEN}@cache:6379/0"
PLAIN = "${API_TOKEN}"
GREETING = "hello"

[services.args]
command = ["/bin/echo", "--token=${API_TOKEN}", "${DATABASE_URL}", "plain $arg"]
uses_database = false
"#;

/// The token: not the database password, so only taint can find it.
const TOKEN: &str = "Tk4@tok en/2#";

fn tainted_project() -> Fixture {
    let f = project(&url(server(), ROLE, pg::DB, ""), "probe = false", TAINTED);
    let dotenv = std::fs::read_to_string(f.path().join(".env")).unwrap();
    f.write(".env", &format!("{dotenv}API_TOKEN='{TOKEN}'\n"));
    f
}

fn assert_no_token(what: &str, text: &str) {
    assert!(!text.contains("Tk4"), "{what}: the token printed:\n{text}");
}

#[test]
fn values_and_arguments_built_from_it_are_masked_where_it_went() {
    let f = tainted_project();
    let out = run(&f, &["env", "api", "--explain"]);
    assert_eq!(out.code(), Some(0), "{}", out.all());
    assert_no_token("env --explain", &out.all());
    let port = server();
    for want in [
        "REDIS_URL=\"redis://:****@cache:6379/0\"  # from supervisor.toml",
        "PLAIN=\"****\"",
        "GREETING=\"hello\"",
        &format!("DATABASE_URL=\"postgresql://canary:****@localhost:{port}/"),
        "# from database.url ← ${DATABASE_URL} (.env:1)",
    ] {
        assert!(out.stdout.contains(want), "{want}\n{}", out.stdout);
    }
    let out = run(&f, &["env", "api", "--format", "json"]);
    assert_no_token("env --format json", &out.all());
    let v: serde_json::Value = serde_json::from_str(&out.stdout).expect("json");
    assert_eq!(v["REDIS_URL"], "redis://:****@cache:6379/0");
    for args in [&["check"][..], &["check", "--json"]] {
        let out = run(&f, args);
        assert_eq!(out.code(), Some(0), "{args:?}\n{}", out.all());
        assert_no_token("check", &out.all());
        assert!(out.stdout.contains("--token=****"), "{}", out.stdout);
        assert!(
            out.stdout
                .contains(&format!("postgresql://canary:****@localhost:{port}/")),
            "{}",
            out.stdout
        );
    }
}

#[test]
fn every_common_encoding_is_masked_in_service_output() {
    let forms = super::node_forms();
    let printer = r#"
[services.printer]
command = ["node", "-e", "const s=process.env.API_TOKEN;const lo=x=>x.replace(/%[0-9A-F]{2}/g,m=>m.toLowerCase());for (const f of [s,encodeURIComponent(s),encodeURI(s),escape(s),new URLSearchParams({a:s}).toString().slice(2)]) {console.log('form='+f);console.log('lower='+lo(f));}"]
oneshot = true
uses_database = false
"#;
    let f = project(&url(server(), ROLE, pg::DB, ""), "probe = false", printer);
    let dotenv = std::fs::read_to_string(f.path().join(".env")).unwrap();
    f.write(".env", &format!("{dotenv}API_TOKEN='{CANARY}'\n"));
    let out = run(&f, &["up", "printer"]);
    assert_eq!(out.code(), Some(0), "{}", out.all());
    let text = out.all();
    for form in forms {
        assert!(!text.contains(form.as_str()), "{form:?} printed:\n{text}");
    }
    assert_eq!(text.matches("form=****").count(), 5, "{text}");
    assert_eq!(text.matches("lower=****").count(), 5, "{text}");
}

/// A password that reads like a word is masked only as a word, and a value
/// too short to be a secret is not searched for at all: ordinary text stays.
#[test]
fn word_like_and_short_secrets_do_not_mangle_output() {
    let toml = r#"
[env]
FEATURE_KEY = "true"
SOME_PASSWORD = "postgres"

[services.talk]
command = ["sh", "-c", "echo 'postgresql rocks; true story; pw=postgres'"]
oneshot = true
"#;
    let f = Fixture::new();
    f.write("supervisor.toml", toml);
    let out = f.run(&["up"], super::LIMIT);
    assert_eq!(out.code(), Some(0), "{}", out.all());
    assert!(
        out.all().contains("postgresql rocks; true story; pw=****"),
        "{}",
        out.all()
    );
    assert!(
        out.all()
            .contains("`FEATURE_KEY` is secret but too short to redact reliably"),
        "{}",
        out.all()
    );
}

/// The password also in `options`: the server splits it at the space and
/// echoes the first piece ("invalid command-line argument for server
/// process: …"); that piece is masked, and `check` lints the options.
#[test]
fn a_piece_of_the_password_echoed_by_the_server_is_masked() {
    let enc = uaol_supervisor::secret::percent_encode(CANARY, false);
    let raw = url(server(), ROLE, pg::DB, &format!("&options={enc}"));
    let f = project(&raw, "", "");
    for args in [&["probe"][..], &["probe", "--json"], &["check"]] {
        let out = run(&f, args);
        assert_ne!(out.code(), Some(0), "{args:?}\n{}", out.all());
        assert!(
            out.all()
                .contains("invalid command-line argument for server process: ****"),
            "{args:?}\n{}",
            out.all()
        );
    }
    let out = run(&f, &["check", "--no-probe"]);
    assert!(
        out.all()
            .contains("`options` holds what looks like a password"),
        "{}",
        out.all()
    );
}

#[test]
fn exports_put_built_values_and_arguments_only_in_secret_files() {
    let f = tainted_project();
    for target in ["systemd", "kubernetes"] {
        let dir = f.path().join(format!("out-{target}"));
        let d = dir.display().to_string();
        let mut args = vec!["export", target, "--out", &d];
        if target == "kubernetes" {
            args.extend(["--image", "registry.example.com/app:1"]);
        } else {
            args.extend(["--binary", "/bin/true"]);
        }
        let out = run(&f, &args);
        assert_eq!(out.code(), Some(0), "{}", out.all());
        let mut plain = String::new();
        let mut paths = Vec::new();
        for e in std::fs::read_dir(&dir).unwrap() {
            let p = e.unwrap().path();
            let text = std::fs::read_to_string(&p).unwrap();
            let mode = std::fs::metadata(&p).unwrap().permissions().mode() & 0o777;
            if mode != 0o600 {
                assert_clean(&p.display().to_string(), &text);
                assert_no_token(&p.display().to_string(), &text);
                assert!(!text.contains("redis://"), "{}:\n{text}", p.display());
                plain.push_str(&text);
            }
            paths.push(p);
        }
        if target == "systemd" {
            assert!(
                plain.contains(
                    "ExecStart=/bin/echo --token=${API_TOKEN} ${DATABASE_URL} \"plain $$arg\""
                ),
                "{plain}"
            );
            validate_units(&dir, &paths);
        } else {
            for want in [
                "- \"--token=$(API_TOKEN)\"",
                "- \"$(DATABASE_URL)\"",
                "secretKeyRef:",
            ] {
                assert!(plain.contains(want), "{want}\n{plain}");
            }
            validate_manifests(&paths);
        }
    }
}

fn validate_units(dir: &std::path::Path, paths: &[std::path::PathBuf]) {
    let units: Vec<_> = paths
        .iter()
        .filter(|p| p.extension().is_some_and(|e| e != "env"))
        .collect();
    let v = Command::new("systemd-analyze")
        .arg("verify")
        .args(&units)
        .env("SYSTEMD_UNIT_PATH", format!("{}:", dir.display()))
        .output()
        .expect("systemd-analyze");
    let text = String::from_utf8_lossy(&v.stderr);
    let unexpected: Vec<&str> = text
        .lines()
        .filter(|l| !l.contains("RestartSteps") && !l.contains("RestartMaxDelaySec"))
        .collect();
    assert!(v.status.success() && unexpected.is_empty(), "{text}");
}

fn validate_manifests(paths: &[std::path::PathBuf]) {
    let v = Command::new("kubernetes-validate")
        .arg("--strict")
        .args(paths)
        .output()
        .expect("kubernetes-validate");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&v.stdout),
        String::from_utf8_lossy(&v.stderr)
    );
    assert!(v.status.success() && !text.contains("ERROR"), "{text}");
}

/// A URL password pasted (not interpolated) into an env file is a secret by
/// the URL rule, and a service that decodes it prints it masked too.
#[test]
fn a_url_password_is_masked_decoded_in_service_output() {
    let toml = r#"
[services.decode]
command = ["node", "-e", "const u=new URL(process.env.CACHE_URL);console.log('decoded='+decodeURIComponent(u.password));console.log('url='+process.env.CACHE_URL)"]
oneshot = true
"#;
    let f = Fixture::new();
    f.write("supervisor.toml", toml);
    f.write(".env", "CACHE_URL=redis://:Kq7%3Acache%20pw@cache:6379/0\n");
    let out = f.run(&["up"], super::LIMIT);
    assert_eq!(out.code(), Some(0), "{}", out.all());
    let text = out.all();
    assert!(!text.contains("Kq7"), "{text}");
    assert!(text.contains("decoded=****"), "{text}");
    assert!(text.contains("url=redis://:****@cache:6379/0"), "{text}");
}

/// A command argument built from an OS secret that no service environment
/// holds (not inherited): the log redactor knows it from the argument's
/// taint, as the display does.
#[test]
fn an_argument_built_from_an_os_secret_is_masked_in_output() {
    let toml = r#"
[services.argv]
command = ["sh", "-c", "echo \"argv: $1\"", "sh", "--key=${DEPLOY_TOKEN}"]
oneshot = true
"#;
    let f = Fixture::new();
    f.write("supervisor.toml", toml);
    let mut cmd = f.cmd(&["up"]);
    cmd.env("DEPLOY_TOKEN", "Kq7-deploy-token");
    let out = crate::support::run_bounded(&mut cmd, super::LIMIT);
    assert_eq!(out.code(), Some(0), "{}", out.all());
    assert!(!out.all().contains("Kq7"), "{}", out.all());
    assert!(out.all().contains("argv: --key=****"), "{}", out.all());
}
