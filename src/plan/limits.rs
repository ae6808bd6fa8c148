//! `limits`, `umask`, `nice` → the Plan's exec context, with systemd's
//! spelling: `limits` keys are `LimitX=` names in lower case (`nofile`,
//! `nproc`, `core`, `memlock`, …); a value is an integer, a size string for
//! byte limits (`"64MiB"`), a duration for `cpu` / `rttime`, `"infinity"`, or
//! `"soft:hard"` (systemd's `LimitNOFILE=1024:65536`) — otherwise soft =
//! hard. `umask` is an octal string (`"0027"`), `nice` -20..=19. Whether this
//! process may apply them (raise a hard limit, lower nice) is `privilege`.

use toml::Spanned;

use super::ctx::BuildCtx;
use super::{show_limit as show, Limit, Nice, Resource, Unit, INFINITY};
use crate::config::raw::{RawLimits, RawNumOrString, RawService};
use crate::config::units;
use crate::diag::suggest;

/// Why a `limits` value is not one.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(super) enum LimitError {
    /// A negative integer.
    #[error("{0} is negative")]
    Negative(i64),
    /// Not an integer, for a limit that counts.
    #[error("`{0}` is not a count: give an integer, \"infinity\" or \"soft:hard\"")]
    NotACount(String),
    /// A size or duration that is not one.
    #[error(transparent)]
    Unit(#[from] units::UnitError),
    /// `soft:hard` with soft above hard (both as shown).
    #[error("the soft limit {soft} is above the hard limit {hard}")]
    SoftAboveHard {
        /// The soft limit, as shown.
        soft: String,
        /// The hard limit, as shown.
        hard: String,
    },
    /// `nofile = "infinity"`.
    #[error(
        "nofile cannot be infinity: the kernel caps it at fs.nr_open (give a number, e.g. 65536)"
    )]
    NofileInfinity,
}

/// `limits = { … }`, in [`Resource::ALL`] order.
pub(super) fn limits(
    ctx: &mut BuildCtx,
    raw: &Option<Spanned<RawLimits>>,
    key: &str,
) -> Vec<Limit> {
    let Some(t) = raw else { return Vec::new() };
    let mut out = Vec::new();
    for (name, value) in t.get_ref() {
        let k = format!("{key}.{}", name.get_ref());
        let Some(resource) = Resource::from_name(name.get_ref()) else {
            let names = Resource::ALL.map(Resource::name);
            let hint = suggest::did_you_mean(name.get_ref(), names.iter().copied());
            let msg = format!(
                "unknown limit{hint}; expected one of {} (systemd's LimitX= names in lower case)",
                names.join(", ")
            );
            ctx.err(&name.span(), &k, msg);
            continue;
        };
        match limit_value(resource, value.get_ref()) {
            Ok((soft, hard)) => out.push(Limit {
                resource,
                soft,
                hard,
                at: ctx.loc.at(&value.span()),
            }),
            Err(e) => ctx.err(&value.span(), &k, e),
        }
    }
    out.sort_by_key(|l| l.resource);
    out
}

/// `umask = "0027"`.
pub(super) fn umask(ctx: &mut BuildCtx, r: &RawService, key: &str) -> Option<u32> {
    let v = r.umask.as_ref()?;
    let s = match v.get_ref() {
        RawNumOrString::Str(s) => s.trim(),
        RawNumOrString::Int(_) => {
            let msg = "write the umask as an octal string, e.g. \"0027\" (TOML reads an integer as decimal, 0o27 as 23)";
            ctx.err(&v.span(), key, msg);
            return None;
        }
    };
    let parsed = (!s.is_empty() && s.len() <= 4 && s.bytes().all(|b| (b'0'..=b'7').contains(&b)))
        .then(|| u32::from_str_radix(s, 8).ok())
        .flatten()
        .filter(|m| *m <= 0o777);
    if parsed.is_none() {
        ctx.err(
            &v.span(),
            key,
            format!(
                "`{s}` is not a umask: write it as an octal string of up to 0777, e.g. \"0027\""
            ),
        );
    }
    parsed
}

/// `nice = N`.
pub(super) fn nice(ctx: &mut BuildCtx, r: &RawService, key: &str) -> Option<Nice> {
    let v = r.nice.as_ref()?;
    let n = *v.get_ref();
    if !(-20..=19).contains(&n) {
        ctx.err(
            &v.span(),
            key,
            format!("{n} is out of range: nice is -20 (most favourable) to 19"),
        );
        return None;
    }
    Some(Nice {
        value: n as i32,
        at: ctx.loc.at(&v.span()),
    })
}

/// `(soft, hard)` of one value.
pub(super) fn limit_value(r: Resource, v: &RawNumOrString) -> Result<(u64, u64), LimitError> {
    let (soft, hard) = match v {
        RawNumOrString::Int(n) => {
            let n = u64::try_from(*n).map_err(|_| LimitError::Negative(*n))?;
            (n, n)
        }
        RawNumOrString::Str(s) => match s.split_once(':') {
            Some((a, b)) => (one(r, a)?, one(r, b)?),
            None => {
                let n = one(r, s)?;
                (n, n)
            }
        },
    };
    if soft > hard {
        return Err(LimitError::SoftAboveHard {
            soft: show(soft),
            hard: show(hard),
        });
    }
    if r == Resource::Nofile && hard == INFINITY {
        return Err(LimitError::NofileInfinity);
    }
    Ok((soft, hard))
}

fn one(r: Resource, s: &str) -> Result<u64, LimitError> {
    let s = s.trim();
    if s.eq_ignore_ascii_case("infinity") {
        return Ok(INFINITY);
    }
    if let Ok(n) = s.parse::<u64>() {
        return Ok(n);
    }
    Ok(match r.unit() {
        Unit::Bytes => units::parse_size(s)?,
        Unit::Seconds => units::parse_duration(s)?.as_secs(),
        Unit::Micros => units::parse_duration(s)?.as_micros() as u64,
        Unit::Count => return Err(LimitError::NotACount(s.into())),
    })
}
