import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { Issues, type MatchMode } from '../../src/config';
import { compileMatch, type CheckInput, type Matcher, type RuleMatcher, type TracedMatcher } from '../../src/matcher';
import { literalReading, unsafeReason } from '../../src/translate/check-request';
import { hostProblem } from '../../src/translate/host-problem';
import { normalizePath } from '../../src/translate/normalize-path';

export interface InputSpec {
  method?: string;
  host?: string;
  /** Raw `:path` as a client sends it, query included; normalized here as src/translate does. */
  path?: string;
  headers?: Record<string, string | string[]>;
  scheme?: string;
  destinationIp?: string;
  destinationPort?: number;
  sni?: string;
  metadata?: Record<string, unknown>;
}

/** Builds the CheckInput that src/translate would build for such a request. */
export function makeInput(spec: InputSpec = {}): CheckInput {
  const n = normalizePath(spec.path ?? '/');
  const host = spec.host ?? 'example.com';
  const badHost = hostProblem(host);
  const headers = new Map<string, string>();
  for (const [name, value] of Object.entries(spec.headers ?? {})) {
    headers.set(name.toLowerCase(), Array.isArray(value) ? value.join(',') : value);
  }
  const input: CheckInput = {
    method: spec.method ?? 'GET',
    host,
    path: n.query ? `${n.path}?${n.query}` : n.path,
    pathOnly: n.path,
    pathSafe: n.safe,
    hostSafe: badHost === undefined,
    unsafeReason: unsafeReason(n, badHost),
    scheme: spec.scheme ?? 'https',
    headers,
    destinationIp: spec.destinationIp ?? '10.0.0.1',
    destinationPort: spec.destinationPort ?? 8443,
    sni: spec.sni ?? '',
    metadata: spec.metadata ?? {},
    literal: undefined,
  };
  return { ...input, literal: literalReading(input, n, spec.path ?? '/') };
}

/** The one assertion for a compiled node: `matches` and the traced evaluation agree with `expected`. */
export function checkMatcher(matcher: Matcher, expected: boolean, input: CheckInput): void {
  expect(matcher.matches(input)).toBe(expected);
  const traced = matcher as Partial<TracedMatcher>;
  if (typeof traced.trace === 'function') {
    const out: TracedMatcher[] = [];
    expect(traced.trace.call(matcher, input, out)).toBe(expected);
    expect(out.length).toBeGreaterThan(0);
  }
}

/** The same for a whole rule: the hot path and the debug path must agree. */
export function checkRule(rule: RuleMatcher, needsAuth: boolean, input: CheckInput): void {
  expect(rule.needsAuth(input)).toBe(needsAuth);
  expect(rule.explain(input).needsAuth).toBe(needsAuth);
}

export const RULE_PATH = 'rules[0].match';

/** Compiles a `match:` block; fails the test if it reports any issue. */
export function compileOk(match: { mode: MatchMode; conditions?: unknown; permissions?: unknown }): RuleMatcher {
  const issues = new Issues();
  const rule = compileMatch({ ...match, path: RULE_PATH }, issues);
  expect(issues.list).toEqual([]);
  return rule;
}

/** Compiles a `match:` block expected to be rejected; returns the issues as "path: message" lines. */
export function compileErrors(match: { mode: MatchMode; conditions?: unknown; permissions?: unknown }): string[] {
  const issues = new Issues();
  compileMatch({ ...match, path: RULE_PATH }, issues);
  return issues.list.map((i) => `${i.path}: ${i.message}`);
}

/** Loads `match:` from a YAML fixture, as text, so the gateway documentation's examples are tested exactly as users paste them. */
export function loadFixture(name: string): { mode: MatchMode; conditions?: unknown; permissions?: unknown } {
  const doc = parse(readFileSync(join(__dirname, 'fixtures', name), 'utf8')) as { match: { mode: MatchMode } };
  return doc.match;
}
