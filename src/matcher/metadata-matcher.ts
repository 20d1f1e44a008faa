import { describe, isObject, keyPath, readList, readObject, type Issues, type RawObject } from '../config';
import { compileStringMatcher } from './string-matcher';
import type { CheckInput, TracedMatcher } from './types';

/**
 * Envoy's MetadataMatcher over `metadata_context.filter_metadata` (decoded JSON). A value
 * that is absent (`undefined`) is protobuf's KIND_NOT_SET: only `invert` can make it match.
 */
interface ValueMatcher {
  match(value: unknown): boolean;
  readonly label: string;
}

const VALUE_KINDS = ['null_match', 'double_match', 'string_match', 'bool_match', 'present_match', 'list_match', 'or_match'] as const;
type ValueKind = (typeof VALUE_KINDS)[number];

const NEVER: ValueMatcher = { match: () => false, label: 'invalid' };

function readNumber(obj: RawObject, key: string, path: string, issues: Issues): number | undefined {
  const v = obj[key];
  if (typeof v !== 'number' || !Number.isFinite(v)) {
    issues.add(keyPath(path, key), `expected a number, got ${describe(v)}`);
    return undefined;
  }
  return v;
}

function compileDoubleMatcher(value: unknown, path: string, issues: Issues): ValueMatcher {
  const obj = readObject(value, path, issues, ['range', 'exact']);
  if (!obj || 'range' in obj === 'exact' in obj) {
    if (obj) issues.add(path, 'expected exactly one of range, exact');
    else if (value === undefined || value === null) issues.add(path, 'expected a DoubleMatcher such as { exact: 1 }');
    return NEVER;
  }
  if ('exact' in obj) {
    const exact = readNumber(obj, 'exact', path, issues);
    return exact === undefined ? NEVER : { match: (v) => v === exact, label: `number ${exact}` };
  }
  const rangePath = keyPath(path, 'range');
  const range = readObject(obj.range, rangePath, issues, ['start', 'end']);
  if (!range) return NEVER;
  const start = readNumber(range, 'start', rangePath, issues);
  const end = readNumber(range, 'end', rangePath, issues);
  if (start === undefined || end === undefined) return NEVER;
  if (start >= end) {
    issues.add(rangePath, `start ${start} must be below end ${end} (end is exclusive); this range can never match`);
    return NEVER;
  }
  return { match: (v) => typeof v === 'number' && v >= start && v < end, label: `number in [${start}, ${end})` };
}

function compileValueMatcher(value: unknown, path: string, issues: Issues): ValueMatcher {
  const obj = readObject(value, path, issues, VALUE_KINDS);
  const kinds = obj ? VALUE_KINDS.filter((k) => k in obj) : [];
  if (!obj || kinds.length !== 1) {
    if (obj || value === undefined || value === null) {
      issues.add(path, `expected a ValueMatcher with exactly one of: ${VALUE_KINDS.join(', ')}`);
    }
    return NEVER;
  }
  const kind: ValueKind = kinds[0];
  const raw = obj[kind];
  const at = keyPath(path, kind);
  switch (kind) {
    case 'null_match':
      readObject(raw ?? {}, at, issues, []);
      return { match: (v) => v === null, label: 'null' };
    case 'double_match':
      return compileDoubleMatcher(raw, at, issues);
    case 'string_match': {
      const s = compileStringMatcher(raw, at, issues);
      return { match: (v) => typeof v === 'string' && s.match(v), label: `string ${s.label}` };
    }
    case 'bool_match': {
      if (typeof raw !== 'boolean') {
        issues.add(at, `expected true or false, got ${describe(raw)}`);
        return NEVER;
      }
      return { match: (v) => v === raw, label: `bool ${raw}` };
    }
    case 'present_match': {
      if (typeof raw !== 'boolean') {
        issues.add(at, `expected true or false, got ${describe(raw)}`);
        return NEVER;
      }
      return { match: (v) => raw && v !== undefined, label: `present ${raw}` };
    }
    case 'list_match': {
      const list = readObject(raw, at, issues, ['one_of']);
      if (!list || list.one_of === undefined) {
        if (list || raw === undefined || raw === null) issues.add(keyPath(at, 'one_of'), 'required: a ValueMatcher for the list items');
        return NEVER;
      }
      const item = compileValueMatcher(list.one_of, keyPath(at, 'one_of'), issues);
      return { match: (v) => Array.isArray(v) && v.some((x) => item.match(x)), label: `list with one of ${item.label}` };
    }
    case 'or_match': {
      const or = readObject(raw, at, issues, ['value_matchers']);
      const itemsPath = keyPath(at, 'value_matchers');
      const items = readList(or?.value_matchers, itemsPath, issues) ?? [];
      if (items.length < 2) {
        issues.add(itemsPath, 'expected a list of at least two ValueMatchers');
        return NEVER;
      }
      const matchers = items.map((m, i) => compileValueMatcher(m, keyPath(itemsPath, i), issues));
      return { match: (v) => matchers.some((m) => m.match(v)), label: matchers.map((m) => m.label).join(' or ') };
    }
    default: {
      const unreachable: never = kind;
      return unreachable;
    }
  }
}

function lookup(metadata: Readonly<Record<string, unknown>>, filter: string, keys: readonly string[]): unknown {
  let node: unknown = Object.prototype.hasOwnProperty.call(metadata, filter) ? metadata[filter] : undefined;
  for (const key of keys) {
    if (!isObject(node) || !Object.prototype.hasOwnProperty.call(node, key)) return undefined;
    node = node[key];
  }
  return node;
}

class MetadataMatcher implements TracedMatcher {
  constructor(
    readonly path: string,
    readonly label: string,
    private readonly filter: string,
    private readonly keys: readonly string[],
    private readonly value: ValueMatcher,
    private readonly invert: boolean,
  ) {}

  matches(input: CheckInput): boolean {
    return this.value.match(lookup(input.metadata, this.filter, this.keys)) !== this.invert;
  }

  trace(input: CheckInput, out: TracedMatcher[]): boolean {
    out.push(this);
    return this.matches(input);
  }
}

/** `metadata: { filter, path: [{ key }], value: ValueMatcher, invert }`. */
export function compileMetadataMatcher(value: unknown, path: string, issues: Issues): TracedMatcher {
  const obj = readObject(value, path, issues, ['filter', 'path', 'value', 'invert']) ?? {};
  const filter = obj.filter;
  if (typeof filter !== 'string' || filter.length === 0) {
    issues.add(keyPath(path, 'filter'), `required: the metadata namespace such as "envoy.filters.http.jwt_authn", got ${describe(filter)}`);
  }
  const segPath = keyPath(path, 'path');
  const segments = readList(obj.path, segPath, issues) ?? [];
  if (segments.length === 0) issues.add(segPath, 'expected at least one path segment such as [{ key: "user" }]');
  const keys = segments.map((seg, i) => {
    const at = keyPath(segPath, i);
    const s = readObject(seg, at, issues, ['key']);
    if (typeof s?.key !== 'string' || s.key.length === 0) {
      issues.add(keyPath(at, 'key'), `expected a non-empty key, got ${describe(s?.key)}`);
      return '';
    }
    return s.key;
  });
  const matcher = compileValueMatcher(obj.value, keyPath(path, 'value'), issues);
  const invertRaw = obj.invert;
  if (invertRaw !== undefined && typeof invertRaw !== 'boolean') {
    issues.add(keyPath(path, 'invert'), `expected true or false, got ${describe(invertRaw)}`);
  }
  const invert = invertRaw === true;
  const label = `metadata ${String(filter)}.${keys.join('.')} ${matcher.label}${invert ? ' (inverted)' : ''}`;
  return new MetadataMatcher(path, label, String(filter), keys, matcher, invert);
}
