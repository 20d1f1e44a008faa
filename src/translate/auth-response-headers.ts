import { AUTH_HEADERS_TO_REMOVE, type ResponseSettings } from '../config';
import type { AllowExtras, HeaderList, Metadata } from './types';

type ResponseHeaders = Readonly<Record<string, string | string[]>>;

const TOKEN = /^[!#$%&'*+\-.^_`|~0-9a-z]+$/;

/**
 * What a 200 brings besides the overwritten headers: values to append upstream, headers for the
 * client, dynamic metadata, and the request headers the service asks to remove. Each list is
 * read only when configured, so a rule without them pays nothing.
 */
export function allowExtras(settings: ResponseSettings, headers: ResponseHeaders): AllowExtras {
  const extras: { -readonly [K in keyof AllowExtras]: AllowExtras[K] } = {};
  if (settings.appendHeaders.length > 0) extras.headersToAppend = occurrences(settings.appendHeaders, headers);
  if (settings.clientHeadersOnSuccess.length > 0) extras.clientHeaders = occurrences(settings.clientHeadersOnSuccess, headers);
  const metadata = readMetadata(settings.dynamicMetadata, headers);
  if (metadata) extras.metadata = metadata;
  const removals = headers[AUTH_HEADERS_TO_REMOVE];
  if (removals !== undefined) extras.removeRequested = requestedRemovals(removals);
  return extras;
}

/** Every value of each listed header, in order: two `Set-Cookie` lines stay two. */
function occurrences(names: readonly string[], headers: ResponseHeaders): HeaderList {
  const out: Array<readonly [string, string]> = [];
  for (const name of names) {
    const value = headers[name];
    if (value === undefined) continue;
    if (Array.isArray(value)) for (const v of value) out.push([name, v]);
    else out.push([name, value]);
  }
  return out;
}

/** The listed headers the service returned, as strings (repeats joined with ","); undefined when none. */
export function readMetadata(names: readonly string[], headers: ResponseHeaders): Metadata | undefined {
  let out: Record<string, string> | undefined;
  for (const name of names) {
    const value = headers[name];
    if (value === undefined) continue;
    out ??= {};
    out[name] = Array.isArray(value) ? value.join(',') : value;
  }
  return out;
}

/**
 * `x-envoy-auth-headers-to-remove: a, b`: comma-separated names, lowercased. Pseudo-headers and
 * `host` are never removed (the request would be malformed; Envoy ignores them too), nor anything
 * that is not a header name. The list is bounded by the HTTP client's limit on response headers.
 */
export function requestedRemovals(value: string | readonly string[]): string[] {
  const text = typeof value === 'string' ? value : value.join(',');
  const out: string[] = [];
  for (const part of text.split(',')) {
    const name = part.trim().toLowerCase();
    if (!TOKEN.test(name) || name === 'host' || out.includes(name)) continue;
    out.push(name);
  }
  return out;
}
