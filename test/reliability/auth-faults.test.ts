import { gzipSync } from 'node:zlib';
import { TestAdapter, configYaml } from '../helpers/adapter';
import { checkRequest, type DecodedCheckResponse } from '../helpers/check-client';
import { FaultServer, okResponse, type FaultBehaviour } from './fault-server';
import { authErrorCount, retryCount, summarize, type Summary } from './summary';

// The auth-service fault matrix, through the real adapter: a real grpc-js client over Envoy's
// protos, the adapter's real undici pool, and a raw TCP server on 127.0.0.1 that misbehaves in
// ways a real HTTP server never would. Nothing is mocked. docs/reliability.md holds the table.

const TIMEOUT_MS = 300;
const MAX_BODY = 1024;
const STATUS_ON_ERROR = 403;

function yaml(url: string): string {
  const rule = (name: string, mode: string): string =>
    `  - name: ${name}\n` +
    `    service: { url: "${url}", path: /auth, timeout: ${TIMEOUT_MS}ms, mode: ${mode}, statusOnError: ${STATUS_ON_ERROR} }\n` +
    `    response: { allowedHeaders: [x-user-id], maxBodyBytes: ${MAX_BODY} }\n`;
  return configYaml(rule('loose', 'loose') + rule('strict', 'strict'));
}

const LOOSE_ALLOW: Summary = {
  code: 0,
  message: '',
  set: [['x-envoy-auth-failure-mode-allowed', 'true']],
  remove: ['x-user-id', 'x_envoy_auth_failure_mode_allowed', 'x_user_id'],
};
const STRICT_DENY: Summary = {
  code: 7,
  message: 'unavailable_strict',
  deniedStatus: STATUS_ON_ERROR,
  deniedHeaders: [],
  body: '',
};
const unavailable = { loose: LOOSE_ALLOW, strict: STRICT_DENY };

function denial(status: number, headers: Array<[string, string]>, body: string): Summary {
  return { code: status === 401 ? 16 : 7, message: 'auth_denied', deniedStatus: status, deniedHeaders: headers, body };
}
const same = (s: Summary): { loose: Summary; strict: Summary } => ({ loose: s, strict: s });

/** Writes `text`, then resets the connection (RST, not FIN) before the response is complete. */
function thenReset(text: string): FaultBehaviour {
  return (socket) => socket.write(text, () => socket.resetAndDestroy());
}

/** Writes a chunk every `ms` until the adapter hangs up; bounded by `max` writes. */
function drip(fs: FaultServer, socket: import('node:net').Socket, ms: number, chunk: string, max: number): void {
  let left = max;
  fs.every(ms, () => {
    if (socket.destroyed || left-- <= 0) return false;
    socket.write(chunk);
    return true;
  });
}

const GZIPPED = gzipSync(Buffer.from('{"error":"expired"}'));
const BIG_HEADERS = Array.from({ length: 64 }, (_, i) => `x-filler-${i}: ${'a'.repeat(1000)}`).join('\r\n');

interface Row {
  readonly fault: string;
  /** Set when the fault is in how the port answers, not in what is written on a connection. */
  readonly refused?: boolean;
  behaviour(fs: FaultServer): FaultBehaviour;
  readonly expected: { loose: Summary; strict: Summary };
  /** The `kind` label counted under ext_authz_auth_service_errors_total, when unavailable. */
  readonly kind?: string;
  /** Whether the connection may stay open for reuse (the response was complete and keep-alive). */
  readonly reusable: boolean;
  /** Asked again on a new connection (service.retries, default 1): refused, or closed before any response byte. */
  readonly retried?: boolean;
}

const ROWS: readonly Row[] = [
  {
    fault: 'connection refused',
    refused: true,
    behaviour: () => () => undefined,
    expected: unavailable,
    kind: 'connect',
    reusable: false,
    retried: true,
  },
  {
    fault: 'accepted, then closed with no response',
    behaviour: () => (socket) => socket.end(),
    expected: unavailable,
    kind: 'reset',
    reusable: false,
    retried: true,
  },
  {
    fault: 'reset mid-headers',
    behaviour: () => thenReset('HTTP/1.1 200 OK\r\nx-user-id: u-1\r\ncontent-le'),
    expected: unavailable,
    kind: 'reset',
    reusable: false,
  },
  {
    fault: 'reset mid-body (a 200 whose body is cut is not an answer)',
    behaviour: () => thenReset('HTTP/1.1 200 OK\r\nx-user-id: u-1\r\ncontent-length: 100\r\n\r\npartial'),
    expected: unavailable,
    kind: 'reset',
    reusable: false,
  },
  {
    fault: 'garbage status line',
    behaviour: () => (socket) => socket.write('SPDY/9 banana\r\n\r\n'),
    expected: unavailable,
    kind: 'protocol',
    reusable: false,
  },
  {
    fault: 'a 1xx (103 Early Hints) before the real answer',
    behaviour: () => (socket) =>
      socket.write('HTTP/1.1 103 Early Hints\r\nlink: </s.css>; rel=preload\r\n\r\n' + okResponse(200, { 'x-user-id': 'u-1' })),
    expected: same({
      code: 0,
      message: '',
      set: [['x-user-id', 'u-1']],
      remove: ['x-envoy-auth-failure-mode-allowed', 'x_envoy_auth_failure_mode_allowed', 'x_user_id'],
    }),
    reusable: true,
  },
  {
    // undici alone destroys the connection on a 100 it did not ask for; the adapter drops interim
    // heads before undici reads them (response-watch.ts), as RFC 9110 §15.2 asks of a client.
    fault: 'an unsolicited 100 Continue before the real answer',
    behaviour: () => (socket) => socket.write(`HTTP/1.1 100 Continue\r\n\r\n${okResponse(200, { 'x-user-id': 'u-1' })}`),
    expected: same({
      code: 0,
      message: '',
      set: [['x-user-id', 'u-1']],
      remove: ['x-envoy-auth-failure-mode-allowed', 'x_envoy_auth_failure_mode_allowed', 'x_user_id'],
    }),
    reusable: true,
  },
  {
    fault: 'a 101 Switching Protocols nobody asked for',
    behaviour: () => (socket) => socket.write('HTTP/1.1 101 Switching Protocols\r\nconnection: upgrade\r\nupgrade: websocket\r\n\r\n'),
    expected: unavailable,
    kind: 'protocol',
    reusable: false,
  },
  {
    fault: 'a 100 Continue and then nothing (closed)',
    behaviour: () => (socket) => socket.end('HTTP/1.1 100 Continue\r\n\r\n'),
    expected: unavailable,
    kind: 'reset',
    reusable: false,
  },
  {
    fault: 'an endless chunked body (kept to response.maxBodyBytes, then hung up)',
    behaviour: (fs) => (socket) => {
      socket.write('HTTP/1.1 403 Forbidden\r\ncontent-type: text/plain\r\ntransfer-encoding: chunked\r\n\r\n');
      drip(fs, socket, 1, `400\r\n${'x'.repeat(0x400)}\r\n`, 100_000);
    },
    expected: same(denial(403, [['content-type', 'text/plain']], 'x'.repeat(MAX_BODY))),
    reusable: false,
  },
  {
    fault: '64 KiB of response headers',
    behaviour: () => (socket) => socket.write(`HTTP/1.1 200 OK\r\n${BIG_HEADERS}\r\ncontent-length: 0\r\n\r\n`),
    expected: unavailable,
    kind: 'protocol',
    reusable: false,
  },
  {
    fault: 'headers slower than the timeout',
    behaviour: (fs) => (socket) => drip(fs, socket, 50, '', 100),
    expected: unavailable,
    kind: 'timeout',
    reusable: false,
  },
  {
    fault: 'a body slower than the timeout (a 200 whose body is late is not an answer)',
    behaviour: (fs) => (socket) => {
      socket.write('HTTP/1.1 200 OK\r\nx-user-id: u-1\r\ncontent-length: 100\r\n\r\n');
      drip(fs, socket, 50, 'x', 100);
    },
    expected: unavailable,
    kind: 'timeout',
    reusable: false,
  },
  {
    fault: 'HTTP/1.0 without keep-alive, body delimited by close',
    behaviour: () => (socket) => socket.end('HTTP/1.0 401 Unauthorized\r\nwww-authenticate: Bearer\r\n\r\nlogin first'),
    expected: same(denial(401, [['www-authenticate', 'Bearer']], 'login first')),
    reusable: false,
  },
  {
    fault: 'a 3xx (never followed; passed to the client)',
    behaviour: () => (socket) => socket.write(okResponse(302, { location: 'https://login.example.com/?next=%2F' }, 'moved')),
    expected: same(denial(302, [['location', 'https://login.example.com/?next=%2F']], 'moved')),
    reusable: true,
  },
  {
    fault: 'a gzip body (not UTF-8: body and content-encoding dropped)',
    behaviour: () => (socket) => {
      const head =
        'HTTP/1.1 401 Unauthorized\r\ncontent-type: application/json\r\ncontent-encoding: gzip\r\n' +
        `content-length: ${GZIPPED.length}\r\n\r\n`;
      socket.write(Buffer.concat([Buffer.from(head, 'latin1'), GZIPPED]));
    },
    expected: same(denial(401, [['content-type', 'application/json']], '')),
    reusable: true,
  },
  {
    fault: 'a 503',
    behaviour: () => (socket) => socket.write(okResponse(503, { 'retry-after': '1' }, 'busy')),
    expected: unavailable,
    kind: '5xx',
    reusable: true,
  },
  {
    fault: 'a body over response.maxBodyBytes, with content-length',
    behaviour: () => (socket) => socket.write(okResponse(403, {}, 'y'.repeat(10 * MAX_BODY))),
    expected: same(denial(403, [], 'y'.repeat(MAX_BODY))),
    reusable: true,
  },
  {
    fault: 'a UTF-8 body cut inside a character by response.maxBodyBytes',
    behaviour: () => (socket) => socket.write(okResponse(403, {}, `${'z'.repeat(MAX_BODY - 1)}é and more`)),
    expected: same(denial(403, [], 'z'.repeat(MAX_BODY - 1))),
    reusable: true,
  },
];

const NORMAL: FaultBehaviour = (socket) => socket.write(okResponse(200, { 'x-user-id': 'u-ok' }));
const NORMAL_ANSWER: Summary = {
  code: 0,
  message: '',
  set: [['x-user-id', 'u-ok']],
  remove: ['x-envoy-auth-failure-mode-allowed', 'x_envoy_auth_failure_mode_allowed', 'x_user_id'],
};

let fault: FaultServer | undefined;
let adapter: TestAdapter | undefined;

afterEach(async () => {
  await adapter?.close();
  await fault?.close();
  adapter = undefined;
  fault = undefined;
});

async function check(a: TestAdapter, rule: string): Promise<DecodedCheckResponse> {
  return a.client.check(checkRequest({ path: '/orders/1', contextExtensions: { rule }, headers: { 'x-user-id': 'forged' } }));
}

describe.each(ROWS)('auth service fault: $fault', (row) => {
  test('exact CheckResponse in loose and strict mode; one request each; the next check is normal; no socket left open', async () => {
    const fs = await FaultServer.start(NORMAL);
    fault = fs;
    fs.behaviour = row.behaviour(fs);
    const port = fs.port;
    if (row.refused) await fs.close();
    adapter = await TestAdapter.start(yaml(`http://127.0.0.1:${port}`));

    expect(summarize(await check(adapter, 'loose'))).toEqual(row.expected.loose);
    expect(summarize(await check(adapter, 'strict'))).toEqual(row.expected.strict);
    // Only a call nothing was answered to is asked again, once; no other fault is retried or replayed.
    expect(fs.requests).toBe(row.refused ? 0 : row.retried ? 4 : 2);

    const metrics = await fetchMetrics(adapter.server.adminPort);
    for (const rule of ['loose', 'strict']) {
      expect({ rule, count: authErrorCount(metrics, rule, row.kind ?? '') }).toEqual({ rule, count: row.kind ? 1 : 0 });
      expect({ rule, retries: retryCount(metrics, rule) }).toEqual({ rule, retries: row.retried ? 1 : 0 });
    }

    // Faulty connections are closed by the adapter; only a complete keep-alive answer leaves one idle.
    expect(await fs.settle(row.reusable ? 1 : 0)).toBeLessThanOrEqual(row.reusable ? 1 : 0);

    if (row.refused) await fs.listen(port);
    fs.behaviour = NORMAL;
    expect(summarize(await check(adapter, 'loose'))).toEqual(NORMAL_ANSWER);
    expect(summarize(await check(adapter, 'strict'))).toEqual(NORMAL_ANSWER);
    expect(await fs.settle(1)).toBeLessThanOrEqual(1);

    await adapter.close();
    adapter = undefined;
    expect(await fs.settle(0)).toBe(0);
  });
});

async function fetchMetrics(port: number): Promise<string> {
  const res = await fetch(`http://127.0.0.1:${port}/metrics`);
  return res.text();
}
