import { Issues, parseConfigText, type RuleSettings } from '../../src/config';
import { buildAuthRequest, interpretAuthResponse, readCheckRequest, type CheckRequestMessage, type CheckView } from '../../src/translate';

// The pure translate functions, on the inputs that once let a request through unauthenticated
// in loose mode or lost a denial body. The same cases run end to end in test/reliability.

function rule(extra = ''): RuleSettings {
  const issues = new Issues();
  const settings = parseConfigText(`rules:\n  - name: r\n    service: { url: "http://127.0.0.1:1", path: /auth }\n${extra}`, issues);
  expect(issues.list).toEqual([]);
  return (settings as NonNullable<typeof settings>).rules[0];
}

function view(http: NonNullable<NonNullable<CheckRequestMessage['attributes']>['request']>['http']): CheckView {
  const v = readCheckRequest({ attributes: { request: { http } } });
  if ('invalid' in v) throw new Error(v.invalid);
  return v;
}

describe('buildAuthRequest', () => {
  test('never forwards hop-by-hop headers, even when settings built by hand list them', () => {
    // The config refuses such a list (forwarded-headers.ts); this is the second line of defence.
    const r = rule();
    const listed = { ...r, request: { ...r.request, allowedHeaders: ['x-tenant', 'upgrade', 'te', 'transfer-encoding'] } };
    const built = buildAuthRequest(
      listed,
      view({
        method: 'GET',
        path: '/',
        host: 'h',
        headers: { upgrade: 'websocket', 'transfer-encoding': 'chunked', te: 'trailers', 'x-tenant': 't' },
      }),
    );
    expect(built.ok && built.request.headers).toEqual({ host: 'h', 'content-length': '0', 'x-tenant': 't' });
  });

  test.each([
    ['', 'path is empty or does not start with "/"'],
    ['orders/1', 'path is empty or does not start with "/"'],
    ['*', 'path is empty or does not start with "/"'],
    ['/a\u00e9', 'path holds a space, a control or a non-ASCII character'],
  ])('path %j is invalid, never rewritten', (path, invalid) => {
    expect(buildAuthRequest(rule(), view({ method: 'GET', path, host: 'h' }))).toEqual({ ok: false, invalid });
  });

  test('non-ASCII text travels as its UTF-8 bytes (a latin1 string, one character per byte)', () => {
    const built = buildAuthRequest(rule(), view({ method: 'GET', path: '/', host: 'h', headers: { authorization: 'Bearer 日本' } }));
    expect(built.ok && Buffer.from(built.request.headers.authorization, 'latin1').toString('utf8')).toBe('Bearer 日本');
  });

  test('header_map raw bytes that are not UTF-8 travel unchanged, also when joined with a repeat', () => {
    const raw = Buffer.from([0x42, 0xe9, 0xff]);
    const v = view({
      method: 'GET',
      path: '/',
      host: 'h',
      header_map: {
        headers: [
          { key: 'authorization', value: 'é' },
          { key: 'Authorization', raw_value: raw },
        ],
      },
    });
    const built = buildAuthRequest(rule(), v);
    const expected = Buffer.concat([Buffer.from('é,', 'utf8'), raw]);
    expect(built.ok && Buffer.from(built.request.headers.authorization, 'latin1').equals(expected)).toBe(true);
  });

  test('a forwarded header name that is not a token is invalid', () => {
    const v = view({ method: 'GET', path: '/', host: 'h', header_map: { headers: [{ key: 'x-b3-a b', raw_value: Buffer.from('1') }] } });
    expect(buildAuthRequest(rule(), v)).toEqual({ ok: false, invalid: 'a header name is not an HTTP token' });
  });

  test('the request target counts toward request.maxHeaderBytes', () => {
    const r = rule('    request: { maxHeaderBytes: 1024 }\n');
    expect(buildAuthRequest(r, view({ method: 'GET', path: `/${'a'.repeat(1000)}`, host: 'h' })).ok).toBe(true);
    const over = buildAuthRequest(r, view({ method: 'GET', path: `/${'a'.repeat(1030)}`, host: 'h' }));
    expect(over).toEqual({ ok: false, tooLarge: expect.stringContaining('over request.maxHeaderBytes 1024') });
  });
});

describe('interpretAuthResponse', () => {
  const settings = rule().response;
  const body = Buffer.from('abcé', 'utf8');

  test('a body cut at maxBodyBytes inside a UTF-8 character keeps everything before it', () => {
    const out = interpretAuthResponse(settings, { status: 403, headers: {}, body: body.subarray(0, body.length - 1), truncated: true });
    expect(out.kind === 'deny' && out.body.toString('utf8')).toBe('abc');
  });

  test('a complete body that is not UTF-8 is dropped with its content-encoding, other headers kept', () => {
    const out = interpretAuthResponse(settings, {
      status: 401,
      headers: { 'content-encoding': 'gzip', 'content-type': 'application/json' },
      body: body.subarray(0, body.length - 1),
    });
    expect(out).toEqual({
      kind: 'deny',
      reason: 'auth_denied',
      status: 401,
      headers: [['content-type', 'application/json']],
      body: Buffer.alloc(0),
    });
  });
});
