//! Secret placement for command arguments. An argument built from a secret
//! (`"--token=${API_TOKEN}"`, `"${DATABASE_URL}"`) must not be written into a
//! 0644 unit or manifest, so exports write a *reference* instead, which the
//! target expands at start: `${VAR}` in systemd's `ExecStart=` (from the
//! 0600 EnvironmentFile), `$(VAR)` in a Kubernetes command (from an env
//! entry with a `secretKeyRef`).
//!
//! The Plan knows which bytes of each argument are secret and which
//! variable brought them in ([`crate::plan::ServicePlan::argv_secret`]). Each
//! secret part is replaced by a reference to that variable when the
//! service's exported environment holds it with exactly the text that was
//! interpolated; otherwise (the variable is not exported, was overridden, or
//! the secret is a literal URL password) the whole argument moves into a
//! generated variable, `UAOL_ARG_<index>`, written beside the others.
//!
//! A generated name must never be one the service sets itself: it would
//! overwrite the service's value (or be shadowed by it) in the env file and,
//! once the process runs, in its environment. So the prefix is the first of
//! `UAOL_ARG_`, `UAOL_ARG2_`, `UAOL_ARG3_`, … that no variable of the
//! service (of any copy, for a replicated one: a template's `ExecStart=`
//! is shared) starts with ([`prefix`]).

use std::ops::Range;

use super::exported_vars;
use crate::plan::ServicePlan;

/// One piece of an exported argument.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Piece {
    /// Text written as is (after the target's escaping).
    Lit(String),
    /// A reference to a variable of the service's (exported) environment.
    Var(String),
}

/// The arguments as exports write them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Args {
    /// One entry per `argv` element.
    pub argv: Vec<Vec<Piece>>,
    /// Generated variables (name, value): secret, written only where secrets go.
    pub extra: Vec<(String, String)>,
    /// The prefix of the generated names ([`prefix`]).
    pub prefix: String,
}

impl Args {
    /// The name of the generated variable for argument `i`: `UAOL_ARG_3`.
    pub(crate) fn generated_name(&self, i: usize) -> String {
        format!("{}{i}", self.prefix)
    }

    /// Every variable a reference names, each once.
    pub(crate) fn referenced(&self) -> Vec<&str> {
        let mut out: Vec<&str> = Vec::new();
        for p in self.argv.iter().flatten() {
            if let Piece::Var(n) = p {
                if !out.contains(&n.as_str()) {
                    out.push(n);
                }
            }
        }
        out
    }
}

/// The prefix of generated names for `services` (one service, or every
/// copy of a replicated one): `UAOL_ARG_`, else `UAOL_ARG2_`, `UAOL_ARG3_`,
/// … the first that none of their variables starts with — whatever its
/// source, so a name the service reads from anywhere is never taken.
pub(crate) fn prefix<'a>(services: impl IntoIterator<Item = &'a ServicePlan>) -> String {
    let names: Vec<&str> = services
        .into_iter()
        .flat_map(|s| s.env.vars.keys().map(String::as_str))
        .collect();
    let free = |p: &String| !names.iter().any(|n| n.starts_with(p.as_str()));
    let first = "UAOL_ARG_".to_string();
    if free(&first) {
        return first;
    }
    // At most `names.len()` prefixes can be taken, so one of these is free.
    (2..=names.len() + 2)
        .map(|k| format!("UAOL_ARG{k}_"))
        .find(free)
        .unwrap_or_else(|| format!("UAOL_ARG{}_", names.len() + 3))
}

/// Plan the exported form of `svc`'s argv.
pub(crate) fn plan(svc: &ServicePlan) -> Args {
    plan_with(svc, prefix([svc]))
}

/// [`plan`] with generated names starting with `prefix` (a template's,
/// chosen over every copy).
pub(crate) fn plan_with(svc: &ServicePlan, prefix: String) -> Args {
    let mut out = Args {
        prefix,
        ..Args::default()
    };
    for (i, arg) in svc.argv.iter().enumerate() {
        let secret = svc.argv_secret.get(i).filter(|s| s.is_secret());
        let Some(secret) = secret else {
            out.argv.push(vec![Piece::Lit(arg.clone())]);
            continue;
        };
        match references(svc, arg, secret) {
            Some(pieces) => out.argv.push(pieces),
            None => {
                let name = out.generated_name(i);
                out.extra.push((name.clone(), arg.clone()));
                out.argv.push(vec![Piece::Var(name)]);
            }
        }
    }
    out
}

/// `arg` with each secret part replaced by a reference to the variable it
/// came from, or `None` when some part cannot be.
fn references(svc: &ServicePlan, arg: &str, secret: &crate::secret::Spans) -> Option<Vec<Piece>> {
    let mut refs: Vec<(Range<usize>, String)> = Vec::new();
    for part in secret.parts() {
        if refs.iter().any(|(r, _)| covers(r, &part.range)) {
            continue;
        }
        let name = part.from.as_deref()?;
        let value = exported_vars(&svc.env)
            .find(|(k, _)| *k == name)
            .map(|(_, v)| v.value.as_str())
            .filter(|v| !v.is_empty())?;
        let (at, _) = arg.match_indices(value).find(|(at, _)| {
            let r = *at..at + value.len();
            covers(&r, &part.range)
        })?;
        refs.push((at..at + value.len(), name.to_string()));
    }
    refs.sort_by_key(|(r, _)| r.start);
    if refs.windows(2).any(|w| w[0].0.end > w[1].0.start) {
        return None;
    }
    let mut pieces = Vec::new();
    let mut at = 0;
    for (r, name) in refs {
        if r.start > at {
            pieces.push(Piece::Lit(arg[at..r.start].to_string()));
        }
        pieces.push(Piece::Var(name));
        at = r.end;
    }
    if at < arg.len() {
        pieces.push(Piece::Lit(arg[at..].to_string()));
    }
    Some(pieces)
}

fn covers(outer: &Range<usize>, inner: &Range<usize>) -> bool {
    outer.start <= inner.start && inner.end <= outer.end
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::export::testplan;

    #[test]
    fn secret_parts_become_references_or_a_generated_variable() {
        let p = testplan::plan();
        let args = plan(p.service("migrate").expect("migrate"));
        assert_eq!(args.argv[0], vec![Piece::Lit("node".into())]);
        assert_eq!(args.argv[1], vec![Piece::Lit("migrate.js".into())]);
        assert_eq!(
            args.argv[2],
            vec![
                Piece::Lit("--url=".into()),
                Piece::Var("DATABASE_URL".into())
            ]
        );
        // A literal URL password has no variable to point at.
        assert_eq!(args.argv[3], vec![Piece::Var("UAOL_ARG_3".into())]);
        assert_eq!(args.extra.len(), 1);
        assert_eq!(args.extra[0].0, "UAOL_ARG_3");
        assert_eq!(args.referenced(), ["DATABASE_URL", "UAOL_ARG_3"]);
    }

    #[test]
    fn an_overridden_variable_is_not_referenced() {
        let p = testplan::plan();
        let mut svc = p.service("auth-service").expect("auth").clone();
        // The env now holds another JWT_SECRET than the one interpolated.
        if let Some(v) = svc.env.vars.get_mut("JWT_SECRET") {
            v.value = "another-value-456".into();
        }
        let args = plan(&svc);
        assert_eq!(args.argv[3], vec![Piece::Var("UAOL_ARG_3".into())]);
        assert_eq!(
            args.extra,
            vec![("UAOL_ARG_3".to_string(), "jwt-signing-key-123".to_string())]
        );
        // Unchanged, it is referenced by name and nothing is generated.
        let args = plan(p.service("auth-service").expect("auth"));
        assert_eq!(args.argv[3], vec![Piece::Var("JWT_SECRET".into())]);
        assert!(args.extra.is_empty());
    }

    #[test]
    fn generated_names_avoid_every_name_the_service_has() {
        let p = testplan::plan();
        let mut svc = p.service("migrate").expect("migrate").clone();
        assert_eq!(prefix([&svc]), "UAOL_ARG_");
        let mut set = |name: &str, value: &str| {
            let mut v = svc.env.vars["NODE_ENV"].clone();
            v.value = value.into();
            svc.env.vars.insert(name.into(), v);
        };
        set("UAOL_ARG_3", "the service's own");
        set("UAOL_ARG2_X", "also taken");
        set("UAOL_ARG", "not in the space");
        let args = plan(&svc);
        assert_eq!(args.prefix, "UAOL_ARG3_");
        assert_eq!(args.argv[3], vec![Piece::Var("UAOL_ARG3_3".into())]);
        assert_eq!(args.extra[0].0, "UAOL_ARG3_3");
        // Over several services (a template's copies): free in all of them.
        let other = p.service("auth-service").expect("auth");
        assert_eq!(prefix([other, &svc]), "UAOL_ARG3_");
        assert_eq!(prefix([other]), "UAOL_ARG_");
    }
}
