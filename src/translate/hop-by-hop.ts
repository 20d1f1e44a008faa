/**
 * Headers that describe one connection, not the message (RFC 9110 §7.6.1), plus framing
 * headers the adapter sets itself. They are never copied between the two HTTP hops.
 */
export const HOP_BY_HOP: ReadonlySet<string> = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
  'http2-settings',
]);

/** Trace-context headers forwarded to the auth service so its spans join the request's trace. */
export const TRACE_HEADERS: readonly string[] = ['traceparent', 'tracestate', 'x-request-id', 'b3'];
export const B3_PREFIX = 'x-b3-';

/** Set on the upstream request when a `loose` rule let a request through without an answer. */
export const FAILURE_MODE_HEADER = 'x-envoy-auth-failure-mode-allowed';
