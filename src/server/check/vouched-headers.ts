import type { RuleSettings } from '../../config';
import { FAILURE_MODE_HEADER } from '../../translate';

/**
 * Every header name an auth service of this config could vouch for (set or append upstream), to be removed from each
 * allowed request unless an auth service set it on that very request. It spans every rule,
 * enabled or not and in scope or not: a route pinned to one rule, or a rule switched off, must
 * not let a client's `x-user-role` through just because no rule in scope names it.
 *
 * Each name comes with its twin, `-` and `_` swapped (`x_user_id` for `x-user-id`): CGI-style
 * backends (WSGI, PHP-FPM, Rack) read both as the same variable, `HTTP_X_USER_ID`.
 */
export function vouchedHeaders(rules: readonly RuleSettings[]): readonly string[] {
  const names = new Set<string>();
  const add = (name: string): void => {
    names.add(name);
    names.add(twin(name));
  };
  add(FAILURE_MODE_HEADER);
  for (const rule of rules) {
    for (const name of rule.response.allowedHeaders) add(name);
    for (const name of rule.response.appendHeaders) add(name);
  }
  return [...names];
}

/** The name as a CGI gateway would confuse it: dashes as underscores, or, if it has none, the reverse. */
function twin(name: string): string {
  return name.includes('-') ? name.replaceAll('-', '_') : name.replaceAll('_', '-');
}
