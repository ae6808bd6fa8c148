//! Typed service options: backoff, readiness, stop signal, memory limit and
//! log file — each read from its raw form with its own checks and defaults.

use std::time::Duration;

use nix::sys::signal::Signal;
use toml::Spanned;

use super::ctx::{BuildCtx, Lookup};
use super::{command, Backoff, LogFile, ReadyCheck, ReadyKind};
use crate::config::raw::{RawBackoff, RawCommand, RawLogFile, RawNumOrString, RawReady};
use crate::config::units;

/// `backoff = { initial, max, factor, reset_after }`.
pub(super) fn backoff(ctx: &mut BuildCtx, raw: &Option<Spanned<RawBackoff>>, key: &str) -> Backoff {
    let d = Backoff::default();
    let Some(b) = raw else { return d };
    let r = b.get_ref();
    let out = Backoff {
        initial: ctx.duration(&r.initial, &format!("{key}.initial"), d.initial),
        max: ctx.duration(&r.max, &format!("{key}.max"), d.max),
        factor: r.factor.as_ref().map_or(d.factor, |f| *f.get_ref()),
        reset_after: ctx.duration(&r.reset_after, &format!("{key}.reset_after"), d.reset_after),
    };
    if let Some(f) = &r.factor {
        if !(1.0..=100.0).contains(f.get_ref()) {
            ctx.err(
                &f.span(),
                &format!("{key}.factor"),
                "must be between 1.0 and 100.0",
            );
        }
    }
    if out.initial > out.max {
        ctx.err(&b.span(), key, "`initial` is longer than `max`");
    }
    out
}

/// `ready = { http | tcp | exec | log, interval, timeout }`. `oneshot` is the
/// span of `oneshot = true`, if set: readiness has no meaning for a oneshot.
pub(super) fn ready(
    ctx: &mut BuildCtx,
    raw: &Option<Spanned<RawReady>>,
    key: &str,
    lookup: Lookup,
    oneshot: Option<&Spanned<bool>>,
) -> Option<ReadyCheck> {
    let r = raw.as_ref()?;
    if oneshot.is_some() {
        ctx.err(
            &r.span(),
            key,
            "conflicts with `oneshot = true` (dependents of a oneshot wait for \"completed\")",
        );
    }
    let rr = r.get_ref();
    let kinds = [
        rr.http.is_some(),
        rr.tcp.is_some(),
        rr.exec.is_some(),
        rr.log.is_some(),
    ];
    if kinds.iter().filter(|k| **k).count() != 1 {
        ctx.err(
            &r.span(),
            key,
            "needs exactly one of `http`, `tcp`, `exec` or `log`",
        );
        return None;
    }
    let kind = ready_kind(ctx, rr, key, lookup)?;
    Some(ReadyCheck {
        kind,
        interval: ctx.duration(
            &rr.interval,
            &format!("{key}.interval"),
            Duration::from_millis(250),
        ),
        timeout: ctx.duration(
            &rr.timeout,
            &format!("{key}.timeout"),
            Duration::from_secs(30),
        ),
    })
}

fn ready_kind(ctx: &mut BuildCtx, rr: &RawReady, key: &str, lookup: Lookup) -> Option<ReadyKind> {
    if let Some(h) = &rr.http {
        let k = format!("{key}.http");
        let url = ctx.interp(h, &k, lookup)?;
        let rest = url.strip_prefix("http://");
        if rest.is_none_or(|r| r.is_empty() || r.starts_with('/')) {
            ctx.err(
                &h.span(),
                &k,
                "expected an http:// URL with a host, e.g. \"http://127.0.0.1:3001/health\"",
            );
        }
        return Some(ReadyKind::Http(url));
    }
    if let Some(t) = &rr.tcp {
        let k = format!("{key}.tcp");
        let addr = ctx.interp(t, &k, lookup)?;
        let port_ok = addr
            .rsplit_once(':')
            .is_some_and(|(h, p)| !h.is_empty() && p.parse::<u16>().is_ok_and(|p| p > 0));
        if !port_ok {
            ctx.err(&t.span(), &k, "expected host:port, e.g. \"127.0.0.1:3001\"");
        }
        return Some(ReadyKind::Tcp(addr));
    }
    if let Some(e) = &rr.exec {
        let k = format!("{key}.exec");
        let argv = match e.get_ref() {
            RawCommand::Line(l) => {
                command::split(&ctx.interp(&Spanned::new(e.span(), l.clone()), &k, lookup)?)
            }
            RawCommand::Argv(a) => Ok(a.iter().filter_map(|s| ctx.interp(s, &k, lookup)).collect()),
        };
        return match argv {
            Ok(a) if !a.is_empty() => Some(ReadyKind::Exec(a)),
            Ok(_) => {
                ctx.err(&e.span(), &k, "the command is empty");
                None
            }
            Err(why) => {
                ctx.err(&e.span(), &k, why);
                None
            }
        };
    }
    let l = rr.log.as_ref()?;
    if let Err(e) = regex_lite::Regex::new(l.get_ref()) {
        let first = e.to_string().lines().last().unwrap_or_default().to_string();
        ctx.err(
            &l.span(),
            &format!("{key}.log"),
            format!("invalid regex: {first}"),
        );
    }
    Some(ReadyKind::Log(l.get_ref().clone()))
}

/// `stop_signal`: a name or number.
pub(super) fn stop_signal(
    ctx: &mut BuildCtx,
    raw: &Option<Spanned<RawNumOrString>>,
    key: &str,
) -> Option<Signal> {
    let s = raw.as_ref()?;
    let parsed = match s.get_ref() {
        RawNumOrString::Str(t) => units::parse_signal(t),
        RawNumOrString::Int(n) => units::signal_number(*n),
    };
    parsed.map_err(|e| ctx.err(&s.span(), key, e)).ok()
}

/// `max_memory`: a size string or a number of bytes; must be > 0.
pub(super) fn max_memory(
    ctx: &mut BuildCtx,
    raw: &Option<Spanned<RawNumOrString>>,
    key: &str,
) -> Option<u64> {
    let s = raw.as_ref()?;
    size(ctx, s, key)
}

fn size(ctx: &mut BuildCtx, s: &Spanned<RawNumOrString>, key: &str) -> Option<u64> {
    let parsed = match s.get_ref() {
        RawNumOrString::Str(t) => units::parse_size(t),
        RawNumOrString::Int(n) => u64::try_from(*n).map_err(|_| units::UnitError::NegativeSize),
    };
    match parsed {
        Ok(0) => {
            ctx.err(&s.span(), key, "must be greater than zero");
            None
        }
        Ok(n) => Some(n),
        Err(e) => {
            ctx.err(&s.span(), key, e);
            None
        }
    }
}

/// `log_file = { path, max_size = "50MiB", keep = 5 }`.
pub(super) fn log_file(
    ctx: &mut BuildCtx,
    raw: &Option<Spanned<RawLogFile>>,
    key: &str,
) -> Option<LogFile> {
    let l = raw.as_ref()?.get_ref();
    if l.path.get_ref().trim().is_empty() {
        ctx.err(&l.path.span(), &format!("{key}.path"), "the path is empty");
    }
    let max_size = match &l.max_size {
        Some(s) => size(ctx, s, &format!("{key}.max_size")).unwrap_or(1),
        None => 50 * 1024 * 1024,
    };
    Some(LogFile {
        path: ctx.abs(l.path.get_ref()),
        max_size,
        keep: l.keep.as_ref().map_or(5, |k| *k.get_ref()),
    })
}
