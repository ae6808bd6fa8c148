//! The SSLRequest (or direct TLS) and the TLS handshake, as the client's
//! policy says: skip it, try it (`prefer`), or require it; then what was
//! negotiated (version, what was verified, certificate expiry).

use rustls::pki_types::ServerName;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use super::failure::{self, Class, Failure, PhaseName};
use super::wire::Io;
use super::{tls, TlsInfo};
use crate::db::view::{ConnectPlan, Endpoint, Tls, Verify};

/// Describe the TLS outcome for the phase line.
pub(super) fn detail(info: Option<&TlsInfo>, note: &str) -> String {
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

/// The stream to continue on, the TLS session if any, a note when none.
pub(super) type Negotiated = (Box<dyn Io>, Option<TlsInfo>, String);

/// Negotiate TLS on `io` (`addr`, and whether it is TCP). `step` names what
/// is awaited, for the caller's timeout message.
pub(super) async fn negotiate(
    plan: &ConnectPlan,
    ep: &Endpoint,
    mut io: Box<dyn Io>,
    (addr, tcp): (&str, bool),
    step: &mut &'static str,
) -> Result<Negotiated, Failure> {
    let verify = match plan.tls {
        _ if !tcp => return Ok((io, None, "Unix socket: no TLS (as libpq)".into())),
        Tls::Disable | Tls::Allow => return Ok((io, None, format!("no TLS: {}", plan.tls_note))),
        Tls::Prefer(v) | Tls::Require(v) => v,
    };
    let io_err = |e: std::io::Error| failure::io_error(PhaseName::Tls, addr, &e);
    // SSLRequest (code 80877103), unless TLS starts directly.
    *step = "SSLRequest (PostgreSQL's \"may I use TLS?\")";
    let reply = if plan.direct_tls {
        b'S'
    } else {
        io.write_all(&[0, 0, 0, 8, 0x04, 0xd2, 0x16, 0x2f])
            .await
            .map_err(io_err)?;
        io.read_u8().await.map_err(io_err)?
    };
    match reply {
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
    let config = tls::config(verify, plan)?;
    let name = ServerName::try_from(ep.host.clone()).map_err(|_| {
        failure::tls(
            Class::TlsBadName,
            format!("\"{}\" is not a valid TLS server name", ep.host),
        )
    })?;
    *step = "TLS handshake (ClientHello)";
    let stream = tokio_rustls::TlsConnector::from(config)
        .connect(name, io)
        .await
        .map_err(|e| super::tls_words::classify(&e, &ep.host, addr, &plan.trust))?;
    let conn = stream.get_ref().1;
    let version = conn
        .protocol_version()
        .map(|v| format!("{v:?}").replace("TLSv1_", "TLSv1."))
        .unwrap_or_default();
    let expires = conn
        .peer_certificates()
        .and_then(|c| c.first())
        .and_then(|c| super::der::not_after(c));
    let leaf = conn.peer_certificates().and_then(|c| c.first());
    let self_signed = leaf
        .and_then(|c| super::x509::parse(c))
        .is_some_and(|c| c.self_issued);
    let verify = match verify {
        Verify::None => "encrypted, certificate not verified".to_string(),
        Verify::Ca | Verify::Full if self_signed => format!(
            "self-signed certificate trusted as it is ({}){}",
            tls::trust_label(&plan.trust),
            if verify == Verify::Full {
                ", host name verified"
            } else {
                ""
            }
        ),
        Verify::Ca => format!("chain verified ({})", tls::trust_label(&plan.trust)),
        Verify::Full => format!(
            "chain and host name verified ({})",
            tls::trust_label(&plan.trust)
        ),
    };
    let endpoint_hash = leaf.and_then(|c| super::der::endpoint_hash(c));
    let info = TlsInfo {
        version,
        verify,
        expires,
        endpoint_hash,
    };
    Ok((Box::new(stream), Some(info), String::new()))
}
