//! The Plan diff on real files: edit, load again, compare. Snapshots show
//! exactly what `reload` prints.

use std::collections::BTreeMap;

use super::diff::{diff, Kind, PlanDiff};
use super::diff_render::human;
use super::{load, Plan, ServicePlan};

const TOML: &str = r#"[supervisor]
env_files = [".env"]
inherit = ["PATH"]

[database]
url = "${DATABASE_URL}"
probe = false

[services.api]
command = ["sleep", "60"]
env = { PORT = "3001" }

[services.web]
command = ["sleep", "60"]
uses_database = false
depends_on = ["api"]

[services.old]
command = ["sleep", "60"]
uses_database = false
"#;

const ENV: &str = "LOG_LEVEL=info\nAPI_TOKEN=tok-old-123456\nDATABASE_URL=postgresql://uaol:pw-old-secret@localhost:5432/uaol\n";

fn plan(dir: &std::path::Path, toml: &str, env: &str) -> Plan {
    std::fs::write(dir.join("supervisor.toml"), toml).expect("write toml");
    std::fs::write(dir.join(".env"), env).expect("write env");
    let os: BTreeMap<String, String> = [("PATH".to_owned(), "/usr/bin:/bin".to_owned())].into();
    load(&dir.join("supervisor.toml"), &os).expect("plan")
}

fn all(p: &Plan) -> Vec<&ServicePlan> {
    p.services.iter().collect()
}

fn edited() -> (PlanDiff, String) {
    let dir = tempfile::tempdir().expect("tempdir");
    let old = plan(dir.path(), TOML, ENV);
    let toml =
        TOML.replace(
            "[services.old]\ncommand = [\"sleep\", \"60\"]\nuses_database = false\n",
            "",
        )
        .replace(
            "[services.web]\ncommand = [\"sleep\", \"60\"]",
            "[services.web]\ncommand = [\"sleep\", \"61\"]",
        ) + "\n[services.worker]\ncommand = [\"sleep\", \"60\"]\nuses_database = false\n";
    let env = "# moved down a line\nLOG_LEVEL=debug\nAPI_TOKEN=tok-new-654321\nDATABASE_URL=postgresql://uaol:pw-new-secret@db.internal:26257/uaol\nFEATURE=on\n";
    let new = plan(dir.path(), &toml, env);
    let d = diff(&old, &all(&old), &new, &all(&new));
    let shown_dir = dir.path().display().to_string();
    (d, shown_dir)
}

fn scrub(text: &str, dir: &str) -> String {
    text.replace(dir, "[dir]")
}

#[test]
fn an_edit_is_explained_per_service_and_per_variable() {
    let (d, dir) = edited();
    let text = scrub(&human(&d), &dir);
    insta::assert_snapshot!("human", text);
    for secret in [
        "pw-old-secret",
        "pw-new-secret",
        "tok-old-123456",
        "tok-new-654321",
    ] {
        assert!(!text.contains(secret), "{secret} leaked:\n{text}");
    }
    assert!(
        text.contains("localhost:5432") && text.contains("db.internal:26257"),
        "{text}"
    );
}

#[test]
fn the_json_form_carries_the_same_facts() {
    let (d, dir) = edited();
    let json = serde_json::to_string_pretty(&d).expect("json");
    let json = scrub(&json, &dir);
    insta::assert_snapshot!("json", json);
    assert!(!json.contains("pw-new-secret") && !json.contains("tok-new-654321"));
}

#[test]
fn kinds_are_added_removed_changed_unchanged() {
    let (d, _) = edited();
    assert_eq!(d.named(Kind::Added), ["worker"]);
    assert_eq!(d.named(Kind::Removed), ["old"]);
    assert_eq!(d.named(Kind::Changed), ["api", "web"]);
}

#[test]
fn a_value_that_only_moved_is_not_a_change() {
    let dir = tempfile::tempdir().expect("tempdir");
    let old = plan(dir.path(), TOML, ENV);
    let new = plan(dir.path(), TOML, &format!("\n\n# comment\n{ENV}"));
    let d = diff(&old, &all(&old), &new, &all(&new));
    assert!(d.is_empty(), "{}", human(&d));
    assert_eq!(d.named(Kind::Unchanged), ["api", "web", "old"]);
    assert_eq!(
        human(&d),
        "unchanged  api, web, old (keep running)\nnothing changed\n"
    );
}

#[test]
fn only_the_services_receiving_a_variable_change() {
    let dir = tempfile::tempdir().expect("tempdir");
    let toml = TOML.replace(
        "env = { PORT = \"3001\" }",
        "env = { PORT = \"${PORT_API}\" }",
    );
    let old = plan(dir.path(), &toml, &format!("{ENV}PORT_API=3001\n"));
    let new = plan(dir.path(), &toml, &format!("{ENV}PORT_API=3002\n"));
    let d = diff(&old, &all(&old), &new, &all(&new));
    // PORT_API is in .env, so every service receives it; PORT only api.
    let api = d.services.iter().find(|s| s.name == "api").expect("api");
    let names: Vec<&str> = api.env.iter().map(|v| v.name.as_str()).collect();
    assert_eq!(names, ["PORT", "PORT_API"]);
    let web = d.services.iter().find(|s| s.name == "web").expect("web");
    assert_eq!(web.env.len(), 1);
    assert_eq!(web.env[0].name, "PORT_API");
}

#[test]
fn watch_keys_alone_change_no_service() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::create_dir(dir.path().join("src")).expect("mkdir");
    let old = plan(dir.path(), TOML, ENV);
    let toml = TOML.replace(
        "env = { PORT = \"3001\" }",
        "env = { PORT = \"3001\" }\nwatch = [\"src\"]\nwatch_ignore = [\"*.log\"]",
    );
    let new = plan(dir.path(), &toml, ENV);
    let api = new
        .service("api")
        .and_then(|s| s.watch.as_ref())
        .expect("watch");
    assert_eq!(api.paths, vec![dir.path().join("src")]);
    assert_eq!(api.ignore.last().map(String::as_str), Some("*.log"));
    let d = diff(&old, &all(&old), &new, &all(&new));
    assert!(d.is_empty(), "{d:?}");
    assert!(
        new.inputs.contains(&dir.path().join(".env")),
        "{:?}",
        new.inputs
    );
}

#[test]
fn scaling_replicas_adds_or_removes_copies_and_leaves_the_others_unchanged() {
    let dir = tempfile::tempdir().expect("tempdir");
    let three = "[services.w]\ncommand = [\"sleep\", \"60\"]\nreplicas = 3\nreplica_port_base = 4000\nenv = { PORT = \"${REPLICA_PORT}\" }\n";
    let old = plan(dir.path(), three, "");
    let new = plan(
        dir.path(),
        &three.replace("replicas = 3", "replicas = 2"),
        "",
    );
    let d = diff(&old, &all(&old), &new, &all(&new));
    let kinds: Vec<(String, Kind)> = d
        .services
        .iter()
        .map(|s| (s.name.clone(), s.kind))
        .collect();
    assert_eq!(
        kinds,
        [
            ("w.1".to_string(), Kind::Unchanged),
            ("w.2".to_string(), Kind::Unchanged),
            ("w.3".to_string(), Kind::Removed)
        ]
    );
}
