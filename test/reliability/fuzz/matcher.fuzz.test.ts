import fc from 'fast-check';
import { Issues, type MatchMode } from '../../../src/config';
import { compileMatch, type CheckInput, type RuleMatcher } from '../../../src/matcher';
import { normalizePath } from '../../../src/translate';
import { literalReading, unsafeReason } from '../../../src/translate/check-request';
import { hostProblem } from '../../../src/translate/host-problem';
import { fuzzParameters } from './fuzz-options';

// Small alphabets, so generated conditions and generated requests meet often.
const PATH_ALPHABET = ['/', '/', 'a', 'b', 'A', '.', '-', '%41', '%2F', 'é', 'K', '*'];
const HOST_LABELS = ['a', 'b', 'api', 'Api', 'x-y'];
const HEADER_NAMES = ['x-a', 'X-A', 'x-b', ':authority', ':path', ':method', ':scheme'];
const VALUES = ['', 'a', 'b', 'ab', 'A', 'é', 'GET', 'a,b'];
const REGEXES = ['a', '.*', 'a.*', '[ab]+', '(a|b)', '/a/.*', '.*b'];

const text = (alphabet: readonly string[], maxLength: number): fc.Arbitrary<string> =>
  fc.array(fc.constantFrom(...alphabet), { maxLength }).map((parts) => parts.join(''));

// --- arbitrary requests ------------------------------------------------------------

const hostArb = fc.oneof(
  fc
    .tuple(fc.array(fc.constantFrom(...HOST_LABELS), { minLength: 1, maxLength: 3 }), fc.constantFrom('', ':443', '.', '.:8080'))
    .map(([labels, tail]) => labels.join('.') + tail),
  fc.constantFrom('[::1]:8443', '[::1]', ''),
  fc.string({ maxLength: 12 }),
);

const inputArb: fc.Arbitrary<CheckInput> = fc
  .record({
    method: fc.oneof(fc.constantFrom('GET', 'POST', 'get'), fc.string({ maxLength: 6 })),
    host: hostArb,
    rawPath: fc.oneof(
      text(PATH_ALPHABET, 10).map((p) => `/${p}`),
      fc.string({ maxLength: 12, unit: 'binary' }),
    ),
    query: fc.option(fc.constantFrom('q=1', 'a=%2F', ''), { nil: undefined }),
    scheme: fc.constantFrom('http', 'https', ''),
    headers: fc.dictionary(
      fc.constantFrom('x-a', 'x-b', 'x-c'),
      fc.oneof(fc.constantFrom(...VALUES), fc.string({ maxLength: 8, unit: 'binary' })),
      { maxKeys: 3 },
    ),
    destinationIp: fc.oneof(fc.ipV4(), fc.ipV6(), fc.string({ maxLength: 8 })),
    destinationPort: fc.oneof(fc.integer({ min: 0, max: 65_535 }), fc.integer()),
    sni: fc.oneof(fc.constantFrom('', 'api.a'), fc.string({ maxLength: 8 })),
    metadata: fc.dictionary(fc.string({ maxLength: 4 }), fc.jsonValue({ maxDepth: 3 }), { maxKeys: 3 }),
  })
  .map((r) => {
    const raw = r.rawPath + (r.query === undefined ? '' : `?${r.query}`);
    const n = normalizePath(raw);
    const badHost = hostProblem(r.host);
    const input: CheckInput = {
      method: r.method,
      host: r.host,
      path: n.query ? `${n.path}?${n.query}` : n.path,
      pathOnly: n.path,
      pathSafe: n.safe,
      hostSafe: badHost === undefined,
      unsafeReason: unsafeReason(n, badHost),
      scheme: r.scheme,
      headers: new Map(Object.entries(r.headers)),
      destinationIp: r.destinationIp,
      destinationPort: r.destinationPort,
      sni: r.sni,
      metadata: r.metadata as Record<string, unknown>,
      literal: undefined,
    };
    return { ...input, literal: literalReading(input, n, raw) };
  });

// --- arbitrary simple conditions -----------------------------------------------------

interface HeaderCond {
  name: string;
  op: string;
  value?: string;
}
interface Condition {
  domain?: string;
  path?: string;
  pathMatch?: 'exact' | 'prefix' | 'regex';
  caseSensitive?: boolean;
  headers?: HeaderCond[];
}

const OPS = ['equals', 'notEquals', 'exists', 'notExists', 'contains', 'notContains', 'prefix', 'suffix', 'regex'];

const headerCondArb: fc.Arbitrary<HeaderCond> = fc
  .record({
    name: fc.constantFrom(...HEADER_NAMES),
    op: fc.constantFrom(...OPS),
    value: fc.constantFrom(...VALUES),
    re: fc.constantFrom(...REGEXES),
  })
  .map(({ name, op, value, re }) =>
    op === 'exists' || op === 'notExists' ? { name, op } : { name, op, value: op === 'regex' ? re : value },
  );

const conditionArb: fc.Arbitrary<Condition> = fc
  .record(
    {
      domain: fc
        .tuple(fc.boolean(), fc.array(fc.constantFrom(...HOST_LABELS), { minLength: 1, maxLength: 2 }))
        .map(([wild, labels]) => (wild ? '*.' : '') + labels.join('.')),
      path: fc.oneof(
        text(
          PATH_ALPHABET.filter((c) => c !== '*'),
          6,
        ).map((p) => `/${p}`),
        fc.constantFrom(...REGEXES),
      ),
      pathMatch: fc.constantFrom<'exact' | 'prefix' | 'regex'>('exact', 'prefix', 'regex'),
      star: fc.boolean(),
      caseSensitive: fc.boolean(),
      headers: fc.array(headerCondArb, { minLength: 1, maxLength: 2 }),
    },
    { requiredKeys: [] },
  )
  .map(({ star, ...c }) => {
    const out: Condition = { ...c };
    // Without pathMatch, a trailing "*" is the gateway documentation's prefix syntax.
    if (out.path !== undefined && out.pathMatch === undefined && star) out.path += '*';
    if (out.path === undefined) {
      delete out.pathMatch;
      delete out.caseSensitive;
    }
    return out;
  });

function compile(mode: MatchMode, conditions: unknown): RuleMatcher | undefined {
  const issues = new Issues();
  const m = compileMatch({ mode, conditions, path: 'rules[0].match' }, issues);
  return issues.empty ? m : undefined;
}

// --- the slow, obviously-correct reference ---------------------------------------------

function asciiLower(s: string): string {
  let out = '';
  for (const ch of s) out += ch >= 'A' && ch <= 'Z' ? String.fromCharCode(ch.charCodeAt(0) + 32) : ch;
  return out;
}

function hostName(host: string): string {
  let h = host;
  if (h.startsWith('[') && h.includes(']')) h = h.slice(0, h.indexOf(']') + 1);
  else if (h.includes(':')) h = h.slice(0, h.lastIndexOf(':'));
  if (h.endsWith('.')) h = h.slice(0, -1);
  return h.toLowerCase();
}

function fullMatch(pattern: string, value: string, ignoreCase: boolean): boolean {
  return new RegExp(`^(?:${pattern})$`, ignoreCase ? 'iu' : 'u').test(value);
}

function headerValue(input: CheckInput, name: string): string | undefined {
  switch (name.toLowerCase()) {
    case ':authority':
      return input.host;
    case ':path':
      return input.path;
    case ':method':
      return input.method;
    case ':scheme':
      return input.scheme;
    default:
      return input.headers.get(name.toLowerCase());
  }
}

function headerHolds(h: HeaderCond, input: CheckInput): boolean {
  const v = headerValue(input, h.name);
  const x = h.value ?? '';
  switch (h.op) {
    case 'equals':
      return v !== undefined && v === x;
    case 'notEquals':
      return v === undefined || v !== x;
    case 'exists':
      return v !== undefined;
    case 'notExists':
      return v === undefined;
    case 'contains':
      return v !== undefined && v.includes(x);
    case 'notContains':
      return v === undefined || !v.includes(x);
    case 'prefix':
      return v !== undefined && v.startsWith(x);
    case 'suffix':
      return v !== undefined && v.endsWith(x);
    case 'regex':
      return v !== undefined && fullMatch(x, v, false);
    default:
      throw new Error(`unknown op ${h.op}`);
  }
}

function pathHolds(c: Condition, input: CheckInput, mode: 'whitelist' | 'blacklist'): boolean {
  // A blacklist leans toward matching: case folded unless caseSensitive: true, and the same
  // path with one trailing "/" more or less counts too.
  const blacklist = mode === 'blacklist';
  const have = input.pathOnly;
  const toggled = have === '/' ? have : have.endsWith('/') ? have.slice(0, -1) : `${have}/`;
  const candidates = blacklist ? [have, toggled] : [have];
  return candidates.some((h) => literalPathHolds(c, h, blacklist ? c.caseSensitive !== true : c.caseSensitive === false));
}

function literalPathHolds(c: Condition, have: string, ignoreCase: boolean): boolean {
  const raw = c.path as string;
  const mode = c.pathMatch ?? (raw.endsWith('*') ? 'prefix' : 'exact');
  if (mode === 'regex') return fullMatch(raw, have, ignoreCase);
  const want = mode === 'prefix' && raw.endsWith('*') ? raw.slice(0, -1) : raw;
  const [w, h] = ignoreCase ? [asciiLower(want), asciiLower(have)] : [want, have];
  return mode === 'prefix' ? h.startsWith(w) : h === w;
}

function conditionHolds(c: Condition, input: CheckInput, mode: 'whitelist' | 'blacklist'): boolean {
  if (c.domain !== undefined) {
    const host = hostName(input.host);
    const d = c.domain.toLowerCase();
    if (d.startsWith('*.') ? !host.endsWith(d.slice(1)) : host !== d) return false;
  }
  if (c.path !== undefined && !pathHolds(c, input, mode)) return false;
  for (const h of c.headers ?? []) if (!headerHolds(h, input)) return false;
  return true;
}

function referenceNeedsAuth(mode: 'whitelist' | 'blacklist', conditions: Condition[], input: CheckInput): boolean {
  if (!input.pathSafe || !input.hostSafe) return true;
  // Either reading of the path (normalized, or as sent) that needs authentication decides.
  const readings = input.literal ? [input, input.literal] : [input];
  return readings.some((r) => {
    const any = conditions.some((c) => conditionHolds(c, r, mode));
    return mode === 'whitelist' ? !any : any;
  });
}

// --- properties --------------------------------------------------------------------------

describe('simple conditions, compiled, against a slow reference evaluator', () => {
  test('agree on every generated request (whitelist and blacklist), and needsAuth agrees with explain', () => {
    const seen = { true: 0, false: 0 };
    fc.assert(
      fc.property(
        fc.constantFrom<'whitelist' | 'blacklist'>('whitelist', 'blacklist'),
        fc.array(conditionArb, { minLength: 1, maxLength: 3 }),
        fc.array(inputArb, { minLength: 1, maxLength: 4 }),
        (mode, conditions, inputs) => {
          const matcher = compile(mode, conditions);
          // Conditions the loader refuses (a path that can never match, ...) have nothing to compare.
          if (!matcher) return;
          for (const input of inputs) {
            const want = referenceNeedsAuth(mode, conditions, input);
            expect({ conditions, input, needsAuth: matcher.needsAuth(input) }).toEqual({ conditions, input, needsAuth: want });
            expect(matcher.explain(input).needsAuth).toBe(want);
            seen[`${want}`]++;
          }
        },
      ),
      fuzzParameters(30_000),
    );
    // The generators must yield compilable conditions, and both outcomes, for the comparison to mean something.
    expect(seen.true).toBeGreaterThan(0);
    expect(seen.false).toBeGreaterThan(0);
    process.stdout.write(`simple conditions vs reference: ${seen.true} needing auth, ${seen.false} not\n`);
  });
});

// --- arbitrary Envoy RBAC permissions ------------------------------------------------------

const stringMatcherArb = fc.oneof(
  fc.record({ exact: fc.constantFrom(...VALUES), ignore_case: fc.boolean() }, { requiredKeys: ['exact'] }),
  fc.record({ prefix: fc.constantFrom('/', '/a', 'a'), ignore_case: fc.boolean() }, { requiredKeys: ['prefix'] }),
  fc.record({ suffix: fc.constantFrom('a', 'b') }),
  fc.record({ contains: fc.constantFrom('a', '.') }),
  fc.record({ safe_regex: fc.record({ regex: fc.constantFrom(...REGEXES) }) }),
);

const leafArb: fc.Arbitrary<unknown> = fc.oneof(
  fc.constant({ any: true }),
  fc.record({ url_path: fc.record({ path: stringMatcherArb }) }),
  fc.record({
    header: fc.oneof(
      fc.record({ name: fc.constantFrom(...HEADER_NAMES), exact_match: fc.constantFrom(...VALUES), invert_match: fc.boolean() }),
      fc.record({ name: fc.constantFrom(...HEADER_NAMES), present_match: fc.boolean() }),
      fc.record({ name: fc.constantFrom(...HEADER_NAMES), string_match: stringMatcherArb, treat_missing_header_as_empty: fc.boolean() }),
      fc.record({ name: fc.constantFrom(...HEADER_NAMES), safe_regex_match: fc.record({ regex: fc.constantFrom(...REGEXES) }) }),
      fc.record({
        name: fc.constantFrom(...HEADER_NAMES),
        range_match: fc.record({ start: fc.integer({ min: -5, max: 5 }), end: fc.integer({ min: -5, max: 10 }) }),
      }),
    ),
  }),
  fc.record({
    destination_ip: fc.record({
      address_prefix: fc.constantFrom('10.0.0.0', '::1', '0.0.0.0'),
      prefix_len: fc.integer({ min: 0, max: 32 }),
    }),
  }),
  fc.record({ destination_port: fc.integer({ min: 1, max: 65_535 }) }),
  fc.record({ destination_port_range: fc.record({ start: fc.integer({ min: 0, max: 100 }), end: fc.integer({ min: 0, max: 200 }) }) }),
  fc.record({ requested_server_name: stringMatcherArb }),
  fc.record({
    metadata: fc.record({
      filter: fc.constantFrom('f', ''),
      path: fc.array(fc.record({ key: fc.constantFrom('a', 'b') }), { minLength: 1, maxLength: 2 }),
      value: fc.oneof(
        fc.record({ string_match: stringMatcherArb }),
        fc.record({ bool_match: fc.boolean() }),
        fc.record({ present_match: fc.boolean() }),
      ),
      invert: fc.boolean(),
    }),
  }),
);

const permissionArb: fc.Arbitrary<unknown> = fc.letrec((tie) => ({
  node: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    leafArb,
    fc.record({ and_rules: fc.record({ rules: fc.array(tie('node'), { minLength: 1, maxLength: 3 }) }) }),
    fc.record({ or_rules: fc.record({ rules: fc.array(tie('node'), { minLength: 1, maxLength: 3 }) }) }),
    fc.record({ not_rule: tie('node') }),
  ),
})).node;

describe('any compiled rule, on arbitrary requests', () => {
  test('never throws, and needsAuth agrees with explain (simple conditions, RBAC permissions, and junk configs)', () => {
    let compiled = 0;
    const config = fc.oneof(
      fc.record({ mode: fc.constant<MatchMode>('complex'), tree: fc.array(permissionArb, { minLength: 1, maxLength: 3 }) }),
      fc.record({
        mode: fc.constantFrom<MatchMode>('whitelist', 'blacklist'),
        tree: fc.array(conditionArb, { minLength: 1, maxLength: 3 }),
      }),
      fc.record({ mode: fc.constantFrom<MatchMode>('complex', 'whitelist', 'blacklist', 'all'), tree: fc.anything({ maxDepth: 3 }) }),
    );
    fc.assert(
      fc.property(config, fc.array(inputArb, { minLength: 1, maxLength: 3 }), ({ mode, tree }, inputs) => {
        const issues = new Issues();
        const matcher =
          mode === 'complex'
            ? compileMatch({ mode, permissions: tree, path: 'm' }, issues)
            : compileMatch({ mode, conditions: tree, path: 'm' }, issues);
        // A config with issues never serves; compiling it must still not throw, and must say where.
        for (const issue of issues.list) expect(issue.path.startsWith('m')).toBe(true);
        if (!issues.empty) return;
        compiled++;
        for (const input of inputs) {
          const needsAuth = matcher.needsAuth(input);
          expect(matcher.explain(input).needsAuth).toBe(needsAuth);
          if (!input.pathSafe || !input.hostSafe) expect(needsAuth).toBe(true);
        }
      }),
      fuzzParameters(30_000),
    );
    expect(compiled).toBeGreaterThan(0);
  });
});
