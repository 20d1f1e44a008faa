'use strict';
/**
 * Micro-benchmark of the matcher hot path: the gateway documentation's second complex example
 * (AND/OR/NOT) against a mixed request set, on one core, for a bounded time. Run `npm run bench:matcher`
 * (it builds src/ into dist/ first). Speed lives here, never in unit tests.
 */
const { readFileSync } = require('node:fs');
const { join } = require('node:path');
const { parse } = require('yaml');

const DIST = join(__dirname, '..', 'dist');
/**
 * The types of the source; the code of the build `npm run bench:matcher` made.
 * @type {{
 *   config: typeof import('../src/config'),
 *   matcher: typeof import('../src/matcher'),
 *   normalize: typeof import('../src/translate/normalize-path'),
 *   checkRequest: typeof import('../src/translate/check-request'),
 * }}
 */
let dist;
try {
  dist = {
    config: require(join(DIST, 'config')),
    matcher: require(join(DIST, 'matcher')),
    normalize: require(join(DIST, 'translate', 'normalize-path')),
    checkRequest: require(join(DIST, 'translate', 'check-request')),
  };
} catch (err) {
  console.error(`dist/ is missing or stale; run "npm run build" first (${/** @type {Error} */ (err).message})`);
  process.exit(1);
}

const WARMUP_MS = 300;
const RUN_MS = 2500;
const BATCH = 10_000;

const fixture = parse(readFileSync(join(__dirname, '..', 'test', 'matcher', 'fixtures', 'gateway-example-b.yaml'), 'utf8'));
const issues = new dist.config.Issues();
const rule = dist.matcher.compileMatch({ ...fixture.match, path: 'rules[0].match' }, issues);
if (!issues.empty) {
  console.error(dist.config.formatIssues('gateway-example-b.yaml', issues.list));
  process.exit(1);
}

/**
 * @param {string} host
 * @param {string} rawPath
 * @param {Record<string, string>} [headers]
 * @returns {import('../src/matcher').CheckInput}
 */
function input(host, rawPath, headers = {}) {
  const n = dist.normalize.normalizePath(rawPath);
  const base = {
    method: 'GET',
    host,
    path: n.query ? `${n.path}?${n.query}` : n.path,
    pathOnly: n.path,
    pathSafe: n.safe,
    hostSafe: true,
    unsafeReason: n.safe ? '' : `path could not be normalized safely: ${n.unsafeReason}`,
    scheme: 'https',
    headers: new Map(Object.entries(headers)),
    destinationIp: '10.0.0.1',
    destinationPort: 8443,
    sni: '',
    metadata: {},
    literal: undefined,
  };
  return { ...base, literal: dist.checkRequest.literalReading(base, n, rawPath) };
}

const common = { 'user-agent': 'bench/1.0', accept: '*/*', authorization: 'Bearer x' };
const requests = [
  input('exampleA.com', '/api/order', common),
  input('exampleA.com', '/api/appa/bbb', common),
  input('exampleA.com', '/api/appb/ccc?x=1', common),
  input('exampleA.com', '/static/app.js', common),
  input('exampleB.com', '/', common),
  input('exampleB.com', '/api/appa/bbb', common),
  input('exampleB.com', '/api/appb/ccc', common),
  input('exampleB.com', '/api/appc/list?page=2', common),
  input('exampleB.com', '/api/appc/bbb/ccc', common),
  input('exampleB.com', '/api/appc/ccc/ddd', common),
  input('exampleB.com', '/users/42/profile', common),
  input('exampleC.com', '/api/order', common),
  input('test.exampleA.com', '/api/order', common),
  input('exampleB.com:8443', '/api/order', common),
  input('exampleB.com', '/api/../admin', common),
  input('exampleB.com', '/api/%2fadmin', common),
];
const expected = [true, false, false, false, true, false, false, false, true, true, true, false, false, false, true, true];
requests.forEach((r, i) => {
  if (rule.needsAuth(r) !== expected[i]) {
    console.error(`wrong outcome for ${r.host}${r.path}: expected needsAuth ${expected[i]}`);
    process.exit(1);
  }
});

/** Runs batches until `ms` elapse; returns [evaluations, elapsed ns, needsAuth count]. */
/** @param {number} ms */
function run(ms) {
  const n = requests.length;
  const deadline = process.hrtime.bigint() + BigInt(ms) * 1_000_000n;
  const start = process.hrtime.bigint();
  let evaluations = 0;
  let hits = 0;
  let now = start;
  while (now < deadline) {
    for (let i = 0; i < BATCH; i++) {
      if (rule.needsAuth(requests[i % n])) hits++;
    }
    evaluations += BATCH;
    now = process.hrtime.bigint();
  }
  return [evaluations, Number(now - start), hits];
}

run(WARMUP_MS);
const [evaluations, ns, hits] = run(RUN_MS);
const perSecond = Math.round(evaluations / (ns / 1e9));
console.log(
  `matcher bench: gateway documentation example 2 (AND/OR/NOT), ${requests.length} mixed requests, ` +
    `${evaluations.toLocaleString('en-US')} evaluations in ${(ns / 1e9).toFixed(2)} s ` +
    `(${Math.round((hits / evaluations) * 100)}% need auth)`,
);
console.log(`${perSecond.toLocaleString('en-US')} evaluations/s on one core (${(1e9 / perSecond).toFixed(0)} ns each)`);
