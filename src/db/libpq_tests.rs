//! libpq's own URI regression vectors (src/interfaces/libpq/t/001_uri.pl),
//! rendered the way `libpq_uri_regress` prints a parsed conninfo, plus the
//! error cases mapped to our error kinds (our messages never echo input).

use super::*;

/// `key='value' … (inet|local)` as libpq_uri_regress prints it.
fn render(ci: &Conninfo) -> String {
    let mut parts = Vec::new();
    let mut push = |k: &str, v: &str| {
        if !v.is_empty() {
            parts.push(format!("{k}='{v}'"));
        }
    };
    push("user", ci.user.as_deref().unwrap_or(""));
    push(
        "password",
        ci.password.as_ref().map(|p| p.expose()).unwrap_or(""),
    );
    push("dbname", ci.dbname.as_deref().unwrap_or(""));
    push("host", &ci.hosts.join(","));
    push("hostaddr", ci.param("hostaddr").unwrap_or(""));
    push("port", &ci.ports.join(","));
    push("sslmode", ci.param("sslmode").unwrap_or(""));
    let host = ci.hosts.first().map(String::as_str).unwrap_or("");
    let local = (host.is_empty() || host.starts_with('/')) && ci.param("hostaddr").is_none();
    parts.push(if local { "(local)" } else { "(inet)" }.to_string());
    parts.join(" ")
}

fn ok(uri: &str) -> String {
    match read(uri) {
        Some(Ok(ci)) if ci.unknown.is_empty() => render(&ci),
        Some(Ok(ci)) => panic!("{uri}: unknown {:?}", ci.unknown),
        Some(Err(e)) => panic!("{uri}: {e:?}"),
        None => panic!("{uri}: not a URI"),
    }
}

#[test]
fn vectors_that_parse() {
    for (uri, want) in [
        (
            "postgresql://uri-user:secret@host:12345/db",
            "user='uri-user' password='secret' dbname='db' host='host' port='12345' (inet)",
        ),
        (
            "postgresql://uri-user@host:12345/db",
            "user='uri-user' dbname='db' host='host' port='12345' (inet)",
        ),
        (
            "postgresql://uri-user@host/db",
            "user='uri-user' dbname='db' host='host' (inet)",
        ),
        (
            "postgresql://host:12345/db",
            "dbname='db' host='host' port='12345' (inet)",
        ),
        ("postgresql://host/db", "dbname='db' host='host' (inet)"),
        (
            "postgresql://uri-user@host:12345/",
            "user='uri-user' host='host' port='12345' (inet)",
        ),
        (
            "postgresql://uri-user@host/",
            "user='uri-user' host='host' (inet)",
        ),
        ("postgresql://uri-user@", "user='uri-user' (local)"),
        (
            "postgresql://host:12345/",
            "host='host' port='12345' (inet)",
        ),
        ("postgresql://host:12345", "host='host' port='12345' (inet)"),
        ("postgresql://host/", "host='host' (inet)"),
        ("postgresql://host", "host='host' (inet)"),
        ("postgresql://", "(local)"),
        (
            "postgresql://?hostaddr=127.0.0.1",
            "hostaddr='127.0.0.1' (inet)",
        ),
        (
            "postgresql://example.com?hostaddr=63.1.2.4",
            "host='example.com' hostaddr='63.1.2.4' (inet)",
        ),
        ("postgresql://%68ost/", "host='host' (inet)"),
        (
            "postgresql://host/db?user=uri-user",
            "user='uri-user' dbname='db' host='host' (inet)",
        ),
        (
            "postgresql://host/db?user=uri-user&port=12345",
            "user='uri-user' dbname='db' host='host' port='12345' (inet)",
        ),
        (
            "postgresql://host/db?u%73er=someotheruser&port=12345",
            "user='someotheruser' dbname='db' host='host' port='12345' (inet)",
        ),
        (
            "postgresql://host:12345?user=uri-user",
            "user='uri-user' host='host' port='12345' (inet)",
        ),
        (
            "postgresql://host?user=uri-user",
            "user='uri-user' host='host' (inet)",
        ),
        ("postgresql://host?", "host='host' (inet)"),
        (
            "postgresql://[::1]:12345/db",
            "dbname='db' host='::1' port='12345' (inet)",
        ),
        ("postgresql://[::1]/db", "dbname='db' host='::1' (inet)"),
        (
            "postgresql://[2001:db8::1234]/",
            "host='2001:db8::1234' (inet)",
        ),
        (
            "postgresql://[200z:db8::1234]/",
            "host='200z:db8::1234' (inet)",
        ),
        ("postgresql://[::1]", "host='::1' (inet)"),
        ("postgres://", "(local)"),
        ("postgres:///", "(local)"),
        ("postgres:///db", "dbname='db' (local)"),
        (
            "postgres://uri-user@/db",
            "user='uri-user' dbname='db' (local)",
        ),
        (
            "postgres://?host=/path/to/socket/dir",
            "host='/path/to/socket/dir' (local)",
        ),
        ("postgres://@host", "host='host' (inet)"),
        ("postgres://host:/", "host='host' (inet)"),
        ("postgres://:12345/", "port='12345' (local)"),
        (
            "postgres://otheruser@?host=/no/such/directory",
            "user='otheruser' host='/no/such/directory' (local)",
        ),
        (
            "postgres://otheruser@/?host=/no/such/directory",
            "user='otheruser' host='/no/such/directory' (local)",
        ),
        (
            "postgres://otheruser@:12345?host=/no/such/socket/path",
            "user='otheruser' host='/no/such/socket/path' port='12345' (local)",
        ),
        (
            "postgres://otheruser@:12345/db?host=/path/to/socket",
            "user='otheruser' dbname='db' host='/path/to/socket' port='12345' (local)",
        ),
        (
            "postgres://:12345/db?host=/path/to/socket",
            "dbname='db' host='/path/to/socket' port='12345' (local)",
        ),
        (
            "postgres://:12345?host=/path/to/socket",
            "host='/path/to/socket' port='12345' (local)",
        ),
        (
            "postgres://%2Fvar%2Flib%2Fpostgresql/dbname",
            "dbname='dbname' host='/var/lib/postgresql' (local)",
        ),
        (
            "postgresql://host?sslmode=disable",
            "host='host' sslmode='disable' (inet)",
        ),
        (
            "postgresql://host?sslmode=prefer",
            "host='host' sslmode='prefer' (inet)",
        ),
        (
            "postgresql://host?sslmode=verify-full",
            "host='host' sslmode='verify-full' (inet)",
        ),
    ] {
        assert_eq!(ok(uri), want, "{uri}");
    }
}

#[test]
fn vectors_that_fail() {
    for (uri, kind) in [
        ("postgres://[::1", "bad_ipv6"),
        ("postgres://[]", "bad_ipv6"),
        ("postgres://[::1]z", "bad_ipv6"),
        ("postgresql://host?zzz", "bad_query"),
        ("postgresql://host?value1&value2", "bad_query"),
        ("postgresql://host?key=key=value", "bad_query"),
        ("postgres://host?dbname=%XXfoo", "bad_percent_encoding"),
        ("postgresql://a%00b", "bad_percent_encoding"),
        ("postgresql://%zz", "bad_percent_encoding"),
        ("postgresql://%1", "bad_percent_encoding"),
        ("postgresql://%", "bad_percent_encoding"),
    ] {
        match read(uri) {
            Some(Err((k, msg))) => {
                assert_eq!(k.as_str(), kind, "{uri}");
                assert!(!msg.contains(uri), "{msg}");
            }
            _ => panic!("{uri} should fail"),
        }
    }
    // Not a URI at all: libpq would try it as key=value and fail.
    assert!(read("postgre://").is_none());
    // Unknown keys are collected; the validator decides (error under libpq).
    for uri in [
        "postgresql://host/db?u%7aer=someotheruser&port=12345",
        "postgresql://host?uzer=",
    ] {
        let ci = read(uri).and_then(Result::ok).expect("parses");
        assert_eq!(ci.unknown, vec!["uzer".to_string()]);
    }
}

#[test]
fn libpq_specifics_from_the_reference() {
    // First `@` wins: password `p`, host `ss@host`.
    let ci = read("postgresql://u:p@ss@host:26257/db")
        .and_then(Result::ok)
        .expect("parses");
    assert_eq!(ci.password.as_ref().map(Secret::expose), Some("p"));
    assert_eq!(ci.hosts, vec!["ss@host".to_string()]);
    // `/` before `@`: no userinfo; host `u`, port `p`.
    let ci = read("postgresql://u:p/ss@host/db")
        .and_then(Result::ok)
        .expect("parses");
    assert_eq!((ci.hosts[0].as_str(), ci.ports[0].as_str()), ("u", "p"));
    // `#` and `?` are fine inside the password for libpq.
    let ci = read("postgresql://u:p#s?s@host/db")
        .and_then(Result::ok)
        .expect("parses");
    assert_eq!(ci.password.as_ref().map(Secret::expose), Some("p#s?s"));
    // Multi-host with per-host ports; ssl=true is sslmode=require.
    let ci = read("postgres://h1:1,h2,[::1]:3/db?ssl=true")
        .and_then(Result::ok)
        .expect("parses");
    assert_eq!(ci.hosts, vec!["h1", "h2", "::1"]);
    assert_eq!(ci.ports, vec!["1", "", "3"]);
    assert_eq!(ci.param("sslmode"), Some("require"));
    // Secret query parameters are kept apart.
    let ci = read("postgres://h/db?sslpassword=k&password=pw")
        .and_then(Result::ok)
        .expect("parses");
    assert_eq!(ci.secret_params.len(), 1);
    assert_eq!(ci.password.as_ref().map(Secret::expose), Some("pw"));
    assert!(ci.params.is_empty());
}

/// Cross-check against the real libpq's `PQconninfoParse` (opt-in: needs a C
/// compiler and libpq-dev): `cargo test libpq -- --ignored`.
#[test]
#[ignore = "needs cc and libpq-dev"]
fn matches_real_libpq() {
    const ORACLE: &str = r#"
#include <stdio.h>
#include <string.h>
#include <libpq-fe.h>
static const char *keys[] = {"user","password","dbname","host","hostaddr","port","sslmode",0};
int main(void) {
  char line[4096];
  while (fgets(line, sizeof line, stdin)) {
    line[strcspn(line, "\n")] = 0;
    char *err = 0;
    PQconninfoOption *o = PQconninfoParse(line, &err);
    if (!o) { printf("ERR\n"); if (err) PQfreemem(err); continue; }
    for (const char **k = keys; *k; k++)
      for (PQconninfoOption *p = o; p->keyword; p++)
        if (!strcmp(p->keyword, *k)) printf("%s=%s|", *k, p->val ? p->val : "");
    printf("\n");
    PQconninfoFree(o);
  }
  return 0;
}
"#;
    let dir = tempfile::tempdir().expect("tmp");
    let src = dir.path().join("oracle.c");
    let bin = dir.path().join("oracle");
    std::fs::write(&src, ORACLE).expect("write");
    let ok = std::process::Command::new("cc")
        .arg(&src)
        .args(["-I/usr/include/postgresql", "-lpq", "-o"])
        .arg(&bin)
        .status()
        .is_ok_and(|s| s.success());
    assert!(ok, "cc oracle.c -lpq");
    let urls = [
        "postgresql://uri-user:secret@host:12345/db",
        "postgresql://u:p@ss@host:26257/db",
        "postgresql://u:p/ss@host/db",
        "postgresql://u:p#s?s@host/db",
        "postgresql://u:p%zz@host/db",
        "postgresql://u:p%40ss@host/db",
        "postgres://h1:1,h2,[::1]:3/db?ssl=true",
        "postgres://[200z:db8::1234]:5/x",
        "postgresql://host?uzer=x",
        "postgresql://host/db?u%73er=someone&port=7",
        "postgresql://%2Fvar%2Frun%2Fpg/db",
        "postgresql://h/db?host=/tmp&dbname=other",
        "postgresql://h/db?sslmode=verify-full&application_name=a%20b",
        "postgresql://h/d%2Fb?options=--cluster%3Dx-1",
        "postgres://@host:/",
        "postgresql://h/db?key=key=value",
        "postgresql://[::1",
        "postgresql://a%00b",
        "postgresql://u:p+s@h/db",
        "postgresql://u:@h/db",
        "postgresql://:pw@h/db",
    ];
    let mut child = std::process::Command::new(&bin)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("oracle");
    let input = urls.join("\n") + "\n";
    std::io::Write::write_all(child.stdin.as_mut().expect("stdin"), input.as_bytes())
        .expect("feed");
    drop(child.stdin.take());
    let out = child.wait_with_output().expect("oracle output");
    let real: Vec<String> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(str::to_string)
        .collect();
    assert_eq!(real.len(), urls.len(), "one oracle line per URL");
    for (url, want) in urls.iter().zip(real) {
        let ours = match read(url) {
            Some(Ok(ci)) if ci.unknown.is_empty() => {
                let pw = ci.password.as_ref().map(|p| p.expose().to_string());
                let fields = [
                    ("user", ci.user.clone()),
                    ("password", pw),
                    ("dbname", ci.dbname.clone()),
                    ("host", Some(ci.hosts.join(",")).filter(|h| !h.is_empty())),
                    ("hostaddr", ci.param("hostaddr").map(str::to_string)),
                    ("port", Some(ci.ports.join(",")).filter(|p| !p.is_empty())),
                    ("sslmode", ci.param("sslmode").map(str::to_string)),
                ];
                fields
                    .iter()
                    .map(|(k, v)| format!("{k}={}|", v.as_deref().unwrap_or("")))
                    .collect::<String>()
            }
            _ => "ERR".to_string(),
        };
        assert_eq!(ours, want, "{url}");
    }
}
