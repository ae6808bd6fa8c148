//! A second uid cannot talk to `up`: the socket is 0600 (connect fails), and
//! even through a socket opened to everyone the server checks the peer's uid
//! (SO_PEERCRED) and refuses. Needs root (to act as `nobody`): fails without it (see support::prerequisite).

use std::os::unix::fs::PermissionsExt;
use std::process::Command;

use super::{expect_code, Up, CMD};
use crate::support::{bin, run_bounded, Fixture};

/// runuser(1), wherever this system keeps it.
fn runuser() -> Option<&'static str> {
    [
        "/usr/sbin/runuser",
        "/sbin/runuser",
        "/usr/bin/runuser",
        "/bin/runuser",
    ]
    .into_iter()
    .find(|p| std::path::Path::new(p).exists())
}

fn as_nobody(
    fx: &Fixture,
    exe: &std::path::Path,
    sock: &std::path::Path,
) -> crate::support::Output {
    let mut c = Command::new(runuser().expect("runuser"));
    c.args(["-u", "nobody", "--"])
        .arg(exe)
        .args(["status", "--socket"])
        .arg(sock)
        .current_dir(fx.path())
        .env_clear()
        .env("PATH", "/usr/bin:/bin");
    run_bounded(&mut c, CMD)
}

#[test]
fn another_uid_cannot_connect() {
    if !crate::support::prerequisite(
        nix::unistd::geteuid().is_root(),
        "another_uid_cannot_connect needs root to act as `nobody`",
    ) {
        return;
    }
    let runuser_ok = runuser().is_some_and(|r| {
        Command::new(r)
            .args(["-u", "nobody", "--", "true"])
            .status()
            .is_ok_and(|s| s.success())
    });
    if !crate::support::prerequisite(
        runuser_ok,
        "another_uid_cannot_connect needs `runuser -u nobody`",
    ) {
        return;
    }
    let fx = Fixture::new();
    fx.write(
        "supervisor.toml",
        "[services.web]\ncommand = [\"sleep\", \"100\"]\n",
    );
    std::fs::set_permissions(fx.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    // A copy `nobody` can surely execute, wherever the build directory is.
    let exe = fx.path().join("uaol-supervisor");
    std::fs::copy(bin(), &exe).unwrap();
    std::fs::set_permissions(&exe, std::fs::Permissions::from_mode(0o755)).unwrap();
    let mut up = Up::start(&fx);
    up.wait_ready(&fx);
    let sock = fx.path().join(".uaol-supervisor.sock");

    // 1. Mode 0600: the kernel refuses the connect.
    let o = as_nobody(&fx, &exe, &sock);
    expect_code(&o, 10);
    assert!(o.stderr.contains("Permission denied"), "{o:?}");

    // 2. Even with the file opened to everyone, the peer uid check refuses.
    std::fs::set_permissions(&sock, std::fs::Permissions::from_mode(0o666)).unwrap();
    let o = as_nobody(&fx, &exe, &sock);
    expect_code(&o, 10);
    assert!(o.stderr.contains("permission denied: uid 65534"), "{o:?}");
    assert!(!o.stdout.contains("web"), "{o:?}");
    assert!(
        up.output().contains("refused a connection from uid 65534"),
        "{}",
        up.output()
    );

    // Root (the same uid here) still gets in.
    expect_code(&fx.run(&["status"], CMD), 0);
}
