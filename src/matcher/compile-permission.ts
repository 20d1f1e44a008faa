import { describe, didYouMean, isObject, keyPath, readList, readObject, type Issues } from '../config';
import { parseCidr } from './cidr';
import { compileHeaderMatcher } from './header-matcher';
import { getPathOnly, IpRangeMatcher, PortRangeMatcher, StringFieldMatcher } from './leaves';
import { AndMatcher, ConstMatcher, NotMatcher, OrMatcher } from './logical';
import { compileMetadataMatcher } from './metadata-matcher';
import { compileStringMatcher } from './string-matcher';
import type { CheckInput, TracedMatcher } from './types';

/** The Permission oneof (envoy/config/rbac/v3/rbac.proto) that this project evaluates. */
const SUPPORTED = [
  'and_rules',
  'or_rules',
  'any',
  'header',
  'url_path',
  'destination_ip',
  'destination_port',
  'destination_port_range',
  'metadata',
  'not_rule',
  'requested_server_name',
] as const;
type PermissionKind = (typeof SUPPORTED)[number];

/** Rule kinds Envoy knows that need data a CheckRequest does not carry or extensions we do not run. */
const UNSUPPORTED: Readonly<Record<string, string>> = {
  matcher: 'extension matchers (typed_config) cannot be evaluated outside Envoy',
  uri_template: 'URI template matching is not supported; use url_path with safe_regex',
  sourced_metadata: 'sourced_metadata is not supported; use metadata (dynamic metadata from metadata_context)',
};

const invalid = (path: string): TracedMatcher => new ConstMatcher(path, 'invalid', false);

const getSni = (input: CheckInput): string => input.sni;

function compileSet(value: unknown, path: string, issues: Issues, kind: 'and_rules' | 'or_rules'): TracedMatcher[] {
  const set = readObject(value, path, issues, ['rules']);
  const rulesPath = keyPath(path, 'rules');
  const rules = readList(set?.rules, rulesPath, issues);
  if (!rules || rules.length === 0) {
    // Envoy requires at least one rule: an empty AND would match everything, an empty OR nothing.
    issues.add(rulesPath, `${kind} needs a non-empty rules list, e.g. ${kind}: { rules: [ { any: true } ] }`);
    return [];
  }
  return rules.map((r, i) => compilePermission(r, keyPath(rulesPath, i), issues));
}

function compileUrlPath(value: unknown, path: string, issues: Issues): TracedMatcher {
  // PathMatcher is a oneof with one member today: `path`.
  const obj = readObject(value, path, issues, ['path']);
  if (!obj || obj.path === undefined) {
    issues.add(keyPath(path, 'path'), 'required: a StringMatcher on the path without query, e.g. { prefix: /api/ }');
    return invalid(path);
  }
  const m = compileStringMatcher(obj.path, keyPath(path, 'path'), issues);
  return new StringFieldMatcher(path, `url_path ${m.label}`, getPathOnly, m);
}

function compileCidr(value: unknown, path: string, issues: Issues): TracedMatcher {
  const obj = readObject(value, path, issues, ['address_prefix', 'prefix_len']);
  if (!obj) {
    issues.add(path, 'expected a CidrRange such as { address_prefix: 10.0.0.0, prefix_len: 8 }');
    return invalid(path);
  }
  const address = obj.address_prefix;
  if (typeof address !== 'string') {
    issues.add(keyPath(path, 'address_prefix'), `required: an IPv4 or IPv6 address, got ${describe(address)}`);
    return invalid(path);
  }
  // A UInt32Value wrapper: absent means 0, as in Envoy (every address of that IP version).
  const len = obj.prefix_len ?? 0;
  const range = parseCidr(address, typeof len === 'number' ? len : NaN);
  if (typeof range === 'string') {
    issues.add(keyPath(path, typeof len === 'number' && range.startsWith('prefix_len') ? 'prefix_len' : 'address_prefix'), range);
    return invalid(path);
  }
  return new IpRangeMatcher(path, `destination_ip ${address}/${String(len)}`, range);
}

function compilePort(value: unknown, path: string, issues: Issues): TracedMatcher {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0 || value > 65535) {
    issues.add(path, `expected a port number from 0 to 65535, got ${describe(value)}`);
    return invalid(path);
  }
  return new PortRangeMatcher(path, `destination_port ${value}`, value, value + 1);
}

function compilePortRange(value: unknown, path: string, issues: Issues): TracedMatcher {
  const obj = readObject(value, path, issues, ['start', 'end']);
  if (!obj) {
    issues.add(path, 'expected an Int32Range such as { start: 8000, end: 9000 } (end exclusive)');
    return invalid(path);
  }
  const bound = (key: 'start' | 'end'): number | undefined => {
    const v = obj[key] ?? 0;
    if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > 65536) {
      issues.add(keyPath(path, key), `expected a whole number from 0 to 65536, got ${describe(v)}`);
      return undefined;
    }
    return v;
  };
  const start = bound('start');
  const end = bound('end');
  if (start === undefined || end === undefined) return invalid(path);
  if (start >= end) {
    issues.add(path, `start ${start} must be below end ${end} (end is exclusive), e.g. { start: 8000, end: 8001 } for port 8000`);
    return invalid(path);
  }
  return new PortRangeMatcher(path, `destination_port_range [${start}, ${end})`, start, end);
}

/**
 * Compiles one RBAC Permission into an immutable matcher tree: one exhaustive switch over
 * the oneof, every bound, regex and name prepared here and never per request. Combinators
 * carry the Permission's key path, leaves the path of their field (`...rules[1].url_path`),
 * so an explanation's trace points at the YAML line that decided.
 */
export function compilePermission(value: unknown, path: string, issues: Issues): TracedMatcher {
  if (!isObject(value)) {
    issues.add(path, `expected a Permission mapping with one of: ${SUPPORTED.join(', ')}; got ${describe(value)}`);
    return invalid(path);
  }
  const keys = Object.keys(value);
  let known = true;
  for (const key of keys) {
    // Own keys only: a YAML key such as `__proto__` must not find Object.prototype here.
    if (Object.hasOwn(UNSUPPORTED, key)) {
      issues.add(keyPath(path, key), UNSUPPORTED[key]);
      known = false;
    } else if (!(SUPPORTED as readonly string[]).includes(key)) {
      issues.add(keyPath(path, key), `unknown Permission rule; expected one of: ${SUPPORTED.join(', ')}${didYouMean(key, SUPPORTED)}`);
      known = false;
    }
  }
  if (!known) return invalid(path);
  if (keys.length !== 1) {
    issues.add(
      path,
      keys.length === 0
        ? `empty Permission; expected one of: ${SUPPORTED.join(', ')}`
        : `a Permission holds exactly one rule; got ${keys.join(' and ')}`,
    );
    return invalid(path);
  }
  const kind = keys[0] as PermissionKind;
  const raw = value[kind];
  const at = keyPath(path, kind);
  switch (kind) {
    case 'and_rules':
      return new AndMatcher(path, 'and_rules', compileSet(raw, at, issues, kind));
    case 'or_rules':
      return new OrMatcher(path, 'or_rules', compileSet(raw, at, issues, kind));
    case 'not_rule':
      return new NotMatcher(path, 'not_rule', compilePermission(raw, at, issues));
    case 'any':
      if (raw !== true) issues.add(at, `must be true when set (Envoy requires it), got ${describe(raw)}`);
      return new ConstMatcher(path, 'any', raw === true);
    case 'header':
      return compileHeaderMatcher(raw, at, issues);
    case 'url_path':
      return compileUrlPath(raw, at, issues);
    case 'destination_ip':
      return compileCidr(raw, at, issues);
    case 'destination_port':
      return compilePort(raw, at, issues);
    case 'destination_port_range':
      return compilePortRange(raw, at, issues);
    case 'metadata':
      return compileMetadataMatcher(raw, at, issues);
    case 'requested_server_name': {
      const m = compileStringMatcher(raw, at, issues);
      return new StringFieldMatcher(at, `requested_server_name ${m.label}`, getSni, m);
    }
    default: {
      const unreachable: never = kind;
      return unreachable;
    }
  }
}
