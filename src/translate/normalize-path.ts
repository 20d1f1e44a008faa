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
  /** Why the path is unsafe, for `explain`; absent when safe. */
  readonly unsafeReason?: string;
}

const HEX = '0123456789ABCDEF';
const PARAMETER =
  'it holds ";": Servlet containers strip ";params" from each segment before resolving "..", other backends keep them, so backends disagree on the resource';
const PARAMETER_AFTER_DECODING = 'a decoding proxy turns into a path parameter';

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

/** -1 unless `ch` is one hex digit; "" (an escape cut short by the end of the path) is not. */
function hexValue(ch: string): number {
  return ch.length === 1 ? HEX.indexOf(ch.toUpperCase()) : -1;
}

/**
 * RFC 3986 normalization plus slash merging: percent-escapes of unreserved characters are
 * decoded (so `%2e` is "."), other escapes are upper-cased, "//" merges, and dot-segments
 * resolve. Unsafe, and left raw, wherever backends could read the path differently: no
 * leading "/", an escaped "/" or "\", a raw "\", a bad escape, a control character, ".."
 * above the root, a ";" raw or escaped (Servlet containers strip `;params` from each segment
 * before resolving "..", other backends keep them, so no one reading is safe), or an escaped
 * "%" (a second decoding hop would turn `%252f` into "/").
 */
export function normalizePath(raw: string): NormalizedPath {
  const hashAt = raw.indexOf('#');
  const noFragment = hashAt === -1 ? raw : raw.slice(0, hashAt);
  const queryAt = noFragment.indexOf('?');
  const rawPath = queryAt === -1 ? noFragment : noFragment.slice(0, queryAt);
  const query = queryAt === -1 ? '' : noFragment.slice(queryAt + 1);
  const rooted = rawPath.charCodeAt(0) === 0x2f;
  if (rooted && isAlreadyNormal(rawPath)) return { path: rawPath, query, safe: true };
  const unsafe = (unsafeReason: string): NormalizedPath => ({ path: rawPath, query, safe: false, unsafeReason });
  if (!rooted) return unsafe('it does not start with "/"');

  let decoded = '';
  for (let i = 0; i < rawPath.length; i++) {
    const code = rawPath.charCodeAt(i);
    if (code < 0x21 || code === 0x7f) return unsafe('it holds a space or a control character');
    if (code === 0x5c) return unsafe('it holds a "\\", which some backends read as "/"');
    if (code === 0x3b) return unsafe(PARAMETER);
    if (code !== 0x25) {
      decoded += rawPath[i];
      continue;
    }
    const hi = hexValue(rawPath[i + 1] ?? '');
    const lo = hexValue(rawPath[i + 2] ?? '');
    if (hi < 0 || lo < 0) return unsafe(`"${rawPath.slice(i, i + 3)}" is not a valid escape`);
    const byte = hi * 16 + lo;
    const escape = `%${HEX[hi]}${HEX[lo]}`;
    if (byte === 0x2f || byte === 0x5c)
      return unsafe(`it holds ${escape}, an encoded "${String.fromCharCode(byte)}" that backends split on or not`);
    if (byte < 0x20 || byte === 0x7f) return unsafe(`it holds ${escape}, an encoded control character`);
    if (byte === 0x3b) return unsafe(`it holds %3B, an encoded ";" that ${PARAMETER_AFTER_DECODING}`);
    if (byte === 0x25) return unsafe('it holds %25, an encoded "%": a second decoding hop would read another path (%252f becomes "/")');
    decoded += isUnreserved(byte) ? String.fromCharCode(byte) : escape;
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
      if (out.length === 0) return unsafe('".." climbs above "/"');
      out.pop();
      if (last) out.push('');
      continue;
    }
    out.push(seg);
  }
  return { path: `/${out.join('/')}`, query, safe: true };
}

/**
 * The common case, answered in one scan: no escape, no ";", no character that makes a path unsafe, and
 * no "//" or "/." (so no empty or dot-segment). Such a path is its own normalized form.
 */
function isAlreadyNormal(rawPath: string): boolean {
  let previous = 0;
  for (let i = 0; i < rawPath.length; i++) {
    const code = rawPath.charCodeAt(i);
    if (code < 0x21 || code === 0x7f || code === 0x5c || code === 0x25 || code === 0x3b) return false;
    if (previous === 0x2f && (code === 0x2f || code === 0x2e)) return false;
    previous = code;
  }
  return true;
}
