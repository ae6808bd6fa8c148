//! `check [--no-probe] [--json]`: build the Plan and show it — config OK,
//! services in start order with their dependencies, a per-service environment
//! summary (counts by source; secret names, never values), the redacted
//! database URL, warnings — then probe the database unless `--no-probe`.

use std::collections::BTreeMap;

use serde_json::{json, Value};

use super::common::{config_path, layer, load_plan_quiet, os_env, runnable, source_label};
use super::Outcome;
use crate::cli::{CheckArgs, Cli};
use crate::db::{self, GateFailure};
use crate::env::Env;
use crate::error::Error;
use crate::exit;
use crate::plan::{self, Plan, ReadyKind, ServicePlan};
use crate::secret::Redactor;
use crate::supervisor::{contain, runtime};

/// Run `check`.
pub(crate) fn run(cli: &Cli, args: &CheckArgs) -> Outcome {
    if args.json {
        return Ok(run_json(cli, args));
    }
    let plan = runnable(load_plan_quiet(cli)?)?;
    print!("{}", report(&plan));
    let mode = contain::trial(plan.settings.contain).map_err(Error::ContainTrial)?;
    println!("\ncontainment: {}", mode.describe());
    match probe(&plan, args) {
        None => Ok(exit::OK),
        Some(Ok(())) => {
            println!("database: probe OK");
            Ok(exit::OK)
        }
        Some(Err(f)) => Err(Error::Probe(f)),
    }
}

/// `check --json`: everything, failures included, as one JSON object on
/// stdout; the exit code says how it went.
fn run_json(cli: &Cli, args: &CheckArgs) -> u8 {
    let path = config_path(cli);
    let loaded = plan::load(&path, &os_env()).and_then(|p| {
        let me = plan::privilege::Identity::current();
        plan::privilege::problems(&p, &me).into_result(p)
    });
    let plan = match loaded {
        Ok(p) => p,
        Err(problems) => {
            let list: Vec<Value> = problems
                .0
                .iter()
                .map(|p| json!({"location": p.location, "message": p.message}))
                .collect();
            println!("{}", json!({"ok": false, "problems": list}));
            return problems.exit_code();
        }
    };
    let contained = contain::trial(plan.settings.contain);
    let probe = probe(&plan, args);
    let mut v = report_json(&plan);
    v["containment"] = match &contained {
        Ok(m) => json!({"mode": m.name(), "detail": m.describe()}),
        Err(e) => json!({"mode": "refused", "detail": e.to_string()}),
    };
    if contained.is_err() {
        v["ok"] = json!(false);
        println!("{v}");
        return exit::CONFIG;
    }
    v["probe"] = match &probe {
        None => Value::Null,
        Some(Ok(())) => json!({"ok": true}),
        Some(Err(f)) => json!({"ok": false, "exit_code": f.exit_code, "message": f.message}),
    };
    v["ok"] = json!(!matches!(probe, Some(Err(_))));
    println!("{v}");
    match probe {
        Some(Err(f)) => f.exit_code,
        _ => exit::OK,
    }
}

/// The database gate, when configured, enabled and not `--no-probe`.
fn probe(plan: &Plan, args: &CheckArgs) -> Option<Result<(), GateFailure>> {
    let db = plan
        .database
        .as_ref()
        .filter(|d| d.settings.probe && !args.no_probe)?;
    Some(match runtime::current_thread() {
        Ok(rt) => rt.block_on(db::gate(db)),
        Err(e) => Err(GateFailure {
            exit_code: exit::INTERNAL,
            message: e.to_string(),
        }),
    })
}

/// The human report.
pub(crate) fn report(plan: &Plan) -> String {
    let mut out = String::new();
    let n = plan.services.len();
    let path = plan
        .config_path
        .file_name()
        .map_or(String::new(), |f| f.to_string_lossy().into_owned());
    out.push_str(&format!(
        "config OK: {path} ({n} service{})\n",
        if n == 1 { "" } else { "s" }
    ));
    let width = plan
        .services
        .iter()
        .map(|s| s.name.len())
        .max()
        .unwrap_or(0);
    out.push_str("\nstart order:\n");
    if plan.services.is_empty() {
        out.push_str("  (no services)\n");
    }
    let r = plan.redactor();
    for (i, s) in plan.services.iter().enumerate() {
        out.push_str(&format!(
            "  {}. {:width$}  {}\n",
            i + 1,
            s.name,
            describe(s, &r)
        ));
    }
    if !plan.services.is_empty() {
        out.push_str("\nenvironment:\n");
    }
    for s in &plan.services {
        out.push_str(&format!("  {:width$}  {}\n", s.name, env_summary(&s.env)));
    }
    if let Some(db) = &plan.database {
        let probe = if db.settings.probe {
            "probe on"
        } else {
            "probe off"
        };
        out.push_str(&format!(
            "\ndatabase: {} (as {}; {probe})\n",
            db.url.redacted(),
            db.export_as.join(", ")
        ));
    }
    if !plan.warnings.is_empty() {
        out.push_str("\nwarnings:\n");
        for w in &plan.warnings {
            out.push_str(&format!("  - {w}\n"));
        }
    }
    out
}

fn describe(s: &ServicePlan, r: &Redactor) -> String {
    let mut parts = vec![format!("$ {}", shell_words(&shown_argv(s)))];
    if !s.depends_on.is_empty() {
        let deps: Vec<String> = s
            .depends_on
            .iter()
            .map(|d| format!("{} ({})", d.name, d.condition.as_str()))
            .collect();
        parts.push(format!("after {}", deps.join(", ")));
    }
    if let Some(r) = &s.ready {
        parts.push(format!("ready: {}", ready(&r.kind)));
    }
    if s.oneshot {
        parts.push("oneshot".into());
    }
    if s.uses_database {
        parts.push("uses database".into());
    }
    parts.extend(s.exec.summary());
    r.redact(&parts.join("; ")).into_owned()
}

fn ready(p: &ReadyKind) -> String {
    match p {
        ReadyKind::Tcp(a) => format!("tcp {a}"),
        ReadyKind::Http(u) => format!("http {u}"),
        ReadyKind::Exec(argv) => format!("exec {}", shell_words(argv)),
        ReadyKind::Log(re) => format!("log /{re}/"),
    }
}

/// argv as it may be printed: each argument's secret parts masked.
fn shown_argv(s: &ServicePlan) -> Vec<String> {
    s.argv
        .iter()
        .enumerate()
        .map(|(i, a)| match s.argv_secret.get(i) {
            Some(spans) => spans.display(a),
            None => a.clone(),
        })
        .collect()
}

fn shell_words(argv: &[String]) -> String {
    let quote = |a: &String| {
        if !a.is_empty()
            && a.chars()
                .all(|c| c.is_ascii_alphanumeric() || "-_./=:@%+,".contains(c))
        {
            a.clone()
        } else {
            format!("'{}'", a.replace('\'', "'\\''"))
        }
    };
    argv.iter().map(quote).collect::<Vec<_>>().join(" ")
}

/// Variables per source label, in precedence order (lowest first).
fn counts(env: &Env) -> Vec<(String, usize)> {
    let mut by: BTreeMap<(u8, String), usize> = BTreeMap::new();
    for v in env.vars.values() {
        *by.entry((layer(&v.source), source_label(&v.source)))
            .or_default() += 1;
    }
    by.into_iter().map(|((_, label), n)| (label, n)).collect()
}

fn env_summary(env: &Env) -> String {
    let by: Vec<String> = counts(env)
        .iter()
        .map(|(k, n)| format!("{k} {n}"))
        .collect();
    let secrets: Vec<&str> = env
        .vars
        .iter()
        .filter(|(_, v)| v.is_secret())
        .map(|(k, _)| k.as_str())
        .collect();
    let mut s = format!("{} vars: {}", env.len(), by.join(", "));
    if !secrets.is_empty() {
        s.push_str(&format!("; masked: {}", secrets.join(", ")));
    }
    s
}

/// The machine-readable report (no secret values).
pub(crate) fn report_json(plan: &Plan) -> Value {
    let r = plan.redactor();
    let services: Vec<Value> = plan.services.iter().map(|s| service_json(s, &r)).collect();
    let database = plan.database.as_ref().map(|db| {
        json!({
            "url": db.url.redacted(),
            "export_as": db.export_as,
            "probe": db.settings.probe,
        })
    });
    let warnings: Vec<Value> = plan
        .warnings
        .iter()
        .map(|w| json!({"location": w.location, "message": w.message}))
        .collect();
    json!({
        "ok": true,
        "config": plan.config_path.display().to_string(),
        "services": services,
        "database": database,
        "warnings": warnings,
    })
}

fn service_json(s: &ServicePlan, r: &Redactor) -> Value {
    let deps: Vec<Value> = s
        .depends_on
        .iter()
        .map(|d| json!({"name": d.name, "condition": d.condition.as_str()}))
        .collect();
    let secrets: Vec<&str> = s
        .env
        .vars
        .iter()
        .filter(|(_, v)| v.is_secret())
        .map(|(k, _)| k.as_str())
        .collect();
    json!({
        "name": s.name,
        "argv": shown_argv(s).iter().map(|a| r.redact(a).into_owned()).collect::<Vec<_>>(),
        "program": s.program.display().to_string(),
        "cwd": s.cwd.display().to_string(),
        "depends_on": deps,
        "oneshot": s.oneshot,
        "uses_database": s.uses_database,
        "restart": s.restart.as_str(),
        "exec": s.exec.summary(),
        "env": {"count": s.env.len(), "sources": counts(&s.env).into_iter().map(|(k, n)| (k, json!(n))).collect::<serde_json::Map<_, _>>(), "masked": secrets},
    })
}
