//! The socket's life: default location, 0600, one live `up` per socket, a
//! stale socket recovered, removal on exit, `--socket` and `-c` from elsewhere.

use std::os::unix::fs::{FileTypeExt, PermissionsExt};

use super::{expect_code, run_env, Up, CMD};
use crate::support::Fixture;

const ONE: &str = "[services.web]\ncommand = [\"sleep\", \"100\"]\n";

#[test]
fn runtime_dir_socket_is_private_and_removed_on_exit() {
    let fx = Fixture::new();
    fx.write("supervisor.toml", ONE);
    let rt = fx.path().join("rt");
    std::fs::create_dir(&rt).unwrap();
    let rts = rt.to_str().unwrap();
    let mut up = Up::start_with(&fx, &[("XDG_RUNTIME_DIR", rts)]);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    let sock = loop {
        let found = std::fs::read_dir(&rt).unwrap().flatten().next();
        if let Some(e) = found {
            break e.path();
        }
        assert!(std::time::Instant::now() < deadline, "{}", up.output());
        std::thread::sleep(std::time::Duration::from_millis(20));
    };
    let name = sock.file_name().unwrap().to_str().unwrap().to_owned();
    assert!(
        name.starts_with("uaol-supervisor-") && name.ends_with(".sock"),
        "{name}"
    );
    let meta = std::fs::metadata(&sock).unwrap();
    assert!(meta.file_type().is_socket());
    assert_eq!(meta.permissions().mode() & 0o777, 0o600);
    // The client finds it the same way (same XDG_RUNTIME_DIR) …
    let o = run_env(&fx, &["status"], &[("XDG_RUNTIME_DIR", rts)]);
    expect_code(&o, 0);
    // … and by --socket.
    let o = fx.run(&["status", "--socket", sock.to_str().unwrap()], CMD);
    expect_code(&o, 0);
    let st = up.stop().unwrap();
    assert_eq!(st.code(), Some(0), "{}", up.output());
    assert!(!sock.exists(), "socket left behind");
}

#[test]
fn a_live_socket_refuses_a_second_up() {
    let fx = Fixture::new();
    fx.write(
        "supervisor.toml",
        &format!("[supervisor]\ncontrol_socket = \"run/ctl.sock\"\n{ONE}"),
    );
    let mut up = Up::start(&fx);
    up.wait_ready(&fx);
    let o = fx.run(&["up"], CMD);
    expect_code(&o, 12);
    assert!(
        o.stderr.contains("another `up` is already running"),
        "{o:?}"
    );
    assert!(o.stderr.contains("run/ctl.sock"), "{o:?}");
    // The first one is untouched.
    expect_code(&fx.run(&["status", "--check"], CMD), 0);
    assert!(fx.path().join("run/ctl.sock").exists());
}

#[test]
fn a_stale_socket_is_recovered() {
    let fx = Fixture::new();
    fx.write("supervisor.toml", ONE);
    let path = fx.path().join(".uaol-supervisor.sock");
    // What a SIGKILLed `up` leaves: a socket file nobody listens on.
    drop(std::os::unix::net::UnixListener::bind(&path).unwrap());
    assert!(path.exists());
    expect_code(&fx.run(&["status"], CMD), 10);
    let mut up = Up::start(&fx);
    up.wait_ready(&fx);
    assert!(up.output().contains("control socket"), "{}", up.output());
}

#[test]
fn the_client_finds_the_socket_from_another_directory_with_c() {
    let fx = Fixture::new();
    fx.write("app/supervisor.toml", ONE);
    let mut up = Up::start_in(&fx, "app");
    up.wait_ready(&fx);
    assert!(fx.path().join("app/.uaol-supervisor.sock").exists());
    // Without -c, from the fixture root, there is no config: a clear error.
    let o = fx.run(&["status"], CMD);
    expect_code(&o, 3);
    assert!(o.stderr.contains("--socket PATH"), "{o:?}");
}

#[test]
fn a_read_only_config_dir_runs_without_a_socket() {
    let fx = Fixture::new();
    fx.write(
        "supervisor.toml",
        "[services.job]\ncommand = [\"echo\", \"job done\"]\noneshot = true\n",
    );
    let dir = fx.path().to_str().unwrap().to_owned();
    let exe = crate::support::bin();
    // A private mount namespace with the project bind-mounted read-only, as a
    // container with its config mounted read-only.
    let script = format!(
        "mount --bind -o ro '{dir}' '{dir}' && exec '{}' up",
        exe.display()
    );
    let mut c = std::process::Command::new("unshare");
    c.args(["-m", "sh", "-c", &script])
        .current_dir(fx.path())
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("NO_COLOR", "1");
    let o = crate::support::run_bounded(&mut c, CMD);
    let mount_ok = !(o.stderr.contains("unshare failed") || o.stderr.contains("mount:"));
    if !crate::support::prerequisite(
        mount_ok,
        &format!("a read-only bind mount (`unshare -m`, root): {}", o.stderr),
    ) {
        return;
    }
    expect_code(&o, 0);
    assert!(o.stderr.contains("warning: no control socket"), "{o:?}");
    assert!(o.stdout.contains("job done"), "{o:?}");
}

/// One raw exchange, as a third-party client would do it.
fn exchange(sock: &std::path::Path, request: &str) -> serde_json::Value {
    use std::io::{BufRead, Write};
    let mut s = std::os::unix::net::UnixStream::connect(sock).unwrap();
    s.set_read_timeout(Some(CMD)).unwrap();
    s.write_all(request.as_bytes()).unwrap();
    s.shutdown(std::net::Shutdown::Write).unwrap();
    let mut line = String::new();
    std::io::BufReader::new(&s).read_line(&mut line).unwrap();
    assert!(line.ends_with('\n'), "{line:?}");
    serde_json::from_str(&line).unwrap()
}

#[test]
fn the_raw_protocol_is_one_line_each_way() {
    let fx = Fixture::new();
    fx.write("supervisor.toml", ONE);
    let mut up = Up::start(&fx);
    up.wait_ready(&fx);
    let sock = fx.path().join(".uaol-supervisor.sock");
    let r = exchange(&sock, "{\"cmd\":\"status\"}\n");
    assert_eq!(r["ok"], true, "{r}");
    assert_eq!(r["services"][0]["name"], "web", "{r}");
    let r = exchange(
        &sock,
        "{\"cmd\":\"logs\",\"service\":\"web\",\"lines\":1}\n",
    );
    assert_eq!(
        (r["ok"].clone(), r["lines"].is_array()),
        (true.into(), true),
        "{r}"
    );
    for bad in [
        "hello\n",
        "{\"cmd\":\"env\",\"service\":\"web\"}\n",
        "{\"cmd\":\"status\"}",
    ] {
        let r = exchange(&sock, bad);
        assert_eq!(r["ok"], false, "{bad}: {r}");
        assert_eq!(r["kind"], "bad_request", "{bad}: {r}");
    }
    let r = exchange(&sock, "{\"cmd\":\"stop\",\"service\":\"nope\"}\n");
    assert_eq!(r["kind"], "unknown_service", "{r}");
}
