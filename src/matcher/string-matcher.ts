import RE2 from 're2';
import { describe, keyPath, readObject, type Issues, type RawObject } from '../config';
import type { StringMatcher } from './types';

/**
 * Envoy's StringMatcher (envoy/type/matcher/v3/string.proto) as small immutable objects.
 * `ignore_case` folds ASCII letters only, as Envoy (absl) does, so "İ" never equals "i".
 */

const ASCII_UPPER = /[A-Z]/g;
const NON_ASCII = /[^\x00-\x7f]/;

function lowerChar(c: string): string {
  return String.fromCharCode(c.charCodeAt(0) + 32);
}

/** ASCII-only lowercasing; non-ASCII letters are left as they are. */
export function asciiLower(value: string): string {
  return NON_ASCII.test(value) ? value.replace(ASCII_UPPER, lowerChar) : value.toLowerCase();
}

/**
 * Whether `value` holds `lower` (already ASCII-lowercased) at `offset`, folding ASCII letters
 * of `value` only: asciiLower's semantics without building a lowercased copy per request.
 */
function foldedAt(value: string, offset: number, lower: string): boolean {
  for (let i = 0; i < lower.length; i++) {
    let c = value.charCodeAt(offset + i);
    if (c >= 0x41 && c <= 0x5a) c += 32;
    if (c !== lower.charCodeAt(i)) return false;
  }
  return true;
}

function quote(value: string): string {
  return JSON.stringify(value);
}

class ExactString implements StringMatcher {
  readonly label: string;
  constructor(private readonly expected: string) {
    this.label = `exact ${quote(expected)}`;
  }
  match(value: string): boolean {
    return value === this.expected;
  }
}

class ExactIgnoreCase implements StringMatcher {
  readonly label: string;
  private readonly expected: string;
  constructor(expected: string) {
    this.expected = asciiLower(expected);
    this.label = `exact ${quote(expected)} (ignore case)`;
  }
  match(value: string): boolean {
    return value.length === this.expected.length && foldedAt(value, 0, this.expected);
  }
}

class PrefixString implements StringMatcher {
  readonly label: string;
  constructor(private readonly prefix: string) {
    this.label = `prefix ${quote(prefix)}`;
  }
  match(value: string): boolean {
    return value.startsWith(this.prefix);
  }
}

class PrefixIgnoreCase implements StringMatcher {
  readonly label: string;
  private readonly prefix: string;
  constructor(prefix: string) {
    this.prefix = asciiLower(prefix);
    this.label = `prefix ${quote(prefix)} (ignore case)`;
  }
  match(value: string): boolean {
    return value.length >= this.prefix.length && foldedAt(value, 0, this.prefix);
  }
}

class SuffixString implements StringMatcher {
  readonly label: string;
  constructor(private readonly suffix: string) {
    this.label = `suffix ${quote(suffix)}`;
  }
  match(value: string): boolean {
    return value.endsWith(this.suffix);
  }
}

class SuffixIgnoreCase implements StringMatcher {
  readonly label: string;
  private readonly suffix: string;
  constructor(suffix: string) {
    this.suffix = asciiLower(suffix);
    this.label = `suffix ${quote(suffix)} (ignore case)`;
  }
  match(value: string): boolean {
    return value.length >= this.suffix.length && foldedAt(value, value.length - this.suffix.length, this.suffix);
  }
}

class ContainsString implements StringMatcher {
  readonly label: string;
  constructor(private readonly needle: string) {
    this.label = `contains ${quote(needle)}`;
  }
  match(value: string): boolean {
    return value.includes(this.needle);
  }
}

class ContainsIgnoreCase implements StringMatcher {
  readonly label: string;
  private readonly needle: string;
  constructor(needle: string) {
    this.needle = asciiLower(needle);
    this.label = `contains ${quote(needle)} (ignore case)`;
  }
  match(value: string): boolean {
    return asciiLower(value).includes(this.needle);
  }
}

class RegexString implements StringMatcher {
  readonly label: string;
  constructor(
    private readonly re: RE2,
    pattern: string,
    ignoreCase: boolean,
  ) {
    this.label = `regex ${quote(pattern)}${ignoreCase ? ' (ignore case)' : ''}`;
  }
  match(value: string): boolean {
    return this.re.test(value);
  }
}

/** Matches every value: Envoy's `exact_match: ""` on a header, and a bare present check. */
class AnyString implements StringMatcher {
  constructor(readonly label: string) {}
  match(): boolean {
    return true;
  }
}

class NoString implements StringMatcher {
  constructor(readonly label: string) {}
  match(): boolean {
    return false;
  }
}

export function exactString(value: string, ignoreCase = false): StringMatcher {
  return ignoreCase ? new ExactIgnoreCase(value) : new ExactString(value);
}

export function prefixString(value: string, ignoreCase = false): StringMatcher {
  return ignoreCase ? new PrefixIgnoreCase(value) : new PrefixString(value);
}

export function suffixString(value: string, ignoreCase = false): StringMatcher {
  return ignoreCase ? new SuffixIgnoreCase(value) : new SuffixString(value);
}

export function containsString(value: string, ignoreCase = false): StringMatcher {
  return ignoreCase ? new ContainsIgnoreCase(value) : new ContainsString(value);
}

export function anyString(label: string): StringMatcher {
  return new AnyString(label);
}

export function noString(label: string): StringMatcher {
  return new NoString(label);
}

/**
 * An RE2 pattern that must match the whole value (Envoy uses RE2::FullMatch). The pattern is
 * first compiled alone, so that one with unbalanced groups such as `a)|(b` is rejected
 * instead of escaping the anchors wrapped around it.
 */
export function regexString(pattern: string, path: string, issues: Issues, ignoreCase = false): StringMatcher {
  if (pattern.length === 0) {
    issues.add(path, 'expected a non-empty RE2 regular expression');
    return noString('invalid regex');
  }
  try {
    new RE2(pattern);
    const re = new RE2(`^(?:${pattern})$`, ignoreCase ? 'i' : '');
    return new RegexString(re, pattern, ignoreCase);
  } catch (err) {
    const reason = err instanceof Error ? err.message : String(err);
    issues.add(path, `invalid RE2 regular expression ${quote(pattern)}: ${reason}`);
    return noString('invalid regex');
  }
}

const REGEX_MATCHER_KEYS = ['regex', 'google_re2'] as const;

/** RegexMatcher `{ regex, google_re2? }`; `google_re2` (deprecated, program size hint) is accepted and ignored. */
export function compileRegexMatcher(value: unknown, path: string, issues: Issues, ignoreCase = false): StringMatcher {
  const obj = readObject(value, path, issues, REGEX_MATCHER_KEYS);
  if (!obj) {
    if (value === undefined || value === null) issues.add(path, 'expected a RegexMatcher such as { regex: "^/api/.*" }');
    return noString('invalid regex');
  }
  const regex = obj.regex;
  if (typeof regex !== 'string') {
    issues.add(keyPath(path, 'regex'), `required: an RE2 regular expression string, got ${describe(regex)}`);
    return noString('invalid regex');
  }
  return regexString(regex, keyPath(path, 'regex'), issues, ignoreCase);
}

const STRING_MATCHER_KINDS = ['exact', 'prefix', 'suffix', 'contains', 'safe_regex'] as const;
const STRING_MATCHER_UNSUPPORTED = ['custom'] as const;
type StringMatcherKind = (typeof STRING_MATCHER_KINDS)[number];

function stringField(obj: RawObject, key: string, path: string, issues: Issues, minLen: number): string | undefined {
  const v = obj[key];
  if (typeof v !== 'string') {
    issues.add(keyPath(path, key), `expected a string, got ${describe(v)}`);
    return undefined;
  }
  if (v.length < minLen) {
    issues.add(keyPath(path, key), 'expected a non-empty string');
    return undefined;
  }
  return v;
}

/** Envoy's StringMatcher: exactly one of exact / prefix / suffix / contains / safe_regex, plus ignore_case. */
export function compileStringMatcher(value: unknown, path: string, issues: Issues): StringMatcher {
  const obj = readObject(value, path, issues, [...STRING_MATCHER_KINDS, ...STRING_MATCHER_UNSUPPORTED, 'ignore_case']);
  const invalid = noString('invalid string matcher');
  if (!obj) {
    if (value === undefined || value === null) {
      issues.add(path, `expected a StringMatcher with one of: ${STRING_MATCHER_KINDS.join(', ')}`);
    }
    return invalid;
  }
  for (const key of STRING_MATCHER_UNSUPPORTED) {
    if (key in obj)
      issues.add(
        keyPath(path, key),
        'custom string matcher extensions are not supported; use exact, prefix, suffix, contains or safe_regex',
      );
  }
  const kinds = STRING_MATCHER_KINDS.filter((k) => k in obj);
  if (kinds.length !== 1) {
    if (!STRING_MATCHER_UNSUPPORTED.some((k) => k in obj)) {
      issues.add(
        path,
        kinds.length === 0
          ? `expected one of: ${STRING_MATCHER_KINDS.join(', ')}`
          : `expected exactly one of ${STRING_MATCHER_KINDS.join(', ')}; got ${kinds.join(' and ')}`,
      );
    }
    return invalid;
  }
  const ignoreCaseRaw = obj.ignore_case;
  if (ignoreCaseRaw !== undefined && typeof ignoreCaseRaw !== 'boolean') {
    issues.add(keyPath(path, 'ignore_case'), `expected true or false, got ${describe(ignoreCaseRaw)}`);
  }
  const ignoreCase = ignoreCaseRaw === true;
  const kind: StringMatcherKind = kinds[0];
  switch (kind) {
    case 'exact': {
      const v = stringField(obj, kind, path, issues, 0);
      return v === undefined ? invalid : exactString(v, ignoreCase);
    }
    case 'prefix': {
      const v = stringField(obj, kind, path, issues, 1);
      return v === undefined ? invalid : prefixString(v, ignoreCase);
    }
    case 'suffix': {
      const v = stringField(obj, kind, path, issues, 1);
      return v === undefined ? invalid : suffixString(v, ignoreCase);
    }
    case 'contains': {
      const v = stringField(obj, kind, path, issues, 1);
      return v === undefined ? invalid : containsString(v, ignoreCase);
    }
    case 'safe_regex':
      if (ignoreCase) {
        // Envoy rejects this combination too: the flag would silently do nothing.
        issues.add(keyPath(path, 'ignore_case'), 'has no effect with safe_regex; use (?i) in the regex instead');
      }
      return compileRegexMatcher(obj.safe_regex, keyPath(path, 'safe_regex'), issues);
    default: {
      const unreachable: never = kind;
      return unreachable;
    }
  }
}
