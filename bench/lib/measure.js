'use strict';
/**
 * One measured row: warm up, verify samples, run h2load, verify again, count auth calls, and
 * read the CPU time the target and nginx spent during the run.
 */
const { h2load } = require('./h2load');
const { cpuSecondsBetween, cpuSnapshot } = require('./processes');
const { runProblems, sample } = require('./verify');

const SAMPLES = 20;

/**
 * @typedef {import('./h2load').Latency} Latency
 * @typedef {ReturnType<import('./targets').Target['memory']>} Memory
 * @typedef {import('./targets').Target} Target
 * @typedef {import('./nginx').Nginx} Nginx
 * @typedef {{ payloadFile: string, payload: Buffer, expect: import('./verify').Expect }} Load
 * @typedef {{ cpuUsPerCheck: number, nginxCpuUsPerCheck: number | undefined }} Cpu
 * One measured row; `failed` holds the reasons a figure cannot be trusted.
 * @typedef {{
 *   label: string,
 *   failed: string[],
 *   reqPerSec?: number,
 *   latency?: Latency,
 *   cpuUsPerCheck?: number,
 *   nginxCpuUsPerCheck?: number,
 *   authCalls?: number,
 *   memory?: Memory,
 *   belowRate?: boolean,
 *   requests?: number,
 *   memorySeries?: Memory[],
 *   rounds?: Array<number | undefined>,
 *   cpuRounds?: Array<number | undefined>,
 *   p99Rounds?: Array<number | undefined>,
 *   tracing?: { exports: number, megabytes: number, dropped: number },
 * }} Row
 */

/**
 * CPU time per check, next to throughput. The machine has 2 cores, and h2load and nginx run on
 * them too: a row's req/s is what the target reaches while it competes with the load generator
 * (and, on the auth path, with nginx) for CPU, so the throughput ratio to the ceiling mixes the
 * target's own cost with theirs and with whatever else the machine runs. utime + stime of the
 * target's process tree (every worker, every thread) over the h2load run, divided by the checks,
 * is the target's own cost, whoever else got the cores. nginx's tree is read the same way, so
 * auth rows also show what the auth service spent per check. It is not free of noise either: a
 * process that shares the cores gets smaller batches per wake-up and colder caches, so its CPU
 * per check rises on a busy machine too (rounds of the same row differ by up to 2× here), hence
 * the median over rounds. Resolution is one clock tick (10 ms) per process: 1 µs/check at
 * 10,000 checks, which matters for nginx (a few µs/check).
 *
 * Snapshots are taken right before h2load starts and right after it exits; the verification
 * samples and nginx status reads fall outside. Returns `end(checks)` -> µs per check.
 * @param {Target} target
 * @param {Nginx | undefined} nginx
 * @returns {(checks: number) => Cpu}
 */
function cpuWindow(target, nginx) {
  const targetBefore = cpuSnapshot(target.child.pid);
  const nginxBefore = nginx ? cpuSnapshot(nginx.child.pid) : undefined;
  return (checks) => {
    const targetAfter = cpuSnapshot(target.child.pid);
    const nginxAfter = nginx ? cpuSnapshot(nginx.child.pid) : undefined;
    const perCheck = (/** @type {number} */ seconds) => (seconds * 1e6) / checks;
    return {
      cpuUsPerCheck: perCheck(cpuSecondsBetween(targetBefore, targetAfter)),
      nginxCpuUsPerCheck: nginxBefore && nginxAfter ? perCheck(cpuSecondsBetween(nginxBefore, nginxAfter)) : undefined,
    };
  };
}

/**
 * `target`: { port, memory() }; `load`: { payloadFile, payload, expect }; `opts`: { requests,
 * warmup, clients, streams, timeoutMs, nginx }. Returns a row; `failed` holds the reasons a
 * figure cannot be trusted.
 * @param {string} label
 * @param {Target} target
 * @param {Load} load
 * @param {{ requests: number, warmup: number, clients: number, streams: number, timeoutMs: number, nginx?: Nginx }} opts
 * @returns {Promise<Row>}
 */
async function measure(label, target, load, opts) {
  const common = {
    port: target.port,
    payloadFile: load.payloadFile,
    clients: opts.clients,
    streams: opts.streams,
    timeoutMs: opts.timeoutMs,
  };
  /** @type {Row} */
  const row = { label, failed: [] };
  if (opts.warmup > 0) {
    const warm = await h2load({ ...common, load: { requests: opts.warmup } });
    if (warm.error !== undefined) row.failed.push(`warm-up: ${warm.error}`);
  }
  const before = await sample(target.port, load.payload, SAMPLES, load.expect);
  if (!before.ok) {
    row.failed.push(`sample before the run: ${before.message}`);
    return row;
  }
  const authBefore = opts.nginx ? await opts.nginx.requests() : 0;
  const cpuEnd = cpuWindow(target, opts.nginx);
  const run = await h2load({ ...common, load: { requests: opts.requests } });
  const cpu = cpuEnd(opts.requests);
  const authAfter = opts.nginx ? await opts.nginx.requests() : 0;
  row.failed.push(...runProblems(run, opts.requests, before.bodyBytes));
  const after = await sample(target.port, load.payload, SAMPLES, load.expect);
  if (!after.ok) row.failed.push(`sample after the run: ${after.message}`);
  if (run.error === undefined) {
    row.reqPerSec = run.reqPerSec;
    row.latency = run.latency;
    Object.assign(row, cpu);
  }
  // One status read happens between the two counts.
  row.authCalls = opts.nginx ? authAfter - authBefore - 1 : undefined;
  row.memory = target.memory();
  return row;
}

/**
 * Shape of the fixed-rate runs: FIXED_RATE_CLIENTS connections (the total rate split over them)
 * × FIXED_RATE_STREAMS streams each, set apart from the closed-loop -c/-m. h2load's --rps
 * releases each client's due requests together on a shared timer tick, so the target sees bursts
 * of up to clients × streams requests, and their queueing shows up as latency even on the
 * trivial ceiling server: more clients, bigger bursts (the measured shapes are in
 * docs/performance.md, "Latency at a fixed rate"). Streams still matter: with -m 1 a client can only wait, so a target slower than
 * clients/rate per request makes h2load fall behind and under-report latency. 2 × 2 (bursts of
 * at most 4) tied for the lowest p99 measured and keeps two streams of headroom per connection;
 * the ceiling row at the same rate shows what the bursts alone cost, and a run that still falls
 * behind is flagged.
 */
const FIXED_RATE_CLIENTS = 2;
const FIXED_RATE_STREAMS = 2;

/**
 * A fixed total rate for `seconds`, sampling the target's memory every second. The first
 * sample is taken after a closed-loop warm-up, so start-up growth is not counted as a leak.
 * @param {string} label
 * @param {Target} target
 * @param {Load} load
 * @param {{ rps: number, seconds: number, clients: number, streams: number, warmup: number, nginx?: Nginx }} opts
 * @returns {Promise<Row>}
 */
async function fixedRate(label, target, load, { rps, seconds, clients, streams, warmup, nginx }) {
  // A target that cannot keep the rate stretches the run (the count is fixed); allow for it.
  const common = { port: target.port, payloadFile: load.payloadFile, clients, streams, timeoutMs: (3 * seconds + 30) * 1000 };
  /** @type {Row} */
  const row = { label, failed: [] };
  if (warmup > 0) {
    const warm = await h2load({ ...common, load: { requests: warmup } });
    if (warm.error !== undefined) row.failed.push(`warm-up: ${warm.error}`);
  }
  const before = await sample(target.port, load.payload, SAMPLES, load.expect);
  if (!before.ok) {
    row.failed.push(`sample before the run: ${before.message}`);
    return row;
  }
  const memory = [target.memory()];
  const timer = setInterval(() => memory.push(target.memory()), 1000);
  /** @type {Awaited<ReturnType<typeof h2load>>} */
  let run;
  /** @type {Cpu} */
  let cpu;
  const cpuEnd = cpuWindow(target, nginx);
  try {
    run = await h2load({ ...common, load: { rps, seconds } });
    cpu = cpuEnd(rps * seconds);
  } finally {
    clearInterval(timer);
  }
  memory.push(target.memory());
  row.failed.push(...runProblems(run, rps * seconds, before.bodyBytes));
  // h2load falls behind a rate the target cannot keep rather than failing: not an error, but
  // the latencies are then those of an overloaded target, and the report says so.
  row.belowRate = !(run.error === undefined && run.reqPerSec >= 0.95 * rps);
  const after = await sample(target.port, load.payload, SAMPLES, load.expect);
  if (!after.ok) row.failed.push(`sample after the run: ${after.message}`);
  if (run.error === undefined) {
    row.reqPerSec = run.reqPerSec;
    row.requests = run.total;
    row.latency = run.latency;
    Object.assign(row, cpu);
  }
  row.memorySeries = memory;
  row.memory = memory[memory.length - 1];
  return row;
}

/**
 * Median of the finite values (the lower middle one for an even count); NaN if none.
 * @param {Array<number | undefined>} values
 */
function median(values) {
  const sorted = /** @type {number[]} */ (values.filter((v) => v !== undefined && Number.isFinite(v))).sort((a, b) => a - b);
  return sorted[Math.floor((sorted.length - 1) / 2)] ?? NaN;
}

/**
 * Rounds of the same row, taken interleaved with the other rows so that a burst of load from
 * elsewhere on the machine hits every target alike: the median round (by req/s) stands for the
 * row's throughput and latencies. The CPU figures are the median of the per-round values, taken
 * on their own rather than from the median-throughput round: a round slowed by competition for a
 * core is not a round whose checks cost more CPU, so the two are disturbed by different things.
 * @param {Row[]} rounds
 * @returns {Row}
 */
function combineRounds(rounds) {
  const failed = [...new Set(rounds.flatMap((r) => r.failed))];
  const done = rounds.filter((r) => Number.isFinite(r.reqPerSec)).sort((a, b) => (a.reqPerSec ?? 0) - (b.reqPerSec ?? 0));
  const middle = done[Math.floor((done.length - 1) / 2)];
  const cpuRounds = rounds.map((r) => r.cpuUsPerCheck);
  const nginxCpuRounds = rounds.map((r) => r.nginxCpuUsPerCheck);
  return {
    ...middle,
    label: rounds[0]?.label ?? '',
    failed,
    rounds: rounds.map((r) => r.reqPerSec),
    cpuRounds,
    cpuUsPerCheck: median(cpuRounds),
    nginxCpuUsPerCheck: nginxCpuRounds.some((v) => v !== undefined) ? median(nginxCpuRounds) : undefined,
    authCalls: rounds.every((r) => r.authCalls !== undefined) ? rounds.reduce((s, r) => s + (r.authCalls ?? 0), 0) : undefined,
    memory: rounds.at(-1)?.memory,
  };
}

/**
 * Fixed-rate rounds of one target, taken in turns with the ceiling's: latencies are the median
 * over rounds, and `p99Rounds` keeps each round's p99 so the report can pair it with the
 * ceiling's round. The memory series run on, round after round, for the growth check.
 * @param {Row[]} rounds
 * @returns {Row}
 */
function combineRateRounds(rounds) {
  const done = /** @type {Array<Row & { latency: Latency }>} */ (rounds.filter((r) => r.latency));
  const memorySeries = rounds.flatMap((r) => r.memorySeries ?? []);
  return {
    label: rounds[0]?.label ?? '',
    failed: [...new Set(rounds.flatMap((r) => r.failed))],
    reqPerSec: median(done.map((r) => r.reqPerSec)),
    requests: done.reduce((s, r) => s + (r.requests ?? 0), 0),
    latency: {
      count: done.reduce((s, r) => s + r.latency.count, 0),
      p50: median(done.map((r) => r.latency.p50)),
      p99: median(done.map((r) => r.latency.p99)),
      max: Math.max(...done.map((r) => r.latency.max)),
    },
    p99Rounds: rounds.map((r) => r.latency?.p99),
    belowRate: rounds.some((r) => r.belowRate),
    cpuRounds: rounds.map((r) => r.cpuUsPerCheck),
    cpuUsPerCheck: median(rounds.map((r) => r.cpuUsPerCheck)),
    nginxCpuUsPerCheck: median(rounds.map((r) => r.nginxCpuUsPerCheck)),
    memorySeries,
    memory: memorySeries.at(-1),
  };
}

module.exports = { measure, fixedRate, combineRounds, combineRateRounds, median, FIXED_RATE_CLIENTS, FIXED_RATE_STREAMS };
