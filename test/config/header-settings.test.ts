import { inspect } from 'node:util';
import { Issues, parseConfigValue, type AdapterSettings, type Environment } from '../../src/config';

// Issue 14's keys as the parser reads them: defaults, every list, and every bad input reported
// with its key path. The environment is passed in, so nothing here depends on the process's own.

const SECRET = 'k3y-from-the-environment';
const ENV: Environment = { AUTH_API_KEY: SECRET, TENANT: 'acme', EMPTY: '', WITH_LF: 'a\nb' };

function parse(rule: Record<string, unknown>, env: Environment = ENV): { settings?: AdapterSettings; issues: string[] } {
  const issues = new Issues();
  const settings = parseConfigValue({ rules: [{ name: 'r', service: { url: 'http://a:1' }, ...rule }] }, issues, env);
  return { settings, issues: issues.list.map((i) => `${i.path}: ${i.message}`) };
}

function only(rule: Record<string, unknown>, env?: Environment): string {
  const { issues } = parse(rule, env);
  expect(issues).toHaveLength(1);
  return issues[0];
}

test('defaults keep the old behaviour: no dry run, nothing added, removed, appended, all denial headers', () => {
  const { settings, issues } = parse({});
  expect(issues).toEqual([]);
  const rule = settings!.rules[0];
  expect(rule.dryRun).toBe(false);
  expect(rule.request).toMatchObject({ allowedHeaders: [], allowedHeaderMatchers: [], headersToAdd: [], removeHeaders: [] });
  expect(rule.response).toMatchObject({ appendHeaders: [], clientHeadersOnSuccess: [], clientHeaders: undefined, dynamicMetadata: [] });
});

test('reads every key of the issue example, lowercasing names once', () => {
  const { settings, issues } = parse({
    dryRun: true,
    request: {
      allowedHeaders: ['X-Tenant', { prefix: 'x-tenant-' }, { safe_regex: { regex: 'x-custom-[a-z]+' } }],
      headersToAdd: { 'X-Api-Key': '${AUTH_API_KEY}', 'x-gateway': 'edge', 'x-tenant-id': 'gw-${TENANT}-1' },
      removeHeaders: ['Authorization'],
    },
    response: {
      allowedHeaders: ['x-user-id'],
      appendHeaders: ['X-Groups'],
      clientHeadersOnSuccess: ['Set-Cookie'],
      clientHeaders: ['www-authenticate', 'Content-Type'],
      dynamicMetadata: ['X-User-Id'],
    },
  });
  expect(issues).toEqual([]);
  const { request, response, dryRun } = settings!.rules[0];
  expect(dryRun).toBe(true);
  expect(request.allowedHeaders).toEqual(['x-tenant']);
  expect(request.allowedHeaderMatchers).toEqual([
    { path: 'rules[0].request.allowedHeaders[1]', matcher: { prefix: 'x-tenant-' } },
    { path: 'rules[0].request.allowedHeaders[2]', matcher: { safe_regex: { regex: 'x-custom-[a-z]+' } } },
  ]);
  expect(request.headersToAdd.map((h) => [h.name, h.value])).toEqual([
    ['x-api-key', SECRET],
    ['x-gateway', 'edge'],
    ['x-tenant-id', 'gw-acme-1'],
  ]);
  expect(request.removeHeaders).toEqual(['authorization']);
  expect(response).toMatchObject({
    appendHeaders: ['x-groups'],
    clientHeadersOnSuccess: ['set-cookie'],
    clientHeaders: ['www-authenticate', 'content-type'],
    dynamicMetadata: ['x-user-id'],
  });
});

test('a resolved value is never shown: JSON and inspect give the value as written', () => {
  const { settings } = parse({ request: { headersToAdd: { 'x-api-key': 'Bearer ${AUTH_API_KEY}' } } });
  const header = settings!.rules[0].request.headersToAdd[0];
  expect(header.value).toBe(`Bearer ${SECRET}`);
  expect(JSON.stringify(settings)).not.toContain(SECRET);
  expect(JSON.stringify(settings)).toContain('Bearer ${AUTH_API_KEY}');
  expect(inspect(settings, { depth: 10, showHidden: true })).not.toContain(SECRET);
});

test('a non-ASCII value travels as its UTF-8 bytes', () => {
  const { settings } = parse({ request: { headersToAdd: { 'x-region': 'zürich' } } });
  expect(Buffer.from(settings!.rules[0].request.headersToAdd[0].value, 'latin1').toString('utf8')).toBe('zürich');
});

describe('bad input is a config error with its key path', () => {
  test.each<[string, Record<string, unknown>, string]>([
    [
      'allowedHeaders: a name that is not a token',
      { request: { allowedHeaders: ['x-ok', 'x bad'] } },
      'rules[0].request.allowedHeaders[1]: expected an HTTP header name',
    ],
    [
      'allowedHeaders: a connection header',
      { request: { allowedHeaders: ['Upgrade'] } },
      'rules[0].request.allowedHeaders[0]: "upgrade" describes a connection',
    ],
    [
      'allowedHeaders: neither name nor matcher',
      { request: { allowedHeaders: [42] } },
      'rules[0].request.allowedHeaders[0]: expected an HTTP header name',
    ],
    [
      'allowedHeaders: an upper-case literal that never matches',
      { request: { allowedHeaders: [{ prefix: 'X-Tenant-' }] } },
      'rules[0].request.allowedHeaders[0].prefix: header names are compared lowercased',
    ],
    [
      'allowedHeaders: a literal with a space',
      { request: { allowedHeaders: [{ contains: 'a b' }] } },
      'rules[0].request.allowedHeaders[0].contains: "a b" holds a character no header name has',
    ],
    [
      'headersToAdd: a name that is not a token',
      { request: { headersToAdd: { 'x api': 'v' } } },
      'rules[0].request.headersToAdd.x api: expected an HTTP header name',
    ],
    [
      'headersToAdd: a framing header',
      { request: { headersToAdd: { 'Content-Length': '1' } } },
      'rules[0].request.headersToAdd.Content-Length: "content-length" describes a connection',
    ],
    [
      'headersToAdd: CR LF in the value',
      { request: { headersToAdd: { 'x-a': 'v\r\nx-admin: 1' } } },
      'rules[0].request.headersToAdd.x-a: the value holds a CR, LF',
    ],
    [
      'headersToAdd: a number',
      { request: { headersToAdd: { 'x-a': 1 } } },
      'rules[0].request.headersToAdd.x-a: expected a string value (quote it)',
    ],
    [
      'headersToAdd: not a mapping',
      { request: { headersToAdd: ['x-a: 1'] } },
      'rules[0].request.headersToAdd: expected a mapping of header name to value',
    ],
    [
      'headersToAdd: the same name twice',
      { request: { headersToAdd: { 'x-a': '1', 'X-A': '2' } } },
      'rules[0].request.headersToAdd.X-A: "x-a" is given twice',
    ],
    [
      'headersToAdd: a token header',
      { request: { headersToAdd: { authorization: 'Bearer x' } } },
      'rules[0].request.headersToAdd.authorization: is also request.tokenHeader',
    ],
    [
      'headersToAdd: a forwarded header',
      { request: { allowedHeaders: ['x-a'], headersToAdd: { 'x-a': '1' } } },
      'rules[0].request.headersToAdd.x-a: is also in request.allowedHeaders',
    ],
    [
      'headersToAdd: a bad reference',
      { request: { headersToAdd: { 'x-a': '${1X}' } } },
      'rules[0].request.headersToAdd.x-a: ${1X} is not a variable reference',
    ],
    [
      'headersToAdd: an unclosed reference',
      { request: { headersToAdd: { 'x-a': '${AUTH_API_KEY' } } },
      'rules[0].request.headersToAdd.x-a: holds "${" without a closing "}"',
    ],
    [
      'removeHeaders: a pseudo-header',
      { request: { removeHeaders: ['authorization', ':path'] } },
      'rules[0].request.removeHeaders[1]: ":path" cannot be removed',
    ],
    ['removeHeaders: host', { request: { removeHeaders: ['Host'] } }, 'rules[0].request.removeHeaders[0]: "host" cannot be removed'],
    [
      'removeHeaders: not a token',
      { request: { removeHeaders: ['x y'] } },
      'rules[0].request.removeHeaders[0]: expected an HTTP header name',
    ],
    [
      'removeHeaders: a header the auth service sets',
      { request: { removeHeaders: ['x-user-id'] }, response: { allowedHeaders: ['x-user-id'] } },
      'rules[0].request.removeHeaders: "x-user-id" is also a header the auth service sets upstream',
    ],
    [
      'appendHeaders: not a token',
      { response: { appendHeaders: ['x(y)'] } },
      'rules[0].response.appendHeaders[0]: expected an HTTP header name',
    ],
    [
      'appendHeaders: also overwritten',
      { response: { allowedHeaders: ['x-groups'], appendHeaders: ['x-groups'] } },
      'rules[0].response.appendHeaders: "x-groups" is also in response.allowedHeaders',
    ],
    [
      'appendHeaders: a framing header',
      { response: { appendHeaders: ['transfer-encoding'] } },
      'rules[0].response.appendHeaders[0]: "transfer-encoding" describes a connection',
    ],
    [
      'clientHeadersOnSuccess: not a token',
      { response: { clientHeadersOnSuccess: ['set cookie'] } },
      'rules[0].response.clientHeadersOnSuccess[0]: expected an HTTP header name',
    ],
    [
      'clientHeaders: not a token',
      { response: { clientHeaders: ['www authenticate'] } },
      'rules[0].response.clientHeaders[0]: expected an HTTP header name',
    ],
    [
      'dynamicMetadata: not a token',
      { response: { dynamicMetadata: ['x user'] } },
      'rules[0].response.dynamicMetadata[0]: expected an HTTP header name',
    ],
    [
      'dynamicMetadata: a key the adapter sets',
      { response: { dynamicMetadata: ['reason'] } },
      'rules[0].response.dynamicMetadata: "reason" is a key the adapter sets itself',
    ],
    [
      'x-envoy-auth-headers-to-remove forwarded',
      { response: { allowedHeaders: ['x-envoy-auth-headers-to-remove'] } },
      'rules[0].response.allowedHeaders: "x-envoy-auth-headers-to-remove" is the auth service\'s instruction',
    ],
    ['dryRun: not a boolean', { dryRun: 'yes' }, 'rules[0].dryRun: expected true or false'],
  ])('%s', (_name, rule, expected) => {
    expect(only(rule)).toContain(expected);
  });
});

describe('${NAME} in headersToAdd', () => {
  test.each<[string, string, string]>([
    ['missing', '${MISSING_VAR}', 'environment variable MISSING_VAR is not set'],
    ['empty', '${EMPTY}', 'environment variable EMPTY is empty'],
    ['holding a line feed', 'x${WITH_LF}', 'environment variable WITH_LF holds a CR, LF or other control character'],
  ])('a variable %s is an error naming the key path and the variable, never a value', (_name, written, expected) => {
    const message = only({ request: { headersToAdd: { 'x-api-key': written } } });
    expect(message).toContain(`rules[0].request.headersToAdd.x-api-key: ${expected}`);
    expect(message).not.toContain('a\nb');
  });

  test('the environment is read at each parse, so a reload sees a new value', () => {
    const rule = { request: { headersToAdd: { 'x-api-key': '${AUTH_API_KEY}' } } };
    expect(parse(rule, { AUTH_API_KEY: 'one' }).settings!.rules[0].request.headersToAdd[0].value).toBe('one');
    expect(parse(rule, { AUTH_API_KEY: 'two' }).settings!.rules[0].request.headersToAdd[0].value).toBe('two');
  });
});
