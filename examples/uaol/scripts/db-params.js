// db-params: read DATABASE_URL exactly as the services' driver does
// (pg-connection-string) and print the parts db-init needs as shell
// assignments. The password is never printed: with `--pwfile PATH` it is
// written to PATH (mode 0600) for `initdb --pwfile`.
//
// DATABASE_URL comes from the environment (the supervisor passes the env
// files); run by hand without it, examples/uaol/.env is read.
'use strict';

const fs = require('node:fs');
const path = require('node:path');
const { parse } = require('pg-connection-string');

function fail(msg) {
  console.error(`db-params: ${msg}`);
  process.exit(3);
}

let url = process.env.DATABASE_URL;
if (!url) {
  const envFile = path.resolve(__dirname, '../.env');
  url = require('dotenv').parse(fs.readFileSync(envFile)).DATABASE_URL;
  if (!url) fail(`DATABASE_URL is neither in the environment nor in ${envFile}`);
}

// pg-connection-string reads sslrootcert at parse time; the CA does not exist
// before db-init has run, and only the credentials matter here.
const u = new URL(url);
for (const k of ['sslrootcert', 'sslcert', 'sslkey']) u.searchParams.delete(k);
const c = parse(u.toString());
const SAFE = /^[A-Za-z0-9_]+$/;
for (const [field, value] of [['user', c.user], ['database', c.database]]) {
  if (!value || !SAFE.test(value)) fail(`the URL's ${field} must be a plain identifier ([A-Za-z0-9_]+) for the example database`);
}
const port = Number(c.port || 5432);
if (!Number.isInteger(port) || port < 1 || port > 65535) fail('the URL has no usable port');
if (!c.password) fail('the URL has no password (the example database uses SCRAM)');

const i = process.argv.indexOf('--pwfile');
if (i > 0) {
  const file = process.argv[i + 1];
  fs.writeFileSync(file, `${c.password}\n`, { mode: 0o600 });
}

console.log(`DB_USER=${c.user}`);
console.log(`DB_NAME=${c.database}`);
console.log(`DB_PORT=${port}`);
