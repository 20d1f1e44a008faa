/** Trace-context headers forwarded to the auth service so its spans join the request's trace. */
export const TRACE_HEADERS: readonly string[] = ['traceparent', 'tracestate', 'x-request-id', 'b3'];
/** B3 multi-header context: every header with this prefix is forwarded with the others. */
export const B3_PREFIX = 'x-b3-';
