import type http from 'node:http';
import * as grpc from '@grpc/grpc-js';
import { TestAdapter, configYaml, ruleYaml } from '../helpers/adapter';
import { TestAuthService, deadUrl, reply } from '../helpers/auth-service';
import { checkRequest, deniedHeaders, okHeaders } from '../helpers/check-client';

// Everything here is real: the adapter's gRPC server, a grpc-js client over Envoy's protos,
// and an HTTP auth service on 127.0.0.1. Nothing is mocked.

// envoy.config.core.v3.HeaderValueOption.HeaderAppendAction
const APPEND_IF_EXISTS_OR_ADD = 0;
const OVERWRITE_IF_EXISTS_OR_ADD = 2;

let auth: TestAuthService;
let adapter: TestAdapter | undefined;

beforeEach(async () => {
  auth = await TestAuthService.start(reply(200));
});

afterEach(async () => {
  await adapter?.close();
  adapter = undefined;
  await auth.close();
});

async function start(extra = '', name = 'orders', url = auth.url, top = ''): Promise<TestAdapter> {
  adapter = await TestAdapter.start(configYaml(ruleYaml(name, url, extra), top));
  return adapter;
}

describe('the request to the auth service', () => {
  test('keeps method and query, joins service.path with one "/", forwards host, token and content-length', async () => {
    const a = await start('    request: { allowedHeaders: [X-Tenant] }\n');
    await a.client.check(
      checkRequest({
        method: 'DELETE',
        path: '/order?id=1&x=%2F',
        host: 'shop.example.com:8443',
        headers: { authorization: 'Bearer t0ken', 'x-tenant': 'acme', 'x-secret': 'nope', cookie: 'sid=1' },
      }),
    );
    expect(auth.received).toHaveLength(1);
    const got = auth.received[0];
    expect(got.method).toBe('DELETE');
    expect(got.url).toBe('/validateToken/order?id=1&x=%2F');
    expect(got.headers.host).toBe('shop.example.com:8443');
    expect(got.headers.authorization).toBe('Bearer t0ken');
    expect(got.headers['x-tenant']).toBe('acme');
    // No body and a method that defines none: RFC 9110 §8.6 says send no Content-Length.
    expect(got.headers['content-length']).toBeUndefined();
    expect(got.headers['x-secret']).toBeUndefined();
    expect(got.headers.cookie).toBeUndefined();
  });

  test('forwards the token from the cookie header when tokenHeader is cookie, and trace context always', async () => {
    const a = await start('    request: { tokenHeader: cookie }\n');
    await a.client.check(
      checkRequest({
        headers: {
          cookie: 'session=abc',
          authorization: 'Bearer other',
          traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01',
          'x-request-id': 'req-1',
          'x-b3-traceid': '80f198ee56343ba864fe8b2a57d3eff7',
          b3: '80f198ee56343ba864fe8b2a57d3eff7-e457b5a2e4d86bd1-1',
        },
      }),
    );
    const got = auth.received[0].headers;
    expect(got.cookie).toBe('session=abc');
    expect(got.authorization).toBeUndefined();
    expect(got.traceparent).toBe('00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01');
    expect(got['x-request-id']).toBe('req-1');
    expect(got['x-b3-traceid']).toBe('80f198ee56343ba864fe8b2a57d3eff7');
    expect(got.b3).toBe('80f198ee56343ba864fe8b2a57d3eff7-e457b5a2e4d86bd1-1');
  });

  test('never forwards hop-by-hop headers: listing one is refused at load, with its key path', async () => {
    await expect(start('    request: { allowedHeaders: [x-tenant, upgrade] }\n')).rejects.toThrow(
      /rules\[0\]\.request\.allowedHeaders\[1\]: "upgrade" describes a connection/,
    );
    const a = await start('    request: { allowedHeaders: [x-tenant] }\n');
    await a.client.check(
      checkRequest({ headers: { upgrade: 'websocket', 'transfer-encoding': 'chunked', te: 'trailers', 'x-tenant': 't' } }),
    );
    const got = auth.received[0].headers;
    expect(got.upgrade).toBeUndefined();
    expect(got.te).toBeUndefined();
    expect(got['transfer-encoding']).toBeUndefined();
    expect(got['x-tenant']).toBe('t');
  });

  test.each([
    ['', '/order?id=1', '/order?id=1'],
    ['/validateToken/', '/order', '/validateToken/order'],
    ['/validateToken', '/', '/validateToken/'],
  ])('service.path %j + %j is %j', async (servicePath, original, expected) => {
    adapter = await TestAdapter.start(configYaml(`  - name: r\n    service: { url: "${auth.url}", path: "${servicePath}" }\n`));
    await adapter.client.check(checkRequest({ path: original }));
    expect(auth.received[0].url).toBe(expected);
  });

  test('sends the body only when enabled, cut at maxBytes, with a matching content-length', async () => {
    const a = await start('    request: { body: { enabled: true, maxBytes: 5 } }\n');
    await a.client.check(checkRequest({ method: 'POST', body: 'hello world', headers: { 'content-length': '11' } }));
    expect(auth.received[0].body.toString()).toBe('hello');
    expect(auth.received[0].headers['content-length']).toBe('5');
  });

  test('sends raw_body bytes as they are', async () => {
    const a = await start('    request: { body: { enabled: true } }\n');
    const bytes = Buffer.from([0xff, 0x00, 0xfe, 0x41]);
    await a.client.check(checkRequest({ method: 'PUT', raw_body: bytes }));
    expect(auth.received[0].body.equals(bytes)).toBe(true);
  });

  test('sends no body when body forwarding is off, and content-length 0 for a POST', async () => {
    const a = await start();
    await a.client.check(checkRequest({ method: 'POST', body: 'secret payload', headers: { 'content-length': '14' } }));
    expect(auth.received[0].body.length).toBe(0);
    expect(auth.received[0].headers['content-length']).toBe('0');
  });

  test('reuses keep-alive connections across checks', async () => {
    const a = await start();
    let connections = 0;
    auth.server.on('connection', () => connections++);
    for (let i = 0; i < 20; i++) await a.client.check(checkRequest({ path: `/o/${i}` }));
    expect(auth.received).toHaveLength(20);
    expect(connections).toBe(1);
  });
});

describe('the answer to Envoy', () => {
  test('200 allows, overwriting the listed headers the service returned and removing the others', async () => {
    auth.handler = reply(200, { 'x-user-id': 'u-42', 'x-other': 'not listed' });
    const a = await start('    response: { allowedHeaders: [x-user-id, x-role] }\n');
    const res = await a.client.check(checkRequest({ headers: { 'x-user-id': 'forged', 'x-role': 'admin' } }));
    expect(res.status?.code ?? 0).toBe(0);
    expect(res.denied_response).toBeUndefined();
    expect(okHeaders(res)).toEqual({ 'x-user-id': 'u-42' });
    const header = res.ok_response?.headers?.[0];
    expect(header?.append?.value).toBe(false);
    expect(header?.append_action).toBe(OVERWRITE_IF_EXISTS_OR_ADD);
    expect(res.ok_response?.headers_to_remove).toEqual(expect.arrayContaining(['x-role']));
    expect(res.ok_response?.headers_to_remove).not.toContain('x-user-id');
  });

  test('a client-sent x-user-id is removed when the auth service sets none', async () => {
    const a = await start('    response: { allowedHeaders: [x-user-id] }\n');
    const res = await a.client.check(checkRequest({ headers: { 'x-user-id': 'admin' } }));
    expect(okHeaders(res)).toEqual({});
    expect(res.ok_response?.headers_to_remove).toContain('x-user-id');
  });

  test('401 with WWW-Authenticate and a JSON body reaches the client unchanged', async () => {
    const body = JSON.stringify({ error: 'invalid_token', detail: 'expired' });
    auth.handler = reply(401, { 'www-authenticate': 'Bearer error="invalid_token"', 'content-type': 'application/json' }, body);
    const a = await start();
    const res = await a.client.check(checkRequest({ headers: { authorization: 'Bearer old' } }));
    expect(res.status?.code).toBe(grpc.status.UNAUTHENTICATED);
    expect(res.denied_response?.status?.code).toBe(401);
    expect(res.denied_response?.body).toBe(body);
    const headers = deniedHeaders(res);
    expect(headers).toContainEqual(['www-authenticate', 'Bearer error="invalid_token"']);
    expect(headers).toContainEqual(['content-type', 'application/json']);
    expect(headers.map(([k]) => k)).not.toContain('content-length');
    expect(headers.map(([k]) => k)).not.toContain('connection');
  });

  test.each([403, 302, 429, 404])('%i is a denial with that status and PERMISSION_DENIED', async (status) => {
    auth.handler = reply(status, { location: 'https://login.example.com/' }, 'go away');
    const a = await start();
    const res = await a.client.check(checkRequest());
    expect(res.status?.code).toBe(grpc.status.PERMISSION_DENIED);
    expect(res.denied_response?.status?.code).toBe(status);
    expect(res.denied_response?.body).toBe('go away');
  });

  test('repeated set-cookie headers are all passed on a denial, the repeats appended', async () => {
    auth.handler = (_req, res) => {
      res.setHeader('set-cookie', ['a=1', 'b=2']);
      res.writeHead(403);
      res.end();
    };
    const a = await start();
    const res = await a.client.check(checkRequest());
    const cookies = (res.denied_response?.headers ?? []).filter((h) => h.header.key === 'set-cookie');
    expect(cookies.map((h) => [h.header.value, h.append_action])).toEqual([
      ['a=1', OVERWRITE_IF_EXISTS_OR_ADD],
      ['b=2', APPEND_IF_EXISTS_OR_ADD],
    ]);
  });

  test('200 with the result header "false" denies with the auth service body', async () => {
    auth.handler = reply(200, { 'x-mse-external-authz-check-result': 'FALSE', 'content-type': 'text/plain' }, 'no access');
    const a = await start();
    const res = await a.client.check(checkRequest());
    expect(res.status?.code).toBe(grpc.status.PERMISSION_DENIED);
    expect(res.status?.message).toBe('result_header_false');
    expect(res.denied_response?.status?.code).toBe(200);
    expect(res.denied_response?.body).toBe('no access');
  });

  test('200 with the result header "true" allows', async () => {
    auth.handler = reply(200, { 'x-mse-external-authz-check-result': 'true' });
    const a = await start();
    const res = await a.client.check(checkRequest());
    expect(res.status?.code ?? 0).toBe(0);
  });

  test('an unrecognized result header value fails closed', async () => {
    auth.handler = reply(200, { 'x-check': 'maybe' });
    const a = await start('    response: { resultHeader: X-Check }\n');
    const res = await a.client.check(checkRequest());
    expect(res.status?.code).toBe(grpc.status.PERMISSION_DENIED);
  });
});

describe('an unavailable auth service', () => {
  test('connection refused in strict mode denies with statusOnError and no body', async () => {
    const a = await start('    response: { allowedHeaders: [x-user-id] }\n', 'orders', await deadUrl());
    const res = await a.client.check(checkRequest());
    expect(res.status?.code).toBe(grpc.status.PERMISSION_DENIED);
    expect(res.status?.message).toBe('unavailable_strict');
    expect(res.denied_response?.status?.code).toBe(403);
    expect(res.denied_response?.body ?? '').toBe('');
  });

  test('connection refused in loose mode allows, marks the request and strips auth headers', async () => {
    adapter = await TestAdapter.start(
      configYaml(`  - name: o\n    service: { url: "${await deadUrl()}", mode: loose }\n    response: { allowedHeaders: [x-user-id] }\n`),
    );
    const res = await adapter.client.check(checkRequest({ headers: { 'x-user-id': 'forged' } }));
    expect(res.status?.code ?? 0).toBe(0);
    expect(okHeaders(res)).toEqual({ 'x-envoy-auth-failure-mode-allowed': 'true' });
    expect(res.ok_response?.headers_to_remove).toContain('x-user-id');
  });

  test('statusOnError sets the strict denial status', async () => {
    adapter = await TestAdapter.start(configYaml(`  - name: o\n    service: { url: "${await deadUrl()}", statusOnError: 503 }\n`));
    const res = await adapter.client.check(checkRequest());
    expect(res.denied_response?.status?.code).toBe(503);
  });

  test.each([
    ['strict', false],
    ['loose', true],
  ])('a 5xx answer in %s mode', async (mode, allowed) => {
    auth.handler = reply(503, {}, 'overloaded');
    adapter = await TestAdapter.start(configYaml(`  - name: o\n    service: { url: "${auth.url}", mode: ${mode} }\n`));
    const res = await adapter.client.check(checkRequest());
    expect((res.status?.code ?? 0) === 0).toBe(allowed);
    if (!allowed) expect(res.denied_response?.body ?? '').toBe('');
  });

  test.each([
    ['strict', false],
    ['loose', true],
  ])('a service slower than the timeout in %s mode', async (mode, allowed) => {
    const pending: http.ServerResponse[] = [];
    auth.handler = (_req, res) => pending.push(res);
    adapter = await TestAdapter.start(configYaml(`  - name: o\n    service: { url: "${auth.url}", mode: ${mode}, timeout: 200ms }\n`));
    const res = await adapter.client.check(checkRequest());
    expect((res.status?.code ?? 0) === 0).toBe(allowed);
    expect(res.status?.message ?? '').toBe(allowed ? '' : 'unavailable_strict');
    for (const r of pending) r.end();
  });
});

describe('several rules', () => {
  test('every rule must allow, in order; headers are merged; the first denial stops', async () => {
    const second = await TestAuthService.start(reply(200, { 'x-role': 'admin', 'x-user-id': 'from-second' }));
    auth.handler = reply(200, { 'x-user-id': 'from-first' });
    try {
      adapter = await TestAdapter.start(
        configYaml(
          ruleYaml('first', auth.url, '    response: { allowedHeaders: [x-user-id] }\n') +
            ruleYaml('second', second.url, '    response: { allowedHeaders: [x-role] }\n'),
        ),
      );
      const res = await adapter.client.check(checkRequest());
      expect(okHeaders(res)).toEqual({ 'x-user-id': 'from-first', 'x-role': 'admin' });
      expect(res.ok_response?.headers_to_remove ?? []).not.toContain('x-user-id');

      auth.handler = reply(403, {}, 'first says no');
      const denied = await adapter.client.check(checkRequest());
      expect(denied.denied_response?.body).toBe('first says no');
      expect(second.received).toHaveLength(1);
    } finally {
      await second.close();
    }
  });

  test('a route pins one rule with context_extensions; an unknown name is denied', async () => {
    const second = await TestAuthService.start(reply(403, {}, 'second'));
    try {
      adapter = await TestAdapter.start(configYaml(ruleYaml('first', auth.url) + ruleYaml('second', second.url)));
      const pinned = await adapter.client.check(checkRequest({ contextExtensions: { rule: 'first' } }));
      expect(pinned.status?.code ?? 0).toBe(0);
      expect(second.received).toHaveLength(0);

      const unknown = await adapter.client.check(checkRequest({ contextExtensions: { rule: 'nope' } }));
      expect(unknown.status?.code).toBe(grpc.status.PERMISSION_DENIED);
      expect(unknown.status?.message).toBe('unknown_rule');
      expect(unknown.denied_response?.status?.code).toBe(403);
    } finally {
      await second.close();
    }
  });

  test('a disabled rule is skipped', async () => {
    adapter = await TestAdapter.start(configYaml(ruleYaml('off', auth.url, '    enabled: false\n') + ruleYaml('on', auth.url)));
    await adapter.client.check(checkRequest());
    expect(auth.received).toHaveLength(1);
  });
});

describe('malformed CheckRequests', () => {
  test('no attributes is a denial, not an RPC error', async () => {
    const a = await start();
    const res = await a.client.check({});
    expect(res.status?.code).toBe(grpc.status.PERMISSION_DENIED);
    expect(res.status?.message).toBe('invalid_request');
    expect(auth.received).toHaveLength(0);
  });

  test('header_map (encode_raw_headers) works like headers', async () => {
    const a = await start();
    await a.client.check(
      checkRequest({
        header_map: {
          headers: [
            { key: ':authority', raw_value: Buffer.from('raw.example.com') },
            { key: ':path', raw_value: Buffer.from('/raw?q=1') },
            { key: ':method', raw_value: Buffer.from('GET') },
            { key: 'authorization', raw_value: Buffer.from('Bearer raw') },
          ],
        },
        path: '',
        host: '',
        method: '',
      }),
    );
    expect(auth.received[0].url).toBe('/validateToken/raw?q=1');
    expect(auth.received[0].headers.authorization).toBe('Bearer raw');
    expect(auth.received[0].headers.host).toBe('raw.example.com');
  });
});
