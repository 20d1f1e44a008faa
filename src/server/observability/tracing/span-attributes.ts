/**
 * The adapter's own span attributes, beside the HTTP semantic conventions. Values come from the
 * adapter's decision and Envoy's request id only: never a token, cookie, query or other header.
 */
export const ATTR_RULE = 'ext_authz.rule';
/** `allow` or `deny`. */
export const ATTR_DECISION = 'ext_authz.decision';
/** The reason label, as in the metrics and the decision log. */
export const ATTR_REASON = 'ext_authz.reason';
/** The HTTP status a denial answers the client with. */
export const ATTR_DENIAL_STATUS = 'ext_authz.denial_status';
/** Answered from the decision cache without an auth call. */
export const ATTR_CACHE_HIT = 'ext_authz.cache_hit';
/** Answered by joining an identical auth call already in flight (its span is in that call's trace). */
export const ATTR_COALESCED = 'ext_authz.coalesced';
export const CHECK_SPAN_NAME = 'ext_authz.check';
