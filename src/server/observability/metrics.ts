import { Counter, Gauge, Registry, collectDefaultMetrics } from 'prom-client';
import type { Decision } from '../../translate';
import type { AuthCallRecord, BreakerState } from '../auth-client';

const LATENCY_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

type DecisionLabel = 'allowed' | 'denied' | 'error';
type Labels = Readonly<Record<string, string>>;

/** What `Registry` needs of a metric: prom-client's JSON shape, produced at scrape time. */
interface ScrapedMetric {
  readonly name: string;
  readonly help: string;
  readonly type: 'counter' | 'histogram';
  readonly aggregator: 'sum';
  readonly values: Array<{ labels: Labels; value: number; metricName?: string }>;
}

interface CounterSeries {
  readonly labels: Labels;
  value: number;
}

class HistogramSeries {
  /** Per-bucket (not cumulative) counts; the last slot is past the largest bound. */
  readonly counts: Float64Array;
  sum = 0;
  count = 0;

  constructor(
    readonly labels: Labels,
    private readonly bounds: readonly number[],
  ) {
    this.counts = new Float64Array(bounds.length + 1);
  }

  observe(value: number): void {
    const bounds = this.bounds;
    let i = 0;
    while (i < bounds.length && value > bounds[i]) i++;
    this.counts[i]++;
    this.sum += value;
    this.count++;
  }
}

/**
 * Counters and histograms written by the Check hot path. prom-client's own metrics hash the label
 * object on every `inc`/`observe`, even through `labels()` children; these series are plain
 * numbers held by the caller, formatted only when /metrics is scraped. Registered in a prom-client
 * Registry (and summed by AggregatorRegistry) like any other metric.
 */
class SeriesMetric<S extends CounterSeries | HistogramSeries> {
  private readonly all: S[] = [];

  constructor(
    readonly name: string,
    readonly help: string,
    private readonly type: 'counter' | 'histogram',
    private readonly create: (labels: Labels) => S,
    registry: Registry,
  ) {
    registry.registerMetric(this as unknown as Parameters<Registry['registerMetric']>[0]);
  }

  series(labels: Labels): S {
    const s = this.create(labels);
    this.all.push(s);
    return s;
  }

  async get(): Promise<ScrapedMetric> {
    const values: ScrapedMetric['values'] = [];
    for (const s of this.all) {
      if (s instanceof HistogramSeries) pushHistogram(this.name, s, values);
      else values.push({ labels: s.labels, value: (s as CounterSeries).value });
    }
    return { name: this.name, help: this.help, type: this.type, aggregator: 'sum', values };
  }

  reset(): void {
    this.all.length = 0;
  }
}

function pushHistogram(name: string, s: HistogramSeries, values: ScrapedMetric['values']): void {
  let cumulative = 0;
  LATENCY_BUCKETS.forEach((le, i) => {
    cumulative += s.counts[i];
    values.push({ labels: { ...s.labels, le: String(le) }, value: cumulative, metricName: `${name}_bucket` });
  });
  values.push({ labels: { ...s.labels, le: '+Inf' }, value: s.count, metricName: `${name}_bucket` });
  values.push({ labels: s.labels, value: s.sum, metricName: `${name}_sum` });
  values.push({ labels: s.labels, value: s.count, metricName: `${name}_count` });
}

/** What the cache-bytes gauge reads of each rule in force. */
/** What the scrape-time gauges read of a rule in force. */
interface CacheHolder {
  readonly settings: { readonly name: string };
  readonly cache?: { readonly bytes: number };
  readonly client: { readonly breaker?: { readonly state: BreakerState } };
}

interface CheckSeries {
  readonly count: CounterSeries;
  readonly duration: HistogramSeries;
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

/** Log lines stdout did not take: every process that logs counts its own, workers and primary alike. */
export function createLogDropCounter(registry: Registry): Counter {
  return new Counter({
    name: 'ext_authz_log_lines_dropped_total',
    help: 'Log lines dropped because stdout did not take them fast enough (over the pending-bytes bound).',
    registers: [registry],
  });
}

export interface MetricsOptions {
  /** False in cluster workers: the primary validates and counts reloads, so workers would double them. */
  readonly reloads?: boolean;
}

/**
 * The adapter's Prometheus metrics; names and labels are listed in docs/operations.md ("Metrics").
 * A check costs two map lookups per series and a few additions.
 */
export class Metrics {
  readonly registry = new Registry();
  private readonly checks = new SeriesMetric<CounterSeries>(
    'ext_authz_checks_total',
    'Check calls answered, by rule, decision (allowed, denied, error) and reason.',
    'counter',
    (labels) => ({ labels, value: 0 }),
    this.registry,
  );
  private readonly checkDuration = new SeriesMetric<HistogramSeries>(
    'ext_authz_check_duration_seconds',
    'Time from receiving a Check call to answering it, by decision.',
    'histogram',
    (labels) => new HistogramSeries(labels, LATENCY_BUCKETS),
    this.registry,
  );
  private readonly authDuration = new SeriesMetric<HistogramSeries>(
    'ext_authz_auth_service_request_duration_seconds',
    'Duration of calls to the auth service, by rule and status class (2xx, 3xx, 4xx, 5xx, error).',
    'histogram',
    (labels) => new HistogramSeries(labels, LATENCY_BUCKETS),
    this.registry,
  );
  private readonly authErrors = new SeriesMetric<CounterSeries>(
    'ext_authz_auth_service_errors_total',
    'Auth service calls that counted as unavailable, by rule and kind (connect, timeout, reset, 5xx, overload, protocol, request_too_large, local, circuit_open).',
    'counter',
    (labels) => ({ labels, value: 0 }),
    this.registry,
  );
  private readonly retries = new SeriesMetric<CounterSeries>(
    'ext_authz_auth_service_retries_total',
    'Auth service calls asked again on a new connection after a refusal or a reset before any response byte, by rule.',
    'counter',
    (labels) => ({ labels, value: 0 }),
    this.registry,
  );
  private readonly reused = new SeriesMetric<CounterSeries>(
    'ext_authz_auth_decisions_reused_total',
    'Checks answered without a call of their own, by rule and source (cache, coalesced: joined an identical call in flight).',
    'counter',
    (labels) => ({ labels, value: 0 }),
    this.registry,
  );
  readonly reloads: Counter<'result'> | undefined;
  private readonly logLinesDropped = createLogDropCounter(this.registry);
  private readonly refusals = new Counter({
    name: 'ext_authz_checks_refused_total',
    help: 'Checks refused (503, overloaded) by a process-wide bound before any rule ran, by bound (in_flight_bytes).',
    labelNames: ['bound'] as const,
    registers: [this.registry],
  });
  private readInFlightBytes: () => number = () => 0;
  private readonly inFlightBytes: Gauge = new Gauge({
    name: 'ext_authz_check_bytes_in_flight',
    help: 'CheckRequest bytes held by the checks in flight (bounded by grpc.maxInFlightBytes).',
    registers: [this.registry],
    collect: (): void => this.inFlightBytes.set(this.readInFlightBytes()),
  });
  private readonly spansDropped = new Counter({
    name: 'ext_authz_trace_spans_dropped_total',
    help: 'Spans not exported, by reason (queue_full: the export queue was full; export_failed: the collector did not take them).',
    labelNames: ['reason'] as const,
    registers: [this.registry],
  });
  /** Read at scrape time, so counting calls in flight costs the hot path nothing here. */
  private readInFlight: () => number = () => 0;
  private readonly inFlight: Gauge = new Gauge({
    name: 'ext_authz_checks_in_flight',
    help: 'Check calls being processed.',
    registers: [this.registry],
    collect: (): void => this.inFlight.set(this.readInFlight()),
  });

  /** Read at scrape time from the config in force. */
  private readCacheRules: () => readonly CacheHolder[] = () => [];
  private readonly cacheBytes: Gauge<'rule'> = new Gauge({
    name: 'ext_authz_cache_bytes',
    help: "Bytes held by each rule's decision cache (keys, headers and bodies, bounded by cache.maxBytes).",
    labelNames: ['rule'] as const,
    registers: [this.registry],
    collect: (): void => {
      this.cacheBytes.reset();
      for (const rule of this.readCacheRules()) if (rule.cache) this.cacheBytes.set({ rule: rule.settings.name }, rule.cache.bytes);
    },
  });

  private readonly breakerState: Gauge<'rule'> = new Gauge({
    name: 'ext_authz_circuit_breaker_state',
    help: "State of the circuit breaker of each rule's auth service pool: 0 closed, 1 half-open (one probe call), 2 open (answered at once as unavailable). Across workers, the most open.",
    labelNames: ['rule'] as const,
    registers: [this.registry],
    aggregator: 'max',
    collect: (): void => {
      this.breakerState.reset();
      for (const rule of this.readCacheRules()) {
        const breaker = rule.client.breaker;
        if (breaker) this.breakerState.set({ rule: rule.settings.name }, BREAKER_STATE_VALUES[breaker.state]);
      }
    },
  });

  // Keyed by rule, then by a second key; both sets are small and fixed by the config.
  private readonly checkSeries = new Map<string, Map<string, CheckSeries>>();
  private readonly durationByDecision = new Map<DecisionLabel, HistogramSeries>();
  private readonly authDurationSeries = new Map<string, Map<string, HistogramSeries>>();
  private readonly authErrorSeries = new Map<string, Map<string, CounterSeries>>();
  private readonly reusedSeries = new Map<string, Map<string, CounterSeries>>();
  private readonly retrySeries = new Map<string, CounterSeries>();

  constructor(options: MetricsOptions = {}) {
    this.reloads = options.reloads === false ? undefined : createReloadCounter(this.registry);
    // Present at zero from the start, so a rate over it is defined before the first refusal.
    this.refusals.inc({ bound: 'in_flight_bytes' }, 0);
    collectDefaultMetrics({ register: this.registry });
  }

  reportInFlight(read: () => number): void {
    this.readInFlight = read;
  }

  reportInFlightBytes(read: () => number): void {
    this.readInFlightBytes = read;
  }

  countRefusal(bound: 'in_flight_bytes'): void {
    this.refusals.inc({ bound });
  }

  /** The rules in force, read at scrape time for the cache size and circuit breaker gauges. */
  reportCacheBytes(read: () => readonly CacheHolder[]): void {
    this.readCacheRules = read;
  }

  countDroppedLogLine(): void {
    this.logLinesDropped.inc();
  }

  countDroppedSpans(reason: 'queue_full' | 'export_failed', count: number): void {
    this.spansDropped.inc({ reason }, count);
  }

  observeCheck(decision: Decision, calls: readonly AuthCallRecord[], seconds: number): void {
    const series = this.checkSeriesFor(decision);
    series.count.value++;
    series.duration.observe(seconds);
    for (let i = 0; i < calls.length; i++) {
      const { rule, unavailable, status, elapsedMs, shared, retries } = calls[i];
      // Another check's call answered this one: counting it again would double the service's load and errors.
      if (shared) {
        lookup(this.reusedSeries, rule, shared, () => this.reused.series({ rule, source: shared })).value++;
        continue;
      }
      if (unavailable) lookup(this.authErrorSeries, rule, unavailable, () => this.authErrors.series({ rule, kind: unavailable })).value++;
      if (retries) this.retrySeriesFor(rule).value += retries;
      // None was sent to the service, so there is no service latency to record.
      if (unavailable === 'overload' || unavailable === 'request_too_large' || unavailable === 'local' || unavailable === 'circuit_open') {
        continue;
      }
      const statusClass = status === undefined ? 'error' : (STATUS_CLASSES[Math.floor(status / 100)] ?? 'error');
      lookup(this.authDurationSeries, rule, statusClass, () => this.authDuration.series({ rule, status_class: statusClass })).observe(
        elapsedMs / 1000,
      );
    }
  }

  private retrySeriesFor(rule: string): CounterSeries {
    let series = this.retrySeries.get(rule);
    if (!series) {
      series = this.retries.series({ rule });
      this.retrySeries.set(rule, series);
    }
    return series;
  }

  private checkSeriesFor(decision: Decision): CheckSeries {
    return lookup(this.checkSeries, decision.rule, decision.kind + decision.reason, () => {
      const label = decisionLabel(decision);
      let duration = this.durationByDecision.get(label);
      if (!duration) {
        duration = this.checkDuration.series({ decision: label });
        this.durationByDecision.set(label, duration);
      }
      return { count: this.checks.series({ rule: decision.rule, decision: label, reason: decision.reason }), duration };
    });
  }
}

const BREAKER_STATE_VALUES: Readonly<Record<BreakerState, number>> = { closed: 0, half_open: 1, open: 2 };

const STATUS_CLASSES: Readonly<Record<number, string>> = { 1: '1xx', 2: '2xx', 3: '3xx', 4: '4xx', 5: '5xx' };

function lookup<T>(cache: Map<string, Map<string, T>>, first: string, second: string, create: () => T): T {
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
