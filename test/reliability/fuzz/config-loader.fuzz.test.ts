import fc from 'fast-check';
import { stringify } from 'yaml';
import { ConfigError } from '../../../src/config';
import { compileConfig } from '../../../src/server/check/compile-config';
import { fuzzParameters } from './fuzz-options';

// Config-shaped documents: the schema's own keys, mostly, with values of every type, so the
// generator reaches deep into the loader instead of stopping at the first wrong top-level key.
const KEYS = [
  'grpc',
  'admin',
  'log',
  'shutdown',
  'workers',
  'rules',
  'address',
  'tls',
  'exposeConfig',
  'level',
  'drainDelay',
  'timeout',
  'name',
  'enabled',
  'service',
  'request',
  'response',
  'match',
  'cache',
  'coalesce',
  'url',
  'path',
  'mode',
  'statusOnError',
  'maxConcurrent',
  'connections',
  'tokenHeader',
  'allowedHeaders',
  'maxHeaderBytes',
  'body',
  'maxBytes',
  'resultHeader',
  'maxBodyBytes',
  'conditions',
  'permissions',
  'domain',
  'pathMatch',
  'caseSensitive',
  'headers',
  'op',
  'value',
  'ttl',
  'maxEntries',
  'cert',
  'key',
  'ca',
  'clientCa',
  'serverName',
  'and_rules',
  'or_rules',
  'not_rule',
  'any',
  'header',
  'url_path',
  'prefix',
  'exact',
  'safe_regex',
  'regex',
  'destination_port',
  '__proto__',
  'constructor',
  'x',
];
const SCALARS = fc.oneof(
  fc.constantFrom(
    'http://127.0.0.1:1',
    'https://a.example',
    '127.0.0.1:0',
    '1s',
    '250ms',
    '-1s',
    'loose',
    'strict',
    'whitelist',
    'complex',
    'all',
    '/a/*',
    '(',
    'x-a',
    'debug',
    '0.0.0.0:99999',
    'auto',
    '/nonexistent/key.pem',
    '',
  ),
  fc.integer({ min: -2, max: 70_000 }),
  fc.double(),
  fc.boolean(),
  fc.constant(null),
  fc.string({ maxLength: 10 }),
);

const doc = fc.letrec((tie) => ({
  value: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    SCALARS,
    fc.array(tie('value'), { maxLength: 3 }),
    fc.dictionary(fc.constantFrom(...KEYS), tie('value'), { maxKeys: 5 }),
  ),
})).value;

/** A valid rule to mutate: an arbitrary value is placed at one key path, the rest stays sound. */
const BASE = {
  grpc: { address: '127.0.0.1:0' },
  admin: { address: '' },
  rules: [
    {
      name: 'r',
      service: { url: 'http://127.0.0.1:1', path: '/auth', timeout: '1s', mode: 'strict' },
      request: { tokenHeader: 'authorization', allowedHeaders: ['x-a'] },
      response: { allowedHeaders: ['x-b'] },
      match: { mode: 'whitelist', conditions: [{ path: '/public/*' }] },
    },
  ],
};
const MUTATION_POINTS: ReadonlyArray<readonly (string | number)[]> = [
  [],
  ['grpc'],
  ['grpc', 'tls'],
  ['admin'],
  ['log'],
  ['shutdown'],
  ['workers'],
  ['rules'],
  ['rules', 0],
  ['rules', 1],
  ['rules', 0, 'service'],
  ['rules', 0, 'service', 'url'],
  ['rules', 0, 'service', 'timeout'],
  ['rules', 0, 'service', 'tls'],
  ['rules', 0, 'request'],
  ['rules', 0, 'request', 'body'],
  ['rules', 0, 'response'],
  ['rules', 0, 'match'],
  ['rules', 0, 'match', 'conditions'],
  ['rules', 0, 'match', 'conditions', 0],
  ['rules', 0, 'match', 'mode'],
  ['rules', 0, 'cache'],
];

function mutate(at: readonly (string | number)[], value: unknown): unknown {
  if (at.length === 0) return value;
  const root = structuredClone(BASE) as Record<string | number, unknown>;
  let node = root;
  for (const key of at.slice(0, -1)) {
    if (typeof node[key] !== 'object' || node[key] === null) node[key] = {};
    node = node[key] as Record<string | number, unknown>;
  }
  node[at[at.length - 1]] = value;
  return root;
}

const yamlText = fc.oneof(
  fc.string({ maxLength: 200 }),
  fc
    .array(
      fc.constantFrom(
        'rules:',
        '\n',
        '  - ',
        'name: r',
        ' ',
        ':',
        '{',
        '}',
        '[',
        ']',
        '"',
        "'",
        '&a',
        '*a',
        '<<: *a',
        '!!binary',
        '#',
        '---',
        '\t',
        'url: x',
      ),
      { maxLength: 40 },
    )
    .map((parts) => parts.join('')),
  doc.map((v) => stringify(v)),
  fc.tuple(fc.constantFrom(...MUTATION_POINTS), doc).map(([at, v]) => stringify(mutate(at, v))),
);

describe('the config loader, on arbitrary YAML', () => {
  test('returns a config or throws ConfigError listing issues with key paths, never anything else', async () => {
    const seen = { ok: 0, rejected: 0 };
    await fc.assert(
      fc.asyncProperty(yamlText, async (text) => {
        let loaded;
        try {
          loaded = await compileConfig(text, 'fuzz.yaml');
        } catch (err) {
          expect(err).toBeInstanceOf(ConfigError);
          const issues = (err as ConfigError).issues;
          expect(issues.length).toBeGreaterThan(0);
          for (const issue of issues) {
            expect(typeof issue.path).toBe('string');
            expect(issue.message.length).toBeGreaterThan(0);
          }
          seen.rejected++;
          return;
        }
        seen.ok++;
        expect(loaded.rules.length).toBeGreaterThan(0);
      }),
      fuzzParameters(20_000),
    );
    expect(seen.rejected).toBeGreaterThan(0);
    process.stdout.write(`config loader: ${seen.ok} loaded, ${seen.rejected} rejected\n`);
  });
});

describe('YAML the parser accepts but cannot turn into values', () => {
  test.each([
    ['an alias to no anchor', 'rules:<<: *a'],
    [
      'aliases past maxAliasCount (billion laughs)',
      `a: &a [x, x, x, x, x, x, x, x, x, x]\n${Array.from({ length: 6 }, (_, i) => `${'bcdefg'[i]}: &${'bcdefg'[i]} [${Array(10).fill(`*${'abcdefg'[i]}`).join(', ')}]`).join('\n')}\nrules: []\n`,
    ],
  ])('%s is a ConfigError, not an uncaught exception', async (_name, text) => {
    const err = await compileConfig(text, 'bad.yaml').then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as ConfigError).issues.map((i) => i.message)).toEqual([expect.stringMatching(/^YAML: .*alias/i)]);
  });
});
