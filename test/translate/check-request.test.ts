import { readCheckRequest, type CheckRequestMessage, type CheckView, type HttpRequestMessage } from '../../src/translate';

// readCheckRequest: a decoded CheckRequest in, one read-only view out. Pure; no gRPC here.

function read(http: HttpRequestMessage, attributes: Omit<NonNullable<CheckRequestMessage['attributes']>, 'request'> = {}): CheckView {
  const view = readCheckRequest({ attributes: { ...attributes, request: { http } } });
  if ('invalid' in view) throw new Error(view.invalid);
  return view;
}

describe('readCheckRequest', () => {
  test.each<[string, CheckRequestMessage]>([
    ['no attributes', {}],
    ['no request', { attributes: {} }],
    ['no http block', { attributes: { request: {} } }],
  ])('%s is invalid: a denial, not an error', (_name, msg) => {
    expect(readCheckRequest(msg)).toEqual({ invalid: 'CheckRequest has no attributes.request.http' });
  });

  test.each<[string, HttpRequestMessage, Partial<Record<'method' | 'host' | 'path' | 'scheme', string>>]>([
    [
      'the fields',
      { method: 'POST', host: 'a.example', path: '/x', scheme: 'https' },
      { method: 'POST', host: 'a.example', path: '/x', scheme: 'https' },
    ],
    [
      'pseudo-headers when the fields are empty',
      { headers: { ':method': 'PUT', ':authority': 'b.example', ':path': '/y', ':scheme': 'http' } },
      { method: 'PUT', host: 'b.example', path: '/y', scheme: 'http' },
    ],
    ['the host header when there is no :authority', { method: 'GET', path: '/', headers: { host: 'c.example' } }, { host: 'c.example' }],
    [
      'the fields over the pseudo-headers',
      { method: 'GET', path: '/f', headers: { ':method': 'DELETE', ':path': '/h' } },
      { method: 'GET', path: '/f' },
    ],
    ['the normalized path, query kept raw', { method: 'GET', path: '/a/./b/../c?x=%2F' }, { path: '/a/c?x=%2F' }],
  ])('takes method, host, path and scheme from %s', (_name, http, expected) => {
    expect(read(http).input).toMatchObject(expected);
  });

  test.each<[string, HttpRequestMessage, string, boolean]>([
    ['a normal path', { path: '/a/b?q=1' }, '/a/b', true],
    ['dot segments', { path: '/public/../admin' }, '/admin', true],
    ['an escaped slash', { path: '/a%2Fb' }, '/a%2Fb', false],
    ['".." above the root', { path: '/../x' }, '/../x', false],
  ])('%s: pathOnly and pathSafe', (_name, http, pathOnly, safe) => {
    const { input } = read({ method: 'GET', ...http });
    expect([input.pathOnly, input.pathSafe]).toEqual([pathOnly, safe]);
  });

  test('keeps the raw path for the auth request, and drops pseudo-headers from the header map', () => {
    const view = read({ method: 'GET', path: '/a/../b', headers: { ':path': '/a/../b', 'x-a': '1' } });
    expect(view.rawPath).toBe('/a/../b');
    expect([...view.input.headers]).toEqual([['x-a', '1']]);
  });

  test.each<[string, HttpRequestMessage, string]>([
    ['x-request-id', { id: '7', headers: { 'x-request-id': 'req-1' } }, 'req-1'],
    ['the http id without x-request-id', { id: '7' }, '7'],
    ['nothing', {}, ''],
  ])('takes the request id from %s', (_name, http, requestId) => {
    expect(read({ method: 'GET', path: '/', ...http }).requestId).toBe(requestId);
  });

  test.each<[string, HttpRequestMessage, string | undefined]>([
    ['raw_body over body', { body: 'text', raw_body: Buffer.from('raw') }, 'raw'],
    ['body as UTF-8', { body: 'héllo' }, 'héllo'],
    ['no body', {}, undefined],
  ])('reads %s', (_name, http, body) => {
    expect(read({ method: 'GET', path: '/', ...http }).body?.toString('utf8')).toBe(body);
  });

  test('header_map: names lowercased, repeats joined with ",", raw bytes that are not UTF-8 kept exactly', () => {
    const latin = Buffer.from([0x41, 0xe9]);
    const view = read({
      method: 'GET',
      path: '/',
      header_map: {
        headers: [
          { key: 'X-A', value: '1' },
          { key: 'x-a', raw_value: Buffer.from('2') },
          { key: 'x-bin', raw_value: latin },
        ],
      },
    });
    expect(view.input.headers.get('x-a')).toBe('1,2');
    expect(view.input.headers.get('x-bin')).toBe(latin.toString('latin1'));
    expect(view.opaqueHeaders?.get('x-bin')).toBe(latin.toString('latin1'));
    expect(view.opaqueHeaders?.has('x-a')).toBe(false);
  });

  test('rule name, destination, SNI and metadata', () => {
    const view = read(
      { method: 'GET', path: '/' },
      {
        context_extensions: { rule: 'orders' },
        destination: { address: { socket_address: { address: '10.0.0.1', port_value: 8443 } } },
        tls_session: { sni: 'api.example' },
        metadata_context: {
          filter_metadata: {
            'envoy.filters.http.jwt_authn': {
              fields: {
                // protobufjs decodes google.protobuf.Value with camelCase fields, whatever keepCase says.
                sub: { kind: 'stringValue', stringValue: 'u1' },
                n: { kind: 'numberValue', numberValue: 2 },
                tags: { kind: 'listValue', listValue: { values: [{ kind: 'boolValue', boolValue: true }, { kind: 'nullValue' }] } },
              },
            },
          },
        },
      },
    );
    expect(view.ruleName).toBe('orders');
    expect(view.input).toMatchObject({ destinationIp: '10.0.0.1', destinationPort: 8443, sni: 'api.example' });
    expect(view.input.metadata).toEqual({ 'envoy.filters.http.jwt_authn': { sub: 'u1', n: 2, tags: [true, null] } });
  });
});
