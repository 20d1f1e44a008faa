'use strict';
/**
 * `node bench/cache-memory.js [BIN...]`: the decision cache under the scenario of issue 12 —
 * 4,000 distinct anonymous requests, each denied with a 60 KB page, with the cache at its
 * defaults (10,000 entries, 64 KiB bodies, and cache.maxBytes where the build knows it). Prints
 * the adapter's RSS before and after, per build (default: this repository's bin), and the cache
 * bytes metric when the build has one. Needs `npm run build` first.
 */
const fs = require('node:fs');
const http = require('node:http');
const http2 = require('node:http2');
const path = require('node:path');
const { CHECK_PATH, encodeCheckRequest } = require('./lib/check-payload');
const { freePort, start, stop, treeMemory, workDir } = require('./lib/processes');
const { waitUntilAnswering } = require('./lib/verify');

/** The Node flags of `npm start`, as bench/lib/targets.js runs the adapter. */
const SHIPPED_NODE_FLAGS = require('../package.json')
  .scripts.start.split(' ')
  .filter((/** @type {string} */ arg) => arg.startsWith('--max-old-space-size='));
const REQUESTS = 4000;
const PAGE = Buffer.alloc(60_000, 'x');
const CONCURRENCY = 16;

/** @returns {Promise<http.Server>} */
function authService() {
  const server = http.createServer((req, res) => {
    req.resume();
    req.on('end', () => res.writeHead(403, { 'content-type': 'text/html', 'content-length': PAGE.length }).end(PAGE));
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

/**
 * @param {http2.ClientHttp2Session} session
 * @param {Buffer} payload
 */
function check(session, payload) {
  return new Promise((resolve, reject) => {
    const req = session.request({ ':method': 'POST', ':path': CHECK_PATH, 'content-type': 'application/grpc', te: 'trailers' });
    req.on('error', reject);
    req.on('data', () => undefined);
    req.on('close', resolve);
    req.end(payload);
  });
}

/**
 * @param {string} bin
 * @param {string} authUrl
 */
async function measure(bin, authUrl) {
  const [grpcPort, adminPort] = [await freePort(), await freePort()];
  const file = path.join(workDir(), `cache-memory-${grpcPort}.yaml`);
  fs.writeFileSync(
    file,
    `grpc: { address: "127.0.0.1:${grpcPort}" }\nadmin: { address: "127.0.0.1:${adminPort}" }\nlog: { level: warn }\n` +
      `rules:\n  - name: r\n    service: { url: "${authUrl}", timeout: 5s }\n    cache: { ttl: 10m }\n`,
  );
  const child = start(`cache-memory-${grpcPort}`, process.execPath, [...SHIPPED_NODE_FLAGS, bin, 'serve', '--config', file]);
  try {
    const warm = encodeCheckRequest('/warm');
    const ready = await waitUntilAnswering(grpcPort, warm, () => undefined, 15_000);
    if (!ready.ok) throw new Error(`adapter did not answer: ${ready.message}`);
    const before = treeMemory(child.pid).maxRssMb;
    const session = http2.connect(`http://127.0.0.1:${grpcPort}`);
    let next = 0;
    const worker = async () => {
      while (next < REQUESTS) await check(session, encodeCheckRequest(`/anonymous/${next++}`));
    };
    await Promise.all(Array.from({ length: CONCURRENCY }, worker));
    session.close();
    const after = treeMemory(child.pid).maxRssMb;
    const metrics = await fetch(`http://127.0.0.1:${adminPort}/metrics`).then((r) => r.text());
    const bytes = /^ext_authz_cache_bytes\{rule="r"\} (\d+)/m.exec(metrics)?.[1];
    return { before, after, cacheMb: bytes === undefined ? undefined : Number(bytes) / 2 ** 20 };
  } finally {
    await stop(child);
  }
}

async function main() {
  const bins = process.argv.slice(2);
  if (bins.length === 0) bins.push(path.join(__dirname, '..', 'bin', 'ext-authz-adapter.js'));
  const auth = await authService();
  const authUrl = `http://127.0.0.1:${/** @type {import('node:net').AddressInfo} */ (auth.address()).port}`;
  try {
    for (const bin of bins) {
      const r = await measure(bin, authUrl);
      const cache = r.cacheMb === undefined ? 'no cache bytes metric' : `cache holds ${r.cacheMb.toFixed(1)} MB`;
      console.log(
        `${bin}: RSS ${r.before.toFixed(0)} MB before, ${r.after.toFixed(0)} MB after ${REQUESTS} requests (+${(r.after - r.before).toFixed(0)} MB); ${cache}`,
      );
    }
  } finally {
    auth.close();
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
