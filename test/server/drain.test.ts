import { writeFileSync } from 'node:fs';
import type http from 'node:http';
import { writeConfig } from '../helpers/adapter';
import { TestAuthService } from '../helpers/auth-service';
import { CheckClient, checkRequest, type DecodedCheckResponse } from '../helpers/check-client';
import { CliProcess, HealthClient, builtCli } from '../helpers/cli-process';
import { httpGet } from '../helpers/prom-text';
import { until } from '../helpers/until';

// The real CLI in a child process, a real auth service that holds its answer, SIGTERM in between.

const DRAIN_DELAY_MS = 1500;

let auth: TestAuthService;
let cli: CliProcess | undefined;
const held: http.ServerResponse[] = [];

beforeAll(() => {
  builtCli();
}, 120_000);

beforeEach(async () => {
  auth = await TestAuthService.start((_req, res) => void held.push(res));
});

afterEach(async () => {
  await cli?.kill();
  cli = undefined;
  held.length = 0;
  await auth.close();
});

test('SIGTERM: NOT_SERVING and /readyz 503 during drainDelay, new work refused after it, the slow call still answered, exit 0', async () => {
  const file = writeConfig(
    [
      'grpc: { address: "127.0.0.1:0" }',
      'admin: { address: "127.0.0.1:0" }',
      `shutdown: { drainDelay: ${DRAIN_DELAY_MS}ms, timeout: 10s }`,
      'rules:',
      '  - name: slow',
      `    service: { url: "${auth.url}", timeout: 10s }`,
      '',
    ].join('\n'),
  );
  cli = CliProcess.serve(file);
  const { grpcPort, adminPort } = await cli.serving();
  const address = `127.0.0.1:${grpcPort}`;
  const client = new CheckClient(address);
  const health = new HealthClient(address);
  try {
    expect(await health.status()).toBe('SERVING');
    expect(await health.status('envoy.service.auth.v3.Authorization')).toBe('SERVING');
    expect((await httpGet(adminPort, '/readyz')).status).toBe(200);

    let answeredAt = 0;
    const slow = client.check(checkRequest({ headers: { authorization: 'Bearer t' } })).then((res: DecodedCheckResponse) => {
      answeredAt = Date.now();
      return res;
    });
    await until('the auth service to hold the call', () => held.length === 1);

    const termAt = Date.now();
    cli.child.kill('SIGTERM');
    await until('health NOT_SERVING', async () => (await health.status()) === 'NOT_SERVING');
    expect(await health.status('envoy.service.auth.v3.Authorization')).toBe('NOT_SERVING');
    expect((await httpGet(adminPort, '/readyz')).status).toBe(503);
    // Both were observed inside the drain delay, while the port still took calls.
    expect(Date.now() - termAt).toBeLessThan(DRAIN_DELAY_MS);

    // Past the drain delay the listener is closed: a new connection gets no answer.
    await new Promise((r) => setTimeout(r, DRAIN_DELAY_MS + 200));
    const late = new CheckClient(address, undefined, { 'grpc.use_local_subchannel_pool': 1 });
    await expect(late.check(checkRequest(), 1000)).rejects.toMatchObject({ code: expect.any(Number) });
    late.close();
    expect(cli.child.exitCode).toBeNull();

    held[0].writeHead(200).end();
    const res = await slow;
    expect(res.ok_response).toBeDefined();
    const exit = await cli.exited;
    expect(exit).toMatchObject({ code: 0, signal: null });
    expect(answeredAt).toBeGreaterThan(0);
    expect(answeredAt).toBeLessThanOrEqual(exit.at);
    const messages = cli.lines.map((l) => l.msg);
    expect(messages.indexOf('draining')).toBeGreaterThan(-1);
    expect(messages.indexOf('stopped')).toBeGreaterThan(messages.indexOf('draining'));
  } finally {
    client.close();
    health.close();
  }
}, 60_000);

function drainConfig(extra = ''): string {
  return writeConfig(
    [
      'grpc: { address: "127.0.0.1:0" }',
      'admin: { address: "127.0.0.1:0" }',
      `shutdown: { drainDelay: 0s, timeout: 10s${extra} }`,
      'rules:',
      '  - name: slow',
      `    service: { url: "${auth.url}", timeout: 10s }`,
      '',
    ].join('\n'),
  );
}

test('any number of SIGTERM and SIGINT leave one drain running: the check in flight is still answered, exit 0', async () => {
  cli = CliProcess.serve(drainConfig());
  const { grpcPort } = await cli.serving();
  const client = new CheckClient(`127.0.0.1:${grpcPort}`);
  try {
    const slow = client.check(checkRequest({ headers: { authorization: 'Bearer t' } }));
    await until('the auth service to hold the call', () => held.length === 1);
    cli.child.kill('SIGTERM');
    await cli.waitForLine((l) => l.msg === 'draining');
    // Each later signal is seen by the running drain; before, the second SIGTERM found no handler and killed the process.
    cli.child.kill('SIGTERM');
    cli.child.kill('SIGINT');
    const p = cli;
    await until('both later signals to be seen', () => p.lines.filter((l) => l.msg === 'already draining').length === 2, 10_000).catch(
      () => undefined,
    );
    // Two signals pending at once are delivered in the kernel's order, not the order sent.
    expect(
      cli.lines
        .filter((l) => l.msg === 'already draining')
        .map((l) => l.signal)
        .sort(),
    ).toEqual(['SIGINT', 'SIGTERM']);
    expect(cli.child.exitCode).toBeNull();
    held[0].writeHead(200).end();
    expect((await slow).ok_response).toBeDefined();
    expect(await cli.exited).toMatchObject({ code: 0, signal: null });
    expect(cli.lines.filter((l) => l.msg === 'stopped')).toHaveLength(1);
  } finally {
    client.close();
  }
}, 60_000);

test('a stdout nobody reads does not keep a drained process alive: a bounded flush, then exit, the unwritten bytes on stderr', async () => {
  const file = drainConfig(', logFlushTimeout: 300ms');
  cli = CliProcess.serve(file);
  const { adminPort } = await cli.serving();
  cli.stopReadingStdout();
  // A rejected reload logs every problem in one line: thousands of them fill the pipe many times over.
  writeFileSync(file, `rules:\n${'  - 1\n'.repeat(40_000)}`);
  cli.child.kill('SIGHUP');
  await until(
    'the rejected reload to be counted (and so logged)',
    async () => {
      const text = (await httpGet(adminPort, '/metrics')).body;
      return /ext_authz_config_reloads_total\{result="failure"\} 1/.test(text);
    },
    20_000,
  );
  cli.child.kill('SIGTERM');
  const exit = await cli.exitWithin(20_000);
  expect(exit).toMatchObject({ code: 0, signal: null });
  const report = cli.stderr
    .join('')
    .split('\n')
    .filter((l) => l.includes('unwrittenBytes'))
    .map((l) => JSON.parse(l) as { unwrittenBytes: number });
  expect(report).toHaveLength(1);
  expect(report[0].unwrittenBytes).toBeGreaterThan(0);
}, 60_000);
