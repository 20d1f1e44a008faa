import type { RuleSettings, ServiceSettings } from '../../config';
import { interpretAuthResponse, type AuthOutcome, type AuthRequest } from '../../translate';
import type { AuthCallResult, AuthCaller } from './auth-client';
import type { Cancellation } from './cancellation';
import type { ConcurrencyLimit } from './concurrency-limit';
import { isPersonal } from './sharing-policy';

/**
 * Told of each call that goes out, and of how it ended (tracing does this). It may send the call
 * as another request: the same one with its own trace context.
 */
export interface AuthCallObserver {
  startAuthCall(service: ServiceSettings, request: AuthRequest): ObservedAuthCall;
}

export interface ObservedAuthCall {
  readonly request: AuthRequest;
  end(result: AuthCallResult): void;
}

/** What one auth call did, for metrics and the decision log line. */
export interface AuthCallRecord {
  readonly rule: string;
  readonly status?: number;
  readonly unavailable?: string;
  readonly elapsedMs: number;
  /** Calls asked again on a new connection after a refusal or a reset before any response byte. */
  readonly retries?: number;
  /** Answered from the decision cache, or by joining an identical call in flight. */
  readonly shared?: 'cache' | 'coalesced';
}

/**
 * One round trip to the auth service, interpreted. `cancelled`, `invalid_request`, `overloaded`
 * and `local_failure` are not outcomes of the service: nobody is listening any more, the HTTP
 * client refused the request, the rule's own bound on calls in flight was reached, or the
 * adapter itself failed (see LocalFailure).
 */
export interface Exchange {
  readonly outcome: AuthOutcome | 'cancelled' | 'invalid_request' | 'overloaded' | 'local_failure';
  readonly record?: AuthCallRecord;
  readonly cacheControl?: string | string[];
  /** The answer sets a cookie (see sharing-policy.ts). */
  readonly personal?: boolean;
}

/** The record of a call refused at the rule's bound; counted with the auth service errors as `overload`. */
function overloadRecord(rule: string): AuthCallRecord {
  return { rule, unavailable: 'overload', elapsedMs: 0 };
}

/** The answer while the pool's circuit breaker is open: not asked, and the rule's mode applies. */
const CIRCUIT_OPEN: AuthOutcome = { kind: 'unavailable', cause: 'circuit_open' };

export function exchange(
  settings: RuleSettings,
  client: AuthCaller,
  limit: ConcurrencyLimit,
  request: AuthRequest,
  cancel: Cancellation | undefined,
  observer?: AuthCallObserver,
): Promise<Exchange> {
  const { breaker } = client;
  const admission = breaker?.admit() ?? 'call';
  if (admission === 'reject') {
    return Promise.resolve({ outcome: CIRCUIT_OPEN, record: { rule: settings.name, unavailable: 'circuit_open', elapsedMs: 0 } });
  }
  if (!limit.tryAcquire()) {
    // The adapter's own bound says nothing about the service: a probe refused here lets the next call probe.
    breaker?.record(admission, 'neutral');
    return Promise.resolve({ outcome: 'overloaded', record: overloadRecord(settings.name) });
  }
  // Only a call that goes out is observed; a refused one shows as the check's reason.
  const traced = observer?.startAuthCall(settings.service, request);
  // A continuation rather than an async function: what a check holds while its call is out is
  // copied by every scavenge meanwhile, and a suspended frame holds more than this closure.
  const limits = { timeoutMs: settings.service.timeoutMs, maxBodyBytes: settings.response.maxBodyBytes, retries: settings.service.retries };
  return client.call(traced ? traced.request : request, limits, cancel).then(
    (result) => {
      limit.release();
      traced?.end(result);
      // Any response is an answer, a 5xx or a 501 included: nothing a client's request can make the
      // service say counts toward opening the breaker; only silence, refusals and resets do.
      breaker?.record(admission, result.ok ? 'answered' : result.notAnswering === true ? 'not_answering' : 'neutral');
      return exchangeOf(settings, result);
    },
    (err: unknown) => {
      limit.release();
      throw err;
    },
  );
}

/** What a call that went out came to. */
function exchangeOf(settings: RuleSettings, result: AuthCallResult): Exchange {
  const retries = result.retries !== undefined && result.retries > 0 ? result.retries : undefined;
  if (!result.ok) {
    if (result.cause === 'cancelled' || result.cause === 'invalid_request') return { outcome: result.cause };
    if (result.cause === 'local') {
      return { outcome: 'local_failure', record: { rule: settings.name, unavailable: 'local', elapsedMs: result.elapsedMs, retries } };
    }
    return {
      outcome: { kind: 'unavailable', cause: result.cause },
      record: { rule: settings.name, unavailable: result.cause, elapsedMs: result.elapsedMs, retries },
    };
  }
  const outcome = interpretAuthResponse(settings.response, result.response);
  return {
    outcome,
    record: {
      rule: settings.name,
      status: result.response.status,
      unavailable: outcome.kind === 'unavailable' ? outcome.cause : undefined,
      elapsedMs: result.elapsedMs,
      retries,
    },
    cacheControl: result.response.headers['cache-control'],
    personal: isPersonal(result.response.headers),
  };
}
