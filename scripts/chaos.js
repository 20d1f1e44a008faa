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
const net = require('node:net');
const os = require('node:os');
const path = require('node:path');
const { RECEIVED, USER } = require('./lib/chaos-auth-service');
const { cliOptions } = require('./lib/cli-options');

const ROOT = path.join(__dirname, '..');
/** @type {typeof import('../src/client')} The types of the source; the code of the build `npm run chaos` made. */
const { CheckClient, checkRequest: envoyCheckRequest, okHeaders } = require(path.join(ROOT, 'dist', 'client'));

/** @typedef {import('../src/client').DecodedCheckResponse} DecodedCheckResponse */
/** @typedef {import('./lib/chaos-auth-service').Phase} Phase */
/** @typedef {import('./lib/chaos-auth-service').FromService} FromService */
/** @typedef {{ kind: Phase, start: number, end: number }} SchedulePhase */
/** @typedef {{ kind: 'allow' | 'deny' | 'bypass', rule: 'strict' | 'loose', weight: number }} Mix */
/** @typedef {{ n: number, mix: Mix, sentAt: number }} SentCheck */
/** @typedef {{ answered: Map<number, number>, received: Set<number>, setPhase(phase: Phase): void, flush(): Promise<void>, close(): Promise<void> }} AuthService */
/** @typedef {{ child: import('node:child_process').ChildProcess, pid: number, lines: string[] }} SpawnedAdapter */
/** @typedef {{ auth: number, grpc: number, admin: number }} Ports */

const USAGE = 'usage: npm run chaos [-- --duration SECONDS, 10 to 3600] [--rate CHECKS_PER_SECOND, 10 to 5000]';
const args = cliOptions(USAGE, { duration: '60', rate: '1000' });
const DURATION_S = Number(args.duration);
const RATE = Number(args.rate);
if (!(DURATION_S >= 10 && DURATION_S <= 3600 && RATE >= 10 && RATE <= 5000)) {
  console.error(USAGE);
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
/** @type {Phase[]} */
const FAULTS = ['kill', 'blackhole', '5xx', 'slow', 'reset'];

/**
 * The schedule in ms from the start: healthy, then each fault followed by a healthy stretch.
 * One unit is a tenth of the run; each fault lasts 0.8 of a unit.
 * @param {number} durationMs
 * @returns {SchedulePhase[]}
 */
function buildSchedule(durationMs) {
  const unit = durationMs / 10;
  /** @type {SchedulePhase[]} */
  const phases = [{ kind: 'healthy', start: 0, end: unit }];
  let t = unit;
  for (const kind of FAULTS) {
    phases.push({ kind, start: t, end: t + unit * 0.8 });
    t += unit * 0.8;
    phases.push({ kind: 'healthy', start: t, end: t + unit });
    t += unit;
  }
  phases[phases.length - 1].end = Infinity;
  return phases;
}

/**
 * Spawns the auth service (lib/chaos-auth-service.js) and collects its reports.
 * @param {number} port
 * @returns {Promise<AuthService>}
 */
function startAuthService(port) {
  const child = spawn(process.execPath, [path.join(__dirname, 'lib', 'chaos-auth-service.js'), String(port), String(TIMEOUT_MS)], {
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  /** check id -> last status the service wrote for it. */
  const answered = new Map();
  /** @type {Set<number>} the ids that reached it */
  const received = new Set();
  /** @type {(() => void) | undefined} */
  let flushed;
  return new Promise((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`the auth service exited with ${code}`)));
    child.on('message', (/** @type {FromService} */ m) => {
      if (m.type === 'answers') {
        for (let i = 0; i < m.list.length; i += 2) {
          if (m.list[i + 1] === RECEIVED) received.add(m.list[i]);
          else answered.set(m.list[i], m.list[i + 1]);
        }
      } else if (m.type === 'flushed') {
        flushed?.();
      } else {
        resolve({
          answered,
          received,
          setPhase: (phase) => child.send({ type: 'phase', phase }),
          flush: () =>
            new Promise((r) => {
              flushed = r;
              child.send({ type: 'flush' });
            }),
          close: () =>
            new Promise((r) => {
              if (child.exitCode !== null) return r();
              child.once('exit', () => r());
              child.kill('SIGTERM');
            }),
        });
      }
    });
  });
}

/** @returns {Promise<number>} */
function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = /** @type {net.AddressInfo} */ (s.address());
      s.close(() => resolve(port));
    });
  });
}

/**
 * @param {Ports} ports
 * @param {number} generation
 */
function configText(ports, generation) {
  const service = (/** @type {string} */ mode) =>
    `{ url: "http://127.0.0.1:${ports.auth}", path: /auth, timeout: ${TIMEOUT_MS}ms, mode: ${mode}, ` +
    `statusOnError: ${STATUS_ON_ERROR}, circuitBreaker: { failures: 5, openFor: ${OPEN_FOR_MS}ms } }`;
  const rule = (/** @type {string} */ name) =>
    [
      `  - name: ${name}`,
      `    service: ${service(name)}`,
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
    rule('strict'),
    rule('loose'),
    '',
  ].join('\n');
}

/**
 * Spawns the adapter and resolves once its /readyz says every worker serves. Its log lines
 * (warn and up: breaker transitions, worker events) are kept, bounded.
 * @param {string} configFile
 * @param {number} adminPort
 * @returns {Promise<SpawnedAdapter>}
 */
async function startAdapter(configFile, adminPort) {
  const child = spawn(process.execPath, [path.join(ROOT, 'bin', 'ext-authz-adapter.js'), 'serve', '--config', configFile], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  /** @type {string[]} */
  const lines = [];
  let partial = '';
  child.stdout.setEncoding('utf8');
  child.stdout.on('data', (/** @type {string} */ text) => {
    const parts = (partial + text).split('\n');
    partial = parts.pop() ?? '';
    for (const line of parts) if (lines.length < 1_000) lines.push(line);
  });
  const until = Date.now() + 30_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`the adapter exited with ${child.exitCode} before serving`);
    const ready = await fetch(`http://127.0.0.1:${adminPort}/readyz`, { signal: AbortSignal.timeout(1_000) }).then(
      (r) => r.status === 200,
      () => false,
    );
    if (ready && child.pid !== undefined) return { child, pid: child.pid, lines };
    if (Date.now() > until) throw new Error('the adapter was not ready within 30 s');
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** @param {import('node:child_process').ChildProcess} child */
async function stopAdapter(child) {
  if (child.exitCode !== null) return;
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
  await exited;
  clearTimeout(timer);
}

/** @param {number} pid */
function childPids(pid) {
  try {
    return fs.readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

/** @param {number} pid */
function rssMiB(pid) {
  try {
    return Number(/VmRSS:\s+(\d+)/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0) / 1024;
  } catch {
    return 0;
  }
}

// What is sent, by weight: what the service will say, and which rule asks.
/** @type {Mix[]} */
const MIX = [
  { kind: 'allow', rule: 'strict', weight: 35 },
  { kind: 'allow', rule: 'loose', weight: 25 },
  { kind: 'deny', rule: 'strict', weight: 15 },
  { kind: 'deny', rule: 'loose', weight: 10 },
  { kind: 'bypass', rule: 'strict', weight: 8 },
  { kind: 'bypass', rule: 'loose', weight: 7 },
];
/** @type {Mix[]} */
const WHEEL = MIX.flatMap((m) => Array(m.weight).fill(m));

/**
 * @param {Mix} mix
 * @param {number} n
 */
function checkRequest(mix, n) {
  const p = mix.kind === 'bypass' ? `/public/${n}` : `/api/${mix.kind}/${n}`;
  return envoyCheckRequest({
    id: String(n),
    path: p,
    host: 'shop.example.com',
    scheme: 'https',
    headers: { authorization: 'Bearer chaos', 'x-user-id': 'forged' },
    contextExtensions: { rule: mix.rule },
  });
}

/**
 * Opens every channel's connection and lets both workers' pools and JIT warm up with a few checks
 * per channel, answered before the clock starts; they are not counted.
 * @param {InstanceType<typeof CheckClient>[]} channels
 */
async function warmUp(channels) {
  await Promise.all(
    channels.map(async (ch, i) => {
      for (let k = 0; k < 20; k++) await ch.check(checkRequest(MIX[k % MIX.length], -1 - i * 100 - k), 30_000).catch(() => undefined);
    }),
  );
}

/**
 * Why one answer is not one the schedule allows; '' when it is. `faulty`: the check was sent or
 * answered during a fault or the recovery after one.
 * @param {SentCheck} c
 * @param {DecodedCheckResponse} res
 * @param {AuthService} auth
 * @param {boolean} faulty
 */
function judge(c, res, auth, faulty) {
  const allowed = (res.status?.code ?? 0) === 0 && res.ok_response !== undefined;
  const headers = okHeaders(res);
  const failureMode = headers['x-envoy-auth-failure-mode-allowed'] === 'true';
  const served = auth.answered.get(c.n);
  if (c.mix.kind === 'bypass') return allowed && !failureMode && !auth.received.has(c.n) ? '' : 'bypass not allowed as such';
  if (allowed) {
    if (!failureMode) return served === 200 && headers['x-user-id'] === USER ? '' : `allowed, but the service said ${served ?? 'nothing'}`;
    if (c.mix.rule !== 'loose') return 'a strict rule allowed in failure mode';
    if (headers['x-user-id'] !== undefined) return 'failure-mode allow carried an identity header';
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

/**
 * @param {number[]} values
 * @param {number} p
 */
function percentile(values, p) {
  if (values.length === 0) return 0;
  const s = Float64Array.from(values).sort();
  return s[Math.min(s.length - 1, Math.floor(s.length * p))];
}

async function main() {
  if (!fs.existsSync(path.join(ROOT, 'dist', 'client', 'index.js'))) {
    console.error('dist/ is missing; run "npm run build" first (npm run chaos does)');
    process.exit(2);
  }
  /** @type {Ports} */
  const ports = { auth: await freePort(), grpc: await freePort(), admin: await freePort() };
  const auth = await startAuthService(ports.auth);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ext-authz-chaos-'));
  const configFile = path.join(dir, 'config.yaml');
  let generation = 0;
  fs.writeFileSync(configFile, configText(ports, generation));

  const schedule = buildSchedule(DURATION_S * 1000);
  const counts = { sent: 0, answered: 0, wrong: 0, unanswered: 0 };
  /** @type {number[]} */
  const healthyLatency = [];
  /** @type {number[]} */
  const faultLatency = [];
  /** @type {string[]} */
  const wrongSamples = [];
  /** @type {string[]} */
  const errorSamples = [];
  /** @type {Map<string, number>} wrong answers by what was wrong */
  const wrongKinds = new Map();
  /** @type {Array<{ c: SentCheck, answeredAt: number, faulty: boolean, res: DecodedCheckResponse }>} */
  const done = [];
  /** @type {SpawnedAdapter | undefined} */
  let adapter;
  /** @type {InstanceType<typeof CheckClient>[]} */
  let channels = [];
  let peakRss = 0;
  /** @type {number | undefined} */
  let killedWorker;
  /** @type {NodeJS.Timeout[]} */
  const timers = [];
  try {
    const spawned = (adapter = await startAdapter(configFile, ports.admin));
    // Each channel its own connection (no shared subchannel), so the cluster spreads them over both workers.
    channels = Array.from(
      { length: CHANNELS },
      () => new CheckClient(`127.0.0.1:${ports.grpc}`, undefined, { 'grpc.use_local_subchannel_pool': 1 }),
    );
    await warmUp(channels);
    const started = performance.now();
    const now = () => performance.now() - started;
    const phaseIndexAt = (/** @type {number} */ t) => schedule.findIndex((p) => t >= p.start && t < p.end);
    /** During a fault, or within RECOVERY_GRACE_MS after one ended. */
    const faultyAt = (/** @type {number} */ t) => {
      const i = phaseIndexAt(t);
      if (schedule[i].kind !== 'healthy') return true;
      return i > 0 && t - schedule[i].start < RECOVERY_GRACE_MS;
    };
    /** @type {Map<number, number>} per fault-to-healthy boundary: time to the first check sent after it that the service allowed through */
    const recoveries = new Map();

    console.error(
      `chaos: ${RATE} checks/s for ${DURATION_S} s; schedule: ${schedule.map((p) => `${p.kind}@${(p.start / 1000).toFixed(1)}s`).join(' ')}`,
    );
    for (const p of schedule.slice(1)) timers.push(setTimeout(() => auth.setPhase(p.kind), p.start));
    // Reloads: the primary watches the file and hands the new text to both workers.
    const reloader = setInterval(() => fs.writeFileSync(configFile, configText(ports, ++generation)), RELOAD_EVERY_MS);
    timers.push(
      setTimeout(() => {
        killedWorker = childPids(spawned.pid)[0];
        if (killedWorker) process.kill(killedWorker, 'SIGTERM');
        console.error(`  t=${(now() / 1000).toFixed(1)}s SIGTERM to worker ${killedWorker}`);
      }, DURATION_S * 450),
    );
    const sampler = setInterval(() => {
      const total = [spawned.pid, ...childPids(spawned.pid)].reduce((sum, pid) => sum + rssMiB(pid), 0);
      peakRss = Math.max(peakRss, total);
    }, 1_000);

    let pending = 0;
    /** @type {string | undefined} */
    let failure;
    const send = () => {
      const n = counts.sent++;
      const mix = WHEEL[n % WHEEL.length];
      /** @type {SentCheck} */
      const c = { n, mix, sentAt: now() };
      pending++;
      channels[n % CHANNELS].raw.Check(checkRequest(mix, n), { deadline: Date.now() + DEADLINE_MS }, (err, res) => {
        pending--;
        const answeredAt = now();
        const faulty = faultyAt(c.sentAt) || faultyAt(answeredAt);
        if (err) {
          counts.unanswered++;
          if (errorSamples.length < 5)
            errorSamples.push(`check ${n} (${mix.kind}, ${mix.rule}) sent at ${(c.sentAt / 1000).toFixed(2)}s: RPC error ${err.message}`);
          return;
        }
        counts.answered++;
        (faulty ? faultLatency : healthyLatency).push(answeredAt - c.sentAt);
        // Judged once the service has reported everything it wrote; only what judging needs is kept.
        done.push({
          c,
          answeredAt,
          faulty,
          res: {
            status: res.status,
            ok_response: res.ok_response,
            denied_response: res.denied_response && { status: res.denied_response.status },
          },
        });
      });
    };
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
        const kind = why.replace(/ \(the service said .*\)$|, but the service said .*$/, '');
        wrongKinds.set(kind, (wrongKinds.get(kind) ?? 0) + 1);
        if (wrongSamples.length < 10) {
          const phases = `${schedule[phaseIndexAt(c.sentAt)].kind}->${schedule[phaseIndexAt(answeredAt)].kind}`;
          wrongSamples.push(`check ${c.n} (${c.mix.kind}, ${c.mix.rule}) sent at ${(c.sentAt / 1000).toFixed(2)}s [${phases}]: ${why}`);
        }
        continue;
      }
      const i = phaseIndexAt(c.sentAt);
      if (c.mix.kind === 'allow' && okHeaders(res)['x-user-id'] === USER && i > 0 && schedule[i].kind === 'healthy') {
        recoveries.set(i, Math.min(recoveries.get(i) ?? Infinity, answeredAt - schedule[i].start));
      }
    }
    // Checks that never got an answer (nor an error) within the wait.
    counts.unanswered += pending;

    const workersNow = childPids(spawned.pid);
    const opened = spawned.lines.filter((l) => l.includes('circuit breaker open')).length;
    const replaced =
      killedWorker === undefined
        ? 'no worker SIGTERMed yet'
        : `SIGTERMed ${killedWorker}, ${workersNow.includes(killedWorker) ? 'still there' : 'replaced'}`;
    console.error(
      `  workers at the end: ${workersNow.join(', ')} (${replaced}); config generations ${generation}; breaker-open lines logged ${opened}`,
    );
    for (const line of [...errorSamples, ...wrongSamples]) console.error(`  ${line}`);
    for (const [kind, n] of wrongKinds) console.error(`  wrong: ${n} x ${kind}`);
    const recoverMs = Math.max(0, ...recoveries.values());
    const boundaries = schedule.filter((p, i) => i > 0 && p.kind === 'healthy').length;
    if (recoveries.size < boundaries) console.error(`  recovered after ${recoveries.size} of ${boundaries} faults`);
    const cpu = os.cpus();
    const load = os.loadavg().map((l) => l.toFixed(1));
    console.error(`  machine: ${cpu.length} x ${cpu[0]?.model.trim() ?? 'unknown CPU'}, load ${load.join(' ')}, Node ${process.version}`);
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

main().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});
