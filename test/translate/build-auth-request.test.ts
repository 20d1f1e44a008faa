import { buildAuthRequest, type HttpRequestMessage } from '../../src/translate';
import { ruleSettings, viewOf } from './helpers';

// buildAuthRequest: which parts of the client's request reach the auth service, and when the
// request cannot be forwarded faithfully. Pure; the same cases run end to end in test/server.

const TRACE = { traceparent: 't', tracestate: 's', 'x-request-id': 'r', b3: 'b', 'x-b3-traceid': 'x' };

describe('buildAuthRequest', () => {
  test.each<[string, string, HttpRequestMessage, Record<string, string>]>([
    [
      'the token header only, by default',
      '',
      { headers: { authorization: 'Bearer a', cookie: 'c', 'x-tenant': 't' } },
      { authorization: 'Bearer a' },
    ],
    [
      'every token header listed',
      '    request: { tokenHeader: [authorization, cookie] }\n',
      { headers: { authorization: 'a', cookie: 'c' } },
      { authorization: 'a', cookie: 'c' },
    ],
    [
      'allowed headers',
      '    request: { allowedHeaders: [X-Tenant] }\n',
      { headers: { 'x-tenant': 't', 'x-other': 'o' } },
      { 'x-tenant': 't' },
    ],
    ['trace context, always', '', { headers: { ...TRACE, 'x-other': 'o' } }, TRACE],
  ])('forwards %s', (_name, extra, http, expected) => {
    const built = buildAuthRequest(ruleSettings(extra), viewOf({ method: 'GET', path: '/', host: 'h', ...http }));
    if (!built.ok) throw new Error('not built');
    const { host, 'content-length': length, ...forwarded } = built.request.headers;
    expect([host, length]).toEqual(['h', '0']);
    expect(forwarded).toEqual(expected);
  });

  test('forwards no hop-by-hop header, even should a rule list one (the config refuses them first)', () => {
    const base = ruleSettings();
    const rule = { ...base, request: { ...base.request, allowedHeaders: ['connection', 'te', 'upgrade', 'x-tenant'] } };
    const built = buildAuthRequest(
      rule,
      viewOf({ method: 'GET', path: '/', host: 'h', headers: { connection: 'close', te: 'trailers', upgrade: 'h2c', 'x-tenant': 't' } }),
    );
    expect(built.ok && Object.keys(built.request.headers).sort()).toEqual(['content-length', 'host', 'x-tenant']);
  });

  test.each<[string, string, string]>([
    ['/orders/1?x=%2F', '/auth', '/auth/orders/1?x=%2F'],
    ['/a/./b/../c', '/auth', '/auth/a/c'],
    ['/a', '', '/a'],
    // Not safe to normalize: sent exactly as the client wrote it, never a different path.
    ['/a%2F..%2Fb', '/auth', '/auth/a%2F..%2Fb'],
  ])('path %s under service.path %j is %s', (path, servicePath, expected) => {
    const rule = ruleSettings('', `{ url: "http://127.0.0.1:1", path: "${servicePath}" }`);
    const built = buildAuthRequest(rule, viewOf({ method: 'GET', path, host: 'h' }));
    expect(built.ok && built.request.path).toBe(expected);
  });

  test.each<[string, string, string | undefined, string]>([
    ['off by default', '', undefined, '0'],
    ['sent when enabled', '    request: { body: { enabled: true } }\n', 'hello', '5'],
    ['cut at maxBytes', '    request: { body: { enabled: true, maxBytes: 2 } }\n', 'he', '2'],
    ['not sent with maxBytes 0', '    request: { body: { enabled: true, maxBytes: 0 } }\n', undefined, '0'],
  ])('the body: %s', (_name, extra, body, length) => {
    const built = buildAuthRequest(ruleSettings(extra), viewOf({ method: 'POST', path: '/', host: 'h', body: 'hello' }));
    if (!built.ok) throw new Error('not built');
    expect(built.request.body?.toString()).toBe(body);
    expect(built.request.headers['content-length']).toBe(length);
  });

  test.each<[string, HttpRequestMessage, string]>([
    ['a method that is not a token', { method: 'GE T', path: '/' }, 'method is not an HTTP token'],
    ['a host with a control character', { method: 'GET', path: '/', host: 'h\nx' }, 'host holds a control character'],
    [
      'a token header with a line break',
      { method: 'GET', path: '/', headers: { authorization: 'a\r\nx: 1' } },
      'header authorization holds a control character',
    ],
    ['a path with a space', { method: 'GET', path: '/a b' }, 'path holds a space, a control or a non-ASCII character'],
  ])('%s is invalid: denied, never rewritten', (_name, http, invalid) => {
    expect(buildAuthRequest(ruleSettings(), viewOf({ host: 'h', ...http }))).toEqual({ ok: false, invalid });
  });

  test('a head over request.maxHeaderBytes is too large, counting path, host and forwarded headers', () => {
    const rule = ruleSettings('    request: { maxHeaderBytes: 1024 }\n');
    const fits = buildAuthRequest(rule, viewOf({ method: 'GET', path: '/', host: 'h', headers: { authorization: 'a'.repeat(1000) } }));
    expect(fits.ok).toBe(true);
    const over = buildAuthRequest(rule, viewOf({ method: 'GET', path: '/', host: 'h', headers: { authorization: 'a'.repeat(1024) } }));
    expect(over).toEqual({ ok: false, tooLarge: expect.stringContaining('over request.maxHeaderBytes 1024') });
  });
});
