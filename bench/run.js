'use strict';
/**
 * `npm run bench`: the adapter against the gRPC ceiling and a naive fetch-per-check adapter,
 * all driven by h2load with the same pre-encoded CheckRequest, the same request count and the
 * same concurrency, on loopback, against an nginx auth service the benchmark starts itself.
 * Prints one table and the targets with PASS/MISS. Needs: apt-get install -y
 * nghttp2-client nginx, and `npm run build` (the npm script runs it).
 *
 * Options: --requests N (20000) --warmup N (5000) --clients N (4) --streams N (32)
 *          --rate N (2000) --rate-seconds N (10)
 */
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { parseArgs } = require('node:util');
const { execFileSync } = require('node:child_process');
const { encodeCheckRequest } = require('./lib/protos');
const { Nginx } = require('./lib/nginx');
const { measure, fixedRate } = require('./lib/measure');
const { stopAll, workDir } = require('./lib/processes');
const { startAdapter, startNodeServer } = require('./lib/targets');
const { expectations } = require('./lib/verify');
const report = require('./lib/report');

const { values: args } = parseArgs({
  options: {
    requests: { type: 'string', default: '20000' },
    warmup: { type: 'string', default: '5000' },
    clients: { type: 'string', default: '4' },
    streams: { type: 'string', default: '32' },
    rate: { type: 'string', default: '2000' },
    'rate-seconds': { type: 'string', default: '10' },
  },
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
const RUN_LIMIT_MS = 5 * 60_000;

function preflight() {
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
  if (!fs.existsSync(path.join(__dirname, '..', 'dist', 'server', 'cli.js'))) {
    console.error('dist/ is missing; run "npm run build" first (npm run bench does)');
    process.exit(2);
  }
}

function payloads() {
  const write = (name, pathAndQuery) => {
    const payload = encodeCheckRequest(pathAndQuery);
    const payloadFile = path.join(workDir(), `${name}.bin`);
    fs.writeFileSync(payloadFile, payload);
    return { payload, payloadFile };
  };
  return {
    auth: { ...write('auth', '/api/orders/12345?expand=items&limit=20'), expect: expectations.authAllowed },
    bypass: { ...write('bypass', '/public/catalog/items?page=2&sort=price'), expect: expectations.bypass },
    deny: { ...write('deny', '/deny/orders/12345?expand=items'), expect: expectations.denied },
    constant: { ...write('ceiling', '/api/orders/12345?expand=items&limit=20'), expect: expectations.ok },
  };
}

function progress(row) {
  const status = row.failed.length ? `FAILED: ${row.failed.join('; ')}` : `${Math.round(row.reqPerSec)} req/s`;
  console.error(`  ${row.label}: ${status}`);
}

/** Runs `fn` with a started target and always stops it. */
async function withTarget(startFn, fn) {
  const target = await startFn();
  try {
    return await fn(target);
  } finally {
    await target.stop();
  }
}

async function main() {
  preflight();
  const deadline = setTimeout(() => {
    console.error(`bench exceeded ${RUN_LIMIT_MS / 60_000} minutes; stopping`);
    stopAll().finally(() => process.exit(1));
  }, RUN_LIMIT_MS);
  deadline.unref();
  const started = Date.now();
  const p = payloads();
  const rows = {};
  const add = (key, row) => {
    rows[key] = row;
    progress(row);
  };
  const failedStart = (key, label, err) => add(key, { label, failed: [err.message.split('\n')[0]] });

  console.error(`bench: -n ${opts.requests} -c ${opts.clients} -m ${opts.streams}, warm-up ${opts.warmup}; work dir ${workDir()}`);
  const nginx = await Nginx.start();
  try {
    const authUrl = nginx.url;
    const m = (key, label, target, load) => measure(label, target, load, { ...opts, nginx }).then((row) => add(key, row));

    const atRate = (label, t, load) =>
      fixedRate(`${label} @ ${RATE}/s, ${RATE_SECONDS}s`, t, load, {
        rps: RATE,
        seconds: RATE_SECONDS,
        clients: opts.clients,
        streams: opts.streams,
        warmup: opts.warmup,
      });

    await withTarget(
      () => startNodeServer('ceiling', 'ceiling-server.js'),
      async (t) => {
        await m('ceiling', 'ceiling', t, p.constant);
        add('ceilingFixed', await atRate('ceiling', t, p.constant));
      },
    );
    await withTarget(
      () => startNodeServer('naive', 'naive-server.js', [`${authUrl}/check`]),
      (t) => m('naive', 'naive (fetch per check)', t, p.auth),
    );

    const adapter = (label, options) => () => startAdapter(label, { authUrl, ...options }, p.bypass.payload, expectations.bypass);
    try {
      await withTarget(adapter('adapter-w1', { workers: 1 }), async (t) => {
        await m('bypass', 'adapter bypass', t, p.bypass);
        await m('auth', 'adapter auth', t, p.auth);
        await m('deny', 'adapter deny', t, p.deny);
        add('fixed', await atRate('adapter auth', t, p.auth));
        rows.peak = t.memory();
      });
    } catch (err) {
      failedStart('auth', 'adapter (workers: 1)', err);
    }
    try {
      await withTarget(adapter('adapter-w1-warn', { workers: 1, logLevel: 'warn' }), (t) =>
        m('authQuiet', 'adapter auth, log: warn', t, p.auth),
      );
    } catch (err) {
      failedStart('authQuiet', 'adapter auth, log: warn', err);
    }
    try {
      await withTarget(adapter('adapter-w2', { workers: 2 }), async (t) => {
        await m('bypass2', 'adapter bypass, workers: 2', t, p.bypass);
        await m('auth2', 'adapter auth, workers: 2', t, p.auth);
        await m('deny2', 'adapter deny, workers: 2', t, p.deny);
      });
    } catch (err) {
      failedStart('auth2', 'adapter, workers: 2', err);
    }
    try {
      await withTarget(adapter('adapter-cache', { workers: 1, cache: true }), (t) => m('cache', 'adapter auth, cache (one token)', t, p.auth));
    } catch (err) {
      failedStart('cache', 'adapter auth, cache', err);
    }
    try {
      await withTarget(adapter('adapter-coalesce', { workers: 1, coalesce: true }), (t) =>
        m('coalesce', 'adapter auth, coalesce (one token)', t, p.auth),
      );
    } catch (err) {
      failedStart('coalesce', 'adapter auth, coalesce', err);
    }
  } finally {
    await nginx.stop();
  }

  const cpu = /model name\s*:\s*(.*)/.exec(fs.readFileSync('/proc/cpuinfo', 'utf8'))?.[1] ?? 'unknown CPU';
  const machine = `${os.cpus().length} × ${cpu}, ${Math.round(os.totalmem() / 2 ** 30)} GiB, Linux ${os.release()}, Node ${process.version}, ${execFileSync('h2load', ['--version'], { encoding: 'utf8' }).trim()}`;
  const out = report.render(rows, { ...opts, rate: RATE, rateSeconds: RATE_SECONDS, machine, seconds: (Date.now() - started) / 1000 });
  console.log(out.text);
  clearTimeout(deadline);
  process.exitCode = out.failed ? 1 : 0;
}

main().catch(async (err) => {
  console.error(`bench failed: ${err.stack ?? err}`);
  await stopAll();
  process.exit(1);
});
