//! The last line of defence for the configuration report: every problem and
//! warning is scrubbed of the secret values this build saw, because a message
//! may echo an interpolated value (`command = "x${PGPASSWORD}"` gave
//! "`x…` not found on the service's PATH" — found by the `plan` fuzz target).
//!
//! Secret values: variables whose name looks secret (OS environment, env
//! files, `[env]`), every variable the Plan marks secret, the database
//! password, and the password inside any `scheme://user:password@` value.

use std::collections::BTreeMap;

use super::global::Global;
use super::{Problem, Problems, ServicePlan};
use crate::db::libpq;
use crate::env::Env;
use crate::secret::{looks_secret, too_short, Redactor};

/// The password of a `scheme://user:password@host` value, as written.
fn url_password(value: &str) -> Option<&str> {
    let rest = value.split_once("://")?.1;
    let userinfo = &rest[..rest.rfind('@')?];
    userinfo.split_once(':').map(|(_, pw)| pw)
}

fn add(r: &mut Redactor, name: &str, value: &str, secret: bool) {
    if secret || looks_secret(name) {
        r.add(value);
    }
    if let Some(pw) = url_password(value) {
        r.add(pw);
    }
    if let Some(pw) = libpq::read(value)
        .and_then(Result::ok)
        .and_then(|c| c.password)
    {
        r.add(pw.expose());
    }
}

/// Every secret value known to the build.
pub(super) fn redactor(
    os: &BTreeMap<String, String>,
    g: &Global,
    global_env: &Env,
    services: &[ServicePlan],
) -> Redactor {
    let mut r = Redactor::default();
    for (k, v) in os {
        add(&mut r, k, v, false);
    }
    for (k, l) in &g.file_vars {
        add(&mut r, k, &l.value, false);
    }
    for (k, t, _) in &g.env {
        add(&mut r, k, &t.value, false);
    }
    let envs = std::iter::once(global_env).chain(services.iter().map(|s| &s.env));
    for (k, v) in envs.flat_map(|e| &e.vars) {
        for text in v.secret.texts(&v.value) {
            r.add_part(text);
        }
        add(&mut r, k, &v.value, false);
    }
    if let Some(pw) = g.db.as_ref().and_then(|d| d.url.password()) {
        r.add(pw.expose());
    }
    r
}

/// A warning for every secret value (or secret part of a value) that free
/// text cannot be scrubbed of reliably ([`too_short`]): it is masked wherever
/// a value is shown, but a service that prints it is printed as is.
pub(super) fn short_secrets(global_env: &Env, services: &[ServicePlan]) -> Vec<Problem> {
    let envs = std::iter::once(global_env).chain(services.iter().map(|s| &s.env));
    let mut out = Vec::new();
    for (name, v) in envs.flat_map(|e| &e.vars) {
        let why = v
            .secret
            .texts(&v.value)
            .into_iter()
            .filter(|t| !t.is_empty())
            .find_map(too_short);
        if let Some(why) = why {
            out.push(Problem {
                location: v.source.to_string(),
                message: format!(
                    "`{name}` is secret but too short to redact reliably from service output ({why}): `env`, `check` and exports mask it, a service that prints it is shown as is; use a longer secret, or rename the variable if it is not one"
                ),
            });
        }
    }
    out
}

/// Mask every secret in `problems` and `warnings`.
pub(super) fn scrub(problems: &mut Problems, warnings: &mut [Problem], r: &Redactor) {
    for p in &mut problems.0 {
        p.message = r.redact(&p.message).into_owned();
    }
    for w in warnings {
        w.message = r.redact(&w.message).into_owned();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::load_text;

    /// The `plan` fuzz target's finding: an interpolated secret echoed in a
    /// "not found" message.
    #[test]
    fn interpolated_secrets_never_reach_the_report() {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::write(dir.path().join(".env"), "API_TOKEN=Kq3-file-token\n").expect(".env");
        let os: BTreeMap<String, String> = [
            ("PATH", "/usr/bin:/bin"),
            ("PGPASSWORD", "Kq3-os-pass"),
            ("REDIS_URL", "redis://:Kq3-redis@cache:6379"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        let text = "[supervisor]\nenv_files = [\".env\"]\n\
            [services.a]\ncommand = \"a${PGPASSWORD}\"\n\
            [services.b]\ncommand = \"b${API_TOKEN}\"\n\
            [services.c]\ncommand = \"c${REDIS_URL}\"\nstop_signal = \"${API_TOKEN}\"\n";
        let problems = load_text(&dir.path().join("supervisor.toml"), text, &os)
            .expect_err("three unknown programs");
        let report = problems.to_string();
        assert!(report.contains("`a****`"), "{report}");
        assert!(
            report.contains("`c redis://:****@cache:6379`")
                || report.contains("`credis://:****@cache:6379`"),
            "{report}"
        );
        for secret in ["Kq3-os-pass", "Kq3-file-token", "Kq3-redis"] {
            assert!(!report.contains(secret), "{secret} in {report}");
        }
    }

    /// Too short for free text, but the message names the program through
    /// its taint, so it is masked anyway.
    #[test]
    fn a_short_secret_in_the_program_is_masked_by_taint() {
        let dir = tempfile::tempdir().expect("tempdir");
        let os: BTreeMap<String, String> = [("PATH", "/usr/bin:/bin"), ("PGPASSWORD", "q7z")]
            .into_iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let text = "[services.a]\ncommand = \"x${PGPASSWORD}\"\n";
        let problems =
            load_text(&dir.path().join("supervisor.toml"), text, &os).expect_err("unknown program");
        let report = problems.to_string();
        assert!(report.contains("`x****`"), "{report}");
        assert!(!report.contains("q7z"), "{report}");
    }

    #[test]
    fn url_passwords_are_found_as_written() {
        assert_eq!(url_password("redis://:s3cr%40t@h:6379"), Some("s3cr%40t"));
        assert_eq!(url_password("postgres://u:p@ss@h/db"), Some("p@ss"));
        assert_eq!(url_password("postgres://u@h/db"), None);
        assert_eq!(url_password("plain value"), None);
    }
}
