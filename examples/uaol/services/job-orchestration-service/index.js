// job-orchestration-service: jobs. Entry point written the way the original was.
'use strict';

const path = require('node:path');
const Job = require('./models/job'); // importing a model builds the pool, right now
const { pool } = require('../../shared/db');
const { health } = require('../../shared/health');
const { serve, send, readJson } = require('../../shared/http');

// Too late for the pool when run by hand; a no-op under uaol-supervisor.
// (See services/auth-service/index.js.)
require('dotenv').config({ path: path.resolve(__dirname, '../../.env') });
console.log(`process.env.DATABASE_URL: ${process.env.DATABASE_URL ? 'SET' : 'NOT SET'}`);

const NAME = 'job-orchestration-service';

serve(
  NAME,
  async (req, res, url) => {
    if (req.method === 'GET' && url.pathname === '/health') {
      const body = await health(NAME);
      send(res, body.status === 'ok' ? 200 : 503, body);
      return true;
    }
    if (req.method === 'POST' && url.pathname === '/jobs') {
      const { kind, payload } = await readJson(req);
      if (typeof kind !== 'string' || kind === '') {
        send(res, 400, { error: 'kind required' });
      } else {
        send(res, 201, await Job.create(kind, payload ?? {}));
      }
      return true;
    }
    const m = url.pathname.match(/^\/jobs\/(\d+)$/);
    if (req.method === 'GET' && m) {
      const job = await Job.get(Number(m[1]));
      send(res, job ? 200 : 404, job || { error: 'no such job' });
      return true;
    }
    return false;
  },
  () => pool.end(),
);
