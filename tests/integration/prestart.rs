//! The promise on exit codes (docs/exit-codes.md): the same failure before any service
//! starts gives the same code in `check`, `up` and `run` (and `probe`, whose
//! codes they share) — bad config,
//! invalid URL, and every probe class (1–7), the gate's own timeout
//! included. Each setup runs all three real commands (a real PostgreSQL for
//! the authentication, database, TLS and query cases) with hard timeouts.

use std::io::{Read, Write};
use std::net::TcpListener;
use std::sync::OnceLock;
use std::time::Duration;

use crate::pg;
use crate::support::{Fixture, Output};

const LIMIT: Duration = Duration::from_secs(40);

/// Every command that can fail before a service starts, against the same project.
fn all_commands(toml: &str) -> Vec<(&'static str, Output)> {
    let f = Fixture::new();
    f.write("supervisor.toml", toml);
    let cmds: [(&str, &[&str]); 4] = [
        ("check", &["check"]),
        ("up", &["up"]),
        ("run", &["run", "--timeout", "30s", "--", "true"]),
        ("probe", &["probe"]),
    ];
    cmds.into_iter()
        .map(|(name, args)| {
            let out = f.run(args, LIMIT);
            assert!(!out.timed_out, "`{name}` hung:\n{}", out.all());
            (name, out)
        })
        .collect()
}

/// Every command exits `code`, names `needle`, starts no service and prints
/// no form of the test password.
fn expect_same(case: &str, toml: &str, code: i32, needle: &str) {
    for (name, out) in all_commands(toml) {
        let all = out.all();
        assert_eq!(out.code(), Some(code), "{case}: `{name}` exit code:\n{all}");
        assert!(
            all.contains(needle),
            "{case}: `{name}` lacks {needle:?}:\n{all}"
        );
        assert!(!all.contains("app: started"), "{case}: `{name}`:\n{all}");
        for form in pg::forms() {
            assert!(!all.contains(&form), "{case}: `{name}` leaked:\n{all}");
        }
    }
}

/// A project whose only service uses the database at `url`.
fn project(url: &str, extra: &str) -> String {
    format!(
        r#"
[database]
url = "{url}"
wait = "0s"
probe_timeout = "5s"
{extra}

[services.app]
command = ["sh", "-c", "echo app up; exec sleep 1000"]
"#
    )
}

fn pg_url(port: u16, user_pw: &str, db: &str, query: &str) -> String {
    format!("postgresql://{user_pw}@localhost:{port}/{db}?{query}")
}

#[test]
fn config_and_url_errors_are_3_everywhere() {
    expect_same(
        "bad toml",
        "[services.app\ncommand = [\"true\"]\n",
        3,
        "supervisor.toml",
    );
    expect_same(
        "url from an unset variable",
        &project("${NO_SUCH_DATABASE_URL}", ""),
        3,
        "NO_SUCH_DATABASE_URL",
    );
    expect_same(
        "unencoded password",
        &project("postgresql://u:pa@ss@127.0.0.1:1/db", ""),
        3,
        "unencoded",
    );
}

#[test]
fn gate_timeout_is_the_probe_class_everywhere() {
    let port = pg::free_port(); // nothing listens there
    let toml = project(
        &format!("postgresql://u:secretpw@127.0.0.1:{port}/db?sslmode=disable"),
        "",
    )
    .replace("wait = \"0s\"", "wait = \"1s\"");
    expect_same("nothing listening", &toml, 2, "nothing is listening");
    let silent = pg::black_hole(); // accepts, never answers
    let toml = project(
        &format!("postgresql://u:secretpw@127.0.0.1:{silent}/db?sslmode=disable"),
        "",
    )
    .replace("wait = \"0s\"", "wait = \"1s\"")
    .replace("probe_timeout = \"5s\"", "probe_timeout = \"300ms\"");
    expect_same("silent server", &toml, 2, "in phase");
}

#[test]
fn server_rejecting_for_now_is_1_everywhere() {
    let port = too_many_clients();
    let toml = project(
        &format!("postgresql://u:secretpw@127.0.0.1:{port}/db?sslmode=disable"),
        "",
    );
    expect_same("53300", &toml, 1, "out of connection slots");
}

#[test]
fn wrong_password_is_5_everywhere() {
    let port = pg::tls_server();
    let who = format!("{}:not-the-password", pg::USER);
    let toml = project(&pg_url(port, &who, pg::DB, "sslmode=require"), "");
    expect_same("wrong password", &toml, 5, "authentication failed");
}

#[test]
fn missing_database_is_6_everywhere() {
    let port = pg::tls_server();
    let who = format!("{}:{}", pg::USER, pg::encoded());
    let toml = project(&pg_url(port, &who, "nosuchdb", "sslmode=require"), "");
    expect_same("missing database", &toml, 6, "\"nosuchdb\" does not exist");
}

#[test]
fn untrusted_certificate_is_4_everywhere() {
    let port = pg::tls_server();
    let who = format!("{}:{}", pg::USER, pg::encoded());
    let q = format!(
        "sslmode=verify-full&sslrootcert={}",
        pg::env().other_ca.display()
    );
    let toml = project(&pg_url(port, &who, pg::DB, &q), "");
    expect_same("wrong CA", &toml, 4, "in phase tls");
}

#[test]
fn query_class_is_7_everywhere() {
    let port = pg::tls_server();
    let who = format!("{}:{}", pg::USER, pg::encoded());
    let url = pg_url(port, &who, pg::DB, "sslmode=require");
    let toml = project(&url, "expect = \"cockroachdb\"");
    expect_same("expect cockroachdb", &toml, 7, "the server is PostgreSQL");
}

/// A server that answers every startup packet with SQLSTATE 53300 ("too
/// many connections"), as PostgreSQL does when out of slots.
fn too_many_clients() -> u16 {
    static PORT: OnceLock<u16> = OnceLock::new();
    *PORT.get_or_init(|| {
        let l = TcpListener::bind("127.0.0.1:0").expect("bind");
        let port = l.local_addr().expect("addr").port();
        std::thread::spawn(move || {
            for mut s in l.incoming().flatten() {
                let _ = s.set_read_timeout(Some(Duration::from_secs(5)));
                let mut buf = [0u8; 1024];
                let _ = s.read(&mut buf);
                let _ = s.write_all(&error_response("53300", "sorry, too many clients already"));
            }
        });
        port
    })
}

fn error_response(code: &str, message: &str) -> Vec<u8> {
    let mut body = Vec::new();
    for (k, v) in [
        (b'S', "FATAL"),
        (b'V', "FATAL"),
        (b'C', code),
        (b'M', message),
    ] {
        body.push(k);
        body.extend_from_slice(v.as_bytes());
        body.push(0);
    }
    body.push(0);
    let mut msg = vec![b'E'];
    msg.extend_from_slice(&(body.len() as u32 + 4).to_be_bytes());
    msg.extend_from_slice(&body);
    msg
}
