import type { RuleSettings } from '../../config';
import type { AuthCaller, DecisionCache } from '../auth-client';

/** What a cached decision depends on: the rule's own settings and the pool it was asked through. */
export interface CacheOwner {
  readonly settings: RuleSettings;
  readonly client: AuthCaller;
  readonly cache?: DecisionCache;
}

/**
 * The cache a reloaded rule takes over from the previous config: kept only when everything an
 * answer was made under is unchanged (the service, its TLS material, the request forwarded, how
 * the response is read, the cache bounds), so a kept entry means exactly what it meant before.
 * The pool is kept exactly when the service and its TLS material are unchanged. The conditions
 * (`match`) and the rule's place in the list decide whether a check is asked, not what the
 * answer means, so they do not drop it.
 */
export function keptCache(previous: CacheOwner | undefined, next: RuleSettings, client: AuthCaller): DecisionCache | undefined {
  if (!previous?.cache || !next.cache || previous.client !== client) return undefined;
  return answerSettings(previous.settings) === answerSettings(next) ? previous.cache : undefined;
}

function answerSettings(rule: RuleSettings): string {
  const { name, service, request, response, cache } = rule;
  return JSON.stringify({ name, service, request, response, cache });
}
