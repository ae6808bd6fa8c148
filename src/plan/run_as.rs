//! `user` / `group` → [`RunAs`]: names or numeric ids resolved against the
//! passwd and group databases of the machine the Plan is built on, once, so
//! the child only switches to plain numbers (no NSS lookup after fork).
//!
//! Semantics follow systemd's `User=` / `Group=`: the primary group is the
//! user's own unless `group` is set; the supplementary groups are the user's
//! (like `initgroups`); with only `group` set the uid is kept. A numeric id
//! needs no entry (like `docker run --user 1234:1234`), but a uid without one
//! has no primary group, so `group` must then be set too. Whether *this*
//! process may switch is not decided here (exports are built anywhere): see
//! `privilege`.

use std::ffi::CString;

use nix::unistd::{getgrouplist, Gid, Group, Uid, User};
use toml::Spanned;

use super::ctx::BuildCtx;
use super::RunAs;
use crate::config::raw::{RawNumOrString, RawService};
use crate::env::Source;

/// A `user` or `group` value: a name or a numeric id.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Spec {
    Id(u32),
    Name(String),
}

/// Resolve `user` / `group`; `None` when neither is set or (after recording
/// the problem) when one cannot be resolved.
pub(super) fn run_as(ctx: &mut BuildCtx, r: &RawService, service: &str) -> Option<RunAs> {
    let key = |k: &str| format!("services.{service}.{k}");
    let user = spec(ctx, r.user.as_ref(), &key("user"));
    let group = spec(ctx, r.group.as_ref(), &key("group"));
    let at = match (&r.user, &r.group) {
        (Some(u), _) => ctx.loc.at(&u.span()),
        (None, Some(g)) => ctx.loc.at(&g.span()),
        (None, None) => return None,
    };
    // Both are resolved before giving up, so both problems are reported.
    let gid = match (&group, &r.group) {
        (Some(Some(g)), Some(raw)) => group_id(ctx, g, raw, &key("group")).map(Some).ok_or(()),
        (Some(None), _) => Ok(None),
        _ => Err(()),
    };
    let (user, group) = (user?, group?);
    let mut out = RunAs {
        user: user.as_ref().map(written),
        group: group.as_ref().map(written),
        login: None,
        home: None,
        uid: None,
        gid: 0,
        groups: Vec::new(),
        at,
    };
    match (&user, &r.user) {
        (Some(u), Some(raw)) => {
            let resolved = with_user(ctx, &mut out, u, raw, gid.unwrap_or(None), &key("user"));
            gid.ok().and(resolved)?;
        }
        _ => {
            let gid = gid.ok().flatten()?;
            out.gid = gid;
            out.groups = vec![gid];
        }
    }
    Some(out)
}

/// The variables the target user brings (`HOME`, `USER`, `LOGNAME`, as
/// login(1) and systemd set them), with their provenance. Empty with only
/// `group` set.
pub(super) fn user_env(r: &RunAs) -> Vec<(&'static str, String, Source)> {
    let Some(uid) = r.uid else {
        return Vec::new();
    };
    let source = Source::User {
        name: r.login.clone().unwrap_or_else(|| uid.to_string()),
        passwd: r.login.is_some(),
    };
    let login = r.login.clone().unwrap_or_else(|| uid.to_string());
    let home = r.home.clone().unwrap_or_else(|| "/".to_string());
    vec![
        ("HOME", home, source.clone()),
        ("LOGNAME", login.clone(), source.clone()),
        ("USER", login, source),
    ]
}

fn written(s: &Spec) -> String {
    match s {
        Spec::Id(n) => n.to_string(),
        Spec::Name(n) => n.clone(),
    }
}

/// `Ok(None)`-like: `Some(None)` when absent, `None` after a problem.
fn spec(
    ctx: &mut BuildCtx,
    raw: Option<&Spanned<RawNumOrString>>,
    key: &str,
) -> Option<Option<Spec>> {
    let Some(v) = raw else {
        return Some(None);
    };
    let parsed = match v.get_ref() {
        RawNumOrString::Int(n) => id(*n),
        RawNumOrString::Str(s) if !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) => {
            s.parse().map_err(|_| ()).and_then(id)
        }
        RawNumOrString::Str(s) if valid_name(s) => Ok(Spec::Name(s.clone())),
        RawNumOrString::Str(_) => {
            ctx.err(
                &v.span(),
                key,
                "expected a user or group name (letters, digits, `_`, `-`, `.`) or a numeric id",
            );
            return None;
        }
    };
    match parsed {
        Ok(s) => Some(Some(s)),
        Err(()) => {
            ctx.err(
                &v.span(),
                key,
                "a numeric id must be between 0 and 4294967294",
            );
            None
        }
    }
}

fn id(n: i64) -> Result<Spec, ()> {
    match u32::try_from(n) {
        Ok(n) if n != u32::MAX => Ok(Spec::Id(n)),
        _ => Err(()),
    }
}

fn valid_name(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 256
        && !s.starts_with('-')
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.' | b'$'))
}

fn group_id(ctx: &mut BuildCtx, g: &Spec, raw: &Spanned<RawNumOrString>, key: &str) -> Option<u32> {
    match g {
        Spec::Id(n) => Some(*n),
        Spec::Name(name) => match Group::from_name(name) {
            Ok(Some(gr)) => Some(gr.gid.as_raw()),
            Ok(None) => {
                ctx.err(
                    &raw.span(),
                    key,
                    format!("unknown group `{name}` (no such entry in the group database of this machine)"),
                );
                None
            }
            Err(e) => {
                ctx.err(
                    &raw.span(),
                    key,
                    format!("cannot look up group `{name}`: {e}"),
                );
                None
            }
        },
    }
}

fn with_user(
    ctx: &mut BuildCtx,
    out: &mut RunAs,
    u: &Spec,
    raw: &Spanned<RawNumOrString>,
    gid: Option<u32>,
    key: &str,
) -> Option<()> {
    let found = match u {
        Spec::Id(n) => User::from_uid(Uid::from_raw(*n)),
        Spec::Name(n) => User::from_name(n),
    };
    let entry = match (found, u) {
        (Ok(e), _) => e,
        (Err(e), _) => {
            let what = written(u);
            ctx.err(
                &raw.span(),
                key,
                format!("cannot look up user `{what}`: {e}"),
            );
            return None;
        }
    };
    match (entry, u) {
        (Some(e), _) => {
            if e.name == "nobody" {
                ctx.warn(&raw.span(), key, "`nobody` is the overflow user (it owns every file of an unmapped id, e.g. over NFS or in user namespaces), so a service running as it can reach more than intended; systemd calls it unsafe — create a dedicated system user (docs/exec.md)");
            }
            let gid = gid.unwrap_or(e.gid.as_raw());
            out.groups = supplementary(&e.name, gid);
            out.uid = Some(e.uid.as_raw());
            out.gid = gid;
            out.home = Some(e.dir.display().to_string());
            out.login = Some(e.name);
        }
        (None, Spec::Name(n)) => {
            ctx.err(
                &raw.span(),
                key,
                format!(
                    "unknown user `{n}` (no such entry in the passwd database of this machine)"
                ),
            );
            return None;
        }
        (None, Spec::Id(n)) => {
            let Some(gid) = gid else {
                ctx.err(
                    &raw.span(),
                    key,
                    format!(
                        "uid {n} has no passwd entry, so it has no primary group: set `group` too"
                    ),
                );
                return None;
            };
            out.uid = Some(*n);
            out.gid = gid;
            out.groups = vec![gid];
        }
    }
    Some(())
}

/// `initgroups`: every group listing `name`, with `gid` first.
fn supplementary(name: &str, gid: u32) -> Vec<u32> {
    let listed = CString::new(name)
        .ok()
        .and_then(|c| getgrouplist(&c, Gid::from_raw(gid)).ok())
        .unwrap_or_default();
    let mut out = vec![gid];
    for g in listed.into_iter().map(Gid::as_raw) {
        if !out.contains(&g) {
            out.push(g);
        }
    }
    out
}
