//! Building blocks of the PostgreSQL harness: the unprivileged server user,
//! the openssl CA and certificates, and the template data directory (initdb
//! plus the test roles, created once in single-user mode).

use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use super::{Env, DB, PASSWORD, USER};

pub(super) fn server_user() -> Option<(u32, u32)> {
    if !nix::unistd::geteuid().is_root() {
        return None;
    }
    ["postgres", "nobody"]
        .iter()
        .find_map(|n| nix::unistd::User::from_name(n).ok().flatten())
        .map(|u| (u.uid.as_raw(), u.gid.as_raw()))
}

pub(super) fn pg_bin() -> PathBuf {
    let mut versions: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .expect("PostgreSQL server binaries (scripts/test.sh installs them)")
        .flatten()
        .map(|e| e.path().join("bin"))
        .filter(|p| p.join("postgres").exists())
        .collect();
    versions.sort();
    versions
        .pop()
        .expect("a /usr/lib/postgresql/*/bin/postgres")
}

/// A command that runs as the server user (when root).
pub(super) fn as_server(env_owner: Option<(u32, u32)>, program: &Path) -> Command {
    let mut c = Command::new(program);
    c.env("LC_ALL", "C").env_remove("PGDATA");
    if let Some((uid, gid)) = env_owner {
        // SAFETY: only async-signal-safe syscalls between fork and exec.
        unsafe {
            c.pre_exec(move || {
                if libc::setgroups(0, std::ptr::null()) != 0
                    || libc::setgid(gid) != 0
                    || libc::setuid(uid) != 0
                {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
    }
    c
}

pub(super) fn run(mut c: Command, what: &str) {
    let out = c.output().unwrap_or_else(|e| panic!("{what}: {e}"));
    assert!(
        out.status.success(),
        "{what} failed: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

pub(super) fn openssl(dir: &Path, args: &[&str]) {
    let mut c = Command::new("openssl");
    c.args(args).current_dir(dir);
    run(c, &format!("openssl {}", args[0]));
}

pub(super) fn chown(path: &Path, owner: Option<(u32, u32)>) {
    if let Some((uid, gid)) = owner {
        std::os::unix::fs::chown(path, Some(uid), Some(gid)).expect("chown");
    }
}

pub(super) fn make_certs(dir: &Path, owner: Option<(u32, u32)>) {
    let ec = [
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:prime256v1",
        "-nodes",
    ];
    for (name, cn) in [("ca", "uaol test CA"), ("other-ca", "some other CA")] {
        let subj = format!("/CN={cn}");
        let (key, crt) = (format!("{name}.key"), format!("{name}.crt"));
        let mut args = vec![
            "req", "-x509", "-days", "30", "-subj", &subj, "-keyout", &key, "-out", &crt,
        ];
        args.extend(ec);
        args.extend([
            "-addext",
            "basicConstraints=critical,CA:TRUE",
            "-addext",
            "keyUsage=critical,keyCertSign,cRLSign",
        ]);
        openssl(dir, &args);
    }
    let mut args = vec![
        "req",
        "-subj",
        "/CN=localhost",
        "-keyout",
        "server.key",
        "-out",
        "server.csr",
    ];
    args.extend(ec);
    openssl(dir, &args);
    std::fs::write(dir.join("ext.cnf"), "subjectAltName=DNS:localhost\nbasicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\n").expect("ext");
    // 10 days: the probe must warn that it expires within 14 days.
    openssl(
        dir,
        &[
            "x509",
            "-req",
            "-in",
            "server.csr",
            "-CA",
            "ca.crt",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-days",
            "10",
            "-extfile",
            "ext.cnf",
            "-out",
            "server.crt",
        ],
    );
    for f in ["server.key", "server.crt"] {
        chown(&dir.join(f), owner);
    }
    // A client certificate for the role `certuser` (cert authentication).
    let mut args = vec![
        "req",
        "-subj",
        "/CN=certuser",
        "-keyout",
        "client.key",
        "-out",
        "client.csr",
    ];
    args.extend(ec);
    openssl(dir, &args);
    std::fs::write(dir.join("client.cnf"), "basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=clientAuth\n").expect("client.cnf");
    openssl(
        dir,
        &[
            "x509",
            "-req",
            "-in",
            "client.csr",
            "-CA",
            "ca.crt",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-days",
            "10",
            "-extfile",
            "client.cnf",
            "-out",
            "client.crt",
        ],
    );
    std::fs::set_permissions(
        dir.join("client.key"),
        std::os::unix::fs::PermissionsExt::from_mode(0o600),
    )
    .expect("chmod");
    std::fs::set_permissions(
        dir.join("server.key"),
        std::os::unix::fs::PermissionsExt::from_mode(0o600),
    )
    .expect("chmod");
}

/// The usual development certificate: `openssl req -x509` with only a CN (no
/// SAN), which OpenSSL's default config makes CA:TRUE — used as its own
/// `sslrootcert`. Plus `ca-leaf.*`: a self-signed CA:TRUE certificate with
/// keyUsage keyCertSign only, which OpenSSL refuses as a server certificate.
pub(super) fn make_self_signed(dir: &Path, owner: Option<(u32, u32)>) {
    let ec = [
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:prime256v1",
        "-nodes",
    ];
    let mut args = vec![
        "req",
        "-x509",
        "-days",
        "30",
        "-subj",
        "/CN=localhost",
        "-keyout",
        "self.key",
        "-out",
        "self.crt",
    ];
    args.extend(ec);
    openssl(dir, &args);
    let mut args = vec![
        "req",
        "-x509",
        "-days",
        "30",
        "-subj",
        "/CN=localhost",
        "-keyout",
        "ca-leaf.key",
        "-out",
        "ca-leaf.crt",
    ];
    args.extend(ec);
    args.extend([
        "-addext",
        "basicConstraints=critical,CA:TRUE",
        "-addext",
        "keyUsage=critical,keyCertSign,cRLSign",
        "-addext",
        "subjectAltName=DNS:localhost",
    ]);
    openssl(dir, &args);
    for f in ["self.key", "self.crt", "ca-leaf.key", "ca-leaf.crt"] {
        chown(&dir.join(f), owner);
    }
    for f in ["self.key", "ca-leaf.key"] {
        std::fs::set_permissions(
            dir.join(f),
            std::os::unix::fs::PermissionsExt::from_mode(0o600),
        )
        .expect("chmod");
    }
}

pub(super) fn make_template(e: &Env) {
    let mut c = as_server(e.owner, &e.bin.join("initdb"));
    c.args(["-D"]).arg(&e.template).args([
        "-U",
        "postgres",
        "--auth=trust",
        "-E",
        "UTF8",
        "--locale=C",
        "--no-sync",
    ]);
    run(c, "initdb");
    let mut c = as_server(e.owner, &e.bin.join("postgres"));
    c.args(["--single", "-D"])
        .arg(&e.template)
        .arg("postgres")
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    let mut child = c.spawn().expect("postgres --single");
    // `legacy` has an md5 verifier (md5 auth); `clear` logs in with `password` (cleartext).
    let sql = format!(
        "CREATE ROLE {USER} LOGIN PASSWORD '{PASSWORD}';\nCREATE DATABASE {DB} OWNER {USER};\n\
         SET password_encryption = 'md5';\nCREATE ROLE legacy LOGIN PASSWORD '{PASSWORD}';\n\
         SET password_encryption = 'scram-sha-256';\nCREATE ROLE clear LOGIN PASSWORD '{PASSWORD}';\n\
         CREATE ROLE certuser LOGIN;\n"
    );
    std::io::Write::write_all(child.stdin.as_mut().expect("stdin"), sql.as_bytes()).expect("sql");
    drop(child.stdin.take());
    let out = child.wait_with_output().expect("single-user");
    assert!(
        out.status.success(),
        "single-user mode: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}
