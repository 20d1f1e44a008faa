import type { AuthOutcome, AuthRequest } from '../../translate';
import {
  type AuthCallObserver,
  type Coalescer,
  type AuthCallRecord,
  type Cancellation,
  carriesToken,
  decisionKey,
  exchange,
  type Exchange,
  mayStore,
  unlessCancelled,
} from '../auth-client';
import type { ServingRule } from './serving-config';

/**
 * What asking the auth service came to. `cancelled` (the caller went away), `invalid_request`
 * (the HTTP client refused to send the request), `overloaded` (the rule's own bound on calls in
 * flight) and `local_failure` (the adapter itself failed: out of file descriptors or memory) are
 * not the service's answer.
 */
export type AuthAnswer = AuthOutcome | 'cancelled' | 'invalid_request' | 'overloaded' | 'local_failure';

const LEFT: Exchange = { outcome: 'cancelled' };

/**
 * Gets the auth service's interpreted answer for one rule: from the decision cache when fresh,
 * else by joining an identical call in flight (`coalesce`), else by its own call. Each call made
 * or shared is recorded in `calls` for metrics and the log line. What may be shared or stored
 * is sharing-policy.ts's to say. `observer` (the check's span) sees each call this check makes.
 */
export function askAuthService(
  rule: ServingRule,
  request: AuthRequest,
  cancel: Cancellation,
  calls: AuthCallRecord[],
  observer?: AuthCallObserver,
): Promise<AuthAnswer> {
  const { settings, cache } = rule;
  const tokened = carriesToken(settings.request, request);
  // Without a token the key does not stand for one user's credentials: each request asks alone.
  const coalescer = tokened ? rule.coalescer : undefined;
  const key = cache || coalescer ? decisionKey(request) : '';
  const cached = cache?.get(key);
  if (cached) {
    calls.push({ rule: settings.name, elapsedMs: 0, shared: 'cache' });
    return Promise.resolve(cached);
  }
  const call = (signal: Cancellation | undefined): Promise<Exchange> =>
    exchange(settings, rule.client, rule.limit, request, signal, observer);
  const answer = (result: Exchange, joined: boolean): AuthAnswer => {
    const { outcome } = result;
    if (outcome === 'cancelled' || outcome === 'invalid_request') return outcome;
    if (result.record) calls.push(joined ? { ...result.record, shared: 'coalesced' } : result.record);
    if (outcome === 'overloaded' || outcome === 'local_failure') return outcome;
    if (cache && mayStore(result.personal === true, result.cacheControl, tokened)) cache.set(key, outcome, result.cacheControl);
    return outcome;
  };
  // The usual way, a call of its own, as a continuation: no suspended frame held per check.
  if (!coalescer) return call(cancel).then((result) => answer(result, false));
  return shareCall(coalescer, key, call, cancel).then(({ result, joined }) => answer(result, joined));
}

/**
 * Joins an identical call in flight, or starts one others may join. The shared call must outlive
 * any one caller, so it takes no caller's cancellation; each caller, the one that started it
 * included, stops waiting on its own cancellation. A cookie set for the caller that started the
 * call is not handed to the ones that joined it: they ask again on their own.
 */
async function shareCall(
  coalescer: Coalescer<Exchange>,
  key: string,
  call: (signal: Cancellation | undefined) => Promise<Exchange>,
  cancel: Cancellation,
): Promise<{ result: Exchange; joined: boolean }> {
  let joined = true;
  const shared = coalescer.run(key, () => {
    joined = false;
    return call(undefined);
  });
  const result = await unlessCancelled(shared, cancel, LEFT);
  if (joined && result.personal) return { result: await call(cancel), joined: false };
  return { result, joined };
}
