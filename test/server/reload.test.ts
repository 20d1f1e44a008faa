import { renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import pino from 'pino';
import { TestAdapter, configYaml } from '../helpers/adapter';
import { TestAuthService } from '../helpers/auth-service';
import { checkRequest, okHeaders, type DecodedCheckResponse } from '../helpers/check-client';
import { scrape, sumOf } from '../helpers/prom-text';

// Reload under load, with real servers: a client loops Check calls while the config file is
// replaced twice. Config A sends rule "main" to service A and lets its x-config header through;
// config B sends it to service B and lets x-config-b through. Both services set both headers to
// their own name, so an answer that mixed A's settings with B's service (or the reverse) shows up.

const LOOPS = 4;
const MAX_CALLS_PER_LOOP = 3000;
const RUN_MS = 3000;

interface LogLine {
  readonly at: number;
  readonly msg: string;
  readonly [key: string]: unknown;
}

/** A pino logger whose lines are kept with the time they were written. */
function capturingLogger(): { logger: pino.Logger; lines: LogLine[] } {
  const lines: LogLine[] = [];
  const logger = pino(
    { level: 'info' },
    { write: (s: string) => void lines.push({ ...(JSON.parse(s) as { msg: string }), at: Date.now() }) },
  );
  return { logger, lines };
}

async function waitFor<T>(what: string, probe: () => T | undefined, timeoutMs = 5000): Promise<T> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const value = probe();
    if (value !== undefined) return value;
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** Replaces the file the way ConfigMaps and careful editors do: write aside, rename over. */
function replaceFile(file: string, text: string): void {
  const aside = path.join(path.dirname(file), `.config.yaml.${Date.now()}`);
  writeFileSync(aside, text);
  renameSync(aside, file);
}

function serviceFor(name: string): Promise<TestAuthService> {
  return TestAuthService.start((_req, res) => {
    // A little latency, so calls straddle each swap.
    setTimeout(() => res.writeHead(200, { 'x-config': name, 'x-config-b': name, 'x-static': name }).end(), 2);
  });
}

function config(mainUrl: string, allowed: string, staticUrl: string): string {
  return configYaml(
    [
      '  - name: main',
      `    service: { url: "${mainUrl}", timeout: 2s }`,
      `    response: { allowedHeaders: [${allowed}] }`,
      '  - name: static',
      `    service: { url: "${staticUrl}", timeout: 2s, connections: ${LOOPS} }`,
      '    response: { allowedHeaders: [x-static] }',
      '',
    ].join('\n'),
  );
}

let services: TestAuthService[] = [];
let adapter: TestAdapter | undefined;

afterEach(async () => {
  await adapter?.close();
  adapter = undefined;
  await Promise.all(services.map((s) => s.close()));
  services = [];
});

interface Call {
  readonly start: number;
  readonly end: number;
  readonly answer: 'A' | 'B' | string;
}

/** What a response says about the config that produced it; anything but "A" or "B" is wrong. */
function answerOf(res: DecodedCheckResponse): string {
  if (!res.ok_response) return `denied ${JSON.stringify(res.denied_response?.status)}`;
  const h = okHeaders(res);
  if (h['x-static'] !== 'C') return `static rule answered ${JSON.stringify(h)}`;
  if (h['x-config'] === 'A' && h['x-config-b'] === undefined) return 'A';
  if (h['x-config-b'] === 'B' && h['x-config'] === undefined) return 'B';
  return `mixed ${JSON.stringify(h)}`;
}

test('a reload under load loses no call and every answer matches the config in force when the call started', async () => {
  const [a, b, c] = await Promise.all([serviceFor('A'), serviceFor('B'), serviceFor('C')]);
  services = [a, b, c];
  let connectionsToC = 0;
  c.server.on('connection', () => connectionsToC++);
  const { logger, lines } = capturingLogger();
  adapter = await TestAdapter.start(config(a.url, 'x-config', c.url), { watch: true, logger });
  const server = adapter.server;
  const staticClient = server.current.byName.get('static')?.client;
  const client = adapter.client;

  const calls: Call[] = [];
  const failures: string[] = [];
  const stopAt = Date.now() + RUN_MS;
  const loop = async (): Promise<void> => {
    for (let i = 0; i < MAX_CALLS_PER_LOOP && Date.now() < stopAt; i++) {
      const start = Date.now();
      try {
        const res = await client.check(checkRequest({ path: `/orders/${i}` }));
        calls.push({ start, end: Date.now(), answer: answerOf(res) });
      } catch (err) {
        failures.push((err as Error).message);
      }
    }
  };
  const load = Promise.all(Array.from({ length: LOOPS }, loop));

  await new Promise((r) => setTimeout(r, RUN_MS / 4));
  const wroteB = Date.now();
  replaceFile(adapter.configFile, config(b.url, 'x-config-b', c.url));
  const swappedB = await waitFor('reload of config B', () => lines.find((l) => l.msg === 'config reloaded')?.at);

  await new Promise((r) => setTimeout(r, RUN_MS / 4));
  replaceFile(adapter.configFile, config('ftp://nowhere', 'x-config', c.url));
  const rejected = await waitFor('rejection of the invalid config', () =>
    lines.find((l) => l.msg === 'config reload rejected; the previous config keeps serving'),
  );
  expect(JSON.stringify(rejected.issues)).toContain('rules[0].service.url');
  await load;

  expect(failures).toEqual([]);
  expect(calls.length).toBeGreaterThan(100);
  const wrong = calls.filter(
    (call) =>
      !(call.answer === 'A' || call.answer === 'B') ||
      (call.end < wroteB && call.answer !== 'A') ||
      (call.start > swappedB && call.answer !== 'B'),
  );
  expect(wrong).toEqual([]);
  // Both sides of the swap were exercised, and calls ran after the rejected reload.
  expect(calls.filter((call) => call.end < wroteB).length).toBeGreaterThan(10);
  expect(calls.filter((call) => call.start > rejected.at).length).toBeGreaterThan(10);

  const samples = await scrape(server.adminPort);
  expect(sumOf(samples, 'ext_authz_config_reloads_total', { result: 'success' })).toBe(1);
  expect(sumOf(samples, 'ext_authz_config_reloads_total', { result: 'failure' })).toBe(1);
  expect(sumOf(samples, 'ext_authz_checks_total', { rule: 'static', decision: 'allowed' })).toBe(calls.length);

  // The unchanged service kept its pool: same client object, no connections beyond the pool's size.
  expect(server.current.byName.get('static')?.client).toBe(staticClient);
  expect(connectionsToC).toBeLessThanOrEqual(LOOPS);
  // Service A's pool was retired and closed once its calls were done.
  await waitFor('service A connections to close', () => (a.openSockets === 0 ? true : undefined));
}, 30_000);

test('SIGHUP-style reload() with an unchanged file still reloads, and the counter says so', async () => {
  const [a, c] = await Promise.all([serviceFor('A'), serviceFor('C')]);
  services = [a, c];
  adapter = await TestAdapter.start(config(a.url, 'x-config', c.url));
  const before = adapter.server.current;
  expect(await adapter.server.reload()).toBe(true);
  expect(adapter.server.current).not.toBe(before);
  // Same services: the pools are taken over.
  expect(adapter.server.current.byName.get('main')?.client).toBe(before.byName.get('main')?.client);
  expect(answerOf(await adapter.client.check(checkRequest()))).toBe('A');
  const samples = await scrape(adapter.server.adminPort);
  expect(sumOf(samples, 'ext_authz_config_reloads_total', { result: 'success' })).toBe(1);
});
