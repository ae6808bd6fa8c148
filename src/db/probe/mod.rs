//! The database probe: a real client handshake, phase by phase, each timed,
//! with transient failures retried (exponential backoff with jitter) until
//! `wait` runs out and permanent ones reported at once.
//!
//! Layout: `attempt` walks hosts/addresses and phases; `tls`, `auth`, `query`
//! and `wire` do the protocol; `failure` is the taxonomy; `render` prints.
//! Everything that reaches the user passes through the URL's redactor.

mod attempt;
mod auth;
mod der;
pub(crate) mod failure;
mod handshake;
mod names;
mod query;
pub mod render;
mod target;
mod tls;
mod tls_words;
mod wire;
mod x509;

#[cfg(test)]
mod tests;

use std::io::{IsTerminal, Write};
use std::time::{Duration, Instant};

pub use failure::{Class, Failure};

use super::{DbSettings, DbUrl, Expect};
use crate::diag::visible::escape_str;
use crate::exit;

/// One timed phase.
#[derive(Debug, Clone)]
pub(crate) struct Phase {
    /// Which phase.
    pub(crate) name: failure::PhaseName,
    /// How long it took.
    pub(crate) elapsed: Duration,
    /// Whether it succeeded.
    pub(crate) ok: bool,
    /// What happened (no secrets).
    pub(crate) detail: String,
}

/// The negotiated TLS session.
#[derive(Debug, Clone)]
pub(crate) struct TlsInfo {
    /// e.g. `TLSv1.3`.
    pub(crate) version: String,
    /// What was verified, against which roots.
    pub(crate) verify: String,
    /// Leaf certificate `notAfter` (seconds since the epoch).
    pub(crate) expires: Option<i64>,
    /// tls-server-end-point hash of the leaf (for SCRAM channel binding).
    pub(crate) endpoint_hash: Option<Vec<u8>>,
}

/// What a successful probe found.
#[derive(Debug, Clone)]
pub(crate) struct ServerInfo {
    /// `PostgreSQL` or `CockroachDB`.
    pub(crate) product: &'static str,
    /// `version()`.
    pub(crate) version: String,
    /// `current_database()`.
    pub(crate) database: String,
    /// `current_user`.
    pub(crate) user: String,
    /// TLS, when used.
    pub(crate) tls: Option<TlsInfo>,
    /// Authentication method.
    pub(crate) auth: &'static str,
    /// The address that answered.
    pub(crate) addr: String,
}

/// The result of [`run`].
#[derive(Debug, Clone)]
pub struct Report {
    /// Phases of the last attempt.
    pub(crate) phases: Vec<Phase>,
    /// Attempts made.
    pub(crate) attempts: u32,
    /// Total time, retries included.
    pub(crate) elapsed: Duration,
    /// Success or the last failure.
    pub(crate) outcome: Result<ServerInfo, Failure>,
    /// Findings that do not fail the probe (certificate expiring soon…).
    pub(crate) warnings: Vec<String>,
}

impl Report {
    /// The failure, if any.
    pub fn failure(&self) -> Option<&Failure> {
        self.outcome.as_ref().err()
    }
    /// Exit code per the table in `crate::exit` (docs/exit-codes.md).
    pub fn exit_code(&self) -> u8 {
        self.failure().map_or(exit::OK, |f| f.exit_code)
    }
}

/// The last transient failure while waiting (`refused (tcp)`), shared with
/// whoever must say what is being waited for (`run`'s timeout message).
pub(crate) type LastCause = std::sync::Arc<std::sync::Mutex<Option<String>>>;

/// Where progress lines go while waiting.
pub struct Progress {
    enabled: bool,
    tty: bool,
    last: Option<LastCause>,
}

impl Progress {
    /// Progress on stderr: a rewritten line on a terminal, plain lines otherwise.
    pub(crate) fn stderr() -> Self {
        Progress {
            enabled: true,
            tty: std::io::stderr().is_terminal(),
            last: None,
        }
    }
    /// Progress on stderr as plain lines even on a terminal: for the gate in
    /// `up`, where services' output interleaves and a rewritten line would
    /// garble it.
    pub(crate) fn lines() -> Self {
        Progress {
            enabled: true,
            tty: false,
            last: None,
        }
    }
    /// No progress output.
    pub fn quiet() -> Self {
        Progress {
            enabled: false,
            tty: false,
            last: None,
        }
    }
    /// Also record each transient failure's cause in `last`.
    pub(crate) fn recording(self, last: LastCause) -> Self {
        Progress {
            last: Some(last),
            ..self
        }
    }
    fn note(&self, attempt: u32, elapsed: Duration, cause: &str) {
        if let Some(last) = &self.last {
            *last.lock().unwrap_or_else(|p| p.into_inner()) = Some(cause.to_owned());
        }
        if !self.enabled {
            return;
        }
        let line = format!(
            "waiting for the database: attempt {attempt}, {} elapsed, last: {cause}",
            render::dur(elapsed)
        );
        let mut err = std::io::stderr().lock();
        let _ = if self.tty {
            write!(err, "\r\x1b[2K{line}")
        } else {
            writeln!(err, "{line}")
        };
    }
    fn done(&self) {
        if self.enabled && self.tty {
            let _ = write!(std::io::stderr().lock(), "\r\x1b[2K");
        }
    }
}

fn jitter(d: Duration) -> Duration {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u128(Instant::now().elapsed().as_nanos());
    let frac = (h.finish() % 1000) as f64 / 1000.0;
    d.mul_f64(0.5 + frac / 2.0)
}

fn os_user() -> String {
    std::env::var("USER")
        .ok()
        .filter(|u| !u.is_empty())
        .or_else(|| {
            nix::unistd::User::from_uid(nix::unistd::getuid())
                .ok()
                .flatten()
                .map(|u| u.name)
        })
        .unwrap_or_else(|| "postgres".into())
}

/// Probe `url` under `settings`, retrying transient failures until `wait`.
pub async fn run(url: &DbUrl, settings: &DbSettings, progress: Progress) -> Report {
    let plan = url.connect_plan();
    let user = plan.user.clone().unwrap_or_else(os_user);
    let database = plan.database.clone().unwrap_or_else(|| user.clone());
    let start = Instant::now();
    // `wait` is the overall deadline: the last attempt is cut there. Without
    // one (wait = 0), the single attempt gets its full per-host budget.
    let until = (!settings.wait.is_zero()).then(|| tokio::time::Instant::now() + settings.wait);
    let ctx = attempt::Attempt {
        plan,
        password: url.password(),
        budget: plan
            .connect_timeout
            .map_or(settings.probe_timeout, |t| t.min(settings.probe_timeout)),
        until,
        allow_localhost: settings.allow_localhost,
        user,
        database,
        target: attempt::first_pass(plan.target),
    };
    let mut attempts = 0;
    let mut delay = Duration::from_millis(100);
    let (phases, outcome) = loop {
        attempts += 1;
        let mut phases = Vec::new();
        let outcome = attempt::run(&ctx, &mut phases).await;
        let retry = matches!(&outcome, Err(f) if f.transient) && start.elapsed() < settings.wait;
        if !retry {
            break (phases, outcome);
        }
        if let Err(f) = &outcome {
            progress.note(
                attempts,
                start.elapsed(),
                &format!("{} ({})", f.class.as_str().replace('_', " "), f.phase),
            );
        }
        let left = settings.wait.saturating_sub(start.elapsed());
        tokio::time::sleep(jitter(delay).min(left)).await;
        if start.elapsed() >= settings.wait {
            // The deadline passed while sleeping: no attempt without time.
            break (phases, outcome);
        }
        delay = (delay * 2).min(Duration::from_secs(5));
    };
    progress.done();
    let mut report = Report {
        phases,
        attempts,
        elapsed: start.elapsed(),
        outcome,
        warnings: Vec::new(),
    };
    judge(&mut report, settings.expect);
    scrub(&mut report, url);
    report
}

fn judge(report: &mut Report, expect: Expect) {
    let Ok(info) = &report.outcome else { return };
    if let Some(exp) = info.tls.as_ref().and_then(|t| t.expires) {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs() as i64)
            .unwrap_or(0);
        let days = (exp - now) / 86400;
        if days < 14 {
            report.warnings.push(format!(
                "the server certificate expires in {days} days ({})",
                der::date(exp)
            ));
        }
    }
    let wanted = match expect {
        Expect::Postgres if info.product != "PostgreSQL" => Some("PostgreSQL"),
        Expect::Cockroachdb if info.product != "CockroachDB" => Some("CockroachDB"),
        _ => None,
    };
    if let Some(w) = wanted {
        let msg = format!(
            "[database] expect = {w:?}, but the server is {}",
            info.product
        );
        report.outcome = Err(failure::query(
            failure::Class::UnexpectedServer,
            exit::DB_QUERY,
            msg,
        ));
    }
}

/// The one place a report's text is made safe to print: pieces of the
/// password masked, then every control character shown as a visible escape
/// (the server's error text and `version()` are data: an ESC or `\r` in them
/// must not rewrite the terminal). Masking comes first so a password piece
/// is still recognised.
fn scrub(report: &mut Report, url: &DbUrl) {
    let r = url.redactor();
    let clean = |s: &mut String| *s = escape_str(&r.redact(s)).into_owned();
    for p in &mut report.phases {
        clean(&mut p.detail);
    }
    for w in &mut report.warnings {
        clean(w);
    }
    match &mut report.outcome {
        Err(f) => clean(&mut f.message),
        Ok(info) => {
            for s in [
                &mut info.version,
                &mut info.database,
                &mut info.user,
                &mut info.addr,
            ] {
                clean(s);
            }
        }
    }
}
