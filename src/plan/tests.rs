//! Plan-level table tests on real temp files: precedence of the six layers,
//! `${VAR}` lookup order, the inherit boundary, secrets, dependency defaults.

use std::collections::BTreeMap;
use std::path::PathBuf;

use super::{load, Condition, Plan, Problems, ReadyKind};
use crate::env::Source;

struct Project {
    dir: tempfile::TempDir,
}

impl Project {
    fn new(files: &[(&str, &str)]) -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        for (name, text) in files {
            let p = dir.path().join(name);
            std::fs::create_dir_all(p.parent().expect("parent")).expect("mkdir");
            std::fs::write(p, text).expect("write");
        }
        Project { dir }
    }
    fn load(&self, os: &[(&str, &str)]) -> Result<Plan, Problems> {
        let os: BTreeMap<String, String> = os
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        load(&self.dir.path().join("supervisor.toml"), &os)
    }
}

const PATH: (&str, &str) = ("PATH", "/usr/bin:/bin");

/// Layer names in precedence order (lowest first), as docs/environment.md
/// "Precedence" numbers them.
const LAYERS: [&str; 6] = ["os", "env_files", "[env]", "env_file", "env", "database"];

fn source_layer(s: &Source) -> &'static str {
    match s {
        Source::Os => "os",
        Source::EnvFile { .. } => "env_files",
        Source::GlobalEnv { .. } => "[env]",
        Source::ServiceEnvFile { .. } => "env_file",
        Source::ServiceEnv { .. } => "env",
        Source::Database { .. } => "database",
        Source::User { .. } => "user",
        Source::Replica { .. } => "replica",
    }
}

/// A project where `V` is set in exactly the layers whose bit is set in `mask`.
fn layered(mask: u8) -> (Project, Vec<(&'static str, &'static str)>) {
    let on = |i: u8| mask & (1 << i) != 0;
    let mut toml =
        String::from("[supervisor]\nenv_files = [\"g.env\"]\ninherit = [\"PATH\", \"V\"]\n");
    if on(2) {
        toml.push_str("[env]\nV = \"toml-global\"\n");
    }
    if on(5) {
        toml.push_str("[database]\nurl = \"postgres://u@localhost:5432/db\"\nexport_as = [\"V\"]\nprobe = false\n");
    }
    toml.push_str("[services.s]\ncommand = \"true\"\nenv_file = \"s.env\"\n");
    if on(4) {
        toml.push_str("env = { V = \"toml-service\" }\n");
    }
    let g = if on(1) {
        "V=file-global\n"
    } else {
        "OTHER=1\n"
    };
    let s = if on(3) {
        "V=file-service\n"
    } else {
        "OTHER2=1\n"
    };
    let mut os = vec![PATH];
    if on(0) {
        os.push(("V", "from-os"));
    }
    (
        Project::new(&[("supervisor.toml", &toml), ("g.env", g), ("s.env", s)]),
        os,
    )
}

#[test]
fn every_combination_of_layers_gives_the_highest_and_shadows_the_rest() {
    for mask in 0u8..64 {
        let (p, os) = layered(mask);
        let plan = p
            .load(&os)
            .unwrap_or_else(|e| panic!("mask {mask:06b}: {e}"));
        let var = plan.service("s").expect("s").env.vars.get("V");
        let present: Vec<&str> = (0..6)
            .filter(|i| mask & (1 << i) != 0)
            .map(|i| LAYERS[i])
            .collect();
        let Some(var) = var else {
            assert!(present.is_empty(), "mask {mask:06b}: V missing");
            continue;
        };
        let mut chain: Vec<&str> = std::iter::once(&var.source)
            .chain(var.shadowed.iter().map(|s| &s.source))
            .map(source_layer)
            .collect();
        chain.reverse();
        assert_eq!(chain, present, "mask {mask:06b}");
    }
}

#[test]
fn interpolation_looks_in_the_os_first_then_the_env_files() {
    type Os = &'static [(&'static str, &'static str)];
    let cases: &[(&str, Os, Result<&str, &str>)] = &[
        ("${X}", &[("X", "os")], Ok("os")),
        ("${X}", &[], Ok("file")),
        ("${Y:-dflt}", &[], Ok("dflt")),
        ("${Y}", &[], Err("undefined variable `Y`")),
        (
            "${Y:?needed for the API}",
            &[],
            Err("`Y` is not set: needed for the API"),
        ),
        ("$${X}", &[], Ok("${X}")),
        ("${LATER}", &[], Ok("second")),
    ];
    for (expr, os, want) in cases {
        let toml = format!(
            "[supervisor]\nenv_files = [\"a.env\", \"b.env\"]\n[env]\nOUT = \"{expr}\"\n[services.s]\ncommand = \"/bin/sh\"\n"
        );
        let p = Project::new(&[
            ("supervisor.toml", &toml),
            ("a.env", "X=file\nLATER=first\n"),
            ("b.env", "LATER=second\n"),
        ]);
        let got = p
            .load(os)
            .map(|plan| plan.global_env.get("OUT").unwrap_or_default().to_string());
        match want {
            Ok(v) => assert_eq!(got.as_deref().ok(), Some(*v), "{expr}"),
            Err(needle) => {
                let e = got.expect_err(expr).to_string();
                assert!(
                    e.contains(needle) && e.contains("supervisor.toml:4:7"),
                    "{expr}: {e}"
                );
            }
        }
    }
}

#[test]
fn the_child_map_holds_nothing_from_the_os_that_inherit_does_not_name() {
    let os = [
        PATH,
        ("HOME", "/home/u"),
        ("LC_ALL", "C"),
        ("RUST_LOG", "trace"),
        ("AWS_SECRET_ACCESS_KEY", "leak-me"),
        ("DATABASE_URL", "postgres://os@elsewhere/db"),
        ("ASKED", "asked-for"),
        ("USER", "u"),
    ];
    let toml = "[supervisor]\ninherit = [\"PATH\", \"HOME\", \"LC_*\"]\n[env]\nFROM_OS = \"${ASKED}\"\n[services.s]\ncommand = \"/bin/sh\"\n";
    let p = Project::new(&[("supervisor.toml", toml)]);
    let plan = p.load(&os).expect("loads");
    let allowed_os = ["PATH", "HOME", "LC_ALL"];
    for env in [&plan.global_env, &plan.service("s").expect("s").env] {
        let names: Vec<&str> = env.vars.keys().map(String::as_str).collect();
        assert_eq!(names, ["FROM_OS", "HOME", "LC_ALL", "PATH"]);
        for (name, var) in &env.vars {
            assert_eq!(
                var.source == Source::Os,
                allowed_os.contains(&name.as_str()),
                "{name}"
            );
        }
        for leaked in ["trace", "leak-me", "postgres://os@elsewhere/db", "u"] {
            assert!(
                env.vars.values().all(|v| v.value != leaked),
                "{leaked} leaked"
            );
        }
    }
}

#[test]
fn an_os_value_shadowed_by_a_file_is_recorded_and_warned_about() {
    let toml = "[supervisor]\nenv_files = [\".env\"]\n[services.s]\ncommand = \"/bin/sh\"\n";
    let p = Project::new(&[
        ("supervisor.toml", toml),
        (".env", "# db\nDATABASE_URL=postgres://file/db\n"),
    ]);
    let plan = p
        .load(&[PATH, ("DATABASE_URL", "postgres://ci/db")])
        .expect("loads");
    let var = plan
        .service("s")
        .expect("s")
        .env
        .vars
        .get("DATABASE_URL")
        .expect("set")
        .clone();
    assert_eq!(var.value, "postgres://file/db");
    let shadowed: Vec<(&Source, &str)> = var
        .shadowed
        .iter()
        .map(|s| (&s.source, s.value.as_str()))
        .collect();
    assert_eq!(shadowed, vec![(&Source::Os, "postgres://ci/db")]);
    let w: Vec<String> = plan.warnings.iter().map(ToString::to_string).collect();
    assert!(
        w.iter()
            .any(|w| w.contains(".env:2")
                && w.contains("`DATABASE_URL` is set in the OS environment")),
        "{w:?}"
    );
}

#[test]
fn secrecy_is_decided_per_value_and_follows_interpolation() {
    let toml = "[env]\nAPI_TOKEN = \"t0k3n-value\"\nPORT = 1\nMONKEY = \"banana\"\nDB_PASSPHRASE = \"open sesame\"\n\
        REDIS_URL = \"redis://:${REDIS_PASSWORD}@cache:6379/0\"\nPLAIN = \"${OS_TOKEN}\"\n\
        NOPASS_URL = \"postgres://u@h/db\"\n\
        [database]\nurl = \"postgres://u:pw-${REDIS_PASSWORD}@localhost/db\"\nexport_as = [\"PG_URL\"]\nprobe = false\n\
        [services.s]\ncommand = \"/bin/sh\"\n";
    let plan = Project::new(&[("supervisor.toml", toml)])
        .load(&[
            PATH,
            ("REDIS_PASSWORD", "r3d1s-pw"),
            ("OS_TOKEN", "os-t0k3n"),
        ])
        .expect("loads");
    let env = &plan.service("s").expect("s").env;
    let shown: Vec<(&str, String)> = env
        .vars
        .iter()
        .filter(|(k, _)| *k != "PATH")
        .map(|(k, v)| (k.as_str(), v.display_value(false)))
        .collect();
    let want = [
        ("API_TOKEN", "****"),
        ("DB_PASSPHRASE", "****"),
        ("MONKEY", "banana"),
        ("NOPASS_URL", "postgres://u@h/db"),
        ("PG_URL", "postgres://u:****@localhost/db"),
        ("PLAIN", "****"),
        ("PORT", "1"),
        ("REDIS_URL", "redis://:****@cache:6379/0"),
    ];
    let want: Vec<(&str, String)> = want.iter().map(|(k, v)| (*k, v.to_string())).collect();
    assert_eq!(shown, want);
    let dbg = format!("{plan:?}");
    for secret in ["t0k3n-value", "r3d1s-pw", "os-t0k3n", "open sesame"] {
        assert!(!dbg.contains(secret), "{secret} in Debug");
        assert!(
            plan.redactor().contains_secret(secret),
            "{secret} not redacted"
        );
    }
}

#[test]
fn dependency_conditions_default_by_kind_and_order_is_topological() {
    let toml = "[services.web]\ncommand = \"/bin/sh\"\ndepends_on = [\"api\"]\n[services.api]\ncommand = \"/bin/sh\"\ndepends_on = [\"migrate\"]\n[services.migrate]\ncommand = \"/bin/sh\"\noneshot = true\n";
    let plan = Project::new(&[("supervisor.toml", toml)])
        .load(&[PATH])
        .expect("loads");
    let order: Vec<&str> = plan.services.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(order, ["migrate", "api", "web"]);
    let cond = |s: &str| plan.service(s).expect(s).depends_on[0].condition;
    assert_eq!(
        (cond("api"), cond("web")),
        (Condition::Completed, Condition::Ready)
    );
    let s = plan.service("api").expect("api");
    assert_eq!(
        (s.program.clone(), s.cwd.clone()),
        (PathBuf::from("/bin/sh"), plan.base_dir.clone())
    );
}

#[test]
fn truncated_and_mutated_configs_never_panic() {
    let example = include_str!("../../tests/corpus/config/example.toml");
    let p = Project::new(&[
        ("supervisor.toml", example),
        (".env", "DATABASE_URL=postgres://u@localhost/db\n"),
        ("services/auth-service/.env", "A=1\n"),
    ]);
    std::fs::create_dir_all(p.dir.path().join("services/auth-service")).expect("mkdir");
    let os = [PATH];
    // The example itself fails at most on `node` not being installed.
    if let Err(e) = p.load(&os) {
        assert!(
            e.0.iter().all(|p| p.message.contains("`node` not found")),
            "{e}"
        );
    }
    let path = p.dir.path().join("supervisor.toml");
    let bytes = example.as_bytes();
    let mut seed: u64 = 42;
    let mut next = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    let mut variants: Vec<Vec<u8>> = (0..bytes.len())
        .step_by(5)
        .map(|n| bytes[..n].to_vec())
        .collect();
    for _ in 0..300 {
        let mut v = bytes.to_vec();
        for _ in 0..1 + next() % 4 {
            let i = (next() % v.len() as u64) as usize;
            let noise = b"=[]{}\"'$#,.\n 0aZ-";
            v[i] = noise[(next() % noise.len() as u64) as usize];
        }
        variants.push(v);
    }
    let dir = p.dir.path().to_string_lossy();
    for v in variants {
        std::fs::write(&path, &v).expect("write");
        // Never a panic, and a refusal always says where (a file of the
        // project, or a key) and what.
        if let Err(e) = p.load(&os) {
            assert!(!e.0.is_empty(), "an error without a problem");
            for problem in &e.0 {
                let place = &problem.location;
                assert!(
                    place.starts_with(&*dir) || place.starts_with("services."),
                    "{problem:?}"
                );
                assert!(!problem.message.is_empty(), "{problem:?}");
            }
        }
    }
}

#[test]
fn values_holding_the_database_password_are_secret_in_any_encoding() {
    let toml = "[env]\nPLAIN = \"use p@ss-w0rd here\"\nENCODED = \"x p%40ss-w0rd\"\nPORT = 1\n[database]\nurl = \"postgres://u:p%40ss-w0rd@localhost/db\"\nexport_as = [\"PG_URL\"]\nprobe = false\n[services.s]\ncommand = \"/bin/sh\"\n";
    let plan = Project::new(&[("supervisor.toml", toml)])
        .load(&[PATH])
        .expect("loads");
    let secret: Vec<(&str, bool)> = plan
        .global_env
        .vars
        .iter()
        .map(|(k, v)| (k.as_str(), v.is_secret()))
        .collect();
    assert_eq!(
        secret,
        [
            ("ENCODED", true),
            ("PATH", false),
            ("PG_URL", true),
            ("PLAIN", true),
            ("PORT", false)
        ]
    );
}

#[test]
fn watch_paths_are_relative_to_the_service_cwd_and_checked() {
    let toml = r#"
[services.api]
command = ["true"]
cwd = "api"
watch = ["src", "package.json", "${GEN}", "later"]
watch_ignore = ["*.log"]

[services.web]
command = ["true"]
watch_ignore = ["*.tmp"]
"#;
    let p = Project::new(&[
        ("supervisor.toml", toml),
        ("api/src/a.js", ""),
        ("api/package.json", "{}"),
        ("api/gen/x", ""),
    ]);
    let plan = p.load(&[PATH, ("GEN", "gen")]).expect("plan");
    let base = p.dir.path();
    let api = plan
        .service("api")
        .and_then(|s| s.watch.as_ref())
        .expect("api watches");
    let want: Vec<PathBuf> = ["src", "package.json", "gen", "later"]
        .iter()
        .map(|r| base.join("api").join(r))
        .collect();
    assert_eq!(api.paths, want);
    assert_eq!(api.ignore[0], ".git");
    assert_eq!(api.ignore.last().map(String::as_str), Some("*.log"));
    assert!(plan.service("web").is_some_and(|s| s.watch.is_none()));
    let warnings: Vec<String> = plan.warnings.iter().map(|w| w.message.clone()).collect();
    assert!(
        warnings
            .iter()
            .any(|w| w.starts_with("services.api.watch: ")
                && w.contains("later does not exist (yet)")),
        "{warnings:?}"
    );
    assert!(
        warnings
            .iter()
            .any(|w| w == "services.web.watch_ignore: has no effect without `watch`"),
        "{warnings:?}"
    );
    // supervisor.toml, and `.env` (not there: looked for, read by a reload once it is).
    assert_eq!(
        plan.inputs,
        vec![base.join("supervisor.toml"), base.join(".env")]
    );

    let bad = toml.replace("\"later\"]", "\"\"]");
    let p = Project::new(&[("supervisor.toml", &bad), ("api/src/a.js", "")]);
    let err = p.load(&[PATH, ("GEN", "gen")]).expect_err("empty path");
    assert!(
        err.to_string()
            .contains("services.api.watch: an empty path"),
        "{err}"
    );
}

#[test]
fn replicas_expand_into_copies_with_their_own_values_and_a_group_dependency() {
    let toml = "[services.w]\ncommand = [\"/bin/sh\", \"-c\", \"x ${REPLICA}\"]\nreplicas = 3\nreplica_port_base = 4000\nenv = { PORT = \"${REPLICA_PORT}\" }\nready = { tcp = \"127.0.0.1:${REPLICA_PORT}\" }\nlog_file = { path = \"logs/w.log\" }\n[services.api]\ncommand = \"/bin/sh\"\ndepends_on = [\"w\"]\n";
    let plan = Project::new(&[("supervisor.toml", toml)])
        .load(&[PATH])
        .expect("loads");
    let order: Vec<&str> = plan.services.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(order, ["w.1", "w.2", "w.3", "api"]);
    let w2 = plan.service("w.2").expect("w.2");
    assert_eq!(w2.argv[2], "x 2");
    assert_eq!(w2.env.get("PORT"), Some("4001"));
    assert_eq!(w2.env.get("REPLICA"), Some("2"));
    let ready = w2.ready.as_ref().map(|r| r.kind.clone());
    assert_eq!(ready, Some(ReadyKind::Tcp("127.0.0.1:4001".into())));
    let log = w2.log_file.as_ref().map(|l| l.path.clone()).expect("log");
    assert!(log.ends_with("logs/w.2.log"), "{log:?}");
    let deps: Vec<&str> = plan
        .service("api")
        .expect("api")
        .depends_on
        .iter()
        .map(|d| d.name.as_str())
        .collect();
    assert_eq!(deps, ["w.1", "w.2", "w.3"]);
    assert_eq!(plan.resolve("w"), ["w.1", "w.2", "w.3"]);
    assert_eq!(plan.resolve("w.3"), ["w.3"]);
    assert!(plan.resolve("nope").is_empty());
    assert!(plan
        .service("api")
        .expect("api")
        .env
        .get("REPLICA")
        .is_none());
}

#[test]
fn a_problem_of_a_replicated_service_is_reported_once() {
    let toml = "[services.w]\ncommand = \"/bin/sh\"\nreplicas = 4\nrestart = \"sometimes\"\n";
    let err = Project::new(&[("supervisor.toml", toml)])
        .load(&[PATH])
        .expect_err("invalid");
    assert_eq!(err.len(), 1, "{err:?}");
}
