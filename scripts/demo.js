#!/usr/bin/env node
'use strict';
// `npm run demo`: the gateway documentation's example auth service and the adapter on config/example.yaml, on
// loopback ports picked by the OS, then a few Check calls from a real gRPC client, each decision
// printed. Needs dist/ (built by `npm ci` through the prepare script).
const { mkdtempSync, readFileSync, writeFileSync } = require('node:fs');
const { tmpdir } = require('node:os');
const path = require('node:path');
const pino = require('pino');
const YAML = require('yaml');
/** @type {typeof import('../src')} The types of the source; the code of the build `npm ci` made. */
const { AdapterServer, CheckClient, checkRequest: envoyCheckRequest } = require(path.join(__dirname, '..', 'dist'));
const authService = require('./example-auth-service');

/** @type {Record<number, string>} */
const HTTP_STATUS_NAME = { 200: 'OK', 401: 'Unauthorized', 403: 'Forbidden' };

/**
 * @param {string} path
 * @param {Record<string, string>} [headers]
 */
function checkRequest(path, headers = {}) {
  return envoyCheckRequest({ path, headers: { authorization: 'Bearer demo-token', ...headers } });
}

/** @param {import('../src').DecodedCheckResponse} res */
function describe(res) {
  if (res.denied_response) {
    const d = res.denied_response;
    const code = d.status?.code ?? 0;
    const headers = (d.headers ?? []).map((h) => `${h.header.key}: ${h.header.value}`).join(', ');
    return (
      `DENIED  ${code} ${HTTP_STATUS_NAME[code] ?? ''} (${res.status?.message})` +
      `${headers ? `\n            headers: ${headers}` : ''}${d.body ? `\n            body: ${d.body}` : ''}`
    );
  }
  const ok = res.ok_response ?? { headers: [], headers_to_remove: [] };
  const set = (ok.headers ?? []).map((h) => `${h.header.key}: ${h.header.value}`).join(', ') || '-';
  const removed = (ok.headers_to_remove ?? []).join(', ') || '-';
  return `ALLOWED (set: ${set}; removed: ${removed})`;
}

async function main() {
  const auth = await authService.start(0, '127.0.0.1');
  const authUrl = `http://127.0.0.1:${/** @type {import('node:net').AddressInfo} */ (auth.address()).port}`;

  const config = YAML.parse(readFileSync(path.join(__dirname, '..', 'config', 'example.yaml'), 'utf8'));
  config.grpc.address = '127.0.0.1:0';
  config.admin.address = '127.0.0.1:0';
  config.rules[0].service.url = authUrl;
  const configFile = path.join(mkdtempSync(path.join(tmpdir(), 'ext-authz-demo-')), 'config.yaml');
  writeFileSync(configFile, YAML.stringify(config));

  const adapter = await AdapterServer.start({ configFile, logger: pino({ level: 'warn' }) });
  const client = new CheckClient(`127.0.0.1:${adapter.grpcPort}`);
  /** @param {unknown} req */
  const check = (req) => client.check(req, 5000);

  console.log(`example auth service: ${authUrl}/validateToken (allows /ratings/1, 401 otherwise)`);
  console.log(`adapter: gRPC 127.0.0.1:${adapter.grpcPort}, admin http://127.0.0.1:${adapter.adminPort}`);
  console.log('config: config/example.yaml (whitelist: /healthz, /public/*)\n');

  /** @type {Array<[string, unknown]>} */
  const cases = [
    ['GET /ratings/1', checkRequest('/ratings/1')],
    ['GET /ratings/2', checkRequest('/ratings/2')],
    ['GET /ratings/1 with a forged x-user-id', checkRequest('/ratings/1', { 'x-user-id': 'admin' })],
    ['GET /public/logo.png (whitelisted)', checkRequest('/public/logo.png')],
    ['GET /public/../ratings/2 (traversal)', checkRequest('/public/../ratings/2')],
  ];
  for (const [label, req] of cases) console.log(`${label.padEnd(42)} -> ${describe(await check(req))}`);

  await new Promise((resolve) => auth.close(resolve));
  console.log(`${'GET /ratings/1, auth service stopped'.padEnd(42)} -> ${describe(await check(checkRequest('/ratings/1')))}`);

  const metrics = await fetch(`http://127.0.0.1:${adapter.adminPort}/metrics`).then((r) => r.text());
  console.log('\nfrom /metrics:');
  for (const line of metrics.split('\n')) if (line.startsWith('ext_authz_checks_total{')) console.log(`  ${line}`);

  client.close();
  await adapter.shutdown();
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
