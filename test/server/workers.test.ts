import { renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { writeConfig } from '../helpers/adapter';
import { TestAuthService } from '../helpers/auth-service';
import { CheckClient, checkRequest, okHeaders } from '../helpers/check-client';
import { CliProcess, builtCli } from '../helpers/cli-process';
import { scrape, sumOf } from '../helpers/prom-text';

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
  const answeredBy = (): Set<number> => new Set(p.lines.slice(before).filter((l) => l.msg === 'check').map((l) => l.pid));
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
  const since = (): Set<number> => new Set(p.lines.slice(after).filter((l) => l.msg === 'check').map((l) => l.pid));
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
