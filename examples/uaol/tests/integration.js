// The example's CI test, run under the supervisor:
//
//   uaol-supervisor run -- node examples/uaol/tests/integration.js
//
// `run` starts everything, waits until all services are ready, runs this with
// the same resolved environment, stops everything and exits with our code.
// Checks: every service reports the database DATABASE_URL names (name, port)
// over TLS — not the localhost:5432 fallback; requests through the gateway
// reach the database; a SIGKILLed service is restarted by the supervisor.
// `--no-kill` skips the restart check.
'use strict';

const test = require('node:test');
const assert = require('node:assert/strict');

const GATEWAY = process.env.GATEWAY_URL || 'http://127.0.0.1:3000';
const SERVICES = {
  'auth-service': process.env.AUTH_SERVICE_URL || 'http://127.0.0.1:3001',
  'job-orchestration-service': process.env.JOB_SERVICE_URL || 'http://127.0.0.1:3002',
};

// What the services must be connected to: the database and port in
// DATABASE_URL when `run` passes it, else the example's defaults.
function expected() {
  const raw = process.env.DATABASE_URL;
  if (!raw) return { name: 'uaol', port: 25432 };
  const u = new URL(raw);
  return { name: decodeURIComponent(u.pathname.slice(1)), port: Number(u.port || 5432) };
}

async function getJson(url, init) {
  const res = await fetch(url, { ...init, signal: AbortSignal.timeout(5000) });
  return { status: res.status, body: await res.json() };
}

function assertConnected(h, service) {
  const want = expected();
  assert.equal(h.service, service);
  assert.equal(h.status, 'ok', `${service}: ${JSON.stringify(h.database)}`);
  assert.equal(h.fallback_url_in_use, false, `${service} uses the localhost:5432 fallback URL`);
  assert.equal(h.database.name, want.name, `${service}: current_database()`);
  assert.equal(h.database.port, want.port, `${service}: inet_server_port()`);
  assert.equal(h.database.tls, true, `${service}: the connection is not TLS (pg_stat_ssl)`);
}

test('every service reports the example database, over TLS', async (t) => {
  const want = expected();
  const from = process.env.DATABASE_URL ? 'DATABASE_URL' : 'the example defaults';
  t.diagnostic(`expecting database "${want.name}" on port ${want.port} (from ${from}), TLS on`);
  for (const [name, base] of Object.entries(SERVICES)) {
    const { status, body } = await getJson(`${base}/health`);
    assert.equal(status, 200, `${name} /health: HTTP ${status}`);
    assertConnected(body, name);
  }
});

test('the gateway aggregates everyone\'s health', async () => {
  const { status, body } = await getJson(`${GATEWAY}/health`);
  assert.equal(status, 200, `gateway /health: HTTP ${status}: ${JSON.stringify(body)}`);
  assertConnected(body, 'api-gateway');
  for (const name of Object.keys(SERVICES)) assertConnected(body.services[name], name);
  // The job service runs as 2 replicas (:3002, :3003): the gateway checks each.
  const copies = Object.values(body.services['job-orchestration-service'].replicas || {});
  assert.equal(copies.length, 2, `job replicas: ${JSON.stringify(body.services['job-orchestration-service'])}`);
  for (const h of copies) assertConnected(h, 'job-orchestration-service');
});

test('requests through the gateway reach the database', async () => {
  const created = await getJson(`${GATEWAY}/api/jobs`, {
    method: 'POST',
    body: JSON.stringify({ kind: 'integration-test', payload: { at: Date.now() } }),
  });
  assert.equal(created.status, 201, JSON.stringify(created.body));
  const fetched = await getJson(`${GATEWAY}/api/jobs/${created.body.id}`);
  assert.equal(fetched.status, 200);
  assert.equal(fetched.body.kind, 'integration-test');

  const user = await getJson(`${GATEWAY}/api/auth/users`, {
    method: 'POST',
    body: JSON.stringify({ email: 'ci@example.test' }),
  });
  assert.equal(user.status, 201, JSON.stringify(user.body));
});

test('a killed service comes back', { skip: process.argv.includes('--no-kill') }, async () => {
  const base = SERVICES['auth-service'];
  const before = (await getJson(`${base}/health`)).body.pid;
  process.kill(before, 'SIGKILL');
  const deadline = Date.now() + 20000;
  for (;;) {
    try {
      const { status, body } = await getJson(`${base}/health`);
      if (status === 200 && body.pid !== before) {
        assertConnected(body, 'auth-service');
        return;
      }
    } catch {
      // not listening yet: the supervisor is restarting it
    }
    assert.ok(Date.now() < deadline, 'auth-service did not come back within 20s');
    await new Promise((r) => setTimeout(r, 100));
  }
});
