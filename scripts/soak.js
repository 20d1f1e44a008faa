'use strict';
/**
 * `npm run soak [-- --duration 600 --rate 200]`: the adapter, spawned as its own process, under a
 * fixed rate of mixed outcomes (allow, deny, 5xx, timeout) from a real grpc-js client, against an
 * auth service on 127.0.0.1. Meanwhile the config is rewritten and reloaded (SIGHUP) every second,
 * and 100 checks a second name a rule that does not exist, each a name never used before: neither
 * may grow the process (each unknown name once made a metric series of its own). Samples the adapter's RSS, open fds, sockets toward the auth service
 * and event-loop delay p99 (its own /metrics), reports them at the start and the end, and exits 1
 * if any grew beyond the stated tolerance or any answer was wrong. Loopback only; it stops
 * everything it started.
 */
const { spawn } = require('node:child_process');
const fs = require('node:fs');
const http = require('node:http');
const os = require('node:os');
const path = require('node:path');
const readline = require('node:readline');

const ROOT = path.join(__dirname, '..');
/** @type {typeof import('../src/client')} The types of the source; the code of the build `npm run soak` made. */
const { CheckClient, checkRequest: envoyCheckRequest } = require(path.join(ROOT, 'dist', 'client'));

/** @typedef {import('../src/client').DecodedCheckResponse} DecodedCheckResponse */
/** @typedef {{ rssMiB: number, heapMiB: number, fds: number, authSockets: number, loopP99Ms: number, series: number }} Sample */
/** @typedef {{ port: number, readonly openSockets: number, close(): Promise<void> }} SoakAuthService */
/** @typedef {{ child: import('node:child_process').ChildProcess, grpcPort: number, adminPort: number }} SpawnedAdapter */

const { cliOptions } = require('./lib/cli-options');

const USAGE =
  'usage: npm run soak [-- --duration SECONDS >= 20] [--rate CHECKS_PER_SECOND <= 5000] [--sample SECONDS] [--log FILE]' +
  ' [--unknown-rate UNKNOWN_RULE_CHECKS_PER_SECOND] [--reload-every SECONDS, 0 for none]';
const args = cliOptions(USAGE, {
  duration: '600',
  rate: '200',
  sample: '5',
  log: undefined,
  'unknown-rate': '100',
  'reload-every': '1',
});
const DURATION_S = Number(args.duration);
const RATE = Number(args.rate);
const SAMPLE_S = Number(args.sample);
const UNKNOWN_RATE = Number(args['unknown-rate']);
const RELOAD_EVERY_S = Number(args['reload-every']);
if (!(DURATION_S >= 20 && RATE > 0 && RATE <= 5000 && SAMPLE_S >= 1 && UNKNOWN_RATE >= 0 && UNKNOWN_RATE <= 5000 && RELOAD_EVERY_S >= 0)) {
  console.error(USAGE);
  process.exit(2);
}

// Long enough that a loaded shared machine does not turn an allow into a timeout, short enough
// that timeouts stay a steady share of the load.
const TIMEOUT_MS = 500;
const CONNECTIONS = 32;
/** Past this many checks awaiting an answer the adapter is not keeping up; the soak stops and fails. */
const MAX_PENDING = Math.max(500, RATE * 2);
/** The first part of the run, excluded from the baseline so that JIT and pool warm-up do not count as growth. */
const WARMUP_S = Math.min(30, Math.max(5, Math.floor(DURATION_S / 6)));

/**
 * Growth allowed from the start of the measured window to its end. Idle pool connections close
 * and reopen as the load shifts, so sockets (and the fds that hold them) may swing by up to the
 * pool size without leaking; a leak shows as more than the pool can hold.
 */
const TOLERANCE = {
  rssMiB: 32,
  fds: CONNECTIONS + 8,
  // p99 of the event-loop delay may at most double, plus 10 ms of scheduling noise on a shared machine.
  loopP99Ms: (/** @type {number} */ start) => start * 2 + 10,
};

/** @typedef {{ kind: string, weight: number, expect: (r: DecodedCheckResponse) => boolean }} Mix */
// Mix by weight: what the auth service does, and what the adapter must answer.
/** @type {Mix[]} */
const MIX = [
  { kind: 'allow', weight: 70, expect: (r) => (r.status?.code ?? 0) === 0 && r.ok_response !== undefined },
  { kind: 'deny', weight: 15, expect: (r) => r.status?.code === 16 && r.denied_response?.status?.code === 401 },
  { kind: '5xx', weight: 10, expect: (r) => r.status?.message === 'unavailable_strict' && r.denied_response?.status?.code === 503 },
  { kind: 'timeout', weight: 5, expect: (r) => r.status?.message === 'unavailable_strict' && r.denied_response?.status?.code === 503 },
];
/** @type {Mix[]} */
const WHEEL = MIX.flatMap((m) => Array(m.weight).fill(m));

/** @returns {Promise<SoakAuthService>} */
function startAuthService() {
  /** @type {Set<import('node:net').Socket>} */
  const sockets = new Set();
  /** @type {Set<NodeJS.Timeout>} */
  const late = new Set();
  const server = http.createServer((req, res) => {
    const kind = (req.url ?? '').split('/')[3];
    req.resume();
    if (kind === 'allow') return res.writeHead(200, { 'x-user-id': 'u-1' }).end();
    if (kind === 'deny') return res.writeHead(401, { 'www-authenticate': 'Bearer' }).end('{"error":"invalid_token"}');
    if (kind === '5xx') return res.writeHead(503).end('busy');
    // Answers after the adapter's timeout has fired; by then the adapter has hung up.
    const t = setTimeout(() => {
      late.delete(t);
      if (!res.destroyed) res.writeHead(200).end();
    }, TIMEOUT_MS * 3);
    late.add(t);
  });
  server.keepAliveTimeout = 60_000;
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  return new Promise((resolve) => {
    server.listen(0, '127.0.0.1', () =>
      resolve({
        port: /** @type {import('node:net').AddressInfo} */ (server.address()).port,
        get openSockets() {
          return sockets.size;
        },
        close() {
          for (const t of late) clearTimeout(t);
          for (const s of sockets) s.destroy();
          return new Promise((r) => server.close(() => r(undefined)));
        },
      }),
    );
  });
}

/**
 * The config text; `variant` changes the rule's response headers, so each reload swaps in a different config.
 * @param {number} authPort
 * @param {number} variant
 */
function configText(authPort, variant) {
  return [
    'grpc: { address: "127.0.0.1:0" }',
    'admin: { address: "127.0.0.1:0" }',
    'log: { level: info }',
    'shutdown: { drainDelay: 0s, timeout: 5s }',
    'rules:',
    '  - name: soak',
    `    service: { url: "http://127.0.0.1:${authPort}", path: /auth, timeout: ${TIMEOUT_MS}ms, mode: strict, statusOnError: 503, connections: ${CONNECTIONS} }`,
    `    response: { allowedHeaders: [x-user-id${variant % 2 === 1 ? ', x-soak-variant' : ''}] }`,
    '',
  ].join('\n');
}

/** @param {number} authPort */
function writeConfig(authPort) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ext-authz-soak-'));
  const file = path.join(dir, 'config.yaml');
  fs.writeFileSync(file, configText(authPort, 0));
  return { dir, file };
}

/**
 * Rewrites the config the safe way (a new file renamed over the old) and signals a reload.
 * @param {import('node:child_process').ChildProcess} child
 * @param {{ dir: string, file: string }} config
 * @param {number} authPort
 * @param {number} variant
 */
function reloadWith(child, config, authPort, variant) {
  const aside = path.join(config.dir, 'next.yaml');
  fs.writeFileSync(aside, configText(authPort, variant));
  fs.renameSync(aside, config.file);
  child.kill('SIGHUP');
}

/** @type {Mix} Every unknown rule name is denied 403, whatever the name. */
const UNKNOWN_RULE = {
  kind: 'unknown rule',
  weight: 0,
  expect: (r) => r.status?.message === 'unknown_rule' && r.denied_response?.status?.code === 403,
};

/**
 * Spawns the adapter and resolves with its ports once it logs that it is serving.
 * @param {string} configFile
 * @returns {Promise<SpawnedAdapter>}
 */
function startAdapter(configFile) {
  const child = spawn(process.execPath, [path.join(ROOT, 'bin', 'ext-authz-adapter.js'), 'serve', '--config', configFile], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const lines = readline.createInterface({ input: child.stdout });
  // The adapter logs one line per check; kept only when asked (--log FILE), to diagnose a failure.
  const log = args.log ? fs.createWriteStream(args.log) : undefined;
  if (log) {
    lines.on('line', (line) => log.write(`${line}\n`));
    lines.once('close', () => log.end());
  }
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('the adapter did not report serving within 15 s')), 15_000);
    child.once('exit', (code) => reject(new Error(`the adapter exited with ${code} before serving`)));
    lines.on('line', (line) => {
      if (!line.includes('ext-authz-adapter serving')) return;
      clearTimeout(timer);
      const { grpcPort, adminPort } = JSON.parse(line);
      resolve({ child, grpcPort, adminPort });
    });
  });
}

/** @param {import('node:child_process').ChildProcess} child */
async function stopAdapter(child) {
  if (child.exitCode !== null) return;
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
  await exited;
  clearTimeout(timer);
}

/**
 * @param {string} kind
 * @param {number} n
 * @param {string} [rule] the rule a route pins (`context_extensions.rule`)
 */
function checkRequest(kind, n, rule) {
  return envoyCheckRequest({
    id: String(n),
    path: `/api/${kind}/${n}?q=1`,
    host: 'shop.example.com',
    scheme: 'https',
    headers: { authorization: 'Bearer soak' },
    contextExtensions: rule === undefined ? undefined : { rule },
  });
}

/**
 * @param {SpawnedAdapter} adapter
 * @param {SoakAuthService} auth
 * @returns {Promise<Sample>}
 */
async function sample(adapter, auth) {
  const pid = adapter.child.pid;
  const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  const rssKiB = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1]);
  const fds = fs.readdirSync(`/proc/${pid}/fd`).length;
  const metrics = await fetch(`http://127.0.0.1:${adapter.adminPort}/metrics`, { signal: AbortSignal.timeout(5_000) }).then((r) =>
    r.text(),
  );
  const p99 = /^nodejs_eventloop_lag_p99_seconds (\S+)/m.exec(metrics);
  const series = metrics.split('\n').filter((l) => l.startsWith('ext_authz_')).length;
  // Heap in use, for telling garbage not yet collected (RSS rises, then falls) from a leak (both rise).
  const heap = /^nodejs_heap_size_used_bytes (\S+)/m.exec(metrics);
  return {
    rssMiB: rssKiB / 1024,
    heapMiB: heap ? Number(heap[1]) / 2 ** 20 : NaN,
    fds,
    authSockets: auth.openSockets,
    loopP99Ms: p99 ? Number(p99[1]) * 1000 : NaN,
    series,
  };
}

/** @param {number[]} values */
function median(values) {
  const s = [...values].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

/**
 * @param {Sample[]} samples
 * @returns {Sample}
 */
function summarize(samples) {
  const pick = (/** @type {keyof Sample} */ k) => median(samples.map((s) => s[k]));
  return {
    rssMiB: pick('rssMiB'),
    heapMiB: pick('heapMiB'),
    fds: pick('fds'),
    authSockets: pick('authSockets'),
    loopP99Ms: pick('loopP99Ms'),
    series: pick('series'),
  };
}

async function main() {
  if (!fs.existsSync(path.join(ROOT, 'dist', 'server', 'runtime', 'cli.js'))) {
    console.error('dist/ is missing; run "npm run build" first (npm run soak does)');
    process.exit(2);
  }
  const auth = await startAuthService();
  const config = writeConfig(auth.port);
  /** @type {SpawnedAdapter | undefined} */
  let adapter;
  /** @type {InstanceType<typeof CheckClient> | undefined} */
  let client;
  const counts = { sent: 0, answered: 0, wrong: 0, errors: 0, warmupWrong: 0, unknownSent: 0, reloads: 0 };
  const byKind = Object.fromEntries([...MIX, UNKNOWN_RULE].map((m) => [m.kind, 0]));
  /** @type {Array<Sample & { t: number }>} */
  const samples = [];
  /** @type {string | undefined} */
  let failure;
  try {
    adapter = await startAdapter(config.file);
    client = new CheckClient(`127.0.0.1:${adapter.grpcPort}`);
    const raw = client.raw;
    console.error(
      `soak: ${RATE} checks/s and ${UNKNOWN_RATE} unknown rule names/s for ${DURATION_S} s, ` +
        `${RELOAD_EVERY_S > 0 ? `a reload every ${RELOAD_EVERY_S} s` : 'no reloads'} (warm-up ${WARMUP_S} s), sampling every ${SAMPLE_S} s`,
    );

    const started = Date.now();
    const end = started + DURATION_S * 1000;
    let pending = 0;
    const tickMs = 10;
    const send = (/** @type {boolean} */ unknown) => {
      const n = unknown ? counts.unknownSent++ : counts.sent++;
      const mix = unknown ? UNKNOWN_RULE : WHEEL[n % WHEEL.length];
      pending++;
      // Every unknown name is new: a series per name would grow without end.
      const rule = unknown ? `no-such-rule-${n}` : undefined;
      raw.Check(checkRequest(mix.kind, n, rule), { deadline: Date.now() + 5_000 }, (err, res) => {
        pending--;
        counts.answered++;
        byKind[mix.kind]++;
        const at = (Date.now() - started) / 1000;
        if (!err && mix.expect(res)) return;
        // A cold adapter (JIT, 32 connections opening at once) may be late in the warm-up; that is reported, not failed.
        if (at < WARMUP_S) counts.warmupWrong++;
        else if (err) counts.errors++;
        else counts.wrong++;
        if (counts.warmupWrong + counts.wrong + counts.errors <= 5) {
          console.error(
            `  wrong answer to check ${n} (${mix.kind}) at ${at.toFixed(1)} s: ${err ? err.message : JSON.stringify(res.status)}`,
          );
        }
      });
    };
    // The schedule follows the clock, not the ticks: a late tick sends what fell due meanwhile.
    const spawned = adapter;
    const ticker = setInterval(() => {
      const elapsed = Date.now() - started;
      const target = Math.floor((RATE * elapsed) / 1000);
      const unknownTarget = Math.floor((UNKNOWN_RATE * elapsed) / 1000);
      while (counts.sent < target || counts.unknownSent < unknownTarget) {
        if (pending >= MAX_PENDING) {
          failure ??= `more than ${MAX_PENDING} checks awaiting an answer: the adapter is not keeping up`;
          return;
        }
        send(counts.sent >= target);
      }
      const reloadsDue = RELOAD_EVERY_S > 0 ? Math.floor(elapsed / (RELOAD_EVERY_S * 1000)) : 0;
      if (counts.reloads < reloadsDue) {
        counts.reloads++;
        reloadWith(spawned.child, config, auth.port, counts.reloads);
      }
    }, tickMs);

    let nextSample = started + WARMUP_S * 1000;
    while (Date.now() < end && !failure) {
      await new Promise((r) => setTimeout(r, Math.max(0, Math.min(nextSample, end) - Date.now())));
      if (Date.now() >= nextSample && Date.now() <= end) {
        const s = await sample(adapter, auth);
        samples.push({ t: Math.round((Date.now() - started) / 1000), ...s });
        console.error(
          `  t=${String(samples.at(-1)?.t).padStart(4)}s rss ${s.rssMiB.toFixed(1)} MiB, heap ${s.heapMiB.toFixed(1)} MiB, fds ${s.fds}, auth sockets ${s.authSockets}, ` +
            `loop p99 ${s.loopP99Ms.toFixed(1)} ms, ext_authz_ lines ${s.series}, checks ${counts.answered}`,
        );
        nextSample += SAMPLE_S * 1000;
      }
    }
    clearInterval(ticker);
    for (let i = 0; i < 500 && pending > 0; i++) await new Promise((r) => setTimeout(r, 10));
    if (pending > 0) failure ??= `${pending} checks still unanswered 5 s after the load stopped`;
  } finally {
    client?.close();
    if (adapter) await stopAdapter(adapter.child);
    await auth.close();
    fs.rmSync(config.dir, { recursive: true, force: true });
  }

  if (samples.length < 6) failure ??= `only ${samples.length} samples; run longer (--duration)`;
  if (samples.length < 2) {
    console.log(`FAIL: ${failure}`);
    process.exitCode = 1;
    return;
  }
  const window = Math.min(3, Math.floor(samples.length / 2));
  const start = summarize(samples.slice(0, window));
  const endV = summarize(samples.slice(-window));
  const limits = {
    rssMiB: start.rssMiB + TOLERANCE.rssMiB,
    fds: start.fds + TOLERANCE.fds,
    authSockets: CONNECTIONS,
    loopP99Ms: TOLERANCE.loopP99Ms(start.loopP99Ms),
    // Every series is there after the warm-up; unknown rule names must not add any.
    series: start.series,
  };
  /** @type {Array<[string, keyof typeof limits, number]>} */
  const rows = [
    ['RSS (MiB)', 'rssMiB', 1],
    ['open fds', 'fds', 0],
    ['sockets toward the auth service', 'authSockets', 0],
    ['event-loop delay p99 (ms)', 'loopP99Ms', 1],
    ['ext_authz_ metric lines', 'series', 0],
  ];
  const cpu = os.cpus();
  console.log(
    `\nsoak: ${counts.answered} checks in ${DURATION_S} s at ${RATE}/s plus ${UNKNOWN_RATE}/s unknown rule names (${Object.entries(byKind)
      .map(([k, v]) => `${k} ${v}`)
      .join(', ')}); ${counts.reloads} reloads sent`,
  );
  console.log(
    `machine: ${cpu.length} x ${cpu[0]?.model.trim() ?? 'unknown CPU'}, ${(os.totalmem() / 2 ** 30).toFixed(1)} GiB, Node ${process.version}, ${os.platform()} ${os.release()}`,
  );
  console.log('| measure | start | end | limit | verdict |');
  console.log('|---|---|---|---|---|');
  for (const [label, key, digits] of rows) {
    const ok = endV[key] <= limits[key];
    if (!ok)
      failure ??= `${label} grew from ${start[key].toFixed(digits)} to ${endV[key].toFixed(digits)}, past ${limits[key].toFixed(digits)}`;
    console.log(
      `| ${label} | ${start[key].toFixed(digits)} | ${endV[key].toFixed(digits)} | ${limits[key].toFixed(digits)} | ${ok ? 'ok' : 'GREW'} |`,
    );
  }
  console.log(`wrong answers: ${counts.wrong}, RPC errors: ${counts.errors} (and ${counts.warmupWrong} during the warm-up, not failed)`);
  if (counts.wrong > 0 || counts.errors > 0) failure ??= `${counts.wrong} wrong answers and ${counts.errors} RPC errors`;
  if (failure) {
    console.log(`FAIL: ${failure}`);
    process.exitCode = 1;
  } else {
    console.log('PASS');
  }
}

main().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});
