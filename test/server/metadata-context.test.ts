import { TestAdapter, configYaml, ruleYaml } from '../helpers/adapter';
import { TestAuthService, reply } from '../helpers/auth-service';
import { checkRequest } from '../helpers/check-client';

// Conditions on Envoy's metadata_context (a jwt_authn payload, say), sent through the real gRPC
// server as Envoy sends them. protobufjs decodes google.protobuf.Value with camelCase fields
// (`stringValue`); read as snake_case every value was null, so a `metadata` permission never
// matched and the requests it named skipped authentication.

let auth: TestAuthService;
let adapter: TestAdapter | undefined;
beforeEach(async () => {
  auth = await TestAuthService.start(reply(403));
});
afterEach(async () => {
  await adapter?.close();
  adapter = undefined;
  await auth.close();
});

const PERMISSIONS =
  '    match:\n      mode: complex\n      permissions:\n' +
  '        - { metadata: { filter: envoy.filters.http.jwt_authn, path: [{ key: claims }, { key: role }], value: { string_match: { exact: partner } } } }\n' +
  '        - { metadata: { filter: envoy.filters.http.jwt_authn, path: [{ key: claims }, { key: level }], value: { double_match: { exact: 3 } } } }\n' +
  '        - { metadata: { filter: envoy.filters.http.jwt_authn, path: [{ key: claims }, { key: beta }], value: { bool_match: true } } }\n' +
  '        - { metadata: { filter: envoy.filters.http.jwt_authn, path: [{ key: claims }, { key: groups }], value: { list_match: { one_of: { string_match: { exact: ops } } } } } }\n';

type Value = Record<string, unknown>;

function withClaims(claims: Record<string, Value>): Record<string, unknown> {
  const request = checkRequest({ path: '/orders' }) as { attributes: Record<string, unknown> };
  request.attributes.metadata_context = {
    filter_metadata: { 'envoy.filters.http.jwt_authn': { fields: { claims: { structValue: { fields: claims } } } } },
  };
  return request;
}

test.each<[string, Record<string, Value>]>([
  ['a string', { role: { stringValue: 'partner' } }],
  ['a number', { level: { numberValue: 3 } }],
  ['a bool', { beta: { boolValue: true } }],
  ['a list', { groups: { listValue: { values: [{ stringValue: 'dev' }, { stringValue: 'ops' }] } } }],
])('a metadata permission on %s needs authentication when the value matches', async (_name, claims) => {
  adapter = await TestAdapter.start(configYaml(ruleYaml('partners', auth.url, PERMISSIONS)));
  const res = await adapter.client.check(withClaims(claims));
  expect(auth.received).toHaveLength(1);
  expect(res.denied_response?.status?.code).toBe(403);
});

test('a value that does not match skips authentication, as the permissions say', async () => {
  adapter = await TestAdapter.start(configYaml(ruleYaml('partners', auth.url, PERMISSIONS)));
  const res = await adapter.client.check(withClaims({ role: { stringValue: 'customer' }, level: { numberValue: 1 } }));
  expect(auth.received).toHaveLength(0);
  expect(res.status?.code).toBe(0);
});
