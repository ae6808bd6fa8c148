//! Startup, authentication and the check queries, over an established
//! (plaintext or TLS) stream: SCRAM-SHA-256, md5, cleartext only over TLS,
//! trust. `postgres-protocol` builds the messages and runs SCRAM.

use bytes::BytesMut;
use postgres_protocol::authentication::{md5_hash, sasl};
use postgres_protocol::message::frontend;

use super::failure::{self, Class, Failure, PhaseName};
use super::wire::{self, Io, ServerError};
use crate::db::view::Binding;
use crate::exit;
use crate::secret::Secret;

/// Who logs in where.
pub(super) struct Login<'a> {
    /// User name.
    pub(crate) user: &'a str,
    /// Database name.
    pub(crate) database: &'a str,
    /// `options` startup parameter.
    pub(crate) options: Option<&'a str>,
    /// The password, if the URL has one.
    pub(crate) password: Option<&'a Secret>,
    /// Whether the stream is TLS.
    pub(crate) tls: bool,
    /// `host:port` for messages.
    pub(crate) addr: &'a str,
    /// `channel_binding` as the client applies it.
    pub(crate) binding: Binding,
    /// tls-server-end-point hash of the server certificate (TLS only).
    pub(crate) endpoint_hash: Option<Vec<u8>>,
    /// A client certificate was presented (then "no password asked" is cert auth).
    pub(crate) client_cert: bool,
}

/// What the server told us while logging in.
#[derive(Default)]
pub(super) struct Session {
    /// The method used: `SCRAM-SHA-256`, `md5`, `password`, `trust`.
    pub(crate) method: &'static str,
    /// ParameterStatus values (`server_version`, `crdb_version`, …).
    pub(crate) params: Vec<(String, String)>,
}

fn io_fail(addr: &str) -> impl Fn(std::io::Error) -> Failure + '_ {
    move |e| failure::io_error(PhaseName::Auth, addr, &e)
}

fn need_password<'a>(l: &Login<'a>) -> Result<&'a Secret, Failure> {
    l.password.ok_or_else(|| {
        failure::auth(
            Class::NoPassword,
            exit::DB_AUTH,
            format!(
                "the server requires a password for user \"{}\" but the database URL has none",
                l.user
            ),
        )
    })
}

/// SCRAM with channel binding when the client would use it (libpq's default
/// `prefer` over TLS), else plain SCRAM with the right GS2 flag: `y` when we
/// could bind but the server did not offer -PLUS, `n` when we cannot.
fn sasl_start(l: &Login<'_>, mechs: &str) -> Result<(sasl::ScramSha256, &'static str), Failure> {
    let offered = |m: &str| mechs.split('\0').any(|x| x == m);
    let password = need_password(l)?.expose().as_bytes();
    let hash = l
        .endpoint_hash
        .clone()
        .filter(|_| l.binding != Binding::Disable);
    match hash {
        Some(h) if offered(sasl::SCRAM_SHA_256_PLUS) => {
            let cb = sasl::ChannelBinding::tls_server_end_point(h);
            return Ok((
                sasl::ScramSha256::new(password, cb),
                sasl::SCRAM_SHA_256_PLUS,
            ));
        }
        _ if l.binding == Binding::Require => {
            return Err(failure::auth(Class::ChannelBindingRequired, exit::DB_AUTH, "channel_binding=require, but SCRAM-SHA-256-PLUS is not possible here (no TLS, a certificate without a usable hash, or the server does not offer it; CockroachDB never does)".into()));
        }
        _ => {}
    }
    if !offered(sasl::SCRAM_SHA_256) {
        return Err(failure::auth(
            Class::AuthUnsupported,
            exit::DB_AUTH,
            "the server offers no SASL mechanism the probe supports (SCRAM-SHA-256)".into(),
        ));
    }
    let cb = if hash.is_some() {
        sasl::ChannelBinding::unrequested()
    } else {
        sasl::ChannelBinding::unsupported()
    };
    Ok((sasl::ScramSha256::new(password, cb), sasl::SCRAM_SHA_256))
}

/// Send the startup message and authenticate; returns at ReadyForQuery.
/// `step` names what is awaited, for the caller's timeout message.
pub(super) async fn login(
    io: &mut dyn Io,
    l: &Login<'_>,
    step: &mut &'static str,
) -> Result<Session, Failure> {
    *step = "startup message";
    let mut buf = BytesMut::new();
    let mut params = vec![
        ("user", l.user),
        ("database", l.database),
        ("application_name", "uaol-supervisor-probe"),
    ];
    params.extend(l.options.map(|o| ("options", o)));
    frontend::startup_message(params, &mut buf).map_err(io_fail(l.addr))?;
    wire::send(io, &buf).await.map_err(io_fail(l.addr))?;
    let mut s = Session {
        method: if l.client_cert {
            "certificate"
        } else {
            "trust"
        },
        ..Session::default()
    };
    let mut scram: Option<sasl::ScramSha256> = None;
    loop {
        let msg = wire::recv(io).await.map_err(io_fail(l.addr))?;
        buf.clear();
        *step = "authentication exchange";
        match msg.tag {
            b'R' => match wire::auth_code(&msg.body) {
                Some(0) if l.binding == Binding::Require && s.method != sasl::SCRAM_SHA_256_PLUS => {
                    return Err(failure::auth(Class::ChannelBindingRequired, exit::DB_AUTH, "channel_binding=require, but the server authenticated without channel binding (SCRAM-SHA-256-PLUS)".into()));
                }
                Some(0) => {}
                Some(3) => {
                    if !l.tls {
                        return Err(failure::auth(Class::CleartextRefused, exit::DB_TLS, "the server asks for the password in clear text over an unencrypted connection; the probe refuses to send it. Use TLS (sslmode=verify-full) or SCRAM".into()));
                    }
                    s.method = "password";
                    frontend::password_message(need_password(l)?.expose().as_bytes(), &mut buf).map_err(io_fail(l.addr))?;
                }
                Some(5) => {
                    s.method = "md5";
                    let salt: [u8; 4] = msg.body.get(4..8).and_then(|b| b.try_into().ok()).unwrap_or_default();
                    let hash = md5_hash(l.user.as_bytes(), need_password(l)?.expose().as_bytes(), salt);
                    frontend::password_message(hash.as_bytes(), &mut buf).map_err(io_fail(l.addr))?;
                }
                Some(10) => {
                    let mechs = String::from_utf8_lossy(&msg.body[4..]).into_owned();
                    let (sc, mechanism) = sasl_start(l, &mechs)?;
                    s.method = mechanism;
                    frontend::sasl_initial_response(mechanism, sc.message(), &mut buf).map_err(io_fail(l.addr))?;
                    scram = Some(sc);
                }
                Some(11) => {
                    let sc = scram.as_mut().ok_or_else(|| failure::io_error(PhaseName::Auth, l.addr, &std::io::Error::new(std::io::ErrorKind::InvalidData, "")))?;
                    sc.update(&msg.body[4..]).map_err(|_| failure::auth(Class::AuthFailed, exit::DB_AUTH, "the server's SCRAM challenge is invalid".into()))?;
                    frontend::sasl_response(sc.message(), &mut buf).map_err(io_fail(l.addr))?;
                }
                Some(12) => {
                    let sc = scram.as_mut().ok_or_else(|| failure::io_error(PhaseName::Auth, l.addr, &std::io::Error::new(std::io::ErrorKind::InvalidData, "")))?;
                    sc.finish(&msg.body[4..]).map_err(|_| failure::auth(Class::AuthServerSignature, exit::DB_AUTH, "the server's SCRAM signature does not verify: this server does not know the password (man in the middle?)".into()))?;
                }
                _ => return Err(failure::auth(Class::AuthUnsupported, exit::DB_AUTH, "the server asks for an authentication method the probe does not support (Kerberos/GSSAPI/SSPI)".into())),
            },
            b'E' => return Err(failure::startup(&wire::server_error(&msg.body), l.user, l.database, l.tls)),
            b'S' => s.params.push(wire::parameter(&msg.body)),
            b'Z' => return Ok(s),
            _ => {}
        }
        if !buf.is_empty() {
            wire::send(io, &buf).await.map_err(io_fail(l.addr))?;
        }
    }
}

/// Run one simple query; rows as text. A server error comes back as `Err(Ok(_))`.
pub(super) async fn simple(
    io: &mut dyn Io,
    sql: &str,
) -> Result<Vec<Vec<Option<String>>>, Result<ServerError, std::io::Error>> {
    let mut buf = BytesMut::new();
    frontend::query(sql, &mut buf).map_err(Err)?;
    wire::send(io, &buf).await.map_err(Err)?;
    let (mut rows, mut error) = (Vec::new(), None);
    loop {
        let msg = wire::recv(io).await.map_err(Err)?;
        match msg.tag {
            b'D' => rows.push(wire::data_row(&msg.body)),
            b'E' => error = Some(wire::server_error(&msg.body)),
            b'Z' => return error.map_or(Ok(rows), |e| Err(Ok(e))),
            _ => {}
        }
    }
}

/// Politely end the session.
pub(super) async fn terminate(io: &mut dyn Io) {
    let mut buf = BytesMut::new();
    frontend::terminate(&mut buf);
    let _ = wire::send(io, &buf).await;
    let _ = tokio::io::AsyncWriteExt::shutdown(io).await;
}
