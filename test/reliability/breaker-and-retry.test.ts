import type net from 'node:net';
import { TestAdapter, configYaml } from '../helpers/adapter';
import { checkRequest, type DecodedCheckResponse } from '../helpers/check-client';
import { scrape, sumOf, type Sample } from '../helpers/prom-text';
import { until } from '../helpers/until';
import { FaultServer, okResponse, type FaultBehaviour } from './fault-server';
import { summarize, type Summary } from './summary';
import { capturingLogger } from '../helpers/capturing-logger';

// The circuit breaker, the retry and interim (1xx) answers through the real adapter: a real
// grpc-js client, the adapter's real undici pool, and a raw TCP auth service on 127.0.0.1. The
// breaker's clock (openFor) is injected; nothing waits on time except the calls' own timeouts.

const TIMEOUT_MS = 300;
const STATUS_ON_ERROR = 403;
const FAILURES = 3;
const OPEN_FOR_MS = 30_000;

const ALLOWED: Summary = {
  code: 0,
  message: '',
  set: [['x-user-id', 'u-ok']],
  remove: ['x-envoy-auth-failure-mode-allowed', 'x_envoy_auth_failure_mode_allowed', 'x_user_id'],
};
const STRICT_DENY: Summary = { code: 7, message: 'unavailable_strict', deniedStatus: STATUS_ON_ERROR, deniedHeaders: [], body: '' };
const LOOSE_ALLOW: Summary = {
  code: 0,
  message: '',
  set: [['x-envoy-auth-failure-mode-allowed', 'true']],
  remove: ['x-user-id', 'x_envoy_auth_failure_mode_allowed', 'x_user_id'],
};

const NORMAL: FaultBehaviour = (socket) => socket.write(okResponse(200, { 'x-user-id': 'u-ok' }));
/** Accepts the connection and the request, and never answers (a hung pod, a dropped route). */
const BLACKHOLE: FaultBehaviour = () => undefined;

/** One rule's YAML; rules with the same service settings share one pool, and so one breaker. */
function rule(name: string, url: string, service = '', extra = ''): string {
  return (
    `  - name: ${name}\n` +
    `    service: { url: "${url}", timeout: ${TIMEOUT_MS}ms, mode: ${name.startsWith('loose') ? 'loose' : 'strict'}, ` +
    `statusOnError: ${STATUS_ON_ERROR}${service} }\n` +
    `    response: { allowedHeaders: [x-user-id] }\n${extra}`
  );
}
const BREAKER = `, circuitBreaker: { failures: ${FAILURES}, openFor: ${OPEN_FOR_MS / 1000}s }`;

let fault: FaultServer | undefined;
let adapter: TestAdapter | undefined;
afterEach(async () => {
  await adapter?.close();
  await fault?.close();
  adapter = undefined;
  fault = undefined;
});

async function check(a: TestAdapter, ruleName: string, init: Parameters<typeof checkRequest>[0] = {}): Promise<Summary> {
  const res: DecodedCheckResponse = await a.client.check(
    checkRequest({
      path: '/orders/1',
      ...init,
      contextExtensions: { rule: ruleName },
      headers: { 'x-user-id': 'forged', ...init.headers },
    }),
  );
  return summarize(res);
}

const metric = (samples: readonly Sample[], name: string, labels: Record<string, string>): number => sumOf(samples, name, labels);
const errors = (s: readonly Sample[], ruleName: string, kind: string): number =>
  metric(s, 'ext_authz_auth_service_errors_total', { rule: ruleName, kind });
const retries = (s: readonly Sample[], ruleName: string): number => metric(s, 'ext_authz_auth_service_retries_total', { rule: ruleName });
const breakerState = (s: readonly Sample[], ruleName: string): number => metric(s, 'ext_authz_circuit_breaker_state', { rule: ruleName });

describe('circuit breaker', () => {
  test("a blackholed service opens it after `failures` checks; later checks are answered at once, in each rule's mode; a probe closes it", async () => {
    let now = 1_000_000;
    const log = capturingLogger();
    const fs = (fault = await FaultServer.start(BLACKHOLE));
    const a = (adapter = await TestAdapter.start(configYaml(rule('strict', fs.url, BREAKER) + rule('loose', fs.url, BREAKER)), {
      clock: () => now,
      logger: log.logger,
    }));
    const transitions = (): unknown[] => log.lines.filter((l) => typeof l.to === 'string').map((l) => [l.from, l.to, l.rules, l.level]);

    for (let i = 0; i < FAILURES; i++) expect(await check(a, 'strict')).toEqual(STRICT_DENY);
    expect(fs.requests).toBe(FAILURES);
    let m = await scrape(a.server.adminPort);
    expect(errors(m, 'strict', 'timeout')).toBe(FAILURES);
    expect(breakerState(m, 'strict')).toBe(2);
    // The rules share the pool, so they share its breaker.
    expect(breakerState(m, 'loose')).toBe(2);
    expect(transitions()).toEqual([['closed', 'open', ['strict', 'loose'], 40]]);

    // Open: answered without a call, strict denying with statusOnError, loose letting through with the failure header.
    for (let i = 0; i < 4; i++) expect(await check(a, 'strict')).toEqual(STRICT_DENY);
    for (let i = 0; i < 2; i++) expect(await check(a, 'loose')).toEqual(LOOSE_ALLOW);
    expect(fs.requests).toBe(FAILURES);
    m = await scrape(a.server.adminPort);
    expect(errors(m, 'strict', 'circuit_open')).toBe(4);
    expect(errors(m, 'loose', 'circuit_open')).toBe(2);
    expect(errors(m, 'strict', 'timeout')).toBe(FAILURES);
    expect(metric(m, 'ext_authz_checks_total', { rule: 'strict', reason: 'unavailable_strict' })).toBe(FAILURES + 4);
    expect(metric(m, 'ext_authz_checks_total', { rule: 'loose', reason: 'unavailable_loose' })).toBe(2);
    const decisions = log.lines.filter((l) => l.msg === 'check' && l.authError === 'circuit_open');
    expect(decisions).toHaveLength(6);

    // Still open one tick before openFor has passed.
    now += OPEN_FOR_MS - 1;
    expect(await check(a, 'strict')).toEqual(STRICT_DENY);
    expect(fs.requests).toBe(FAILURES);

    // Half-open: one probe goes through; its answer closes the breaker.
    now += 1;
    fs.behaviour = NORMAL;
    expect(await check(a, 'strict')).toEqual(ALLOWED);
    expect(fs.requests).toBe(FAILURES + 1);
    expect(await check(a, 'loose')).toEqual(ALLOWED);
    m = await scrape(a.server.adminPort);
    expect(breakerState(m, 'strict')).toBe(0);
    expect(transitions()).toEqual([
      ['closed', 'open', ['strict', 'loose'], 40],
      ['open', 'half_open', ['strict', 'loose'], 30],
      ['half_open', 'closed', ['strict', 'loose'], 30],
    ]);
  });

  test('a probe that is not answered opens it again; while the probe is out, other checks are answered at once', async () => {
    let now = 0;
    const fs = (fault = await FaultServer.start(BLACKHOLE));
    const a = (adapter = await TestAdapter.start(configYaml(rule('strict', fs.url, BREAKER)), { clock: () => now }));
    for (let i = 0; i < FAILURES; i++) await check(a, 'strict');
    now += OPEN_FOR_MS;

    const probe = check(a, 'strict');
    await until('the probe to reach the service', () => fs.requests === FAILURES + 1);
    expect(await check(a, 'strict')).toEqual(STRICT_DENY);
    expect(fs.requests).toBe(FAILURES + 1);
    expect(await probe).toEqual(STRICT_DENY);

    // Open again, for openFor from the probe's failure.
    expect(await check(a, 'strict')).toEqual(STRICT_DENY);
    expect(fs.requests).toBe(FAILURES + 1);
    const m = await scrape(a.server.adminPort);
    expect(breakerState(m, 'strict')).toBe(2);
    expect(errors(m, 'strict', 'timeout')).toBe(FAILURES + 1);
    expect(errors(m, 'strict', 'circuit_open')).toBe(2);
  });

  test('decision-cache hits are still served while it is open', async () => {
    const now = 0;
    const fs = (fault = await FaultServer.start(NORMAL));
    const a = (adapter = await TestAdapter.start(configYaml(rule('strict', fs.url, BREAKER, '    cache: { ttl: 1h }\n')), {
      clock: () => now,
    }));
    const as = (token: string): Parameters<typeof checkRequest>[0] => ({ headers: { authorization: `Bearer ${token}` } });
    expect(await check(a, 'strict', as('cached'))).toEqual(ALLOWED);

    fs.behaviour = BLACKHOLE;
    for (let i = 0; i < FAILURES; i++) expect(await check(a, 'strict', as(`other-${i}`))).toEqual(STRICT_DENY);
    expect(await check(a, 'strict', as('new'))).toEqual(STRICT_DENY);
    expect(await check(a, 'strict', as('cached'))).toEqual(ALLOWED);
    const m = await scrape(a.server.adminPort);
    expect(breakerState(m, 'strict')).toBe(2);
    expect(errors(m, 'strict', 'circuit_open')).toBe(1);
    expect(metric(m, 'ext_authz_auth_decisions_reused_total', { rule: 'strict', source: 'cache' })).toBe(1);
  });

  test("nothing a client can cause opens it: 5xx answers, 501s, the adapter's own overload, oversized and invalid requests", async () => {
    const held: net.Socket[] = [];
    const fs = (fault = await FaultServer.start((socket, head) => {
      const path = head.split(' ')[1] ?? '';
      if (path.startsWith('/five')) socket.write(okResponse(500, {}, 'boom'));
      else if (path.startsWith('/not-implemented')) socket.write(okResponse(501, {}, 'no'));
      else if (path.startsWith('/hold')) held.push(socket);
      else NORMAL(socket, head);
    }));
    const a = (adapter = await TestAdapter.start(
      configYaml(
        rule(
          'strict',
          fs.url,
          ', circuitBreaker: { failures: 1, openFor: 1h }, maxConcurrent: 1',
          '    request: { maxHeaderBytes: 1024 }\n',
        ) +
          rule(
            'loose',
            fs.url,
            ', circuitBreaker: { failures: 1, openFor: 1h }, maxConcurrent: 1',
            '    request: { maxHeaderBytes: 1024 }\n',
          ),
      ),
    ));
    const burst = 10;
    for (const name of ['strict', 'loose']) {
      for (let i = 0; i < burst; i++) {
        expect((await check(a, name, { path: '/five' })).message).toBe(name === 'strict' ? 'unavailable_strict' : '');
        expect((await check(a, name, { path: '/not-implemented' })).deniedStatus).toBe(501);
        expect((await check(a, name, { headers: { authorization: `Bearer ${'b'.repeat(2048)}` } })).deniedStatus).toBe(431);
        expect((await check(a, name, { method: 'CONNECT', path: 'www.example.com:443' })).deniedStatus).toBe(405);
      }
    }
    // One call held at the service fills maxConcurrent; the burst behind it is the adapter's own overload.
    const holding = check(a, 'strict', { path: '/hold' });
    await until('the held call to reach the service', () => held.length === 1);
    const overloaded = await Promise.all(Array.from({ length: burst }, () => check(a, 'strict')));
    expect(overloaded.map((r) => r.deniedStatus)).toEqual(Array(burst).fill(503));
    held[0].write(okResponse(200, { 'x-user-id': 'u-ok' }));
    expect(await holding).toEqual(ALLOWED);

    const m = await scrape(a.server.adminPort);
    expect(errors(m, 'strict', '5xx')).toBe(burst);
    expect(errors(m, 'strict', 'overload')).toBe(burst);
    expect(errors(m, 'strict', 'request_too_large')).toBe(burst);
    expect(breakerState(m, 'strict')).toBe(0);
    expect(breakerState(m, 'loose')).toBe(0);
    expect(errors(m, 'strict', 'circuit_open') + errors(m, 'loose', 'circuit_open')).toBe(0);
    const before = fs.requests;
    expect(await check(a, 'loose')).toEqual(ALLOWED);
    expect(fs.requests).toBe(before + 1);
  });

  test('circuitBreaker: false never opens', async () => {
    const fs = (fault = await FaultServer.start(BLACKHOLE));
    const a = (adapter = await TestAdapter.start(configYaml(rule('strict', fs.url, ', circuitBreaker: false'))));
    for (let i = 0; i < 6; i++) expect(await check(a, 'strict')).toEqual(STRICT_DENY);
    expect(fs.requests).toBe(6);
    const m = await scrape(a.server.adminPort);
    expect(m.filter((s) => s.name === 'ext_authz_circuit_breaker_state')).toEqual([]);
  });
});

describe('retry', () => {
  /** Resets the first `n` requests' connections (RST, before any byte of a response); answers the rest. */
  function resetFirst(n: number): FaultBehaviour {
    let left = n;
    return (socket, head) => (left-- > 0 ? socket.resetAndDestroy() : NORMAL(socket, head));
  }

  test('a reset before any byte is asked again once, on a new connection, and the check allowed', async () => {
    const fs = (fault = await FaultServer.start(resetFirst(1)));
    const a = (adapter = await TestAdapter.start(configYaml(rule('strict', fs.url))));
    expect(await check(a, 'strict')).toEqual(ALLOWED);
    expect(fs.requests).toBe(2);
    expect(fs.connections).toBe(2);
    const m = await scrape(a.server.adminPort);
    expect(retries(m, 'strict')).toBe(1);
    expect(errors(m, 'strict', 'reset')).toBe(0);
    expect(metric(m, 'ext_authz_auth_service_request_duration_seconds_count', { rule: 'strict', status_class: '2xx' })).toBe(1);
  });

  test('a keep-alive connection the service closed while idle: the next check is retried and allowed', async () => {
    const fs = (fault = await FaultServer.start(NORMAL));
    const a = (adapter = await TestAdapter.start(configYaml(rule('strict', fs.url))));
    expect(await check(a, 'strict')).toEqual(ALLOWED);
    // The service drops the idle connection the way a restarting pod does, and closes the next one at once.
    fs.behaviour = resetFirst(1);
    expect(await check(a, 'strict')).toEqual(ALLOWED);
    expect(fs.requests).toBe(3);
    expect(retries(await scrape(a.server.adminPort), 'strict')).toBe(1);
  });

  test('only once (retries: 1): a second reset is the answer', async () => {
    const fs = (fault = await FaultServer.start(resetFirst(2)));
    const a = (adapter = await TestAdapter.start(configYaml(rule('strict', fs.url))));
    expect(await check(a, 'strict')).toEqual(STRICT_DENY);
    expect(fs.requests).toBe(2);
    const m = await scrape(a.server.adminPort);
    expect(retries(m, 'strict')).toBe(1);
    expect(errors(m, 'strict', 'reset')).toBe(1);
  });

  test('retries: 0 turns it off', async () => {
    const fs = (fault = await FaultServer.start(resetFirst(1)));
    const a = (adapter = await TestAdapter.start(configYaml(rule('strict', fs.url, ', retries: 0'))));
    expect(await check(a, 'strict')).toEqual(STRICT_DENY);
    expect(fs.requests).toBe(1);
    expect(retries(await scrape(a.server.adminPort), 'strict')).toBe(0);
  });

  test('a timeout is not retried', async () => {
    const fs = (fault = await FaultServer.start(BLACKHOLE));
    const a = (adapter = await TestAdapter.start(configYaml(rule('strict', fs.url, ', retries: 3'))));
    expect(await check(a, 'strict')).toEqual(STRICT_DENY);
    expect(fs.requests).toBe(1);
    const m = await scrape(a.server.adminPort);
    expect(retries(m, 'strict')).toBe(0);
    expect(errors(m, 'strict', 'timeout')).toBe(1);
  });

  test('a reset after the first byte of a response is not retried', async () => {
    const fs = (fault = await FaultServer.start((socket) => socket.write('HTTP/1.1 200', () => socket.resetAndDestroy())));
    const a = (adapter = await TestAdapter.start(configYaml(rule('strict', fs.url, ', retries: 3'))));
    expect(await check(a, 'strict')).toEqual(STRICT_DENY);
    expect(fs.requests).toBe(1);
    expect(retries(await scrape(a.server.adminPort), 'strict')).toBe(0);
  });

  test('a 5xx is an answer: not retried', async () => {
    const fs = (fault = await FaultServer.start((socket) => socket.write(okResponse(503, {}, 'busy'))));
    const a = (adapter = await TestAdapter.start(configYaml(rule('strict', fs.url, ', retries: 3'))));
    expect(await check(a, 'strict')).toEqual(STRICT_DENY);
    expect(fs.requests).toBe(1);
    expect(retries(await scrape(a.server.adminPort), 'strict')).toBe(0);
  });
});

describe('interim (1xx) answers', () => {
  test('a 100 Continue, then a 200, written piece by piece, allows; counted as one 2xx call', async () => {
    const pieces = [
      'HTTP/1.1 1',
      '00 Continue\r\n',
      '\r\n',
      'HTTP/1.1 103 Early Hints\r\nlink: </a>\r\n\r\nHTTP/1.',
      `1 200 OK\r\nx-user-id: u-ok\r\ncontent-length: 0\r\n\r\n`,
    ];
    const fs = (fault = await FaultServer.start((socket) => {
      // Each piece waits for the previous one to be flushed, so the adapter reads them apart.
      const next = (i: number): void => {
        if (i < pieces.length && !socket.destroyed) socket.write(pieces[i], () => setImmediate(next, i + 1));
      };
      next(0);
    }));
    const a = (adapter = await TestAdapter.start(configYaml(rule('strict', fs.url))));
    expect(await check(a, 'strict')).toEqual(ALLOWED);
    // The connection stays usable: the next answer on it is read as its own.
    expect(await check(a, 'strict')).toEqual(ALLOWED);
    expect(fs.connections).toBe(1);
    const m = await scrape(a.server.adminPort);
    expect(metric(m, 'ext_authz_auth_service_request_duration_seconds_count', { rule: 'strict', status_class: '2xx' })).toBe(2);
    expect(metric(m, 'ext_authz_auth_service_errors_total', { rule: 'strict' })).toBe(0);
  });

  test('an interim head past its bound fails the call as a malformed answer', async () => {
    const fs = (fault = await FaultServer.start((socket) =>
      socket.write(`HTTP/1.1 103 Early Hints\r\nlink: ${'a'.repeat(20_000)}\r\n\r\n`),
    ));
    const a = (adapter = await TestAdapter.start(configYaml(rule('strict', fs.url))));
    expect(await check(a, 'strict')).toEqual(STRICT_DENY);
    expect(errors(await scrape(a.server.adminPort), 'strict', 'protocol')).toBe(1);
  });
});
