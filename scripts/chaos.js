'use strict';
/**
 * `npm run chaos [-- --duration 60 --rate 1000]`: one adapter (`workers: 2`, spawned as its own
 * processes) under a fixed rate of mixed checks (allowed, denied, bypassed; a strict and a loose
 * rule) from real grpc-js clients, while a fault schedule runs against its auth service: killed
 * and restarted, blackholed, 5xx bursts, slower than the timeout, resetting connections. The
 * config is rewritten (reloaded) every few seconds and one worker is sent SIGTERM midway (it
 * drains; the primary starts a replacement).
 *
 * Every answer is checked against what the schedule allowed at the moment it was sent or
 * answered (either phase may explain it), and against what the auth service actually said to
 * that very check:
 * - an allow without the failure header only for a check the service answered 200;
 * - a strict rule never allows anything else; a loose rule allows otherwise only with
 *   x-envoy-auth-failure-mode-allowed, during a fault or the breaker's recovery after one;
 * - a denial carries the service's own status (401) when it answered; statusOnError only during
 *   a fault or the recovery after one;
 * - a bypassed path is allowed in every phase and never reaches the service.
 * Ends with one line, `chaos: sent N answered N wrong W unanswered U p99_ms X p99_fault_ms Y
 * recover_ms Z rss_mb R`, and exits 1 if W or U is not 0. Loopback only; bounded in time, in
 * checks awaiting an answer and in what it records; it stops everything it started.
 */
const { spawn } = require('node:child_process');
const fs = require('node:fs');
const http = require('node:http');
const net = require('node:net');
const os = require('node:os');
const path = require('node:path');
const { parseArgs } = require('node:util');
const grpc = require('@grpc/grpc-js');
const protoLoader = require('@grpc/proto-loader');

const ROOT = path.join(__dirname, '..');
const { EXTERNAL_AUTH_PROTO, LOADER_OPTIONS } = require(path.join(ROOT, 'dist', 'server', 'protos.js'));

const AUTH_SERVICE_MODE = process.argv[2] === '--auth-service';
const { values: args } = parseArgs({
  args: AUTH_SERVICE_MODE ? [] : process.argv.slice(2),
  options: {
    duration: { type: 'string', default: '60' },
    rate: { type: 'string', default: '1000' },
  },
});
const DURATION_S = Number(args.duration);
const RATE = Number(args.rate);
if (!(DURATION_S >= 10 && DURATION_S <= 3600 && RATE >= 10 && RATE <= 5000)) {
  console.error('usage: chaos [--duration SECONDS, 10 to 3600] [--rate CHECKS_PER_SECOND, 10 to 5000]');
  process.exit(2);
}

const TIMEOUT_MS = 1_000;
const STATUS_ON_ERROR = 470;
const OPEN_FOR_MS = 1_000;
/** How long after a fault ends an "unavailable" answer is still the schedule's doing: the breaker's openFor, its probe, slack. */
const RECOVERY_GRACE_MS = OPEN_FOR_MS + 2 * TIMEOUT_MS + 1_000;
/** Envoy's own deadline for a check; past it the check counts as unanswered. */
const DEADLINE_MS = 5_000;
/** Past this many checks awaiting an answer (a deadline's worth and one second more) the run stops sending. */
const MAX_PENDING = Math.ceil((RATE * (DEADLINE_MS + 1_000)) / 1000);
const CHANNELS = 8;
const RELOAD_EVERY_MS = 3_000;
const FAULTS = ['kill', 'blackhole', '5xx', 'slow', 'reset'];
const USER = 'u-chaos';

/**
 * The schedule in ms from the start: healthy, then each fault followed by a healthy stretch.
 * One unit is a tenth of the run; each fault lasts 0.8 of a unit.
 */
function buildSchedule(durationMs) {
  const unit = durationMs / 10;
  const phases = [{ kind: 'healthy', start: 0, end: unit }];
  let t = unit;
  for (const kind of FAULTS) {
    phases.push({ kind, start: t, end: t + unit * 0.8 });
    t += unit * 0.8;
    phases.push({ kind: 'healthy', start: t, end: t + unit });
    t += unit;
  }
  phases.at(-1).end = Infinity;
  return phases;
}

/**
 * The auth service, run in its own process (`chaos.js --auth-service PORT`) so that the load
 * generator's event loop does not slow its answers: answers by check kind when healthy, and
 * misbehaves as the phase the parent sends says. It reports what it wrote for each check in
 * batches; the parent judges the answers once every report is in.
 */
function runAuthService(port) {
  const sockets = new Set();
  const held = new Set();
  const timers = new Set();
  let batch = [];
  let phase = 'healthy';
  const record = (id, status) => batch.push(id, status);
  const answer = (res, id, kind) => {
    if (res.destroyed) return;
    const status = kind === 'allow' ? 200 : 401;
    record(id, status);
    if (status === 200) res.writeHead(200, { 'x-user-id': USER }).end();
    else res.writeHead(401, { 'www-authenticate': 'Bearer' }).end('{"error":"invalid_token"}');
  };
  const server = http.createServer((req, res) => {
    req.resume();
    // /auth/api/<kind>/<id>, or /auth/public/<id> (which must never arrive: bypassed).
    const parts = req.url.split('/');
    const kind = parts[2] === 'public' ? 'bypass' : parts[3];
    const id = Number(parts.at(-1));
    record(id, RECEIVED);
    switch (phase) {
      case 'blackhole':
        held.add(res);
        return;
      case '5xx':
        record(id, 503);
        return res.writeHead(503).end('busy');
      case 'slow': {
        const t = setTimeout(() => {
          timers.delete(t);
          answer(res, id, kind);
        }, TIMEOUT_MS * 3);
        timers.add(t);
        return;
      }
      case 'reset':
        return req.socket.resetAndDestroy();
      default:
        return answer(res, id, kind);
    }
  });
  server.keepAliveTimeout = 60_000;
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  const listen = (then) => server.listen(port, '127.0.0.1', then);
  const dropAll = () => {
    for (const s of sockets) s.resetAndDestroy();
    for (const res of held) res.destroy();
    held.clear();
  };
  const flush = () => {
    if (batch.length === 0) return;
    process.send({ type: 'answers', list: batch });
    batch = [];
  };
  setInterval(flush, 100).unref();
  process.on('message', (m) => {
    if (m.type === 'flush') {
      flush();
      return process.send({ type: 'flushed' });
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
      dropAll();
    }
    if (previous === 'kill') listen(() => undefined);
  });
  process.on('disconnect', () => process.exit(0));
  listen(() => process.send({ type: 'listening' }));
}

/** Status code recorded for "the request arrived". */
const RECEIVED = 1;

function startAuthService(port) {
  const child = spawn(process.execPath, [__filename, '--auth-service', String(port)], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  /** check id -> last status the service wrote for it; and the ids that reached it. */
  const answered = new Map();
  const received = new Set();
  let flushed;
  child.on('message', (m) => {
    if (m.type === 'answers') {
      for (let i = 0; i < m.list.length; i += 2) {
        if (m.list[i + 1] === RECEIVED) received.add(m.list[i]);
        else answered.set(m.list[i], m.list[i + 1]);
      }
    } else if (m.type === 'flushed') flushed?.();
  });
  return new Promise((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`the auth service exited with ${code}`)));
    child.on('message', (m) => {
      if (m.type !== 'listening') return;
      resolve({
        answered,
        received,
        setPhase: (phase) => child.send({ type: 'phase', phase }),
        /** Resolves once every answer written so far has been reported. */
        flush: () => new Promise((r) => {
          flushed = r;
          child.send({ type: 'flush' });
        }),
        close: () => new Promise((r) => {
          if (child.exitCode !== null) return r();
          child.once('exit', () => r());
          child.kill('SIGTERM');
        }),
      });
    });
  });
}

function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

function configText(ports, generation) {
  const service = (mode) =>
    `{ url: "http://127.0.0.1:${ports.auth}", path: /auth, timeout: ${TIMEOUT_MS}ms, mode: ${mode}, ` +
    `statusOnError: ${STATUS_ON_ERROR}, circuitBreaker: { failures: 5, openFor: ${OPEN_FOR_MS}ms } }`;
  const rule = (name, mode) =>
    [
      `  - name: ${name}`,
      `    service: ${service(mode)}`,
      '    response: { allowedHeaders: [x-user-id] }',
      '    match: { mode: whitelist, conditions: [{ path: "/public/*" }] }',
    ].join('\n');
  return [
    `# chaos config, generation ${generation} (rewritten to exercise reloads)`,
    `grpc: { address: "127.0.0.1:${ports.grpc}" }`,
    `admin: { address: "127.0.0.1:${ports.admin}" }`,
    'log: { level: warn }',
    'workers: 2',
    'shutdown: { drainDelay: 1s, timeout: 10s }',
    'rules:',
    rule('strict', 'strict'),
    rule('loose', 'loose'),
    '',
  ].join('\n');
}

async function startAdapter(configFile, adminPort) {
  const child = spawn(process.execPath, [path.join(ROOT, 'bin', 'ext-authz-adapter.js'), 'serve', '--config', configFile], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const warnings = [];
  child.stdout.setEncoding('utf8');
  let partial = '';
  child.stdout.on('data', (text) => {
    const lines = (partial + text).split('\n');
    partial = lines.pop();
    // Kept bounded: transitions and worker events, for the summary.
    for (const line of lines) if (warnings.length < 1_000) warnings.push(line);
  });
  const until = Date.now() + 30_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`the adapter exited with ${child.exitCode} before serving`);
    const ready = await fetch(`http://127.0.0.1:${adminPort}/readyz`, { signal: AbortSignal.timeout(1_000) }).then(
      (r) => r.status === 200,
      () => false,
    );
    if (ready) return { child, warnings };
    if (Date.now() > until) throw new Error('the adapter was not ready within 30 s');
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function stopAdapter(child) {
  if (child.exitCode !== null) return;
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
  await exited;
  clearTimeout(timer);
}

function childPids(pid) {
  try {
    return fs.readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

function rssMiB(pid) {
  try {
    return Number(/VmRSS:\s+(\d+)/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'))[1]) / 1024;
  } catch {
    return 0;
  }
}

function clients(port) {
  const def = protoLoader.loadSync(EXTERNAL_AUTH_PROTO, { ...LOADER_OPTIONS, enums: undefined });
  const Authorization = grpc.loadPackageDefinition(def).envoy.service.auth.v3.Authorization;
  // Each channel its own connection, so the cluster spreads them over both workers.
  return Array.from(
    { length: CHANNELS },
    () => new Authorization(`127.0.0.1:${port}`, grpc.credentials.createInsecure(), { 'grpc.use_local_subchannel_pool': 1 }),
  );
}

// What is sent, by weight: what the service will say, and which rule asks.
const MIX = [
  { kind: 'allow', rule: 'strict', weight: 35 },
  { kind: 'allow', rule: 'loose', weight: 25 },
  { kind: 'deny', rule: 'strict', weight: 15 },
  { kind: 'deny', rule: 'loose', weight: 10 },
  { kind: 'bypass', rule: 'strict', weight: 8 },
  { kind: 'bypass', rule: 'loose', weight: 7 },
];
const WHEEL = MIX.flatMap((m) => Array(m.weight).fill(m));

function checkRequest(mix, n) {
  const p = mix.kind === 'bypass' ? `/public/${n}` : `/api/${mix.kind}/${n}`;
  return {
    attributes: {
      request: {
        http: {
          id: String(n),
          method: 'GET',
          path: p,
          host: 'shop.example.com',
          scheme: 'https',
          headers: { ':authority': 'shop.example.com', ':method': 'GET', ':path': p, authorization: 'Bearer chaos', 'x-user-id': 'forged' },
        },
      },
      context_extensions: { rule: mix.rule },
    },
  };
}

/**
 * Opens every channel's connection and lets both workers' pools and JIT warm up with a few checks
 * per channel, answered before the clock starts; they are not counted.
 */
async function warmUp(channels) {
  const one = (ch, mix, n) =>
    new Promise((resolve) => ch.Check(checkRequest(mix, n), { deadline: Date.now() + 30_000 }, () => resolve()));
  await Promise.all(
    channels.map(async (ch, i) => {
      for (let k = 0; k < 20; k++) await one(ch, MIX[k % MIX.length], -1 - i * 100 - k);
    }),
  );
}

function okHeader(res, name) {
  const h = (res.ok_response?.headers ?? []).find((x) => x.header?.key === name);
  return h?.header.value;
}

/**
 * Whether one answer is one the schedule allows. `faulty` is true when the check was sent or
 * answered during a fault or the recovery after one.
 */
function judge(c, res, auth, faulty) {
  const allowed = (res.status?.code ?? 0) === 0 && res.ok_response !== undefined;
  const failureMode = okHeader(res, 'x-envoy-auth-failure-mode-allowed') === 'true';
  const served = auth.answered.get(c.n);
  if (c.mix.kind === 'bypass') return allowed && !failureMode && !auth.received.has(c.n) ? '' : 'bypass not allowed as such';
  if (allowed) {
    if (!failureMode) return served === 200 && okHeader(res, 'x-user-id') === USER ? '' : `allowed, but the service said ${served ?? 'nothing'}`;
    if (c.mix.rule !== 'loose') return 'a strict rule allowed in failure mode';
    if (okHeader(res, 'x-user-id') !== undefined) return 'failure-mode allow carried an identity header';
    return faulty ? '' : 'failure-mode allow outside a fault';
  }
  const status = res.denied_response?.status?.code;
  const reason = res.status?.message;
  if (status === 401) return served === 401 ? '' : `denied 401, but the service said ${served ?? 'nothing'}`;
  if (status === STATUS_ON_ERROR && reason === 'unavailable_strict' && c.mix.rule === 'strict') {
    return faulty ? '' : `denied as unavailable outside a fault (the service said ${served ?? 'nothing'})`;
  }
  if (status === 503 && reason === 'overloaded') return faulty ? '' : 'overloaded outside a fault';
  return `unexpected denial ${status} ${reason}`;
}

function percentile(values, p) {
  if (values.length === 0) return 0;
  const s = Float64Array.from(values).sort();
  return s[Math.min(s.length - 1, Math.floor(s.length * p))];
}

async function main() {
  if (!fs.existsSync(path.join(ROOT, 'dist', 'server', 'cli.js'))) {
    console.error('dist/ is missing; run "npm run build" first (npm run chaos does)');
    process.exit(2);
  }
  const ports = { auth: await freePort(), grpc: await freePort(), admin: await freePort() };
  const auth = await startAuthService(ports.auth);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ext-authz-chaos-'));
  const configFile = path.join(dir, 'config.yaml');
  let generation = 0;
  fs.writeFileSync(configFile, configText(ports, generation));

  const schedule = buildSchedule(DURATION_S * 1000);
  const counts = { sent: 0, answered: 0, wrong: 0, unanswered: 0 };
  const healthyLatency = [];
  const faultLatency = [];
  const wrongSamples = [];
  const errorSamples = [];
  let adapter;
  let channels = [];
  let peakRss = 0;
  let killedWorker;
  const timers = [];
  try {
    adapter = await startAdapter(configFile, ports.admin);
    channels = clients(ports.grpc);
    await warmUp(channels);
    const started = performance.now();
    const now = () => performance.now() - started;
    const phaseIndexAt = (t) => schedule.findIndex((p) => t >= p.start && t < p.end);
    /** During a fault, or within RECOVERY_GRACE_MS after one ended. */
    const faultyAt = (t) => {
      const i = phaseIndexAt(t);
      if (schedule[i].kind !== 'healthy') return true;
      return i > 0 && t - schedule[i].start < RECOVERY_GRACE_MS;
    };
    /** Per fault-to-healthy boundary: time to the first check sent after it that the service allowed through. */
    const recoveries = new Map();

    console.error(`chaos: ${RATE} checks/s for ${DURATION_S} s; schedule: ${schedule.map((p) => `${p.kind}@${(p.start / 1000).toFixed(1)}s`).join(' ')}`);
    for (const p of schedule.slice(1)) {
      timers.push(
        setTimeout(() => {
          auth.setPhase(p.kind);
        }, p.start),
      );
    }
    // Reloads: the primary watches the file and hands the new text to both workers.
    const reloader = setInterval(() => fs.writeFileSync(configFile, configText(ports, ++generation)), RELOAD_EVERY_MS);
    timers.push(
      setTimeout(() => {
        killedWorker = childPids(adapter.child.pid)[0];
        if (killedWorker) process.kill(killedWorker, 'SIGTERM');
        console.error(`  t=${(now() / 1000).toFixed(1)}s SIGTERM to worker ${killedWorker}`);
      }, DURATION_S * 450),
    );
    const sampler = setInterval(() => {
      const total = [adapter.child.pid, ...childPids(adapter.child.pid)].reduce((sum, pid) => sum + rssMiB(pid), 0);
      peakRss = Math.max(peakRss, total);
    }, 1_000);

    let pending = 0;
    let failure;
    const send = () => {
      const n = counts.sent++;
      const mix = WHEEL[n % WHEEL.length];
      const c = { n, mix, sentAt: now() };
      pending++;
      channels[n % CHANNELS].Check(checkRequest(mix, n), { deadline: Date.now() + DEADLINE_MS }, (err, res) => {
        pending--;
        const answeredAt = now();
        const faulty = faultyAt(c.sentAt) || faultyAt(answeredAt);
        if (err) {
          counts.unanswered++;
          if (errorSamples.length < 5) errorSamples.push(`check ${n} (${mix.kind}, ${mix.rule}) sent at ${(c.sentAt / 1000).toFixed(2)}s: RPC error ${err.message}`);
          return;
        }
        counts.answered++;
        (faulty ? faultLatency : healthyLatency).push(answeredAt - c.sentAt);
        // Judged once the service has reported everything it wrote; only what judging needs is kept.
        done.push({ c, answeredAt, faulty, res: { status: res.status, ok_response: res.ok_response, denied_response: res.denied_response && { status: res.denied_response.status } } });
      });
    };
    const done = [];
    const endAt = DURATION_S * 1000;
    // The schedule follows the clock, not the ticks: a late tick sends what fell due meanwhile.
    const ticker = setInterval(() => {
      const target = Math.floor((RATE * Math.min(now(), endAt)) / 1000);
      while (counts.sent < target) {
        if (pending >= MAX_PENDING) {
          failure ??= `more than ${MAX_PENDING} checks awaiting an answer`;
          return;
        }
        send();
      }
    }, 10);
    while (now() < endAt && !failure) await new Promise((r) => setTimeout(r, 200));
    clearInterval(ticker);
    clearInterval(reloader);
    for (let i = 0; i < 100 && pending > 0; i++) await new Promise((r) => setTimeout(r, 100));
    clearInterval(sampler);
    if (failure) console.error(`  stopped early: ${failure}`);
    await auth.flush();
    for (const { c, answeredAt, faulty, res } of done) {
      const why = judge(c, res, auth, faulty);
      if (why) {
        counts.wrong++;
        if (wrongSamples.length < 10) {
          const phases = `${schedule[phaseIndexAt(c.sentAt)].kind}->${schedule[phaseIndexAt(answeredAt)].kind}`;
          wrongSamples.push(`check ${c.n} (${c.mix.kind}, ${c.mix.rule}) sent at ${(c.sentAt / 1000).toFixed(2)}s [${phases}]: ${why}`);
        }
        continue;
      }
      if (c.mix.kind === 'allow' && okHeader(res, 'x-user-id') === USER) {
        const i = phaseIndexAt(c.sentAt);
        if (i > 0 && schedule[i].kind === 'healthy') recoveries.set(i, Math.min(recoveries.get(i) ?? Infinity, answeredAt - schedule[i].start));
      }
    }
    // Checks that never got an answer (nor an error) within the wait.
    counts.unanswered += pending;

    const workersNow = childPids(adapter.child.pid);
    const transitions = adapter.warnings.filter((l) => l.includes('circuit breaker open')).length;
    const replaced = killedWorker === undefined ? 'no worker SIGTERMed yet' : `SIGTERMed ${killedWorker}, ${workersNow.includes(killedWorker) ? 'still there' : 'replaced'}`;
    console.error(`  workers at the end: ${workersNow.join(', ')} (${replaced}); config generations ${generation}; breaker-open lines logged ${transitions}`);
    for (const line of [...errorSamples, ...wrongSamples]) console.error(`  ${line}`);
    const recoverMs = Math.max(0, ...recoveries.values());
    const boundaries = schedule.filter((p, i) => i > 0 && p.kind === 'healthy').length;
    if (recoveries.size < boundaries) console.error(`  recovered after ${recoveries.size} of ${boundaries} faults`);
    const cpu = os.cpus();
    console.error(`  machine: ${cpu.length} x ${cpu[0]?.model.trim() ?? 'unknown CPU'}, load ${os.loadavg().map((l) => l.toFixed(1)).join(' ')}, Node ${process.version}`);
    console.log(
      `chaos: sent ${counts.sent} answered ${counts.answered} wrong ${counts.wrong} unanswered ${counts.unanswered} ` +
        `p99_ms ${percentile(healthyLatency, 0.99).toFixed(1)} p99_fault_ms ${percentile(faultLatency, 0.99).toFixed(1)} ` +
        `recover_ms ${recoverMs.toFixed(0)} rss_mb ${peakRss.toFixed(0)}`,
    );
    if (counts.wrong !== 0 || counts.unanswered !== 0) process.exitCode = 1;
  } finally {
    for (const t of timers) clearTimeout(t);
    for (const c of channels) c.close();
    if (adapter) await stopAdapter(adapter.child);
    await auth.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

if (AUTH_SERVICE_MODE) runAuthService(Number(process.argv[3]));
else main().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});
