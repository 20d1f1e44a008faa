import { DecisionCache, decisionKey, freshnessMs } from '../../src/server/auth-client/decision-cache';
import type { AuthOutcome, AuthRequest } from '../../src/translate';

/** A settable monotonic clock, so expiry is tested without waiting. */
function clock(): { now: () => number; advance: (ms: number) => void } {
  let t = 1_000;
  return { now: () => t, advance: (ms) => (t += ms) };
}

function request(token: string, extra: Record<string, string> = {}): AuthRequest {
  return {
    method: 'GET',
    path: '/validateToken/orders/7?expand=items',
    headers: { host: 'shop.example.com', 'content-length': '0', authorization: `Bearer ${token}`, ...extra },
    body: undefined,
  };
}

function allow(user: string): AuthOutcome {
  return { kind: 'allow', headersToSet: [['x-user-id', user]], headersToRemove: [] };
}

const DENY: AuthOutcome = {
  kind: 'deny',
  reason: 'auth_denied',
  status: 401,
  headers: [['www-authenticate', 'Bearer']],
  body: Buffer.from('token expired'),
};

describe('decisionKey', () => {
  const base = request('alice-token');
  const differing: Array<[string, AuthRequest]> = [
    ['token', request('bob-token')],
    ['method', { ...base, method: 'POST' }],
    ['path', { ...base, path: '/validateToken/orders/8?expand=items' }],
    ['query', { ...base, path: '/validateToken/orders/7?expand=none' }],
    ['host', { ...base, headers: { ...base.headers, host: 'admin.example.com' } }],
    ['an allowed header', request('alice-token', { 'x-tenant': 'a' })],
    ['body', { ...base, body: Buffer.from('{"a":1}') }],
    ['empty body vs none', { ...base, body: Buffer.alloc(0) }],
    ['header value vs name boundary', { ...base, headers: { ...base.headers, authorization: 'Bearer alice-tokenx' } }],
  ];
  test.each(differing)('changes with the %s', (_what, other) => {
    expect(decisionKey(other)).not.toBe(decisionKey(base));
  });

  test('ignores header order and trace-context headers, which differ on every request', () => {
    const reordered: AuthRequest = {
      ...base,
      headers: {
        authorization: base.headers.authorization,
        'x-request-id': 'f0e1',
        traceparent: '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01',
        'x-b3-traceid': 'abc',
        host: base.headers.host,
        'content-length': '0',
      },
    };
    expect(decisionKey(reordered)).toBe(decisionKey(base));
  });

  test('does not contain the token in any readable form', () => {
    const key = decisionKey(request('s3cr3t-token-value'));
    expect(key).not.toContain('s3cr3t');
    expect(Buffer.from(key, 'base64').toString('latin1')).not.toContain('s3cr3t');
    expect(key).toHaveLength(44);
  });
});

describe('freshnessMs', () => {
  const cases: Array<[string | string[] | undefined, number]> = [
    [undefined, 30_000],
    ['public', 30_000],
    ['private', 30_000],
    ['max-age=5', 5_000],
    ['max-age=3600', 30_000],
    ['MAX-AGE = 5', 5_000],
    ['max-age="5"', 5_000],
    ['max-age=0', 0],
    ['max-age=soon', 0],
    ['max-age', 0],
    ['max-age=10, s-maxage=2', 2_000],
    [['max-age=10', 'max-age=4'], 4_000],
    ['no-store', 0],
    ['max-age=10, No-Store', 0],
    ['no-cache', 0],
    ['no-cache="set-cookie"', 0],
    ['private, max-age=7', 7_000],
  ];
  test.each(cases)('Cache-Control %j under a 30s ttl -> %d ms', (header, expected) => {
    expect(freshnessMs(header, 30_000)).toBe(expected);
  });
});

describe('DecisionCache', () => {
  test('a stored allow is a hit for the same request until the ttl passes', () => {
    const c = clock();
    const cache = new DecisionCache({ ttlMs: 30_000, maxEntries: 10 }, c.now);
    const key = decisionKey(request('alice'));
    expect(cache.get(key)).toBeUndefined();
    expect(cache.set(key, allow('alice'), undefined)).toBe(true);
    expect(cache.get(key)).toEqual(allow('alice'));
    c.advance(29_999);
    expect(cache.get(key)).toEqual(allow('alice'));
    c.advance(1);
    expect(cache.get(key)).toBeUndefined();
    expect(cache.size).toBe(0);
  });

  test('a denial is cached with its status, headers and body', () => {
    const cache = new DecisionCache({ ttlMs: 30_000, maxEntries: 10 }, clock().now);
    const key = decisionKey(request('expired'));
    cache.set(key, DENY, undefined);
    expect(cache.get(key)).toEqual(DENY);
  });

  test("max-age shorter than the ttl expires the entry at the service's word", () => {
    const c = clock();
    const cache = new DecisionCache({ ttlMs: 30_000, maxEntries: 10 }, c.now);
    const key = decisionKey(request('alice'));
    cache.set(key, allow('alice'), 'private, max-age=2');
    c.advance(1_999);
    expect(cache.get(key)).toBeDefined();
    c.advance(1);
    expect(cache.get(key)).toBeUndefined();
  });

  test.each(['no-store', 'no-cache', 'max-age=0'])('Cache-Control: %s is not stored', (header) => {
    const cache = new DecisionCache({ ttlMs: 30_000, maxEntries: 10 }, clock().now);
    const key = decisionKey(request('alice'));
    expect(cache.set(key, allow('alice'), header)).toBe(false);
    expect(cache.get(key)).toBeUndefined();
  });

  test('a no-store answer replaces nothing: an earlier entry stays until it expires', () => {
    const cache = new DecisionCache({ ttlMs: 30_000, maxEntries: 10 }, clock().now);
    const key = decisionKey(request('alice'));
    cache.set(key, allow('alice'), undefined);
    cache.set(key, DENY, 'no-store');
    expect(cache.get(key)).toEqual(allow('alice'));
  });

  test.each<AuthOutcome>([
    { kind: 'unavailable', cause: '5xx', status: 503 },
    { kind: 'unavailable', cause: 'timeout' },
    { kind: 'unavailable', cause: 'connect' },
  ])('an unavailable outcome (%j) is never cached', (outcome) => {
    const cache = new DecisionCache({ ttlMs: 30_000, maxEntries: 10 }, clock().now);
    const key = decisionKey(request('alice'));
    expect(cache.set(key, outcome, 'max-age=60')).toBe(false);
    expect(cache.get(key)).toBeUndefined();
    expect(cache.size).toBe(0);
  });

  test('two tokens never share an entry', () => {
    const cache = new DecisionCache({ ttlMs: 30_000, maxEntries: 10 }, clock().now);
    const alice = decisionKey(request('alice'));
    const bob = decisionKey(request('bob'));
    cache.set(alice, allow('alice'), undefined);
    expect(cache.get(bob)).toBeUndefined();
    cache.set(bob, DENY, undefined);
    expect(cache.get(alice)).toEqual(allow('alice'));
    expect(cache.get(bob)).toEqual(DENY);
  });

  test('holds at most maxEntries, evicting the least recently used', () => {
    const cache = new DecisionCache({ ttlMs: 30_000, maxEntries: 3 }, clock().now);
    const keys = ['t0', 't1', 't2', 't3', 't4'].map((t) => decisionKey(request(t)));
    cache.set(keys[0], allow('0'), undefined);
    cache.set(keys[1], allow('1'), undefined);
    cache.set(keys[2], allow('2'), undefined);
    expect(cache.get(keys[0])).toBeDefined(); // t0 is now the most recently used
    cache.set(keys[3], allow('3'), undefined); // evicts t1
    expect(cache.size).toBe(3);
    expect(cache.get(keys[1])).toBeUndefined();
    cache.set(keys[4], allow('4'), undefined); // evicts t2
    expect(cache.size).toBe(3);
    expect(cache.get(keys[2])).toBeUndefined();
    expect(cache.get(keys[0])).toEqual(allow('0'));
    expect(cache.get(keys[3])).toEqual(allow('3'));
    expect(cache.get(keys[4])).toEqual(allow('4'));
  });

  test('stays bounded under many distinct tokens', () => {
    const cache = new DecisionCache({ ttlMs: 30_000, maxEntries: 100 }, clock().now);
    for (let i = 0; i < 1_000; i++) cache.set(decisionKey(request(`t${i}`)), allow(String(i)), undefined);
    expect(cache.size).toBe(100);
    expect(cache.get(decisionKey(request('t999')))).toEqual(allow('999'));
    expect(cache.get(decisionKey(request('t899')))).toBeUndefined();
  });

  test('a denial body that views a larger buffer is copied, not kept with its buffer', () => {
    const cache = new DecisionCache({ ttlMs: 30_000, maxEntries: 10 }, clock().now);
    const socketBuffer = Buffer.alloc(64 * 1024, 0x61);
    const body = socketBuffer.subarray(0, 5);
    const key = decisionKey(request('x'));
    cache.set(key, { ...(DENY as Extract<AuthOutcome, { kind: 'deny' }>), body }, undefined);
    const hit = cache.get(key);
    expect(hit?.kind).toBe('deny');
    const kept = (hit as Extract<AuthOutcome, { kind: 'deny' }>).body;
    expect(kept.toString()).toBe('aaaaa');
    expect(kept.buffer.byteLength).toBeLessThan(socketBuffer.length);
  });

  test('maxBytes: large denials evict the least recently used first, bytes stay within the bound, and bytes are given back', () => {
    const page = (n: number): AuthOutcome => ({ ...(DENY as Extract<AuthOutcome, { kind: 'deny' }>), body: Buffer.alloc(10_000, n) });
    const cache = new DecisionCache({ ttlMs: 30_000, maxEntries: 1_000, maxBytes: 35_000 }, clock().now);
    const keys = [0, 1, 2, 3].map((i) => decisionKey(request(`t${i}`)));
    cache.set(keys[0], page(0), undefined);
    cache.set(keys[1], page(1), undefined);
    cache.set(keys[2], page(2), undefined);
    expect(cache.get(keys[0])).toBeDefined(); // now the most recently used
    cache.set(keys[3], page(3), undefined);
    expect(cache.size).toBe(3);
    expect(cache.get(keys[1])).toBeUndefined();
    expect(cache.bytes).toBeGreaterThan(30_000);
    expect(cache.bytes).toBeLessThanOrEqual(35_000);
    cache.clear();
    expect(cache.bytes).toBe(0);
  });

  test('maxBytes: an answer larger than the whole bound is not stored and evicts nothing', () => {
    const cache = new DecisionCache({ ttlMs: 30_000, maxEntries: 10, maxBytes: 65_536 }, clock().now);
    const small = decisionKey(request('small'));
    cache.set(small, DENY, undefined);
    const big = { ...(DENY as Extract<AuthOutcome, { kind: 'deny' }>), body: Buffer.alloc(70_000) };
    expect(cache.set(decisionKey(request('big')), big, undefined)).toBe(false);
    expect(cache.get(small)).toEqual(DENY);
  });

  test('an expired entry gives its bytes back when it is found expired', () => {
    const c = clock();
    const cache = new DecisionCache({ ttlMs: 1_000, maxEntries: 10 }, c.now);
    const key = decisionKey(request('x'));
    cache.set(key, DENY, undefined);
    expect(cache.bytes).toBeGreaterThan(0);
    c.advance(1_000);
    expect(cache.get(key)).toBeUndefined();
    expect(cache.bytes).toBe(0);
  });
});
