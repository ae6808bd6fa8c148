//! `probe [--url URL | --url-env NAME] [--client C] [--wait DUR] [--json]`: validate the database URL and run
//! the full handshake probe once (retrying transient failures up to `wait`),
//! like `pg_isready` but logged in and queried. Exit codes: docs/database.md "Failures".

use std::process::ExitCode;
use std::time::Duration;

use serde_json::json;

use super::common;
use crate::cli::{Cli, ProbeArgs, ProbeClient};
use crate::config::units::parse_duration;
use crate::db::{self, probe, DbSettings, DbUrl};
use crate::exit;
use crate::secret::Secret;

/// Run `probe`.
pub(crate) fn run(cli: &Cli, args: &ProbeArgs) -> ExitCode {
    let (url, mut settings, warnings) = match source(cli, args) {
        Ok(s) => s,
        Err(code) => return code,
    };
    match &args.wait {
        Some(w) => match parse_duration(w) {
            Ok(d) => settings.wait = d,
            Err(e) => {
                eprintln!("error: --wait: {e}");
                return exit::code(exit::USAGE);
            }
        },
        // Like pg_isready: one attempt, unless the config's `wait` applies.
        None if args.url.is_some() || args.url_env.is_some() => settings.wait = Duration::ZERO,
        None => {}
    }
    if !args.json {
        for w in &warnings {
            eprintln!("warning: {w}");
        }
    }
    execute(&url, &settings, args.json, warnings)
}

type Source = (DbUrl, DbSettings, Vec<String>);

/// `--url`/`--url-env` (validated here, default settings but `--client`,
/// relative paths from the current directory), else the Plan's already
/// validated `[database]`.
fn source(cli: &Cli, args: &ProbeArgs) -> Result<Source, ExitCode> {
    let Some(raw) = explicit_url(args)? else {
        let plan = common::load_plan(cli)?;
        return match plan.database {
            Some(db) => Ok((db.url, db.settings, Vec::new())),
            None => {
                eprintln!("error: the configuration has no [database] section; add one, or pass --url-env NAME");
                Err(exit::code(exit::CONFIG))
            }
        };
    };
    let base_dir = std::env::current_dir().unwrap_or_default();
    let client = match args.client {
        Some(ProbeClient::NodePg) => db::Client::NodePg,
        _ => db::Client::Libpq,
    };
    let settings = DbSettings {
        base_dir,
        client,
        ..DbSettings::default()
    };
    let v = db::validate(raw.expose(), &settings);
    match v.url {
        Some(url) if v.errors.is_empty() => Ok((url, settings, v.warnings)),
        _ => Err(invalid(&v.errors, &v.warnings, args.json)),
    }
}

/// `--url URL` or `--url-env NAME`; `None` = use the configuration.
fn explicit_url(args: &ProbeArgs) -> Result<Option<Secret>, ExitCode> {
    if let Some(u) = &args.url {
        return Ok(Some(Secret::new(u.as_str())));
    }
    let Some(name) = &args.url_env else {
        return Ok(None);
    };
    match std::env::var(name) {
        Ok(v) => Ok(Some(Secret::new(v))),
        Err(_) => {
            eprintln!("error: --url-env {name}: the variable is not set (or not UTF-8) in this environment");
            Err(exit::code(exit::CONFIG))
        }
    }
}

fn invalid(errors: &[db::UrlError], warnings: &[String], json: bool) -> ExitCode {
    if json {
        let errs: Vec<_> = errors
            .iter()
            .map(|e| json!({"kind": e.kind, "message": e.message}))
            .collect();
        println!(
            "{}",
            json!({"ok": false, "exit_code": exit::CONFIG, "errors": errs, "warnings": warnings})
        );
    } else {
        for e in errors {
            eprintln!("error: [{}] {}", e.kind, e.message);
        }
        for w in warnings {
            eprintln!("warning: {w}");
        }
        eprintln!(
            "no connection attempted: the database URL is invalid (exit {})",
            exit::CONFIG
        );
    }
    exit::code(exit::CONFIG)
}

fn execute(url: &DbUrl, settings: &DbSettings, json: bool, warnings: Vec<String>) -> ExitCode {
    let rt = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return exit::code(exit::INTERNAL);
        }
    };
    let mut report = rt.block_on(probe::run(url, settings, probe::Progress::stderr()));
    // A DNS lookup abandoned at its deadline may still block a pool thread
    // inside getaddrinfo; do not wait for it.
    rt.shutdown_timeout(Duration::from_millis(50));
    if json {
        report.warnings.splice(0..0, warnings);
    }
    if json {
        println!("{}", probe::render::json(&report, url));
    } else {
        print!("{}", probe::render::human(&report, url));
    }
    exit::code(report.exit_code())
}
