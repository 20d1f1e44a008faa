'use strict';
/** Starting the servers under test: the two Node baselines and the adapter with a generated config. */
const fs = require('node:fs');
const path = require('node:path');
const { freePort, start, stop, treeMemory, waitForLine, workDir } = require('./processes');
const { waitUntilAnswering } = require('./verify');

const ROOT = path.join(__dirname, '..', '..');

/**
 * A server under test, started and stoppable.
 * @typedef {{
 *   name: string,
 *   child: import('./processes').BenchChild,
 *   port: number,
 *   adminPort?: number,
 *   stop: () => Promise<void>,
 *   memory: () => ReturnType<typeof treeMemory>,
 * }} Target
 */
/**
 * @typedef {{ authUrl: string, workers?: number, logLevel?: string, cache?: boolean, coalesce?: boolean, body?: boolean, parity?: boolean, bin?: string, env?: Record<string, string>, nodeFlags?: string[] }} AdapterOptions
 */
const START_TIMEOUT_MS = 15_000;

/**
 * ceiling-server.js, floor-server.js or naive-server.js: they bind an ephemeral port and print it.
 * @param {string} name
 * @param {string} script
 * @param {string[]} [args]
 * @returns {Promise<Target>}
 */
async function startNodeServer(name, script, args = []) {
  const child = start(name, process.execPath, [path.join(ROOT, 'bench', script), ...args], { pipeStdout: true });
  try {
    const [, port] = await waitForLine(child, /listening (\d+)/, START_TIMEOUT_MS);
    child.stdout?.resume();
    return { name, child, port: Number(port), stop: () => stop(child), memory: () => treeMemory(child.pid) };
  } catch (err) {
    await stop(child);
    throw err;
  }
}

/**
 * The adapter config the benchmark runs: one rule toward nginx, `/public/*` whitelisted,
 * `x-tenant` forwarded, x-user-id and x-user-role copied back. With `parity`, every header
 * feature of issue 14 is on as well (see PARITY_RULE).
 * @param {AdapterOptions & { grpcPort: number, adminPort: number }} options
 */
function adapterConfig({
  grpcPort,
  adminPort,
  authUrl,
  workers = 1,
  logLevel = 'info',
  cache = false,
  coalesce = false,
  body = false,
  parity = false,
}) {
  return `grpc: { address: "127.0.0.1:${grpcPort}" }
admin: { address: "127.0.0.1:${adminPort}" }
log: { level: ${logLevel} }
shutdown: { drainDelay: 0s, timeout: 2s }
workers: ${workers}
rules:
  - name: bench
${
  parity
    ? PARITY_RULE(authUrl)
    : `    service: { url: "${authUrl}", path: /check, timeout: 2s, mode: strict }
    request: { tokenHeader: authorization, allowedHeaders: [x-tenant]${body ? ', body: { enabled: true }' : ''} }
    response: { allowedHeaders: [x-user-id, x-user-role] }
`
}    match:
      mode: whitelist
      conditions:
        - path: /public/*
${cache ? '    cache: { ttl: 30s, maxEntries: 10000 }\n' : ''}${coalesce ? '    coalesce: true\n' : ''}`;
}

/** The value of the static header the parity rule reads from the environment. */
const PARITY_ENV = { BENCH_API_KEY: 'bench-shared-secret' };

/**
 * The parity row's rule: a dry run; header matchers beside a name; static headers, one from the
 * environment; the token removed upstream; an overwritten, an appended and a client header (two
 * Set-Cookie); the denial filter; dynamic metadata. nginx's /parity/ answers with all of them
 * and x-envoy-auth-headers-to-remove.
 * @param {string} authUrl
 */
const PARITY_RULE = (authUrl) => `    dryRun: true
    service: { url: "${authUrl}", path: /parity, timeout: 2s, mode: strict }
    request:
      tokenHeader: authorization
      allowedHeaders: [x-tenant, { prefix: x-forwarded- }, { safe_regex: { regex: "accept-[a-z]+" } }]
      headersToAdd: { x-api-key: "\${BENCH_API_KEY}", x-gateway: bench }
      removeHeaders: [authorization]
    response:
      allowedHeaders: [x-user-id]
      appendHeaders: [x-groups]
      clientHeadersOnSuccess: [set-cookie]
      clientHeaders: [www-authenticate, content-type]
      dynamicMetadata: [x-user-id, x-user-role]
`;

/**
 * `node bin/ext-authz-adapter.js serve` on checked-free ports, with no Node flags: as users start
 * it (`npx ext-authz-adapter serve`), so the bin's own heap settings are what is measured.
 * `options.nodeFlags` adds flags (an A/B of a setting); ready once a Check is answered.
 * @param {string} label
 * @param {AdapterOptions} options
 * @param {Buffer} readyPayload
 * @param {import('./verify').Expect} readyExpect
 * @returns {Promise<Target>}
 */
async function startAdapter(label, options, readyPayload, readyExpect) {
  const [grpcPort, adminPort] = [await freePort(), await freePort()];
  // A directory of its own: the adapter watches its config file's directory, and the work dir
  // also receives every target's log lines (a write there would wake the watcher each time).
  const dir = path.join(workDir(), `${label}-config`);
  fs.mkdirSync(dir, { recursive: true });
  const file = path.join(dir, 'config.yaml');
  fs.writeFileSync(file, adapterConfig({ ...options, grpcPort, adminPort }));
  // BENCH_NODE_ARGS="--cpu-prof --cpu-prof-dir=DIR" profiles the adapter (Node refuses --cpu-prof in NODE_OPTIONS).
  const nodeArgs = (process.env.BENCH_NODE_ARGS ?? '').split(' ').filter(Boolean);
  // BENCH_ADAPTER_BIN runs another build of the adapter (an A/B of a change) with the same harness;
  // `options.bin` runs one target on another build within the same run (BENCH_BASELINE_BIN).
  const bin = options.bin ?? process.env.BENCH_ADAPTER_BIN ?? path.join(ROOT, 'bin', 'ext-authz-adapter.js');
  // Tracing is configured as users do, by OTEL_* variables: none from this shell, only the target's own.
  const env = Object.fromEntries(
    Object.keys(process.env)
      .filter((k) => k.startsWith('OTEL_'))
      .map((k) => [k, undefined]),
  );
  const child = start(label, process.execPath, [...(options.nodeFlags ?? []), ...nodeArgs, bin, 'serve', '--config', file], {
    env: { ...env, ...(options.parity ? PARITY_ENV : {}), ...options.env },
  });
  const ready = await waitUntilAnswering(grpcPort, readyPayload, readyExpect, START_TIMEOUT_MS);
  if (!ready.ok) {
    const err = fs.readFileSync(path.join(workDir(), `${label}.err`), 'utf8').slice(-1500);
    await stop(child);
    throw new Error(`adapter (${label}) did not answer Check within ${START_TIMEOUT_MS / 1000}s: ${ready.message}\n${err}`);
  }
  return {
    name: label,
    child,
    port: grpcPort,
    adminPort,
    stop: () => stop(child),
    memory: () => treeMemory(child.pid),
  };
}

module.exports = { startNodeServer, startAdapter, adapterConfig };
