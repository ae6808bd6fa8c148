//! `validate`: every reading and every lint, in the order that gives the most
//! useful first message (text problems before the parse errors they cause).
//!
//! Pure apart from reading certificate files. All messages pass through a
//! redactor built from every reading of the password as a last line of defence.

use super::lint_text::{self, err};
use super::view::{self, Tls};
use super::{libpq, lint_conn, lint_tls, nodepg, redact, Client, DbSettings, DbUrl, Validation};
use crate::secret::{Redactor, Secret};

/// See [`super::validate`](fn@super::validate).
pub(super) fn run(raw: &str, settings: &DbSettings) -> Validation {
    let mut v = Validation::default();
    if let Some(e) = lint_text::blank(raw) {
        v.errors.push(e);
        if raw.trim().is_empty() {
            return v;
        }
    }
    let Some(read) = libpq::read(raw) else {
        v.errors.push(lint_text::scheme(raw));
        v.errors.extend(lint_text::placeholders(raw, None));
        return v;
    };
    let (reserved, warnings) = lint_text::reserved(raw);
    let text_problem = !reserved.is_empty();
    v.errors.extend(reserved);
    v.warnings.extend(warnings);
    let ci = match read {
        Ok(ci) => ci,
        Err((kind, message)) => {
            if !text_problem {
                v.errors.push(err(kind, message));
            }
            v.errors.extend(lint_text::placeholders(raw, None));
            return finish(v, raw, None);
        }
    };
    v.errors.extend(lint_text::known_fallback(&ci));
    v.errors.extend(lint_text::placeholders(raw, Some(&ci)));
    // With an unencoded reserved character the components are pieces of a
    // mis-split URL (often of the password): lints that name them stay quiet.
    let (e, w) = lint_conn::unknown_params(&ci, settings.client);
    if !text_problem {
        v.errors.extend(e);
        v.warnings.extend(w);
    }
    let values = lint_conn::values(&ci, settings.client);
    if !text_problem {
        v.errors.extend(values);
    }
    let node = nodepg::read(raw);
    if settings.client == Client::NodePg && !text_problem {
        v.errors.extend(lint_conn::compare(&ci, &node));
    }
    let plan = view::plan_for(settings.client, &ci, node.as_ref().ok(), &settings.base_dir);
    if !text_problem {
        lint_plan(&mut v, &ci, &plan, settings);
    }
    let stray = stray(raw, ci.password.as_ref());
    let redacted = redact::render_with(&ci, &stray);
    let mut url = DbUrl::new(raw, redacted, ci.password.clone(), plan);
    if let Ok(n) = &node {
        url.extra_secrets.extend(n.password.clone());
    }
    if let Some((_, Some(pw))) = lint_text::raw_userinfo(raw) {
        url.extra_secrets.push(Secret::new(pw));
    }
    finish(v, raw, Some(url))
}

fn lint_plan(
    v: &mut Validation,
    ci: &libpq::Conninfo,
    plan: &view::ConnectPlan,
    settings: &DbSettings,
) {
    let client = settings.client;
    v.warnings.extend(lint_conn::options_secret(ci));
    if !settings.allow_localhost {
        v.errors.extend(lint_conn::localhost(plan));
    }
    v.errors.extend(lint_tls::require_tls(plan, settings));
    let port_explicit = ci.ports.iter().any(|p| !p.is_empty());
    let (e, w) = lint_tls::cockroach(plan, port_explicit, client);
    v.errors.extend(e);
    v.warnings.extend(w);
    let files: Vec<(&str, Option<&str>)> = ["sslrootcert", "sslcert", "sslkey"]
        .iter()
        .map(|k| (*k, ci.param(k)))
        .collect();
    v.errors
        .extend(lint_tls::cert_files(&files, &settings.base_dir, client));
    let sslmode = ci.param("sslmode");
    let compat = ci.param("uselibpqcompat") == Some("true");
    v.warnings
        .extend(lint_tls::tls_warnings(plan, client, sslmode, compat));
    v.errors.extend(lint_tls::node_verify_ca(
        client,
        sslmode,
        compat,
        ci.param("sslrootcert").is_some(),
    ));
    if ci.param("channel_binding") == Some("require")
        && plan
            .endpoints
            .iter()
            .any(|e| e.host.ends_with(".cockroachlabs.cloud") || e.port == 26257)
    {
        v.warnings.push("channel_binding=require can never succeed against CockroachDB (SCRAM-SHA-256-PLUS is not implemented there)".into());
    }
    if client == Client::NodePg && ci.hosts.iter().any(|h| h.contains(':')) {
        v.warnings.push("an IPv6 address as host: pg-connection-string before 2.14.1 keeps the brackets and node-postgres fails with ENOTFOUND; make sure the services use a recent pg, or use a host name".into());
    }
    v.warnings
        .extend(lint_conn::target_session_attrs(ci, client));
    if ci.param("sslcert").is_some() != ci.param("sslkey").is_some() {
        v.warnings.push(
            "only one of sslcert and sslkey is set: no client certificate will be presented".into(),
        );
    }
    v.errors.extend(lint_tls::key_permissions(
        ci.param("sslkey"),
        &settings.base_dir,
        client,
    ));
    if plan.tls == Tls::Allow {
        v.warnings.push(
            "sslmode=allow tries plaintext first and TLS without verification only if the server refuses it; use sslmode=verify-full"
                .into(),
        );
    }
}

/// The other readings of the password (raw userinfo, node-postgres's) where
/// they differ from libpq's `libpq_pw`: see [`redact::Stray`].
fn stray(raw: &str, libpq_pw: Option<&Secret>) -> redact::Stray {
    let raw_pw = lint_text::raw_userinfo(raw).and_then(|(_, pw)| pw);
    let node = nodepg::read(raw).ok().and_then(|n| n.password);
    redact::Stray::new(
        &[raw_pw, node.as_ref().map(Secret::expose)],
        libpq_pw.map(Secret::expose),
    )
}

fn finish(mut v: Validation, raw: &str, url: Option<DbUrl>) -> Validation {
    let mut redactor = url.as_ref().map(DbUrl::redactor).unwrap_or_default();
    if let Some((_, Some(pw))) = lint_text::raw_userinfo(raw) {
        redactor.add(pw);
    }
    let stray = stray(raw, url.as_ref().and_then(DbUrl::password));
    scrub(&mut v, &redactor, &stray);
    v.url = url;
    v
}

/// The password in any reading, and quoted pieces of a mis-split one (a
/// query key `"k1"` named by `unknown_parameter`) — found by the fuzzer.
fn scrub(v: &mut Validation, r: &Redactor, stray: &redact::Stray) {
    for e in &mut v.errors {
        e.message = stray.scrub_quoted(&r.redact(&e.message));
    }
    for w in &mut v.warnings {
        *w = stray.scrub_quoted(&r.redact(w));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::UrlKind;

    /// Found by the `validate` fuzz target: an `sslrootcert` path that was a
    /// piece of a mis-split password showed in `sslrootcert_missing`.
    #[test]
    fn a_mis_split_url_reports_only_the_text_problem() {
        let raw = "postgresql://u:Z)x4Qv@h/app?password=Zx3Qv&sslrootcert=a-u?x@[::1]:5,h2:Zx6Ov@h.ex:p:Kq3secret@pem.crt";
        let v = run(raw, &DbSettings::default());
        assert!(
            v.errors
                .iter()
                .any(|e| e.kind == UrlKind::UnencodedReserved),
            "{v:?}"
        );
        for e in &v.errors {
            assert!(
                !e.message.contains("Kq3secret"),
                "{}: {}",
                e.kind,
                e.message
            );
        }
        let raw = "postgresql://app:pw/db?sslmode=require&Kq3piece=1&x=?y@db.example.com/app";
        let v = run(raw, &DbSettings::default());
        assert!(
            v.errors.iter().all(|e| !e.message.contains("Kq3piece")),
            "{v:?}"
        );
    }
}
