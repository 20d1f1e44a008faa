import { parseDuration } from './duration';
import type { Bound } from './defaults';
import { didYouMean } from './did-you-mean';
import { isHttpToken } from './http-token';
import { Issues, keyPath } from './issues';

/**
 * Small typed readers over untrusted YAML values. Each reports a problem with the key path
 * and what would be right, and returns the default (or undefined) so that one pass finds
 * every problem in a document.
 */
export type RawObject = Record<string, unknown>;

export function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'a mapping';
  if (typeof value === 'string') return JSON.stringify(value);
  return `${typeof value} ${String(value)}`;
}

export function isObject(value: unknown): value is RawObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** A mapping with only the allowed keys; an unknown key is an error, since a typo must not silently fall back to a default. */
export function readObject(value: unknown, path: string, issues: Issues, allowed: readonly string[]): RawObject | undefined {
  if (value === undefined || value === null) return undefined;
  if (!isObject(value)) {
    issues.add(path, `expected a mapping, got ${describe(value)}`);
    return undefined;
  }
  for (const key of Object.keys(value)) {
    if (!allowed.includes(key)) {
      issues.add(keyPath(path, key), `unknown key; expected one of: ${allowed.join(', ')}${didYouMean(key, allowed)}`);
    }
  }
  return value;
}

export function readList(value: unknown, path: string, issues: Issues): unknown[] | undefined {
  if (value === undefined || value === null) return undefined;
  if (!Array.isArray(value)) {
    issues.add(path, `expected a list, got ${describe(value)}`);
    return undefined;
  }
  return value;
}

export function readString(obj: RawObject | undefined, key: string, path: string, issues: Issues): string | undefined;
export function readString(obj: RawObject | undefined, key: string, path: string, issues: Issues, def: string): string;
export function readString(obj: RawObject | undefined, key: string, path: string, issues: Issues, def?: string): string | undefined {
  const v = obj?.[key];
  if (v === undefined || v === null) return def;
  if (typeof v !== 'string') {
    issues.add(keyPath(path, key), `expected a string, got ${describe(v)}`);
    return def;
  }
  return v;
}

export function readBool(obj: RawObject | undefined, key: string, path: string, issues: Issues, def: boolean): boolean {
  const v = obj?.[key];
  if (v === undefined || v === null) return def;
  if (typeof v !== 'boolean') {
    issues.add(keyPath(path, key), `expected true or false, got ${describe(v)}`);
    return def;
  }
  return v;
}

export function readInt(obj: RawObject | undefined, key: string, path: string, issues: Issues, def: number, { min, max }: Bound): number {
  const v = obj?.[key];
  if (v === undefined || v === null) return def;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) {
    issues.add(keyPath(path, key), `expected a whole number from ${min} to ${max}, got ${describe(v)}`);
    return def;
  }
  return v;
}

/** A duration such as "250ms" or "10s", returned in milliseconds. */
export function readDuration(
  obj: RawObject | undefined,
  key: string,
  path: string,
  issues: Issues,
  defMs: number,
  { min: minMs, max: maxMs }: Bound,
): number {
  const v = obj?.[key];
  if (v === undefined || v === null) return defMs;
  const ms = typeof v === 'string' ? parseDuration(v) : undefined;
  if (ms === undefined || ms < minMs || ms > maxMs) {
    issues.add(keyPath(path, key), `expected a duration like "250ms" or "10s" between ${minMs}ms and ${maxMs / 1000}s, got ${describe(v)}`);
    return defMs;
  }
  return ms;
}

export function readEnum<T extends string>(
  obj: RawObject | undefined,
  key: string,
  path: string,
  issues: Issues,
  allowed: readonly T[],
  def: T,
): T {
  const v = obj?.[key];
  if (v === undefined || v === null) return def;
  if (typeof v !== 'string' || !(allowed as readonly string[]).includes(v)) {
    issues.add(keyPath(path, key), `expected one of ${allowed.join(', ')}, got ${describe(v)}`);
    return def;
  }
  return v as T;
}

/** A list of HTTP header names, lowercased once here so the hot path never lowercases config. */
export function readHeaderNames(obj: RawObject | undefined, key: string, path: string, issues: Issues, def: readonly string[]): string[] {
  const v = obj?.[key];
  if (v === undefined || v === null) return [...def];
  const items = typeof v === 'string' ? [v] : v;
  const p = keyPath(path, key);
  if (!Array.isArray(items)) {
    issues.add(p, `expected a header name or a list of header names, got ${describe(v)}`);
    return [...def];
  }
  const out: string[] = [];
  items.forEach((item, i) => {
    if (typeof item !== 'string' || !isHttpToken(item)) {
      issues.add(keyPath(p, i), `expected an HTTP header name (letters, digits, "-"), got ${describe(item)}`);
      return;
    }
    const lower = item.toLowerCase();
    if (!out.includes(lower)) out.push(lower);
  });
  return out;
}
