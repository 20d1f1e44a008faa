'use strict';
/**
 * Runs h2load with a pre-encoded gRPC CheckRequest and reads back what it measured. h2load
 * prints no percentiles, so latencies come from its per-request log file.
 */
const fs = require('node:fs');
const path = require('node:path');
const { CHECK_PATH } = require('./check-payload');
const { start, stop, workDir } = require('./processes');

let runs = 0;

/**
 * @typedef {{ count: number, p50: number, p99: number, max: number }} Latency
 * @typedef {ReturnType<typeof parse> & { latency: Latency, error?: undefined }} H2loadResult
 * @typedef {{ error: string, output: string }} H2loadFailure
 * @typedef {{ requests: number, rps?: undefined, seconds?: undefined } | { rps: number, seconds: number, requests?: undefined }} Load
 */

/**
 * `load`: { requests } for a closed-loop run, or { rps, seconds } for a fixed rate (total
 * rate split evenly over the clients). Every run is bounded by `timeoutMs`.
 * @param {{ port: number, payloadFile: string, clients: number, streams: number, load: Load, timeoutMs: number }} options
 * @returns {Promise<H2loadResult | H2loadFailure>}
 */
async function h2load({ port, payloadFile, clients, streams, load, timeoutMs }) {
  const log = path.join(workDir(), `h2load-${++runs}.log`);
  const args = ['-c', String(clients), '-m', String(streams), '-t', '1', '-d', payloadFile];
  args.push('-H', 'content-type: application/grpc', '-H', 'te: trailers', '--log-file', log);
  // A fixed rate still sends a fixed count: h2load's timing mode (-D) counts requests in flight
  // at the end differently in its totals and status codes, which the verification relies on.
  if (load.rps) args.push('--rps', String(load.rps / clients), '-n', String(load.rps * load.seconds));
  else args.push('-n', String(load.requests));
  args.push(`http://127.0.0.1:${port}${CHECK_PATH}`);

  const child = start(`h2load-${runs}`, 'h2load', args, { pipeStdout: true });
  let out = '';
  child.stdout?.setEncoding('utf8');
  child.stdout?.on('data', (/** @type {string} */ c) => (out += c));
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    void stop(child, 1000);
  }, timeoutMs);
  const { code } = await child.exited;
  clearTimeout(timer);
  if (timedOut) return { error: `h2load did not finish within ${timeoutMs / 1000}s`, output: out };
  if (code !== 0) return { error: `h2load exited with ${code}`, output: out };
  const result = { ...parse(out), latency: latencies(log) };
  fs.rmSync(log, { force: true });
  return result;
}

/** @param {string} out */
function parse(out) {
  const num = (/** @type {RegExp} */ re) => {
    const m = re.exec(out);
    return m ? Number(m[1]) : NaN;
  };
  return {
    reqPerSec: num(/finished in [\d.]+m?s, ([\d.]+) req\/s/),
    total: num(/requests: (\d+) total/),
    done: num(/requests: .* (\d+) done/),
    succeeded: num(/requests: .* (\d+) succeeded/),
    failed: num(/requests: .* (\d+) failed/),
    errored: num(/requests: .* (\d+) errored/),
    timeout: num(/requests: .* (\d+) timeout/),
    status2xx: num(/status codes: (\d+) 2xx/),
    dataBytes: num(/traffic: .* \((\d+)\) data/),
    output: out,
  };
}

/**
 * p50/p99/max of "microseconds until end of response", the log's third column, in ms.
 * @param {string} file
 * @returns {Latency}
 */
function latencies(file) {
  const text = fs.readFileSync(file, 'utf8');
  /** @type {number[]} */
  const values = [];
  let lineStart = 0;
  while (lineStart < text.length) {
    let end = text.indexOf('\n', lineStart);
    if (end === -1) end = text.length;
    const lastTab = text.lastIndexOf('\t', end);
    if (lastTab > lineStart) values.push(Number(text.slice(lastTab + 1, end)));
    lineStart = end + 1;
  }
  const sorted = Float64Array.from(values).sort();
  const at = (/** @type {number} */ q) =>
    sorted.length ? (sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? NaN) / 1000 : NaN;
  return { count: sorted.length, p50: at(0.5), p99: at(0.99), max: at(1) };
}

module.exports = { h2load };
