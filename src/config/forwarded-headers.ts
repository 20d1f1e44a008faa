import { Issues, keyPath } from './issues';
import { readHeaderNames, type RawObject } from './reader';

/**
 * Headers that describe one connection or the framing of one message, never the request
 * itself. Each hop sets its own; forwarding a client's copy would let the client change how the
 * auth service or the backend reads the stream (an `Expect` the HTTP client refuses, a
 * `Transfer-Encoding` that splits the body, a `Host` other than the one Envoy routed on).
 */
const CONNECTION_HEADERS: ReadonlySet<string> = new Set([
  'connection',
  'keep-alive',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
  'expect',
  'content-length',
  'host',
  'http2-settings',
]);

export function isConnectionHeader(name: string): boolean {
  return CONNECTION_HEADERS.has(name) || name.startsWith('proxy-');
}

/**
 * A list of header names the adapter copies from one message to another (to the auth service,
 * or from its answer to the backend): `readHeaderNames`, refusing connection and framing headers
 * with the key path of each.
 */
export function readForwardedHeaderNames(
  obj: RawObject | undefined,
  key: string,
  path: string,
  issues: Issues,
  def: readonly string[],
): string[] {
  const names = readHeaderNames(obj, key, path, issues, def);
  const raw = obj?.[key];
  const listPath = keyPath(path, key);
  return names.filter((name) => {
    if (!isConnectionHeader(name)) return true;
    const i = Array.isArray(raw) ? raw.findIndex((item) => typeof item === 'string' && item.toLowerCase() === name) : -1;
    issues.add(
      i === -1 ? listPath : keyPath(listPath, i),
      `"${name}" describes a connection or the framing of a message, which each hop sets for itself; it cannot be forwarded. Remove it`,
    );
    return false;
  });
}
