import type http from 'node:http';
import { TestAdapter, configYaml } from '../helpers/adapter';
import { TestAuthService } from '../helpers/auth-service';
import { checkRequest, deniedHeaders, type DecodedCheckResponse } from '../helpers/check-client';
import { parsePrometheusText, sumOf } from '../helpers/prom-text';
import { until } from '../helpers/until';

// Findings 4 and 5 of issue 12: one visitor's answer is never another's, and the decision cache
// is bounded in bytes. Real gRPC server, real Node auth service that numbers its answers.

let auth: TestAuthService;
let adapter: TestAdapter | undefined;
let served = 0;
const held: http.ServerResponse[] = [];

/** A login redirect carrying a fresh OAuth state cookie, as an OIDC auth service answers anonymous visitors. */
function loginRedirect(res: http.ServerResponse): void {
  served++;
  res.writeHead(302, { location: '/login', 'set-cookie': `oauth_state=s${served}`, 'cache-control': 'private' }).end();
}

beforeEach(async () => {
  served = 0;
  held.length = 0;
  auth = await TestAuthService.start((_req, res) => loginRedirect(res));
});
afterEach(async () => {
  for (const res of held) if (!res.writableEnded) res.writeHead(401).end();
  await adapter?.close();
  adapter = undefined;
  await auth.close();
});

function cookieOf(res: DecodedCheckResponse): string | undefined {
  return deniedHeaders(res).find(([name]) => name === 'set-cookie')?.[1];
}

const SHARING = '    cache: { ttl: 60s }\n    coalesce: true\n';

describe('finding 4: Set-Cookie and private answers are never shared', () => {
  test('three anonymous visitors in turn each get their own OAuth state cookie (not from the cache)', async () => {
    adapter = await TestAdapter.start(configYaml(`  - name: r\n    service: { url: "${auth.url}" }\n${SHARING}`));
    const cookies = [];
    for (let i = 0; i < 3; i++) cookies.push(cookieOf(await adapter.client.check(checkRequest({ path: '/account' }))));
    expect(cookies).toEqual(['oauth_state=s1', 'oauth_state=s2', 'oauth_state=s3']);
    expect(auth.received).toHaveLength(3);
  });

  test('three concurrent anonymous visitors are not coalesced: each call reaches the service', async () => {
    auth.handler = (_req, res) => held.push(res);
    adapter = await TestAdapter.start(configYaml(`  - name: r\n    service: { url: "${auth.url}" }\n${SHARING}`));
    const checks = [0, 1, 2].map(() => adapter!.client.check(checkRequest({ path: '/account' })));
    await until('three calls at the auth service', () => held.length === 3);
    for (const res of held) loginRedirect(res);
    const cookies = (await Promise.all(checks)).map(cookieOf).sort();
    expect(cookies).toEqual(['oauth_state=s1', 'oauth_state=s2', 'oauth_state=s3']);
  });

  test('a coalesced answer that sets a cookie is not handed to the callers that joined it', async () => {
    auth.handler = (_req, res) => held.push(res);
    adapter = await TestAdapter.start(configYaml(`  - name: r\n    service: { url: "${auth.url}" }\n    coalesce: true\n`));
    const token = { authorization: 'Bearer same' };
    const checks = [0, 1].map(() => adapter!.client.check(checkRequest({ headers: token })));
    // Both checks are in the adapter before the one shared call is answered.
    await until('the shared call at the auth service', () => held.length === 1);
    await until('both checks counted in flight', () => adapter!.server.checksInFlight === 2);
    loginRedirect(held[0]);
    await until("the joined caller's own call", () => held.length === 2);
    loginRedirect(held[1]);
    const cookies = (await Promise.all(checks)).map(cookieOf).sort();
    expect(cookies).toEqual(['oauth_state=s1', 'oauth_state=s2']);
  });

  test('Cache-Control: private is stored only for a request that carries a token', async () => {
    auth.handler = (_req, res) => {
      served++;
      res.writeHead(403, { 'cache-control': 'private' }).end(`page ${served}`);
    };
    adapter = await TestAdapter.start(configYaml(`  - name: r\n    service: { url: "${auth.url}" }\n    cache: { ttl: 60s }\n`));
    await adapter.client.check(checkRequest());
    await adapter.client.check(checkRequest());
    expect(auth.received).toHaveLength(2);
    const withToken = { headers: { authorization: 'Bearer t' } };
    await adapter.client.check(checkRequest(withToken));
    expect((await adapter.client.check(checkRequest(withToken))).denied_response?.body).toBe('page 3');
    expect(auth.received).toHaveLength(3);
  });
});

describe('finding 5: the cache is bounded in bytes', () => {
  test('60 KB denial pages for distinct anonymous requests stay within cache.maxBytes, least recently used evicted', async () => {
    const page = 'x'.repeat(60_000);
    auth.handler = (_req, res) => res.writeHead(403, { 'content-type': 'text/html' }).end(page);
    const maxBytes = 256 * 1024;
    adapter = await TestAdapter.start(
      configYaml(
        `  - name: r\n    service: { url: "${auth.url}" }\n    response: { maxBodyBytes: 65536 }\n    cache: { ttl: 60s, maxBytes: ${maxBytes} }\n`,
      ),
    );
    for (let i = 0; i < 20; i++) await adapter.client.check(checkRequest({ path: `/p/${i}` }));
    const scrape = async (): Promise<number> =>
      sumOf(
        parsePrometheusText(await (await fetch(`http://127.0.0.1:${adapter!.server.adminPort}/metrics`)).text()),
        'ext_authz_cache_bytes',
        {
          rule: 'r',
        },
      );
    const bytes = await scrape();
    expect(bytes).toBeGreaterThan(3 * 60_000);
    expect(bytes).toBeLessThanOrEqual(maxBytes);

    expect(auth.received).toHaveLength(20);
    await adapter.client.check(checkRequest({ path: '/p/19' }));
    expect(auth.received).toHaveLength(20);
    await adapter.client.check(checkRequest({ path: '/p/0' }));
    expect(auth.received).toHaveLength(21);
  });
});
