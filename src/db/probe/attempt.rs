//! One probe attempt: each host in order, each address in order, phase by
//! phase (dns → tcp → tls → auth → query), every phase timed and bounded by
//! the per-host budget (`probe_timeout`, like libpq's per-host connect_timeout).

use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, Instant};

use tokio::time::timeout_at;

use super::failure::{self, Class, Failure, PhaseName};
use super::wire::Io;
use super::{auth, handshake, query, target, Phase, ServerInfo};
use crate::db::view::{ConnectPlan, Endpoint, Target, Tls, Verify};
use crate::exit;
use crate::secret::Secret;

/// Inputs shared by every host of one attempt.
pub(super) struct Attempt<'a> {
    pub(crate) plan: &'a ConnectPlan,
    pub(crate) password: Option<&'a Secret>,
    pub(crate) budget: Duration,
    /// The overall deadline (`wait`): no host's budget runs past it.
    pub(crate) until: Option<tokio::time::Instant>,
    pub(crate) allow_localhost: bool,
    pub(crate) user: String,
    pub(crate) database: String,
    /// The kind of server this pass accepts (`prefer-standby` runs as
    /// `Standby`, then as `Any`).
    pub(crate) target: Target,
}

/// The first pass's target for `plan`.
pub(super) fn first_pass(t: Target) -> Target {
    if t == Target::PreferStandby {
        Target::Standby
    } else {
        t
    }
}

/// Try each host in order; with `prefer-standby` and no standby found, try
/// them all again accepting any server (libpq's second pass).
pub(super) async fn run(ctx: &Attempt<'_>, phases: &mut Vec<Phase>) -> Result<ServerInfo, Failure> {
    let r = pass(ctx, phases).await;
    match r {
        Err(f) if ctx.target != ctx.plan.target && f.exit_code != exit::DB_AUTH => {
            let any = Attempt {
                target: Target::Any,
                user: ctx.user.clone(),
                database: ctx.database.clone(),
                ..*ctx
            };
            pass(&any, phases).await
        }
        other => other,
    }
}

/// Each host in order; authentication failures stop (libpq does the same).
async fn pass(ctx: &Attempt<'_>, phases: &mut Vec<Phase>) -> Result<ServerInfo, Failure> {
    let mut last = None;
    for ep in &ctx.plan.endpoints {
        let mut r = endpoint(ctx, ep, phases).await;
        if ctx.plan.tls == Tls::Allow && matches!(&r, Err(f) if f.class == Class::TlsRequired) {
            // libpq `allow`: plaintext refused, so try again with TLS (unverified).
            let plan = ConnectPlan {
                tls: Tls::Require(Verify::None),
                ..ctx.plan.clone()
            };
            let retry = Attempt {
                plan: &plan,
                user: ctx.user.clone(),
                database: ctx.database.clone(),
                ..*ctx
            };
            r = endpoint(&retry, ep, phases).await;
        }
        match r {
            Ok(info) => return Ok(info),
            Err(f) if f.exit_code == exit::DB_AUTH => return Err(f),
            Err(f) => last = Some(f),
        }
    }
    Err(last.unwrap_or_else(|| failure::config(Class::NoHost, "the URL names no host".into())))
}

fn push(phases: &mut Vec<Phase>, name: PhaseName, t: Instant, r: Result<String, &Failure>) {
    let (ok, detail) = match r {
        Ok(d) => (true, d),
        Err(f) => (false, f.message.clone()),
    };
    phases.push(Phase {
        name,
        elapsed: t.elapsed(),
        ok,
        detail,
    });
}

async fn endpoint(
    ctx: &Attempt<'_>,
    ep: &Endpoint,
    phases: &mut Vec<Phase>,
) -> Result<ServerInfo, Failure> {
    let now = tokio::time::Instant::now();
    let deadline = ctx
        .until
        .map_or(now + ctx.budget, |u| u.min(now + ctx.budget));
    let budget = deadline.saturating_duration_since(now);
    if ep.host.starts_with('/') {
        let path = format!("{}/.s.PGSQL.{}", ep.host, ep.port);
        let t = Instant::now();
        let r = match timeout_at(deadline, tokio::net::UnixStream::connect(&path)).await {
            Ok(Ok(s)) => Ok(s),
            Ok(Err(e)) => Err(failure::tcp(&path, &e)),
            Err(_) => Err(failure::timeout(PhaseName::Tcp, &path, Some(budget))),
        };
        push(
            phases,
            PhaseName::Tcp,
            t,
            r.as_ref().map(|_| format!("Unix socket {path}")),
        );
        let link = Link {
            ep,
            addr: &path,
            tcp: false,
            deadline,
            budget,
        };
        return session(ctx, link, Box::new(r?), phases).await;
    }
    let addrs = resolve(ep, (deadline, budget), ctx.allow_localhost, phases).await?;
    let mut last = None;
    for addr in addrs {
        let shown = addr.to_string();
        let t = Instant::now();
        let r = match timeout_at(deadline, tokio::net::TcpStream::connect(addr)).await {
            Ok(Ok(s)) => Ok(s),
            Ok(Err(e)) => Err(failure::tcp(&shown, &e)),
            Err(_) => Err(failure::timeout(PhaseName::Tcp, &shown, Some(budget))),
        };
        push(phases, PhaseName::Tcp, t, r.as_ref().map(|_| shown.clone()));
        match r {
            Ok(s) => {
                let _ = s.set_nodelay(true);
                let link = Link {
                    ep,
                    addr: &shown,
                    tcp: true,
                    deadline,
                    budget,
                };
                return session(ctx, link, Box::new(s), phases).await;
            }
            Err(f) if f.class == Class::Timeout => return Err(f),
            Err(f) => last = Some(f),
        }
    }
    Err(last.unwrap_or_else(|| failure::dns(&ep.host, &std::io::Error::other("no addresses"))))
}

async fn resolve(
    ep: &Endpoint,
    (deadline, budget): (tokio::time::Instant, Duration),
    allow_localhost: bool,
    phases: &mut Vec<Phase>,
) -> Result<Vec<SocketAddr>, Failure> {
    let t = Instant::now();
    if let Some(ip) = ep
        .hostaddr
        .as_deref()
        .and_then(|a| a.parse::<IpAddr>().ok())
        .or_else(|| ep.host.parse().ok())
    {
        push(
            phases,
            PhaseName::Dns,
            t,
            Ok(format!("{ip} (numeric, no lookup)")),
        );
        return Ok(vec![SocketAddr::new(ip, ep.port)]);
    }
    let r = match timeout_at(
        deadline,
        tokio::net::lookup_host((ep.host.as_str(), ep.port)),
    )
    .await
    {
        Ok(Ok(it)) => Ok(it.collect::<Vec<_>>()),
        Ok(Err(e)) => Err(failure::dns(&ep.host, &e)),
        Err(_) => Err(failure::timeout(PhaseName::Dns, &ep.host, Some(budget))),
    };
    // A name that resolves to loopback is the same mistake as `localhost`.
    let r = match r {
        Ok(a) if !allow_localhost && all_loopback(&a) => Err(failure::config(
            Class::LocalhostNotAllowed,
            format!(
                "\"{}\" resolves to a loopback address, but [database] allow_localhost = false",
                ep.host
            ),
        )),
        other => other,
    };
    let shown = |a: &Vec<SocketAddr>| {
        format!(
            "{} → {}",
            ep.host,
            a.iter()
                .map(|s| s.ip().to_string())
                .collect::<Vec<_>>()
                .join(", ")
        )
    };
    push(phases, PhaseName::Dns, t, r.as_ref().map(shown));
    r
}

/// Whether every address is loopback or unspecified (and there is one).
pub(super) fn all_loopback(addrs: &[SocketAddr]) -> bool {
    !addrs.is_empty()
        && addrs
            .iter()
            .all(|a| a.ip().is_loopback() || a.ip().is_unspecified())
}

/// One connected address: where, over what, and until when.
struct Link<'a> {
    ep: &'a Endpoint,
    addr: &'a str,
    tcp: bool,
    deadline: tokio::time::Instant,
    /// What `deadline` allowed, for messages.
    budget: Duration,
}

async fn session(
    ctx: &Attempt<'_>,
    link: Link<'_>,
    mut io: Box<dyn Io>,
    phases: &mut Vec<Phase>,
) -> Result<ServerInfo, Failure> {
    let Link {
        ep,
        addr,
        tcp,
        deadline,
        budget,
    } = link;
    let stalled = |phase, step: &str| failure::stalled(phase, addr, budget, step);
    let t = Instant::now();
    let mut step = "";
    let negotiated = match timeout_at(
        deadline,
        handshake::negotiate(ctx.plan, ep, io, (addr, tcp), &mut step),
    )
    .await
    {
        Ok(r) => r,
        Err(_) => Err(stalled(PhaseName::Tls, step)),
    };
    push(
        phases,
        PhaseName::Tls,
        t,
        negotiated
            .as_ref()
            .map(|(_, info, note)| handshake::detail(info.as_ref(), note)),
    );
    let (stream, tls_info, _) = negotiated?;
    io = stream;
    let login = auth::Login {
        user: &ctx.user,
        database: &ctx.database,
        options: ctx.plan.options.as_deref(),
        password: ctx.password,
        tls: tls_info.is_some(),
        addr,
        client_cert: tls_info.is_some() && ctx.plan.client_cert.is_some(),
        binding: ctx.plan.binding,
        endpoint_hash: tls_info.as_ref().and_then(|t| t.endpoint_hash.clone()),
    };
    let t = Instant::now();
    let mut step = "";
    let session = match timeout_at(deadline, auth::login(io.as_mut(), &login, &mut step)).await {
        Ok(r) => r,
        Err(_) => Err(stalled(PhaseName::Auth, step)),
    };
    push(
        phases,
        PhaseName::Auth,
        t,
        session
            .as_ref()
            .map(|s| format!("{} as \"{}\"", s.method, ctx.user)),
    );
    let session = session?;
    if ctx.target != Target::Any {
        let role = target::Role::from_params(&session.params);
        let r = target_phase(
            ctx.target,
            io.as_mut(),
            role,
            (addr, deadline, budget),
            phases,
        )
        .await;
        if let Err(f) = r {
            auth::terminate(io.as_mut()).await;
            return Err(f);
        }
    }
    let t = Instant::now();
    let r = match timeout_at(deadline, query::check(io.as_mut(), addr, &ctx.database)).await {
        Ok(r) => r,
        Err(_) => Err(stalled(PhaseName::Query, "check query")),
    };
    push(
        phases,
        PhaseName::Query,
        t,
        r.as_ref()
            .map(|q| format!("database \"{}\" as \"{}\"", q.database, q.user)),
    );
    let q = r?;
    auth::terminate(io.as_mut()).await;
    let crdb = session.params.iter().any(|(k, _)| k == "crdb_version")
        || q.version.starts_with("CockroachDB");
    Ok(ServerInfo {
        product: if crdb { "CockroachDB" } else { "PostgreSQL" },
        version: q.version,
        database: q.database,
        user: q.user,
        tls: tls_info,
        auth: session.method,
        addr: addr.to_string(),
    })
}

/// The `target` phase: is this server the kind `target_session_attrs` wants?
async fn target_phase(
    want: Target,
    io: &mut dyn Io,
    role: target::Role,
    (addr, deadline, budget): (&str, tokio::time::Instant, Duration),
    phases: &mut Vec<Phase>,
) -> Result<(), Failure> {
    let t = Instant::now();
    let r = match timeout_at(deadline, target::check(io, role, want, addr)).await {
        Ok(r) => r,
        Err(_) => Err(failure::stalled(
            PhaseName::Target,
            addr,
            budget,
            "target_session_attrs check",
        )),
    };
    push(
        phases,
        PhaseName::Target,
        t,
        r.as_ref().map(ToString::to_string),
    );
    r.map(drop)
}
