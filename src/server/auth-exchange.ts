import type { RuleSettings } from '../config';
import { interpretAuthResponse, type AuthOutcome, type AuthRequest } from '../translate';
import type { AuthClient } from './auth-client';
import type { Cancellation } from './cancellation';
import type { CheckSpan } from './tracing';

/** What one auth call did, for metrics and the decision log line. */
export interface AuthCallRecord {
  readonly rule: string;
  readonly status?: number;
  readonly unavailable?: string;
  readonly elapsedMs: number;
  /** Answered from the decision cache, or by joining an identical call in flight. */
  readonly shared?: 'cache' | 'coalesced';
}

/**
 * One round trip to the auth service, interpreted. `cancelled` and `invalid_request` are not
 * outcomes of the service: nobody is listening any more, or the HTTP client refused the request.
 */
export interface Exchange {
  readonly outcome: AuthOutcome | 'cancelled' | 'invalid_request';
  readonly record?: AuthCallRecord;
  readonly cacheControl?: string | string[];
}

export async function exchange(
  settings: RuleSettings,
  client: AuthClient,
  request: AuthRequest,
  cancel: Cancellation | undefined,
  span: CheckSpan | undefined,
): Promise<Exchange> {
  const traced = span?.startAuthCall(settings.service, request);
  const result = await client.call(
    traced ? traced.request : request,
    {
      timeoutMs: settings.service.timeoutMs,
      maxConcurrent: settings.service.maxConcurrent,
      maxBodyBytes: settings.response.maxBodyBytes,
    },
    cancel,
  );
  traced?.end(result);
  if (!result.ok) {
    if (result.cause === 'cancelled' || result.cause === 'invalid_request') return { outcome: result.cause };
    return {
      outcome: { kind: 'unavailable', cause: result.cause },
      record: { rule: settings.name, unavailable: result.cause, elapsedMs: result.elapsedMs },
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
    },
    cacheControl: result.response.headers['cache-control'],
  };
}
