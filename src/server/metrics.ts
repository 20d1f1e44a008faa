import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { Decision } from '../translate';
import type { AuthCallRecord } from './run-check';

const LATENCY_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

/** The adapter's Prometheus metrics; names and labels are listed in the README. */
export class Metrics {
  readonly registry = new Registry();
  private readonly checks = new Counter({
    name: 'ext_authz_checks_total',
    help: 'Check calls answered, by rule, decision (allowed, denied, error) and reason.',
    labelNames: ['rule', 'decision', 'reason'] as const,
    registers: [this.registry],
  });
  private readonly checkDuration = new Histogram({
    name: 'ext_authz_check_duration_seconds',
    help: 'Time from receiving a Check call to answering it.',
    labelNames: ['decision'] as const,
    buckets: LATENCY_BUCKETS,
    registers: [this.registry],
  });
  private readonly authDuration = new Histogram({
    name: 'ext_authz_auth_service_request_duration_seconds',
    help: 'Duration of calls to the auth service, by rule and status class (2xx, 4xx, 5xx, error).',
    labelNames: ['rule', 'status_class'] as const,
    buckets: LATENCY_BUCKETS,
    registers: [this.registry],
  });
  private readonly authErrors = new Counter({
    name: 'ext_authz_auth_service_errors_total',
    help: 'Auth service calls that counted as unavailable, by rule and kind (connect, timeout, reset, 5xx, overload, protocol, request_too_large).',
    labelNames: ['rule', 'kind'] as const,
    registers: [this.registry],
  });
  readonly reloads = new Counter({
    name: 'ext_authz_config_reloads_total',
    help: 'Config reloads, by result (success, failure).',
    labelNames: ['result'] as const,
    registers: [this.registry],
  });
  readonly inFlight = new Gauge({
    name: 'ext_authz_checks_in_flight',
    help: 'Check calls being processed.',
    registers: [this.registry],
  });

  constructor() {
    collectDefaultMetrics({ register: this.registry });
  }

  observeCheck(decision: Decision, calls: readonly AuthCallRecord[], seconds: number): void {
    const label = decisionLabel(decision);
    this.checks.inc({ rule: decision.rule, decision: label, reason: decision.reason });
    this.checkDuration.observe({ decision: label }, seconds);
    for (const call of calls) {
      if (call.unavailable) this.authErrors.inc({ rule: call.rule, kind: call.unavailable });
      if (call.unavailable === 'overload' || call.unavailable === 'request_too_large') continue;
      const statusClass = call.status === undefined ? 'error' : `${Math.floor(call.status / 100)}xx`;
      this.authDuration.observe({ rule: call.rule, status_class: statusClass }, call.elapsedMs / 1000);
    }
  }
}

function decisionLabel(decision: Decision): 'allowed' | 'denied' | 'error' {
  if (decision.reason === 'internal_error') return 'error';
  return decision.kind === 'allow' ? 'allowed' : 'denied';
}
