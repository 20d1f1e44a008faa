import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import * as protobuf from 'protobufjs';

/**
 * Test-only: checks a YAML-decoded Envoy config against Envoy's own .proto files, the way
 * Envoy's YAML loader reads it (YAML -> JSON -> proto3 JSON mapping). It catches what Envoy
 * would refuse at startup without running Envoy: unknown fields, wrong value kinds, unknown
 * enum names, unknown `@type`s, two members of one oneof, missing fields that protoc-gen-validate
 * marks required, and deprecated fields (Envoy warns on those; a config meant to be copied
 * should not teach them).
 */

export interface ProtoIssue {
  readonly path: string;
  readonly message: string;
}

const DEPS = path.resolve(__dirname, '../../node_modules/@grpc/grpc-js-xds/deps');
const INCLUDE_DIRS = [
  // protobufjs ships google/protobuf/descriptor.proto, which the validate and udpa annotations import.
  path.dirname(require.resolve('protobufjs/package.json')),
  ...['envoy-api', 'googleapis', 'protoc-gen-validate', 'xds'].map((d) => path.join(DEPS, d)),
];
const TYPE_URL_PREFIX = 'type.googleapis.com/';
const MAX_DEPTH = 64;

type Json = unknown;
type Check = (value: Json, at: string, out: ProtoIssue[]) => void;

const DURATION = /^-?\d+(\.\d{1,9})?s$/;
const TIMESTAMP = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})$/;
const INTEGER_STRING = /^-?\d+$/;
const BASE64 = /^[A-Za-z0-9+/_-]*={0,2}$/;

function isObject(v: Json): v is Record<string, Json> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function describe(v: Json): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'a list';
  if (isObject(v)) return 'a mapping';
  return `${typeof v} ${JSON.stringify(v)}`;
}

function expectKind(ok: boolean, expected: string): Check {
  return (v, at, out) => {
    if (!ok) out.push({ path: at, message: `expected ${expected}, got ${describe(v)}` });
  };
}

function isInteger(v: Json, unsigned: boolean, allowString: boolean): boolean {
  if (typeof v === 'number') return Number.isInteger(v) && (!unsigned || v >= 0);
  if (allowString && typeof v === 'string') return INTEGER_STRING.test(v) && (!unsigned || !v.startsWith('-'));
  return false;
}

function scalarCheck(type: string): Check | undefined {
  switch (type) {
    case 'string':
      return (v, at, out) => expectKind(typeof v === 'string', 'a string')(v, at, out);
    case 'bool':
      return (v, at, out) => expectKind(typeof v === 'boolean', 'true or false')(v, at, out);
    case 'bytes':
      return (v, at, out) => expectKind(typeof v === 'string' && BASE64.test(v), 'base64 text')(v, at, out);
    case 'double':
    case 'float':
      return (v, at, out) =>
        expectKind(typeof v === 'number' || v === 'NaN' || v === 'Infinity' || v === '-Infinity', 'a number')(v, at, out);
    case 'int32':
    case 'sint32':
    case 'sfixed32':
      return (v, at, out) => expectKind(isInteger(v, false, true), 'a whole number')(v, at, out);
    case 'uint32':
    case 'fixed32':
      return (v, at, out) => expectKind(isInteger(v, true, true), 'a whole number >= 0')(v, at, out);
    case 'int64':
    case 'sint64':
    case 'sfixed64':
      return (v, at, out) => expectKind(isInteger(v, false, true), 'a whole number')(v, at, out);
    case 'uint64':
    case 'fixed64':
      return (v, at, out) => expectKind(isInteger(v, true, true), 'a whole number >= 0')(v, at, out);
    default:
      return undefined;
  }
}

/** Well-known types whose JSON form is not an object of their fields. */
const WELL_KNOWN: Record<string, Check> = {
  'google.protobuf.Duration': (v, at, out) =>
    expectKind(typeof v === 'string' && DURATION.test(v), 'a duration such as "0.25s"')(v, at, out),
  'google.protobuf.Timestamp': (v, at, out) => expectKind(typeof v === 'string' && TIMESTAMP.test(v), 'an RFC 3339 timestamp')(v, at, out),
  'google.protobuf.FieldMask': (v, at, out) => expectKind(typeof v === 'string', 'a comma-separated field mask')(v, at, out),
  'google.protobuf.Struct': (v, at, out) => expectKind(isObject(v), 'a mapping')(v, at, out),
  'google.protobuf.ListValue': (v, at, out) => expectKind(Array.isArray(v), 'a list')(v, at, out),
  'google.protobuf.Value': () => undefined,
  'google.protobuf.DoubleValue': scalarCheck('double')!,
  'google.protobuf.FloatValue': scalarCheck('float')!,
  'google.protobuf.Int64Value': scalarCheck('int64')!,
  'google.protobuf.UInt64Value': scalarCheck('uint64')!,
  'google.protobuf.Int32Value': scalarCheck('int32')!,
  'google.protobuf.UInt32Value': scalarCheck('uint32')!,
  'google.protobuf.BoolValue': scalarCheck('bool')!,
  'google.protobuf.StringValue': scalarCheck('string')!,
  'google.protobuf.BytesValue': scalarCheck('bytes')!,
};

/** proto3 JSON names: `max_request_bytes` is also accepted as `maxRequestBytes`. */
function jsonName(protoName: string): string {
  return protoName.replace(/_([a-z0-9])/g, (_, c: string) => c.toUpperCase());
}

function hasValue(v: Json): boolean {
  return v !== undefined && v !== null;
}

/**
 * Whether every proto `file` imports, directly or through another import, is shipped. A few
 * Envoy packages hold a proto importing a third-party API grpc-js-xds does not carry (trace/v3's
 * OpenCensus config, and trace.proto, which re-exports it): those files are left out, so their
 * siblings (the OpenTelemetry tracer config) still load. The google/protobuf well-known types
 * come with protobufjs.
 */
function importsAvailable(file: string, seen = new Map<string, boolean>()): boolean {
  const known = seen.get(file);
  if (known !== undefined) return known;
  // An import cycle is not a missing file.
  seen.set(file, true);
  let ok = true;
  for (const m of readFileSync(file, 'utf8').matchAll(/^import\s+(?:public\s+|weak\s+)?"([^"]+)";/gm)) {
    if (m[1].startsWith('google/protobuf/')) continue;
    const dir = INCLUDE_DIRS.find((d) => existsSync(path.join(d, m[1])));
    if (dir === undefined || !importsAvailable(path.join(dir, m[1]), seen)) {
      ok = false;
      break;
    }
  }
  seen.set(file, ok);
  return ok;
}

export class EnvoyProtoValidator {
  private readonly root = new protobuf.Root();
  private readonly loadedDirs = new Set<string>();

  constructor(entryFiles: readonly string[] = ['envoy/config/bootstrap/v3/bootstrap.proto']) {
    this.root.resolvePath = (_origin, target) => {
      if (path.isAbsolute(target)) return target;
      for (const dir of INCLUDE_DIRS) {
        const candidate = path.join(dir, target);
        if (existsSync(candidate)) return candidate;
      }
      return target;
    };
    this.root.loadSync([...entryFiles], { keepCase: true });
    this.root.resolveAll();
  }

  /** Validates `value` as the message `typeName` (e.g. envoy.config.bootstrap.v3.Bootstrap). */
  validate(value: Json, typeName: string): ProtoIssue[] {
    const out: ProtoIssue[] = [];
    this.checkValueOfType(typeName, value, '', out, 0);
    return out;
  }

  /**
   * Finds a message type, loading the protos of its package directory on first use: Envoy
   * extension packages map one-to-one onto directories (envoy.extensions.filters.http.ext_authz.v3
   * -> envoy/extensions/filters/http/ext_authz/v3/), so any `@type` can be resolved without
   * loading the whole API up front.
   */
  private findType(fullName: string): protobuf.Type | undefined {
    const found = this.lookup(fullName);
    if (found) return found;
    const parts = fullName.split('.');
    // A nested message (pkg.Outer.Inner) lives in its package's directory too: try shorter prefixes.
    for (let end = parts.length - 1; end > 0; end--) {
      const rel = parts.slice(0, end).join('/');
      for (const dir of INCLUDE_DIRS) {
        const abs = path.join(dir, rel);
        if (this.loadedDirs.has(abs) || !existsSync(abs)) continue;
        this.loadedDirs.add(abs);
        const files = readdirSync(abs).filter((f) => f.endsWith('.proto') && importsAvailable(path.join(abs, f)));
        if (files.length === 0) continue;
        this.root.loadSync(
          files.map((f) => path.join(abs, f)),
          { keepCase: true },
        );
        this.root.resolveAll();
      }
      const again = this.lookup(fullName);
      if (again) return again;
    }
    return undefined;
  }

  private lookup(fullName: string): protobuf.Type | undefined {
    const found = this.root.lookup(fullName);
    return found instanceof protobuf.Type ? found : undefined;
  }

  private checkValueOfType(typeName: string, value: Json, at: string, out: ProtoIssue[], depth: number): void {
    const wellKnown = WELL_KNOWN[typeName];
    if (wellKnown) {
      wellKnown(value, at, out);
      return;
    }
    if (typeName === 'google.protobuf.Any') {
      this.checkAny(value, at, out, depth);
      return;
    }
    const type = this.findType(typeName);
    if (!type) {
      out.push({ path: at, message: `unknown message type ${typeName}` });
      return;
    }
    this.checkMessage(type, value, at, out, depth);
  }

  private checkAny(value: Json, at: string, out: ProtoIssue[], depth: number): void {
    if (!isObject(value)) {
      out.push({ path: at, message: `expected a mapping with "@type", got ${describe(value)}` });
      return;
    }
    const typeUrl = value['@type'];
    if (typeof typeUrl !== 'string' || !typeUrl.includes('/')) {
      out.push({ path: at, message: `expected "@type: ${TYPE_URL_PREFIX}<message>", got ${describe(typeUrl)}` });
      return;
    }
    const typeName = typeUrl.slice(typeUrl.lastIndexOf('/') + 1);
    const typeAt = `${at}["@type"]`;
    if (!typeUrl.startsWith(TYPE_URL_PREFIX)) {
      out.push({ path: typeAt, message: `expected the prefix ${TYPE_URL_PREFIX}, got ${JSON.stringify(typeUrl)}` });
    }
    const rest = Object.fromEntries(Object.entries(value).filter(([k]) => k !== '@type'));
    if (WELL_KNOWN[typeName]) {
      // proto3 JSON wraps a well-known type inside Any as { "@type": ..., "value": <its JSON> }.
      const extra = Object.keys(rest).filter((k) => k !== 'value');
      for (const k of extra) out.push({ path: `${at}.${k}`, message: `unknown field for ${typeName} in Any; only "value"` });
      WELL_KNOWN[typeName](rest.value, `${at}.value`, out);
      return;
    }
    const type = this.findType(typeName);
    if (!type) {
      out.push({ path: typeAt, message: `unknown @type ${JSON.stringify(typeUrl)}: no such message in Envoy's protos` });
      return;
    }
    this.checkMessage(type, rest, at, out, depth);
  }

  private checkMessage(type: protobuf.Type, value: Json, at: string, out: ProtoIssue[], depth: number): void {
    if (depth > MAX_DEPTH) {
      out.push({ path: at, message: `nesting deeper than ${MAX_DEPTH}` });
      return;
    }
    if (!isObject(value)) {
      out.push({ path: at, message: `expected a mapping for ${type.fullName.slice(1)}, got ${describe(value)}` });
      return;
    }
    const byName = new Map<string, protobuf.Field>();
    for (const field of type.fieldsArray) {
      byName.set(field.name, field);
      byName.set(jsonName(field.name), field);
    }
    const seen = new Map<string, string>();
    for (const [key, child] of Object.entries(value)) {
      const childAt = at ? `${at}.${key}` : key;
      const field = byName.get(key);
      if (!field) {
        out.push({ path: childAt, message: `unknown field "${key}" in ${type.fullName.slice(1)}` });
        continue;
      }
      const other = seen.get(field.name);
      if (other !== undefined) {
        out.push({ path: childAt, message: `"${key}" and "${other}" are the same field` });
        continue;
      }
      seen.set(field.name, key);
      if (field.options?.deprecated === true) {
        out.push({ path: childAt, message: `field "${key}" of ${type.fullName.slice(1)} is deprecated` });
      }
      if (hasValue(child)) this.checkField(field, child, childAt, out, depth);
    }
    this.checkOneofs(type, value, at, out);
    this.checkRequired(type, value, at, out);
  }

  private checkField(field: protobuf.Field, value: Json, at: string, out: ProtoIssue[], depth: number): void {
    if (field instanceof protobuf.MapField) {
      if (!isObject(value)) {
        out.push({ path: at, message: `expected a mapping, got ${describe(value)}` });
        return;
      }
      for (const [k, v] of Object.entries(value)) this.checkSingle(field, v, `${at}["${k}"]`, out, depth);
      return;
    }
    if (field.repeated) {
      if (!Array.isArray(value)) {
        out.push({ path: at, message: `expected a list, got ${describe(value)}` });
        return;
      }
      value.forEach((v, i) => this.checkSingle(field, v, `${at}[${i}]`, out, depth));
      return;
    }
    this.checkSingle(field, value, at, out, depth);
  }

  private checkSingle(field: protobuf.Field, value: Json, at: string, out: ProtoIssue[], depth: number): void {
    const scalar = scalarCheck(field.type);
    if (scalar) {
      scalar(value, at, out);
      return;
    }
    const resolved = field.resolve().resolvedType;
    if (resolved instanceof protobuf.Enum) {
      const ok = (typeof value === 'string' && value in resolved.values) || (typeof value === 'number' && Number.isInteger(value));
      if (!ok) {
        const names = Object.keys(resolved.values).join(', ');
        out.push({ path: at, message: `expected one of ${names}, got ${describe(value)}` });
      }
      return;
    }
    if (resolved instanceof protobuf.Type) {
      this.checkValueOfType(resolved.fullName.slice(1), value, at, out, depth + 1);
      return;
    }
    out.push({ path: at, message: `cannot resolve the type ${field.type} of field ${field.name}` });
  }

  private checkOneofs(type: protobuf.Type, value: Record<string, Json>, at: string, out: ProtoIssue[]): void {
    for (const oneof of type.oneofsArray) {
      const set = oneof.fieldsArray.filter((f) => hasValue(value[f.name]) || hasValue(value[jsonName(f.name)]));
      if (set.length > 1) {
        out.push({ path: at, message: `${set.map((f) => f.name).join(' and ')} are one oneof (${oneof.name}); set only one` });
      }
      if (set.length === 0 && oneof.options?.['(validate.required)'] === true) {
        const names = oneof.fieldsArray.map((f) => f.name).join(', ');
        out.push({ path: at, message: `${type.fullName.slice(1)} needs one of ${names}` });
      }
    }
  }

  /** The protoc-gen-validate rules that make a field required, which Envoy enforces on load. */
  private checkRequired(type: protobuf.Type, value: Record<string, Json>, at: string, out: ProtoIssue[]): void {
    for (const field of type.fieldsArray) {
      // A rule on a oneof member only applies when that member is the one set.
      if (field.partOf) continue;
      const opts = field.options ?? {};
      const present = hasValue(value[field.name]) || hasValue(value[jsonName(field.name)]);
      const required =
        opts['(validate.rules).message.required'] === true ||
        Number(opts['(validate.rules).string.min_len'] ?? 0) > 0 ||
        Number(opts['(validate.rules).string.min_bytes'] ?? 0) > 0 ||
        Number(opts['(validate.rules).repeated.min_items'] ?? 0) > 0;
      if (required && !present) {
        out.push({ path: at ? `${at}.${field.name}` : field.name, message: `required by ${type.fullName.slice(1)}` });
      }
    }
  }
}
