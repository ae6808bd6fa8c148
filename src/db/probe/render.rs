//! Probe output: one line per phase with its duration for people, one JSON
//! object with the phases for machines. Both are built from a [`Report`]
//! whose texts were already scrubbed of the password.

use std::fmt::Write;
use std::time::Duration;

use serde_json::{json, Value};

use super::Report;
use crate::db::DbUrl;

/// `0.4ms`, `12ms`, `1.5s`.
pub(crate) fn dur(d: Duration) -> String {
    let ms = d.as_secs_f64() * 1000.0;
    if ms < 10.0 {
        format!("{ms:.1}ms")
    } else if ms < 1000.0 {
        format!("{ms:.0}ms")
    } else {
        format!("{:.1}s", ms / 1000.0)
    }
}

/// The human report.
pub fn human(r: &Report, url: &DbUrl) -> String {
    let mut out = String::new();
    let plan = url.connect_plan();
    let _ = writeln!(out, "target  {} (TLS: {})", url.redacted(), plan.tls_note);
    for p in &r.phases {
        let mark = if p.ok { "ok  " } else { "FAIL" };
        let _ = writeln!(
            out,
            "{:<6}  {:>7}  {mark}  {}",
            p.name,
            dur(p.elapsed),
            p.detail
        );
    }
    match &r.outcome {
        Ok(info) => {
            let _ = writeln!(out, "server  {}: {}", info.product, info.version);
            for w in &r.warnings {
                let _ = writeln!(out, "warning {w}");
            }
            let _ = writeln!(
                out,
                "ok      database usable in {} ({} attempt{})",
                dur(r.elapsed),
                r.attempts,
                plural(r.attempts)
            );
        }
        Err(f) => {
            if !r.phases.iter().any(|p| !p.ok && p.detail == f.message) {
                let _ = writeln!(out, "{:<6}  {:>7}  FAIL  {}", f.phase, "", f.message);
            }
            let _ = writeln!(
                out,
                "error   {} in phase {} (exit {}, {} attempt{} in {})",
                f.class,
                f.phase,
                f.exit_code,
                r.attempts,
                plural(r.attempts),
                dur(r.elapsed)
            );
        }
    }
    out
}

fn plural(n: u32) -> &'static str {
    if n == 1 {
        ""
    } else {
        "s"
    }
}

/// The JSON report.
pub fn json(r: &Report, url: &DbUrl) -> Value {
    let phases: Vec<Value> = r
        .phases
        .iter()
        .map(|p| json!({"phase": p.name, "ok": p.ok, "ms": (p.elapsed.as_secs_f64() * 1e4).round() / 10.0, "detail": p.detail}))
        .collect();
    let mut v = json!({
        "url": url.redacted(),
        "tls_policy": url.connect_plan().tls_note,
        "ok": r.outcome.is_ok(),
        "exit_code": r.exit_code(),
        "attempts": r.attempts,
        "ms": (r.elapsed.as_secs_f64() * 1e4).round() / 10.0,
        "phases": phases,
        "warnings": r.warnings,
    });
    match &r.outcome {
        Ok(i) => {
            v["server"] = json!({
                "product": i.product, "version": i.version, "database": i.database, "user": i.user,
                "auth": i.auth, "address": i.addr,
                "tls": i.tls.as_ref().map(|t| json!({"version": t.version, "verify": t.verify, "expires": t.expires.map(super::der::date)})),
            });
        }
        Err(f) => {
            v["error"] = json!({"phase": f.phase, "class": f.class, "message": f.message, "transient": f.transient})
        }
    }
    v
}
