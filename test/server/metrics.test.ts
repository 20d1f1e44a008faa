import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { TestAdapter, configYaml } from '../helpers/adapter';
import { TestAuthService } from '../helpers/auth-service';
import { checkRequest } from '../helpers/check-client';
import { scrape, sumOf } from '../helpers/prom-text';

// A real adapter, a real auth service and a real scrape of GET /metrics, parsed from the text format.

let auth: TestAuthService;
let adapter: TestAdapter | undefined;

beforeEach(async () => {
  auth = await TestAuthService.start((req, res) => {
    const what = req.url.split('/')[2];
    switch (what) {
      case 'allow':
        return res.writeHead(200).end();
      case 'deny':
        return res.writeHead(403).end('no');
      case 'flag':
        return res.writeHead(200, { 'x-mse-external-authz-check-result': 'false' }).end();
      case 'boom':
        return res.writeHead(503).end();
      default:
        // Slower than the rule's timeout; the adapter gives up first.
        setTimeout(() => res.destroyed || res.writeHead(200).end(), 1500).unref();
    }
  });
});

afterEach(async () => {
  await adapter?.close();
  adapter = undefined;
  await auth.close();
});

async function closedPort(): Promise<number> {
  const server = http.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

test('after allowed, denied and failed checks the scraped counters match what was sent', async () => {
  const down = await closedPort();
  adapter = await TestAdapter.start(
    configYaml(
      [
        '  - name: api',
        `    service: { url: "${auth.url}", path: /validateToken, timeout: 2s }`,
        '    match: { mode: whitelist, conditions: [ { path: "/public/*" } ] }',
        '  - name: down',
        `    service: { url: "http://127.0.0.1:${down}", timeout: 2s, mode: loose }`,
        '  - name: slow',
        `    service: { url: "${auth.url}", path: /validateToken, timeout: 200ms }`,
        '',
      ].join('\n'),
    ),
  );
  const sent: Array<[rule: string, path: string, times: number]> = [
    ['api', '/allow', 3],
    ['api', '/deny', 2],
    ['api', '/flag', 1],
    ['api', '/boom', 2],
    ['api', '/public/page', 2],
    ['down', '/x', 2],
    ['slow', '/sleep', 1],
    ['nope', '/x', 1],
  ];
  for (const [rule, path, times] of sent) {
    for (let i = 0; i < times; i++) await adapter.client.check(checkRequest({ path, contextExtensions: { rule } }));
  }

  const samples = await scrape(adapter.server.adminPort);
  const checks = samples
    .filter((s) => s.name === 'ext_authz_checks_total')
    .map((s) => `${s.labels.rule} ${s.labels.decision} ${s.labels.reason} ${s.value}`)
    .sort();
  expect(checks).toEqual(
    [
      'api allowed auth_allowed 3',
      'api denied auth_denied 2',
      'api denied result_header_false 1',
      'api denied unavailable_strict 2',
      // The one rule in scope (pinned) did not need authentication: the bypass carries its name (issue 13).
      'api allowed bypass 2',
      'down allowed unavailable_loose 2',
      'slow denied unavailable_strict 1',
      // The name a route asks for comes from the request: never a label of its own.
      '(unknown) denied unknown_rule 1',
    ].sort(),
  );

  const errors = samples
    .filter((s) => s.name === 'ext_authz_auth_service_errors_total')
    .map((s) => `${s.labels.rule} ${s.labels.kind} ${s.value}`)
    .sort();
  expect(errors).toEqual(['api 5xx 2', 'down connect 2', 'slow timeout 1']);

  const authCounts = samples
    .filter((s) => s.name === 'ext_authz_auth_service_request_duration_seconds_count')
    .map((s) => `${s.labels.rule} ${s.labels.status_class} ${s.value}`)
    .sort();
  expect(authCounts).toEqual(['api 2xx 4', 'api 4xx 2', 'api 5xx 2', 'down error 2', 'slow error 1']);
  // A slow call lands in a bucket of at least 200ms, never in the fast ones.
  expect(sumOf(samples, 'ext_authz_auth_service_request_duration_seconds_bucket', { rule: 'slow', le: '0.1' })).toBe(0);
  expect(sumOf(samples, 'ext_authz_auth_service_request_duration_seconds_bucket', { rule: 'slow', le: '+Inf' })).toBe(1);

  expect(sumOf(samples, 'ext_authz_check_duration_seconds_count', { decision: 'allowed' })).toBe(7);
  expect(sumOf(samples, 'ext_authz_check_duration_seconds_count', { decision: 'denied' })).toBe(7);
  expect(sumOf(samples, 'ext_authz_check_duration_seconds_count')).toBe(14);
  expect(sumOf(samples, 'ext_authz_checks_in_flight')).toBe(0);
  expect(samples.some((s) => s.name === 'ext_authz_log_lines_dropped_total' && s.value === 0)).toBe(true);
  expect(samples.some((s) => s.name === 'process_cpu_user_seconds_total')).toBe(true);
  expect(samples.some((s) => s.name === 'ext_authz_config_reloads_total')).toBe(false);
});

test('the in-flight gauge counts a check waiting on the auth service', async () => {
  let release: (() => void) | undefined;
  auth.handler = (_req, res) => {
    release = () => res.writeHead(200).end();
  };
  adapter = await TestAdapter.start(configYaml(`  - name: api\n    service: { url: "${auth.url}", timeout: 5s }\n`));
  const pending = adapter.client.check(checkRequest());
  for (let i = 0; i < 200 && !release; i++) await new Promise((r) => setTimeout(r, 10));
  expect(sumOf(await scrape(adapter.server.adminPort), 'ext_authz_checks_in_flight')).toBe(1);
  release?.();
  await pending;
  expect(sumOf(await scrape(adapter.server.adminPort), 'ext_authz_checks_in_flight')).toBe(0);
});
