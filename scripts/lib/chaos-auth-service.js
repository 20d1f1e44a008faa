'use strict';
/**
 * The auth service of `npm run chaos`, run as a process of its own (`node chaos-auth-service.js
 * PORT TIMEOUT_MS`, with an IPC channel) so that the load generator's event loop does not slow its
 * answers. Healthy, it answers by the check's kind (`/auth/api/allow/N`: 200 with x-user-id,
 * `/auth/api/deny/N`: 401); otherwise it misbehaves as the phase the parent sends says. It reports
 * what reached it and what it wrote for each check, in batches, so the parent can judge every
 * answer once all reports are in. Listens on 127.0.0.1 only; exits when the parent goes away.
 */
const http = require('node:http');

/** @typedef {'healthy' | 'kill' | 'blackhole' | '5xx' | 'slow' | 'reset'} Phase */
/** @typedef {{ type: 'phase', phase: Phase } | { type: 'flush' }} ToService */
/** @typedef {{ type: 'listening' } | { type: 'answers', list: number[] } | { type: 'flushed' }} FromService */

/** Status recorded for "the request arrived" (written as pairs: check id, status). */
const RECEIVED = 1;
const USER = 'u-chaos';

/**
 * @param {number} port
 * @param {number} timeoutMs the adapter's service.timeout; "slow" answers after three of them
 */
function run(port, timeoutMs) {
  /** @type {Set<import('node:net').Socket>} */
  const sockets = new Set();
  /** @type {Set<http.ServerResponse>} */
  const held = new Set();
  /** @type {Set<NodeJS.Timeout>} */
  const timers = new Set();
  /** @type {number[]} */
  let batch = [];
  /** @type {Phase} */
  let phase = 'healthy';
  /** @param {FromService} m */
  const send = (m) => process.send?.(m);
  /**
   * @param {http.ServerResponse} res
   * @param {number} id
   * @param {string} kind
   */
  const answer = (res, id, kind) => {
    if (res.destroyed) return;
    const status = kind === 'allow' ? 200 : 401;
    batch.push(id, status);
    if (status === 200) res.writeHead(200, { 'x-user-id': USER }).end();
    else res.writeHead(401, { 'www-authenticate': 'Bearer' }).end('{"error":"invalid_token"}');
  };
  const server = http.createServer((req, res) => {
    req.resume();
    // /auth/api/<kind>/<id>, or /auth/public/<id> (bypassed: it must never arrive).
    const parts = (req.url ?? '').split('/');
    const kind = parts[2] === 'public' ? 'bypass' : (parts[3] ?? '');
    const id = Number(parts.at(-1));
    batch.push(id, RECEIVED);
    switch (phase) {
      case 'blackhole':
        held.add(res);
        return;
      case '5xx':
        batch.push(id, 503);
        res.writeHead(503).end('busy');
        return;
      case 'slow': {
        const t = setTimeout(() => {
          timers.delete(t);
          answer(res, id, kind);
        }, timeoutMs * 3);
        timers.add(t);
        return;
      }
      case 'reset':
        req.socket.resetAndDestroy();
        return;
      default:
        answer(res, id, kind);
    }
  });
  server.keepAliveTimeout = 60_000;
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  const flush = () => {
    if (batch.length === 0) return;
    send({ type: 'answers', list: batch });
    batch = [];
  };
  setInterval(flush, 100).unref();
  process.on('message', (/** @type {ToService} */ m) => {
    if (m.type === 'flush') {
      flush();
      send({ type: 'flushed' });
      return;
    }
    const previous = phase;
    phase = m.phase;
    if (previous === 'blackhole') {
      for (const res of held) res.destroy();
      held.clear();
    }
    // Killed: the port refuses and every connection is reset, as when the process dies.
    if (phase === 'kill') {
      server.close();
      for (const s of sockets) s.resetAndDestroy();
    }
    if (previous === 'kill') server.listen(port, '127.0.0.1');
  });
  process.on('disconnect', () => process.exit(0));
  server.listen(port, '127.0.0.1', () => send({ type: 'listening' }));
}

if (require.main === module) run(Number(process.argv[2]), Number(process.argv[3]));

module.exports = { RECEIVED, USER };
