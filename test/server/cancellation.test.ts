import * as grpc from '@grpc/grpc-js';
import type http from 'node:http';
import { Issues, parseConfigValue } from '../../src/config';
import { AuthClient, type AuthCallResult } from '../../src/server/auth-client/auth-client';
import type { AuthRequest } from '../../src/translate';
import { TestAdapter, configYaml, ruleYaml } from '../helpers/adapter';
import { TestAuthService } from '../helpers/auth-service';
import { checkRequest, type CheckClient, type DecodedCheckResponse } from '../helpers/check-client';
import { scrape, sumOf, type Sample } from '../helpers/prom-text';
import { until } from '../helpers/until';

// No test here waits a set time: each one cancels or releases at a point it has observed (the
// auth service holding a request, a caller having joined a shared call), so a loaded machine
// only makes them slower, never wrong.

/** A Check the test can cancel, as Envoy does when its own timeout passes or the client leaves. */
function cancellableCheck(client: CheckClient, req: unknown): { response: Promise<DecodedCheckResponse>; cancel: () => void } {
  let call!: grpc.ClientUnaryCall;
  const response = new Promise<DecodedCheckResponse>((resolve, reject) => {
    // The helper types Check as returning nothing; grpc-js returns the call, which can be cancelled.
    call = client.raw.Check(req, {}, (err, res) => (err ? reject(err) : resolve(res))) as unknown as grpc.ClientUnaryCall;
  });
  return { response, cancel: () => call.cancel() };
}

function checksByReason(samples: readonly Sample[]): string[] {
  return samples
    .filter((s) => s.name === 'ext_authz_checks_total')
    .map((s) => `${s.labels.rule} ${s.labels.decision} ${s.labels.reason} ${s.value}`)
    .sort();
}

/**
 * Envoy gives up on a check (its own timeout, or the client went away): the auth call made for it
 * must stop too, long before `service.timeout`, and free its place in the pool.
 */
describe('a check whose caller gives up', () => {
  let service: TestAuthService;
  let adapter: TestAdapter;
  const held: http.ServerResponse[] = [];
  const closedEarly: http.ServerResponse[] = [];

  beforeAll(async () => {
    service = await TestAuthService.start((_req, res) => {
      held.push(res);
      res.on('close', () => {
        if (!res.writableEnded) closedEarly.push(res);
      });
    });
    // A 10 s service timeout: anything that ends the call within the test's few seconds is the
    // cancellation. Loose, so that counting a cancellation as the service's failure would let it through.
    const rule = ruleYaml('orders', service.url).replace('timeout: 2s', 'timeout: 10s, mode: loose');
    adapter = await TestAdapter.start(configYaml(rule));
  });
  afterAll(async () => {
    await adapter.close();
    await service.close();
  });

  test('ends the auth call it was waiting on, and the next check gets a fresh one', async () => {
    const check = cancellableCheck(adapter.client, checkRequest({ path: '/orders/1', headers: { authorization: 'Bearer a' } }));
    await until('the auth service to hold the request', () => held.length === 1);
    const cancelledAt = Date.now();
    check.cancel();
    await expect(check.response).rejects.toMatchObject({ code: grpc.status.CANCELLED });
    await until('the auth service to see its request closed', () => closedEarly.length === 1, 5_000);
    expect(Date.now() - cancelledAt).toBeLessThan(5_000);

    service.handler = (_req, res) => res.writeHead(200, { 'x-user-id': 'u1' }).end();
    const res = await adapter.client.check(checkRequest({ path: '/orders/2', headers: { authorization: 'Bearer b' } }));
    expect(res.status?.code).toBe(0);
    expect(service.received).toHaveLength(2);
  });

  test('is counted as cancelled, never as the auth service failing, even under a loose rule', async () => {
    const samples = await scrape(adapter.server.adminPort);
    expect(checksByReason(samples)).toEqual(['orders allowed auth_allowed 1', 'orders denied cancelled 1']);
    expect(samples.filter((s) => s.name === 'ext_authz_auth_service_errors_total')).toEqual([]);
  });
});

/**
 * With `coalesce: true`, identical checks share one auth call. Each caller, the one that started
 * the call included, must be free to leave on its own cancellation, while the call goes on for
 * the callers still waiting.
 */
describe('a caller that leaves a shared (coalesced) auth call', () => {
  let service: TestAuthService;
  let adapter: TestAdapter;
  const held: http.ServerResponse[] = [];

  beforeAll(async () => {
    service = await TestAuthService.start((_req, res) => held.push(res));
    const rule = ruleYaml('orders', service.url, '    coalesce: true\n').replace('timeout: 2s', 'timeout: 10s');
    adapter = await TestAdapter.start(configYaml(rule));
  });
  afterAll(async () => {
    await adapter.close();
    await service.close();
  });

  test('is answered cancelled at once; the shared call goes on and answers the caller that stayed', async () => {
    const req = checkRequest({ path: '/orders/1', headers: { authorization: 'Bearer same' } });
    const [leader, joiner, stayer] = [0, 1, 2].map(() => cancellableCheck(adapter.client, req));
    const coalescer = adapter.server.current.rules[0].coalescer!;
    await until('two callers to join the first one', () => coalescer.sharedCount === 2 && held.length === 1);

    leader.cancel();
    joiner.cancel();
    await expect(leader.response).rejects.toMatchObject({ code: grpc.status.CANCELLED });
    await expect(joiner.response).rejects.toMatchObject({ code: grpc.status.CANCELLED });
    // Both left while the service still holds the one call: they did not wait for its answer.
    await until('both cancellations to be counted', async () => {
      const samples = await scrape(adapter.server.adminPort);
      return sumOf(samples, 'ext_authz_checks_total', { reason: 'cancelled' }) === 2;
    });
    expect(held).toHaveLength(1);
    expect(held[0].destroyed).toBe(false);

    held[0].writeHead(200).end();
    expect((await stayer.response).status?.code).toBe(0);
    expect(service.received).toHaveLength(1);
    expect(checksByReason(await scrape(adapter.server.adminPort))).toEqual(['orders allowed auth_allowed 1', 'orders denied cancelled 2']);
  });
});

/**
 * `service.timeout` covers the wait for a pooled connection. A call that timed out in that queue
 * has its answer already; its request must not reach the service when a connection frees up.
 * Tested on the pool itself, where each call's limits are its own: the call holding the only
 * connection has a long timeout, so the queued one times out while the connection is still busy.
 */
describe('an auth call that times out waiting for a pooled connection', () => {
  let service: TestAuthService;
  let client: AuthClient;
  const held: http.ServerResponse[] = [];

  beforeAll(async () => {
    service = await TestAuthService.start((_req, res) => held.push(res));
    const issues = new Issues();
    const settings = parseConfigValue({ rules: [{ name: 'r', service: { url: service.url, connections: 1 } }] }, issues);
    expect(issues.list).toEqual([]);
    client = new AuthClient('queue', settings!.rules[0].service, undefined);
  });
  afterAll(async () => {
    await client.destroy();
    await service.close();
  });

  function request(path: string): AuthRequest {
    return { method: 'GET', path, headers: { host: 'shop.example.com', authorization: 'Bearer a' }, body: undefined };
  }
  const LONG = { timeoutMs: 10_000, maxConcurrent: 16, maxBodyBytes: 1024 };
  const SHORT = { ...LONG, timeoutMs: 300 };

  test('ends at its timeout while the connection is still busy, and its request is never sent', async () => {
    const first = client.call(request('/validateToken/orders/1'), LONG);
    await until('the auth service to hold the first request', () => held.length === 1);
    const queued: AuthCallResult = await client.call(request('/validateToken/orders/2'), SHORT);
    expect(queued).toMatchObject({ ok: false, cause: 'timeout' });
    // It ended on its own timeout: the connection it waited for is still taken.
    expect(held[0].writableEnded).toBe(false);

    held[0].writeHead(200).end();
    expect(await first).toMatchObject({ ok: true, response: { status: 200 } });
    // The pool is first-in first-out on its one connection: had the timed-out request still been
    // live, it would reach the service before this one.
    const next = client.call(request('/validateToken/orders/3'), LONG);
    await until('the auth service to get the next request', () => held.length === 2);
    held[1].writeHead(200).end();
    await next;
    expect(service.received.map((r) => r.url)).toEqual(['/validateToken/orders/1', '/validateToken/orders/3']);
  });
});
