//! `export` of a replicated service: systemd gets one template unit
//! `uaol-worker@.service` (REPLICA = the instance) with an env file per copy
//! (its own REPLICA_PORT and what was built from it) and `uaol-worker@1..N`
//! wanted by the target and required by dependents; Kubernetes gets one
//! Deployment with `replicas: N` and a comment saying the port rule does not
//! apply. Both pass the real validators. Copies whose commands differ run
//! their own command under systemd (per-copy `${UAOL_ARG_<n>}` values, or one
//! unit per copy when the working directory differs).

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::process::Command;
use std::time::Duration;

use crate::support::{systemd_verify, Fixture};

const T: Duration = Duration::from_secs(20);

fn project() -> Fixture {
    let f = Fixture::new();
    f.write(
        "supervisor.toml",
        r#"
[services.worker]
command = ["sleep", "1000"]
replicas = 3
replica_port_base = 3100
env = { PORT = "${REPLICA_PORT}" }
ready = { http = "http://127.0.0.1:${REPLICA_PORT}/health" }

[services.api]
command = ["sleep", "1000"]
depends_on = ["worker"]
"#,
    );
    f
}

fn read(dir: &std::path::Path, name: &str) -> String {
    fs::read_to_string(dir.join(name)).unwrap_or_else(|e| panic!("{name}: {e}"))
}

fn output(o: &std::process::Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

#[test]
fn systemd_writes_a_template_unit_and_one_env_file_per_copy() {
    let f = project();
    let out = f.run(&["export", "systemd", "--out", "units"], T);
    assert_eq!(out.code(), Some(0), "{out:?}");
    let dir = f.path().join("units");
    let mut names: Vec<String> = fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(
        names,
        [
            "uaol-api.env",
            "uaol-api.service",
            "uaol-worker@.service",
            "uaol-worker@1.env",
            "uaol-worker@2.env",
            "uaol-worker@3.env",
            "uaol.target"
        ]
    );
    let unit = read(&dir, "uaol-worker@.service");
    assert!(unit.contains("\nEnvironment=REPLICA=%i\n"), "{unit}");
    let env_ref = format!("\nEnvironmentFile={}/uaol-worker@%i.env\n", dir.display());
    assert!(unit.contains(&env_ref), "{unit}");
    assert!(
        unit.contains("# REPLICA_PORT = 3100 + %i - 1: systemd cannot compute it"),
        "{unit}"
    );
    for i in 1..=3 {
        let env = read(&dir, &format!("uaol-worker@{i}.env"));
        let port = 3099 + i;
        assert!(
            env.contains(&format!("\nREPLICA_PORT=\"{port}\"\n")),
            "{env}"
        );
        assert!(env.contains(&format!("\nPORT=\"{port}\"\n")), "{env}");
        let mode = fs::metadata(dir.join(format!("uaol-worker@{i}.env")))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    let target = read(&dir, "uaol.target");
    assert!(
        target.contains(
            "Wants=uaol-worker@1.service uaol-worker@2.service uaol-worker@3.service uaol-api.service"
        ),
        "{target}"
    );
    let api = read(&dir, "uaol-api.service");
    for i in 1..=3 {
        assert!(
            api.contains(&format!("\nRequires=uaol-worker@{i}.service\n")),
            "{api}"
        );
    }
    systemd_verify(
        &dir,
        &["uaol-worker@.service", "uaol-api.service", "uaol.target"],
    );
}

#[test]
fn kubernetes_sets_replicas_on_one_deployment_and_says_the_port_rule_does_not_apply() {
    let f = project();
    let out = f.run(
        &[
            "export",
            "kubernetes",
            "--out",
            "k8s",
            "--image",
            "example.com/app:1",
        ],
        T,
    );
    assert_eq!(out.code(), Some(0), "{out:?}");
    let dir = f.path().join("k8s");
    let mut names: Vec<String> = fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(
        names,
        [
            "api.secret.yaml",
            "api.yaml",
            "worker.secret.yaml",
            "worker.yaml"
        ]
    );
    let worker = read(&dir, "worker.yaml");
    assert!(worker.contains("\n  replicas: 3\n"), "{worker}");
    assert!(
        worker
            .contains("# replica_port_base = 3100: the per-replica port rule does not apply here"),
        "{worker}"
    );
    assert!(!worker.contains("REPLICA:"), "{worker}");
    let api = read(&dir, "api.yaml");
    assert_eq!(api.matches("name: wait-for-worker\n").count(), 1, "{api}");
    let paths: Vec<_> = names.iter().map(|n| dir.join(n)).collect();
    let v = Command::new("kubernetes-validate")
        .arg("--strict")
        .args(&paths)
        .output()
        .expect("kubernetes-validate (scripts/test.sh installs it with pip)");
    let text = output(&v);
    assert!(v.status.success() && !text.contains("ERROR"), "{text}");
}

/// The value `${NAME}` stands for in a systemd EnvironmentFile line `NAME="value"`.
fn env_value(env: &str, name: &str) -> Option<String> {
    let line = env.lines().find(|l| l.starts_with(&format!("{name}=\"")))?;
    let v = &line[name.len() + 2..line.len() - 1];
    Some(
        v.replace("\\\"", "\"")
            .replace("\\$", "$")
            .replace("\\\\", "\\"),
    )
}

/// What instance `i` of a unit runs: `ExecStart=`'s words (none quoted here),
/// `${VAR}` taken from that instance's env file and `%i` = `i`.
fn instance_argv(unit: &str, env: &str, i: u32) -> Vec<String> {
    let line = unit
        .lines()
        .find_map(|l| l.strip_prefix("ExecStart="))
        .unwrap_or_else(|| panic!("no ExecStart= in\n{unit}"));
    line.split(' ')
        .map(|w| {
            let mut w = w.replace("%i", &i.to_string());
            while let Some(at) = w.find("${") {
                let end = at + w[at..].find('}').unwrap();
                let v = env_value(env, &w[at + 2..end]).unwrap_or_else(|| panic!("{w}: {env}"));
                w.replace_range(at..=end, &v);
            }
            w.replace("$$", "$").replace("%%", "%")
        })
        .collect()
}

#[test]
fn systemd_instances_run_their_own_copys_command() {
    let f = Fixture::new();
    f.write(
        "supervisor.toml",
        r#"
[services.worker]
command = ["sleep", "--port=${REPLICA_PORT}", "copy-${REPLICA}", "fixed"]
replicas = 3
replica_port_base = 3100
"#,
    );
    let out = f.run(&["export", "systemd", "--out", "units"], T);
    assert_eq!(out.code(), Some(0), "{out:?}");
    let dir = f.path().join("units");
    let unit = read(&dir, "uaol-worker@.service");
    for i in 1..=3u32 {
        let env = read(&dir, &format!("uaol-worker@{i}.env"));
        let argv = instance_argv(&unit, &env, i);
        assert_eq!(
            argv[1..],
            [
                format!("--port={}", 3099 + i),
                format!("copy-{i}"),
                "fixed".to_string()
            ],
            "copy {i}:\n{unit}\n{env}"
        );
    }
    assert!(!unit.contains("ExecStart= below is copy 1's"), "{unit}");
    systemd_verify(&dir, &["uaol-worker@.service", "uaol.target"]);
}

#[test]
fn systemd_writes_one_unit_per_copy_when_the_working_directory_differs() {
    let f = Fixture::new();
    for i in 1..=2 {
        fs::create_dir_all(f.path().join(format!("data/{i}"))).unwrap();
    }
    f.write(
        "supervisor.toml",
        r#"
[services.worker]
command = ["sleep", "1000"]
cwd = "data/${REPLICA}"
replicas = 2
"#,
    );
    let out = f.run(&["export", "systemd", "--out", "units"], T);
    assert_eq!(out.code(), Some(0), "{out:?}");
    let dir = f.path().join("units");
    assert!(!dir.join("uaol-worker@.service").exists());
    for i in 1..=2 {
        let unit = read(&dir, &format!("uaol-worker@{i}.service"));
        let cwd = format!("\nWorkingDirectory={}/data/{i}\n", f.path().display());
        assert!(unit.contains(&cwd), "{unit}");
    }
    systemd_verify(
        &dir,
        &[
            "uaol-worker@1.service",
            "uaol-worker@2.service",
            "uaol.target",
        ],
    );
}

#[test]
fn kubernetes_says_when_every_pod_runs_copy_1s_command() {
    let f = Fixture::new();
    f.write(
        "supervisor.toml",
        r#"
[services.worker]
command = ["sleep", "--port=${REPLICA_PORT}"]
replicas = 2
replica_port_base = 3100
"#,
    );
    let args = ["export", "kubernetes", "--out", "k8s", "--image", "x/app:1"];
    let out = f.run(&args, T);
    assert_eq!(out.code(), Some(0), "{out:?}");
    let worker = read(&f.path().join("k8s"), "worker.yaml");
    assert!(
        worker.contains("every pod runs copy 1's command"),
        "{worker}"
    );
    assert!(worker.contains("- \"--port=3100\"\n"), "{worker}");
}

/// The service sets variables in the generated names' space itself
/// (`UAOL_ARG_1`, `UAOL_ARG_2`): the generated ones take another prefix,
/// so each copy still runs its own command and the service still gets its
/// own values.
#[test]
fn generated_argument_names_never_collide_with_the_services_own() {
    let f = Fixture::new();
    f.write(
        "supervisor.toml",
        r#"
[services.worker]
command = ["sleep", "--port=${REPLICA_PORT}", "copy-${REPLICA}"]
replicas = 2
replica_port_base = 3100
env = { UAOL_ARG_1 = "mine", UAOL_ARG_2 = "copy ${REPLICA} of mine" }
"#,
    );
    let out = f.run(&["export", "systemd", "--out", "units"], T);
    assert_eq!(out.code(), Some(0), "{out:?}");
    let dir = f.path().join("units");
    let unit = read(&dir, "uaol-worker@.service");
    assert!(!unit.contains("${UAOL_ARG_"), "{unit}");
    for i in 1..=2u32 {
        let env = read(&dir, &format!("uaol-worker@{i}.env"));
        let argv = instance_argv(&unit, &env, i);
        assert_eq!(
            argv[1..],
            [format!("--port={}", 3099 + i), format!("copy-{i}")],
            "copy {i}:\n{unit}\n{env}"
        );
        assert_eq!(
            env_value(&env, "UAOL_ARG_1").as_deref(),
            Some("mine"),
            "{env}"
        );
        let own = format!("copy {i} of mine");
        assert_eq!(env_value(&env, "UAOL_ARG_2"), Some(own), "{env}");
        let names: Vec<&str> = env
            .lines()
            .filter_map(|l| l.split_once('='))
            .map(|(k, _)| k)
            .collect();
        let mut unique = names.clone();
        unique.sort_unstable();
        unique.dedup();
        assert_eq!(names.len(), unique.len(), "a name written twice:\n{env}");
    }
    systemd_verify(&dir, &["uaol-worker@.service", "uaol.target"]);
}
