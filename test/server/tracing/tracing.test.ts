import { createServer } from 'node:net';
import * as grpc from '@grpc/grpc-js';
import { configYaml, ruleYaml, writeConfig } from '../../helpers/adapter';
import { TestAuthService, type ReceivedRequest } from '../../helpers/auth-service';
import { CheckClient, checkRequest, okHeaders, type DecodedCheckResponse } from '../../helpers/check-client';
import { CliProcess, builtCli } from '../../helpers/cli-process';
import { OtlpReceiver, type ReceivedSpan } from '../../helpers/otlp-receiver';
import { scrape, sumOf } from '../../helpers/prom-text';
import { until } from '../../helpers/until';

// The real CLI, traced by the standard OTEL_* variables, exporting to an OTLP/HTTP receiver in
// this test that decodes the payloads as a collector would (protobuf and JSON).

const TRACE_ID = '4bf92f3577b34da6a3ce929d0e0e4736';
const PARENT_ID = '00f067aa0ba902b7';
const TRACEPARENT = `00-${TRACE_ID}-${PARENT_ID}-01`;
const TRACESTATE = 'vendor=opaque-value,other=x';
const TOKEN = 'Bearer secret-token-value';
const COOKIE = 'session=secret-cookie-value';
const QUERY = 'q=secret-query-value';
const SERVER = 2;
const CLIENT = 3;

let auth: TestAuthService;
let receiver: OtlpReceiver;
let cli: CliProcess | undefined;
let client: CheckClient | undefined;

beforeAll(() => {
  builtCli();
}, 120_000);

beforeEach(async () => {
  receiver = await OtlpReceiver.start();
  auth = await TestAuthService.start((req, res) => {
    if (req.headers.authorization === TOKEN) res.writeHead(200, { 'x-user': 'alice' }).end();
    else res.writeHead(401).end();
  });
});

afterEach(async () => {
  client?.close();
  client = undefined;
  await cli?.kill();
  cli = undefined;
  await auth.close();
  await receiver.close();
});

/** This environment without any OTEL_* variable, plus `otel`. */
function env(otel: Record<string, string>): NodeJS.ProcessEnv {
  // CliProcess.serve adds these to this process's environment; undefined leaves a variable out.
  const unset = Object.fromEntries(
    Object.keys(process.env)
      .filter((k) => k.startsWith('OTEL_'))
      .map((k) => [k, undefined]),
  );
  return { ...unset, ...otel };
}

function tracingOn(protocol: string, extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  return env({
    OTEL_TRACES_EXPORTER: 'otlp',
    OTEL_EXPORTER_OTLP_ENDPOINT: receiver.endpoint,
    OTEL_EXPORTER_OTLP_PROTOCOL: protocol,
    OTEL_BSP_SCHEDULE_DELAY: '10',
    ...extra,
  });
}

async function serve(
  processEnv: NodeJS.ProcessEnv,
  rules = ruleYaml('api', auth.url, '    request: { allowedHeaders: [cookie] }\n    response: { allowedHeaders: [x-user] }\n'),
  top = '',
): Promise<{ grpcPort: number; adminPort: number }> {
  cli = CliProcess.serve(writeConfig(configYaml(rules, top)), processEnv);
  const ports = await cli.serving();
  client = new CheckClient(`127.0.0.1:${ports.grpcPort}`);
  return ports;
}

function request(headers: Record<string, string> = {}, path = `/api/items?${QUERY}`): Record<string, unknown> {
  return checkRequest({
    path,
    headers: {
      authorization: TOKEN,
      cookie: COOKIE,
      'x-request-id': 'req-1',
      traceparent: TRACEPARENT,
      tracestate: TRACESTATE,
      ...headers,
    },
  });
}

/** Waits for the adapter to drain and exit, after which everything it would export has been sent. */
async function drain(): Promise<void> {
  cli?.child.kill('SIGTERM');
  const exit = await cli?.exited;
  expect(exit?.code).toBe(0);
}

function serverSpans(spans: readonly ReceivedSpan[]): ReceivedSpan[] {
  return spans.filter((s) => s.name === 'ext_authz.check');
}

function lastAuthRequest(): ReceivedRequest {
  const req = auth.received[auth.received.length - 1];
  if (!req) throw new Error('the auth service received nothing');
  return req;
}

describe.each(['http/protobuf', 'http/json'])('tracing on, OTLP over %s', (protocol) => {
  test('continues the trace from the CheckRequest headers, with a client span the auth service nests under', async () => {
    await serve(tracingOn(protocol));
    const res = await client!.check(request());
    expect(okHeaders(res)['x-user']).toBe('alice');

    const spans = await receiver.waitFor('a server and a client span', (s) => s.length >= 2);
    expect(receiver.exports[0].contentType).toBe(protocol === 'http/json' ? 'application/json' : 'application/x-protobuf');
    const [check] = serverSpans(spans);
    const call = spans.find((s) => s.kind === CLIENT);
    expect(check).toMatchObject({ traceId: TRACE_ID, parentSpanId: PARENT_ID, kind: SERVER });
    expect(check.attributes).toEqual({
      'ext_authz.rule': 'api',
      'ext_authz.decision': 'allow',
      'ext_authz.reason': 'auth_allowed',
      'ext_authz.cache_hit': false,
      'ext_authz.coalesced': false,
      'http.request.header.x-request-id': ['req-1'],
    });
    expect(check.resource['service.name']).toBe('ext-authz-adapter');

    expect(call).toMatchObject({ traceId: TRACE_ID, parentSpanId: check.spanId, name: 'GET', statusCode: 0 });
    expect(call?.attributes).toEqual({
      'http.request.method': 'GET',
      'server.address': '127.0.0.1',
      'server.port': auth.port,
      'url.path': '/validateToken/api/items',
      'http.response.status_code': 200,
    });

    // The auth service's own spans would nest under the client span; the vendor state travels on.
    const sent = lastAuthRequest();
    expect(sent.headers.traceparent).toBe(`00-${TRACE_ID}-${call?.spanId}-01`);
    expect(sent.headers.tracestate).toBe(TRACESTATE);
    expect(sent.url).toBe(`/validateToken/api/items?${QUERY}`);

    // Nothing the client sent other than Envoy's request id reaches a span.
    const text = JSON.stringify(spans);
    for (const secret of ['secret-token-value', 'secret-cookie-value', 'secret-query-value']) expect(text).not.toContain(secret);
  });

  test('a denial: the decision, reason and status on the server span, the answer on the client span', async () => {
    await serve(tracingOn(protocol));
    const res = await client!.check(request({ authorization: 'Bearer wrong' }));
    expect(res.denied_response?.status?.code).toBe(401);

    const spans = await receiver.waitFor('a server and a client span', (s) => s.length >= 2);
    const [check] = serverSpans(spans);
    expect(check.attributes).toMatchObject({
      'ext_authz.decision': 'deny',
      'ext_authz.reason': 'auth_denied',
      'ext_authz.denial_status': 401,
    });
    expect(check.statusCode).toBe(0);
    const call = spans.find((s) => s.kind === CLIENT);
    expect(call?.attributes['http.response.status_code']).toBe(401);
    expect(call?.attributes['error.type']).toBeUndefined();
  });
});

test('OTLP over gRPC', async () => {
  await receiver.close();
  receiver = await OtlpReceiver.startGrpc();
  await serve(tracingOn('grpc'));
  await client!.check(request());
  const spans = await receiver.waitFor('a server and a client span', (s) => s.length >= 2);
  const [check] = serverSpans(spans);
  expect(check).toMatchObject({ traceId: TRACE_ID, parentSpanId: PARENT_ID, kind: SERVER });
  expect(spans.find((s) => s.kind === CLIENT)?.parentSpanId).toBe(check.spanId);
});

test('an unreachable auth service: error.type on the client span says why', async () => {
  const closed = await freePort();
  await serve(tracingOn('http/protobuf'), ruleYaml('api', `http://127.0.0.1:${closed}`));
  const res = await client!.check(request());
  expect(res.denied_response?.status?.code).toBe(403);

  const spans = await receiver.waitFor('a server and a client span', (s) => s.length >= 2);
  const call = spans.find((s) => s.kind === CLIENT);
  expect(call?.attributes['error.type']).toBe('connect');
  expect(call?.statusCode).toBe(2);
  expect(call?.attributes['http.response.status_code']).toBeUndefined();
  expect(serverSpans(spans)[0].attributes['ext_authz.reason']).toBe('unavailable_strict');
});

test('a decision cache hit: marked on the server span, and no auth call span', async () => {
  await serve(tracingOn('http/protobuf'), ruleYaml('api', auth.url, '    cache: { ttl: 30s }\n'));
  await client!.check(request());
  await client!.check(request());
  expect(auth.received).toHaveLength(1);

  const spans = await receiver.waitFor('two server spans', (s) => serverSpans(s).length >= 2);
  await drain();
  const hits = serverSpans(receiver.spans).map((s) => s.attributes['ext_authz.cache_hit']);
  expect(hits.sort()).toEqual([false, true]);
  expect(receiver.spans.filter((s) => s.kind === CLIENT)).toHaveLength(1);
  expect(spans.every((s) => s.traceId === TRACE_ID)).toBe(true);
});

test('a coalesced check: marked on its server span; the one auth call belongs to the check that made it', async () => {
  const held: Array<() => void> = [];
  auth.handler = (_req, res) => held.push(() => res.writeHead(200, { 'x-user': 'alice' }).end());
  const { adminPort } = await serve(tracingOn('http/protobuf'), ruleYaml('api', auth.url, '    coalesce: true\n'));
  const first = client!.check(request());
  await until('the first auth call', () => held.length === 1);
  const second = client!.check(request());
  await until('the second check in flight', async () => sumOf(await scrape(adminPort), 'ext_authz_checks_in_flight') === 2);
  held.splice(0).forEach((release) => release());
  await Promise.all([first, second]);
  expect(auth.received).toHaveLength(1);

  const spans = await receiver.waitFor('two server spans and a client span', (s) => s.length >= 3);
  const checks = serverSpans(spans);
  const leader = checks.find((s) => s.attributes['ext_authz.coalesced'] === false);
  expect(checks.filter((s) => s.attributes['ext_authz.coalesced'] === true)).toHaveLength(1);
  expect(spans.filter((s) => s.kind === CLIENT).map((s) => s.parentSpanId)).toEqual([leader?.spanId]);
});

test('an unreadable CheckRequest still has its span, in a trace of its own', async () => {
  await serve(tracingOn('http/protobuf'));
  const res = await client!.check({ attributes: {} });
  expect(res.denied_response?.status?.code).toBe(403);
  const spans = await receiver.waitFor('a server span', (s) => serverSpans(s).length >= 1);
  expect(serverSpans(spans)[0]).toMatchObject({
    parentSpanId: '',
    attributes: { 'ext_authz.reason': 'invalid_request', 'ext_authz.decision': 'deny' },
  });
  expect(auth.received).toHaveLength(0);
});

test('a request without trace context starts a trace, and the auth service gets its context', async () => {
  await serve(tracingOn('http/protobuf'));
  await client!.check(request({ traceparent: '', tracestate: '' }));
  const spans = await receiver.waitFor('a server and a client span', (s) => s.length >= 2);
  const [check] = serverSpans(spans);
  const call = spans.find((s) => s.kind === CLIENT);
  expect(check.parentSpanId).toBe('');
  expect(lastAuthRequest().headers.traceparent).toBe(`00-${check.traceId}-${call?.spanId}-01`);
});

test("without trace context in the request's headers, the call's gRPC metadata is continued (Envoy's span for the call)", async () => {
  await serve(tracingOn('http/protobuf'));
  const envoySpan = 'b7ad6b7169203331';
  const metadata = new grpc.Metadata();
  metadata.set('traceparent', `00-${TRACE_ID}-${envoySpan}-01`);
  await checkWithMetadata(request({ traceparent: '', tracestate: '' }), metadata);
  // The request's own context wins when it has one.
  await checkWithMetadata(request(), metadata);
  const spans = await receiver.waitFor('two server spans', (s) => serverSpans(s).length >= 2);
  expect(
    serverSpans(spans)
      .map((s) => s.parentSpanId)
      .sort(),
  ).toEqual([PARENT_ID, envoySpan].sort());
  expect(serverSpans(spans).every((s) => s.traceId === TRACE_ID)).toBe(true);
});

test('B3 multi-header context is continued and rewritten for the auth call', async () => {
  await serve(tracingOn('http/protobuf', { OTEL_PROPAGATORS: 'b3multi' }));
  const b3 = { 'x-b3-traceid': TRACE_ID, 'x-b3-spanid': PARENT_ID, 'x-b3-parentspanid': 'a1b2c3d4e5f60718', 'x-b3-sampled': '1' };
  await client!.check(request({ traceparent: '', tracestate: '', ...b3 }));
  const spans = await receiver.waitFor('a server and a client span', (s) => s.length >= 2);
  const [check] = serverSpans(spans);
  const call = spans.find((s) => s.kind === CLIENT);
  expect(check).toMatchObject({ traceId: TRACE_ID, parentSpanId: PARENT_ID });
  const sent = lastAuthRequest().headers;
  expect(sent['x-b3-traceid']).toBe(TRACE_ID);
  expect(sent['x-b3-spanid']).toBe(call?.spanId);
  // The client's parent id would name the wrong span; the propagator writes none for this hop.
  expect(sent['x-b3-parentspanid']).toBeUndefined();
  expect(sent['x-b3-sampled']).toBe('1');
});

test('a request whose trace is not sampled exports nothing, and the auth service still gets the context', async () => {
  await serve(tracingOn('http/protobuf'));
  await client!.check(request({ traceparent: `00-${TRACE_ID}-${PARENT_ID}-00` }));
  const sent = lastAuthRequest().headers.traceparent;
  expect(sent).toMatch(new RegExp(`^00-${TRACE_ID}-[0-9a-f]{16}-00$`));
  expect(sent).not.toBe(`00-${TRACE_ID}-${PARENT_ID}-00`);
  await drain();
  expect(receiver.spans).toEqual([]);
});

test('tracing off: nothing is exported and the trace headers reach the auth service unchanged', async () => {
  // Everything but the switch itself, so only OTEL_TRACES_EXPORTER keeps the spans away.
  const processEnv = tracingOn('http/protobuf');
  processEnv.OTEL_TRACES_EXPORTER = undefined;
  await serve(processEnv);
  const res = await client!.check(request({ b3: `${TRACE_ID}-${PARENT_ID}-1` }));
  expect(okHeaders(res)['x-user']).toBe('alice');
  const sent = lastAuthRequest().headers;
  expect(sent.traceparent).toBe(TRACEPARENT);
  expect(sent.tracestate).toBe(TRACESTATE);
  expect(sent.b3).toBe(`${TRACE_ID}-${PARENT_ID}-1`);
  await drain();
  expect(receiver.exports).toEqual([]);
});

test('OTEL_TRACES_EXPORTER=none is off too', async () => {
  const processEnv = tracingOn('http/protobuf', { OTEL_TRACES_EXPORTER: 'none' });
  await serve(processEnv);
  await client!.check(request());
  expect(lastAuthRequest().headers.traceparent).toBe(TRACEPARENT);
  await drain();
  expect(receiver.exports).toEqual([]);
});

test('an unreachable collector changes no answer; the spans it did not take are counted', async () => {
  const closed = await freePort();
  // The exporter retries a refused connection until its own timeout; a short one ends the batch sooner.
  const { adminPort } = await serve(
    tracingOn('http/protobuf', { OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${closed}`, OTEL_EXPORTER_OTLP_TIMEOUT: '500' }),
  );
  for (let i = 0; i < 3; i++) {
    const ok = await client!.check(request());
    expect(okHeaders(ok)['x-user']).toBe('alice');
    const denied = await client!.check(request({ authorization: 'Bearer wrong' }));
    expect(denied.denied_response?.status?.code).toBe(401);
  }
  await until(
    'dropped spans counted',
    async () => sumOf(await scrape(adminPort), 'ext_authz_trace_spans_dropped_total', { reason: 'export_failed' }) > 0,
  );
  await cli!.waitForLine((l) => l.msg.startsWith('trace export failed'));
});

test('a collector that hangs: spans past the queue bound are dropped and counted, answers unchanged', async () => {
  receiver.hold = true;
  const { adminPort } = await serve(
    tracingOn('http/protobuf', {
      OTEL_BSP_MAX_QUEUE_SIZE: '2',
      OTEL_BSP_MAX_EXPORT_BATCH_SIZE: '2',
      OTEL_BSP_EXPORT_TIMEOUT: '600000',
      OTEL_EXPORTER_OTLP_TIMEOUT: '600000',
    }),
  );
  // The first check's two spans fill a batch, which goes out and hangs; one export at a time.
  await client!.check(request());
  await receiver.waitFor('the first batch', (s) => s.length === 2);
  // The next check's two spans fill the queue; the third's find it full.
  for (let i = 0; i < 2; i++) expect(okHeaders(await client!.check(request()))['x-user']).toBe('alice');
  const samples = await scrape(adminPort);
  expect(sumOf(samples, 'ext_authz_trace_spans_dropped_total', { reason: 'queue_full' })).toBe(2);
  expect(sumOf(samples, 'ext_authz_trace_spans_dropped_total', { reason: 'export_failed' })).toBe(0);
});

test('spans still queued are flushed on drain', async () => {
  await serve(tracingOn('http/protobuf', { OTEL_BSP_SCHEDULE_DELAY: '600000' }));
  await client!.check(request());
  await drain();
  expect(serverSpans(receiver.spans)).toHaveLength(1);
});

test('under workers: N each worker exports its own spans', async () => {
  const top = 'workers: 2\n';
  cli = CliProcess.serve(writeConfig(configYaml(ruleYaml('api', auth.url), top)), tracingOn('http/protobuf'));
  const { grpcPort, pids } = await cli.serving();
  const seen = new Set<number>();
  // A fresh connection per check: the cluster spreads connections, not calls.
  for (let i = 0; i < 40 && seen.size < 2; i++) {
    const fresh = new CheckClient(`127.0.0.1:${grpcPort}`, undefined, { 'grpc.use_local_subchannel_pool': 1 });
    try {
      await fresh.check(request());
    } finally {
      fresh.close();
    }
    const spans = await receiver.waitFor(`span ${i + 1}`, (s) => serverSpans(s).length > i);
    for (const s of serverSpans(spans)) seen.add(s.resource['process.pid'] as number);
  }
  expect([...seen].sort()).toEqual([...pids].sort());
});

test('an unsupported OTEL_* value refuses startup, naming the variable', async () => {
  cli = CliProcess.serve(writeConfig(configYaml(ruleYaml('api', auth.url))), tracingOn('grpc+json'));
  const exit = await cli.exited;
  expect(exit.code).toBe(1);
  expect(cli.stderr.join('')).toContain('OTEL_EXPORTER_OTLP_PROTOCOL: "grpc+json" is not supported');
});

/** A Check with gRPC metadata, as Envoy's gRPC client sends its span's context. */
function checkWithMetadata(req: unknown, metadata: grpc.Metadata): Promise<DecodedCheckResponse> {
  type WithMetadata = (
    req: unknown,
    metadata: grpc.Metadata,
    options: grpc.CallOptions,
    done: (err: grpc.ServiceError | null, res: DecodedCheckResponse) => void,
  ) => void;
  const raw = client!.raw as unknown as { Check: WithMetadata };
  return new Promise((resolve, reject) => {
    raw.Check(req, metadata, { deadline: Date.now() + 15_000 }, (err, res) => (err ? reject(err) : resolve(res)));
  });
}

/** A port on 127.0.0.1 with nothing listening. */
async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}
