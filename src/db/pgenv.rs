//! `PG*` variables in a service's environment that disagree with the URL.
//!
//! libpq and node-postgres read `PGHOST`, `PGPORT`, `PGUSER`, `PGPASSWORD`,
//! `PGDATABASE` and `PGSSLMODE` as fallbacks for whatever the URL leaves out,
//! so a stale one silently changes where a service connects. Warnings only;
//! values are never printed.

use super::view::SOCKET_DIR;
use super::DbUrl;
use crate::env::Env;

/// Warnings for `PG*` variables in `env` that disagree with `url`.
pub(crate) fn lint_pg_env(url: &DbUrl, env: &Env) -> Vec<String> {
    let plan = url.connect_plan();
    let first = plan.endpoints.first();
    let host = first.map(|e| e.host.as_str()).filter(|h| *h != SOCKET_DIR);
    let port = first.map(|e| e.port.to_string());
    let sslmode = url_param(url.expose(), "sslmode");
    let checks: [(&str, Option<&str>); 6] = [
        ("PGHOST", host),
        ("PGPORT", port.as_deref()),
        ("PGUSER", plan.user.as_deref()),
        ("PGPASSWORD", url.password().map(|p| p.expose())),
        ("PGDATABASE", plan.database.as_deref()),
        ("PGSSLMODE", sslmode.as_deref()),
    ];
    let mut out = Vec::new();
    for (name, from_url) in checks {
        let Some(value) = env.get(name) else { continue };
        match from_url {
            Some(u) if u == value => {}
            Some(_) => out.push(format!("{name} is set and differs from the database URL; the URL wins, but libpq and node-postgres fall back to {name} wherever the URL is empty. Remove it from this service's environment")),
            None => out.push(format!("{name} is set and the database URL does not give that field, so the service's driver will use {name}; put the value in the URL instead")),
        }
    }
    out
}

fn url_param(raw: &str, key: &str) -> Option<String> {
    let query = raw.split_once('?')?.1;
    query
        .split('&')
        .filter_map(|kv| kv.split_once('='))
        .find(|(k, _)| *k == key)
        .map(|(_, v)| v.to_string())
}
