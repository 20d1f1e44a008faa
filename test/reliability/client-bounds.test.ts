import type http from 'node:http';
import * as grpc from '@grpc/grpc-js';
import { TestAdapter, configYaml } from '../helpers/adapter';
import { TestAuthService, reply } from '../helpers/auth-service';
import { checkRequest, type DecodedCheckResponse } from '../helpers/check-client';
import { httpGet, scrape, sumOf } from '../helpers/prom-text';
import { until } from '../helpers/until';
import { capturingLogger } from '../helpers/capturing-logger';

// Issue 19, finding 4 and 5 and the /metrics item of 8: what a client sends must not grow the
// adapter's metrics, its memory or its scrape cost. All through the real server, a real grpc-js
// client and a real auth service on 127.0.0.1.

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

describe('metric labels', () => {
  // Every label value the adapter may emit: the config's rule names, or a closed set.
  const CLOSED: Record<string, ReadonlySet<string>> = {
    decision: new Set(['allowed', 'denied', 'error']),
    reason: new Set([
      'bypass',
      'auth_allowed',
      'auth_denied',
      'result_header_false',
      'unavailable_loose',
      'unavailable_strict',
      'overloaded',
      'unknown_rule',
      'invalid_request',
      'request_too_large',
      'cancelled',
      'dry_run_denied',
      'internal_error',
    ]),
    kind: new Set(['connect', 'timeout', 'reset', '5xx', 'overload', 'protocol', 'request_too_large', 'local', 'circuit_open']),
    status_class: new Set(['1xx', '2xx', '3xx', '4xx', '5xx', 'error']),
    source: new Set(['cache', 'coalesced']),
    result: new Set(['success', 'failure']),
    bound: new Set(['in_flight_bytes']),
  };

  test('client-chosen rule names, paths, hosts, methods and ids never become label values; an unknown rule is logged, its name cut', async () => {
    const log = capturingLogger();
    const rules =
      `  - name: api\n    service: { url: "${auth.url}", timeout: 2s }\n    match: { mode: whitelist, conditions: [{ path: /public/* }] }\n` +
      `  - name: other\n    service: { url: "${auth.url}", timeout: 2s, mode: loose }\n    cache: { ttl: 1s }\n    coalesce: true\n`;
    adapter = await TestAdapter.start(configYaml(rules), { logger: log.logger });
    const names = Array.from({ length: 300 }, (_, i) => (i % 3 === 0 ? `r${i}-${'x'.repeat(10_000)}` : `rule-${i}`));
    const methods = ['GET', 'POST', 'BREW', 'CONNECT', 'get'];
    await Promise.all(
      names.map((rule, i) =>
        adapter!.client.check(
          checkRequest({
            method: methods[i % methods.length],
            path: `/p${i}/${'y'.repeat(i)}`,
            host: `h${i}.example`,
            id: `id-${i}`,
            headers: { authorization: `Bearer ${i}` },
            contextExtensions: i % 10 === 0 ? { rule: i % 20 === 0 ? 'api' : 'other' } : { rule },
          }),
        ),
      ),
    );

    const allowedRules = new Set(['api', 'other', '', '(unknown)']);
    const samples = (await scrape(adapter.server.adminPort)).filter((s) => s.name.startsWith('ext_authz_'));
    const strays: string[] = [];
    for (const s of samples) {
      for (const [label, value] of Object.entries(s.labels)) {
        if (label === 'le') continue;
        const ok = label === 'rule' ? allowedRules.has(value) : CLOSED[label]?.has(value);
        if (!ok) strays.push(`${s.name}{${label}=${JSON.stringify(value.slice(0, 40))}}`);
      }
    }
    expect(strays).toEqual([]);
    const unknown = samples.filter((s) => s.name === 'ext_authz_checks_total' && s.labels.reason === 'unknown_rule');
    expect(unknown).toEqual([
      { name: 'ext_authz_checks_total', labels: { rule: '(unknown)', decision: 'denied', reason: 'unknown_rule' }, value: 270 },
    ]);

    const logged = log.lines.filter((l) => l.msg === 'check' && l.reason === 'unknown_rule');
    expect(logged).toHaveLength(270);
    expect(logged.every((l) => l.rule === '(unknown)')).toBe(true);
    expect(logged.find((l) => l.requestedRule === 'rule-1')).toBeDefined();
    const long = logged.filter((l) => String(l.requestedRule).startsWith('r3-'));
    expect(long).toHaveLength(1);
    expect(long[0].requestedRule).toBe(`r3-${'x'.repeat(61)}`);
  });
});

describe('grpc.maxInFlightBytes', () => {
  // A rule that forwards no body, as in the finding: the body still arrives in the CheckRequest.
  const BODY_BYTES = 150_000;
  const MAX_IN_FLIGHT = 1024 * 1024;
  const SENT = 20;

  test('large checks past the bound, while a slow service holds the first ones, are denied 503 overloaded in loose mode, counted; nothing is allowed', async () => {
    const held: http.ServerResponse[] = [];
    auth.handler = (_req, res) => held.push(res);
    adapter = await TestAdapter.start(
      configYaml(
        `  - name: r\n    service: { url: "${auth.url}", mode: loose, timeout: 30s }\n`,
        `grpc: { address: "127.0.0.1:0", maxRequestBytes: 262144, maxInFlightBytes: ${MAX_IN_FLIGHT} }\n`,
      ).replace('grpc: { address: "127.0.0.1:0" }\n', ''),
    );
    const answers: DecodedCheckResponse[] = [];
    const body = 'b'.repeat(BODY_BYTES);
    const pending = Array.from({ length: SENT }, (_, i) =>
      adapter!.client.check(checkRequest({ method: 'POST', id: String(i), headers: { authorization: 'Bearer t' }, body })).then((r) => {
        answers.push(r);
        return r;
      }),
    );
    // Every check is either held by the service or already answered; which ones is the adapter's choice.
    await until('every check to be held or answered', () => held.length + answers.length === SENT, 20_000);
    const admitted = held.length;
    expect(admitted).toBeGreaterThan(0);
    expect(admitted * BODY_BYTES).toBeLessThanOrEqual(MAX_IN_FLIGHT);
    expect(admitted).toBeLessThan(SENT);
    for (const r of answers) {
      expect({ code: r.status?.code, message: r.status?.message, status: r.denied_response?.status?.code }).toEqual({
        code: 7,
        message: 'overloaded',
        status: 503,
      });
    }
    let samples = await scrape(adapter.server.adminPort);
    expect(sumOf(samples, 'ext_authz_checks_refused_total', { bound: 'in_flight_bytes' })).toBe(SENT - admitted);
    expect(sumOf(samples, 'ext_authz_checks_total', { rule: '', reason: 'overloaded' })).toBe(SENT - admitted);
    expect(sumOf(samples, 'ext_authz_check_bytes_in_flight')).toBeGreaterThan(admitted * BODY_BYTES);
    expect(sumOf(samples, 'ext_authz_check_bytes_in_flight')).toBeLessThanOrEqual(MAX_IN_FLIGHT);

    for (const res of held) res.writeHead(401).end();
    const all = await Promise.all(pending);
    expect(all.filter((r) => r.ok_response !== undefined)).toEqual([]);
    expect(all.filter((r) => r.denied_response?.status?.code === 401)).toHaveLength(admitted);

    // The bytes are given back: the process is up and takes a large check again.
    auth.handler = reply(200);
    const after = await adapter.client.check(checkRequest({ method: 'POST', headers: { authorization: 'Bearer t' }, body }));
    expect(after.ok_response).toBeDefined();
    samples = await scrape(adapter.server.adminPort);
    expect(sumOf(samples, 'ext_authz_check_bytes_in_flight')).toBe(0);
  }, 60_000);
});

describe('grpc.maxRequestBytes', () => {
  test('a CheckRequest over the bound is refused with RESOURCE_EXHAUSTED before any rule runs; one under it is served', async () => {
    adapter = await TestAdapter.start(
      configYaml(
        `  - name: r\n    service: { url: "${auth.url}", mode: loose }\n`,
        'grpc: { address: "127.0.0.1:0", maxRequestBytes: 131072 }\n',
      ).replace('grpc: { address: "127.0.0.1:0" }\n', ''),
    );
    await expect(adapter.client.check(checkRequest({ method: 'POST', body: 'b'.repeat(140_000) }))).rejects.toMatchObject({ code: 8 });
    expect(auth.received).toHaveLength(0);
    const ok = await adapter.client.check(
      checkRequest({ method: 'POST', headers: { authorization: 'Bearer t' }, body: 'b'.repeat(100_000) }),
    );
    expect(ok.ok_response).toBeDefined();
  });
});

describe('bytes that are not a CheckRequest', () => {
  test('are answered INTERNAL "Error deserializing request", as grpc-js answers them, with no rule run and their bytes given back', async () => {
    adapter = await TestAdapter.start(configYaml(`  - name: r\n    service: { url: "${auth.url}", mode: loose }\n`));
    // A raw client with no serializer of its own: field 1 (attributes) as a length-delimited
    // message whose length runs past the end.
    const Raw = grpc.makeGenericClientConstructor(
      {
        Check: {
          path: '/envoy.service.auth.v3.Authorization/Check',
          requestStream: false,
          responseStream: false,
          requestSerialize: (b: Buffer) => b,
          requestDeserialize: (b: Buffer) => b,
          responseSerialize: (b: Buffer) => b,
          responseDeserialize: (b: Buffer) => b,
        },
      },
      'Authorization',
    );
    const raw = new Raw(`127.0.0.1:${adapter.server.grpcPort}`, grpc.credentials.createInsecure());
    try {
      const error = await new Promise<grpc.ServiceError>((resolve, reject) => {
        (raw as unknown as { Check: (b: Buffer, cb: (e: grpc.ServiceError | null) => void) => void }).Check(
          Buffer.from([0x0a, 0x7f, 0x01]),
          (e) => (e ? resolve(e) : reject(new Error('answered OK'))),
        );
      });
      expect({ code: error.code, details: error.details }).toEqual({ code: grpc.status.INTERNAL, details: 'Error deserializing request' });
    } finally {
      raw.close();
    }
    expect(auth.received).toHaveLength(0);
    const samples = await scrape(adapter.server.adminPort);
    expect(sumOf(samples, 'ext_authz_check_bytes_in_flight')).toBe(0);
    expect(sumOf(samples, 'ext_authz_checks_total')).toBe(0);
    // Still serving.
    const ok = await adapter.client.check(checkRequest({ headers: { authorization: 'Bearer t' } }));
    expect(ok.ok_response).toBeDefined();
  });
});

describe('/metrics', () => {
  test('scrapes that overlap share one rendering; a later scrape renders anew', async () => {
    adapter = await TestAdapter.start(configYaml(`  - name: r\n    service: { url: "${auth.url}" }\n`));
    const registry = adapter.server.metrics.registry;
    const render = registry.metrics.bind(registry);
    let renders = 0;
    let open: () => void = () => undefined;
    const gate = new Promise<void>((resolve) => (open = resolve));
    // The real rendering, held until every scrape has arrived, and counted.
    jest.spyOn(registry, 'metrics').mockImplementation(async () => {
      renders++;
      await gate;
      return render();
    });
    const admin = adapter.server['admin'] as http.Server;
    let arrived = 0;
    admin.on('request', () => arrived++);
    const SCRAPERS = 20;
    const scrapes = Array.from({ length: SCRAPERS }, () => httpGet(adapter!.server.adminPort, '/metrics'));
    await until('every scrape to arrive', () => arrived === SCRAPERS);
    open();
    const bodies = await Promise.all(scrapes);
    expect(bodies.map((b) => b.status)).toEqual(Array(SCRAPERS).fill(200));
    expect(new Set(bodies.map((b) => b.body)).size).toBe(1);
    expect(renders).toBe(1);

    await adapter.client.check(checkRequest({ headers: { authorization: 'Bearer t' } }));
    const later = await scrape(adapter.server.adminPort);
    expect(renders).toBe(2);
    expect(sumOf(later, 'ext_authz_checks_total', { rule: 'r' })).toBe(1);
  });
});
