import type http from 'node:http';
import { TestAdapter, configYaml } from '../helpers/adapter';
import { TestAuthService } from '../helpers/auth-service';
import { checkRequest } from '../helpers/check-client';
import { until } from '../helpers/until';
import { summarize } from '../reliability/summary';
import { PythonAuthService } from './python-auth-service';

// Findings 1 and 2 of issue 12: a client must not be able to open loose mode. Real gRPC server,
// real auth services: the gateway documentation's Python example, and a Node one that holds calls.

let adapter: TestAdapter | undefined;
afterEach(async () => {
  await adapter?.close();
  adapter = undefined;
});

describe('finding 1: answers about the request are never "unavailable"', () => {
  let python: PythonAuthService;
  beforeAll(async () => {
    python = await PythonAuthService.start('get-only');
  });
  afterAll(async () => {
    await python.close();
  });

  test.each(['loose', 'strict'])(
    'a POST to a GET-only Python service (501) is denied with its own status and page in %s mode',
    async (mode) => {
      adapter = await TestAdapter.start(
        configYaml(`  - name: r\n    service: { url: "${python.url}", path: /validateToken, mode: ${mode}, timeout: 2s }\n`),
      );
      for (const method of ['POST', 'PUT', 'DELETE', 'PATCH']) {
        const res = await adapter.client.check(checkRequest({ method, path: '/admin' }));
        expect(res.status).toEqual(expect.objectContaining({ code: 7, message: 'auth_denied' }));
        expect(res.denied_response?.status?.code).toBe(501);
        expect(res.denied_response?.body).toContain('Unsupported method');
        expect(res.ok_response).toBeUndefined();
      }
      // The same service still allows what it implements.
      const get = await adapter.client.check(checkRequest({ path: '/admin', headers: { authorization: 'Bearer good' } }));
      expect(summarize(get).code).toBe(0);
    },
  );

  test.each(['loose', 'strict'])('CONNECT is denied at once (405, invalid_request) in %s mode and never sent', async (mode) => {
    // A timeout far longer than the test's own: an answer that waited for it would fail the test.
    adapter = await TestAdapter.start(
      configYaml(`  - name: r\n    service: { url: "${python.url}", path: /validateToken, mode: ${mode}, timeout: 60s }\n`),
    );
    const before = python.handled.length;
    const res = await adapter.client.check(checkRequest({ method: 'CONNECT', path: '/tunnel' }), 5_000);
    expect(summarize(res)).toEqual({ code: 7, message: 'invalid_request', deniedStatus: 405, deniedHeaders: [], body: '' });
    expect(python.handled.length).toBe(before);
  });
});

describe("finding 2: the adapter's own bound never opens loose mode", () => {
  let auth: TestAuthService;
  const held: http.ServerResponse[] = [];
  beforeEach(async () => {
    held.length = 0;
    auth = await TestAuthService.start((_req, res) => held.push(res));
  });
  afterEach(async () => {
    for (const res of held) if (!res.writableEnded) res.writeHead(401).end();
    await auth.close();
  });

  test('with maxConcurrent reached, bad-token checks in loose mode are denied 503 overloaded, never allowed', async () => {
    adapter = await TestAdapter.start(configYaml(`  - name: r\n    service: { url: "${auth.url}", mode: loose, maxConcurrent: 2 }\n`));
    const bad = (): ReturnType<TestAdapter['client']['check']> =>
      adapter!.client.check(checkRequest({ headers: { authorization: 'Bearer bad' } }));
    const first = [bad(), bad()];
    await until('two calls held by the auth service', () => held.length === 2);
    const rest = await Promise.all([bad(), bad(), bad(), bad()]);
    for (const res of rest) {
      expect(summarize(res)).toEqual({
        code: 7,
        message: 'overloaded',
        deniedStatus: 503,
        deniedHeaders: [['retry-after', '1']],
        body: '',
      });
    }
    for (const res of held) res.writeHead(401).end();
    for (const res of await Promise.all(first)) expect(res.denied_response?.status?.code).toBe(401);
  });

  test('maxConcurrent bounds each rule on its own: a saturated rule leaves a rule on the same service its room', async () => {
    const rule = (name: string, header: string): string =>
      `  - name: ${name}\n    service: { url: "${auth.url}", path: /${name}, mode: loose, maxConcurrent: 1 }\n` +
      `    request: { tokenHeader: ${header} }\n`;
    adapter = await TestAdapter.start(configYaml(rule('a', 'authorization') + rule('b', 'x-api-key')));
    const a = adapter.client.check(checkRequest({ contextExtensions: { rule: 'a' } }));
    await until("rule a's call held", () => held.length === 1);
    const b = adapter.client.check(checkRequest({ contextExtensions: { rule: 'b' } }));
    await until("rule b's call to reach the service too", () => held.length === 2);
    for (const res of held) res.writeHead(200, { 'content-length': '0' }).end();
    expect((await a).status?.code ?? 0).toBe(0);
    expect(summarize(await b)).toEqual(expect.objectContaining({ code: 0, message: '' }));
    expect(auth.received.map((r) => r.url)).toEqual(['/a/', '/b/']);
  });
});
