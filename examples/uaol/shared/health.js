// GET /health: which database this service is really connected to.
'use strict';

const db = require('./db');

const HEALTH_SQL = `
  SELECT current_database()      AS name,
         inet_server_port()      AS port,
         current_user            AS "user",
         version()               AS version,
         COALESCE(s.ssl, false)  AS tls,
         s.version               AS tls_version
    FROM (SELECT 1) AS one
    LEFT JOIN pg_stat_ssl s ON s.pid = pg_backend_pid()`;

async function databaseStatus() {
  try {
    const { rows } = await db.pool.query(HEALTH_SQL);
    const r = rows[0];
    return {
      ok: true,
      name: r.name,
      port: r.port,
      user: r.user,
      tls: r.tls,
      tls_version: r.tls_version,
      server: r.version.split(' on ')[0],
    };
  } catch (err) {
    // pg errors carry no password; the message is what the user needs to see.
    return { ok: false, error: `${err.code || 'error'}: ${err.message}` };
  }
}

async function health(service, extra = {}) {
  const database = await databaseStatus();
  const body = {
    service,
    status: database.ok ? 'ok' : 'error',
    pid: process.pid,
    pool_target: db.target(),
    fallback_url_in_use: db.usedFallback,
    database_url_env: process.env.DATABASE_URL ? 'SET' : 'NOT SET',
    database,
    ...extra,
  };
  return body;
}

module.exports = { health, databaseStatus };
