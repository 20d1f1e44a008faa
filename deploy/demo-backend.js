#!/usr/bin/env node
'use strict';
// The demo backend behind Envoy in docker-compose.yml, standing in for Bookinfo's ratings
// service of the gateway documentation's example: GET /ratings/<id> answers {"id":<id>,"ratings":{...}}. It echoes the
// x-user-id header the auth service vouched for (rules[].response.allowedHeaders), so the
// demo shows what reaches a backend after an allowed check.
const http = require('node:http');

const port = Number(process.env.PORT ?? 9080);
const host = process.env.HOST ?? '0.0.0.0';
const RATING = /^\/ratings\/(\d{1,9})(?:[/?]|$)/;

/**
 * @param {import('node:http').IncomingMessage} req
 * @param {import('node:http').ServerResponse} res
 */
function handler(req, res) {
  req.resume();
  const match = RATING.exec(req.url ?? '');
  /** @type {Record<string, string>} */
  const headers = { 'content-type': 'application/json' };
  const user = req.headers['x-user-id'];
  if (typeof user === 'string') headers['x-backend-saw-user'] = user;
  if (!match) {
    res.writeHead(404, headers);
    res.end(JSON.stringify({ error: 'not found' }));
    return;
  }
  res.writeHead(200, headers);
  res.end(JSON.stringify({ id: Number(match[1]), ratings: { Reviewer1: 5, Reviewer2: 4 } }));
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
    console.log(`demo ratings backend on ${host}:${bound}`);
    process.on('SIGTERM', () => server.close(() => process.exit(0)));
  });
}
