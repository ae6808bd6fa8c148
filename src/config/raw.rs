//! Raw serde types mirroring supervisor.toml, kept dumb (ripgrep's "low
//! args"): strict (`deny_unknown_fields`), spans kept for every value a later
//! check may complain about, no defaults and nothing that touches the system.
//! Units, enum values and paths stay strings here; `plan::build` turns them
//! into typed values so that all their problems are reported together.

use std::collections::BTreeMap;

use serde::Deserialize;
use toml::Spanned;

pub(crate) use super::de::{EnvValue, RawCommand, RawDepends, RawNumOrString};

/// A string with its byte span in the file.
pub(crate) type Str = Spanned<String>;
/// An `[env]`-like table: name (with span) → value (with span).
pub(crate) type EnvTable = BTreeMap<Str, Spanned<EnvValue>>;

/// The whole file.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawConfig {
    /// `[supervisor]`.
    #[serde(default)]
    pub supervisor: RawSupervisor,
    /// `[env]`.
    #[serde(default)]
    pub env: EnvTable,
    /// `[database]`.
    pub database: Option<Spanned<RawDatabase>>,
    /// `[services.NAME]`.
    #[serde(default)]
    pub services: BTreeMap<Str, Spanned<RawService>>,
}

/// `[supervisor]`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawSupervisor {
    /// `env_files`.
    pub env_files: Option<Vec<Str>>,
    /// `inherit`.
    pub inherit: Option<Vec<Str>>,
    /// `stop_timeout`.
    pub stop_timeout: Option<Str>,
    /// `log_format`.
    pub log_format: Option<Str>,
    /// `control_socket`.
    pub control_socket: Option<Str>,
    /// `contain`.
    pub contain: Option<Str>,
}

/// `[database]`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawDatabase {
    /// `url`.
    pub url: Option<Str>,
    /// `export_as`.
    pub export_as: Option<Vec<Str>>,
    /// `expect`.
    pub expect: Option<Str>,
    /// `client`.
    pub client: Option<Str>,
    /// `allow_localhost`.
    pub allow_localhost: Option<bool>,
    /// `require_tls`.
    pub require_tls: Option<bool>,
    /// `probe`.
    pub probe: Option<bool>,
    /// `probe_timeout`.
    pub probe_timeout: Option<Str>,
    /// `wait`.
    pub wait: Option<Str>,
}

/// `[services.NAME]`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawService {
    /// `command`: a string or an array of strings.
    pub command: Option<Spanned<RawCommand>>,
    /// `shell`: run a string command with `/bin/sh -c`.
    pub shell: Option<Spanned<bool>>,
    /// `cwd`.
    pub cwd: Option<Str>,
    /// `env`.
    #[serde(default)]
    pub env: EnvTable,
    /// `env_file`.
    pub env_file: Option<Str>,
    /// `depends_on`: array of names or table name → condition.
    pub depends_on: Option<Spanned<RawDepends>>,
    /// `uses_database`.
    pub uses_database: Option<Spanned<bool>>,
    /// `restart`.
    pub restart: Option<Str>,
    /// `backoff`.
    pub backoff: Option<Spanned<RawBackoff>>,
    /// `max_restarts`.
    pub max_restarts: Option<Spanned<u32>>,
    /// `restart_window`.
    pub restart_window: Option<Str>,
    /// `ready`.
    pub ready: Option<Spanned<RawReady>>,
    /// `stop_signal`: a name or a number.
    pub stop_signal: Option<Spanned<RawNumOrString>>,
    /// `stop_timeout`.
    pub stop_timeout: Option<Str>,
    /// `oneshot`.
    pub oneshot: Option<Spanned<bool>>,
    /// `max_memory`: a size string or a number of bytes.
    pub max_memory: Option<Spanned<RawNumOrString>>,
    /// `critical`.
    pub critical: Option<bool>,
    /// `log_file`.
    pub log_file: Option<Spanned<RawLogFile>>,
    /// `user`: a name or a numeric uid (see `plan::run_as`).
    pub user: Option<Spanned<RawNumOrString>>,
    /// `group`: a name or a numeric gid.
    pub group: Option<Spanned<RawNumOrString>>,
    /// `limits = { nofile = 65536, memlock = "64MiB", … }` (see `plan::limits`).
    pub limits: Option<Spanned<RawLimits>>,
    /// `umask = "0027"`: an octal string (an integer is refused with a hint).
    pub umask: Option<Spanned<RawNumOrString>>,
    /// `nice = 5`.
    pub nice: Option<Spanned<i64>>,
    /// `replicas = N`: N copies named `NAME.1` … `NAME.N` (see `plan::replicas`).
    pub replicas: Option<Spanned<i64>>,
    /// `replica_port_base = 3100`: `REPLICA_PORT` = 3100, 3101, … per copy.
    pub replica_port_base: Option<Spanned<i64>>,
    /// `watch = ["src", "package.json"]`: restart on changes there (`up --watch`).
    pub watch: Option<Vec<Str>>,
    /// `watch_ignore = ["*.log"]`: globs added to the default ignores.
    pub watch_ignore: Option<Vec<Str>>,
}

/// `limits = { NAME = value }`: names are checked in `plan::limits` (with
/// "did you mean"), so a typo is reported with the other problems.
pub(crate) type RawLimits = BTreeMap<Str, Spanned<RawNumOrString>>;

/// `backoff = { … }`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawBackoff {
    /// `initial`.
    pub initial: Option<Str>,
    /// `max`.
    pub max: Option<Str>,
    /// `factor`.
    pub factor: Option<Spanned<f64>>,
    /// `reset_after`.
    pub reset_after: Option<Str>,
}

/// `ready = { … }`: exactly one of http / tcp / exec / log.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawReady {
    /// `http`.
    pub http: Option<Str>,
    /// `tcp`.
    pub tcp: Option<Str>,
    /// `exec`: a string or an array.
    pub exec: Option<Spanned<RawCommand>>,
    /// `log`: a regex.
    pub log: Option<Str>,
    /// `interval`.
    pub interval: Option<Str>,
    /// `timeout`.
    pub timeout: Option<Str>,
}

/// `log_file = { … }`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawLogFile {
    /// `path`.
    pub path: Str,
    /// `max_size`.
    pub max_size: Option<Spanned<RawNumOrString>>,
    /// `keep`.
    pub keep: Option<Spanned<u32>>,
}
