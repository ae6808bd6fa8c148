//! Raw → Plan, in one place: `[supervisor]`, the env files, `[env]` and
//! `[database]` here; each service in `service.rs`; the graph in `deps.rs`.
//! Every problem is collected; the Plan exists only when there are none.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use super::ctx::{check_var_name, BuildCtx};
use super::global::{file_looked, Global};
use super::{
    deps, names, replicas, scrub, service, Contain, LogFormat, Plan, Problem, Problems, Settings,
};
use crate::config::raw::{RawConfig, RawDatabase, RawSupervisor, Str};
use crate::db::{self, Client, DatabasePlan, DbSettings, Expect};
use crate::env::interp::Traced;
use crate::env::{lint::lint, read_env_file, EnvFile, DEFAULT_INHERIT};
use crate::secret::Redactor;

/// Build the Plan from parsed config. `path` is the config file as given.
pub(super) fn build(ctx: &mut BuildCtx, path: &Path, raw: RawConfig) -> Result<Plan, Problems> {
    let settings = settings(ctx, &raw.supervisor);
    let inherit = match &raw.supervisor.inherit {
        Some(v) => v.iter().map(|s| s.get_ref().clone()).collect(),
        None => DEFAULT_INHERIT.iter().map(|s| s.to_string()).collect(),
    };
    let files = env_files(ctx, &raw.supervisor);
    let mut file_vars = BTreeMap::new();
    for f in &files {
        file_vars.extend(f.entries.iter().map(|e| (e.key.clone(), file_looked(f, e))));
    }
    let mut global = Global {
        inherit,
        files,
        file_vars,
        env: Vec::new(),
        db_configured: raw.database.is_some(),
        db: None,
        stop_timeout: settings.stop_timeout,
        password: Redactor::default(),
        db_url: Traced::default(),
    };
    let os = ctx.os;
    let env = ctx.env_table(&raw.env, "env", &global.lookup(os));
    global.env = env;
    // Services with `uses_database = false` start before the database gate, so
    // they can create certificate files the URL names (an embedded database's
    // own CA): then a missing file is a warning here and the gate checks again.
    let files_may_appear = raw.services.values().any(|s| {
        s.get_ref()
            .uses_database
            .as_ref()
            .is_some_and(|u| !*u.get_ref())
    });
    if let Some(d) = &raw.database {
        let db = database(
            ctx,
            d.get_ref(),
            &d.span(),
            &global.lookup(os),
            files_may_appear,
        );
        if let Some((db, traced)) = db {
            global.password = db.url.redactor();
            global.db = Some(db);
            global.db_url = traced;
        }
    }
    let mut layers = global.base_layers(os, &[]);
    global.add_database(&mut layers);
    let (global_env, warnings) = layers.finish(os, &|v| global.known(v));
    ctx.warnings.extend(warnings);
    let mut raws: Vec<_> = raw.services.iter().collect();
    raws.sort_by_key(|(name, _)| name.span().start);
    let mut built = Vec::new();
    for (n, s) in &raws {
        built.extend(build_service(ctx, n, s, &global));
    }
    name_collisions(ctx, raws.iter().map(|(n, _)| *n));
    let replicated: Vec<(&Str, bool)> = raws
        .iter()
        .map(|(n, s)| (*n, s.get_ref().replicas.is_some()))
        .collect();
    replicas::check_collisions(ctx, &replicated);
    let services = deps::order(ctx, built);
    ctx.warnings
        .extend(scrub::short_secrets(&global_env, &services));
    let mut problems = std::mem::take(&mut ctx.problems);
    let mut warnings = dedup(std::mem::take(&mut ctx.warnings));
    let secrets = scrub::redactor(os, &global, &global_env, &services);
    scrub::scrub(&mut problems, &mut warnings, &secrets);
    let config_path = ctx.abs(path.file_name().map_or(PathBuf::new(), PathBuf::from));
    let mut inputs = vec![config_path.clone()];
    inputs.append(&mut ctx.inputs);
    let plan = Plan {
        config_path,
        inputs,
        base_dir: ctx.base.clone(),
        settings,
        database: global.db,
        services,
        global_env,
        warnings,
    };
    problems.into_result(plan)
}

/// One service, or each copy of a replicated one. The copies differ only in
/// `REPLICA*`, so the problems and warnings of copy 1 stand for all of them
/// (they are reported once).
fn build_service(
    ctx: &mut BuildCtx,
    n: &Str,
    s: &toml::Spanned<crate::config::raw::RawService>,
    g: &Global,
) -> Vec<service::Built> {
    let Some((count, base)) = replicas::spec(ctx, s.get_ref(), n.get_ref()) else {
        return vec![service::build(ctx, n, s, g, None)];
    };
    let mut out = Vec::new();
    for r in replicas::copies(n.get_ref(), count, base) {
        if r.index == 1 {
            out.push(service::build(ctx, n, s, g, Some(&r)));
            continue;
        }
        let problems = std::mem::take(&mut ctx.problems);
        let warnings = std::mem::take(&mut ctx.warnings);
        out.push(service::build(ctx, n, s, g, Some(&r)));
        ctx.problems = problems;
        ctx.warnings = warnings;
    }
    out
}

/// Turn "certificate file does not exist" errors into warnings: a service that
/// starts before the gate may create the file; the probe reads it at gate time
/// and fails there (exit 4) if it is still missing.
fn defer_missing_files(v: &mut db::Validation) {
    let (deferred, errors): (Vec<_>, Vec<_>) = std::mem::take(&mut v.errors)
        .into_iter()
        .partition(|e| e.kind.is_missing_file());
    v.errors = errors;
    for e in deferred {
        v.warnings.push(format!(
            "{} — not yet; a service with uses_database = false may create it before the database gate, which checks again",
            e.message
        ));
    }
    if v.errors.is_empty() && v.url.is_none() {
        // Nothing else was wrong: validation produced no URL only because of the file.
        v.errors.push(db::UrlError {
            kind: db::UrlKind::Internal,
            message: "the database URL could not be read".into(),
        });
    }
}

fn settings(ctx: &mut BuildCtx, s: &RawSupervisor) -> Settings {
    let log_format = ctx.choice(
        &s.log_format,
        "supervisor.log_format",
        &[("pretty", LogFormat::Pretty), ("json", LogFormat::Json)],
        LogFormat::Pretty,
    );
    Settings {
        log_format,
        stop_timeout: ctx.duration(
            &s.stop_timeout,
            "supervisor.stop_timeout",
            Duration::from_secs(10),
        ),
        control_socket: s.control_socket.as_ref().map(|p| ctx.abs(p.get_ref())),
        contain: ctx.choice(
            &s.contain,
            "supervisor.contain",
            &[
                ("auto", Contain::Auto),
                ("pidns", Contain::Pidns),
                ("none", Contain::None),
            ],
            Contain::Auto,
        ),
    }
}

/// Read every listed env file (all of them, even after an error), linting each.
/// The env files to read: the listed ones; when `env_files` is not written at
/// all, `.env` beside supervisor.toml if it exists (as docker compose does) —
/// `env_files = []` reads none. `None` span = the implicit default.
fn env_file_list(
    ctx: &BuildCtx,
    s: &RawSupervisor,
) -> Vec<(String, Option<std::ops::Range<usize>>)> {
    match &s.env_files {
        Some(list) => list
            .iter()
            .map(|rel| (rel.get_ref().clone(), Some(rel.span())))
            .collect(),
        None if ctx.base.join(".env").is_file() => vec![(".env".to_string(), None)],
        None => Vec::new(),
    }
}

fn env_files(ctx: &mut BuildCtx, s: &RawSupervisor) -> Vec<EnvFile> {
    let mut files: Vec<EnvFile> = Vec::new();
    if s.env_files.is_none() && !ctx.base.join(".env").is_file() {
        // Not read now, but a `.env` created later is read by a reload.
        ctx.inputs.push(ctx.abs(".env"));
    }
    for (rel, span) in env_file_list(ctx, s) {
        ctx.inputs.push(ctx.abs(&rel));
        let merged: BTreeMap<&str, &str> = files
            .iter()
            .flat_map(|f| f.entries.iter().map(|e| (e.key.as_str(), e.value.as_str())))
            .collect();
        let outer = |n: &str| {
            ctx.os
                .get(n)
                .cloned()
                .or_else(|| merged.get(n).map(|v| v.to_string()))
        };
        match read_env_file(&ctx.shown(&rel), &outer) {
            Ok(f) => files.push(f),
            Err(p) => {
                let why = match &span {
                    Some(span) => format!("listed in supervisor.env_files at {}", ctx.loc.at(span)),
                    None => "read by default as it sits beside supervisor.toml; set env_files = [] to ignore it".into(),
                };
                ctx.problems
                    .push(p.location, format!("{} ({why})", p.message));
            }
        }
    }
    for f in &files {
        ctx.warnings.extend(lint(f));
    }
    files
}

fn database(
    ctx: &mut BuildCtx,
    d: &RawDatabase,
    span: &std::ops::Range<usize>,
    lookup: super::ctx::Lookup,
    files_may_appear: bool,
) -> Option<(DatabasePlan, Traced)> {
    let dflt = DbSettings::default();
    let settings = DbSettings {
        client: ctx.choice(
            &d.client,
            "database.client",
            &[Client::Libpq, Client::NodePg].map(|c| (c.as_str(), c)),
            dflt.client,
        ),
        expect: ctx.choice(
            &d.expect,
            "database.expect",
            &[
                ("any", Expect::Any),
                ("postgres", Expect::Postgres),
                ("cockroachdb", Expect::Cockroachdb),
            ],
            dflt.expect,
        ),
        allow_localhost: d.allow_localhost.unwrap_or(dflt.allow_localhost),
        require_tls: d.require_tls.unwrap_or(dflt.require_tls),
        probe: d.probe.unwrap_or(dflt.probe),
        probe_timeout: ctx.duration(
            &d.probe_timeout,
            "database.probe_timeout",
            dflt.probe_timeout,
        ),
        wait: ctx.duration(&d.wait, "database.wait", dflt.wait),
        base_dir: ctx.base.clone(),
    };
    let export_as = export_names(ctx, d);
    let Some(url) = &d.url else {
        ctx.err(
            span,
            "database",
            "`url` is required when [database] is configured (e.g. url = \"${DATABASE_URL}\")",
        );
        return None;
    };
    let traced = ctx.interp_traced(url, "database.url", lookup)?;
    let mut v = db::validate(&traced.value, &settings);
    if files_may_appear {
        defer_missing_files(&mut v);
    }
    for e in &v.errors {
        ctx.err(
            &url.span(),
            "database.url",
            format!("{}: {}", e.kind, e.message),
        );
    }
    for w in v.warnings {
        ctx.warn(&url.span(), "database.url", w);
    }
    let url = v.url.filter(|_| v.errors.is_empty())?;
    let plan = DatabasePlan {
        url,
        export_as,
        settings,
    };
    Some((plan, traced))
}

fn export_names(ctx: &mut BuildCtx, d: &RawDatabase) -> Vec<String> {
    let Some(list) = &d.export_as else {
        return vec![db::DEFAULT_EXPORT.into()];
    };
    let mut out: Vec<String> = Vec::new();
    for n in list {
        if let Err(why) = check_var_name(n.get_ref()) {
            ctx.err(&n.span(), "database.export_as", why);
        } else if out.contains(n.get_ref()) {
            ctx.err(
                &n.span(),
                "database.export_as",
                format!("`{}` is listed twice", n.get_ref()),
            );
        } else {
            out.push(n.get_ref().clone());
        }
    }
    out
}

/// Two services whose exported names would be the same (`a_b` and `a-b`
/// are both `a-b`): one would overwrite the other's unit, manifest and env file.
fn name_collisions<'a>(ctx: &mut BuildCtx, names: impl Iterator<Item = &'a Str> + Clone) {
    let found = names::collisions(names.clone().map(|n| n.get_ref().as_str()));
    for (first, second, label) in found {
        let span = |name: &str| names.clone().find(|n| n.get_ref() == name).map(Str::span);
        let (Some(at_first), Some(at_second)) = (span(first), span(second)) else {
            continue;
        };
        let msg = format!(
            "`{second}` and `{first}` (at {}) both become `{label}` in exported names (systemd unit uaol-{label}.service, Kubernetes objects and file {label}.yaml), so one would overwrite the other; rename one of them",
            ctx.loc.at(&at_first)
        );
        ctx.err(&at_second, &format!("services.{second}"), msg);
    }
}

fn dedup(warnings: Vec<Problem>) -> Vec<Problem> {
    let mut out: Vec<Problem> = Vec::new();
    for w in warnings {
        if !out.contains(&w) {
            out.push(w);
        }
    }
    out
}
