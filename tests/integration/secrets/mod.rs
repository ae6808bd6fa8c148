//! The secret sweep (docs/reliability.md "Secret sweep"): one canary password that needs
//! percent-encoding (`@ : / # space %`) goes through every command and path —
//! `check` (with and without the probe), `env`, `probe` (success and each
//! failure class, against the real PostgreSQL of `pg/`), every bad-URL error
//! class, `up` (the gate and services that print their environment and their
//! URL), `run`, `export`, values and arguments built from it (`value.rs`) —
//! and nothing printed may hold it, raw, in any encoding node produces, or in
//! pieces. `env --show-secrets` is the control: there it must appear.

use std::os::unix::fs::PermissionsExt;

use base64::Engine as _;
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::time::Duration;

use uaol_supervisor::secret::percent_encode;

use crate::pg;
use crate::support::{Fixture, Output};

/// The canary: every character class a URL must encode.
const CANARY: &str = "Zq9@c:n/a#r y%";
/// A role on the shared TLS server with the canary as its password.
const ROLE: &str = "canary";
const LIMIT: Duration = Duration::from_secs(60);

/// Every form of the canary that must never be printed: raw, encoded both
/// ways, every encoding node itself produces (upper and lower case hex), and
/// pieces a mis-split URL or a server splitting at spaces would show (its
/// start is unreserved, so `Zq9` survives any encoding).
fn forms() -> Vec<String> {
    let mut all = vec![
        CANARY.into(),
        percent_encode(CANARY, false),
        percent_encode(CANARY, true),
        "Zq9".into(),
        "n/a#r".into(),
        "r y%".into(),
        "r%20y%25".into(),
        "r+y%25".into(),
    ];
    all.extend(node_forms().iter().cloned());
    all
}

/// What node prints for the canary through `encodeURIComponent`,
/// `encodeURI`, `escape` and `URLSearchParams`, each also with lower-case
/// hex: the oracle for the encodings services produce.
fn node_forms() -> &'static [String] {
    static FORMS: OnceLock<Vec<String>> = OnceLock::new();
    FORMS.get_or_init(|| {
        let script = "const s=process.argv[1];const lo=x=>x.replace(/%[0-9A-F]{2}/g,m=>m.toLowerCase());\
            for (const f of [encodeURIComponent(s),encodeURI(s),escape(s),new URLSearchParams({a:s}).toString().slice(2)]) {console.log(f);console.log(lo(f));}";
        let out = Command::new("node")
            .args(["-e", script, CANARY])
            .output()
            .expect("node (scripts/test.sh installs it)");
        assert!(out.status.success(), "node failed");
        let text = String::from_utf8(out.stdout).expect("utf-8");
        let forms: Vec<String> = text.lines().map(str::to_string).collect();
        assert_eq!(forms.len(), 8, "{forms:?}");
        forms
    })
}

fn assert_clean(what: &str, text: &str) {
    for f in forms() {
        assert!(
            !text.contains(&f),
            "{what}: canary form {f:?} printed:\n{text}"
        );
    }
}

fn enc() -> String {
    percent_encode(CANARY, false)
}

/// The shared TLS server, with the canary role (created once per test process).
fn server() -> u16 {
    static PORT: OnceLock<u16> = OnceLock::new();
    *PORT.get_or_init(|| {
        let port = pg::tls_server();
        let mut c = Command::new(pg::env().bin.join("psql"));
        c.arg("-h")
            .arg(pg::data_dir(port))
            .args(["-p", &port.to_string(), "-U", "postgres", "-d", "postgres"])
            .args(["-v", "ON_ERROR_STOP=1", "-q", "-f", "-"])
            .stdin(Stdio::piped())
            .stdout(Stdio::null());
        let mut child = c.spawn().expect("psql");
        let sql = format!("CREATE ROLE {ROLE} LOGIN PASSWORD '{CANARY}';\n");
        std::io::Write::write_all(&mut child.stdin.take().unwrap(), sql.as_bytes()).unwrap();
        assert!(child.wait().unwrap().success(), "create the canary role");
        port
    })
}

/// A verify-full URL for `user`/`db` on `port` with the canary password.
fn url(port: u16, user: &str, db: &str, extra: &str) -> String {
    let ca = pg::env().ca.display();
    format!(
        "postgresql://{user}:{}@localhost:{port}/{db}?sslmode=verify-full&sslrootcert={ca}{extra}",
        enc()
    )
}

/// A project whose `.env` holds `DATABASE_URL` and whose services are `extra`.
fn project(url: &str, database: &str, services: &str) -> Fixture {
    let f = Fixture::new();
    f.write(".env", &format!("DATABASE_URL='{url}'\n"));
    f.write(
        "supervisor.toml",
        &format!(
            "[supervisor]\nenv_files = [\".env\"]\n\n[database]\nurl = \"${{DATABASE_URL}}\"\nwait = \"0s\"\n{database}\n\n[services.api]\ncommand = [\"sleep\", \"1000\"]\n{services}"
        ),
    );
    f
}

fn run(f: &Fixture, args: &[&str]) -> Output {
    let out = f.run(args, LIMIT);
    assert!(!out.timed_out, "{args:?} hung:\n{}", out.all());
    assert_clean(&format!("{args:?}"), &out.all());
    out
}

#[test]
fn check_env_and_probe_never_print_it() {
    let f = project(&url(server(), ROLE, pg::DB, ""), "", "");
    for args in [
        &["check"][..],
        &["check", "--json"],
        &["check", "--no-probe"],
        &["probe"],
        &["probe", "--json"],
    ] {
        let out = run(&f, args);
        assert_eq!(out.code(), Some(0), "{args:?}:\n{}", out.all());
    }
    for args in [
        &["env", "api"][..],
        &["env", "api", "--explain"],
        &["env", "api", "--format", "json"],
        &["env", "api", "--format", "dotenv"],
    ] {
        let out = run(&f, args);
        assert_eq!(out.code(), Some(0), "{args:?}:\n{}", out.all());
        assert!(out.stdout.contains("DATABASE_URL"), "{}", out.all());
    }
    // The control: with --show-secrets the URL, password included, is printed.
    let out = f.run(&["env", "api", "--show-secrets"], LIMIT);
    assert!(out.stdout.contains(&enc()), "{}", out.all());
}

#[test]
fn probe_failures_never_print_it() {
    let port = server();
    let refused = pg::free_port();
    let other_ca = pg::env().other_ca.display().to_string();
    let tls_bad =
        url(port, ROLE, pg::DB, "").replace(&pg::env().ca.display().to_string(), &other_ca);
    for (what, raw, code) in [
        ("wrong password", url(port, pg::USER, pg::DB, ""), 5),
        ("db missing", url(port, ROLE, "no_such_db", ""), 6),
        ("tls untrusted", tls_bad, 4),
        ("refused", url(refused, ROLE, pg::DB, ""), 2),
    ] {
        let f = project(&raw, "", "");
        for args in [&["probe"][..], &["probe", "--json"], &["check"]] {
            let out = run(&f, args);
            assert_eq!(out.code(), Some(code), "{what} {args:?}:\n{}", out.all());
        }
        let mut cmd = f.cmd(&["probe", "--url-env", "X_URL", "--wait", "0s"]);
        cmd.env("X_URL", &raw);
        let out = crate::support::run_bounded(&mut cmd, LIMIT);
        assert_eq!(out.code(), Some(code), "{what} --url-env:\n{}", out.all());
        assert_clean(what, &out.all());
    }
}

#[test]
fn every_bad_url_class_never_prints_it() {
    let e = enc();
    let cases = [
        format!("postgresql://canary:{CANARY}@db.example.com:5432/app"),
        format!("postgresql://canary:{CANARY}@db.example.com/app"),
        format!("http://canary:{e}@db.example.com/app"),
        format!("jdbc:postgresql://canary:{e}@db.example.com/app"),
        format!("mysql://canary:{e}@db.example.com/app"),
        format!("postgresql://canary:{e}@db.example.com:99999/app"),
        format!("postgresql://canary:{e}@db.example.com:port/app"),
        format!("postgresql://canary:{e}@db.example.com/app?sslmode=bogus"),
        format!("postgresql://canary:{e}@db.example.com/app?nosuchkey=1"),
        format!("postgresql://canary:{e}@db.example.com/app?sslrootcert=/nonexistent/ca.pem&sslmode=verify-full"),
        format!("postgresql://canary:{e}%ZZ@db.example.com/app"),
        format!("postgresql://canary:{e}%00@db.example.com/app"),
        format!("postgresql://canary:{e}@[user]/app"),
        format!("postgresql://canary:{e}@db.example.com/app?password={e}&sslmode=nope"),
        format!("postgresql://canary:{e}@localhost/app?sslmode=disable"),
        format!("postgresql://canary:{e}@free-tier.cockroachlabs.cloud/app"),
        format!("  postgresql://canary:{CANARY}@db/app  "),
    ];
    let strict = "require_tls = true\nallow_localhost = false";
    for raw in &cases {
        let f = project(raw, strict, "");
        for args in [
            &["check", "--no-probe"][..],
            &["check", "--json"],
            &["probe"],
        ] {
            let out = run(&f, args);
            assert_eq!(out.code(), Some(3), "{raw} {args:?}:\n{}", out.all());
        }
    }
    // node-pg reads an unencoded `#`/`/` in the password differently: an error.
    let f = project(
        &format!("postgresql://canary:{CANARY}@db.example.com/app"),
        "client = \"node-pg\"",
        "",
    );
    let out = run(&f, &["check", "--no-probe"]);
    assert_eq!(out.code(), Some(3), "{}", out.all());
}

#[test]
fn export_writes_it_only_to_secret_files() {
    let raw = format!(
        "postgresql://canary:{}@db.example.com:5432/app?sslmode=verify-full",
        enc()
    );
    let f = project(&raw, "probe = false", "");
    // Kubernetes Secrets hold base64: that form must stay in the secret files too.
    let b64 = base64::engine::general_purpose::STANDARD.encode(&raw);
    for target in ["systemd", "kubernetes"] {
        let dir = f.path().join(format!("out-{target}"));
        let d = dir.display().to_string();
        let mut args = vec!["export", target, "--out", &d];
        if target == "kubernetes" {
            args.extend(["--image", "registry.example.com/app:1"]);
        }
        let out = run(&f, &args);
        assert_eq!(out.code(), Some(0), "{}", out.all());
        let mut secret_files = 0;
        for e in std::fs::read_dir(&dir).unwrap() {
            let p = e.unwrap().path();
            let text = std::fs::read_to_string(&p).unwrap();
            let mode = std::fs::metadata(&p).unwrap().permissions().mode() & 0o777;
            if mode == 0o600 {
                secret_files += usize::from(text.contains(&enc()) || text.contains(&b64));
            } else {
                assert_clean(&p.display().to_string(), &text);
                assert!(!text.contains(&b64), "{}: base64 URL:\n{text}", p.display());
            }
        }
        assert!(secret_files > 0, "{target}: no 0600 file holds the URL");
    }
}

mod live;
mod value;
