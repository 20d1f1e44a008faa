import type http from 'node:http';
import { renameSync, writeFileSync } from 'node:fs';
import { TestAdapter, configYaml } from '../helpers/adapter';
import { TestAuthService, reply } from '../helpers/auth-service';
import { checkRequest } from '../helpers/check-client';
import { until } from '../helpers/until';
import { summarize } from './summary';

// Issue 19, finding 1: a reload during checks let them through. Rule a (strict) answers 200 only
// when the test opens a barrier; rule b (loose) always answers 401. Checks wait on a while a
// reload changes only b's timeout, which gives b a new pool. Each check must still reach b's
// service on the pool its config started with, and be denied by it.

const CHECKS = 50;

let adapter: TestAdapter | undefined;
const services: TestAuthService[] = [];
afterEach(async () => {
  await adapter?.close();
  adapter = undefined;
  await Promise.all(services.splice(0).map((s) => s.close()));
});

function config(a: string, b: string, bTimeout: string): string {
  return configYaml(
    [
      '  - name: a',
      `    service: { url: "${a}", mode: strict, timeout: 30s, connections: ${CHECKS} }`,
      '  - name: b',
      `    service: { url: "${b}", mode: loose, timeout: ${bTimeout}, connections: 4 }`,
      '',
    ].join('\n'),
  );
}

test("checks waiting on rule a when a reload retires rule b's pool are all denied 401 by b's service", async () => {
  const held: http.ServerResponse[] = [];
  const a = await TestAuthService.start((_req, res) => held.push(res));
  const b = await TestAuthService.start(reply(401, { 'content-type': 'text/plain' }, 'no'));
  services.push(a, b);
  adapter = await TestAdapter.start(config(a.url, b.url, '10s'));

  const answers = Array.from({ length: CHECKS }, (_, i) => adapter!.client.check(checkRequest({ path: `/orders/${i}` }), 20_000));
  await until('every check to wait on rule a', () => held.length === CHECKS, 10_000);

  const aside = `${adapter.configFile}.next`;
  writeFileSync(aside, config(a.url, b.url, '11s'));
  renameSync(aside, adapter.configFile);
  expect(await adapter.server.reload()).toBe(true);
  expect(adapter.server.current.byName.get('b')?.settings.service.timeoutMs).toBe(11_000);

  for (const res of held) res.writeHead(200).end();
  const summaries = (await Promise.all(answers)).map(summarize);
  expect(summaries.map((s) => [s.message, s.deniedStatus, s.body])).toEqual(Array(CHECKS).fill(['auth_denied', 401, 'no']));
  expect(b.received.length).toBe(CHECKS);

  // The retired pool closes once its last check is done; nothing else holds a socket to b.
  await until('the retired pool toward b to close', () => b.openSockets === 0);
  // The new pool serves the next check.
  const next = adapter.client.check(checkRequest({ path: '/after' }));
  await until('the next check to reach a', () => held.length === CHECKS + 1);
  held[CHECKS].writeHead(200).end();
  expect(summarize(await next)).toMatchObject({ deniedStatus: 401 });
  expect(b.received.length).toBe(CHECKS + 1);
}, 30_000);
