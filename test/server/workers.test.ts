import { renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { writeConfig } from '../helpers/adapter';
import { TestAuthService } from '../helpers/auth-service';
import { CheckClient, checkRequest, okHeaders } from '../helpers/check-client';
import { CliProcess, builtCli } from '../helpers/cli-process';
import { httpGet, scrape, sumOf } from '../helpers/prom-text';
import { until } from '../helpers/until';

// `workers: 2` with the real CLI: a cluster primary and two worker processes sharing one gRPC
// port. Which worker answered is read from the decision log line, which carries the pid of the
// process that wrote it; nothing in the product's answers says which worker served.

let auth: TestAuthService;
let cli: CliProcess | undefined;
const clients: CheckClient[] = [];

beforeAll(() => {
  builtCli();
}, 120_000);

beforeEach(async () => {
  auth = await TestAuthService.start((_req, res) => res.writeHead(200, { 'x-version': '2' }).end());
});

afterEach(async () => {
  for (const c of clients.splice(0)) c.close();
  await cli?.kill();
  cli = undefined;
  await auth.close();
});

function config(allowed: string): string {
  return [
    'workers: 2',
    'grpc: { address: "127.0.0.1:0" }',
    'admin: { address: "127.0.0.1:0" }',
    'shutdown: { drainDelay: 0s, timeout: 5s }',
    'rules:',
    '  - name: api',
    `    service: { url: "${auth.url}", timeout: 5s }`,
    `    response: { allowedHeaders: [${allowed}] }`,
    '',
  ].join('\n');
}

/** A client on its own connection: the cluster hands out connections, not calls, round-robin. */
function freshClient(port: number): CheckClient {
  const client = new CheckClient(`127.0.0.1:${port}`, undefined, { 'grpc.use_local_subchannel_pool': 1 });
  clients.push(client);
  return client;
}

function checkPids(p: CliProcess): Set<number> {
  return new Set(p.lines.filter((l) => l.msg === 'check').map((l) => l.pid));
}

/** Checks on fresh connections until `done` holds; bounded in count. */
async function checkUntil(port: number, done: () => boolean, max = 40): Promise<number> {
  let sent = 0;
  while (!done() && sent < max) {
    const res = await freshClient(port).check(checkRequest({ headers: { authorization: 'Bearer t' } }));
    expect(res.ok_response).toBeDefined();
    sent++;
    // The worker logs after answering; give the line a moment to arrive.
    await new Promise((r) => setTimeout(r, 20));
  }
  return sent;
}

test('two workers answer, metrics are aggregated, a reload reaches both, a killed worker is replaced, SIGTERM exits 0', async () => {
  const file = writeConfig(config(''));
  cli = CliProcess.serve(file);
  const { grpcPort, adminPort, pids } = await cli.serving();
  expect(new Set(pids).size).toBe(2);
  expect(pids).not.toContain(cli.child.pid);

  // Both workers answer.
  const p = cli;
  let sent = await checkUntil(grpcPort, () => checkPids(p).size === 2);
  expect([...checkPids(cli)].sort()).toEqual([...pids].sort());

  // The primary's /metrics sums both workers' counters.
  let samples = await scrape(adminPort);
  expect(sumOf(samples, 'ext_authz_checks_total', { rule: 'api', decision: 'allowed' })).toBe(sent);
  expect(sumOf(samples, 'ext_authz_workers')).toBe(2);

  // A reload is validated and counted once by the primary, and applied by every worker.
  const aside = path.join(path.dirname(file), 'next.yaml');
  writeFileSync(aside, config('x-version'));
  renameSync(aside, file);
  await cli.waitForLine((l) => l.msg === 'config reloaded' && l.pid === cli?.child.pid);
  for (const pid of pids) await cli.waitForLine((l) => l.msg === 'config reloaded' && l.pid === pid);
  const before = cli.lines.length;
  const answeredBy = (): Set<number> =>
    new Set(
      p.lines
        .slice(before)
        .filter((l) => l.msg === 'check')
        .map((l) => l.pid),
    );
  while (answeredBy().size < 2 && sent < 200) {
    const res = await freshClient(grpcPort).check(checkRequest());
    expect(okHeaders(res)['x-version']).toBe('2');
    sent++;
    await new Promise((r) => setTimeout(r, 20));
  }
  expect(answeredBy().size).toBe(2);
  samples = await scrape(adminPort);
  expect(sumOf(samples, 'ext_authz_config_reloads_total', { result: 'success' })).toBe(1);

  // Kill one worker: the primary starts a replacement, and checks are still answered.
  const [victim, survivor] = pids;
  process.kill(victim, 'SIGKILL');
  const replaced = await cli.waitForLine((l) => l.msg === 'replacement worker serving');
  const newPid = replaced.pid as unknown as number;
  expect(pids).not.toContain(newPid);
  const after = cli.lines.length;
  const since = (): Set<number> =>
    new Set(
      p.lines
        .slice(after)
        .filter((l) => l.msg === 'check')
        .map((l) => l.pid),
    );
  await checkUntil(grpcPort, () => since().has(newPid));
  expect(since().has(newPid)).toBe(true);
  expect(since().has(victim)).toBe(false);
  expect([...since()].every((pid) => pid === newPid || pid === survivor)).toBe(true);
  samples = await scrape(adminPort);
  expect(sumOf(samples, 'ext_authz_worker_restarts_total')).toBe(1);
  expect(sumOf(samples, 'ext_authz_workers')).toBe(2);

  cli.child.kill('SIGTERM');
  expect(await cli.exited).toMatchObject({ code: 0, signal: null });
  for (const pid of [survivor, newPid]) expect(() => process.kill(pid, 0)).toThrow();
}, 90_000);

describe('issue 19: workers', () => {
  test('a worker that starts while a reload happens serves the config in force once it is ready', async () => {
    const file = writeConfig(config(''));
    // The hook holds each worker after it has its config and before it serves, until SIGUSR2.
    cli = CliProcess.serve(file, { EXT_AUTHZ_TEST_HOLD_WORKER: '1' });
    const p = cli;
    const heldPids = (): number[] => p.lines.filter((l) => l.msg.startsWith('worker held before serving')).map((l) => l.pid);
    await until('both workers to be held', () => heldPids().length === 2, 20_000);
    for (const pid of heldPids()) process.kill(pid, 'SIGUSR2');
    const { grpcPort, pids } = await cli.serving();

    // A replacement worker is held while the config changes under it.
    process.kill(pids[0], 'SIGKILL');
    await until('the replacement to be held', () => heldPids().length === 3, 20_000);
    const newPid = heldPids()[2];
    const aside = path.join(path.dirname(file), 'next.yaml');
    writeFileSync(aside, config('x-version'));
    renameSync(aside, file);
    cli.child.kill('SIGHUP');
    await cli.waitForLine((l) => l.msg === 'config reloaded' && l.pid === p.child.pid);
    process.kill(newPid, 'SIGUSR2');
    await cli.waitForLine((l) => l.msg === 'replacement worker serving');

    // Every answer from the replacement carries the header only the new config forwards.
    const before = cli.lines.length;
    const fromNew = (): number => p.lines.slice(before).filter((l) => l.msg === 'check' && l.pid === newPid).length;
    let sent = 0;
    while (fromNew() < 2 && sent < 60) {
      const res = await freshClient(grpcPort).check(checkRequest());
      expect(okHeaders(res)['x-version']).toBe('2');
      sent++;
      await new Promise((r) => setTimeout(r, 20));
    }
    expect(fromNew()).toBeGreaterThanOrEqual(1);
  }, 90_000);

  test('a hung worker (SIGSTOP) misses its heartbeat: reported not ready at once, killed and replaced', async () => {
    const file = writeConfig(`workerHeartbeat: { interval: 100ms, timeout: 3s }\n${config('')}`);
    // Replacements are held before serving (test hook), so the moment between the hung worker's
    // removal and its replacement's arrival can be observed.
    cli = CliProcess.serve(file, { EXT_AUTHZ_TEST_HOLD_WORKER: '1' });
    const p = cli;
    const heldPids = (): number[] => p.lines.filter((l) => l.msg.startsWith('worker held before serving')).map((l) => l.pid);
    await until('both workers to be held', () => heldPids().length === 2, 20_000);
    for (const pid of heldPids()) process.kill(pid, 'SIGUSR2');
    const { grpcPort, adminPort, pids } = await cli.serving();
    const [victim] = pids;
    process.kill(victim, 'SIGSTOP');
    try {
      const missed = await cli.waitForLine((l) => l.msg.startsWith('worker missed its heartbeat'), 20_000);
      expect(missed.pid).toBe(victim);
    } finally {
      if (cli.lines.every((l) => !l.msg.startsWith('worker missed its heartbeat'))) process.kill(victim, 'SIGKILL');
    }
    expect(await cli.waitForLine((l) => l.msg === 'worker died; starting a replacement')).toMatchObject({ hung: true, signal: 'SIGKILL' });
    await until('the replacement to be held', () => heldPids().length === 3, 20_000);
    // Only the healthy worker counts; the cluster stays ready on it.
    let samples = await scrape(adminPort);
    expect(sumOf(samples, 'ext_authz_workers')).toBe(1);
    expect((await httpGet(adminPort, '/readyz')).status).toBe(200);

    process.kill(heldPids()[2], 'SIGUSR2');
    await cli.waitForLine((l) => l.msg === 'replacement worker serving', 20_000);
    samples = await scrape(adminPort);
    expect(sumOf(samples, 'ext_authz_workers')).toBe(2);
    expect(sumOf(samples, 'ext_authz_worker_restarts_total')).toBe(1);
    expect((await freshClient(grpcPort).check(checkRequest({ headers: { authorization: 'Bearer t' } }))).ok_response).toBeDefined();
  }, 90_000);

  test("the primary's own dropped log lines are counted", async () => {
    const file = writeConfig(config(''));
    cli = CliProcess.serve(file);
    const { adminPort } = await cli.serving();
    cli.stopReadingStdout();
    // Each rejected reload is one line listing every problem: a few of them pass the pending-bytes bound.
    writeFileSync(file, `rules:\n${'  - 1\n'.repeat(60_000)}`);
    for (let i = 1; i <= 5; i++) {
      cli.child.kill('SIGHUP');
      await until(
        `rejected reload ${i} to be counted`,
        // Parsing the large file stalls the primary, so a scrape meanwhile may time out: asked again.
        async () => sumOf(await scrape(adminPort).catch(() => []), 'ext_authz_config_reloads_total', { result: 'failure' }) >= i,
        // A deadline, not a pace: a machine busy with other processes can take many seconds per reload.
        60_000,
      );
    }
    expect(sumOf(await scrape(adminPort), 'ext_authz_log_lines_dropped_total')).toBeGreaterThan(0);
  }, 330_000);
});
