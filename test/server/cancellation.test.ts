import * as grpc from '@grpc/grpc-js';
import type http from 'node:http';
import { TestAdapter, configYaml, ruleYaml } from '../helpers/adapter';
import { reply, TestAuthService } from '../helpers/auth-service';
import { checkRequest } from '../helpers/check-client';
import { until } from '../helpers/until';

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
    // A 10 s service timeout: anything that ends the call within the test's few seconds is the cancellation.
    const rule = ruleYaml('orders', service.url).replace('timeout: 2s', 'timeout: 10s');
    adapter = await TestAdapter.start(configYaml(rule));
  });
  afterAll(async () => {
    await adapter.close();
    await service.close();
  });

  test('ends the auth call it was waiting on, and the next check gets a fresh one', async () => {
    const started = Date.now();
    await expect(
      adapter.client.check(checkRequest({ path: '/orders/1', headers: { authorization: 'Bearer a' } }), 300),
    ).rejects.toMatchObject({ code: grpc.status.DEADLINE_EXCEEDED });
    expect(held).toHaveLength(1);
    await until('the auth service to see its request closed', () => closedEarly.length === 1, 5_000);
    expect(Date.now() - started).toBeLessThan(5_000);

    service.handler = reply(200, { 'x-user-id': 'u1' });
    const res = await adapter.client.check(checkRequest({ path: '/orders/2', headers: { authorization: 'Bearer b' } }));
    expect(res.status?.code).toBe(0);
    expect(service.received).toHaveLength(2);
  });
});

/**
 * `service.timeout` covers the wait for a pooled connection. A check that timed out in that queue
 * has its answer already; its request must not reach the service when a connection frees up.
 */
describe('a check that times out waiting for a pooled connection', () => {
  let service: TestAuthService;
  let adapter: TestAdapter;

  beforeAll(async () => {
    service = await TestAuthService.start(() => undefined);
    const rule = ruleYaml('orders', service.url)
      .replace('timeout: 2s', 'timeout: 300ms, connections: 1')
      .replace('path: /validateToken', 'path: /validateToken, mode: strict');
    adapter = await TestAdapter.start(configYaml(rule));
  });
  afterAll(async () => {
    await adapter.close();
    await service.close();
  });

  test('is denied at the timeout, and its request is never sent', async () => {
    const started = Date.now();
    const [first, queued] = await Promise.all([
      adapter.client.check(checkRequest({ path: '/orders/1', headers: { authorization: 'Bearer a' } })),
      adapter.client.check(checkRequest({ path: '/orders/2', headers: { authorization: 'Bearer b' } })),
    ]);
    for (const res of [first, queued]) {
      expect(res.status?.code).toBe(grpc.status.PERMISSION_DENIED);
      expect(res.denied_response?.status?.code).toBe(403);
    }
    expect(Date.now() - started).toBeLessThan(2_000);
    // Long enough for the pool to reconnect and start the queued request, were it still live.
    await new Promise((r) => setTimeout(r, 300));
    expect(service.received.map((r) => r.url)).toEqual(['/validateToken/orders/1']);
  });
});
