//! `user` / `group` (and `limits`, `umask`, `nice`) from supervisor.toml to
//! the Plan's exec context, against this machine's passwd and group files
//! (root and nobody exist everywhere the tests run).

use std::collections::BTreeMap;
use std::path::Path;

use super::{load_text, Plan, Problems, Resource, RunAs, INFINITY};
use crate::env::Source;

fn load(service_keys: &str) -> Result<Plan, Problems> {
    let toml = format!("[services.s]\ncommand = \"/bin/sh\"\n{service_keys}\n");
    let os: BTreeMap<String, String> = [("HOME", "/home/me"), ("USER", "me"), ("PATH", "/bin")]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    load_text(Path::new("/tmp/x/supervisor.toml"), &toml, &os)
}

fn run_as(keys: &str) -> RunAs {
    let plan = load(keys).unwrap_or_else(|e| panic!("{keys}: {e}"));
    plan.services[0].exec.run_as.clone().expect("run_as")
}

fn problems(keys: &str) -> String {
    load(keys).expect_err(keys).to_string()
}

#[test]
fn a_user_by_name_or_id_brings_its_primary_and_supplementary_groups() {
    for keys in ["user = \"nobody\"", "user = 65534", "user = \"65534\""] {
        let r = run_as(keys);
        assert_eq!(r.uid, Some(65534), "{keys}");
        assert_eq!(r.login.as_deref(), Some("nobody"), "{keys}");
        assert_eq!(r.groups.first(), Some(&r.gid), "{keys}");
        assert!(r.at.ends_with(":3:8"), "{keys}: {}", r.at);
    }
    let warned = load("user = \"nobody\"").expect("plan").warnings;
    assert!(
        warned
            .iter()
            .any(|w| w.message.contains("`nobody` is the overflow user")),
        "{warned:?}"
    );
    let root = run_as("user = \"root\"");
    assert_eq!((root.uid, root.gid), (Some(0), 0));
    assert_eq!(root.home.as_deref(), Some("/root"));
}

#[test]
fn group_overrides_the_primary_group_and_alone_keeps_the_uid() {
    let r = run_as("user = \"nobody\"\ngroup = \"root\"");
    assert_eq!((r.uid, r.gid), (Some(65534), 0));
    assert_eq!(r.groups.first(), Some(&0));
    let g = run_as("group = 0");
    assert_eq!((g.uid, g.gid, g.groups.clone()), (None, 0, vec![0]));
    let env = &load("group = 0").expect("plan").services[0].env;
    assert_eq!(
        env.vars["HOME"].source,
        Source::Os,
        "only `group`: HOME stays"
    );
}

#[test]
fn home_user_logname_follow_the_user_unless_the_config_sets_them() {
    let plan = load("user = \"nobody\"\nenv = { HOME = \"/srv/app\" }").expect("plan");
    let env = &plan.services[0].env;
    let user = Source::User {
        name: "nobody".into(),
        passwd: true,
    };
    assert_eq!(env.get("USER"), Some("nobody"));
    assert_eq!(env.get("LOGNAME"), Some("nobody"));
    assert_eq!(env.vars["USER"].source, user);
    assert_eq!(sources(&env.vars["USER"].shadowed), vec![Source::Os]);
    assert_eq!(env.get("HOME"), Some("/srv/app"));
    assert_eq!(sources(&env.vars["HOME"].shadowed), vec![user, Source::Os]);
    assert_eq!(
        plan.services[0].env.vars["USER"].source.to_string(),
        "user nobody (passwd)"
    );
}

#[test]
fn a_numeric_uid_without_an_entry_needs_a_group() {
    let uid = "user = 4040404"; // no such entry on any test machine
    let p = problems(uid);
    assert!(
        p.contains("services.s.user: uid 4040404 has no passwd entry"),
        "{p}"
    );
    let r = run_as(&format!("{uid}\ngroup = 4040404"));
    assert_eq!(
        (r.uid, r.gid, r.groups.clone()),
        (Some(4040404), 4040404, vec![4040404])
    );
    let env = &load(&format!("{uid}\ngroup = 4040404"))
        .expect("plan")
        .services[0]
        .env;
    assert_eq!(env.get("HOME"), Some("/"));
    assert_eq!(
        env.vars["USER"].source.to_string(),
        "user 4040404 (no passwd entry)"
    );
}

#[test]
fn unknown_and_invalid_users_and_groups_are_all_reported() {
    let p = problems("user = \"no-such-user-x\"\ngroup = \"no-such-group-x\"");
    assert!(
        p.contains(":3:8: services.s.user: unknown user `no-such-user-x`"),
        "{p}"
    );
    assert!(
        p.contains(":4:9: services.s.group: unknown group `no-such-group-x`"),
        "{p}"
    );
    for (keys, needle) in [
        ("user = \"\"", "expected a user or group name"),
        ("user = \"a b\"", "expected a user or group name"),
        ("user = -1", "between 0 and 4294967294"),
        ("group = 4294967295", "between 0 and 4294967294"),
        ("user = true", "services.s.user"),
    ] {
        let p = problems(keys);
        assert!(p.contains(needle), "{keys}: {p}");
    }
}

fn limits(value: &str) -> Result<Vec<(Resource, u64, u64)>, String> {
    load(&format!("limits = {value}"))
        .map(|p| {
            p.services[0]
                .exec
                .limits
                .iter()
                .map(|l| (l.resource, l.soft, l.hard))
                .collect()
        })
        .map_err(|e| e.to_string())
}

#[test]
fn limits_take_systemd_names_and_values() {
    use Resource::*;
    let got = limits(
        r#"{ nofile = 65536, nproc = 4096, core = 0, memlock = "64MiB", stack = "8MiB:infinity", cpu = "1m", rttime = "10ms", as = "infinity", fsize = "1024:2048" }"#,
    );
    assert_eq!(
        got,
        Ok(vec![
            (Cpu, 60, 60),
            (Fsize, 1024, 2048),
            (Stack, 8 << 20, INFINITY),
            (Core, 0, 0),
            (Nofile, 65536, 65536),
            (As, INFINITY, INFINITY),
            (Nproc, 4096, 4096),
            (Memlock, 64 << 20, 64 << 20),
            (Rttime, 10_000, 10_000),
        ])
    );
    let l = &load("limits = { nofile = \"1024:65536\" }")
        .expect("plan")
        .services[0]
        .exec
        .limits[0];
    assert_eq!(l.systemd_value(), "1024:65536");
    assert!(l.at.ends_with(":3:21"), "{}", l.at);
}

#[test]
fn bad_limits_umask_and_nice_are_reported_with_the_fix() {
    for (keys, needle) in [
        (
            "limits = { nofiles = 1 }",
            "services.s.limits.nofiles: unknown limit (did you mean `nofile`?)",
        ),
        ("limits = { nofile = -1 }", "-1 is negative"),
        (
            "limits = { nofile = \"2048:1024\" }",
            "the soft limit 2048 is above the hard limit 1024",
        ),
        (
            "limits = { nofile = \"infinity\" }",
            "nofile cannot be infinity",
        ),
        ("limits = { nproc = \"4k\" }", "`4k` is not a count"),
        ("limits = { memlock = \"64XB\" }", "unknown size unit"),
        (
            "umask = \"0999\"",
            "services.s.umask: `0999` is not a umask",
        ),
        ("umask = \"01777\"", "is not a umask"),
        (
            "umask = 0o027",
            "services.s.umask: write the umask as an octal string, e.g. \"0027\"",
        ),
        ("nice = 20", "services.s.nice: 20 is out of range"),
        ("nice = -21", "-21 is out of range"),
    ] {
        let p = problems(keys);
        assert!(p.contains(needle), "{keys}: {p}");
    }
}

#[test]
fn umask_and_nice_are_typed() {
    let plan = load("umask = \"0027\"\nnice = -5").expect("plan");
    let x = &plan.services[0].exec;
    assert_eq!(x.umask, Some(0o027));
    assert_eq!(x.nice.as_ref().map(|n| n.value), Some(-5));
    assert!(load("umask = \"77\"").is_ok());
}

#[test]
fn a_user_that_cannot_reach_its_program_or_cwd_is_warned_about() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o700)).expect("chmod");
    let private = dir.path().join("app");
    std::fs::create_dir(&private).expect("mkdir");
    let prog = private.join("server");
    std::fs::write(&prog, "#!/bin/sh\n").expect("write");
    std::fs::set_permissions(&prog, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    let toml = format!(
        "[services.s]\ncommand = [\"{}\"]\ncwd = \"{}\"\nuser = \"nobody\"\n",
        prog.display(),
        private.display()
    );
    let plan =
        load_text(&dir.path().join("supervisor.toml"), &toml, &BTreeMap::new()).expect("plan");
    let shown: Vec<String> = plan.warnings.iter().map(ToString::to_string).collect();
    let blocked = format!("{} is not searchable (mode 0700", dir.path().display());
    for want in [
        format!(
            "services.s.user: `nobody` cannot use the working directory {}: {blocked}",
            private.display()
        ),
        format!(
            "services.s.user: `nobody` cannot execute {}: {blocked}",
            prog.display()
        ),
    ] {
        assert!(
            shown.iter().any(|w| w.contains(&want)),
            "{want}\nin {shown:#?}"
        );
    }
    // Readable all the way: no warning.
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).expect("chmod");
    let plan =
        load_text(&dir.path().join("supervisor.toml"), &toml, &BTreeMap::new()).expect("plan");
    assert!(
        !plan.warnings.iter().any(|w| w.message.contains("cannot")),
        "{:?}",
        plan.warnings
    );
}

fn sources(shadowed: &[crate::env::Shadowed]) -> Vec<Source> {
    shadowed.iter().map(|s| s.source.clone()).collect()
}
