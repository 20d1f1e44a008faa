'use strict';
/** One measured row: warm up, verify samples, run h2load, verify again, count auth calls. */
const { h2load } = require('./h2load');
const { runProblems, sample } = require('./verify');

const SAMPLES = 20;

/**
 * `target`: { port, memory() }; `load`: { payloadFile, payload, expect }; `opts`: { requests,
 * warmup, clients, streams, timeoutMs, nginx }. Returns a row; `failed` holds the reasons a
 * figure cannot be trusted.
 */
async function measure(label, target, load, opts) {
  const common = { port: target.port, payloadFile: load.payloadFile, clients: opts.clients, streams: opts.streams, timeoutMs: opts.timeoutMs };
  const row = { label, failed: [] };
  if (opts.warmup > 0) {
    const warm = await h2load({ ...common, load: { requests: opts.warmup } });
    if (warm.error) row.failed.push(`warm-up: ${warm.error}`);
  }
  const before = await sample(target.port, load.payload, SAMPLES, load.expect);
  if (!before.ok) {
    row.failed.push(`sample before the run: ${before.message}`);
    return row;
  }
  const authBefore = opts.nginx ? await opts.nginx.requests() : 0;
  const run = await h2load({ ...common, load: { requests: opts.requests } });
  const authAfter = opts.nginx ? await opts.nginx.requests() : 0;
  row.failed.push(...runProblems(run, opts.requests, before.bodyBytes));
  const after = await sample(target.port, load.payload, SAMPLES, load.expect);
  if (!after.ok) row.failed.push(`sample after the run: ${after.message}`);
  row.reqPerSec = run.reqPerSec;
  row.latency = run.latency;
  // One status read happens between the two counts.
  row.authCalls = opts.nginx ? authAfter - authBefore - 1 : undefined;
  row.memory = target.memory();
  return row;
}

/**
 * Streams per connection in fixed-rate runs. h2load's --rps releases each client's due requests
 * together, and with many streams allowed those bursts queue at the target (the ceiling server at
 * 2,000/s, quiet machine: p50 1.9 ms with -m 16, 0.9 ms with -m 1). With -m 1, though, a client
 * can only wait, so a target slower than clients/rate per request makes h2load fall behind and
 * under-report latency. 4 keeps the rate with small bursts; the ceiling row at the same rate
 * shows what the bursts alone cost, and a run that still falls behind is flagged.
 */
const FIXED_RATE_STREAMS = 4;

/**
 * A fixed total rate for `seconds`, sampling the target's memory every second. The first
 * sample is taken after a closed-loop warm-up, so start-up growth is not counted as a leak.
 */
async function fixedRate(label, target, load, { rps, seconds, clients, streams, warmup }) {
  // A target that cannot keep the rate stretches the run (the count is fixed); allow for it.
  const common = { port: target.port, payloadFile: load.payloadFile, clients, streams, timeoutMs: (3 * seconds + 30) * 1000 };
  const row = { label, failed: [] };
  if (warmup > 0) {
    const warm = await h2load({ ...common, load: { requests: warmup } });
    if (warm.error) row.failed.push(`warm-up: ${warm.error}`);
  }
  const before = await sample(target.port, load.payload, SAMPLES, load.expect);
  if (!before.ok) {
    row.failed.push(`sample before the run: ${before.message}`);
    return row;
  }
  const memory = [target.memory()];
  const timer = setInterval(() => memory.push(target.memory()), 1000);
  let run;
  try {
    run = await h2load({ ...common, load: { rps, seconds } });
  } finally {
    clearInterval(timer);
  }
  memory.push(target.memory());
  row.failed.push(...runProblems(run, rps * seconds, before.bodyBytes));
  // h2load falls behind a rate the target cannot keep rather than failing: not an error, but
  // the latencies are then those of an overloaded target, and the report says so.
  row.belowRate = !(run.reqPerSec >= 0.95 * rps);
  const after = await sample(target.port, load.payload, SAMPLES, load.expect);
  if (!after.ok) row.failed.push(`sample after the run: ${after.message}`);
  row.reqPerSec = run.reqPerSec;
  row.requests = run.total;
  row.latency = run.latency;
  row.memorySeries = memory;
  row.memory = memory[memory.length - 1];
  return row;
}

/**
 * Rounds of the same row, taken interleaved with the other rows so that a burst of load from
 * elsewhere on the machine hits every target alike: the median round stands for the row.
 */
function combineRounds(rounds) {
  const failed = [...new Set(rounds.flatMap((r) => r.failed))];
  const done = rounds.filter((r) => Number.isFinite(r.reqPerSec)).sort((a, b) => a.reqPerSec - b.reqPerSec);
  const median = done[Math.floor((done.length - 1) / 2)];
  return {
    ...median,
    label: rounds[0].label,
    failed,
    rounds: rounds.map((r) => r.reqPerSec),
    authCalls: rounds.every((r) => r.authCalls !== undefined) ? rounds.reduce((s, r) => s + r.authCalls, 0) : undefined,
    memory: rounds[rounds.length - 1].memory,
  };
}

module.exports = { measure, fixedRate, combineRounds, FIXED_RATE_STREAMS };
