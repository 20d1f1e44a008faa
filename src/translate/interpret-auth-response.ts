import { isUtf8 } from 'node:buffer';
import type { ResponseSettings } from '../config';
import { allowExtras, readMetadata } from './auth-response-headers';
import { HOP_BY_HOP } from './hop-by-hop';
import { REQUEST_STATUSES } from './request-statuses';
import type { AuthOutcome, AuthResponse, HeaderList } from './types';

/**
 * Reads the auth service's answer as the gateway documentation defines it:
 * - 200 without the result header, or with it set to "true": allow, copying the allowed headers
 *   (auth-response-headers.ts: appended ones, the client's, metadata, requested removals);
 * - 200 with any other result header value ("false", or anything unrecognized: fail closed): deny;
 * - 5xx: the service is unavailable, and the rule's mode decides; except the statuses that
 *   describe the request (REQUEST_STATUSES, such as 501), which are answers like any other;
 * - any other status (401, 403, 302, 429, 501, ...): deny with the service's own status, headers
 *   (those in `response.clientHeaders` when set) and body.
 */
export function interpretAuthResponse(settings: ResponseSettings, res: AuthResponse): AuthOutcome {
  if (res.status >= 500 && !REQUEST_STATUSES.has(res.status)) return { kind: 'unavailable', cause: '5xx', status: res.status };
  if (res.status === 200) {
    const result = first(res.headers[settings.resultHeader]);
    if (result === undefined || result.trim().toLowerCase() === 'true') return allow(settings, res);
    return deny('result_header_false', settings, res);
  }
  return deny('auth_denied', settings, res);
}

function allow(settings: ResponseSettings, res: AuthResponse): AuthOutcome {
  const headersToSet: Array<readonly [string, string]> = [];
  const headersToRemove: string[] = [];
  for (const name of settings.allowedHeaders) {
    const value = res.headers[name];
    if (value === undefined) headersToRemove.push(name);
    else headersToSet.push([name, Array.isArray(value) ? value.join(',') : value]);
  }
  const extras = allowExtras(settings, res.headers);
  return {
    kind: 'allow',
    headersToSet,
    headersToRemove,
    headersToAppend: extras.headersToAppend,
    removeRequested: extras.removeRequested,
    clientHeaders: extras.clientHeaders,
    metadata: extras.metadata,
  };
}

function deny(reason: 'auth_denied' | 'result_header_false', settings: ResponseSettings, res: AuthResponse): AuthOutcome {
  const body = res.truncated ? withoutCutCharacter(res.body) : res.body;
  const utf8 = body.length === 0 || isUtf8(body);
  const headers: Array<readonly [string, string]> = [];
  const only = settings.clientHeaders;
  for (const name in res.headers) {
    if (HOP_BY_HOP.has(name) || name === 'content-length') continue;
    if (only && !only.includes(name)) continue;
    // The body travels in a proto3 string, which must be UTF-8: bytes that are not
    // (a gzip body, say) cannot reach the client, so neither may the header describing them.
    if (!utf8 && name === 'content-encoding') continue;
    const value = res.headers[name];
    if (Array.isArray(value)) for (const v of value) headers.push([name, v]);
    else headers.push([name, value]);
  }
  const metadata = readMetadata(settings.dynamicMetadata, res.headers);
  return {
    kind: 'deny',
    reason,
    status: res.status,
    headers: headers as HeaderList,
    body: utf8 ? body : EMPTY,
    ...(metadata && { metadata }),
  };
}

const EMPTY = Buffer.alloc(0);

/**
 * A body cut at `response.maxBodyBytes` may end inside a multi-byte UTF-8 character; that
 * partial character (at most 3 bytes) is dropped so the rest still passes as UTF-8.
 */
function withoutCutCharacter(body: Buffer): Buffer {
  if (isUtf8(body)) return body;
  for (let drop = 1; drop <= 3 && drop < body.length; drop++) {
    const lead = body[body.length - drop];
    if ((lead & 0xc0) === 0x80) continue;
    return lead >= 0xc0 ? body.subarray(0, body.length - drop) : body;
  }
  return body;
}

function first(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}
