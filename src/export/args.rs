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
}

impl Args {
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

/// The name of the generated variable for argument `i`.
pub(crate) fn generated_name(i: usize) -> String {
    format!("UAOL_ARG_{i}")
}

/// Plan the exported form of `svc`'s argv.
pub(crate) fn plan(svc: &ServicePlan) -> Args {
    let mut out = Args::default();
    for (i, arg) in svc.argv.iter().enumerate() {
        let secret = svc.argv_secret.get(i).filter(|s| s.is_secret());
        let Some(secret) = secret else {
            out.argv.push(vec![Piece::Lit(arg.clone())]);
            continue;
        };
        match references(svc, arg, secret) {
            Some(pieces) => out.argv.push(pieces),
            None => {
                let name = generated_name(i);
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
}
