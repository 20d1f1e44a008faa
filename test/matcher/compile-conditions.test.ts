import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { Issues } from '../../src/config';
import { compileConditions, compileMatch, type TracedMatcher } from '../../src/matcher';
import { RULE_PATH, checkMatcher, checkRule, compileErrors, compileOk, makeInput, type InputSpec } from './helpers';

function conditions(list: unknown[]): TracedMatcher {
  const issues = new Issues();
  const m = compileConditions(list, 'c', issues, 'whitelist');
  expect(issues.list).toEqual([]);
  return m;
}

type Case = [unknown, InputSpec, boolean];

function table(name: string, cases: Case[]): void {
  describe(name, () => {
    test.each(cases)('%j %j -> %s', (condition, spec, expected) => {
      checkMatcher(conditions([condition]), expected, makeInput(spec));
    });
  });
}

table('domain: case-insensitive, port and trailing dot ignored, "*." is any subdomain', [
  [{ domain: 'api.example.com' }, { host: 'api.example.com' }, true],
  [{ domain: 'api.example.com' }, { host: 'API.Example.COM' }, true],
  [{ domain: 'API.example.com' }, { host: 'api.example.com:8443' }, true],
  [{ domain: 'api.example.com' }, { host: 'api.example.com.' }, true],
  [{ domain: 'api.example.com' }, { host: 'api.example.com.:443' }, true],
  [{ domain: 'api.example.com' }, { host: 'x.api.example.com' }, false],
  [{ domain: 'api.example.com' }, { host: 'api.example.com.evil.net' }, false],
  [{ domain: '*.example.com' }, { host: 'a.example.com' }, true],
  [{ domain: '*.example.com' }, { host: 'a.b.example.com:80' }, true],
  [{ domain: '*.example.com' }, { host: 'example.com' }, false],
  [{ domain: '*.example.com' }, { host: 'badexample.com' }, false],
  [{ domain: '*.example.com' }, { host: 'A.EXAMPLE.COM' }, true],
  [{ domain: '10.0.0.1' }, { host: '10.0.0.1:8080' }, true],
]);

table('path: exact, trailing "*" prefix, pathMatch override, case sensitivity, no query', [
  [{ path: '/app/v1/order' }, { path: '/app/v1/order' }, true],
  [{ path: '/app/v1/order' }, { path: '/app/v1/order?id=1' }, true],
  [{ path: '/app/v1/order' }, { path: '/app/v1/order/' }, false],
  [{ path: '/app/v1/order' }, { path: '/app/v1/orders' }, false],
  [{ path: '/app/*' }, { path: '/app/x/y' }, true],
  [{ path: '/app/*' }, { path: '/app/' }, true],
  [{ path: '/app/*' }, { path: '/app' }, false],
  [{ path: '/app/*' }, { path: '/application' }, false],
  [{ path: '/app', pathMatch: 'prefix' }, { path: '/application' }, true],
  [{ path: '/app/*', pathMatch: 'prefix' }, { path: '/app/x' }, true],
  [{ path: '/a*', pathMatch: 'exact' }, { path: '/a*' }, true],
  [{ path: '/a*', pathMatch: 'exact' }, { path: '/ab' }, false],
  [{ path: '/app/v[0-9]+/.*', pathMatch: 'regex' }, { path: '/app/v2/order' }, true],
  [{ path: '/app/v[0-9]+', pathMatch: 'regex' }, { path: '/app/v2/order' }, false],
  [{ path: '/app/v[0-9]+', pathMatch: 'regex' }, { path: '/x/app/v2' }, false],
  [{ path: '/app/v[0-9]+', pathMatch: 'regex' }, { path: '/app/v2?q=1' }, true],
  [{ path: '/App/*' }, { path: '/app/x' }, false],
  [{ path: '/App/*', caseSensitive: false }, { path: '/app/x' }, true],
  [{ path: '/App/Order', caseSensitive: false }, { path: '/APP/ORDER' }, true],
  [{ path: '/app/v[0-9]+', pathMatch: 'regex', caseSensitive: false }, { path: '/APP/V2' }, true],
  [{ path: '/app/v[0-9]+', pathMatch: 'regex' }, { path: '/APP/V2' }, false],
  [{ path: '/caf%C3%A9' }, { path: '/caf%c3%a9' }, true],
  [{ path: '/caf%c3%a9', caseSensitive: false }, { path: '/caf%C3%A9' }, true],
  [{ path: '/~user/*' }, { path: '/%7Euser/x' }, true],
]);

table('headers: every op, missing header fails all but the negative ones', [
  [{ headers: [{ name: 'x-env', op: 'equals', value: 'gray' }] }, { headers: { 'x-env': 'gray' } }, true],
  [{ headers: [{ name: 'x-env', op: 'equals', value: 'gray' }] }, { headers: { 'x-env': 'grey' } }, false],
  [{ headers: [{ name: 'x-env', op: 'equals', value: 'gray' }] }, {}, false],
  [{ headers: [{ name: 'x-env', op: 'equals', value: '' }] }, { headers: { 'x-env': 'gray' } }, false],
  [{ headers: [{ name: 'x-env', op: 'notEquals', value: 'gray' }] }, { headers: { 'x-env': 'gray' } }, false],
  [{ headers: [{ name: 'x-env', op: 'notEquals', value: 'gray' }] }, { headers: { 'x-env': 'blue' } }, true],
  [{ headers: [{ name: 'x-env', op: 'notEquals', value: 'gray' }] }, {}, true],
  [{ headers: [{ name: 'x-env', op: 'exists' }] }, { headers: { 'x-env': '' } }, true],
  [{ headers: [{ name: 'x-env', op: 'exists' }] }, {}, false],
  [{ headers: [{ name: 'x-env', op: 'notExists' }] }, {}, true],
  [{ headers: [{ name: 'x-env', op: 'notExists' }] }, { headers: { 'x-env': 'gray' } }, false],
  [{ headers: [{ name: 'x-env', op: 'contains', value: 'ra' }] }, { headers: { 'x-env': 'gray' } }, true],
  [{ headers: [{ name: 'x-env', op: 'contains', value: 'ra' }] }, {}, false],
  [{ headers: [{ name: 'x-env', op: 'notContains', value: 'ra' }] }, { headers: { 'x-env': 'gray' } }, false],
  [{ headers: [{ name: 'x-env', op: 'notContains', value: 'ra' }] }, { headers: { 'x-env': 'blue' } }, true],
  [{ headers: [{ name: 'x-env', op: 'notContains', value: 'ra' }] }, {}, true],
  [{ headers: [{ name: 'x-env', op: 'prefix', value: 'gr' }] }, { headers: { 'x-env': 'gray' } }, true],
  [{ headers: [{ name: 'x-env', op: 'prefix', value: 'gr' }] }, {}, false],
  [{ headers: [{ name: 'x-env', op: 'suffix', value: 'ay' }] }, { headers: { 'x-env': 'gray' } }, true],
  [{ headers: [{ name: 'x-env', op: 'suffix', value: 'ay' }] }, { headers: { 'x-env': 'gray!' } }, false],
  [{ headers: [{ name: 'x-env', op: 'regex', value: 'gr[ae]y' }] }, { headers: { 'x-env': 'grey' } }, true],
  [{ headers: [{ name: 'x-env', op: 'regex', value: 'gr[ae]y' }] }, { headers: { 'x-env': 'greyhound' } }, false],
  [{ headers: [{ name: 'x-env', op: 'regex', value: 'gr[ae]y' }] }, {}, false],
  [{ headers: [{ name: 'X-Env', op: 'equals', value: 'gray' }] }, { headers: { 'x-env': 'gray' } }, true],
  [{ headers: [{ name: 'x-env', op: 'equals', value: 'Gray' }] }, { headers: { 'x-env': 'gray' } }, false],
  [{ headers: [{ name: ':method', op: 'equals', value: 'OPTIONS' }] }, { method: 'OPTIONS' }, true],
]);

table('fields and headers are ANDed', [
  [
    {
      domain: '*.example.com',
      path: '/app/*',
      headers: [
        { name: 'x-env', op: 'equals', value: 'gray' },
        { name: 'x-b', op: 'exists' },
      ],
    },
    { host: 'a.example.com', path: '/app/1', headers: { 'x-env': 'gray', 'x-b': '1' } },
    true,
  ],
  [
    {
      domain: '*.example.com',
      path: '/app/*',
      headers: [
        { name: 'x-env', op: 'equals', value: 'gray' },
        { name: 'x-b', op: 'exists' },
      ],
    },
    { host: 'a.example.com', path: '/app/1', headers: { 'x-env': 'gray' } },
    false,
  ],
  [{ domain: '*.example.com', path: '/app/*' }, { host: 'a.example.com', path: '/other' }, false],
  [{ domain: '*.example.com', path: '/app/*' }, { host: 'example.org', path: '/app/1' }, false],
]);

describe('modes', () => {
  const conds = [{ path: '/public/*' }, { domain: 'health.example.com' }];
  const whitelist = compileOk({ mode: 'whitelist', conditions: conds });
  const blacklist = compileOk({ mode: 'blacklist', conditions: conds });
  const all = compileOk({ mode: 'all' });

  test.each([
    [{ path: '/public/a' }, false, true, true],
    [{ host: 'health.example.com', path: '/x' }, false, true, true],
    [{ path: '/private' }, true, false, true],
  ])('%j: whitelist %s, blacklist %s, all %s', (spec, w, b, a) => {
    const input = makeInput(spec);
    checkRule(whitelist, w, input);
    checkRule(blacklist, b, input);
    checkRule(all, a, input);
  });

  test('explain says which condition decided', () => {
    const e = whitelist.explain(makeInput({ path: '/public/a' }));
    expect(e).toMatchObject({ needsAuth: false, trace: ['rules[0].match.conditions', 'rules[0].match.conditions[0]'] });
    expect(e.reason).toMatch(/whitelist: condition matched at rules\[0\]\.match\.conditions\[0\]/);
    const miss = whitelist.explain(makeInput({ path: '/private' }));
    expect(miss.needsAuth).toBe(true);
    expect(miss.trace).toEqual([
      'rules[0].match.conditions',
      'rules[0].match.conditions[0]',
      'rules[0].match.conditions[0].path',
      'rules[0].match.conditions[1]',
      'rules[0].match.conditions[1].domain',
    ]);
  });
});

describe('path safety: traversal and encoding tricks against a whitelist all need auth', () => {
  const whitelist = compileOk({ mode: 'whitelist', conditions: [{ path: '/public/*' }] });
  const blacklist = compileOk({ mode: 'blacklist', conditions: [{ path: '/admin/*' }] });
  const complex = compileOk({ mode: 'complex', permissions: [{ url_path: { path: { prefix: '/admin/' } } }] });

  test.each([
    ['/public/../admin'],
    ['/public/%2e%2e/admin'],
    ['/public/%2E%2E/admin'],
    ['/public/.%2e/admin'],
    ['//admin'],
    ['/PUBLIC/x'],
    ['/public/%2fadmin'],
    ['/public/%2Fadmin'],
    ['/public/%5cadmin'],
    ['/public/..\\admin'],
    ['/public/../../admin'],
    ['/../public/x'],
    ['public/x'],
    ['/public/%zz'],
    ['/public/%00'],
  ])('whitelist /public/*: %s needs auth', (path) => {
    checkRule(whitelist, true, makeInput({ path }));
  });

  test('the whitelist still works for real public paths', () => {
    checkRule(whitelist, false, makeInput({ path: '/public/x' }));
    checkRule(whitelist, false, makeInput({ path: '/public/./x//y?a=../b' }));
  });

  test.each([['/public/%2fadmin'], ['/../admin/x'], ['/x/%5c']])(
    'an unsafe path needs auth in every mode, even where nothing matched: %s',
    (path) => {
      const input = makeInput({ path });
      expect(input.pathSafe).toBe(false);
      checkRule(blacklist, true, input);
      checkRule(complex, true, input);
      checkRule(compileOk({ mode: 'all' }), true, input);
      const e = blacklist.explain(input);
      expect(e.reason).toMatch(/could not be normalized safely/);
    },
  );

  test('blacklist sees through traversal to the path the backend serves', () => {
    checkRule(blacklist, true, makeInput({ path: '/public/../admin/x' }));
    checkRule(blacklist, true, makeInput({ path: '/public/%2e%2e/admin/x' }));
    checkRule(blacklist, true, makeInput({ path: '//admin//x' }));
    checkRule(blacklist, false, makeInput({ path: '/public/admin/x' }));
  });
});

describe('bad conditions fail with the key path', () => {
  test.each([
    [[{}], 'rules[0].match.conditions[0]: a condition needs at least one of domain, path or headers'],
    [[{ headers: [] }], 'rules[0].match.conditions[0]: a condition needs at least one'],
    [[], 'rules[0].match.conditions: expected a non-empty list of conditions'],
    [[{ path: '/a', methods: ['GET'] }], 'rules[0].match.conditions[0].methods: unknown key'],
    [
      [{ domain: 'a.com' }, { headers: [{ name: 'x', op: 'startsWith', value: 'a' }] }],
      'rules[0].match.conditions[1].headers[0].op: unknown op "startsWith"',
    ],
    [[{ headers: [{ name: 'x', op: 'regex', value: 'a(' }] }], 'rules[0].match.conditions[0].headers[0].value: invalid RE2'],
    [[{ headers: [{ name: 'x', op: 'equals' }] }], 'rules[0].match.conditions[0].headers[0].value: op equals needs a string value'],
    [[{ headers: [{ name: 'x', op: 'exists', value: 'a' }] }], 'rules[0].match.conditions[0].headers[0].value: op exists takes no value'],
    [[{ headers: [{ name: 'bad name', op: 'exists' }] }], 'rules[0].match.conditions[0].headers[0].name: expected an HTTP header name'],
    [[{ headers: [{ name: 'x', op: 'exists', val: 1 }] }], 'rules[0].match.conditions[0].headers[0].val: unknown key'],
    [[{ path: '/a(', pathMatch: 'regex' }], 'rules[0].match.conditions[0].path: invalid RE2'],
    [[{ path: '/a', pathMatch: 'glob' }], 'rules[0].match.conditions[0].pathMatch: expected one of exact, prefix, regex'],
    [[{ path: 'app/*' }], 'rules[0].match.conditions[0].path: expected a path starting with "/"'],
    [[{ path: '/api/*/users' }], 'rules[0].match.conditions[0].path: "*" is only allowed at the end'],
    [[{ path: '/public/../admin' }], 'rules[0].match.conditions[0].path: request paths are normalized'],
    [[{ path: '//x/*' }], 'rules[0].match.conditions[0].path: request paths are normalized'],
    [[{ path: '/%7Euser/*' }], 'rules[0].match.conditions[0].path: request paths are normalized before matching ("%7E" is decoded to "~")'],
    [[{ path: '/a%2Fb' }], 'rules[0].match.conditions[0].path: request paths are normalized before matching ("%2F" (an encoded "/")'],
    [
      [{ path: '/caf%c3%a9' }],
      'rules[0].match.conditions[0].path: request paths are normalized before matching (escapes are uppercased ("%C3"))',
    ],
    [[{ path: '/a%zz' }], 'rules[0].match.conditions[0].path: request paths are normalized before matching ("%zz" is not a valid escape)'],
    [[{ path: '/a', caseSensitive: 'no' }], 'rules[0].match.conditions[0].caseSensitive: expected true or false'],
    [[{ domain: 'a.com', caseSensitive: false }], 'rules[0].match.conditions[0].caseSensitive: only applies together with path'],
    [[{ domain: '*example.com' }], 'rules[0].match.conditions[0].domain: expected a host name'],
    [[{ domain: 'a.*.com' }], 'rules[0].match.conditions[0].domain: expected a host name'],
    [[{ domain: '*' }], 'rules[0].match.conditions[0].domain: expected a host name'],
    [[{ domain: 'https://a.com' }], 'rules[0].match.conditions[0].domain: expected a host name'],
    [[{ domain: 'a.com:8080' }], 'rules[0].match.conditions[0].domain: expected a host name'],
    [['/public/*'], 'rules[0].match.conditions[0]: expected a mapping'],
  ])('%j', (conds, expected) => {
    const list = compileErrors({ mode: 'whitelist', conditions: conds });
    expect(list.some((line) => line.startsWith(expected))).toBe(true);
  });

  test('complex mode needs a non-empty permissions list', () => {
    expect(compileErrors({ mode: 'complex', permissions: [] })).toEqual([
      'rules[0].match.permissions: expected a non-empty list of Envoy RBAC permissions; with none no request would be authenticated',
    ]);
    expect(compileErrors({ mode: 'complex', permissions: [{ and_rules: { rules: [] } }] })).toEqual([
      'rules[0].match.permissions[0].and_rules.rules: and_rules needs a non-empty rules list, e.g. and_rules: { rules: [ { any: true } ] }',
    ]);
  });
});

describe('blacklist leans toward matching; whitelist stays strict', () => {
  const conds = [
    { path: '/admin/*' },
    { path: '/api/private' },
    { path: '/api/v[0-9]+/keys', pathMatch: 'regex' },
    { path: '/ops/', pathMatch: 'exact' },
  ];
  const blacklist = compileOk({ mode: 'blacklist', conditions: conds });
  const whitelist = compileOk({ mode: 'whitelist', conditions: conds });

  test.each([
    ['/admin', true, false],
    ['/admin/', true, true],
    ['/Admin/x', true, false],
    ['/ADMIN', true, false],
    ['/api/private/', true, false],
    ['/API/PRIVATE', true, false],
    ['/api/private', true, true],
    ['/api/V2/keys', true, false],
    ['/api/v2/keys/', true, false],
    ['/ops', true, false],
    ['/OPS/', true, false],
    ['/administrator', false, false],
    ['/api/private/x', false, false],
    ['/api/privat', false, false],
    ['/api/v2/keys/x', false, false],
    ['/', false, false],
    ['/shop', false, false],
  ])('%s: blacklist matches %s, whitelist matches %s', (path, black, white) => {
    const input = makeInput({ path });
    checkRule(blacklist, black, input);
    checkRule(whitelist, !white, input);
  });

  test('caseSensitive: true keeps a blacklist path case-sensitive, and warns', () => {
    const issues = new Issues();
    const rule = compileMatch({ mode: 'blacklist', conditions: [{ path: '/admin/*', caseSensitive: true }], path: RULE_PATH }, issues);
    expect(issues.list).toEqual([]);
    expect(issues.warnings).toEqual([
      {
        path: 'rules[0].match.conditions[0].caseSensitive',
        message: expect.stringMatching(/^a case-sensitive blacklist path lets "\/ADMIN\/x" skip/),
      },
    ]);
    checkRule(rule, false, makeInput({ path: '/ADMIN/x' }));
    checkRule(rule, true, makeInput({ path: '/admin' }));
  });

  test('a whitelist path is case-sensitive unless caseSensitive: false, and does not warn', () => {
    const issues = new Issues();
    const rule = compileMatch({ mode: 'whitelist', conditions: [{ path: '/public/*', caseSensitive: false }], path: RULE_PATH }, issues);
    expect([issues.list, issues.warnings]).toEqual([[], []]);
    checkRule(rule, false, makeInput({ path: '/PUBLIC/x' }));
    checkRule(rule, true, makeInput({ path: '/public' }));
  });

  test('explain says when a near miss or case folding decided', () => {
    const index = blacklist.explain(makeInput({ path: '/admin' }));
    expect(index.reason).toContain('blacklist near miss at rules[0].match.conditions[0].path: "/admin" counted as "/admin/"');
    const upper = blacklist.explain(makeInput({ path: '/ADMIN/x' }));
    expect(upper.reason).toContain('blacklist near miss at rules[0].match.conditions[0].path: "/ADMIN/x" matched ignoring case');
    const plain = blacklist.explain(makeInput({ path: '/admin/x' }));
    expect(plain.reason).not.toContain('blacklist near miss at');
  });

  test('explain says when the path as sent decided', () => {
    const e = blacklist.explain(makeInput({ path: '/admin/../shop' }));
    expect(e.needsAuth).toBe(true);
    expect(e.reason).toMatch(/^the path as sent, "\/admin\/..\/shop", is how backends that route without resolving dots/);
    const w = whitelist.explain(makeInput({ path: '//admin/x' }));
    expect(w.needsAuth).toBe(true);
  });

  test.each([
    ['/a;b', 'a ";" (a path parameter) makes a request path unsafe'],
    ['/a%3Bb/*', '"%3B" (an encoded ";") makes a request path unsafe'],
    ['/a%25/*', '"%25" (an encoded "%") makes a request path unsafe'],
  ])('a condition path that can never match is rejected: %s', (path, problem) => {
    expect(compileErrors({ mode: 'blacklist', conditions: [{ path }] })).toEqual([
      expect.stringContaining(`rules[0].match.conditions[0].path: request paths are normalized before matching (${problem}`),
    ]);
  });

  test('points 1, 2 and 4 apply to complex mode input; its tree keeps Envoy semantics (case and trailing slash exact)', () => {
    const complex = compileOk({ mode: 'complex', permissions: [{ url_path: { path: { prefix: '/admin/' } } }] });
    checkRule(complex, true, makeInput({ path: '/x/..;/admin/' }));
    checkRule(complex, true, makeInput({ path: '/x/%252e' }));
    checkRule(complex, true, makeInput({ path: '/x', host: 'a b' }));
    checkRule(complex, true, makeInput({ path: '/admin/../x' }));
    checkRule(complex, false, makeInput({ path: '/Admin/x' }));
    checkRule(complex, false, makeInput({ path: '/admin' }));
  });
});

test("the docs' complex tree covers the trailing-slash and case near misses RBAC semantics leave open", () => {
  const page = readFileSync(join(__dirname, '..', '..', 'docs', 'conditions.md'), 'utf8');
  const block = /Write trees that cover[\s\S]*?```yaml\n([\s\S]*?)```/.exec(page)?.[1];
  expect(block).toBeDefined();
  const { match } = parse(block ?? '') as { match: { mode: 'complex'; permissions: unknown } };
  const tree = compileOk(match);
  for (const path of ['/admin', '/ADMIN', '/admin/', '/Admin/x', '/api/private', '/api/private/', '/API/Private/']) {
    checkRule(tree, true, makeInput({ path }));
  }
  for (const path of ['/shop', '/administrator', '/api/private/x', '/api/privatex']) checkRule(tree, false, makeInput({ path }));
});
