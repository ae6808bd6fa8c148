//! The PG* fallback warning: libpq and node-postgres read `PGHOST`, `PGPORT`,
//! `PGUSER`, `PGPASSWORD`, `PGDATABASE` and `PGSSLMODE` when the URL leaves
//! something out, so a service receiving values that disagree with the
//! validated URL may connect somewhere else than `check` probed. The check is
//! textual (the value must appear in the URL where it would); messages never
//! include the values.

use super::{Env, Warning};
use crate::db::DatabasePlan;

/// Warnings for `service`'s environment against the database URL.
pub fn warnings(service: &str, env: &Env, db: &DatabasePlan) -> Vec<Warning> {
    let url = db.url.expose();
    let password = db
        .url
        .password()
        .map(|p| p.expose().to_string())
        .unwrap_or_default();
    let mut out = Vec::new();
    for (name, var) in &env.vars {
        let v = var.value.as_str();
        let agrees = match name.as_str() {
            "PGHOST" => url.contains(v),
            "PGPORT" => url.contains(&format!(":{v}")) || (v == "5432" && !has_port(url)),
            "PGUSER" => url.contains(&format!("//{v}")),
            "PGPASSWORD" => password == v,
            "PGDATABASE" => url.contains(&format!("/{v}")),
            "PGSSLMODE" => url.contains(&format!("sslmode={v}")),
            _ => continue,
        };
        if !agrees {
            out.push(Warning {
                location: var.source.to_string(),
                message: format!(
                    "services.{service}: receives `{name}`, which disagrees with database.url; libpq and node-postgres read PG* variables as fallbacks — remove it or make it match"
                ),
            });
        }
    }
    out
}

/// Whether the authority part of the URL names a port.
fn has_port(url: &str) -> bool {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    let authority = rest.split(['/', '?']).next().unwrap_or_default();
    let host = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    host.rsplit_once(':')
        .is_some_and(|(_, p)| p.chars().all(|c| c.is_ascii_digit()))
}
