import { Issues, describe, keyPath, readList, readObject, type RawObject } from '../config';
import { HeaderMatcher, headerGetter, type HeaderGetter } from './header-matcher';
import { getPathOnly, StringFieldMatcher } from './leaves';
import { AndMatcher, ConstMatcher, OrMatcher } from './logical';
import { NearMissPathMatcher } from './near-miss-path';
import { anyString, containsString, exactString, noString, prefixString, regexString, suffixString } from './string-matcher';
import type { CheckInput, StringMatcher, TracedMatcher } from './types';

/**
 * The "Simple Conditions" front end: each condition becomes an AND of the same header and
 * string-field matchers the RBAC front end builds, and the list an OR. One engine, two
 * front ends.
 *
 * The mode decides which way a path condition leans. A whitelist lists what may skip
 * authentication, so it matches exactly and case-sensitively. A blacklist lists what needs
 * it, so a near miss counts: case is folded unless `caseSensitive: true`, and one trailing
 * "/" more or less still matches (see NearMissPathMatcher).
 */
export type ConditionMode = 'whitelist' | 'blacklist';

const CONDITION_KEYS = ['domain', 'path', 'pathMatch', 'caseSensitive', 'headers'] as const;
const PATH_MATCHES = ['exact', 'prefix', 'regex'] as const;
const HEADER_OPS = ['equals', 'notEquals', 'exists', 'notExists', 'contains', 'notContains', 'prefix', 'suffix', 'regex'] as const;
type HeaderOp = (typeof HEADER_OPS)[number];

const DOMAIN_LABEL = '[a-z0-9_]([a-z0-9_-]*[a-z0-9_])?';
const DOMAIN = new RegExp(`^(\\*\\.)?${DOMAIN_LABEL}(\\.${DOMAIN_LABEL})*$`, 'i');
/** Segments a normalized request path can never hold, so a condition holding them never matches. */
const NOT_NORMALIZED = /\/\/|\/\.\.?(\/|$)/;
const ESCAPE = /%(..)?/g;
const UNRESERVED = /[A-Za-z0-9._~-]/;

/**
 * Why a literal path can never equal a normalized request path, if it cannot: request
 * paths have dot-segments resolved, "//" merged, escapes of unreserved characters decoded
 * and other escapes in uppercase, and are unsafe (always authenticated) with an encoded "/",
 * "\\", ";" or "%", or a raw ";".
 */
function pathFormProblem(text: string, caseSensitive: boolean): string | undefined {
  if (NOT_NORMALIZED.test(text)) return '"//", "." and ".." segments are resolved';
  if (text.includes(';')) return 'a ";" (a path parameter) makes a request path unsafe, so it is always authenticated';
  for (const m of text.matchAll(ESCAPE)) {
    const hex = m[1];
    if (hex === undefined || !/^[0-9A-Fa-f]{2}$/.test(hex)) return `"${m[0]}" is not a valid escape`;
    const ch = String.fromCharCode(parseInt(hex, 16));
    if (ch === '/' || ch === '\\') return `"${m[0]}" (an encoded "${ch}") makes a request path unsafe, so it is always authenticated`;
    if (ch === ';' || ch === '%') return `"${m[0]}" (an encoded "${ch}") makes a request path unsafe, so it is always authenticated`;
    if (UNRESERVED.test(ch)) return `"${m[0]}" is decoded to "${ch}"`;
    if (caseSensitive && hex !== hex.toUpperCase()) return `escapes are uppercased ("%${hex.toUpperCase()}")`;
  }
  return undefined;
}

/**
 * The host as a backend resolves it: no port, no trailing dot, lowercase. Without this a
 * blacklisted `admin.example.com` would be skipped when sent as `ADMIN.example.com.:443`.
 */
const getHostName: HeaderGetter = (input: CheckInput) => {
  let host = input.host;
  if (host.startsWith('[')) {
    const end = host.indexOf(']');
    if (end !== -1) host = host.slice(0, end + 1);
  } else {
    const colon = host.lastIndexOf(':');
    if (colon !== -1) host = host.slice(0, colon);
  }
  if (host.endsWith('.')) host = host.slice(0, -1);
  return host.toLowerCase();
};

function compileDomain(value: unknown, path: string, issues: Issues): TracedMatcher {
  if (typeof value !== 'string' || !DOMAIN.test(value)) {
    issues.add(
      path,
      `expected a host name such as "api.example.com" or a wildcard "*.example.com" (any subdomain, not the apex), got ${describe(value)}`,
    );
    return new ConstMatcher(path, 'invalid domain', false);
  }
  const lower = value.toLowerCase();
  const test = lower.startsWith('*.') ? suffixString(lower.slice(1)) : exactString(lower);
  // The host is lowercased by getHostName, so plain (case-sensitive) tests suffice here.
  return new HeaderMatcher(path, `domain ${value}`, getHostName, test, false, false);
}

function compilePath(
  cond: RawObject,
  condPath: string,
  issues: Issues,
  mode: ConditionMode,
  nearMisses: NearMissPathMatcher[],
): TracedMatcher | undefined {
  const at = keyPath(condPath, 'path');
  const raw = cond.path;
  const caseRaw = cond.caseSensitive;
  const modeRaw = cond.pathMatch;
  if (raw === undefined || raw === null) {
    if (modeRaw !== undefined) issues.add(keyPath(condPath, 'pathMatch'), 'only applies together with path');
    if (caseRaw !== undefined) issues.add(keyPath(condPath, 'caseSensitive'), 'only applies together with path');
    return undefined;
  }
  if (caseRaw !== undefined && typeof caseRaw !== 'boolean') {
    issues.add(keyPath(condPath, 'caseSensitive'), `expected true or false, got ${describe(caseRaw)}`);
  }
  const blacklist = mode === 'blacklist';
  const ignoreCase = blacklist ? caseRaw !== true : caseRaw === false;
  if (blacklist && caseRaw === true) {
    issues.warn(
      keyPath(condPath, 'caseSensitive'),
      'a case-sensitive blacklist path lets "/ADMIN/x" skip authentication on backends that route case-insensitively (Express, IIS); remove caseSensitive unless every backend is case-sensitive',
    );
  }
  if (modeRaw !== undefined && (typeof modeRaw !== 'string' || !(PATH_MATCHES as readonly string[]).includes(modeRaw))) {
    issues.add(keyPath(condPath, 'pathMatch'), `expected one of ${PATH_MATCHES.join(', ')}, got ${describe(modeRaw)}`);
  }
  if (typeof raw !== 'string' || raw.length === 0) {
    issues.add(at, `expected a path such as /app/v1/order or /app/* (prefix), got ${describe(raw)}`);
    return new ConstMatcher(at, 'invalid path', false);
  }
  const match = modeRaw === 'exact' || modeRaw === 'prefix' || modeRaw === 'regex' ? modeRaw : raw.endsWith('*') ? 'prefix' : 'exact';
  let test: StringMatcher;
  let text = raw;
  if (match === 'regex') {
    test = regexString(raw, at, issues, ignoreCase);
  } else {
    text = match === 'prefix' && raw.endsWith('*') ? raw.slice(0, -1) : raw;
    if (!text.startsWith('/')) {
      issues.add(at, `expected a path starting with "/", got ${describe(raw)}`);
    } else if (match === 'prefix' ? text.includes('*') : modeRaw === undefined && text.includes('*')) {
      issues.add(at, `"*" is only allowed at the end (prefix match); use pathMatch: regex for patterns, got ${describe(raw)}`);
    } else {
      const problem = pathFormProblem(text, !ignoreCase);
      if (problem) {
        issues.add(
          at,
          `request paths are normalized before matching (${problem}), so ${describe(raw)} can never match; write the normalized path`,
        );
      }
    }
    test = match === 'prefix' ? prefixString(text, ignoreCase) : exactString(text, ignoreCase);
  }
  if (!blacklist) return new StringFieldMatcher(at, `path ${test.label}`, getPathOnly, test);

  let nearMiss: StringMatcher | 'toggle' | undefined;
  let caseSensitive: StringMatcher | undefined;
  if (match === 'regex') {
    nearMiss = 'toggle';
    if (ignoreCase) caseSensitive = regexString(raw, at, new Issues());
  } else {
    const trimmed = text.length > 1 && text.endsWith('/') ? text.slice(0, -1) : undefined;
    if (match === 'exact') nearMiss = exactString(trimmed ?? `${text}/`, ignoreCase);
    else if (trimmed !== undefined) nearMiss = exactString(trimmed, ignoreCase);
    if (ignoreCase) caseSensitive = match === 'prefix' ? prefixString(text) : exactString(text);
  }
  const leaf = new NearMissPathMatcher(at, `path ${test.label} or a near miss`, test, nearMiss, caseSensitive);
  nearMisses.push(leaf);
  return leaf;
}

/**
 * One header test. A missing header fails every op but the negative ones (notExists,
 * notEquals, notContains), which hold: the header cannot equal or contain anything.
 */
function compileHeader(value: unknown, path: string, issues: Issues): TracedMatcher {
  const h = readObject(value, path, issues, ['name', 'op', 'value']);
  if (!h) {
    if (value === undefined || value === null) issues.add(path, 'expected { name, op, value }');
    return new ConstMatcher(path, 'invalid header', false);
  }
  const { name, get } = headerGetter(h.name, keyPath(path, 'name'), issues);
  const opRaw = h.op;
  if (typeof opRaw !== 'string' || !(HEADER_OPS as readonly string[]).includes(opRaw)) {
    issues.add(keyPath(path, 'op'), `unknown op ${describe(opRaw)}; expected one of: ${HEADER_OPS.join(', ')}`);
    return new ConstMatcher(path, 'invalid header', false);
  }
  const op = opRaw as HeaderOp;
  const needsValue = op !== 'exists' && op !== 'notExists';
  const v = h.value;
  if (needsValue && typeof v !== 'string') {
    issues.add(keyPath(path, 'value'), `op ${op} needs a string value, got ${describe(v)}`);
    return new ConstMatcher(path, 'invalid header', false);
  }
  if (!needsValue && v !== undefined) {
    issues.add(keyPath(path, 'value'), `op ${op} takes no value; remove it`);
  }
  const text = typeof v === 'string' ? v : '';
  let test: StringMatcher;
  let invert = false;
  let whenMissing = false;
  switch (op) {
    case 'equals':
      test = exactString(text);
      break;
    case 'notEquals':
      test = exactString(text);
      invert = true;
      whenMissing = true;
      break;
    case 'exists':
      test = anyString('present');
      break;
    case 'notExists':
      test = noString('absent');
      whenMissing = true;
      break;
    case 'contains':
      test = containsString(text);
      break;
    case 'notContains':
      test = containsString(text);
      invert = true;
      whenMissing = true;
      break;
    case 'prefix':
      test = prefixString(text);
      break;
    case 'suffix':
      test = suffixString(text);
      break;
    case 'regex':
      test = regexString(text, keyPath(path, 'value'), issues);
      break;
    default: {
      const unreachable: never = op;
      return unreachable;
    }
  }
  return new HeaderMatcher(path, `header ${name} ${op}${needsValue ? ` ${JSON.stringify(text)}` : ''}`, get, test, invert, whenMissing);
}

function compileCondition(
  value: unknown,
  path: string,
  issues: Issues,
  mode: ConditionMode,
  nearMisses: NearMissPathMatcher[],
): TracedMatcher {
  const cond = readObject(value, path, issues, CONDITION_KEYS);
  if (!cond) {
    if (value === undefined || value === null) issues.add(path, 'expected a condition with domain, path and/or headers');
    return new ConstMatcher(path, 'invalid condition', false);
  }
  const parts: TracedMatcher[] = [];
  if (cond.domain !== undefined) parts.push(compileDomain(cond.domain, keyPath(path, 'domain'), issues));
  const pathMatcher = compilePath(cond, path, issues, mode, nearMisses);
  if (pathMatcher) parts.push(pathMatcher);
  if (cond.headers !== undefined) {
    const headersPath = keyPath(path, 'headers');
    const headers = readList(cond.headers, headersPath, issues) ?? [];
    headers.forEach((h, i) => parts.push(compileHeader(h, keyPath(headersPath, i), issues)));
  }
  if (parts.length === 0) {
    // An empty condition would match every request: a whitelist would skip all authentication.
    issues.add(path, 'a condition needs at least one of domain, path or headers; an empty one would match every request');
    return new ConstMatcher(path, 'invalid condition', false);
  }
  return new AndMatcher(path, parts.map((p) => p.label).join(', '), parts);
}

/**
 * Compiles `match.conditions` into one matcher that holds when any condition holds. Blacklist
 * path leaves are also pushed to `nearMisses`, so explain can say when a near miss decided.
 */
export function compileConditions(
  value: unknown,
  path: string,
  issues: Issues,
  mode: ConditionMode,
  nearMisses: NearMissPathMatcher[] = [],
): TracedMatcher {
  const list = readList(value, path, issues);
  if (!list || list.length === 0) {
    if (list || value === undefined || value === null) issues.add(path, 'expected a non-empty list of conditions');
    return new ConstMatcher(path, 'invalid conditions', false);
  }
  return new OrMatcher(
    path,
    'conditions',
    list.map((c, i) => compileCondition(c, keyPath(path, i), issues, mode, nearMisses)),
  );
}
