//! A multi-service Plan for export tests, built directly (no config file), so
//! the renderers are tested as the pure functions they are.

use std::path::PathBuf;
use std::time::Duration;

use nix::sys::signal::Signal;

use crate::db::{self, DatabasePlan, DbSettings};
use crate::env::{Env, EnvVar, Source};
use crate::plan::*;
use crate::secret::Spans;

/// The canary password used by the export secret sweep.
pub(crate) const PASSWORD: &str = "s3cr3t p@ss/w#rd";
/// Its percent-encoded form, as in the URL.
pub(crate) const PASSWORD_ENCODED: &str = "s3cr3t%20p%40ss%2Fw%23rd";
const URL: &str =
    "postgresql://app:s3cr3t%20p%40ss%2Fw%23rd@db.example.com:5432/app?sslmode=verify-full";

/// A literal URL with a password in a command.
pub(crate) const LITERAL_URL: &str = "redis://:l1teral-pw@cache:6379/0";

/// The span of `secret` inside `value`, brought in by `from`.
fn spans_from(value: &str, secret: &str, from: Option<&str>) -> Spans {
    let at = value.find(secret).expect("secret inside");
    let mut s = Spans::default();
    s.push(at..at + secret.len(), from.map(str::to_string));
    s
}

fn var(value: &str, secret: bool, source: Source) -> EnvVar {
    EnvVar {
        value: value.into(),
        secret: if secret {
            crate::secret::Spans::whole(value.len())
        } else {
            crate::secret::classify("", value, &Default::default())
        },
        source,
        shadowed: vec![],
    }
}

fn env(pairs: &[(&str, &str)], db: bool) -> Env {
    let mut e = Env::default();
    e.vars
        .insert("PATH".into(), var("/usr/bin:/bin", false, Source::Os));
    e.vars.insert(
        "NODE_ENV".into(),
        var("production", false, Source::GlobalEnv { line: 3 }),
    );
    for (k, v) in pairs {
        let secret = crate::secret::looks_secret(k);
        let source = Source::ServiceEnv {
            service: "x".into(),
            line: 9,
        };
        e.vars.insert((*k).into(), var(v, secret, source));
    }
    if db {
        e.vars.insert(
            "DATABASE_URL".into(),
            var(URL, false, Source::Database { via: vec![] }),
        );
    }
    e
}

fn service(name: &str, argv: &[&str]) -> ServicePlan {
    ServicePlan {
        name: name.into(),
        argv: argv.iter().map(|s| s.to_string()).collect(),
        argv_secret: Vec::new(),
        program: PathBuf::from("/usr/bin").join(argv[0]),
        cwd: PathBuf::from("/srv/app").join(name),
        env: Env::default(),
        depends_on: vec![],
        uses_database: false,
        restart: RestartPolicy::OnFailure,
        backoff: Backoff::default(),
        max_restarts: 10,
        restart_window: Duration::from_secs(300),
        ready: None,
        stop_signal: Signal::SIGTERM,
        stop_timeout: Duration::from_secs(10),
        oneshot: false,
        max_memory: None,
        critical: false,
        log_file: None,
        exec: Default::default(),
        replica: None,
        watch: None,
    }
}

/// migrate (oneshot, db) → auth-service (db, http ready) → api-gateway (tcp ready),
/// plus worker (restart always, SIGINT, log readiness, a quoted argument).
pub(crate) fn plan() -> Plan {
    // Arguments built from secrets: `--url=${DATABASE_URL}` (its password
    // part came from DATABASE_URL) and a literal URL with a password.
    let mut migrate = service(
        "migrate",
        &["node", "migrate.js", &format!("--url={URL}"), LITERAL_URL],
    );
    migrate.argv_secret = vec![
        Spans::default(),
        Spans::default(),
        spans_from(
            &format!("--url={URL}"),
            PASSWORD_ENCODED,
            Some("DATABASE_URL"),
        ),
        spans_from(LITERAL_URL, "l1teral-pw", None),
    ];
    migrate.oneshot = true;
    migrate.uses_database = true;
    migrate.env = env(&[], true);

    let mut auth = service(
        "auth-service",
        &["node", "dist/index.js", "--jwt", "jwt-signing-key-123"],
    );
    auth.argv_secret = vec![
        Spans::default(),
        Spans::default(),
        Spans::default(),
        spans_from(
            "jwt-signing-key-123",
            "jwt-signing-key-123",
            Some("JWT_SECRET"),
        ),
    ];
    auth.uses_database = true;
    auth.env = env(
        &[("PORT", "3001"), ("JWT_SECRET", "jwt-signing-key-123")],
        true,
    );
    auth.depends_on = vec![Dependency {
        name: "migrate".into(),
        condition: Condition::Completed,
    }];
    auth.ready = Some(ReadyCheck {
        kind: ReadyKind::Http("http://127.0.0.1:3001/health".into()),
        interval: Duration::from_millis(250),
        timeout: Duration::from_secs(30),
    });

    let mut api = service("api-gateway", &["node", "server.js", "--name", "api gw"]);
    api.env = env(
        &[("PORT", "3000"), ("GREETING", "say \"hi\" $HOME 100%")],
        false,
    );
    api.depends_on = vec![Dependency {
        name: "auth-service".into(),
        condition: Condition::Ready,
    }];
    api.ready = Some(ReadyCheck {
        kind: ReadyKind::Tcp("127.0.0.1:3000".into()),
        interval: Duration::from_secs(1),
        timeout: Duration::from_secs(20),
    });
    api.restart = RestartPolicy::Always;
    api.stop_timeout = Duration::from_secs(25);

    let mut worker = service("worker", &["sh", "-c", "exec node worker.js"]);
    worker.env = env(&[("QUEUE", "jobs")], false);
    worker.restart = RestartPolicy::Always;
    worker.stop_signal = Signal::SIGINT;
    worker.backoff.initial = Duration::ZERO;
    worker.ready = Some(ReadyCheck {
        kind: ReadyKind::Log("worker started".into()),
        interval: Duration::from_millis(250),
        timeout: Duration::from_secs(30),
    });
    worker.depends_on = vec![Dependency {
        name: "api-gateway".into(),
        condition: Condition::Started,
    }];

    let settings = DbSettings::default();
    let url = db::validate(URL, &settings)
        .url
        .expect("the test URL is valid");
    Plan {
        config_path: PathBuf::from("/srv/app/supervisor.toml"),
        base_dir: PathBuf::from("/srv/app"),
        settings: Settings {
            log_format: LogFormat::Pretty,
            stop_timeout: Duration::from_secs(10),
            control_socket: None,
            contain: crate::plan::Contain::None,
        },
        database: Some(DatabasePlan {
            url,
            export_as: vec!["DATABASE_URL".into()],
            settings,
        }),
        services: vec![migrate, auth, api, worker],
        global_env: Env::default(),
        warnings: vec![],
        inputs: vec![],
    }
}
