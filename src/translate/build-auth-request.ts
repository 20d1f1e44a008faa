import type { RuleSettings } from '../config';
import type { CheckView } from './check-request';
import { B3_PREFIX, HOP_BY_HOP, TRACE_HEADERS } from './hop-by-hop';
import type { AuthRequest } from './types';

export type AuthRequestResult =
  | { readonly ok: true; readonly request: AuthRequest }
  /** The client's request cannot be forwarded faithfully: deny it rather than send something else. */
  | { readonly ok: false; readonly invalid: string }
  /** Within a configured bound (`request.maxHeaderBytes`); treated as "auth service unavailable". */
  | { readonly ok: false; readonly tooLarge: string };

const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
// Visible ASCII only: no space, no control character, nothing a parser could split on.
const PATH_CHARS = /^[\x21-\x7e]*$/;
// Field values may hold tab, space and obs-text, never CR, LF or NUL (RFC 9110 §5.5).
const BAD_VALUE = /[\0-\x08\x0a-\x1f\x7f]/;

/**
 * Builds the HTTP request to the auth service the way the seed describes it: original method,
 * `service.path` + original path and query, Host, Content-Length, the token header(s), the
 * allowed headers and trace context, and the body only when enabled.
 */
export function buildAuthRequest(rule: RuleSettings, view: CheckView): AuthRequestResult {
  const { input } = view;
  if (!TOKEN.test(input.method)) return { ok: false, invalid: 'method is not an HTTP token' };

  const original = input.pathSafe ? input.path : view.rawPath;
  if (!PATH_CHARS.test(original)) return { ok: false, invalid: 'path holds a space or control character' };
  const path = rule.service.path + (original.charCodeAt(0) === 0x2f ? original : `/${original}`);

  const body = rule.request.body.enabled && view.body ? cut(view.body, rule.request.body.maxBytes) : undefined;
  const headers: Record<string, string> = {
    host: input.host,
    'content-length': String(body ? body.length : 0),
  };
  let size = input.host.length;
  const src = input.headers;
  const copy = (name: string): string | undefined => {
    const value = src.get(name);
    if (value === undefined || HOP_BY_HOP.has(name) || name === 'host' || name === 'content-length') return undefined;
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
  if (BAD_VALUE.test(input.host)) return { ok: false, invalid: 'host holds a control character' };
  if (size > rule.request.maxHeaderBytes) {
    return { ok: false, tooLarge: `forwarded headers are ${size} bytes, over request.maxHeaderBytes ${rule.request.maxHeaderBytes}` };
  }
  return { ok: true, request: { method: input.method, path, headers, body } };
}

function cut(body: Buffer, maxBytes: number): Buffer | undefined {
  if (maxBytes === 0 || body.length === 0) return undefined;
  return body.length > maxBytes ? body.subarray(0, maxBytes) : body;
}
