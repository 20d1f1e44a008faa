import type http from 'node:http';
import { parseConfigValue, Issues, type ServiceSettings } from '../../src/config';
import { AuthClient, type AuthCallResult } from '../../src/server/auth-client/auth-client';
import { Coalescer } from '../../src/server/auth-client/coalescer';
import { decisionKey } from '../../src/server/auth-client/decision-cache';
import type { AuthRequest } from '../../src/translate';
import { TestAuthService } from '../helpers/auth-service';

/** A promise settled from outside, so a test decides when the shared call ends. */
function deferred<T>(): { promise: Promise<T>; resolve: (v: T) => void; reject: (e: Error) => void } {
  let resolve!: (v: T) => void;
  let reject!: (e: Error) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

function serviceSettings(url: string): ServiceSettings {
  const issues = new Issues();
  const settings = parseConfigValue({ rules: [{ name: 'r', service: { url, timeout: '5s' } }] }, issues);
  expect(issues.list).toEqual([]);
  return settings!.rules[0].service;
}

const LIMITS = { timeoutMs: 5_000, maxConcurrent: 1024, maxBodyBytes: 1024 };

function authRequest(token: string): AuthRequest {
  return {
    method: 'GET',
    path: '/check/orders/1',
    headers: { host: 'shop.example.com', 'content-length': '0', authorization: `Bearer ${token}` },
    body: undefined,
  };
}

describe('Coalescer with a real auth service', () => {
  let service: TestAuthService;
  let client: AuthClient;
  const held: http.ServerResponse[] = [];

  beforeAll(async () => {
    service = await TestAuthService.start((_req, res) => held.push(res));
    client = new AuthClient('test', serviceSettings(service.url), undefined);
  });
  afterAll(async () => {
    await client.destroy();
    await service.close();
  });
  beforeEach(() => {
    service.received.length = 0;
    held.length = 0;
  });

  async function releaseWhen(count: number): Promise<void> {
    for (let i = 0; i < 200 && held.length < count; i++) await new Promise((r) => setTimeout(r, 10));
    expect(held.length).toBe(count);
    for (const res of held.splice(0)) {
      res.writeHead(200, { 'x-user-id': 'u1' });
      res.end();
    }
  }

  test('20 concurrent identical checks make 1 auth call and all get its answer', async () => {
    const coalescer = new Coalescer<AuthCallResult>(100);
    const req = authRequest('alice');
    const key = decisionKey(req);
    const calls = Array.from({ length: 20 }, () => coalescer.run(key, () => client.call(req, LIMITS)));
    expect(coalescer.size).toBe(1);
    await releaseWhen(1);
    const results = await Promise.all(calls);
    expect(service.received).toHaveLength(1);
    for (const r of results) {
      expect(r.ok && r.response.status).toBe(200);
      expect(r.ok && r.response.headers['x-user-id']).toBe('u1');
    }
    expect(coalescer.sharedCount).toBe(19);
    expect(coalescer.size).toBe(0);
  });

  test('different tokens are separate calls', async () => {
    const coalescer = new Coalescer<AuthCallResult>(100);
    const calls = ['alice', 'bob', 'alice', 'bob'].map((t) => {
      const req = authRequest(t);
      return coalescer.run(decisionKey(req), () => client.call(req, LIMITS));
    });
    await releaseWhen(2);
    await Promise.all(calls);
    expect(service.received.map((r) => r.headers.authorization).sort()).toEqual(['Bearer alice', 'Bearer bob']);
  });

  test('a settled call is not reused: the next identical check calls again', async () => {
    const coalescer = new Coalescer<AuthCallResult>(100);
    const req = authRequest('alice');
    const first = coalescer.run(decisionKey(req), () => client.call(req, LIMITS));
    await releaseWhen(1);
    await first;
    const second = coalescer.run(decisionKey(req), () => client.call(req, LIMITS));
    await releaseWhen(1);
    await second;
    expect(service.received).toHaveLength(2);
  });
});

describe('Coalescer failures and bounds', () => {
  test('a rejection reaches every waiting caller and is not retained', async () => {
    const coalescer = new Coalescer<string>(10);
    const shared = deferred<string>();
    let underlying = 0;
    const calls = Array.from({ length: 5 }, () =>
      coalescer.run('k', () => {
        underlying++;
        return shared.promise;
      }),
    );
    shared.reject(new Error('connection reset'));
    const settled = await Promise.allSettled(calls);
    expect(underlying).toBe(1);
    expect(settled.every((s) => s.status === 'rejected' && (s.reason as Error).message === 'connection reset')).toBe(true);
    expect(coalescer.size).toBe(0);
    await expect(coalescer.run('k', async () => 'fresh')).resolves.toBe('fresh');
  });

  test('an unreachable auth service: the unavailable result is shared once, then retried', async () => {
    // A listener that is closed at once leaves a port nobody answers on.
    const gone = await TestAuthService.start(() => undefined);
    const url = gone.url;
    await gone.close();
    const client = new AuthClient('gone', serviceSettings(url), undefined);
    try {
      const coalescer = new Coalescer<AuthCallResult>(10);
      const req = authRequest('alice');
      let underlying = 0;
      const call = (): Promise<AuthCallResult> => {
        underlying++;
        return client.call(req, LIMITS);
      };
      const results = await Promise.all(Array.from({ length: 5 }, () => coalescer.run('k', call)));
      expect(underlying).toBe(1);
      expect(results.every((r) => !r.ok && r.cause === 'connect')).toBe(true);
      await coalescer.run('k', call);
      expect(underlying).toBe(2);
    } finally {
      await client.destroy();
    }
  });

  test('past maxKeys distinct calls, callers run unshared instead of waiting', async () => {
    const coalescer = new Coalescer<number>(2);
    const pending = [deferred<number>(), deferred<number>()];
    let underlying = 0;
    void coalescer.run('a', () => (underlying++, pending[0].promise));
    void coalescer.run('b', () => (underlying++, pending[1].promise));
    const overflow = [coalescer.run('c', async () => (underlying++, 3)), coalescer.run('c', async () => (underlying++, 3))];
    expect(coalescer.size).toBe(2);
    await expect(Promise.all(overflow)).resolves.toEqual([3, 3]);
    expect(underlying).toBe(4);
    pending[0].resolve(1);
    pending[1].resolve(2);
    await Promise.all(pending.map((p) => p.promise));
    await new Promise((r) => setImmediate(r));
    expect(coalescer.size).toBe(0);
  });
});
