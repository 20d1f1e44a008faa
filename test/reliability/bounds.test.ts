import type http from 'node:http';
import { DEFAULTS, Issues, parseConfigText } from '../../src/config';
import { TestAdapter, configYaml } from '../helpers/adapter';
import { TestAuthService, reply } from '../helpers/auth-service';
import { checkRequest } from '../helpers/check-client';
import { authErrorCount, summarize } from './summary';
import { until } from '../helpers/until';

// Each resource bound end to end, through the real adapter and a real auth service on
// 127.0.0.1. The fault matrix (auth-faults.test.ts) covers response.maxBodyBytes and
// service.timeout against misbehaving services; bad-requests.test.ts the 64 KiB path.

let auth: TestAuthService;
let adapter: TestAdapter | undefined;

beforeEach(async () => {
  auth = await TestAuthService.start(reply(200));
});

afterEach(async () => {
  await adapter?.close();
  adapter = undefined;
  await auth.close();
});

async function metricsText(a: TestAdapter): Promise<string> {
  return (await fetch(`http://127.0.0.1:${a.server.adminPort}/metrics`)).text();
}

test('the documented defaults of every bound', () => {
  const issues = new Issues();
  const settings = parseConfigText('rules:\n  - name: r\n    service: { url: "http://127.0.0.1:1" }\n', issues);
  expect(issues.list).toEqual([]);
  const rule = settings?.rules[0];
  expect({
    timeoutMs: rule?.service.timeoutMs,
    maxConcurrent: rule?.service.maxConcurrent,
    connections: rule?.service.connections,
    maxHeaderBytes: rule?.request.maxHeaderBytes,
    bodyMaxBytes: rule?.request.body.maxBytes,
    maxBodyBytes: rule?.response.maxBodyBytes,
  }).toEqual({
    timeoutMs: 10_000,
    maxConcurrent: 1024,
    connections: 64,
    maxHeaderBytes: 65_536,
    bodyMaxBytes: 10_240,
    maxBodyBytes: 65_536,
  });
  expect(DEFAULTS.responseMaxBodyBytes).toBe(65_536);
});

describe('service.maxConcurrent', () => {
  // Once "unavailable", which loose mode let through; the adapter's own bound is never that.
  const overloaded = { code: 7, message: 'overloaded', deniedStatus: 503, deniedHeaders: [['retry-after', '1']], body: '' };
  test.each([
    ['loose', overloaded],
    ['strict', overloaded],
  ])(
    'a call past the bound is denied (503, overloaded) in %s mode, counted as overload; the held call still completes',
    async (mode, expected) => {
      const held: http.ServerResponse[] = [];
      auth.handler = (_req, res) => held.push(res);
      adapter = await TestAdapter.start(
        configYaml(`  - name: r\n    service: { url: "${auth.url}", mode: ${mode}, maxConcurrent: 1, statusOnError: 502 }\n`),
      );
      const first = adapter.client.check(checkRequest());
      await until('the first call to reach the auth service', () => held.length > 0, 20_000);
      expect(held).toHaveLength(1);

      expect(summarize(await adapter.client.check(checkRequest()))).toEqual(expected);
      expect(auth.received).toHaveLength(1);
      expect(authErrorCount(await metricsText(adapter), 'r', 'overload')).toBe(1);

      held[0].writeHead(200).end();
      expect((await first).status?.code ?? 0).toBe(0);
      auth.handler = reply(200);
      expect((await adapter.client.check(checkRequest())).status?.code ?? 0).toBe(0);
    },
  );
});

describe('request.maxHeaderBytes', () => {
  test('a token that pads the forwarded head past the bound is denied with 431 even in loose mode, and counted', async () => {
    adapter = await TestAdapter.start(
      configYaml(`  - name: r\n    service: { url: "${auth.url}", mode: loose }\n    request: { maxHeaderBytes: 1024 }\n`),
    );
    const res = await adapter.client.check(checkRequest({ headers: { authorization: `Bearer ${'t'.repeat(2048)}` } }));
    expect(summarize(res)).toEqual({ code: 7, message: 'request_too_large', deniedStatus: 431, deniedHeaders: [], body: '' });
    expect(auth.received).toHaveLength(0);
    expect(authErrorCount(await metricsText(adapter), 'r', 'request_too_large')).toBe(1);

    const ok = await adapter.client.check(checkRequest({ headers: { authorization: `Bearer ${'t'.repeat(512)}` } }));
    expect(ok.status?.code ?? 0).toBe(0);
    expect(auth.received).toHaveLength(1);
  });
});

describe('service.timeout', () => {
  test('covers the body too: a 200 whose body trickles in past the timeout is "unavailable" (timeout)', async () => {
    const timers: NodeJS.Timeout[] = [];
    auth.handler = (_req, res) => {
      res.writeHead(200, { 'content-length': '50' });
      // Each byte comes well within any idle timeout; only a bound on the whole call stops it.
      let sent = 0;
      const t = setInterval(() => {
        if (res.destroyed || sent++ >= 50) return clearInterval(t);
        res.write('x');
      }, 40);
      timers.push(t);
    };
    adapter = await TestAdapter.start(configYaml(`  - name: r\n    service: { url: "${auth.url}", timeout: 300ms }\n`));
    try {
      const res = await adapter.client.check(checkRequest());
      expect(res.status?.message).toBe('unavailable_strict');
      expect(authErrorCount(await metricsText(adapter), 'r', 'timeout')).toBe(1);
    } finally {
      for (const t of timers) clearInterval(t);
    }
  });
});
