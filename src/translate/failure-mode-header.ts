/** Set on the upstream request when a `loose` rule let a request through without an answer. */
export const FAILURE_MODE_HEADER = 'x-envoy-auth-failure-mode-allowed';
