//! What every service of one build shares: `inherit`, the env files, `[env]`
//! and the validated `[database]`, with the `${VAR}` lookups over them. Its
//! own file so that `build` (which fills it) and `service`/`scrub` (which read
//! it) do not import each other.

use std::collections::BTreeMap;
use std::time::Duration;

use crate::db::DatabasePlan;
use crate::env::interp::{Looked, Traced};
use crate::env::{EnvFile, Layers, Source};
use crate::secret::{classify, Redactor, Spans};

/// What every service shares.
pub(super) struct Global {
    /// `inherit`.
    pub inherit: Vec<String>,
    /// `env_files`, read.
    pub files: Vec<EnvFile>,
    /// The env files merged (later wins): the second place `${VAR}` looks.
    pub file_vars: BTreeMap<String, Looked>,
    /// `[env]`, interpolated: name, value, line.
    pub env: Vec<(String, Traced, usize)>,
    /// `[database]` was written.
    pub db_configured: bool,
    /// `[database]`, validated (None when absent or invalid).
    pub db: Option<DatabasePlan>,
    /// `[supervisor] stop_timeout`.
    pub stop_timeout: Duration,
    /// Finds the database password (and its encoded forms) in values.
    pub password: Redactor,
    /// What `database.url`'s `${NAME}`s brought in: names, origins, taint.
    pub db_url: Traced,
}

impl Global {
    /// `${VAR}` lookup for global values: OS first, then the env files.
    pub(super) fn lookup<'a>(
        &'a self,
        os: &'a BTreeMap<String, String>,
    ) -> impl Fn(&str) -> Option<Looked> + 'a {
        move |n: &str| os_looked(os, n).or_else(|| self.file_vars.get(n).cloned())
    }

    /// Where the database password sits in `value` when it was pasted rather
    /// than interpolated (any encoded form; the free-text rules apply).
    pub(super) fn known(&self, value: &str) -> Vec<std::ops::Range<usize>> {
        self.password.find(value)
    }

    /// Layers 1–3: inherit, then `user` (the target user's `HOME`, `USER`,
    /// `LOGNAME` over the inherited ones), env files, `[env]`.
    pub(super) fn base_layers(
        &self,
        os: &BTreeMap<String, String>,
        user: &[(&str, String, Source)],
    ) -> Layers {
        let mut l = Layers::inherit(os, &self.inherit);
        for (name, value, source) in user {
            l.set(name, value.clone(), source.clone(), &Spans::default());
        }
        for f in &self.files {
            l.add_file(f, false);
        }
        for (name, t, line) in &self.env {
            l.set(
                name,
                t.value.clone(),
                Source::GlobalEnv { line: *line },
                &t.secret,
            );
        }
        l
    }

    /// Layer 6: the database URL under every `export_as` name.
    pub(super) fn add_database(&self, l: &mut Layers) {
        if let Some(db) = &self.db {
            let via: Vec<(String, Box<Source>)> = self
                .db_url
                .refs
                .iter()
                .map(|r| (r.name.clone(), Box::new(r.origin.clone())))
                .collect();
            for name in &db.export_as {
                let source = Source::Database { via: via.clone() };
                l.set(
                    name,
                    db.url.expose().to_string(),
                    source,
                    &self.db_url.secret,
                );
            }
        }
    }
}

/// An OS variable as a `${NAME}` lookup sees it.
pub(super) fn os_looked(os: &BTreeMap<String, String>, name: &str) -> Option<Looked> {
    os.get(name).map(|v| Looked {
        secret: classify(name, v, &Spans::default()),
        value: v.clone(),
        origin: Source::Os,
    })
}

/// An env file entry as a `${NAME}` lookup sees it.
pub(super) fn file_looked(f: &EnvFile, e: &crate::env::dotenv::Entry) -> Looked {
    Looked {
        secret: classify(&e.key, &e.value, &e.secret),
        value: e.value.clone(),
        origin: Source::EnvFile {
            path: f.path.clone(),
            line: e.line,
        },
    }
}
