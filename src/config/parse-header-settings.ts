import { DEFAULTS } from './defaults';
import { isConnectionHeader, readForwardedHeaderNames } from './forwarded-headers';
import { isHttpToken } from './http-token';
import { keyPath, type Issues } from './issues';
import { describe, isObject, readHeaderNames, type RawObject } from './reader';
import { StaticHeader } from './static-header';
import type { HeaderNameMatcherSource } from './types';

/** The environment `${NAME}` references are read from; `process.env` unless a caller passes its own. */
export type Environment = Readonly<Record<string, string | undefined>>;

/**
 * A 200 from the auth service may name request headers to remove upstream in this header, as with
 * Envoy's HTTP mode. It is an instruction to the adapter, never a header to forward.
 */
export const AUTH_HEADERS_TO_REMOVE = 'x-envoy-auth-headers-to-remove';

const TOKEN_CHARS = /^[!#$%&'*+\-.^_`|~0-9a-zA-Z]*$/;
// Field values may hold tab, space and obs-text, never CR, LF or NUL (RFC 9110 §5.5).
const BAD_VALUE = /[\0-\x08\x0a-\x1f\x7f]/;
const REFERENCE = /\$\{([^}]*)\}/g;
const VARIABLE = /^[A-Za-z_][A-Za-z0-9_]*$/;
const LITERAL_KINDS = ['exact', 'prefix', 'suffix', 'contains'] as const;
/** Keys of CheckResponse.dynamic_metadata the adapter always sets itself. */
const METADATA_KEYS = ['rule', 'reason'];

export interface RequestHeaderSettings {
  readonly allowedHeaders: string[];
  readonly allowedHeaderMatchers: HeaderNameMatcherSource[];
  readonly headersToAdd: StaticHeader[];
  readonly removeHeaders: string[];
}

export interface ResponseHeaderSettings {
  readonly appendHeaders: string[];
  readonly clientHeadersOnSuccess: string[];
  readonly clientHeaders: string[] | undefined;
  readonly dynamicMetadata: string[];
}

/** `request.allowedHeaders`, `headersToAdd` and `removeHeaders` of one rule. */
export function parseRequestHeaders(
  request: RawObject | undefined,
  path: string,
  issues: Issues,
  env: Environment,
  tokenHeaders: readonly string[],
): RequestHeaderSettings {
  const { names, matchers } = readAllowedHeaders(request?.allowedHeaders, keyPath(path, 'allowedHeaders'), issues);
  const headersToAdd = readStaticHeaders(request?.headersToAdd, keyPath(path, 'headersToAdd'), issues, env);
  for (const header of headersToAdd) {
    const at = keyPath(keyPath(path, 'headersToAdd'), header.name);
    if (tokenHeaders.includes(header.name)) {
      issues.add(at, `is also request.tokenHeader: a static value would stand in for every client's credentials; remove one of them`);
    } else if (names.includes(header.name)) {
      issues.add(at, `is also in request.allowedHeaders: the static value always replaces the client's; remove one of them`);
    }
  }
  return {
    allowedHeaders: names,
    allowedHeaderMatchers: matchers,
    headersToAdd,
    removeHeaders: readRemovableHeaderNames(request, 'removeHeaders', path, issues),
  };
}

/** `response.appendHeaders`, `clientHeadersOnSuccess`, `clientHeaders` and `dynamicMetadata` of one rule. */
export function parseResponseHeaders(
  response: RawObject | undefined,
  path: string,
  issues: Issues,
  allowedHeaders: readonly string[],
  removeHeaders: readonly string[],
): ResponseHeaderSettings {
  const appendHeaders = readForwardedHeaderNames(response, 'appendHeaders', path, issues, DEFAULTS.appendHeaders);
  const clientHeadersOnSuccess = readForwardedHeaderNames(
    response,
    'clientHeadersOnSuccess',
    path,
    issues,
    DEFAULTS.clientHeadersOnSuccess,
  );
  const clientHeaders =
    response?.clientHeaders === undefined || response.clientHeaders === null
      ? undefined
      : readHeaderNames(response, 'clientHeaders', path, issues, []);
  const dynamicMetadata = readHeaderNames(response, 'dynamicMetadata', path, issues, DEFAULTS.dynamicMetadata);

  const lists: Array<[string, readonly string[]]> = [
    ['allowedHeaders', allowedHeaders],
    ['appendHeaders', appendHeaders],
    ['clientHeadersOnSuccess', clientHeadersOnSuccess],
  ];
  for (const [key, names] of lists) {
    if (names.includes(AUTH_HEADERS_TO_REMOVE)) {
      issues.add(
        keyPath(path, key),
        `"${AUTH_HEADERS_TO_REMOVE}" is the auth service's instruction to remove request headers; it is acted on, never forwarded. Remove it`,
      );
    }
  }
  for (const name of appendHeaders) {
    if (allowedHeaders.includes(name)) {
      issues.add(
        keyPath(path, 'appendHeaders'),
        `"${name}" is also in response.allowedHeaders; a header is either overwritten or appended: keep it in one list`,
      );
    }
  }
  const requestPath = path.replace(/response$/, 'request');
  for (const name of removeHeaders) {
    if (allowedHeaders.includes(name) || appendHeaders.includes(name)) {
      issues.add(
        keyPath(requestPath, 'removeHeaders'),
        `"${name}" is also a header the auth service sets upstream (response.allowedHeaders or appendHeaders); Envoy removes after it sets, so the auth service's value would never arrive. Keep it in one list`,
      );
    }
  }
  for (const name of dynamicMetadata) {
    if (METADATA_KEYS.includes(name)) {
      issues.add(
        keyPath(path, 'dynamicMetadata'),
        `"${name}" is a key the adapter sets itself (the rule and reason of the decision); rename the header`,
      );
    }
  }
  return { appendHeaders, clientHeadersOnSuccess, clientHeaders, dynamicMetadata };
}

/**
 * `request.allowedHeaders`: header names, or Envoy StringMatchers over the (lowercase) names.
 * Names are lowercased here; matchers are checked for what would make them never match and kept
 * as written, with their key paths, for src/matcher to compile.
 */
function readAllowedHeaders(value: unknown, path: string, issues: Issues): { names: string[]; matchers: HeaderNameMatcherSource[] } {
  const names: string[] = [];
  const matchers: HeaderNameMatcherSource[] = [];
  if (value === undefined || value === null) return { names, matchers };
  const items = typeof value === 'string' || isObject(value) ? [value] : value;
  if (!Array.isArray(items)) {
    issues.add(path, `expected a list of header names or StringMatchers such as { prefix: x-tenant- }, got ${describe(value)}`);
    return { names, matchers };
  }
  const single = !Array.isArray(value);
  items.forEach((item, i) => {
    const at = single ? path : keyPath(path, i);
    if (isObject(item)) {
      checkNameMatcher(item, at, issues);
      matchers.push({ path: at, matcher: item });
      return;
    }
    if (typeof item !== 'string' || !isHttpToken(item)) {
      issues.add(
        at,
        `expected an HTTP header name (letters, digits, "-") or a StringMatcher such as { prefix: x-tenant- }, got ${describe(item)}`,
      );
      return;
    }
    const name = item.toLowerCase();
    if (isConnectionHeader(name)) {
      issues.add(
        at,
        `"${name}" describes a connection or the framing of a message, which each hop sets for itself; it cannot be forwarded. Remove it`,
      );
      return;
    }
    if (!names.includes(name)) names.push(name);
  });
  return { names, matchers };
}

/** A literal that cannot occur in a lowercase header name would make the matcher silently match nothing. */
function checkNameMatcher(matcher: RawObject, path: string, issues: Issues): void {
  const ignoreCase = matcher.ignore_case === true;
  for (const kind of LITERAL_KINDS) {
    const literal = matcher[kind];
    if (typeof literal !== 'string') continue;
    if (!TOKEN_CHARS.test(literal)) {
      issues.add(
        keyPath(path, kind),
        `${describe(literal)} holds a character no header name has (names are letters, digits and !#$%&'*+-.^_\`|~), so it would never match`,
      );
    } else if (!ignoreCase && /[A-Z]/.test(literal)) {
      issues.add(
        keyPath(path, kind),
        `header names are compared lowercased, so ${describe(literal)} would never match; write it in lowercase or add ignore_case: true`,
      );
    }
  }
}

/** `request.removeHeaders`: names only; pseudo-headers and host cannot be removed (the request would be malformed). */
function readRemovableHeaderNames(obj: RawObject | undefined, key: string, path: string, issues: Issues): string[] {
  const raw = obj?.[key];
  if (raw === undefined || raw === null) return [];
  const listPath = keyPath(path, key);
  const items = typeof raw === 'string' ? [raw] : raw;
  if (!Array.isArray(items)) {
    issues.add(listPath, `expected a header name or a list of header names, got ${describe(raw)}`);
    return [];
  }
  const out: string[] = [];
  items.forEach((item, i) => {
    const at = Array.isArray(raw) ? keyPath(listPath, i) : listPath;
    const lower = typeof item === 'string' ? item.toLowerCase() : '';
    if (lower.startsWith(':') || lower === 'host') {
      issues.add(
        at,
        `"${lower}" cannot be removed: without it the request is malformed, and Envoy ignores such a removal. Remove it from the list`,
      );
    } else if (!isHttpToken(lower)) {
      issues.add(at, `expected an HTTP header name (letters, digits, "-"), got ${describe(item)}`);
    } else if (!out.includes(lower)) {
      out.push(lower);
    }
  });
  return out;
}

/**
 * `request.headersToAdd`: a mapping of header name to value. `${NAME}` in a value is read from the
 * environment now, so a reload reads it anew. Problems name the key path and the variable, never
 * the variable's value.
 */
function readStaticHeaders(value: unknown, path: string, issues: Issues, env: Environment): StaticHeader[] {
  if (value === undefined || value === null) return [];
  if (!isObject(value)) {
    issues.add(
      path,
      `expected a mapping of header name to value, such as { x-gateway: edge, x-api-key: "\${AUTH_API_KEY}" }, got ${describe(value)}`,
    );
    return [];
  }
  const out: StaticHeader[] = [];
  for (const [rawName, written] of Object.entries(value)) {
    const at = keyPath(path, rawName);
    if (!isHttpToken(rawName)) {
      issues.add(at, `expected an HTTP header name (letters, digits, "-"), got ${describe(rawName)}`);
      continue;
    }
    const name = rawName.toLowerCase();
    if (isConnectionHeader(name)) {
      issues.add(at, `"${name}" describes a connection or the framing of a message, which the adapter sets itself; remove it`);
      continue;
    }
    if (out.some((h) => h.name === name)) {
      issues.add(at, `"${name}" is given twice (header names are case-insensitive); keep one`);
      continue;
    }
    if (typeof written !== 'string') {
      issues.add(at, `expected a string value (quote it), got ${describe(written)}`);
      continue;
    }
    if (BAD_VALUE.test(written)) {
      issues.add(at, 'the value holds a CR, LF or other control character, which would split or end the header; remove it');
      continue;
    }
    const resolved = resolveReferences(written, at, issues, env);
    if (resolved !== undefined) out.push(new StaticHeader(name, written, Buffer.from(resolved, 'utf8').toString('latin1')));
  }
  return out;
}

function resolveReferences(written: string, path: string, issues: Issues, env: Environment): string | undefined {
  let ok = true;
  const resolved = written.replace(REFERENCE, (_match, variable: string) => {
    if (!VARIABLE.test(variable)) {
      issues.add(path, `\${${variable}} is not a variable reference; expected \${NAME} with letters, digits and "_"`);
      ok = false;
      return '';
    }
    const v = env[variable];
    if (v === undefined || v === '') {
      issues.add(
        path,
        `environment variable ${variable} is ${v === undefined ? 'not set' : 'empty'}; set it, or write the value without \${${variable}}`,
      );
      ok = false;
      return '';
    }
    if (BAD_VALUE.test(v)) {
      issues.add(
        path,
        `environment variable ${variable} holds a CR, LF or other control character, which would split the header; its value is not shown`,
      );
      ok = false;
      return '';
    }
    return v;
  });
  if (ok && written.replace(REFERENCE, '').includes('${')) {
    issues.add(path, 'holds "${" without a closing "}"; expected ${NAME}');
    return undefined;
  }
  return ok ? resolved : undefined;
}
