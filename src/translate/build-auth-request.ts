import { isConnectionHeader, isHttpToken, type RuleSettings } from '../config';
import type { HeaderNameFilter } from '../matcher';
import { utf8Bytes, type CheckView } from './check-request';
import { HOP_BY_HOP } from './hop-by-hop';
import { B3_PREFIX, TRACE_HEADERS } from './trace-headers';
import type { AuthRequest } from './types';

export type AuthRequestResult =
  | { readonly ok: true; readonly request: AuthRequest }
  /** The client's request cannot be forwarded faithfully: deny it rather than send something else. */
  | { readonly ok: false; readonly invalid: string }
  /**
   * Over `request.maxHeaderBytes`. Only the client controls these bytes, so this is a denial
   * (431), never "unavailable": in loose mode that would let a padded token skip authentication.
   */
  | { readonly ok: false; readonly tooLarge: string };

// Visible ASCII only: no space, no control character, nothing a parser could split on.
const PATH_CHARS = /^[\x21-\x7e]*$/;
// Field values may hold tab, space and obs-text, never CR, LF or NUL (RFC 9110 §5.5).
const BAD_VALUE = /[\0-\x08\x0a-\x1f\x7f]/;

/**
 * Builds the HTTP request to the auth service the way the gateway documentation describes it: original method,
 * `service.path` + original path and query, Host, Content-Length, the token header(s), the
 * allowed headers (by name, or by `headerMatchers` on the name), trace context and the rule's
 * static headers, and the body only when enabled. Header values travel as
 * the bytes Envoy saw (UTF-8 text re-encoded, `header_map` raw bytes as they were); anything
 * an HTTP/1.1 message cannot carry unchanged makes the request invalid, never different.
 */
export function buildAuthRequest(rule: RuleSettings, view: CheckView, headerMatchers?: HeaderNameFilter): AuthRequestResult {
  const { input } = view;
  if (!isHttpToken(input.method)) return { ok: false, invalid: 'method is not an HTTP token' };

  const original = input.pathSafe ? input.path : view.rawPath;
  if (original.charCodeAt(0) !== 0x2f) return { ok: false, invalid: 'path is empty or does not start with "/"' };
  if (!PATH_CHARS.test(original)) return { ok: false, invalid: 'path holds a space, a control or a non-ASCII character' };
  const path = rule.service.path + original;

  const host = utf8Bytes(input.host);
  if (BAD_VALUE.test(host)) return { ok: false, invalid: 'host holds a control character' };
  const body = rule.request.body.enabled && view.body ? cut(view.body, rule.request.body.maxBytes) : undefined;
  const headers: Record<string, string> = {
    host,
    'content-length': body ? String(body.length) : '0',
  };
  // The request line and every header line count: it is all one head the auth service must accept.
  let size = path.length + host.length;
  const src = input.headers;
  const opaque = view.opaqueHeaders;
  const copy = (name: string): string | undefined => {
    const text = src.get(name);
    // A name already copied (listed twice, or matched and also a trace header) counts once.
    if (text === undefined || HOP_BY_HOP.has(name) || headers[name] !== undefined) return undefined;
    if (!isHttpToken(name)) return 'a header name is not an HTTP token';
    const value = opaque?.get(name) ?? utf8Bytes(text);
    if (BAD_VALUE.test(value)) return `header ${name} holds a control character`;
    headers[name] = value;
    size += name.length + value.length;
    return undefined;
  };

  for (const name of rule.request.tokenHeaders) {
    const bad = copy(name);
    if (bad) return { ok: false, invalid: bad };
  }
  for (const name of rule.request.allowedHeaders) {
    const bad = copy(name);
    if (bad) return { ok: false, invalid: bad };
  }
  if (headerMatchers && !headerMatchers.empty) {
    for (const name of src.keys()) {
      if (isConnectionHeader(name) || !headerMatchers.matches(name)) continue;
      const bad = copy(name);
      if (bad) return { ok: false, invalid: bad };
    }
  }
  for (const name of TRACE_HEADERS) {
    const bad = copy(name);
    if (bad) return { ok: false, invalid: bad };
  }
  for (const name of src.keys()) {
    if (name.startsWith(B3_PREFIX)) {
      const bad = copy(name);
      if (bad) return { ok: false, invalid: bad };
    }
  }
  // Last, so a static header replaces a client's header of the same name, and counts once.
  for (const header of rule.request.headersToAdd) {
    const previous = headers[header.name];
    if (previous !== undefined) size -= header.name.length + previous.length;
    headers[header.name] = header.value;
    size += header.name.length + header.value.length;
  }
  if (size > rule.request.maxHeaderBytes) {
    return {
      ok: false,
      tooLarge: `request line and forwarded headers are ${size} bytes, over request.maxHeaderBytes ${rule.request.maxHeaderBytes}`,
    };
  }
  return { ok: true, request: { method: input.method, path, headers, body } };
}

function cut(body: Buffer, maxBytes: number): Buffer | undefined {
  if (maxBytes === 0 || body.length === 0) return undefined;
  return body.length > maxBytes ? body.subarray(0, maxBytes) : body;
}
