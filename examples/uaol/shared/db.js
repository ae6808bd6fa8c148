// The singleton connection pool, built at module-load time — as in the original.
//
// `config.database` is evaluated exactly once, here, when the first model
// requires this file. If DATABASE_URL was not set yet (e.g. dotenv ran later in
// the entry point), the pool is built on the localhost fallback and keeps it.
'use strict';

const { Pool } = require('pg');
const config = require('./config');

const connectionString = config.database;
const pool = new Pool({ connectionString, max: 5, connectionTimeoutMillis: 5000 });

pool.on('error', (err) => {
  // An idle client lost its connection (e.g. the database restarted); the pool
  // replaces it on the next query. Log without the URL: it holds the password.
  console.error(`db: idle client error: ${err.code || ''} ${err.message}`);
});

// Where the pool actually connects — host, port and database, never the password.
function target() {
  try {
    const u = new URL(connectionString);
    return `${u.hostname}:${u.port || 5432}${u.pathname}`;
  } catch {
    return '(unparseable DATABASE_URL)';
  }
}

module.exports = { pool, target, usedFallback: connectionString === config.FALLBACK_DATABASE_URL };
