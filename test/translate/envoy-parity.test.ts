import { Issues, parseConfigValue, type Environment, type RuleSettings } from '../../src/config';
import { compileHeaderNameMatchers } from '../../src/matcher';
import { decisionKey } from '../../src/server/auth-client';
import {
  buildAuthRequest,
  dryRunAllow,
  interpretAuthResponse,
  readCheckRequest,
  resolveOutcome,
  toCheckResponse,
  type AuthRequest,
  type CheckView,
  type Decision,
} from '../../src/translate';
import { requestedRemovals } from '../../src/translate/auth-response-headers';

// The pure translate functions behind issue 14; test/server/envoy-parity.test.ts runs the same
// features through the real server.

function rule(raw: Record<string, unknown>, env: Environment = {}): RuleSettings {
  const issues = new Issues();
  const settings = parseConfigValue({ rules: [{ name: 'r', service: { url: 'http://a:1' }, ...raw }] }, issues, env);
  expect(issues.list).toEqual([]);
  return settings!.rules[0];
}

function view(headers: Record<string, string> = {}): CheckView {
  const v = readCheckRequest({ attributes: { request: { http: { method: 'GET', path: '/orders', host: 'shop', headers } } } });
  if ('invalid' in v) throw new Error(v.invalid);
  return v;
}

function built(settings: RuleSettings, headers: Record<string, string> = {}): AuthRequest {
  const issues = new Issues();
  const matchers = compileHeaderNameMatchers(settings.request.allowedHeaderMatchers, issues);
  const result = buildAuthRequest(settings, view(headers), matchers);
  if (!result.ok) throw new Error('not built');
  return result.request;
}

describe('static headers and the decision-cache key', () => {
  const STATIC = { request: { headersToAdd: { 'x-api-key': '${KEY}' } } };

  test('the key changes with the static value, so answers under one secret never serve another', () => {
    const token = { authorization: 'Bearer t' };
    const a = decisionKey(built(rule(STATIC, { KEY: 'one' }), token));
    expect(decisionKey(built(rule(STATIC, { KEY: 'one' }), token))).toBe(a);
    expect(decisionKey(built(rule(STATIC, { KEY: 'two' }), token))).not.toBe(a);
  });

  test('a client header of the same name (forwarded by a matcher) is replaced, not doubled', () => {
    const settings = rule(
      { request: { allowedHeaders: [{ prefix: 'x-api' }], headersToAdd: { 'x-api-key': '${KEY}' } } },
      { KEY: 'server' },
    );
    expect(built(settings, { 'x-api-key': 'client', 'x-api-version': '2' }).headers).toMatchObject({
      'x-api-key': 'server',
      'x-api-version': '2',
    });
  });
});

describe('x-envoy-auth-headers-to-remove', () => {
  test.each<[string | string[], string[]]>([
    ['authorization', ['authorization']],
    [' Authorization ,X-Debug,, x-debug ', ['authorization', 'x-debug']],
    [':path, :authority, host, Host', []],
    ['bad name, x\u00e9, x-ok', ['x-ok']],
    [
      ['a', 'b, c'],
      ['a', 'b', 'c'],
    ],
  ])('%j removes %j', (value, expected) => {
    expect(requestedRemovals(value)).toEqual(expected);
  });
});

describe('toCheckResponse', () => {
  const settings = rule({
    response: {
      allowedHeaders: ['x-user-id'],
      appendHeaders: ['x-groups'],
      clientHeadersOnSuccess: ['set-cookie'],
      dynamicMetadata: ['x-user-id'],
    },
  });
  const answer = {
    status: 200,
    headers: { 'x-user-id': 'u', 'x-groups': ['a', 'b'], 'set-cookie': ['s=1', 't=2'], 'x-envoy-auth-headers-to-remove': 'authorization' },
    body: Buffer.alloc(0),
  };

  test('an allow: overwrite, first-overwrite-then-append, client headers, removals and metadata', () => {
    const msg = toCheckResponse(resolveOutcome(settings, interpretAuthResponse(settings.response, answer)));
    expect(msg.ok_response?.headers.map((h) => [h.header.key, h.header.value, h.append_action])).toEqual([
      ['x-user-id', 'u', 2],
      ['x-groups', 'a', 2],
      ['x-groups', 'b', 0],
    ]);
    expect(msg.ok_response?.response_headers_to_add?.map((h) => [h.header.value, h.append.value, h.append_action])).toEqual([
      ['s=1', true, 0],
      ['t=2', true, 0],
    ]);
    expect(msg.ok_response?.headers_to_remove).toEqual(['authorization']);
    expect(msg.dynamic_metadata.fields).toEqual({
      'x-user-id': { stringValue: 'u' },
      rule: { stringValue: 'r' },
      reason: { stringValue: 'auth_allowed' },
    });
  });

  test('a dry-run allow carries nothing from the auth service and strips what it vouches for', () => {
    const decision: Decision = dryRunAllow(settings);
    const msg = toCheckResponse(decision);
    expect(msg.ok_response).toEqual({ headers: [], headers_to_remove: ['x-user-id', 'x-groups'] });
    expect(msg.dynamic_metadata.fields).toEqual({ rule: { stringValue: 'r' }, reason: { stringValue: 'dry_run_denied' } });
  });
});
