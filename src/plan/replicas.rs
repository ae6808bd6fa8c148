//! `replicas = N`: one `[services.NAME]` becomes N services `NAME.1` …
//! `NAME.N` when the Plan is built, so the engine, `status`, `logs` and
//! `events` need nothing new — each copy is an ordinary service with its own
//! restarts, backoff and crash-loop limit. What makes them copies: each gets
//! `REPLICA` (1-based) and, with `replica_port_base`, `REPLICA_PORT` (base +
//! index - 1), both usable as `${…}` in the service's own fields (command,
//! env, ready), so a readiness check can address its own copy. The group name
//! `NAME` stands for all copies in `depends_on` and in `start`/`stop`/`restart`.
//! Pure: the checks here only read the raw values and record problems.

use std::collections::BTreeSet;

use super::ctx::BuildCtx;
use super::Replica;
use crate::config::raw::{RawService, Str};
use crate::env::interp::Looked;
use crate::env::Source;
use crate::secret::Spans;

/// The largest `replicas` accepted: more copies than this on one host is a
/// configuration mistake more often than a plan (each is a process group
/// with its own log buffer).
pub(crate) const MAX: u32 = 64;

/// The copy's name: `worker` + 2 → `worker.2`.
pub(crate) fn name(group: &str, index: u32) -> String {
    format!("{group}.{index}")
}

/// `worker.2` → `("worker", 2)`: a name that a replicated `worker` would
/// produce (a `.` then only digits, not starting with 0).
pub(crate) fn split(name: &str) -> Option<(&str, u32)> {
    let (group, index) = name.rsplit_once('.')?;
    if group.is_empty() || index.starts_with('0') || !index.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Some((group, index.parse().ok()?))
}

/// `replicas` / `replica_port_base` of one service: `None` when it is not
/// replicated (no `replicas` key), else the count and port base. Invalid
/// values are recorded and read as 1 / no base.
pub(crate) fn spec(ctx: &mut BuildCtx, r: &RawService, n: &str) -> Option<(u32, Option<u16>)> {
    let key = |k: &str| format!("services.{n}.{k}");
    let Some(raw) = &r.replicas else {
        if let Some(b) = &r.replica_port_base {
            let msg = "set only with `replicas` (each copy gets its own port)";
            ctx.err(&b.span(), &key("replica_port_base"), msg);
        }
        return None;
    };
    let count = match u32::try_from(*raw.get_ref()) {
        Ok(c) if (1..=MAX).contains(&c) => c,
        _ => {
            let msg = format!("must be between 1 and {MAX} (got {})", raw.get_ref());
            ctx.err(&raw.span(), &key("replicas"), msg);
            1
        }
    };
    let base = r.replica_port_base.as_ref().and_then(|b| {
        let v = *b.get_ref();
        let last = v.saturating_add(i64::from(count) - 1);
        if v >= 1 && last <= 65535 {
            return u16::try_from(v).ok();
        }
        let msg = format!("{v}: the ports {v}..={last} must lie within 1..=65535");
        ctx.err(&b.span(), &key("replica_port_base"), msg);
        None
    });
    Some((count, base))
}

/// Every copy of a replicated service.
pub(crate) fn copies(group: &str, count: u32, port_base: Option<u16>) -> Vec<Replica> {
    (1..=count)
        .map(|index| Replica {
            group: group.to_string(),
            index,
            count,
            port_base,
        })
        .collect()
}

/// The variables the supervisor sets in a copy: `REPLICA`, and
/// `REPLICA_PORT` with a port base.
pub(crate) fn vars(r: &Replica) -> Vec<(&'static str, String)> {
    let mut out = vec![("REPLICA", r.index.to_string())];
    if let Some(p) = r.port() {
        out.push(("REPLICA_PORT", p.to_string()));
    }
    out
}

/// Where `REPLICA` / `REPLICA_PORT` come from.
pub(crate) fn source(r: &Replica) -> Source {
    Source::Replica {
        group: r.group.clone(),
        index: r.index,
        port_base: r.port_base,
    }
}

/// `${REPLICA}` / `${REPLICA_PORT}` for a copy's own fields (looked up before
/// anything else: the OS cannot override them).
pub(crate) fn looked(r: Option<&Replica>, var: &str) -> Option<Looked> {
    let r = r?;
    let (_, value) = vars(r).into_iter().find(|(k, _)| *k == var)?;
    Some(Looked {
        value,
        secret: Spans::default(),
        origin: source(r),
    })
}

/// Pairs `(written, group)` where a written service name is one a replicated
/// `group` produces (`worker.2` beside `worker` with `replicas`): whatever
/// the count, as a later scale-up would collide.
pub(crate) fn collisions<'a>(
    names: &[&'a str],
    replicated: &BTreeSet<&str>,
) -> Vec<(&'a str, &'a str)> {
    names
        .iter()
        .filter_map(|n| {
            let (group, _) = split(n)?;
            let g = names
                .iter()
                .find(|g| **g == group && replicated.contains(group))?;
            Some((*n, *g))
        })
        .collect()
}

/// Record a problem for each collision, naming both services.
pub(crate) fn check_collisions(ctx: &mut BuildCtx, raws: &[(&Str, bool)]) {
    let names: Vec<&str> = raws.iter().map(|(n, _)| n.get_ref().as_str()).collect();
    let replicated: BTreeSet<&str> = raws
        .iter()
        .filter(|(_, r)| *r)
        .map(|(n, _)| n.get_ref().as_str())
        .collect();
    for (written, group) in collisions(&names, &replicated) {
        let find = |name: &str| raws.iter().find(|(n, _)| n.get_ref() == name);
        let (Some((at, _)), Some((g, _))) = (find(written), find(group)) else {
            continue;
        };
        let msg = format!("this name collides with the copies of `{group}` (at {}), which has `replicas`: its copies are named `{group}.1`, `{group}.2`, …; rename one of them", ctx.loc.at(&g.span()));
        ctx.err(&at.span(), &format!("services.{written}"), msg);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_split_back() {
        assert_eq!(name("worker", 2), "worker.2");
        assert_eq!(split("worker.2"), Some(("worker", 2)));
        assert_eq!(split("a.b.12"), Some(("a.b", 12)));
        for n in ["worker", "worker.", ".2", "worker.02", "worker.x2", "v1.2a"] {
            assert_eq!(split(n), None, "{n}");
        }
    }

    #[test]
    fn copies_get_index_and_port() {
        let c = copies("worker", 3, Some(3100));
        let got: Vec<Vec<(&str, String)>> = c.iter().map(vars).collect();
        assert_eq!(
            got,
            [1, 2, 3].map(|i| vec![
                ("REPLICA", i.to_string()),
                ("REPLICA_PORT", (3099 + i).to_string())
            ])
        );
        let plain = copies("w", 2, None);
        assert_eq!(vars(&plain[1]), vec![("REPLICA", "2".to_string())]);
        assert_eq!(
            looked(Some(&c[1]), "REPLICA_PORT").map(|l| l.value),
            Some("3101".into())
        );
        assert_eq!(looked(Some(&c[1]), "PORT"), None);
        assert_eq!(looked(None, "REPLICA"), None);
    }

    #[test]
    fn collisions_only_with_replicated_groups() {
        let names = ["worker", "worker.2", "api.1", "api", "x.7"];
        let replicated: BTreeSet<&str> = ["worker", "x"].into();
        assert_eq!(
            collisions(&names, &replicated),
            vec![("worker.2", "worker")]
        );
    }
}
