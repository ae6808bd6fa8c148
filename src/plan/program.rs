//! A service's program and working directory: the command (string split or
//! array, or `/bin/sh -c` with `shell = true`) interpolated, then `argv[0]`
//! resolved with the service's own PATH, relative to its `cwd`, and what it
//! needs to run (its `#!` interpreter or dynamic loader) checked.

use std::ops::Range;
use std::path::{Path, PathBuf};

use toml::Spanned;

use super::ctx::Ctx;
use super::{command, interpreter};
use crate::config::raw::{RawCommand, RawService};

/// `cwd`, absolute; must be an existing directory. Default: the config directory.
pub fn cwd(
    ctx: &mut Ctx,
    r: &RawService,
    key: &str,
    lookup: &dyn Fn(&str) -> Option<String>,
) -> PathBuf {
    let Some(c) = &r.cwd else {
        return ctx.base.clone();
    };
    let Some(rel) = ctx.interp(c, key, lookup) else {
        return ctx.base.clone();
    };
    let dir = ctx.abs(&rel);
    match std::fs::metadata(&dir) {
        Ok(m) if m.is_dir() => {}
        Ok(_) => ctx.err(
            &c.span(),
            key,
            format!("{} is not a directory", dir.display()),
        ),
        Err(_) => ctx.err(
            &c.span(),
            key,
            format!("directory {} does not exist", dir.display()),
        ),
    }
    dir
}

/// argv and the resolved program (empty on error, after recording it).
pub fn argv(
    ctx: &mut Ctx,
    r: &RawService,
    table: Range<usize>,
    key: &str,
    lookup: &dyn Fn(&str) -> Option<String>,
    path: Option<&str>,
    cwd: &Path,
) -> (Vec<String>, PathBuf) {
    let Some(cmd) = &r.command else {
        ctx.err(
            &table,
            key.trim_end_matches(".command"),
            "`command` is required",
        );
        return (Vec::new(), PathBuf::new());
    };
    let shell = r.shell.as_ref().is_some_and(|s| *s.get_ref());
    let argv = match cmd.get_ref() {
        RawCommand::Line(line) => {
            let line = ctx.interp(&Spanned::new(cmd.span(), line.clone()), key, lookup);
            match line {
                Some(l) if shell && !l.trim().is_empty() => {
                    Ok(vec!["/bin/sh".into(), "-c".into(), l])
                }
                Some(l) if shell => Ok(vec![l]),
                Some(l) => command::split(&l),
                None => return (Vec::new(), PathBuf::new()),
            }
        }
        RawCommand::Argv(_) if shell => {
            Err("`shell = true` needs the command as one string".to_string())
        }
        RawCommand::Argv(args) => Ok(args
            .iter()
            .filter_map(|a| ctx.interp(a, key, lookup))
            .collect()),
    };
    let argv = match argv {
        Ok(a) => a,
        Err(e) => {
            ctx.err(&cmd.span(), key, e);
            return (Vec::new(), PathBuf::new());
        }
    };
    if argv.first().is_none_or(|a| a.trim().is_empty()) {
        ctx.err(&cmd.span(), key, "the command is empty");
        return (argv, PathBuf::new());
    }
    match command::resolve(&argv[0], path, cwd) {
        Ok(p) => {
            if let Some(why) = interpreter::problem(&p, cwd, path) {
                ctx.err(&cmd.span(), key, format!("cannot execute: {why}"));
            }
            (argv, p)
        }
        Err(e) => {
            ctx.err(&cmd.span(), key, format!("command not found: {e}"));
            (argv, PathBuf::new())
        }
    }
}
