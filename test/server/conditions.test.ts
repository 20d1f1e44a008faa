import { TestAdapter, configYaml } from '../helpers/adapter';
import { TestAuthService, reply } from '../helpers/auth-service';
import { checkRequest } from '../helpers/check-client';

// Conditions end to end: the real gRPC server, a real auth service that counts its calls.

let auth: TestAuthService;
let adapter: TestAdapter | undefined;

beforeEach(async () => {
  auth = await TestAuthService.start(reply(401, {}, 'who are you'));
});

afterEach(async () => {
  await adapter?.close();
  adapter = undefined;
  await auth.close();
});

function rule(match: string): string {
  return `  - name: site\n    service: { url: "${auth.url}" }\n    response: { allowedHeaders: [x-user-id] }\n    match:\n${match}`;
}

test('a whitelisted request is answered OK without calling the auth service, and a client x-user-id is removed', async () => {
  adapter = await TestAdapter.start(configYaml(rule('      mode: whitelist\n      conditions:\n        - path: /public/*\n')));
  const res = await adapter.client.check(checkRequest({ path: '/public/logo.png?v=2', headers: { 'x-user-id': 'admin' } }));
  expect(res.status?.code ?? 0).toBe(0);
  expect(res.ok_response?.headers_to_remove).toContain('x-user-id');
  expect(auth.received).toHaveLength(0);

  const trick = await adapter.client.check(checkRequest({ path: '/public/%2e%2e/admin' }));
  expect(trick.denied_response?.body).toBe('who are you');
  expect(auth.received.map((r) => r.url)).toEqual(['/admin']);
});

test('a blacklisted request is forwarded; others pass without a call', async () => {
  adapter = await TestAdapter.start(
    configYaml(
      rule(
        '      mode: blacklist\n      conditions:\n        - path: /admin/*\n          headers: [{ name: x-env, op: notEquals, value: gray }]\n',
      ),
    ),
  );
  const denied = await adapter.client.check(checkRequest({ path: '/admin/users' }));
  expect(denied.denied_response?.status?.code).toBe(401);
  const gray = await adapter.client.check(checkRequest({ path: '/admin/users', headers: { 'x-env': 'gray' } }));
  expect(gray.status?.code ?? 0).toBe(0);
  const other = await adapter.client.check(checkRequest({ path: '/shop' }));
  expect(other.status?.code ?? 0).toBe(0);
  expect(auth.received).toHaveLength(1);
});

test('complex permissions decide with Envoy semantics on :authority and url_path', async () => {
  adapter = await TestAdapter.start(
    configYaml(
      rule(`      mode: complex
      permissions:
        - and_rules:
            rules:
              - url_path: { path: { prefix: /api/ } }
              - not_rule: { url_path: { path: { exact: /api/open } } }
              - header: { name: ":authority", safe_regex_match: { regex: "(exampleA\\\\.com|exampleB\\\\.com)" } }
`),
    ),
  );
  const needs = await adapter.client.check(checkRequest({ host: 'exampleA.com', path: '/api/orders' }));
  expect(needs.denied_response?.status?.code).toBe(401);
  const open = await adapter.client.check(checkRequest({ host: 'exampleA.com', path: '/api/open?x=1' }));
  expect(open.status?.code ?? 0).toBe(0);
  const sub = await adapter.client.check(checkRequest({ host: 'test.exampleA.com', path: '/api/orders' }));
  expect(sub.status?.code ?? 0).toBe(0);
  expect(auth.received).toHaveLength(1);
});
