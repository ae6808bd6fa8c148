// migrate: a oneshot that creates the schema, idempotently. Run by the
// supervisor before the services (depends_on = { migrate = "completed" }).
'use strict';

const { pool, target } = require('../shared/db');

const STATEMENTS = [
  `CREATE TABLE IF NOT EXISTS schema_migrations (
     version    integer PRIMARY KEY,
     applied_at timestamptz NOT NULL DEFAULT now())`,
  `CREATE TABLE IF NOT EXISTS users (
     id         bigserial PRIMARY KEY,
     email      text NOT NULL UNIQUE,
     created_at timestamptz NOT NULL DEFAULT now())`,
  `CREATE TABLE IF NOT EXISTS jobs (
     id         bigserial PRIMARY KEY,
     kind       text NOT NULL,
     status     text NOT NULL DEFAULT 'queued',
     payload    jsonb NOT NULL DEFAULT '{}'::jsonb,
     created_at timestamptz NOT NULL DEFAULT now())`,
  `INSERT INTO schema_migrations (version) VALUES (1) ON CONFLICT DO NOTHING`,
];

async function main() {
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    // Serialise concurrent runs (two supervisors, a manual run): one waits.
    await client.query('SELECT pg_advisory_xact_lock(4242)');
    for (const sql of STATEMENTS) await client.query(sql);
    await client.query('COMMIT');
    const { rows } = await client.query('SELECT max(version) AS v FROM schema_migrations');
    console.log(`migrate: schema at version ${rows[0].v} on ${target()}`);
  } catch (err) {
    await client.query('ROLLBACK').catch(() => {});
    throw err;
  } finally {
    client.release();
    await pool.end();
  }
}

main().catch((err) => {
  console.error(`migrate: failed on ${target()}: ${err.code || ''} ${err.message}`);
  process.exit(1);
});
