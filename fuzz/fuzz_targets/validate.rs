//! `db::validate` under every settings mix (the first byte picks them).
//! Properties: no panic; every error has a kind and a message; and when the
//! canary password sits in the URL's password (as libpq or node-postgres
//! reads it, or in the raw userinfo), neither the redacted URL, nor any
//! error or warning, nor the `Debug` of the result shows it, decoded or encoded.
#![no_main]

use libfuzzer_sys::fuzz_target;
use uaol_fuzz::{assert_no_canary, canary_once, percent_decode, settings, CANARY};
use uaol_supervisor::db::{self, libpq, nodepg};

/// The password as written between `scheme://` and the last `@` outside a
/// query value (the validator masks this reading too), decoded.
fn raw_password(raw: &str) -> Option<String> {
    let rest = raw.split_once("://")?.1;
    let in_query = |i: usize| {
        rest[..i]
            .rfind('?')
            .is_some_and(|q| rest[q..i].contains('='))
    };
    let at = rest
        .match_indices('@')
        .map(|(i, _)| i)
        .rfind(|&i| !in_query(i))?;
    Some(percent_decode(rest[..at].split_once(':')?.1))
}

fn in_password(raw: &str) -> bool {
    let libpq = libpq::read(raw)
        .and_then(Result::ok)
        .and_then(|c| c.password)
        .is_some_and(|p| p.expose().contains(CANARY));
    let node = nodepg::read(raw)
        .ok()
        .and_then(|n| n.password)
        .is_some_and(|p| p.expose().contains(CANARY));
    libpq || node || raw_password(raw).is_some_and(|p| p.contains(CANARY))
}

fuzz_target!(|data: &[u8]| {
    let Some((&b, rest)) = data.split_first() else {
        return;
    };
    let raw = String::from_utf8_lossy(rest);
    let v = db::validate(&raw, &settings(b));
    for e in &v.errors {
        assert!(!e.kind.as_str().is_empty() && !e.message.is_empty());
    }
    if !(canary_once(&raw) && in_password(&raw)) {
        return;
    }
    if let Some(url) = &v.url {
        assert_no_canary("the redacted URL", url.redacted());
    }
    for e in &v.errors {
        assert_no_canary(e.kind.as_str(), &e.message);
    }
    for w in &v.warnings {
        assert_no_canary("a warning", w);
    }
    assert_no_canary("Debug", &format!("{v:?}"));
});
