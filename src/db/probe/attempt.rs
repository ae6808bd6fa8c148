//! One probe attempt: each host in order, each address in order, phase by
//! phase (dns → tcp → tls → auth → query), every phase timed and bounded by
//! the per-host budget (`probe_timeout`, like libpq's per-host connect_timeout).

use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, Instant};

use rustls::pki_types::ServerName;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::time::timeout_at;

use super::failure::{self, Failure};
use super::wire::Io;
use super::{auth, query, tls, Phase, ServerInfo, TlsInfo};
use crate::db::view::{ConnectPlan, Endpoint, Tls, Verify};
use crate::exit;
use crate::secret::Secret;

/// Inputs shared by every host of one attempt.
pub struct Ctx<'a> {
    pub plan: &'a ConnectPlan,
    pub password: Option<&'a Secret>,
    pub budget: Duration,
    pub user: String,
    pub database: String,
}

/// Try each host in order; authentication failures stop (libpq does the same).
pub async fn run(ctx: &Ctx<'_>, phases: &mut Vec<Phase>) -> Result<ServerInfo, Failure> {
    let mut last = None;
    for ep in &ctx.plan.endpoints {
        match endpoint(ctx, ep, phases).await {
            Ok(info) => return Ok(info),
            Err(f) if f.exit_code == exit::DB_AUTH => return Err(f),
            Err(f) => last = Some(f),
        }
    }
    Err(last.unwrap_or_else(|| failure::tls("no_host", "the URL names no host".into())))
}

fn push(phases: &mut Vec<Phase>, name: &'static str, t: Instant, r: Result<String, &Failure>) {
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
    ctx: &Ctx<'_>,
    ep: &Endpoint,
    phases: &mut Vec<Phase>,
) -> Result<ServerInfo, Failure> {
    let deadline = tokio::time::Instant::now() + ctx.budget;
    if ep.host.starts_with('/') {
        let path = format!("{}/.s.PGSQL.{}", ep.host, ep.port);
        let t = Instant::now();
        let r = match timeout_at(deadline, tokio::net::UnixStream::connect(&path)).await {
            Ok(Ok(s)) => Ok(s),
            Ok(Err(e)) => Err(failure::tcp(&path, &e)),
            Err(_) => Err(failure::timeout("tcp", &path, Some(ctx.budget))),
        };
        push(
            phases,
            "tcp",
            t,
            r.as_ref().map(|_| format!("Unix socket {path}")),
        );
        return session(ctx, ep, Box::new(r?), &path, false, deadline, phases).await;
    }
    let addrs = resolve(ctx, ep, deadline, phases).await?;
    let mut last = None;
    for addr in addrs {
        let shown = addr.to_string();
        let t = Instant::now();
        let r = match timeout_at(deadline, tokio::net::TcpStream::connect(addr)).await {
            Ok(Ok(s)) => Ok(s),
            Ok(Err(e)) => Err(failure::tcp(&shown, &e)),
            Err(_) => Err(failure::timeout("tcp", &shown, Some(ctx.budget))),
        };
        push(phases, "tcp", t, r.as_ref().map(|_| shown.clone()));
        match r {
            Ok(s) => {
                let _ = s.set_nodelay(true);
                return session(ctx, ep, Box::new(s), &shown, true, deadline, phases).await;
            }
            Err(f) if f.class == "timeout" => return Err(f),
            Err(f) => last = Some(f),
        }
    }
    Err(last.unwrap_or_else(|| failure::dns(&ep.host, &std::io::Error::other("no addresses"))))
}

async fn resolve(
    ctx: &Ctx<'_>,
    ep: &Endpoint,
    deadline: tokio::time::Instant,
    phases: &mut Vec<Phase>,
) -> Result<Vec<SocketAddr>, Failure> {
    let t = Instant::now();
    if let Some(ip) = ep
        .hostaddr
        .as_deref()
        .and_then(|a| a.parse::<IpAddr>().ok())
        .or_else(|| ep.host.parse().ok())
    {
        push(phases, "dns", t, Ok(format!("{ip} (numeric, no lookup)")));
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
        Err(_) => Err(failure::timeout("dns", &ep.host, Some(ctx.budget))),
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
    push(phases, "dns", t, r.as_ref().map(shown));
    r
}

#[allow(clippy::too_many_arguments)]
async fn session(
    ctx: &Ctx<'_>,
    ep: &Endpoint,
    mut io: Box<dyn Io>,
    addr: &str,
    tcp: bool,
    deadline: tokio::time::Instant,
    phases: &mut Vec<Phase>,
) -> Result<ServerInfo, Failure> {
    let timeout = |phase| failure::timeout(phase, addr, Some(ctx.budget));
    let t = Instant::now();
    let negotiated = match timeout_at(deadline, negotiate(ctx, ep, io, addr, tcp)).await {
        Ok(r) => r,
        Err(_) => Err(timeout("tls")),
    };
    push(
        phases,
        "tls",
        t,
        negotiated
            .as_ref()
            .map(|(_, info, note)| tls_detail(info.as_ref(), note)),
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
    };
    let t = Instant::now();
    let session = match timeout_at(deadline, auth::login(io.as_mut(), &login)).await {
        Ok(r) => r,
        Err(_) => Err(timeout("auth")),
    };
    push(
        phases,
        "auth",
        t,
        session
            .as_ref()
            .map(|s| format!("{} as \"{}\"", s.method, ctx.user)),
    );
    let session = session?;
    let t = Instant::now();
    let r = match timeout_at(deadline, query::check(io.as_mut(), addr, &ctx.database)).await {
        Ok(r) => r,
        Err(_) => Err(timeout("query")),
    };
    push(
        phases,
        "query",
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

fn tls_detail(info: Option<&TlsInfo>, note: &str) -> String {
    match info {
        Some(i) => format!(
            "{}, {}{}",
            i.version,
            i.verify,
            i.expires
                .map(|e| format!(", certificate valid until {}", super::der::date(e)))
                .unwrap_or_default()
        ),
        None => note.to_string(),
    }
}

type Negotiated = (Box<dyn Io>, Option<TlsInfo>, String);

async fn negotiate(
    ctx: &Ctx<'_>,
    ep: &Endpoint,
    mut io: Box<dyn Io>,
    addr: &str,
    tcp: bool,
) -> Result<Negotiated, Failure> {
    let plan = ctx.plan;
    let verify = match plan.tls {
        _ if !tcp => return Ok((io, None, "Unix socket: no TLS (as libpq)".into())),
        Tls::Disable | Tls::Allow => return Ok((io, None, format!("no TLS: {}", plan.tls_note))),
        Tls::Prefer(v) | Tls::Require(v) => v,
    };
    let io_err = |e: std::io::Error| failure::io_error("tls", addr, &e);
    io.write_all(&[0, 0, 0, 8, 0x04, 0xd2, 0x16, 0x2f])
        .await
        .map_err(io_err)?;
    match io.read_u8().await.map_err(io_err)? {
        b'S' => {}
        b'N' if matches!(plan.tls, Tls::Prefer(_)) => {
            return Ok((
                io,
                None,
                "the server does not support SSL: plaintext (sslmode=prefer)".into(),
            ))
        }
        b'N' => return Err(failure::tls_not_supported(addr)),
        _ => {
            return Err(io_err(std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                "",
            )))
        }
    }
    let config = tls::config(verify, &plan.trust)?;
    let name = ServerName::try_from(ep.host.clone()).map_err(|_| {
        failure::tls(
            "tls_bad_name",
            format!("\"{}\" is not a valid TLS server name", ep.host),
        )
    })?;
    let stream = tokio_rustls::TlsConnector::from(config)
        .connect(name, io)
        .await
        .map_err(|e| tls::classify(&e, &ep.host, addr, &plan.trust))?;
    let conn = stream.get_ref().1;
    let version = conn
        .protocol_version()
        .map(|v| format!("{v:?}").replace("TLSv1_", "TLSv1."))
        .unwrap_or_default();
    let expires = conn
        .peer_certificates()
        .and_then(|c| c.first())
        .and_then(|c| super::der::not_after(c));
    let verify = match verify {
        Verify::None => "encrypted, certificate not verified".to_string(),
        Verify::Ca => format!("chain verified ({})", tls::trust_label(&plan.trust)),
        Verify::Full => format!(
            "chain and host name verified ({})",
            tls::trust_label(&plan.trust)
        ),
    };
    let info = TlsInfo {
        version,
        verify,
        expires,
    };
    Ok((Box::new(stream), Some(info), String::new()))
}
