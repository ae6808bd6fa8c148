//! A service's exec context (`user`, `group`, `limits`, `umask`, `nice`) in
//! the exports. systemd has every knob under the same name (`User=`,
//! `Group=`, `LimitX=`, `UMask=`, `Nice=`), and applies the user's
//! supplementary groups and `HOME`/`USER`/`LOGNAME` itself, as we do.
//! Kubernetes has only numeric `runAsUser` / `runAsGroup` — names are
//! resolved on the machine that exports, which the manifest says — and no
//! per-container rlimits, umask or nice: the manifest says so instead of
//! pretending.

use std::fmt::Write as _;

use super::yaml::{s, Y};
use crate::plan::{ExecContext, ServicePlan};

/// The `[Service]` lines.
pub(super) fn systemd_lines(svc: &ServicePlan) -> String {
    let x = &svc.exec;
    let mut out = String::new();
    if let Some(r) = &x.run_as {
        if let Some(u) = &r.user {
            let _ = writeln!(out, "User={u}");
        }
        if let Some(g) = &r.group {
            let _ = writeln!(out, "Group={g}");
        }
    }
    for l in &x.limits {
        let _ = writeln!(out, "{}={}", l.resource.systemd(), l.systemd_value());
    }
    if let Some(m) = x.umask {
        let _ = writeln!(out, "UMask={m:04o}");
    }
    if let Some(n) = &x.nice {
        let _ = writeln!(out, "Nice={}", n.value);
    }
    out
}

/// The container's `securityContext` (`runAsUser` / `runAsGroup`), if any.
pub(super) fn k8s_security_context(x: &ExecContext) -> Option<Y> {
    let r = x.run_as.as_ref()?;
    let mut pairs = Vec::new();
    if let Some(uid) = r.uid {
        pairs.push(("runAsUser".to_string(), Y::Int(i64::from(uid))));
    }
    pairs.push(("runAsGroup".to_string(), Y::Int(i64::from(r.gid))));
    Some(Y::Map(pairs))
}

/// Comment lines for the manifest header (empty when nothing applies).
pub(super) fn k8s_comments(x: &ExecContext) -> String {
    let mut out = String::new();
    if let Some(r) = &x.run_as {
        let who = match (&r.user, &r.group) {
            (Some(u), Some(g)) => format!("user `{u}`, group `{g}`"),
            (Some(u), None) => format!("user `{u}`"),
            (None, g) => format!("group `{}`", g.as_deref().unwrap_or_default()),
        };
        let _ = writeln!(
            out,
            "# {who}: securityContext.runAsUser/runAsGroup take numeric ids only; these were resolved when exporting, on this machine — the image must use the same ids. Supplementary groups come from the image's /etc/group."
        );
    }
    let mut missing: Vec<String> = x
        .limits
        .iter()
        .map(|l| format!("limits.{} = {}", l.resource.name(), l.systemd_value()))
        .collect();
    if let Some(m) = x.umask {
        missing.push(format!("umask = {m:04o}"));
    }
    if let Some(n) = &x.nice {
        missing.push(format!("nice = {}", n.value));
    }
    if !missing.is_empty() {
        let _ = writeln!(
            out,
            "# Not expressible per container, not exported: {}. Kubernetes has no per-container rlimits (the node's container runtime sets them), umask (the image's entrypoint) or nice.",
            missing.join(", ")
        );
    }
    out
}

/// The annotation for what is not exported (the same words, kept with the object).
pub(super) fn k8s_note(x: &ExecContext) -> Option<(String, Y)> {
    let n = x.limits.len() + usize::from(x.umask.is_some()) + usize::from(x.nice.is_some());
    (n > 0).then(|| {
        (
            "uaol-supervisor/limits".to_string(),
            s("limits, umask and nice are not expressible per container; see the comment at the top of this file"),
        )
    })
}
