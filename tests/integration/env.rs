//! Integration tests for `env`: exactly what a service gets, masked unless
//! `--show-secrets`, `--explain` provenance, JSON, the round trip through our
//! own dotenv reader, and the inherit boundary seen from the outside.

use std::collections::BTreeMap;
use std::time::Duration;

use uaol_supervisor::env::dotenv;

use crate::support::Fixture;

const T: Duration = Duration::from_secs(20);

const TOML: &str = r#"[supervisor]
env_files = [".env"]
inherit = ["HOME", "LC_*"]

[env]
NODE_ENV = "production"
GREETING = "hello ${WHO:-world} $$5"

[services.api]
command = "/bin/sh -c 'exec sleep 60'"
env_file = "api.env"
env = { PORT = 3001, API_KEY = "k3y-${SUFFIX_PART}" }
"#;

const DOTENV: &str = "# shared\nNODE_ENV=development\nSUFFIX_PART=from-file\nQUOTED=\"a \\\"b\\\" \\$ \\\\ c\"\nMULTI=\"line one\nline two\"\n";

fn project() -> Fixture {
    let f = Fixture::new();
    f.write("supervisor.toml", TOML);
    f.write(".env", DOTENV);
    f.write("api.env", "PORT=9999\nAPI_ONLY=yes\n");
    f
}

fn run_env(f: &Fixture, args: &[&str], os: &[(&str, &str)]) -> crate::support::Output {
    let mut cmd = f.cmd(args);
    for (k, v) in os {
        cmd.env(k, v);
    }
    crate::support::run_bounded(&mut cmd, T)
}

#[test]
fn prints_exactly_the_services_environment_with_secrets_masked() {
    let f = project();
    let os = [
        ("LC_ALL", "C"),
        ("RUST_LOG", "trace"),
        ("AWS_SECRET_ACCESS_KEY", "os-leak"),
        ("NODE_ENV", "os-value"),
    ];
    let out = run_env(&f, &["env", "api"], &os);
    assert_eq!(out.code(), Some(0), "{out:?}");
    let home = f.path().display().to_string();
    let want = format!(
        "API_KEY=\"****\"\nAPI_ONLY=\"yes\"\nGREETING=\"hello world \\$5\"\nHOME=\"{home}\"\nLC_ALL=\"C\"\nMULTI=\"line one\\nline two\"\nNODE_ENV=\"production\"\nPORT=\"3001\"\nQUOTED=\"a \\\"b\\\" \\$ \\\\ c\"\nSUFFIX_PART=\"from-file\"\n"
    );
    assert_eq!(out.stdout, want);
    for leak in ["trace", "os-leak", "os-value", "RUST_LOG", "AWS_SECRET"] {
        assert!(!out.stdout.contains(leak), "{leak} leaked:\n{}", out.stdout);
    }
    let shown = run_env(&f, &["env", "api", "--show-secrets"], &os);
    assert!(
        shown.stdout.contains("API_KEY=\"k3y-from-file\"\n"),
        "{}",
        shown.stdout
    );
}

#[test]
fn dotenv_output_reads_back_to_the_same_map_as_json() {
    let f = project();
    let dotenv_out = run_env(&f, &["env", "api", "--show-secrets"], &[]);
    let json_out = run_env(
        &f,
        &["env", "api", "--show-secrets", "--format", "json"],
        &[],
    );
    let explain_out = run_env(&f, &["env", "api", "--show-secrets", "--explain"], &[]);
    let json: BTreeMap<String, String> = serde_json::from_str(&json_out.stdout).expect("json");
    for text in [&dotenv_out.stdout, &explain_out.stdout] {
        let back: BTreeMap<String, String> = dotenv::parse(text, &|_| None)
            .expect("re-readable")
            .into_iter()
            .map(|e| (e.key, e.value))
            .collect();
        assert_eq!(back, json);
    }
    // dotenvy, the oracle, reads it the same way.
    let oracle: BTreeMap<String, String> = dotenvy::from_read_iter(dotenv_out.stdout.as_bytes())
        .collect::<Result<_, _>>()
        .expect("dotenvy reads it");
    assert_eq!(oracle, json);
}

#[test]
fn explain_shows_sources_and_what_was_shadowed() {
    let f = project();
    let out = run_env(
        &f,
        &["env", "api", "--explain"],
        &[("NODE_ENV", "os-value"), ("LC_ALL", "C")],
    );
    assert_eq!(out.code(), Some(0), "{out:?}");
    let text = out.stdout.replace(&f.path().display().to_string(), "[TMP]");
    insta::assert_snapshot!("env_explain", text);
    let json = run_env(
        &f,
        &["env", "api", "--explain", "--format", "json"],
        &[("NODE_ENV", "os-value")],
    );
    let v: serde_json::Value = serde_json::from_str(&json.stdout).expect("json");
    assert_eq!(v["NODE_ENV"]["source"], "supervisor.toml:6 [env]");
    assert_eq!(
        v["NODE_ENV"]["shadowed"],
        serde_json::json!([{"source": ".env:2", "value": "development"}])
    );
    assert_eq!(v["API_KEY"]["value"], "****");
    assert_eq!(v["API_KEY"]["secret"], true);
}

#[test]
fn os_value_hidden_by_an_env_file_is_warned_about() {
    let f = project();
    let out = run_env(&f, &["env", "api"], &[("SUFFIX_PART", "from-os")]);
    assert_eq!(out.code(), Some(0), "{out:?}");
    assert!(
        out.stdout.contains("SUFFIX_PART=\"from-file\""),
        "{}",
        out.stdout
    );
    assert!(
        out.stderr.contains("warning: .env:3: `SUFFIX_PART` is set in the OS environment and in this env file; services get the file's value"),
        "{}",
        out.stderr
    );
    // …while `${SUFFIX_PART}` in supervisor.toml looks in the OS first.
    let shown = run_env(
        &f,
        &["env", "api", "--show-secrets"],
        &[("SUFFIX_PART", "from-os")],
    );
    assert!(
        shown.stdout.contains("API_KEY=\"k3y-from-os\""),
        "{}",
        shown.stdout
    );
}

#[test]
fn unknown_service_suggests_and_exits_3() {
    let f = project();
    let out = run_env(&f, &["env", "apj"], &[]);
    assert_eq!(out.code(), Some(3), "{out:?}");
    assert!(
        out.stderr
            .contains("error: unknown service `apj` (did you mean `api`?)"),
        "{}",
        out.stderr
    );
    assert!(out.stdout.is_empty());
}

#[test]
fn a_broken_config_fails_env_with_the_same_report() {
    let f = project();
    f.write(".env", "OK=1\nBROKEN LINE\n");
    let out = run_env(&f, &["env", "api"], &[]);
    assert_eq!(out.code(), Some(3), "{out:?}");
    assert!(
        out.stderr.contains(".env:2: expected `=` after `BROKEN`"),
        "{}",
        out.stderr
    );
}

/// The end-to-end promise: what `env --show-secrets` prints is exactly what
/// the spawned child finds in its environment (through `up`), nothing more.
#[test]
fn the_child_gets_exactly_what_env_prints() {
    let python = ["/usr/bin/python3", "/usr/local/bin/python3"]
        .into_iter()
        .find(|p| std::path::Path::new(p).exists());
    if !crate::support::prerequisite(python.is_some(), "python3 to dump the child's environment") {
        return;
    }
    let python = python.unwrap();
    let f = project();
    let dump = format!(
        "[services.dump]\ncommand = [\"{python}\", \"-c\", \"import os, json; open('child.json', 'w').write(json.dumps(dict(os.environ)))\"]\noneshot = true\nenv_file = \"api.env\"\nenv = {{ API_KEY = \"k3y-${{SUFFIX_PART}}\" }}\n"
    );
    f.write("supervisor.toml", &format!("{TOML}\n{dump}"));
    let os = [
        ("LC_ALL", "C"),
        ("RUST_LOG", "trace"),
        ("AWS_SECRET_ACCESS_KEY", "os-leak"),
    ];
    let printed = run_env(
        &f,
        &["env", "dump", "--show-secrets", "--format", "json"],
        &os,
    );
    assert_eq!(printed.code(), Some(0), "{printed:?}");
    let up = run_env(&f, &["up", "dump"], &os);
    assert_eq!(up.code(), Some(0), "{up:?}");
    let child: BTreeMap<String, String> = serde_json::from_str(
        &std::fs::read_to_string(f.path().join("child.json")).expect("child.json"),
    )
    .expect("json");
    let printed: BTreeMap<String, String> = serde_json::from_str(&printed.stdout).expect("json");
    assert_eq!(child, printed);
    assert!(!child.contains_key("RUST_LOG") && !child.contains_key("AWS_SECRET_ACCESS_KEY"));
}

/// Without `env_files`, a `.env` beside supervisor.toml is read (as docker
/// compose does); `env_files = []` reads none; a broken default `.env` says
/// how to opt out.
#[test]
fn dotenv_beside_the_config_is_read_by_default() {
    let f = Fixture::new();
    f.write(".env", "GREETING=hello\n");
    f.write(
        "supervisor.toml",
        "[services.a]\ncommand = [\"sh\", \"-c\", \"true\"]\n",
    );
    let out = f.run(&["env", "a", "--explain"], Duration::from_secs(20));
    assert_eq!(out.code(), Some(0), "{out:?}");
    assert!(out.stdout.contains("GREETING"), "{}", out.stdout);
    assert!(out.stdout.contains(".env:1"), "{}", out.stdout);

    f.write(
        "supervisor.toml",
        "[supervisor]\nenv_files = []\n\n[services.a]\ncommand = [\"sh\", \"-c\", \"true\"]\n",
    );
    let out = f.run(&["env", "a"], Duration::from_secs(20));
    assert_eq!(out.code(), Some(0), "{out:?}");
    assert!(!out.stdout.contains("GREETING"), "{}", out.stdout);

    f.write(".env", "GREETING=\"unterminated\n");
    f.write(
        "supervisor.toml",
        "[services.a]\ncommand = [\"sh\", \"-c\", \"true\"]\n",
    );
    let out = f.run(&["env", "a"], Duration::from_secs(20));
    assert_eq!(out.code(), Some(3), "{out:?}");
    assert!(out.stderr.contains("env_files = []"), "{}", out.stderr);
}

/// Issue 12, items 1–3: what is secret is decided per value — the URL keeps
/// everything but its password, a value built from a secret is masked where
/// the secret went, names by word segments — and `env --explain` says when
/// `url = "${DATABASE_URL}"` took the OS value over the file's, showing the
/// shadowed value (masked).
const SECRETS_TOML: &str = r#"[supervisor]
env_files = [".env"]

[env]
REDIS_URL = "redis://:${REDIS_PASSWORD}@cache:6379/0"
PLAIN = "${API_TOKEN}"
GREETING = "hello ${WHO}"
MONKEY = "banana"
DB_PASSPHRASE = "correct horse"
X_AUTH = "Basic dXNlcg"
MYSQL_PWD = "pwd-value-1"

[database]
url = "${DATABASE_URL}"
probe = false

[services.api]
command = ["/bin/echo", "${DATABASE_URL}", "--token=${API_TOKEN}"]
"#;

const SECRETS_DOTENV: &str = "API_TOKEN=tok-Kq7-abcdef\nDATABASE_URL=postgresql://uaol:file-Kq7-pw@localhost:26257/uaol\nREDIS_PASSWORD=r3dis-Kq7-pw\nWHO=world\n";
const OS_URL: &str = "postgresql://uaol:s3cr%40t-Kq7@db.internal:26257/uaol?sslmode=verify-full";

fn secrets_project() -> Fixture {
    let f = Fixture::new();
    f.write("supervisor.toml", SECRETS_TOML);
    f.write(".env", SECRETS_DOTENV);
    f
}

#[test]
fn secrecy_is_per_value_and_a_url_keeps_all_but_its_password() {
    let f = secrets_project();
    let os = [("DATABASE_URL", OS_URL)];
    let out = run_env(&f, &["env", "api", "--explain"], &os);
    assert_eq!(out.code(), Some(0), "{out:?}");
    assert!(!out.all().contains("Kq7"), "{}", out.all());
    let text: String = out
        .stdout
        .lines()
        .filter(|l| !l.starts_with("PATH=") && !l.starts_with("HOME=") && !l.starts_with("LANG="))
        .map(|l| format!("{l}\n"))
        .collect();
    insta::assert_snapshot!("env_explain_secrets", text);
    let json = run_env(&f, &["env", "api", "--explain", "--format", "json"], &os);
    assert!(!json.all().contains("Kq7"), "{}", json.all());
    let v: serde_json::Value = serde_json::from_str(&json.stdout).expect("json");
    assert_eq!(
        v["DATABASE_URL"]["value"],
        "postgresql://uaol:****@db.internal:26257/uaol?sslmode=verify-full"
    );
    assert_eq!(
        v["DATABASE_URL"]["shadowed"][0]["value"],
        "postgresql://uaol:****@localhost:26257/uaol"
    );
    assert_eq!(v["REDIS_URL"]["value"], "redis://:****@cache:6379/0");
    assert_eq!(v["REDIS_URL"]["secret"], true);
    assert_eq!(v["MONKEY"]["secret"], false);
    let plain = run_env(&f, &["env", "api", "--format", "json"], &os);
    let v: serde_json::Value = serde_json::from_str(&plain.stdout).expect("json");
    assert_eq!(v["PLAIN"], "****");
    // The control: --show-secrets prints them.
    let shown = run_env(&f, &["env", "api", "--show-secrets"], &os);
    assert!(shown.stdout.contains("r3dis-Kq7-pw"), "{}", shown.stdout);
}

#[test]
fn check_shows_urls_and_arguments_with_only_the_secrets_masked() {
    let f = secrets_project();
    let out = run_env(&f, &["check", "--no-probe"], &[("DATABASE_URL", OS_URL)]);
    assert_eq!(out.code(), Some(0), "{out:?}");
    assert!(!out.all().contains("Kq7"), "{}", out.all());
    // The containment line depends on the host (PID namespaces or not).
    let report: String = out
        .stdout
        .replace(&f.path().display().to_string(), "[TMP]")
        .lines()
        .filter(|l| !l.starts_with("containment:"))
        .map(|l| format!("{l}\n"))
        .collect();
    insta::assert_snapshot!("check_secrets", report.trim_end());
    for want in [
        "$ /bin/echo 'postgresql://uaol:****@db.internal:26257/uaol?sslmode=verify-full' '--token=****'",
        "database: postgresql://uaol:****@db.internal:26257/uaol?sslmode=verify-full",
        "masked: API_TOKEN, DATABASE_URL, DB_PASSPHRASE, MYSQL_PWD, PLAIN, REDIS_PASSWORD, REDIS_URL, X_AUTH",
        "services.api.command: `command[1]` holds a secret (from `DATABASE_URL`): any user on the host can read a process's arguments",
    ] {
        assert!(out.stdout.contains(want), "{want}\n{}", out.stdout);
    }
}

#[test]
fn check_warns_about_a_secret_too_short_to_redact() {
    let f = Fixture::new();
    f.write(
        "supervisor.toml",
        "[env]\nFEATURE_KEY = \"true\"\nPIN_TOKEN = \"4711\"\nGOOD_TOKEN = \"long-enough-1\"\n[services.a]\ncommand = \"/bin/true\"\n",
    );
    let out = run_env(&f, &["check"], &[]);
    assert_eq!(out.code(), Some(0), "{out:?}");
    for name in ["FEATURE_KEY", "PIN_TOKEN"] {
        let want = format!("`{name}` is secret but too short to redact reliably");
        assert!(out.stdout.contains(&want), "{want}\n{}", out.stdout);
    }
    assert!(
        !out.stdout.contains("`GOOD_TOKEN` is secret"),
        "{}",
        out.stdout
    );
}
