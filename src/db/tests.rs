//! `validate` end to end: every lint kind, both clients, and the redaction
//! guarantee (no Debug or message ever holds the password or its encodings).

use super::*;
use crate::secret::percent_encode;

fn kinds(raw: &str, s: &DbSettings) -> Vec<&'static str> {
    validate(raw, s)
        .errors
        .iter()
        .map(|e| e.kind.as_str())
        .collect()
}

fn libpq() -> DbSettings {
    DbSettings::default()
}

fn node() -> DbSettings {
    DbSettings {
        client: Client::NodePg,
        ..DbSettings::default()
    }
}

#[test]
fn good_urls_pass() {
    for s in [libpq(), node()] {
        let v = validate(
            "postgresql://uaol:s3cr%40t@db.example.com:5432/uaol?sslmode=verify-full",
            &s,
        );
        assert!(v.errors.is_empty(), "{:?}", v.errors);
        let url = v.url.expect("url");
        assert_eq!(
            url.redacted(),
            "postgresql://uaol:****@db.example.com:5432/uaol?sslmode=verify-full"
        );
        assert_eq!(url.password().map(|p| p.expose()), Some("s3cr@t"));
    }
}

#[test]
fn each_lint_has_its_kind() {
    let l = libpq();
    for (raw, kind) in [
        ("", "empty"),
        ("   ", "whitespace"),
        ("postgresql://user:password@localhost:5432/uaol", "known_fallback"),
        ("postgres://user:password@localhost/uaol", "known_fallback"),
        ("http://db.example.com/x", "bad_scheme"),
        ("jdbc:postgresql://db.example.com/x", "bad_scheme"),
        ("mysql://u:p@h/db", "bad_scheme"),
        ("cockroachdb://u:p@h:26257/db", "bad_scheme"),
        ("postgresql://[user]:pw@db.example.com/db", "placeholder"),
        ("postgresql://u:<password>@db.example.com/db", "placeholder"),
        ("postgresql://u:YOUR_PASSWORD@db.example.com/db", "placeholder"),
        ("postgresql://u:pw@[host]:5432/db", "placeholder"),
        ("postgresql://u:p@ss@db.example.com/db", "unencoded_reserved"),
        ("postgresql://u:p/ss@db.example.com/db", "unencoded_reserved"),
        ("postgresql://u:p#ss@db.example.com/db", "unencoded_reserved"),
        ("postgresql://u:p%zz@db.example.com/db", "unencoded_reserved"),
        ("postgresql://u:pw@h/db?sslmode=verify_full", "bad_sslmode"),
        ("postgresql://u:pw@h:99999/db", "bad_port"),
        ("postgresql://u:pw@h:abc/db", "bad_port"),
        ("postgresql://u:pw@h1,h2,h3/db?port=1,2", "port_count_mismatch"),
        ("postgresql://u:pw@h/db?uzer=x", "unknown_parameter"),
        ("postgresql://u:pw@h/db?uselibpqcompat=true", "unknown_parameter"),
        ("postgresql://u:pw@h/db?connect_timeout=ten", "bad_parameter_value"),
        ("postgresql://u:pw@x-1.aws-eu-west-1.cockroachlabs.cloud/defaultdb?sslmode=verify-full", "cockroach_port_missing"),
        ("postgresql://u:pw@x-1.aws-eu-west-1.cockroachlabs.cloud:26257/defaultdb?sslmode=disable", "cockroach_tls_missing"),
        ("postgresql://u:pw@h/db?sslrootcert=/nonexistent/ca.pem", "sslrootcert_missing"),
        ("postgresql://u:pw@h/db?sslrootcert=~/ca.pem", "sslrootcert_unexpanded"),
        ("postgresql://u:pw@[::1/db", "bad_ipv6"),
        ("postgresql://u:pw@h/db?sslrootcert=system&sslmode=require", "bad_parameter_value"),
    ] {
        assert!(kinds(raw, &l).contains(&kind), "{raw:?}: want {kind}, got {:?}", kinds(raw, &l));
    }
}

#[test]
fn one_error_per_problem() {
    let l = libpq();
    let k = kinds(
        "postgresql://[user]:[password]@[host]:26257/defaultdb?sslmode=verify-full",
        &l,
    );
    assert_eq!(k, vec!["placeholder"; 3], "user, password, host");
    let k = kinds(
        "postgresql://u:pw@h:26257/d?sslmode=verify-full&sslrootcert=$HOME/ca.crt",
        &l,
    );
    assert_eq!(k, vec!["sslrootcert_unexpanded"]);
}

#[test]
fn settings_driven_lints() {
    let no_local = DbSettings {
        allow_localhost: false,
        ..libpq()
    };
    for raw in [
        "postgresql://u:pw@localhost/db",
        "postgresql://u:pw@127.0.0.2/db",
        "postgresql://u:pw@[::1]/db",
        "postgresql:///db",
    ] {
        assert!(
            kinds(raw, &no_local).contains(&"localhost_not_allowed"),
            "{raw}"
        );
    }
    let tls = DbSettings {
        require_tls: true,
        ..libpq()
    };
    for raw in [
        "postgresql://u:pw@h/db",
        "postgresql://u:pw@h/db?sslmode=prefer",
        "postgresql://u:pw@h/db?sslmode=disable",
    ] {
        assert!(kinds(raw, &tls).contains(&"tls_not_required"), "{raw}");
    }
    assert!(kinds("postgresql://u:pw@h/db?sslmode=require", &tls).is_empty());
    let tls_node = DbSettings {
        require_tls: true,
        ..node()
    };
    assert!(kinds("postgresql://u:pw@h/db?sslmode=require", &tls_node).is_empty());
    // node-postgres: no sslmode = plaintext against a CockroachDB Cloud host.
    assert!(kinds(
        "postgresql://u:pw@x-1.cockroachlabs.cloud:26257/db",
        &node()
    )
    .contains(&"cockroach_tls_missing"));
    assert!(!kinds(
        "postgresql://u:pw@x-1.cockroachlabs.cloud:26257/db",
        &libpq()
    )
    .contains(&"cockroach_tls_missing"));
}

#[test]
fn node_pg_disagreements() {
    let n = node();
    assert!(kinds(
        "postgresql://u:pw@h1:5432,h2:5432/db?sslmode=verify-full",
        &n
    )
    .contains(&"node_pg_multi_host"));
    let v = validate("postgresql://u:pw@[::1]:5432/db?sslmode=disable", &n);
    assert!(
        v.errors.is_empty() && v.warnings.iter().any(|w| w.contains("2.14.1")),
        "{v:?}"
    );
    assert!(kinds("postgresql://u:pw@/db", &n).contains(&"ambiguous"));
    assert!(kinds(
        "postgresql://u:pw@h/db?sslrootcert=system&sslmode=verify-full",
        &n
    )
    .contains(&"sslrootcert_system"));
    assert!(kinds(
        "postgresql://u:pw@h/db?uselibpqcompat=true&sslmode=verify-ca",
        &n
    )
    .contains(&"node_pg_verify_ca_without_root"));
    let v = validate("postgresql://u:pw@h/db?sslmode=require", &n);
    assert!(
        v.warnings.iter().any(|w| w.contains("verify-full")),
        "{:?}",
        v.warnings
    );
    let plan = v.url.expect("url").connect_plan().clone();
    assert_eq!(plan.tls, view::Tls::Require(view::Verify::Full));
    let v = validate("postgresql://u:pw@h/db?sslmode=require", &libpq());
    assert_eq!(
        v.url.expect("url").connect_plan().tls,
        view::Tls::Require(view::Verify::None)
    );
    let v = validate("postgresql://u:pw@h/db", &n);
    assert_eq!(v.url.expect("url").connect_plan().tls, view::Tls::Disable);
}

#[test]
fn serverless_warning() {
    let v = validate("postgresql://u:pw@free-tier.gcp-us-central1.cockroachlabs.cloud:26257/defaultdb?sslmode=verify-full", &libpq());
    assert!(
        v.warnings.iter().any(|w| w.contains("routing identifier")),
        "{:?}",
        v.warnings
    );
    let v = validate("postgresql://u:pw@lazy-roach-123.5xj.gcp-us-central1.cockroachlabs.cloud:26257/defaultdb?sslmode=verify-full", &libpq());
    assert!(
        !v.warnings.iter().any(|w| w.contains("routing identifier")),
        "{:?}",
        v.warnings
    );
}

#[test]
fn password_never_printed() {
    let password = "p@ss w/rd#1%zz?:";
    let enc = percent_encode(password, false);
    let raws = [
        format!("postgresql://app:{enc}@db.example.com:5432/app?sslmode=verify-full"),
        format!("postgresql://app:{password}@db.example.com:5432/app"),
        format!("postgresql://app@db.example.com/app?password={enc}&sslpassword={enc}&bogus={enc}"),
        format!("postgresql://app:{enc}@h1,h2:x/app?sslmode=verify_full"),
    ];
    for s in [
        libpq(),
        node(),
        DbSettings {
            allow_localhost: false,
            require_tls: true,
            ..node()
        },
    ] {
        for raw in &raws {
            let v = validate(raw, &s);
            let mut text = format!("{v:?}");
            if let Some(u) = &v.url {
                text.push_str(u.redacted());
                text.push_str(&format!("{:?}{:?}", u.connect_plan(), u.redactor()));
                let plan = DatabasePlan {
                    url: u.clone(),
                    export_as: vec!["DATABASE_URL".into()],
                    settings: s.clone(),
                };
                text.push_str(&format!("{plan:?}{:?}", u.password()));
            }
            for form in [
                password,
                enc.as_str(),
                &percent_encode(password, true),
                "w/rd",
                "rd#1",
            ] {
                assert!(!text.contains(form), "{raw} leaked {form:?} in {text}");
            }
        }
    }
}

#[test]
fn pg_env_disagreement() {
    use crate::env::{Env, EnvVar, Source};
    let url = validate("postgresql://app:pw@db.example.com:5432/app", &libpq())
        .url
        .expect("url");
    let mut env = Env::default();
    for (k, v) in [
        ("PGHOST", "localhost"),
        ("PGPASSWORD", "other-secret"),
        ("PGUSER", "app"),
    ] {
        env.vars.insert(
            k.into(),
            EnvVar {
                value: v.into(),
                secret: Default::default(),
                source: Source::Os,
                shadowed: vec![],
            },
        );
    }
    let w = lint_pg_env(&url, &env);
    assert_eq!(w.len(), 2, "{w:?}");
    assert!(w
        .iter()
        .all(|m| !m.contains("other-secret") && !m.contains("localhost")));
}

/// Every message users read, in one reviewable place (insta snapshot).
#[test]
fn lint_messages() {
    let cases: &[(&str, &DbSettings)] = &[
        ("", &libpq()),
        ("postgresql://user:password@localhost:5432/uaol", &libpq()),
        ("cockroachdb://u:pw@h:26257/db", &libpq()),
        ("postgresql://u:p@ss/w#rd@db.example.com/db", &libpq()),
        (
            "postgresql://u:pw@h/db?uzer=x&sslmode=verify_full",
            &libpq(),
        ),
        (
            "postgresql://u:pw@h1:5432,h2:5432/db?sslmode=verify-full",
            &node(),
        ),
        ("postgresql://u:pw@/db?sslmode=verify-full", &node()),
        (
            "postgresql://u:pw@x-1.cockroachlabs.cloud/defaultdb",
            &node(),
        ),
        (
            "postgresql://u:pw@localhost/db",
            &DbSettings {
                allow_localhost: false,
                require_tls: true,
                ..libpq()
            },
        ),
    ];
    let mut out = String::new();
    for (raw, s) in cases {
        let v = validate(raw, s);
        out.push_str(&format!("{raw:?} ({:?})\n", s.client));
        for e in &v.errors {
            out.push_str(&format!("  error {}: {}\n", e.kind, e.message));
        }
        for w in &v.warnings {
            out.push_str(&format!("  warning: {w}\n"));
        }
    }
    insta::assert_snapshot!(out);
}

#[test]
fn libpq_tls_plans() {
    let plan = |raw: &str| {
        validate(raw, &libpq())
            .url
            .expect("url")
            .connect_plan()
            .clone()
    };
    use view::{Tls, Trust, Verify};
    assert_eq!(
        plan("postgresql://u:pw@h/db").tls,
        Tls::Prefer(Verify::None)
    );
    assert_eq!(
        plan("postgresql://u:pw@h/db?sslrootcert=system").tls,
        Tls::Require(Verify::Full)
    );
    assert_eq!(
        plan("postgresql://u:pw@h/db?sslrootcert=system").trust,
        Trust::System
    );
    assert_eq!(
        plan("postgresql://u:pw@h/db?sslmode=verify-ca").tls,
        Tls::Require(Verify::Ca)
    );
    assert_eq!(plan("postgresql://u:pw@h/db?sslmode=allow").tls, Tls::Allow);
    let p = plan("postgresql://u:pw@h1:1,h2/db?hostaddr=10.0.0.1,10.0.0.2&connect_timeout=1");
    assert_eq!(p.endpoints.len(), 2);
    assert_eq!(
        (p.endpoints[1].port, p.endpoints[1].hostaddr.as_deref()),
        (5432, Some("10.0.0.2"))
    );
    assert_eq!(
        p.connect_timeout,
        Some(std::time::Duration::from_secs(2)),
        "libpq treats < 2 s as 2 s"
    );
}

#[test]
fn client_key_permissions() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().expect("tmp");
    let key = dir.path().join("client.key");
    std::fs::write(&key, "not checked here").expect("write");
    std::fs::write(dir.path().join("client.crt"), "x").expect("write");
    let s = DbSettings {
        base_dir: dir.path().to_path_buf(),
        ..libpq()
    };
    let raw = "postgresql://u@h/db?sslmode=verify-full&sslcert=client.crt&sslkey=client.key";
    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o644)).expect("chmod");
    assert!(kinds(raw, &s).contains(&"sslkey_permissions"));
    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o600)).expect("chmod");
    assert!(!kinds(raw, &s).contains(&"sslkey_permissions"));
    let plan = validate(raw, &s).url.expect("url").connect_plan().clone();
    assert_eq!(plan.client_cert, Some((dir.path().join("client.crt"), key)));
}

#[test]
fn target_session_attrs_per_client() {
    let raw =
        "postgresql://u:pw@db.example.com/db?sslmode=verify-full&target_session_attrs=read-write";
    let v = validate(raw, &libpq());
    assert!(v.errors.is_empty(), "{:?}", v.errors);
    assert!(!v
        .warnings
        .iter()
        .any(|w| w.contains("target_session_attrs")));
    let plan = v.url.expect("url").connect_plan().clone();
    assert_eq!(plan.target, view::Target::ReadWrite);
    let v = validate(raw, &node());
    assert!(
        v.warnings
            .iter()
            .any(|w| w.contains("node-postgres ignores target_session_attrs=read-write")),
        "{:?}",
        v.warnings
    );
    assert_eq!(v.url.expect("url").connect_plan().target, view::Target::Any);
    let any = raw.replace("read-write", "any");
    assert!(!validate(&any, &node())
        .warnings
        .iter()
        .any(|w| w.contains("target_session_attrs")));
}
