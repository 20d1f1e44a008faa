import { TestAdapter, configYaml, ruleYaml } from '../helpers/adapter';
import { reply, TestAuthService } from '../helpers/auth-service';
import { checkRequest } from '../helpers/check-client';
import { capturingLogger } from '../helpers/capturing-logger';

describe('the decision line', () => {
  let service: TestAuthService;
  let adapter: TestAdapter;
  let log: ReturnType<typeof capturingLogger>;

  beforeAll(async () => {
    service = await TestAuthService.start(reply(401, { 'www-authenticate': 'Bearer' }, 'no'));
    log = capturingLogger();
    adapter = await TestAdapter.start(configYaml(ruleYaml('orders', service.url)), { logger: log.logger });
  });
  afterAll(async () => {
    await adapter.close();
    await service.close();
  });

  const decisionLines = (): Array<Record<string, unknown>> => log.lines.filter((l) => l.msg === 'check');

  test('is one line per check at info, with the rule, decision, reason, statuses, latency and request id, and no token', async () => {
    const before = decisionLines().length;
    await adapter.client.check(
      checkRequest({ path: '/orders/1', headers: { authorization: 'Bearer secret-token-value', 'x-request-id': 'req-7' } }),
    );
    await new Promise((r) => setImmediate(r));
    const lines = decisionLines().slice(before);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({
      level: 30,
      requestId: 'req-7',
      rule: 'orders',
      decision: 'deny',
      reason: 'auth_denied',
      status: 401,
      authStatus: 401,
    });
    expect(typeof lines[0].latencyMs).toBe('number');
    expect(JSON.stringify(lines[0])).not.toContain('secret-token-value');
  });

  test('follows the logger level: none above info', async () => {
    adapter.server.logger.level = 'warn';
    try {
      const before = decisionLines().length;
      await adapter.client.check(checkRequest({ path: '/orders/2', headers: { authorization: 'Bearer t' } }));
      await new Promise((r) => setImmediate(r));
      expect(decisionLines().length).toBe(before);
    } finally {
      adapter.server.logger.level = 'info';
    }
  });
});
