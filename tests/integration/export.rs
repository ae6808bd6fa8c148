//! Integration tests for `export`: the real binary on a real config, the real
//! validators on its output, and a secret sweep of every file it wrote.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::process::Command;
use std::time::Duration;

use crate::support::{systemd_verify, Fixture};

const PASSWORD: &str = "c@nary p/ss#1";
const PASSWORD_ENC: &str = "c%40nary%20p%2Fss%231";

fn project() -> Fixture {
    let f = Fixture::new();
    f.write(
        ".env",
        &format!("DATABASE_URL=postgresql://app:{PASSWORD_ENC}@db.example.com:5432/app?sslmode=verify-full\nAPI_TOKEN=tok-123456789\n"),
    );
    f.script("bin/api.sh", "exec sleep 1000");
    f.write(
        "supervisor.toml",
        r#"
[supervisor]
env_files = [".env"]

[env]
NODE_ENV = "production"

[database]
url = "${DATABASE_URL}"
probe = false

[services.migrate]
command = ["bin/api.sh", "migrate"]
oneshot = true

[services.api]
command = ["bin/api.sh", "serve", "two words"]
depends_on = { migrate = "completed" }
env = { PORT = "3000", TOKEN = "${API_TOKEN}" }
ready = { http = "http://127.0.0.1:3000/health" }
stop_timeout = "20s"
user = "daemon"
limits = { nofile = "1024:65536", core = 0, memlock = "64MiB" }
umask = "0027"
nice = 5

[services.worker]
command = "sh -c 'exec sleep 1000'"
uses_database = false
restart = "always"
depends_on = { api = "ready" }
group = "root"
"#,
    );
    f
}

fn all_files(dir: &std::path::Path) -> Vec<(String, String, u32)> {
    let mut out: Vec<_> = fs::read_dir(dir)
        .unwrap()
        .map(|e| {
            let e = e.unwrap();
            let mode = e.metadata().unwrap().permissions().mode() & 0o777;
            let name = e.file_name().to_string_lossy().into_owned();
            (name, fs::read_to_string(e.path()).unwrap(), mode)
        })
        .collect();
    out.sort();
    out
}

fn leaks(text: &str) -> bool {
    text.contains(PASSWORD) || text.contains(PASSWORD_ENC) || text.contains("tok-123456789")
}

#[test]
fn systemd_export_verifies_and_keeps_secrets_in_0600_files() {
    let f = project();
    let out = f.run(
        &[
            "export",
            "systemd",
            "--out",
            "units",
            "--binary",
            "/bin/true",
        ],
        Duration::from_secs(20),
    );
    assert_eq!(out.code(), Some(0), "{out:?}");
    assert!(!leaks(&out.all()), "{}", out.all());
    let dir = f.path().join("units");
    let files = all_files(&dir);
    let names: Vec<&str> = files.iter().map(|(n, _, _)| n.as_str()).collect();
    assert!(names.contains(&"uaol.target"), "{names:?}");
    for (name, body, mode) in &files {
        let secret = name.ends_with(".env");
        assert_eq!(*mode, if secret { 0o600 } else { 0o644 }, "{name}");
        if !secret {
            assert!(!leaks(body), "{name} leaks a secret:\n{body}");
        }
    }
    let api_env = &files
        .iter()
        .find(|(n, _, _)| n == "uaol-api.env")
        .unwrap()
        .1;
    assert!(
        api_env.contains(PASSWORD_ENC) && api_env.contains("tok-123456789"),
        "{api_env}"
    );
    let units: Vec<&str> = files
        .iter()
        .map(|(n, _, _)| n.as_str())
        .filter(|n| !n.ends_with(".env"))
        .collect();
    systemd_verify(&dir, &units);
    let unit = |n: &str| &files.iter().find(|(f, _, _)| f == n).unwrap().1;
    let api = unit("uaol-api.service");
    for line in [
        "\nUser=daemon\n",
        "\nLimitCORE=0\n",
        "\nLimitNOFILE=1024:65536\n",
        "\nLimitMEMLOCK=67108864\n",
        "\nUMask=0027\n",
        "\nNice=5\n",
    ] {
        assert!(api.contains(line), "{line:?} missing:\n{api}");
    }
    let worker = unit("uaol-worker.service");
    assert!(
        worker.contains("\nGroup=root\n") && !worker.contains("User="),
        "{worker}"
    );
    // systemd sets HOME/USER/LOGNAME from User= itself: not in the env file.
    assert!(!unit("uaol-api.env").contains("LOGNAME"));
}

#[test]
fn kubernetes_export_validates_and_keeps_secrets_in_secret_manifests() {
    let f = project();
    let out = f.run(
        &[
            "export",
            "kubernetes",
            "--out",
            "k8s",
            "--image",
            "example.com/app:1",
            "--namespace",
            "demo",
        ],
        Duration::from_secs(20),
    );
    assert_eq!(out.code(), Some(0), "{out:?}");
    let dir = f.path().join("k8s");
    let files = all_files(&dir);
    for (name, body, mode) in &files {
        assert!(!leaks(body), "{name} holds a plain secret");
        let secret = name.ends_with(".secret.yaml");
        assert_eq!(*mode, if secret { 0o600 } else { 0o644 }, "{name}");
        if !secret {
            assert!(!body.contains("kind: Secret"), "{name}");
        }
    }
    let paths: Vec<_> = files.iter().map(|(n, _, _)| dir.join(n)).collect();
    let v = Command::new("kubernetes-validate")
        .arg("--strict")
        .args(&paths)
        .output()
        .expect("kubernetes-validate (scripts/test.sh installs it with pip)");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&v.stdout),
        String::from_utf8_lossy(&v.stderr)
    );
    assert!(v.status.success() && !text.contains("ERROR"), "{text}");
    let manifest = |n: &str| &files.iter().find(|(f, _, _)| f == n).unwrap().1;
    let api = manifest("api.yaml");
    let daemon = Command::new("id").args(["-u", "daemon"]).output().unwrap();
    let uid = String::from_utf8_lossy(&daemon.stdout).trim().to_string();
    assert!(api.contains(&format!("runAsUser: {uid}\n")), "{api}");
    assert!(api.contains("# user `daemon`: securityContext.runAsUser/runAsGroup take numeric ids only; these were resolved when exporting"), "{api}");
    assert!(api.contains("# Not expressible per container, not exported: limits.core = 0, limits.nofile = 1024:65536, limits.memlock = 67108864, umask = 0027, nice = 5."), "{api}");
    let worker = manifest("worker.yaml");
    assert!(
        worker.contains("runAsGroup: 0\n") && !worker.contains("runAsUser:"),
        "{worker}"
    );
}

#[test]
fn kubernetes_export_without_image_is_a_usage_error() {
    let f = project();
    let out = f.run(
        &["export", "kubernetes", "--out", "k8s"],
        Duration::from_secs(20),
    );
    assert_eq!(out.code(), Some(64), "{out:?}");
    assert!(out.stderr.contains("--image"), "{}", out.stderr);
    assert!(!f.path().join("k8s").exists());
}

#[test]
fn export_of_an_invalid_config_exits_3_and_writes_nothing() {
    let f = project();
    f.write("supervisor.toml", "[services.a]\ncommand = []\n");
    let out = f.run(
        &["export", "systemd", "--out", "units"],
        Duration::from_secs(20),
    );
    assert_eq!(out.code(), Some(3), "{out:?}");
    assert!(!f.path().join("units").exists());
}

#[test]
fn export_into_an_unwritable_place_exits_74() {
    let f = project();
    f.write("blocker", "a file, not a directory");
    let out = f.run(
        &["export", "systemd", "--out", "blocker/units"],
        Duration::from_secs(20),
    );
    assert_eq!(out.code(), Some(74), "{out:?}");
    assert!(out.stderr.contains("blocker"), "{}", out.stderr);
}

/// `a_b`, `a-b` and `A-B` all map to `a-b` (unit `uaol-a-b.service`, manifest
/// `a-b.yaml`): export used to say "wrote 7 files" while 3 existed, the last
/// service winning. Now `check` names both services of each collision, and
/// `export` refuses, writing nothing.
#[test]
fn services_whose_exported_names_collide_are_refused() {
    let f = Fixture::new();
    let svc = "command = [\"sh\", \"-c\", \"true\"]\n";
    f.write(
        "supervisor.toml",
        &format!("[services.a_b]\n{svc}\n[services.a-b]\n{svc}\n[services.A-B]\n{svc}\n[services.web]\n{svc}"),
    );
    let out = f.run(&["check", "--no-probe"], Duration::from_secs(20));
    assert_eq!(out.code(), Some(3), "{out:?}");
    for line in [
        "supervisor.toml:4:11: services.a-b: `a-b` and `a_b` (at supervisor.toml:1:11) both become `a-b`",
        "supervisor.toml:7:11: services.A-B: `A-B` and `a_b` (at supervisor.toml:1:11) both become `a-b`",
    ] {
        assert!(out.stderr.contains(line), "no `{line}` in:\n{}", out.stderr);
    }
    assert!(!out.stderr.contains("web"), "{}", out.stderr);
    for target in [&["systemd"][..], &["kubernetes", "--image", "x:1"]] {
        let args = [&["export"][..], target, &["--out", "out"]].concat();
        let out = f.run(&args, Duration::from_secs(20));
        assert_eq!(out.code(), Some(3), "{target:?}: {out:?}");
        assert!(out.stderr.contains("uaol-a-b.service"), "{}", out.stderr);
        assert!(!f.path().join("out").exists(), "{target:?} wrote files");
    }
}

/// The kubelet's `$(VAR)` expansion of `command`/`args` (Kubernetes'
/// third_party/forked/golang/expansion): `$$` → `$`, `$(NAME)` → its value
/// (here `<NAME>`), and the byte after another `$` re-encoded as a char.
fn kubelet_expand(input: &str) -> String {
    let b = input.as_bytes();
    let (mut out, mut checkpoint, mut cursor) = (Vec::new(), 0, 0);
    while cursor < b.len() {
        if b[cursor] == b'$' && cursor + 1 < b.len() {
            out.extend_from_slice(&b[checkpoint..cursor]);
            let rest = &b[cursor + 1..];
            match (rest[0], rest.iter().position(|&c| c == b')')) {
                (b'$', _) => out.push(b'$'),
                (b'(', Some(close)) => {
                    out.extend(format!("<{}>", String::from_utf8_lossy(&rest[1..close])).bytes());
                    cursor += close;
                }
                (b'(', None) => out.extend_from_slice(b"$("),
                (other, _) => out.extend(format!("${}", char::from(other)).bytes()),
            }
            cursor += 1;
            checkpoint = cursor + 1;
        }
        cursor += 1;
    }
    out.extend_from_slice(&b[checkpoint..]);
    String::from_utf8_lossy(&out).into_owned()
}

/// Kubernetes expands `$(VAR)` and `$$` in command/args, systemd `$VAR`,
/// `${VAR}` and `%` specifiers in ExecStart=: the exported workloads must
/// still run exactly the argv `up` runs. (A verbatim copy made the pod print
/// its own HOME for `$(HOME)`, `$` for `$$`, and mangle `$é`.)
#[test]
fn exported_commands_run_exactly_the_argv_up_runs() {
    let f = Fixture::new();
    f.write(
        "supervisor.toml",
        r#"[services.echo]
command = ["/bin/echo", "$(HOME)", "a$$$$b", "$é", "100%", "$$HOME", "$${HOME}", "two words", "$"]
ready = { exec = ["/bin/echo", "$(HOME)", "a$$$$b", "$é", "100%", "$$HOME", "$${HOME}", "two words", "$"] }
"#,
    );
    let argv = [
        "/bin/echo",
        "$(HOME)",
        "a$$b",
        "$é",
        "100%",
        "$HOME",
        "${HOME}",
        "two words",
        "$",
    ];
    let out = f.run(
        &["export", "kubernetes", "--image", "x:1", "--out", "k8s"],
        Duration::from_secs(20),
    );
    assert_eq!(out.code(), Some(0), "{out:?}");
    let manifest = f.path().join("k8s/echo.yaml");
    // The container's command, then its exec readiness probe's (expanded alike).
    let py = "import sys, yaml\nfor d in yaml.safe_load_all(open(sys.argv[1])):\n    if d['kind'] == 'Deployment':\n        c = d['spec']['template']['spec']['containers'][0]\n        sys.stdout.write('\\1'.join('\\0'.join(a) for a in (c['command'], c['readinessProbe']['exec']['command'])))";
    let got = Command::new("python3")
        .args(["-c", py])
        .arg(&manifest)
        .output()
        .expect("python3 with PyYAML");
    let text = String::from_utf8(got.stdout).unwrap();
    let lists: Vec<&str> = text.split('\u{1}').collect();
    assert_eq!(lists.len(), 2, "{text}");
    for list in lists {
        let ran: Vec<String> = list.split('\0').map(kubelet_expand).collect();
        assert_eq!(ran, argv, "manifest command {list}");
    }

    let out = f.run(
        &[
            "export",
            "systemd",
            "--out",
            "units",
            "--binary",
            "/bin/true",
        ],
        Duration::from_secs(20),
    );
    assert_eq!(out.code(), Some(0), "{out:?}");
    let unit = fs::read_to_string(f.path().join("units/uaol-echo.service")).unwrap();
    let exec = unit.lines().find(|l| l.starts_with("ExecStart=")).unwrap();
    assert_eq!(
        exec,
        r#"ExecStart=/bin/echo $$(HOME) a$$$$b $$é 100%% $$HOME $${HOME} "two words" $$"#
    );
    let v = Command::new("systemd-analyze")
        .arg("verify")
        .arg(f.path().join("units/uaol-echo.service"))
        .env(
            "SYSTEMD_UNIT_PATH",
            format!("{}:", f.path().join("units").display()),
        )
        .output()
        .expect("systemd-analyze");
    assert!(v.status.success(), "{}", String::from_utf8_lossy(&v.stderr));
}
