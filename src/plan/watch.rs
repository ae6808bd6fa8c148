//! `watch` and `watch_ignore`: what `up --watch` restarts a service for.
//! Paths are relative to the service's `cwd` (itself relative to the config
//! directory), because that is where `src` and `package.json` are for the
//! program that runs there — as nodemon and `tsx watch` read them. `${VAR}`
//! works as in `cwd`. A path that does not exist yet is a warning, not an
//! error: `up` without `--watch` never reads these keys, and the watcher
//! notices the path when it is created.

use std::path::{Path, PathBuf};

use super::ctx::{BuildCtx, Lookup};
use super::WatchPaths;
use crate::config::raw::RawService;

/// Always ignored (then `watch_ignore` adds more): version control, installed
/// packages, and the files editors write beside the one being edited (vim's
/// swap files and its `4913` write test, emacs' `.#lock` and `file~` backups).
pub const DEFAULT_IGNORE: &[&str] = &[
    ".git",
    "node_modules",
    "*.swp",
    "*.swo",
    "*.swx",
    "*~",
    ".#*",
    "4913",
];

/// The service's `watch` paths (absolute) and ignore globs; `None` without `watch`.
pub(super) fn paths(
    ctx: &mut BuildCtx,
    r: &RawService,
    cwd: &Path,
    key: &str,
    lookup: Lookup,
) -> Option<WatchPaths> {
    let ignore_key = format!("{key}_ignore");
    let mut ignore: Vec<String> = DEFAULT_IGNORE.iter().map(|s| s.to_string()).collect();
    for g in r.watch_ignore.iter().flatten() {
        if g.get_ref().trim().is_empty() {
            ctx.err(&g.span(), &ignore_key, "an empty pattern");
        } else {
            ignore.push(g.get_ref().clone());
        }
    }
    let Some(list) = &r.watch else {
        if let Some(g) = r.watch_ignore.iter().flatten().next() {
            ctx.warn(&g.span(), &ignore_key, "has no effect without `watch`");
        }
        return None;
    };
    let mut paths: Vec<PathBuf> = Vec::new();
    for p in list {
        if p.get_ref().trim().is_empty() {
            ctx.err(
                &p.span(),
                key,
                "an empty path (write \".\" for the whole directory)",
            );
            continue;
        }
        let Some(rel) = ctx.interp(p, key, lookup) else {
            continue;
        };
        let abs = std::path::absolute(cwd.join(&rel)).unwrap_or_else(|_| cwd.join(&rel));
        if !abs.exists() {
            let what = format!("{} does not exist (yet): watching for it", abs.display());
            ctx.warn(&p.span(), key, what);
        }
        paths.push(abs);
    }
    Some(WatchPaths { paths, ignore })
}
