'use strict';
/**
 * `npm run bench:soak [-- --duration 60 --rate 2000]`: the adapter's auth path at a fixed rate
 * for a while, with its RSS sampled every second; reports RSS at the start and the end, the
 * peak, the latency percentiles and the CPU time per check. Same nginx, payload, verification and
 * fixed-rate shape (--clients connections, FIXED_RATE_CLIENTS by default, × FIXED_RATE_STREAMS
 * streams each; see lib/measure.js) as the fixed-rate rows of `npm run bench`.
 */
const fs = require('node:fs');
const path = require('node:path');
const { encodeCheckRequest } = require('./lib/check-payload');
const { Nginx } = require('./lib/nginx');
const { FIXED_RATE_CLIENTS, FIXED_RATE_STREAMS, fixedRate } = require('./lib/measure');
const { stopAll, workDir } = require('./lib/processes');
const { startAdapter } = require('./lib/targets');
const { expectations } = require('./lib/verify');
const { GROWTH_NOISE_MB, rssTrend } = require('./lib/report');
const { cliOptions } = require('../scripts/lib/cli-options');

const args = cliOptions('usage: npm run bench:soak [-- --duration SECONDS] [--rate CHECKS_PER_SECOND] [--clients N] [--warmup REQUESTS]', {
  duration: '60',
  rate: '2000',
  clients: String(FIXED_RATE_CLIENTS),
  warmup: '5000',
});
const seconds = Number(args.duration);
const rate = Number(args.rate);

async function main() {
  if (!fs.existsSync(path.join(__dirname, '..', 'dist', 'server', 'runtime', 'cli.js'))) {
    console.error('dist/ is missing; run "npm run build" first (npm run bench:soak does)');
    process.exit(2);
  }
  const write = (/** @type {string} */ name, /** @type {string} */ pathAndQuery) => {
    const payload = encodeCheckRequest(pathAndQuery);
    const payloadFile = path.join(workDir(), `${name}.bin`);
    fs.writeFileSync(payloadFile, payload);
    return { payload, payloadFile };
  };
  const auth = { ...write('auth', '/api/orders/12345?expand=items&limit=20'), expect: expectations.authAllowed };
  const bypass = { ...write('bypass', '/public/catalog/items?page=2&sort=price'), expect: expectations.bypass };

  const nginx = await Nginx.start();
  /** @type {import('./lib/measure').Row | undefined} */
  let row;
  try {
    const adapter = await startAdapter('adapter-soak', { authUrl: nginx.url, workers: 1 }, bypass.payload, bypass.expect);
    try {
      console.error(`soak: adapter auth path at ${rate}/s for ${seconds}s (-c ${args.clients} -m ${FIXED_RATE_STREAMS})`);
      row = await fixedRate(`adapter auth @ ${rate}/s, ${seconds}s`, adapter, auth, {
        rps: rate,
        seconds,
        clients: Number(args.clients),
        streams: FIXED_RATE_STREAMS,
        warmup: Number(args.warmup),
        nginx,
      });
    } finally {
      await adapter.stop();
    }
  } finally {
    await nginx.stop();
  }

  if (!row || row.failed.length || !row.memorySeries || !row.latency) {
    console.log(`FAILED ${row?.label}: ${row?.failed.join('; ')}`);
    process.exitCode = 1;
    return;
  }
  const latency = row.latency;
  const series = row.memorySeries.map((m) => m.maxRssMb);
  const every = Math.max(1, Math.round(series.length / 12));
  const shown = series.filter((_, i) => i % every === 0 || i === series.length - 1).map((mb) => mb.toFixed(1));
  const trend = rssTrend(series);
  console.log(`${row.label}: ${row.requests} checks, ${Math.round(row.reqPerSec ?? NaN)} req/s`);
  if (row.belowRate) console.log(`could not keep ${rate}/s: the adapter was overloaded, latencies are those of an overload`);
  console.log(`latency p50 ${latency.p50.toFixed(2)} ms, p99 ${latency.p99.toFixed(2)} ms, max ${latency.max.toFixed(2)} ms`);
  console.log(`CPU per check: adapter ${(row.cpuUsPerCheck ?? NaN).toFixed(1)} µs, nginx ${(row.nginxCpuUsPerCheck ?? NaN).toFixed(1)} µs`);
  console.log(`RSS MB over time: ${shown.join(' ')}`);
  console.log(
    `RSS start ${(series[0] ?? NaN).toFixed(1)} MB, end ${(series.at(-1) ?? NaN).toFixed(1)} MB, peak ${Math.max(...series).toFixed(1)} MB; ` +
      `median of the first third ${trend.start.toFixed(1)} MB, of the last third ${trend.end.toFixed(1)} MB`,
  );
  console.log(
    `${trend.growth < GROWTH_NOISE_MB ? 'PASS' : 'MISS'} no growth beyond noise: ${trend.growth >= 0 ? '+' : ''}${trend.growth.toFixed(1)} MB (< ${GROWTH_NOISE_MB} MB)`,
  );
  console.log(`${latency.p99 < 2 && !row.belowRate ? 'PASS' : 'MISS'} p99 < 2 ms`);
  console.log(`${Math.max(...series) < 150 ? 'PASS' : 'MISS'} RSS < 150 MB`);
}

main().catch(async (err) => {
  console.error(`soak failed: ${err.stack ?? err}`);
  await stopAll();
  process.exit(1);
});
