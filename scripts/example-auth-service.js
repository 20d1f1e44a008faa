#!/usr/bin/env node
'use strict';
// The example auth service of the gateway documentation (Gloo's "custom auth server"), in Node: it allows
// /ratings/1 and answers 401 to everything else, always with `x-server: pythonauth`.
// It serves under AUTH_PREFIX (default /validateToken), the adapter's `service.path`.
const http = require('node:http');

const prefix = process.env.AUTH_PREFIX ?? '/validateToken';
const port = Number(process.env.PORT ?? 8000);
const host = process.env.HOST ?? '0.0.0.0';

/**
 * @param {import('node:http').IncomingMessage} req
 * @param {import('node:http').ServerResponse} res
 */
function handler(req, res) {
  const url = req.url ?? '/';
  const path = url.startsWith(prefix) ? url.slice(prefix.length) : url;
  req.resume();
  if (path.startsWith('/ratings/1')) {
    res.writeHead(200, { 'x-server': 'pythonauth', 'x-user-id': 'reviewer-1' });
    res.end();
    return;
  }
  const body = JSON.stringify({ error: 'not authorized', path });
  res.writeHead(401, {
    'x-server': 'pythonauth',
    'www-authenticate': 'Bearer realm="example"',
    'content-type': 'application/json',
  });
  res.end(body);
}

/** @returns {Promise<import('node:http').Server>} */
function start(listenPort = port, listenHost = host) {
  const server = http.createServer(handler);
  return new Promise((resolve) => server.listen(listenPort, listenHost, () => resolve(server)));
}

module.exports = { start, handler };

if (require.main === module) {
  start().then((server) => {
    const { port: bound } = /** @type {import('node:net').AddressInfo} */ (server.address());
    console.log(`example auth service on ${host}:${bound}, prefix ${prefix}`);
    process.on('SIGTERM', () => server.close(() => process.exit(0)));
  });
}
