//! Network cases: nothing listening, a silent listener, several hosts, and a
//! database that comes up while the probe waits.

use std::time::{Duration, Instant};

use super::{ca, cli, expect, url};
use crate::pg;

#[test]
fn nothing_listening_is_retried_then_refused() {
    let port = pg::free_port();
    let t = Instant::now();
    let out = cli(
        &url(&format!("127.0.0.1:{port}"), "sslmode=require"),
        "1s",
        &[],
    );
    expect(&out, 2, "tcp", "connection refused");
    assert!(
        out.stderr.contains("waiting for the database: attempt 2"),
        "{}",
        out.all()
    );
    assert!(t.elapsed() < Duration::from_secs(10));
}

#[test]
fn silent_listener_times_out() {
    let port = pg::black_hole();
    let t = Instant::now();
    let out = cli(
        &url(
            &format!("127.0.0.1:{port}"),
            "sslmode=require&connect_timeout=2",
        ),
        "0s",
        &[],
    );
    expect(
        &out,
        2,
        "tls",
        "accepted the TCP connection but never answered the SSLRequest",
    );
    assert!(!out.all().contains("firewall"), "{}", out.all());
    assert!(t.elapsed() < Duration::from_secs(8), "{:?}", t.elapsed());
}

/// Issue 12 item 11: `--wait` is an overall deadline. The per-attempt budget
/// (probe_timeout, 5 s by default) must not carry the last attempt past it,
/// and a server that accepted the connection is not "a firewall".
#[test]
fn wait_is_an_overall_deadline_against_a_silent_server() {
    let port = pg::black_hole();
    for (query, phase, step) in [
        ("sslmode=require", "tls", "never answered the SSLRequest"),
        (
            "sslmode=disable",
            "auth",
            "never answered the startup message",
        ),
    ] {
        let t = Instant::now();
        let out = cli(&url(&format!("127.0.0.1:{port}"), query), "3s", &[]);
        let took = t.elapsed();
        expect(&out, 2, phase, step);
        assert!(
            out.all().contains("accepted the TCP connection"),
            "{}",
            out.all()
        );
        assert!(!out.all().contains("firewall"), "{}", out.all());
        // The process starts, waits 3 s, prints: between 2.5 s and 4 s.
        assert!(took > Duration::from_millis(2500), "{took:?}");
        assert!(took < Duration::from_secs(4), "{took:?} for --wait 3s");
    }
}

#[test]
fn multi_host_first_dead() {
    let (dead, port) = (pg::free_port(), pg::tls_server());
    let raw = url(
        &format!("localhost:{dead},localhost:{port}"),
        &format!("sslmode=verify-full&sslrootcert={}", ca()),
    );
    let out = cli(&raw, "0s", &[]);
    expect(&out, 0, "", "database usable");
    assert!(out.stdout.contains("connection refused"), "{}", out.stdout);
}

#[test]
fn database_down_at_start_then_up_within_wait() {
    pg::env();
    let port = pg::free_port();
    let raw = url(
        &format!("localhost:{port}"),
        &format!("sslmode=verify-full&sslrootcert={}", ca()),
    );
    let waiter = std::thread::spawn(move || cli(&raw, "30s", &[]));
    std::thread::sleep(Duration::from_millis(800));
    let _cluster = pg::start(port, true);
    let out = waiter.join().expect("probe thread");
    expect(&out, 0, "", "database usable");
    assert!(
        out.stderr.contains("waiting for the database: attempt"),
        "{}",
        out.all()
    );
    assert!(!out.stdout.contains("(1 attempt)"), "{}", out.stdout);
}

#[test]
fn progress_on_a_terminal_is_one_rewritten_line() {
    let port = pg::free_port();
    let bin = crate::support::bin();
    let line = format!("{} probe --url-env DATABASE_URL --wait 1s", bin.display());
    let mut cmd = std::process::Command::new("script");
    cmd.args(["-qec", &line, "/dev/null"])
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("TERM", "dumb")
        .env(
            "DATABASE_URL",
            url(&format!("127.0.0.1:{port}"), "sslmode=require"),
        );
    let out = crate::support::run_bounded(&mut cmd, Duration::from_secs(20));
    super::assert_no_leak(&out.all());
    assert_eq!(out.code(), Some(2), "{}", out.all());
    assert!(
        out.stdout
            .contains("\r\x1b[2Kwaiting for the database: attempt 2"),
        "{:?}",
        out.stdout
    );
    // Not one line per attempt, as without a terminal.
    assert!(
        !out.stdout.contains("\nwaiting for the database"),
        "{:?}",
        out.stdout
    );
}

/// A listener that answers the SSLRequest with `S` and then goes silent: the
/// unanswered request is the TLS handshake, not the SSLRequest.
fn ssl_yes_then_silent() -> u16 {
    use std::io::{Read, Write};
    let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = l.local_addr().expect("addr").port();
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for mut s in l.incoming().flatten() {
            let mut req = [0u8; 8];
            if s.read_exact(&mut req).is_ok() && s.write_all(b"S").is_ok() {
                held.push(s);
            }
        }
    });
    port
}

#[test]
fn silent_after_ssl_yes_names_the_tls_handshake() {
    let port = ssl_yes_then_silent();
    let t = Instant::now();
    let out = cli(
        &url(&format!("127.0.0.1:{port}"), "sslmode=require"),
        "2s",
        &[],
    );
    expect(&out, 2, "tls", "never answered the TLS handshake");
    assert!(out.all().contains("error   stalled"), "{}", out.all());
    assert!(t.elapsed() < Duration::from_secs(3), "{:?}", t.elapsed());
}

/// A "server" that reads the startup message and answers with an
/// ErrorResponse whose message and hint carry terminal escapes and `\r`.
fn hostile_error_server() -> u16 {
    use std::io::{Read, Write};
    let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = l.local_addr().expect("addr").port();
    std::thread::spawn(move || {
        for mut s in l.incoming().flatten() {
            let mut len = [0u8; 4];
            if s.read_exact(&mut len).is_err() {
                continue;
            }
            let mut rest = vec![0u8; (u32::from_be_bytes(len) as usize).saturating_sub(4)];
            if s.read_exact(&mut rest).is_err() {
                continue;
            }
            let mut body = Vec::new();
            for (code, value) in [
                (b'S', &b"FATAL"[..]),
                (b'C', b"XX000"),
                (
                    b'M',
                    b"\x1b]0;pwned\x07\x1b[2Kforged\rsupervisor * ok \xc2\x9b31m",
                ),
                (b'H', b"\x1b[1Ahint"),
            ] {
                body.push(code);
                body.extend_from_slice(value);
                body.push(0);
            }
            body.push(0);
            let mut msg = vec![b'E'];
            msg.extend_from_slice(&(body.len() as u32 + 4).to_be_bytes());
            msg.extend_from_slice(&body);
            let _ = s.write_all(&msg);
        }
    });
    port
}

/// What the server says is data: `probe` and `check` show its control
/// characters as visible escapes, never send them to the terminal.
#[test]
fn server_error_text_is_made_visible() {
    let port = hostile_error_server();
    for json in [false, true] {
        let extra: &[&str] = if json { &["--json"] } else { &[] };
        let out = cli(
            &url(&format!("127.0.0.1:{port}"), "sslmode=disable"),
            "0s",
            extra,
        );
        let all = out.all();
        assert_ne!(out.code(), Some(0), "{all}");
        assert!(
            all.contains("forged"),
            "the server's message is shown:\n{all}"
        );
        for bad in ['\x1b', '\r', '\x07', '\u{9b}'] {
            assert!(!all.contains(bad), "{bad:?} reached the terminal:\n{all:?}");
        }
    }
}
