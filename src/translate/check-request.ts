import { isUtf8 } from 'node:buffer';
import { hostProblem } from './host-problem';
import { normalizePath, type NormalizedPath } from './normalize-path';
import type { CheckInput } from '../matcher';

/**
 * The parts of envoy.service.auth.v3.CheckRequest this adapter reads, with proto field names.
 * Absent fields may be undefined, null (messages, as protobufjs decodes them) or their proto3
 * default; every read here treats those alike.
 */
export interface CheckRequestMessage {
  attributes?: {
    request?: { http?: HttpRequestMessage };
    destination?: { address?: { socket_address?: { address?: string; port_value?: number } } };
    context_extensions?: Record<string, string>;
    metadata_context?: { filter_metadata?: Record<string, StructMessage> };
    tls_session?: { sni?: string };
  };
}

export interface HttpRequestMessage {
  id?: string;
  method?: string;
  headers?: Record<string, string>;
  header_map?: { headers?: Array<{ key?: string; value?: string; raw_value?: Buffer }> };
  path?: string;
  host?: string;
  scheme?: string;
  body?: string;
  raw_body?: Buffer;
}

export interface StructMessage {
  fields?: Record<string, ValueMessage>;
}
/**
 * google.protobuf.Value as protobufjs decodes it. protobufjs defines the well-known types itself,
 * with camelCase field names whatever `keepCase` says, so a Value reads `stringValue`, never
 * `string_value`.
 */
interface ValueMessage {
  kind?: string;
  nullValue?: unknown;
  numberValue?: number;
  stringValue?: string;
  boolValue?: boolean;
  structValue?: StructMessage;
  listValue?: { values?: ValueMessage[] };
}

/** One check's request, read once: what the matcher sees plus what the auth request needs. */
export interface CheckView {
  readonly input: CheckInput;
  /** The path exactly as Envoy sent it, query included. */
  readonly rawPath: string;
  readonly requestId: string;
  readonly ruleName: string | undefined;
  readonly body: Buffer | undefined;
  /**
   * Header values whose bytes (from `header_map` raw values) are not UTF-8, as latin1 strings
   * holding those exact bytes: `input.headers` has them decoded as latin1 too, and the auth
   * request must carry the bytes, not a UTF-8 re-encoding. Undefined when there are none.
   */
  readonly opaqueHeaders: ReadonlyMap<string, string> | undefined;
}

export type InvalidCheckRequest = { readonly invalid: string };

const EMPTY_METADATA: Readonly<Record<string, unknown>> = Object.freeze({});

/** Turns a decoded CheckRequest into a CheckView; a request without `attributes.request.http` is invalid. */
export function readCheckRequest(msg: CheckRequestMessage): CheckView | InvalidCheckRequest {
  const attrs = msg.attributes;
  const http = attrs?.request?.http;
  if (!attrs || !http) return { invalid: 'CheckRequest has no attributes.request.http' };

  const { headers, opaque } = readHeaders(http);
  const rawPath = http.path || headers.get(':path') || '';
  const host = http.host || headers.get(':authority') || headers.get('host') || '';
  const method = http.method || headers.get(':method') || '';
  const scheme = http.scheme || headers.get(':scheme') || '';
  for (const name of headers.keys()) {
    if (name.charCodeAt(0) === 0x3a) headers.delete(name);
  }

  const normalized = normalizePath(rawPath);
  const badHost = hostProblem(host);
  const query = normalized.query ? `?${normalized.query}` : '';
  const socket = attrs.destination?.address?.socket_address;
  const filterMetadata = attrs.metadata_context?.filter_metadata;

  const input: Mutable<CheckInput> = {
    method,
    host,
    path: normalized.path + query,
    pathOnly: normalized.path,
    pathSafe: normalized.safe,
    hostSafe: badHost === undefined,
    unsafeReason: unsafeReason(normalized, badHost),
    scheme,
    headers,
    destinationIp: socket?.address ?? '',
    destinationPort: socket?.port_value ?? 0,
    sni: attrs.tls_session?.sni ?? '',
    metadata: filterMetadata ? structMapToJson(filterMetadata) : EMPTY_METADATA,
    literal: undefined,
  };
  input.literal = literalReading(input, normalized, rawPath);
  return {
    input,
    rawPath,
    requestId: headers.get('x-request-id') ?? http.id ?? '',
    ruleName: attrs.context_extensions?.rule,
    body: readBody(http),
    opaqueHeaders: opaque,
  };
}

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

/**
 * CheckInput.literal: the request with its path as sent, when that differs from the normalized
 * path of a safe request. Query and fragment are cut as the normalized reading cuts them.
 */
export function literalReading(input: CheckInput, normalized: NormalizedPath, rawPath: string): CheckInput | undefined {
  if (!normalized.safe) return undefined;
  const end = normalized.path.length;
  const next = rawPath.charCodeAt(end);
  // The common case: the raw path is its own normal form (next is NaN at the end, "?" or "#").
  if ((next !== next || next === 0x3f || next === 0x23) && rawPath.startsWith(normalized.path)) return undefined;
  const hashAt = rawPath.indexOf('#');
  const noFragment = hashAt === -1 ? rawPath : rawPath.slice(0, hashAt);
  const queryAt = noFragment.indexOf('?');
  const pathOnly = queryAt === -1 ? noFragment : noFragment.slice(0, queryAt);
  const query = normalized.query ? `?${normalized.query}` : '';
  return { ...input, path: pathOnly + query, pathOnly, literal: undefined };
}

/** CheckInput.unsafeReason: why the path or the host needs authentication under every rule, "" when neither. */
export function unsafeReason(path: NormalizedPath, badHost: string | undefined): string {
  if (!path.safe) return `path could not be normalized safely: ${path.unsafeReason ?? 'unknown'}`;
  return badHost === undefined ? '' : `host is not a plain host: ${badHost}`;
}

/**
 * Envoy sends either `headers` (already lowercased, repeats joined with ",") or, in
 * `encode_raw_headers` mode, `header_map` with one entry per occurrence and bytes in
 * `raw_value`. Both end up as the same map of text decoded from UTF-8; raw bytes that are
 * not UTF-8 are kept exactly in `opaque` (see CheckView.opaqueHeaders).
 */
function readHeaders(http: HttpRequestMessage): { headers: Map<string, string>; opaque: Map<string, string> | undefined } {
  const out = new Map<string, string>();
  let opaque: Map<string, string> | undefined;
  const list = http.header_map?.headers;
  if (list && list.length > 0) {
    for (const h of list) {
      if (!h.key) continue;
      const name = h.key.toLowerCase();
      const raw = h.raw_value && h.raw_value.length > 0 ? h.raw_value : undefined;
      const utf8 = raw === undefined || isUtf8(raw);
      const value = raw === undefined ? (h.value ?? '') : raw.toString(utf8 ? 'utf8' : 'latin1');
      const prev = out.get(name);
      out.set(name, prev === undefined ? value : `${prev},${value}`);
      const prevBytes = opaque?.get(name);
      if (!utf8 || prevBytes !== undefined) {
        const bytes = raw ? raw.toString('latin1') : utf8Bytes(value);
        const before = prevBytes ?? (prev === undefined ? undefined : utf8Bytes(prev));
        opaque ??= new Map();
        opaque.set(name, before === undefined ? bytes : `${before},${bytes}`);
      }
    }
    return { headers: out, opaque };
  }
  const map = http.headers;
  if (map) {
    for (const key in map) out.set(key.toLowerCase(), map[key]);
  }
  return { headers: out, opaque };
}

/** The UTF-8 bytes of `text` as a latin1 string, one character per byte. */
export function utf8Bytes(text: string): string {
  return ASCII.test(text) ? text : Buffer.from(text, 'utf8').toString('latin1');
}
const ASCII = /^[\x00-\x7f]*$/;

function readBody(http: HttpRequestMessage): Buffer | undefined {
  if (http.raw_body && http.raw_body.length > 0) return http.raw_body;
  if (http.body) return Buffer.from(http.body, 'utf8');
  return undefined;
}

function structMapToJson(map: Record<string, StructMessage>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const key in map) out[key] = structToJson(map[key]);
  return out;
}

function structToJson(s: StructMessage): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const fields = s.fields ?? {};
  for (const key in fields) out[key] = valueToJson(fields[key]);
  return out;
}

function valueToJson(v: ValueMessage): unknown {
  switch (v.kind) {
    case 'numberValue':
      return v.numberValue;
    case 'stringValue':
      return v.stringValue;
    case 'boolValue':
      return v.boolValue;
    case 'structValue':
      return structToJson(v.structValue ?? {});
    case 'listValue':
      return (v.listValue?.values ?? []).map(valueToJson);
    default:
      return null;
  }
}
