//! `probe [--url URL | --url-env NAME] [--client C] [--wait DUR] [--json]`: validate the database URL and run
//! the full handshake probe once (retrying transient failures up to `wait`),
//! like `pg_isready` but logged in and queried. Exit codes: docs/database.md "Failures".

use std::time::Duration;

use serde_json::json;

use super::{common, warn, Outcome};
use crate::cli::{Cli, ProbeArgs};
use crate::config::units::parse_duration;
use crate::db::{self, probe, DbSettings, DbUrl};
use crate::error::Error;
use crate::exit;
use crate::secret::Secret;
use crate::supervisor::runtime;

/// Run `probe`.
pub(crate) fn run(cli: &Cli, args: &ProbeArgs) -> Outcome {
    let (url, mut settings, warnings) = match source(cli, args)? {
        Ok(s) => s,
        // `--json`: the invalid URL is reported on stdout.
        Err(code) => return Ok(code),
    };
    match &args.wait {
        Some(w) => {
            settings.wait = parse_duration(w).map_err(|message| Error::Flag {
                flag: "wait",
                message,
            })?
        }
        // Like pg_isready: one attempt, unless the config's `wait` applies.
        None if args.url.is_some() || args.url_env.is_some() => settings.wait = Duration::ZERO,
        None => {}
    }
    if !args.json {
        warnings.iter().for_each(warn);
    }
    execute(&url, &settings, args.json, warnings)
}

type Source = (DbUrl, DbSettings, Vec<String>);

/// `--url`/`--url-env` (validated here, default settings but `--client`,
/// relative paths from the current directory), else the Plan's already
/// validated `[database]`. `Ok(Err(code))`: an invalid URL already reported
/// as JSON.
fn source(cli: &Cli, args: &ProbeArgs) -> Result<Result<Source, u8>, Error> {
    let Some(raw) = explicit_url(args)? else {
        let plan = common::load_plan(cli)?;
        let db = plan.database.ok_or(Error::NoDatabase)?;
        return Ok(Ok((db.url, db.settings, Vec::new())));
    };
    let base_dir = std::env::current_dir().unwrap_or_default();
    let settings = DbSettings {
        base_dir,
        client: args.client.unwrap_or_default(),
        ..DbSettings::default()
    };
    let v = db::validate(raw.expose(), &settings);
    match v.url {
        Some(url) if v.errors.is_empty() => Ok(Ok((url, settings, v.warnings))),
        _ if args.json => Ok(Err(invalid_json(&v.errors, &v.warnings))),
        _ => Err(Error::InvalidUrl {
            errors: v.errors,
            warnings: v.warnings,
        }),
    }
}

/// `--url URL` or `--url-env NAME`; `None` = use the configuration.
fn explicit_url(args: &ProbeArgs) -> Result<Option<Secret>, Error> {
    if let Some(u) = &args.url {
        return Ok(Some(Secret::new(u.as_str())));
    }
    let Some(name) = &args.url_env else {
        return Ok(None);
    };
    match std::env::var(name) {
        Ok(v) => Ok(Some(Secret::new(v))),
        Err(_) => Err(Error::UrlEnvUnset(name.clone())),
    }
}

/// The invalid URL as JSON on stdout; its exit code.
fn invalid_json(errors: &[db::UrlError], warnings: &[String]) -> u8 {
    let errs: Vec<_> = errors
        .iter()
        .map(|e| json!({"kind": e.kind, "message": e.message}))
        .collect();
    println!(
        "{}",
        json!({"ok": false, "exit_code": exit::CONFIG, "errors": errs, "warnings": warnings})
    );
    exit::CONFIG
}

fn execute(url: &DbUrl, settings: &DbSettings, json: bool, warnings: Vec<String>) -> Outcome {
    let rt = runtime::current_thread()?;
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
    Ok(report.exit_code())
}
