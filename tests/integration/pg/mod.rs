//! A real PostgreSQL for the probe tests: Debian's server binaries, a private
//! CA and a `localhost` server certificate (openssl CLI), SCRAM-SHA-256,
//! hostssl-only, and a user whose password needs percent-encoding.
//!
//! Cost control: `initdb` + role creation run once into a template data
//! directory; each cluster is a copy of it (fast) started with `-c` options.
//! Servers run on a dedicated "keeper" thread with PR_SET_PDEATHSIG=SIGQUIT
//! (set after dropping privileges, which would clear it), so they stop when
//! the test process exits; [`Cluster`] guards stop them earlier. PostgreSQL
//! refuses to run as root, so under root everything runs as `postgres`
//! (else `nobody`) and the temp dir is chowned to that user.
#![allow(dead_code)]

mod setup;

use setup::{
    as_server, chown, make_certs, make_self_signed, make_template, pg_bin, run, server_user,
};

use std::net::TcpListener;
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::{mpsc, OnceLock};
use std::time::{Duration, Instant};

/// The test role's password: needs encoding (`@ : / # space %`).
pub(crate) const PASSWORD: &str = "p@ss:w/rd #1%x";
/// The test role and database.
pub(crate) const USER: &str = "app";
pub(crate) const DB: &str = "appdb";

/// The shared environment: template, certificates, the server user.
pub(crate) struct Env {
    pub root: PathBuf,
    pub bin: PathBuf,
    pub ca: PathBuf,
    pub other_ca: PathBuf,
    /// A self-signed CA:TRUE `CN=localhost` certificate without SAN (its own root).
    pub self_signed: PathBuf,
    /// A self-signed CA certificate with keyUsage keyCertSign only (SAN localhost).
    pub ca_leaf: PathBuf,
    template: PathBuf,
    owner: Option<(u32, u32)>,
}

/// A running cluster, stopped (SIGQUIT) on drop.
pub(crate) struct Cluster {
    pub port: u16,
    pid: i32,
}

impl Drop for Cluster {
    fn drop(&mut self) {
        stop(self.pid);
        if let Ok(mut pids) = PIDS.lock() {
            pids.retain(|p| *p != self.pid);
        }
    }
}

/// Servers still running; stopped by [`cleanup`] at process exit.
static PIDS: std::sync::Mutex<Vec<i32>> = std::sync::Mutex::new(Vec::new());

fn stop(pid: i32) {
    // SAFETY: kill(2) on a pid we spawned; no memory involved.
    unsafe {
        libc::kill(pid, libc::SIGQUIT);
    }
}

fn root_dir(pid: u32) -> PathBuf {
    std::env::temp_dir().join(format!("uaol-pg-test-{pid}"))
}

/// atexit: stop the shared servers (immediate shutdown) and remove the temp
/// dir. Statics are never dropped, so this is where the shared servers end.
extern "C" fn cleanup() {
    let pids = PIDS.lock().map(|p| p.clone()).unwrap_or_default();
    for pid in &pids {
        stop(*pid);
    }
    let deadline = Instant::now() + Duration::from_secs(3);
    // SAFETY: kill with signal 0 only checks existence.
    while pids.iter().any(|p| unsafe { libc::kill(*p, 0) } == 0) && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(10));
    }
    let _ = std::fs::remove_dir_all(root_dir(std::process::id()));
}

/// Remove temp dirs left by runs that were killed before their atexit ran.
fn remove_stale() {
    let Ok(entries) = std::fs::read_dir(std::env::temp_dir()) else {
        return;
    };
    for e in entries.flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        let Some(pid) = name
            .strip_prefix("uaol-pg-test-")
            .and_then(|p| p.parse::<i32>().ok())
        else {
            continue;
        };
        // SAFETY: kill with signal 0 only checks existence.
        if unsafe { libc::kill(pid, 0) } != 0 {
            let _ = std::fs::remove_dir_all(e.path());
        }
    }
}

/// The percent-encoded password, as it goes into a URL.
pub(crate) fn encoded() -> String {
    uaol_supervisor::secret::percent_encode(PASSWORD, false)
}

/// Every form the password must never be printed in.
pub(crate) fn forms() -> Vec<String> {
    use uaol_supervisor::secret::percent_encode;
    vec![
        PASSWORD.into(),
        percent_encode(PASSWORD, false),
        percent_encode(PASSWORD, true),
        "w/rd #1".into(),
    ]
}

/// A free TCP port on 127.0.0.1.
pub(crate) fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("free port")
}

/// The shared environment (built once per test process).
pub(crate) fn env() -> &'static Env {
    static ENV: OnceLock<Env> = OnceLock::new();
    ENV.get_or_init(|| {
        remove_stale();
        let root = root_dir(std::process::id());
        let _ = std::fs::remove_dir_all(&root);
        // SAFETY: registers a plain extern "C" fn; called once at exit.
        unsafe {
            libc::atexit(cleanup);
        }
        std::fs::create_dir_all(&root).expect("mkdir");
        let owner = server_user();
        chown(&root, owner);
        let e = Env {
            bin: pg_bin(),
            ca: root.join("ca.crt"),
            other_ca: root.join("other-ca.crt"),
            self_signed: root.join("self.crt"),
            ca_leaf: root.join("ca-leaf.crt"),
            template: root.join("template"),
            root,
            owner,
        };
        make_certs(&e.root, owner);
        make_self_signed(&e.root, owner);
        make_template(&e);
        e
    })
}

/// Copy the template and start a cluster on `port`: TLS + hostssl-only, or
/// plaintext (`tls = false`, `ssl = off`).
pub(crate) fn start(port: u16, tls: bool) -> Cluster {
    start_with(port, tls.then_some("server"), &[])
}

/// Start a cluster whose TLS certificate is `<cert>.crt`/`<cert>.key` in the
/// harness directory (`None`: `ssl = off`), with extra `-c` settings.
pub(crate) fn start_with(port: u16, cert: Option<&str>, settings: &[&str]) -> Cluster {
    let e = env();
    let data = data_dir(port);
    run(
        {
            let mut c = Command::new("cp");
            c.arg("-a").arg(&e.template).arg(&data);
            c
        },
        "cp template",
    );
    launch(port, cert, settings)
}

/// A hot standby of `primary` on a new port (`pg_basebackup -R`: streaming
/// replication, `standby.signal`), with the same TLS certificate.
pub(crate) fn start_standby(primary: &Cluster) -> Cluster {
    let e = env();
    let port = free_port();
    let mut c = as_server(e.owner, &e.bin.join("pg_basebackup"));
    c.arg("-h")
        .arg(data_dir(primary.port))
        .args([
            "-p",
            &primary.port.to_string(),
            "-U",
            "postgres",
            "-R",
            "-N",
            "-D",
        ])
        .arg(data_dir(port));
    run(c, "pg_basebackup");
    launch(port, Some("server"), &["hot_standby=on"])
}

/// Start the server on the data directory of `port` (already populated).
fn launch(port: u16, cert: Option<&str>, settings: &[&str]) -> Cluster {
    let tls = cert.is_some();
    let e = env();
    let data = data_dir(port);
    let hba = data.join("test_hba.conf");
    let kind = if tls { "hostssl" } else { "host" };
    std::fs::write(
        &hba,
        format!("local all all trust\nlocal replication all trust\nhostssl all certuser 127.0.0.1/32 cert\n{kind} all legacy 127.0.0.1/32 md5\n{kind} all clear 127.0.0.1/32 password\n{kind} all all 127.0.0.1/32 scram-sha-256\n"),
    )
    .expect("hba");
    chown(&hba, e.owner);
    let mut c = as_server(e.owner, &e.bin.join("postgres"));
    c.arg("-D").arg(&data).args([
        "-p",
        &port.to_string(),
        "-c",
        "listen_addresses=127.0.0.1",
        "-c",
        "fsync=off",
    ]);
    c.arg("-c")
        .arg(format!("unix_socket_directories={}", data.display()));
    c.arg("-c").arg(format!("hba_file={}", hba.display()));
    for s in settings {
        c.args(["-c", s]);
    }
    if let Some(cert) = cert {
        c.args(["-c", "ssl=on"]).arg("-c").arg(format!(
            "ssl_cert_file={}",
            e.root.join(format!("{cert}.crt")).display()
        ));
        c.arg("-c").arg(format!(
            "ssl_key_file={}",
            e.root.join(format!("{cert}.key")).display()
        ));
        c.arg("-c")
            .arg(format!("ssl_ca_file={}", e.root.join("ca.crt").display()));
    }
    let log = std::fs::File::create(e.root.join(format!("log-{port}.txt"))).expect("log");
    c.stdout(Stdio::null()).stderr(log);
    let pid = keep(c);
    if let Ok(mut pids) = PIDS.lock() {
        pids.push(pid);
    }
    wait_listening(port);
    Cluster { port, pid }
}

/// Spawn on a thread that lives as long as the child, with a parent-death
/// signal so the server stops when the test process goes away.
fn keep(mut c: Command) -> i32 {
    // SAFETY: prctl is async-signal-safe; set after setuid (which clears it).
    unsafe {
        c.pre_exec(|| {
            libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGQUIT);
            Ok(())
        });
    }
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || match c.spawn() {
        Ok(mut child) => {
            let _ = tx.send(Some(child.id() as i32));
            let _ = child.wait();
        }
        Err(_) => {
            let _ = tx.send(None);
        }
    });
    rx.recv().ok().flatten().expect("spawn postgres")
}

/// Until the server accepts connections (not merely listens: during startup it
/// answers 57P03). `pg_isready` without TLS gets "no pg_hba entry", which
/// still means "up" (exit 0).
fn wait_listening(port: u16) {
    let deadline = Instant::now() + Duration::from_secs(20);
    let ready = || {
        Command::new(env().bin.join("pg_isready"))
            .args(["-q", "-h", "127.0.0.1", "-p", &port.to_string(), "-t", "1"])
            .status()
            .is_ok_and(|s| s.success())
    };
    while !ready() {
        assert!(
            Instant::now() < deadline,
            "postgres did not start on port {port}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// The data directory (and Unix socket directory) of the cluster on `port`.
pub(crate) fn data_dir(port: u16) -> PathBuf {
    env().root.join(format!("data-{port}"))
}

/// The shared TLS cluster.
pub(crate) fn tls_server() -> u16 {
    static S: OnceLock<Cluster> = OnceLock::new();
    S.get_or_init(|| start(free_port(), true)).port
}

/// The shared cluster whose certificate is the self-signed `self.crt`.
pub(crate) fn self_signed_server() -> u16 {
    static S: OnceLock<Cluster> = OnceLock::new();
    S.get_or_init(|| start_with(free_port(), Some("self"), &[]))
        .port
}

/// The shared cluster whose certificate is the keyCertSign-only `ca-leaf.crt`.
pub(crate) fn ca_leaf_server() -> u16 {
    static S: OnceLock<Cluster> = OnceLock::new();
    S.get_or_init(|| start_with(free_port(), Some("ca-leaf"), &[]))
        .port
}

/// The shared `ssl = off` cluster.
pub(crate) fn plain_server() -> u16 {
    static S: OnceLock<Cluster> = OnceLock::new();
    S.get_or_init(|| start(free_port(), false)).port
}

/// A listener that accepts connections and never answers.
pub(crate) fn black_hole() -> u16 {
    static S: OnceLock<u16> = OnceLock::new();
    *S.get_or_init(|| {
        let l = TcpListener::bind("127.0.0.1:0").expect("bind");
        let port = l.local_addr().expect("addr").port();
        std::thread::spawn(move || {
            let mut held = Vec::new();
            for s in l.incoming().flatten() {
                held.push(s);
            }
        });
        port
    })
}
