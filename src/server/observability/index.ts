/**
 * What the adapter tells its operators: Prometheus metrics, JSON logs, and the admin HTTP server
 * (/healthz, /readyz, /metrics, /config with secrets redacted). Imports only types from
 * auth-client, and translate and config.
 */
export { createAdminServer, listen, type AdminDeps } from './admin-server';
export { decisionLineWriter, type DecisionFields } from './decision-line';
export { logDestination, pendingLog, type LogDestinationOptions, type PendingLog } from './log-destination';
export { createLogger, MAX_PENDING_LOG_BYTES, type Logger } from './logger';
export { createLogDropCounter, createReloadCounter, Metrics, type MetricsOptions } from './metrics';
export { redactConfig } from './redact-config';
export { SharedRender } from './shared-render';
export {
  readTracingEnv,
  startTracing,
  type CallMetadata,
  type CheckSpan,
  type CheckTracer,
  type DropReason,
  type Tracing,
  type TracingEnv,
} from './tracing';
