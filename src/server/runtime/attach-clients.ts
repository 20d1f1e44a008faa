import type { RuleSettings, ServiceTlsMaterial } from '../../config';
import { AuthClient, Coalescer, ConcurrencyLimit, DecisionCache, type Exchange } from '../auth-client';
import { type CompiledConfig, servingConfig, type ServingConfig } from '../check';
import { keptCache } from './kept-cache';

/** A compiled config with its pools attached: what a serving process swaps in on reload. */
export interface LoadedConfig extends ServingConfig {
  readonly compiled: CompiledConfig;
  /** Every pool the rules use, once each. */
  readonly pools: readonly AuthClient[];
}

/**
 * Gives each rule a pool toward its auth service, and a decision cache and coalescer when asked.
 * Pools of `previous` whose service (url, pool size, timeout, circuit breaker, TLS material) did
 * not change are taken over, so a reload keeps warm connections and the breaker's state, and so
 * are the decision caches of rules whose answers mean the same (kept-cache.ts). `clock` is the
 * monotonic clock in ms of the decision caches and the circuit breakers (tests pass their own).
 */
export function attachClients(compiled: CompiledConfig, previous?: LoadedConfig, clock?: () => number): LoadedConfig {
  const pools = new Map<string, AuthClient>();
  for (const pool of previous?.pools ?? []) pools.set(pool.identity, pool);
  // A rule keeps its count of calls in flight across a reload, so calls still running under the
  // old config count against the new one's bound too.
  const limits = new Map<string, ConcurrencyLimit>();
  for (const rule of previous?.rules ?? []) limits.set(rule.settings.name, rule.limit);
  const before = new Map((previous?.rules ?? []).map((r) => [r.settings.name, r]));
  const used = new Set<AuthClient>();
  const rules = compiled.rules.map(({ settings, matcher, headerMatchers, tls }) => {
    const kept = limits.get(settings.name);
    const limit = kept && kept.max === settings.service.maxConcurrent ? kept : new ConcurrencyLimit(settings.service.maxConcurrent);
    const identity = clientIdentity(settings, tls);
    let client = pools.get(identity);
    if (!client) {
      client = new AuthClient(identity, settings.service, tls, clock);
      pools.set(identity, client);
    }
    used.add(client);
    return {
      settings,
      matcher,
      headerMatchers,
      client,
      limit,
      cache: keptCache(before.get(settings.name), settings, client) ?? (settings.cache && new DecisionCache(settings.cache, clock)),
      coalescer: settings.coalesce ? new Coalescer<Exchange>(settings.service.maxConcurrent) : undefined,
    };
  });
  return { ...servingConfig(compiled.settings, rules), compiled, pools: [...used] };
}

function clientIdentity(rule: RuleSettings, tls: ServiceTlsMaterial | undefined): string {
  const s = rule.service;
  const material = tls
    ? [tls.ca, tls.cert, tls.key].map((b) => (b ? b.toString('base64') : '')).join('|') + `|${tls.serverName ?? ''}`
    : '';
  const breaker = s.circuitBreaker ? `${s.circuitBreaker.failures}/${s.circuitBreaker.openForMs}` : 'off';
  return `${s.url}|${s.connections}|${s.timeoutMs}|${breaker}|${material}`;
}
