use std::path::Path;

use super::*;
use crate::plan::{load_text, INFINITY};

fn plan(keys: &str) -> Plan {
    let toml = format!("[services.s]\ncommand = \"/bin/sh\"\n{keys}\n");
    load_text(
        Path::new("/tmp/x/supervisor.toml"),
        &toml,
        &Default::default(),
    )
    .unwrap_or_else(|e| panic!("{keys}: {e}"))
}

fn user(euid: u32, egid: u32, caps: u64) -> Identity {
    Identity {
        euid,
        egid,
        caps,
        hard: vec![(Resource::Nofile, 4096), (Resource::Core, INFINITY)],
        nr_open: Some(1 << 20),
    }
}

const ROOT_CAPS: u64 = (1 << 41) - 1;

fn found(keys: &str, me: &Identity) -> String {
    let p = problems(&plan(keys), me);
    if p.is_empty() {
        String::new()
    } else {
        p.to_string()
    }
}

#[test]
fn switching_user_needs_root_or_being_that_user_already() {
    let nobody = user(65534, 65534, 0);
    assert_eq!(found("user = \"nobody\"", &nobody), "");
    assert_eq!(found("user = \"nobody\"", &user(0, 0, ROOT_CAPS)), "");
    let p = found("user = \"root\"", &nobody);
    assert!(p.contains("supervisor.toml:3:8: services.s.user: cannot run the service as user `root`: up runs as uid 65534 (not root), without CAP_SETUID"), "{p}");
    let p = found("user = \"nobody\"", &user(0, 0, 0));
    assert!(p.contains("up runs as root but without CAP_SETUID"), "{p}");
}

#[test]
fn switching_group_needs_cap_setgid() {
    let p = found("group = 0", &user(65534, 65534, 0));
    assert!(p.contains("services.s.group: cannot switch to group `0` (gid 0): up runs as uid 65534 (not root), without CAP_SETGID"), "{p}");
    assert_eq!(found("group = 65534", &user(65534, 65534, 0)), "");
    assert_eq!(found("group = 0", &user(65534, 65534, 1 << CAP_SETGID)), "");
}

#[test]
fn cap_eff_is_read_from_proc_status() {
    let status = "Name:\tx\nCapInh:\t0000000000000000\nCapEff:\t000001ffffffffff\n";
    assert_eq!(cap_eff(status), Some(0x1ff_ffff_ffff));
    assert_eq!(cap_eff("Name: x\n"), None);
}

#[test]
fn raising_a_hard_limit_needs_cap_sys_resource() {
    let me = user(1000, 1000, 0);
    let p = found("limits = { nofile = 8192 }", &me);
    assert!(p.contains("supervisor.toml:3:21: services.s.limits.nofile: the hard limit 8192 is above up's own hard limit 4096 and raising it needs CAP_SYS_RESOURCE: up runs as uid 1000 (not root), without it"), "{p}");
    // Soft above the current hard is fine when the new hard is not.
    assert_eq!(
        found(
            "limits = { nofile = \"1024:4096\", core = \"infinity\" }",
            &me
        ),
        ""
    );
    assert_eq!(
        found("limits = { nofile = 8192 }", &user(0, 0, ROOT_CAPS)),
        ""
    );
}

#[test]
fn nofile_above_nr_open_is_refused_even_for_root() {
    let p = found("limits = { nofile = 2000000 }", &user(0, 0, ROOT_CAPS));
    assert!(
        p.contains(
            "services.s.limits.nofile: 2000000 is above the kernel's ceiling fs.nr_open = 1048576"
        ),
        "{p}"
    );
}

#[test]
fn a_negative_nice_needs_cap_sys_nice() {
    let p = found("nice = -5", &user(1000, 1000, 0));
    assert!(p.contains("services.s.nice: a negative nice (-5) raises the priority: up runs as uid 1000 (not root), without CAP_SYS_NICE"), "{p}");
    assert_eq!(found("nice = 5", &user(1000, 1000, 0)), "");
    assert_eq!(found("nice = -5", &user(1000, 1000, 1 << CAP_SYS_NICE)), "");
}
