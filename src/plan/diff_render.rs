//! How a [`PlanDiff`] reads for a person: one block per service that changes,
//! one line for the unchanged ones, then the database and the settings that
//! need a restart of `up`. Pure text; the values are already shown under
//! the secret rules by `diff`.

use std::fmt::Write;

use super::diff::{Kind, PlanDiff, ServiceDiff, VarChange};

/// The diff as lines of text, ending with a newline.
pub(crate) fn human(d: &PlanDiff) -> String {
    let mut out = String::new();
    if let Some(db) = &d.database {
        let _ = writeln!(out, "database   {} → {}", db.old, db.new);
    }
    for s in d.services.iter().filter(|s| s.kind != Kind::Unchanged) {
        service(&mut out, s);
    }
    let same = d.named(Kind::Unchanged);
    if !same.is_empty() {
        let _ = writeln!(out, "unchanged  {} (keep running)", same.join(", "));
    }
    for c in &d.needs_restart {
        let _ = writeln!(
            out,
            "needs a restart of `up`: {} {} → {} (not applied)",
            c.setting, c.old, c.new
        );
    }
    if d.is_empty() && d.needs_restart.is_empty() && d.database.is_none() {
        out.push_str("nothing changed\n");
    }
    out
}

fn service(out: &mut String, s: &ServiceDiff) {
    let _ = writeln!(out, "{:<10} {}", s.kind.as_str(), s.name);
    for c in &s.settings {
        if c.old.is_empty() && c.new.is_empty() {
            let _ = writeln!(out, "    {}", c.setting);
        } else {
            let _ = writeln!(out, "    {}: {} → {}", c.setting, c.old, c.new);
        }
    }
    for v in &s.env {
        var(out, v);
    }
}

fn var(out: &mut String, v: &VarChange) {
    let _ = match (&v.old, &v.new) {
        (Some(o), Some(n)) if o.source == n.source => writeln!(
            out,
            "    ~ {} = {} → {}   ({})",
            v.name, o.value, n.value, n.source
        ),
        (Some(o), Some(n)) => writeln!(
            out,
            "    ~ {} = {} → {}   ({} → {})",
            v.name, o.value, n.value, o.source, n.source
        ),
        (None, Some(n)) => writeln!(out, "    + {} = {}   ({})", v.name, n.value, n.source),
        (Some(o), None) => writeln!(out, "    - {}   (was {})", v.name, o.source),
        (None, None) => Ok(()),
    };
}
