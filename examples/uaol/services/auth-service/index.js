// auth-service: users. Entry point written the way the original was.
'use strict';

const path = require('node:path');
const User = require('./models/user'); // importing a model builds the pool, right now
const { pool } = require('../../shared/db');
const { health } = require('../../shared/health');
const { serve, send, readJson } = require('../../shared/http');

// The original loaded backend/.env here — after the models. Run by hand, this
// sets DATABASE_URL too late: the pool above already took the localhost
// fallback, yet the line below prints "SET". Under uaol-supervisor the variable
// is already in the environment and dotenv never overrides it: a no-op.
require('dotenv').config({ path: path.resolve(__dirname, '../../.env') });
console.log(`process.env.DATABASE_URL: ${process.env.DATABASE_URL ? 'SET' : 'NOT SET'}`);

const NAME = 'auth-service';

serve(
  NAME,
  async (req, res, url) => {
    if (req.method === 'GET' && url.pathname === '/health') {
      const body = await health(NAME);
      send(res, body.status === 'ok' ? 200 : 503, body);
      return true;
    }
    if (req.method === 'POST' && url.pathname === '/users') {
      const { email } = await readJson(req);
      if (typeof email !== 'string' || !email.includes('@')) {
        send(res, 400, { error: 'email required' });
      } else {
        send(res, 201, await User.create(email));
      }
      return true;
    }
    if (req.method === 'GET' && url.pathname === '/users/count') {
      send(res, 200, { users: await User.count() });
      return true;
    }
    return false;
  },
  () => pool.end(),
);
