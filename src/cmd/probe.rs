//! `probe [--url URL] [--wait DUR] [--json]`: validate the database URL and run
//! the full handshake probe once (retrying transient failures up to `wait`),
//! like `pg_isready` but logged in and queried. Exit codes per README.

use std::process::ExitCode;
use std::time::Duration;

use serde_json::json;

use crate::cli::{Cli, ProbeArgs};
use crate::db::{self, probe, DbSettings, DbUrl};
use crate::exit;

/// Run `probe`.
pub fn run(cli: &Cli, args: &ProbeArgs) -> ExitCode {
    let (raw, mut settings) = match source(cli, args) {
        Ok(s) => s,
        Err(code) => return code,
    };
    if let Some(w) = &args.wait {
        match parse_duration(w) {
            Some(d) => settings.wait = d,
            None => {
                eprintln!(
                    "error: --wait {w:?} is not a duration (e.g. \"500ms\", \"30s\", \"2m\")"
                );
                return exit::code(exit::USAGE);
            }
        }
    }
    let v = db::validate(raw.expose(), &settings);
    let url = match (v.url, v.errors.is_empty()) {
        (Some(url), true) => url,
        (_, _) => return invalid(&v.errors, &v.warnings, args.json),
    };
    for w in &v.warnings {
        eprintln!("warning: {w}");
    }
    execute(&url, &settings, args.json)
}

/// The URL and settings: `--url` with default settings, else the Plan's.
fn source(_cli: &Cli, args: &ProbeArgs) -> Result<(crate::secret::Secret, DbSettings), ExitCode> {
    match &args.url {
        Some(u) => {
            let base_dir = std::env::current_dir().unwrap_or_default();
            Ok((
                crate::secret::Secret::new(u.as_str()),
                DbSettings {
                    base_dir,
                    ..DbSettings::default()
                },
            ))
        }
        None => {
            eprintln!("error: probe without --url needs the configuration (supervisor.toml), which this build cannot load yet; pass --url");
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

fn execute(url: &DbUrl, settings: &DbSettings, json: bool) -> ExitCode {
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
    let report = rt.block_on(probe::run(url, settings, probe::Progress::stderr()));
    if json {
        println!("{}", probe::render::json(&report, url));
    } else {
        print!("{}", probe::render::human(&report, url));
    }
    exit::code(report.exit_code())
}

/// `250ms`, `10s`, `5m`, `1h`, or plain seconds.
pub fn parse_duration(s: &str) -> Option<Duration> {
    let s = s.trim();
    let split = s
        .find(|c: char| !c.is_ascii_digit() && c != '.')
        .unwrap_or(s.len());
    let (num, unit) = s.split_at(split);
    let n: f64 = num.parse().ok()?;
    let secs = match unit.trim() {
        "ms" => n / 1000.0,
        "" | "s" => n,
        "m" => n * 60.0,
        "h" => n * 3600.0,
        _ => return None,
    };
    Duration::try_from_secs_f64(secs).ok()
}
