//! The post-login checks: `SELECT version(), current_database(), current_user`
//! tells CockroachDB from PostgreSQL, and a catalog read catches the database
//! that does not exist on CockroachDB (which accepts the connection anyway).

use super::auth;
use super::failure::{self, Class, Failure, PhaseName};
use super::wire::Io;
use crate::exit;

/// What the identity query returned.
pub(super) struct QueryInfo {
    /// `version()`.
    pub(crate) version: String,
    /// `current_database()`.
    pub(crate) database: String,
    /// `current_user`.
    pub(crate) user: String,
}

const IDENTITY: &str = "SELECT version(), current_database(), current_user";
const CATALOG: &str = "SELECT count(*) FROM pg_catalog.pg_namespace";

/// Run both checks.
pub(super) async fn check(
    io: &mut dyn Io,
    addr: &str,
    database: &str,
) -> Result<QueryInfo, Failure> {
    let rows = run(io, addr, database, IDENTITY).await?;
    let cols = rows.into_iter().next().unwrap_or_default();
    let col = |i: usize| cols.get(i).cloned().flatten().unwrap_or_default();
    let info = QueryInfo {
        version: col(0),
        database: col(1),
        user: col(2),
    };
    run(io, addr, database, CATALOG).await?;
    Ok(info)
}

async fn run(
    io: &mut dyn Io,
    addr: &str,
    database: &str,
    sql: &str,
) -> Result<Vec<Vec<Option<String>>>, Failure> {
    match auth::simple(io, sql).await {
        Ok(rows) => Ok(rows),
        Err(Err(e)) => Err(failure::io_error(PhaseName::Query, addr, &e)),
        Err(Ok(e)) if e.code == "3D000" => Err(failure::query(Class::DbMissing, exit::DB_MISSING, format!("database \"{database}\" does not exist (SQLSTATE 3D000: {}); CockroachDB accepts the connection and fails on first use. CockroachDB Cloud's default is \"defaultdb\"", e.message))),
        Err(Ok(e)) => Err(failure::query(Class::QueryFailed, exit::DB_QUERY, format!("connected and authenticated, but \"{sql}\" failed (SQLSTATE {}: {})", e.code, e.message))),
    }
}
