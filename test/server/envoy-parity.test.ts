import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import pino from 'pino';
import { main } from '../../src/server/runtime/cli';
import { TestAdapter, configYaml, writeConfig } from '../helpers/adapter';
import { TestAuthService, type AuthHandler } from '../helpers/auth-service';
import { checkRequest, metadataOf, okHeaders, type DecodedCheckResponse } from '../helpers/check-client';
import { httpGet, scrape, sumOf } from '../helpers/prom-text';

// Issue 14 through the real gRPC server, a grpc-js client over Envoy's protos and a real HTTP
// auth service on 127.0.0.1: each config key as Envoy sees it in the CheckResponse.

// envoy.config.core.v3.HeaderValueOption.HeaderAppendAction
const APPEND_IF_EXISTS_OR_ADD = 0;
const OVERWRITE_IF_EXISTS_OR_ADD = 2;

const SECRET = 'shared-secret-4f1c9e';
const SECRET_VAR = 'I14_TEST_AUTH_API_KEY';

class Lines extends Writable {
  readonly lines: string[] = [];
  override _write(chunk: Buffer, _enc: BufferEncoding, done: () => void): void {
    this.lines.push(...chunk.toString('utf8').split('\n').filter(Boolean));
    done();
  }
}

/** Answers by the first path segment after the rule's service path: /<rule>/<what>/... */
const handler: AuthHandler = (req, res) => {
  const what = req.url.split('/')[2];
  switch (what) {
    case 'identity':
      res.setHeader('x-user-id', 'u-1');
      res.setHeader('x-groups', ['readers', 'writers']);
      res.setHeader('x-tenant', ['a', 'b']);
      res.setHeader('x-internal', 'not for anyone');
      return void res.writeHead(200).end();
    case 'cookies':
      res.setHeader('set-cookie', ['sid=1; HttpOnly', 'csrf=2']);
      res.setHeader('x-user-id', 'u-1');
      return void res.writeHead(200).end();
    case 'consume':
      return void res.writeHead(200, { 'x-envoy-auth-headers-to-remove': 'Authorization, x-debug, :path, host, bad name,, x-debug' }).end();
    case 'deny':
      res.setHeader('x-user-id', 'u-2');
      res.setHeader('www-authenticate', 'Bearer realm="shop"');
      res.setHeader('content-type', 'text/plain');
      res.setHeader('x-internal', 'stack trace');
      return void res.writeHead(401).end('who are you');
    default:
      return void res.writeHead(200).end();
  }
};

let auth: TestAuthService;
let adapter: TestAdapter | undefined;

beforeEach(async () => {
  auth = await TestAuthService.start(handler);
  process.env[SECRET_VAR] = SECRET;
});

afterEach(async () => {
  await adapter?.close();
  adapter = undefined;
  await auth.close();
  delete process.env[SECRET_VAR];
});

function rule(name: string, body: string, url = auth.url, path = `/${name}`): string {
  return `  - name: ${name}\n    service: { url: "${url}", path: ${path}, timeout: 2s }\n${body}`;
}

async function start(rules: string, options: { logger?: pino.Logger; exposeConfig?: boolean } = {}): Promise<TestAdapter> {
  let yaml = configYaml(rules);
  if (options.exposeConfig)
    yaml = yaml.replace('admin: { address: "127.0.0.1:0" }', 'admin: { address: "127.0.0.1:0", exposeConfig: true }');
  adapter = await TestAdapter.start(yaml, { logger: options.logger });
  return adapter;
}

function okEntries(res: DecodedCheckResponse): Array<[string, string, boolean | undefined, number | undefined]> {
  return (res.ok_response?.headers ?? []).map((h) => [h.header.key, h.header.value, h.append?.value, h.append_action]);
}

async function closedPort(): Promise<number> {
  const server = http.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

async function runCli(args: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const o = jest.spyOn(process.stdout, 'write').mockImplementation((chunk) => ((out += String(chunk)), true));
  const e = jest.spyOn(process.stderr, 'write').mockImplementation((chunk) => ((err += String(chunk)), true));
  try {
    return { code: await main(args), out, err };
  } finally {
    o.mockRestore();
    e.mockRestore();
  }
}

describe('1. dynamic metadata', () => {
  const RULE = () =>
    rule(
      'orders',
      '    response: { allowedHeaders: [x-user-id], dynamicMetadata: [x-user-id, x-tenant, x-absent] }\n    match: { mode: whitelist, conditions: [{ path: /public/* }] }\n',
    );

  test('on an OK: each listed header the service returned, as a string, and always rule and reason', async () => {
    const a = await start(RULE());
    const res = await a.client.check(checkRequest({ path: '/identity' }));
    expect(res.status?.code).toBe(0);
    expect(metadataOf(res)).toEqual({ 'x-user-id': 'u-1', 'x-tenant': 'a,b', rule: 'orders', reason: 'auth_allowed' });
  });

  test("on a denial: the denying answer's listed headers, rule and reason", async () => {
    const a = await start(RULE());
    const res = await a.client.check(checkRequest({ path: '/deny' }));
    expect(res.denied_response?.status?.code).toBe(401);
    expect(metadataOf(res)).toEqual({ 'x-user-id': 'u-2', rule: 'orders', reason: 'auth_denied' });
  });

  test('without an auth call (bypass) or an answer (strict, unavailable): rule and reason only', async () => {
    const a = await start(RULE());
    expect(metadataOf(await a.client.check(checkRequest({ path: '/public/x' })))).toMatchObject({ reason: 'bypass' });
    await adapter!.close();
    adapter = undefined;
    const down = await start(rule('orders', '    response: { dynamicMetadata: [x-user-id] }\n', `http://127.0.0.1:${await closedPort()}`));
    const res = await down.client.check(checkRequest({ path: '/identity' }));
    expect(metadataOf(res)).toEqual({ rule: 'orders', reason: 'unavailable_strict' });
  });
});

describe('2. x-envoy-auth-headers-to-remove on a 200', () => {
  test('adds the named request headers to headers_to_remove; never pseudo-headers or host; never forwarded itself', async () => {
    const a = await start(rule('orders', '    response: { allowedHeaders: [x-user-id] }\n'));
    const res = await a.client.check(checkRequest({ path: '/consume', headers: { authorization: 'Bearer t', 'x-debug': '1' } }));
    expect(res.status?.code).toBe(0);
    const removed = res.ok_response?.headers_to_remove ?? [];
    expect(removed).toEqual(expect.arrayContaining(['authorization', 'x-debug']));
    expect(removed.filter((n) => n === 'x-debug')).toHaveLength(1);
    for (const never of [':path', 'host', 'bad name', 'bad', 'name', '']) expect(removed).not.toContain(never);
    expect(Object.keys(okHeaders(res))).not.toContain('x-envoy-auth-headers-to-remove');
  });

  test('on a 200 without it, nothing more is removed than before', async () => {
    const a = await start(rule('orders', ''));
    const res = await a.client.check(checkRequest({ path: '/other', headers: { authorization: 'Bearer t' } }));
    expect(res.ok_response?.headers_to_remove).not.toContain('authorization');
  });
});

describe('3. request.headersToAdd', () => {
  const STATIC = `    request: { allowedHeaders: [{ prefix: x-gate }], headersToAdd: { x-api-key: "\${${SECRET_VAR}}", X-Gateway: edge } }\n`;

  test('reach the auth service, read from the environment, replacing a client header of the same name', async () => {
    const a = await start(rule('orders', STATIC));
    await a.client.check(checkRequest({ path: '/x', headers: { 'x-gateway': 'spoofed', 'x-api-key': 'guess' } }));
    expect(auth.received[0].headers['x-api-key']).toBe(SECRET);
    expect(auth.received[0].headers['x-gateway']).toBe('edge');
    expect(auth.received[0].rawHeaders.filter((h) => h.toLowerCase() === 'x-gateway')).toHaveLength(1);
  });

  test('count toward request.maxHeaderBytes', async () => {
    process.env[SECRET_VAR] = 'k'.repeat(900);
    const rules =
      rule('plain', '    request: { maxHeaderBytes: 1024 }\n') +
      rule('keyed', `    request: { maxHeaderBytes: 1024, headersToAdd: { x-api-key: "\${${SECRET_VAR}}" } }\n`);
    const a = await start(rules);
    const request = (pin: string) =>
      checkRequest({ path: '/x', headers: { authorization: `Bearer ${'t'.repeat(200)}` }, contextExtensions: { rule: pin } });
    expect((await a.client.check(request('plain'))).status?.code).toBe(0);
    const res = await a.client.check(request('keyed'));
    expect(res.denied_response?.status?.code).toBe(431);
    expect(res.status?.message).toBe('request_too_large');
  });

  test('a reload reads the environment again; a variable gone is a rejected reload, the old value keeps serving', async () => {
    const a = await start(rule('orders', STATIC));
    await a.client.check(checkRequest({ path: '/x' }));
    process.env[SECRET_VAR] = 'rotated';
    expect(await a.server.reload()).toBe(true);
    await a.client.check(checkRequest({ path: '/x' }));
    delete process.env[SECRET_VAR];
    expect(await a.server.reload()).toBe(false);
    await a.client.check(checkRequest({ path: '/x' }));
    expect(auth.received.map((r) => r.headers['x-api-key'])).toEqual([SECRET, 'rotated', 'rotated']);
  });

  test('the secret is in no log line at trace level, not in /config, not in explain, not in errors', async () => {
    const sink = new Lines();
    const logger = pino({ level: 'trace' }, sink);
    const down = `http://127.0.0.1:${await closedPort()}`;
    const rules =
      rule('orders', `${STATIC}    response: { allowedHeaders: [x-user-id], dynamicMetadata: [x-user-id] }\n`) +
      rule('shadow', `    dryRun: true\n    request: { headersToAdd: { x-api-key: "\${${SECRET_VAR}}" } }\n`, down);
    const a = await start(rules, { logger, exposeConfig: true });
    for (const path of ['/identity', '/deny', '/cookies', '/consume']) {
      await a.client.check(checkRequest({ path, headers: { authorization: 'Bearer t' } }));
    }
    // A reload that fails (a variable gone) and one that succeeds are logged too.
    delete process.env[SECRET_VAR];
    expect(await a.server.reload()).toBe(false);
    process.env[SECRET_VAR] = SECRET;
    expect(await a.server.reload()).toBe(true);
    expect(auth.received.some((r) => r.headers['x-api-key'] === SECRET)).toBe(true);
    expect(sink.lines.length).toBeGreaterThan(4);
    expect(sink.lines.some((l) => l.includes('dry run: would have denied'))).toBe(true);
    for (const line of sink.lines) expect(line).not.toContain(SECRET);

    const config = await httpGet(a.server.adminPort, '/config');
    expect(config.status).toBe(200);
    expect(config.body).toContain(`\${${SECRET_VAR}}`);
    expect(config.body).not.toContain(SECRET);

    const explained = await runCli(['explain', '--config', a.configFile, '--path', '/x', '--json']);
    expect(explained.code).toBe(0);
    expect(explained.out).toContain(`\${${SECRET_VAR}}`);
    expect(explained.out).not.toContain(SECRET);
    const text = await runCli(['explain', '--config', a.configFile, '--path', '/x']);
    expect(text.out).not.toContain(SECRET);

    process.env[SECRET_VAR] = `${SECRET}\r\nx-admin: true`;
    const invalid = await runCli(['validate', '--config', a.configFile]);
    expect(invalid.code).toBe(1);
    expect(invalid.err).toContain(`rules[0].request.headersToAdd.x-api-key: environment variable ${SECRET_VAR} holds a CR, LF`);
    expect(invalid.err).not.toContain(SECRET);
  });

  test('validate names the key path and the variable when it is missing', async () => {
    delete process.env[SECRET_VAR];
    const file = writeConfig(configYaml(rule('orders', STATIC)));
    const r = await runCli(['validate', '--config', file]);
    expect(r.code).toBe(1);
    expect(r.err).toContain(`rules[0].request.headersToAdd.x-api-key: environment variable ${SECRET_VAR} is not set`);
  });
});

describe('4. dryRun', () => {
  let enforceAllows = true;
  beforeEach(() => {
    enforceAllows = true;
    auth.handler = (req, res) => {
      if (req.url.startsWith('/shadow')) {
        res.writeHead(403, { 'x-shadow-id': 's-1', 'www-authenticate': 'Bearer' }).end('shadow says no');
      } else if (enforceAllows) {
        res.writeHead(200, { 'x-user-id': 'u-1' }).end();
      } else {
        res.writeHead(403).end('enforce says no');
      }
    };
  });

  const RULES = (shadowUrl = auth.url): string =>
    rule('shadow', '    dryRun: true\n    response: { allowedHeaders: [x-shadow-id], dynamicMetadata: [x-shadow-id] }\n', shadowUrl) +
    rule('enforce', '    response: { allowedHeaders: [x-user-id] }\n');

  test('beside an enforcing rule: the would-be denial answers OK, logged and counted under its name; its headers stay stripped', async () => {
    const sink = new Lines();
    const a = await start(RULES(), { logger: pino({ level: 'info' }, sink) });
    const res = await a.client.check(checkRequest({ path: '/orders', id: 'req-7', headers: { 'x-shadow-id': 'spoofed' } }));
    expect(res.status?.code).toBe(0);
    expect(okHeaders(res)).toEqual({ 'x-user-id': 'u-1' });
    expect(res.ok_response?.headers_to_remove).toEqual(expect.arrayContaining(['x-shadow-id', 'x_shadow_id']));
    expect(res.ok_response?.response_headers_to_add ?? []).toEqual([]);
    expect(metadataOf(res)).toEqual({ rule: 'shadow', reason: 'dry_run_denied' });

    const dry = sink.lines.map((l) => JSON.parse(l) as Record<string, unknown>).find((l) => l.msg === 'dry run: would have denied');
    expect(dry).toMatchObject({ requestId: 'req-7', rule: 'shadow', dryRun: true, decision: 'deny', reason: 'auth_denied', status: 403 });

    const samples = await scrape(a.server.adminPort);
    expect(sumOf(samples, 'ext_authz_checks_total', { rule: 'shadow', decision: 'allowed', reason: 'dry_run_denied' })).toBe(1);
    expect(sumOf(samples, 'ext_authz_checks_total', { decision: 'denied' })).toBe(0);
  });

  test('the other rule keeps enforcing', async () => {
    enforceAllows = false;
    const a = await start(RULES());
    const res = await a.client.check(checkRequest({ path: '/orders' }));
    expect(res.denied_response?.status?.code).toBe(403);
    expect(res.denied_response?.body).toBe('enforce says no');
    expect(metadataOf(res)).toEqual({ rule: 'enforce', reason: 'auth_denied' });
  });

  test('an unreachable service (unavailable_strict) is a would-be denial too: OK, reason dry_run_denied', async () => {
    const sink = new Lines();
    const a = await start(RULES(`http://127.0.0.1:${await closedPort()}`), { logger: pino({ level: 'info' }, sink) });
    const res = await a.client.check(checkRequest({ path: '/orders' }));
    expect(res.status?.code).toBe(0);
    expect(okHeaders(res)).toEqual({ 'x-user-id': 'u-1' });
    expect(
      sink.lines.map((l) => JSON.parse(l) as Record<string, unknown>).find((l) => l.msg === 'dry run: would have denied'),
    ).toMatchObject({
      rule: 'shadow',
      reason: 'unavailable_strict',
    });
  });

  test('off (the default), the same rule denies', async () => {
    const a = await start(RULES().replace('    dryRun: true\n', ''));
    const res = await a.client.check(checkRequest({ path: '/orders' }));
    expect(res.denied_response?.body).toBe('shadow says no');
  });
});

describe('request.allowedHeaders with StringMatchers', () => {
  test('forwards names and every header whose name a matcher matches, never a connection header', async () => {
    const a = await start(
      rule(
        'orders',
        '    request:\n      allowedHeaders: [x-tenant, { prefix: x-tenant- }, { safe_regex: { regex: "x-custom-[a-z]+" } }, ' +
          '{ suffix: -region }, { contains: trace-ctx }, { exact: X-Case, ignore_case: true }, { prefix: proxy- }, { prefix: upg }]\n',
      ),
    );
    const sent = {
      'x-tenant': '1',
      'x-tenant-id': '2',
      'x-custom-ab': '3',
      'x-custom-1': 'no',
      'x-eu-region': '4',
      'x-my-trace-ctx-9': '5',
      'x-case': '6',
      'x-other': 'no',
      'proxy-authorization': 'no',
      upgrade: 'no',
    };
    await a.client.check(checkRequest({ path: '/x', headers: sent }));
    const got = auth.received[0].headers;
    for (const [name, value] of Object.entries(sent)) {
      if (value === 'no') expect(got[name]).toBeUndefined();
      else expect(got[name]).toBe(value);
    }
  });

  test('an invalid regex is a config error with its key path', async () => {
    const file = writeConfig(configYaml(rule('orders', '    request: { allowedHeaders: [x-a, { safe_regex: { regex: "x-(" } }] }\n')));
    const r = await runCli(['validate', '--config', file]);
    expect(r.code).toBe(1);
    expect(r.err).toContain('rules[0].request.allowedHeaders[1].safe_regex.regex: invalid RE2 regular expression "x-("');
  });
});

describe('request.removeHeaders', () => {
  test('are removed upstream on every OK, authenticated or bypassed', async () => {
    const a = await start(
      rule(
        'orders',
        '    request: { removeHeaders: [authorization, X-Api-Token] }\n    match: { mode: whitelist, conditions: [{ path: /public/* }] }\n',
      ),
    );
    for (const path of ['/x', '/public/x']) {
      const res = await a.client.check(checkRequest({ path, headers: { authorization: 'Bearer t' } }));
      expect(res.status?.code).toBe(0);
      expect(res.ok_response?.headers_to_remove).toEqual(expect.arrayContaining(['authorization', 'x-api-token']));
    }
  });
});

describe('response.appendHeaders beside response.allowedHeaders', () => {
  test("x-user-id overwrites; every x-groups value is added, the first replacing the client's copy", async () => {
    const a = await start(rule('orders', '    response: { allowedHeaders: [x-user-id], appendHeaders: [x-groups] }\n'));
    const res = await a.client.check(checkRequest({ path: '/identity', headers: { 'x-groups': 'admins', 'x-user-id': 'root' } }));
    expect(okEntries(res)).toEqual([
      ['x-user-id', 'u-1', false, OVERWRITE_IF_EXISTS_OR_ADD],
      ['x-groups', 'readers', false, OVERWRITE_IF_EXISTS_OR_ADD],
      ['x-groups', 'writers', true, APPEND_IF_EXISTS_OR_ADD],
    ]);
    expect(res.ok_response?.headers_to_remove).not.toContain('x-groups');
  });

  test("when the service returns none, the client's copy (and its underscore twin) is removed", async () => {
    const a = await start(rule('orders', '    response: { allowedHeaders: [x-user-id], appendHeaders: [x-groups] }\n'));
    const res = await a.client.check(checkRequest({ path: '/other', headers: { 'x-groups': 'admins' } }));
    expect(okEntries(res)).toEqual([]);
    expect(res.ok_response?.headers_to_remove).toEqual(expect.arrayContaining(['x-groups', 'x_groups']));
  });

  test('a name another rule sets is appended to, never replaced', async () => {
    const a = await start(
      rule('first', '    response: { allowedHeaders: [x-groups] }\n', auth.url, '/first') +
        rule('second', '    response: { appendHeaders: [x-groups] }\n', auth.url, '/second'),
    );
    auth.handler = (req, res) => res.writeHead(200, { 'x-groups': req.url.startsWith('/first') ? 'one' : 'two' }).end();
    const res = await a.client.check(checkRequest({ path: '/x' }));
    expect(okEntries(res)).toEqual([
      ['x-groups', 'one', false, OVERWRITE_IF_EXISTS_OR_ADD],
      ['x-groups', 'two', true, APPEND_IF_EXISTS_OR_ADD],
    ]);
  });
});

describe('response.clientHeadersOnSuccess', () => {
  test('two Set-Cookie values reach the client on an OK, each appended; none goes upstream; the answer is never reused', async () => {
    const a = await start(
      rule(
        'orders',
        '    response: { allowedHeaders: [x-user-id], clientHeadersOnSuccess: [set-cookie] }\n    cache: { ttl: 30s }\n    coalesce: true\n',
      ),
    );
    const request = checkRequest({ path: '/cookies', headers: { authorization: 'Bearer same' } });
    const res = await a.client.check(request);
    expect(
      (res.ok_response?.response_headers_to_add ?? []).map((h) => [h.header.key, h.header.value, h.append?.value, h.append_action]),
    ).toEqual([
      ['set-cookie', 'sid=1; HttpOnly', true, APPEND_IF_EXISTS_OR_ADD],
      ['set-cookie', 'csrf=2', true, APPEND_IF_EXISTS_OR_ADD],
    ]);
    expect(okHeaders(res)).toEqual({ 'x-user-id': 'u-1' });
    // A personal answer (it sets a cookie) is neither cached nor shared: the same request asks again.
    await Promise.all([a.client.check(request), a.client.check(request)]);
    expect(auth.received).toHaveLength(3);
  });
});

describe('response.clientHeaders', () => {
  test('on a denial, only the listed auth service headers reach the client', async () => {
    const a = await start(rule('orders', '    response: { clientHeaders: [www-authenticate, content-type] }\n'));
    const res = await a.client.check(checkRequest({ path: '/deny' }));
    expect((res.denied_response?.headers ?? []).map((h) => h.header.key).sort()).toEqual(['content-type', 'www-authenticate']);
  });

  test('by default, all of them (as before)', async () => {
    const a = await start(rule('orders', ''));
    const res = await a.client.check(checkRequest({ path: '/deny' }));
    expect((res.denied_response?.headers ?? []).map((h) => h.header.key)).toEqual(
      expect.arrayContaining(['content-type', 'www-authenticate', 'x-internal', 'x-user-id']),
    );
  });
});

describe('explain --json', () => {
  test('shows per rule what would be forwarded, added (as written), set, appended and removed', async () => {
    const file = writeConfig(
      configYaml(
        rule(
          'orders',
          `    dryRun: true\n    request: { allowedHeaders: [{ prefix: x-tenant- }], headersToAdd: { x-api-key: "\${${SECRET_VAR}}" }, removeHeaders: [authorization] }\n` +
            '    response: { allowedHeaders: [x-user-id], appendHeaders: [x-groups], clientHeadersOnSuccess: [set-cookie], clientHeaders: [www-authenticate], dynamicMetadata: [x-user-id] }\n',
        ),
      ),
    );
    const r = await runCli(['explain', '--config', file, '--path', '/x', '--header', 'x-tenant-id=1', '--header', 'x-other=2', '--json']);
    expect(r.code).toBe(0);
    const headers = (JSON.parse(r.out) as { rules: Array<{ headers: unknown }> }).rules[0].headers;
    expect(headers).toEqual({
      dryRun: true,
      authRequest: { forwarded: ['x-tenant-id'], added: { 'x-api-key': `\${${SECRET_VAR}}` } },
      upstream: {
        set: ['x-user-id'],
        appended: ['x-groups'],
        removed: ['authorization'],
        removedUnlessSet: expect.arrayContaining(['x-user-id', 'x-groups', 'x_groups']),
      },
      client: { onSuccess: ['set-cookie'], onDenial: ['www-authenticate'] },
      dynamicMetadata: ['rule', 'reason', 'x-user-id'],
    });
  });
});
