import { describe, isHttpToken, keyPath, readBool, readObject, type Issues, type RawObject } from '../config';
import {
  anyString,
  compileRegexMatcher,
  compileStringMatcher,
  containsString,
  exactString,
  noString,
  prefixString,
  suffixString,
} from './string-matcher';
import type { CheckInput, StringMatcher, TracedMatcher } from './types';

/** Reads one header's value from the input; undefined when the request has no such header. */
export type HeaderGetter = (input: CheckInput) => string | undefined;

const getAuthority: HeaderGetter = (input) => input.host;
const getPath: HeaderGetter = (input) => input.path;
const getMethod: HeaderGetter = (input) => input.method;
const getScheme: HeaderGetter = (input) => input.scheme;

const PSEUDO_HEADERS: ReadonlyMap<string, HeaderGetter> = new Map([
  [':authority', getAuthority],
  [':path', getPath],
  [':method', getMethod],
  [':scheme', getScheme],
]);

/**
 * A header name validated and lowercased once; pseudo-headers read the input's own fields
 * because CheckInput.headers holds none.
 */
export function headerGetter(name: unknown, path: string, issues: Issues): { name: string; get: HeaderGetter } {
  if (typeof name !== 'string' || !isHttpToken(name.charCodeAt(0) === 0x3a ? name.slice(1) : name)) {
    issues.add(path, `expected an HTTP header name such as x-env or :authority, got ${describe(name)}`);
    return { name: String(name), get: () => undefined };
  }
  const lower = name.toLowerCase();
  if (lower.startsWith(':')) {
    const get = PSEUDO_HEADERS.get(lower);
    if (!get) {
      issues.add(path, `unknown pseudo-header ${describe(name)}; expected one of: ${[...PSEUDO_HEADERS.keys()].join(', ')}`);
      return { name: lower, get: () => undefined };
    }
    return { name: lower, get };
  }
  return { name: lower, get: (input) => input.headers.get(lower) };
}

/**
 * Envoy's header match (HeaderUtility::matchHeaders): the value test, then `invert_match`.
 * A missing header never reaches the value test: its outcome is fixed at build time, since
 * it depends only on the config (`present_match`, `invert_match`,
 * `treat_missing_header_as_empty`). Simple conditions use this same class with their own
 * missing-header outcome.
 */
export class HeaderMatcher implements TracedMatcher {
  constructor(
    readonly path: string,
    readonly label: string,
    private readonly get: HeaderGetter,
    private readonly value: StringMatcher,
    private readonly invert: boolean,
    private readonly whenMissing: boolean,
  ) {}

  matches(input: CheckInput): boolean {
    const v = this.get(input);
    if (v === undefined) return this.whenMissing;
    return this.value.match(v) !== this.invert;
  }

  trace(input: CheckInput, out: TracedMatcher[]): boolean {
    out.push(this);
    return this.matches(input);
  }
}

const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;
const DECIMAL = /^[+-]?\d+$/;
/** What absl::SimpleAtoi skips around a number. */
const ASCII_SPACE = /^[ \t\n\v\f\r]+|[ \t\n\v\f\r]+$/g;

/** `range_match` on an int64 header value, half-open [start, end), as absl::SimpleAtoi parses it. */
class Int64RangeString implements StringMatcher {
  readonly label: string;
  constructor(
    private readonly start: bigint,
    private readonly end: bigint,
  ) {
    this.label = `range [${start}, ${end})`;
  }
  match(value: string): boolean {
    const text = value.replace(ASCII_SPACE, '');
    if (!DECIMAL.test(text)) return false;
    const digits = text.length - (text[0] === '+' || text[0] === '-' ? 1 : 0);
    if (digits <= 15) {
      const n = Number(text);
      return n >= this.start && n < this.end;
    }
    const n = BigInt(text);
    return n >= INT64_MIN && n <= INT64_MAX && n >= this.start && n < this.end;
  }
}

function readInt64(obj: RawObject, key: string, path: string, issues: Issues): bigint | undefined {
  const v = obj[key];
  if (v === undefined || v === null) return 0n;
  // Proto JSON writes int64 as a string; YAML users write numbers.
  if ((typeof v === 'number' && Number.isSafeInteger(v)) || (typeof v === 'string' && DECIMAL.test(v))) {
    const n = BigInt(v);
    if (n >= INT64_MIN && n <= INT64_MAX) return n;
  }
  issues.add(keyPath(path, key), `expected a 64-bit whole number, got ${describe(v)}`);
  return undefined;
}

function compileInt64Range(value: unknown, path: string, issues: Issues): StringMatcher {
  const obj = readObject(value, path, issues, ['start', 'end']);
  if (!obj) {
    issues.add(path, 'expected an Int64Range such as { start: 0, end: 100 } (end exclusive)');
    return noString('invalid range');
  }
  const start = readInt64(obj, 'start', path, issues);
  const end = readInt64(obj, 'end', path, issues);
  if (start === undefined || end === undefined) return noString('invalid range');
  if (start >= end) {
    issues.add(path, `start ${start} must be below end ${end} (end is exclusive); this range can never match`);
    return noString('invalid range');
  }
  return new Int64RangeString(start, end);
}

const SPECIFIERS = [
  'exact_match',
  'safe_regex_match',
  'range_match',
  'present_match',
  'prefix_match',
  'suffix_match',
  'contains_match',
  'string_match',
] as const;
type Specifier = (typeof SPECIFIERS)[number];
const HEADER_KEYS = ['name', ...SPECIFIERS, 'invert_match', 'treat_missing_header_as_empty'] as const;

function readText(obj: RawObject, key: string, path: string, issues: Issues, minLen: number): string | undefined {
  const v = obj[key];
  if (typeof v !== 'string' || v.length < minLen) {
    issues.add(keyPath(path, key), `expected a ${minLen > 0 ? 'non-empty ' : ''}string, got ${describe(v)}`);
    return undefined;
  }
  return v;
}

/**
 * Envoy's route.v3.HeaderMatcher. No specifier means "present". Deprecated specifiers
 * (`exact_match`, `prefix_match`, ...) behave as Envoy still runs them: notably
 * `exact_match: ""` matches any value of a present header.
 */
export function compileHeaderMatcher(value: unknown, path: string, issues: Issues): HeaderMatcher {
  const obj = readObject(value, path, issues, HEADER_KEYS);
  if (!obj) {
    if (value === undefined || value === null) {
      issues.add(path, 'expected a HeaderMatcher such as { name: ":authority", exact_match: "example.com" }');
    }
    return new HeaderMatcher(path, 'invalid header', () => undefined, noString('invalid'), false, false);
  }
  const { name, get } = headerGetter(obj.name, keyPath(path, 'name'), issues);
  const invert = readBool(obj, 'invert_match', path, issues, false);
  const missingAsEmpty = readBool(obj, 'treat_missing_header_as_empty', path, issues, false);
  const given = SPECIFIERS.filter((k) => obj[k] !== undefined);
  if (given.length > 1) {
    issues.add(path, `expected at most one of ${SPECIFIERS.join(', ')}; got ${given.join(' and ')}`);
  }
  const spec: Specifier | undefined = given[0];
  let test: StringMatcher;
  let present: boolean | undefined;
  switch (spec) {
    case undefined:
      present = true;
      test = anyString('present');
      break;
    case 'present_match': {
      present = readBool(obj, spec, path, issues, false);
      test = present ? anyString('present') : noString('present_match false');
      break;
    }
    case 'exact_match': {
      const v = readText(obj, spec, path, issues, 0) ?? '';
      test = v === '' ? anyString('exact_match "" (any value)') : exactString(v);
      break;
    }
    case 'prefix_match': {
      const v = readText(obj, spec, path, issues, 1);
      test = v === undefined ? noString('invalid') : prefixString(v);
      break;
    }
    case 'suffix_match': {
      const v = readText(obj, spec, path, issues, 1);
      test = v === undefined ? noString('invalid') : suffixString(v);
      break;
    }
    case 'contains_match': {
      const v = readText(obj, spec, path, issues, 1);
      test = v === undefined ? noString('invalid') : containsString(v);
      break;
    }
    case 'safe_regex_match':
      test = compileRegexMatcher(obj[spec], keyPath(path, spec), issues);
      break;
    case 'range_match':
      test = compileInt64Range(obj[spec], keyPath(path, spec), issues);
      break;
    case 'string_match':
      test = compileStringMatcher(obj[spec], keyPath(path, spec), issues);
      break;
    default: {
      const unreachable: never = spec;
      return unreachable;
    }
  }
  let whenMissing: boolean;
  if (missingAsEmpty) whenMissing = test.match('') !== invert;
  else if (present !== undefined) whenMissing = invert ? present : !present;
  else whenMissing = false;
  const label = `header ${name} ${test.label}${invert ? ' (inverted)' : ''}`;
  return new HeaderMatcher(path, label, get, test, invert, whenMissing);
}
