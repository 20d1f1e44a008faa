import type { RequestSettings } from '../../config';
import type { AuthRequest } from '../../translate';

/**
 * When one visitor's answer may serve another. The decision cache and coalescing share an answer
 * among requests with the same key; the key is a stand-in for "the same credentials" only when
 * the request carries a token. An answer that sets a cookie is personal whatever the key: one
 * visitor's OAuth state or session cookie handed to another enables login CSRF or session
 * fixation.
 */

/** The request carries at least one of the rule's token headers. */
export function carriesToken(settings: RequestSettings, req: AuthRequest): boolean {
  for (const name of settings.tokenHeaders) if (req.headers[name] !== undefined) return true;
  return false;
}

/** The answer sets a cookie: it is meant for the one client that asked, never stored or shared. */
export function isPersonal(headers: Readonly<Record<string, string | string[]>>): boolean {
  return headers['set-cookie'] !== undefined;
}

/** `Cache-Control: private`: the service says the answer is for this user alone. */
export function isPrivate(cacheControl: string | readonly string[] | undefined): boolean {
  if (cacheControl === undefined) return false;
  const text = typeof cacheControl === 'string' ? cacheControl : cacheControl.join(',');
  return /(^|,)\s*private\s*(=|,|$)/i.test(text);
}

/**
 * Whether an answer may be stored for later requests with the same key: never when it sets a
 * cookie, and not when it is `private` and the request had no token to tie it to one user.
 */
export function mayStore(personal: boolean, cacheControl: string | readonly string[] | undefined, tokened: boolean): boolean {
  return !personal && (tokened || !isPrivate(cacheControl));
}
