import { parse } from 'yaml';
import { Issues } from '../../src/config';
import { compilePermission, type TracedMatcher } from '../../src/matcher';
import { checkMatcher, makeInput, type InputSpec } from './helpers';

/** Compiles one Permission written as YAML flow text; fails the test on any issue. */
function permission(yaml: string): TracedMatcher {
  const issues = new Issues();
  const m = compilePermission(parse(yaml), 'p', issues);
  expect(issues.list).toEqual([]);
  return m;
}

function errors(yaml: string): string[] {
  const issues = new Issues();
  compilePermission(parse(yaml), 'p', issues);
  return issues.list.map((i) => `${i.path}: ${i.message}`);
}

type Case = [string, InputSpec, boolean];

function table(name: string, cases: Case[]): void {
  describe(name, () => {
    test.each(cases)('%s %j -> %s', (yaml, spec, expected) => {
      checkMatcher(permission(yaml), expected, makeInput(spec));
    });
  });
}

table('header: deprecated specifiers', [
  ['{header: {name: x-env, exact_match: gray}}', { headers: { 'x-env': 'gray' } }, true],
  ['{header: {name: x-env, exact_match: gray}}', { headers: { 'x-env': 'Gray' } }, false],
  ['{header: {name: x-env, exact_match: gray}}', {}, false],
  // Envoy: an empty exact_match matches any value of a present header.
  ['{header: {name: x-env, exact_match: ""}}', { headers: { 'x-env': 'anything' } }, true],
  ['{header: {name: x-env, exact_match: ""}}', {}, false],
  ['{header: {name: X-Env, exact_match: gray}}', { headers: { 'x-env': 'gray' } }, true],
  ['{header: {name: x-env, prefix_match: gr}}', { headers: { 'x-env': 'gray' } }, true],
  ['{header: {name: x-env, prefix_match: ra}}', { headers: { 'x-env': 'gray' } }, false],
  ['{header: {name: x-env, suffix_match: ay}}', { headers: { 'x-env': 'gray' } }, true],
  ['{header: {name: x-env, contains_match: ra}}', { headers: { 'x-env': 'gray' } }, true],
  ['{header: {name: x-env, contains_match: xx}}', { headers: { 'x-env': 'gray' } }, false],
]);

table('header: safe_regex_match is a full match', [
  ['{header: {name: x-v, safe_regex_match: {regex: "v[0-9]+"}}}', { headers: { 'x-v': 'v12' } }, true],
  ['{header: {name: x-v, safe_regex_match: {regex: "v[0-9]+"}}}', { headers: { 'x-v': 'av12' } }, false],
  ['{header: {name: x-v, safe_regex_match: {regex: "v[0-9]+"}}}', { headers: { 'x-v': 'v12b' } }, false],
  // Anchoring must cover the whole alternation, not just its first and last branch.
  ['{header: {name: x-v, safe_regex_match: {regex: "a|b"}}}', { headers: { 'x-v': 'ab' } }, false],
  ['{header: {name: x-v, safe_regex_match: {regex: "a|b"}}}', { headers: { 'x-v': 'xa' } }, false],
  ['{header: {name: x-v, safe_regex_match: {regex: "a|b"}}}', { headers: { 'x-v': 'b' } }, true],
  ['{header: {name: x-v, safe_regex_match: {regex: "v.*", google_re2: {}}}}', { headers: { 'x-v': 'v\n' } }, false],
  ['{header: {name: x-v, string_match: {safe_regex: {regex: ".*gray.*"}}}}', { headers: { 'x-v': 'a gray b' } }, true],
]);

table('header: string_match with ignore_case', [
  ['{header: {name: x-env, string_match: {exact: GRAY, ignore_case: true}}}', { headers: { 'x-env': 'gray' } }, true],
  ['{header: {name: x-env, string_match: {exact: GRAY}}}', { headers: { 'x-env': 'gray' } }, false],
  ['{header: {name: x-env, string_match: {prefix: GR, ignore_case: true}}}', { headers: { 'x-env': 'gray' } }, true],
  ['{header: {name: x-env, string_match: {suffix: AY, ignore_case: true}}}', { headers: { 'x-env': 'gray' } }, true],
  ['{header: {name: x-env, string_match: {contains: RA, ignore_case: true}}}', { headers: { 'x-env': 'gray' } }, true],
  // ASCII folding only, as absl does: a dotted capital I is not "i".
  ['{header: {name: x-env, string_match: {exact: "i", ignore_case: true}}}', { headers: { 'x-env': '\u0130' } }, false],
  // string_match exact "" is a real exact match, unlike exact_match "".
  ['{header: {name: x-env, string_match: {exact: ""}}}', { headers: { 'x-env': 'gray' } }, false],
  ['{header: {name: x-env, string_match: {exact: ""}}}', { headers: { 'x-env': '' } }, true],
]);

table('header: presence, inversion and missing headers', [
  ['{header: {name: x-a}}', { headers: { 'x-a': '' } }, true],
  ['{header: {name: x-a}}', {}, false],
  ['{header: {name: x-a, present_match: true}}', { headers: { 'x-a': '1' } }, true],
  ['{header: {name: x-a, present_match: true}}', {}, false],
  // present_match: false matches when the header is absent (HeaderUtility::matchHeaders).
  ['{header: {name: x-a, present_match: false}}', {}, true],
  ['{header: {name: x-a, present_match: false}}', { headers: { 'x-a': '1' } }, false],
  ['{header: {name: x-a, present_match: true, invert_match: true}}', {}, true],
  ['{header: {name: x-a, present_match: true, invert_match: true}}', { headers: { 'x-a': '1' } }, false],
  ['{header: {name: x-a, present_match: false, invert_match: true}}', {}, false],
  ['{header: {name: x-a, present_match: false, invert_match: true}}', { headers: { 'x-a': '1' } }, true],
  // A missing header with invert_match does not match, unless it is a present match.
  ['{header: {name: x-a, exact_match: v, invert_match: true}}', {}, false],
  ['{header: {name: x-a, exact_match: v, invert_match: true}}', { headers: { 'x-a': 'w' } }, true],
  ['{header: {name: x-a, exact_match: v, invert_match: true}}', { headers: { 'x-a': 'v' } }, false],
  ['{header: {name: x-a, exact_match: v, invert_match: true, treat_missing_header_as_empty: true}}', {}, true],
  ['{header: {name: x-a, string_match: {exact: ""}, treat_missing_header_as_empty: true}}', {}, true],
  ['{header: {name: x-a, prefix_match: v, treat_missing_header_as_empty: true}}', {}, false],
]);

table('header: range_match on int64, end exclusive', [
  ['{header: {name: x-n, range_match: {start: 10, end: 20}}}', { headers: { 'x-n': '10' } }, true],
  ['{header: {name: x-n, range_match: {start: 10, end: 20}}}', { headers: { 'x-n': '19' } }, true],
  ['{header: {name: x-n, range_match: {start: 10, end: 20}}}', { headers: { 'x-n': '20' } }, false],
  ['{header: {name: x-n, range_match: {start: 10, end: 20}}}', { headers: { 'x-n': '9' } }, false],
  ['{header: {name: x-n, range_match: {start: 10, end: 20}}}', { headers: { 'x-n': ' +15 ' } }, true],
  ['{header: {name: x-n, range_match: {start: 10, end: 20}}}', { headers: { 'x-n': '15.0' } }, false],
  ['{header: {name: x-n, range_match: {start: 10, end: 20}}}', { headers: { 'x-n': '0x0f' } }, false],
  ['{header: {name: x-n, range_match: {start: 10, end: 20}}}', { headers: { 'x-n': '' } }, false],
  ['{header: {name: x-n, range_match: {start: 10, end: 20}}}', {}, false],
  ['{header: {name: x-n, range_match: {start: -5, end: 0}}}', { headers: { 'x-n': '-5' } }, true],
  [
    '{header: {name: x-n, range_match: {start: "9223372036854775806", end: "9223372036854775807"}}}',
    { headers: { 'x-n': '9223372036854775806' } },
    true,
  ],
  ['{header: {name: x-n, range_match: {start: 0, end: "9223372036854775807"}}}', { headers: { 'x-n': '9223372036854775808' } }, false],
  ['{header: {name: x-n, range_match: {start: 10, end: 20}, invert_match: true}}', { headers: { 'x-n': '25' } }, true],
]);

table('header: multi-valued headers are joined with ","', [
  ['{header: {name: x-m, exact_match: "a,b"}}', { headers: { 'x-m': ['a', 'b'] } }, true],
  ['{header: {name: x-m, exact_match: a}}', { headers: { 'x-m': ['a', 'b'] } }, false],
  ['{header: {name: x-m, safe_regex_match: {regex: "(^|.*,)b(,.*|$)"}}}', { headers: { 'x-m': ['a', 'b', 'c'] } }, true],
]);

table('header: pseudo-headers', [
  ['{header: {name: ":authority", exact_match: "api.example.com:8443"}}', { host: 'api.example.com:8443' }, true],
  ['{header: {name: ":path", exact_match: "/a/b?x=1"}}', { path: '/a/./b?x=1' }, true],
  ['{header: {name: ":path", exact_match: "/a/b"}}', { path: '/a/b?x=1' }, false],
  ['{header: {name: ":method", exact_match: POST}}', { method: 'POST' }, true],
  ['{header: {name: ":scheme", exact_match: http}}', { scheme: 'https' }, false],
]);

table('url_path: StringMatcher on the path without query', [
  ['{url_path: {path: {exact: /api/v1}}}', { path: '/api/v1?x=1' }, true],
  ['{url_path: {path: {exact: /api/v1}}}', { path: '/api/v1/' }, false],
  ['{url_path: {path: {prefix: /api/}}}', { path: '/api/v1' }, true],
  ['{url_path: {path: {prefix: /api/}}}', { path: '/API/v1' }, false],
  ['{url_path: {path: {prefix: /api/, ignore_case: true}}}', { path: '/API/v1' }, true],
  ['{url_path: {path: {suffix: .json}}}', { path: '/a/b.json?q=.xml' }, true],
  ['{url_path: {path: {contains: /admin/}}}', { path: '/x/admin/y' }, true],
  ['{url_path: {path: {safe_regex: {regex: "/api/v[0-9]+"}}}}', { path: '/api/v2' }, true],
  ['{url_path: {path: {safe_regex: {regex: "/api/v[0-9]+"}}}}', { path: '/api/v2/users' }, false],
  ['{url_path: {path: {exact: /admin}}}', { path: '/public/../admin' }, true],
]);

table('connection: destination_ip, ports, SNI', [
  ['{destination_ip: {address_prefix: 10.0.0.0, prefix_len: 8}}', { destinationIp: '10.20.30.40' }, true],
  ['{destination_ip: {address_prefix: 10.0.0.0, prefix_len: 8}}', { destinationIp: '11.0.0.1' }, false],
  ['{destination_ip: {address_prefix: 10.1.2.3, prefix_len: 16}}', { destinationIp: '10.1.200.1' }, true],
  ['{destination_ip: {address_prefix: 192.168.1.5, prefix_len: 32}}', { destinationIp: '192.168.1.5' }, true],
  ['{destination_ip: {address_prefix: 192.168.1.5, prefix_len: 32}}', { destinationIp: '192.168.1.6' }, false],
  ['{destination_ip: {address_prefix: "fd00::", prefix_len: 8}}', { destinationIp: 'fd12::1' }, true],
  ['{destination_ip: {address_prefix: "fd00::", prefix_len: 8}}', { destinationIp: 'fe12::1' }, false],
  ['{destination_ip: {address_prefix: "::", prefix_len: 0}}', { destinationIp: '10.0.0.1' }, false],
  ['{destination_ip: {address_prefix: 0.0.0.0, prefix_len: 0}}', { destinationIp: '' }, false],
  ['{destination_port: 8443}', { destinationPort: 8443 }, true],
  ['{destination_port: 8443}', { destinationPort: 8444 }, false],
  ['{destination_port_range: {start: 8000, end: 9000}}', { destinationPort: 8000 }, true],
  ['{destination_port_range: {start: 8000, end: 9000}}', { destinationPort: 8999 }, true],
  ['{destination_port_range: {start: 8000, end: 9000}}', { destinationPort: 9000 }, false],
  ['{requested_server_name: {suffix: .example.com}}', { sni: 'api.example.com' }, true],
  ['{requested_server_name: {exact: api.example.com}}', { sni: '' }, false],
]);

table('metadata', [
  [
    '{metadata: {filter: jwt, path: [{key: user}, {key: role}], value: {string_match: {exact: admin}}}}',
    { metadata: { jwt: { user: { role: 'admin' } } } },
    true,
  ],
  [
    '{metadata: {filter: jwt, path: [{key: user}, {key: role}], value: {string_match: {exact: admin}}}}',
    { metadata: { jwt: { user: { role: 'dev' } } } },
    false,
  ],
  ['{metadata: {filter: jwt, path: [{key: user}, {key: role}], value: {string_match: {exact: admin}}}}', { metadata: {} }, false],
  ['{metadata: {filter: jwt, path: [{key: user}], value: {string_match: {exact: admin}}, invert: true}}', { metadata: {} }, true],
  ['{metadata: {filter: f, path: [{key: ok}], value: {bool_match: true}}}', { metadata: { f: { ok: true } } }, true],
  ['{metadata: {filter: f, path: [{key: ok}], value: {bool_match: true}}}', { metadata: { f: { ok: 'true' } } }, false],
  ['{metadata: {filter: f, path: [{key: n}], value: {double_match: {exact: 3}}}}', { metadata: { f: { n: 3 } } }, true],
  ['{metadata: {filter: f, path: [{key: n}], value: {double_match: {range: {start: 1, end: 3}}}}}', { metadata: { f: { n: 3 } } }, false],
  ['{metadata: {filter: f, path: [{key: n}], value: {null_match: {}}}}', { metadata: { f: { n: null } } }, true],
  ['{metadata: {filter: f, path: [{key: n}], value: {present_match: true}}}', { metadata: { f: { n: { deep: 1 } } } }, true],
  ['{metadata: {filter: f, path: [{key: n}], value: {present_match: true}}}', { metadata: { f: {} } }, false],
  [
    '{metadata: {filter: f, path: [{key: g}], value: {list_match: {one_of: {string_match: {exact: b}}}}}}',
    { metadata: { f: { g: ['a', 'b'] } } },
    true,
  ],
  [
    '{metadata: {filter: f, path: [{key: g}], value: {or_match: {value_matchers: [{bool_match: true}, {string_match: {exact: yes}}]}}}}',
    { metadata: { f: { g: 'yes' } } },
    true,
  ],
]);

table('combinators', [
  ['{any: true}', {}, true],
  ['{not_rule: {any: true}}', {}, false],
  ['{and_rules: {rules: [{any: true}, {destination_port: 1}]}}', { destinationPort: 1 }, true],
  ['{and_rules: {rules: [{any: true}, {destination_port: 1}]}}', { destinationPort: 2 }, false],
  ['{or_rules: {rules: [{destination_port: 2}, {destination_port: 1}]}}', { destinationPort: 1 }, true],
  ['{or_rules: {rules: [{destination_port: 2}, {destination_port: 1}]}}', { destinationPort: 3 }, false],
  ['{not_rule: {not_rule: {destination_port: 1}}}', { destinationPort: 1 }, true],
]);

describe('invalid permissions are rejected with the key path', () => {
  test.each([
    ['{and_rules: {rules: []}}', 'p.and_rules.rules: and_rules needs a non-empty rules list'],
    ['{or_rules: {}}', 'p.or_rules.rules: or_rules needs a non-empty rules list'],
    ['{and_rules: {rules: [{not_rule: {or_rules: {rules: []}}}]}}', 'p.and_rules.rules[0].not_rule.or_rules.rules:'],
    ['{destination_port_range: {start: 9000, end: 9000}}', 'p.destination_port_range: start 9000 must be below end 9000'],
    ['{destination_port_range: {start: 9001, end: 9000}}', 'p.destination_port_range: start 9001 must be below end 9000'],
    ['{destination_port_range: {start: 1, end: 70000}}', 'p.destination_port_range.end: expected a whole number from 0 to 65536'],
    ['{destination_port: 70000}', 'p.destination_port: expected a port number'],
    ['{destination_ip: {address_prefix: 10.0.0.300, prefix_len: 8}}', 'p.destination_ip.address_prefix: expected an IPv4 or IPv6 address'],
    [
      '{destination_ip: {address_prefix: 10.0.0.0, prefix_len: 33}}',
      'p.destination_ip.prefix_len: prefix_len must be a whole number from 0 to 32',
    ],
    ['{header: {name: x, safe_regex_match: {regex: "a("}}}', 'p.header.safe_regex_match.regex: invalid RE2 regular expression "a("'],
    ['{header: {name: x, safe_regex_match: {regex: "a)|(b"}}}', 'p.header.safe_regex_match.regex: invalid RE2'],
    ['{header: {name: x, safe_regex_match: {regex: "(?<=a)b"}}}', 'p.header.safe_regex_match.regex: invalid RE2'],
    ['{url_path: {path: {safe_regex: {regex: "(a)\\\\1"}}}}', 'p.url_path.path.safe_regex.regex: invalid RE2'],
    ['{url_path: {path: {safe_regex: {regex: "a"}, ignore_case: true}}}', 'p.url_path.path.ignore_case: has no effect with safe_regex'],
    ['{url_path: {path: {prefix: ""}}}', 'p.url_path.path.prefix: expected a non-empty string'],
    ['{url_path: {path: {exact: /a, prefix: /b}}}', 'p.url_path.path: expected exactly one of'],
    ['{url_path: {path: {custom: {name: x}}}}', 'p.url_path.path.custom: custom string matcher extensions are not supported'],
    ['{url_path: {prefix: /api}}', 'p.url_path.prefix: unknown key'],
    ['{header: {name: x, exact_match: a, prefix_match: b}}', 'p.header: expected at most one of'],
    ['{header: {name: "bad name", exact_match: a}}', 'p.header.name: expected an HTTP header name'],
    ['{header: {name: ":status", exact_match: a}}', 'p.header.name: unknown pseudo-header ":status"'],
    ['{header: {name: x, range_match: {start: 5, end: 5}}}', 'p.header.range_match: start 5 must be below end 5'],
    ['{header: {name: x, exact_macth: a}}', 'p.header.exact_macth: unknown key'],
    ['{any: false}', 'p.any: must be true'],
    ['{matcher: {name: x}}', 'p.matcher: extension matchers'],
    ['{uri_template: {name: x}}', 'p.uri_template: URI template matching is not supported'],
    ['{sourced_metadata: {}}', 'p.sourced_metadata: sourced_metadata is not supported'],
    ['{authenticated: {}}', 'p.authenticated: unknown Permission rule'],
    ['{url_paths: {path: {exact: /}}}', 'p.url_paths: unknown Permission rule'],
    ['{}', 'p: empty Permission'],
    ['{any: true, destination_port: 1}', 'p: a Permission holds exactly one rule'],
    ['{metadata: {filter: f, path: [], value: {bool_match: true}}}', 'p.metadata.path: expected at least one path segment'],
    ['{metadata: {filter: f, path: [{key: a}], value: {}}}', 'p.metadata.value: expected a ValueMatcher'],
  ])('%s', (yaml, expected) => {
    const list = errors(yaml);
    expect(list.some((line) => line.startsWith(expected))).toBe(true);
  });
});

test('trace leaves point at the field that decided', () => {
  const m = permission('{and_rules: {rules: [{any: true}, {not_rule: {url_path: {path: {prefix: /a}}}}]}}');
  const out: TracedMatcher[] = [];
  expect(m.trace(makeInput({ path: '/a/b' }), out)).toBe(false);
  expect(out.map((n) => n.path)).toEqual(['p', 'p.and_rules.rules[1]', 'p.and_rules.rules[1].not_rule.url_path']);
  expect(out[2].label).toBe('url_path prefix "/a"');
});
