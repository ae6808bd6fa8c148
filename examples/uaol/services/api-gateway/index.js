// api-gateway: the public entry point. Proxies /api/auth/* and /api/jobs/* to
// the services and aggregates everyone's /health. Written the way the original was.
'use strict';

const http = require('node:http');
const path = require('node:path');
const config = require('../../shared/config');
const { pool } = require('../../shared/db'); // builds the pool, right now
const { health } = require('../../shared/health');
const { serve, send } = require('../../shared/http');

// Too late for the pool when run by hand; a no-op under uaol-supervisor.
// (See services/auth-service/index.js.)
require('dotenv').config({ path: path.resolve(__dirname, '../../.env') });
console.log(`process.env.DATABASE_URL: ${process.env.DATABASE_URL ? 'SET' : 'NOT SET'}`);

const NAME = 'api-gateway';
const UPSTREAMS = {
  'auth-service': { prefix: '/api/auth', base: () => config.services.auth },
  'job-orchestration-service': { prefix: '/api/jobs', base: nextJobs, all: () => config.services.jobsAll, keep: '/jobs' },
};

// Round-robin over the job service's copies (JOB_SERVICE_URLS).
let turn = 0;
function nextJobs() {
  const all = config.services.jobsAll;
  turn = (turn + 1) % all.length;
  return all[turn];
}

async function upstreamHealth(base) {
  try {
    const res = await fetch(`${base}/health`, { signal: AbortSignal.timeout(3000) });
    return await res.json();
  } catch (err) {
    return { status: 'unreachable', error: `${base}: ${err.cause?.code || err.name}: ${err.message}` };
  }
}

// Health of one upstream: of every copy when it has several (ok only if all are).
async function upstreamAll(up) {
  const bases = up.all ? up.all() : [up.base()];
  const each = await Promise.all(bases.map(upstreamHealth));
  if (each.length === 1) return each[0];
  const status = each.every((r) => r.status === 'ok') ? 'ok' : 'degraded';
  return { ...each[0], status, replicas: Object.fromEntries(bases.map((b, i) => [b, each[i]])) };
}

async function aggregate() {
  const names = Object.keys(UPSTREAMS);
  const results = await Promise.all(names.map((n) => upstreamAll(UPSTREAMS[n])));
  const services = Object.fromEntries(names.map((n, i) => [n, results[i]]));
  const own = await health(NAME, { services });
  const allOk = own.status === 'ok' && results.every((r) => r.status === 'ok');
  return { ...own, status: allOk ? 'ok' : 'degraded' };
}

// /api/auth/users -> auth-service /users ; /api/jobs/7 -> job service /jobs/7
function proxy(req, res, url, up) {
  const rest = url.pathname.slice(up.prefix.length);
  const target = new URL(`${up.keep || ''}${rest}${url.search}`, up.base());
  const headers = { ...req.headers, host: target.host };
  const out = http.request(target, { method: req.method, headers }, (upRes) => {
    res.writeHead(upRes.statusCode, upRes.headers);
    upRes.pipe(res);
  });
  out.on('error', (err) => send(res, 502, { error: `upstream ${target.origin}: ${err.code || err.message}` }));
  req.pipe(out);
}

serve(
  NAME,
  async (req, res, url) => {
    if (req.method === 'GET' && url.pathname === '/health') {
      const body = await aggregate();
      send(res, body.status === 'ok' ? 200 : 503, body);
      return true;
    }
    for (const up of Object.values(UPSTREAMS)) {
      if (url.pathname === up.prefix || url.pathname.startsWith(`${up.prefix}/`)) {
        proxy(req, res, url, up);
        return true;
      }
    }
    return false;
  },
  () => pool.end(),
);
