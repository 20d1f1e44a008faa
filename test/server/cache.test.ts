import { TestAdapter, configYaml } from '../helpers/adapter';
import { TestAuthService, type AuthHandler } from '../helpers/auth-service';
import { checkRequest, okHeaders } from '../helpers/check-client';
import { until } from '../helpers/until';
import { scrape, sumOf } from '../helpers/prom-text';

// The decision cache and coalescing through the real server and a real auth service.

let auth: TestAuthService;
let adapter: TestAdapter | undefined;

/** Allows "Bearer good-*" tokens, naming the user after the token; denies the rest. */
const byToken: AuthHandler = (req, res) => {
  const token = String(req.headers.authorization ?? '');
  if (token.startsWith('Bearer good-')) {
    res.writeHead(200, { 'x-user-id': token.slice('Bearer good-'.length) });
    res.end();
  } else {
    res.writeHead(401, { 'content-type': 'text/plain' });
    res.end(`bad token ${auth.received.length}`);
  }
};

beforeEach(async () => {
  auth = await TestAuthService.start(byToken);
});

afterEach(async () => {
  await adapter?.close();
  adapter = undefined;
  await auth.close();
});

function start(ruleExtra: string, clock?: () => number): Promise<TestAdapter> {
  return TestAdapter.start(
    configYaml(`  - name: c\n    service: { url: "${auth.url}" }\n    response: { allowedHeaders: [x-user-id] }\n${ruleExtra}`),
    { clock },
  ).then((a) => (adapter = a));
}

/** Holds every auth request until the test releases it, answering as `byToken` then. */
function holdRequests(): { held: Array<() => void> } {
  const held: Array<() => void> = [];
  auth.handler = (req, res) => held.push(() => byToken(req, res));
  return { held };
}

const as = (token: string, path = '/orders') => checkRequest({ path, headers: { authorization: `Bearer ${token}` } });

describe('decision cache', () => {
  test('an identical check is answered from the cache, allow and deny alike', async () => {
    const a = await start('    cache: { ttl: 30s, maxEntries: 100 }\n');
    const first = await a.client.check(as('good-alice'));
    const second = await a.client.check(as('good-alice'));
    expect(okHeaders(second)).toEqual({ 'x-user-id': 'alice' });
    expect(second).toEqual(first);
    const denied1 = await a.client.check(as('forged'));
    const denied2 = await a.client.check(as('forged'));
    expect(denied2.denied_response?.body).toBe(denied1.denied_response?.body);
    expect(auth.received).toHaveLength(2);
  });

  test('two tokens never share an entry', async () => {
    const a = await start('    cache: { ttl: 30s }\n');
    expect(okHeaders(await a.client.check(as('good-alice')))).toEqual({ 'x-user-id': 'alice' });
    expect(okHeaders(await a.client.check(as('good-bob')))).toEqual({ 'x-user-id': 'bob' });
    expect((await a.client.check(as('evil'))).denied_response?.status?.code).toBe(401);
    expect(okHeaders(await a.client.check(as('good-alice')))).toEqual({ 'x-user-id': 'alice' });
    expect(auth.received).toHaveLength(3);
  });

  test('a different path is a different entry', async () => {
    const a = await start('    cache: { ttl: 30s }\n');
    await a.client.check(as('good-alice', '/a'));
    await a.client.check(as('good-alice', '/b'));
    expect(auth.received.map((r) => r.url)).toEqual(['/a', '/b']);
  });

  test('entries expire after the ttl', async () => {
    // The caches' clock is the test's: time passes when the test says so, however loaded the machine.
    let now = 0;
    const a = await start('    cache: { ttl: 150ms }\n', () => now);
    await a.client.check(as('good-alice'));
    now = 149;
    await a.client.check(as('good-alice'));
    expect(auth.received).toHaveLength(1);
    now = 150;
    await a.client.check(as('good-alice'));
    expect(auth.received).toHaveLength(2);
  });

  test('Cache-Control: no-store and max-age=0 are honoured', async () => {
    const a = await start('    cache: { ttl: 30s }\n');
    for (const cacheControl of ['no-store', 'max-age=0']) {
      auth.handler = (_req, res) => {
        res.writeHead(200, { 'cache-control': cacheControl, 'x-user-id': 'u' });
        res.end();
      };
      await a.client.check(as(`good-${cacheControl}`));
      await a.client.check(as(`good-${cacheControl}`));
    }
    expect(auth.received).toHaveLength(4);
  });

  test('an unavailable service is never cached', async () => {
    auth.handler = (_req, res) => {
      res.writeHead(503);
      res.end();
    };
    const a = await start('    cache: { ttl: 30s }\n');
    await a.client.check(as('good-alice'));
    auth.handler = byToken;
    const res = await a.client.check(as('good-alice'));
    expect(okHeaders(res)).toEqual({ 'x-user-id': 'alice' });
    expect(auth.received).toHaveLength(2);
  });

  test('a cache hit is counted as reused, not as an auth service call', async () => {
    const a = await start('    cache: { ttl: 30s }\n');
    for (let i = 0; i < 3; i++) expect(okHeaders(await a.client.check(as('good-alice')))).toEqual({ 'x-user-id': 'alice' });
    const samples = await scrape(a.server.adminPort);
    expect(auth.received).toHaveLength(1);
    expect(sumOf(samples, 'ext_authz_auth_service_request_duration_seconds_count', { rule: 'c' })).toBe(1);
    expect(sumOf(samples, 'ext_authz_auth_service_request_duration_seconds_count', { status_class: 'error' })).toBe(0);
    expect(sumOf(samples, 'ext_authz_auth_decisions_reused_total', { rule: 'c', source: 'cache' })).toBe(2);
    expect(sumOf(samples, 'ext_authz_checks_total', { rule: 'c', reason: 'auth_allowed' })).toBe(3);
  });
});

describe('coalescing', () => {
  test('N concurrent identical checks make one auth call and all get its answer', async () => {
    const N = 10;
    // The answer is held until every other check has joined the one call.
    const { held } = holdRequests();
    const a = await start('    coalesce: true\n');
    const pending = Promise.all(Array.from({ length: N }, () => a.client.check(as('good-carol'))));
    const coalescer = a.server.current.rules[0].coalescer!;
    await until('every check to join the one call', () => held.length === 1 && coalescer.sharedCount === N - 1);
    held[0]();
    const answers = await pending;
    expect(auth.received).toHaveLength(1);
    for (const res of answers) expect(okHeaders(res)).toEqual({ 'x-user-id': 'carol' });
  });

  test('different tokens are not coalesced', async () => {
    // Both are held until both reached the service: in flight together, yet not shared.
    const { held } = holdRequests();
    const a = await start('    coalesce: true\n');
    const pending = Promise.all([a.client.check(as('good-x')), a.client.check(as('good-y'))]);
    await until('both calls to reach the auth service', () => held.length === 2);
    for (const release of held) release();
    const [x, y] = await pending;
    expect(okHeaders(x)).toEqual({ 'x-user-id': 'x' });
    expect(okHeaders(y)).toEqual({ 'x-user-id': 'y' });
    expect(auth.received).toHaveLength(2);
  });
});
