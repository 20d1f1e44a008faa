import { Issues, parseConfigValue, type RuleSettings } from '../../src/config';
import type { AuthCaller, AuthCallResult } from '../../src/server/auth-client/auth-client';
import { exchange } from '../../src/server/auth-client/auth-exchange';
import { CircuitBreaker } from '../../src/server/auth-client/circuit-breaker';
import { ConcurrencyLimit } from '../../src/server/auth-client/concurrency-limit';
import type { AuthRequest } from '../../src/translate';

// What each way a call can end does to the pool's circuit breaker, through `exchange` with a
// fake auth client (the HTTP pool is tested against real sockets in
// test/reliability/breaker-and-retry.test.ts). Only the service not answering may open it.

const REQUEST: AuthRequest = { method: 'GET', path: '/x', headers: { host: 'a' }, body: undefined };

function settings(): RuleSettings {
  const issues = new Issues();
  const parsed = parseConfigValue({ rules: [{ name: 'r', service: { url: 'http://auth:8000' } }] }, issues);
  expect(issues.list).toEqual([]);
  return parsed!.rules[0];
}

const answer = (status: number): AuthCallResult => ({ ok: true, response: { status, headers: {}, body: Buffer.alloc(0) }, elapsedMs: 1 });
const failure = (cause: Extract<AuthCallResult, { ok: false }>['cause'], notAnswering: boolean): AuthCallResult => ({
  ok: false,
  cause,
  elapsedMs: 1,
  notAnswering,
});

/** A fake pool with a breaker of `failures: 2` on a clock that never moves. */
function pool(result: AuthCallResult): AuthCaller & { calls: number; breaker: CircuitBreaker } {
  const breaker = new CircuitBreaker({ failures: 2, openForMs: 60_000 }, () => 0);
  const fake = {
    calls: 0,
    breaker,
    call: (): Promise<AuthCallResult> => {
      fake.calls++;
      return Promise.resolve(result);
    },
  };
  return fake;
}

describe('exchange and the circuit breaker', () => {
  test.each<[string, AuthCallResult]>([
    ['a 5xx answer (the service is up)', answer(503)],
    ['a 501 answer (the request, not the service)', answer(501)],
    ['a 401 answer', answer(401)],
    ['a cancelled call (the caller went away)', failure('cancelled', false)],
    ['a request the HTTP client refused', failure('invalid_request', false)],
    ['the adapter failing itself (out of file descriptors, its pool closed)', failure('local', false)],
    ['a malformed answer', failure('protocol', false)],
    ['a reset after bytes of an answer', failure('reset', false)],
    ['a timeout while queued behind calls holding every connection', failure('timeout', false)],
  ])('%s never opens it', async (_name, result) => {
    const fake = pool(result);
    for (let i = 0; i < 10; i++) await exchange(settings(), fake, new ConcurrencyLimit(10), REQUEST, undefined);
    expect(fake.breaker.state).toBe('closed');
    expect(fake.calls).toBe(10);
  });

  test.each<[string, AuthCallResult]>([
    ['connection refused', failure('connect', true)],
    ['a reset before any byte', failure('reset', true)],
    ['a timeout on the wire', failure('timeout', true)],
  ])('%s, `failures` times in a row, opens it; later checks are answered without a call', async (_name, result) => {
    const fake = pool(result);
    for (let i = 0; i < 2; i++) await exchange(settings(), fake, new ConcurrencyLimit(10), REQUEST, undefined);
    expect(fake.breaker.state).toBe('open');
    const later = await exchange(settings(), fake, new ConcurrencyLimit(10), REQUEST, undefined);
    expect(later.outcome).toEqual({ kind: 'unavailable', cause: 'circuit_open' });
    expect(later.record).toEqual({ rule: 'r', unavailable: 'circuit_open', elapsedMs: 0 });
    expect(fake.calls).toBe(2);
  });

  test("the adapter's own bound (overloaded) neither counts nor costs a call", async () => {
    const fake = pool(failure('timeout', true));
    const full = new ConcurrencyLimit(1);
    expect(full.tryAcquire()).toBe(true);
    for (let i = 0; i < 10; i++) expect((await exchange(settings(), fake, full, REQUEST, undefined)).outcome).toBe('overloaded');
    expect(fake.breaker.state).toBe('closed');
    expect(fake.calls).toBe(0);
  });
});
