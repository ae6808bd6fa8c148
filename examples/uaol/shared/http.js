// A tiny JSON HTTP server on node:http (no framework, no build step), with a
// graceful stop on SIGTERM/SIGINT: close the listener, then the pool.
'use strict';

const http = require('node:http');
const config = require('./config');

function send(res, status, body) {
  const text = JSON.stringify(body, null, 2);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

async function readJson(req) {
  const chunks = [];
  for await (const chunk of req) chunks.push(chunk);
  const text = Buffer.concat(chunks).toString('utf8');
  return text ? JSON.parse(text) : {};
}

// routes: async (req, res, url) => boolean (true when handled).
function serve(name, routes, onStop) {
  const server = http.createServer(async (req, res) => {
    const url = new URL(req.url, 'http://localhost');
    try {
      if (!(await routes(req, res, url))) send(res, 404, { error: `no route ${req.method} ${url.pathname}` });
    } catch (err) {
      console.error(`${name}: ${req.method} ${url.pathname}: ${err.message}`);
      if (!res.headersSent) send(res, 500, { error: err.message });
    }
  });
  server.listen(config.port, config.host, () => {
    console.log(`${name} listening on http://${config.host}:${config.port} (NODE_ENV=${config.nodeEnv})`);
  });
  let stopping = false;
  const stop = (signal) => {
    if (stopping) return;
    stopping = true;
    console.log(`${name}: ${signal}, shutting down`);
    server.close(async () => {
      if (onStop) await onStop();
      process.exit(0);
    });
    server.closeAllConnections();
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
  return server;
}

module.exports = { serve, send, readJson };
