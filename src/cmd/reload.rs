//! `reload [--dry-run] [--json]`: ask the running `up` to read its
//! configuration again. Prints the Plan diff (what changed per service, each
//! variable with old → new source, values under the secret rules) and what
//! was done. A refused reload (problems in the new configuration, a database
//! that fails the probe) exits like `check` would: 3, or the probe's code.
//! An applied reload whose started or restarted service did not come up
//! prints everything it did, then the failure, and exits 8 like `restart`.

use std::time::Duration;

use super::Outcome;
use crate::cli::{Cli, ReloadArgs};
use crate::cmd::remote::{answer_code, candidates, print_out};
use crate::control::client;
use crate::control::protocol::{ReloadResult, Request};
use crate::error::Error;
use crate::exit;
use crate::plan::diff_render;

/// A reload waits for its restarts to settle (and maybe a database probe).
const RELOAD_TIMEOUT: Duration = Duration::from_secs(900);

/// Run `reload`.
pub(crate) fn run(cli: &Cli, args: &ReloadArgs) -> Outcome {
    let candidates = candidates(cli, args.socket.as_deref())?;
    let req = Request::Reload {
        dry_run: args.dry_run,
    };
    let r = client::call(&candidates, &req, RELOAD_TIMEOUT).map_err(Error::ReloadClient)?;
    let code = answer_code(&r);
    if args.json {
        print_out(&format!(
            "{}\n",
            serde_json::to_string(&r).unwrap_or_default()
        ));
        return Ok(code);
    }
    let problems = match r.reload.as_deref() {
        Some(res) if !res.problems.is_empty() => res.problems.clone(),
        Some(res) => {
            print_out(&human(res));
            Vec::new()
        }
        None => Vec::new(),
    };
    if r.error.is_none() && problems.is_empty() && code == exit::OK {
        return Ok(code);
    }
    Err(Error::Reload {
        error: r.error,
        problems,
        code,
    })
}

/// The diff, then what was done.
pub(crate) fn human(r: &ReloadResult) -> String {
    let mut out = String::new();
    for w in &r.warnings {
        out.push_str(&format!("warning: {w}\n"));
    }
    out.push_str(&diff_render::human(&r.diff));
    if r.dry_run {
        out.push_str("dry run: nothing was changed\n");
        return out;
    }
    for a in &r.actions {
        out.push_str(&format!("{}\n", a.message));
    }
    out.push_str(&format!("plan generation {}\n", r.generation));
    out
}
