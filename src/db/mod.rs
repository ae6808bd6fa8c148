//! The database: `DATABASE_URL` validated the way the services' own driver will
//! read it, and a real handshake probe (DNS → TCP → TLS → auth → query).
//!
//! Interface used by the rest of the crate (kept stable; internals may grow):
//! - [`validate`](fn@validate): pure, called by `plan::build`;
//! - `lint_pg_env`: `PG*` variables in a service env that disagree with the URL;
//! - [`DatabasePlan`]: what the Plan holds;
//! - [`gate`]: the probe run before `uses_database` services start;
//! - [`probe`]: the probe itself, for `probe` and `check`.
//!
//! Layout: `libpq` and `nodepg` are the two readers, `view` turns a reading into
//! what the client will do (endpoints, TLS policy, trust), `lint_*` are the
//! checks, `redact` renders the printable URL, `validate` runs them all.

mod decode;
mod keywords;
pub mod libpq;
mod lint_conn;
mod lint_text;
mod lint_tls;
pub mod nodepg;
mod pgenv;
pub mod probe;
mod redact;
mod url_kind;
mod validate;
pub mod view;
mod view_node;

pub(crate) use pgenv::lint_pg_env;
pub use url_kind::UrlKind;

use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

use crate::secret::{Redactor, Secret};

/// The port libpq and node-postgres use when the URL names none.
pub(crate) const DEFAULT_PORT: u16 = 5432;

/// The variable the URL is exported as when `[database] export_as` is absent.
pub(crate) const DEFAULT_EXPORT: &str = "DATABASE_URL";

/// `[database] client`: whose reading of the URL and TLS rules to follow.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Client {
    /// libpq (psql, most drivers).
    #[default]
    Libpq,
    /// node-postgres with pg-connection-string 2.x.
    NodePg,
}

impl Client {
    /// The name `[database] client` and `probe --client` take.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Client::Libpq => "libpq",
            Client::NodePg => "node-pg",
        }
    }
}

/// `[database] expect`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Expect {
    /// Either.
    #[default]
    Any,
    /// PostgreSQL.
    Postgres,
    /// CockroachDB.
    Cockroachdb,
}

/// The `[database]` options that drive validation and the probe. `Default`
/// is the one place their defaults are written (`plan::build` fills absent
/// keys from it; `probe --url` uses it whole).
#[derive(Debug, Clone)]
pub struct DbSettings {
    /// `client`.
    pub client: Client,
    /// `expect`.
    pub expect: Expect,
    /// `allow_localhost`.
    pub allow_localhost: bool,
    /// `require_tls`.
    pub require_tls: bool,
    /// `probe`: false = validate only, never connect.
    pub probe: bool,
    /// `probe_timeout`, per attempt.
    pub probe_timeout: Duration,
    /// `wait`: keep retrying transient failures up to this long.
    pub wait: Duration,
    /// Directory relative `sslrootcert` paths are resolved against.
    pub base_dir: PathBuf,
}

impl Default for DbSettings {
    fn default() -> Self {
        DbSettings {
            client: Client::default(),
            expect: Expect::default(),
            allow_localhost: true,
            require_tls: false,
            probe: true,
            probe_timeout: Duration::from_secs(5),
            wait: Duration::from_secs(30),
            base_dir: PathBuf::from("."),
        }
    }
}

/// A validated database URL. Never prints its password: there is no `Display`,
/// `Debug` shows the redacted form.
#[derive(Clone)]
pub struct DbUrl {
    raw: Secret,
    redacted: String,
    password: Option<Secret>,
    /// Other readings of the password (node-postgres's, the raw text): masked too.
    extra_secrets: Vec<Secret>,
    plan: view::ConnectPlan,
}

impl DbUrl {
    fn new(raw: &str, redacted: String, password: Option<Secret>, plan: view::ConnectPlan) -> Self {
        DbUrl {
            raw: Secret::new(raw),
            redacted,
            password,
            extra_secrets: Vec::new(),
            plan,
        }
    }
    /// The URL exactly as the services receive it.
    pub(crate) fn expose(&self) -> &str {
        self.raw.expose()
    }
    /// The allow-list redacted form, safe to print.
    pub fn redacted(&self) -> &str {
        &self.redacted
    }
    /// The decoded password, if any.
    pub(crate) fn password(&self) -> Option<&Secret> {
        self.password.as_ref()
    }
    /// A redactor for the password (every reading of it), its encoded forms
    /// and its pieces between whitespace: the server splits `options` at
    /// spaces and echoes the piece it rejects in its error.
    pub(crate) fn redactor(&self) -> Redactor {
        let mut r = Redactor::default();
        for s in self.password.iter().chain(&self.extra_secrets) {
            r.add_with_fragments(s.expose());
        }
        r
    }
    /// What the configured client will do: endpoints, user, database, TLS.
    pub(crate) fn connect_plan(&self) -> &view::ConnectPlan {
        &self.plan
    }
}

impl fmt::Debug for DbUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "DbUrl({})", self.redacted)
    }
}

/// A URL problem: a stable kind name and an actionable message without secrets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UrlError {
    /// What kind of problem; its stable name (`placeholder`, `bad_scheme`, …)
    /// is what `check` and `probe --json` show.
    pub kind: UrlKind,
    /// What is wrong and how to fix it. Never contains the password.
    pub message: String,
}

/// The result of [`validate`](fn@validate): all problems at once.
#[derive(Debug, Clone, Default)]
pub struct Validation {
    /// The URL, when it could be read at all.
    pub url: Option<DbUrl>,
    /// Fatal problems (exit code 3).
    pub errors: Vec<UrlError>,
    /// Non-fatal findings.
    pub warnings: Vec<String>,
}

/// Validate `raw` (already interpolated) under `settings`. Pure apart from
/// reading certificate files. The URL is read as libpq reads it and, with
/// `client = node-pg`, as node-postgres does; disagreements are errors.
pub fn validate(raw: &str, settings: &DbSettings) -> Validation {
    validate::run(raw, settings)
}

/// `[database]` in the Plan.
#[derive(Debug, Clone)]
pub struct DatabasePlan {
    /// The validated URL.
    pub url: DbUrl,
    /// The names under which `uses_database` services receive the URL.
    pub export_as: Vec<String>,
    /// The options.
    pub settings: DbSettings,
}

/// Why the database gate did not open.
#[derive(Debug, Clone)]
pub struct GateFailure {
    /// Exit code from the table in `crate::exit` (docs/exit-codes.md).
    pub exit_code: u8,
    /// What happened, in words a user can act on. No secrets.
    pub message: String,
}

/// Probe the database (retrying transient failures up to `settings.wait`)
/// before any `uses_database` service starts. Returns immediately when probing
/// is disabled. Progress and the result go to stderr; never the password.
pub async fn gate(db: &DatabasePlan) -> Result<(), GateFailure> {
    gate_with(db, probe::Progress::lines()).await
}

/// [`gate`] with the caller's [`probe::Progress`] (e.g. one that records the
/// last transient failure for a "still waiting for …" message).
pub(crate) async fn gate_with(
    db: &DatabasePlan,
    progress: probe::Progress,
) -> Result<(), GateFailure> {
    if !db.settings.probe {
        return Ok(());
    }
    let report = probe::run(&db.url, &db.settings, progress).await;
    eprint!("{}", probe::render::human(&report, &db.url));
    match report.failure() {
        None => Ok(()),
        Some(f) => Err(GateFailure {
            exit_code: f.exit_code,
            message: f.message.clone(),
        }),
    }
}

#[cfg(test)]
mod tests;
