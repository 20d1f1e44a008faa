import type { AuthOutcome, AuthRequest } from '../translate';
import { exchange, type AuthCallRecord, type Exchange } from './auth-exchange';
import { unlessCancelled, type Cancellation } from './cancellation';
import { decisionKey } from './decision-cache';
import type { ServingRule } from './serving-config';

/**
 * What asking the auth service came to. `cancelled` (the caller went away) and `invalid_request`
 * (the HTTP client refused to send the request) are not the service's answer.
 */
export type AuthAnswer = AuthOutcome | 'cancelled' | 'invalid_request';

const LEFT: Exchange = { outcome: 'cancelled' };

/**
 * Gets the auth service's interpreted answer for one rule: from the decision cache when fresh,
 * else by joining an identical call in flight (`coalesce`), else by its own call. Each call made
 * or shared is recorded in `calls` for metrics and the log line.
 */
export async function askAuthService(
  rule: ServingRule,
  request: AuthRequest,
  cancel: Cancellation,
  calls: AuthCallRecord[],
): Promise<AuthAnswer> {
  const { settings, cache, coalescer } = rule;
  const key = cache || coalescer ? decisionKey(request) : '';
  const cached = cache?.get(key);
  if (cached) {
    calls.push({ rule: settings.name, elapsedMs: 0, shared: 'cache' });
    return cached;
  }
  let result: Exchange;
  let joined = false;
  if (coalescer) {
    // The shared call must outlive any one caller, so it takes no caller's cancellation; each
    // caller, the one that started it included, stops waiting on its own cancellation.
    joined = true;
    const shared = coalescer.run(key, () => {
      joined = false;
      return exchange(settings, rule.client, request, undefined);
    });
    result = await unlessCancelled(shared, cancel, LEFT);
  } else {
    result = await exchange(settings, rule.client, request, cancel);
  }
  if (result.outcome === 'cancelled' || result.outcome === 'invalid_request') return result.outcome;
  if (result.record) calls.push(joined ? { ...result.record, shared: 'coalesced' } : result.record);
  cache?.set(key, result.outcome, result.cacheControl);
  return result.outcome;
}
