//! `depends_on` across services: unknown names (with "did you mean"),
//! conditions checked against the dependency (`completed` needs a oneshot),
//! default conditions, cycles named, and the start order. A dependency on a
//! replicated service (`worker`) is a dependency on each of its copies.

use std::collections::BTreeMap;

use super::ctx::BuildCtx;
use super::graph::{show_cycle, start_order, DependsOn};
use super::service::Built;
use super::{Condition, Dependency, ServicePlan};
use crate::diag::suggest;

/// Replicated services by group name → their copies' names, in order: a
/// dependency on the group waits for every copy.
fn groups(built: &[Built]) -> BTreeMap<String, Vec<String>> {
    let mut out: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for b in built {
        if let Some(r) = &b.plan.replica {
            out.entry(r.group.clone())
                .or_default()
                .push(b.plan.name.clone());
        }
    }
    out
}

/// Fill every service's `depends_on` and return the services in start order.
/// The default condition is `completed` for a oneshot dependency, else `ready`
/// (which is `started` for a service without a readiness check).
pub(super) fn order(ctx: &mut BuildCtx, mut built: Vec<Built>) -> Vec<ServicePlan> {
    let oneshot: BTreeMap<String, bool> = built
        .iter()
        .map(|b| (b.plan.name.clone(), b.plan.oneshot))
        .collect();
    let groups = groups(&built);
    let names: Vec<&str> = oneshot
        .keys()
        .chain(groups.keys())
        .map(String::as_str)
        .collect();
    for b in &mut built {
        let mut deps = Vec::new();
        let owner = b.plan.replica.as_ref().map_or(&b.plan.name, |r| &r.group);
        let key = format!("services.{owner}.depends_on");
        for (dep, cond) in &b.deps {
            let d = dep.get_ref();
            if deps.iter().any(|x: &Dependency| &x.name == d) {
                ctx.err(&dep.span(), &key, format!("`{d}` is listed twice"));
                continue;
            }
            let members = match groups.get(d) {
                Some(m) => m.clone(),
                None => vec![d.clone()],
            };
            for d in &members {
                let Some(&dep_oneshot) = oneshot.get(d) else {
                    let hint = suggest::did_you_mean(d, names.iter().copied());
                    ctx.err(&dep.span(), &key, format!("unknown service `{d}`{hint}"));
                    continue;
                };
                let condition = match cond {
                    Some(c) if *c.get_ref() == Condition::Completed && !dep_oneshot => {
                        let msg = format!("`{d}` is not a oneshot, so it never reaches \"completed\" (use \"ready\" or \"started\", or set oneshot = true on it)");
                        ctx.err(&c.span(), &format!("{key}.{}", dep.get_ref()), msg);
                        Condition::Ready
                    }
                    Some(c) => *c.get_ref(),
                    None if dep_oneshot => Condition::Completed,
                    None => Condition::Ready,
                };
                deps.push(Dependency {
                    name: d.clone(),
                    condition,
                });
            }
        }
        b.plan.depends_on = deps;
    }
    let graph: DependsOn = built
        .iter()
        .map(|b| {
            (
                b.plan.name.as_str(),
                b.plan.depends_on.iter().map(|d| d.name.as_str()).collect(),
            )
        })
        .collect();
    let order: Vec<String> = match start_order(&graph) {
        Ok(o) => o.into_iter().map(String::from).collect(),
        Err(cycles) => {
            for c in &cycles {
                // Point at the edge that starts the cycle: c[0]'s entry for c[1].
                let edge = built.iter().find(|b| b.plan.name == c[0]).and_then(|b| {
                    let dep = b.deps.iter().find(|(d, _)| d.get_ref() == c[1]);
                    dep.map(|(d, _)| d.span()).or(Some(b.span.clone()))
                });
                let key = format!("services.{}.depends_on", c[0]);
                ctx.err(
                    &edge.unwrap_or_default(),
                    &key,
                    format!("dependency cycle: {}", show_cycle(c)),
                );
            }
            return built.into_iter().map(|b| b.plan).collect();
        }
    };
    let mut by_name: BTreeMap<String, ServicePlan> = built
        .into_iter()
        .map(|b| (b.plan.name.clone(), b.plan))
        .collect();
    order.iter().filter_map(|n| by_name.remove(n)).collect()
}
