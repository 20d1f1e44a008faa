/**
 * Resolves a request path the way a backend will, so that conditions match what the
 * backend serves: `/public/../admin` must be matched as `/admin`.
 */
export interface NormalizedPath {
  /** Normalized path without query; the raw path (minus query) when not safe. */
  readonly path: string;
  /** Raw query without "?", "" when none. Never decoded: the auth service sees it as sent. */
  readonly query: string;
  readonly safe: boolean;
}

const HEX = '0123456789ABCDEF';

function isUnreserved(code: number): boolean {
  return (
    (code >= 0x41 && code <= 0x5a) ||
    (code >= 0x61 && code <= 0x7a) ||
    (code >= 0x30 && code <= 0x39) ||
    code === 0x2d ||
    code === 0x2e ||
    code === 0x5f ||
    code === 0x7e
  );
}

function hexValue(ch: string): number {
  const v = HEX.indexOf(ch.toUpperCase());
  return v;
}

/**
 * RFC 3986 normalization plus slash merging: percent-escapes of unreserved characters are
 * decoded (so `%2e` is "."), other escapes are upper-cased, "//" merges, and dot-segments
 * resolve. Unsafe, and left raw: no leading "/", an escaped "/" or "\", a raw "\", a bad
 * escape, a control character, or ".." above the root.
 */
export function normalizePath(raw: string): NormalizedPath {
  const hashAt = raw.indexOf('#');
  const noFragment = hashAt === -1 ? raw : raw.slice(0, hashAt);
  const queryAt = noFragment.indexOf('?');
  const rawPath = queryAt === -1 ? noFragment : noFragment.slice(0, queryAt);
  const query = queryAt === -1 ? '' : noFragment.slice(queryAt + 1);
  const rooted = rawPath.charCodeAt(0) === 0x2f;
  if (rooted && isAlreadyNormal(rawPath)) return { path: rawPath, query, safe: true };
  const unsafe: NormalizedPath = { path: rawPath, query, safe: false };
  if (!rooted) return unsafe;

  let decoded = '';
  for (let i = 0; i < rawPath.length; i++) {
    const code = rawPath.charCodeAt(i);
    if (code < 0x21 || code === 0x7f || code === 0x5c) return unsafe;
    if (code !== 0x25) {
      decoded += rawPath[i];
      continue;
    }
    const hi = hexValue(rawPath[i + 1] ?? '');
    const lo = hexValue(rawPath[i + 2] ?? '');
    if (hi < 0 || lo < 0) return unsafe;
    const byte = hi * 16 + lo;
    if (byte === 0x2f || byte === 0x5c || byte < 0x20 || byte === 0x7f) return unsafe;
    decoded += isUnreserved(byte) ? String.fromCharCode(byte) : `%${HEX[hi]}${HEX[lo]}`;
    i += 2;
  }

  const out: string[] = [];
  const segments = decoded.split('/');
  // segments[0] is the empty string before the leading "/".
  for (let i = 1; i < segments.length; i++) {
    const seg = segments[i];
    const last = i === segments.length - 1;
    if (seg === '' || seg === '.') {
      if (last) out.push('');
      continue;
    }
    if (seg === '..') {
      if (out.length === 0) return unsafe;
      out.pop();
      if (last) out.push('');
      continue;
    }
    out.push(seg);
  }
  return { path: `/${out.join('/')}`, query, safe: true };
}

/**
 * The common case, answered in one scan: no escape, no character that makes a path unsafe, and
 * no "//" or "/." (so no empty or dot-segment). Such a path is its own normalized form.
 */
function isAlreadyNormal(rawPath: string): boolean {
  let previous = 0;
  for (let i = 0; i < rawPath.length; i++) {
    const code = rawPath.charCodeAt(i);
    if (code < 0x21 || code === 0x7f || code === 0x5c || code === 0x25) return false;
    if (previous === 0x2f && (code === 0x2f || code === 0x2e)) return false;
    previous = code;
  }
  return true;
}
