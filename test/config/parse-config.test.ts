import { Issues, parseConfigText, type AdapterSettings } from '../../src/config';

function parse(text: string): { settings?: AdapterSettings; issues: string[] } {
  const issues = new Issues();
  const settings = parseConfigText(text, issues);
  return { settings, issues: issues.list.map((i) => `${i.path}: ${i.message}`) };
}

const MINIMAL = 'rules:\n  - name: a\n    service: { url: "http://auth:8000" }\n';

describe('parseConfigText', () => {
  test('applies every default to a minimal config', () => {
    const { settings, issues } = parse(MINIMAL);
    expect(issues).toEqual([]);
    expect(settings?.grpc.address).toBe('0.0.0.0:9001');
    expect(settings?.admin).toEqual({ address: '0.0.0.0:9002', exposeConfig: false });
    expect(settings?.workers).toBe(1);
    const rule = settings!.rules[0];
    expect(rule.enabled).toBe(true);
    expect(rule.service).toMatchObject({ url: 'http://auth:8000', path: '', timeoutMs: 10_000, mode: 'strict', statusOnError: 403 });
    expect(rule.request.tokenHeaders).toEqual(['authorization']);
    expect(rule.request.body).toEqual({ enabled: false, maxBytes: 10_240 });
    expect(rule.response.resultHeader).toBe('x-mse-external-authz-check-result');
    expect(rule.response.maxBodyBytes).toBe(65_536);
    expect(rule.match.mode).toBe('all');
  });

  test('retries and the circuit breaker: on by default, per rule, `retries: 0` and `circuitBreaker: false` turn them off', () => {
    const { settings, issues } = parse(
      MINIMAL +
        '  - name: b\n    service: { url: "http://b:1", retries: 0, circuitBreaker: false }\n' +
        '  - name: c\n    service: { url: "http://c:1", retries: 2, circuitBreaker: { failures: 10, openFor: 1500ms } }\n' +
        '  - name: d\n    service: { url: "http://d:1", circuitBreaker: { openFor: 1m } }\n',
    );
    expect(issues).toEqual([]);
    expect(settings!.rules.map((r) => [r.service.retries, r.service.circuitBreaker])).toEqual([
      [1, { failures: 5, openForMs: 5_000 }],
      [0, undefined],
      [2, { failures: 10, openForMs: 1_500 }],
      [1, { failures: 5, openForMs: 60_000 }],
    ]);
  });

  test('lowercases header names once, and takes a list of token headers', () => {
    const { settings } = parse(
      'rules:\n  - name: a\n    service: { url: "http://a:1", path: /validateToken/ }\n    request: { tokenHeader: [Authorization, Cookie], allowedHeaders: [X-Tenant] }\n    response: { allowedHeaders: [X-User-Id] }\n',
    );
    const rule = settings!.rules[0];
    expect(rule.request.tokenHeaders).toEqual(['authorization', 'cookie']);
    expect(rule.request.allowedHeaders).toEqual(['x-tenant']);
    expect(rule.response.allowedHeaders).toEqual(['x-user-id']);
    expect(rule.service.path).toBe('/validateToken');
  });

  test.each([
    [
      'rules:\n  - name: a\n    service: { url: "http://a:1", timeout: 10 }\n',
      'rules[0].service.timeout: expected a duration like "250ms" or "10s"',
    ],
    [
      'rules:\n  - name: a\n    service: { url: "http://a:1", mode: lax }\n',
      'rules[0].service.mode: expected one of loose, strict, got "lax"',
    ],
    [
      'rules:\n  - name: a\n    service: { url: "http://a:1", timeot: 1s }\n',
      'rules[0].service.timeot: unknown key; expected one of: url, path',
    ],
    ['rules:\n  - name: a\n    service: { url: "ftp://a:1" }\n', 'rules[0].service.url: expected an http:// or https:// URL'],
    [
      'rules:\n  - name: a\n    service: { url: "http://a:1/check" }\n',
      'rules[0].service.url: expected an origin only (scheme, host, port); put "/check" in service.path',
    ],
    ['rules:\n  - name: a\n    service: { url: "http://u:p@a:1" }\n', 'rules[0].service.url: must not carry credentials'],
    [
      'rules:\n  - name: a\n    service: { url: "http://a:1", statusOnError: 200 }\n',
      'rules[0].service.statusOnError: expected a whole number from 400 to 599, got number 200',
    ],
    [
      'rules:\n  - name: a\n    service: { url: "http://a:1" }\n  - name: a\n    service: { url: "http://a:1" }\n',
      'rules[1].name: duplicate rule name "a"; rules[0] has it already',
    ],
    ['rules:\n  - name: a\n', 'rules[0].service: required'],
    ['rules: []\n', 'rules: expected at least one rule'],
    ['grpc: { address: "9001" }\n' + MINIMAL, 'grpc.address: expected "host:port"'],
    ['workers: many\n' + MINIMAL, 'workers: expected a whole number from 1 to 256 or "auto"'],
    ['logs: { level: info }\n' + MINIMAL, 'logs: unknown key; expected one of: grpc, admin, log'],
    [
      'rules:\n  - name: a\n    service: { url: "http://a:1" }\n    request: { allowedHeaders: ["bad header"] }\n',
      'rules[0].request.allowedHeaders[0]: expected an HTTP header name',
    ],
    [
      'rules:\n  - name: a\n    service: { url: "http://a:1" }\n    match: { mode: all, conditions: [] }\n',
      'rules[0].match.conditions: only used with mode whitelist or blacklist',
    ],
    [
      'rules:\n  - name: a\n    service: { url: "http://a:1", path: "check" }\n',
      'rules[0].service.path: expected a path starting with "/"',
    ],
    [
      'rules:\n  - name: a\n    service: { url: "http://a:1", tls: { ca: ca.pem } }\n',
      'rules[0].service.tls: only applies to an https:// url',
    ],
    ['rules:\n  - name: a\n    service: { url: "https://a:1", tls: { cert: c.pem } }\n', 'rules[0].service.tls: cert and key go together'],
    ['rules:\n  - name: a\n    name: b\n', 'YAML syntax: Map keys must be unique'],
    [
      'rules:\n  - name: a\n    service: { url: "http://a:1", retries: 9 }\n',
      'rules[0].service.retries: expected a whole number from 0 to 3, got number 9',
    ],
    [
      'rules:\n  - name: a\n    service: { url: "http://a:1", circuitBreaker: off }\n',
      'rules[0].service.circuitBreaker: expected false (off), true (the defaults) or a mapping such as { failures: 5, openFor: 5s }, got "off"',
    ],
    [
      'rules:\n  - name: a\n    service: { url: "http://a:1", circuitBreaker: { failures: 0 } }\n',
      'rules[0].service.circuitBreaker.failures: expected a whole number from 1 to 1000',
    ],
    [
      'rules:\n  - name: a\n    service: { url: "http://a:1", circuitBreaker: { openFor: 5 } }\n',
      'rules[0].service.circuitBreaker.openFor: expected a duration like "250ms" or "10s"',
    ],
    [
      'rules:\n  - name: a\n    service: { url: "http://a:1", circuitBreaker: { failure: 3 } }\n',
      'rules[0].service.circuitBreaker.failure: unknown key; expected one of: failures, openFor',
    ],
    [
      'grpc: { maxRequestBytes: 200000 }\nrules:\n  - name: a\n    service: { url: "http://a:1" }\n    request: { body: { enabled: true, maxBytes: 100000 } }\n',
      'grpc.maxRequestBytes: 200000 is too small for rules[0].request.body.maxBytes plus 131072 bytes of headers; expected at least 231072',
    ],
    [
      'grpc: { maxRequestBytes: 1048576, maxInFlightBytes: 524288 }\n' + MINIMAL,
      'grpc.maxInFlightBytes: 524288 is below grpc.maxRequestBytes (1048576)',
    ],
    [
      'workerHeartbeat: { interval: 2s, timeout: 1s }\n' + MINIMAL,
      'workerHeartbeat.timeout: 1000ms must be longer than workerHeartbeat.interval (2000ms)',
    ],
    ['shutdown: { logFlushTimeout: 2m }\n' + MINIMAL, 'shutdown.logFlushTimeout: expected a duration'],
  ])('reports the key path and the fix: %#', (text, expected) => {
    const { issues } = parse(text);
    expect(issues.join('\n')).toContain(expected);
  });

  test('message and in-flight byte bounds: defaults, and a default that grows to fit the largest forwarded body', () => {
    const plain = parse(MINIMAL).settings!;
    expect({ ...plain.grpc, address: undefined }).toEqual({
      address: undefined,
      tls: undefined,
      maxRequestBytes: 1_048_576,
      maxInFlightBytes: 67_108_864,
    });
    expect(plain.shutdown.logFlushTimeoutMs).toBe(2000);
    expect(plain.workerHeartbeat).toEqual({ intervalMs: 1000, timeoutMs: 5000 });
    const big = parse(
      'rules:\n  - name: a\n    service: { url: "http://a:1" }\n    request: { body: { enabled: true, maxBytes: 4194304 } }\n',
    );
    expect(big.issues).toEqual([]);
    expect(big.settings!.grpc.maxRequestBytes).toBe(4_194_304 + 131_072);
  });

  test('lists every problem in one pass', () => {
    const { issues } = parse('rules:\n  - name: "bad name"\n    service: { url: "http://a:1", timeout: soon, mode: lax }\n');
    expect(issues).toHaveLength(3);
  });
});
