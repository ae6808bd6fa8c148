//! `load`: file → text → raw config → Plan. The one entry point every command
//! uses (through `cmd::common::load_plan`).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use super::build::build;
use super::ctx::BuildCtx;
use super::{Plan, Problems};
use crate::config;
use crate::diag::{self, Locator};

/// Load `path` and build the Plan, with `os_env` as the OS environment (captured
/// once by the caller; never read again). All problems come back together.
pub fn load(path: &Path, os_env: &BTreeMap<String, String>) -> Result<Plan, Problems> {
    let text = diag::read::read_text(path).map_err(|mut p| {
        if !path.exists() {
            p.message = "cannot read the configuration: no such file (pass -c PATH or set $UAOL_SUPERVISOR_CONFIG)".into();
        }
        single(p)
    })?;
    load_text(path, &text, os_env)
}

/// [`load`] for text already read: `path` names the file in messages and its
/// directory is the base for relative paths (env files, certificates). Pure
/// apart from reading those. The fuzz target `plan` calls it directly.
pub fn load_text(
    path: &Path,
    text: &str,
    os_env: &BTreeMap<String, String>,
) -> Result<Plan, Problems> {
    let loc = Locator::new(path, text);
    let raw = config::parse(&loc, text).map_err(|all| {
        let mut problems = Problems::default();
        for p in all {
            problems.push(p.location, p.message);
        }
        problems
    })?;
    let shown_base = path.parent().map_or(PathBuf::new(), Path::to_path_buf);
    let base = if shown_base.as_os_str().is_empty() {
        std::env::current_dir().unwrap_or_default()
    } else {
        std::path::absolute(&shown_base).unwrap_or_else(|_| shown_base.clone())
    };
    let mut ctx = BuildCtx {
        loc: &loc,
        os: os_env,
        base,
        shown_base,
        problems: Problems::default(),
        warnings: Vec::new(),
        inputs: Vec::new(),
    };
    build(&mut ctx, path, raw)
}

fn single(p: diag::Problem) -> Problems {
    let mut all = Problems::default();
    all.push(p.location, p.message);
    all
}
