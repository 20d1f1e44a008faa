'use strict';
/**
 * `npm run bench`: the adapter against the gRPC ceiling (a constant answer), the floor (the least
 * an auth adapter on this stack can do: one undici dispatch per check) and a naive
 * fetch-per-check adapter, all driven by h2load with the same pre-encoded CheckRequest, the same request count and the
 * same concurrency, on loopback, against an nginx auth service the benchmark starts itself.
 * Prints one table and the targets with PASS/MISS. Needs: apt-get install -y
 * nghttp2-client nginx, and `npm run build` (the npm script runs it).
 *
 * Options: --requests N (50000 per row, split over the rounds) --rounds N (5) --rows KEY,KEY (all)
 *          --warmup N (5000, before the first round) --clients N (4) --streams N (32)
 *          --rate N (2000) --rate-seconds N (5, per round) --rate-rounds N (3) --rate-clients N (2)
 * Each row gets --rounds interleaved rounds of --requests / --rounds checks (10,000 by default,
 * so even the fastest row runs for about a second per round); the median round is shown. The
 * defaults took 2 minutes on a shared 2-core machine at load 4, and over 5 at load 6–12 with the
 * floor, parity and fixed-rate rounds added: hence the 12-minute limit below.
 * Fixed-rate runs use --rate-clients connections × FIXED_RATE_STREAMS streams, not -c/-m (see
 * FIXED_RATE_STREAMS in lib/measure.js for why bursts must stay small).
 * Every row also shows the target's CPU time per check (see cpuWindow in lib/measure.js), and
 * each adapter row its CPU per check over the floor's and the ceiling's, paired round by round
 * (a round's ratio compares checks measured seconds apart, so a burst of load from elsewhere
 * moves both sides): the median and the range over the rounds. The fixed-rate runs take turns
 * too (ceiling, adapter, ceiling, ...), and their p99 ratio is paired the same way.
 * The adapter is started through bin/ext-authz-adapter.js with no Node flags, as users start it.
 * BENCH_AB_NODE_FLAGS="--flag ..." adds an auth row whose adapter also gets those flags: an A/B
 * of a Node setting within one run (`--rows auth,authFlags`).
 * BENCH_BASELINE_BIN=path/to/bin/ext-authz-adapter.js adds the auth and the body rows on that
 * other build, in the same interleaved rounds: an A/B of a change within one run
 * (`--rows auth,authBaseline` or `--rows body,bodyBaseline`).
 * The tracing rows run the same traced CheckRequest through the adapter with tracing off and on
 * (every check sampled, exported over OTLP/HTTP protobuf to bench/otlp-sink.js).
 */
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { execFileSync } = require('node:child_process');
const { encodeCheckRequest } = require('./lib/check-payload');
const { Nginx } = require('./lib/nginx');
const { FIXED_RATE_CLIENTS, FIXED_RATE_STREAMS, combineRateRounds, combineRounds, measure, fixedRate } = require('./lib/measure');
const { stopAll, workDir } = require('./lib/processes');
const { startAdapter, startNodeServer } = require('./lib/targets');
const { expectations } = require('./lib/verify');
const report = require('./lib/report');
const { cliOptions } = require('../scripts/lib/cli-options');

/**
 * @typedef {import('./lib/measure').Row} Row
 * @typedef {import('./lib/measure').Load} Load
 * @typedef {import('./lib/targets').Target} Target
 */

const args = cliOptions(
  'usage: npm run bench [-- --requests N] [--rounds N] [--rows KEY,KEY] [--warmup N] [--clients N] [--streams N] [--rate N] [--rate-seconds N] [--rate-rounds N] [--rate-clients N]',
  {
    requests: '50000',
    warmup: '5000',
    clients: '4',
    streams: '32',
    rate: '2000',
    'rate-seconds': '5',
    'rate-rounds': '3',
    'rate-clients': String(FIXED_RATE_CLIENTS),
    rounds: '5',
    rows: '',
  },
);
const ONLY = new Set((args.rows ?? '').split(',').filter(Boolean));
const wanted = (/** @type {string} */ key) => ONLY.size === 0 || ONLY.has(key);
const BASELINE_BIN = process.env.BENCH_BASELINE_BIN;
const AB_NODE_FLAGS = (process.env.BENCH_AB_NODE_FLAGS ?? '').split(' ').filter(Boolean);
/** A JSON order of about 1 KB: what a client might POST to an API the auth service also reads. */
const ORDER_BODY = JSON.stringify({
  items: Array.from({ length: 12 }, (_, i) => ({ sku: `SKU-${1000 + i}`, qty: i + 1, note: 'gift wrap' })),
});
const opts = {
  requests: Number(args.requests),
  warmup: Number(args.warmup),
  clients: Number(args.clients),
  streams: Number(args.streams),
  timeoutMs: 120_000,
};
const RATE = Number(args.rate);
const RATE_SECONDS = Number(args['rate-seconds']);
const RATE_CLIENTS = Math.max(1, Number(args['rate-clients']));
const RATE_ROUNDS = Math.max(1, Number(args['rate-rounds']));
const ROUNDS = Math.max(1, Number(args.rounds));
const PER_ROUND = Math.ceil(opts.requests / ROUNDS);
opts.requests = PER_ROUND * ROUNDS;
const RUN_LIMIT_MS = 12 * 60_000;

function preflight() {
  /** @type {string[]} */
  const missing = [];
  try {
    execFileSync('h2load', ['--version'], { stdio: 'ignore' });
  } catch {
    missing.push('h2load');
  }
  if (!['/usr/sbin/nginx', '/usr/bin/nginx', '/usr/local/sbin/nginx'].some((p) => fs.existsSync(p))) {
    try {
      execFileSync('sh', ['-c', 'command -v nginx'], { stdio: 'ignore' });
    } catch {
      missing.push('nginx');
    }
  }
  if (missing.length) {
    console.error(`missing ${missing.join(' and ')}; install: apt-get update && apt-get install -y nghttp2-client nginx`);
    process.exit(2);
  }
  if (!fs.existsSync(path.join(__dirname, '..', 'dist', 'server', 'runtime', 'cli.js'))) {
    console.error('dist/ is missing; run "npm run build" first (npm run bench does)');
    process.exit(2);
  }
}

function payloads() {
  const write = (
    /** @type {string} */ name,
    /** @type {string} */ pathAndQuery,
    /** @type {string | undefined} */ body = undefined,
    /** @type {Record<string, string> | undefined} */ extraHeaders = undefined,
  ) => {
    const payload = encodeCheckRequest(pathAndQuery, body, extraHeaders);
    const payloadFile = path.join(workDir(), `${name}.bin`);
    fs.writeFileSync(payloadFile, payload);
    return { payload, payloadFile };
  };
  return {
    auth: { ...write('auth', '/api/orders/12345?expand=items&limit=20'), expect: expectations.authAllowed },
    bypass: { ...write('bypass', '/public/catalog/items?page=2&sort=price'), expect: expectations.bypass },
    deny: { ...write('deny', '/deny/orders/12345?expand=items'), expect: expectations.denied },
    body: { ...write('body', '/api/orders?expand=items', ORDER_BODY), expect: expectations.authAllowed },
    constant: { ...write('ceiling', '/api/orders/12345?expand=items&limit=20'), expect: expectations.ok },
    // As Envoy sends it with tracing on: a sampled W3C context for the adapter to continue.
    traced: { ...write('traced', '/api/orders/12345?expand=items&limit=20', undefined, TRACE_HEADERS), expect: expectations.authAllowed },
  };
}

const TRACE_HEADERS = {
  traceparent: '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01',
  tracestate: 'vendor=opaque',
};

/** @param {Row} row */
function progress(row) {
  const cpuRounds =
    row.cpuRounds && row.cpuRounds.length > 1
      ? ` (rounds ${row.cpuRounds.map((c) => (c !== undefined && Number.isFinite(c) ? c.toFixed(0) : '–')).join('/')})`
      : '';
  const cpu =
    row.cpuUsPerCheck !== undefined && Number.isFinite(row.cpuUsPerCheck)
      ? `, CPU ${row.cpuUsPerCheck.toFixed(1)} µs/check${cpuRounds}`
      : '';
  const status = row.failed.length ? `FAILED: ${row.failed.join('; ')}` : `${Math.round(row.reqPerSec ?? NaN)} req/s${cpu}`;
  console.error(`  ${row.label}: ${status}`);
}

/**
 * Every server under test, started once; rows name the one they measure.
 * @param {string} authUrl
 * @param {ReturnType<typeof payloads>} p
 * @param {string} sinkUrl the OTLP sink the tracing row exports to
 * @returns {Record<string, () => Promise<Target>>}
 */
function servers(authUrl, p, sinkUrl) {
  const adapter = (/** @type {string} */ label, /** @type {Omit<import('./lib/targets').AdapterOptions, 'authUrl'>} */ options) => () =>
    startAdapter(label, { authUrl, ...options }, p.bypass.payload, expectations.bypass);
  return {
    ceiling: () => startNodeServer('ceiling', 'ceiling-server.js'),
    floor: () => startNodeServer('floor', 'floor-server.js', [authUrl]),
    naive: () => startNodeServer('naive', 'naive-server.js', [`${authUrl}/check`]),
    w1: adapter('adapter-w1', { workers: 1 }),
    w1warn: adapter('adapter-w1-warn', { workers: 1, logLevel: 'warn' }),
    w2: adapter('adapter-w2', { workers: 2 }),
    cache: adapter('adapter-cache', { workers: 1, cache: true }),
    coalesce: adapter('adapter-coalesce', { workers: 1, coalesce: true }),
    body: adapter('adapter-body', { workers: 1, body: true }),
    parity: adapter('adapter-parity', { workers: 1, parity: true }),
    ...(AB_NODE_FLAGS.length ? { w1flags: adapter('adapter-w1-flags', { workers: 1, nodeFlags: AB_NODE_FLAGS }) } : {}),
    ...(BASELINE_BIN
      ? {
          bodyBaseline: adapter('adapter-body-baseline', { workers: 1, body: true, bin: BASELINE_BIN }),
          baseline: adapter('adapter-baseline', { workers: 1, bin: BASELINE_BIN }),
        }
      : {}),
    // Every check sampled (the requests carry a sampled parent), exported as protobuf to the sink.
    traced: adapter('adapter-traced', {
      workers: 1,
      env: { OTEL_TRACES_EXPORTER: 'otlp', OTEL_EXPORTER_OTLP_ENDPOINT: sinkUrl, OTEL_EXPORTER_OTLP_PROTOCOL: 'http/protobuf' },
    }),
  };
}

/**
 * @param {ReturnType<typeof payloads>} p
 * @returns {Array<{ key: string, label: string, server: string, load: Load }>}
 */
function rowPlan(p) {
  return [
    { key: 'ceiling', label: 'ceiling', server: 'ceiling', load: p.constant },
    { key: 'floor', label: 'floor (grpc-js + one undici dispatch)', server: 'floor', load: p.auth },
    { key: 'naive', label: 'naive (fetch per check)', server: 'naive', load: p.auth },
    { key: 'bypass', label: 'adapter bypass', server: 'w1', load: p.bypass },
    { key: 'auth', label: 'adapter auth', server: 'w1', load: p.auth },
    { key: 'deny', label: 'adapter deny', server: 'w1', load: p.deny },
    ...(AB_NODE_FLAGS.length
      ? [{ key: 'authFlags', label: `adapter auth, node ${AB_NODE_FLAGS.join(' ')}`, server: 'w1flags', load: p.auth }]
      : []),
    { key: 'authQuiet', label: 'adapter auth, log: warn', server: 'w1warn', load: p.auth },
    { key: 'bypass2', label: 'adapter bypass, workers: 2', server: 'w2', load: p.bypass },
    { key: 'auth2', label: 'adapter auth, workers: 2', server: 'w2', load: p.auth },
    { key: 'deny2', label: 'adapter deny, workers: 2', server: 'w2', load: p.deny },
    { key: 'cache', label: 'adapter auth, cache (one token)', server: 'cache', load: p.auth },
    { key: 'coalesce', label: 'adapter auth, coalesce (one token)', server: 'coalesce', load: p.auth },
    { key: 'body', label: 'adapter auth, POST body forwarded', server: 'body', load: p.body },
    { key: 'parity', label: 'adapter auth, every issue 14 header feature and dry run on', server: 'parity', load: p.auth },
    ...(BASELINE_BIN
      ? [
          {
            key: 'bodyBaseline',
            label: `adapter auth, POST body forwarded, baseline build (${BASELINE_BIN})`,
            server: 'bodyBaseline',
            load: p.body,
          },
          { key: 'authBaseline', label: `adapter auth, baseline build (${BASELINE_BIN})`, server: 'baseline', load: p.auth },
        ]
      : []),
    { key: 'traceOff', label: 'adapter auth, tracing off (traceparent forwarded)', server: 'w1', load: p.traced },
    { key: 'traceOn', label: 'adapter auth, tracing on (100%, OTLP to a local sink)', server: 'traced', load: p.traced },
  ].filter((r) => wanted(r.key));
}

/**
 * What reached the sink and what the adapter dropped, so the tracing row shows the spans really went out.
 * @param {Target} adapter
 * @param {string} sinkUrl
 * @returns {Promise<{ exports: number, megabytes: number, dropped: number }>}
 */
async function tracingFigures(adapter, sinkUrl) {
  const sink = /** @type {{ requests: number, bytes: number }} */ (await (await fetch(`${sinkUrl}/count`)).json());
  const metrics = await (await fetch(`http://127.0.0.1:${adapter.adminPort}/metrics`)).text();
  const dropped = [...metrics.matchAll(/^ext_authz_trace_spans_dropped_total\{[^}]*\} (\S+)$/gm)].reduce((sum, m) => sum + Number(m[1]), 0);
  return { exports: sink.requests, megabytes: sink.bytes / 2 ** 20, dropped };
}

async function main() {
  preflight();
  const deadline = setTimeout(() => {
    console.error(`bench exceeded ${RUN_LIMIT_MS / 60_000} minutes; stopping`);
    stopAll().finally(() => process.exit(1));
  }, RUN_LIMIT_MS);
  deadline.unref();
  const started = Date.now();
  const loadBefore = os.loadavg()[0];
  const p = payloads();
  /** @type {import('./lib/report').Rows} */
  const rows = {};
  const add = (/** @type {string} */ key, /** @type {Row} */ row) => {
    rows[key] = row;
    progress(row);
  };

  console.error(
    `bench: -n ${opts.requests} (${ROUNDS} interleaved rounds of ${PER_ROUND}) -c ${opts.clients} -m ${opts.streams}, warm-up ${opts.warmup}; ` +
      `fixed rate ${RATE}/s, ${RATE_ROUNDS} rounds of ${RATE_SECONDS}s at -c ${RATE_CLIENTS} -m ${FIXED_RATE_STREAMS}; work dir ${workDir()}`,
  );
  const nginx = await Nginx.start();
  /** @type {Record<string, Target>} */
  const running = {};
  try {
    /** @type {Record<string, string>} */
    const startErrors = {};
    const needed = new Set(rowPlan(p).map((r) => r.server));
    if (wanted('ceilingFixed')) needed.add('ceiling');
    if (wanted('fixed')) needed.add('w1');
    let sinkUrl = '';
    if (needed.has('traced')) {
      running.sink = await startNodeServer('otlp-sink', 'otlp-sink.js');
      sinkUrl = `http://127.0.0.1:${running.sink.port}`;
    }
    for (const [name, startFn] of Object.entries(servers(nginx.url, p, sinkUrl))) {
      if (!needed.has(name)) continue;
      try {
        running[name] = await startFn();
      } catch (err) {
        const message = /** @type {Error} */ (err).message;
        startErrors[name] = message.split('\n')[0] ?? '';
        console.error(`  ${name}: ${message}`);
      }
    }
    const plan = rowPlan(p).filter((r) => {
      if (running[r.server]) return true;
      add(r.key, { label: r.label, failed: [`did not start: ${startErrors[r.server]}`] });
      return false;
    });
    /** @type {Record<string, Row[]>} */
    const rounds = Object.fromEntries(plan.map((r) => [r.key, []]));
    for (let round = 0; round < ROUNDS; round++) {
      for (const r of plan) {
        const warmup = round === 0 ? opts.warmup : 0;
        const target = /** @type {Target} */ (running[r.server]);
        rounds[r.key]?.push(await measure(r.label, target, r.load, { ...opts, requests: PER_ROUND, warmup, nginx }));
      }
      console.error(`  round ${round + 1}/${ROUNDS} done`);
    }
    for (const r of plan) {
      const row = combineRounds(rounds[r.key] ?? []);
      const traced = running.traced;
      if (r.key === 'traceOn' && row.failed.length === 0 && traced) row.tracing = await tracingFigures(traced, sinkUrl);
      add(r.key, row);
    }

    // Fixed rate: the ceiling and the adapter take turns, RATE_ROUNDS each.
    const atRate = [
      { key: 'ceilingFixed', label: 'ceiling', server: 'ceiling', load: p.constant },
      { key: 'fixed', label: 'adapter auth', server: 'w1', load: p.auth },
    ].filter((r) => wanted(r.key) && running[r.server]);
    /** @type {Record<string, Row[]>} */
    const rateRounds = Object.fromEntries(atRate.map((r) => [r.key, []]));
    for (let round = 0; round < RATE_ROUNDS; round++) {
      for (const r of atRate) {
        const target = /** @type {Target} */ (running[r.server]);
        rateRounds[r.key]?.push(
          await fixedRate(`${r.label} @ ${RATE}/s, ${RATE_ROUNDS} × ${RATE_SECONDS}s`, target, r.load, {
            rps: RATE,
            seconds: RATE_SECONDS,
            clients: RATE_CLIENTS,
            streams: FIXED_RATE_STREAMS,
            warmup: 0,
            nginx,
          }),
        );
      }
      if (atRate.length) console.error(`  fixed-rate round ${round + 1}/${RATE_ROUNDS} done`);
    }
    for (const r of atRate) add(r.key, combineRateRounds(rateRounds[r.key] ?? []));
    if (running.w1) rows.peak = running.w1.memory();
  } finally {
    await Promise.all(Object.values(running).map((t) => t.stop()));
    await nginx.stop();
  }

  const cpu = /model name\s*:\s*(.*)/.exec(fs.readFileSync('/proc/cpuinfo', 'utf8'))?.[1] ?? 'unknown CPU';
  const h2loadVersion = execFileSync('h2load', ['--version'], { encoding: 'utf8' }).trim();
  const machine = `${os.cpus().length} × ${cpu}, ${Math.round(os.totalmem() / 2 ** 30)} GiB, Linux ${os.release()}, Node ${process.version}, ${h2loadVersion}`;
  const out = report.render(rows, {
    ...opts,
    rounds: ROUNDS,
    rate: RATE,
    rateSeconds: RATE_SECONDS,
    rateRounds: RATE_ROUNDS,
    rateClients: RATE_CLIENTS,
    rateStreams: FIXED_RATE_STREAMS,
    machine,
    load: [loadBefore, os.loadavg()[0]],
    seconds: (Date.now() - started) / 1000,
  });
  console.log(out.text);
  clearTimeout(deadline);
  process.exitCode = out.failed ? 1 : 0;
}

main().catch(async (err) => {
  console.error(`bench failed: ${err.stack ?? err}`);
  await stopAll();
  process.exit(1);
});
