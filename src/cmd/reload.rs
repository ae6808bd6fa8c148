//! `reload [--dry-run] [--json]`: ask the running `up` to read its
//! configuration again. Prints the Plan diff (what changed per service, each
//! variable with old → new source, values under the secret rules) and what
//! was done. A refused reload (problems in the new configuration, a database
//! that fails the probe) exits like `check` would: 3, or the probe's code.

use std::process::ExitCode;
use std::time::Duration;

use crate::cli::{Cli, ReloadArgs};
use crate::cmd::control::{candidates, kind_code, print_out};
use crate::control::client;
use crate::control::protocol::{ReloadResult, Request, Response};
use crate::exit;
use crate::plan::diff_render;

/// A reload waits for its restarts to settle (and maybe a database probe).
const RELOAD_TIMEOUT: Duration = Duration::from_secs(900);

/// Run `reload`.
pub(crate) fn run(cli: &Cli, args: &ReloadArgs) -> ExitCode {
    exit::code(reload(cli, args))
}

fn reload(cli: &Cli, args: &ReloadArgs) -> u8 {
    let candidates = match candidates(cli, args.socket.as_deref()) {
        Ok(c) => c,
        Err(code) => return code,
    };
    let req = Request::Reload {
        dry_run: args.dry_run,
    };
    let r = match client::call(&candidates, &req, RELOAD_TIMEOUT) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: {e}");
            return exit::NO_SUPERVISOR;
        }
    };
    if args.json {
        print_out(&format!(
            "{}\n",
            serde_json::to_string(&r).unwrap_or_default()
        ));
    }
    let code = answer_code(&r);
    if !args.json {
        if let Some(e) = &r.error {
            eprintln!("error: {e}");
        }
        match &r.reload {
            Some(res) if !res.problems.is_empty() => {
                res.problems.iter().for_each(|p| eprintln!("{p}"));
            }
            Some(res) => print_out(&human(res)),
            None => {}
        }
    }
    code
}

fn answer_code(r: &Response) -> u8 {
    if r.ok {
        return exit::OK;
    }
    r.exit_code.unwrap_or_else(|| kind_code(r.kind))
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
