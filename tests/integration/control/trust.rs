//! The control socket under outsiders (issue 12, items 17–18): silent
//! clients cannot delay anyone else, a server of another uid is refused by
//! the client, and what a server sends is shown without its escapes.

use std::os::unix::fs::PermissionsExt;
use std::os::unix::net::UnixStream;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use super::{expect_code, Up, CMD};
use crate::support::Fixture;

const ONE: &str = "[services.web]\ncommand = [\"sleep\", \"100\"]\n";

/// 40 clients connect and send nothing; `status` still answers at once.
/// (It took 20 s: 16 slots, 10 s read timeout each.)
#[test]
fn silent_clients_do_not_delay_status() {
    let fx = Fixture::new();
    fx.write("supervisor.toml", ONE);
    let mut up = Up::start(&fx);
    up.wait_ready(&fx);
    let sock = fx.path().join(".uaol-supervisor.sock");
    let silent: Vec<UnixStream> = (0..40)
        .map(|_| UnixStream::connect(&sock).expect("connect"))
        .collect();
    let t = Instant::now();
    let o = fx.run(&["status"], CMD);
    let took = t.elapsed();
    expect_code(&o, 0);
    assert!(o.stdout.contains("web"), "{o:?}");
    assert!(took < Duration::from_secs(2), "status took {took:?}");
    drop(silent);
}

/// A child that drops to `nobody` and answers every connection on `sock`
/// with `answer` (one line), until killed.
struct FakeServer(Child);

impl FakeServer {
    fn start(sock: &Path, answer: &str, uid: Option<u32>) -> FakeServer {
        let script = r#"
import os, socket, sys
s = socket.socket(socket.AF_UNIX)
s.bind(sys.argv[1])
os.chmod(sys.argv[1], 0o777)
s.listen(16)
print("listening", flush=True)
while True:
    c, _ = s.accept()
    c.sendall(sys.argv[2].encode() + b"\n")
    c.close()
"#;
        // A system python `nobody` can run (not a per-user shim).
        let py = ["/usr/bin/python3", "/usr/local/bin/python3", "/bin/python3"]
            .into_iter()
            .find(|p| Path::new(p).exists())
            .expect("missing prerequisite: a system python3 (/usr/bin/python3)");
        let mut c = Command::new(py);
        c.args(["-c", script])
            .arg(sock)
            .arg(answer)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .env_clear();
        if let Some(uid) = uid {
            // setuid(2) in the child before exec: the listener is nobody's.
            c.uid(uid).gid(uid);
        }
        let mut child = c.spawn().expect("python3");
        let mut line = String::new();
        let out = child.stdout.take().unwrap();
        std::io::BufRead::read_line(&mut std::io::BufReader::new(out), &mut line).unwrap();
        assert_eq!(line.trim(), "listening");
        FakeServer(child)
    }
}

impl Drop for FakeServer {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

const EVIL: &str = r#"{"ok":true,"services":[{"name":"web\u001b[2J\u001b[31m","state":"ready","pid":1,"started_at":null,"uptime_secs":null,"restarts":0,"last_exit":null,"ready":true,"detail":"x\rsupervisor * all good","rss_bytes":null,"cpu_percent":null,"processes":null}]}"#;

/// A listener of another uid at the socket path is refused before anything
/// is sent or shown. Runs as root (CI does): a child process setuid()s to
/// `nobody` and listens. Not root: it fails, loudly (support::prerequisite) —
/// the check cannot be proven otherwise.
#[test]
fn a_server_of_another_uid_is_refused() {
    if !crate::support::prerequisite(
        nix::unistd::geteuid().is_root(),
        "a_server_of_another_uid_is_refused needs root (a listener setuid()s to `nobody`)",
    ) {
        return;
    }
    let fx = Fixture::new();
    let dir = fx.path().join("shared");
    std::fs::create_dir(&dir).unwrap();
    std::fs::set_permissions(fx.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o1777)).unwrap();
    let sock = dir.join("ctl.sock");
    let _fake = FakeServer::start(&sock, EVIL, Some(65534));
    let o = fx.run(&["status", "--socket", sock.to_str().unwrap()], CMD);
    expect_code(&o, 10);
    assert!(
        o.stderr
            .contains("served by uid 65534, not by you (uid 0) or root"),
        "{o:?}"
    );
    assert!(!o.stdout.contains("web"), "{o:?}");
    assert!(!o.all().contains('\x1b'), "{o:?}");
}

/// A trusted server's strings are shown with their control characters made
/// visible: no escape reaches the terminal, no `\r` forges a line.
#[test]
fn control_characters_from_the_socket_are_made_visible() {
    let fx = Fixture::new();
    let sock = fx.path().join("ctl.sock");
    let _fake = FakeServer::start(&sock, EVIL, None);
    let o = fx.run(&["status", "--socket", sock.to_str().unwrap()], CMD);
    expect_code(&o, 0);
    assert!(
        !o.all().contains('\x1b') && !o.all().contains('\r'),
        "{o:?}"
    );
    assert!(o.stdout.contains("web\\x1b[2J"), "{o:?}");
    assert!(o.stdout.contains("x\\rsupervisor"), "{o:?}");
}
