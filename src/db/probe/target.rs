//! `target_session_attrs` as libpq 14+ applies it after authentication
//! (fe-connect.c, CONNECTION_CHECK_TARGET): from the `in_hot_standby` and
//! `default_transaction_read_only` ParameterStatus a PostgreSQL 14+ server
//! reports, else with `SHOW transaction_read_only` (read-write / read-only)
//! or `SELECT pg_catalog.pg_is_in_recovery()` (primary / standby). A host
//! that is not the wanted kind is skipped like an unreachable one; the
//! `prefer-standby` second pass lives in [`super::attempt`].

use super::auth;
use super::failure::{self, Class, Failure, PhaseName};
use super::wire::Io;
use crate::db::view::Target;
use crate::exit;

/// What the server said about itself.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub(super) struct Role {
    /// `default_transaction_read_only` (ParameterStatus), if reported.
    pub(crate) read_only_default: Option<bool>,
    /// `in_hot_standby` (ParameterStatus), if reported.
    pub(crate) hot_standby: Option<bool>,
}

impl Role {
    /// From the ParameterStatus messages received at login.
    pub(super) fn from_params(params: &[(String, String)]) -> Role {
        let get = |name: &str| {
            params
                .iter()
                .rev()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v == "on")
        };
        Role {
            read_only_default: get("default_transaction_read_only"),
            hot_standby: get("in_hot_standby"),
        }
    }
}

/// The verdict on one server: `Ok(detail)` when it is what `want` asks for.
/// `want` is never `PreferStandby` here (the caller runs its two passes as
/// `Standby`, then `Any`).
pub(super) async fn check(
    io: &mut dyn Io,
    role: Role,
    want: Target,
    addr: &str,
) -> Result<String, Failure> {
    let (is, source) = match want {
        Target::Any => return Ok("any server will do".into()),
        Target::ReadWrite | Target::ReadOnly => read_only(io, &role, addr).await?,
        _ => hot_standby(io, &role, addr).await?,
    };
    let (wanted, kind) = match want {
        Target::ReadWrite => (!is, if is { "read-only" } else { "read-write" }),
        Target::ReadOnly => (is, if is { "read-only" } else { "read-write" }),
        Target::Primary => (!is, if is { "a hot standby" } else { "a primary" }),
        _ => (is, if is { "a hot standby" } else { "a primary" }),
    };
    if wanted {
        return Ok(format!(
            "{kind}, as target_session_attrs={} asks ({source})",
            want.keyword()
        ));
    }
    let libpq = match want {
        Target::ReadWrite => "session is read-only",
        Target::ReadOnly => "session is not read-only",
        Target::Primary => "server is in hot standby mode",
        _ => "server is not in hot standby mode",
    };
    Err(failure::session_attrs(format!(
        "{addr} is {kind} ({source}), but target_session_attrs={} asks for another kind of server; psql fails the same way (\"{libpq}\"). Point the URL at the right server, or list several hosts and let libpq pick",
        want.keyword()
    )))
}

/// Whether sessions are read-only, as libpq decides it.
async fn read_only(io: &mut dyn Io, role: &Role, addr: &str) -> Result<(bool, String), Failure> {
    if let (Some(d), Some(h)) = (role.read_only_default, role.hot_standby) {
        let on = |b: bool| if b { "on" } else { "off" };
        return Ok((
            d || h,
            format!(
                "default_transaction_read_only={}, in_hot_standby={}",
                on(d),
                on(h)
            ),
        ));
    }
    let v = one_value(io, addr, "SHOW transaction_read_only").await?;
    Ok((v == "on", format!("SHOW transaction_read_only = {v}")))
}

/// Whether the server is in hot standby, as libpq decides it.
async fn hot_standby(io: &mut dyn Io, role: &Role, addr: &str) -> Result<(bool, String), Failure> {
    if let Some(h) = role.hot_standby {
        return Ok((
            h,
            format!("in_hot_standby={}", if h { "on" } else { "off" }),
        ));
    }
    let v = one_value(io, addr, "SELECT pg_catalog.pg_is_in_recovery()").await?;
    Ok((v == "t", format!("pg_is_in_recovery() = {v}")))
}

async fn one_value(io: &mut dyn Io, addr: &str, sql: &str) -> Result<String, Failure> {
    match auth::simple(io, sql).await {
        Ok(rows) => Ok(rows
            .into_iter()
            .next()
            .and_then(|r| r.into_iter().next().flatten())
            .unwrap_or_default()),
        Err(Err(e)) => Err(failure::io_error(PhaseName::Target, addr, &e)),
        Err(Ok(e)) => Err(failure::query(
            Class::QueryFailed,
            exit::DB_QUERY,
            format!(
                "\"{sql}\" (for target_session_attrs) failed (SQLSTATE {}: {})",
                e.code, e.message
            ),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A server that reports neither ParameterStatus (before PostgreSQL 14,
    /// CockroachDB): the check asks, and reads the one value it gets back.
    async fn ask_old_server(want: Target, value: &str) -> (Result<String, Failure>, String) {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let (mut client, mut server) = tokio::io::duplex(4096);
        let value = value.to_string();
        let fake = async move {
            let mut head = [0u8; 5];
            server.read_exact(&mut head).await.expect("query");
            let len = u32::from_be_bytes([head[1], head[2], head[3], head[4]]) as usize;
            let mut sql = vec![0u8; len - 4];
            server.read_exact(&mut sql).await.expect("sql");
            let mut reply = Vec::new();
            let mut row = vec![0, 1];
            row.extend((value.len() as i32).to_be_bytes());
            row.extend(value.as_bytes());
            reply.push(b'D');
            reply.extend(((row.len() + 4) as u32).to_be_bytes());
            reply.extend(row);
            reply.extend([b'Z', 0, 0, 0, 5, b'I']);
            server.write_all(&reply).await.expect("reply");
            String::from_utf8_lossy(&sql)
                .trim_end_matches('\0')
                .to_string()
        };
        let check = check(&mut client, Role::default(), want, "db:5432");
        let (verdict, sql) = tokio::join!(check, fake);
        (verdict, sql)
    }

    #[tokio::test(flavor = "current_thread")]
    async fn old_servers_are_asked() {
        let (r, sql) = ask_old_server(Target::ReadWrite, "on").await;
        assert_eq!(sql, "SHOW transaction_read_only");
        let f = r.expect_err("read-only server");
        assert_eq!(f.class, Class::SessionAttrs);
        assert!(
            f.message.contains("SHOW transaction_read_only = on"),
            "{}",
            f.message
        );
        let (r, _) = ask_old_server(Target::ReadOnly, "on").await;
        assert!(r.is_ok());
        let (r, sql) = ask_old_server(Target::Primary, "f").await;
        assert_eq!(sql, "SELECT pg_catalog.pg_is_in_recovery()");
        assert!(r.expect("primary").contains("a primary"));
        let (r, _) = ask_old_server(Target::Standby, "f").await;
        assert!(r.is_err());
    }

    #[test]
    fn role_from_parameter_status() {
        let p = |k: &str, v: &str| (k.to_string(), v.to_string());
        let r = Role::from_params(&[
            p("in_hot_standby", "off"),
            p("default_transaction_read_only", "on"),
        ]);
        assert_eq!(r.read_only_default, Some(true));
        assert_eq!(r.hot_standby, Some(false));
        assert_eq!(Role::from_params(&[]), Role::default());
    }
}
