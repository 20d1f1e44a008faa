import { TestAdapter, configYaml } from '../helpers/adapter';
import { TestAuthService, reply } from '../helpers/auth-service';
import { checkRequest } from '../helpers/check-client';

// Finding 6 of issue 12: every header any auth service of the config could vouch for is stripped
// from an allowed request, with its underscore twin, unless an auth service set it on that request.

let auth: TestAuthService;
let adapter: TestAdapter | undefined;
beforeEach(async () => {
  auth = await TestAuthService.start(reply(200, { 'x-user-id': 'u-1' }));
});
afterEach(async () => {
  await adapter?.close();
  adapter = undefined;
  await auth.close();
});

const RULES = (url: string): string =>
  `  - name: basic\n    service: { url: "${url}" }\n    response: { allowedHeaders: [x-user-id] }\n` +
  `  - name: admin\n    enabled: false\n    service: { url: "${url}" }\n    response: { allowedHeaders: [x-user-role] }\n` +
  `  - name: partner\n    service: { url: "${url}" }\n    match: { mode: blacklist, conditions: [{ path: /partner/* }] }\n` +
  '    response: { allowedHeaders: [x-partner-id] }\n';

test.each([
  ['pinned to one rule', { rule: 'basic' }],
  ['every enabled rule', undefined],
])('%s: headers of rules out of scope or disabled, and every underscore twin, are removed', async (_name, contextExtensions) => {
  adapter = await TestAdapter.start(configYaml(RULES(auth.url)));
  const res = await adapter.client.check(
    checkRequest({ path: '/orders', headers: { 'x-user-role': 'admin', x_user_id: 'root' }, contextExtensions }),
  );
  expect(res.ok_response?.headers?.map((h) => [h.header.key, h.header.value])).toEqual([['x-user-id', 'u-1']]);
  expect([...(res.ok_response?.headers_to_remove ?? [])].sort()).toEqual(
    [
      'x-envoy-auth-failure-mode-allowed',
      'x_envoy_auth_failure_mode_allowed',
      'x_user_id',
      'x-user-role',
      'x_user_role',
      'x-partner-id',
      'x_partner_id',
    ].sort(),
  );
});
