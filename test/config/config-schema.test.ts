import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parse as parseYaml } from 'yaml';
import { CONFIG_SCHEMA_FILE, DEFAULTS, Issues, parseConfigValue, parseDuration } from '../../src/config';
import { compilePermission } from '../../src/matcher/compile-permission';
import { CONFIG_SCHEMA, decodeYaml, parserIssues, schemaErrors, type SchemaError } from '../helpers/config-schema';
import { docConfigs, fixtureConfigs, shippedConfigs, testSourceConfigs, type CorpusEntry } from './config-corpus';

/**
 * config/config.schema.json is written by hand next to a hand-written parser; these tests keep the
 * two in step. Every config the parser accepts anywhere in the repository must pass the schema;
 * every broken config of the table must fail both, at the same place; the schema's defaults must
 * be the parser's.
 */

const ROOT = path.resolve(__dirname, '../..');

function accepted(entries: CorpusEntry[]): CorpusEntry[] {
  return entries.filter((e) => parserIssues(e.value).length === 0);
}

function refusals(entries: CorpusEntry[]): Array<{ source: string; errors: SchemaError[] }> {
  return entries.map((e) => ({ source: e.source, errors: schemaErrors(e.value) })).filter((r) => r.errors.length > 0);
}

describe('every config in the repository', () => {
  test('the shipped configs (config/, deploy/adapter.yaml, the ConfigMap) pass the parser and the schema', () => {
    const shipped = shippedConfigs();
    expect(shipped.map((e) => e.source)).toEqual(
      expect.arrayContaining(['config/example.yaml', 'deploy/adapter.yaml', 'deploy/kubernetes/configmap.yaml data.config.yaml']),
    );
    expect(shipped.map((e) => ({ source: e.source, issues: parserIssues(e.value) }))).toEqual(
      shipped.map((e) => ({ source: e.source, issues: [] })),
    );
    expect(refusals(shipped)).toEqual([]);
  });

  test('the configs of the docs and the test fixtures that the parser accepts pass the schema', () => {
    const docs = accepted([...docConfigs(), ...fixtureConfigs()]);
    // The configuration reference, the conditions page and the gateway fixtures at least.
    expect(docs.length).toBeGreaterThanOrEqual(4);
    expect(refusals(docs)).toEqual([]);
  });

  test('the config text of the test sources that the parser accepts passes the schema', () => {
    const tests = accepted(testSourceConfigs());
    expect(tests.length).toBeGreaterThanOrEqual(30);
    expect(refusals(tests)).toEqual([]);
  });
});

const URL = 'http://auth:8000';
/** A config of one rule; `lines` are more keys of that rule, indented by four. */
const rule = (lines = '', top = ''): string => `${top}rules:\n  - name: r\n    service: { url: "${URL}" }\n${lines}`;
const service = (fields: string): string => `rules:\n  - name: r\n    service: { url: "${URL}", ${fields} }\n`;
const match = (flow: string): string => rule(`    match: ${flow}\n`);
const permission = (flow: string): string => match(`{ mode: complex, permissions: [${flow}] }`);
const condition = (flow: string, mode = 'whitelist'): string => match(`{ mode: ${mode}, conditions: [${flow}] }`);
const P = 'rules[0].match.permissions[0]';
const C = 'rules[0].match.conditions[0]';

/** [what is wrong, config text, where the parser says it is]. */
const BROKEN: ReadonlyArray<readonly [string, string, string]> = [
  ['an unknown top-level key', rule('', 'logs: { level: info }\n'), 'logs'],
  ['an unknown rule key', rule('    matches: { mode: all }\n'), 'rules[0].matches'],
  ['an unknown service key', service('timeot: 1s'), 'rules[0].service.timeot'],
  ['an unknown body key', rule('    request: { body: { enable: true } }\n'), 'rules[0].request.body.enable'],
  ['a bad service.mode', service('mode: lax'), 'rules[0].service.mode'],
  ['a bad log.level', rule('', 'log: { level: verbose }\n'), 'log.level'],
  ['a bad match.mode', match('{ mode: any }'), 'rules[0].match.mode'],
  ['a duration in words', service('timeout: ten'), 'rules[0].service.timeout'],
  ['a duration without a unit', service('timeout: 10'), 'rules[0].service.timeout'],
  ['a duration with a space', service('timeout: 5 sec'), 'rules[0].service.timeout'],
  ['a bad shutdown duration', rule('', 'shutdown: { drainDelay: "5" }\n'), 'shutdown.drainDelay'],
  ['a bad cache ttl', rule('    cache: { ttl: forever }\n'), 'rules[0].cache.ttl'],
  ['a success status on error', service('statusOnError: 200'), 'rules[0].service.statusOnError'],
  ['a status past 599', service('statusOnError: 600'), 'rules[0].service.statusOnError'],
  ['a status as a string', service('statusOnError: "403"'), 'rules[0].service.statusOnError'],
  ['retries past 3', service('retries: 4'), 'rules[0].service.retries'],
  ['circuitBreaker: true', service('circuitBreaker: "on"'), 'rules[0].service.circuitBreaker'],
  ['no failures at all', service('circuitBreaker: { failures: 0 }'), 'rules[0].service.circuitBreaker.failures'],
  ['an unknown breaker key', service('circuitBreaker: { openfor: 5s }'), 'rules[0].service.circuitBreaker.openfor'],
  ['a missing url', 'rules:\n  - name: r\n    service: { path: /validateToken }\n', 'rules[0].service.url'],
  ['a missing service', 'rules:\n  - name: r\n', 'rules[0].service'],
  ['no rules key', 'log: { level: info }\n', 'rules'],
  ['an empty rule list', 'rules: []\n', 'rules'],
  ['a url with a path', 'rules:\n  - name: r\n    service: { url: "http://auth:8000/check" }\n', 'rules[0].service.url'],
  ['a url with credentials', 'rules:\n  - name: r\n    service: { url: "http://u:p@auth:8000" }\n', 'rules[0].service.url'],
  ['an ftp url', 'rules:\n  - name: r\n    service: { url: "ftp://auth:21" }\n', 'rules[0].service.url'],
  ['a url without a scheme', 'rules:\n  - name: r\n    service: { url: "auth:8000" }\n', 'rules[0].service.url'],
  ['a service path without "/"', service('path: validateToken'), 'rules[0].service.path'],
  ['a service path with a query', service('path: "/check?x=1"'), 'rules[0].service.path'],
  ['tls on an http url', service('tls: { ca: ca.pem }'), 'rules[0].service.tls'],
  [
    'a client cert without its key',
    'rules:\n  - name: r\n    service: { url: "https://auth", tls: { cert: c.pem } }\n',
    'rules[0].service.tls',
  ],
  [
    'an unknown service tls key',
    'rules:\n  - name: r\n    service: { url: "https://auth", tls: { caFile: ca.pem } }\n',
    'rules[0].service.tls.caFile',
  ],
  ['grpc tls without a key', rule('', 'grpc: { tls: { cert: c.pem } }\n'), 'grpc.tls.key'],
  ['a grpc address without a port', rule('', 'grpc: { address: localhost }\n'), 'grpc.address'],
  ['a grpc port past 65535', rule('', 'grpc: { address: "0.0.0.0:70000" }\n'), 'grpc.address'],
  ['an admin address of a port alone', rule('', 'admin: { address: "9002" }\n'), 'admin.address'],
  ['zero workers', rule('', 'workers: 0\n'), 'workers'],
  ['workers in words', rule('', 'workers: many\n'), 'workers'],
  ['a rule name with a space', 'rules:\n  - name: "my rule"\n    service: { url: "http://auth:8000" }\n', 'rules[0].name'],
  ['enabled as a string', rule('    enabled: "no"\n'), 'rules[0].enabled'],
  ['coalesce as a string', rule('    coalesce: "yes"\n'), 'rules[0].coalesce'],
  ['a framing header forwarded', rule('    request: { allowedHeaders: [Transfer-Encoding] }\n'), 'rules[0].request.allowedHeaders[0]'],
  ['a proxy- header as the token header', rule('    request: { tokenHeader: proxy-authorization }\n'), 'rules[0].request.tokenHeader'],
  ['no token header', rule('    request: { tokenHeader: [] }\n'), 'rules[0].request.tokenHeader'],
  ['a header name with a space', rule('    request: { allowedHeaders: ["x tenant"] }\n'), 'rules[0].request.allowedHeaders[0]'],
  ['two result headers', rule('    response: { resultHeader: [x-a, x-b] }\n'), 'rules[0].response.resultHeader'],
  ['maxHeaderBytes below 1 KiB', rule('    request: { maxHeaderBytes: 100 }\n'), 'rules[0].request.maxHeaderBytes'],
  ['a negative body size', rule('    request: { body: { maxBytes: -1 } }\n'), 'rules[0].request.body.maxBytes'],
  ['a cache smaller than 64 KiB', rule('    cache: { maxBytes: 1024 }\n'), 'rules[0].cache.maxBytes'],
  ['conditions under mode all', match('{ mode: all, conditions: [{ path: /a }] }'), 'rules[0].match.conditions'],
  [
    'permissions under a whitelist',
    match('{ mode: whitelist, conditions: [{ path: /a }], permissions: [{ any: true }] }'),
    'rules[0].match.permissions',
  ],
  ['a whitelist without conditions', match('{ mode: whitelist }'), 'rules[0].match.conditions'],
  ['complex without permissions', match('{ mode: complex }'), 'rules[0].match.permissions'],
  ['an empty condition', condition('{}'), C],
  ['an unknown condition key', condition('{ path: /a, method: GET }'), `${C}.method`],
  ['pathMatch without a path', condition('{ domain: a.example.com, pathMatch: prefix }'), `${C}.pathMatch`],
  ['a bad pathMatch', condition('{ path: /a, pathMatch: glob }'), `${C}.pathMatch`],
  ['caseSensitive as a string', condition('{ path: /a, caseSensitive: "no" }'), `${C}.caseSensitive`],
  ['a domain with a space', condition('{ domain: "exa mple.com" }'), `${C}.domain`],
  ['a path without "/"', condition('{ path: "public/*" }'), `${C}.path`],
  ['a "*" inside a path', condition('{ path: "/a/*/b" }', 'blacklist'), `${C}.path`],
  ['a bad header op', condition('{ headers: [{ name: x-env, op: equal, value: gray }] }'), `${C}.headers[0].op`],
  ['a header op without its value', condition('{ headers: [{ name: x-env, op: equals }] }'), `${C}.headers[0].value`],
  ['a value for exists', condition('{ headers: [{ name: x-env, op: exists, value: gray }] }'), `${C}.headers[0].value`],
  ['an unknown pseudo-header', condition('{ headers: [{ name: ":foo", op: exists }] }'), `${C}.headers[0].name`],
  ['a misspelt permission kind', permission('{ and_rule: { rules: [{ any: true }] } }'), `${P}.and_rule`],
  ['a camelCase permission kind', permission('{ urlPath: { path: { prefix: /a } } }'), `${P}.urlPath`],
  ['a misspelt kind under not_rule', permission('{ not_rule: { header_match: { name: x-a } } }'), `${P}.not_rule.header_match`],
  ['an unsupported permission kind', permission('{ uri_template: { path_template: "/a/{x}" } }'), `${P}.uri_template`],
  ['two kinds in one permission', permission('{ any: true, destination_port: 80 }'), P],
  ['an empty permission', permission('{}'), P],
  ['an empty and_rules', permission('{ and_rules: { rules: [] } }'), `${P}.and_rules.rules`],
  ['any: false', permission('{ any: false }'), `${P}.any`],
  ['a StringMatcher with two kinds', permission('{ url_path: { path: { prefix: /a, exact: /b } } }'), `${P}.url_path.path`],
  ['a custom StringMatcher', permission('{ url_path: { path: { custom: { name: x } } } }'), `${P}.url_path.path.custom`],
  [
    'safe_regex with ignore_case',
    permission('{ url_path: { path: { safe_regex: { regex: "/a.*" }, ignore_case: true } } }'),
    `${P}.url_path.path.ignore_case`,
  ],
  ['a HeaderMatcher with two tests', permission('{ header: { name: x-a, exact_match: a, prefix_match: b } }'), `${P}.header`],
  ['a HeaderMatcher key from old Envoy', permission('{ header: { name: x-a, regex_match: "a.*" } }'), `${P}.header.regex_match`],
  [
    'a range_match bound in words',
    permission('{ header: { name: x-a, range_match: { start: low, end: 10 } } }'),
    `${P}.header.range_match.start`,
  ],
  ['a port past 65535', permission('{ destination_port: 70000 }'), `${P}.destination_port`],
  ['a negative port range start', permission('{ destination_port_range: { start: -1, end: 10 } }'), `${P}.destination_port_range.start`],
  [
    'a bad destination address',
    permission('{ destination_ip: { address_prefix: 10.0.0.256, prefix_len: 8 } }'),
    `${P}.destination_ip.address_prefix`,
  ],
  [
    'an IPv4 prefix longer than 32',
    permission('{ destination_ip: { address_prefix: 10.0.0.0, prefix_len: 33 } }'),
    `${P}.destination_ip.prefix_len`,
  ],
  ['metadata without a filter', permission('{ metadata: { path: [{ key: a }], value: { bool_match: true } } }'), `${P}.metadata.filter`],
  [
    'an or_match of one',
    permission('{ metadata: { filter: f, path: [{ key: a }], value: { or_match: { value_matchers: [{ bool_match: true }] } } } }'),
    `${P}.metadata.value.or_match.value_matchers`,
  ],
  ['dryRun as a string', rule('    dryRun: "yes"\n'), 'rules[0].dryRun'],
  [
    'a header matcher with two kinds',
    rule('    request: { allowedHeaders: [{ prefix: x-a, suffix: -b }] }\n'),
    'rules[0].request.allowedHeaders[0]',
  ],
  [
    'a static header with a space in its name',
    rule('    request: { headersToAdd: { "x api": v } }\n'),
    'rules[0].request.headersToAdd.x api',
  ],
  [
    'a static header value with a line feed',
    rule('    request: { headersToAdd: { x-a: "v\\nx-admin: 1" } }\n'),
    'rules[0].request.headersToAdd.x-a',
  ],
  ['a static header that is a number', rule('    request: { headersToAdd: { x-a: 1 } }\n'), 'rules[0].request.headersToAdd.x-a'],
  ['host removed', rule('    request: { removeHeaders: [authorization, Host] }\n'), 'rules[0].request.removeHeaders[1]'],
  ['a pseudo-header removed', rule('    request: { removeHeaders: [":path"] }\n'), 'rules[0].request.removeHeaders[0]'],
  ['a framing header appended', rule('    response: { appendHeaders: [content-length] }\n'), 'rules[0].response.appendHeaders[0]'],
  [
    'a client header with a space',
    rule('    response: { clientHeadersOnSuccess: ["set cookie"] }\n'),
    'rules[0].response.clientHeadersOnSuccess[0]',
  ],
  ['a denial header with a space', rule('    response: { clientHeaders: ["www authenticate"] }\n'), 'rules[0].response.clientHeaders[0]'],
  ['reason as a metadata header', rule('    response: { dynamicMetadata: [x-user-id, reason] }\n'), 'rules[0].response.dynamicMetadata'],
  [
    'an unknown ValueMatcher kind',
    permission('{ metadata: { filter: f, path: [{ key: a }], value: { number_match: 1 } } }'),
    `${P}.metadata.value.number_match`,
  ],
];

/** Whether two places are the same, or one holds the other (the schema may blame the enclosing mapping). */
function related(a: string, b: string): boolean {
  const within = (inner: string, outer: string): boolean =>
    outer === '' || inner === outer || inner.startsWith(`${outer}.`) || inner.startsWith(`${outer}[`);
  return within(a, b) || within(b, a);
}

describe('broken configs are refused by both the parser and the schema, at the same place', () => {
  test.each(BROKEN)('%s', (_what, text, where) => {
    const value = decodeYaml(text);
    expect(value).toBeDefined();
    const parser = parserIssues(value);
    expect(parser.map((i) => i.path)).toContain(where);
    const schema = schemaErrors(value);
    expect(schema.length).toBeGreaterThan(0);
    expect({ where, schema: schema.some((e) => related(e.path, where)) }).toEqual({ where, schema: true });
  });
});

describe('where the schema and the parser knowingly differ', () => {
  // Harmless to refuse in an editor: an empty key (the parser reads it as absent) is most often a slip.
  test.each([
    ['an empty mapping key', rule('', 'log:\n')],
    ['a result header listed twice in two cases', rule('    response: { resultHeader: [X-Result, x-result] }\n')],
    ['an IPv6 zone in a destination address', permission('{ destination_ip: { address_prefix: "fe80::1%eth0", prefix_len: 64 } }')],
  ])('the schema is stricter: %s', (_what, text) => {
    const value = decodeYaml(text);
    expect(parserIssues(value)).toEqual([]);
    expect(schemaErrors(value)).not.toEqual([]);
  });

  // What only the parser can check: ranges of durations, uniqueness, RE2 syntax, normal forms, ordered bounds.
  test.each([
    ['a timeout of zero', service('timeout: 0s'), 'rules[0].service.timeout'],
    ['a timeout past 10 minutes', service('timeout: 11m'), 'rules[0].service.timeout'],
    ['a duplicate rule name', `${rule()}  - name: r\n    service: { url: "${URL}" }\n`, 'rules[1].name'],
    ['an RE2 syntax error', permission('{ url_path: { path: { safe_regex: { regex: "a(b" } } } }'), `${P}.url_path.path.safe_regex.regex`],
    ['a path that is never normalized', condition('{ path: "/a//b" }'), `${C}.path`],
    [
      'a port range ending before it starts',
      permission('{ destination_port_range: { start: 10, end: 5 } }'),
      `${P}.destination_port_range`,
    ],
  ])('only the parser refuses %s', (_what, text, where) => {
    const value = decodeYaml(text);
    expect(parserIssues(value).map((i) => i.path)).toContain(where);
    expect(schemaErrors(value)).toEqual([]);
  });
});

type Schema = Record<string, unknown>;

function resolve(node: Schema): Schema {
  const ref = node.$ref;
  if (typeof ref !== 'string') return node;
  const target = ref
    .replace(/^#\//, '')
    .split('/')
    .reduce<unknown>((at, part) => (at as Schema)[part], CONFIG_SCHEMA) as Schema;
  return { ...resolve(target), ...node, $ref: undefined };
}

/** Every `default` reachable through `properties` (and the rule list's items), as [path, default]. */
function defaultsBelow(node: Schema, at: string[], out: Array<[string[], unknown]>): void {
  const s = resolve(node);
  if ('default' in s && at.length > 0) out.push([at, s.default]);
  for (const [key, child] of Object.entries((s.properties as Record<string, Schema> | undefined) ?? {})) {
    defaultsBelow(child, [...at, key], out);
  }
  if (s.type === 'array' && s.items && at[at.length - 1] === 'rules') defaultsBelow(s.items as Schema, [...at, '0'], out);
}

function setAt(root: Schema, at: string[], value: unknown): Schema {
  const copy = structuredClone(root);
  let node: Record<string, unknown> = copy;
  at.slice(0, -1).forEach((key) => {
    node[key] ??= {};
    node = node[key] as Record<string, unknown>;
  });
  if (value !== undefined) node[at[at.length - 1]] = value;
  return copy;
}

describe('defaults', () => {
  const MINIMAL = { rules: [{ name: 'r', service: { url: URL } }] };
  // Lists other than rules are not entered: the permission tree's defaults are the matcher's (below).
  const settingsDefaults: Array<[string[], unknown]> = [];
  defaultsBelow(CONFIG_SCHEMA, [], settingsDefaults);

  test('the schema gives a default for every settings key that has one', () => {
    expect(settingsDefaults.map(([p]) => p.join('.'))).toEqual(
      expect.arrayContaining([
        'grpc.address',
        'admin.address',
        'workers',
        'rules.0.service.timeout',
        'rules.0.match.mode',
        'rules.0.cache.ttl',
      ]),
    );
  });

  test.each(settingsDefaults.map(([p, d]) => [p.join('.'), d, p] as const))(
    '%s: writing the default %p changes nothing',
    (_name, def, at) => {
      const parse = (value: unknown) => {
        const issues = new Issues();
        const settings = parseConfigValue(value, issues);
        expect(issues.list).toEqual([]);
        return settings;
      };
      // The enclosing mappings are there in both, so only the key itself differs.
      expect(parse(setAt(MINIMAL, at, def))).toEqual(parse(setAt(MINIMAL, at, undefined)));
    },
  );

  test("the defaults the parser names in DEFAULTS are the schema's", () => {
    const schemaDefault = (p: string): unknown => settingsDefaults.find(([at]) => at.join('.') === p)?.[1];
    const ms = (p: string): number | undefined => parseDuration(String(schemaDefault(p)));
    const fromSchema: Record<keyof typeof DEFAULTS, unknown> = {
      grpcAddress: schemaDefault('grpc.address'),
      adminAddress: schemaDefault('admin.address'),
      tokenHeader: schemaDefault('rules.0.request.tokenHeader'),
      resultHeader: schemaDefault('rules.0.response.resultHeader'),
      timeoutMs: ms('rules.0.service.timeout'),
      statusOnError: schemaDefault('rules.0.service.statusOnError'),
      maxConcurrent: schemaDefault('rules.0.service.maxConcurrent'),
      connections: schemaDefault('rules.0.service.connections'),
      retries: schemaDefault('rules.0.service.retries'),
      breakerFailures: (schemaDefault('rules.0.service.circuitBreaker') as { failures?: unknown } | undefined)?.failures,
      breakerOpenForMs: parseDuration(
        String((schemaDefault('rules.0.service.circuitBreaker') as { openFor?: unknown } | undefined)?.openFor),
      ),
      maxHeaderBytes: schemaDefault('rules.0.request.maxHeaderBytes'),
      bodyMaxBytes: schemaDefault('rules.0.request.body.maxBytes'),
      responseMaxBodyBytes: schemaDefault('rules.0.response.maxBodyBytes'),
      cacheMaxBytes: schemaDefault('rules.0.cache.maxBytes'),
      drainDelayMs: ms('shutdown.drainDelay'),
      shutdownTimeoutMs: ms('shutdown.timeout'),
      logFlushTimeoutMs: ms('shutdown.logFlushTimeout'),
      grpcMaxRequestBytes: schemaDefault('grpc.maxRequestBytes'),
      grpcMaxInFlightBytes: schemaDefault('grpc.maxInFlightBytes'),
      heartbeatIntervalMs: ms('workerHeartbeat.interval'),
      heartbeatTimeoutMs: ms('workerHeartbeat.timeout'),
      exposeConfig: schemaDefault('admin.exposeConfig'),
      logLevel: schemaDefault('log.level'),
      workers: schemaDefault('workers'),
      enabled: schemaDefault('rules.0.enabled'),
      servicePath: schemaDefault('rules.0.service.path'),
      mode: schemaDefault('rules.0.service.mode'),
      requestAllowedHeaders: schemaDefault('rules.0.request.allowedHeaders'),
      bodyEnabled: schemaDefault('rules.0.request.body.enabled'),
      responseAllowedHeaders: schemaDefault('rules.0.response.allowedHeaders'),
      matchMode: schemaDefault('rules.0.match.mode'),
      cacheTtlMs: ms('rules.0.cache.ttl'),
      cacheMaxEntries: schemaDefault('rules.0.cache.maxEntries'),
      coalesce: schemaDefault('rules.0.coalesce'),
      dryRun: schemaDefault('rules.0.dryRun'),
      removeHeaders: schemaDefault('rules.0.request.removeHeaders'),
      appendHeaders: schemaDefault('rules.0.response.appendHeaders'),
      clientHeadersOnSuccess: schemaDefault('rules.0.response.clientHeadersOnSuccess'),
      dynamicMetadata: schemaDefault('rules.0.response.dynamicMetadata'),
    };
    expect(fromSchema).toEqual(DEFAULTS);
  });

  // Samples of each permission-tree object with defaults: writing a default it lacks must compile to the same matcher.
  const PERMISSION_SAMPLES: ReadonlyArray<
    readonly [string, Record<string, unknown>, (p: Record<string, unknown>) => Record<string, unknown>]
  > = [
    ['headerMatcher', { header: { name: 'x-a', exact_match: 'v' } }, (p) => p.header as Record<string, unknown>],
    ['stringMatcher', { url_path: { path: { prefix: '/a' } } }, (p) => (p.url_path as Record<string, Record<string, unknown>>).path],
    [
      'int64Range',
      { header: { name: 'x-a', range_match: { end: 10 } } },
      (p) => (p.header as Record<string, Record<string, unknown>>).range_match,
    ],
    [
      'int64Range',
      { header: { name: 'x-a', range_match: { start: -5 } } },
      (p) => (p.header as Record<string, Record<string, unknown>>).range_match,
    ],
    ['cidrRange', { destination_ip: { address_prefix: '10.0.0.0' } }, (p) => p.destination_ip as Record<string, unknown>],
    [
      'metadataMatcher',
      { metadata: { filter: 'f', path: [{ key: 'a' }], value: { bool_match: true } } },
      (p) => p.metadata as Record<string, unknown>,
    ],
    ['destination_port_range', { destination_port_range: { end: 80 } }, (p) => p.destination_port_range as Record<string, unknown>],
    ['destination_port_range', { destination_port_range: { start: 80 } }, (p) => p.destination_port_range as Record<string, unknown>],
  ];

  function schemaOf(name: string): Schema {
    const defs = CONFIG_SCHEMA.$defs as Record<string, Schema>;
    return resolve(defs[name] ?? (defs.permission.properties as Record<string, Schema>)[name]);
  }

  function compiled(p: unknown): { label: string; issues: unknown[] } {
    const issues = new Issues();
    const m = compilePermission(p, 'p', issues);
    return { label: m.label, issues: issues.list };
  }

  test.each(PERMISSION_SAMPLES)('%s %j: writing a default changes neither the matcher nor its errors', (name, sample, target) => {
    for (const [key, prop] of Object.entries((schemaOf(name).properties ?? {}) as Record<string, Schema>)) {
      if (!('default' in resolve(prop)) || key in target(sample)) continue;
      const withDefault = structuredClone(sample);
      target(withDefault)[key] = resolve(prop).default;
      expect({ key, ...compiled(withDefault) }).toEqual({ key, ...compiled(sample) });
    }
  });

  test('the samples try every default of the permission tree', () => {
    const defs = CONFIG_SCHEMA.$defs as Record<string, Schema>;
    const withDefaults = (s: Schema): string[] =>
      Object.entries((s.properties ?? {}) as Record<string, Schema>)
        .filter(([, p]) => 'default' in resolve(p))
        .map(([k]) => k);
    const PERMISSION_DEFS = [
      'permission',
      'permissionSet',
      'headerMatcher',
      'stringMatcher',
      'regexMatcher',
      'int64Range',
      'cidrRange',
      'metadataMatcher',
      'valueMatcher',
    ];
    const wanted = [
      ...PERMISSION_DEFS.flatMap((d) => withDefaults(defs[d]).map((k) => `${d}.${k}`)),
      ...withDefaults(schemaOf('destination_port_range')).map((k) => `destination_port_range.${k}`),
    ];
    const tried = PERMISSION_SAMPLES.flatMap(([name, sample, target]) =>
      withDefaults(schemaOf(name))
        .filter((k) => !(k in target(sample)))
        .map((k) => `${name}.${k}`),
    );
    expect(wanted.length).toBeGreaterThan(0);
    expect([...new Set(tried)].sort()).toEqual([...new Set(wanted)].sort());
  });
});

describe('editors find the schema', () => {
  const MODELINE = /^# yaml-language-server: \$schema=(\S+)$/;
  const pointsAtSchema = (firstLine: string, dir: string): string | undefined => {
    const m = MODELINE.exec(firstLine);
    return m ? path.resolve(dir, m[1]) : undefined;
  };

  test.each(['config/example.yaml', 'deploy/adapter.yaml'])('%s starts with a yaml-language-server line pointing at it', (file) => {
    const first = readFileSync(path.join(ROOT, file), 'utf8').split('\n')[0];
    expect(pointsAtSchema(first, path.dirname(path.join(ROOT, file)))).toBe(CONFIG_SCHEMA_FILE);
  });

  test("the ConfigMap's config text starts with one too, relative to the ConfigMap file", () => {
    const file = path.join(ROOT, 'deploy/kubernetes/configmap.yaml');
    const configMap = parseYaml(readFileSync(file, 'utf8')) as { data: Record<string, string> };
    const first = configMap.data['config.yaml'].split('\n')[0];
    expect(pointsAtSchema(first, path.dirname(file))).toBe(CONFIG_SCHEMA_FILE);
    // Not at the top of the file: there it would hold the ConfigMap itself to the adapter's schema.
    expect(readFileSync(file, 'utf8')).not.toMatch(/^# yaml-language-server/);
  });

  test('the schema is draft 2020-12 and describes every key it defines', () => {
    expect(CONFIG_SCHEMA.$schema).toBe('https://json-schema.org/draft/2020-12/schema');
    const undescribed: string[] = [];
    const visit = (node: unknown, at: string): void => {
      if (Array.isArray(node)) return node.forEach((n, i) => visit(n, `${at}/${i}`));
      if (typeof node !== 'object' || node === null) return;
      for (const [key, child] of Object.entries((node as Schema).properties ?? {})) {
        const c = child as Schema;
        if (typeof c.description !== 'string' && !(typeof c.$ref === 'string' && typeof resolve(c).description === 'string')) {
          undescribed.push(`${at}/properties/${key}`);
        }
      }
      // Conditional subschemas restate a key to constrain it; its description is where it is defined.
      for (const [key, child] of Object.entries(node)) if (!CONDITIONAL.has(key)) visit(child, `${at}/${key}`);
    };
    const CONDITIONAL = new Set(['if', 'then', 'else', 'not', 'anyOf', 'allOf', 'oneOf']);
    visit(CONFIG_SCHEMA, '#');
    expect(undescribed).toEqual([]);
  });
});

describe('the package ships the schema', () => {
  test('npm pack includes config/config.schema.json', () => {
    const out = execFileSync('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], { cwd: ROOT, encoding: 'utf8' });
    const [pack] = JSON.parse(out) as Array<{ files: Array<{ path: string }> }>;
    expect(pack.files.map((f) => f.path)).toContain('config/config.schema.json');
  });

  test('the image copies it where `schema` reads it', () => {
    expect(readFileSync(path.join(ROOT, 'Dockerfile'), 'utf8')).toMatch(/^COPY config\/config\.schema\.json \.\/config\/$/m);
  });
});
