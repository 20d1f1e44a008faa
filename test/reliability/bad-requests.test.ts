import { TestAdapter, configYaml } from '../helpers/adapter';
import { TestAuthService, reply, type ReceivedRequest } from '../helpers/auth-service';
import { checkRequest, type CheckRequestInit } from '../helpers/check-client';
import { authErrorCount, summarize, type Summary } from './summary';

// Malformed or hostile CheckRequests, through the real adapter and a real auth service. Each
// has one defined answer, the same in loose and strict mode: a request the adapter cannot
// forward faithfully is a denial, never "unavailable", which loose mode would let through.

let auth: TestAuthService;
let adapter: TestAdapter;

beforeAll(async () => {
  auth = await TestAuthService.start(reply(200, { 'x-user-id': 'u-1' }));
  const rule = (name: string, mode: string): string =>
    `  - name: ${name}\n` +
    `    service: { url: "${auth.url}", path: /auth, timeout: 2s, mode: ${mode} }\n` +
    '    request: { allowedHeaders: [x-tenant], body: { enabled: true } }\n' +
    '    response: { allowedHeaders: [x-user-id] }\n';
  adapter = await TestAdapter.start(configYaml(rule('loose', 'loose') + rule('strict', 'strict')));
});

afterAll(async () => {
  await adapter.close();
  await auth.close();
});

beforeEach(() => {
  auth.received.length = 0;
});

const ALLOWED: Summary = {
  code: 0,
  message: '',
  set: [['x-user-id', 'u-1']],
  remove: ['x-envoy-auth-failure-mode-allowed', 'x_envoy_auth_failure_mode_allowed', 'x_user_id'],
};

function denied(status: number, message: string): Summary {
  return { code: 7, message, deniedStatus: status, deniedHeaders: [], body: '' };
}

const INVALID_ATTRIBUTES = denied(403, 'invalid_request');
const INVALID = denied(400, 'invalid_request');
const TOO_LARGE = denied(431, 'request_too_large');

const manyHeaders = (n: number, prefix: string): Record<string, string> =>
  Object.fromEntries(Array.from({ length: n }, (_, i) => [`${prefix}${i}`, `v${i}`]));

const NOT_UTF8 = Buffer.from([0x80, 0xff, 0x41, 0x00, 0xfe]);
const NOT_UTF8_TOKEN = Buffer.concat([Buffer.from('Bearer '), Buffer.from([0xe9, 0xff, 0x41])]);

interface Row {
  readonly name: string;
  /** A CheckRequest builder; `rule` pins the rule under test through context_extensions. */
  request(rule: string): unknown;
  readonly expected: Summary;
  /** What the auth service must have received, once per mode; nothing when undefined. */
  received?(got: ReceivedRequest): void;
  /** The `kind` counted under ext_authz_auth_service_errors_total, when one is. */
  readonly kind?: string;
}

const pinned = (init: CheckRequestInit) => (rule: string) => checkRequest({ ...init, contextExtensions: { rule } });

const ROWS: readonly Row[] = [
  { name: 'no attributes', request: () => ({}), expected: INVALID_ATTRIBUTES },
  {
    name: 'attributes without request.http',
    request: (rule) => ({ attributes: { context_extensions: { rule } } }),
    expected: INVALID_ATTRIBUTES,
  },
  {
    name: 'request.http with nothing in it',
    request: (rule) => ({ attributes: { request: { http: {} }, context_extensions: { rule } } }),
    expected: INVALID,
  },
  {
    name: 'an empty path',
    request: (rule) => {
      const req = checkRequest({ path: '', contextExtensions: { rule } }) as {
        attributes: { request: { http: { headers: Record<string, string> } } };
      };
      delete req.attributes.request.http.headers[':path'];
      return req;
    },
    expected: INVALID,
  },
  { name: 'a path without a leading "/"', request: pinned({ path: 'orders/1' }), expected: INVALID },
  { name: 'an asterisk-form path (OPTIONS *)', request: pinned({ method: 'OPTIONS', path: '*' }), expected: INVALID },
  { name: 'a path holding a space', request: pinned({ path: '/a b' }), expected: INVALID },
  {
    name: 'a 64 KiB path (over request.maxHeaderBytes with the rest of the head)',
    request: pinned({ path: `/${'a'.repeat(64 * 1024)}` }),
    expected: TOO_LARGE,
    kind: 'request_too_large',
  },
  {
    name: '10,000 headers, none forwarded: only the forwarded ones reach the auth service',
    request: pinned({ headers: { ...manyHeaders(10_000, 'x-h-'), authorization: 'Bearer t' } }),
    expected: ALLOWED,
    received: (got) => {
      expect(got.headers.authorization).toBe('Bearer t');
      expect(Object.keys(got.headers).filter((k) => k.startsWith('x-h-'))).toEqual([]);
    },
  },
  {
    name: '10,000 x-b3-* headers (all forwarded, over request.maxHeaderBytes)',
    request: pinned({ headers: manyHeaders(10_000, 'x-b3-') }),
    expected: TOO_LARGE,
    kind: 'request_too_large',
  },
  ...['\r', '\n', '\0', '\r\nx-injected: 1'].map((bad) => ({
    name: `a forwarded header value holding ${JSON.stringify(bad)}`,
    request: pinned({ headers: { authorization: `Bearer a${bad}b` } }),
    expected: INVALID,
  })),
  {
    name: 'a control character in a header that is not forwarded',
    request: pinned({ headers: { 'x-other': 'a\r\nb', authorization: 'Bearer t' } }),
    expected: ALLOWED,
    received: (got) => expect(got.headers['x-other']).toBeUndefined(),
  },
  { name: 'a control character in the host', request: pinned({ host: 'a\nb.example.com' }), expected: INVALID },
  ...['GET /x', 'G(T', '', 'DELETE\0'].map((method) => ({
    name: `method ${JSON.stringify(method)}, not an HTTP token`,
    request: (rule: string) => {
      const req = checkRequest({ method, contextExtensions: { rule } }) as {
        attributes: { request: { http: { headers: Record<string, string> } } };
      };
      delete req.attributes.request.http.headers[':method'];
      return req;
    },
    expected: INVALID,
  })),
  {
    name: 'a raw_body that is not UTF-8 is forwarded byte for byte',
    request: pinned({ method: 'POST', raw_body: NOT_UTF8 }),
    expected: ALLOWED,
    received: (got) => expect(got.body.equals(NOT_UTF8)).toBe(true),
  },
  {
    name: 'non-ASCII text in `headers` travels as its UTF-8 bytes',
    request: pinned({ headers: { authorization: 'Bearer 日本é' } }),
    expected: ALLOWED,
    received: (got) => expect(Buffer.from(got.headers.authorization as string, 'latin1').toString('utf8')).toBe('Bearer 日本é'),
  },
  {
    name: 'header_map (encode_raw_headers) works like headers, repeats joined',
    request: (rule) =>
      checkRequest({
        contextExtensions: { rule },
        path: '',
        host: '',
        method: '',
        header_map: {
          headers: [
            { key: ':authority', raw_value: Buffer.from('raw.example.com') },
            { key: ':path', raw_value: Buffer.from('/raw/../orders?q=1') },
            { key: ':method', raw_value: Buffer.from('PATCH') },
            { key: 'Authorization', raw_value: Buffer.from('Bearer raw') },
            { key: 'x-tenant', raw_value: Buffer.from('a') },
            { key: 'x-tenant', value: 'b' },
          ],
        },
      }),
    expected: ALLOWED,
    received: (got) => {
      expect([got.method, got.url, got.headers.host]).toEqual(['PATCH', '/auth/orders?q=1', 'raw.example.com']);
      expect(got.headers.authorization).toBe('Bearer raw');
      expect(got.headers['x-tenant']).toBe('a,b');
    },
  },
  {
    name: 'header_map raw bytes that are not UTF-8 are forwarded as they are',
    request: pinned({ header_map: { headers: [{ key: 'authorization', raw_value: NOT_UTF8_TOKEN }] } }),
    expected: ALLOWED,
    received: (got) => expect(Buffer.from(got.headers.authorization as string, 'latin1').equals(NOT_UTF8_TOKEN)).toBe(true),
  },
  {
    name: 'a header_map name that is not a token, in a forwarded family (x-b3-*)',
    request: pinned({ header_map: { headers: [{ key: 'x-b3-a b', raw_value: Buffer.from('1') }] } }),
    expected: INVALID,
  },
  {
    name: 'header_map raw bytes holding LF',
    request: pinned({ header_map: { headers: [{ key: 'authorization', raw_value: Buffer.from('Bearer a\nb') }] } }),
    expected: INVALID,
  },
];

describe.each(ROWS)('bad CheckRequest: $name', (row) => {
  test('the same defined answer in loose and strict mode, and the adapter keeps answering', async () => {
    const before = await metricsText();
    for (const rule of ['loose', 'strict']) {
      expect({ rule, answer: summarize(await adapter.client.check(row.request(rule))) }).toEqual({ rule, answer: row.expected });
    }
    if (row.received) {
      expect(auth.received).toHaveLength(2);
      for (const got of auth.received) row.received(got);
    } else {
      expect(auth.received).toHaveLength(0);
    }
    if (row.kind) {
      const after = await metricsText();
      for (const rule of ['loose', 'strict']) {
        expect(authErrorCount(after, rule, row.kind) - authErrorCount(before, rule, row.kind)).toBe(1);
      }
    }
    auth.received.length = 0;
    expect(summarize(await adapter.client.check(checkRequest({ contextExtensions: { rule: 'loose' } })))).toEqual(ALLOWED);
  });
});

async function metricsText(): Promise<string> {
  return (await fetch(`http://127.0.0.1:${adapter.server.adminPort}/metrics`)).text();
}
