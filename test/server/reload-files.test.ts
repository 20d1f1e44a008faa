import { appendFileSync, mkdirSync, mkdtempSync, renameSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pino from 'pino';
import { AdapterServer, type StartOptions } from '../../src/server/runtime/adapter-server';
import { configYaml } from '../helpers/adapter';
import { TestAuthService, reply } from '../helpers/auth-service';
import { CheckClient, checkRequest } from '../helpers/check-client';
import { httpGet } from '../helpers/prom-text';
import { until } from '../helpers/until';

// Issue 19, findings 2 and 8: which file contents a reload applies, and what a reload keeps.
// The file watch's settle (the wait between two reads that must agree) is the test's own, so a
// writer can pause between its halves for as long as the test likes without racing a timer.

interface Line {
  readonly msg: string;
  readonly rules?: number;
}

/** Settles only when the test says so. */
class SettleGate {
  private readonly pending: Array<() => void> = [];
  readonly settle = (): Promise<void> => new Promise<void>((resolve) => this.pending.push(resolve));
  get waiting(): boolean {
    return this.pending.length > 0;
  }
  release(): void {
    for (const resolve of this.pending.splice(0)) resolve();
  }
}

let server: AdapterServer | undefined;
let client: CheckClient | undefined;
const services: TestAuthService[] = [];
afterEach(async () => {
  client?.close();
  await server?.shutdown();
  server = undefined;
  await Promise.all(services.splice(0).map((s) => s.close()));
});

async function start(configFile: string, gate?: SettleGate): Promise<{ lines: Line[]; reloaded: () => Line[] }> {
  const lines: Line[] = [];
  const logger = pino({ level: 'info' }, { write: (s: string) => void lines.push(JSON.parse(s) as Line) });
  // A variable, not a literal, so this file also compiles against a StartOptions without `settle`.
  const options: StartOptions & { settle?: unknown } = { configFile, watch: true, logger, settle: gate?.settle };
  server = await AdapterServer.start(options);
  client = new CheckClient(`127.0.0.1:${server.grpcPort}`);
  return { lines, reloaded: () => lines.filter((l) => l.msg === 'config reloaded') };
}

function tempDir(): string {
  return mkdtempSync(path.join(tmpdir(), 'ext-authz-reload-'));
}

/** Rule `first` allows (200); rule `second` denies (401). A config without `second` allows everything. */
async function twoRules(): Promise<(secondTimeout: string) => string> {
  const allow = await TestAuthService.start(reply(200));
  const deny = await TestAuthService.start(reply(401));
  services.push(allow, deny);
  return (secondTimeout) =>
    configYaml(
      [
        '  - name: first',
        `    service: { url: "${allow.url}", timeout: 10s }`,
        '  - name: second',
        `    service: { url: "${deny.url}", timeout: ${secondTimeout} }`,
        '',
      ].join('\n'),
    );
}

describe('finding 2: only complete files are applied', () => {
  test('a file written in place in two halves, with a pause between them, is never applied half-written', async () => {
    const config = await twoRules();
    const file = path.join(tempDir(), 'config.yaml');
    writeFileSync(file, config('10s'));
    const gate = new SettleGate();
    const { reloaded } = await start(file, gate);

    const next = config('11s');
    const cut = next.indexOf('  - name: second');
    // In place: same inode, truncated, then the first half, which is a valid config on its own.
    writeFileSync(file, next.slice(0, cut));
    await until('the watch to wait for the file to settle, or a reload', () => gate.waiting || reloaded().length > 0);
    expect((await client!.check(checkRequest())).denied_response?.status?.code).toBe(401);
    appendFileSync(file, next.slice(cut));
    await until('the complete file to be applied', () => {
      gate.release();
      return server!.current.byName.get('second')?.settings.service.timeoutMs === 11_000;
    });

    expect(reloaded().map((l) => l.rules)).toEqual([2]);
    expect((await client!.check(checkRequest())).denied_response?.status?.code).toBe(401);
  });

  test('a config path that is a symlink into another directory picks up in-place edits of its target', async () => {
    const config = await twoRules();
    const targetDir = tempDir();
    const target = path.join(targetDir, 'real.yaml');
    writeFileSync(target, config('10s'));
    const link = path.join(tempDir(), 'config.yaml');
    symlinkSync(target, link);
    const gate = new SettleGate();
    await start(link, gate);

    writeFileSync(target, config('11s'));
    await until('the edit of the target to be applied', () => {
      gate.release();
      return server!.current.byName.get('second')?.settings.service.timeoutMs === 11_000;
    });
  });

  test('a ConfigMap-style swap of the ..data symlink is picked up, and then edits of the new target too', async () => {
    const config = await twoRules();
    const dir = tempDir();
    const version = (name: string, text: string): void => {
      mkdirSync(path.join(dir, name));
      writeFileSync(path.join(dir, name, 'config.yaml'), text);
    };
    version('..v1', config('10s'));
    symlinkSync('..v1', path.join(dir, '..data'));
    symlinkSync(path.join('..data', 'config.yaml'), path.join(dir, 'config.yaml'));
    const gate = new SettleGate();
    await start(path.join(dir, 'config.yaml'), gate);
    const timeout = (): number | undefined => server!.current.byName.get('second')?.settings.service.timeoutMs;

    version('..v2', config('11s'));
    symlinkSync('..v2', path.join(dir, '..data_tmp'));
    renameSync(path.join(dir, '..data_tmp'), path.join(dir, '..data'));
    await until('the swap to be applied', () => {
      gate.release();
      return timeout() === 11_000;
    });
    writeFileSync(path.join(dir, '..v2', 'config.yaml'), config('12s'));
    await until('the edit of the new target to be applied', () => {
      gate.release();
      return timeout() === 12_000;
    });
  });
});

describe('finding 8: a reload keeps the cache of what it did not change', () => {
  async function cachedRules(): Promise<{ yaml: (bHeaders: string) => string; a: TestAuthService; b: TestAuthService }> {
    const a = await TestAuthService.start(reply(200));
    const b = await TestAuthService.start(reply(200));
    services.push(a, b);
    const yaml = (bHeaders: string): string =>
      configYaml(
        [
          '  - name: a',
          `    service: { url: "${a.url}", timeout: 10s }`,
          '    cache: { ttl: 5m }',
          '  - name: b',
          `    service: { url: "${b.url}", timeout: 10s }`,
          `    response: { allowedHeaders: [${bHeaders}] }`,
          '    cache: { ttl: 5m }',
          '',
        ].join('\n'),
      );
    return { yaml, a, b };
  }

  const TOKENS = ['t1', 't2', 't3'];
  async function checkAll(rule: string): Promise<void> {
    for (const t of TOKENS) {
      const res = await client!.check(checkRequest({ headers: { authorization: `Bearer ${t}` }, contextExtensions: { rule } }));
      expect(res.ok_response).toBeDefined();
    }
  }

  test('SIGHUP with unchanged text keeps every cached answer: no new auth call', async () => {
    const { yaml, a, b } = await cachedRules();
    const file = path.join(tempDir(), 'config.yaml');
    writeFileSync(file, yaml('x-user'));
    await start(file);
    await checkAll('a');
    await checkAll('b');
    expect([a.received.length, b.received.length]).toEqual([3, 3]);

    for (let i = 0; i < 5; i++) expect(await server!.reload()).toBe(true);
    await checkAll('a');
    await checkAll('b');
    expect([a.received.length, b.received.length]).toEqual([3, 3]);
  });

  test("a reload that changes rule b keeps rule a's cached answers and drops b's", async () => {
    const { yaml, a, b } = await cachedRules();
    const file = path.join(tempDir(), 'config.yaml');
    writeFileSync(file, yaml('x-user'));
    await start(file);
    await checkAll('a');
    await checkAll('b');

    const aside = `${file}.next`;
    writeFileSync(aside, yaml('x-user, x-group'));
    renameSync(aside, file);
    expect(await server!.reload()).toBe(true);
    expect(server!.current.byName.get('b')?.settings.response.allowedHeaders).toEqual(['x-user', 'x-group']);
    await checkAll('a');
    await checkAll('b');
    expect([a.received.length, b.received.length]).toEqual([3, 6]);
  });
});

describe('finding 8: settings that need a restart', () => {
  test('a reload changing grpc.address keeps the listener, /config reports the address in force, and the log says a restart is needed', async () => {
    const auth = await TestAuthService.start(reply(200));
    services.push(auth);
    const yaml = (address: string): string =>
      configYaml(`  - name: r\n    service: { url: "${auth.url}", timeout: 10s }\n`)
        .replace('admin: { address: "127.0.0.1:0" }', 'admin: { address: "127.0.0.1:0", exposeConfig: true }')
        .replace('grpc: { address: "127.0.0.1:0" }', `grpc: { address: "${address}" }`);
    const file = path.join(tempDir(), 'config.yaml');
    writeFileSync(file, yaml('127.0.0.1:0'));
    const { lines } = await start(file);

    writeFileSync(`${file}.next`, yaml('127.0.0.1:1'));
    renameSync(`${file}.next`, file);
    expect(await server!.reload()).toBe(true);

    const res = await httpGet(server!.adminPort, '/config');
    expect((JSON.parse(res.body) as { grpc: { address: string } }).grpc.address).toBe('127.0.0.1:0');
    expect((await client!.check(checkRequest())).ok_response).toBeDefined();
    const warning = lines.find((l) => l.msg.includes('until a restart')) as (Line & { settings?: unknown }) | undefined;
    expect(warning?.settings).toEqual([{ setting: 'grpc.address', running: '127.0.0.1:0', configured: '127.0.0.1:1' }]);
  });
});
