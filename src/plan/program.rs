//! A service's program and working directory: the command (string split or
//! array, or `/bin/sh -c` with `shell = true`) interpolated, then `argv[0]`
//! resolved with the service's own PATH, relative to its `cwd`, and what it
//! needs to run (its `#!` interpreter or dynamic loader) checked.

use std::ops::Range;
use std::path::{Path, PathBuf};

use toml::Spanned;

use super::ctx::{BuildCtx, Lookup};
use super::{command, interpreter};
use crate::config::raw::{RawCommand, RawService};
use crate::secret::{classify, Spans};

/// `cwd`, absolute; must be an existing directory. Default: the config directory.
pub(super) fn cwd(ctx: &mut BuildCtx, r: &RawService, key: &str, lookup: Lookup) -> PathBuf {
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

/// argv, each argument's secret parts (what `${NAME}` brought in from a
/// secret, or a URL password), and the resolved program (empty on error,
/// after recording it).
pub(super) fn argv(
    ctx: &mut BuildCtx,
    r: &RawService,
    table: Range<usize>,
    key: &str,
    lookup: Lookup,
    path: Option<&str>,
    cwd: &Path,
) -> (Vec<String>, Vec<Spans>, PathBuf) {
    let Some(cmd) = &r.command else {
        ctx.err(
            &table,
            key.trim_end_matches(".command"),
            "`command` is required",
        );
        return Default::default();
    };
    let shell = r.shell.as_ref().is_some_and(|s| *s.get_ref());
    let args = match cmd.get_ref() {
        RawCommand::Line(line) => {
            let line = ctx.interp_traced(&Spanned::new(cmd.span(), line.clone()), key, lookup);
            match line {
                Some(l) if shell && !l.value.trim().is_empty() => Ok(vec![
                    ("/bin/sh".into(), Spans::default()),
                    ("-c".into(), Spans::default()),
                    (l.value, l.secret),
                ]),
                Some(l) if shell => Ok(vec![(l.value, l.secret)]),
                Some(l) => command::split_traced(&l.value)
                    .map_err(|e| e.to_string())
                    .map(|words| {
                        words
                            .into_iter()
                            .map(|w| {
                                let spans = w.spans(&l.secret);
                                (w.text, spans)
                            })
                            .collect()
                    }),
                None => return Default::default(),
            }
        }
        RawCommand::Argv(_) if shell => {
            Err("`shell = true` needs the command as one string".to_string())
        }
        RawCommand::Argv(args) => Ok(args
            .iter()
            .filter_map(|a| ctx.interp_traced(a, key, lookup))
            .map(|t| (t.value, t.secret))
            .collect()),
    };
    let (argv, spans): (Vec<String>, Vec<Spans>) = match args {
        Ok(a) => a
            .into_iter()
            .map(|(arg, s)| {
                let s = classify("", &arg, &s);
                (arg, s)
            })
            .unzip(),
        Err(e) => {
            ctx.err(&cmd.span(), key, e);
            return Default::default();
        }
    };
    if argv.first().is_none_or(|a| a.trim().is_empty()) {
        ctx.err(&cmd.span(), key, "the command is empty");
        return (argv, spans, PathBuf::new());
    }
    match command::resolve(&argv[0], path, cwd) {
        Ok(p) => {
            if let Some(why) = interpreter::problem(&p, cwd, path) {
                ctx.err(&cmd.span(), key, format!("cannot execute: {why}"));
            }
            (argv, spans, p)
        }
        Err(e) => {
            // The message names the program as written: show it as any value.
            let shown = spans
                .first()
                .map_or(argv[0].clone(), |s| s.display(&argv[0]));
            let e = e.to_string().replace(&argv[0], &shown);
            ctx.err(&cmd.span(), key, format!("command not found: {e}"));
            (argv, spans, PathBuf::new())
        }
    }
}
