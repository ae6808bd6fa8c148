//! What a reload would change: the difference between the running Plan and a
//! freshly built one, per service (added / removed / changed / unchanged),
//! with, for a changed service, which settings changed and each environment
//! variable added, removed or changed — old and new value and source.
//!
//! Pure: two Plans in, data out; rendering (`render`) is apart. Values are
//! shown only through the Plan's own display rules ([`EnvVar::display_value`]:
//! a URL keeps everything but its password) and every setting string passes
//! the Plan's redactor, so a diff can be printed, logged and sent over the
//! control socket. A service counts as changed only when what its process
//! gets changed: a value whose line merely moved is not a change.

use serde::{Deserialize, Serialize};

use super::{Plan, ServicePlan};
use crate::env::EnvVar;
use crate::secret::Redactor;

/// Everything a reload would do.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct PlanDiff {
    /// Every service of either Plan: new Plan order, then the removed ones.
    pub services: Vec<ServiceDiff>,
    /// The database URL (redacted) when it changed: `[old, new]`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub database: Option<Change>,
    /// Settings that changed but cannot change while `up` runs.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub needs_restart: Vec<Change>,
}

/// One service's fate.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct ServiceDiff {
    /// Its name.
    pub name: String,
    /// Added, removed, changed, unchanged.
    pub kind: Kind,
    /// For a changed service: the settings that changed.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub settings: Vec<Change>,
    /// For a changed service: the variables that changed.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub env: Vec<VarChange>,
}

/// What happens to a service.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum Kind {
    /// Only in the new Plan: it starts.
    Added,
    /// Only in the old Plan: it stops.
    Removed,
    /// In both, different: it restarts (with what waits for it to be ready).
    Changed,
    /// In both, the same: it keeps running, same PID.
    Unchanged,
}

impl Kind {
    /// The word.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Kind::Added => "added",
            Kind::Removed => "removed",
            Kind::Changed => "changed",
            Kind::Unchanged => "unchanged",
        }
    }
}

/// A setting, old → new (both shown under the secret rules).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Change {
    /// Which setting (`command`, `cwd`, `ready`, `control_socket`…).
    pub setting: String,
    /// Before.
    pub old: String,
    /// After.
    pub new: String,
}

/// One variable, old → new.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct VarChange {
    /// Its name.
    pub name: String,
    /// Before (`None`: added).
    pub old: Option<Shown>,
    /// After (`None`: removed).
    pub new: Option<Shown>,
}

/// A value as it may be printed, and where it came from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Shown {
    /// The value under the secret rules.
    pub value: String,
    /// `.env:14`, `supervisor.toml:9 [env]`, `database.url`…
    pub source: String,
}

impl PlanDiff {
    /// Whether applying it would touch anything running.
    pub(crate) fn is_empty(&self) -> bool {
        self.services.iter().all(|s| s.kind == Kind::Unchanged)
    }

    /// The names of services of `kind`.
    pub(crate) fn named(&self, kind: Kind) -> Vec<String> {
        let of = self.services.iter().filter(|s| s.kind == kind);
        of.map(|s| s.name.clone()).collect()
    }
}

/// The difference between `old` and `new`, over the services each runs
/// (`old_svcs` / `new_svcs`: the selected ones, in start order).
pub(crate) fn diff(
    old: &Plan,
    old_svcs: &[&ServicePlan],
    new: &Plan,
    new_svcs: &[&ServicePlan],
) -> PlanDiff {
    let (ro, rn) = (old.redactor(), new.redactor());
    let mut services: Vec<ServiceDiff> = new_svcs
        .iter()
        .map(|n| match old_svcs.iter().find(|o| o.name == n.name) {
            Some(o) => service(o, n, &ro, &rn),
            None => bare(&n.name, Kind::Added),
        })
        .collect();
    let gone = old_svcs
        .iter()
        .filter(|o| !new_svcs.iter().any(|n| n.name == o.name));
    services.extend(gone.map(|o| bare(&o.name, Kind::Removed)));
    PlanDiff {
        services,
        database: database(old, new),
        needs_restart: fixed(old, new),
    }
}

fn bare(name: &str, kind: Kind) -> ServiceDiff {
    ServiceDiff {
        name: name.to_owned(),
        kind,
        settings: Vec::new(),
        env: Vec::new(),
    }
}

fn service(o: &ServicePlan, n: &ServicePlan, ro: &Redactor, rn: &Redactor) -> ServiceDiff {
    let settings = settings(o, n, ro, rn);
    let env = env(o, n);
    let kind = if settings.is_empty() && env.is_empty() {
        Kind::Unchanged
    } else {
        Kind::Changed
    };
    ServiceDiff {
        name: n.name.clone(),
        kind,
        settings,
        env,
    }
}

/// Every setting as text, by name: what the diff compares and shows.
fn described(s: &ServicePlan) -> Vec<(&'static str, String)> {
    let deps: Vec<String> = s
        .depends_on
        .iter()
        .map(|d| format!("{}:{}", d.name, d.condition.as_str()))
        .collect();
    vec![
        ("command", s.argv.join(" ")),
        ("program", s.program.display().to_string()),
        ("cwd", s.cwd.display().to_string()),
        ("depends_on", deps.join(", ")),
        ("uses_database", s.uses_database.to_string()),
        ("restart", s.restart.as_str().to_owned()),
        ("backoff", format!("{:?}", s.backoff)),
        ("max_restarts", s.max_restarts.to_string()),
        ("restart_window", format!("{:?}", s.restart_window)),
        ("ready", format!("{:?}", s.ready)),
        ("stop_signal", s.stop_signal.as_str().to_owned()),
        ("stop_timeout", format!("{:?}", s.stop_timeout)),
        ("oneshot", s.oneshot.to_string()),
        ("max_memory", format!("{:?}", s.max_memory)),
        ("critical", s.critical.to_string()),
        ("log_file", format!("{:?}", s.log_file)),
        ("exec", s.exec.summary().join(", ")),
    ]
}

fn settings(o: &ServicePlan, n: &ServicePlan, ro: &Redactor, rn: &Redactor) -> Vec<Change> {
    let mut out: Vec<Change> = described(o)
        .into_iter()
        .zip(described(n))
        .filter(|((_, a), (_, b))| a != b)
        .map(|((name, a), (_, b))| Change {
            setting: name.to_owned(),
            old: ro.redact(&a).into_owned(),
            new: rn.redact(&b).into_owned(),
        })
        .collect();
    // The net under the list: a setting the list does not name still counts.
    if out.is_empty() && rest(o) != rest(n) {
        out.push(Change {
            setting: "other settings".into(),
            old: String::new(),
            new: String::new(),
        });
    }
    out
}

/// Everything but the environment, as Debug text (masked values only).
/// `watch` is not the process's business: `up --watch` follows a new one
/// without restarting anything.
fn rest(s: &ServicePlan) -> String {
    let mut s = s.clone();
    s.env = crate::env::Env::default();
    // A copy is the same process whatever the count: scaling `replicas`
    // adds or removes copies and leaves the others running.
    if let Some(r) = &mut s.replica {
        r.count = 0;
    }
    s.watch = None;
    format!("{s:?}")
}

fn env(o: &ServicePlan, n: &ServicePlan) -> Vec<VarChange> {
    let names: std::collections::BTreeSet<&String> =
        o.env.vars.keys().chain(n.env.vars.keys()).collect();
    names
        .into_iter()
        .filter_map(|name| {
            let (a, b) = (o.env.vars.get(name), n.env.vars.get(name));
            if a.map(|v| &v.value) == b.map(|v| &v.value) {
                return None;
            }
            Some(VarChange {
                name: name.clone(),
                old: a.map(shown),
                new: b.map(shown),
            })
        })
        .collect()
}

fn shown(v: &EnvVar) -> Shown {
    Shown {
        value: v.display_value(false).to_string(),
        source: v.source.to_string(),
    }
}

fn database(old: &Plan, new: &Plan) -> Option<Change> {
    let url = |p: &Plan| p.database.as_ref().map(|d| d.url.redacted().to_owned());
    let raw = |p: &Plan| p.database.as_ref().map(|d| d.url.expose().to_owned());
    let settings = |p: &Plan| p.database.as_ref().map(|d| format!("{:?}", d.settings));
    if raw(old) == raw(new) && settings(old) == settings(new) {
        return None;
    }
    let none = || "(none)".to_owned();
    Some(Change {
        setting: "database".into(),
        old: url(old).unwrap_or_else(none),
        new: url(new).unwrap_or_else(none),
    })
}

/// Settings read once when `up` starts: where it listens, how it writes
/// (the output sink), the PID namespace it entered.
fn fixed(old: &Plan, new: &Plan) -> Vec<Change> {
    let socket = |p: &Plan| {
        p.settings
            .control_socket
            .as_ref()
            .map_or_else(|| "(default)".to_owned(), |s| s.display().to_string())
    };
    let format = |p: &Plan| format!("{:?}", p.settings.log_format).to_lowercase();
    [
        ("control_socket", socket(old), socket(new)),
        ("log_format", format(old), format(new)),
    ]
    .into_iter()
    .filter(|(_, a, b)| a != b)
    .map(|(s, a, b)| Change {
        setting: s.to_owned(),
        old: a,
        new: b,
    })
    .collect()
}
