//! One `[services.NAME]` → [`ServicePlan`]: its environment (layers 1–6 with
//! provenance), argv and program resolved on its own PATH, cwd, and every
//! option typed. Problems are recorded in the context; the returned plan
//! holds placeholders where a value was invalid (it is then never used).

use std::collections::BTreeMap;
use std::ops::Range;
use std::time::Duration;

use nix::sys::signal::Signal;
use toml::Spanned;

use super::ctx::{BuildCtx, Lookup};
use super::global::{file_looked, os_looked, Global};
use super::limits;
use super::options::{backoff, log_file, max_memory, ready, stop_signal};
use super::program::{argv, cwd};
use super::run_as::{run_as, user_env};
use super::{
    command, exec, interpreter, replicas, Condition, ExecContext, LogFile, Problem, ReadyCheck,
    ReadyKind, Replica, RestartPolicy, ServicePlan,
};
use crate::config::raw::{RawDepends, RawService, Str};
use crate::env::interp::Looked;
use crate::env::{lint::lint, read_env_file, EnvFile};
use crate::env::{Env, Source};
use crate::secret::Spans;

/// A service plan plus what the graph pass needs.
pub(super) struct Built {
    /// The plan (depends_on filled by the graph pass).
    pub plan: ServicePlan,
    /// Where the name is.
    pub span: Range<usize>,
    /// `depends_on` as written: name, explicit condition.
    pub deps: Vec<(Str, Option<Spanned<Condition>>)>,
}

/// Build one service, or one copy of a replicated one (`replica`): its
/// `${REPLICA}` / `${REPLICA_PORT}` resolve to the copy's values, and those two
/// variables are set above every other layer.
pub(super) fn build(
    ctx: &mut BuildCtx,
    name: &Str,
    raw: &Spanned<RawService>,
    g: &Global,
    replica: Option<&Replica>,
) -> Built {
    let n = name.get_ref().as_str();
    let key = |k: &str| format!("services.{n}.{k}");
    check_name(ctx, name);
    let r = raw.get_ref();
    let file = r
        .env_file
        .as_ref()
        .and_then(|p| service_env_file(ctx, p, g));
    let own = service_lookup(ctx.os, file.as_ref(), g);
    let lookup = |v: &str| replicas::looked(replica, v).or_else(|| own(v));
    let uses_database = uses_database(ctx, r, g, &key("uses_database"));
    let exec = exec_context(ctx, r, n);
    let user = exec.run_as.as_ref().map(user_env).unwrap_or_default();
    let layers = Extra { user, replica };
    let env = service_env(ctx, n, r, g, file.as_ref(), &lookup, uses_database, &layers);
    let path_var = env.get("PATH").map(str::to_string);
    let cwd = cwd(ctx, r, &key("cwd"), &lookup);
    let (argv, argv_secret, program) = argv(
        ctx,
        r,
        raw.span(),
        &key("command"),
        &lookup,
        path_var.as_deref(),
        &cwd,
    );
    secret_argument_warning(ctx, r, &key("command"), &argv_secret);
    if let Some(who) = &exec.run_as {
        for message in super::run_as_access::problems(who, &program, &cwd) {
            let location = who.at.clone();
            let message = format!("{}: {message}", key("user"));
            ctx.warnings.push(Problem { location, message });
        }
    }
    let oneshot = r.oneshot.as_ref().is_some_and(|o| *o.get_ref());
    let restart = restart(ctx, r, oneshot, &key("restart"));
    let plan = ServicePlan {
        name: replica.map_or_else(|| n.to_string(), |r| replicas::name(n, r.index)),
        argv,
        argv_secret,
        program,
        cwd: cwd.clone(),
        env,
        depends_on: Vec::new(),
        uses_database,
        restart,
        backoff: backoff(ctx, &r.backoff, &key("backoff")),
        max_restarts: r.max_restarts.as_ref().map_or(10, |m| *m.get_ref()),
        restart_window: ctx.duration(
            &r.restart_window,
            &key("restart_window"),
            Duration::from_secs(300),
        ),
        ready: ready(
            ctx,
            &r.ready,
            &key("ready"),
            &lookup,
            r.oneshot.as_ref().filter(|o| *o.get_ref()),
        ),
        stop_signal: stop_signal(ctx, &r.stop_signal, &key("stop_signal"))
            .unwrap_or(Signal::SIGTERM),
        stop_timeout: ctx.duration(&r.stop_timeout, &key("stop_timeout"), g.stop_timeout),
        oneshot,
        max_memory: max_memory(ctx, &r.max_memory, &key("max_memory")),
        critical: r.critical.unwrap_or(false),
        log_file: log_file(ctx, &r.log_file, &key("log_file")).map(|f| own_log(f, replica)),
        exec,
        replica: replica.cloned(),
        watch: super::watch::paths(ctx, r, &cwd, &key("watch"), &lookup),
    };
    exec_checks(ctx, &plan, r, raw.span());
    Built {
        plan,
        span: name.span(),
        deps: depends(ctx, r, &key("depends_on")),
    }
}

/// `${VAR}` lookup for a service's fields: the OS first, then the service's
/// own env_file, then the global env files.
fn service_lookup<'a>(
    os: &'a BTreeMap<String, String>,
    file: Option<&'a EnvFile>,
    g: &'a Global,
) -> impl Fn(&str) -> Option<Looked> + 'a {
    move |v: &str| {
        let from_file = || {
            file.and_then(|f| {
                let e = f.entries.iter().rev().find(|e| e.key == v)?;
                Some(file_looked(f, e))
            })
        };
        os_looked(os, v)
            .or_else(from_file)
            .or_else(|| g.file_vars.get(v).cloned())
    }
}

/// A copy's `log_file` is its own: `worker.log` → `worker.2.log` (the
/// copies would otherwise rotate one file under each other).
fn own_log(mut f: LogFile, replica: Option<&Replica>) -> LogFile {
    let Some(r) = replica else { return f };
    let stem = f.path.file_stem().unwrap_or_default().to_string_lossy();
    let mut file = format!("{stem}.{}", r.index);
    if let Some(ext) = f.path.extension() {
        file = format!("{file}.{}", ext.to_string_lossy());
    }
    f.path.set_file_name(file);
    f
}

/// The layers the supervisor adds around the configured ones: the target
/// user's `HOME`/`USER`/`LOGNAME` (low) and a copy's `REPLICA*` (top).
struct Extra<'a> {
    user: Vec<(&'static str, String, Source)>,
    replica: Option<&'a Replica>,
}

/// The six layers for one service (+ [`Extra`]), with the OS-vs-file and PG* warnings.
#[allow(clippy::too_many_arguments)]
fn service_env(
    ctx: &mut BuildCtx,
    n: &str,
    r: &RawService,
    g: &Global,
    file: Option<&EnvFile>,
    lookup: Lookup,
    uses_database: bool,
    extra: &Extra,
) -> Env {
    let own = ctx.env_table(&r.env, &format!("services.{n}.env"), lookup);
    let mut layers = g.base_layers(ctx.os, &extra.user);
    if let Some(f) = file {
        layers.add_file(f, true);
    }
    for (k, t, line) in own {
        let source = Source::ServiceEnv {
            service: n.to_string(),
            line,
        };
        layers.set(&k, t.value, source, &t.secret);
    }
    if uses_database {
        g.add_database(&mut layers);
    }
    if let Some(rep) = extra.replica {
        for (k, v) in replicas::vars(rep) {
            layers.set(k, v, replicas::source(rep), &Spans::default());
        }
    }
    let (env, warnings) = layers.finish(ctx.os, &|v| g.known(v));
    ctx.warnings.extend(warnings);
    if let (true, Some(db)) = (uses_database, &g.db) {
        let location = format!("services.{n}");
        let found = crate::db::lint_pg_env(&db.url, &env);
        ctx.warnings
            .extend(found.into_iter().map(|message| Problem {
                location: location.clone(),
                message,
            }));
    }
    env
}

/// Never put a secret in a child's argv (docs/environment.md "Secrets") — any user on the host
/// can read a process's arguments. Warn, naming where it came from.
fn secret_argument_warning(ctx: &mut BuildCtx, r: &RawService, key: &str, argv_secret: &[Spans]) {
    let Some(cmd) = &r.command else { return };
    let Some((i, spans)) = argv_secret.iter().enumerate().find(|(_, s)| s.is_secret()) else {
        return;
    };
    let from = spans
        .parts()
        .iter()
        .find_map(|p| p.from.as_deref())
        .map_or(String::new(), |n| format!(" (from `{n}`)"));
    ctx.warn(
        &cmd.span(),
        key,
        format!("`command[{i}]` holds a secret{from}: any user on the host can read a process's arguments (ps, /proc/PID/cmdline); pass it in the environment instead. Exports write it as a reference, never the value"),
    );
}

/// What execve would refuse in the service's argv + environment, and in its
/// `exec` readiness check's — which is also resolved like the command (the
/// service's PATH and cwd, its interpreter), as a probe that cannot start
/// leaves the service never ready.
fn exec_checks(ctx: &mut BuildCtx, plan: &ServicePlan, r: &RawService, table: Range<usize>) {
    let limit = exec::arg_limit();
    let n = &plan.name;
    if !plan.argv.is_empty() {
        if let Some(why) = exec::problem(&plan.program, &plan.argv, &plan.env, limit) {
            let at = r.command.as_ref().map_or(table.clone(), Spanned::span);
            ctx.err(&at, &format!("services.{n}.command"), why);
        }
    }
    let Some(ReadyCheck {
        kind: ReadyKind::Exec(argv),
        ..
    }) = &plan.ready
    else {
        return;
    };
    let at = r.ready.as_ref().map_or(table, Spanned::span);
    let key = format!("services.{n}.ready.exec");
    let path = plan.env.get("PATH");
    let program = match command::resolve(&argv[0], path, &plan.cwd) {
        Ok(p) => p,
        Err(e) => return ctx.err(&at, &key, format!("command not found: {e}")),
    };
    let why = interpreter::problem(&program, &plan.cwd, path)
        .map(|why| format!("cannot execute: {why}"))
        .or_else(|| exec::problem(&program, argv, &plan.env, limit));
    if let Some(why) = why {
        ctx.err(&at, &key, why);
    }
}

fn check_name(ctx: &mut BuildCtx, name: &Str) {
    let n = name.get_ref();
    let bad: Vec<char> = n
        .chars()
        .filter(|c| !(c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-')))
        .collect();
    if n.is_empty() {
        ctx.err(&name.span(), "services", "a service name cannot be empty");
    } else if !bad.is_empty() {
        ctx.err(
            &name.span(),
            &format!("services.{n}"),
            format!("invalid service name: {:?} not allowed (use letters, digits, `_`, `.` and `-`: names become log prefixes, unit and file names)", bad[0]),
        );
    } else if n.starts_with(['.', '-']) {
        ctx.err(
            &name.span(),
            &format!("services.{n}"),
            "a service name cannot start with `.` or `-`",
        );
    }
}

fn service_env_file(ctx: &mut BuildCtx, rel: &Str, g: &Global) -> Option<EnvFile> {
    ctx.inputs.push(ctx.abs(rel.get_ref()));
    let outer = |n: &str| {
        let file = || g.file_vars.get(n).map(|l| &l.value);
        ctx.os.get(n).or_else(file).cloned()
    };
    match read_env_file(&ctx.shown(rel.get_ref()), &outer) {
        Ok(f) => {
            ctx.warnings.extend(lint(&f));
            Some(f)
        }
        Err(p) => {
            let at = ctx.loc.at(&rel.span());
            ctx.problems
                .push(p.location, format!("{} (the env_file at {at})", p.message));
            None
        }
    }
}

fn uses_database(ctx: &mut BuildCtx, r: &RawService, g: &Global, key: &str) -> bool {
    match &r.uses_database {
        None => g.db_configured,
        Some(u) if *u.get_ref() && !g.db_configured => {
            ctx.err(&u.span(), key, "true, but there is no [database] section");
            false
        }
        Some(u) => *u.get_ref(),
    }
}

fn restart(ctx: &mut BuildCtx, r: &RawService, oneshot: bool, key: &str) -> RestartPolicy {
    use RestartPolicy::*;
    let default = if oneshot { Never } else { OnFailure };
    let p = ctx.choice(
        &r.restart,
        key,
        &[
            ("always", Always),
            ("on-failure", OnFailure),
            ("never", Never),
        ],
        default,
    );
    if let (true, Always, Some(s)) = (oneshot, p, &r.restart) {
        ctx.err(&s.span(), key, "`always` conflicts with `oneshot = true` (a oneshot runs to completion; use \"on-failure\" to retry it)");
    }
    p
}

fn depends(
    ctx: &mut BuildCtx,
    r: &RawService,
    key: &str,
) -> Vec<(Str, Option<Spanned<Condition>>)> {
    let Some(d) = &r.depends_on else {
        return Vec::new();
    };
    match d.get_ref() {
        RawDepends::List(names) => names.iter().map(|n| (n.clone(), None)).collect(),
        RawDepends::Table(t) => {
            let conds = [
                ("started", Condition::Started),
                ("ready", Condition::Ready),
                ("completed", Condition::Completed),
            ];
            let mut out = Vec::new();
            for (n, c) in t {
                let k = format!("{key}.{}", n.get_ref());
                let cond = ctx.choice(&Some(c.clone()), &k, &conds, Condition::Started);
                out.push((n.clone(), Some(Spanned::new(c.span(), cond))));
            }
            out
        }
    }
}

/// `user`, `group`, `limits`, `umask`, `nice`.
fn exec_context(ctx: &mut BuildCtx, r: &RawService, n: &str) -> ExecContext {
    let key = |k: &str| format!("services.{n}.{k}");
    ExecContext {
        run_as: run_as(ctx, r, n),
        limits: limits::limits(ctx, &r.limits, &key("limits")),
        umask: limits::umask(ctx, r, &key("umask")),
        nice: limits::nice(ctx, r, &key("nice")),
    }
}
