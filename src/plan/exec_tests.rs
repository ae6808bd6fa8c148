//! `user` / `group` (and `limits`, `umask`, `nice`) from supervisor.toml to
//! the Plan's exec context, against this machine's passwd and group files
//! (root and nobody exist everywhere the tests run).

use std::collections::BTreeMap;
use std::path::Path;

use super::{load_text, Plan, Problems, RunAs, Source};

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
    assert_eq!(env.vars["USER"].shadowed, vec![Source::Os]);
    assert_eq!(env.get("HOME"), Some("/srv/app"));
    assert_eq!(env.vars["HOME"].shadowed, vec![user, Source::Os]);
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
