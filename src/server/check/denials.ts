import type { Decision, DenyReason, HeaderList } from '../../translate';

const EMPTY = Buffer.alloc(0);

/** Status for a CheckRequest the adapter cannot evaluate: Envoy sent something malformed. */
export const INVALID_ATTRIBUTES_STATUS = 403;
/** Status for a client request that cannot be forwarded faithfully (bad method, control characters). */
export const INVALID_REQUEST_STATUS = 400;
/** Status for a client request whose forwarded head is over `request.maxHeaderBytes`. */
export const TOO_LARGE_STATUS = 431;
/** Status for a tunnel request (CONNECT): the auth service's HTTP client would open a tunnel, not ask. */
export const METHOD_NOT_ALLOWED_STATUS = 405;
/** Status and advice for a check refused at the rule's `service.maxConcurrent`. */
export const OVERLOADED_STATUS = 503;
export const OVERLOADED_HEADERS: HeaderList = [['retry-after', '1']];
/** Status when the adapter itself failed. */
export const INTERNAL_ERROR_STATUS = 403;

/** A denial the adapter makes itself, with no body and no header from an auth service. */
export function deny(reason: DenyReason, rule: string, status: number, headers: HeaderList = []): Decision {
  return { kind: 'deny', reason, rule, status, headers, body: EMPTY };
}
