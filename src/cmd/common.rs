//! Helpers every command shares: where the config is, and loading the Plan
//! once with the OS environment captured once, printing problems and warnings
//! the same way everywhere.

use std::collections::BTreeMap;
use std::io::IsTerminal;
use std::path::PathBuf;

use crate::cli::Cli;
use crate::env::Source;
use crate::error::Error;
use crate::plan::{self, LogFormat, Plan, Problem};

/// The environment variable naming the config file.
pub(crate) const CONFIG_ENV: &str = "UAOL_SUPERVISOR_CONFIG";

/// `-c PATH`, else `$UAOL_SUPERVISOR_CONFIG`, else `./supervisor.toml`.
pub(crate) fn config_path(cli: &Cli) -> PathBuf {
    if let Some(p) = &cli.config {
        return p.clone();
    }
    match std::env::var_os(CONFIG_ENV) {
        Some(p) if !p.is_empty() => PathBuf::from(p),
        _ => PathBuf::from("supervisor.toml"),
    }
}

/// The OS environment, captured once. Names or values that are not UTF-8
/// are skipped (they cannot be referenced from supervisor.toml either).
pub(crate) fn os_env() -> BTreeMap<String, String> {
    std::env::vars_os()
        .filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?)))
        .collect()
}

/// Load the Plan for `cli` (`--log-format` applied), or all its problems;
/// warnings are printed to stderr as `warning: …`.
pub(crate) fn load_plan(cli: &Cli) -> Result<Plan, Error> {
    let plan = load_plan_quiet(cli)?;
    print_warnings(&plan.warnings);
    Ok(plan)
}

/// [`load_plan`], then refuse (like a Plan problem) what
/// this process may not do of the services' exec contexts — switch user,
/// raise a limit, lower `nice` (`plan::privilege`): for the commands that
/// start services (`check` says it first, `up`, `run`).
pub(crate) fn load_runnable_plan(cli: &Cli) -> Result<Plan, Error> {
    let plan = load_plan(cli)?;
    runnable(plan)
}

/// `plan`, or its privilege problems.
pub(crate) fn runnable(plan: Plan) -> Result<Plan, Error> {
    let me = plan::privilege::Identity::current();
    plan::privilege::problems(&plan, &me)
        .into_result(plan)
        .map_err(Error::Config)
}

/// [`load_plan`] without printing warnings (for commands that report them
/// themselves, like `check`).
pub(crate) fn load_plan_quiet(cli: &Cli) -> Result<Plan, Error> {
    load_quiet_with(cli, &os_env())
}

/// [`load_plan`] with the OS environment given (`up` keeps it for reloads).
pub(crate) fn load_plan_with(cli: &Cli, os: &BTreeMap<String, String>) -> Result<Plan, Error> {
    let plan = load_quiet_with(cli, os)?;
    print_warnings(&plan.warnings);
    Ok(plan)
}

fn load_quiet_with(cli: &Cli, os: &BTreeMap<String, String>) -> Result<Plan, Error> {
    let mut plan = plan::load(&config_path(cli), os).map_err(Error::Config)?;
    plan.settings.log_format = log_format(cli, plan.settings.log_format);
    Ok(plan)
}

/// The one place `--log-format` overrides `[supervisor] log_format`.
pub(crate) fn log_format(cli: &Cli, configured: LogFormat) -> LogFormat {
    cli.log_format.unwrap_or(configured)
}

/// The one colour decision: only on a terminal, and never with `NO_COLOR`
/// set (no-color.org).
pub(crate) fn colour() -> bool {
    std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
}

/// Print warnings to stderr, one per line.
pub(crate) fn print_warnings(warnings: &[Problem]) {
    warnings.iter().for_each(super::warn);
}

/// Short label of a source, for grouping.
pub(crate) fn source_label(src: &Source) -> String {
    match src {
        Source::Os => "os".into(),
        Source::EnvFile { path, .. } | Source::ServiceEnvFile { path, .. } => {
            path.display().to_string()
        }
        Source::GlobalEnv { .. } => "[env]".into(),
        Source::ServiceEnv { service, .. } => format!("[services.{service}.env]"),
        Source::Database { .. } => "database.url".into(),
        Source::User { name, .. } => format!("user {name}"),
        Source::Replica { group, .. } => format!("replicas of {group}"),
    }
}

/// Precedence rank of a source (its layer number in docs/environment.md "Precedence").
pub(crate) fn layer(src: &Source) -> u8 {
    match src {
        Source::Os | Source::User { .. } => 1,
        Source::EnvFile { .. } => 2,
        Source::GlobalEnv { .. } => 3,
        Source::ServiceEnvFile { .. } => 4,
        Source::ServiceEnv { .. } => 5,
        Source::Database { .. } => 6,
        Source::Replica { .. } => 7,
    }
}
