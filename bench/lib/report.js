'use strict';
/** The benchmark's table and the targets, as Markdown so it can be pasted into docs. */

const ORDER = [
  'ceiling',
  'floor',
  'naive',
  'bypass',
  'auth',
  'deny',
  'authFlags',
  'authBaseline',
  'authQuiet',
  'bypass2',
  'auth2',
  'deny2',
  'cache',
  'coalesce',
  'body',
  'bodyBaseline',
  'parity',
  'authBaseline',
  'traceOff',
  'traceOn',
  'ceilingFixed',
  'fixed',
];
const OPTIONAL = new Set(['cache', 'coalesce']);
const GROWTH_NOISE_MB = 10;

/**
 * @typedef {import('./measure').Row} Row
 * @typedef {Record<string, Row | undefined> & { peak?: ReturnType<import('./targets').Target['memory']> }} Rows
 * @typedef {{
 *   machine: string, clients: number, streams: number, requests: number, rounds: number, warmup: number,
 *   rate: number, rateSeconds: number, rateRounds: number, rateClients: number, rateStreams: number, load: number[], seconds: number,
 * }} Meta
 */

/**
 * @param {Row | undefined} row
 * @returns {row is Row & { failed: never[] }} a row that holds figures
 */
const ok = (row) => row !== undefined && row.failed.length === 0;
/** A figure, NaN when there is none: `–` in the table, and false in every comparison. */
const num = (/** @type {number | undefined} */ n) => n ?? NaN;
const fmt = (/** @type {number | undefined} */ n, digits = 2) => (n !== undefined && Number.isFinite(n) ? n.toFixed(digits) : '–');

/**
 * Ratios of two rows' per-round figures, round by round (rounds were taken in turns, so each pair
 * saw the same moment of the machine): the median and the range over the rounds.
 * @param {Array<number | undefined> | undefined} rounds
 * @param {Array<number | undefined> | undefined} baseRounds
 */
function paired(rounds, baseRounds) {
  /** @type {number[]} */
  const ratios = [];
  for (let i = 0; i < Math.min(rounds?.length ?? 0, baseRounds?.length ?? 0); i++) {
    const r = num(rounds?.[i]) / num(baseRounds?.[i]);
    if (Number.isFinite(r)) ratios.push(r);
  }
  ratios.sort((a, b) => a - b);
  if (ratios.length === 0) return { median: NaN, min: NaN, max: NaN, count: 0 };
  return {
    median: num(ratios[Math.floor((ratios.length - 1) / 2)]),
    min: num(ratios[0]),
    max: num(ratios[ratios.length - 1]),
    count: ratios.length,
  };
}
/** @param {ReturnType<typeof paired>} r */
const fmtPaired = (r) => (r.count === 0 ? '' : r.count === 1 ? fmt(r.median) : `${fmt(r.median)} (${fmt(r.min)}–${fmt(r.max)})`);

/**
 * A cache or coalescing row is only a figure if the accelerator cut the auth calls.
 * @param {string} key
 * @param {Row & { requestsSent: number }} row
 */
function notIntegrated(key, row) {
  return OPTIONAL.has(key) && ok(row) && row.authCalls !== undefined && row.authCalls >= 0.5 * row.requestsSent;
}

/**
 * @param {Rows} rows
 * @param {Meta} meta
 */
function render(rows, meta) {
  const ceiling = ok(rows.ceiling) ? num(rows.ceiling.reqPerSec) : NaN;
  // CPU per check is compared like for like: closed-loop rows against the closed-loop ceiling,
  // fixed-rate rows against the ceiling at the same rate (see cpuWindow in measure.js for why
  // CPU is reported next to req/s).
  const ceilingCpu = ok(rows.ceiling) ? rows.ceiling.cpuRounds : undefined;
  const ceilingFixedCpu = ok(rows.ceilingFixed) ? rows.ceilingFixed.cpuRounds : undefined;
  const floorCpu = ok(rows.floor) ? rows.floor.cpuRounds : undefined;
  /** @type {string[]} */
  const lines = [];
  lines.push(`Machine: ${meta.machine}`);
  lines.push(
    `Load: h2load -c ${meta.clients} -m ${meta.streams}, ${meta.requests} requests per row in ${meta.rounds} interleaved rounds ` +
      `(median round shown) after a ${meta.warmup}-request warm-up; fixed rate ${meta.rate}/s in ${meta.rateRounds} rounds of ${meta.rateSeconds}s taken in turns with the ceiling (-c ${meta.rateClients} -m ${meta.rateStreams}). ` +
      `Load average ${meta.load.map((l) => l.toFixed(2)).join(' → ')}; run took ${Math.round(meta.seconds)}s.`,
  );
  lines.push(
    'CPU µs/check: user + system CPU time of the target (every process and thread) during the h2load run, ' +
      "divided by the checks; median of the rounds. CPU ÷ floor, CPU ÷ ceiling: the row's CPU µs/check over the floor's " +
      "(the ceiling's) in the same round, median (lowest–highest) over the rounds; fixed-rate rows against the ceiling at the same rate. " +
      '× ceiling is the throughput ratio; on 2 cores it also carries what h2load and nginx take.',
  );
  lines.push('');
  lines.push('| Target | req/s | p50 ms | p99 ms | × ceiling | CPU µs/check | CPU ÷ floor | CPU ÷ ceiling | auth calls | notes |');
  lines.push('| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |');
  let failed = false;
  for (const key of ORDER) {
    const row = rows[key];
    if (row === undefined) {
      if (OPTIONAL.has(key)) lines.push(`| adapter auth, ${key} | n/a | | | | | | | | not run |`);
      continue;
    }
    if (!ok(row)) {
      failed = true;
      lines.push(`| ${row.label} | FAILED | | | | | | | | ${row.failed.join('; ').replace(/\|/g, '/')} |`);
      continue;
    }
    /** @type {string[]} */
    const notes = [];
    if (notIntegrated(key, { ...row, requestsSent: meta.requests })) {
      lines.push(`| ${row.label} | n/a | | | | | | | ${row.authCalls} | not integrated: every check still called the auth service |`);
      continue;
    }
    if (row.rounds && row.rounds.length > 1) notes.push(`rounds ${row.rounds.map((r) => Math.round(num(r))).join('/')}`);
    if (row.memory)
      notes.push(`${row.memory.processes} process${row.memory.processes === 1 ? '' : 'es'}, RSS ${fmt(row.memory.maxRssMb, 0)} MB`);
    if (key.endsWith('2') && row.memory?.processes === 1) notes.push('workers: 2 not in effect');
    const atRate = key === 'fixed' || key === 'ceilingFixed';
    if (atRate) notes.push(`${row.requests} requests`);
    if (row.belowRate) notes.push(`could not keep ${meta.rate}/s: overloaded`);
    // The auth service's own cost, on the rows that call it.
    if (Number.isFinite(row.nginxCpuUsPerCheck) && (num(row.authCalls) > 0 || key === 'fixed')) {
      notes.push(`nginx CPU ${fmt(row.nginxCpuUsPerCheck, 1)} µs/check`);
    }
    if (row.memory?.maxHwmMb) notes.push(`peak ${fmt(row.memory.maxHwmMb, 0)} MB`);
    if (atRate && row.cpuRounds && row.cpuRounds.length > 1) notes.push(`CPU rounds ${row.cpuRounds.map((c) => fmt(c, 0)).join('/')}`);
    if (key === 'fixed') notes.push(`p99 ÷ ceiling's, paired: ${fmtPaired(paired(row.p99Rounds, rows.ceilingFixed?.p99Rounds))}`);
    if (key === 'authFlags') notes.push(`CPU ÷ adapter auth's, paired: ${fmtPaired(paired(row.cpuRounds, rows.auth?.cpuRounds))}`);
    if (key === 'authBaseline')
      notes.push(`CPU ÷ this build's auth row, paired: ${fmtPaired(paired(row.cpuRounds, rows.auth?.cpuRounds))}`);
    if (key === 'bodyBaseline')
      notes.push(`CPU ÷ this build's body row, paired: ${fmtPaired(paired(row.cpuRounds, rows.body?.cpuRounds))}`);
    if (row.tracing) {
      notes.push(
        `${row.tracing.exports} OTLP exports (${fmt(row.tracing.megabytes, 1)} MB) received, ${row.tracing.dropped} spans dropped`,
      );
    }
    const ratio = atRate ? '' : fmt(num(row.reqPerSec) / ceiling);
    const overFloor = atRate || key === 'floor' || key === 'ceiling' ? '' : fmtPaired(paired(row.cpuRounds, floorCpu));
    const overCeiling =
      key === 'ceiling' || key === 'ceilingFixed' ? '' : fmtPaired(paired(row.cpuRounds, atRate ? ceilingFixedCpu : ceilingCpu));
    const calls = row.authCalls === undefined ? '' : String(row.authCalls);
    lines.push(
      `| ${row.label} | ${fmt(row.reqPerSec, 0)} | ${fmt(row.latency?.p50)} | ${fmt(row.latency?.p99)} | ${ratio} | ` +
        `${fmt(row.cpuUsPerCheck, 1)} | ${overFloor} | ${overCeiling} | ${calls} | ${notes.join('; ')} |`,
    );
  }
  if (ok(rows.auth) && ok(rows.naive))
    lines.push('', `adapter auth / naive: ${fmt(num(rows.auth.reqPerSec) / num(rows.naive.reqPerSec))}×`);

  lines.push('', 'Targets (issue 18: CPU per check as paired ratios, median over the rounds of this run):');
  /**
   * @param {string} name
   * @param {Array<Row | undefined>} deps
   * @param {string} measured
   * @param {boolean} pass
   */
  const target = (name, deps, measured, pass) => {
    if (!deps.every((d) => d !== undefined)) return lines.push(`- not run ${name}: --rows left out a row it needs`);
    if (!deps.every(ok)) return lines.push(`- FAILED ${name}: a run it depends on failed`);
    lines.push(`- ${pass ? 'PASS' : 'MISS'} ${name}: ${measured}`);
  };
  /**
   * @param {string} name
   * @param {string} key
   * @param {string} base
   * @param {number} limit
   */
  const cpuTarget = (name, key, base, limit) => {
    const r = paired(rows[key]?.cpuRounds, rows[base]?.cpuRounds);
    target(`${name} CPU/check ≤ ${limit} × ${base}`, [rows[key], rows[base]], `${fmtPaired(r)}× over ${r.count} rounds`, r.median <= limit);
  };
  cpuTarget('auth', 'auth', 'floor', 1.1);
  if (rows.cache) cpuTarget('decision-cache hit', 'cache', 'ceiling', 1.1);
  cpuTarget('bypass', 'bypass', 'ceiling', 1.05);
  const p99 = paired(rows.fixed?.p99Rounds, rows.ceilingFixed?.p99Rounds);
  target(
    `p99 at ${meta.rate} checks/s ≤ 1.3 × the ceiling's at that rate`,
    [rows.fixed, rows.ceilingFixed],
    `${fmtPaired(p99)}× over ${p99.count} rounds (${fmt(rows.fixed?.latency?.p99)} ms against ${fmt(rows.ceilingFixed?.latency?.p99)} ms, medians)`,
    p99.median <= 1.3 && !rows.fixed?.belowRate,
  );
  const peak = num(rows.peak?.maxHwmMb);
  target(
    'peak RSS < 150 MB, started through the bin with no Node flags',
    [rows.auth],
    `${fmt(peak, 0)} MB (VmHWM of the workers: 1 adapter after every row it served)`,
    peak < 150,
  );
  const trend = rssTrend((rows.fixed?.memorySeries ?? []).map((m) => m.maxRssMb));
  target(
    `no RSS growth over the fixed-rate rounds (< ${GROWTH_NOISE_MB} MB)`,
    [rows.fixed],
    `median RSS ${fmt(trend.start, 1)} MB in the first third, ${fmt(trend.end, 1)} MB in the last (${trend.growth >= 0 ? '+' : ''}${fmt(trend.growth, 1)}); npm run bench:soak for 60s`,
    trend.growth < GROWTH_NOISE_MB,
  );

  lines.push('', 'Earlier targets (throughput on 2 shared cores; absolute milliseconds):');
  target(
    'bypass ≥ 0.9 × ceiling',
    [rows.bypass, rows.ceiling],
    `${fmt(num(rows.bypass?.reqPerSec) / ceiling)}×`,
    num(rows.bypass?.reqPerSec) >= 0.9 * ceiling,
  );
  target(
    'auth ≥ 0.7 × ceiling',
    [rows.auth, rows.ceiling],
    `${fmt(num(rows.auth?.reqPerSec) / ceiling)}×`,
    num(rows.auth?.reqPerSec) >= 0.7 * ceiling,
  );
  target(
    'auth ≥ 1.2 × naive',
    [rows.auth, rows.naive],
    `${fmt(num(rows.auth?.reqPerSec) / num(rows.naive?.reqPerSec))}×`,
    num(rows.auth?.reqPerSec) >= 1.2 * num(rows.naive?.reqPerSec),
  );
  target(
    `p99 at ${meta.rate} checks/s < 2 ms`,
    [rows.fixed],
    `${fmt(rows.fixed?.latency?.p99)} ms on the auth path (ceiling at the same rate: ${ok(rows.ceilingFixed) ? fmt(rows.ceilingFixed.latency?.p99) : 'FAILED'} ms)`,
    num(rows.fixed?.latency?.p99) < 2 && !rows.fixed?.belowRate,
  );
  return { text: lines.join('\n'), failed };
}

/**
 * Growth of RSS over a run: median of the last third of the samples against the median of the
 * first third. A young generation that fills and empties moves RSS by tens of MB between two
 * single samples; the medians follow what stays.
 * @param {number[]} series
 */
function rssTrend(series) {
  const third = Math.max(1, Math.floor(series.length / 3));
  const median = (/** @type {number[]} */ xs) => num([...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)]);
  if (series.length === 0) return { start: NaN, end: NaN, growth: NaN };
  const start = median(series.slice(0, third));
  const end = median(series.slice(-third));
  return { start, end, growth: end - start };
}

module.exports = { render, rssTrend, paired, GROWTH_NOISE_MB };
