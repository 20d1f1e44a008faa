import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { Decision } from '../translate';
import type { AuthCallRecord } from './run-check';

const LATENCY_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

type DecisionLabel = 'allowed' | 'denied' | 'error';

interface CheckChildren {
  readonly count: Counter.Internal;
  readonly duration: Histogram.Internal<'decision'>;
}

/** `ext_authz_config_reloads_total`: registered by whichever process validates and counts reloads. */
export function createReloadCounter(registry: Registry): Counter<'result'> {
  return new Counter({
    name: 'ext_authz_config_reloads_total',
    help: 'Config reloads, by result (success, failure).',
    labelNames: ['result'] as const,
    registers: [registry],
  });
}

export interface MetricsOptions {
  /** False in cluster workers: the primary validates and counts reloads, so workers would double them. */
  readonly reloads?: boolean;
}

/**
 * The adapter's Prometheus metrics; names and labels are listed in docs/operations.md.
 * Labelled children are cached, so a check costs a map lookup per metric rather than
 * prom-client hashing a label object on every call.
 */
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
    help: 'Time from receiving a Check call to answering it, by decision.',
    labelNames: ['decision'] as const,
    buckets: LATENCY_BUCKETS,
    registers: [this.registry],
  });
  private readonly authDuration = new Histogram({
    name: 'ext_authz_auth_service_request_duration_seconds',
    help: 'Duration of calls to the auth service, by rule and status class (2xx, 3xx, 4xx, 5xx, error).',
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
  readonly reloads: Counter<'result'> | undefined;
  /** Read at scrape time, so counting calls in flight costs the hot path nothing here. */
  private readInFlight: () => number = () => 0;
  private readonly inFlight: Gauge = new Gauge({
    name: 'ext_authz_checks_in_flight',
    help: 'Check calls being processed.',
    registers: [this.registry],
    collect: (): void => this.inFlight.set(this.readInFlight()),
  });

  // Keyed by rule, then by a second label; both sets are small and fixed by the config.
  private readonly checkChildren = new Map<string, Map<string, CheckChildren>>();
  private readonly authDurationChildren = new Map<string, Map<string, Histogram.Internal<'rule' | 'status_class'>>>();
  private readonly authErrorChildren = new Map<string, Map<string, Counter.Internal>>();

  constructor(options: MetricsOptions = {}) {
    this.reloads = options.reloads === false ? undefined : createReloadCounter(this.registry);
    collectDefaultMetrics({ register: this.registry });
  }

  reportInFlight(read: () => number): void {
    this.readInFlight = read;
  }

  observeCheck(decision: Decision, calls: readonly AuthCallRecord[], seconds: number): void {
    const children = this.checkChildrenFor(decision);
    children.count.inc();
    children.duration.observe(seconds);
    for (let i = 0; i < calls.length; i++) {
      const call = calls[i];
      // Answered from the cache or by another check's call: no auth call of its own to count.
      if (call.shared) continue;
      if (call.unavailable) child(this.authErrorChildren, call.rule, call.unavailable, () => this.authErrors.labels(call.rule, call.unavailable as string)).inc();
      // Neither was sent to the service, so there is no service latency to record.
      if (call.unavailable === 'overload' || call.unavailable === 'request_too_large') continue;
      const statusClass = call.status === undefined ? 'error' : STATUS_CLASSES[Math.floor(call.status / 100)] ?? 'error';
      child(this.authDurationChildren, call.rule, statusClass, () => this.authDuration.labels(call.rule, statusClass)).observe(
        call.elapsedMs / 1000,
      );
    }
  }

  private checkChildrenFor(decision: Decision): CheckChildren {
    return child(this.checkChildren, decision.rule, decision.kind + decision.reason, () => {
      const label = decisionLabel(decision);
      return { count: this.checks.labels(decision.rule, label, decision.reason), duration: this.checkDuration.labels(label) };
    });
  }
}

const STATUS_CLASSES: Readonly<Record<number, string>> = { 1: '1xx', 2: '2xx', 3: '3xx', 4: '4xx', 5: '5xx' };

function child<T>(cache: Map<string, Map<string, T>>, first: string, second: string, create: () => T): T {
  let inner = cache.get(first);
  if (!inner) {
    inner = new Map();
    cache.set(first, inner);
  }
  let value = inner.get(second);
  if (value === undefined) {
    value = create();
    inner.set(second, value);
  }
  return value;
}

/** What the adapter answered: `error` only when the adapter itself failed; a strict-mode denial is `denied`. */
function decisionLabel(decision: Decision): DecisionLabel {
  if (decision.reason === 'internal_error') return 'error';
  return decision.kind === 'allow' ? 'allowed' : 'denied';
}
